"""MailStore on SQLite, in the same database file as the shares."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiosqlite

from server.errors import Conflict, QuotaFull
from server.storage.boxes_sqlite import BOX_SCHEMA, SQLiteBoxes
from server.storage.mail_base import (
    AddressedShare,
    InboxRow,
    MailStore,
    Quota,
    Recipient,
    RecipientKind,
    ReplyBox,
)
from server.storage.sqlite_db import fetch_one

_MAIL_SCHEMA = """
CREATE TABLE IF NOT EXISTS reply_boxes (
    id TEXT PRIMARY KEY,
    token_hash BLOB NOT NULL,
    public_key TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS mail_shares (
    share_id TEXT PRIMARY KEY,
    sender_id TEXT,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    files INTEGER NOT NULL,
    size INTEGER NOT NULL,
    delivered INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS deliveries (
    share_id TEXT NOT NULL REFERENCES mail_shares (share_id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    recipient_id TEXT NOT NULL,
    key_version INTEGER,
    PRIMARY KEY (share_id, kind, recipient_id)
);
CREATE INDEX IF NOT EXISTS deliveries_recipient ON deliveries (kind, recipient_id);
CREATE TABLE IF NOT EXISTS reads (
    share_id TEXT NOT NULL REFERENCES mail_shares (share_id) ON DELETE CASCADE,
    reader TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (share_id, reader)
);
"""
SCHEMA = BOX_SCHEMA + _MAIL_SCHEMA


_SHARE = "s.share_id, s.sender_id, s.created_at, s.expires_at, s.files, s.size"


def _share(row: Any) -> AddressedShare:
    return AddressedShare(*row[:6])


class SQLiteMailStore(SQLiteBoxes, MailStore):
    """Boxes, key versions, reply boxes and deliveries in one SQLite file."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, SCHEMA)

    async def create_reply_box(self, box: ReplyBox) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO reply_boxes (id, token_hash, public_key, created_at,"
                " expires_at) VALUES (?, ?, ?, ?, ?)",
                (
                    box.box_id,
                    box.token_hash,
                    box.public_key,
                    box.created_at,
                    box.expires_at,
                ),
            )

    async def reply_box(self, box_id: str) -> ReplyBox | None:
        row = await self._row(
            "SELECT id, token_hash, public_key, created_at, expires_at"
            " FROM reply_boxes WHERE id = ?",
            (box_id,),
        )
        if row is None:
            return None
        return ReplyBox(row[0], bytes(row[1]), row[2], row[3], row[4])

    async def address(
        self,
        share: AddressedShare,
        recipients: list[Recipient],
        *,
        quota: Quota | None,
        now: float,
    ) -> None:
        async with self._transaction() as db:
            versions = [
                await _check_recipient(db, recipient, share, quota, now)
                for recipient in recipients
            ]
            await db.execute(
                f"INSERT INTO mail_shares ({_SHARE.replace('s.', '')})"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    share.share_id,
                    share.sender_id,
                    share.created_at,
                    share.expires_at,
                    share.files,
                    share.size,
                ),
            )
            for recipient, version in zip(recipients, versions, strict=True):
                await db.execute(
                    "INSERT INTO deliveries (share_id, kind, recipient_id,"
                    " key_version) VALUES (?, ?, ?, ?)",
                    (
                        share.share_id,
                        recipient.kind.value,
                        recipient.recipient_id,
                        version,
                    ),
                )

    async def deliver(self, share_id: str) -> int:
        async with self._transaction() as db:
            await db.execute(
                "UPDATE mail_shares SET delivered = 1 WHERE share_id = ?", (share_id,)
            )
            row = await fetch_one(
                db, "SELECT COUNT(*) FROM deliveries WHERE share_id = ?", (share_id,)
            )
            return int(row[0])

    async def inbox(
        self, kind: RecipientKind, recipient_id: str, *, reader: str, now: float
    ) -> list[InboxRow]:
        rows = await self._rows(
            f"SELECT {_SHARE}, r.at IS NOT NULL, d.key_version FROM deliveries d"
            " JOIN mail_shares s ON s.share_id = d.share_id"
            " LEFT JOIN reads r ON r.share_id = d.share_id AND r.reader = ?"
            " WHERE d.kind = ? AND d.recipient_id = ? AND s.delivered = 1"
            " AND s.expires_at > ? ORDER BY s.created_at DESC, s.share_id",
            (reader, kind.value, recipient_id, now),
        )
        return [InboxRow(_share(row), bool(row[6]), row[7]) for row in rows]

    async def mark_read(
        self,
        share_id: str,
        *,
        reader: str,
        inboxes: list[tuple[RecipientKind, str]],
        now: float,
    ) -> bool:
        if not inboxes:
            return False
        match = " OR ".join("(d.kind = ? AND d.recipient_id = ?)" for _ in inboxes)
        params = [value for kind, rid in inboxes for value in (kind.value, rid)]
        async with self._transaction() as db:
            found = await fetch_one(
                db,
                "SELECT 1 FROM deliveries d JOIN mail_shares s"
                " ON s.share_id = d.share_id WHERE d.share_id = ?"
                f" AND s.delivered = 1 AND ({match})",
                (share_id, *params),
            )
            if found is None:
                return False
            await db.execute(
                "INSERT OR IGNORE INTO reads (share_id, reader, at) VALUES (?, ?, ?)",
                (share_id, reader, now),
            )
            return True

    async def sent(self, sender_id: str, *, limit: int) -> list[AddressedShare]:
        rows = await self._rows(
            f"SELECT {_SHARE} FROM mail_shares s WHERE s.sender_id = ?"
            " ORDER BY s.created_at DESC, s.share_id LIMIT ?",
            (sender_id, limit),
        )
        return [_share(row) for row in rows]

    async def recipients(self, share_id: str) -> list[Recipient]:
        rows = await self._rows(
            "SELECT kind, recipient_id, key_version FROM deliveries"
            " WHERE share_id = ? ORDER BY kind, recipient_id",
            (share_id,),
        )
        return [Recipient(RecipientKind(row[0]), row[1], row[2]) for row in rows]

    async def forget_share(self, share_id: str) -> None:
        async with self._transaction() as db:
            await db.execute("DELETE FROM mail_shares WHERE share_id = ?", (share_id,))

    async def purge(self, *, now: float, undelivered_before: float) -> int:
        async with self._transaction() as db:
            cursor = await db.execute(
                "DELETE FROM mail_shares WHERE expires_at <= ?"
                " OR (delivered = 0 AND created_at < ?)",
                (now, undelivered_before),
            )
            await db.execute("DELETE FROM reply_boxes WHERE expires_at <= ?", (now,))
            return cursor.rowcount


async def _check_recipient(
    db: aiosqlite.Connection,
    recipient: Recipient,
    share: AddressedShare,
    quota: Quota | None,
    now: float,
) -> int | None:
    """Refuse a stale box key version or a full inbox, inside the transaction.

    :returns: the box key version the delivery is for (boxes only).
    """
    version = None
    if recipient.kind is RecipientKind.BOX:
        row = await fetch_one(
            db, "SELECT version FROM boxes WHERE id = ?", (recipient.recipient_id,)
        )
        if row is None:
            raise Conflict("this box no longer exists")
        version = int(row[0])
        if recipient.key_version not in (None, version):
            raise Conflict("the box key changed: fetch the box's public key again")
    if quota is None:
        return version
    row = await fetch_one(
        db,
        "SELECT COUNT(*), COALESCE(SUM(s.size), 0) FROM deliveries d"
        " JOIN mail_shares s ON s.share_id = d.share_id WHERE d.kind = ?"
        " AND d.recipient_id = ? AND s.sender_id IS NULL AND s.expires_at > ?",
        (recipient.kind.value, recipient.recipient_id, now),
    )
    if row[0] + 1 > quota.count or row[1] + share.size > quota.size:
        raise QuotaFull("this mailbox is full for now; try again later")
    return version
