"""Accounts over the API: handles, activation codes, login parameters, login
and its rate limits. The clock is moved by hand; nothing sleeps."""

from __future__ import annotations

import argparse
import os
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from account_support import activation_body, b64, kdf_params, site_for
from server_support import Clock, make_config

from pyodide_crypto import kdf as client_kdf
from server.accounts import DECOY_KDF
from server.config import add_config_arguments, config_from_args
from server.credentials import CODE_ALPHABET, code_hash, generate_code, handle_key
from server.encoding import b64url_decode, b64url_encode
from server.errors import BadRequest, Conflict
from server.storage.accounts_base import AccountState


def _login(handle: str, auth: bytes) -> dict[str, str]:
    return {"handle": handle, "auth": b64url_encode(auth)}


async def test_activation_opens_a_session_and_stores_the_opaque_keys(
    tmp_path: Path,
) -> None:
    async with site_for(make_config(tmp_path)) as site:
        code = await site.provision("elise.martin")
        client = await site.client()
        body = activation_body("elise.martin", code, os.urandom(32))
        response = await client.post("/api/activate", json=body)
        me = await client.get("/api/me")
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["account"]["state"] == "active"
    assert answer["account"]["handle"] == "elise.martin"
    for name in ("kdf", "account_key", "public_key", "private_key"):
        assert answer[name] == body[name]
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Path=/" in cookie and "Secure" not in cookie
    assert me.status_code == 200
    assert me.json()["csrf_token"] == answer["csrf_token"]


async def test_activation_cookie_is_secure_when_configured(tmp_path: Path) -> None:
    config = make_config(tmp_path, cookie_secure=True)
    async with site_for(config) as site:
        code = await site.provision("jo")
        client = await site.client()
        response = await client.post(
            "/api/activate", json=activation_body("jo", code, os.urandom(32))
        )
    assert response.status_code == 200
    assert "Secure" in response.headers["set-cookie"]


def _assert_activation_refused(response: Any) -> None:
    assert response.status_code == 403, response.text
    assert response.json() == {
        "error": "activation_failed",
        "message": "this activation code is not valid (wrong, already used or expired)",
    }


async def test_activation_code_wrong_reused_expired_unknown_one_refusal(
    tmp_path: Path,
) -> None:
    clock = Clock()
    config = make_config(tmp_path, clock, activation_seconds=3600)
    async with site_for(config) as site:
        client = await site.client()
        code = await site.provision("ana")
        wrong = await client.post(
            "/api/activate", json=activation_body("ana", generate_code(), b"a" * 32)
        )
        ok = await client.post(
            "/api/activate", json=activation_body("ana", code, os.urandom(32))
        )
        reused = await client.post(
            "/api/activate", json=activation_body("ana", code, os.urandom(32))
        )
        late_code = await site.provision("bob")
        clock.advance(3600)
        expired = await client.post(
            "/api/activate", json=activation_body("bob", late_code, os.urandom(32))
        )
        unknown = await client.post(
            "/api/activate", json=activation_body("nobody", code, os.urandom(32))
        )
        garbage = await client.post(
            "/api/activate", json=activation_body("bob", "hello", os.urandom(32))
        )
    assert ok.status_code == 200
    for response in (wrong, reused, expired, unknown, garbage):
        _assert_activation_refused(response)


async def test_activation_code_ignores_case_spaces_and_hyphens(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path)) as site:
        code = await site.provision("ana")
        client = await site.client()
        typed = " " + code.lower().replace("-", " ") + " "
        response = await client.post(
            "/api/activate", json=activation_body("ana", typed, os.urandom(32))
        )
    assert response.status_code == 200, response.text


async def test_activation_failures_are_rate_limited(tmp_path: Path) -> None:
    clock = Clock()
    config = make_config(tmp_path, clock, login_failures=3, login_window_seconds=600)
    async with site_for(config) as site:
        code = await site.provision("ana")
        client = await site.client()
        for _ in range(3):
            _assert_activation_refused(
                await client.post(
                    "/api/activate",
                    json=activation_body("ana", generate_code(), os.urandom(32)),
                )
            )
        limited = await client.post(
            "/api/activate", json=activation_body("ana", code, os.urandom(32))
        )
        clock.advance(600)
        later = await client.post(
            "/api/activate", json=activation_body("ana", code, os.urandom(32))
        )
    assert limited.status_code == 429
    assert limited.json()["error"] == "rate_limited"
    assert 0 < int(limited.headers["retry-after"]) <= 600
    assert later.status_code == 200, later.text


async def test_activation_start_names_the_account_without_using_the_code(
    tmp_path: Path,
) -> None:
    async with site_for(make_config(tmp_path)) as site:
        code = await site.provision("ana")
        client = await site.client()
        typed = code.lower().replace("-", " ")
        first = await client.post(
            "/api/activate/start", json={"handle": "ANA", "code": typed}
        )
        again = await client.post(
            "/api/activate/start", json={"handle": "ana", "code": code}
        )
        used = await client.post(
            "/api/activate", json=activation_body("ana", code, os.urandom(32))
        )
        after = await client.post(
            "/api/activate/start", json={"handle": "ana", "code": code}
        )
    assert first.status_code == 200, first.text
    assert first.headers["cache-control"] == "no-store"
    assert first.json() == {
        "account_id": used.json()["account"]["id"],
        "handle": "ana",
        "name": "Name of ana",
        "department": "Cardiology",
    }
    assert again.json() == first.json()
    assert used.status_code == 200, used.text
    _assert_activation_refused(after)


async def test_activation_start_wrong_expired_unknown_one_refusal(
    tmp_path: Path,
) -> None:
    clock = Clock()
    config = make_config(tmp_path, clock, activation_seconds=3600)
    async with site_for(config) as site:
        client = await site.client()
        code = await site.provision("ana")
        wrong = await client.post(
            "/api/activate/start", json={"handle": "ana", "code": generate_code()}
        )
        unknown = await client.post(
            "/api/activate/start", json={"handle": "nobody", "code": code}
        )
        garbage = await client.post(
            "/api/activate/start", json={"handle": "ana", "code": "hello"}
        )
        clock.advance(3600)
        expired = await client.post(
            "/api/activate/start", json={"handle": "ana", "code": code}
        )
        bad = await client.post("/api/activate/start", json={"handle": "ana"})
    for response in (wrong, unknown, garbage, expired):
        _assert_activation_refused(response)
    assert bad.status_code == 400


async def test_activation_start_failures_share_the_activation_budget(
    tmp_path: Path,
) -> None:
    clock = Clock()
    config = make_config(tmp_path, clock, login_failures=3, login_window_seconds=600)
    async with site_for(config) as site:
        code = await site.provision("ana")
        client = await site.client()
        for _ in range(2):
            _assert_activation_refused(
                await client.post(
                    "/api/activate/start",
                    json={"handle": "ana", "code": generate_code()},
                )
            )
        _assert_activation_refused(
            await client.post(
                "/api/activate",
                json=activation_body("ana", generate_code(), os.urandom(32)),
            )
        )
        limited = await client.post(
            "/api/activate/start", json={"handle": "ana", "code": code}
        )
        activate_limited = await client.post(
            "/api/activate", json=activation_body("ana", code, os.urandom(32))
        )
        clock.advance(600)
        later = await client.post(
            "/api/activate/start", json={"handle": "ana", "code": code}
        )
    assert limited.status_code == 429
    assert limited.json()["error"] == "rate_limited"
    assert activate_limited.status_code == 429
    assert later.status_code == 200, later.text


@pytest.mark.parametrize(
    "change",
    [
        {"kdf": None},
        {"kdf": {"kdf": "scrypt", "m": 1, "t": 1, "p": 1, "salt": "x"}},
        {"kdf": {**kdf_params(), "m": 0}},
        {"kdf": {**kdf_params(), "salt": b64(8)}},
        {"kdf": {**kdf_params(), "extra": 1}},
        {"auth": b64(31)},
        {"auth": None},
        {"account_key": "not an object"},
        {"account_key": {}},
        {"public_key": {"k": "x" * 9000}},
        {"private_key": {"a": {"b": {"c": {"d": {"e": 1}}}}}},
        {"private_key": {"f": 1.5}},
        {"code": 12345},
        {"handle": ["ana"]},
        {"handle": "-ana"},
    ],
)
async def test_activation_refuses_bad_input(
    tmp_path: Path, change: dict[str, Any]
) -> None:
    async with site_for(make_config(tmp_path)) as site:
        code = await site.provision("ana")
        client = await site.client()
        body = {**activation_body("ana", code, os.urandom(32)), **change}
        response = await client.post("/api/activate", json=body)
        # Nothing was used up: the right body still activates.
        good = await client.post(
            "/api/activate", json=activation_body("ana", code, os.urandom(32))
        )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "bad_request"
    assert good.status_code == 200


@pytest.mark.parametrize(
    "handle", ["", "a" * 65, ".ana", "ana.", "ana smith", "ana@example", "a/b"]
)
async def test_handle_outside_the_charset_is_refused(
    tmp_path: Path, handle: str
) -> None:
    async with site_for(make_config(tmp_path)) as site:
        with pytest.raises(BadRequest):
            await site.provision(handle)


async def test_handles_compare_in_nfc_without_case(tmp_path: Path) -> None:
    decomposed = unicodedata.normalize("NFD", "Élise")
    assert handle_key(decomposed) == handle_key("éLISE")
    async with site_for(make_config(tmp_path)) as site:
        await site.provision("Élise")
        with pytest.raises(Conflict):
            await site.provision(decomposed.lower())
        user = await site.user("Zoé_2")
        params = await user.client.post("/api/login/params", json={"handle": "ZOÉ_2"})
    assert params.json()["kdf"] == user.me["kdf"]


def test_generated_codes_are_three_groups_of_five_from_the_code_alphabet() -> None:
    code = generate_code()
    groups = code.split("-")
    assert [len(g) for g in groups] == [5, 5, 5]
    assert set("".join(groups)) <= set(CODE_ALPHABET)
    assert CODE_ALPHABET == client_kdf.CODE_ALPHABET
    assert code_hash(code) == code_hash(code.lower())
    assert code_hash(code[:-1] + "0") is None


async def test_login_params_of_a_real_account(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path)) as site:
        user = await site.user("ana")
        response = await user.client.post("/api/login/params", json={"handle": "ana"})
    assert response.status_code == 200
    assert response.json() == {"kdf": user.me["kdf"]}


async def test_login_params_of_unknown_handles_are_stable_and_look_real(
    tmp_path: Path,
) -> None:
    async with site_for(make_config(tmp_path)) as site:
        user = await site.user("ana")
        await site.provision("pending.person")
        client = user.client
        answers = [
            (await client.post("/api/login/params", json={"handle": h})).json()
            for h in ("ghost", "ghost", "GHOST", "other", "pending.person")
        ]
    ghost, again, upper, other, pending = (a["kdf"] for a in answers)
    real = user.me["kdf"]
    assert ghost == again == upper
    assert ghost["salt"] != other["salt"]
    assert pending["salt"] not in (ghost["salt"], other["salt"])
    for decoy in (ghost, other, pending):
        assert set(decoy) == set(real)
        assert {k: decoy[k] for k in "kdf m t p".split()} == {
            k: real[k] for k in "kdf m t p".split()
        }
        assert len(b64url_decode(decoy["salt"], length=16)) == 16


async def test_decoy_params_survive_a_restart(tmp_path: Path) -> None:
    answers = []
    for _ in range(2):
        async with site_for(make_config(tmp_path)) as site:
            client = await site.client()
            response = await client.post("/api/login/params", json={"handle": "x"})
            answers.append(response.json())
    assert answers[0] == answers[1]


def test_decoy_params_are_the_clients_default_cost() -> None:
    assert {"m": DECOY_KDF["m"], "t": DECOY_KDF["t"], "p": DECOY_KDF["p"]} == (
        client_kdf.DEFAULT.to_json()
    )


async def test_login_with_the_auth_secret_opens_a_session(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path)) as site:
        user = await site.user("ana")
        fresh = await site.client()
        response = await fresh.post("/api/login", json=_login("ana", user.auth))
        me = await fresh.get("/api/me")
    assert response.status_code == 200, response.text
    assert response.json()["account"]["id"] == user.account_id
    assert response.json()["private_key"] == user.me["private_key"]
    assert me.status_code == 200
    assert me.json()["csrf_token"] == response.json()["csrf_token"]
    assert me.json()["csrf_token"] != user.csrf


async def test_wrong_auth_and_unknown_handle_get_one_answer(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path)) as site:
        await site.user("ana")
        await site.provision("pending.person")
        client = await site.client()
        answers = [
            await client.post("/api/login", json=_login(handle, os.urandom(32)))
            for handle in ("ana", "ghost", "pending.person")
        ]
    for response in answers:
        assert response.status_code == 401
        assert response.json() == answers[0].json()
        assert response.json()["error"] == "login_failed"
        assert "set-cookie" not in response.headers


@pytest.mark.parametrize(
    "body",
    [{}, {"handle": "ana"}, {"handle": "ana", "auth": "short"}, {"auth": b64(32)}],
)
async def test_login_refuses_bad_input(tmp_path: Path, body: dict[str, Any]) -> None:
    async with site_for(make_config(tmp_path)) as site:
        client = await site.client()
        response = await client.post("/api/login", json=body)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


async def test_failed_logins_are_limited_per_handle(tmp_path: Path) -> None:
    clock = Clock()
    config = make_config(tmp_path, clock, login_failures=5, login_window_seconds=900)
    async with site_for(config) as site:
        user = await site.user("ana")
        # Successful logins use no budget.
        for _ in range(6):
            ok = await user.client.post("/api/login", json=_login("ana", user.auth))
            assert ok.status_code == 200
        for number in range(5):
            client = await site.client(f"10.0.0.{number}")
            failed = await client.post("/api/login", json=_login("ana", b"x" * 32))
            assert failed.status_code == 401
            clock.advance(60)
        limited = await user.client.post("/api/login", json=_login("ana", user.auth))
        other = await user.client.post("/api/login", json=_login("bob", b"x" * 32))
        # The first failure leaves the window 900 s after it happened.
        clock.advance(900 - 5 * 60)
        back = await user.client.post("/api/login", json=_login("ana", user.auth))
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == str(900 - 5 * 60)
    assert limited.json()["retry_after"] == 900 - 5 * 60
    assert other.status_code == 401
    assert back.status_code == 200, back.text


async def test_failed_logins_are_limited_per_address(tmp_path: Path) -> None:
    clock = Clock()
    config = make_config(tmp_path, clock, login_failures=3, login_window_seconds=900)
    async with site_for(config) as site:
        user = await site.user("ana")
        guesser = await site.client("192.0.2.7")
        for handle in ("a1", "a2", "a3"):
            response = await guesser.post("/api/login", json=_login(handle, b"x" * 32))
            assert response.status_code == 401
        limited = await guesser.post("/api/login", json=_login("ana", user.auth))
        elsewhere = await user.client.post("/api/login", json=_login("ana", user.auth))
    assert limited.status_code == 429
    assert elsewhere.status_code == 200


async def test_disabled_account_cannot_log_in_until_enabled(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path)) as site:
        user = await site.user("ana")
        await site.accounts.set_state("ana", AccountState.DISABLED)
        session_after = await user.client.get("/api/me")
        refused = await user.client.post("/api/login", json=_login("ana", user.auth))
        await site.accounts.set_state("ana", AccountState.ACTIVE)
        allowed = await user.client.post("/api/login", json=_login("ana", user.auth))
    assert session_after.status_code == 401
    assert refused.status_code == 401
    assert refused.json()["error"] == "login_failed"
    assert allowed.status_code == 200


async def test_pending_account_cannot_be_disabled(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path)) as site:
        await site.provision("ana")
        with pytest.raises(Conflict):
            await site.accounts.set_state("ana", AccountState.DISABLED)
        with pytest.raises(Conflict):
            await site.accounts.set_state("ghost", AccountState.DISABLED)


async def test_first_administrator_only_on_an_empty_server(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path)) as site:
        record, _ = await site.accounts.provision("root", name="Root", first=True)
        with pytest.raises(Conflict):
            await site.accounts.provision("root2", name="Root", first=True)
    assert record.state is AccountState.PENDING


def test_account_settings_from_flags_and_environment(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    args = parser.parse_args(["--data", str(tmp_path), "--login-failures", "3"])
    env = {"SEALPOST_SECRET": "s", "SEALPOST_COOKIE_SECURE": "yes"}
    config = config_from_args(args, env={**env, "SEALPOST_SESSION_SECONDS": "60"})
    assert (config.login_failures, config.session_seconds) == (3, 60)
    assert config.cookie_secure is True
    flagged = config_from_args(
        parser.parse_args(["--data", str(tmp_path), "--cookie-secure"]),
        env={"SEALPOST_SECRET": "s"},
    )
    assert flagged.cookie_secure is True
    with pytest.raises(RuntimeError, match="SEALPOST_COOKIE_SECURE must be a boolean"):
        config_from_args(args, env={**env, "SEALPOST_COOKIE_SECURE": "maybe"})
    with pytest.raises(RuntimeError, match="box_quota_count must be >= 1"):
        make_config(tmp_path, box_quota_count=0)
