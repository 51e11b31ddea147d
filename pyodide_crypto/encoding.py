"""Base64url without padding and big-endian integer packing.

Links, JSON bodies and headers carry binary values as unpadded base64url
(RFC 4648, section 5). Decoding is strict: every value has exactly one
accepted spelling, so two different strings never name the same bytes.
"""

from __future__ import annotations

import base64
import binascii
import re

from .errors import FormatError, ParameterError

_B64URL_CHARS = re.compile(r"[A-Za-z0-9_-]*")


def b64url_encode(data: bytes) -> str:
    """Encode ``data`` as base64url without ``=`` padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, *, length: int | None = None) -> bytes:
    """Decode unpadded base64url, strictly.

    :param text: the encoded value; padding, whitespace and characters outside
        the URL-safe alphabet are rejected.
    :param length: if given, the exact number of bytes the value must decode to.
    :raises FormatError: the text is not canonical unpadded base64url, or it
        decodes to the wrong number of bytes.
    """
    if not isinstance(text, str) or _B64URL_CHARS.fullmatch(text) is None:
        raise FormatError("invalid base64url: unexpected character")
    if len(text) % 4 == 1:
        raise FormatError("invalid base64url: impossible length")

    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise FormatError("invalid base64url") from exc
    # Non-zero unused low bits would give a second spelling of the same bytes.
    if b64url_encode(data) != text:
        raise FormatError("invalid base64url: non-canonical encoding")
    if length is not None and len(data) != length:
        raise FormatError(
            f"invalid base64url: expected {length} bytes, got {len(data)}"
        )
    return data


def uint_to_bytes(value: int, size: int) -> bytes:
    """Pack a non-negative integer big-endian into exactly ``size`` bytes.

    :raises ParameterError: ``value`` is negative or does not fit.
    """
    if value < 0 or value >= 1 << (8 * size):
        raise ParameterError(f"value must fit in {size} unsigned bytes, got {value}")
    return value.to_bytes(size, "big")


def bytes_to_uint(data: bytes) -> int:
    """Unpack a big-endian unsigned integer."""
    return int.from_bytes(data, "big")
