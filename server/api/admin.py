"""Administrator routes: accounts, CSV import, codes, states, sessions,
members waiting for box access, and the audit log.

See docs/api-admin.md. Every route needs an administrator's full session;
state-changing ones also its CSRF token (:func:`require_admin`).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.administration import Administration, Created, Department
from server.api.accounts import no_store, profile
from server.api.audit import audit_log
from server.api.bodies import MAX_TEXT_CHARS, opaque, read_json, text_field
from server.api.session import require_admin
from server.csv_import import MAX_IMPORT_BYTES, decode, handle_from_name, parse
from server.errors import BadRequest, TooLarge
from server.storage.accounts_base import (
    AccountFilter,
    AccountRecord,
    AccountState,
    Role,
)

MAX_LIST = 1000


def _admin(request: Request) -> Administration:
    return request.app.state.admin  # type: ignore[no-any-return]


def _account_id(request: Request) -> str:
    return str(request.path_params["account_id"])


def account_answer(record: AccountRecord) -> dict[str, Any]:
    """An account as administrators see it (never its key material)."""
    return {
        **profile(record),
        "state": record.state.value,
        "created_at": record.created_at,
        "activated_at": record.activated_at,
        "activation_expires_at": record.activation_expires_at,
    }


def created_answer(created: Created) -> dict[str, Any]:
    return {
        **account_answer(created.record),
        "code": created.code,
        "phone": created.phone,
    }


def department_answer(department: Department) -> dict[str, Any]:
    box = department.box
    return {
        "department": department.name,
        "slug": department.slug,
        "box": None
        if box is None
        else {"id": box.box_id, "name": box.name, "slug": box.slug},
        "members": department.members,
        "added": department.added,
    }


def _enum_param(request: Request, name: str, kind: type[Any]) -> Any:
    value = request.query_params.get(name)
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        raise BadRequest(f"{name} has no such value") from None


def _int_param(request: Request, name: str, default: int, high: int) -> int:
    value = request.query_params.get(name)
    if value is None:
        return default
    if not value.isdigit() or not 0 <= int(value) <= high:
        raise BadRequest(f"{name} must be an integer from 0 to {high}")
    return int(value)


async def list_accounts(request: Request) -> Response:
    await require_admin(request)
    query = AccountFilter(
        state=_enum_param(request, "state", AccountState),
        role=_enum_param(request, "role", Role),
        department=request.query_params.get("department") or None,
        query=request.query_params.get("q", "").strip()[:100],
        limit=_int_param(request, "limit", 500, MAX_LIST),
        offset=_int_param(request, "offset", 0, 10**9),
    )
    found = await _admin(request).list(query)
    return no_store({"accounts": [account_answer(r) for r in found]})


async def add_account(request: Request) -> Response:
    session = await require_admin(request)
    body = await read_json(request)
    name = text_field(body, "name")
    department = body.get("department", "")
    if not isinstance(department, str) or len(department) > MAX_TEXT_CHARS:
        raise BadRequest(f"department must be a string of at most {MAX_TEXT_CHARS}")
    handle = body.get("handle") or handle_from_name(name)
    if not isinstance(handle, str):
        raise BadRequest("handle must be a string")
    try:
        role = Role(body.get("role", Role.STAFF.value))
    except ValueError:
        raise BadRequest("role must be admin, staff or outsider") from None
    created, joined = await _admin(request).add(
        session.account,
        handle=handle,
        name=name,
        department=" ".join(department.split()),
        role=role,
    )
    return no_store(
        {
            "account": created_answer(created),
            "department": None if joined is None else department_answer(joined),
        },
        status_code=201,
    )


async def import_accounts(request: Request) -> Response:
    session = await require_admin(request)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_IMPORT_BYTES:
            raise TooLarge("the file is too large")
    rows, duplicates = parse(decode(bytes(body)))
    result = await _admin(request).import_rows(session.account, rows, duplicates)
    return no_store(
        {
            "created": [created_answer(c) for c in result.created],
            "existing": result.existing,
            "duplicates": result.duplicates,
            "departments": [department_answer(d) for d in result.departments],
        }
    )


async def reissue_code(request: Request) -> Response:
    session = await require_admin(request)
    created = await _admin(request).reissue(session.account, _account_id(request))
    return no_store({"account": created_answer(created)})


async def disable(request: Request) -> Response:
    session = await require_admin(request)
    record = await _admin(request).set_state(
        session.account, _account_id(request), AccountState.DISABLED
    )
    return no_store({"id": record.account_id, "state": AccountState.DISABLED.value})


async def enable(request: Request) -> Response:
    session = await require_admin(request)
    record = await _admin(request).set_state(
        session.account, _account_id(request), AccountState.ACTIVE
    )
    return no_store({"id": record.account_id, "state": AccountState.ACTIVE.value})


async def delete(request: Request) -> Response:
    session = await require_admin(request)
    ended = await _admin(request).delete(session.account, _account_id(request))
    return no_store({"state": "deleted", "memberships_ended": ended})


async def revoke_sessions(request: Request) -> Response:
    session = await require_admin(request)
    ended = await _admin(request).revoke_sessions(session.account, _account_id(request))
    return no_store({"sessions_ended": ended})


async def pending_grants(request: Request) -> Response:
    await require_admin(request)
    boxes = []
    for entry in await _admin(request).waiting():
        members = []
        for account_id, record in entry.members:
            active = record is not None and record.state is AccountState.ACTIVE
            members.append(
                {
                    **(profile(record) if record is not None else {}),
                    "account_id": account_id,
                    "account_state": None if record is None else record.state.value,
                    "ready": active,
                    "public_key": opaque(
                        record.credentials.public_key
                        if active and record is not None and record.credentials
                        else None
                    ),
                }
            )
        boxes.append(
            {
                "id": entry.box.box_id,
                "name": entry.box.name,
                "slug": entry.box.slug,
                "department": entry.box.department,
                "version": entry.box.version,
                "waiting": len(members),
                "ready": sum(1 for m in members if m["ready"]),
                "members": members,
            }
        )
    return no_store({"boxes": boxes})


ROUTES = [
    Route("/api/admin/accounts", list_accounts, methods=["GET"]),
    Route("/api/admin/accounts", add_account, methods=["POST"]),
    Route("/api/admin/import", import_accounts, methods=["POST"]),
    Route("/api/admin/accounts/{account_id}", delete, methods=["DELETE"]),
    Route("/api/admin/accounts/{account_id}/code", reissue_code, methods=["POST"]),
    Route("/api/admin/accounts/{account_id}/disable", disable, methods=["POST"]),
    Route("/api/admin/accounts/{account_id}/enable", enable, methods=["POST"]),
    Route(
        "/api/admin/accounts/{account_id}/revoke-sessions",
        revoke_sessions,
        methods=["POST"],
    ),
    Route("/api/admin/pending-grants", pending_grants, methods=["GET"]),
    Route("/api/admin/audit", audit_log, methods=["GET"]),
]
