"""Strict base64url without padding, as used for tokens and proofs."""

from __future__ import annotations

import base64
import binascii
import re

_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")


def b64url_encode(data: bytes) -> str:
    """Encode without ``=`` padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, *, length: int) -> bytes:
    """Decode unpadded base64url that must carry exactly ``length`` bytes.

    :raises ValueError: other characters, padding, or another length.
    """
    if len(text) != -(-length * 4 // 3) or not _B64URL.match(text):
        raise ValueError("expected unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:
        raise ValueError("expected unpadded base64url") from exc
    # Reject non-canonical encodings (stray low bits in the last character).
    if len(data) != length or b64url_encode(data) != text:
        raise ValueError("expected unpadded base64url")
    return data
