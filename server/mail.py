"""Addressed shares: recipients, anonymous limits, inboxes and reply boxes.

A share may name recipients (accounts, boxes, reply boxes). It appears in
their inboxes once finalised. Anonymous senders may only deposit into boxes
and reply to accounts and reply boxes, within a size limit, a per-address
rate and a per-recipient quota. Nothing here lets an anonymous sender list
anything: a depositor holds only the owner token of their own share, and a
reply box opens only with its own bearer token.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
from dataclasses import dataclass

from server.accounts import ref
from server.config import Config
from server.credentials import same
from server.encoding import b64url_encode
from server.errors import BadRequest, Forbidden, NotFound, RateLimited, TooLarge
from server.ids import new_id
from server.storage.accounts_base import AccountRecord, AccountState, AccountStore
from server.storage.mail_base import (
    AddressedShare,
    InboxRow,
    MailStore,
    Quota,
    Recipient,
    RecipientKind,
    ReplyBox,
)

logger = logging.getLogger("sealpost.mail")

MAX_RECIPIENTS = 50
REPLY_BOX_ID_BYTES = 16
REPLY_TOKEN_BYTES = 32
REPLY_READER = "reply:"


@dataclass(frozen=True)
class InboxItem:
    row: InboxRow
    sender: AccountRecord | None


class Mailroom:
    """Recipients and inboxes on top of the mail and account stores."""

    def __init__(self, config: Config, mail: MailStore, accounts: AccountStore):
        self.config = config
        self.mail = mail
        self.accounts = accounts

    def _now(self) -> float:
        return self.config.clock()

    async def _rate(self, kind: str, client: str) -> None:
        bucket = f"{kind}:address:{hashlib.sha256(client.encode('utf-8')).hexdigest()}"
        wait, _ = await self.accounts.consume(
            [bucket],
            now=self._now(),
            window=self.config.deposit_rate_window_seconds,
            limit=self.config.deposit_rate_count,
        )
        if wait is not None:
            logger.warning("Refused an anonymous %s: rate limit.", kind)
            raise RateLimited(
                math.ceil(wait), "too many anonymous deposits from here; wait a while"
            )

    async def check(
        self,
        recipients: list[Recipient],
        *,
        sender: AccountRecord | None,
        plaintext_bytes: int,
        client: str,
    ) -> None:
        """Refuse unknown recipients and, for anonymous senders, what is over
        the limits. Counts one anonymous deposit for ``client``.

        :raises BadRequest: duplicates or too many recipients.
        :raises NotFound: a recipient does not exist (or expired).
        :raises TooLarge: an anonymous share over ``deposit_max_bytes``.
        :raises RateLimited: too many anonymous shares from ``client``.
        """
        if len(recipients) > MAX_RECIPIENTS:
            raise BadRequest(f"a share has at most {MAX_RECIPIENTS} recipients")
        if len({(r.kind, r.recipient_id) for r in recipients}) != len(recipients):
            raise BadRequest("a recipient is named twice")
        accounts = await self.accounts.accounts(
            [r.recipient_id for r in recipients if r.kind is RecipientKind.ACCOUNT]
        )
        for recipient in recipients:
            await self._exists(recipient, accounts)

        if sender is None and recipients:
            if plaintext_bytes > self.config.deposit_max_bytes:
                raise TooLarge("an anonymous deposit is larger than this server takes")
            await self._rate("deposit", client)

    async def _exists(
        self, recipient: Recipient, accounts: dict[str, AccountRecord]
    ) -> None:
        missing = NotFound("a recipient does not exist")
        if recipient.kind is RecipientKind.ACCOUNT:
            found = accounts.get(recipient.recipient_id)
            if found is None or found.state is not AccountState.ACTIVE:
                raise missing
        elif recipient.kind is RecipientKind.BOX:
            if await self.mail.box(recipient.recipient_id) is None:
                raise missing
        else:
            box = await self.mail.reply_box(recipient.recipient_id)
            if box is None or box.expires_at <= self._now():
                raise missing

    async def address(
        self,
        share: AddressedShare,
        recipients: list[Recipient],
    ) -> None:
        """Record the sender and recipients of a new share (see MailStore)."""
        quota = None
        if share.sender_id is None:
            quota = Quota(self.config.box_quota_count, self.config.box_quota_bytes)
        await self.mail.address(share, recipients, quota=quota, now=self._now())

    async def deliver(self, share_id: str) -> None:
        count = await self.mail.deliver(share_id)
        if count:
            logger.info("Delivered a share to %d inboxes.", count)

    async def forget(self, share_id: str) -> None:
        await self.mail.forget_share(share_id)

    async def _items(self, rows: list[InboxRow]) -> list[InboxItem]:
        senders = await self.accounts.accounts(
            sorted({r.share.sender_id for r in rows if r.share.sender_id is not None})
        )
        return [InboxItem(row, senders.get(row.share.sender_id or "")) for row in rows]

    async def own_inbox(self, account: AccountRecord) -> list[InboxItem]:
        rows = await self.mail.inbox(
            RecipientKind.ACCOUNT,
            account.account_id,
            reader=account.account_id,
            now=self._now(),
        )
        return await self._items(rows)

    async def box_inbox(self, box_id: str, account: AccountRecord) -> list[InboxItem]:
        """A box's deposits, for its members only.

        :raises Forbidden: not a member (removed members included).
        """
        members = await self.mail.members(box_id)
        if all(m.account_id != account.account_id for m in members):
            raise Forbidden("you are not a member of this box")
        rows = await self.mail.inbox(
            RecipientKind.BOX, box_id, reader=account.account_id, now=self._now()
        )
        return await self._items(rows)

    async def mark_read(self, share_id: str, account: AccountRecord) -> None:
        """Mark a share read in the account's inbox or one of its boxes'.

        :raises NotFound: the share is in none of them.
        """
        inboxes = [(RecipientKind.ACCOUNT, account.account_id)] + [
            (RecipientKind.BOX, box.box_id)
            for box, _ in await self.mail.memberships(account.account_id)
        ]
        if not await self.mail.mark_read(
            share_id, reader=account.account_id, inboxes=inboxes, now=self._now()
        ):
            raise NotFound("this share is not in your inboxes")

    async def create_reply_box(
        self, public_key: str, *, client: str
    ) -> tuple[ReplyBox, str]:
        """A depositor's reply mailbox and its bearer token (shown once)."""
        await self._rate("reply-box", client)
        token = secrets.token_bytes(REPLY_TOKEN_BYTES)
        now = self._now()
        box = ReplyBox(
            box_id=new_id(REPLY_BOX_ID_BYTES),
            token_hash=hashlib.sha256(token).digest(),
            public_key=public_key,
            created_at=now,
            expires_at=now + self.config.reply_box_seconds,
        )
        await self.mail.create_reply_box(box)
        logger.info("Created reply box %s.", ref(box.box_id))
        return box, b64url_encode(token)

    async def _reply_box(self, box_id: str, token: bytes) -> ReplyBox:
        box = await self.mail.reply_box(box_id)
        expected = box.token_hash if box is not None else bytes(32)
        if (
            not same(hashlib.sha256(token).digest(), expected)
            or box is None
            or box.expires_at <= self._now()
        ):
            raise NotFound("there is no such reply box")
        return box

    async def reply_inbox(self, box_id: str, token: bytes) -> list[InboxItem]:
        """A reply box's inbox, for the holder of its token."""
        box = await self._reply_box(box_id, token)
        rows = await self.mail.inbox(
            RecipientKind.REPLY,
            box.box_id,
            reader=REPLY_READER + box.box_id,
            now=self._now(),
        )
        return await self._items(rows)

    async def reply_mark_read(self, box_id: str, token: bytes, share_id: str) -> None:
        box = await self._reply_box(box_id, token)
        if not await self.mail.mark_read(
            share_id,
            reader=REPLY_READER + box.box_id,
            inboxes=[(RecipientKind.REPLY, box.box_id)],
            now=self._now(),
        ):
            raise NotFound("this share is not in this reply box")

    async def purge(self) -> int:
        now = self._now()
        return await self.mail.purge(
            now=now, undelivered_before=now - self.config.upload_window_seconds
        )
