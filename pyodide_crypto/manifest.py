"""The encrypted manifest: message, names, sizes, types, file keys, reply key.

The manifest plaintext is ``u32be(len(json)) || json || zero padding`` up to a
multiple of :data:`PAD_BLOCK`, so the ciphertext length reveals the message
length only to the nearest KiB. It is encrypted with C2SP chunked encryption
under a key derived from the share key, bound to the envelope header; see
docs/format.md.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from . import chunked
from .encoding import b64url_decode, b64url_encode
from .errors import FormatError, ParameterError
from .paths import DEFAULT_MEDIA_TYPE as DEFAULT_MEDIA_TYPE
from .paths import (
    MAX_NAME_SIZE,
    MAX_PATH_DEPTH,
    PATH_SEPARATOR,
    check_path,
    check_tree,
    safe_media_type,
    safe_path,
    utf8,
)
from .paths import NAME_SUBSTITUTE as NAME_SUBSTITUTE
from .paths import safe_file_name as safe_file_name
from .reply import ReplyTo
from .runtime import backend

# The path rules live in paths.py; the ``x as x`` imports above re-export
# what callers (the clients) use as manifest.*.

MANIFEST_VERSION = 1
#: Version 2 is version 1 plus the required ``reply_to`` key. A writer uses
#: it only when there is a reply key, so that every other manifest stays
#: readable by version 1 readers.
MANIFEST_VERSION_REPLY = 2
SUPPORTED_VERSIONS = frozenset({MANIFEST_VERSION, MANIFEST_VERSION_REPLY})
MANIFEST_LABEL = b"sealpost.v1/manifest"
#: Manifest chunked-encryption context prefix; the header hash follows.
MANIFEST_CONTEXT_PREFIX = MANIFEST_LABEL + b"\x00"
HEADER_HASH_SIZE = 32

FILE_KEY_SIZE = 32
LENGTH_PREFIX_SIZE = 4
#: Padding granule: the ciphertext reveals the JSON length only to this.
PAD_BLOCK = 1024
#: Upper bound of the padded plaintext, checked before decrypting.
MAX_PLAINTEXT_SIZE = 16 * 1024 * 1024
#: Largest integer every client (JavaScript numbers included) holds exactly.
MAX_SAFE_INTEGER = 2**53 - 1
#: Largest file the chunked format can carry: 2**38 chunks, the last short.
MAX_FILE_SIZE = chunked.MAX_CHUNKS * chunked.CHUNK_SIZE - 1
MAX_FILES = 10_000
#: UTF-8 bytes of the message.
MAX_MESSAGE_SIZE = 4 * 1024 * 1024
MAX_MEDIA_TYPE_LENGTH = 255

#: An escape pair, a JSON string once escapes are gone, and the brackets
#: outside strings; used to bound nesting before the parser sees the text.
_JSON_ESCAPE = re.compile(r"\\.", re.DOTALL)
_JSON_STRING = re.compile(r'"[^"]*"')
_JSON_BRACKET = re.compile(r"[\[\]{}]")
#: The manifest nests an object, its file list and a file object: 3 levels.
MAX_JSON_DEPTH = 3

_TOP_KEYS = frozenset({"v", "message", "files", "expires_in", "max_downloads"})
#: ``dirs`` (folders to create, empty ones included) is written only when
#: there is one, so that a share without folders has the same bytes as before.
_OPTIONAL_TOP_KEYS = frozenset({"dirs"})
_FILE_KEYS = frozenset({"name", "size", "type", "key"})
#: Required in version 2, refused in version 1.
_REPLY_KEY = "reply_to"


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
    #: Folders to recreate, as relative paths (empty folders included).
    dirs: list[str] = field(default_factory=list)
    #: Where an encrypted reply goes and its key (version 2), or None.
    reply_to: ReplyTo | None = None


def padded_size(json_size: int) -> int:
    """Plaintext size for a JSON document of ``json_size`` bytes."""
    unpadded = LENGTH_PREFIX_SIZE + json_size
    return -(-unpadded // PAD_BLOCK) * PAD_BLOCK


def context(header_hash: bytes) -> bytes:
    """Chunked-encryption context of the manifest of the share ``header_hash``.

    :raises ParameterError: the hash is not 32 bytes.
    """
    if len(header_hash) != HEADER_HASH_SIZE:
        raise ParameterError(f"header hash: expected 32 bytes, got {len(header_hash)}")
    return MANIFEST_CONTEXT_PREFIX + bytes(header_hash)


async def derive_key(share_key: bytes) -> bytes:
    """Derive the manifest key MK from the 32-byte share key."""
    return await backend().hkdf_sha256(
        bytes(share_key), salt=b"", info=MANIFEST_LABEL, length=32
    )


def check_file(name: str, size: int, media_type: str) -> str:
    """Check one file's metadata before it goes into a manifest.

    :returns: the name, NFC-normalised (how it is stored).
    :raises ParameterError: a wrong type, a size outside 0 to
        :data:`MAX_FILE_SIZE`, text that is not valid Unicode, a name over
        :data:`MAX_NAME_SIZE` UTF-8 bytes or a media type over 255 characters.
    """
    if not isinstance(name, str) or not isinstance(media_type, str):
        raise ParameterError("file: name and media type must be str")
    if type(size) is not int or not 0 <= size <= MAX_FILE_SIZE:
        raise ParameterError(
            f"file size: expected an integer from 0 to {MAX_FILE_SIZE}, got {size!r}"
        )
    # NFC so that a name typed on macOS (NFD) and elsewhere compares equal;
    # names are labels, unlike the message, which is kept byte for byte.
    name = check_path(name)
    utf8(media_type, "media type")
    if len(media_type) > MAX_MEDIA_TYPE_LENGTH:
        raise ParameterError(
            f"media type: longer than {MAX_MEDIA_TYPE_LENGTH} characters"
        )
    return name


def encode(manifest: Manifest) -> bytes:
    """Serialise a manifest into its padded plaintext.

    The JSON is compact, with sorted keys and non-ASCII characters written as
    UTF-8 (the canonical form of docs/format.md). Names are stored
    NFC-normalised; the message is stored exactly.

    :raises ParameterError: a value has the wrong type or range, or the result
        exceeds :data:`MAX_PLAINTEXT_SIZE`.
    """
    _check_count("expires_in", manifest.expires_in)
    _check_count("max_downloads", manifest.max_downloads)
    if not isinstance(manifest.message, str):
        raise ParameterError("message: expected str")
    if len(utf8(manifest.message, "message")) > MAX_MESSAGE_SIZE:
        raise ParameterError(f"message: longer than {MAX_MESSAGE_SIZE} UTF-8 bytes")
    if len(manifest.files) > MAX_FILES:
        raise ParameterError(f"files: more than {MAX_FILES}")
    files = []
    for entry in manifest.files:
        name = check_file(entry.name, entry.size, entry.media_type)
        if not isinstance(entry.key, bytes) or len(entry.key) != FILE_KEY_SIZE:
            raise ParameterError(f"file key: expected {FILE_KEY_SIZE} bytes")
        files.append(
            {
                "name": name,
                "size": entry.size,
                "type": entry.media_type,
                "key": b64url_encode(entry.key),
            }
        )
    document: dict[str, Any] = {
        "v": MANIFEST_VERSION,
        "message": manifest.message,
        "files": files,
        "expires_in": manifest.expires_in,
        "max_downloads": manifest.max_downloads,
    }
    dirs = sorted({check_path(d, "folder") for d in manifest.dirs})
    check_tree([f["name"] for f in files], dirs)
    if dirs:
        document["dirs"] = dirs
    if manifest.reply_to is not None:
        if not isinstance(manifest.reply_to, ReplyTo):
            raise ParameterError("reply_to: expected a reply.ReplyTo")
        document["v"] = MANIFEST_VERSION_REPLY
        document[_REPLY_KEY] = manifest.reply_to.to_json()

    text = json.dumps(
        document, ensure_ascii=False, sort_keys=True, separators=(",", ":")
    ).encode("utf-8")
    total = padded_size(len(text))
    if total > MAX_PLAINTEXT_SIZE:
        raise ParameterError(f"manifest: over {MAX_PLAINTEXT_SIZE} bytes")

    prefix = len(text).to_bytes(LENGTH_PREFIX_SIZE, "big")
    return prefix + text + bytes(total - LENGTH_PREFIX_SIZE - len(text))


def decode(plaintext: bytes) -> Manifest:
    """Parse and strictly validate a manifest plaintext.

    File names are passed through :func:`safe_file_name` and media types
    through :func:`safe_media_type`; the message is returned exactly.

    :raises FormatError: wrong length prefix or padding, invalid UTF-8 or JSON,
        duplicate, unknown or missing keys, wrong types, values out of range,
        a bad file key or an unknown manifest version.
    """
    if not LENGTH_PREFIX_SIZE <= len(plaintext) <= MAX_PLAINTEXT_SIZE:
        raise FormatError("manifest: bad size")
    size = int.from_bytes(plaintext[:LENGTH_PREFIX_SIZE], "big")
    # Exactly the padded size: no padding block may be added or dropped.
    if size > len(plaintext) - LENGTH_PREFIX_SIZE or len(plaintext) != padded_size(
        size
    ):
        raise FormatError("manifest: bad length")
    end = LENGTH_PREFIX_SIZE + size
    if any(plaintext[end:]):
        raise FormatError("manifest: bad padding")

    try:
        text = bytes(plaintext[LENGTH_PREFIX_SIZE:end]).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError("manifest: invalid json") from exc
    _check_nesting(text)
    try:
        document = json.loads(
            text, object_pairs_hook=_unique_keys, parse_constant=_no_constant
        )
    except (ValueError, RecursionError) as exc:
        # ValueError covers bad JSON and integers too long to convert.
        raise FormatError("manifest: invalid json") from exc

    return _validate(document)


def _check_nesting(text: str) -> None:
    # The json parser recurses per level; under Pyodide a deep enough
    # document overflows the JavaScript stack, which no Python handler
    # catches. Escape pairs, then strings, are removed first: names may
    # contain brackets and quotes. Where the text is not valid JSON this may
    # count too many brackets, never too few before the point where the
    # parser would stop.
    structure = _JSON_STRING.sub("", _JSON_ESCAPE.sub("", text))
    depth = 0
    for bracket in _JSON_BRACKET.findall(structure):
        if bracket in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise FormatError("manifest: json nested too deeply")
        else:
            depth -= 1


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise FormatError("manifest: duplicate key")
    return result


def _no_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity, which are not JSON.
    raise FormatError(f"manifest: {name} is not json")


def _validate(document: object) -> Manifest:
    if not isinstance(document, dict):
        raise FormatError("manifest: not a json object")
    # The version first: a later version may change every other key.
    if "v" not in document:
        raise FormatError("manifest: missing version")
    version = document["v"]
    if type(version) is not int or version not in SUPPORTED_VERSIONS:
        raise FormatError("manifest: unsupported version")
    required = _TOP_KEYS
    if version == MANIFEST_VERSION_REPLY:
        required = _TOP_KEYS | {_REPLY_KEY}
    if not required <= set(document) <= required | _OPTIONAL_TOP_KEYS:
        raise FormatError("manifest: wrong keys")
    reply_to = None
    if version == MANIFEST_VERSION_REPLY:
        reply_to = ReplyTo.from_json(document[_REPLY_KEY])
    dirs = document.get("dirs", [])
    if (
        not isinstance(dirs, list)
        or len(dirs) > MAX_FILES
        or "dirs" in document
        and not dirs
    ):
        raise FormatError("manifest: dirs is not a non-empty list")
    dirs = [safe_path(_path(d, "folder")) for d in dirs]
    message = _string(document["message"], "message", MAX_MESSAGE_SIZE)
    expires_in = _integer(document["expires_in"], "expires_in", 1, MAX_SAFE_INTEGER)
    max_downloads = _integer(
        document["max_downloads"], "max_downloads", 1, MAX_SAFE_INTEGER
    )
    entries = document["files"]
    if not isinstance(entries, list):
        raise FormatError("manifest: files is not a list")
    if len(entries) > MAX_FILES:
        raise FormatError("manifest: too many files")

    files = []
    total = 0
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) != _FILE_KEYS:
            raise FormatError("manifest: wrong file keys")
        name = _path(entry["name"], "file name")
        size = _integer(entry["size"], "size", 0, MAX_FILE_SIZE)
        media_type = _string(entry["type"], "media type", MAX_MEDIA_TYPE_LENGTH)
        key = b64url_decode(_string(entry["key"], "file key", 43), length=FILE_KEY_SIZE)
        # Clients add sizes up as JS numbers; keep every sum exact.
        total += chunked.ciphertext_size(size)
        if total > MAX_SAFE_INTEGER:
            raise FormatError("manifest: files too large in total")
        files.append(
            ManifestFile(
                name=safe_path(name),
                size=size,
                media_type=safe_media_type(media_type),
                key=key,
            )
        )

    return Manifest(message, files, expires_in, max_downloads, dirs, reply_to)


def _path(value: object, what: str) -> str:
    path = _string(value, what, MAX_NAME_SIZE)
    if path.count(PATH_SEPARATOR) >= MAX_PATH_DEPTH:
        raise FormatError(f"manifest: {what} nested too deeply")
    return path


def _string(value: object, what: str, max_size: int) -> str:
    if not isinstance(value, str):
        raise FormatError(f"manifest: {what} is not a string")
    # JSON can spell lone surrogates ("\ud800") that no UTF-8 text contains.
    try:
        encoded = value.encode("utf-8")
    except UnicodeEncodeError:
        raise FormatError(f"manifest: {what} is not valid unicode") from None
    if len(encoded) > max_size:
        raise FormatError(f"manifest: {what} too long")
    return value


def _integer(value: object, what: str, minimum: int, maximum: int) -> int:
    # bool is an int subclass; JSON true must not pass as 1.
    if type(value) is not int or not minimum <= value <= maximum:
        raise FormatError(f"manifest: bad {what}")
    return value


def _check_count(what: str, value: int) -> None:
    if type(value) is not int or not 1 <= value <= MAX_SAFE_INTEGER:
        raise ParameterError(
            f"{what}: expected an integer from 1 to {MAX_SAFE_INTEGER}, got {value!r}"
        )


async def encrypt(
    share_key: bytes,
    header_hash: bytes,
    manifest: Manifest,
    *,
    salt: bytes | None = None,
) -> bytes:
    """Encrypt a manifest for the share whose header hashes to ``header_hash``.

    :param salt: the 24-byte chunked-encryption salt, for test vectors only;
        random otherwise.
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
