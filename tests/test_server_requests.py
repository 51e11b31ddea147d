"""Self-service account requests: start, request with the client's keys,
the administrators' list with public keys, approval, rejection, limits."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
from account_support import b64, kdf_params, make_box, public_key, site_for
from admin_support import admin_get, audit
from server_support import make_config

from server.encoding import b64url_encode
from server.storage.accounts_base import Role


def _request_body(account_id: str, handle: str, auth: bytes) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "handle": handle,
        "name": f"Name of {handle}",
        "department": "Cardiologie",
        "kdf": kdf_params(),
        "auth": b64url_encode(auth),
        "account_key": {"nonce": b64(12), "ct": b64(48)},
        "public_key": public_key(),
        "private_key": {"nonce": b64(12), "ct": b64(64)},
    }


async def _ask(
    client: httpx.AsyncClient, handle: str, auth: bytes
) -> tuple[httpx.Response, dict[str, Any]]:
    start = await client.post("/api/requests/start")
    assert start.status_code == 200, start.text
    body = _request_body(start.json()["account_id"], handle, auth)
    return await client.post("/api/requests", json=body), body


async def test_request_waits_for_approval_then_logs_in(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path)) as site:
        admin = await site.user("chief", role=Role.ADMIN)
        box = await make_box(admin, "cardiologie", [admin])
        person = await site.client("10.1.1.1")
        auth = os.urandom(32)
        sent, body = await _ask(person, "nadia", auth)
        login = {"handle": "nadia", "auth": b64url_encode(auth)}
        before = await person.post("/api/login", json=login)
        listed = await admin_get(admin, "/api/admin/requests")
        account_id = sent.json()["account_id"]
        approved = await admin.post(f"/api/admin/requests/{account_id}/approve")
        after = await person.post("/api/login", json=login)
        twice = await admin.post(f"/api/admin/requests/{account_id}/approve")
        details = await admin_get(admin, f"/api/boxes/{box['id']}")
        events = await audit(admin, account=account_id)
    assert sent.status_code == 201, sent.text
    assert sent.json()["state"] == "requested"
    assert before.status_code == 401
    [entry] = listed["requests"]
    assert entry["handle"] == "nadia" and entry["state"] == "requested"
    assert entry["public_key"] == body["public_key"]
    assert approved.json() == {"id": account_id, "state": "active"}
    assert after.status_code == 200
    assert after.json()["account_key"] == body["account_key"]
    assert twice.status_code == 404
    members = {m["account_id"]: m["state"] for m in details["members"]}
    assert members[account_id] == "pending"
    assert [e["type"] for e in events] == [
        "account.requested",
        "account.approved",
        "box.member_added",
    ]


async def test_rejected_request_is_deleted_and_frees_the_handle(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path)) as site:
        admin = await site.user("chief", role=Role.ADMIN)
        person = await site.client("10.1.1.2")
        sent, _ = await _ask(person, "nadia", os.urandom(32))
        account_id = sent.json()["account_id"]
        rejected = await admin.post(f"/api/admin/requests/{account_id}/reject")
        listed = await admin_get(admin, "/api/admin/requests")
        again, _ = await _ask(person, "nadia", os.urandom(32))
        events = await audit(admin, type="account.rejected")
    assert rejected.json() == {"state": "rejected"}
    assert listed["requests"] == []
    assert again.status_code == 201
    assert [e["account_id"] for e in events] == [account_id]


async def test_request_refuses_a_made_up_id_a_taken_handle_and_a_replay(
    tmp_path: Path,
) -> None:
    async with site_for(make_config(tmp_path)) as site:
        await site.user("chief", role=Role.ADMIN)
        person = await site.client("10.1.1.3")
        forged = await person.post(
            "/api/requests",
            json=_request_body(b64url_encode(os.urandom(24)), "x1", os.urandom(32)),
        )
        taken, _ = await _ask(person, "chief", os.urandom(32))
        first, body = await _ask(person, "y1", os.urandom(32))
        replay = await person.post("/api/requests", json={**body, "handle": "y2"})
    assert forged.status_code == 400
    assert "requests/start" in forged.json()["message"]
    assert taken.status_code == 409
    assert first.status_code == 201
    assert replay.status_code == 409


async def test_requests_are_rate_limited_per_address(tmp_path: Path) -> None:
    config = make_config(tmp_path, request_rate_count=2)
    async with site_for(config) as site:
        here = await site.client("10.2.2.2")
        elsewhere = await site.client("10.3.3.3")
        answers = [await here.post("/api/requests/start") for _ in range(3)]
        other = await elsewhere.post("/api/requests/start")
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert int(answers[2].headers["retry-after"]) > 0
    assert other.status_code == 200


async def test_request_list_and_decisions_need_an_administrator(
    tmp_path: Path,
) -> None:
    async with site_for(make_config(tmp_path)) as site:
        staff = await site.user("ana")
        anonymous = await site.client("10.4.4.4")
        nobody = await anonymous.get("/api/admin/requests")
        as_staff = await staff.post(f"/api/admin/requests/{staff.account_id}/approve")
    assert nobody.status_code == 401
    assert as_staff.status_code == 403
