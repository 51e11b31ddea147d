"""Sealing small keys under derived keys, and the KDF description records.

Shared by accounts and boxes: a wrapped key is ``nonce (12) || AES-256-GCM
ciphertext || tag (16)``, carried as base64url. The nonce is random because
one wrap key may seal more than once (the account key seals every private
key); with at most a few hundred messages per key, random 96-bit nonces do
not collide.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import kdf
from .backends.base import NONCE_SIZE, TAG_SIZE, AeadKey
from .encoding import b64url_decode, b64url_encode
from .errors import DecryptionError, FormatError, ParameterError
from .runtime import backend

SECRET_SIZE = 32
KDF_NAME = "argon2id"


@dataclass(frozen=True, slots=True)
class KdfSpec:
    """Argon2id parameters and salt, as a record carries them.

    JSON form: ``{"kdf": "argon2id", "m": …, "t": …, "p": …, "salt": b64url}``.
    """

    params: kdf.Argon2Params
    salt: bytes

    @classmethod
    def fresh(
        cls, params: kdf.Argon2Params = kdf.DEFAULT, salt: bytes | None = None
    ) -> KdfSpec:
        """New parameters with a fresh random salt (``salt``: tests only).

        :raises ParameterError: parameters outside the floor and ceiling.
        """
        kdf.check_params(params)
        if salt is None:
            salt = backend().random_bytes(kdf.SALT_SIZE)
        if not isinstance(salt, bytes) or len(salt) != kdf.SALT_SIZE:
            raise ParameterError(f"salt: expected {kdf.SALT_SIZE} bytes")
        return cls(params, salt)

    def to_json(self) -> dict[str, Any]:
        return {
            "kdf": KDF_NAME,
            **self.params.to_json(),
            "salt": b64url_encode(self.salt),
        }

    @classmethod
    def from_json(cls, value: object) -> KdfSpec:
        """Parse and check a KDF description from a server.

        :raises FormatError: not the expected object, or an unknown KDF.
        :raises ParameterError: parameters outside the floor and ceiling, so
            that a hostile server cannot ask for a weak (or an exhausting)
            derivation.
        """
        if not isinstance(value, dict) or set(value) != {"kdf", "m", "t", "p", "salt"}:
            raise FormatError("kdf: expected an object with kdf, m, t, p, salt")
        if value["kdf"] != KDF_NAME:
            raise FormatError("kdf: unknown KDF")
        params = kdf.Argon2Params.from_json(
            {"m": value["m"], "t": value["t"], "p": value["p"]}
        )
        if not isinstance(value["salt"], str):
            raise FormatError("kdf: salt is not a string")
        return cls(params, b64url_decode(value["salt"], length=kdf.SALT_SIZE))


class SecretKeys:
    """What one Argon2id run of a secret gives: an auth secret and a wrap key.

    ``auth_secret`` (32 bytes) is what the client shows the server; the wrap
    key never leaves the client. Both come from one HKDF input under two
    labels, so knowing one tells nothing of the other.
    """

    def __init__(self, spec: KdfSpec, auth_secret: bytes, wrap_key: AeadKey) -> None:
        self.spec = spec
        self.auth_secret = auth_secret
        self.wrap_key = wrap_key

    @classmethod
    async def derive(
        cls, secret: bytes, spec: KdfSpec, auth_label: bytes, wrap_label: bytes
    ) -> SecretKeys:
        """Argon2id, then HKDF-SHA256 with the salt under each label.

        :raises ParameterError: see :func:`kdf.stretch` (checked before work).
        """
        stretched = await kdf.stretch(secret, spec.salt, spec.params)
        auth = await backend().hkdf_sha256(
            stretched, salt=spec.salt, info=auth_label, length=SECRET_SIZE
        )
        wrap = await backend().hkdf_sha256(
            stretched, salt=spec.salt, info=wrap_label, length=SECRET_SIZE
        )
        return cls(spec, auth, await backend().import_aes_gcm_key(wrap))


def sealed_size(size: int) -> int:
    """Bytes of a sealed key of ``size`` bytes."""
    return NONCE_SIZE + size + TAG_SIZE


async def seal_key(wrap_key: AeadKey, key: bytes, aad: bytes) -> str:
    """``b64url(nonce || AES-256-GCM(wrap_key, nonce, key, aad))``."""
    nonce = backend().random_bytes(NONCE_SIZE)
    sealed = await backend().aes_gcm_seal(wrap_key, nonce, bytes(key), aad)
    return b64url_encode(nonce + sealed)


async def open_key(wrap_key: AeadKey, text: object, aad: bytes, size: int) -> bytes:
    """Open :func:`seal_key`'s output; its length is checked first.

    :raises FormatError: not a string of canonical base64url.
    :raises DecryptionError: the wrong size, wrong key or AAD, or modified.
    """
    if not isinstance(text, str):
        raise FormatError("sealed key: not a string")
    data = b64url_decode(text)
    if len(data) != sealed_size(size):
        raise DecryptionError()
    key = await backend().aes_gcm_open(
        wrap_key, data[:NONCE_SIZE], data[NONCE_SIZE:], aad
    )
    if len(key) != size:
        raise DecryptionError()
    return key
