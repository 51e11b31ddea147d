"""Public keys, key pairs and their fingerprints.

A Sealpost public key is an HPKE (RFC 9180) KEM public key together with the
whole suite it is used with: ``"x25519"`` is DHKEM(X25519, HKDF-SHA256),
HKDF-SHA256, AES-256-GCM, and ``"p256"`` the same with DHKEM(P-256,
HKDF-SHA256), the fallback where a browser lacks X25519. docs/keys.md
describes the key hierarchy built on them.

A *fingerprint* is SHA-256 over a label, the suite and the key. People
compare it aloud as eight groups of four digits; a link carries its first 16
bytes as base64url in the fragment, so a depositor's browser notices a key
the server substituted.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from . import hpke
from .encoding import b64url_decode, b64url_encode
from .errors import FormatError, ParameterError
from .runtime import backend

SUITE_X25519 = "x25519"
SUITE_P256 = "p256"
#: The HPKE suite behind each Sealpost suite name.
SUITES: dict[str, hpke.Suite] = {
    SUITE_X25519: hpke.Suite(
        hpke.KEM_X25519_HKDF_SHA256, hpke.KDF_HKDF_SHA256, hpke.AEAD_AES_256_GCM
    ),
    SUITE_P256: hpke.Suite(
        hpke.KEM_P256_HKDF_SHA256, hpke.KDF_HKDF_SHA256, hpke.AEAD_AES_256_GCM
    ),
}
#: Sealpost suite name by the 6 bytes ``kem || kdf || aead`` that name it.
SUITE_NAMES: dict[bytes, str] = {s.encoded: name for name, s in SUITES.items()}
SUITE_ID_SIZE = 6
PRIVATE_KEY_SIZE = 32

FINGERPRINT_LABEL = b"sealpost.v1/key-fingerprint"
FINGERPRINT_SIZE = 32
#: The key id naming a recipient in an HPKE stanza or a box grant.
KEY_ID_SIZE = 8
#: Bytes of the fingerprint a link fragment carries: 128 bits, so a server
#: would need about 2**128 key pairs to find a substitute with the same one.
FRAGMENT_FINGERPRINT_SIZE = 16
#: Digits shown for reading aloud: 8 groups of 4 (about 106 bits).
TEXT_GROUPS = 8
TEXT_GROUP_DIGITS = 4


def _suite(name: object) -> hpke.Suite:
    if not isinstance(name, str) or name not in SUITES:
        raise ParameterError(f"key suite must be one of {sorted(SUITES)}")
    return SUITES[name]


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A recipient's public key: suite name and raw key bytes.

    :raises ParameterError: an unknown suite, or a key of the wrong size or
        form (P-256 keys are uncompressed points, 65 bytes).
    """

    suite: str
    key: bytes

    def __post_init__(self) -> None:
        hpke_suite = _suite(self.suite)
        if not isinstance(self.key, bytes) or len(self.key) != hpke_suite.enc_size:
            raise ParameterError(
                f"{self.suite} public key must be {hpke_suite.enc_size} bytes"
            )
        if self.suite == SUITE_P256 and self.key[0] != 0x04:
            raise ParameterError("p256 public key must be an uncompressed point")

    @property
    def hpke_suite(self) -> hpke.Suite:
        return SUITES[self.suite]

    def to_json(self) -> dict[str, str]:
        """``{"suite": name, "key": b64url(key)}``, as records carry it."""
        return {"suite": self.suite, "key": b64url_encode(self.key)}

    @classmethod
    def from_json(cls, value: object) -> PublicKey:
        """Parse :meth:`to_json`'s form strictly.

        :raises FormatError: not exactly that object, an unknown suite, or a
            key that is not canonical base64url of the right size.
        """
        if not isinstance(value, dict) or set(value) != {"suite", "key"}:
            raise FormatError("public key: expected an object with suite, key")
        suite, key = value["suite"], value["key"]
        if not isinstance(suite, str) or suite not in SUITES:
            raise FormatError("public key: unknown suite")
        if not isinstance(key, str):
            raise FormatError("public key: key is not a string")
        try:
            return cls(suite, b64url_decode(key, length=SUITES[suite].enc_size))
        except ParameterError as exc:
            raise FormatError(f"public key: {exc}") from None


@dataclass(frozen=True, slots=True)
class KeyPair:
    """A private key and its public key. Never leaves the client in clear."""

    public: PublicKey
    private: bytes = field(repr=False)

    @classmethod
    async def generate(cls, suite: str = SUITE_X25519) -> KeyPair:
        """A fresh random key pair from the platform.

        :raises ParameterError: an unknown suite.
        """
        kem = _suite(suite).kem
        private, public = await hpke.generate_key_pair(kem)
        return cls(PublicKey(suite, public), private)

    @classmethod
    async def from_private(cls, suite: str, private: bytes) -> KeyPair:
        """Rebuild a key pair from its raw private key (the public key is
        recomputed, never trusted from storage).

        :raises ParameterError: an unknown suite or an invalid private key.
        """
        hpke_suite = _suite(suite)
        if not isinstance(private, bytes) or len(private) != PRIVATE_KEY_SIZE:
            raise ParameterError(f"private key must be {PRIVATE_KEY_SIZE} bytes")
        public = await backend().dh_public_key(hpke_suite.curve, private)
        return cls(PublicKey(suite, public), private)


async def fingerprint(key: PublicKey) -> bytes:
    """``SHA-256("sealpost.v1/key-fingerprint" || 0x00 || suite id || key)``.

    The suite id is the 6 bytes ``kem || kdf || aead`` of RFC 9180.
    """
    suite = key.hpke_suite.encoded
    return await backend().sha256(FINGERPRINT_LABEL + b"\x00" + suite + key.key)


async def key_id(key: PublicKey) -> bytes:
    """The first 8 bytes of the fingerprint: names a recipient in a stanza."""
    return (await fingerprint(key))[:KEY_ID_SIZE]


def fingerprint_text(digest: bytes) -> str:
    """A fingerprint as 8 groups of 4 digits, for reading aloud.

    Group i is ``u32be(digest[4i : 4i + 4]) mod 10000``; the bias of the
    modulo (2**32 is not a multiple of 10**4) is below 10**-5 per group.

    :raises ParameterError: ``digest`` is not 32 bytes.
    """
    if not isinstance(digest, bytes) or len(digest) != FINGERPRINT_SIZE:
        raise ParameterError(f"fingerprint must be {FINGERPRINT_SIZE} bytes")
    modulus = 10**TEXT_GROUP_DIGITS
    groups = (
        int.from_bytes(digest[4 * i : 4 * i + 4], "big") % modulus
        for i in range(TEXT_GROUPS)
    )
    return " ".join(f"{g:0{TEXT_GROUP_DIGITS}d}" for g in groups)


def fingerprint_fragment(digest: bytes) -> str:
    """The short form for a URL fragment: b64url of the first 16 bytes.

    :raises ParameterError: ``digest`` is not 32 bytes.
    """
    if not isinstance(digest, bytes) or len(digest) != FINGERPRINT_SIZE:
        raise ParameterError(f"fingerprint must be {FINGERPRINT_SIZE} bytes")
    return b64url_encode(digest[:FRAGMENT_FINGERPRINT_SIZE])


async def fingerprint_matches(fragment: str, key: PublicKey) -> bool:
    """Whether a fragment fingerprint names ``key`` (constant-time compare).

    :raises FormatError: the fragment is not 22 characters of canonical
        base64url (a damaged link, not a substituted key).
    """
    expected = b64url_decode(fragment, length=FRAGMENT_FINGERPRINT_SIZE)
    actual = (await fingerprint(key))[:FRAGMENT_FINGERPRINT_SIZE]
    return hmac.compare_digest(expected, actual)
