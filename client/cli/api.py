"""The Sealpost HTTP API as seen by the CLI (httpx, async).

Only this module knows URLs and status codes; it turns every failure into a
:class:`CliError` with a short message that never contains a token, a ticket
or the link fragment.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from pyodide_crypto.encoding import b64url_encode

from .errors import (
    EXIT_BAD_LINK,
    EXIT_FAILURE,
    EXIT_TOO_LARGE,
    EXIT_UNAVAILABLE,
    EXIT_UNREACHABLE,
    CliError,
    UnreachableError,
)

#: The header every state-changing request of a signed-in session carries.
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Answers meaning "the secret you typed is wrong" (exit status 4).
_BAD_SECRET_CODES = frozenset(
    {
        "wrong_code",
        "code_required",
        "login_failed",
        "activation_failed",
        "recovery_failed",
    }
)

UNAVAILABLE = "this link is no longer available (expired, used up, revoked or unknown)"
#: One message whether the link or the code was wrong: which one is nobody's
#: business, and the server cannot tell either.
WRONG_CODE = "the code does not match this link"
CODE_REQUIRED = "this share needs its code: --code"
#: One message for a wrong passphrase and an unknown handle: the server
#: answers both the same, so that handles cannot be enumerated.
WRONG_PASSPHRASE = "the passphrase does not match this account"
WRONG_ACTIVATION = "the activation code does not match (wrong, used or expired)"
WRONG_RECOVERY = "the recovery code does not match this account"

_TIMEOUT = httpx.Timeout(60.0, connect=15.0)


class ServerApi:
    """Calls to one Sealpost server; use as an async context manager."""

    def __init__(
        self, server: str, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.server = server.rstrip("/")
        # The session cookie lives in this client's jar, in memory only.
        self._client = httpx.AsyncClient(
            base_url=self.server, timeout=_TIMEOUT, transport=transport
        )
        #: Set once signed in; sent with every state-changing request.
        self.csrf_token: str | None = None

    async def __aenter__(self) -> ServerApi:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._client.aclose()

    # -- sender --------------------------------------------------------------

    async def config(self) -> dict[str, Any]:
        """Fetch the server's limits (``GET /api/config``)."""
        return _json(await self._send("GET", "/api/config"))

    async def create_share(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a pending share; returns ``id``, ``owner_token``, ``expires_at``."""
        return _json(await self._send("POST", "/api/shares", json=body))

    async def put_file(
        self, share_id: str, token: str, index: int, offset: int, data: bytes
    ) -> int:
        """Append ciphertext at ``offset``; returns the bytes received so far."""
        response = await self._send(
            "PUT",
            f"/api/shares/{share_id}/files/{index}",
            content=data,
            headers={**_bearer(token), "Upload-Offset": str(offset)},
        )
        return int(_json(response)["received"])

    async def upload_status(self, share_id: str, token: str, index: int) -> int:
        """How many bytes of file ``index`` the server holds (to resume)."""
        response = await self._send(
            "GET",
            f"/api/shares/{share_id}/files/{index}/upload",
            headers=_bearer(token),
        )
        return int(_json(response)["received"])

    async def put_manifest(self, share_id: str, token: str, envelope: bytes) -> None:
        """Store the sealed envelope (header and manifest ciphertext)."""
        await self._send(
            "PUT",
            f"/api/shares/{share_id}/manifest",
            content=envelope,
            headers=_bearer(token),
        )

    async def finalize(self, share_id: str, token: str) -> None:
        """Make the share available to recipients."""
        await self._send(
            "POST", f"/api/shares/{share_id}/finalize", headers=_bearer(token)
        )

    async def revoke(self, share_id: str, token: str) -> None:
        """Delete the share and its blobs (``DELETE /api/shares/{id}``)."""
        await self._send("DELETE", f"/api/shares/{share_id}", headers=_bearer(token))

    # -- recipient -----------------------------------------------------------

    async def info(self, share_id: str) -> dict[str, Any]:
        """Public facts of a share: ciphertext sizes, manifest size, expiry."""
        return _json(await self._send("GET", f"/api/shares/{share_id}"))

    async def manifest(self, share_id: str) -> bytes:
        """The envelope bytes; reading them never counts a download."""
        return (await self._send("GET", f"/api/shares/{share_id}/manifest")).content

    async def unlock(self, share_id: str, proof: bytes) -> bytes:
        """The envelope of a code share, for the unlock proof of link + code.

        A wrong proof counts one of the share's attempts on the server.
        """
        response = await self._send(
            "POST",
            f"/api/shares/{share_id}/unlock",
            json={"proof": b64url_encode(proof)},
        )
        return response.content

    async def claim(self, share_id: str, proof: bytes) -> str:
        """Count one download and return the download ticket."""
        response = await self._send(
            "POST",
            f"/api/shares/{share_id}/claim",
            json={"proof": b64url_encode(proof)},
        )
        return str(_json(response)["ticket"])

    @asynccontextmanager
    async def download(
        self, share_id: str, index: int, ticket: str, *, start: int = 0
    ) -> AsyncIterator[httpx.Response]:
        """Stream the ciphertext of file ``index`` from byte ``start`` on.

        The body is not read yet. With ``start`` above 0 it sends ``Range``
        and insists on a 206 answer that begins exactly there, so a resumed
        download can never splice in bytes from the wrong place.
        """
        headers = {"Sealpost-Ticket": ticket}
        if start:
            headers["Range"] = f"bytes={start}-"
        request = self._client.build_request(
            "GET", f"/api/shares/{share_id}/files/{index}", headers=headers
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise _network_error(exc) from None
        try:
            if not response.is_success:
                await response.aread()
                _raise_for_status(response)
            if start and not _starts_at(response, start):
                raise CliError("the server did not resume the download correctly")
            if not start and response.status_code != 200:
                raise CliError("the server sent an unexpected answer")
            yield response
        finally:
            await response.aclose()

    # -- plumbing ------------------------------------------------------------

    async def request_json(
        self, method: str, path: str, **kwargs: Any
    ) -> dict[str, Any]:
        """Send a request and return its JSON object (for :mod:`.mail_api`)."""
        return _json(await self._send(method, path, **kwargs))

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        if self.csrf_token is not None and method not in _SAFE_METHODS:
            headers = {**kwargs.get("headers", {}), CSRF_HEADER: self.csrf_token}
            kwargs["headers"] = headers
        try:
            response = await self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise _network_error(exc) from None
        _raise_for_status(response)
        return response


class ServerError(CliError):
    """The server answered with an error status."""

    def __init__(self, message: str, *, status: int, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        if status == 404 and code in ("unavailable", ""):
            self.exit_code = EXIT_UNAVAILABLE
        elif code in _BAD_SECRET_CODES:
            self.exit_code = EXIT_BAD_LINK
        elif status in (413, 429) or code in ("too_large", "quota_full"):
            self.exit_code = EXIT_TOO_LARGE
        elif status >= 500:
            self.exit_code = EXIT_UNREACHABLE
        else:
            self.exit_code = EXIT_FAILURE


class NetworkError(UnreachableError):
    """The server could not be reached or the connection broke."""


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise CliError("the server sent an unexpected answer")
    return body


def _network_error(exc: httpx.HTTPError) -> NetworkError:
    # The exception text may contain the URL; the URL never contains a secret
    # (the fragment is not sent), but keep the message short anyway.
    return NetworkError(f"could not reach the server ({type(exc).__name__})")


def _starts_at(response: httpx.Response, start: int) -> bool:
    """Whether a 206 answer's ``Content-Range`` begins at byte ``start``."""
    if response.status_code != 206:
        return False
    unit, _, spec = response.headers.get("Content-Range", "").partition(" ")
    first, _, _ = spec.partition("-")
    return unit == "bytes" and first.isdigit() and int(first) == start


def _raise_for_status(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        body = response.json()
    except ValueError:
        body = {}
    code = str(body.get("error", "")) if isinstance(body, dict) else ""
    message = str(body.get("message", "")) if isinstance(body, dict) else ""
    if response.status_code == 404 and code in ("unavailable", ""):
        text = UNAVAILABLE
    elif code == "wrong_code":
        left = body.get("attempts_left") if isinstance(body, dict) else None
        text = WRONG_CODE
        if type(left) is int:
            text += f" ({left} attempt{'' if left == 1 else 's'} left)"
    elif code == "code_required":
        text = CODE_REQUIRED
    elif code == "login_failed":
        text = WRONG_PASSPHRASE
    elif code == "activation_failed":
        text = WRONG_ACTIVATION
    elif code == "recovery_failed":
        text = WRONG_RECOVERY
    elif code == "rate_limited":
        text = _rate_limited(response, body)
    elif code == "session_required":
        text = "the server ended the session (sign in again)"
    elif code == "invalid_ticket":
        text = (
            "the download permission expired (running get again counts a new download)"
        )
    elif message:
        text = f"the server refused the request: {message}"
    else:
        text = f"the server answered {response.status_code}"
    raise ServerError(text, status=response.status_code, code=code)


def _rate_limited(response: httpx.Response, body: Any) -> str:
    wait = body.get("retry_after") if isinstance(body, dict) else None
    if type(wait) is not int:
        header = response.headers.get("Retry-After", "")
        wait = int(header) if header.isdigit() else None
    text = "too many attempts or deposits from here"
    if wait is None:
        return f"{text}; try again later"
    return f"{text}; try again in {format_duration_short(wait)}"


def format_duration_short(seconds: int) -> str:
    """Seconds as ``45 s`` or ``15 min`` (rounded up), for waiting times."""
    if seconds < 60:
        return f"{max(seconds, 1)} s"
    return f"{-(-seconds // 60)} min"
