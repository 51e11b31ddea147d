"""Errors raised by pyodide_crypto.

Every authentication or decryption failure is the same opaque
:class:`DecryptionError`: callers (and attackers) never learn which check
failed. Misuse of the API raises :class:`ParameterError`, whose message names
the parameter, what was expected and what came.
"""

from __future__ import annotations


class CryptoError(Exception):
    """Base class of every error this package raises."""


class DecryptionError(CryptoError):
    """The data could not be authenticated or decrypted.

    Deliberately carries no detail: a wrong key, a wrong context, a flipped
    byte, a truncation and trailing data all look the same.
    """

    def __init__(self) -> None:
        super().__init__("decryption failed")


class FormatError(CryptoError):
    """Input is structurally invalid before any key is involved.

    Raised for things the reader can see without a key (bad magic, unknown
    version, impossible lengths). It never says anything about key material.
    """


class ParameterError(CryptoError, ValueError):
    """An argument is out of range or of the wrong size (misuse)."""


class CodeError(ParameterError):
    """A typed second-channel code that cannot be a code.

    ``reason`` is one of ``"empty"``, ``"character"`` or ``"too_long"``, so
    that a client can say why in the person's own language.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class BackendError(CryptoError):
    """The platform primitive failed for a reason other than authentication."""
