"""Domain errors of the server; :mod:`server.api.errors` maps them to HTTP."""

from __future__ import annotations


class SealpostError(Exception):
    """Base of every error the server reports to a client.

    ``code`` is the stable machine-readable name sent as ``error``; the
    message is short English text and never contains a token or an id.
    """

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(SealpostError):
    """The request is malformed: bad JSON, wrong types, bad values."""

    code = "bad_request"


class Unauthorized(SealpostError):
    """An owner request without a well-formed bearer token."""

    code = "unauthorized"


class Unavailable(SealpostError):
    """The one answer for anything a recipient may not know more about.

    Unknown, pending, expired, consumed and revoked shares, a wrong claim
    proof and a wrong owner token all look the same from outside.
    """

    code = "unavailable"

    def __init__(self, message: str = "this share is not available") -> None:
        super().__init__(message)


class InvalidTicket(SealpostError):
    """A missing, forged, foreign or expired download ticket."""

    code = "invalid_ticket"

    def __init__(self, message: str = "the download ticket is not valid") -> None:
        super().__init__(message)


class WrongState(SealpostError):
    """The owner asked for something the share's state does not allow."""

    code = "wrong_state"


class OffsetMismatch(SealpostError):
    """``Upload-Offset`` differs from the bytes already received."""

    code = "offset_mismatch"

    def __init__(self, received: int) -> None:
        super().__init__("Upload-Offset must equal the bytes received so far")
        self.received = received


class UploadBusy(SealpostError):
    """Another request is writing to the same upload right now."""

    code = "upload_busy"

    def __init__(self) -> None:
        super().__init__("another request is uploading this file")


class Incomplete(SealpostError):
    """Finalize was asked before every file and the manifest were complete."""

    code = "incomplete"


class TooLarge(SealpostError):
    """A declared size or a body exceeds a configured limit."""

    code = "too_large"


class RangeNotSatisfiable(SealpostError):
    """The ``Range`` header cannot be served for this blob."""

    code = "range_not_satisfiable"

    def __init__(self, size: int) -> None:
        super().__init__("the requested range is not satisfiable")
        self.size = size


class StorageFull(SealpostError):
    """The blob store ran out of space; nothing already stored was lost."""

    code = "storage_full"

    def __init__(self) -> None:
        super().__init__("the server is out of storage space, try again later")


class CodeRequired(SealpostError):
    """The envelope of a code share is served only after a valid unlock proof."""

    code = "code_required"

    def __init__(self) -> None:
        super().__init__("this share needs its code: use the unlock request")


class WrongCode(SealpostError):
    """A wrong unlock proof: the code (or the link) is wrong.

    The server cannot tell which of the two was wrong, and says so.
    """

    code = "wrong_code"

    def __init__(self, attempts_left: int) -> None:
        super().__init__("the code does not match this link")
        self.attempts_left = attempts_left


class LoginFailed(SealpostError):
    """A wrong handle, passphrase (auth secret) or disabled account: one answer."""

    code = "login_failed"

    def __init__(self) -> None:
        super().__init__("the handle or the passphrase is wrong")


class ActivationFailed(SealpostError):
    """A wrong, used or expired activation code: one answer for all three."""

    code = "activation_failed"

    def __init__(self) -> None:
        super().__init__(
            "this activation code is not valid (wrong, already used or expired)"
        )


class SessionRequired(SealpostError):
    """No valid session cookie (missing, forged, expired or revoked)."""

    code = "session_required"

    def __init__(self) -> None:
        super().__init__("log in first")


class CsrfFailed(SealpostError):
    """A state-changing request with a session but no matching X-CSRF-Token."""

    code = "csrf_failed"

    def __init__(self) -> None:
        super().__init__("the X-CSRF-Token header is missing or wrong")


class Forbidden(SealpostError):
    """The session is valid but its account may not do this."""

    code = "forbidden"


class NotFound(SealpostError):
    """An unknown account, box or mailbox where saying so leaks nothing."""

    code = "not_found"


class Conflict(SealpostError):
    """The request contradicts the stored state (taken handle, stale key)."""

    code = "conflict"


class RateLimited(SealpostError):
    """Too many attempts from this client or on this handle; retry later."""

    code = "rate_limited"

    def __init__(self, retry_after: int, message: str = "too many attempts") -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


class QuotaFull(SealpostError):
    """A box or mailbox holds as much from anonymous senders as it may."""

    code = "quota_full"


class RecoveryFailed(SealpostError):
    """A wrong handle or recovery code, or no recovery set: one answer."""

    code = "recovery_failed"

    def __init__(self) -> None:
        super().__init__("the handle or the recovery code is wrong")
