"""The stored form of account records (pyodide_crypto.account_records)."""

from __future__ import annotations

import copy

from pyodide_crypto import account_records, accounts, kdf, keys
from pyodide_crypto.backends.base import X25519
from pyodide_crypto.errors import BackendError, FormatError

from .envelope_share import _raises

PASSPHRASE = "Correct horse, été 2026"


async def test_account_record_split_join_unlocks_the_same_keys() -> None:
    account, enrolment = await accounts.create("acct-s", PASSPHRASE, params=kdf.FLOOR)
    stored = account_records.split(enrolment.record)
    # The server's view: JSON round trip, key order lost.
    served = {name: copy.deepcopy(value) for name, value in reversed(stored.items())}

    record = account_records.join(served)
    secret = await accounts.derive_passphrase(PASSPHRASE, served["kdf"])
    unlocked = await accounts.unlock("acct-s", secret, record)

    assert set(stored) == {"kdf", "account_key", "public_key", "private_key"}
    assert record == enrolment.record
    assert unlocked.key_pairs == account.key_pairs
    assert stored["public_key"] == accounts.public_record(enrolment.record)
    assert "private" not in str(stored["public_key"])


async def test_account_record_split_keeps_the_recovery_wrap() -> None:
    account, _ = await accounts.create("acct-r", PASSPHRASE, params=kdf.FLOOR)
    recovery = await account.create_recovery(params=kdf.FLOOR)

    record = account_records.join(account_records.split(recovery.record))
    restored = await accounts.recover("acct-r", recovery.code, record)

    assert restored.key_pairs == account.key_pairs


async def test_account_record_join_refuses_swapped_public_keys() -> None:
    _, mine = await accounts.create("acct-a", PASSPHRASE, params=kdf.FLOOR)
    _, other = await accounts.create("acct-b", PASSPHRASE, params=kdf.FLOOR)
    stored = account_records.split(mine.record)
    stored["public_key"] = account_records.split(other.record)["public_key"]

    async def join() -> object:
        return account_records.join(stored)

    await _raises(FormatError, join)


async def test_account_record_join_refuses_bad_shapes() -> None:
    _, enrolment = await accounts.create("acct-c", PASSPHRASE, params=kdf.FLOOR)
    stored = account_records.split(enrolment.record)
    broken = [
        {**stored, "account_key": "not an object"},
        {**stored, "private_key": {"keys": [], "extra": 1}},
        {**stored, "kdf": None},
        {**stored, "account_key": {"v": 1}},
        {k: v for k, v in stored.items() if k != "private_key"},
    ]

    for value in broken:

        async def join(value: dict[str, object] = value) -> object:
            return account_records.join(value)

        await _raises(FormatError, join)


class _NoX25519:
    """The running backend, but refusing X25519 as an older browser does."""

    def __init__(self, inner: object) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    async def dh_public_key(self, curve: str, private_key: bytes) -> bytes:
        if curve == X25519:
            raise BackendError("webcrypto failed: NotSupportedError")
        return await self._inner.dh_public_key(curve, private_key)  # type: ignore[attr-defined]


async def test_account_unlocks_with_its_other_key_where_x25519_is_missing() -> None:
    both = (keys.SUITE_X25519, keys.SUITE_P256)
    account, enrolment = await accounts.create(
        "acct-old", PASSPHRASE, params=kdf.FLOOR, suites=both
    )
    _, x_only = await accounts.create("acct-x", PASSPHRASE, params=kdf.FLOOR)
    secret = await accounts.derive_passphrase(PASSPHRASE, enrolment.record["kdf"])
    x_secret = await accounts.derive_passphrase(PASSPHRASE, x_only.record["kdf"])

    real = keys.backend
    keys.backend = lambda: _NoX25519(real())  # type: ignore[assignment]
    try:
        unlocked = await accounts.unlock("acct-old", secret, enrolment.record)

        async def unlock_x_only() -> object:
            return await accounts.unlock("acct-x", x_secret, x_only.record)

        refused = await _raises(BackendError, unlock_x_only)
    finally:
        keys.backend = real  # type: ignore[assignment]

    assert [p.public.suite for p in unlocked.key_pairs] == [keys.SUITE_P256]
    assert unlocked.key_pair(keys.SUITE_P256) == account.key_pair(keys.SUITE_P256)
    # The record keeps both keys: a later unlock elsewhere gets both back.
    assert unlocked.record == enrolment.record
    assert "NotSupportedError" in str(refused)
