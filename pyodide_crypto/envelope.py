"""The envelope header and its recipient stanzas.

An envelope is ``header || manifest ciphertext``. The header names the format
version and carries one or more *stanzas*, each of which wraps the same 32-byte
share key for one kind of recipient. This module parses and builds headers and
implements the link stanza; docs/format.md is the normative description.

Each recipient kind is a stanza type with a recipient (writer) and an
identity (reader) class: the link stanza here, the code stanza in codes.py,
the HPKE stanza in hpke_stanza.py. The header layout does not change when a
kind is added, and older readers skip the types they do not know.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from . import chunked, keys
from .backends.base import AeadKey
from .errors import DecryptionError, FormatError, ParameterError
from .runtime import backend

MAGIC = b"sealpost"
VERSION = 1

#: magic (8) || version (1) || stanza count (1)
PREAMBLE_SIZE = len(MAGIC) + 2
#: type (1) || body length (2, big-endian)
STANZA_PREFIX_SIZE = 3
MIN_STANZAS = 1
MAX_STANZAS = 16
#: Upper bound of the whole header, preamble included, checked while parsing.
MAX_HEADER_SIZE = 64 * 1024
MAX_STANZA_BODY_SIZE = 0xFFFF

SHARE_KEY_SIZE = 32
LINK_SECRET_SIZE = 32

STANZA_LINK = 0x01
#: Link secret plus a second-channel code through Argon2id (codes.py).
STANZA_CODE = 0x02
#: RFC 9180 HPKE to a recipient's public key (hpke_stanza.py).
STANZA_HPKE = 0x03

LINK_SALT_SIZE = 16
LINK_WRAPPED_SIZE = SHARE_KEY_SIZE + 16
LINK_BODY_SIZE = LINK_SALT_SIZE + LINK_WRAPPED_SIZE
LINK_LABEL = b"sealpost.v1/link-stanza"
#: The link wrap key is fresh for every stanza (fresh salt), so one fixed nonce
#: is never used twice with the same key.
LINK_NONCE = bytes(12)

#: Exact body sizes of the stanza types this version understands. Reserved
#: types that are not implemented yet are skipped like unknown ones.
#: KDF id (1) || memory KiB (4) || iterations (4) || lanes (1) || salt (16)
#: || wrapped share key (48); parsed in codes.py.
CODE_BODY_SIZE = 74
KNOWN_BODY_SIZES: dict[int, int] = {
    STANZA_LINK: LINK_BODY_SIZE,
    STANZA_CODE: CODE_BODY_SIZE,
}
#: An HPKE stanza starts with its suite (RFC 9180 kem || kdf || aead, 6
#: bytes) and the recipient's key id (8); its size depends on the suite.
HPKE_SUITE_SIZE = 6
HPKE_KEY_ID_SIZE = keys.KEY_ID_SIZE
#: Exact HPKE stanza body sizes by the suite they start with: prefix, enc,
#: sealed share key. Stanzas of other suites are skipped like unknown types.
HPKE_BODY_SIZES: dict[bytes, int] = {
    suite.encoded: HPKE_SUITE_SIZE
    + HPKE_KEY_ID_SIZE
    + suite.enc_size
    + SHARE_KEY_SIZE
    + 16
    for suite in keys.SUITES.values()
}


def _body_size_ok(stanza_type: int, body: bytes | memoryview) -> bool:
    """Whether a body has the exact size its type (and suite) demands."""
    expected = KNOWN_BODY_SIZES.get(stanza_type)
    if expected is not None:
        return len(body) == expected
    if stanza_type == STANZA_HPKE:
        if len(body) < HPKE_SUITE_SIZE:
            return False
        size = HPKE_BODY_SIZES.get(bytes(body[:HPKE_SUITE_SIZE]))
        return size is None or len(body) == size
    return True


@dataclass(frozen=True)
class Stanza:
    """One recipient stanza: a type code and an opaque body."""

    type: int
    body: bytes


@dataclass(frozen=True)
class Header:
    """A parsed envelope header.

    ``raw`` is the exact header bytes, which :func:`header_hash` binds into the
    manifest and file contexts.
    """

    stanzas: tuple[Stanza, ...]
    raw: bytes


class Identity(Protocol):
    """Something that can unwrap the share key from one type of stanza."""

    stanza_type: int

    async def unwrap(self, body: bytes) -> bytes:
        """Return the share key wrapped in ``body``.

        :raises DecryptionError: the stanza is not for this identity.
        """
        ...


def encode_header(stanzas: Sequence[Stanza]) -> bytes:
    """Serialise stanzas into header bytes.

    :raises ParameterError: too few or too many stanzas, a type outside a byte,
        a body too long, a known type with the wrong body size, or a header over
        :data:`MAX_HEADER_SIZE`.
    """
    if not MIN_STANZAS <= len(stanzas) <= MAX_STANZAS:
        raise ParameterError(
            f"stanzas: expected {MIN_STANZAS} to {MAX_STANZAS}, got {len(stanzas)}"
        )

    parts = [MAGIC, bytes([VERSION, len(stanzas)])]
    for stanza in stanzas:
        if type(stanza.type) is not int or not 0 <= stanza.type <= 0xFF:
            raise ParameterError(f"stanza type: expected a byte, got {stanza.type!r}")
        if not isinstance(stanza.body, bytes):
            raise ParameterError("stanza body: expected bytes")
        if len(stanza.body) > MAX_STANZA_BODY_SIZE:
            raise ParameterError("stanza body: longer than 65535 bytes")
        if not _body_size_ok(stanza.type, stanza.body):
            raise ParameterError(
                f"stanza body: wrong size {len(stanza.body)} for type {stanza.type}"
            )
        parts.append(bytes([stanza.type]) + len(stanza.body).to_bytes(2, "big"))
        parts.append(stanza.body)
    raw = b"".join(parts)

    if len(raw) > MAX_HEADER_SIZE:
        raise ParameterError(f"header: over {MAX_HEADER_SIZE} bytes")
    return raw


def parse_header(envelope: bytes) -> tuple[Header, int]:
    """Parse the header at the start of ``envelope``.

    Every length is checked before anything is read or decrypted.

    :returns: the header and the offset where the manifest ciphertext starts.
    :raises FormatError: bad magic, unknown version, bad stanza count, a length
        that runs past the data or past :data:`MAX_HEADER_SIZE`, or a known
        stanza type with the wrong body size.
    """
    data = memoryview(envelope)
    if len(data) < PREAMBLE_SIZE or bytes(data[: len(MAGIC)]) != MAGIC:
        raise FormatError("not a sealpost envelope")
    version = data[len(MAGIC)]
    if version != VERSION:
        raise FormatError(f"unsupported envelope version {version}")
    count = data[len(MAGIC) + 1]
    if not MIN_STANZAS <= count <= MAX_STANZAS:
        raise FormatError(f"bad stanza count {count}")

    stanzas = []
    offset = PREAMBLE_SIZE
    for _ in range(count):
        if offset + STANZA_PREFIX_SIZE > len(data):
            raise FormatError("truncated envelope header")
        stanza_type = data[offset]
        size = int.from_bytes(data[offset + 1 : offset + 3], "big")
        end = offset + STANZA_PREFIX_SIZE + size
        # Checked before slicing: a hostile length never makes us read past
        # the buffer or accept an oversized header.
        if end > MAX_HEADER_SIZE:
            raise FormatError("envelope header too large")
        if end > len(data):
            raise FormatError("truncated envelope header")
        body = bytes(data[offset + STANZA_PREFIX_SIZE : end])
        if not _body_size_ok(stanza_type, body):
            raise FormatError(f"bad stanza size for type {stanza_type}")
        stanzas.append(Stanza(stanza_type, body))
        offset = end

    return Header(tuple(stanzas), bytes(data[:offset])), offset


def split_envelope(envelope: bytes) -> tuple[Header, bytes]:
    """Split an envelope into its parsed header and the manifest ciphertext.

    :raises FormatError: the header is invalid, or the rest cannot be a
        chunked ciphertext (too short or an impossible length).
    """
    header, offset = parse_header(envelope)
    body = bytes(envelope[offset:])
    # Raises FormatError for lengths no chunked ciphertext can have.
    chunked.plaintext_size(len(body))
    return header, body


async def header_hash(raw_header: bytes) -> bytes:
    """Return SHA-256 of the exact header bytes (32 bytes)."""
    return await backend().sha256(bytes(raw_header))


async def unwrap_share_key(header: Header, identities: Sequence[Identity]) -> bytes:
    """Find the share key with the first stanza one of ``identities`` opens.

    Stanzas of types no identity handles, including unknown types, are
    skipped.

    :raises DecryptionError: no stanza opens (one error whatever the reason).
    """
    for stanza in header.stanzas:
        for identity in identities:
            if identity.stanza_type != stanza.type:
                continue
            try:
                return await identity.unwrap(stanza.body)
            except DecryptionError:
                continue
    raise DecryptionError()


async def _link_wrap_key(link_secret: bytes, salt: bytes) -> AeadKey:
    key = await backend().hkdf_sha256(
        link_secret, salt=salt, info=LINK_LABEL, length=SHARE_KEY_SIZE
    )
    return await backend().import_aes_gcm_key(key)


def _check_link_secret(link_secret: bytes) -> bytes:
    if len(link_secret) != LINK_SECRET_SIZE:
        raise ParameterError(
            f"link secret: expected {LINK_SECRET_SIZE} bytes, got {len(link_secret)}"
        )
    return bytes(link_secret)


class LinkRecipient:
    """Wraps the share key for whoever holds the link secret."""

    stanza_type = STANZA_LINK

    def __init__(self, link_secret: bytes) -> None:
        """Keep the 32-byte link secret.

        :raises ParameterError: the secret is not 32 bytes.
        """
        self._link_secret = _check_link_secret(link_secret)

    async def wrap(self, share_key: bytes, *, salt: bytes | None = None) -> Stanza:
        """Return a link stanza carrying ``share_key``.

        :param salt: the 16-byte stanza salt. A seam for test vectors only:
            leave it out and a fresh random salt is drawn, which is what makes
            the fixed nonce safe.
        :raises ParameterError: the share key is not 32 bytes, or a given salt
            is not 16 bytes.
        """
        if len(share_key) != SHARE_KEY_SIZE:
            raise ParameterError(
                f"share key: expected {SHARE_KEY_SIZE} bytes, got {len(share_key)}"
            )
        if salt is None:
            salt = backend().random_bytes(LINK_SALT_SIZE)
        if len(salt) != LINK_SALT_SIZE:
            raise ParameterError(
                f"salt: expected {LINK_SALT_SIZE} bytes, got {len(salt)}"
            )

        salt = bytes(salt)
        key = await _link_wrap_key(self._link_secret, salt)
        wrapped = await backend().aes_gcm_seal(
            key, LINK_NONCE, bytes(share_key), LINK_LABEL
        )

        return Stanza(STANZA_LINK, salt + wrapped)


class LinkIdentity:
    """Unwraps link stanzas with the link secret from the URL fragment."""

    stanza_type = STANZA_LINK

    def __init__(self, link_secret: bytes) -> None:
        """Keep the 32-byte link secret.

        :raises ParameterError: the secret is not 32 bytes.
        """
        self._link_secret = _check_link_secret(link_secret)

    async def unwrap(self, body: bytes) -> bytes:
        """Return the share key in a link stanza body.

        :raises DecryptionError: wrong link secret or a modified stanza.
        """
        # parse_header already refuses other sizes; this guards direct callers.
        if len(body) != LINK_BODY_SIZE:
            raise DecryptionError()

        salt = bytes(body[:LINK_SALT_SIZE])
        key = await _link_wrap_key(self._link_secret, salt)
        share_key = await backend().aes_gcm_open(
            key, LINK_NONCE, bytes(body[LINK_SALT_SIZE:]), LINK_LABEL
        )
        return share_key
