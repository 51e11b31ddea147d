"""Receipts: per recipient and per file download times in the owner's
status and in ``GET /api/sent``; links are only "link claim n"."""

from __future__ import annotations

from pathlib import Path

from account_support import make_box, site_for
from admin_support import admin_get, proof_body, user_share
from server_support import START_TIME, Clock, make_config

from server.storage.accounts_base import Role


async def test_receipts_name_the_recipient_account_and_each_file(
    tmp_path: Path,
) -> None:
    clock = Clock()
    async with site_for(make_config(tmp_path, clock)) as site:
        sender = await site.user("chief", role=Role.ADMIN)
        ana = await site.user("ana")
        sent = await user_share(
            sender,
            [100, 200],
            [{"kind": "account", "id": ana.account_id}],
            max_downloads=3,
        )
        clock.advance(10)
        claimed = await ana.client.post(f"{sent.base}/claim", json=proof_body(sent))
        ticket = {"Sealpost-Ticket": claimed.json()["ticket"]}
        clock.advance(5)
        whole = await ana.client.get(f"{sent.base}/files/0", headers=ticket)
        clock.advance(5)
        part = await ana.client.get(
            f"{sent.base}/files/1", headers={**ticket, "Range": "bytes=0-9"}
        )
        status = await sender.client.get(f"{sent.base}/status", headers=sent.owner)
        clock.advance(5)
        rest = await ana.client.get(
            f"{sent.base}/files/1", headers={**ticket, "Range": "bytes=10-"}
        )
        later = await sender.client.get(f"{sent.base}/status", headers=sent.owner)
    assert whole.content == sent.files[0]
    assert part.status_code == rest.status_code == 206
    [receipt] = status.json()["receipts"]
    assert receipt["recipient"] == {
        "kind": "account",
        "account_id": ana.account_id,
        "handle": "ana",
        "name": "Name of ana",
    }
    assert receipt["claimed_at"] == START_TIME + 10
    assert receipt["files"] == [
        {"index": 0, "downloaded_at": START_TIME + 15},
        {"index": 1, "downloaded_at": None},
    ]
    files = later.json()["receipts"][0]["files"]
    assert files[1] == {"index": 1, "downloaded_at": START_TIME + 25}
    text = later.text
    assert "127.0.0.1" not in text and "agent" not in text.lower()


async def test_receipts_label_links_and_strangers_as_link_claims(
    tmp_path: Path,
) -> None:
    async with site_for(make_config(tmp_path)) as site:
        sender = await site.user("chief", role=Role.ADMIN)
        ana = await site.user("ana")
        stranger = await site.user("bo")
        sent = await user_share(
            sender,
            [50],
            [{"kind": "account", "id": ana.account_id}],
            max_downloads=3,
        )
        anonymous = await site.client("10.9.9.9")
        for client in (anonymous, stranger.client):
            claimed = await client.post(f"{sent.base}/claim", json=proof_body(sent))
            ticket = {"Sealpost-Ticket": claimed.json()["ticket"]}
            got = await client.get(f"{sent.base}/files/0", headers=ticket)
            assert got.status_code == 200
        status = await sender.client.get(f"{sent.base}/status", headers=sent.owner)
    receipts = status.json()["receipts"]
    assert [r["recipient"] for r in receipts] == [
        {"kind": "link", "label": "link claim 1"},
        {"kind": "link", "label": "link claim 2"},
    ]
    assert all(r["files"][0]["downloaded_at"] is not None for r in receipts)


async def test_receipts_name_the_box_member_who_downloaded(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path)) as site:
        admin = await site.user("chief", role=Role.ADMIN)
        ana = await site.user("ana")
        box = await make_box(admin, "cardio", [admin, ana])
        sent = await user_share(admin, [10], [{"kind": "box", "id": box["id"]}])
        claimed = await ana.client.post(f"{sent.base}/claim", json=proof_body(sent))
        assert claimed.status_code == 200
        status = await admin.client.get(f"{sent.base}/status", headers=sent.owner)
    [receipt] = status.json()["receipts"]
    assert receipt["recipient"]["account_id"] == ana.account_id
    assert receipt["files"] == [{"index": 0, "downloaded_at": None}]


async def test_sent_lists_this_accounts_shares_with_receipts(tmp_path: Path) -> None:
    async with site_for(make_config(tmp_path)) as site:
        sender = await site.user("chief", role=Role.ADMIN)
        ana = await site.user("ana")
        first = await user_share(
            sender, [10], [{"kind": "account", "id": ana.account_id}]
        )
        second = await user_share(sender, [10, 10])
        await ana.client.post(f"{first.base}/claim", json=proof_body(first))
        mine = await admin_get(sender, "/api/sent")
        theirs = await admin_get(ana, "/api/sent")
        nobody = await (await site.client()).get("/api/sent")
    by_id = {item["id"]: item for item in mine["shares"]}
    assert set(by_id) == {first.share_id, second.share_id}
    assert by_id[first.share_id]["recipients"] == [
        {"kind": "account", "id": ana.account_id}
    ]
    assert by_id[first.share_id]["downloads"] == 1
    assert by_id[first.share_id]["receipts"][0]["recipient"]["handle"] == "ana"
    assert by_id[second.share_id]["files"] == 2
    assert by_id[second.share_id]["receipts"] == []
    assert theirs["shares"] == []
    assert nobody.status_code == 401


async def test_receipts_go_when_the_share_metadata_is_forgotten(
    tmp_path: Path,
) -> None:
    clock = Clock()
    config = make_config(tmp_path, clock, metadata_retention_seconds=100)
    async with site_for(config) as site:
        sender = await site.user("chief", role=Role.ADMIN)
        sent = await user_share(sender, [10], expires_in=120)
        reader = await site.client()
        await reader.post(f"{sent.base}/claim", json=proof_body(sent))
        receipts = site.app.state.shares.receipts
        before = await receipts.share_ids()
        clock.advance(130)
        await site.app.state.shares.cleanup()
        kept = await receipts.share_ids()
        clock.advance(200)
        await site.app.state.shares.cleanup()
        after = await receipts.share_ids()
    assert before == kept == [sent.share_id]
    assert after == []
