"""Our HPKE against pyca/cryptography's (CPython only; Pyodide has no pyca).

pyca's single-shot ``Suite.encrypt`` returns ``enc || ciphertext`` with an
empty AAD; ours returns the two apart. Both directions, for the suite
Sealpost uses (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM) and its
P-256 fallback, with and without info.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hpke as pyca_hpke
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519

from pyodide_crypto import hpke, keys
from pyodide_crypto.errors import DecryptionError

KEMS = {
    keys.SUITE_X25519: pyca_hpke.KEM.X25519,
    keys.SUITE_P256: pyca_hpke.KEM.P256,
}
INFOS = (b"", b"sealpost.v1/hpke-stanza\x00some key id")
MESSAGES = (b"", b"x", bytes(range(256)) * 3)


def _pyca_suite(name: str) -> pyca_hpke.Suite:
    return pyca_hpke.Suite(
        KEMS[name], pyca_hpke.KDF.HKDF_SHA256, pyca_hpke.AEAD.AES_256_GCM
    )


def _pyca_private(name: str, private: bytes) -> object:
    if name == keys.SUITE_X25519:
        return x25519.X25519PrivateKey.from_private_bytes(private)
    return ec.derive_private_key(int.from_bytes(private, "big"), ec.SECP256R1())


def _raw_public(name: str, key: object) -> bytes:
    public = key.public_key()  # type: ignore[attr-defined]
    if name == keys.SUITE_X25519:
        return public.public_bytes_raw()  # type: ignore[no-any-return]
    return public.public_bytes(  # type: ignore[no-any-return]
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


@pytest.mark.parametrize("name", sorted(KEMS))
@pytest.mark.parametrize("info", INFOS)
async def test_hpke_our_seal_opens_with_pyca(name: str, info: bytes) -> None:
    pair = await keys.KeyPair.generate(name)
    suite = keys.SUITES[name]
    pyca_key = _pyca_private(name, pair.private)

    for message in MESSAGES:
        enc, ct = await hpke.seal(suite, pair.public.key, info, b"", message)

        assert _pyca_suite(name).decrypt(enc + ct, pyca_key, info=info) == message


@pytest.mark.parametrize("name", sorted(KEMS))
@pytest.mark.parametrize("info", INFOS)
async def test_hpke_pyca_seal_opens_with_ours(name: str, info: bytes) -> None:
    if name == keys.SUITE_X25519:
        pyca_key: object = x25519.X25519PrivateKey.generate()
        private = pyca_key.private_bytes_raw()  # type: ignore[attr-defined]
    else:
        pyca_key = ec.generate_private_key(ec.SECP256R1())
        private = pyca_key.private_numbers().private_value.to_bytes(32, "big")  # type: ignore[attr-defined]
    suite = keys.SUITES[name]
    size = suite.enc_size

    for message in MESSAGES:
        public = pyca_key.public_key()  # type: ignore[attr-defined]
        blob = _pyca_suite(name).encrypt(message, public, info=info)
        opened = await hpke.open(suite, private, blob[:size], info, b"", blob[size:])

        assert opened == message
    assert await keys.KeyPair.from_private(name, private) == keys.KeyPair(
        keys.PublicKey(name, _raw_public(name, pyca_key)), private
    )


async def test_hpke_pyca_seal_with_other_info_does_not_open() -> None:
    pair = await keys.KeyPair.generate(keys.SUITE_X25519)
    pyca_key = _pyca_private(keys.SUITE_X25519, pair.private)
    blob = _pyca_suite(keys.SUITE_X25519).encrypt(
        b"m",
        pyca_key.public_key(),  # type: ignore[attr-defined]
        info=b"a",
    )
    suite = keys.SUITES[keys.SUITE_X25519]

    with pytest.raises(DecryptionError):
        await hpke.open(suite, pair.private, blob[:32], b"b", b"", blob[32:])
