"""The share lifecycle: create, upload, finalize, claim, serve, revoke, clean.

Routes parse HTTP and call this; it owns the rules and the state machine.
Recipients learn nothing beyond "available" or ``Unavailable``.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import AsyncIterable
from dataclasses import dataclass

from server.audit import Audit
from server.config import Config
from server.encoding import b64url_encode
from server.errors import (
    BadRequest,
    CodeRequired,
    Incomplete,
    TooLarge,
    Unavailable,
    WrongCode,
    WrongState,
)
from server.ids import new_id
from server.limits import is_ciphertext_size, plaintext_size
from server.storage.base import (
    BlobKey,
    BlobStore,
    MetadataStore,
    ShareRecord,
    ShareState,
)
from server.storage.receipts_base import ReceiptStore
from server.tickets import Tickets

logger = logging.getLogger("sealpost.shares")

# 128 bits: share ids are unguessable on their own.
SHARE_ID_BYTES = 16
# Owner tokens carry 256 bits and are stored only as SHA-256.
OWNER_TOKEN_BYTES = 32


class PublicState(enum.StrEnum):
    """The state an owner sees."""

    PENDING = "pending"
    READY = "ready"
    EXPIRED = "expired"
    CONSUMED = "consumed"
    REVOKED = "revoked"
    LOCKED = "locked"


def blob_ref(share_id: str) -> str:
    """A short opaque reference for logs; the id itself is never logged."""
    return hashlib.sha256(share_id.encode("ascii")).hexdigest()[:8]


def _digest(value: bytes) -> bytes:
    return hashlib.sha256(value).digest()


def public_state(record: ShareRecord, now: float) -> PublicState:
    """Derive the state from the stored one, the clock and the counter."""
    if record.state is ShareState.REVOKED:
        return PublicState.REVOKED
    if now >= record.expires_at:
        return PublicState.EXPIRED
    if record.locked:
        return PublicState.LOCKED
    if record.state is ShareState.PENDING:
        return PublicState.PENDING
    if record.downloads >= record.max_downloads:
        return PublicState.CONSUMED
    return PublicState.READY


@dataclass(frozen=True)
class NewShare:
    """What the sender gets back; the token is shown once and never again."""

    share_id: str
    owner_token: str
    expires_at: float


@dataclass(frozen=True)
class ShareRequest:
    """A validated creation request (sizes are ciphertext sizes)."""

    expires_in: int
    max_downloads: int
    claim_verifier: bytes
    file_sizes: tuple[int, ...]
    manifest_size: int
    code: CodeLock | None = None


@dataclass(frozen=True)
class CodeLock:
    """A code share's public KDF description and unlock verifier.

    The server never checks the KDF parameters' strength (recipients do, with
    their floor and ceiling); it only stores and publishes them.
    """

    kdf: dict[str, object]
    unlock_verifier: bytes


@dataclass(frozen=True)
class Blob:
    """A published blob ready to be streamed."""

    key: BlobKey
    size: int
    # The claim whose ticket it is served under (files only).
    claim: int = 0


class ShareService:
    """Every share operation, on top of the two stores.

    :param config: limits and the clock.
    :param metadata: where share records live.
    :param blobs: where ciphertext lives.
    :param tickets: signs and checks download tickets.
    :param audit: where share events go (ids and counts only).
    :param receipts: where claims and complete file downloads are noted for
        the owner.
    """

    def __init__(
        self,
        config: Config,
        metadata: MetadataStore,
        blobs: BlobStore,
        tickets: Tickets,
        audit: Audit | None = None,
        receipts: ReceiptStore | None = None,
    ) -> None:
        self.config = config
        self.metadata = metadata
        self.blobs = blobs
        self.tickets = tickets
        self.audit = audit
        self.receipts = receipts

    def _now(self) -> float:
        return self.config.clock()

    async def _record(self, type: str, share_id: str, **detail: object) -> None:
        if self.audit is not None:
            await self.audit.record(type, share=share_id, **detail)

    def check_limits(self, request: ShareRequest) -> None:
        """Refuse a share whose declared sizes exceed a limit, before upload.

        :raises BadRequest: a size no encryptor produces.
        :raises TooLarge: a file, the whole share or the manifest is too big.
        """
        config = self.config
        if request.manifest_size < 1:
            raise BadRequest("manifest_size must be at least 1")
        for size in request.file_sizes:
            if not is_ciphertext_size(size):
                raise BadRequest("a file size is not a possible ciphertext size")
        if len(request.file_sizes) > config.max_files:
            raise TooLarge(f"a share holds at most {config.max_files} files")
        if request.manifest_size > config.max_manifest_bytes:
            raise TooLarge("the manifest is larger than this server accepts")
        total = 0
        for size in request.file_sizes:
            plain = plaintext_size(size)
            if plain > config.max_file_bytes:
                raise TooLarge("a file is larger than this server accepts")
            total += plain
        if total > config.max_share_bytes:
            raise TooLarge("the files together are larger than this server accepts")

    async def create(self, request: ShareRequest) -> NewShare:
        """Store a new pending share and return its id and owner token.

        :raises TooLarge: see :meth:`check_limits`.
        """
        self.check_limits(request)

        share_id = new_id(SHARE_ID_BYTES)
        token = secrets.token_bytes(OWNER_TOKEN_BYTES)
        now = self._now()
        record = ShareRecord(
            share_id=share_id,
            owner_hash=_digest(token),
            claim_verifier=request.claim_verifier,
            created_at=now,
            expires_at=now + request.expires_in,
            max_downloads=request.max_downloads,
            manifest_size=request.manifest_size,
            file_sizes=request.file_sizes,
        )
        if request.code is not None:
            record = dataclasses.replace(
                record,
                code_kdf=json.dumps(request.code.kdf, sort_keys=True),
                unlock_verifier=request.code.unlock_verifier,
                code_attempts=self.config.code_attempts,
            )
        await self.metadata.create(record)
        logger.info(
            "Created share %s with %d files.",
            blob_ref(share_id),
            len(record.file_sizes),
        )
        await self._record(
            "share.created",
            share_id,
            files=len(record.file_sizes),
            max_downloads=record.max_downloads,
        )
        return NewShare(
            share_id=share_id,
            owner_token=b64url_encode(token),
            expires_at=record.expires_at,
        )

    async def owned(self, share_id: str, token: bytes) -> ShareRecord:
        """Return the share if ``token`` is its owner token.

        :raises Unavailable: unknown share or wrong token (indistinguishable).
        """
        record = await self.metadata.get(share_id)
        # Compare digests in constant time; a missing share still hashes so
        # the two failures take the same path.
        expected = record.owner_hash if record else b"\0" * 32
        if not hmac.compare_digest(_digest(token), expected) or record is None:
            raise Unavailable()
        return record

    async def _pending(self, share_id: str, token: bytes) -> ShareRecord:
        record = await self.owned(share_id, token)
        state = public_state(record, self._now())
        if state is not PublicState.PENDING:
            raise WrongState(f"uploads are closed, the share is {state.value}")
        return record

    def _upload_key(
        self, record: ShareRecord, index: int | None
    ) -> tuple[BlobKey, int]:
        if index is None:
            return BlobKey.manifest(record.share_id), record.manifest_size
        if not 0 <= index < len(record.file_sizes):
            raise Unavailable("this share has no file with that index")
        return BlobKey.file(record.share_id, index), record.file_sizes[index]

    async def upload(
        self,
        share_id: str,
        token: bytes,
        index: int | None,
        *,
        offset: int | None,
        chunks: AsyncIterable[bytes],
    ) -> int:
        """Append ciphertext to file ``index`` (or the manifest if ``None``).

        With ``offset=None`` the body is the whole blob: an earlier partial
        attempt is discarded first and a short body is refused and dropped.

        :returns: bytes received so far.
        :raises BadRequest: ``offset=None`` and the body was not the whole blob.
        :raises OffsetMismatch, TooLarge, StorageFull, UploadBusy, WrongState:
            see :meth:`BlobStore.append`.
        """
        record = await self._pending(share_id, token)
        key, size = self._upload_key(record, index)

        whole = offset is None
        if whole:
            await self.blobs.discard_upload(key)
            offset = 0
        received = await self.blobs.append(key, offset=offset, size=size, chunks=chunks)
        if whole and received != size:
            await self.blobs.discard_upload(key)
            raise BadRequest(f"the body must be exactly {size} bytes")
        if received == size:
            await self.blobs.publish(key, size=size)
        logger.info(
            "Stored %d bytes for share %s (%d of %d).",
            received - offset,
            blob_ref(share_id),
            received,
            size,
        )
        return received

    async def upload_status(
        self, share_id: str, token: bytes, index: int | None
    ) -> tuple[int, int]:
        """Return ``(received, size)`` so a cut upload can resume."""
        record = await self.owned(share_id, token)
        key, size = self._upload_key(record, index)
        status = await self.blobs.status(key)
        return status.received, size

    async def finalize(self, share_id: str, token: bytes) -> PublicState:
        """Open a fully uploaded share to recipients.

        :raises Incomplete: a file or the manifest is not fully uploaded.
        :raises WrongState: the share expired or was revoked.
        """
        record = await self.owned(share_id, token)
        state = public_state(record, self._now())
        if state is not PublicState.PENDING:
            if record.state is ShareState.READY and state is not PublicState.EXPIRED:
                return state
            raise WrongState(f"the share cannot be finalised, it is {state.value}")

        keys = [(BlobKey.manifest(share_id), record.manifest_size)] + [
            (BlobKey.file(share_id, i), size)
            for i, size in enumerate(record.file_sizes)
        ]
        for key, size in keys:
            status = await self.blobs.status(key)
            if status.published:
                continue
            if status.received != size:
                raise Incomplete("a file or the manifest is not completely uploaded")
            await self.blobs.publish(key, size=size)

        await self.metadata.transition(
            share_id, to=ShareState.READY, allowed=(ShareState.PENDING,)
        )
        logger.info("Share %s is ready.", blob_ref(share_id))
        return PublicState.READY

    async def _available(self, share_id: str) -> ShareRecord:
        record = await self.metadata.get(share_id)
        if record is None or public_state(record, self._now()) is not PublicState.READY:
            raise Unavailable()
        return record

    async def info(self, share_id: str) -> ShareRecord:
        """The share for a recipient, if it can still be downloaded."""
        return await self._available(share_id)

    async def manifest(self, share_id: str) -> Blob:
        """The encrypted manifest blob, if the share can still be downloaded.

        :raises CodeRequired: a code share; its manifest needs :meth:`unlock`.
        """
        record = await self._available(share_id)
        if record.unlock_verifier is not None:
            raise CodeRequired()
        return await self._manifest_blob(record)

    async def unlock(self, share_id: str, proof: bytes) -> Blob:
        """The manifest of a code share, for a valid unlock proof.

        A wrong proof spends one attempt; the last one locks the share. The
        server cannot tell a wrong code from a wrong link secret (both feed
        the proof), which is also all a guesser learns.

        :raises WrongCode: with the attempts left.
        :raises Unavailable: not a code share, not available, or locked.
        """
        record = await self._available(share_id)
        if record.unlock_verifier is None:
            raise Unavailable()
        if hmac.compare_digest(_digest(proof), record.unlock_verifier):
            return await self._manifest_blob(record)
        failures = await self.metadata.code_failure(share_id)
        if failures is None:
            raise Unavailable()
        left = record.code_attempts - failures
        if left == 0:
            logger.info("Share %s locked after wrong codes.", blob_ref(share_id))
        raise WrongCode(left)

    def code_info(self, record: ShareRecord) -> dict[str, object] | None:
        """What a recipient needs to derive the unlock proof, or None."""
        if record.code_kdf is None:
            return None
        return {
            **json.loads(record.code_kdf),
            "attempts_left": record.code_attempts - record.code_failures,
        }

    async def _manifest_blob(self, record: ShareRecord) -> Blob:
        share_id = record.share_id
        key = BlobKey.manifest(share_id)
        size = await self.blobs.size(key)
        if size is None:
            raise Unavailable()
        logger.info(
            "Serving a manifest of share %s (%d bytes).", blob_ref(share_id), size
        )
        if size != record.manifest_size:
            # The store lost or damaged it: a server fault, not the client's.
            raise RuntimeError("the published manifest has the wrong size")
        return Blob(key=key, size=size)

    async def claim(
        self, share_id: str, proof: bytes, *, recipient: str | None = None
    ) -> tuple[str, int]:
        """Count one download and return a ticket for the blobs.

        :param recipient: the account id of a signed-in recipient of an
            addressed share, for the owner's receipts; ``None`` for a link.
        :raises Unavailable: not ready, over the limit, or a wrong proof.
        """
        record = await self._available(share_id)
        if not hmac.compare_digest(_digest(proof), record.claim_verifier):
            raise Unavailable()

        number = await self.metadata.claim(share_id, now=self._now())
        if number is None:
            raise Unavailable()
        logger.info(
            "Counted download %d of %d for share %s.",
            number,
            record.max_downloads,
            blob_ref(share_id),
        )
        await self._record("share.claimed", share_id, claim=number)
        if self.receipts is not None:
            await self.receipts.claimed(share_id, number, recipient)
        return self.tickets.issue(share_id, number), self.tickets.max_age

    async def file(self, share_id: str, index: int, ticket: str | None) -> Blob:
        """A file blob for the holder of a valid ticket.

        Works after the share is consumed (the last claimer must be able to
        finish) but never once it expired or was revoked.

        :raises InvalidTicket: the ticket is missing, bad, old or foreign.
        :raises Unavailable: the share ended or has no such file.
        """
        claim = self.tickets.check(ticket, share_id)
        record = await self.metadata.get(share_id)
        if record is None:
            raise Unavailable()
        state = public_state(record, self._now())
        if state not in (PublicState.READY, PublicState.CONSUMED):
            raise Unavailable()
        if claim > record.downloads or not 0 <= index < len(record.file_sizes):
            raise Unavailable()

        key = BlobKey.file(share_id, index)
        size = await self.blobs.size(key)
        if size is None:
            raise Unavailable()
        return Blob(key=key, size=size, claim=claim)

    async def served(self, share_id: str, index: int, claim: int) -> None:
        """Note that file ``index`` went out to its last byte under ``claim``."""
        if self.receipts is not None:
            await self.receipts.served(share_id, claim, index, self._now())

    async def status(self, share_id: str, token: bytes) -> dict[str, object]:
        """What the owner may know: the real state and every claim time."""
        record = await self.owned(share_id, token)
        return {
            "state": public_state(record, self._now()).value,
            "downloads": record.downloads,
            "max_downloads": record.max_downloads,
            "expires_at": record.expires_at,
            "created_at": record.created_at,
            "claims": await self.metadata.claim_times(share_id),
            "code": None
            if record.code_kdf is None
            else {
                "failures": record.code_failures,
                "attempts": record.code_attempts,
            },
        }

    async def revoke(self, share_id: str, token: bytes) -> None:
        """End the share for everyone and delete its blobs."""
        await self.owned(share_id, token)
        await self.metadata.transition(
            share_id,
            to=ShareState.REVOKED,
            allowed=(ShareState.PENDING, ShareState.READY),
        )
        await self.blobs.delete_share(share_id)
        await self.metadata.mark_purged(share_id)
        logger.info("Revoked share %s.", blob_ref(share_id))
        await self._record("share.revoked", share_id)

    async def cleanup(self) -> tuple[int, int]:
        """Delete stale uploads and the blobs of ended shares.

        :returns: ``(stale uploads removed, ended shares purged)``.
        """
        now = self._now()
        stale = await self.metadata.stale_pending(
            created_before=now - self.config.upload_window_seconds, now=now
        )
        for share_id in stale:
            await self.blobs.delete_share(share_id)
            await self.metadata.delete(share_id)
        # A consumed share keeps its blobs while the last ticket is valid, so
        # the last recipient can finish (and resume) the download.
        ended = await self.metadata.ended(
            now=now, consumed_before=now - self.config.ticket_seconds
        )
        for share_id in ended:
            ended_record = await self.metadata.get(share_id)
            await self.blobs.delete_share(share_id)
            await self.metadata.mark_purged(share_id)
            if ended_record is not None:
                state = public_state(ended_record, now)
                await self._record(f"share.{state.value}", share_id)
        await self.metadata.forget_ended(
            ended_before=now - self.config.metadata_retention_seconds
        )
        if self.receipts is not None:
            # Receipts live as long as the owner can read the status.
            gone = [
                share_id
                for share_id in await self.receipts.share_ids()
                if await self.metadata.get(share_id) is None
            ]
            await self.receipts.forget(gone)
        orphans = await self._orphans()
        for share_id in orphans:
            await self.blobs.delete_share(share_id)
        if stale or ended or orphans:
            logger.info(
                "Cleanup removed %d unfinished, %d ended and %d orphaned shares.",
                len(stale),
                len(ended),
                len(orphans),
            )
        return len(stale), len(ended) + len(orphans)

    async def _orphans(self) -> list[str]:
        """Blob folders with no live share: an upload that raced a revoke or a
        cleanup pass, or metadata dropped after retention."""
        found = []
        for share_id in await self.blobs.share_ids():
            record = await self.metadata.get(share_id)
            if record is None or record.purged:
                found.append(share_id)
        return found
