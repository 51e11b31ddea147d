"""Self-service account requests and their approval (see server.signup)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.accounts import NewCredentials
from server.api.accounts import no_store
from server.api.admin import account_answer
from server.api.bodies import (
    AUTH_BYTES,
    b64_field,
    id_field,
    kdf_field,
    opaque,
    opaque_field,
    read_json,
    text_field,
)
from server.api.session import client_address, require_admin
from server.errors import BadRequest
from server.signup import AccountRequest, Signup


def _signup(request: Request) -> Signup:
    return request.app.state.signup  # type: ignore[no-any-return]


async def start(request: Request) -> Response:
    account_id = await _signup(request).start(client=client_address(request))
    return no_store({"account_id": account_id})


async def send_request(request: Request) -> Response:
    body = await read_json(request)
    handle = body.get("handle")
    if not isinstance(handle, str):
        raise BadRequest("handle must be a string")
    record = await _signup(request).request(
        AccountRequest(
            account_id=id_field(body, "account_id"),
            handle=handle,
            name=text_field(body, "name"),
            department=text_field(body, "department"),
            credentials=NewCredentials(
                kdf=kdf_field(body),
                auth=b64_field(body, "auth", AUTH_BYTES),
                account_key=opaque_field(body, "account_key"),
                public_key=opaque_field(body, "public_key"),
                private_key=opaque_field(body, "private_key"),
            ),
        ),
        client=client_address(request),
    )
    return no_store(
        {"account_id": record.account_id, "state": record.state.value},
        status_code=201,
    )


async def list_requests(request: Request) -> Response:
    await require_admin(request)
    found = await _signup(request).pending()
    return no_store(
        {
            "requests": [
                {
                    **account_answer(record),
                    "public_key": opaque(
                        record.credentials.public_key if record.credentials else None
                    ),
                }
                for record in found
            ]
        }
    )


async def approve(request: Request) -> Response:
    session = await require_admin(request)
    record = await _signup(request).approve(
        session.account, str(request.path_params["account_id"])
    )
    return no_store({"id": record.account_id, "state": "active"})


async def reject(request: Request) -> Response:
    session = await require_admin(request)
    await _signup(request).reject(
        session.account, str(request.path_params["account_id"])
    )
    return no_store({"state": "rejected"})


ROUTES = [
    Route("/api/requests/start", start, methods=["POST"]),
    Route("/api/requests", send_request, methods=["POST"]),
    Route("/api/admin/requests", list_requests, methods=["GET"]),
    Route("/api/admin/requests/{account_id}/approve", approve, methods=["POST"]),
    Route("/api/admin/requests/{account_id}/reject", reject, methods=["POST"]),
]
