"""The two storage interfaces: share metadata and ciphertext blobs.

Both are async and small on purpose so that a PostgreSQL metadata store and
an S3 blob store can implement them later; routes never see SQL or paths.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

MANIFEST_BLOB = "manifest"


class ShareState(enum.StrEnum):
    """The stored state; ``expired`` and ``consumed`` are derived from it."""

    PENDING = "pending"
    READY = "ready"
    REVOKED = "revoked"


@dataclass(frozen=True)
class ShareRecord:
    """One share's metadata. Token and verifier are stored only as digests."""

    share_id: str
    owner_hash: bytes
    claim_verifier: bytes
    created_at: float
    expires_at: float
    max_downloads: int
    manifest_size: int
    file_sizes: tuple[int, ...]
    state: ShareState = ShareState.PENDING
    downloads: int = 0
    # True once the blobs of an ended share were deleted.
    purged: bool = False
    # A code share (docs/format.md, code stanza): the public KDF description
    # as JSON text, SHA-256 of the unlock proof, and the wrong-proof budget.
    code_kdf: str | None = None
    unlock_verifier: bytes | None = None
    code_attempts: int = 0
    code_failures: int = 0

    @property
    def locked(self) -> bool:
        """A code share whose wrong-proof budget is spent."""
        return self.code_attempts > 0 and self.code_failures >= self.code_attempts


@dataclass(frozen=True)
class BlobKey:
    """Names one blob: a file of a share (``"0"``, ``"1"``…) or its manifest."""

    share_id: str
    name: str

    @classmethod
    def file(cls, share_id: str, index: int) -> BlobKey:
        return cls(share_id, str(index))

    @classmethod
    def manifest(cls, share_id: str) -> BlobKey:
        return cls(share_id, MANIFEST_BLOB)


@dataclass(frozen=True)
class BlobStatus:
    """How far an upload got: bytes received and whether it is published."""

    received: int
    published: bool


class MetadataStore(abc.ABC):
    """Share records, download counting and claim history."""

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect and create the schema if needed."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections."""

    @abc.abstractmethod
    async def create(self, record: ShareRecord) -> None:
        """Store a new share."""

    @abc.abstractmethod
    async def get(self, share_id: str) -> ShareRecord | None:
        """Return the share or ``None``."""

    @abc.abstractmethod
    async def transition(
        self, share_id: str, *, to: ShareState, allowed: tuple[ShareState, ...]
    ) -> bool:
        """Move a share to ``to`` if it is in one of ``allowed`` states.

        :returns: whether the share changed state.
        """

    @abc.abstractmethod
    async def claim(self, share_id: str, *, now: float) -> int | None:
        """Count one download atomically and record when it happened.

        Succeeds only while the share is ready, not expired and under its
        limit; concurrent callers (even in other processes) can never push
        the count past ``max_downloads``.

        :returns: the claim number (1-based) or ``None`` if refused.
        """

    @abc.abstractmethod
    async def code_failure(self, share_id: str) -> int | None:
        """Count one wrong unlock proof atomically.

        :returns: the failures so far, or ``None`` if the share is unknown or
            already locked (concurrent guesses can never exceed the budget).
        """

    @abc.abstractmethod
    async def claim_times(self, share_id: str) -> list[float]:
        """Times of every successful claim, oldest first."""

    @abc.abstractmethod
    async def stale_pending(self, *, created_before: float, now: float) -> list[str]:
        """Ids of shares never finalised that can no longer be finalised.

        That is, created before ``created_before`` (the upload window is
        over) or already expired at ``now``.
        """

    @abc.abstractmethod
    async def ended(self, *, now: float, consumed_before: float) -> list[str]:
        """Ids of ended shares whose blobs were not yet purged.

        Ended means revoked, locked, expired at ``now``, or consumed with its last
        claim before ``consumed_before`` (so the last ticket has run out and
        nobody can still be downloading).
        """

    @abc.abstractmethod
    async def mark_purged(self, share_id: str) -> None:
        """Remember that the blobs of an ended share are gone."""

    @abc.abstractmethod
    async def forget_ended(self, *, ended_before: float) -> int:
        """Drop purged shares that expired before the given time.

        :returns: how many were dropped.
        """

    @abc.abstractmethod
    async def delete(self, share_id: str) -> None:
        """Drop a share and its claims entirely."""


class BlobStore(abc.ABC):
    """Ciphertext blobs: append-only resumable uploads, then atomic publish."""

    @abc.abstractmethod
    async def status(self, key: BlobKey) -> BlobStatus:
        """Bytes received so far and whether the blob is published."""

    @abc.abstractmethod
    async def append(
        self,
        key: BlobKey,
        *,
        offset: int,
        size: int,
        chunks: AsyncIterable[bytes],
    ) -> int:
        """Append a body to an unpublished upload.

        The body is written as it arrives. If it would carry the upload past
        ``size`` the append is rolled back to ``offset``; if it stops early
        (client gone) what was written stays, so the upload can resume.

        :returns: bytes received after the append.
        :raises OffsetMismatch: ``offset`` is not the bytes received so far.
        :raises UploadBusy: another request is appending to this blob.
        :raises TooLarge: the body is longer than ``size - offset``.
        :raises StorageFull: out of space; rolled back to ``offset``.
        :raises WrongState: the blob is already published.
        """

    @abc.abstractmethod
    async def publish(self, key: BlobKey, *, size: int) -> None:
        """Make a complete upload readable, atomically.

        :raises Incomplete: fewer than ``size`` bytes were received.
        """

    @abc.abstractmethod
    async def size(self, key: BlobKey) -> int | None:
        """Size of a published blob, or ``None``."""

    @abc.abstractmethod
    def read(self, key: BlobKey, *, start: int, end: int) -> AsyncIterator[bytes]:
        """Stream bytes ``start`` to ``end`` (exclusive) of a published blob."""

    @abc.abstractmethod
    async def discard_upload(self, key: BlobKey) -> None:
        """Forget the bytes of an unpublished upload so it starts again.

        :raises UploadBusy: another request is appending to this blob.
        :raises WrongState: the blob is already published.
        """

    @abc.abstractmethod
    async def delete_share(self, share_id: str) -> None:
        """Delete every blob of a share, published or not."""

    @abc.abstractmethod
    async def share_ids(self) -> list[str]:
        """Ids of every share that has blobs or an upload in progress."""
