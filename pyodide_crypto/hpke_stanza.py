"""The HPKE stanza (type 0x03): the share key sealed to a public key.

One stanza per recipient key (a staff mailbox, a departmental box), next to
an optional link or code stanza in the same header:

    body = suite (6) || key id (8) || enc (Nenc) || sealed share key (48)
    info = "sealpost.v1/hpke-stanza" || 0x00 || suite || key id

The suite is RFC 9180's ``kem || kdf || aead``; the key id is the first 8
bytes of the recipient key's fingerprint (:func:`keys.key_id`), so a reader
with several keys knows which stanza is theirs without any DH. The info binds
suite and key id to the sealed key. HPKE's KEM context already binds ``enc``
and the recipient public key, so the AEAD's associated data is empty.
"""

from __future__ import annotations

import hmac

from . import envelope, hpke, keys
from .envelope import SHARE_KEY_SIZE, STANZA_HPKE, Stanza
from .errors import DecryptionError, ParameterError

HPKE_STANZA_LABEL = b"sealpost.v1/hpke-stanza"
SUITE_SIZE = envelope.HPKE_SUITE_SIZE
KEY_ID_SIZE = envelope.HPKE_KEY_ID_SIZE
PREFIX_SIZE = SUITE_SIZE + KEY_ID_SIZE
SEALED_SIZE = SHARE_KEY_SIZE + 16


def body_size(suite: str) -> int:
    """The exact body size of an HPKE stanza of ``suite`` (94 or 127)."""
    return envelope.HPKE_BODY_SIZES[keys.SUITES[suite].encoded]


def _info(prefix: bytes) -> bytes:
    return HPKE_STANZA_LABEL + b"\x00" + prefix


class HpkeRecipient:
    """Seals the share key to one recipient public key."""

    stanza_type = STANZA_HPKE

    def __init__(self, public_key: keys.PublicKey) -> None:
        """:raises ParameterError: ``public_key`` is not a :class:`PublicKey`."""
        if not isinstance(public_key, keys.PublicKey):
            raise ParameterError("recipient: expected a keys.PublicKey")
        self.public_key = public_key

    async def wrap(self, share_key: bytes, *, test_ikm: bytes | None = None) -> Stanza:
        """Return an HPKE stanza carrying ``share_key``.

        :param test_ikm: the ephemeral key's 32-byte seed (test vectors only).
        :raises ParameterError: a share key that is not 32 bytes, or an
            unusable public key (a low-order X25519 point, say).
        """
        if len(share_key) != SHARE_KEY_SIZE:
            raise ParameterError(f"share key: expected {SHARE_KEY_SIZE} bytes")
        suite = self.public_key.hpke_suite
        prefix = suite.encoded + await keys.key_id(self.public_key)

        enc, sealed = await hpke.seal(
            suite,
            self.public_key.key,
            _info(prefix),
            b"",
            bytes(share_key),
            test_ikm=test_ikm,
        )
        return Stanza(STANZA_HPKE, prefix + enc + sealed)


class HpkeIdentity:
    """Opens HPKE stanzas addressed to one key pair."""

    stanza_type = STANZA_HPKE

    def __init__(self, key_pair: keys.KeyPair) -> None:
        """:raises ParameterError: ``key_pair`` is not a :class:`KeyPair`."""
        if not isinstance(key_pair, keys.KeyPair):
            raise ParameterError("identity: expected a keys.KeyPair")
        self._key_pair = key_pair
        self._prefix: bytes | None = None

    async def unwrap(self, body: bytes) -> bytes:
        """Return the share key of a stanza addressed to this key pair.

        A stanza of another suite or key id is not ours: it fails at once,
        before any DH, like every other failure.

        :raises DecryptionError: not for this key, or modified.
        """
        public = self._key_pair.public
        if self._prefix is None:
            self._prefix = public.hpke_suite.encoded + await keys.key_id(public)
        suite = public.hpke_suite
        # Exact size for our suite, checked before anything else is read.
        if len(body) != PREFIX_SIZE + suite.enc_size + SEALED_SIZE:
            raise DecryptionError()
        if not hmac.compare_digest(bytes(body[:PREFIX_SIZE]), self._prefix):
            raise DecryptionError()

        enc_end = PREFIX_SIZE + suite.enc_size
        share_key = await hpke.open(
            suite,
            self._key_pair.private,
            bytes(body[PREFIX_SIZE:enc_end]),
            _info(self._prefix),
            b"",
            bytes(body[enc_end:]),
        )
        if len(share_key) != SHARE_KEY_SIZE:
            raise DecryptionError()
        return share_key
