"""HPKE (RFC 9180), base mode, composed from the backend's primitives.

Supported: DHKEM(X25519, HKDF-SHA256) and DHKEM(P-256, HKDF-SHA256); KDF
HKDF-SHA256; AEADs AES-128-GCM, AES-256-GCM and export-only. Only the base
mode (mode 0): Sealpost authenticates senders by other means, and the PSK
and auth modes would add inputs nobody has.

Nothing here is a primitive of its own: Diffie-Hellman, HKDF-Extract,
HKDF-Expand and AES-GCM come from WebCrypto or pyca/cryptography through
:mod:`pyodide_crypto.runtime`; this module is the RFC's labelled derivations
and framing. Every opening failure, whatever its cause (a wrong key, a
modified ``enc`` or ciphertext, a low-order point), is one
:class:`~pyodide_crypto.errors.DecryptionError`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .backends.base import DH_KEY_SIZES, P256, TAG_SIZE, X25519
from .errors import DecryptionError, ParameterError
from .runtime import backend

MODE_BASE = 0x00

KEM_P256_HKDF_SHA256 = 0x0010
KEM_X25519_HKDF_SHA256 = 0x0020
KDF_HKDF_SHA256 = 0x0001
AEAD_AES_128_GCM = 0x0001
AEAD_AES_256_GCM = 0x0002
AEAD_EXPORT_ONLY = 0xFFFF

#: The DH group of each KEM (the backend's names).
KEM_CURVES = {KEM_X25519_HKDF_SHA256: X25519, KEM_P256_HKDF_SHA256: P256}
#: Nk (key size) per AEAD; the export-only AEAD has no key.
AEAD_KEY_SIZES = {AEAD_AES_128_GCM: 16, AEAD_AES_256_GCM: 32, AEAD_EXPORT_ONLY: 0}
NONCE_SIZE = 12
#: Nh of HKDF-SHA256, and Nsecret of both KEMs.
HASH_SIZE = 32
#: RFC 9180 section 7.1.3: the order of the P-256 group, for DeriveKeyPair.
P256_ORDER = int("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", 16)
#: The rejection sampling of DeriveKeyPair gives up after this many tries.
_P256_CANDIDATES = 256

_VERSION_LABEL = b"HPKE-v1"


@dataclass(frozen=True, slots=True)
class Suite:
    """One HPKE ciphersuite: KEM, KDF and AEAD identifiers (RFC 9180 s. 7)."""

    kem: int
    kdf: int
    aead: int

    def __post_init__(self) -> None:
        if self.kem not in KEM_CURVES:
            raise ParameterError(f"hpke: unsupported KEM {self.kem:#06x}")
        if self.kdf != KDF_HKDF_SHA256:
            raise ParameterError(f"hpke: unsupported KDF {self.kdf:#06x}")
        if self.aead not in AEAD_KEY_SIZES:
            raise ParameterError(f"hpke: unsupported AEAD {self.aead:#06x}")

    @property
    def id(self) -> bytes:
        """``"HPKE" || I2OSP(kem, 2) || I2OSP(kdf, 2) || I2OSP(aead, 2)``."""
        return b"HPKE" + self.encoded

    @property
    def encoded(self) -> bytes:
        """The three identifiers, 2 bytes each, big-endian (6 bytes)."""
        return b"".join(v.to_bytes(2, "big") for v in (self.kem, self.kdf, self.aead))

    @property
    def curve(self) -> str:
        return KEM_CURVES[self.kem]

    @property
    def enc_size(self) -> int:
        """Nenc: the size of ``enc`` (the serialised ephemeral public key)."""
        return DH_KEY_SIZES[self.curve][1]


def _kem_id(kem: int) -> bytes:
    return b"KEM" + kem.to_bytes(2, "big")


async def _labeled_extract(
    suite_id: bytes, salt: bytes, label: bytes, ikm: bytes
) -> bytes:
    return await backend().hkdf_extract_sha256(
        salt, _VERSION_LABEL + suite_id + label + ikm
    )


async def _labeled_expand(
    suite_id: bytes, prk: bytes, label: bytes, info: bytes, length: int
) -> bytes:
    labeled_info = length.to_bytes(2, "big") + _VERSION_LABEL + suite_id + label + info
    return await backend().hkdf_expand_sha256(prk, labeled_info, length)


async def derive_key_pair(kem: int, ikm: bytes) -> tuple[bytes, bytes]:
    """DeriveKeyPair (RFC 9180 section 7.1.3): a key pair from seed bytes.

    :returns: ``(private_key, public_key)``, raw.
    :raises ParameterError: an unknown KEM, or ``ikm`` shorter than 32 bytes.
    """
    if kem not in KEM_CURVES:
        raise ParameterError(f"hpke: unsupported KEM {kem:#06x}")
    # RFC 9180 section 7.1.3 asks for at least Nsk bytes of entropy.
    if not isinstance(ikm, bytes) or len(ikm) < HASH_SIZE:
        raise ParameterError(f"hpke: ikm must be at least {HASH_SIZE} bytes")
    suite_id = _kem_id(kem)
    prk = await _labeled_extract(suite_id, b"", b"dkp_prk", ikm)

    if kem == KEM_X25519_HKDF_SHA256:
        private = await _labeled_expand(suite_id, prk, b"sk", b"", 32)
    else:
        for counter in range(_P256_CANDIDATES):
            candidate = bytearray(
                await _labeled_expand(suite_id, prk, b"candidate", bytes([counter]), 32)
            )
            # The RFC's bitmask for P-256 is 0xff: it keeps every bit.
            candidate[0] &= 0xFF
            if 0 < int.from_bytes(candidate, "big") < P256_ORDER:
                private = bytes(candidate)
                break
        else:  # probability about 2**-8192
            raise ParameterError("hpke: DeriveKeyPair found no key")
    return private, await backend().dh_public_key(KEM_CURVES[kem], private)


async def generate_key_pair(kem: int) -> tuple[bytes, bytes]:
    """A fresh random ``(private_key, public_key)`` pair for ``kem``."""
    if kem not in KEM_CURVES:
        raise ParameterError(f"hpke: unsupported KEM {kem:#06x}")
    return await backend().dh_generate(KEM_CURVES[kem])


async def _extract_and_expand(kem: int, dh: bytes, kem_context: bytes) -> bytes:
    suite_id = _kem_id(kem)
    prk = await _labeled_extract(suite_id, b"", b"eae_prk", dh)
    return await _labeled_expand(suite_id, prk, b"shared_secret", kem_context, 32)


async def encap(
    kem: int, public_key: bytes, *, test_ikm: bytes | None = None
) -> tuple[bytes, bytes]:
    """Encap: a shared secret for ``public_key`` and its ``enc``.

    :param test_ikm: the ephemeral key's seed (DeriveKeyPair), for test
        vectors only; a fresh random ephemeral key otherwise. Reusing a seed
        reuses the ephemeral key, and with it every derived key and nonce.
    :returns: ``(shared_secret, enc)``.
    :raises ParameterError: an invalid recipient public key (wrong size, not
        on the curve, or low order: the DH output would be all zero).
    """
    if test_ikm is None:
        ephemeral, enc = await generate_key_pair(kem)
    else:
        ephemeral, enc = await derive_key_pair(kem, test_ikm)
    dh = await backend().dh(KEM_CURVES[kem], ephemeral, bytes(public_key))
    shared = await _extract_and_expand(kem, dh, enc + bytes(public_key))
    return shared, enc


async def decap(kem: int, enc: bytes, private_key: bytes) -> bytes:
    """Decap: the shared secret an ``enc`` carries for ``private_key``.

    :raises DecryptionError: ``enc`` has the wrong size or is not a valid
        public key (off the curve, or of low order).
    :raises ParameterError: the private key itself is invalid (misuse).
    """
    curve = KEM_CURVES[kem]
    if len(enc) != DH_KEY_SIZES[curve][1]:
        raise DecryptionError()
    public = await backend().dh_public_key(curve, bytes(private_key))

    try:
        dh = await backend().dh(curve, bytes(private_key), bytes(enc))
    except ParameterError:
        # The private key was just accepted, so it is enc that is bad.
        raise DecryptionError() from None
    return await _extract_and_expand(kem, dh, bytes(enc) + public)


class Context:
    """An HPKE encryption context (RFC 9180 section 5.2), base mode.

    Holds secrets (the AEAD key, base nonce and exporter secret): it lives in
    memory only. A context seals or opens messages in sequence; each message
    uses the next nonce, so one context never repeats one.
    """

    def __init__(
        self,
        suite: Suite,
        *,
        key_schedule_context: bytes,
        secret: bytes,
        key: bytes,
        base_nonce: bytes,
        exporter_secret: bytes,
    ) -> None:
        """Use :func:`key_schedule` (or the setup functions) instead."""
        self.suite = suite
        self.key_schedule_context = key_schedule_context
        self.secret = secret
        self.key = key
        self.base_nonce = base_nonce
        self.exporter_secret = exporter_secret
        self.seq = 0

    def nonce(self, seq: int) -> bytes:
        """ComputeNonce: the base nonce XOR ``I2OSP(seq, Nn)``."""
        mixed = int.from_bytes(self.base_nonce, "big") ^ seq
        return mixed.to_bytes(NONCE_SIZE, "big")

    def _next_nonce(self) -> bytes:
        if self.suite.aead == AEAD_EXPORT_ONLY:
            raise ParameterError("hpke: an export-only context cannot encrypt")
        if self.seq >= (1 << (8 * NONCE_SIZE)) - 1:
            raise ParameterError("hpke: message limit reached")
        return self.nonce(self.seq)

    async def seal(self, aad: bytes, plaintext: bytes) -> bytes:
        """Encrypt the next message; the result carries a 16-byte tag."""
        nonce = self._next_nonce()
        key = await backend().import_aes_gcm_key(self.key)
        sealed = await backend().aes_gcm_seal(key, nonce, bytes(plaintext), bytes(aad))
        self.seq += 1
        return sealed

    async def open(self, aad: bytes, ciphertext: bytes) -> bytes:
        """Decrypt the next message.

        :raises DecryptionError: the tag does not verify (the sequence number
            is not advanced, so a forged message costs the context nothing).
        """
        nonce = self._next_nonce()
        if len(ciphertext) < TAG_SIZE:
            raise DecryptionError()
        key = await backend().import_aes_gcm_key(self.key)
        plain = await backend().aes_gcm_open(key, nonce, bytes(ciphertext), bytes(aad))
        self.seq += 1
        return plain

    async def export(self, exporter_context: bytes, length: int) -> bytes:
        """Secret export (RFC 9180 section 5.3): ``length`` bytes.

        :raises ParameterError: ``length`` outside 1 to 8160.
        """
        return await _labeled_expand(
            self.suite.id, self.exporter_secret, b"sec", bytes(exporter_context), length
        )


async def key_schedule(suite: Suite, shared_secret: bytes, info: bytes) -> Context:
    """KeySchedule (RFC 9180 section 5.1) in base mode: no PSK, no PSK id."""
    sid = suite.id
    psk_id_hash = await _labeled_extract(sid, b"", b"psk_id_hash", b"")
    info_hash = await _labeled_extract(sid, b"", b"info_hash", bytes(info))
    context = bytes([MODE_BASE]) + psk_id_hash + info_hash
    secret = await _labeled_extract(sid, bytes(shared_secret), b"secret", b"")

    key_size = AEAD_KEY_SIZES[suite.aead]
    key = base_nonce = b""
    if key_size:
        key = await _labeled_expand(sid, secret, b"key", context, key_size)
        base_nonce = await _labeled_expand(
            sid, secret, b"base_nonce", context, NONCE_SIZE
        )
    exporter = await _labeled_expand(sid, secret, b"exp", context, HASH_SIZE)
    return Context(
        suite,
        key_schedule_context=context,
        secret=secret,
        key=key,
        base_nonce=base_nonce,
        exporter_secret=exporter,
    )


async def setup_sender(
    suite: Suite, public_key: bytes, info: bytes, *, test_ikm: bytes | None = None
) -> tuple[bytes, Context]:
    """SetupBaseS: ``(enc, context)`` for sending to ``public_key``.

    :param test_ikm: see :func:`encap` (test vectors only).
    :raises ParameterError: an invalid recipient public key.
    """
    shared, enc = await encap(suite.kem, public_key, test_ikm=test_ikm)
    return enc, await key_schedule(suite, shared, info)


async def setup_recipient(
    suite: Suite, enc: bytes, private_key: bytes, info: bytes
) -> Context:
    """SetupBaseR: the context that ``enc`` opens for ``private_key``.

    :raises DecryptionError: a malformed or invalid ``enc``.
    """
    shared = await decap(suite.kem, enc, private_key)
    return await key_schedule(suite, shared, info)


async def seal(
    suite: Suite,
    public_key: bytes,
    info: bytes,
    aad: bytes,
    plaintext: bytes,
    *,
    test_ikm: bytes | None = None,
) -> tuple[bytes, bytes]:
    """Single-shot Seal (RFC 9180 section 6.1): ``(enc, ciphertext)``.

    :raises ParameterError: an invalid recipient key, or an export-only suite.
    """
    enc, context = await setup_sender(suite, public_key, info, test_ikm=test_ikm)
    return enc, await context.seal(aad, plaintext)


# Named after the RFC's Open; it shadows the builtin only inside this module,
# which never needs the builtin.
async def open(
    suite: Suite,
    private_key: bytes,
    enc: bytes,
    info: bytes,
    aad: bytes,
    ciphertext: bytes,
) -> bytes:
    """Single-shot Open (RFC 9180 section 6.1).

    Sizes are checked before any DH or decryption.

    :raises DecryptionError: wrong key, modified or malformed ``enc`` or
        ciphertext, other ``info`` or ``aad``.
    """
    if len(enc) != suite.enc_size or len(ciphertext) < TAG_SIZE:
        raise DecryptionError()
    if suite.aead == AEAD_EXPORT_ONLY:
        raise ParameterError("hpke: an export-only suite cannot decrypt")
    context = await setup_recipient(suite, enc, private_key, info)
    return await context.open(aad, ciphertext)


async def send_export(
    suite: Suite,
    public_key: bytes,
    info: bytes,
    exporter_context: bytes,
    length: int,
    *,
    test_ikm: bytes | None = None,
) -> tuple[bytes, bytes]:
    """Single-shot SendExport (RFC 9180 section 6.2): ``(enc, secret)``."""
    enc, context = await setup_sender(suite, public_key, info, test_ikm=test_ikm)
    return enc, await context.export(exporter_context, length)


async def receive_export(
    suite: Suite,
    private_key: bytes,
    enc: bytes,
    info: bytes,
    exporter_context: bytes,
    length: int,
) -> bytes:
    """Single-shot ReceiveExport (RFC 9180 section 6.2).

    :raises DecryptionError: a malformed or invalid ``enc``.
    """
    if len(enc) != suite.enc_size:
        raise DecryptionError()
    context = await setup_recipient(suite, enc, private_key, info)
    return await context.export(exporter_context, length)
