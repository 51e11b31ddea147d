"""Self-service account requests, for when codes cannot be handed out.

A person's client asks for an account id (``start``), makes the keys with
a passphrase the person chose, and sends the request with name, department
and the opaque key material, exactly what activation would store. The
account waits in state ``requested`` (it cannot log in) until an
administrator, after comparing the public key's fingerprint with the person
by phone, approves it (active) or rejects it (deleted).

The id of ``start`` is signed (a MAC under the server secret), so a request
can only use an id this server handed out, and nothing is stored before the
request itself. Both calls are anonymous and counted per client address.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import math
import secrets
from dataclasses import dataclass

from server.accounts import AccountService, NewCredentials, ref
from server.administration import BOX_ROLES, Administration
from server.credentials import AUTH_SALT_BYTES, display_handle, handle_key, slow_hash
from server.encoding import b64url_decode, b64url_encode
from server.errors import BadRequest, Conflict, NotFound, RateLimited
from server.storage.accounts_base import (
    AccountFilter,
    AccountRecord,
    AccountState,
    Credentials,
    Role,
)

logger = logging.getLogger("sealpost.signup")

REQUEST_ID_LABEL = b"sealpost.request-id.v1\x00"
NONCE_BYTES = 12
MAC_BYTES = 12
MAX_REQUESTS_LISTED = 1000


@dataclass(frozen=True)
class AccountRequest:
    account_id: str
    handle: str
    name: str
    department: str
    credentials: NewCredentials


class Signup:
    """Requests (anonymous) and their approval (administrators)."""

    def __init__(self, accounts: AccountService, admin: Administration) -> None:
        self.accounts = accounts
        self.admin = admin
        self.config = accounts.config

    def _mac(self, secret: str, nonce: bytes) -> bytes:
        key = secret.encode("utf-8")
        return hmac.new(key, REQUEST_ID_LABEL + nonce, hashlib.sha256).digest()[
            :MAC_BYTES
        ]

    def _id_ok(self, account_id: str) -> bool:
        try:
            raw = b64url_decode(account_id, length=NONCE_BYTES + MAC_BYTES)
        except ValueError:
            return False
        nonce, mac = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
        found = False
        for secret in self.config.secrets:
            found |= hmac.compare_digest(mac, self._mac(secret, nonce))
        return found

    async def _limit(self, kind: str, client: str) -> None:
        digest = hashlib.sha256(client.encode("utf-8")).hexdigest()
        wait, _ = await self.accounts.store.consume(
            [f"{kind}:address:{digest}"],
            now=self.config.clock(),
            window=self.config.request_rate_window_seconds,
            limit=self.config.request_rate_count,
        )
        if wait is not None:
            logger.warning("Refused an account request: rate limit.")
            raise RateLimited(
                math.ceil(wait), "too many account requests from here; wait a while"
            )

    async def start(self, *, client: str) -> str:
        """A fresh, signed account id for the client to bind its keys to.

        :raises RateLimited: too many starts from this address.
        """
        await self._limit("request-start", client)
        nonce = secrets.token_bytes(NONCE_BYTES)
        return b64url_encode(nonce + self._mac(self.config.secrets[-1], nonce))

    async def request(self, request: AccountRequest, *, client: str) -> AccountRecord:
        """Store a requested account with its keys.

        :raises BadRequest: an id this server did not hand out, a bad handle.
        :raises Conflict: the handle is taken.
        :raises RateLimited: too many requests from this address.
        """
        if not self._id_ok(request.account_id):
            raise BadRequest("account_id must come from /api/requests/start")
        key = handle_key(request.handle)
        await self._limit("request", client)
        new = request.credentials
        salt = secrets.token_bytes(AUTH_SALT_BYTES)
        now = self.config.clock()
        record = AccountRecord(
            account_id=request.account_id,
            handle=display_handle(request.handle),
            handle_key=key,
            name=request.name,
            department=request.department,
            role=Role.STAFF,
            state=AccountState.REQUESTED,
            created_at=now,
            updated_at=now,
            credentials=Credentials(
                kdf=new.kdf,
                auth_salt=salt,
                auth_hash=await asyncio.to_thread(slow_hash, new.auth, salt),
                account_key=new.account_key,
                public_key=new.public_key,
                private_key=new.private_key,
            ),
        )
        if await self.accounts.store.account(record.account_id) is not None:
            raise Conflict("this request was sent already")
        stored = await self.accounts.store.create_accounts([record])
        if not stored:
            raise Conflict("this handle is taken")
        logger.info("Account %s was requested.", ref(record.account_id))
        await self.accounts.record("account.requested", account=record.account_id)
        return record

    async def pending(self) -> list[AccountRecord]:
        return await self.accounts.store.list_accounts(
            AccountFilter(state=AccountState.REQUESTED, limit=MAX_REQUESTS_LISTED)
        )

    async def _requested(self, account_id: str) -> AccountRecord:
        record = await self.accounts.store.account(account_id)
        if record is None or record.state is not AccountState.REQUESTED:
            raise NotFound("there is no such request")
        return record

    async def approve(self, actor: AccountRecord, account_id: str) -> AccountRecord:
        """Activate a requested account; it joins its department's box as a
        pending member if the box exists.

        :raises NotFound: no such request (or already decided).
        """
        record = await self._requested(account_id)
        if not await self.accounts.store.approve(account_id, now=self.config.clock()):
            raise NotFound("there is no such request")
        await self.accounts.record(
            "account.approved", actor=actor.account_id, account=account_id
        )
        if record.department and record.role in BOX_ROLES:
            await self.admin.add_to_department(actor, record)
        return record

    async def reject(self, actor: AccountRecord, account_id: str) -> None:
        """Delete a requested account.

        :raises NotFound: no such request (or already decided).
        """
        await self._requested(account_id)
        await self.accounts.store.delete_account(account_id)
        await self.accounts.record(
            "account.rejected", actor=actor.account_id, account=account_id
        )
