"""The administrators' API: accounts list and filters, adding one person,
new activation codes, disable/enable, delete, sessions, waiting members."""

from __future__ import annotations

from pathlib import Path

from account_support import activation_body, make_box, send_share, site_for
from admin_support import activate, admin_get, import_csv
from server_support import make_config

from server.encoding import b64url_encode
from server.storage.accounts_base import Role
from server.storage.mail_base import RecipientKind


async def test_admin_lists_accounts_by_state_department_role_and_query(
    tmp_path: Path,
) -> None:
    text = "nom;service;rôle\nÉlise Martin;Cardiologie;\nPaul Roy;Radiologie;admin\n"
    async with site_for(make_config(tmp_path)) as site:
        admin = await site.user("chief", role=Role.ADMIN)
        answer = (await import_csv(admin, text)).json()
        elise = answer["created"][0]
        await activate(await site.client(), elise["handle"], elise["code"])

        async def handles(**params: str) -> list[str]:
            found = await admin_get(admin, "/api/admin/accounts", **params)
            return [a["handle"] for a in found["accounts"]]

        everyone = await handles()
        pending = await handles(state="pending")
        cardio = await handles(department="Cardiologie")
        admins = await handles(role="admin")
        query = await handles(q="élise")
        bad = await admin.client.get("/api/admin/accounts", params={"state": "x"})
    assert everyone == ["chief", "elise.martin", "paul.roy"]
    assert pending == ["paul.roy"]
    assert cardio == ["elise.martin"]
    assert admins == ["chief", "paul.roy"]
    assert query == ["elise.martin"]
    assert bad.status_code == 400


async def test_admin_adds_one_person_and_refuses_a_taken_handle(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path)) as site:
        admin = await site.user("chief", role=Role.ADMIN)
        made = await admin.post(
            "/api/admin/accounts",
            json={"name": "Inès Dubois", "department": "ICU", "role": "outsider"},
        )
        explicit = await admin.post(
            "/api/admin/accounts",
            json={"name": "Inès Dubois", "handle": "ines.d2", "department": "ICU"},
        )
        again = await admin.post(
            "/api/admin/accounts", json={"name": "Inès Dubois", "department": "ICU"}
        )
    assert made.status_code == 201, made.text
    account = made.json()["account"]
    assert (account["handle"], account["role"]) == ("ines.dubois", "outsider")
    assert explicit.json()["account"]["handle"] == "ines.d2"
    assert again.status_code == 409


async def test_admin_reissued_code_replaces_the_old_one(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path)) as site:
        admin = await site.user("chief", role=Role.ADMIN)
        made = (
            await admin.post(
                "/api/admin/accounts", json={"name": "Ana Lima", "department": "X"}
            )
        ).json()["account"]
        fresh = await admin.post(f"/api/admin/accounts/{made['id']}/code")
        client = await site.client()
        old = await client.post(
            "/api/activate", json=activation_body("ana.lima", made["code"], b"a" * 32)
        )
        new_code = fresh.json()["account"]["code"]
        await activate(client, "ana.lima", new_code)
        active = await admin.post(f"/api/admin/accounts/{made['id']}/code")
    assert fresh.status_code == 200
    assert new_code != made["code"]
    assert old.status_code == 403
    assert active.status_code == 409


async def test_admin_disable_ends_sessions_and_enable_restores_login(
    tmp_path: Path,
) -> None:
    async with site_for(make_config(tmp_path)) as site:
        admin = await site.user("chief", role=Role.ADMIN)
        ana = await site.user("ana")
        off = await admin.post(f"/api/admin/accounts/{ana.account_id}/disable")
        after = await ana.client.get("/api/me")
        login = {"handle": "ana", "auth": b64url_encode(ana.auth)}
        refused = await (await site.client()).post("/api/login", json=login)
        on = await admin.post(f"/api/admin/accounts/{ana.account_id}/enable")
        back = await (await site.client()).post("/api/login", json=login)
        self_off = await admin.post(f"/api/admin/accounts/{admin.account_id}/disable")
    assert off.json() == {"id": ana.account_id, "state": "disabled"}
    assert after.status_code == 401
    assert refused.status_code == 401
    assert on.status_code == 200
    assert back.status_code == 200
    assert self_off.status_code == 409


async def test_admin_revokes_every_session_of_an_account(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path)) as site:
        admin = await site.user("chief", role=Role.ADMIN)
        ana = await site.user("ana")
        second = await site.client()
        login = {"handle": "ana", "auth": b64url_encode(ana.auth)}
        assert (await second.post("/api/login", json=login)).status_code == 200
        revoked = await admin.post(
            f"/api/admin/accounts/{ana.account_id}/revoke-sessions"
        )
        first_after = await ana.client.get("/api/me")
        second_after = await second.get("/api/me")
    assert revoked.json() == {"sessions_ended": 2}
    assert first_after.status_code == 401
    assert second_after.status_code == 401


async def test_admin_delete_drops_login_inbox_and_box_memberships(
    tmp_path: Path,
) -> None:
    async with site_for(make_config(tmp_path)) as site:
        admin = await site.user("chief", role=Role.ADMIN)
        ana = await site.user("ana")
        box = await make_box(admin, "cardio", [admin, ana])
        await send_share(
            admin.client,
            [{"kind": "account", "id": ana.account_id}],
            headers=admin.csrf_header,
        )
        deleted = await admin.client.delete(
            f"/api/admin/accounts/{ana.account_id}", headers=admin.csrf_header
        )
        details = await admin_get(admin, f"/api/boxes/{box['id']}")
        login = {"handle": "ana", "auth": b64url_encode(ana.auth)}
        refused = await (await site.client()).post("/api/login", json=login)
        inbox_rows = await site.app.state.mail.mail.inbox(
            RecipientKind.ACCOUNT,
            ana.account_id,
            reader=ana.account_id,
            now=site.app.state.config.clock(),
        )
        again = await admin.client.delete(
            f"/api/admin/accounts/{ana.account_id}", headers=admin.csrf_header
        )
        handle_free = await admin.post(
            "/api/admin/accounts", json={"name": "Ana", "handle": "ana"}
        )
    assert deleted.json() == {"state": "deleted", "memberships_ended": 1}
    assert [m["account_id"] for m in details["members"]] == [admin.account_id]
    assert refused.status_code == 401
    assert inbox_rows == []
    assert again.status_code == 404
    assert handle_free.status_code == 201


async def test_admin_pending_grants_lists_who_waits_and_who_is_ready(
    tmp_path: Path,
) -> None:
    async with site_for(make_config(tmp_path)) as site:
        admin = await site.user("chief", role=Role.ADMIN)
        ana = await site.user("ana")
        bo, _ = await site.accounts.provision("bo", name="Bo", department="X")
        box = await make_box(admin, "cardio", [admin])
        for account_id in (ana.account_id, bo.account_id):
            await admin.post(
                f"/api/boxes/{box['id']}/members", json={"account_id": account_id}
            )
        waiting = await admin_get(admin, "/api/admin/pending-grants")
        as_staff = await ana.client.get("/api/admin/pending-grants")
    [entry] = waiting["boxes"]
    assert (entry["id"], entry["waiting"], entry["ready"]) == (box["id"], 2, 1)
    ready = {m["account_id"]: m for m in entry["members"]}
    assert ready[ana.account_id]["ready"] is True
    assert ready[ana.account_id]["public_key"] == ana.me["public_key"]
    assert ready[bo.account_id]["ready"] is False
    assert ready[bo.account_id]["public_key"] is None
    assert as_staff.status_code == 403
