"""The audit log as the services write it and administrators read it.

Every service gets the same :class:`Audit`; it stamps events with the
injectable clock. What goes in is decided by the callers, which pass ids
and small counts only (see :mod:`server.storage.audit_base`).
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from typing import Any

from server.storage.audit_base import AuditEvent, AuditQuery, AuditStore

CSV_COLUMNS = (
    "id",
    "at",
    "time_utc",
    "type",
    "actor_id",
    "account_id",
    "box_id",
    "share_id",
    "detail",
)


class Audit:
    """Writes events to an :class:`AuditStore` at the clock's time."""

    def __init__(self, store: AuditStore, clock: Callable[[], float]) -> None:
        self.store = store
        self._clock = clock

    def event(
        self,
        type: str,
        *,
        actor: str | None = None,
        account: str | None = None,
        box: str | None = None,
        share: str | None = None,
        **detail: Any,
    ) -> AuditEvent:
        """An event stamped now, for :meth:`record_all`."""
        return AuditEvent(
            at=self._clock(),
            type=type,
            actor_id=actor,
            account_id=account,
            box_id=box,
            share_id=share,
            detail=detail,
        )

    async def record(
        self,
        type: str,
        *,
        actor: str | None = None,
        account: str | None = None,
        box: str | None = None,
        share: str | None = None,
        **detail: Any,
    ) -> None:
        """Store one event stamped now."""
        await self.store.append(
            [
                self.event(
                    type, actor=actor, account=account, box=box, share=share, **detail
                )
            ]
        )

    async def record_all(self, events: list[AuditEvent]) -> None:
        await self.store.append(events)

    async def events(self, query: AuditQuery) -> list[AuditEvent]:
        return await self.store.events(query)


def event_json(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.event_id,
        "at": event.at,
        "type": event.type,
        "actor_id": event.actor_id,
        "account_id": event.account_id,
        "box_id": event.box_id,
        "share_id": event.share_id,
        "detail": event.detail,
    }


def utc_text(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def events_csv(events: list[AuditEvent]) -> str:
    """RFC 4180 CSV (quoted where needed, CRLF) with a header row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for event in events:
        writer.writerow(
            [
                event.event_id,
                repr(event.at),
                utc_text(event.at),
                event.type,
                event.actor_id or "",
                event.account_id or "",
                event.box_id or "",
                event.share_id or "",
                "" if not event.detail else _detail(event.detail),
            ]
        )
    return buffer.getvalue()


def _detail(detail: dict[str, Any]) -> str:
    return ";".join(f"{key}={detail[key]}" for key in sorted(detail))
