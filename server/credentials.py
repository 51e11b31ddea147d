"""Login handles, one-time activation codes and the slow hash of auth secrets.

Only the standard library: the server never handles a usable key, and what
it hashes here is either a code it generated or the browser's auth secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from collections.abc import Callable

from server.errors import BadRequest

# Handles: 1 to 64 letters (any script) or digits, and ".", "-", "_" inside.
# They are compared in NFC after case folding, so "Élise" and "élise" (in
# either Unicode spelling) are one handle.
HANDLE_MAX_CHARS = 64
_HANDLE_PUNCTUATION = frozenset(".-_")

# Activation codes use pyodide_crypto's code alphabet (no 0/O, 1/I/L, U) so
# they can be read over the phone: 3 groups of 5 symbols, about 73 bits.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_GROUPS = 3
CODE_GROUP = 5
_CODE_IGNORED = frozenset(" \t-\u2010\u2011\u2012\u2013\u2014\u2212")
CODE_LABEL = b"sealpost.activation.v1\x00"

# scrypt (RFC 7914) of the 32-byte auth secret: 16 MiB and about 50 ms a
# hash. The secret already went through the client's Argon2id; this second
# hash only makes a stolen database useless for logging in.
SCRYPT_N = 1 << 14
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_MAXMEM = 64 * 1024 * 1024
AUTH_HASH_BYTES = 32
AUTH_SALT_BYTES = 16


def handle_key(handle: str) -> str:
    """The comparison form of a handle: NFC, case-folded, NFC again.

    :raises BadRequest: outside the documented character set or too long.
    """
    text = unicodedata.normalize("NFC", handle.strip())
    if not 1 <= len(text) <= HANDLE_MAX_CHARS:
        raise BadRequest(f"a handle has 1 to {HANDLE_MAX_CHARS} characters")
    if not (text[0].isalnum() and text[-1].isalnum()) or not all(
        c.isalnum() or c in _HANDLE_PUNCTUATION for c in text
    ):
        raise BadRequest("a handle holds letters, digits and . - _ (not at either end)")
    # Case folding can decompose (ß → ss is fine, but some folds leave
    # combining marks), hence the second normalisation.
    return unicodedata.normalize("NFC", text.casefold())


def display_handle(handle: str) -> str:
    """The handle as stored for display (NFC, trimmed)."""
    return unicodedata.normalize("NFC", handle.strip())


def generate_code(randbelow: Callable[[int], int] = secrets.randbelow) -> str:
    """A fresh activation code such as ``K7M2Q-9RTXA-4HBCZ``."""
    symbols = "".join(
        CODE_ALPHABET[randbelow(len(CODE_ALPHABET))]
        for _ in range(CODE_GROUPS * CODE_GROUP)
    )
    return "-".join(
        symbols[i : i + CODE_GROUP] for i in range(0, len(symbols), CODE_GROUP)
    )


def code_hash(code: str) -> bytes | None:
    """The stored digest of a code as a person typed it, or ``None`` if it
    cannot be a code (then nothing needs looking up).

    Case, spaces and hyphens do not matter. SHA-256 suffices: the code has
    73 random bits and guessing online is rate-limited.
    """
    text = "".join(c for c in code.upper() if c not in _CODE_IGNORED)
    if len(text) != CODE_GROUPS * CODE_GROUP or not set(text) <= set(CODE_ALPHABET):
        return None
    return hashlib.sha256(CODE_LABEL + text.encode("ascii")).digest()


def slow_hash(auth: bytes, salt: bytes) -> bytes:
    """scrypt of an auth secret with the per-account salt."""
    return hashlib.scrypt(
        auth,
        salt=salt,
        n=SCRYPT_N,
        r=SCRYPT_R,
        p=SCRYPT_P,
        maxmem=SCRYPT_MAXMEM,
        dklen=AUTH_HASH_BYTES,
    )


def same(a: bytes, b: bytes) -> bool:
    """Constant-time equality of two digests."""
    return hmac.compare_digest(a, b)
