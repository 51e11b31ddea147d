"""Drop-box routes: create, view, members, access grants, rotation, inbox.

See docs/api-accounts.md; the rules live in :mod:`server.boxes`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.api.accounts import no_store, profile
from server.api.bodies import (
    MAX_TEXT_CHARS,
    id_field,
    int_field,
    list_field,
    opaque,
    opaque_field,
    read_json,
    text_field,
)
from server.api.mail import inbox_answer
from server.api.session import boxes, mailroom, require_session
from server.errors import BadRequest

# Most members one box request names.
MAX_MEMBERS = 1000


def _box_id(request: Request) -> str:
    return str(request.path_params["box_id"])


def _department(body: dict[str, Any]) -> str:
    value = body.get("department", "")
    if not isinstance(value, str) or len(value) > MAX_TEXT_CHARS:
        raise BadRequest(f"department must be a string of at most {MAX_TEXT_CHARS}")
    return value.strip()


def _slug(body: dict[str, Any]) -> str:
    value = body.get("slug")
    if not isinstance(value, str):
        raise BadRequest("slug must be a string")
    return value


def _members(body: dict[str, Any]) -> dict[str, str | None]:
    members: dict[str, str | None] = {}
    for item in list_field(body, "members", limit=MAX_MEMBERS):
        if not isinstance(item, dict):
            raise BadRequest("members must be a list of {account_id, wrapped?}")
        account_id = id_field(item, "account_id")
        if account_id in members:
            raise BadRequest("a member is named twice")
        members[account_id] = (
            None if item.get("wrapped") is None else opaque_field(item, "wrapped")
        )
    return members


async def create_box(request: Request) -> Response:
    session = await require_session(request)
    body = await read_json(request)
    box = await boxes(request).create(
        session.account,
        name=text_field(body, "name"),
        slug=_slug(body),
        department=_department(body),
        public_key=opaque_field(body, "public_key"),
        members=_members(body),
    )
    return no_store(
        {"id": box.box_id, "slug": box.slug, "version": box.version}, status_code=201
    )


async def by_slug(request: Request) -> Response:
    box = await boxes(request).by_slug(str(request.path_params["slug"]))
    return no_store(
        {
            "id": box.box_id,
            "name": box.name,
            "department": box.department,
            "version": box.version,
            "public_key": opaque(box.public_key),
        }
    )


async def get_box(request: Request) -> Response:
    session = await require_session(request)
    service = boxes(request)
    view = await service.view(_box_id(request), session.account)
    keys = await service.mail.wrapped_keys(view.box.box_id, session.account.account_id)
    versions = await service.mail.versions(view.box.box_id)
    return no_store(
        {
            "id": view.box.box_id,
            "name": view.box.name,
            "slug": view.box.slug,
            "department": view.box.department,
            "version": view.box.version,
            "public_key": opaque(view.box.public_key),
            "versions": [
                {
                    "version": v.version,
                    "public_key": opaque(v.public_key),
                    "created_at": v.created_at,
                }
                for v in versions
            ],
            "members": [
                {
                    **(profile(record) if record is not None else {}),
                    "account_id": member.account_id,
                    "state": member.state.value,
                    "public_key": opaque(
                        record.credentials.public_key
                        if record is not None and record.credentials is not None
                        else None
                    ),
                }
                for member, record in view.members
            ],
            "my_keys": [
                {"version": k.version, "wrapped": opaque(k.wrapped)} for k in keys
            ],
        }
    )


async def add_member(request: Request) -> Response:
    session = await require_session(request)
    body = await read_json(request)
    added = await boxes(request).add_member(
        _box_id(request), session.account, id_field(body, "account_id")
    )
    return no_store({"state": "pending", "added": added}, 201 if added else 200)


async def grant(request: Request) -> Response:
    session = await require_session(request)
    body = await read_json(request)
    await boxes(request).grant(
        _box_id(request),
        session.account,
        str(request.path_params["account_id"]),
        version=int_field(body, "version"),
        wrapped=opaque_field(body, "wrapped"),
    )
    return no_store({"state": "granted"})


async def rotate(request: Request) -> Response:
    session = await require_session(request)
    body = await read_json(request)
    remove = list_field(body, "remove", limit=MAX_MEMBERS)
    if not all(isinstance(item, str) for item in remove):
        raise BadRequest("remove must be a list of account ids")
    wrapped = _members({"members": list_field(body, "wrapped", limit=MAX_MEMBERS)})
    if any(value is None for value in wrapped.values()):
        raise BadRequest("every wrapped item needs its wrapped key")
    version = int_field(body, "version")
    await boxes(request).rotate(
        _box_id(request),
        session.account,
        version=version,
        public_key=opaque_field(body, "public_key"),
        remove=set(remove),
        wrapped={k: v for k, v in wrapped.items() if v is not None},
    )
    return no_store({"version": version})


async def box_inbox(request: Request) -> Response:
    session = await require_session(request)
    items = await mailroom(request).box_inbox(_box_id(request), session.account)
    return no_store(inbox_answer(items))


ROUTES = [
    Route("/api/boxes", create_box, methods=["POST"]),
    Route("/api/boxes/by-slug/{slug}", by_slug, methods=["GET"]),
    Route("/api/boxes/{box_id}", get_box, methods=["GET"]),
    Route("/api/boxes/{box_id}/members", add_member, methods=["POST"]),
    Route("/api/boxes/{box_id}/members/{account_id}/key", grant, methods=["PUT"]),
    Route("/api/boxes/{box_id}/rotate", rotate, methods=["POST"]),
    Route("/api/boxes/{box_id}/inbox", box_inbox, methods=["GET"]),
]
