"""Account routes: activation, login, logout, profile, passphrase, directory.

See docs/api-accounts.md. Routes translate HTTP to service calls; rules
live in :mod:`server.accounts`, errors map in :mod:`server.api.errors`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.accounts import NewCredentials, Session
from server.api.bodies import (
    AUTH_BYTES,
    b64_field,
    kdf_field,
    opaque,
    opaque_field,
    read_json,
)
from server.api.session import (
    accounts,
    boxes,
    clear_session_cookie,
    client_address,
    require_session,
    set_session_cookie,
)
from server.errors import BadRequest
from server.recovery import Recovery
from server.storage.accounts_base import AccountRecord, SessionPurpose

# Most accounts and boxes one directory answer lists.
DIRECTORY_LIMIT = 50
MAX_QUERY_CHARS = 100


def no_store(content: Any, status_code: int = 200) -> JSONResponse:
    return JSONResponse(
        content, status_code=status_code, headers={"Cache-Control": "no-store"}
    )


def profile(record: AccountRecord) -> dict[str, Any]:
    """What anyone with a session may see of an account."""
    return {
        "id": record.account_id,
        "handle": record.handle,
        "name": record.name,
        "department": record.department,
        "role": record.role.value,
    }


def recovery_service(request: Request) -> Recovery:
    return request.app.state.recovery  # type: ignore[no-any-return]


def opened(request: Request, answer: Any, session_id: bytes) -> Response:
    """An answer that also sets the session cookie."""
    response = no_store(answer)
    set_session_cookie(request, response, session_id)
    return response


def _handle(body: dict[str, Any]) -> str:
    value = body.get("handle")
    if not isinstance(value, str):
        raise BadRequest("handle must be a string")
    return value


async def _me(request: Request, record: AccountRecord, session_id: bytes) -> Any:
    credentials = record.credentials
    assert credentials is not None, "an active account has credentials"
    mail = boxes(request).mail
    memberships = []
    for box, member in await mail.memberships(record.account_id):
        keys = await mail.wrapped_keys(box.box_id, record.account_id)
        memberships.append(
            {
                "id": box.box_id,
                "name": box.name,
                "slug": box.slug,
                "department": box.department,
                "version": box.version,
                "public_key": opaque(box.public_key),
                "state": member.state.value,
                "keys": [
                    {"version": k.version, "wrapped": opaque(k.wrapped)} for k in keys
                ],
            }
        )
    return {
        "account": {
            **profile(record),
            "state": record.state.value,
            "created_at": record.created_at,
            "activated_at": record.activated_at,
        },
        "kdf": opaque(credentials.kdf),
        "account_key": opaque(credentials.account_key),
        "public_key": opaque(credentials.public_key),
        "private_key": opaque(credentials.private_key),
        "boxes": memberships,
        "csrf_token": accounts(request).cookies.csrf_token(session_id),
    }


async def _opened(
    request: Request, record: AccountRecord, session_id: bytes
) -> Response:
    return opened(request, await _me(request, record, session_id), session_id)


async def me_answer(
    request: Request, record: AccountRecord, session_id: bytes
) -> dict[str, Any]:
    """What ``GET /api/me`` answers (key material and CSRF token included)."""
    answer: dict[str, Any] = await _me(request, record, session_id)
    return answer


async def activate(request: Request) -> Response:
    body = await read_json(request)
    code = body.get("code")
    if not isinstance(code, str):
        raise BadRequest("code must be a string")
    new = NewCredentials(
        kdf=kdf_field(body),
        auth=b64_field(body, "auth", AUTH_BYTES),
        account_key=opaque_field(body, "account_key"),
        public_key=opaque_field(body, "public_key"),
        private_key=opaque_field(body, "private_key"),
        recovery_auth=None
        if body.get("recovery_auth") is None
        else b64_field(body, "recovery_auth", AUTH_BYTES),
    )
    record, session_id = await accounts(request).activate(
        _handle(body), code, new, client=client_address(request)
    )
    return await _opened(request, record, session_id)


async def activate_start(request: Request) -> Response:
    body = await read_json(request)
    code = body.get("code")
    if not isinstance(code, str):
        raise BadRequest("code must be a string")
    record = await accounts(request).activation_start(
        _handle(body), code, client=client_address(request)
    )
    return no_store(
        {
            "account_id": record.account_id,
            "handle": record.handle,
            "name": record.name,
            "department": record.department,
        }
    )


async def login_params(request: Request) -> Response:
    body = await read_json(request)
    params = await accounts(request).login_params(_handle(body))
    return no_store({"kdf": params})


async def login(request: Request) -> Response:
    body = await read_json(request)
    record, session_id = await accounts(request).login(
        _handle(body),
        b64_field(body, "auth", AUTH_BYTES),
        client=client_address(request),
    )
    return await _opened(request, record, session_id)


async def logout(request: Request) -> Response:
    session = await require_session(request, recovery=True)
    await accounts(request).logout(session)
    response = no_store({"state": "logged_out"})
    clear_session_cookie(request, response)
    return response


async def me(request: Request) -> Response:
    session: Session = await require_session(request, recovery=True)
    answer = await _me(request, session.account, session.session_id)
    answer["session"] = session.purpose.value
    return no_store(answer)


async def change_passphrase(request: Request) -> Response:
    session = await require_session(request, recovery=True)
    body = await read_json(request)
    new = NewCredentials(
        kdf=kdf_field(body),
        auth=b64_field(body, "new_auth", AUTH_BYTES),
        account_key=opaque_field(body, "account_key"),
    )
    if session.purpose is SessionPurpose.RECOVERY:
        # The recovery code was proved when this session opened; there is
        # no old passphrase to prove.
        ended = await recovery_service(request).reset_passphrase(session, new)
        response = no_store({"state": "changed", "sessions_ended": ended})
        clear_session_cookie(request, response)
        return response
    await accounts(request).change_passphrase(
        session,
        b64_field(body, "auth", AUTH_BYTES),
        new,
        client=client_address(request),
    )
    return no_store({"state": "changed"})


async def set_recovery(request: Request) -> Response:
    session = await require_session(request)
    body = await read_json(request)
    await accounts(request).set_recovery_verifier(
        session.account,
        b64_field(body, "recovery_auth", AUTH_BYTES),
        opaque_field(body, "account_key"),
    )
    return no_store({"state": "set"})


async def directory(request: Request) -> Response:
    await require_session(request)
    query = request.query_params.get("q", "").strip()
    if len(query) > MAX_QUERY_CHARS:
        raise BadRequest(f"q has at most {MAX_QUERY_CHARS} characters")
    store = accounts(request).store
    found = await store.search_accounts(query, limit=DIRECTORY_LIMIT)
    box_list = await boxes(request).mail.search_boxes(query, limit=DIRECTORY_LIMIT)
    return no_store(
        {
            "accounts": [
                {
                    **profile(record),
                    "public_key": opaque(
                        record.credentials.public_key if record.credentials else None
                    ),
                }
                for record in found
            ],
            "boxes": [
                {
                    "id": box.box_id,
                    "name": box.name,
                    "slug": box.slug,
                    "department": box.department,
                    "version": box.version,
                    "public_key": opaque(box.public_key),
                }
                for box in box_list
            ],
        }
    )


ROUTES = [
    Route("/api/activate", activate, methods=["POST"]),
    Route("/api/activate/start", activate_start, methods=["POST"]),
    Route("/api/login/params", login_params, methods=["POST"]),
    Route("/api/login", login, methods=["POST"]),
    Route("/api/logout", logout, methods=["POST"]),
    Route("/api/me", me, methods=["GET"]),
    Route("/api/me/passphrase", change_passphrase, methods=["PUT"]),
    Route("/api/me/recovery", set_recovery, methods=["PUT"]),
    Route("/api/directory", directory, methods=["GET"]),
]
