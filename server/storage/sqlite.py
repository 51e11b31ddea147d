"""MetadataStore on SQLite in WAL mode, shareable by several processes."""

from __future__ import annotations

import json
from pathlib import Path

from server.storage.base import MetadataStore, ShareRecord, ShareState
from server.storage.sqlite_db import SQLiteDatabase

_SCHEMA = """
CREATE TABLE IF NOT EXISTS shares (
    id TEXT PRIMARY KEY,
    owner_hash BLOB NOT NULL,
    claim_verifier BLOB NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    max_downloads INTEGER NOT NULL,
    downloads INTEGER NOT NULL DEFAULT 0,
    manifest_size INTEGER NOT NULL,
    file_sizes TEXT NOT NULL,
    state TEXT NOT NULL,
    purged INTEGER NOT NULL DEFAULT 0,
    code_kdf TEXT,
    unlock_verifier BLOB,
    code_attempts INTEGER NOT NULL DEFAULT 0,
    code_failures INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS shares_expires ON shares (expires_at);
CREATE TABLE IF NOT EXISTS claims (
    share_id TEXT NOT NULL REFERENCES shares (id) ON DELETE CASCADE,
    number INTEGER NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (share_id, number)
);
"""

_COLUMNS = (
    "id, owner_hash, claim_verifier, created_at, expires_at, max_downloads,"
    " downloads, manifest_size, file_sizes, state, purged, code_kdf,"
    " unlock_verifier, code_attempts, code_failures"
)

_MARKS = ",".join("?" * len(_COLUMNS.split(",")))


class SQLiteMetadataStore(SQLiteDatabase, MetadataStore):
    """Share metadata in one SQLite file.

    :param path: the database file; its folder must exist.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(path, _SCHEMA)

    async def create(self, record: ShareRecord) -> None:
        async with self._transaction() as db:
            await db.execute(
                f"INSERT INTO shares ({_COLUMNS}) VALUES ({_MARKS})",
                (
                    record.share_id,
                    record.owner_hash,
                    record.claim_verifier,
                    record.created_at,
                    record.expires_at,
                    record.max_downloads,
                    record.downloads,
                    record.manifest_size,
                    json.dumps(list(record.file_sizes)),
                    record.state.value,
                    int(record.purged),
                    record.code_kdf,
                    record.unlock_verifier,
                    record.code_attempts,
                    record.code_failures,
                ),
            )

    async def get(self, share_id: str) -> ShareRecord | None:
        row = await self._row(
            f"SELECT {_COLUMNS} FROM shares WHERE id = ?", (share_id,)
        )
        if row is None:
            return None
        return ShareRecord(
            share_id=row[0],
            owner_hash=bytes(row[1]),
            claim_verifier=bytes(row[2]),
            created_at=row[3],
            expires_at=row[4],
            max_downloads=row[5],
            downloads=row[6],
            manifest_size=row[7],
            file_sizes=tuple(json.loads(row[8])),
            state=ShareState(row[9]),
            purged=bool(row[10]),
            code_kdf=row[11],
            unlock_verifier=None if row[12] is None else bytes(row[12]),
            code_attempts=row[13],
            code_failures=row[14],
        )

    async def transition(
        self, share_id: str, *, to: ShareState, allowed: tuple[ShareState, ...]
    ) -> bool:
        marks = ",".join("?" for _ in allowed)
        async with self._transaction() as db:
            cursor = await db.execute(
                f"UPDATE shares SET state = ? WHERE id = ? AND state IN ({marks})",
                (to.value, share_id, *(s.value for s in allowed)),
            )
            return cursor.rowcount == 1

    async def claim(self, share_id: str, *, now: float) -> int | None:
        async with self._transaction() as db:
            # The limit check and the increment are one statement, so no
            # interleaving of processes can count past max_downloads.
            async with db.execute(
                "UPDATE shares SET downloads = downloads + 1"
                " WHERE id = ? AND state = ? AND downloads < max_downloads"
                " AND expires_at > ?"
                " AND (code_attempts = 0 OR code_failures < code_attempts)"
                " RETURNING downloads",
                (share_id, ShareState.READY.value, now),
            ) as cursor:
                row = await cursor.fetchone()
            if row is None:
                return None
            number = int(row[0])
            await db.execute(
                "INSERT INTO claims (share_id, number, at) VALUES (?, ?, ?)",
                (share_id, number, now),
            )
            return number

    async def code_failure(self, share_id: str) -> int | None:
        async with self._transaction() as db:
            # Check and increment in one statement, like claim().
            async with db.execute(
                "UPDATE shares SET code_failures = code_failures + 1"
                " WHERE id = ? AND code_attempts > 0"
                " AND code_failures < code_attempts RETURNING code_failures",
                (share_id,),
            ) as cursor:
                row = await cursor.fetchone()
            return None if row is None else int(row[0])

    async def claim_times(self, share_id: str) -> list[float]:
        rows = await self._rows(
            "SELECT at FROM claims WHERE share_id = ? ORDER BY number", (share_id,)
        )
        return [row[0] for row in rows]

    async def stale_pending(self, *, created_before: float, now: float) -> list[str]:
        rows = await self._rows(
            "SELECT id FROM shares WHERE state = ?"
            " AND (created_at < ? OR expires_at <= ?)",
            (ShareState.PENDING.value, created_before, now),
        )
        return [row[0] for row in rows]

    async def ended(self, *, now: float, consumed_before: float) -> list[str]:
        rows = await self._rows(
            "SELECT id FROM shares WHERE purged = 0 AND state != ?"
            " AND (state = ? OR expires_at <= ?"
            " OR (code_attempts > 0 AND code_failures >= code_attempts)"
            " OR (downloads >= max_downloads"
            " AND (SELECT MAX(at) FROM claims WHERE share_id = shares.id) < ?))",
            (
                ShareState.PENDING.value,
                ShareState.REVOKED.value,
                now,
                consumed_before,
            ),
        )
        return [row[0] for row in rows]

    async def mark_purged(self, share_id: str) -> None:
        async with self._transaction() as db:
            await db.execute("UPDATE shares SET purged = 1 WHERE id = ?", (share_id,))

    async def forget_ended(self, *, ended_before: float) -> int:
        async with self._transaction() as db:
            cursor = await db.execute(
                "DELETE FROM shares WHERE purged = 1 AND expires_at < ?",
                (ended_before,),
            )
            return cursor.rowcount

    async def delete(self, share_id: str) -> None:
        async with self._transaction() as db:
            await db.execute("DELETE FROM shares WHERE id = ?", (share_id,))
