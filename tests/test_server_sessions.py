"""Sessions: cookies, CSRF, logout, expiry, revocation, passphrase change,
and the promise that logs hold no secret of any of it."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from account_support import (
    activation_body,
    kdf_params,
    make_box,
    send_share,
    site_for,
)
from server_support import Clock, live_server, make_config

from server.app import create_app
from server.encoding import b64url_encode
from server.sessions import COOKIE_NAME
from server.storage.accounts_base import AccountState, Role


def _passphrase_body(old: bytes, new: bytes) -> dict[str, Any]:
    return {
        "auth": b64url_encode(old),
        "new_auth": b64url_encode(new),
        "kdf": kdf_params(),
        "account_key": {"nonce": "bmV3", "ct": b64url_encode(os.urandom(48))},
    }


async def test_me_needs_a_valid_session_cookie(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path)) as site:
        user = await site.user("ana")
        cookie = user.client.cookies[COOKIE_NAME]
        anonymous = await site.client()
        missing = await anonymous.get("/api/me")
        anonymous.cookies.set(COOKIE_NAME, cookie[:-2] + "AA")
        forged = await anonymous.get("/api/me")
        anonymous.cookies.set(COOKIE_NAME, cookie)
        copied = await anonymous.get("/api/me")
    for response in (missing, forged):
        assert response.status_code == 401
        assert response.json()["error"] == "session_required"
    assert copied.status_code == 200


async def test_me_lists_profile_keys_and_box_memberships(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path)) as site:
        admin = await site.user("boss", role=Role.ADMIN)
        user = await site.user("ana")
        box = await make_box(admin, "cardio", [user])
        me = (await user.client.get("/api/me")).json()
    assert me["account"]["role"] == "staff"
    assert me["public_key"] == user.me["public_key"]
    [membership] = me["boxes"]
    assert membership["id"] == box["id"]
    assert membership["state"] == "active"
    assert [k["version"] for k in membership["keys"]] == [1]


@pytest.mark.parametrize("header", [None, "", "wrong", "A" * 43])
async def test_state_changing_requests_need_the_csrf_token(
    tmp_path: Path, header: str | None
) -> None:
    async with site_for(make_config(tmp_path)) as site:
        user = await site.user("ana")
        other = await site.user("bob")
        headers = {} if header is None else {"X-CSRF-Token": header}
        # Another session's token is as wrong as a made-up one.
        foreign = {"X-CSRF-Token": other.csrf}
        attempts = [
            await user.client.post("/api/logout", headers=headers),
            await user.client.post("/api/logout", headers=foreign),
            await user.client.put(
                "/api/me/passphrase",
                json=_passphrase_body(user.auth, os.urandom(32)),
                headers=headers,
            ),
            await user.client.post(
                "/api/shares",
                json={"claim_verifier": "x", "files": [], "manifest_size": 1},
                headers=headers,
            ),
        ]
        still = await user.client.get("/api/me")
    for response in attempts:
        assert response.status_code == 403, response.text
        assert response.json()["error"] == "csrf_failed"
    assert still.status_code == 200


async def test_logout_ends_only_this_session(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path)) as site:
        user = await site.user("ana")
        second = await site.client()
        login = await second.post(
            "/api/login",
            json={"handle": "ana", "auth": b64url_encode(user.auth)},
        )
        cookie = user.client.cookies[COOKIE_NAME]
        out = await user.post("/api/logout")
        after = await user.client.get("/api/me")
        replay = await site.client()
        replay.cookies.set(COOKIE_NAME, cookie)
        replayed = await replay.get("/api/me")
        other = await second.get("/api/me")
    assert login.status_code == 200
    assert out.status_code == 200
    assert 'sealpost_session=""' in out.headers["set-cookie"]
    assert after.status_code == 401
    assert replayed.status_code == 401
    assert other.status_code == 200


async def test_sessions_expire(tmp_path: Path) -> None:
    clock = Clock()
    async with site_for(make_config(tmp_path, clock, session_seconds=3600)) as site:
        user = await site.user("ana")
        clock.advance(3599)
        before = await user.client.get("/api/me")
        clock.advance(1)
        after = await user.client.get("/api/me")
    assert before.status_code == 200
    assert after.status_code == 401


async def test_disabling_revokes_every_session(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path)) as site:
        user = await site.user("ana")
        await site.accounts.set_state("ana", AccountState.DISABLED)
        await site.accounts.set_state("ana", AccountState.ACTIVE)
        # Re-enabling does not bring the old session back.
        after = await user.client.get("/api/me")
    assert after.status_code == 401


async def test_passphrase_change_rewraps_and_ends_other_sessions(
    tmp_path: Path,
) -> None:
    async with site_for(make_config(tmp_path)) as site:
        user = await site.user("ana")
        other = await site.client()
        await other.post(
            "/api/login", json={"handle": "ana", "auth": b64url_encode(user.auth)}
        )
        new_auth = os.urandom(32)
        body = _passphrase_body(user.auth, new_auth)
        changed = await user.put("/api/me/passphrase", json=body)
        me = (await user.client.get("/api/me")).json()
        other_me = await other.get("/api/me")
        params = await other.post("/api/login/params", json={"handle": "ana"})
        old_login = await other.post(
            "/api/login", json={"handle": "ana", "auth": b64url_encode(user.auth)}
        )
        new_login = await other.post(
            "/api/login", json={"handle": "ana", "auth": b64url_encode(new_auth)}
        )
    assert changed.status_code == 200, changed.text
    assert me["kdf"] == body["kdf"] == params.json()["kdf"]
    assert me["account_key"] == body["account_key"]
    # Nothing else changes: the key pair stays.
    assert me["public_key"] == user.me["public_key"]
    assert me["private_key"] == user.me["private_key"]
    assert other_me.status_code == 401
    assert old_login.status_code == 401
    assert new_login.status_code == 200


async def test_passphrase_change_needs_the_old_auth(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path)) as site:
        user = await site.user("ana")
        wrong = await user.put(
            "/api/me/passphrase", json=_passphrase_body(os.urandom(32), os.urandom(32))
        )
        bad = await user.put(
            "/api/me/passphrase", json={**_passphrase_body(user.auth, b""), "kdf": 1}
        )
        again = await user.client.post(
            "/api/login", json={"handle": "ana", "auth": b64url_encode(user.auth)}
        )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "login_failed"
    assert bad.status_code == 400
    assert again.status_code == 200


async def test_no_token_code_auth_or_cookie_reaches_the_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The level `sealpost serve` logs at.
    caplog.set_level(logging.INFO)
    secrets: list[str] = []
    async with site_for(make_config(tmp_path)) as site:
        code = await site.provision("ana.secret-handle", role=Role.ADMIN)
        client = await site.client()
        body = activation_body("ana.secret-handle", code, os.urandom(32))
        await client.post(
            "/api/activate",
            json={**body, "code": "WRONG-WRONG-WRONG"},
        )
        answer = (await client.post("/api/activate", json=body)).json()
        login = await client.post(
            "/api/login", json={"handle": "ana.secret-handle", "auth": body["auth"]}
        )
        csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
        await client.post(
            "/api/login", json={"handle": "ana.secret-handle", "auth": "A" * 43}
        )
        reply = (
            await client.post("/api/reply-boxes", json={"public_key": {"k": "v"}})
        ).json()
        await client.get(
            f"/api/reply-boxes/{reply['id']}/inbox",
            headers={"Authorization": f"Bearer {reply['token']}"},
        )
        sent = await send_share(
            client, [{"kind": "reply", "id": reply["id"]}], headers=csrf
        )
        await client.get("/api/inbox")
        await client.post(f"/api/inbox/{sent['id']}/read", headers=csrf)
        cookie = client.cookies[COOKIE_NAME]
        await client.post("/api/logout", headers=csrf)
        secrets += [
            code,
            code.replace("-", ""),
            "ana.secret-handle",
            body["auth"],
            answer["csrf_token"],
            csrf["X-CSRF-Token"],
            cookie,
            answer["account"]["id"],
            reply["token"],
            reply["id"],
            sent["id"],
            sent["owner_token"],
        ]
    # httpx is the test's client, not the server.
    text = "\n".join(
        r.getMessage() for r in caplog.records if not r.name.startswith("httpx")
    )
    assert "POST /api/activate 200" in text
    for secret in secrets:
        if secret:
            assert secret not in text


async def test_session_over_real_http(tmp_path: Path) -> None:
    app = create_app(make_config(tmp_path))
    async with live_server(app) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as client:
            # uvicorn answers only once the lifespan has opened the stores.
            assert (await client.get("/api/config")).status_code == 200
            _, code = await app.state.accounts.provision("ana", name="Ana")
            body = activation_body("ana", code, os.urandom(32))
            activated = await client.post("/api/activate", json=body)
            csrf = {"X-CSRF-Token": activated.json()["csrf_token"]}
            me = await client.get("/api/me")
            refused = await client.post("/api/logout")
            out = await client.post("/api/logout", headers=csrf)
            after = await client.get("/api/me")
    assert activated.status_code == 200
    assert me.json()["account"]["handle"] == "ana"
    assert refused.status_code == 403
    assert out.status_code == 200
    assert after.status_code == 401
