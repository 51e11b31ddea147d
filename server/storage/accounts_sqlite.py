"""AccountStore on SQLite, in the same database file as the shares."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiosqlite

from server.errors import Conflict
from server.storage.accounts_base import (
    AccountFilter,
    AccountRecord,
    AccountState,
    AccountStore,
    Credentials,
    RecoveryVerifier,
    Role,
    SessionPurpose,
    SessionRecord,
)
from server.storage.sqlite_db import SQLiteDatabase, fetch_all, fetch_one, like_pattern

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    id TEXT PRIMARY KEY,
    handle TEXT NOT NULL,
    handle_key TEXT NOT NULL UNIQUE,
    search_key TEXT NOT NULL,
    name TEXT NOT NULL,
    department TEXT NOT NULL,
    role TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    activated_at REAL,
    activation_hash BLOB,
    activation_expires_at REAL,
    kdf TEXT,
    auth_salt BLOB,
    auth_hash BLOB,
    account_key TEXT,
    public_key TEXT,
    private_key TEXT,
    recovery_salt BLOB,
    recovery_hash BLOB
);
CREATE TABLE IF NOT EXISTS sessions (
    hash BLOB PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    purpose TEXT NOT NULL DEFAULT 'full'
);
CREATE INDEX IF NOT EXISTS sessions_account ON sessions (account_id);
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY,
    bucket TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_bucket ON attempts (bucket, at);
"""
# Columns added after the first schema; a database made before gets them at
# open (SQLite has no ADD COLUMN IF NOT EXISTS).
_ADDED_COLUMNS = (
    ("accounts", "recovery_salt", "BLOB"),
    ("accounts", "recovery_hash", "BLOB"),
    ("sessions", "purpose", "TEXT NOT NULL DEFAULT 'full'"),
)
# Rows per IN (...) lookup; SQLite allows 32766 parameters, this stays far
# below it.
_LOOKUP_BATCH = 500

_COLUMNS = (
    "id, handle, handle_key, name, department, role, state, created_at,"
    " updated_at, activated_at, activation_hash, activation_expires_at, kdf,"
    " auth_salt, auth_hash, account_key, public_key, private_key,"
    " recovery_salt, recovery_hash"
)


def search_key(handle_key: str, name: str, department: str) -> str:
    """What a directory query is matched against (SQLite's LIKE folds ASCII
    only, so the text is case-folded here)."""
    return "\n".join((handle_key, name.casefold(), department.casefold()))


def _account(row: Any) -> AccountRecord:
    credentials = None
    if row[12] is not None:
        credentials = Credentials(
            kdf=row[12],
            auth_salt=bytes(row[13]),
            auth_hash=bytes(row[14]),
            account_key=row[15],
            public_key=row[16],
            private_key=row[17],
        )
    return AccountRecord(
        account_id=row[0],
        handle=row[1],
        handle_key=row[2],
        name=row[3],
        department=row[4],
        role=Role(row[5]),
        state=AccountState(row[6]),
        created_at=row[7],
        updated_at=row[8],
        activated_at=row[9],
        activation_hash=None if row[10] is None else bytes(row[10]),
        activation_expires_at=row[11],
        credentials=credentials,
        recovery=None
        if row[19] is None
        else RecoveryVerifier(salt=bytes(row[18]), hash=bytes(row[19])),
    )


def _insert_values(record: AccountRecord) -> tuple[Any, ...]:
    credentials = record.credentials
    return (
        record.account_id,
        record.handle,
        record.handle_key,
        search_key(record.handle_key, record.name, record.department),
        record.name,
        record.department,
        record.role.value,
        record.state.value,
        record.created_at,
        record.updated_at,
        record.activation_hash,
        record.activation_expires_at,
        None if credentials is None else credentials.kdf,
        None if credentials is None else credentials.auth_salt,
        None if credentials is None else credentials.auth_hash,
        None if credentials is None else credentials.account_key,
        None if credentials is None else credentials.public_key,
        None if credentials is None else credentials.private_key,
    )


_INSERT = (
    "INSERT INTO accounts (id, handle, handle_key, search_key, name,"
    " department, role, state, created_at, updated_at, activation_hash,"
    " activation_expires_at, kdf, auth_salt, auth_hash, account_key,"
    " public_key, private_key)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class SQLiteAccountStore(SQLiteDatabase, AccountStore):
    """Accounts, sessions and attempt counters in one SQLite file."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, SCHEMA)

    async def open(self) -> None:
        await super().open()
        for table, column, kind in _ADDED_COLUMNS:
            rows = await self._rows(f"PRAGMA table_info({table})")
            if column not in {row[1] for row in rows}:
                await self._conn.execute(
                    f"ALTER TABLE {table} ADD COLUMN {column} {kind}"
                )

    async def create_account(self, record: AccountRecord, *, first: bool) -> None:
        async with self._transaction() as db:
            if first and await fetch_one(db, "SELECT 1 FROM accounts LIMIT 1"):
                raise Conflict("this server already has accounts")
            if await fetch_one(
                db, "SELECT 1 FROM accounts WHERE handle_key = ?", (record.handle_key,)
            ):
                raise Conflict("this handle is taken")
            await db.execute(_INSERT, _insert_values(record))

    async def create_accounts(self, records: list[AccountRecord]) -> list[str]:
        async with self._transaction() as db:
            taken: set[str] = set()
            keys = [record.handle_key for record in records]
            for start in range(0, len(keys), _LOOKUP_BATCH):
                batch = keys[start : start + _LOOKUP_BATCH]
                marks = ",".join("?" for _ in batch)
                rows = await fetch_all(
                    db,
                    f"SELECT handle_key FROM accounts WHERE handle_key IN ({marks})",
                    batch,
                )
                taken.update(row[0] for row in rows)
            fresh = []
            for record in records:
                if record.handle_key not in taken:
                    taken.add(record.handle_key)
                    fresh.append(record)
            await db.executemany(_INSERT, [_insert_values(r) for r in fresh])
            return [record.handle_key for record in fresh]

    async def list_accounts(self, query: AccountFilter) -> list[AccountRecord]:
        where = ["search_key LIKE ? ESCAPE '\\'"]
        params: list[Any] = [like_pattern(query.query.casefold())]
        if query.state is not None:
            where.append("state = ?")
            params.append(query.state.value)
        if query.role is not None:
            where.append("role = ?")
            params.append(query.role.value)
        if query.department is not None:
            where.append("department = ?")
            params.append(query.department)
        rows = await self._rows(
            f"SELECT {_COLUMNS} FROM accounts WHERE {' AND '.join(where)}"
            " ORDER BY handle_key LIMIT ? OFFSET ?",
            [*params, query.limit, query.offset],
        )
        return [_account(row) for row in rows]

    async def reissue_code(
        self, account_id: str, code_hash: bytes, *, expires_at: float, now: float
    ) -> bool:
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE accounts SET activation_hash = ?, activation_expires_at = ?,"
                " updated_at = ? WHERE id = ? AND state = ?",
                (code_hash, expires_at, now, account_id, AccountState.PENDING.value),
            )
            return cursor.rowcount == 1

    async def approve(self, account_id: str, *, now: float) -> bool:
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE accounts SET state = ?, activated_at = ?, updated_at = ?"
                " WHERE id = ? AND state = ?",
                (
                    AccountState.ACTIVE.value,
                    now,
                    now,
                    account_id,
                    AccountState.REQUESTED.value,
                ),
            )
            return cursor.rowcount == 1

    async def delete_account(self, account_id: str) -> bool:
        async with self._transaction() as db:
            cursor = await db.execute(
                "DELETE FROM accounts WHERE id = ?", (account_id,)
            )
            return cursor.rowcount == 1

    async def set_recovery(
        self,
        account_id: str,
        verifier: RecoveryVerifier,
        *,
        account_key: str | None,
        now: float,
    ) -> bool:
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE accounts SET recovery_salt = ?, recovery_hash = ?,"
                " account_key = COALESCE(?, account_key), updated_at = ?"
                " WHERE id = ? AND state = ?",
                (
                    verifier.salt,
                    verifier.hash,
                    account_key,
                    now,
                    account_id,
                    AccountState.ACTIVE.value,
                ),
            )
            return cursor.rowcount == 1

    async def recover_credentials(
        self, account_id: str, *, credentials: Credentials, now: float
    ) -> bool:
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE accounts SET kdf = ?, auth_salt = ?, auth_hash = ?,"
                " account_key = ?, updated_at = ? WHERE id = ? AND state = ?",
                (
                    credentials.kdf,
                    credentials.auth_salt,
                    credentials.auth_hash,
                    credentials.account_key,
                    now,
                    account_id,
                    AccountState.ACTIVE.value,
                ),
            )
            return cursor.rowcount == 1

    async def account(self, account_id: str) -> AccountRecord | None:
        row = await self._row(
            f"SELECT {_COLUMNS} FROM accounts WHERE id = ?", (account_id,)
        )
        return None if row is None else _account(row)

    async def account_by_handle(self, handle_key: str) -> AccountRecord | None:
        row = await self._row(
            f"SELECT {_COLUMNS} FROM accounts WHERE handle_key = ?", (handle_key,)
        )
        return None if row is None else _account(row)

    async def accounts(self, account_ids: list[str]) -> dict[str, AccountRecord]:
        if not account_ids:
            return {}
        marks = ",".join("?" for _ in account_ids)
        rows = await self._rows(
            f"SELECT {_COLUMNS} FROM accounts WHERE id IN ({marks})", account_ids
        )
        return {row[0]: _account(row) for row in rows}

    async def search_accounts(self, query: str, *, limit: int) -> list[AccountRecord]:
        rows = await self._rows(
            f"SELECT {_COLUMNS} FROM accounts WHERE state = ?"
            " AND search_key LIKE ? ESCAPE '\\' ORDER BY handle_key LIMIT ?",
            (AccountState.ACTIVE.value, like_pattern(query.casefold()), limit),
        )
        return [_account(row) for row in rows]

    async def activate(
        self,
        handle_key: str,
        code_hash: bytes,
        *,
        now: float,
        credentials: Credentials,
    ) -> AccountRecord | None:
        async with self._transaction() as db:
            # One statement checks the code, its expiry and the state and
            # burns the code: a second use finds no pending row.
            row = await fetch_one(
                db,
                "UPDATE accounts SET state = ?, activated_at = ?, updated_at = ?,"
                " activation_hash = NULL, activation_expires_at = NULL, kdf = ?,"
                " auth_salt = ?, auth_hash = ?, account_key = ?, public_key = ?,"
                " private_key = ? WHERE handle_key = ? AND state = ?"
                " AND activation_hash = ? AND activation_expires_at > ?"
                f" RETURNING {_COLUMNS}",
                (
                    AccountState.ACTIVE.value,
                    now,
                    now,
                    credentials.kdf,
                    credentials.auth_salt,
                    credentials.auth_hash,
                    credentials.account_key,
                    credentials.public_key,
                    credentials.private_key,
                    handle_key,
                    AccountState.PENDING.value,
                    code_hash,
                    now,
                ),
            )
        return None if row is None else _account(row)

    async def change_credentials(
        self,
        account_id: str,
        *,
        old_hash: bytes,
        credentials: Credentials,
        now: float,
    ) -> bool:
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE accounts SET kdf = ?, auth_salt = ?, auth_hash = ?,"
                " account_key = ?, updated_at = ?"
                " WHERE id = ? AND auth_hash = ? AND state = ?",
                (
                    credentials.kdf,
                    credentials.auth_salt,
                    credentials.auth_hash,
                    credentials.account_key,
                    now,
                    account_id,
                    old_hash,
                    AccountState.ACTIVE.value,
                ),
            )
            return cursor.rowcount == 1

    async def set_state(self, account_id: str, state: AccountState, now: float) -> bool:
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE accounts SET state = ?, updated_at = ?"
                " WHERE id = ? AND state != ?",
                (state.value, now, account_id, AccountState.PENDING.value),
            )
            if state is AccountState.DISABLED:
                await db.execute(
                    "DELETE FROM sessions WHERE account_id = ?", (account_id,)
                )
            return cursor.rowcount == 1

    async def create_session(self, record: SessionRecord) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO sessions (hash, account_id, created_at, expires_at,"
                " purpose) VALUES (?, ?, ?, ?, ?)",
                (
                    record.session_hash,
                    record.account_id,
                    record.created_at,
                    record.expires_at,
                    record.purpose.value,
                ),
            )

    async def session(self, session_hash: bytes, *, now: float) -> SessionRecord | None:
        row = await self._row(
            "SELECT hash, account_id, created_at, expires_at, purpose FROM sessions"
            " WHERE hash = ? AND expires_at > ?",
            (session_hash, now),
        )
        if row is None:
            return None
        return SessionRecord(
            bytes(row[0]), row[1], row[2], row[3], SessionPurpose(row[4])
        )

    async def delete_session(self, session_hash: bytes) -> None:
        async with self._transaction() as db:
            await db.execute("DELETE FROM sessions WHERE hash = ?", (session_hash,))

    async def delete_sessions(
        self, account_id: str, *, keep: bytes | None = None
    ) -> int:
        async with self._transaction() as db:
            cursor = await db.execute(
                "DELETE FROM sessions WHERE account_id = ? AND hash IS NOT ?",
                (account_id, keep),
            )
            return cursor.rowcount

    async def consume(
        self, buckets: list[str], *, now: float, window: float, limit: int
    ) -> tuple[float | None, list[int]]:
        async with self._transaction() as db:
            return await _consume(db, buckets, now=now, window=window, limit=limit)

    async def release(self, event_ids: list[int]) -> None:
        if not event_ids:
            return
        marks = ",".join("?" for _ in event_ids)
        async with self._transaction() as db:
            await db.execute(f"DELETE FROM attempts WHERE id IN ({marks})", event_ids)

    async def purge(self, *, now: float, window: float) -> None:
        async with self._transaction() as db:
            await db.execute("DELETE FROM sessions WHERE expires_at <= ?", (now,))
            await db.execute("DELETE FROM attempts WHERE at <= ?", (now - window,))


async def _consume(
    db: aiosqlite.Connection,
    buckets: list[str],
    *,
    now: float,
    window: float,
    limit: int,
) -> tuple[float | None, list[int]]:
    since = now - window
    wait = 0.0
    for bucket in buckets:
        rows = await fetch_all(
            db,
            "SELECT at FROM attempts WHERE bucket = ? AND at > ? ORDER BY at",
            (bucket, since),
        )
        if len(rows) >= limit:
            # The slot frees when the oldest attempt that keeps the bucket
            # full leaves the window.
            wait = max(wait, rows[len(rows) - limit][0] + window - now)
    if wait > 0:
        return wait, []
    ids = []
    for bucket in buckets:
        cursor = await db.execute(
            "INSERT INTO attempts (bucket, at) VALUES (?, ?)", (bucket, now)
        )
        assert cursor.lastrowid is not None
        ids.append(cursor.lastrowid)
    return None, ids
