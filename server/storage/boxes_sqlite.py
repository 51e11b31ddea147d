"""The drop-box half of the SQLite mail store: boxes, key versions, members
and their wrapped keys (all key material opaque JSON text)."""

from __future__ import annotations

from typing import Any

import aiosqlite

from server.errors import Conflict
from server.storage.mail_base import (
    BoxRecord,
    BoxVersion,
    Member,
    MemberState,
    WrappedKey,
)
from server.storage.sqlite_db import SQLiteDatabase, fetch_all, fetch_one, like_pattern

BOX_SCHEMA = """
CREATE TABLE IF NOT EXISTS boxes (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    department TEXT NOT NULL,
    search_key TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS box_versions (
    box_id TEXT NOT NULL REFERENCES boxes (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    public_key TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (box_id, version)
);
CREATE TABLE IF NOT EXISTS box_members (
    box_id TEXT NOT NULL REFERENCES boxes (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL,
    state TEXT NOT NULL,
    added_at REAL NOT NULL,
    PRIMARY KEY (box_id, account_id)
);
CREATE INDEX IF NOT EXISTS box_members_account ON box_members (account_id);
CREATE TABLE IF NOT EXISTS box_keys (
    box_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    wrapped TEXT NOT NULL,
    PRIMARY KEY (box_id, account_id, version),
    FOREIGN KEY (box_id, account_id)
        REFERENCES box_members (box_id, account_id) ON DELETE CASCADE
);
"""

_BOX_COLUMNS = (
    "b.id, b.name, b.slug, b.department, b.version, v.public_key, b.created_at"
)
_BOX_FROM = (
    " FROM boxes b JOIN box_versions v ON v.box_id = b.id AND v.version = b.version"
)
_BOX = _BOX_COLUMNS + _BOX_FROM


def _box(row: Any) -> BoxRecord:
    return BoxRecord(*row[:7])


class SQLiteBoxes(SQLiteDatabase):
    """The box methods of :class:`server.storage.mail_sqlite.SQLiteMailStore`."""

    async def create_box(self, box: BoxRecord, members: dict[str, str | None]) -> None:
        async with self._transaction() as db:
            if await fetch_one(db, "SELECT 1 FROM boxes WHERE slug = ?", (box.slug,)):
                raise Conflict("this slug is taken")
            await db.execute(
                "INSERT INTO boxes (id, name, slug, department, search_key, version,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    box.box_id,
                    box.name,
                    box.slug,
                    box.department,
                    "\n".join((box.name, box.slug, box.department)).casefold(),
                    box.version,
                    box.created_at,
                ),
            )
            await db.execute(
                "INSERT INTO box_versions (box_id, version, public_key, created_at)"
                " VALUES (?, ?, ?, ?)",
                (box.box_id, box.version, box.public_key, box.created_at),
            )
            for account_id, wrapped in members.items():
                state = MemberState.PENDING if wrapped is None else MemberState.ACTIVE
                await db.execute(
                    "INSERT INTO box_members (box_id, account_id, state, added_at)"
                    " VALUES (?, ?, ?, ?)",
                    (box.box_id, account_id, state.value, box.created_at),
                )
                if wrapped is not None:
                    await _insert_key(db, box.box_id, account_id, box.version, wrapped)

    async def box(self, box_id: str) -> BoxRecord | None:
        row = await self._row(f"SELECT {_BOX} WHERE b.id = ?", (box_id,))
        return None if row is None else _box(row)

    async def box_by_slug(self, slug: str) -> BoxRecord | None:
        row = await self._row(f"SELECT {_BOX} WHERE b.slug = ?", (slug,))
        return None if row is None else _box(row)

    async def search_boxes(self, query: str, *, limit: int) -> list[BoxRecord]:
        rows = await self._rows(
            f"SELECT {_BOX} WHERE b.search_key LIKE ? ESCAPE '\\'"
            " ORDER BY b.slug LIMIT ?",
            (like_pattern(query.casefold()), limit),
        )
        return [_box(row) for row in rows]

    async def versions(self, box_id: str) -> list[BoxVersion]:
        rows = await self._rows(
            "SELECT version, public_key, created_at FROM box_versions"
            " WHERE box_id = ? ORDER BY version",
            (box_id,),
        )
        return [BoxVersion(*row) for row in rows]

    async def members(self, box_id: str) -> list[Member]:
        rows = await self._rows(
            "SELECT account_id, state, added_at FROM box_members"
            " WHERE box_id = ? ORDER BY added_at, account_id",
            (box_id,),
        )
        return [Member(row[0], MemberState(row[1]), row[2]) for row in rows]

    async def memberships(self, account_id: str) -> list[tuple[BoxRecord, Member]]:
        rows = await self._rows(
            f"SELECT {_BOX_COLUMNS}, m.account_id, m.state, m.added_at{_BOX_FROM}"
            " JOIN box_members m ON m.box_id = b.id WHERE m.account_id = ?"
            " ORDER BY b.slug",
            (account_id,),
        )
        return [
            (_box(row), Member(row[7], MemberState(row[8]), row[9])) for row in rows
        ]

    async def wrapped_keys(self, box_id: str, account_id: str) -> list[WrappedKey]:
        rows = await self._rows(
            "SELECT version, wrapped FROM box_keys WHERE box_id = ?"
            " AND account_id = ? ORDER BY version",
            (box_id, account_id),
        )
        return [WrappedKey(*row) for row in rows]

    async def add_member(self, box_id: str, account_id: str, *, now: float) -> bool:
        async with self._transaction() as db:
            cursor = await db.execute(
                "INSERT OR IGNORE INTO box_members (box_id, account_id, state,"
                " added_at) VALUES (?, ?, ?, ?)",
                (box_id, account_id, MemberState.PENDING.value, now),
            )
            return cursor.rowcount == 1

    async def add_members(
        self, box_id: str, account_ids: list[str], *, now: float
    ) -> list[str]:
        async with self._transaction() as db:
            rows = await fetch_all(
                db, "SELECT account_id FROM box_members WHERE box_id = ?", (box_id,)
            )
            present = {row[0] for row in rows}
            fresh = list(dict.fromkeys(a for a in account_ids if a not in present))
            await db.executemany(
                "INSERT INTO box_members (box_id, account_id, state, added_at)"
                " VALUES (?, ?, ?, ?)",
                [(box_id, a, MemberState.PENDING.value, now) for a in fresh],
            )
            return fresh

    async def pending_members(self) -> list[tuple[BoxRecord, Member]]:
        rows = await self._rows(
            f"SELECT {_BOX_COLUMNS}, m.account_id, m.state, m.added_at{_BOX_FROM}"
            " JOIN box_members m ON m.box_id = b.id WHERE m.state = ?"
            " ORDER BY b.slug, m.added_at, m.account_id",
            (MemberState.PENDING.value,),
        )
        return [
            (_box(row), Member(row[7], MemberState(row[8]), row[9])) for row in rows
        ]

    async def forget_account(self, account_id: str) -> int:
        async with self._transaction() as db:
            cursor = await db.execute(
                "DELETE FROM box_members WHERE account_id = ?", (account_id,)
            )
            ended = cursor.rowcount
            await db.execute(
                "DELETE FROM deliveries WHERE kind = 'account' AND recipient_id = ?",
                (account_id,),
            )
            await db.execute("DELETE FROM reads WHERE reader = ?", (account_id,))
            await db.execute(
                "UPDATE mail_shares SET sender_id = NULL WHERE sender_id = ?",
                (account_id,),
            )
            return ended

    async def grant(
        self, box_id: str, account_id: str, *, version: int, wrapped: str
    ) -> bool:
        async with self._transaction() as db:
            current = await fetch_one(
                db,
                "SELECT b.version FROM boxes b JOIN box_members m ON m.box_id = b.id"
                " JOIN box_versions v ON v.box_id = b.id AND v.version = ?"
                " WHERE b.id = ? AND m.account_id = ?",
                (version, box_id, account_id),
            )
            if current is None:
                return False
            await db.execute(
                "INSERT OR REPLACE INTO box_keys (box_id, account_id, version,"
                " wrapped) VALUES (?, ?, ?, ?)",
                (box_id, account_id, version, wrapped),
            )
            if version == current[0]:
                await db.execute(
                    "UPDATE box_members SET state = ? WHERE box_id = ?"
                    " AND account_id = ?",
                    (MemberState.ACTIVE.value, box_id, account_id),
                )
            return True

    async def rotate(
        self,
        box_id: str,
        *,
        version: int,
        public_key: str,
        remove: set[str],
        wrapped: dict[str, str],
        now: float,
    ) -> None:
        async with self._transaction() as db:
            current = await fetch_one(
                db, "SELECT version FROM boxes WHERE id = ?", (box_id,)
            )
            if current is None or version != current[0] + 1:
                raise Conflict("version must be the current key version plus one")
            rows = await fetch_all(
                db,
                "SELECT account_id, state FROM box_members WHERE box_id = ?",
                (box_id,),
            )
            states = {row[0]: MemberState(row[1]) for row in rows}
            if not remove <= states.keys():
                raise Conflict("remove names an account that is not a member")
            remaining = {
                account_id
                for account_id, state in states.items()
                if state is MemberState.ACTIVE and account_id not in remove
            }
            if set(wrapped) != remaining:
                raise Conflict(
                    "wrapped must cover exactly the active members that remain"
                )
            for account_id in remove:
                # Cascades to every wrapped key of theirs, all versions.
                await db.execute(
                    "DELETE FROM box_members WHERE box_id = ? AND account_id = ?",
                    (box_id, account_id),
                )
            await db.execute(
                "INSERT INTO box_versions (box_id, version, public_key, created_at)"
                " VALUES (?, ?, ?, ?)",
                (box_id, version, public_key, now),
            )
            await db.execute(
                "UPDATE boxes SET version = ? WHERE id = ?", (version, box_id)
            )
            for account_id, key in wrapped.items():
                await _insert_key(db, box_id, account_id, version, key)
            # Members who had no key of the old version still wait for one.


async def _insert_key(
    db: aiosqlite.Connection, box_id: str, account_id: str, version: int, key: str
) -> None:
    await db.execute(
        "INSERT INTO box_keys (box_id, account_id, version, wrapped)"
        " VALUES (?, ?, ?, ?)",
        (box_id, account_id, version, key),
    )
