"""Inbox and reply-box routes, and the ``recipients`` of a new share.

See docs/api-accounts.md; the rules live in :mod:`server.mail`.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.api.bodies import list_field, opaque_field, read_json
from server.api.session import client_address, mailroom, require_session
from server.encoding import b64url_decode
from server.errors import BadRequest, NotFound, Unauthorized
from server.mail import MAX_RECIPIENTS, REPLY_TOKEN_BYTES, InboxItem
from server.storage.mail_base import Recipient, RecipientKind

# server.ids.new_id(16): share ids as the share routes know them.
_SHARE_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")


def _no_store(content: Any, status_code: int = 200) -> JSONResponse:
    return JSONResponse(
        content, status_code=status_code, headers={"Cache-Control": "no-store"}
    )


def parse_recipients(body: dict[str, Any]) -> list[Recipient]:
    """The optional ``recipients`` of a share creation request."""
    if body.get("recipients") is None:
        return []
    found = []
    for item in list_field(body, "recipients", limit=MAX_RECIPIENTS):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise BadRequest("recipients must be a list of {kind, id}")
        try:
            kind = RecipientKind(str(item.get("kind")))
        except ValueError:
            raise BadRequest("a recipient kind is account, box or reply") from None
        version = item.get("version")
        if version is not None and (
            kind is not RecipientKind.BOX
            or not isinstance(version, int)
            or isinstance(version, bool)
        ):
            raise BadRequest("only a box recipient has a version, an integer")
        found.append(Recipient(kind, item["id"], version))
    return found


def inbox_answer(items: list[InboxItem]) -> dict[str, Any]:
    answer = []
    for item in items:
        share, sender = item.row.share, item.sender
        entry: dict[str, Any] = {
            "share_id": share.share_id,
            "sender": None
            if sender is None
            else {
                "id": sender.account_id,
                "handle": sender.handle,
                "name": sender.name,
            },
            "created_at": share.created_at,
            "expires_at": share.expires_at,
            "files": share.files,
            "size": share.size,
            "read": item.row.read,
        }
        if item.row.key_version is not None:
            entry["key_version"] = item.row.key_version
        answer.append(entry)
    return {"items": answer}


def _share_id(request: Request) -> str:
    share_id = str(request.path_params["share_id"])
    if not _SHARE_ID.match(share_id):
        raise NotFound("this share is not in your inboxes")
    return share_id


def _reply_token(request: Request) -> bytes:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value:
        raise Unauthorized("a reply box token is required (Authorization: Bearer)")
    try:
        return b64url_decode(value.strip(), length=REPLY_TOKEN_BYTES)
    except ValueError:
        raise Unauthorized("the reply box token is malformed") from None


async def own_inbox(request: Request) -> Response:
    session = await require_session(request)
    return _no_store(inbox_answer(await mailroom(request).own_inbox(session.account)))


async def mark_read(request: Request) -> Response:
    session = await require_session(request)
    await mailroom(request).mark_read(_share_id(request), session.account)
    return _no_store({"read": True})


async def create_reply_box(request: Request) -> Response:
    body = await read_json(request)
    box, token = await mailroom(request).create_reply_box(
        opaque_field(body, "public_key"), client=client_address(request)
    )
    return _no_store(
        {"id": box.box_id, "token": token, "expires_at": box.expires_at},
        status_code=201,
    )


async def reply_inbox(request: Request) -> Response:
    items = await mailroom(request).reply_inbox(
        str(request.path_params["box_id"]), _reply_token(request)
    )
    return _no_store(inbox_answer(items))


async def reply_mark_read(request: Request) -> Response:
    await mailroom(request).reply_mark_read(
        str(request.path_params["box_id"]), _reply_token(request), _share_id(request)
    )
    return _no_store({"read": True})


ROUTES = [
    Route("/api/inbox", own_inbox, methods=["GET"]),
    Route("/api/inbox/{share_id}/read", mark_read, methods=["POST"]),
    Route("/api/reply-boxes", create_reply_box, methods=["POST"]),
    Route("/api/reply-boxes/{box_id}/inbox", reply_inbox, methods=["GET"]),
    Route(
        "/api/reply-boxes/{box_id}/inbox/{share_id}/read",
        reply_mark_read,
        methods=["POST"],
    ),
]
