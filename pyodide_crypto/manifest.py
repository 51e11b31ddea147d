"""The encrypted manifest: message, file names, sizes, types and file keys.

The manifest plaintext is ``u32be(len(json)) || json || zero padding`` up to a
multiple of :data:`PAD_BLOCK`, so the ciphertext length reveals the message
length only to the nearest KiB. It is encrypted with C2SP chunked encryption
under a key derived from the share key, bound to the envelope header; see
docs/format.md.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from . import chunked
from .encoding import b64url_decode, b64url_encode
from .errors import FormatError, ParameterError
from .runtime import backend

MANIFEST_VERSION = 1
MANIFEST_LABEL = b"sealpost.v1/manifest"
#: Manifest chunked-encryption context prefix; the header hash follows.
MANIFEST_CONTEXT_PREFIX = MANIFEST_LABEL + b"\x00"

FILE_KEY_SIZE = 32
LENGTH_PREFIX_SIZE = 4
PAD_BLOCK = 1024
#: Upper bound of the padded plaintext, checked before decrypting.
MAX_PLAINTEXT_SIZE = 16 * 1024 * 1024
#: Largest integer every client (JavaScript numbers included) holds exactly.
MAX_SAFE_INTEGER = 2**53 - 1
MAX_MEDIA_TYPE_LENGTH = 255
DEFAULT_MEDIA_TYPE = "application/octet-stream"

#: Characters replaced in received file names: path separators and anything
#: that could hide or reorder what the name looks like (C0/C1 controls, bidi
#: overrides and isolates).
_UNSAFE_NAME_CHARS = re.compile(
    "[/\\\\\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
_DRIVE_PREFIX = re.compile("^[A-Za-z]:")
_NAME_SUBSTITUTE = "_"
#: A bare ``type/subtype`` (RFC 6838 restricted names, no parameters).
_MEDIA_TYPE = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
)

_TOP_KEYS = frozenset({"v", "message", "files", "expires_in", "max_downloads"})
_FILE_KEYS = frozenset({"name", "size", "type", "key"})


@dataclass(frozen=True)
class ManifestFile:
    """One file of a share: display name, plaintext size, type and key."""

    name: str
    size: int
    media_type: str
    key: bytes = field(repr=False)


@dataclass(frozen=True)
class Manifest:
    """The decrypted contents of a share's manifest."""

    message: str
    files: list[ManifestFile]
    expires_in: int
    max_downloads: int


def safe_file_name(name: str) -> str:
    """Neutralise a received file name so that saving it cannot escape a folder.

    ``/``, ``\\``, control characters and bidi controls become ``_``; a leading
    drive letter ``X:`` becomes ``X_``; a name that is empty, ``.`` or ``..``
    becomes ``_``, ``_`` or ``__``. Every other name comes back unchanged.
    """
    safe = _UNSAFE_NAME_CHARS.sub(_NAME_SUBSTITUTE, name)
    if _DRIVE_PREFIX.match(safe):
        safe = safe[0] + _NAME_SUBSTITUTE + safe[2:]
    if safe in ("", ".", ".."):
        safe = _NAME_SUBSTITUTE * max(1, len(safe))
    return safe


def safe_media_type(media_type: str) -> str:
    """Return ``media_type`` if it is a bare ``type/subtype``, else the default."""
    if _MEDIA_TYPE.fullmatch(media_type) is None:
        return DEFAULT_MEDIA_TYPE
    return media_type.lower()


def padded_size(json_size: int) -> int:
    """Plaintext size for a JSON document of ``json_size`` bytes."""
    unpadded = LENGTH_PREFIX_SIZE + json_size
    return -(-unpadded // PAD_BLOCK) * PAD_BLOCK


def context(header_hash: bytes) -> bytes:
    """Chunked-encryption context of the manifest of the share ``header_hash``."""
    if len(header_hash) != 32:
        raise ParameterError(f"header hash: expected 32 bytes, got {len(header_hash)}")
    return MANIFEST_CONTEXT_PREFIX + bytes(header_hash)


async def derive_key(share_key: bytes) -> bytes:
    """Derive the manifest key MK from the share key."""
    return await backend().hkdf_sha256(
        bytes(share_key), salt=b"", info=MANIFEST_LABEL, length=32
    )


def _utf8(value: str, what: str) -> bytes:
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        raise ParameterError(f"{what}: not encodable as UTF-8") from None


def encode(manifest: Manifest) -> bytes:
    """Serialise a manifest into its padded plaintext.

    Names are stored NFC-normalised; the message is stored exactly.

    :raises ParameterError: a value has the wrong type or range, or the result
        exceeds :data:`MAX_PLAINTEXT_SIZE`.
    """
    _check_count("expires_in", manifest.expires_in, minimum=1)
    _check_count("max_downloads", manifest.max_downloads, minimum=1)
    _utf8(manifest.message, "message")
    files = []
    for entry in manifest.files:
        _check_count("size", entry.size, minimum=0)
        if len(entry.key) != FILE_KEY_SIZE:
            raise ParameterError(
                f"file key: expected {FILE_KEY_SIZE} bytes, got {len(entry.key)}"
            )
        if len(entry.media_type) > MAX_MEDIA_TYPE_LENGTH:
            raise ParameterError("media type: longer than 255 characters")
        name = unicodedata.normalize("NFC", entry.name)
        _utf8(name, "file name")
        _utf8(entry.media_type, "media type")
        files.append(
            {
                "name": name,
                "size": entry.size,
                "type": entry.media_type,
                "key": b64url_encode(entry.key),
            }
        )
    document = {
        "v": MANIFEST_VERSION,
        "message": manifest.message,
        "files": files,
        "expires_in": manifest.expires_in,
        "max_downloads": manifest.max_downloads,
    }

    text = json.dumps(
        document, ensure_ascii=False, sort_keys=True, separators=(",", ":")
    ).encode("utf-8")
    total = padded_size(len(text))
    if total > MAX_PLAINTEXT_SIZE:
        raise ParameterError("manifest: too large")

    prefix = len(text).to_bytes(LENGTH_PREFIX_SIZE, "big")
    return prefix + text + bytes(total - LENGTH_PREFIX_SIZE - len(text))


def decode(plaintext: bytes) -> Manifest:
    """Parse and strictly validate a manifest plaintext.

    File names are passed through :func:`safe_file_name` and media types
    through :func:`safe_media_type`; the message is returned exactly.

    :raises FormatError: wrong padding, invalid JSON, unknown or missing keys,
        wrong types or ranges, a bad file key or an unknown version.
    """
    if len(plaintext) < LENGTH_PREFIX_SIZE:
        raise FormatError("manifest: too short")
    size = int.from_bytes(plaintext[:LENGTH_PREFIX_SIZE], "big")
    if size > len(plaintext) - LENGTH_PREFIX_SIZE:
        raise FormatError("manifest: bad length")
    if len(plaintext) != padded_size(size):
        raise FormatError("manifest: bad padding")
    end = LENGTH_PREFIX_SIZE + size
    if any(plaintext[end:]):
        raise FormatError("manifest: bad padding")

    try:
        document = json.loads(
            bytes(plaintext[LENGTH_PREFIX_SIZE:end]).decode("utf-8"),
            object_pairs_hook=_unique_keys,
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormatError("manifest: invalid json") from exc

    return _validate(document)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise FormatError("manifest: duplicate key")
    return result


def _validate(document: object) -> Manifest:
    if not isinstance(document, dict) or set(document) != _TOP_KEYS:
        raise FormatError("manifest: wrong keys")
    if type(document["v"]) is not int or document["v"] != MANIFEST_VERSION:
        raise FormatError("manifest: unsupported version")
    message = _string(document["message"], "message")
    expires_in = _integer(document["expires_in"], "expires_in", minimum=1)
    max_downloads = _integer(document["max_downloads"], "max_downloads", minimum=1)
    if not isinstance(document["files"], list):
        raise FormatError("manifest: files is not a list")

    files = []
    for entry in document["files"]:
        if not isinstance(entry, dict) or set(entry) != _FILE_KEYS:
            raise FormatError("manifest: wrong file keys")
        name = _string(entry["name"], "file name")
        media_type = _string(entry["type"], "media type")
        if len(media_type) > MAX_MEDIA_TYPE_LENGTH:
            raise FormatError("manifest: media type too long")
        key = b64url_decode(_string(entry["key"], "file key"), length=FILE_KEY_SIZE)
        files.append(
            ManifestFile(
                name=safe_file_name(name),
                size=_integer(entry["size"], "size", minimum=0),
                media_type=safe_media_type(media_type),
                key=key,
            )
        )

    return Manifest(message, files, expires_in, max_downloads)


def _string(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise FormatError(f"manifest: {what} is not a string")
    # JSON can spell lone surrogates ("\ud800") that no UTF-8 text contains.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise FormatError(f"manifest: {what} is not valid unicode") from None
    return value


def _integer(value: object, what: str, *, minimum: int) -> int:
    # bool is an int subclass; JSON true must not pass as 1.
    if type(value) is not int or not minimum <= value <= MAX_SAFE_INTEGER:
        raise FormatError(f"manifest: bad {what}")
    return value


def _check_count(what: str, value: int, *, minimum: int) -> None:
    if type(value) is not int or not minimum <= value <= MAX_SAFE_INTEGER:
        raise ParameterError(
            f"{what}: expected an integer from {minimum} to {MAX_SAFE_INTEGER},"
            f" got {value!r}"
        )


async def encrypt(
    share_key: bytes,
    header_hash: bytes,
    manifest: Manifest,
    *,
    salt: bytes | None = None,
) -> bytes:
    """Encrypt a manifest for the share whose header hashes to ``header_hash``.

    :param salt: the 24-byte chunked-encryption salt (tests); random otherwise.
    :raises ParameterError: see :func:`encode`.
    """
    plaintext = encode(manifest)
    key = await derive_key(share_key)
    return await chunked.encrypt(key, context(header_hash), plaintext, salt=salt)


async def decrypt(share_key: bytes, header_hash: bytes, ciphertext: bytes) -> Manifest:
    """Decrypt and validate a manifest.

    :raises FormatError: the ciphertext length is impossible or too large
        (checked before decrypting), or the plaintext is invalid.
    :raises DecryptionError: wrong key, other header, or modified ciphertext.
    """
    if chunked.plaintext_size(len(ciphertext)) > MAX_PLAINTEXT_SIZE:
        raise FormatError("manifest: too large")

    key = await derive_key(share_key)
    plaintext = await chunked.decrypt(key, context(header_hash), ciphertext)
    return decode(plaintext)
