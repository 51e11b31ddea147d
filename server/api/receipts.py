"""Receipts for senders: who downloaded which file of their shares, when.

A claim made with a session by a recipient of an addressed share (the
account itself or a member of a recipient box) is labelled with that
account; any other claim is "link claim n". Download times are those of
complete file responses (server.shares). Nothing about where from.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.api.accounts import no_store
from server.api.session import accounts, mailroom, require_session
from server.sessions import COOKIE_NAME
from server.shares import ShareService, public_state
from server.storage.accounts_base import SessionPurpose
from server.storage.mail_base import RecipientKind

MAX_SENT = 200


def _shares(request: Request) -> ShareService:
    return request.app.state.shares  # type: ignore[no-any-return]


async def recipient_of(request: Request, share_id: str) -> str | None:
    """The signed-in account if it is a recipient of the share, else None.

    No CSRF check: the session only labels the receipt and grants nothing
    (the claim proof does), and download pages of signed-in people post
    claims without the token.
    """
    session = await accounts(request).session(request.cookies.get(COOKIE_NAME))
    if session is None or session.purpose is not SessionPurpose.FULL:
        return None
    mail = mailroom(request).mail
    recipients = await mail.recipients(share_id)
    if not recipients:
        return None
    account_id = session.account.account_id
    boxes = {box.box_id for box, _ in await mail.memberships(account_id)}
    for recipient in recipients:
        if recipient.kind is RecipientKind.ACCOUNT and recipient.recipient_id == (
            account_id
        ):
            return account_id
        if recipient.kind is RecipientKind.BOX and recipient.recipient_id in boxes:
            return account_id
    return None


async def receipts_answer(request: Request, share_id: str) -> list[dict[str, Any]]:
    """Per claim: its recipient (account or link claim), its time, and each
    file's download time (``None`` until served whole)."""
    service = _shares(request)
    if service.receipts is None:
        return []
    record = await service.metadata.get(share_id)
    if record is None:
        return []
    times = await service.metadata.claim_times(share_id)
    found = await service.receipts.receipts(share_id)
    known = await accounts(request).store.accounts(
        [r.recipient_id for r in found if r.recipient_id is not None]
    )
    answer = []
    for receipt in found:
        account = known.get(receipt.recipient_id or "")
        if account is not None:
            who: dict[str, Any] = {
                "kind": "account",
                "account_id": account.account_id,
                "handle": account.handle,
                "name": account.name,
            }
        else:
            who = {"kind": "link", "label": f"link claim {receipt.claim}"}
        answer.append(
            {
                "claim": receipt.claim,
                "claimed_at": times[receipt.claim - 1]
                if 0 < receipt.claim <= len(times)
                else None,
                "recipient": who,
                "files": [
                    {"index": index, "downloaded_at": receipt.files.get(index)}
                    for index in range(len(record.file_sizes))
                ],
            }
        )
    return answer


async def sent(request: Request) -> Response:
    session = await require_session(request)
    service = _shares(request)
    mail = mailroom(request).mail
    items = []
    now = service.config.clock()
    for share in await mail.sent(session.account.account_id, limit=MAX_SENT):
        record = await service.metadata.get(share.share_id)
        recipients = await mail.recipients(share.share_id)
        items.append(
            {
                "id": share.share_id,
                "created_at": share.created_at,
                "expires_at": share.expires_at,
                "files": share.files,
                "size": share.size,
                "state": None if record is None else public_state(record, now).value,
                "downloads": None if record is None else record.downloads,
                "recipients": [
                    {"kind": r.kind.value, "id": r.recipient_id} for r in recipients
                ],
                "receipts": await receipts_answer(request, share.share_id),
            }
        )
    return no_store({"shares": items})


ROUTES = [Route("/api/sent", sent, methods=["GET"])]
