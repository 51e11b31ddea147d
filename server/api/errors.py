"""The one place where errors become HTTP responses."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import ExceptionHandler

from server.errors import (
    ActivationFailed,
    BadRequest,
    CodeRequired,
    Conflict,
    CsrfFailed,
    Forbidden,
    Incomplete,
    InvalidTicket,
    LoginFailed,
    NotFound,
    OffsetMismatch,
    QuotaFull,
    RangeNotSatisfiable,
    RateLimited,
    RecoveryFailed,
    SealpostError,
    SessionRequired,
    StorageFull,
    TooLarge,
    Unauthorized,
    Unavailable,
    UploadBusy,
    WrongCode,
    WrongState,
)

logger = logging.getLogger("sealpost.server")

STATUS: dict[type[SealpostError], int] = {
    BadRequest: 400,
    Unauthorized: 401,
    LoginFailed: 401,
    RecoveryFailed: 401,
    SessionRequired: 401,
    InvalidTicket: 403,
    ActivationFailed: 403,
    CsrfFailed: 403,
    Forbidden: 403,
    NotFound: 404,
    CodeRequired: 403,
    WrongCode: 403,
    Unavailable: 404,
    WrongState: 409,
    OffsetMismatch: 409,
    UploadBusy: 409,
    Incomplete: 409,
    Conflict: 409,
    TooLarge: 413,
    RangeNotSatisfiable: 416,
    RateLimited: 429,
    StorageFull: 507,
    QuotaFull: 507,
}

_HTTP_CODES = {
    404: ("not_found", "there is nothing here"),
    405: ("method_not_allowed", "this method is not allowed here"),
    413: ("too_large", "the request body is too large"),
}


def route_template(request: Request) -> str:
    """The matched route's template, which is safe to log (no ids)."""
    route = request.scope.get("route")
    return str(getattr(route, "path", "unmatched"))


def error_response(
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    extra: dict[str, int] | None = None,
) -> JSONResponse:
    """A JSON error body ``{"error": code, "message": message, **extra}``."""
    return JSONResponse(
        {"error": code, "message": message, **(extra or {})},
        status_code=status,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


async def _sealpost_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SealpostError)
    status = next((code for kind, code in STATUS.items() if isinstance(exc, kind)), 400)
    headers: dict[str, str] = {}
    if isinstance(exc, OffsetMismatch):
        headers["Upload-Offset"] = str(exc.received)
    elif isinstance(exc, RangeNotSatisfiable):
        headers["Content-Range"] = f"bytes */{exc.size}"
    elif isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    elif isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    logger.warning(
        "Rejected %s %s with %d %s.",
        request.method,
        route_template(request),
        status,
        exc.code,
    )
    extra = None
    if isinstance(exc, WrongCode):
        extra = {"attempts_left": exc.attempts_left}
    elif isinstance(exc, RateLimited):
        extra = {"retry_after": exc.retry_after}
    return error_response(status, exc.code, exc.message, headers, extra)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code, message = _HTTP_CODES.get(exc.status_code, ("error", "request failed"))
    logger.warning(
        "Rejected %s %s with %d %s.",
        request.method,
        route_template(request),
        exc.status_code,
        code,
    )
    return error_response(exc.status_code, code, message, dict(exc.headers or {}))


async def _disconnect(request: Request, exc: Exception) -> Response:
    # The client is gone; whatever it uploaded stays and can be resumed.
    logger.warning("Client left during %s %s.", request.method, route_template(request))
    return error_response(400, "disconnected", "the client disconnected")


# Unexpected exceptions are handled by server.app.AccessLog, which logs no
# traceback (it could quote a blob path, and those contain share ids).
EXCEPTION_HANDLERS: dict[type[Exception] | int, ExceptionHandler] = {
    SealpostError: _sealpost_error,
    HTTPException: _http_error,
    ClientDisconnect: _disconnect,
}
