"""HPKE (RFC 9180) and its primitives, run under CPython and inside Pyodide.

The RFC 9180 Appendix A vectors for DHKEM(X25519) and DHKEM(P-256) with
HKDF-SHA256: every base-mode entry (AEADs 1, 2 and 0xFFFF) has its key
pairs, ``enc``, key-schedule intermediates, every encryption (sealed in
sequence and opened by a recipient context) and every export checked; other
modes are counted as skipped. Then the Wycheproof X25519 and HKDF-SHA256
primitive vectors, and the negative cases: tampered or wrong-length ``enc``
and ciphertext, wrong info or aad, low-order points.
"""

from __future__ import annotations

from typing import Any

from pyodide_crypto import hpke
from pyodide_crypto.backends.base import P256, X25519
from pyodide_crypto.errors import DecryptionError, ParameterError
from pyodide_crypto.runtime import backend

from . import load_vectors

RFC_FILES = {
    hpke.KEM_X25519_HKDF_SHA256: "hpke_rfc9180_x25519_sha256.json",
    hpke.KEM_P256_HKDF_SHA256: "hpke_rfc9180_p256_sha256.json",
}
AEADS = (hpke.AEAD_AES_128_GCM, hpke.AEAD_AES_256_GCM, hpke.AEAD_EXPORT_ONLY)
X25519_SUITE = hpke.Suite(
    hpke.KEM_X25519_HKDF_SHA256, hpke.KDF_HKDF_SHA256, hpke.AEAD_AES_256_GCM
)
P256_SUITE = hpke.Suite(
    hpke.KEM_P256_HKDF_SHA256, hpke.KDF_HKDF_SHA256, hpke.AEAD_AES_256_GCM
)
#: A point of order 8 on Curve25519 (RFC 7748 section 6.1 lists the class).
LOW_ORDER_X25519 = bytes.fromhex(
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"
)


def _h(entry: dict[str, Any], name: str) -> bytes:
    return bytes.fromhex(entry[name])


async def _raises(exc_type: type[Exception], awaitable: Any) -> None:
    try:
        await awaitable
    except exc_type:
        return
    raise AssertionError(f"expected {exc_type.__name__}")


async def _apply_base_entry(entry: dict[str, Any]) -> int:
    """Check one base-mode entry; returns how many values it compared."""
    suite = hpke.Suite(entry["kem_id"], entry["kdf_id"], entry["aead_id"])
    info = _h(entry, "info")
    checked = 0

    sk_e, pk_e = await hpke.derive_key_pair(suite.kem, _h(entry, "ikmE"))
    sk_r, pk_r = await hpke.derive_key_pair(suite.kem, _h(entry, "ikmR"))
    assert (sk_e, pk_e) == (_h(entry, "skEm"), _h(entry, "pkEm"))
    assert (sk_r, pk_r) == (_h(entry, "skRm"), _h(entry, "pkRm"))
    shared, enc = await hpke.encap(suite.kem, pk_r, test_ikm=_h(entry, "ikmE"))
    assert enc == _h(entry, "enc") and shared == _h(entry, "shared_secret")
    assert await hpke.decap(suite.kem, enc, sk_r) == shared
    checked += 7

    enc, sender = await hpke.setup_sender(suite, pk_r, info, test_ikm=_h(entry, "ikmE"))
    recipient = await hpke.setup_recipient(suite, enc, sk_r, info)
    for context in (sender, recipient):
        assert context.key_schedule_context == _h(entry, "key_schedule_context")
        assert context.secret == _h(entry, "secret")
        assert context.key == _h(entry, "key")
        assert context.base_nonce == _h(entry, "base_nonce")
        assert context.exporter_secret == _h(entry, "exporter_secret")
        checked += 5

    # The vectors list sequence numbers 0-9 and two late ones; the ones in
    # between are sealed and opened with filler so both contexts advance.
    wanted = {}
    for item in entry["encryptions"]:
        seq = int.from_bytes(_h(item, "nonce"), "big") ^ int.from_bytes(
            sender.base_nonce, "big"
        )
        assert sender.nonce(seq) == _h(item, "nonce")
        wanted[seq] = item
    for seq in range(max(wanted, default=-1) + 1):
        item = wanted.get(seq)
        if item is None:
            filler = await sender.seal(b"filler", b"")
            assert await recipient.open(b"filler", filler) == b""
            continue
        sealed = await sender.seal(_h(item, "aad"), _h(item, "pt"))
        assert sealed == _h(item, "ct"), f"seq {seq}"
        assert await recipient.open(_h(item, "aad"), sealed) == _h(item, "pt")
        checked += 2
    if suite.aead == hpke.AEAD_EXPORT_ONLY:
        assert not wanted
        await _raises(ParameterError, sender.seal(b"", b"x"))

    for item in entry["exports"]:
        value = _h(item, "exported_value")
        ctx = _h(item, "exporter_context")
        assert await sender.export(ctx, item["L"]) == value
        assert await recipient.export(ctx, item["L"]) == value
        assert (
            await hpke.receive_export(suite, sk_r, enc, info, ctx, item["L"]) == value
        )
        checked += 3
    return checked


async def _apply_rfc_file(kem: int) -> None:
    entries = load_vectors(RFC_FILES[kem])
    base = [e for e in entries if e["mode"] == hpke.MODE_BASE]
    skipped = {mode: 0 for mode in (1, 2, 3)}
    for entry in entries:
        if entry["mode"] != hpke.MODE_BASE:
            # psk, auth and auth-psk modes are not implemented (module doc).
            skipped[entry["mode"]] += 1

    assert sum(skipped.values()) + len(base) == len(entries)
    assert {e["aead_id"] for e in base} == set(AEADS), "an AEAD has no base entry"
    assert all(e["kem_id"] == kem and e["kdf_id"] == 1 for e in entries)
    for entry in base:
        assert await _apply_base_entry(entry) > 20
        if entry["aead_id"] != hpke.AEAD_EXPORT_ONLY:
            assert len(entry["encryptions"]) >= 10


async def test_hpke_rfc9180_x25519_base_vectors() -> None:
    await _apply_rfc_file(hpke.KEM_X25519_HKDF_SHA256)


async def test_hpke_rfc9180_p256_base_vectors() -> None:
    await _apply_rfc_file(hpke.KEM_P256_HKDF_SHA256)


async def test_hpke_single_shot_round_trip_both_kems() -> None:
    for suite in (X25519_SUITE, P256_SUITE):
        sk, pk = await hpke.generate_key_pair(suite.kem)
        enc, ct = await hpke.seal(suite, pk, b"info", b"aad", b"secret")

        assert len(enc) == suite.enc_size and len(ct) == 6 + 16
        assert await hpke.open(suite, sk, enc, b"info", b"aad", ct) == b"secret"
        enc2, ct2 = await hpke.seal(suite, pk, b"info", b"aad", b"secret")
        assert enc2 != enc and ct2 != ct


async def _sealed(suite: hpke.Suite) -> tuple[bytes, bytes, bytes]:
    sk, pk = await hpke.generate_key_pair(suite.kem)
    enc, ct = await hpke.seal(suite, pk, b"info", b"aad", b"plaintext")
    return sk, enc, ct


async def test_hpke_tampered_enc_fails() -> None:
    for suite in (X25519_SUITE, P256_SUITE):
        sk, enc, ct = await _sealed(suite)
        for at in (0, 1, len(enc) // 2, len(enc) - 1):
            bad = bytearray(enc)
            bad[at] ^= 0x01
            await _raises(
                DecryptionError, hpke.open(suite, sk, bytes(bad), b"info", b"aad", ct)
            )


async def test_hpke_tampered_ciphertext_fails() -> None:
    for suite in (X25519_SUITE, P256_SUITE):
        sk, enc, ct = await _sealed(suite)
        for at in range(len(ct)):
            bad = bytearray(ct)
            bad[at] ^= 0x80
            await _raises(
                DecryptionError, hpke.open(suite, sk, enc, b"info", b"aad", bytes(bad))
            )


async def test_hpke_wrong_length_enc_and_ciphertext_fail() -> None:
    for suite in (X25519_SUITE, P256_SUITE):
        sk, enc, ct = await _sealed(suite)
        for bad_enc in (b"", enc[:-1], enc + b"\x00"):
            await _raises(
                DecryptionError, hpke.open(suite, sk, bad_enc, b"info", b"aad", ct)
            )
        for bad_ct in (b"", ct[:15], ct[:-1], ct + b"\x00"):
            await _raises(
                DecryptionError, hpke.open(suite, sk, enc, b"info", b"aad", bad_ct)
            )


async def test_hpke_wrong_info_or_aad_fails() -> None:
    for suite in (X25519_SUITE, P256_SUITE):
        sk, enc, ct = await _sealed(suite)
        await _raises(DecryptionError, hpke.open(suite, sk, enc, b"infO", b"aad", ct))
        await _raises(DecryptionError, hpke.open(suite, sk, enc, b"info", b"", ct))
        other, _ = await hpke.generate_key_pair(suite.kem)
        await _raises(
            DecryptionError, hpke.open(suite, other, enc, b"info", b"aad", ct)
        )


async def test_hpke_low_order_x25519_keys_are_refused() -> None:
    sk, pk = await hpke.generate_key_pair(hpke.KEM_X25519_HKDF_SHA256)
    _, _, ct = await _sealed(X25519_SUITE)

    for point in (bytes(32), bytes([1]) + bytes(31), LOW_ORDER_X25519):
        # As a recipient key: sealing to it is misuse, refused.
        await _raises(ParameterError, hpke.seal(X25519_SUITE, point, b"", b"", b"x"))
        # As an enc: the DH output would be all zeros; an opaque failure.
        await _raises(
            DecryptionError, hpke.open(X25519_SUITE, sk, point, b"info", b"aad", ct)
        )


async def test_hpke_invalid_p256_points_are_refused() -> None:
    sk, pk = await hpke.generate_key_pair(hpke.KEM_P256_HKDF_SHA256)
    _, enc, ct = await _sealed(P256_SUITE)
    off_curve = pk[:-1] + bytes([pk[-1] ^ 1])
    compressed = bytes([0x02]) + pk[1:33] + bytes(32)

    for point in (off_curve, compressed, bytes(65)):
        await _raises(ParameterError, hpke.seal(P256_SUITE, point, b"", b"", b"x"))
        await _raises(
            DecryptionError, hpke.open(P256_SUITE, sk, point, b"info", b"aad", ct)
        )


async def test_hpke_misuse_is_refused() -> None:
    for bad in ((0x0021, 1, 2), (0x0020, 2, 2), (0x0020, 1, 3)):
        try:
            hpke.Suite(*bad)
        except ParameterError:
            continue
        raise AssertionError(f"suite {bad} accepted")
    await _raises(ParameterError, hpke.derive_key_pair(0x0020, bytes(31)))
    export_only = hpke.Suite(0x0020, 1, hpke.AEAD_EXPORT_ONLY)
    _, pk = await hpke.generate_key_pair(0x0020)
    await _raises(ParameterError, hpke.seal(export_only, pk, b"", b"", b"x"))


async def test_hpke_context_does_not_advance_on_forgery() -> None:
    sk, pk = await hpke.generate_key_pair(X25519_SUITE.kem)
    enc, sender = await hpke.setup_sender(X25519_SUITE, pk, b"i")
    recipient = await hpke.setup_recipient(X25519_SUITE, enc, sk, b"i")
    first = await sender.seal(b"", b"one")

    forged = first[:-1] + bytes([first[-1] ^ 0x01])
    await _raises(DecryptionError, recipient.open(b"", forged))
    assert recipient.seq == 0
    assert await recipient.open(b"", first) == b"one"
    # Replaying the same message under the next nonce fails.
    await _raises(DecryptionError, recipient.open(b"", first))


# Primitive vectors ----------------------------------------------------------


async def test_wycheproof_x25519() -> None:
    document = load_vectors("wycheproof/x25519_test.json")
    counts = {"valid": 0, "acceptable": 0, "refused_zero": 0}

    for group in document["testGroups"]:
        assert group["curve"] == "curve25519"
        for test in group["tests"]:
            private = bytes.fromhex(test["private"])
            public = bytes.fromhex(test["public"])
            shared = bytes.fromhex(test["shared"])
            label = f"tcId {test['tcId']}"
            if not any(shared):
                # RFC 7748 section 6.1 / RFC 9180 section 7.1.4: refused.
                assert "ZeroSharedSecret" in test["flags"], label
                await _raises(ParameterError, backend().dh(X25519, private, public))
                counts["refused_zero"] += 1
                continue
            assert await backend().dh(X25519, private, public) == shared, label
            counts[test["result"]] += 1

    assert counts["refused_zero"] > 0 and counts["valid"] > 0
    assert sum(counts.values()) == document["numberOfTests"]


async def test_dh_public_keys_match_the_platform() -> None:
    for curve in (X25519, P256):
        private, public = await backend().dh_generate(curve)
        assert await backend().dh_public_key(curve, private) == public
        other, other_public = await backend().dh_generate(curve)
        assert await backend().dh(curve, private, other_public) == await backend().dh(
            curve, other, public
        )
    await _raises(ParameterError, backend().dh_public_key(P256, bytes(32)))
    await _raises(ParameterError, backend().dh_public_key(P256, b"\xff" * 32))


async def test_wycheproof_hkdf_sha256() -> None:
    document = load_vectors("wycheproof/hkdf_sha256_test.json")
    ran = 0

    for group in document["testGroups"]:
        for test in group["tests"]:
            ikm = bytes.fromhex(test["ikm"])
            salt = bytes.fromhex(test["salt"])
            info = bytes.fromhex(test["info"])
            size = test["size"]
            label = f"tcId {test['tcId']}"
            if test["result"] == "invalid":
                assert "SizeTooLarge" in test["flags"], label
                await _raises(
                    ParameterError,
                    backend().hkdf_sha256(ikm, salt=salt, info=info, length=size),
                )
                prk = await backend().hkdf_extract_sha256(salt, ikm)
                await _raises(
                    ParameterError, backend().hkdf_expand_sha256(prk, info, size)
                )
                ran += 1
                continue
            okm = bytes.fromhex(test["okm"])
            whole = await backend().hkdf_sha256(ikm, salt=salt, info=info, length=size)
            prk = await backend().hkdf_extract_sha256(salt, ikm)
            assert len(prk) == 32, label
            assert whole == okm, label
            assert await backend().hkdf_expand_sha256(prk, info, size) == okm, label
            ran += 1

    assert ran == document["numberOfTests"]
