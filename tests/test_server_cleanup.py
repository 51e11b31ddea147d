"""The cleanup pass: unfinished, expired, consumed, revoked and orphaned shares."""

from __future__ import annotations

from pathlib import Path

from server_support import (
    Clock,
    app_client,
    assert_unavailable,
    claim,
    client_for,
    create,
    make_config,
    ready_share,
    ticket,
)

from server.app import create_app
from server.shares import ShareService


def blobs_of(config_dir: Path, share_id: str) -> list[Path]:
    return sorted(p for p in (config_dir / "blobs").rglob("*") if share_id in p.parts)


async def test_cleanup_removes_unfinished_shares_after_the_upload_window(
    tmp_path: Path,
) -> None:
    clock = Clock()
    config = make_config(tmp_path, clock, upload_window_seconds=3600)
    app = create_app(config)
    async with app_client(app) as client:
        service: ShareService = app.state.shares
        sent = await create(client, [1000], expires_in=7 * 86400)
        await client.put(
            f"{sent.base}/files/0",
            content=sent.files[0][:100],
            headers={**sent.owner, "Upload-Offset": "0"},
        )
        clock.advance(3599)
        assert await service.cleanup() == (0, 0)
        kept = await client.get(f"{sent.base}/status", headers=sent.owner)
        clock.advance(2)
        assert await service.cleanup() == (1, 0)
        gone = await client.get(f"{sent.base}/status", headers=sent.owner)
    assert kept.json()["state"] == "pending"
    assert_unavailable(gone)
    assert blobs_of(config.data_dir, sent.share_id) == []


async def test_cleanup_removes_pending_shares_that_expired(tmp_path: Path) -> None:
    clock = Clock()
    config = make_config(tmp_path, clock)
    app = create_app(config)
    async with app_client(app) as client:
        sent = await create(client, [10], expires_in=60)
        await client.put(
            f"{sent.base}/manifest", content=sent.manifest, headers=sent.owner
        )
        clock.advance(60)
        assert await app.state.shares.cleanup() == (1, 0)
    assert blobs_of(config.data_dir, sent.share_id) == []


async def test_cleanup_deletes_blobs_of_expired_shares_but_keeps_status(
    tmp_path: Path,
) -> None:
    clock = Clock()
    config = make_config(tmp_path, clock, metadata_retention_seconds=1000)
    app = create_app(config)
    async with app_client(app) as client:
        sent = await ready_share(client, [10], expires_in=600)
        live = await ready_share(client, [10], expires_in=6000)
        clock.advance(600)
        assert await app.state.shares.cleanup() == (0, 1)
        status = await client.get(f"{sent.base}/status", headers=sent.owner)
        live_info = await client.get(live.base)
        clock.advance(1001)
        await app.state.shares.cleanup()
        forgotten = await client.get(f"{sent.base}/status", headers=sent.owner)
    assert status.json()["state"] == "expired"
    assert blobs_of(config.data_dir, sent.share_id) == []
    assert live_info.status_code == 200
    assert blobs_of(config.data_dir, live.share_id) != []
    assert_unavailable(forgotten)


async def test_consumed_share_keeps_blobs_while_the_last_ticket_lives(
    tmp_path: Path,
) -> None:
    clock = Clock()
    config = make_config(tmp_path, clock, ticket_seconds=300)
    app = create_app(config)
    async with app_client(app) as client:
        sent = await ready_share(client, [10], max_downloads=1)
        header = await ticket(client, sent)
        clock.advance(299)
        assert await app.state.shares.cleanup() == (0, 0)
        still = await client.get(f"{sent.base}/files/0", headers=header)
        clock.advance(2)
        assert await app.state.shares.cleanup() == (0, 1)
        status = await client.get(f"{sent.base}/status", headers=sent.owner)
    assert still.content == sent.files[0]
    assert status.json()["state"] == "consumed"
    assert blobs_of(config.data_dir, sent.share_id) == []


async def test_cleanup_removes_orphaned_blob_folders(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    app = create_app(config)
    async with app_client(app) as client:
        sent = await ready_share(client, [10])
        await client.delete(sent.base, headers=sent.owner)
        # An upload that raced the revoke left a folder behind.
        stray = config.data_dir / "blobs" / "tmp" / sent.share_id
        stray.mkdir(parents=True)
        (stray / "0").write_bytes(b"late")
        unknown = config.data_dir / "blobs" / ("B" * 22)
        unknown.mkdir()
        assert await app.state.shares.cleanup() == (0, 2)
    assert not stray.exists()
    assert not unknown.exists()


async def test_revoked_share_refuses_claims_before_any_cleanup(tmp_path: Path) -> None:
    async with client_for(make_config(tmp_path)) as client:
        sent = await ready_share(client, [10])
        await client.delete(sent.base, headers=sent.owner)
        assert_unavailable(await claim(client, sent))
