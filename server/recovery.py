"""Recovery codes: restoring access after a forgotten passphrase.

At activation (or later) the client makes a recovery code, seals the
account key under a key derived from it (that wrap travels inside the
opaque ``account_key`` object) and sends the auth secret derived from the
same code; the server keeps only a slow hash of it. Recovering is a login
with that secret instead of the passphrase's: it opens a short session that
can only read the account record and set a new passphrase, which ends every
session of the account. Attempts are counted like logins.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging

from server.accounts import DECOY_KDF, AccountService, NewCredentials, Session, ref
from server.credentials import handle_key, same, slow_hash
from server.encoding import b64url_encode
from server.errors import Conflict, RecoveryFailed
from server.storage.accounts_base import AccountRecord, AccountState, SessionPurpose

logger = logging.getLogger("sealpost.recovery")

DECOY_LABEL = b"sealpost.recovery-decoy.v1\x00"


def recovery_kdf(record: AccountRecord) -> dict[str, object] | None:
    """The public KDF description of the record's recovery wrap, if any."""
    if record.credentials is None or record.recovery is None:
        return None
    sealed = json.loads(record.credentials.account_key)
    recovery = sealed.get("recovery") if isinstance(sealed, dict) else None
    kdf = recovery.get("kdf") if isinstance(recovery, dict) else None
    return kdf if isinstance(kdf, dict) else None


class Recovery:
    """Recovery parameters, recovery login and the passphrase reset."""

    def __init__(self, accounts: AccountService) -> None:
        self.accounts = accounts
        self.config = accounts.config
        self._dummy_salt = hashlib.sha256(b"sealpost.recovery-dummy-salt").digest()[:16]

    async def params(self, handle: str) -> dict[str, object]:
        """The recovery KDF description of a handle, or stable decoy ones."""
        key = handle_key(handle)
        record = await self.accounts.store.account_by_handle(key)
        kdf = None
        if record is not None and record.state is AccountState.ACTIVE:
            kdf = recovery_kdf(record)
        if kdf is not None:
            return kdf
        secret = self.config.secrets[0].encode("utf-8")
        salt = hmac.new(secret, DECOY_LABEL + key.encode("utf-8"), "sha256")
        return {**DECOY_KDF, "salt": b64url_encode(salt.digest()[:16])}

    async def login(
        self, handle: str, recovery_auth: bytes, *, client: str
    ) -> tuple[AccountRecord, bytes]:
        """Check a recovery auth secret; open a recovery session.

        :raises RecoveryFailed: unknown handle, no recovery, wrong secret or
            an account that is not active (one answer).
        :raises RateLimited: too many failures for this handle or address.
        """
        key = handle_key(handle)
        events = await self.accounts.guard("recover", key, client)
        record = await self.accounts.store.account_by_handle(key)
        verifier = record.recovery if record is not None else None
        # An unknown handle costs the same slow hash as a known one.
        salt = verifier.salt if verifier is not None else self._dummy_salt
        computed = await asyncio.to_thread(slow_hash, recovery_auth, salt)
        expected = verifier.hash if verifier is not None else bytes(len(computed))
        if (
            not same(computed, expected)
            or record is None
            or record.state is not AccountState.ACTIVE
        ):
            logger.warning("Refused a recovery: wrong code or inactive account.")
            raise RecoveryFailed()
        await self.accounts.store.release(events)
        session_id = await self.accounts.open_session(
            record,
            SessionPurpose.RECOVERY,
            self.config.recovery_session_seconds,
        )
        logger.info("Account %s opened a recovery session.", ref(record.account_id))
        await self.accounts.record("account.recovered", account=record.account_id)
        return record, session_id

    async def reset_passphrase(self, session: Session, new: NewCredentials) -> int:
        """Store a new passphrase's record from a recovery session; end every
        session of the account, this one included.

        :returns: how many sessions ended.
        :raises Conflict: the account is no longer active.
        """
        assert session.purpose is SessionPurpose.RECOVERY
        credentials = await self.accounts.new_credentials(new)
        store = self.accounts.store
        if not await store.recover_credentials(
            session.account.account_id, credentials=credentials, now=self.config.clock()
        ):
            raise Conflict("this account is not active")
        ended = await store.delete_sessions(session.account.account_id)
        await self.accounts.record(
            "account.passphrase_reset", account=session.account.account_id
        )
        return ended
