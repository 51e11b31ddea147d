"""Primitives on WebCrypto, for Pyodide (a Web Worker, or Node.js in tests).

Only :mod:`pyodide_crypto.runtime` imports this module, and only inside
Pyodide. It is the membrane between Python and JS: JS option objects are built
here, every ``JsException`` becomes one of our errors, and the only JS objects
that leave are opaque buffers (``Uint8Array``) and keys (``CryptoKey``).

Bulk chunks never cost one Python ``await`` each: Python packs the nonces of a
window into one array and ``globalThis.sealpostSubtleWindow`` (installed from
``client/web/js/subtle-window.js`` before Python starts) issues the per-chunk
``subtle`` calls and settles one promise for the window.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import js  # type: ignore[import-not-found]
from js import Object, Uint8Array, crypto  # type: ignore[import-not-found]
from pyodide.ffi import JsException, to_js  # type: ignore[import-not-found]

from ..encoding import b64url_decode
from ..errors import BackendError, DecryptionError, ParameterError
from .base import (
    DH_KEY_SIZES,
    DH_SECRET_SIZE,
    X25519,
    AeadKey,
    Buffer,
    check_dh_sizes,
)

# crypto.getRandomValues refuses more than 64 KiB in one call.
_RANDOM_LIMIT = 65536
_SHA512_SIZE = 64


def _params(**fields: Any) -> Any:
    # A plain dict would become a JS Map, which WebCrypto reads as an object
    # without properties (a Map's "length" is not the dict's): build a real
    # object instead.
    return to_js(fields, dict_converter=Object.fromEntries)


def _u8(data: bytes | bytearray | memoryview) -> Any:
    array = Uint8Array.new(len(data))
    if len(data):
        array.assign(data)
    return array


def _backend_error(exc: JsException) -> BackendError:
    return BackendError(f"webcrypto failed: {exc.name}")


# DER of a PKCS#8 PrivateKeyInfo up to the raw private key, which follows.
# WebCrypto imports private keys only as PKCS#8 or JWK, and a JWK needs the
# public key, which only the platform may compute. X25519: RFC 8410. P-256:
# an ECPrivateKey (RFC 5915) without its optional public key, which Chromium
# and Node.js both accept and complete themselves.
_PKCS8_PREFIX = {
    X25519: bytes.fromhex("302e020100300506032b656e04220420"),
    "P-256": bytes.fromhex(
        "3041020100301306072a8648ce3d020106082a8648ce3d030107042730250201010420"
    ),
}


def _dh_algorithm(curve: str) -> Any:
    if curve == X25519:
        return _params(name="X25519")
    return _params(name="ECDH", namedCurve="P-256")


class WebCryptoBackend:
    """The :class:`~pyodide_crypto.backends.base.Backend` for Pyodide."""

    name = "webcrypto"

    def __init__(self) -> None:
        self._subtle = crypto.subtle

    def random_bytes(self, size: int) -> bytes:
        """Return ``size`` bytes from ``crypto.getRandomValues``."""
        out = bytearray()
        while len(out) < size:
            part = Uint8Array.new(min(size - len(out), _RANDOM_LIMIT))
            crypto.getRandomValues(part)
            out += part.to_bytes()
        return bytes(out)

    async def sha256(self, data: bytes) -> bytes:
        """Return the SHA-256 digest of ``data``."""
        try:
            digest = await self._subtle.digest("SHA-256", _u8(data))
        except JsException as exc:
            raise _backend_error(exc) from None
        return bytes(Uint8Array.new(digest).to_bytes())

    async def hkdf_expand_sha512(self, prk: bytes, info: bytes, length: int) -> bytes:
        """HKDF-Expand (RFC 5869, section 2.3) with HMAC-SHA-512.

        WebCrypto's HKDF always runs Extract first, and C2SP chunked-encryption
        uses the input key directly as the PRK; so Expand is composed here from
        WebCrypto HMAC: T(i) = HMAC(PRK, T(i-1) || info || i).
        """
        return await self._hkdf_expand("SHA-512", _SHA512_SIZE, prk, info, length)

    async def _hkdf_expand(
        self, hash_name: str, hash_size: int, prk: bytes, info: bytes, length: int
    ) -> bytes:
        if not 0 < length <= 255 * hash_size:
            raise ParameterError(f"length must be 1..{255 * hash_size}, got {length}")

        try:
            key = await self._subtle.importKey(
                "raw",
                _u8(prk),
                _params(name="HMAC", hash=hash_name),
                False,
                to_js(["sign"]),
            )
            okm = bytearray()
            block = b""
            counter = 1
            while len(okm) < length:
                mac = await self._subtle.sign(
                    "HMAC", key, _u8(block + info + bytes([counter]))
                )
                block = Uint8Array.new(mac).to_bytes()
                okm += block
                counter += 1
        except JsException as exc:
            raise _backend_error(exc) from None
        return bytes(okm[:length])

    async def hkdf_sha256(
        self, ikm: bytes, *, salt: bytes, info: bytes, length: int
    ) -> bytes:
        """Full HKDF (Extract then Expand, RFC 5869) with HMAC-SHA-256."""
        if not 0 < length <= 255 * 32:
            raise ParameterError(f"length must be 1..8160, got {length}")

        try:
            key = await self._subtle.importKey(
                "raw", _u8(ikm), "HKDF", False, to_js(["deriveBits"])
            )
            bits = await self._subtle.deriveBits(
                _params(name="HKDF", hash="SHA-256", salt=_u8(salt), info=_u8(info)),
                key,
                length * 8,
            )
        except JsException as exc:
            raise _backend_error(exc) from None
        return bytes(Uint8Array.new(bits).to_bytes())

    async def hkdf_extract_sha256(self, salt: bytes, ikm: bytes) -> bytes:
        """HKDF-Extract with HMAC-SHA-256: HMAC(salt, ikm), 32 bytes.

        WebCrypto refuses an empty HMAC key; HMAC pads keys with zeros, so
        RFC 5869's "no salt means HashLen zeros" gives the same result.
        """
        try:
            key = await self._subtle.importKey(
                "raw",
                _u8(salt or bytes(32)),
                _params(name="HMAC", hash="SHA-256"),
                False,
                to_js(["sign"]),
            )
            mac = await self._subtle.sign("HMAC", key, _u8(ikm))
        except JsException as exc:
            raise _backend_error(exc) from None
        return bytes(Uint8Array.new(mac).to_bytes())

    async def hkdf_expand_sha256(self, prk: bytes, info: bytes, length: int) -> bytes:
        """HKDF-Expand with HMAC-SHA-256, composed like the SHA-512 one."""
        return await self._hkdf_expand("SHA-256", 32, prk, info, length)

    async def dh_generate(self, curve: str) -> tuple[bytes, bytes]:
        """A fresh raw ``(private_key, public_key)`` pair from ``generateKey``."""
        check_dh_sizes(curve, None, None)

        try:
            pair = await self._subtle.generateKey(
                _dh_algorithm(curve), True, to_js(["deriveBits"])
            )
            jwk = await self._subtle.exportKey("jwk", pair.privateKey)
            public = await self._subtle.exportKey("raw", pair.publicKey)
        except JsException as exc:
            raise _backend_error(exc) from None
        private = b64url_decode(str(jwk.d), length=DH_KEY_SIZES[curve][0])
        return private, bytes(Uint8Array.new(public).to_bytes())

    async def dh_public_key(self, curve: str, private_key: bytes) -> bytes:
        """The raw public key, as the platform computes it on import.

        :raises ParameterError: wrong size, or not a valid P-256 scalar.
        """
        check_dh_sizes(curve, private_key, None)
        key = await self._dh_private(curve, private_key, extractable=True)

        try:
            jwk = await self._subtle.exportKey("jwk", key)
        except JsException as exc:
            raise _backend_error(exc) from None
        if curve == X25519:
            return b64url_decode(str(jwk.x), length=32)
        x = b64url_decode(str(jwk.x), length=32)
        y = b64url_decode(str(jwk.y), length=32)
        return b"\x04" + x + y

    async def dh(self, curve: str, private_key: bytes, public_key: bytes) -> bytes:
        """``deriveBits`` of two raw keys; refuses invalid points and zero.

        :raises ParameterError: a key is invalid or the result is all zeros.
        """
        check_dh_sizes(curve, private_key, public_key)
        key = await self._dh_private(curve, private_key, extractable=False)

        # importKey checks that a P-256 point is on the curve; deriveBits
        # fails on an all-zero X25519 result (OperationError), and the result
        # is checked again below in case a platform does not.
        try:
            peer = await self._subtle.importKey(
                "raw", _u8(public_key), _dh_algorithm(curve), False, to_js([])
            )
            bits = await self._subtle.deriveBits(
                _params(name="X25519" if curve == X25519 else "ECDH", public=peer),
                key,
                DH_SECRET_SIZE * 8,
            )
        except JsException as exc:
            if exc.name in ("DataError", "OperationError"):
                raise ParameterError(f"invalid {curve} public key") from None
            raise _backend_error(exc) from None
        shared = bytes(Uint8Array.new(bits).to_bytes())
        if not any(shared):
            raise ParameterError(f"invalid {curve} public key")
        return shared

    async def _dh_private(
        self, curve: str, private_key: bytes, *, extractable: bool
    ) -> Any:
        try:
            return await self._subtle.importKey(
                "pkcs8",
                _u8(_PKCS8_PREFIX[curve] + private_key),
                _dh_algorithm(curve),
                extractable,
                to_js(["deriveBits"]),
            )
        except JsException as exc:
            if exc.name == "DataError":
                raise ParameterError(f"invalid {curve} private key") from None
            raise _backend_error(exc) from None

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
        """Argon2id version 0x13 through ``globalThis.sealpostArgon2id``.

        WebCrypto has no Argon2id; the host (the worker, or the Node.js test
        host) installs hash-wasm's WebAssembly build under that name.
        """
        argon2 = getattr(js, "sealpostArgon2id", None)
        if argon2 is None:
            raise BackendError("Argon2id is not available in this runtime")
        try:
            out = await argon2(
                _u8(password), _u8(salt), memory_kib, iterations, parallelism, length
            )
        except JsException as exc:
            raise _backend_error(exc) from None
        return bytes(out.to_bytes())

    async def import_aes_gcm_key(self, key: bytes) -> AeadKey:
        """Import a 16- or 32-byte AES-GCM key as a non-extractable CryptoKey.

        :raises ParameterError: the key has another length.
        """
        if len(key) not in (16, 32):
            raise ParameterError(f"key must be 16 or 32 bytes, got {len(key)}")

        try:
            return await self._subtle.importKey(
                "raw",
                _u8(key),
                _params(name="AES-GCM"),
                False,
                to_js(["encrypt", "decrypt"]),
            )
        except JsException as exc:
            raise _backend_error(exc) from None

    async def aes_gcm_seal(
        self, key: AeadKey, nonce: bytes, plaintext: bytes, aad: bytes = b""
    ) -> bytes:
        """Encrypt a small message; returns ciphertext with the 16-byte tag."""
        params = _params(
            name="AES-GCM", iv=_u8(nonce), additionalData=_u8(aad), tagLength=128
        )
        try:
            sealed = await self._subtle.encrypt(params, key, _u8(plaintext))
        except JsException as exc:
            raise _backend_error(exc) from None
        return bytes(Uint8Array.new(sealed).to_bytes())

    async def aes_gcm_open(
        self, key: AeadKey, nonce: bytes, ciphertext: bytes, aad: bytes = b""
    ) -> bytes:
        """Decrypt a small message.

        :raises DecryptionError: the tag does not verify.
        """
        params = _params(
            name="AES-GCM", iv=_u8(nonce), additionalData=_u8(aad), tagLength=128
        )
        try:
            plain = await self._subtle.decrypt(params, key, _u8(ciphertext))
        except JsException as exc:
            if exc.name == "OperationError":
                raise DecryptionError() from None
            raise _backend_error(exc) from None
        return bytes(Uint8Array.new(plain).to_bytes())

    async def seal_chunks(
        self, key: AeadKey, nonces: Sequence[bytes], data: Buffer, chunk_size: int
    ) -> Buffer:
        """Encrypt a window of chunks with one await on the JS window helper."""
        try:
            return await js.sealpostSubtleWindow.seal(
                key, _u8(b"".join(nonces)), self._as_js(data), chunk_size
            )
        except JsException as exc:
            raise _backend_error(exc) from None

    async def open_chunks(
        self, key: AeadKey, nonces: Sequence[bytes], data: Buffer, chunk_size: int
    ) -> tuple[Buffer, int]:
        """Decrypt a window; return the authenticated prefix and its chunk count.

        The helper settles every chunk and keeps only the leading run that
        authenticated, so unauthenticated plaintext never reaches Python.
        """
        try:
            result = await js.sealpostSubtleWindow.open(
                key, _u8(b"".join(nonces)), self._as_js(data), chunk_size
            )
        except JsException as exc:
            raise _backend_error(exc) from None
        return result.plaintext, int(result.ok)

    def buffer_length(self, data: Buffer) -> int:
        """Length in bytes of a buffer."""
        if isinstance(data, bytes | bytearray | memoryview):
            return memoryview(data).nbytes
        return int(data.byteLength)

    def buffer_slice(self, data: Buffer, start: int, end: int) -> Buffer:
        """A ``subarray`` view of ``data[start:end]`` (no copy)."""
        return self._as_js(data).subarray(start, end)

    def buffer_from_bytes(self, data: bytes) -> Buffer:
        """Copy Python bytes into a new ``Uint8Array``."""
        return _u8(data)

    def buffer_to_bytes(self, data: Buffer) -> bytes:
        """Copy a buffer into Python ``bytes``."""
        if isinstance(data, bytes | bytearray | memoryview):
            return bytes(data)
        return bytes(data.to_bytes())

    @staticmethod
    def _as_js(data: Buffer) -> Any:
        # Accept Python bytes too, so that callers holding small Python values
        # need not convert first; JS arrays pass through untouched.
        if isinstance(data, bytes | bytearray | memoryview):
            return _u8(data)
        return data
