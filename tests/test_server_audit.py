"""The audit log: what the services write, its filters, its CSV export, and
that it holds no content. The clock is moved by hand; nothing sleeps."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from account_support import make_box, site_for, wrapped_key
from admin_support import activate, audit, proof_body, user_share
from server_support import START_TIME, Clock, make_config

from server.storage.accounts_base import Role


async def test_audit_records_account_lifecycle_at_clock_times(tmp_path: Path) -> None:
    clock = Clock()
    async with site_for(make_config(tmp_path, clock)) as site:
        admin = await site.user("chief", role=Role.ADMIN)
        clock.advance(10)
        added = await admin.post(
            "/api/admin/accounts",
            json={"name": "Élise Martin", "department": "Cardiologie"},
        )
        assert added.status_code == 201, added.text
        account = added.json()["account"]
        clock.advance(10)
        await activate(await site.client(), account["handle"], account["code"])
        base = f"/api/admin/accounts/{account['id']}"
        for step in ("disable", "enable", "revoke-sessions"):
            clock.advance(10)
            response = await admin.post(f"{base}/{step}")
            assert response.status_code == 200, response.text
        clock.advance(10)
        deleted = await admin.client.delete(base, headers=admin.csrf_header)
        assert deleted.status_code == 200, deleted.text
        events = await audit(admin, account=account["id"])

    assert [(e["type"], e["at"]) for e in events] == [
        ("account.created", START_TIME + 10),
        ("account.activated", START_TIME + 20),
        ("account.disabled", START_TIME + 30),
        ("account.enabled", START_TIME + 40),
        ("account.sessions_revoked", START_TIME + 50),
        ("account.deleted", START_TIME + 60),
    ]
    assert all(e["account_id"] == account["id"] for e in events)
    assert events[0]["actor_id"] == admin.account_id
    assert events[0]["detail"] == {"role": "staff"}
    assert events[1]["actor_id"] is None


async def test_audit_records_box_membership_and_rotation(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path)) as site:
        admin = await site.user("chief", role=Role.ADMIN)
        ana = await site.user("ana")
        bob = await site.user("bob")
        box = await make_box(admin, "cardio", [admin])
        base = f"/api/boxes/{box['id']}"
        for user in (ana, bob):
            response = await admin.post(
                f"{base}/members", json={"account_id": user.account_id}
            )
            assert response.status_code == 201
            response = await admin.put(
                f"{base}/members/{user.account_id}/key",
                json={"version": 1, "wrapped": wrapped_key()},
            )
            assert response.status_code == 200, response.text
        rotated = await admin.post(
            f"{base}/rotate",
            json={
                "version": 2,
                "public_key": {"alg": "X25519", "key": "k", "fingerprint": "f"},
                "remove": [bob.account_id],
                "wrapped": [
                    {"account_id": u.account_id, "wrapped": wrapped_key()}
                    for u in (admin, ana)
                ],
            },
        )
        assert rotated.status_code == 200, rotated.text
        events = await audit(admin, type="box.")

    assert [(e["type"], e["account_id"]) for e in events] == [
        ("box.created", None),
        ("box.member_added", ana.account_id),
        ("box.member_granted", ana.account_id),
        ("box.member_added", bob.account_id),
        ("box.member_granted", bob.account_id),
        ("box.member_removed", bob.account_id),
        ("box.key_rotated", None),
    ]
    assert all(e["box_id"] == box["id"] for e in events)
    assert events[0]["detail"] == {"members": 1, "version": 1}
    assert events[-1]["detail"] == {"removed": 1, "version": 2}


async def test_audit_records_share_created_claimed_revoked_expired(
    tmp_path: Path,
) -> None:
    clock = Clock()
    async with site_for(make_config(tmp_path, clock)) as site:
        admin = await site.user("chief", role=Role.ADMIN)
        kept = await user_share(admin, [10], expires_in=120)
        revoked = await user_share(admin, [10])
        reader = await site.client()
        claimed = await reader.post(f"{kept.base}/claim", json=proof_body(kept))
        assert claimed.status_code == 200
        gone = await reader.delete(revoked.base, headers=revoked.owner)
        assert gone.status_code == 200
        clock.advance(200)
        await site.app.state.shares.cleanup()
        events = await audit(admin, type="share.")

    assert [(e["type"], e["share_id"]) for e in events] == [
        ("share.created", kept.share_id),
        ("share.created", revoked.share_id),
        ("share.claimed", kept.share_id),
        ("share.revoked", revoked.share_id),
        ("share.expired", kept.share_id),
    ]
    assert events[2]["detail"] == {"claim": 1}


async def test_audit_filters_by_type_time_account_and_limit(tmp_path: Path) -> None:
    clock = Clock()
    async with site_for(make_config(tmp_path, clock)) as site:
        admin = await site.user("chief", role=Role.ADMIN)
        ids = []
        for name in ("Ana One", "Bob Two", "Cy Three"):
            clock.advance(100)
            response = await admin.post(
                "/api/admin/accounts", json={"name": name, "department": "X"}
            )
            ids.append(response.json()["account"]["id"])
        created = await audit(admin, type="account.created")
        window = await audit(
            admin, since=START_TIME + 200, until=START_TIME + 300, type="account."
        )
        one = await audit(admin, account=ids[2])
        limited = await audit(admin, type="account.created", limit=2)
        bad = await admin.client.get("/api/admin/audit", params={"since": "soon"})

    assert [e["account_id"] for e in created][-3:] == ids
    assert [e["account_id"] for e in window] == [ids[1]]
    assert [e["type"] for e in one] == ["account.created"]
    assert len(limited) == 2
    assert bad.status_code == 400


async def test_audit_csv_is_quoted_utf8_and_holds_no_content(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path)) as site:
        admin = await site.user("chief", role=Role.ADMIN)
        await admin.post(
            "/api/admin/import",
            content="nom;service\nZoë « Secret » Lefèvre;Pédiatrie, aile B\n".encode(),
        )
        await user_share(admin, [10, 20])
        response = await admin.client.get("/api/admin/audit", params={"format": "csv"})
        events = await audit(admin)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    text = response.content.decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [r["type"] for r in rows] == [e["type"] for e in events]
    assert [int(r["id"]) for r in rows] == [e["id"] for e in events]
    assert {r["share_id"] for r in rows if r["type"] == "share.created"} != {""}
    assert "accounts.imported" in {r["type"] for r in rows}
    for secret in ("Zoë", "Lefèvre", "Secret", "Pédiatrie", "aile B", "code"):
        assert secret not in text


async def test_audit_needs_an_administrator(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path)) as site:
        staff = await site.user("ana")
        anonymous = await site.client("10.0.0.9")
        as_staff = await staff.client.get("/api/admin/audit")
        nobody = await anonymous.get("/api/admin/audit")
    assert as_staff.status_code == 403
    assert nobody.status_code == 401
