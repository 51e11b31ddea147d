"""Recovery codes on the server: parameters (real and decoy), the recovery
login and its limits, the passphrase reset, setting a code later."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
from account_support import activation_body, b64, kdf_params, site_for
from admin_support import audit
from server_support import Clock, make_config

from server.encoding import b64url_encode
from server.storage.accounts_base import Role


def _sealed_with_recovery() -> dict[str, Any]:
    return {
        "v": 1,
        "account_key": {"nonce": b64(12), "ct": b64(48)},
        "recovery": {"kdf": kdf_params(), "account_key": b64(60)},
    }


async def _activated(
    site: Any, handle: str, recovery_auth: bytes | None
) -> tuple[httpx.AsyncClient, dict[str, Any], bytes]:
    code = await site.provision(handle)
    client = await site.client()
    auth = os.urandom(32)
    body = activation_body(handle, code, auth)
    if recovery_auth is not None:
        body["account_key"] = _sealed_with_recovery()
        body["recovery_auth"] = b64url_encode(recovery_auth)
    response = await client.post("/api/activate", json=body)
    assert response.status_code == 200, response.text
    return client, body, auth


def _recover(handle: str, secret: bytes) -> dict[str, str]:
    return {"handle": handle, "recovery_auth": b64url_encode(secret)}


def _new_passphrase() -> dict[str, Any]:
    return {
        "kdf": kdf_params(),
        "new_auth": b64url_encode(os.urandom(32)),
        "account_key": _sealed_with_recovery(),
    }


async def test_recovery_session_only_resets_the_passphrase(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path)) as site:
        admin = await site.user("chief", role=Role.ADMIN)
        secret = os.urandom(32)
        old_client, body, old_auth = await _activated(site, "ana", secret)
        params = await (await site.client()).post(
            "/api/recover/params", json={"handle": "ana"}
        )
        helper = await site.client()
        opened = await helper.post("/api/recover", json=_recover("ana", secret))
        csrf = {"X-CSRF-Token": opened.json()["csrf_token"]}
        me = await helper.get("/api/me")
        inbox = await helper.get("/api/inbox")
        directory = await helper.get("/api/directory")
        new = _new_passphrase()
        reset = await helper.put("/api/me/passphrase", json=new, headers=csrf)
        after = await helper.get("/api/me")
        old_session = await old_client.get("/api/me")
        fresh = await site.client()
        new_login = await fresh.post(
            "/api/login", json={"handle": "ana", "auth": new["new_auth"]}
        )
        old_login = await fresh.post(
            "/api/login", json={"handle": "ana", "auth": b64url_encode(old_auth)}
        )
        events = await audit(admin, type="account.")
    assert params.json() == {"kdf": body["account_key"]["recovery"]["kdf"]}
    assert opened.status_code == 200, opened.text
    assert opened.json()["session"] == "recovery"
    assert opened.json()["account_key"] == body["account_key"]
    assert me.json()["session"] == "recovery"
    assert inbox.status_code == 401 and directory.status_code == 401
    assert reset.status_code == 200, reset.text
    assert reset.json()["sessions_ended"] == 2
    assert after.status_code == 401 and old_session.status_code == 401
    assert new_login.status_code == 200
    assert new_login.json()["kdf"] == new["kdf"]
    assert old_login.status_code == 401
    assert [e["type"] for e in events][-4:] == [
        "account.activated",
        "account.recovery_set",
        "account.recovered",
        "account.passphrase_reset",
    ]


async def test_recovery_refuses_wrong_secrets_alike_and_gives_decoys(
    tmp_path: Path,
) -> None:
    async with site_for(make_config(tmp_path)) as site:
        await _activated(site, "ana", os.urandom(32))
        await _activated(site, "bo", None)
        client = await site.client()
        wrong = await client.post("/api/recover", json=_recover("ana", b"x" * 32))
        unknown = await client.post("/api/recover", json=_recover("nobody", b"x" * 32))
        unset = await client.post("/api/recover", json=_recover("bo", b"x" * 32))
        decoys = [
            (await client.post("/api/recover/params", json={"handle": h})).json()
            for h in ("nobody", "nobody", "bo")
        ]
    for response in (wrong, unknown, unset):
        assert response.status_code == 401
        assert response.json() == {
            "error": "recovery_failed",
            "message": "the handle or the recovery code is wrong",
        }
    assert decoys[0] == decoys[1]
    assert set(decoys[0]["kdf"]) == set(decoys[2]["kdf"]) == set(kdf_params())
    assert decoys[0] != decoys[2]


async def test_recovery_attempts_are_rate_limited(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path, login_failures=2)) as site:
        secret = os.urandom(32)
        await _activated(site, "ana", secret)
        client = await site.client()
        answers = [
            await client.post("/api/recover", json=_recover("ana", b"y" * 32))
            for _ in range(2)
        ]
        right_but_late = await client.post("/api/recover", json=_recover("ana", secret))
    assert [a.status_code for a in answers] == [401, 401]
    assert right_but_late.status_code == 429


async def test_recovery_code_set_later_and_its_session_expires(tmp_path: Path) -> None:
    clock = Clock()
    async with site_for(make_config(tmp_path, clock)) as site:
        client, _, _ = await _activated(site, "ana", None)
        csrf = {"X-CSRF-Token": (await client.get("/api/me")).json()["csrf_token"]}
        secret = os.urandom(32)
        sealed = _sealed_with_recovery()
        put = await client.put(
            "/api/me/recovery",
            json={"recovery_auth": b64url_encode(secret), "account_key": sealed},
            headers=csrf,
        )
        params = await client.post("/api/recover/params", json={"handle": "ana"})
        helper = await site.client()
        opened = await helper.post("/api/recover", json=_recover("ana", secret))
        clock.advance(site.app.state.config.recovery_session_seconds + 1)
        late = await helper.get("/api/me")
    assert put.json() == {"state": "set"}
    assert params.json()["kdf"] == sealed["recovery"]["kdf"]
    assert opened.status_code == 200
    assert opened.json()["account_key"] == sealed
    assert late.status_code == 401
