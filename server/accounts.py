"""Accounts: provisioning, activation, login, sessions, passphrase change.

The browser derives from the passphrase a key that wraps the account key and
a separate 32-byte auth secret; only the auth secret reaches the server,
which keeps a slow hash of it. Failed logins and activations are counted per
handle and per client address before they are checked, so concurrent
guesses cannot exceed the budget.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import math
import secrets
from dataclasses import dataclass

from server.audit import Audit
from server.config import Config
from server.credentials import (
    AUTH_SALT_BYTES,
    code_hash,
    display_handle,
    generate_code,
    handle_key,
    same,
    slow_hash,
)
from server.encoding import b64url_encode
from server.errors import ActivationFailed, Conflict, LoginFailed, RateLimited
from server.ids import new_id
from server.sessions import SessionCookies, session_hash
from server.storage.accounts_base import (
    AccountRecord,
    AccountState,
    AccountStore,
    Credentials,
    RecoveryVerifier,
    Role,
    SessionPurpose,
    SessionRecord,
)

logger = logging.getLogger("sealpost.accounts")

# 128 bits: account ids are unguessable, though never secret.
ACCOUNT_ID_BYTES = 16
# What unknown handles get as login parameters: pyodide_crypto's default
# Argon2id cost (tests/test_server_accounts.py checks they agree), so that a
# made-up answer looks like a real account's.
DECOY_KDF = {"kdf": "argon2id", "m": 64 * 1024, "t": 3, "p": 1}
DECOY_LABEL = b"sealpost.login-decoy.v1\x00"


def ref(value: str) -> str:
    """A short opaque reference for logs (ids are not logged whole)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:8]


@dataclass(frozen=True)
class Session:
    """A checked session: its account (active) and its id."""

    account: AccountRecord
    session_id: bytes
    purpose: SessionPurpose = SessionPurpose.FULL


@dataclass(frozen=True)
class NewCredentials:
    """What the browser sends at activation or passphrase change (opaque)."""

    kdf: str
    auth: bytes
    account_key: str
    public_key: str | None = None
    private_key: str | None = None
    # The auth secret derived from a new recovery code (activation only).
    recovery_auth: bytes | None = None


class AccountService:
    """Every account operation on top of an :class:`AccountStore`.

    :param audit: where account events are recorded (every server and the
        admin command pass one).
    """

    def __init__(
        self, config: Config, store: AccountStore, audit: Audit | None = None
    ) -> None:
        self.config = config
        self.store = store
        self.audit = audit
        self.cookies = SessionCookies(
            config.secrets, max_age=config.session_seconds, clock=config.clock
        )
        # A fixed salt for the dummy hash that unknown handles cost.
        self._dummy_salt = hashlib.sha256(b"sealpost.dummy-salt").digest()[:16]

    def _now(self) -> float:
        return self.config.clock()

    async def record(self, type: str, **fields: object) -> None:
        """Write one audit event (ids and counts only, never secrets)."""
        if self.audit is not None:
            await self.audit.record(type, **fields)  # type: ignore[arg-type]

    def new_pending(
        self,
        handle: str,
        *,
        name: str,
        department: str,
        role: Role,
    ) -> tuple[AccountRecord, str]:
        """A pending account record and its code, not stored yet.

        :raises BadRequest: a bad handle.
        """
        key = handle_key(handle)
        now = self._now()
        code = generate_code()
        digest = code_hash(code)
        assert digest is not None
        record = AccountRecord(
            account_id=new_id(ACCOUNT_ID_BYTES),
            handle=display_handle(handle),
            handle_key=key,
            name=name,
            department=department,
            role=role,
            state=AccountState.PENDING,
            created_at=now,
            updated_at=now,
            activation_hash=digest,
            activation_expires_at=now + self.config.activation_seconds,
        )
        return record, code

    async def provision(
        self,
        handle: str,
        *,
        name: str,
        department: str = "",
        role: Role = Role.STAFF,
        first: bool = False,
        actor: str | None = None,
    ) -> tuple[AccountRecord, str]:
        """Create a pending account and its one-time activation code.

        :param first: refuse unless the server has no account yet.
        :param actor: the administrator's account id, for the audit log.
        :raises BadRequest: a bad handle.
        :raises Conflict: the handle is taken (or ``first`` and not empty).
        """
        record, code = self.new_pending(
            handle, name=name, department=department, role=role
        )
        await self.store.create_account(record, first=first)
        logger.info("Created %s account %s.", role.value, ref(record.account_id))
        await self.record(
            "account.created",
            actor=actor,
            account=record.account_id,
            role=role.value,
        )
        return record, code

    async def set_state(
        self, handle: str, state: AccountState, *, actor: str | None = None
    ) -> AccountRecord:
        """Disable (revoking every session) or re-enable an activated account.

        :raises Conflict: unknown handle or the account is still pending.
        """
        record = await self.store.account_by_handle(handle_key(handle))
        if (
            record is None
            or record.state is AccountState.REQUESTED
            or not await self.store.set_state(record.account_id, state, self._now())
        ):
            raise Conflict("no activated account has this handle")
        logger.info("Account %s is now %s.", ref(record.account_id), state.value)
        kind = "disabled" if state is AccountState.DISABLED else "enabled"
        await self.record(f"account.{kind}", actor=actor, account=record.account_id)
        return record

    def decoy_kdf(self, key: str) -> dict[str, object]:
        """Stable made-up parameters for a handle without an active account."""
        secret = self.config.secrets[0].encode("utf-8")
        salt = hmac.new(secret, DECOY_LABEL + key.encode("utf-8"), "sha256")
        return {**DECOY_KDF, "salt": b64url_encode(salt.digest()[:16])}

    async def login_params(self, handle: str) -> dict[str, object]:
        """The public KDF parameters of a handle, real or decoy."""
        key = handle_key(handle)
        record = await self.store.account_by_handle(key)
        if record is None or record.credentials is None:
            return self.decoy_kdf(key)
        params: dict[str, object] = json.loads(record.credentials.kdf)
        return params

    async def guard(self, kind: str, key: str, client: str) -> list[int]:
        """Count one attempt per handle and address; refuse over the limit."""
        # Buckets are digests: the table holds no handle and no address.
        buckets = [
            f"{kind}:handle:{hashlib.sha256(key.encode('utf-8')).hexdigest()}",
            f"{kind}:address:{hashlib.sha256(client.encode('utf-8')).hexdigest()}",
        ]
        wait, events = await self.store.consume(
            buckets,
            now=self._now(),
            window=self.config.login_window_seconds,
            limit=self.config.login_failures,
        )
        if wait is not None:
            logger.warning("Refused an attempt to %s: too many failures.", kind)
            raise RateLimited(math.ceil(wait), "too many failed attempts; wait a while")
        return events

    async def activate(
        self, handle: str, code: str, new: NewCredentials, *, client: str
    ) -> tuple[AccountRecord, bytes]:
        """Use an activation code and open the first session.

        :returns: the active account and the new session id.
        :raises ActivationFailed: wrong, used or expired code, or no account.
        :raises RateLimited: too many failures for this handle or address.
        """
        key = handle_key(handle)
        events = await self.guard("activate", key, client)
        digest = code_hash(code)
        record = None
        if digest is not None:
            credentials = await self.new_credentials(new)
            record = await self.store.activate(
                key, digest, now=self._now(), credentials=credentials
            )
        if record is None:
            raise ActivationFailed()
        await self.store.release(events)
        logger.info("Activated account %s.", ref(record.account_id))
        await self.record("account.activated", account=record.account_id)
        if new.recovery_auth is not None:
            await self.set_recovery_verifier(record, new.recovery_auth, None)
        return record, await self.open_session(record)

    async def set_recovery_verifier(
        self, record: AccountRecord, recovery_auth: bytes, account_key: str | None
    ) -> None:
        """Keep a slow hash of a recovery auth secret (see server.recovery).

        :raises Conflict: the account is not active any more.
        """
        salt = secrets.token_bytes(AUTH_SALT_BYTES)
        digest = await asyncio.to_thread(slow_hash, recovery_auth, salt)
        if not await self.store.set_recovery(
            record.account_id,
            RecoveryVerifier(salt=salt, hash=digest),
            account_key=account_key,
            now=self._now(),
        ):
            raise Conflict("this account is not active")
        await self.record("account.recovery_set", account=record.account_id)

    async def activation_start(
        self, handle: str, code: str, *, client: str
    ) -> AccountRecord:
        """Check an activation code without using it.

        The browser needs the account id before it makes the keys (it is
        bound into the sealed account key), so it asks first. Failures are
        counted and limited exactly like activations, with the same answer.

        :raises ActivationFailed: wrong, used or expired code, or no account.
        :raises RateLimited: too many failures for this handle or address.
        """
        key = handle_key(handle)
        events = await self.guard("activate", key, client)
        digest = code_hash(code)
        record = await self.store.account_by_handle(key)
        # Compared even when the account is missing, so the time taken does
        # not tell a real handle from an unknown one.
        stored = b"" if record is None else record.activation_hash or b""
        matches = same(digest or b"", stored)
        if (
            record is None
            or digest is None
            or not matches
            or record.state is not AccountState.PENDING
            or record.activation_expires_at is None
            or record.activation_expires_at <= self._now()
        ):
            raise ActivationFailed()
        await self.store.release(events)
        return record

    async def new_credentials(self, new: NewCredentials) -> Credentials:
        """Credentials to store: the auth secret slow-hashed under a new salt."""
        salt = secrets.token_bytes(AUTH_SALT_BYTES)
        return Credentials(
            kdf=new.kdf,
            auth_salt=salt,
            auth_hash=await asyncio.to_thread(slow_hash, new.auth, salt),
            account_key=new.account_key,
            public_key=new.public_key,
            private_key=new.private_key,
        )

    async def _check_auth(
        self, handle: str, auth: bytes, *, client: str
    ) -> tuple[AccountRecord, list[int]]:
        key = handle_key(handle)
        events = await self.guard("login", key, client)
        record = await self.store.account_by_handle(key)
        stored = record.credentials if record is not None else None
        # An unknown handle costs the same slow hash as a known one.
        salt = stored.auth_salt if stored is not None else self._dummy_salt
        computed = await asyncio.to_thread(slow_hash, auth, salt)
        expected = stored.auth_hash if stored is not None else bytes(len(computed))
        if (
            not same(computed, expected)
            or record is None
            or record.state is not AccountState.ACTIVE
        ):
            logger.warning("Refused a login: wrong credentials or inactive account.")
            raise LoginFailed()
        return record, events

    async def login(
        self, handle: str, auth: bytes, *, client: str
    ) -> tuple[AccountRecord, bytes]:
        """Check the auth secret and open a session.

        :raises LoginFailed: unknown handle, wrong secret, account not active.
        :raises RateLimited: too many failures for this handle or address.
        """
        record, events = await self._check_auth(handle, auth, client=client)
        await self.store.release(events)
        logger.info("Account %s logged in.", ref(record.account_id))
        return record, await self.open_session(record)

    async def open_session(
        self,
        record: AccountRecord,
        purpose: SessionPurpose = SessionPurpose.FULL,
        seconds: int | None = None,
    ) -> bytes:
        session_id = SessionCookies.new_id()
        now = self._now()
        await self.store.create_session(
            SessionRecord(
                session_hash=session_hash(session_id),
                account_id=record.account_id,
                created_at=now,
                expires_at=now + (seconds or self.config.session_seconds),
                purpose=purpose,
            )
        )
        return session_id

    async def session(self, cookie: str | None) -> Session | None:
        """The session a cookie names, if signed, unexpired and its account
        is active."""
        session_id = self.cookies.session_id(cookie)
        if session_id is None:
            return None
        row = await self.store.session(session_hash(session_id), now=self._now())
        if row is None:
            return None
        record = await self.store.account(row.account_id)
        if record is None or record.state is not AccountState.ACTIVE:
            return None
        return Session(account=record, session_id=session_id, purpose=row.purpose)

    async def logout(self, session: Session) -> None:
        await self.store.delete_session(session_hash(session.session_id))

    async def change_passphrase(
        self, session: Session, old_auth: bytes, new: NewCredentials, *, client: str
    ) -> None:
        """Re-wrap: new KDF parameters, auth hash and wrapped account key.

        The old auth secret must match (counted like a login); every other
        session of the account ends.

        :raises LoginFailed: the old auth secret is wrong.
        :raises Conflict: a concurrent change won.
        """
        record, events = await self._check_auth(
            session.account.handle, old_auth, client=client
        )
        assert record.credentials is not None
        credentials = await self.new_credentials(new)
        changed = await self.store.change_credentials(
            record.account_id,
            old_hash=record.credentials.auth_hash,
            credentials=credentials,
            now=self._now(),
        )
        if not changed:
            raise Conflict("the passphrase was changed meanwhile; log in again")
        await self.store.release(events)
        ended = await self.store.delete_sessions(
            record.account_id, keep=session_hash(session.session_id)
        )
        logger.info(
            "Account %s changed its passphrase; %d other sessions ended.",
            ref(record.account_id),
            ended,
        )
        await self.record("account.passphrase_changed", account=record.account_id)

    async def purge(self) -> None:
        """Drop expired sessions and attempts no rate limit looks at any more."""
        # The deposit limit counts in the same table, over its own window.
        window = max(
            self.config.login_window_seconds,
            self.config.deposit_rate_window_seconds,
            self.config.request_rate_window_seconds,
        )
        await self.store.purge(now=self._now(), window=window)
