"""One SQLite connection with serialised write transactions, the base of
every SQLite store (shares, accounts, boxes, mail, audit, receipts)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

# Several server processes may write the same database; a writer waits this
# long for the lock instead of failing at once.
BUSY_TIMEOUT_MS = 30_000


class SQLiteDatabase:
    """A connection to one database file and the schema it must have.

    :param path: the database file; its folder must exist.
    :param schema: ``CREATE ... IF NOT EXISTS`` statements run at open.
    """

    def __init__(self, path: Path, schema: str) -> None:
        self._path = path
        self._schema = schema
        self._db: aiosqlite.Connection | None = None
        # Requests of this process share the connection; explicit
        # transactions must not interleave on it.
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        db = await aiosqlite.connect(self._path, isolation_level=None)
        await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await db.execute("PRAGMA journal_mode = WAL")
        await db.execute("PRAGMA foreign_keys = ON")
        await db.executescript(self._schema)
        self._db = db

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    @property
    def _conn(self) -> aiosqlite.Connection:
        assert self._db is not None, f"{type(self).__name__}.open() was not awaited"
        return self._db

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._lock:
            db = self._conn
            # IMMEDIATE takes the write lock up front, so two processes
            # serialise here instead of failing on a lock upgrade later.
            await db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                await db.execute("ROLLBACK")
                raise
            await db.execute("COMMIT")

    async def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        # Reads take the lock too: a statement still open on this
        # connection pins an old snapshot, and a BEGIN IMMEDIATE issued
        # meanwhile by another request would then fail at once with
        # "database is locked" whenever another connection has written.
        async with self._lock:
            async with self._conn.execute(sql, tuple(params)) as cursor:
                return list(await cursor.fetchall())

    async def _row(self, sql: str, params: Iterable[Any] = ()) -> Any:
        async with self._lock:
            async with self._conn.execute(sql, tuple(params)) as cursor:
                return await cursor.fetchone()


async def fetch_all(
    db: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()
) -> list[Any]:
    """Rows of a query inside a transaction."""
    async with db.execute(sql, tuple(params)) as cursor:
        return list(await cursor.fetchall())


async def fetch_one(
    db: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()
) -> Any:
    """The first row of a query inside a transaction, or ``None``."""
    async with db.execute(sql, tuple(params)) as cursor:
        return await cursor.fetchone()


def like_pattern(query: str) -> str:
    """A LIKE pattern matching ``query`` anywhere, with wildcards escaped."""
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
