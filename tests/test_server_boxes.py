"""Drop boxes over the API: creation, the public deposit view, members,
access grants, rotation on removal, and the directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from account_support import (
    Site,
    User,
    make_box,
    public_key,
    send_share,
    site_for,
    wrapped_key,
)
from server_support import make_config

from server.storage.accounts_base import Role


async def _team(site: Site) -> tuple[User, User, User]:
    admin = await site.user("boss", role=Role.ADMIN)
    ana = await site.user("ana")
    bob = await site.user("bob")
    return admin, ana, bob


def _rotation(version: int, remove: list[User], keep: list[User]) -> dict[str, Any]:
    return {
        "version": version,
        "public_key": public_key(),
        "remove": [u.account_id for u in remove],
        "wrapped": [
            {"account_id": u.account_id, "wrapped": wrapped_key()} for u in keep
        ],
    }


async def test_admin_creates_a_box_members_see_it(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path)) as site:
        admin, ana, bob = await _team(site)
        box = await make_box(admin, "cardio", [ana], pending=(bob,))
        seen = await ana.client.get(f"/api/boxes/{box['id']}")
        by_admin = await admin.client.get(f"/api/boxes/{box['id']}")
        pending_view = await bob.client.get(f"/api/boxes/{box['id']}")
    assert box["version"] == 1 and box["slug"] == "cardio"
    answer = seen.json()
    assert seen.status_code == 200
    assert {m["account_id"]: m["state"] for m in answer["members"]} == {
        ana.account_id: "active",
        bob.account_id: "pending",
    }
    assert [v["version"] for v in answer["versions"]] == [1]
    assert [k["version"] for k in answer["my_keys"]] == [1]
    assert by_admin.status_code == 200 and by_admin.json()["my_keys"] == []
    assert pending_view.json()["my_keys"] == []


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"slug": "Not A Slug"}, 400),
        ({"slug": "-cardio"}, 400),
        ({"name": ""}, 400),
        ({"public_key": "pk"}, 400),
        ({"members": [{"account_id": "nobody"}]}, 404),
        ({"members": "all"}, 400),
    ],
)
async def test_box_creation_refuses_bad_input(
    tmp_path: Path, change: dict[str, Any], status: int
) -> None:
    async with site_for(make_config(tmp_path)) as site:
        admin = await site.user("boss", role=Role.ADMIN)
        body = {"name": "Radiology", "slug": "radio", "public_key": public_key()}
        body["members"] = []
        response = await admin.post("/api/boxes", json={**body, **change})
    assert response.status_code == status, response.text


async def test_only_admins_create_boxes_and_slugs_are_unique(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path)) as site:
        admin, ana, _ = await _team(site)
        await make_box(admin, "radio", [])
        by_staff = await ana.post(
            "/api/boxes",
            json={"name": "X", "slug": "x", "public_key": public_key(), "members": []},
        )
        again = await admin.post(
            "/api/boxes",
            json={
                "name": "Y",
                "slug": "radio",
                "public_key": public_key(),
                "members": [],
            },
        )
        pending_member = await admin.post(
            "/api/boxes",
            json={
                "name": "Z",
                "slug": "z",
                "public_key": public_key(),
                "members": [
                    {
                        "account_id": (await site.accounts.provision("new", name="N"))[
                            0
                        ].account_id,
                        "wrapped": wrapped_key(),
                    }
                ],
            },
        )
    assert by_staff.status_code == 403
    assert by_staff.json()["error"] == "forbidden"
    assert again.status_code == 409
    assert pending_member.status_code == 400


async def test_deposit_page_view_is_public(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path)) as site:
        admin, ana, _ = await _team(site)
        box = await make_box(admin, "cardio", [ana])
        anonymous = await site.client()
        page = await anonymous.get("/api/boxes/by-slug/cardio")
        unknown = await anonymous.get("/api/boxes/by-slug/nothing")
        odd = await anonymous.get("/api/boxes/by-slug/NO%20PE")
        private = await anonymous.get(f"/api/boxes/{box['id']}")
        full = (await ana.client.get(f"/api/boxes/{box['id']}")).json()
    assert page.status_code == 200
    assert page.json() == {
        "id": box["id"],
        "name": "Box cardio",
        "department": "Cardiology",
        "version": 1,
        "public_key": full["public_key"],
    }
    assert unknown.status_code == odd.status_code == 404
    assert private.status_code == 401


async def test_non_members_cannot_see_a_box(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path)) as site:
        admin, ana, bob = await _team(site)
        box = await make_box(admin, "cardio", [ana])
        view = await bob.client.get(f"/api/boxes/{box['id']}")
        inbox = await bob.client.get(f"/api/boxes/{box['id']}/inbox")
        missing = await bob.client.get("/api/boxes/nope")
    assert view.status_code == inbox.status_code == 403
    assert missing.status_code == 404


async def test_grant_access_to_a_pending_member(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path)) as site:
        admin, ana, bob = await _team(site)
        carol = await site.user("carol")
        box = await make_box(admin, "cardio", [ana])
        base = f"/api/boxes/{box['id']}"
        added = await admin.post(f"{base}/members", json={"account_id": bob.account_id})
        twice = await admin.post(f"{base}/members", json={"account_id": bob.account_id})
        by_staff = await ana.post(
            f"{base}/members", json={"account_id": carol.account_id}
        )
        by_pending = await bob.put(
            f"{base}/members/{bob.account_id}/key",
            json={"version": 1, "wrapped": wrapped_key()},
        )
        not_member = await ana.put(
            f"{base}/members/{carol.account_id}/key",
            json={"version": 1, "wrapped": wrapped_key()},
        )
        no_version = await ana.put(
            f"{base}/members/{bob.account_id}/key",
            json={"version": 2, "wrapped": wrapped_key()},
        )
        granted = await ana.put(
            f"{base}/members/{bob.account_id}/key",
            json={"version": 1, "wrapped": wrapped_key()},
        )
        me = (await bob.client.get("/api/me")).json()
    assert added.status_code == 201 and twice.status_code == 200
    assert by_staff.status_code == 403
    assert by_pending.status_code == 403
    assert not_member.status_code == 404
    assert no_version.status_code == 404
    assert granted.status_code == 200, granted.text
    [membership] = me["boxes"]
    assert membership["state"] == "active"
    assert [k["version"] for k in membership["keys"]] == [1]


@pytest.mark.parametrize(
    "case", ["missing_remaining", "includes_removed", "extra_account", "old_version"]
)
async def test_rotation_must_cover_exactly_the_remaining_members(
    tmp_path: Path, case: str
) -> None:
    async with site_for(make_config(tmp_path)) as site:
        admin, ana, bob = await _team(site)
        carol = await site.user("carol")
        box = await make_box(admin, "cardio", [ana, bob])
        body = {
            "missing_remaining": _rotation(2, [bob], []),
            "includes_removed": _rotation(2, [bob], [ana, bob]),
            "extra_account": _rotation(2, [bob], [ana, carol]),
            "old_version": _rotation(1, [bob], [ana]),
        }[case]
        refused = await ana.post(f"/api/boxes/{box['id']}/rotate", json=body)
        after = (await bob.client.get(f"/api/boxes/{box['id']}")).json()
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "conflict"
    # Nothing changed: bob is still in with his key of version 1.
    assert after["version"] == 1
    assert [k["version"] for k in after["my_keys"]] == [1]


async def test_removing_a_member_rotates_and_shuts_them_out(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path)) as site:
        admin, ana, bob = await _team(site)
        box = await make_box(admin, "cardio", [ana, bob])
        base = f"/api/boxes/{box['id']}"
        anonymous = await site.client("198.51.100.1")
        before = await send_share(
            anonymous, [{"kind": "box", "id": box["id"], "version": 1}]
        )
        rotation = _rotation(2, [bob], [ana])
        done = await ana.post(f"{base}/rotate", json=rotation)
        stale = await anonymous.post(
            "/api/shares",
            json={
                "claim_verifier": "A" * 43,
                "files": [],
                "manifest_size": 10,
                "recipients": [{"kind": "box", "id": box["id"], "version": 1}],
            },
        )
        after = await send_share(
            anonymous, [{"kind": "box", "id": box["id"], "version": 2}]
        )
        page = (await anonymous.get("/api/boxes/by-slug/cardio")).json()
        ana_view = (await ana.client.get(base)).json()
        ana_inbox = (await ana.client.get(f"{base}/inbox")).json()
        bob_view = await bob.client.get(base)
        bob_inbox = await bob.client.get(f"{base}/inbox")
        bob_me = (await bob.client.get("/api/me")).json()
        bob_keys = await site.app.state.boxes.mail.wrapped_keys(
            box["id"], bob.account_id
        )
    assert done.status_code == 200, done.text
    assert stale.status_code == 409
    assert page["version"] == 2 and page["public_key"] == rotation["public_key"]
    assert [k["version"] for k in ana_view["my_keys"]] == [1, 2]
    assert [m["account_id"] for m in ana_view["members"]] == [ana.account_id]
    assert {i["share_id"]: i["key_version"] for i in ana_inbox["items"]} == {
        before["id"]: 1,
        after["id"]: 2,
    }
    assert bob_view.status_code == bob_inbox.status_code == 403
    assert bob_me["boxes"] == []
    assert bob_keys == []


async def test_rotation_keeps_pending_members_waiting(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path)) as site:
        admin, ana, bob = await _team(site)
        carol = await site.user("carol")
        box = await make_box(admin, "cardio", [ana, bob], pending=(carol,))
        done = await admin.post(
            f"/api/boxes/{box['id']}/rotate", json=_rotation(2, [bob], [ana])
        )
        view = (await carol.client.get(f"/api/boxes/{box['id']}")).json()
    assert done.status_code == 200, done.text
    states = {m["account_id"]: m["state"] for m in view["members"]}
    assert states == {ana.account_id: "active", carol.account_id: "pending"}


async def test_rotation_by_a_non_member_is_forbidden(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path)) as site:
        admin, ana, bob = await _team(site)
        box = await make_box(admin, "cardio", [ana])
        response = await bob.post(
            f"/api/boxes/{box['id']}/rotate", json=_rotation(2, [ana], [])
        )
        bad = await ana.post(
            f"/api/boxes/{box['id']}/rotate",
            json={**_rotation(2, [], [ana]), "remove": [1]},
        )
    assert response.status_code == 403
    assert bad.status_code == 400


async def test_directory_lists_active_accounts_and_boxes(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path)) as site:
        admin, ana, bob = await _team(site)
        await site.provision("pending.person")
        box = await make_box(admin, "cardio", [ana])
        everything = (await ana.client.get("/api/directory")).json()
        search = (await ana.client.get("/api/directory", params={"q": "BOB"})).json()
        by_box = (await ana.client.get("/api/directory", params={"q": "cardio"})).json()
        wildcard = (await ana.client.get("/api/directory", params={"q": "%"})).json()
        too_long = await ana.client.get("/api/directory", params={"q": "x" * 101})
        anonymous = await (await site.client()).get("/api/directory")
    handles = [a["handle"] for a in everything["accounts"]]
    assert handles == ["ana", "bob", "boss"]
    [found] = search["accounts"]
    assert found["id"] == bob.account_id
    assert found["public_key"] == bob.me["public_key"]
    assert search["boxes"] == []
    assert [b["id"] for b in by_box["boxes"]] == [box["id"]]
    assert wildcard == {"accounts": [], "boxes": []}
    assert too_long.status_code == 400
    assert anonymous.status_code == 401
