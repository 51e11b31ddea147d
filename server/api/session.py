"""Session and CSRF checks shared by every cookie-authenticated route."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from server.accounts import AccountService, Session
from server.boxes import BoxService
from server.errors import CsrfFailed, Forbidden, SessionRequired
from server.mail import Mailroom
from server.sessions import COOKIE_NAME, CSRF_HEADER
from server.storage.accounts_base import Role, SessionPurpose

# Methods that change nothing; every other one needs the CSRF token.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def accounts(request: Request) -> AccountService:
    return request.app.state.accounts  # type: ignore[no-any-return]


def boxes(request: Request) -> BoxService:
    return request.app.state.boxes  # type: ignore[no-any-return]


async def require_admin(request: Request) -> Session:
    """A full session of an administrator (CSRF-checked when it changes
    something).

    :raises SessionRequired: no valid session.
    :raises Forbidden: the account is not an administrator.
    """
    session = await require_session(request)
    if session.account.role is not Role.ADMIN:
        raise Forbidden("only an administrator can do this")
    return session


def mailroom(request: Request) -> Mailroom:
    return request.app.state.mail  # type: ignore[no-any-return]


def client_address(request: Request) -> str:
    """The peer's address, which the rate limits count by.

    Behind a reverse proxy every client shares the proxy's address; the
    per-handle limits still hold, the per-address ones become global.
    """
    return request.client.host if request.client is not None else "unknown"


async def optional_session(
    request: Request, *, recovery: bool = False
) -> Session | None:
    """The request's session, or ``None`` without a valid cookie.

    :param recovery: also accept a recovery session (which otherwise counts
        as none: it may only read its record and set a new passphrase).
    :raises CsrfFailed: a valid session on a state-changing request without
        its CSRF token.
    """
    service = accounts(request)
    session = await service.session(request.cookies.get(COOKIE_NAME))
    if session is None:
        return None
    if session.purpose is SessionPurpose.RECOVERY and not recovery:
        return None
    if request.method not in SAFE_METHODS and not service.cookies.csrf_ok(
        session.session_id, request.headers.get(CSRF_HEADER)
    ):
        raise CsrfFailed()
    return session


async def require_session(request: Request, *, recovery: bool = False) -> Session:
    """The request's session.

    :raises SessionRequired: no valid session cookie.
    :raises CsrfFailed: see :func:`optional_session`.
    """
    session = await optional_session(request, recovery=recovery)
    if session is None:
        raise SessionRequired()
    return session


def set_session_cookie(request: Request, response: Response, session_id: bytes) -> None:
    service = accounts(request)
    response.set_cookie(
        COOKIE_NAME,
        service.cookies.cookie(session_id),
        max_age=service.config.session_seconds,
        path="/",
        secure=service.config.cookie_secure,
        httponly=True,
        samesite="strict",
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        COOKIE_NAME,
        path="/",
        secure=accounts(request).config.cookie_secure,
        httponly=True,
        samesite="strict",
    )
