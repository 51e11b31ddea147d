"""AuditStore on SQLite, in the same database file as the accounts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from server.storage.audit_base import AuditEvent, AuditQuery, AuditStore
from server.storage.sqlite_db import SQLiteDatabase

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_events (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    type TEXT NOT NULL,
    actor_id TEXT,
    account_id TEXT,
    box_id TEXT,
    share_id TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_events_at ON audit_events (at);
CREATE INDEX IF NOT EXISTS audit_events_account ON audit_events (account_id);
"""


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _event(row: Any) -> AuditEvent:
    return AuditEvent(
        event_id=row[0],
        at=row[1],
        type=row[2],
        actor_id=row[3],
        account_id=row[4],
        box_id=row[5],
        share_id=row[6],
        detail=json.loads(row[7]),
    )


class SQLiteAuditStore(SQLiteDatabase, AuditStore):
    """Audit events in one SQLite table."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, SCHEMA)

    async def append(self, events: list[AuditEvent]) -> None:
        if not events:
            return
        async with self._transaction() as db:
            await db.executemany(
                "INSERT INTO audit_events (at, type, actor_id, account_id, box_id,"
                " share_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        e.at,
                        e.type,
                        e.actor_id,
                        e.account_id,
                        e.box_id,
                        e.share_id,
                        json.dumps(e.detail, sort_keys=True),
                    )
                    for e in events
                ],
            )

    async def events(self, query: AuditQuery) -> list[AuditEvent]:
        where: list[str] = []
        params: list[Any] = []
        if query.type:
            if query.type.endswith("."):
                where.append("type LIKE ? ESCAPE '\\'")
                params.append(_escape(query.type) + "%")
            else:
                where.append("type = ?")
                params.append(query.type)
        if query.since is not None:
            where.append("at >= ?")
            params.append(query.since)
        if query.until is not None:
            where.append("at < ?")
            params.append(query.until)
        if query.account:
            where.append("(account_id = ? OR actor_id = ?)")
            params += [query.account, query.account]
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = await self._rows(
            "SELECT id, at, type, actor_id, account_id, box_id, share_id, detail"
            f" FROM audit_events{clause} ORDER BY at, id LIMIT ?",
            [*params, query.limit],
        )
        return [_event(row) for row in rows]
