"""Names and derivations both ends of a share compute.

The link fragment, the file contexts and the claim key (docs/format.md,
sections 3, 4 and 9), shared by :mod:`pyodide_crypto.share` (the sender)
and :mod:`pyodide_crypto.recipient`.
"""

from __future__ import annotations

from . import envelope, manifest
from .encoding import b64url_decode
from .errors import FormatError, ParameterError
from .runtime import backend

SHARE_KEY_SIZE = envelope.SHARE_KEY_SIZE
LINK_SECRET_SIZE = envelope.LINK_SECRET_SIZE
FILE_KEY_SIZE = manifest.FILE_KEY_SIZE
CLAIM_KEY_SIZE = 32
CLAIM_LABEL = b"sealpost.v1/claim"
FILE_LABEL = b"sealpost.v1/file"
#: File chunked-encryption context prefix; header hash and u32be index follow.
FILE_CONTEXT_PREFIX = FILE_LABEL + b"\x00"
#: 43 characters: 32 bytes of base64url without padding.
FRAGMENT_LENGTH = 43
#: HPKE stanzas one share may carry, next to its link or code stanza.
MAX_RECIPIENTS = envelope.MAX_STANZAS - 1


def parse_fragment(fragment: str) -> bytes:
    """Return the link secret spelled by a URL fragment.

    :param fragment: the fragment, with or without its leading ``#``.
    :raises FormatError: not exactly 43 characters of canonical base64url.
    """
    if not isinstance(fragment, str):
        raise FormatError("invalid link: fragment is not text")
    text = fragment.removeprefix("#")
    if len(text) != FRAGMENT_LENGTH:
        raise FormatError("invalid link: wrong fragment length")
    return b64url_decode(text, length=LINK_SECRET_SIZE)


def file_context(header_hash: bytes, index: int) -> bytes:
    """Chunked-encryption context of file ``index`` of the share ``header_hash``.

    :raises ParameterError: a hash that is not 32 bytes or an index outside u32.
    """
    if len(header_hash) != manifest.HEADER_HASH_SIZE:
        raise ParameterError(f"header hash: expected 32 bytes, got {len(header_hash)}")
    if type(index) is not int or not 0 <= index <= 0xFFFFFFFF:
        raise ParameterError(f"file index: expected a u32, got {index!r}")
    return FILE_CONTEXT_PREFIX + bytes(header_hash) + index.to_bytes(4, "big")


async def derive_claim_key(share_key: bytes) -> bytes:
    """Derive the claim key CK, the proof a recipient sends to claim a download."""
    return await backend().hkdf_sha256(
        bytes(share_key), salt=b"", info=CLAIM_LABEL, length=CLAIM_KEY_SIZE
    )


def exact(value: object, what: str, size: int) -> bytes:
    """``value`` as bytes if it has exactly ``size`` bytes (else misuse)."""
    if not isinstance(value, bytes | bytearray | memoryview) or len(value) != size:
        raise ParameterError(f"{what}: expected {size} bytes")
    return bytes(value)
