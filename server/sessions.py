"""Session cookies and CSRF tokens.

A session is a row on the server (so every session of an account can be
revoked) named by 32 random bytes. The cookie carries those bytes signed
with itsdangerous, so a forged or truncated cookie is refused before any
database lookup; the row stores only their SHA-256. The CSRF token is an
HMAC of the session id under the server secret: the browser gets it at login
(and from ``GET /api/me``) and must echo it in ``X-CSRF-Token`` on every
state-changing request, which a cross-site form cannot do.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable

from itsdangerous import BadSignature, URLSafeTimedSerializer

from server.encoding import b64url_decode, b64url_encode
from server.tickets import ClockSigner

COOKIE_NAME = "sealpost_session"
CSRF_HEADER = "x-csrf-token"
SESSION_SALT = "sealpost.session"
CSRF_LABEL = b"sealpost.csrf.v1\x00"
# Session ids carry 256 bits.
SESSION_ID_BYTES = 32


def session_hash(session_id: bytes) -> bytes:
    """What the session row is stored under."""
    return hashlib.sha256(session_id).digest()


class SessionCookies:
    """Signs session ids into cookie values and derives their CSRF tokens.

    :param secrets: signing secrets, oldest first; the last one signs, all
        of them verify (rotation, as for download tickets).
    :param max_age: seconds a cookie's signature stays valid.
    :param clock: returns the current time in seconds.
    """

    def __init__(
        self,
        secret_list: tuple[str, ...],
        *,
        max_age: int,
        clock: Callable[[], float],
    ) -> None:
        self._secrets = [s.encode("utf-8") for s in secret_list]
        self._max_age = max_age
        self._serializer = URLSafeTimedSerializer(
            list(secret_list),
            salt=SESSION_SALT,
            signer=ClockSigner,
            signer_kwargs={"clock": clock},
        )

    @staticmethod
    def new_id() -> bytes:
        return secrets.token_bytes(SESSION_ID_BYTES)

    def cookie(self, session_id: bytes) -> str:
        """The cookie value naming ``session_id``."""
        return str(self._serializer.dumps(b64url_encode(session_id)))

    def session_id(self, cookie: str | None) -> bytes | None:
        """The session id of a well-signed, unexpired cookie, or ``None``."""
        if not cookie:
            return None
        try:
            value = self._serializer.loads(cookie, max_age=self._max_age)
        except BadSignature:
            return None
        if not isinstance(value, str):
            return None
        try:
            return b64url_decode(value, length=SESSION_ID_BYTES)
        except ValueError:
            return None

    def csrf_token(self, session_id: bytes) -> str:
        """The CSRF token of a session (signed with the newest secret)."""
        return b64url_encode(self._mac(self._secrets[-1], session_id))

    def csrf_ok(self, session_id: bytes, token: str | None) -> bool:
        """Whether ``token`` is the session's CSRF token under any secret."""
        if not token:
            return False
        given = token.encode("ascii", "replace")
        found = False
        for key in self._secrets:
            expected = b64url_encode(self._mac(key, session_id)).encode("ascii")
            # Every secret is tried, so the time does not say which matched.
            found |= hmac.compare_digest(given, expected)
        return found

    @staticmethod
    def _mac(key: bytes, session_id: bytes) -> bytes:
        return hmac.new(key, CSRF_LABEL + session_id, hashlib.sha256).digest()
