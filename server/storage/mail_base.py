"""The mail interface: drop boxes, their key versions, deliveries, reply boxes.

Public keys and wrapped box keys are opaque JSON text. A delivery is an
addressed share seen from one recipient; it lists nothing of the share but
its size and file count (names and subject stay in the encrypted manifest).
Rotation and quota checks are atomic: one transaction each.
"""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass


class MemberState(enum.StrEnum):
    # Added, but nobody has wrapped the current box key to the member yet.
    PENDING = "pending"
    ACTIVE = "active"


class RecipientKind(enum.StrEnum):
    ACCOUNT = "account"
    BOX = "box"
    REPLY = "reply"


@dataclass(frozen=True)
class BoxRecord:
    box_id: str
    name: str
    slug: str
    department: str
    version: int
    public_key: str
    created_at: float


@dataclass(frozen=True)
class BoxVersion:
    version: int
    public_key: str
    created_at: float


@dataclass(frozen=True)
class Member:
    account_id: str
    state: MemberState
    added_at: float


@dataclass(frozen=True)
class WrappedKey:
    """A box private key of one version, wrapped to one member (opaque)."""

    version: int
    wrapped: str


@dataclass(frozen=True)
class ReplyBox:
    """A depositor's mailbox: a public key and a bearer token's digest."""

    box_id: str
    token_hash: bytes
    public_key: str
    created_at: float
    expires_at: float


@dataclass(frozen=True)
class Recipient:
    kind: RecipientKind
    recipient_id: str
    # The box key version the sender encrypted to (boxes only).
    key_version: int | None = None


@dataclass(frozen=True)
class AddressedShare:
    """What the mail store keeps of a share: who sent it, how big it is."""

    share_id: str
    sender_id: str | None
    created_at: float
    expires_at: float
    files: int
    size: int


@dataclass(frozen=True)
class Quota:
    """Bounds on what anonymous senders may leave in one recipient's inbox."""

    count: int
    size: int


@dataclass(frozen=True)
class InboxRow:
    share: AddressedShare
    read: bool
    key_version: int | None


class MailStore(abc.ABC):
    """Boxes, memberships, key versions, reply boxes and deliveries."""

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect and create the schema if needed."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections."""

    @abc.abstractmethod
    async def create_box(self, box: BoxRecord, members: dict[str, str | None]) -> None:
        """Store a box at version 1 with its members.

        :param members: account id → wrapped key of version 1, or ``None``
            for a member still waiting for access.
        :raises Conflict: the slug is taken.
        """

    @abc.abstractmethod
    async def box(self, box_id: str) -> BoxRecord | None:
        """The box, or ``None``."""

    @abc.abstractmethod
    async def box_by_slug(self, slug: str) -> BoxRecord | None:
        """The box with this deposit slug, or ``None``."""

    @abc.abstractmethod
    async def search_boxes(self, query: str, *, limit: int) -> list[BoxRecord]:
        """Boxes whose name, slug or department contains ``query``."""

    @abc.abstractmethod
    async def versions(self, box_id: str) -> list[BoxVersion]:
        """Every key version of a box, oldest first."""

    @abc.abstractmethod
    async def members(self, box_id: str) -> list[Member]:
        """The members of a box."""

    @abc.abstractmethod
    async def memberships(self, account_id: str) -> list[tuple[BoxRecord, Member]]:
        """The boxes an account belongs to, with its membership."""

    @abc.abstractmethod
    async def wrapped_keys(self, box_id: str, account_id: str) -> list[WrappedKey]:
        """The member's wrapped box keys, oldest version first."""

    @abc.abstractmethod
    async def add_member(self, box_id: str, account_id: str, *, now: float) -> bool:
        """Add a pending member; ``False`` if already a member."""

    @abc.abstractmethod
    async def add_members(
        self, box_id: str, account_ids: list[str], *, now: float
    ) -> list[str]:
        """Add pending members in one transaction, skipping current ones.

        :returns: the account ids added.
        """

    @abc.abstractmethod
    async def pending_members(self) -> list[tuple[BoxRecord, Member]]:
        """Every member of every box still waiting for the current key."""

    @abc.abstractmethod
    async def forget_account(self, account_id: str) -> int:
        """Drop a deleted account's memberships and wrapped box keys, its
        inbox entries and read marks, and its name as sender.

        :returns: how many box memberships ended.
        """

    @abc.abstractmethod
    async def grant(
        self, box_id: str, account_id: str, *, version: int, wrapped: str
    ) -> bool:
        """Store a member's wrapped key of an existing version; a key of the
        current version makes the member active.

        :returns: ``False`` if not a member or no such version.
        """

    @abc.abstractmethod
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
        """Remove members and move the box to a new key version, atomically.

        Refused unless ``version`` is the current one plus one, ``remove``
        names members and ``wrapped`` covers exactly the active members that
        remain. The removed members' wrapped keys of every version go.

        :raises Conflict: with what did not match.
        """

    @abc.abstractmethod
    async def create_reply_box(self, box: ReplyBox) -> None:
        """Store a depositor's reply mailbox."""

    @abc.abstractmethod
    async def reply_box(self, box_id: str) -> ReplyBox | None:
        """The reply mailbox, or ``None``."""

    @abc.abstractmethod
    async def address(
        self,
        share: AddressedShare,
        recipients: list[Recipient],
        *,
        quota: Quota | None,
        now: float,
    ) -> None:
        """Record a share's sender and recipients, not yet delivered.

        With a ``quota`` (anonymous senders) the live anonymous deliveries of
        each recipient, this one included, must fit in it; checked and
        stored in one transaction.

        :raises QuotaFull: a recipient is full.
        :raises Conflict: a box's ``key_version`` is not its current one.
        """

    @abc.abstractmethod
    async def deliver(self, share_id: str) -> int:
        """Make an addressed share appear in its recipients' inboxes.

        :returns: how many recipients it has (0 for an unaddressed share).
        """

    @abc.abstractmethod
    async def inbox(
        self, kind: RecipientKind, recipient_id: str, *, reader: str, now: float
    ) -> list[InboxRow]:
        """Delivered, unexpired items of one inbox, newest first; ``read``
        is from the point of view of ``reader``."""

    @abc.abstractmethod
    async def mark_read(
        self,
        share_id: str,
        *,
        reader: str,
        inboxes: list[tuple[RecipientKind, str]],
        now: float,
    ) -> bool:
        """Mark a delivered share read for ``reader`` if it is in one of
        ``inboxes``; ``False`` otherwise."""

    @abc.abstractmethod
    async def sent(self, sender_id: str, *, limit: int) -> list[AddressedShare]:
        """The shares an account sent, newest first."""

    @abc.abstractmethod
    async def recipients(self, share_id: str) -> list[Recipient]:
        """The recipients a share was addressed to."""

    @abc.abstractmethod
    async def forget_share(self, share_id: str) -> None:
        """Drop a share's sender, deliveries and read marks."""

    @abc.abstractmethod
    async def purge(self, *, now: float, undelivered_before: float) -> int:
        """Drop expired shares, shares never delivered that were addressed
        before ``undelivered_before``, and expired reply boxes.

        :returns: how many shares were dropped.
        """
