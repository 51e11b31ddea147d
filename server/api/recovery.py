"""Recovery-code routes: parameters and the recovery login (server.recovery).

The passphrase reset itself is ``PUT /api/me/passphrase`` from the recovery
session, without the old auth secret (see server.api.accounts).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.api.accounts import me_answer, no_store, opened, recovery_service
from server.api.bodies import AUTH_BYTES, b64_field, read_json
from server.api.session import client_address
from server.errors import BadRequest


def _handle(body: dict[str, Any]) -> str:
    value = body.get("handle")
    if not isinstance(value, str):
        raise BadRequest("handle must be a string")
    return value


async def params(request: Request) -> Response:
    body = await read_json(request)
    kdf = await recovery_service(request).params(_handle(body))
    return no_store({"kdf": kdf})


async def recover(request: Request) -> Response:
    body = await read_json(request)
    record, session_id = await recovery_service(request).login(
        _handle(body),
        b64_field(body, "recovery_auth", AUTH_BYTES),
        client=client_address(request),
    )
    answer = await me_answer(request, record, session_id)
    answer["session"] = "recovery"
    return opened(request, answer, session_id)


ROUTES = [
    Route("/api/recover/params", params, methods=["POST"]),
    Route("/api/recover", recover, methods=["POST"]),
]
