"""Which recipient key a sender uses, given the suites its platform has."""

from __future__ import annotations

import pytest

from pyodide_crypto import keys, suite_choice
from pyodide_crypto.errors import BackendError, ParameterError
from pyodide_crypto.suite_choice import Platform, UnsupportedSuiteError

BOTH = (keys.SUITE_X25519, keys.SUITE_P256)


async def _pair_keys() -> tuple[keys.PublicKey, keys.PublicKey]:
    x25519 = await keys.KeyPair.generate(keys.SUITE_X25519)
    p256 = await keys.KeyPair.generate(keys.SUITE_P256)
    return x25519.public, p256.public


def _only(*suites: str) -> Platform:
    async def probe(suite: str) -> bool:
        return suite in suites

    return Platform(probe)


async def test_choose_key_prefers_x25519_whatever_the_order() -> None:
    x25519, p256 = await _pair_keys()
    assert suite_choice.choose_key([p256, x25519], BOTH) == x25519
    assert suite_choice.choose_key([x25519, p256], BOTH) == x25519


async def test_choose_key_falls_back_to_p256_without_x25519() -> None:
    x25519, p256 = await _pair_keys()
    assert suite_choice.choose_key([x25519, p256], (keys.SUITE_P256,)) == p256
    assert suite_choice.choose_key([p256], BOTH) == p256


async def test_choose_key_none_when_no_suite_is_shared() -> None:
    x25519, p256 = await _pair_keys()
    assert suite_choice.choose_key([x25519], (keys.SUITE_P256,)) is None
    assert suite_choice.choose_key([p256], (keys.SUITE_X25519,)) is None


async def test_suite_works_on_this_platform() -> None:
    # pyca/cryptography has both curves.
    assert await suite_choice.suite_works(keys.SUITE_X25519)
    assert await suite_choice.suite_works(keys.SUITE_P256)
    assert await Platform().suites() == BOTH


async def test_suite_works_refuses_an_unknown_suite() -> None:
    with pytest.raises(ParameterError):
        await suite_choice.suite_works("ed448")


async def test_platform_without_x25519_uses_p256() -> None:
    x25519, p256 = await _pair_keys()
    platform = _only(keys.SUITE_P256)
    assert await platform.suites() == (keys.SUITE_P256,)
    assert await platform.preferred_suite() == keys.SUITE_P256
    assert await platform.key_for([x25519, p256]) == p256


async def test_platform_key_for_refuses_an_x25519_only_recipient() -> None:
    x25519, _ = await _pair_keys()
    platform = _only(keys.SUITE_P256)
    with pytest.raises(UnsupportedSuiteError):
        await platform.key_for([x25519])
    # Shown all the same, so the page can say whose key it is.
    assert await platform.shown_key([x25519]) == x25519


async def test_platform_probes_once() -> None:
    asked: list[str] = []

    async def probe(suite: str) -> bool:
        asked.append(suite)
        return True

    platform = Platform(probe)
    assert await platform.suites() == BOTH
    assert await platform.suites() == BOTH
    assert asked == list(BOTH)


async def test_platform_without_any_suite_fails_clearly() -> None:
    with pytest.raises(BackendError, match="no key suite"):
        await _only().suites()
