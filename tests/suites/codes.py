"""Second-channel codes and the code stanza, under CPython and in Pyodide.

Most derivations here use the floor parameters so that the suite stays quick;
one round trip uses the defaults that senders really use.
"""

from __future__ import annotations

from pyodide_crypto import codes, envelope, kdf, share
from pyodide_crypto.errors import (
    CodeError,
    DecryptionError,
    FormatError,
    ParameterError,
)
from pyodide_crypto.runtime import backend

FAST = kdf.FLOOR
#: Argon2id(m=19456 KiB, t=2, p=1, salt=00..0f, "été" in UTF-8), computed by
#: both pyca/cryptography (OpenSSL) and hash-wasm, which agree: the two
#: runtimes must give exactly these bytes.
ARGON2_KAT = bytes.fromhex(
    "ecd8bdc237a4ce0a6cf2a853f4b546c3bb7f380c72f2d1870dc27fd0421318e0"
)


def _raises(exc_type: type[Exception], fn, *args: object) -> None:
    try:
        fn(*args)
    except exc_type:
        return
    raise AssertionError(f"{fn.__name__}{args!r} did not raise {exc_type.__name__}")


async def _araises(exc_type: type[Exception], coro) -> None:
    try:
        await coro
    except exc_type:
        return
    raise AssertionError(f"did not raise {exc_type.__name__}")


async def _code_share(code: str, params: kdf.Argon2Params = FAST):
    sender = await share.ShareSender.create(code=code, kdf_params=params)
    sender.add_file("scan.pdf", 5, "application/pdf")
    await sender.seal_header()
    data = await sender.seal_manifest("résultats", expires_in=3600, max_downloads=1)
    return sender, data


async def test_argon2id_known_answer() -> None:
    out = await backend().argon2id(
        "été".encode(), bytes(range(16)), memory_kib=19456, iterations=2,
        parallelism=1, length=32,
    )  # fmt: skip
    assert out == ARGON2_KAT


async def test_normalisation_equivalences() -> None:
    same = [
        ("ABCDE-FGHJK", " abcde fghjk "),
        ("ABCDE-FGHJK", "abcdefghjk\t"),
        ("été", "e\u0301te\u0301"),  # composed and decomposed accents
        ("123", "\uff11\uff12\uff13"),  # full-width digits
        ("Straße", "STRASSE"),  # case folding
        ("ab-cd", "ab\u2011cd"),  # non-breaking hyphen
    ]
    for a, b in same:
        assert kdf.normalize_code(a) == kdf.normalize_code(b), (a, b)
    # Accents stay significant; so do letters.
    assert kdf.normalize_code("été") != kdf.normalize_code("ete")
    assert kdf.normalize_code("été") == "été".encode()


async def test_normalisation_refusals() -> None:
    for bad in ["", "   ", "- -", "ab\x00cd", "ab\u200bcd", "x" * 257]:
        _raises(ParameterError, kdf.normalize_code, bad)


async def test_normalisation_refusals_say_why() -> None:
    # Clients translate the reason; the message stays for logs and the CLI.
    reasons = {
        " - ": "empty",
        "ab\x00cd": "character",
        "ab\u200bcd": "character",
        "é" * 129: "too_long",
    }
    for bad, reason in reasons.items():
        try:
            kdf.normalize_code(bad)
        except CodeError as exc:
            assert exc.reason == reason, (bad, exc.reason)
        else:
            raise AssertionError(f"accepted {bad!r}")


async def test_generated_codes() -> None:
    seen = set()
    for _ in range(50):
        code = kdf.generate_code()
        groups = code.split("-")
        assert [len(g) for g in groups] == [5, 5], code
        assert all(c in kdf.CODE_ALPHABET for c in "".join(groups)), code
        seen.add(code)
    assert len(seen) == 50


async def test_params_floor_and_ceiling() -> None:
    kdf.check_params(kdf.DEFAULT)
    kdf.check_params(kdf.FLOOR)
    kdf.check_params(kdf.CEILING)
    for bad in [
        kdf.Argon2Params(19 * 1024 - 1, 3, 1),
        kdf.Argon2Params(64 * 1024, 1, 1),
        kdf.Argon2Params(64 * 1024, 3, 0),
        kdf.Argon2Params(1024 * 1024 + 1, 3, 1),
        kdf.Argon2Params(64 * 1024, 11, 1),
        kdf.Argon2Params(64 * 1024, 3, 5),
    ]:
        _raises(ParameterError, kdf.check_params, bad)
    for bad_json in [
        {"m": 65536, "t": 3},
        {"m": 65536, "t": 3, "p": 1, "x": 0},
        {"m": 65536.0, "t": 3, "p": 1},
        {"m": 65536, "t": True, "p": 1},
        {"m": 1024, "t": 3, "p": 1},
        [65536, 3, 1],
    ]:
        _raises(ParameterError, kdf.Argon2Params.from_json, bad_json)
    assert kdf.Argon2Params.from_json(kdf.DEFAULT.to_json()) == kdf.DEFAULT


async def test_derive_refuses_weak_params_before_work() -> None:
    weak = kdf.Argon2Params(1024, 1, 1)
    await _araises(ParameterError, kdf.derive("abc", bytes(16), weak))
    await _araises(ParameterError, kdf.derive("abc", bytes(8), FAST))


async def test_code_share_round_trip_default_params() -> None:
    sender, data = await _code_share(" Été 2026 ", kdf.DEFAULT)
    public = sender.code_secret.public()
    assert public["kdf"] == "argon2id"
    params = kdf.Argon2Params.from_json({k: public[k] for k in ("m", "t", "p")})
    assert params == kdf.DEFAULT
    secret = await codes.CodeSecret.derive(
        sender.link_secret, "e\u0301te\u0301 2026", salt=sender.code_secret.salt,
        params=params,
    )  # fmt: skip
    assert secret.unlock_proof == sender.code_secret.unlock_proof
    assert await secret.unlock_verifier() == await backend().sha256(
        sender.code_secret.unlock_proof
    )
    recipient = await share.ShareRecipient.open(
        sender.link_secret, data, code_secret=secret
    )
    assert recipient.manifest.message == "résultats"
    assert recipient.claim_proof != secret.unlock_proof


async def test_link_alone_opens_nothing() -> None:
    sender, data = await _code_share("ABCDE-FGHJK")
    header, _ = envelope.split_envelope(data)
    assert [s.type for s in header.stanzas] == [envelope.STANZA_CODE]
    await _araises(DecryptionError, share.ShareRecipient.open(sender.link_secret, data))


async def test_wrong_code_or_wrong_link_fail_alike() -> None:
    sender, data = await _code_share("ABCDE-FGHJK")
    salt = sender.code_secret.salt
    wrong_code = await codes.CodeSecret.derive(
        sender.link_secret, "ABCDE-FGHJM", salt=salt, params=FAST
    )
    other_link = bytes(32)
    wrong_link = await codes.CodeSecret.derive(
        other_link, "ABCDE-FGHJK", salt=salt, params=FAST
    )
    for secret, link in [(wrong_code, sender.link_secret), (wrong_link, other_link)]:
        assert secret.unlock_proof != sender.code_secret.unlock_proof
        await _araises(
            DecryptionError, share.ShareRecipient.open(link, data, code_secret=secret)
        )


async def test_code_stanza_tampering_fails_closed() -> None:
    sender, data = await _code_share("ABCDE-FGHJK")
    secret = await codes.CodeSecret.derive(
        sender.link_secret, "ABCDE-FGHJK", salt=sender.code_secret.salt, params=FAST
    )
    body_at = envelope.PREAMBLE_SIZE + envelope.STANZA_PREFIX_SIZE
    for offset in range(codes.BODY_SIZE):
        mangled = bytearray(data)
        mangled[body_at + offset] ^= 0x01
        await _araises(
            (DecryptionError, FormatError),
            share.ShareRecipient.open(
                sender.link_secret, bytes(mangled), code_secret=secret
            ),
        )


async def test_stanza_with_weak_params_is_refused() -> None:
    # A stanza naming parameters below the floor never opens, even with a
    # secret derived (by a careless client) from those very parameters.
    sender, data = await _code_share("ABCDE-FGHJK")
    body_at = envelope.PREAMBLE_SIZE + envelope.STANZA_PREFIX_SIZE
    mangled = bytearray(data)
    mangled[body_at + 1 : body_at + 5] = (1024).to_bytes(4, "big")
    _raises(ParameterError, codes.parse_public, bytes(mangled[body_at:][:74]))
    secret = await codes.CodeSecret.derive(
        sender.link_secret, "ABCDE-FGHJK", salt=sender.code_secret.salt, params=FAST
    )
    await _araises(
        DecryptionError,
        share.ShareRecipient.open(
            sender.link_secret, bytes(mangled), code_secret=secret
        ),
    )


async def test_stanza_body_size_is_exact() -> None:
    for size in (codes.BODY_SIZE - 1, codes.BODY_SIZE + 1):
        _raises(
            ParameterError,
            envelope.encode_header,
            [envelope.Stanza(envelope.STANZA_CODE, bytes(size))],
        )
        _raises(FormatError, codes.parse_public, bytes(size))
