"""Primitives on pyca/cryptography, for CPython (the CLI, the server's tests).

Everything computes inline; the methods are coroutines only to share the
:class:`~pyodide_crypto.backends.base.Backend` interface with WebCrypto.
Buffers are ``bytes``-like objects; chunk windows are processed through
memoryviews into one preallocated ``bytearray`` so that a window is copied
once, by the cipher itself.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand

from ..errors import DecryptionError, ParameterError
from .base import (
    DH_SECRET_SIZE,
    TAG_SIZE,
    X25519,
    AeadKey,
    Buffer,
    check_dh_sizes,
)

_P256_POINT = ec.SECP256R1()


def _dh_private(curve: str, private_key: bytes) -> Any:
    if curve == X25519:
        return x25519.X25519PrivateKey.from_private_bytes(private_key)
    try:
        return ec.derive_private_key(int.from_bytes(private_key), _P256_POINT)
    except ValueError:
        raise ParameterError("invalid P-256 private key") from None


def _dh_public_bytes(curve: str, key: Any) -> bytes:
    if curve == X25519:
        return key.public_bytes_raw()  # type: ignore[no-any-return]
    return key.public_bytes(  # type: ignore[no-any-return]
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


class CPythonBackend:
    """The :class:`~pyodide_crypto.backends.base.Backend` for CPython."""

    name = "cpython"

    def random_bytes(self, size: int) -> bytes:
        """Return ``size`` bytes from the OS CSPRNG."""
        return os.urandom(size)

    async def sha256(self, data: bytes) -> bytes:
        """Return the SHA-256 digest of ``data``."""
        digest = hashes.Hash(hashes.SHA256())
        digest.update(data)
        return digest.finalize()

    async def hkdf_expand_sha512(self, prk: bytes, info: bytes, length: int) -> bytes:
        """HKDF-Expand (RFC 5869, section 2.3) with HMAC-SHA-512.

        :raises ParameterError: ``length`` is outside 1..16320.
        """
        # The same bounds and error as the WebCrypto backend, so that misuse
        # looks the same on both runtimes (cryptography would say ValueError).
        if not 0 < length <= 255 * 64:
            raise ParameterError(f"length must be 1..16320, got {length}")
        return HKDFExpand(hashes.SHA512(), length, info).derive(prk)

    async def hkdf_sha256(
        self, ikm: bytes, *, salt: bytes, info: bytes, length: int
    ) -> bytes:
        """Full HKDF (Extract then Expand, RFC 5869) with HMAC-SHA-256.

        :raises ParameterError: ``length`` is outside 1..8160.
        """
        if not 0 < length <= 255 * 32:
            raise ParameterError(f"length must be 1..8160, got {length}")
        return HKDF(hashes.SHA256(), length, salt, info).derive(ikm)

    async def hkdf_extract_sha256(self, salt: bytes, ikm: bytes) -> bytes:
        """HKDF-Extract with HMAC-SHA-256 (an empty salt is 32 zero bytes)."""
        # HMAC pads its key with zeros, so b"" and 32 zero bytes give the same
        # result; spelling it out keeps both backends visibly identical.
        mac = hmac.HMAC(salt or bytes(32), hashes.SHA256())
        mac.update(ikm)
        return mac.finalize()

    async def hkdf_expand_sha256(self, prk: bytes, info: bytes, length: int) -> bytes:
        """HKDF-Expand (RFC 5869, section 2.3) with HMAC-SHA-256.

        :raises ParameterError: ``length`` is outside 1..8160.
        """
        if not 0 < length <= 255 * 32:
            raise ParameterError(f"length must be 1..8160, got {length}")
        return HKDFExpand(hashes.SHA256(), length, info).derive(prk)

    async def dh_generate(self, curve: str) -> tuple[bytes, bytes]:
        """A fresh raw ``(private_key, public_key)`` pair of ``curve``."""
        check_dh_sizes(curve, None, None)
        if curve == X25519:
            key: Any = x25519.X25519PrivateKey.generate()
            private = key.private_bytes_raw()
        else:
            key = ec.generate_private_key(_P256_POINT)
            private = key.private_numbers().private_value.to_bytes(32)
        return private, _dh_public_bytes(curve, key.public_key())

    async def dh_public_key(self, curve: str, private_key: bytes) -> bytes:
        """The raw public key of a raw private key.

        :raises ParameterError: wrong size, or not a valid P-256 scalar.
        """
        check_dh_sizes(curve, private_key, None)
        key = _dh_private(curve, private_key)
        return _dh_public_bytes(curve, key.public_key())

    async def dh(self, curve: str, private_key: bytes, public_key: bytes) -> bytes:
        """Diffie-Hellman of two raw keys; refuses invalid points and zero.

        :raises ParameterError: a key is invalid or the result is all zeros.
        """
        check_dh_sizes(curve, private_key, public_key)
        key = _dh_private(curve, private_key)

        try:
            if curve == X25519:
                peer: Any = x25519.X25519PublicKey.from_public_bytes(public_key)
                shared = key.exchange(peer)
            else:
                # from_encoded_point checks that the point is on the curve.
                peer = ec.EllipticCurvePublicKey.from_encoded_point(
                    _P256_POINT, public_key
                )
                shared = key.exchange(ec.ECDH(), peer)
        except ValueError:
            raise ParameterError(f"invalid {curve} public key") from None
        # OpenSSL already refuses an all-zero X25519 output; checked again so
        # that the rule does not hang on a library detail.
        if len(shared) != DH_SECRET_SIZE or not any(shared):
            raise ParameterError(f"invalid {curve} public key")
        return shared  # type: ignore[no-any-return]

    async def import_aes_gcm_key(self, key: bytes) -> AeadKey:
        """Import a 16- or 32-byte AES-GCM key.

        :raises ParameterError: the key has another length.
        """
        if len(key) not in (16, 32):
            raise ParameterError(f"key must be 16 or 32 bytes, got {len(key)}")
        return AESGCM(key)

    async def aes_gcm_seal(
        self, key: AeadKey, nonce: bytes, plaintext: bytes, aad: bytes = b""
    ) -> bytes:
        """Encrypt a small message; returns ciphertext with the 16-byte tag."""
        return key.encrypt(nonce, plaintext, aad or None)  # type: ignore[no-any-return]

    async def aes_gcm_open(
        self, key: AeadKey, nonce: bytes, ciphertext: bytes, aad: bytes = b""
    ) -> bytes:
        """Decrypt a small message.

        :raises DecryptionError: the tag does not verify.
        """
        try:
            return key.decrypt(nonce, ciphertext, aad or None)  # type: ignore[no-any-return]
        except InvalidTag:
            raise DecryptionError() from None

    async def seal_chunks(
        self, key: AeadKey, nonces: Sequence[bytes], data: Buffer, chunk_size: int
    ) -> Buffer:
        """Encrypt a window of consecutive chunks into one ``bytearray``."""
        src = memoryview(data).cast("B")
        out = bytearray(len(src) + len(nonces) * TAG_SIZE)
        with memoryview(out) as dst:
            for i, nonce in enumerate(nonces):
                plain = src[i * chunk_size : (i + 1) * chunk_size]
                start = i * (chunk_size + TAG_SIZE)
                key.encrypt_into(
                    nonce, plain, None, dst[start : start + len(plain) + TAG_SIZE]
                )
        return out

    async def open_chunks(
        self, key: AeadKey, nonces: Sequence[bytes], data: Buffer, chunk_size: int
    ) -> tuple[Buffer, int]:
        """Decrypt a window; return the authenticated prefix and its chunk count."""
        src = memoryview(data).cast("B")
        sealed_size = chunk_size + TAG_SIZE
        out = bytearray(max(0, len(src) - len(nonces) * TAG_SIZE))
        ok = 0
        written = 0
        with memoryview(out) as dst:
            for i, nonce in enumerate(nonces):
                sealed = src[i * sealed_size : (i + 1) * sealed_size]
                if len(sealed) < TAG_SIZE:
                    break
                size = len(sealed) - TAG_SIZE
                try:
                    key.decrypt_into(nonce, sealed, None, dst[written : written + size])
                except InvalidTag:
                    break
                written += size
                ok += 1
        # decrypt_into has already written the failing chunk's unauthenticated
        # plaintext: cut it off so that it can never be read.
        del out[written:]
        return out, ok

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
        return Argon2id(
            salt=bytes(salt),
            length=length,
            iterations=iterations,
            lanes=parallelism,
            memory_cost=memory_kib,
        ).derive(bytes(password))

    def buffer_length(self, data: Buffer) -> int:
        """Length in bytes of a buffer."""
        return memoryview(data).nbytes

    def buffer_slice(self, data: Buffer, start: int, end: int) -> Buffer:
        """A memoryview of ``data[start:end]`` (no copy)."""
        return memoryview(data).cast("B")[start:end]

    def buffer_from_bytes(self, data: bytes) -> Buffer:
        """Bytes already are a buffer here."""
        return data

    def buffer_to_bytes(self, data: Buffer) -> bytes:
        """Copy a buffer into ``bytes``."""
        return bytes(data)
