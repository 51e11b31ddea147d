"""Reading and checking JSON request bodies for the account and mail routes.

Key material is opaque to the server: a wrapped key or a public key is a
small JSON object checked only for shape and size, stored as canonical JSON
text and handed back as it came.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from server.encoding import b64url_decode
from server.errors import BadRequest, TooLarge

# Largest JSON body of these routes; a box rotation with a few hundred
# wrapped keys fits.
MAX_BODY_BYTES = 1024 * 1024
# Largest opaque key object once serialised; an HPKE-wrapped key with its
# labels and a fingerprint is a few hundred bytes.
MAX_OPAQUE_BYTES = 8 * 1024
# Nesting allowed inside an opaque object.
MAX_OPAQUE_DEPTH = 4
# Longest display name, department or box name, in characters.
MAX_TEXT_CHARS = 200
# The auth secret the browser derives for logging in.
AUTH_BYTES = 32
# Argon2id salt of an account's passphrase KDF.
KDF_SALT_BYTES = 16
# Sanity bounds the server applies to stored KDF parameters; clients apply
# the real floor and ceiling when they read them back.
KDF_BOUNDS = {"m": (1, 1 << 22), "t": (1, 100), "p": (1, 16)}


async def read_json(request: Request, *, limit: int = MAX_BODY_BYTES) -> dict[str, Any]:
    """Read a JSON object of at most ``limit`` bytes.

    :raises TooLarge: the body is too long.
    :raises BadRequest: it is not a JSON object.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge("the JSON body is too large")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise TooLarge("the JSON body is too large")
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the body must be a JSON object") from None
    if not isinstance(value, dict):
        raise BadRequest("the body must be a JSON object")
    return value


def text_field(body: dict[str, Any], name: str, *, default: str | None = None) -> str:
    """A trimmed, non-empty string of at most :data:`MAX_TEXT_CHARS`."""
    value = body.get(name, default)
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{name} must be a non-empty string")
    if len(value) > MAX_TEXT_CHARS or not value.isprintable():
        raise BadRequest(f"{name} must be printable and at most {MAX_TEXT_CHARS} chars")
    return value.strip()


def int_field(body: dict[str, Any], name: str) -> int:
    value = body.get(name)
    # bool is an int in Python but never a count in JSON.
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadRequest(f"{name} must be an integer")
    return value


def id_field(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not 1 <= len(value) <= 64:
        raise BadRequest(f"{name} must be an id")
    return value


def b64_field(body: dict[str, Any], name: str, length: int) -> bytes:
    value = body.get(name)
    try:
        if not isinstance(value, str):
            raise ValueError
        return b64url_decode(value, length=length)
    except ValueError:
        raise BadRequest(f"{name} must be {length} bytes in base64url") from None


def opaque_field(body: dict[str, Any], name: str) -> str:
    """A small JSON object, returned as canonical JSON text."""
    value = body.get(name)
    if not isinstance(value, dict) or not value:
        raise BadRequest(f"{name} must be a non-empty JSON object")
    if not _plain(value, MAX_OPAQUE_DEPTH):
        raise BadRequest(f"{name} is nested too deeply or holds odd values")
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    if len(text.encode("utf-8")) > MAX_OPAQUE_BYTES:
        raise BadRequest(f"{name} must be at most {MAX_OPAQUE_BYTES} bytes")
    return text


def _plain(value: object, depth: int) -> bool:
    if isinstance(value, str | int | bool) or value is None:
        return True
    if depth == 0:
        return False
    if isinstance(value, list):
        return all(_plain(item, depth - 1) for item in value)
    if isinstance(value, dict):
        return all(_plain(item, depth - 1) for item in value.values())
    # Floats have no business in key material (and NaN is not JSON).
    return False


def kdf_field(body: dict[str, Any], name: str = "kdf") -> str:
    """``{kdf: "argon2id", m, t, p, salt}`` as canonical JSON text."""
    value = body.get(name)
    if not isinstance(value, dict) or set(value) != {"kdf", "m", "t", "p", "salt"}:
        raise BadRequest(f"{name} must be {{kdf, m, t, p, salt}}")
    if value["kdf"] != "argon2id":
        raise BadRequest(f"{name}.kdf must be argon2id")
    for key, (low, high) in KDF_BOUNDS.items():
        number = int_field(value, key)
        if not low <= number <= high:
            raise BadRequest(f"{name}.{key} must be between {low} and {high}")
    b64_field(value, "salt", KDF_SALT_BYTES)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def list_field(body: dict[str, Any], name: str, *, limit: int) -> list[Any]:
    value = body.get(name)
    if not isinstance(value, list):
        raise BadRequest(f"{name} must be a list")
    if len(value) > limit:
        raise BadRequest(f"{name} holds at most {limit} items")
    return value


def opaque(text: str | None) -> object:
    """An opaque value back as JSON for an answer."""
    return None if text is None else json.loads(text)
