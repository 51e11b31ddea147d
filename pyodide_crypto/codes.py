"""The code stanza: a share that opens only with the link *and* a code.

The sender sends the link by one channel and a short code by another (SMS, a
phone call, a letter). Both feed one key derivation, so neither alone opens
anything:

    A      = Argon2id(normalize_code(code), salt, m, t, p)      (kdf.derive)
    secret = LS || A
    wrap   = HKDF-SHA256(secret, salt, "sealpost.v1/code-stanza")
    unlock = HKDF-SHA256(secret, salt, "sealpost.v1/code-unlock")

``wrap`` seals the share key in the stanza. ``unlock`` is what the recipient
shows the server to get the envelope at all; the server keeps only
SHA-256(unlock), counts wrong proofs and locks the share after a limit, so
online guessing is bounded without the server learning the code, and
offline guessing needs the link secret as well as the server's database.
"""

from __future__ import annotations

import hmac
import struct

from . import kdf
from .backends.base import AeadKey
from .encoding import b64url_encode
from .envelope import (
    CODE_BODY_SIZE,
    LINK_SECRET_SIZE,
    SHARE_KEY_SIZE,
    STANZA_CODE,
    Stanza,
)
from .errors import DecryptionError, FormatError, ParameterError
from .runtime import backend

CODE_LABEL = b"sealpost.v1/code-stanza"
UNLOCK_LABEL = b"sealpost.v1/code-unlock"
#: KDF identifier in the stanza: Argon2id, version 0x13 (RFC 9106).
KDF_ARGON2ID = 0x01
_PARAMS = struct.Struct(">BIIB")  # kdf id, memory KiB, iterations, parallelism
#: The part of the body the wrapped key's AAD binds: KDF, parameters, salt.
PUBLIC_SIZE = _PARAMS.size + kdf.SALT_SIZE
WRAPPED_SIZE = SHARE_KEY_SIZE + 16
BODY_SIZE = PUBLIC_SIZE + WRAPPED_SIZE
assert BODY_SIZE == CODE_BODY_SIZE
_NONCE = bytes(12)  # each wrap key seals exactly one message


def encode_public(salt: bytes, params: kdf.Argon2Params) -> bytes:
    """The stanza's public prefix: KDF id, parameters and salt."""
    return (
        _PARAMS.pack(
            KDF_ARGON2ID, params.memory_kib, params.iterations, params.parallelism
        )
        + salt
    )


def parse_public(body: bytes) -> tuple[bytes, kdf.Argon2Params]:
    """Salt and parameters of a code stanza body.

    :raises FormatError: wrong length or an unknown KDF.
    :raises ParameterError: parameters outside the floor and ceiling.
    """
    if len(body) != BODY_SIZE:
        raise FormatError(f"code stanza: expected {BODY_SIZE} bytes, got {len(body)}")
    kdf_id, memory_kib, iterations, parallelism = _PARAMS.unpack_from(body)
    if kdf_id != KDF_ARGON2ID:
        raise FormatError(f"code stanza: unknown KDF {kdf_id}")
    params = kdf.Argon2Params(memory_kib, iterations, parallelism)
    kdf.check_params(params)
    return bytes(body[_PARAMS.size : PUBLIC_SIZE]), params


class CodeSecret:
    """The keys one (link secret, code, salt, parameters) derive; made once.

    The Argon2id run is the expensive step (about a quarter of a second with
    the default parameters), so the recipient derives this once and uses it
    both to unlock the envelope at the server and to open the stanza.
    """

    def __init__(
        self, salt: bytes, params: kdf.Argon2Params, wrap_key: AeadKey, unlock: bytes
    ) -> None:
        self.salt = salt
        self.params = params
        self._wrap_key = wrap_key
        #: Shown to the server to get the envelope; it stores only SHA-256.
        self.unlock_proof = unlock

    @classmethod
    async def derive(
        cls,
        link_secret: bytes,
        code: str,
        *,
        salt: bytes | None = None,
        params: kdf.Argon2Params = kdf.DEFAULT,
    ) -> CodeSecret:
        """Run Argon2id and derive the wrap key and unlock proof.

        :param salt: the share's KDF salt; a fresh random one when sending.
        :raises ParameterError: bad sizes, parameters out of bounds, or a code
            that normalises to nothing.
        """
        if len(link_secret) != LINK_SECRET_SIZE:
            raise ParameterError(f"link secret: expected {LINK_SECRET_SIZE} bytes")
        if salt is None:
            salt = backend().random_bytes(kdf.SALT_SIZE)
        stretched = await kdf.derive(code, salt, params)
        secret = bytes(link_secret) + stretched
        wrap = await backend().hkdf_sha256(
            secret, salt=salt, info=CODE_LABEL, length=SHARE_KEY_SIZE
        )
        unlock = await backend().hkdf_sha256(
            secret, salt=salt, info=UNLOCK_LABEL, length=32
        )
        return cls(salt, params, await backend().import_aes_gcm_key(wrap), unlock)

    async def unlock_verifier(self) -> bytes:
        """SHA-256 of the unlock proof: what the sender gives the server."""
        return await backend().sha256(self.unlock_proof)

    def public(self) -> dict[str, object]:
        """The KDF description the server publishes before the envelope."""
        return {
            "kdf": "argon2id",
            **self.params.to_json(),
            "salt": b64url_encode(self.salt),
        }


class CodeRecipient:
    """Wraps the share key for whoever holds both the link and the code."""

    stanza_type = STANZA_CODE

    def __init__(self, secret: CodeSecret) -> None:
        self._secret = secret

    async def wrap(self, share_key: bytes) -> Stanza:
        if len(share_key) != SHARE_KEY_SIZE:
            raise ParameterError(f"share key: expected {SHARE_KEY_SIZE} bytes")
        public = encode_public(self._secret.salt, self._secret.params)
        wrapped = await backend().aes_gcm_seal(
            self._secret._wrap_key, _NONCE, bytes(share_key), CODE_LABEL + public
        )
        return Stanza(STANZA_CODE, public + wrapped)


class CodeIdentity:
    """Unwraps a code stanza with a :class:`CodeSecret`."""

    stanza_type = STANZA_CODE

    def __init__(self, secret: CodeSecret) -> None:
        self._secret = secret

    async def unwrap(self, body: bytes) -> bytes:
        """:raises DecryptionError: wrong code or link, or a modified stanza."""
        try:
            salt, params = parse_public(body)
        except (FormatError, ParameterError) as exc:
            raise DecryptionError() from exc
        # The secret was derived with the salt and parameters the server
        # published; a stanza naming others was not made with them.
        if not hmac.compare_digest(salt, self._secret.salt) or params != (
            self._secret.params
        ):
            raise DecryptionError()
        public = bytes(body[:PUBLIC_SIZE])
        return await backend().aes_gcm_open(
            self._secret._wrap_key,
            _NONCE,
            bytes(body[PUBLIC_SIZE:]),
            CODE_LABEL + public,
        )
