"""ReceiptStore on SQLite, in the same database file as the shares."""

from __future__ import annotations

from pathlib import Path

from server.storage.receipts_base import ClaimReceipt, ReceiptStore
from server.storage.sqlite_db import SQLiteDatabase

SCHEMA = """
CREATE TABLE IF NOT EXISTS receipt_claims (
    share_id TEXT NOT NULL,
    claim INTEGER NOT NULL,
    recipient_id TEXT,
    PRIMARY KEY (share_id, claim)
);
CREATE TABLE IF NOT EXISTS receipt_files (
    share_id TEXT NOT NULL,
    claim INTEGER NOT NULL,
    file_index INTEGER NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (share_id, claim, file_index)
);
"""


class SQLiteReceiptStore(SQLiteDatabase, ReceiptStore):
    def __init__(self, path: Path) -> None:
        super().__init__(path, SCHEMA)

    async def claimed(
        self, share_id: str, claim: int, recipient_id: str | None
    ) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT OR REPLACE INTO receipt_claims (share_id, claim, recipient_id)"
                " VALUES (?, ?, ?)",
                (share_id, claim, recipient_id),
            )

    async def served(self, share_id: str, claim: int, index: int, at: float) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT OR IGNORE INTO receipt_files (share_id, claim, file_index, at)"
                " VALUES (?, ?, ?, ?)",
                (share_id, claim, index, at),
            )

    async def receipts(self, share_id: str) -> list[ClaimReceipt]:
        claims = await self._rows(
            "SELECT claim, recipient_id FROM receipt_claims WHERE share_id = ?",
            (share_id,),
        )
        files = await self._rows(
            "SELECT claim, file_index, at FROM receipt_files WHERE share_id = ?",
            (share_id,),
        )
        found: dict[int, ClaimReceipt] = {
            row[0]: ClaimReceipt(row[0], row[1], {}) for row in claims
        }
        for claim, index, at in files:
            found.setdefault(claim, ClaimReceipt(claim, None, {})).files[index] = at
        return [found[number] for number in sorted(found)]

    async def share_ids(self) -> list[str]:
        rows = await self._rows(
            "SELECT share_id FROM receipt_claims UNION"
            " SELECT share_id FROM receipt_files"
        )
        return [row[0] for row in rows]

    async def forget(self, share_ids: list[str]) -> None:
        if not share_ids:
            return
        marks = ",".join("?" for _ in share_ids)
        async with self._transaction() as db:
            for table in ("receipt_claims", "receipt_files"):
                await db.execute(
                    f"DELETE FROM {table} WHERE share_id IN ({marks})", share_ids
                )
