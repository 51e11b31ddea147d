"""Account and box key hierarchy and fingerprints, in both runtimes.

Argon2id runs with the floor parameters here (the cost is not what is under
test); each test derives as few times as its checks need.
"""

from __future__ import annotations

import copy
from typing import Any

from pyodide_crypto import accounts, boxes, kdf, keys, share
from pyodide_crypto.encoding import b64url_decode, b64url_encode
from pyodide_crypto.errors import DecryptionError, FormatError, ParameterError
from pyodide_crypto.wrapping import KdfSpec

from .envelope_share import _raises

FAST = kdf.FLOOR
PASSPHRASE = "Correct horse, été 2026"


async def _account(account_id: str = "acct-1") -> tuple[accounts.Account, Any]:
    return await accounts.create(account_id, PASSPHRASE, params=FAST)


async def _unlock(account_id: str, passphrase: str, record: Any) -> accounts.Account:
    # The KDF description as the server serves it: a plain dict.
    secret = await accounts.derive_passphrase(passphrase, record["kdf"])
    return await accounts.unlock(account_id, secret, record)


def _flip_b64(text: str, at: int) -> str:
    data = bytearray(b64url_decode(text))
    data[at] ^= 0x01
    return b64url_encode(bytes(data))


async def test_account_round_trip_and_auth_secret() -> None:
    account, enrolment = await _account()
    record = enrolment.record
    again = await accounts.derive_passphrase(
        # The same text typed with a combining accent and a no-break space.
        "Correct\u00a0horse, e\u0301te\u0301 2026",
        KdfSpec.from_json(record["kdf"]),
    )

    assert again.auth_secret == enrolment.auth_secret
    assert len(enrolment.auth_secret) == 32
    unlocked = await accounts.unlock("acct-1", again, record)
    assert unlocked.key_pairs == account.key_pairs
    assert set(record) == {"v", "kdf", "account_key", "keys"}
    assert len(b64url_decode(record["account_key"])) == 12 + 32 + 16
    assert len(b64url_decode(record["keys"][0]["private"])) == 12 + 32 + 16


async def test_account_wrong_passphrase_is_one_opaque_error() -> None:
    _, enrolment = await _account()
    # Case is significant in a passphrase (unlike a code).
    for wrong in ("correct horse, été 2026", PASSPHRASE + " "):
        exc = await _raises(
            DecryptionError, lambda w=wrong: _unlock("acct-1", w, enrolment.record)
        )
        assert str(exc) == "decryption failed"


async def test_account_other_account_id_fails() -> None:
    _, enrolment = await _account("acct-1")

    await _raises(
        DecryptionError, lambda: _unlock("acct-2", PASSPHRASE, enrolment.record)
    )


async def test_account_tampered_wrapped_keys_fail() -> None:
    _, enrolment = await _account()
    secret = await accounts.derive_passphrase(
        PASSPHRASE, KdfSpec.from_json(enrolment.record["kdf"])
    )
    cases = []
    for at in (0, 12, 40, 59):
        record = copy.deepcopy(enrolment.record)
        record["account_key"] = _flip_b64(record["account_key"], at)
        cases.append(record)
        record = copy.deepcopy(enrolment.record)
        record["keys"][0]["private"] = _flip_b64(record["keys"][0]["private"], at)
        cases.append(record)
    truncated = copy.deepcopy(enrolment.record)
    truncated["account_key"] = b64url_encode(
        b64url_decode(truncated["account_key"])[:-1]
    )
    cases.append(truncated)
    swapped = copy.deepcopy(enrolment.record)
    other = (await keys.KeyPair.generate()).public
    swapped["keys"][0]["key"] = b64url_encode(other.key)
    cases.append(swapped)

    for record in cases:
        await _raises(
            DecryptionError, lambda r=record: accounts.unlock("acct-1", secret, r)
        )
    # The record's kdf must be the one derived with.
    other_salt = copy.deepcopy(enrolment.record)
    other_salt["kdf"]["salt"] = b64url_encode(bytes(16))
    await _raises(
        DecryptionError, lambda: accounts.unlock("acct-1", secret, other_salt)
    )


async def test_account_params_outside_floor_and_ceiling_refused_before_work() -> None:
    _, enrolment = await _account()
    calls = []
    original = kdf.runtime.backend().argon2id

    async def counting(*args: object, **kwargs: Any) -> bytes:
        calls.append(1)
        return await original(*args, **kwargs)

    backend = kdf.runtime.backend()
    backend.argon2id = counting  # type: ignore[method-assign]
    try:
        for change in (
            {"m": kdf.FLOOR.memory_kib - 1},
            {"t": kdf.FLOOR.iterations - 1},
            {"m": kdf.CEILING.memory_kib + 1},
            {"t": kdf.CEILING.iterations + 1},
            {"p": kdf.CEILING.parallelism + 1},
            {"p": 0},
        ):
            spec = {**enrolment.record["kdf"], **change}
            await _raises(ParameterError, lambda s=spec: _spec_derive(s))
        await _raises(
            ParameterError,
            lambda: accounts.create(
                "a", PASSPHRASE, params=kdf.Argon2Params(1024, 1, 1)
            ),
        )
    finally:
        del backend.argon2id
    assert calls == []
    await _raises(FormatError, lambda: _spec_derive({"kdf": "scrypt", "m": 1}))


async def _spec_derive(spec: dict[str, Any]) -> object:
    return await accounts.derive_passphrase(PASSPHRASE, KdfSpec.from_json(spec))


async def test_account_passphrase_rules() -> None:
    for bad in ("", "short", "tab\there-and-more", "\ud800 surrogate x"):
        await _raises(
            ParameterError, lambda b=bad: accounts.create("a", b, params=FAST)
        )
    assert accounts.normalize_passphrase("Ab\u3000c") == b"Ab c"
    assert accounts.normalize_passphrase("e\u0301") == "é".encode()


async def test_account_passphrase_change_rewraps_only_the_account_key() -> None:
    account, enrolment = await _account()
    change = await account.change_passphrase("a new passphrase", params=FAST)
    record = change.record

    assert record["keys"] == enrolment.record["keys"]
    assert record["kdf"]["salt"] != enrolment.record["kdf"]["salt"]
    assert change.auth_secret != enrolment.auth_secret
    unlocked = await _unlock("acct-1", "a new passphrase", record)
    assert unlocked.key_pairs == account.key_pairs
    await _raises(DecryptionError, lambda: _unlock("acct-1", PASSPHRASE, record))


async def test_account_recovery_code() -> None:
    account, _ = await _account()
    recovery = await account.create_recovery(params=FAST)
    code = recovery.code

    assert len(code) == 23 and code.count("-") == 3
    recovered = await accounts.recover(
        "acct-1", code.lower().replace("-", " "), recovery.record
    )
    assert recovered.key_pairs == account.key_pairs
    await _raises(
        DecryptionError,
        lambda: accounts.recover("acct-1", kdf.generate_code(20), recovery.record),
    )
    await _raises(
        DecryptionError, lambda: accounts.recover("acct-2", code, recovery.record)
    )
    # The passphrase still opens it; the recovery wrap has its own label.
    assert (await _unlock("acct-1", PASSPHRASE, recovery.record)).key_pairs
    swapped = copy.deepcopy(recovery.record)
    swapped["recovery"]["account_key"] = swapped["account_key"]
    await _raises(DecryptionError, lambda: accounts.recover("acct-1", code, swapped))


async def test_account_receives_hpke_shares_and_second_suite() -> None:
    account, _ = await _account()
    added = await account.add_key_pair(keys.SUITE_P256)
    assert added is not None and len(added["keys"]) == 2
    assert await account.add_key_pair(keys.SUITE_P256) is None
    unlocked = await _unlock("acct-1", PASSPHRASE, added)
    sender = await share.ShareSender.create(
        recipients=[account.key_pair(keys.SUITE_P256).public], link=False
    )
    sealed = await sender.seal_manifest("m", expires_in=60, max_downloads=1)

    opened = await share.ShareRecipient.open_with(sealed, unlocked.identities())

    assert opened.manifest.message == "m"
    assert accounts.public_record(added) == {
        "keys": [k.to_json() for k in account.public_keys]
    }


async def test_box_members_open_and_rotation_excludes_removed() -> None:
    alice, _ = await _account("alice")
    bob, _ = await _account("bob")
    members = [alice.key_pair().public, bob.key_pair().public]
    box_v1, record_v1 = await boxes.create("cardiology", members)

    for member in (alice, bob):
        opened = await boxes.open_record("cardiology", record_v1, member.key_pairs)
        assert opened.key_pair == box_v1.key_pair and opened.version == 1
    box_v2, record_v2 = await boxes.rotate(box_v1, [alice.key_pair().public])
    assert box_v2.version == 2 and box_v2.public != box_v1.public
    assert (
        await boxes.open_record("cardiology", record_v2, alice.key_pairs)
    ).version == 2
    await _raises(
        DecryptionError,
        lambda: boxes.open_record("cardiology", record_v2, bob.key_pairs),
    )
    sender = await share.ShareSender.create(recipients=[box_v2.public], link=False)
    sealed = await sender.seal_manifest("deposit", expires_in=60, max_downloads=1)
    await _raises(
        DecryptionError,
        lambda: share.ShareRecipient.open_with(sealed, [box_v1.identity()]),
    )
    opened = await share.ShareRecipient.open_with(sealed, [box_v2.identity()])
    assert opened.manifest.message == "deposit"
    record_v2["grants"].append(await boxes.grant(box_v2, bob.key_pair().public))
    assert (
        await boxes.open_record("cardiology", record_v2, bob.key_pairs)
    ).version == 2


async def test_box_grant_bound_to_box_version_and_key() -> None:
    alice = await keys.KeyPair.generate()
    box, record = await boxes.create("radiology", [alice.public])
    other_box, other_record = await boxes.create("radiology", [alice.public])
    cases = []
    for field, value in (
        ("version", 2),
        ("public", other_box.public.to_json()),
        ("grants", other_record["grants"]),
    ):
        cases.append({**record, field: value})
    sealed = record["grants"][0]["sealed"]
    for at in (0, 31, 32, 60, len(b64url_decode(sealed)) - 1):
        cases.append(
            {
                **record,
                "grants": [{**record["grants"][0], "sealed": _flip_b64(sealed, at)}],
            }
        )
    short = b64url_encode(b64url_decode(sealed)[:-1])
    cases.append({**record, "grants": [{**record["grants"][0], "sealed": short}]})

    assert (
        await boxes.open_record("radiology", record, [alice])
    ).key_pair == box.key_pair
    await _raises(DecryptionError, lambda: boxes.open_record("cardio", record, [alice]))
    # Another version, another public key, another box's grants: the info
    # binds all three, so none opens.
    for case in cases:
        await _raises(
            DecryptionError, lambda c=case: boxes.open_record("radiology", c, [alice])
        )


async def test_box_misuse() -> None:
    alice = await keys.KeyPair.generate()
    await _raises(ParameterError, lambda: boxes.create("b", []))
    await _raises(
        ParameterError, lambda: boxes.create("b", [alice.public, alice.public])
    )
    await _raises(ParameterError, lambda: boxes.create("", [alice.public]))
    await _raises(ParameterError, lambda: boxes.create("b", [alice.public], version=0))
    await _raises(FormatError, lambda: boxes.open_record("b", {"version": 1}, [alice]))


async def test_fingerprint_forms_and_fragment_check() -> None:
    pair = await keys.KeyPair.generate()
    other = await keys.KeyPair.generate()
    digest = await keys.fingerprint(pair.public)
    fragment = keys.fingerprint_fragment(digest)
    text = keys.fingerprint_text(digest)

    assert len(fragment) == 22 and len(text) == 8 * 4 + 7
    assert all(len(g) == 4 and g.isdigit() for g in text.split(" "))
    assert await keys.fingerprint_matches(fragment, pair.public)
    assert not await keys.fingerprint_matches(fragment, other.public)
    same_bytes = keys.PublicKey(keys.SUITE_X25519, pair.public.key)
    assert await keys.fingerprint_matches(fragment, same_bytes)
    flipped = fragment[:-2] + ("A" if fragment[-2] != "A" else "B") + fragment[-1]
    assert not await keys.fingerprint_matches(flipped, pair.public)
    for bad in ("", fragment[:-1], fragment + "A", fragment[:-1] + "="):
        await _raises(
            FormatError, lambda b=bad: keys.fingerprint_matches(b, pair.public)
        )


async def test_public_key_json_is_strict() -> None:
    pair = await keys.KeyPair.generate(keys.SUITE_P256)
    value = pair.public.to_json()

    assert keys.PublicKey.from_json(value) == pair.public
    for bad in (
        {**value, "suite": "x25519"},
        {**value, "key": value["key"] + "A"},
        {"suite": "p256"},
        {**value, "more": 1},
        {"suite": "p256", "key": b64url_encode(b"\x02" + bytes(64))},
    ):
        await _raises(FormatError, lambda b=bad: _from_json(b))


async def _from_json(value: object) -> keys.PublicKey:
    return keys.PublicKey.from_json(value)


async def test_account_malformed_records_are_format_errors() -> None:
    _, enrolment = await _account()
    secret = await accounts.derive_passphrase(PASSPHRASE, enrolment.record["kdf"])
    good = enrolment.record
    for bad in (
        None,
        [],
        {**good, "v": 2},
        {**good, "v": True},
        {k: v for k, v in good.items() if k != "v"},
        {**good, "extra": 1},
        {**good, "keys": []},
        {**good, "keys": ["key"]},
        {**good, "kdf": "argon2id"},
        {**good, "recovery": {"kdf": {}}},
        {**good, "keys": [{**good["keys"][0], "suite": "x448"}]},
    ):
        await _raises(FormatError, lambda b=bad: accounts.unlock("acct-1", secret, b))
    await _raises(FormatError, lambda: accounts.recover("acct-1", "ABCDE", good))


async def test_box_open_grant_version_by_version() -> None:
    alice = await keys.KeyPair.generate()
    v1, record_v1 = await boxes.create("lab", [alice.public])
    v2, record_v2 = await boxes.rotate(v1, [alice.public])
    grant_v1 = record_v1["grants"][0]

    opened = await boxes.open_grant("lab", 1, record_v1["public"], [grant_v1], [alice])
    assert opened.key_pair == v1.key_pair
    await _raises(
        DecryptionError,
        lambda: boxes.open_grant("lab", 2, record_v2["public"], [grant_v1], [alice]),
    )
    for bad_version in (0, True, "1"):
        await _raises(
            FormatError,
            lambda v=bad_version: boxes.open_grant(
                "lab", v, record_v1["public"], [grant_v1], [alice]
            ),
        )
    await _raises(
        FormatError,
        lambda: boxes.open_grant("lab", 1, record_v1["public"], [{"x": 1}], [alice]),
    )
    assert v2.version == 2
