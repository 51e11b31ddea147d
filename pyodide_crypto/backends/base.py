"""The interface every primitive backend implements.

The format code above this layer owns keys, nonces, framing and every check;
a backend only runs primitives. Bulk data travels as an opaque *buffer*: a
``bytes``-like object under CPython, a JS ``Uint8Array`` under Pyodide, so
that ciphertext never has to be copied through Python in the browser. Small
values (keys, nonces, headers) are always Python ``bytes``.

All primitive calls are coroutines because WebCrypto is promise-based; the
CPython backend simply computes inline.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from ..errors import ParameterError

#: A bulk byte buffer owned by the backend (``bytes``-like or a JS Uint8Array).
Buffer = Any

#: An imported AES-GCM key (a cryptography ``AESGCM`` or a JS ``CryptoKey``).
AeadKey = Any

NONCE_SIZE = 12
TAG_SIZE = 16

#: Diffie-Hellman groups for HPKE's DHKEMs, by WebCrypto's name. Private keys
#: are raw 32-byte scalars; public keys are raw: 32 bytes for X25519, the
#: 65-byte uncompressed point (0x04 || x || y) for P-256.
X25519 = "X25519"
P256 = "P-256"
#: Sizes of (private key, public key) per group.
DH_KEY_SIZES = {X25519: (32, 32), P256: (32, 65)}
#: Every DH output here is 32 bytes (the X coordinate for P-256).
DH_SECRET_SIZE = 32


def check_dh_sizes(
    curve: str, private_key: bytes | None, public_key: bytes | None
) -> None:
    """Refuse an unknown group or keys of the wrong size (shared by backends).

    :raises ParameterError: naming the group or key that is wrong.
    """
    if curve not in DH_KEY_SIZES:
        raise ParameterError(f"DH group must be one of {sorted(DH_KEY_SIZES)}")
    sk_size, pk_size = DH_KEY_SIZES[curve]
    if private_key is not None and (
        not isinstance(private_key, bytes) or len(private_key) != sk_size
    ):
        raise ParameterError(f"{curve} private key must be {sk_size} bytes")
    if public_key is not None and (
        not isinstance(public_key, bytes) or len(public_key) != pk_size
    ):
        raise ParameterError(f"{curve} public key must be {pk_size} bytes")
    # Only uncompressed points: one spelling per key, as on every runtime.
    if curve == P256 and public_key is not None and public_key[0] != 0x04:
        raise ParameterError("P-256 public key must be an uncompressed point")


class Backend(Protocol):
    """Primitives used by pyodide_crypto, identical in bytes on every runtime."""

    name: str

    def random_bytes(self, size: int) -> bytes:
        """Return ``size`` bytes from the platform CSPRNG."""
        ...

    async def sha256(self, data: bytes) -> bytes:
        """Return the SHA-256 digest of ``data``."""
        ...

    async def hkdf_expand_sha512(self, prk: bytes, info: bytes, length: int) -> bytes:
        """HKDF-Expand (RFC 5869, section 2.3) with HMAC-SHA-512."""
        ...

    async def hkdf_sha256(
        self, ikm: bytes, *, salt: bytes, info: bytes, length: int
    ) -> bytes:
        """Full HKDF (Extract then Expand, RFC 5869) with HMAC-SHA-256."""
        ...

    async def hkdf_extract_sha256(self, salt: bytes, ikm: bytes) -> bytes:
        """HKDF-Extract (RFC 5869, section 2.2) with HMAC-SHA-256; 32 bytes.

        An empty ``salt`` means 32 zero bytes, as RFC 5869 says.
        """
        ...

    async def hkdf_expand_sha256(self, prk: bytes, info: bytes, length: int) -> bytes:
        """HKDF-Expand (RFC 5869, section 2.3) with HMAC-SHA-256.

        :raises ParameterError: ``length`` is outside 1..8160.
        """
        ...

    async def dh_generate(self, curve: str) -> tuple[bytes, bytes]:
        """A fresh key pair of ``curve`` (:data:`X25519` or :data:`P256`).

        Returns ``(private_key, public_key)``, both raw (see
        :data:`DH_KEY_SIZES`).
        """
        ...

    async def dh_public_key(self, curve: str, private_key: bytes) -> bytes:
        """The raw public key of a raw private key.

        :raises ParameterError: the key has the wrong size, or is not a valid
            scalar (P-256: zero or not below the group order).
        """
        ...

    async def dh(self, curve: str, private_key: bytes, public_key: bytes) -> bytes:
        """Diffie-Hellman: the 32-byte shared secret of two raw keys.

        Public keys are validated (P-256: the point is on the curve); an
        all-zero result (X25519 with a low-order point, RFC 7748 section 6.1,
        RFC 9180 section 7.1.4) is refused.

        :raises ParameterError: a key has the wrong size or is invalid, or the
            result is all zeros.
        """
        ...

    async def argon2id(
        self,
        password: bytes,
        salt: bytes,
        *,
        memory_kib: int,
        iterations: int,
        parallelism: int,
        length: int,
    ) -> bytes:
        """Argon2id version 0x13 (RFC 9106), no secret and no associated data."""
        ...

    async def import_aes_gcm_key(self, key: bytes) -> AeadKey:
        """Import a 16- or 32-byte AES-GCM key for repeated use."""
        ...

    async def aes_gcm_seal(
        self, key: AeadKey, nonce: bytes, plaintext: bytes, aad: bytes = b""
    ) -> bytes:
        """Encrypt a small message; returns ciphertext with the 16-byte tag."""
        ...

    async def aes_gcm_open(
        self, key: AeadKey, nonce: bytes, ciphertext: bytes, aad: bytes = b""
    ) -> bytes:
        """Decrypt a small message.

        :raises DecryptionError: the tag does not verify.
        """
        ...

    async def seal_chunks(
        self, key: AeadKey, nonces: Sequence[bytes], data: Buffer, chunk_size: int
    ) -> Buffer:
        """Encrypt a window of consecutive chunks with one await.

        Chunk ``i`` is ``data[i * chunk_size : (i + 1) * chunk_size]`` (the last
        one may be shorter, even empty) and is sealed with ``nonces[i]`` and an
        empty AAD. The caller guarantees
        ``(len(nonces) - 1) * chunk_size <= len(data) <= len(nonces) * chunk_size``.
        Returns the concatenated ciphertexts, tags included.
        """
        ...

    async def open_chunks(
        self, key: AeadKey, nonces: Sequence[bytes], data: Buffer, chunk_size: int
    ) -> tuple[Buffer, int]:
        """Decrypt a window of consecutive chunks with one await.

        Chunk ``i`` is ``data[i * (chunk_size + 16) : ...]``, the last one may be
        shorter (but at least 16 bytes). Returns the plaintext of the leading
        chunks that authenticated, and how many did. Nothing past the first
        failing chunk is ever returned.
        """
        ...

    def buffer_length(self, data: Buffer) -> int:
        """Length in bytes of a buffer."""
        ...

    def buffer_slice(self, data: Buffer, start: int, end: int) -> Buffer:
        """A view of ``data[start:end]`` (no copy where the runtime allows)."""
        ...

    def buffer_from_bytes(self, data: bytes) -> Buffer:
        """Wrap Python bytes as a buffer of this backend."""
        ...

    def buffer_to_bytes(self, data: Buffer) -> bytes:
        """Copy a buffer into Python bytes (only for small data)."""
        ...
