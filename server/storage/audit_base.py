"""The audit interface: who did what to which account, box or share, when.

Metadata only. An event names ids (an account, a box, a share) and a small
``detail`` object of counts, versions, roles and states; never content, a
file name, a message, a token, a code or an auth secret. The services are
the only writers, so they are where that rule is kept.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class AuditEvent:
    """One audit line; ``event_id`` is set by the store (0 before)."""

    at: float
    type: str
    actor_id: str | None = None
    account_id: str | None = None
    box_id: str | None = None
    share_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    event_id: int = 0


@dataclass(frozen=True)
class AuditQuery:
    """A filter over events; ``account`` matches the actor or the subject."""

    type: str | None = None
    since: float | None = None
    until: float | None = None
    account: str | None = None
    limit: int = 1000


class AuditStore(abc.ABC):
    """An append-only list of :class:`AuditEvent`."""

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect and create the schema if needed."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections."""

    @abc.abstractmethod
    async def append(self, events: list[AuditEvent]) -> None:
        """Store events, all or none (one transaction)."""

    @abc.abstractmethod
    async def events(self, query: AuditQuery) -> list[AuditEvent]:
        """Events matching ``query``, oldest first, at most ``query.limit``.

        ``type`` matches exactly or, ending in ``.``, as a prefix
        (``account.`` is every account event); ``since`` is inclusive and
        ``until`` exclusive.
        """
