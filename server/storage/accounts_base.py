"""The account interface: accounts, activation, sessions and rate counters.

Beside :class:`server.storage.base.MetadataStore` and as small, so that a
PostgreSQL store can implement it later. Every key-ish value is opaque here:
JSON text or bytes the server stores and hands back, never interprets.
Operations that guard a secret or a budget are atomic on their own (one
transaction each), so concurrent requests, even from several processes,
cannot use an activation code twice or exceed a rate limit.
"""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass


class Role(enum.StrEnum):
    ADMIN = "admin"
    STAFF = "staff"
    # Someone outside the organisation with an account (a partner clinic):
    # a mailbox, no departmental box.
    OUTSIDER = "outsider"


class AccountState(enum.StrEnum):
    PENDING = "pending"
    # Asked for by the person (self-service), with keys, until an
    # administrator approves it.
    REQUESTED = "requested"
    ACTIVE = "active"
    DISABLED = "disabled"


class SessionPurpose(enum.StrEnum):
    FULL = "full"
    # Opened with a recovery code: may only read its record and set a new
    # passphrase.
    RECOVERY = "recovery"


@dataclass(frozen=True)
class Credentials:
    """What activation or a passphrase change stores; all of it opaque.

    ``kdf``, ``account_key``, ``public_key`` and ``private_key`` are JSON
    text; ``auth_hash`` is the slow hash of the client's auth secret under
    ``auth_salt`` (never the secret itself).
    """

    kdf: str
    auth_salt: bytes
    auth_hash: bytes
    account_key: str
    public_key: str | None = None
    private_key: str | None = None


@dataclass(frozen=True)
class RecoveryVerifier:
    """The slow hash of a recovery auth secret (never the secret)."""

    salt: bytes
    hash: bytes


@dataclass(frozen=True)
class AccountFilter:
    """What the administrators' account list filters on (all optional)."""

    state: AccountState | None = None
    department: str | None = None
    role: Role | None = None
    query: str = ""
    limit: int = 500
    offset: int = 0


@dataclass(frozen=True)
class AccountRecord:
    """One account. ``handle_key`` is the unique comparison form of the handle."""

    account_id: str
    handle: str
    handle_key: str
    name: str
    department: str
    role: Role
    state: AccountState
    created_at: float
    updated_at: float
    activated_at: float | None = None
    # SHA-256 of the normalised one-time code, until it is used.
    activation_hash: bytes | None = None
    activation_expires_at: float | None = None
    credentials: Credentials | None = None
    recovery: RecoveryVerifier | None = None


@dataclass(frozen=True)
class SessionRecord:
    """A server-side session; the cookie carries its id, stored as SHA-256."""

    session_hash: bytes
    account_id: str
    created_at: float
    expires_at: float
    purpose: SessionPurpose = SessionPurpose.FULL


class AccountStore(abc.ABC):
    """Accounts, their sessions and the failure counters that guard them."""

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect and create the schema if needed."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections."""

    @abc.abstractmethod
    async def create_account(self, record: AccountRecord, *, first: bool) -> None:
        """Store a new pending account.

        :param first: succeed only if there is no account at all yet, checked
            in the same transaction (``sealpost admin init``).
        :raises Conflict: the handle is taken, or ``first`` and not empty.
        """

    @abc.abstractmethod
    async def create_accounts(self, records: list[AccountRecord]) -> list[str]:
        """Store new accounts in one transaction, skipping every record whose
        handle is taken (so loading the same list twice changes nothing).

        A record in state ``requested`` is stored with its credentials.

        :returns: the handle keys of the records stored.
        """

    @abc.abstractmethod
    async def list_accounts(self, query: AccountFilter) -> list[AccountRecord]:
        """Accounts matching every given filter, by handle."""

    @abc.abstractmethod
    async def reissue_code(
        self, account_id: str, code_hash: bytes, *, expires_at: float, now: float
    ) -> bool:
        """Replace a pending account's activation code (the old one dies).

        :returns: whether the account exists and is pending.
        """

    @abc.abstractmethod
    async def approve(self, account_id: str, *, now: float) -> bool:
        """Make a requested account active; ``False`` if not requested."""

    @abc.abstractmethod
    async def delete_account(self, account_id: str) -> bool:
        """Delete an account and its sessions; ``False`` if unknown."""

    @abc.abstractmethod
    async def set_recovery(
        self,
        account_id: str,
        verifier: RecoveryVerifier,
        *,
        account_key: str | None,
        now: float,
    ) -> bool:
        """Store a recovery verifier (and, if given, the re-sealed account
        key that carries the matching recovery wrap) of an active account."""

    @abc.abstractmethod
    async def recover_credentials(
        self, account_id: str, *, credentials: Credentials, now: float
    ) -> bool:
        """Replace kdf, auth hash and wrapped account key without the old
        auth hash (a recovery session proved the recovery code instead)."""

    @abc.abstractmethod
    async def account(self, account_id: str) -> AccountRecord | None:
        """The account with this id, or ``None``."""

    @abc.abstractmethod
    async def account_by_handle(self, handle_key: str) -> AccountRecord | None:
        """The account with this comparison form of the handle, or ``None``."""

    @abc.abstractmethod
    async def accounts(self, account_ids: list[str]) -> dict[str, AccountRecord]:
        """The accounts among ``account_ids`` that exist, by id."""

    @abc.abstractmethod
    async def search_accounts(self, query: str, *, limit: int) -> list[AccountRecord]:
        """Active accounts whose handle, name or department contains ``query``
        (case-insensitive; an empty query matches all), by handle."""

    @abc.abstractmethod
    async def activate(
        self,
        handle_key: str,
        code_hash: bytes,
        *,
        now: float,
        credentials: Credentials,
    ) -> AccountRecord | None:
        """Use a pending account's code once and store its credentials.

        Checking the code, its expiry and the state and consuming the code
        are one statement, so a code can never activate twice.

        :returns: the active account, or ``None`` for a wrong, used or
            expired code.
        """

    @abc.abstractmethod
    async def change_credentials(
        self,
        account_id: str,
        *,
        old_hash: bytes,
        credentials: Credentials,
        now: float,
    ) -> bool:
        """Replace kdf, auth hash and wrapped account key if the stored auth
        hash still is ``old_hash`` (so two concurrent changes cannot both win).

        The public and private keys stay; ``credentials`` carries none.
        """

    @abc.abstractmethod
    async def set_state(self, account_id: str, state: AccountState, now: float) -> bool:
        """Enable or disable an active account; disabling revokes its sessions.

        :returns: whether the account exists and is not pending.
        """

    @abc.abstractmethod
    async def create_session(self, record: SessionRecord) -> None:
        """Store a new session."""

    @abc.abstractmethod
    async def session(self, session_hash: bytes, *, now: float) -> SessionRecord | None:
        """The unexpired session with this id digest, or ``None``."""

    @abc.abstractmethod
    async def delete_session(self, session_hash: bytes) -> None:
        """End one session (logout)."""

    @abc.abstractmethod
    async def delete_sessions(
        self, account_id: str, *, keep: bytes | None = None
    ) -> int:
        """End every session of an account except ``keep``.

        :returns: how many ended.
        """

    @abc.abstractmethod
    async def consume(
        self, buckets: list[str], *, now: float, window: float, limit: int
    ) -> tuple[float | None, list[int]]:
        """Count one attempt in every bucket, or in none if any is full.

        An attempt is counted before it is checked, and the count and the
        limit check are one transaction, so a burst of concurrent guesses
        can never make more than ``limit`` attempts in a window.

        :returns: ``(None, event ids)`` when counted (pass the ids to
            :meth:`release` if the attempt succeeded), or ``(seconds until a
            slot frees, [])`` when refused.
        """

    @abc.abstractmethod
    async def release(self, event_ids: list[int]) -> None:
        """Uncount attempts that succeeded: only failures use up the budget."""

    @abc.abstractmethod
    async def purge(self, *, now: float, window: float) -> None:
        """Drop expired sessions and attempts older than ``window``."""
