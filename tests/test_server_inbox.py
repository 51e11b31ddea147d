"""Addressed shares and inboxes: staff mail, anonymous deposits and their
limits, reply boxes, read marks, revocation and expiry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from account_support import (
    Site,
    User,
    make_box,
    send_share,
    share_body,
    site_for,
)
from server_support import Clock, cipher_size, make_config

from server.storage.accounts_base import Role


async def _staff(site: Site) -> tuple[User, User]:
    return await site.user("ana"), await site.user("bob")


async def _items(client: Any, path: str, **kwargs: Any) -> list[dict[str, Any]]:
    response = await client.get(path, **kwargs)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_staff_share_lands_in_the_recipients_inbox_once_finalized(
    tmp_path: Path,
) -> None:
    clock = Clock()
    async with site_for(make_config(tmp_path, clock)) as site:
        ana, bob = await _staff(site)
        to_bob = [{"kind": "account", "id": bob.account_id}]
        pending = await send_share(
            ana.client, to_bob, headers=ana.csrf_header, finalize=False
        )
        before = await _items(bob.client, "/api/inbox")
        sent = await send_share(
            ana.client, to_bob, headers=ana.csrf_header, plain_sizes=(10, 20)
        )
        [item] = await _items(bob.client, "/api/inbox")
        own = await _items(ana.client, "/api/inbox")
        read = await bob.post(f"/api/inbox/{sent['id']}/read")
        [after] = await _items(bob.client, "/api/inbox")
        foreign = await ana.post(f"/api/inbox/{sent['id']}/read")
        unfinished = await bob.post(f"/api/inbox/{pending['id']}/read")
        malformed = await bob.post("/api/inbox/x/read")
        no_csrf = await bob.client.post(f"/api/inbox/{sent['id']}/read")
    assert before == []
    assert item == {
        "share_id": sent["id"],
        "sender": {"id": ana.account_id, "handle": "ana", "name": "Name of ana"},
        "created_at": clock.now,
        "expires_at": sent["expires_at"],
        "files": 2,
        "size": cipher_size(10) + cipher_size(20) + 100,
        "read": False,
    }
    assert own == []
    assert read.status_code == 200 and after["read"] is True
    assert foreign.status_code == unfinished.status_code == 404
    assert malformed.status_code == 404
    assert no_csrf.status_code == 403


async def test_one_share_for_several_recipients(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path)) as site:
        admin = await site.user("boss", role=Role.ADMIN)
        ana, bob = await _staff(site)
        box = await make_box(admin, "cardio", [ana])
        sent = await send_share(
            bob.client,
            [
                {"kind": "account", "id": ana.account_id},
                {"kind": "account", "id": admin.account_id},
                {"kind": "box", "id": box["id"]},
            ],
            headers=bob.csrf_header,
        )
        inboxes = [
            await _items(ana.client, "/api/inbox"),
            await _items(admin.client, "/api/inbox"),
            await _items(ana.client, f"/api/boxes/{box['id']}/inbox"),
        ]
        # Read in her own inbox counts for the box too: read is per reader.
        await ana.post(f"/api/inbox/{sent['id']}/read")
        [box_item] = await _items(ana.client, f"/api/boxes/{box['id']}/inbox")
    for items in inboxes:
        assert [i["share_id"] for i in items] == [sent["id"]]
    assert inboxes[2][0]["key_version"] == 1
    assert box_item["read"] is True


@pytest.mark.parametrize(
    ("recipients", "status"),
    [
        ([{"kind": "account", "id": "nobody"}], 404),
        ([{"kind": "box", "id": "nobox"}], 404),
        ([{"kind": "reply", "id": "noreply"}], 404),
        ([{"kind": "group", "id": "x"}], 400),
        ([{"kind": "account"}], 400),
        (["ana"], 400),
        ({"kind": "account"}, 400),
        ([{"kind": "account", "id": "x", "version": 1}], 400),
        ([{"kind": "box", "id": "x", "version": "1"}], 400),
    ],
)
async def test_bad_recipients_are_refused(
    tmp_path: Path, recipients: Any, status: int
) -> None:
    async with site_for(make_config(tmp_path)) as site:
        ana, _ = await _staff(site)
        response = await ana.post(
            "/api/shares", json={**share_body(), "recipients": recipients}
        )
    assert response.status_code == status, response.text


async def test_a_recipient_named_twice_or_pending_is_refused(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path)) as site:
        ana, bob = await _staff(site)
        pending, _ = await site.accounts.provision("new", name="New")
        twice = await ana.post(
            "/api/shares",
            json=share_body([{"kind": "account", "id": bob.account_id}] * 2),
        )
        inactive = await ana.post(
            "/api/shares",
            json=share_body([{"kind": "account", "id": pending.account_id}]),
        )
    assert twice.status_code == 400
    assert inactive.status_code == 404


async def test_anonymous_deposit_reaches_members_only(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path)) as site:
        admin = await site.user("boss", role=Role.ADMIN)
        ana, bob = await _staff(site)
        box = await make_box(admin, "cardio", [ana])
        depositor = await site.client("203.0.113.5")
        first = await send_share(depositor, [{"kind": "box", "id": box["id"]}])
        second = await send_share(depositor, [{"kind": "box", "id": box["id"]}])
        items = await _items(ana.client, f"/api/boxes/{box['id']}/inbox")
        with_owner_token = await depositor.get(
            f"/api/boxes/{box['id']}/inbox", headers=first["owner"]
        )
        own_inbox = await depositor.get("/api/inbox", headers=first["owner"])
        outsider = await bob.client.get(f"/api/boxes/{box['id']}/inbox")
    assert {i["share_id"] for i in items} == {first["id"], second["id"]}
    assert all(i["sender"] is None for i in items)
    assert with_owner_token.status_code == own_inbox.status_code == 401
    assert outsider.status_code == 403


async def test_anonymous_deposit_size_limit(tmp_path: Path) -> None:
    config = make_config(tmp_path, deposit_max_bytes=1000)
    async with site_for(config) as site:
        admin = await site.user("boss", role=Role.ADMIN)
        box = await make_box(admin, "cardio", [])
        depositor = await site.client()
        big = await depositor.post(
            "/api/shares",
            json=share_body([{"kind": "box", "id": box["id"]}], plain_sizes=(600, 401)),
        )
        fits = await depositor.post(
            "/api/shares",
            json=share_body([{"kind": "box", "id": box["id"]}], plain_sizes=(1000,)),
        )
        # Staff are held to the share limits only.
        staff = await admin.post(
            "/api/shares",
            json=share_body([{"kind": "box", "id": box["id"]}], plain_sizes=(5000,)),
        )
    assert big.status_code == 413
    assert big.json()["error"] == "too_large"
    assert fits.status_code == staff.status_code == 201


async def test_anonymous_deposits_are_rate_limited_per_address(tmp_path: Path) -> None:
    clock = Clock()
    config = make_config(
        tmp_path, clock, deposit_rate_count=2, deposit_rate_window_seconds=600
    )
    async with site_for(config) as site:
        admin = await site.user("boss", role=Role.ADMIN)
        box = await make_box(admin, "cardio", [])
        to_box = [{"kind": "box", "id": box["id"]}]
        depositor = await site.client("203.0.113.9")
        for _ in range(2):
            await send_share(depositor, to_box, finalize=False)
        limited = await depositor.post("/api/shares", json=share_body(to_box))
        unaddressed = await depositor.post("/api/shares", json=share_body())
        neighbour = await (await site.client("203.0.113.10")).post(
            "/api/shares", json=share_body(to_box)
        )
        clock.advance(600)
        later = await depositor.post("/api/shares", json=share_body(to_box))
    assert limited.status_code == 429
    assert limited.json()["error"] == "rate_limited"
    assert limited.headers["retry-after"] == "600"
    assert unaddressed.status_code == 201
    assert neighbour.status_code == later.status_code == 201


async def test_box_quota_counts_and_bytes(tmp_path: Path) -> None:
    one_share = cipher_size(100) + 100
    config = make_config(tmp_path, box_quota_count=2, box_quota_bytes=3 * one_share)
    async with site_for(config) as site:
        admin = await site.user("boss", role=Role.ADMIN)
        box = await make_box(admin, "cardio", [admin])
        other = await make_box(admin, "radio", [])
        depositor = await site.client()
        for _ in range(2):
            await send_share(depositor, [{"kind": "box", "id": box["id"]}])
        full = await depositor.post(
            "/api/shares", json=share_body([{"kind": "box", "id": box["id"]}])
        )
        big = await depositor.post(
            "/api/shares",
            json=share_body(
                [{"kind": "box", "id": other["id"]}], plain_sizes=(100,) * 5
            ),
        )
        staff = await admin.post(
            "/api/shares", json=share_body([{"kind": "box", "id": box["id"]}])
        )
        items = await _items(admin.client, f"/api/boxes/{box['id']}/inbox")
    assert full.status_code == big.status_code == 507
    assert full.json()["error"] == "quota_full"
    assert staff.status_code == 201
    assert len(items) == 2


async def test_quota_frees_when_deposits_expire(tmp_path: Path) -> None:
    clock = Clock()
    async with site_for(make_config(tmp_path, clock, box_quota_count=1)) as site:
        admin = await site.user("boss", role=Role.ADMIN)
        box = await make_box(admin, "cardio", [admin])
        depositor = await site.client()
        body = share_body([{"kind": "box", "id": box["id"]}])
        first = await depositor.post("/api/shares", json={**body, "expires_in": 600})
        full = await depositor.post("/api/shares", json=share_body(body["recipients"]))
        clock.advance(600)
        again = await depositor.post("/api/shares", json=share_body(body["recipients"]))
    assert first.status_code == 201
    assert full.status_code == 507
    assert again.status_code == 201


async def test_reply_box_receives_answers_with_its_token(tmp_path: Path) -> None:
    clock = Clock()
    async with site_for(make_config(tmp_path, clock, reply_box_seconds=3600)) as site:
        ana, _ = await _staff(site)
        depositor = await site.client("203.0.113.20")
        created = await depositor.post(
            "/api/reply-boxes", json={"public_key": {"alg": "X25519", "key": "abc"}}
        )
        reply = created.json()
        bearer = {"Authorization": f"Bearer {reply['token']}"}
        base = f"/api/reply-boxes/{reply['id']}/inbox"
        answer = await send_share(
            ana.client, [{"kind": "reply", "id": reply["id"]}], headers=ana.csrf_header
        )
        [item] = await _items(depositor, base, headers=bearer)
        read = await depositor.post(f"{base}/{answer['id']}/read", headers=bearer)
        [after] = await _items(depositor, base, headers=bearer)
        wrong = await depositor.get(
            base, headers={"Authorization": "Bearer " + "A" * 43}
        )
        missing = await depositor.get(base)
        malformed = await depositor.get(base, headers={"Authorization": "Bearer x"})
        other_box = await depositor.get("/api/reply-boxes/nope/inbox", headers=bearer)
        clock.advance(3600)
        expired = await depositor.get(base, headers=bearer)
        late = await ana.post(
            "/api/shares", json=share_body([{"kind": "reply", "id": reply["id"]}])
        )
    assert created.status_code == 201
    assert reply["expires_at"] == clock.now
    assert item["share_id"] == answer["id"]
    assert item["sender"]["handle"] == "ana"
    assert read.status_code == 200 and after["read"] is True
    assert wrong.status_code == other_box.status_code == 404
    assert missing.status_code == malformed.status_code == 401
    assert expired.status_code == late.status_code == 404


async def test_reply_box_needs_a_public_key_and_is_rate_limited(
    tmp_path: Path,
) -> None:
    config = make_config(tmp_path, deposit_rate_count=1)
    async with site_for(config) as site:
        client = await site.client()
        bad = await client.post("/api/reply-boxes", json={"public_key": "k"})
        ok = await client.post("/api/reply-boxes", json={"public_key": {"k": "v"}})
        limited = await client.post("/api/reply-boxes", json={"public_key": {"k": "v"}})
    assert bad.status_code == 400
    assert ok.status_code == 201
    assert limited.status_code == 429


async def test_outsider_reply_lands_in_the_staff_inbox(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path)) as site:
        ana, _ = await _staff(site)
        outsider = await site.client("203.0.113.30")
        sent = await send_share(outsider, [{"kind": "account", "id": ana.account_id}])
        [item] = await _items(ana.client, "/api/inbox")
    assert item["share_id"] == sent["id"]
    assert item["sender"] is None


async def test_revoked_and_expired_shares_leave_the_inbox(tmp_path: Path) -> None:
    clock = Clock()
    async with site_for(make_config(tmp_path, clock)) as site:
        ana, bob = await _staff(site)
        to_bob = [{"kind": "account", "id": bob.account_id}]
        revoked = await send_share(ana.client, to_bob, headers=ana.csrf_header)
        response = await ana.client.delete(
            f"/api/shares/{revoked['id']}", headers=revoked["owner"]
        )
        short = await ana.post(
            "/api/shares", json={**share_body(to_bob), "expires_in": 600}
        )
        assert short.status_code == 201
        kept = await send_share(ana.client, to_bob, headers=ana.csrf_header)
        clock.advance(600)
        items = await _items(bob.client, "/api/inbox")
    assert response.status_code == 200
    assert [i["share_id"] for i in items] == [kept["id"]]


async def test_config_publishes_the_deposit_limits(tmp_path: Path) -> None:
    config = make_config(tmp_path, deposit_max_bytes=123, box_quota_count=7)
    async with site_for(config) as site:
        answer = (await (await site.client()).get("/api/config")).json()
    assert answer["deposit_max_bytes"] == 123
    assert answer["box_quota_count"] == 7
    assert {"deposit_rate_count", "deposit_rate_window_seconds", "box_quota_bytes"} <= (
        set(answer)
    )


async def test_cleanup_drops_expired_and_never_finalized_mail(tmp_path: Path) -> None:
    clock = Clock()
    config = make_config(tmp_path, clock, upload_window_seconds=3600)
    async with site_for(config) as site:
        ana, bob = await _staff(site)
        to_bob = [{"kind": "account", "id": bob.account_id}]
        await send_share(ana.client, to_bob, headers=ana.csrf_header, finalize=False)
        short = await ana.post(
            "/api/shares", json={**share_body(to_bob), "expires_in": 600}
        )
        kept = await send_share(ana.client, to_bob, headers=ana.csrf_header)
        clock.advance(3601)
        dropped = await site.app.state.mail.purge()
        again = await site.app.state.mail.purge()
        items = await _items(bob.client, "/api/inbox")
    assert short.status_code == 201
    assert (dropped, again) == (2, 0)
    assert [i["share_id"] for i in items] == [kept["id"]]


async def test_cleanup_keeps_the_deposit_budget_for_its_whole_window(
    tmp_path: Path,
) -> None:
    clock = Clock()
    config = make_config(
        tmp_path,
        clock,
        deposit_rate_count=1,
        deposit_rate_window_seconds=3600,
        login_window_seconds=60,
    )
    async with site_for(config) as site:
        admin = await site.user("boss", role=Role.ADMIN)
        box = await make_box(admin, "cardio", [])
        to_box = [{"kind": "box", "id": box["id"]}]
        depositor = await site.client()
        first = await depositor.post("/api/shares", json=share_body(to_box))
        clock.advance(120)
        await site.accounts.purge()
        second = await depositor.post("/api/shares", json=share_body(to_box))
    assert first.status_code == 201
    assert second.status_code == 429
