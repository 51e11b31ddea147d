"""The app on a real uvicorn on 127.0.0.1: streaming, cut uploads, logs."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from server_support import (
    assert_unavailable,
    claim,
    create,
    live_server,
    make_config,
    ready_share,
    ticket,
)

from server.app import create_app
from server.encoding import b64url_encode

# Bound of every condition wait below; reaching it means the test failed.
WAIT_SECONDS = 30


class _Finished(logging.Handler):
    """Sets an event when the access log reports a request of a route."""

    def __init__(self, method: str, template: str) -> None:
        super().__init__()
        self.wanted = (method, template)
        self.event = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if tuple(record.args or ())[:2] == self.wanted:
            self.event.set()


async def test_concurrent_claims_over_http_never_exceed_the_limit(
    tmp_path: Path,
) -> None:
    app = create_app(make_config(tmp_path))
    async with live_server(app) as base_url:
        limits = httpx.Limits(max_connections=64)
        async with httpx.AsyncClient(base_url=base_url, limits=limits) as client:
            sent = await ready_share(client, [1000], max_downloads=5)
            answers = await asyncio.gather(*(claim(client, sent) for _ in range(64)))
            status = await client.get(f"{sent.base}/status", headers=sent.owner)
    codes = [response.status_code for response in answers]
    assert codes.count(200) == 5
    assert codes.count(404) == 59
    assert status.json()["downloads"] == 5


async def test_streamed_upload_and_ranged_download(tmp_path: Path) -> None:
    app = create_app(make_config(tmp_path))
    async with live_server(app) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as client:
            sent = await create(client, [3 * 1024 * 1024])
            data = sent.files[0]

            async def pieces() -> AsyncIterator[bytes]:
                for start in range(0, len(data), 100_000):
                    yield data[start : start + 100_000]

            put = await client.put(
                f"{sent.base}/files/0",
                content=pieces(),
                headers={**sent.owner, "Upload-Offset": "0"},
            )
            await client.put(
                f"{sent.base}/manifest", content=sent.manifest, headers=sent.owner
            )
            await client.post(f"{sent.base}/finalize", headers=sent.owner)
            header = await ticket(client, sent)
            whole = bytearray()
            async with client.stream(
                "GET", f"{sent.base}/files/0", headers=header
            ) as response:
                async for chunk in response.aiter_bytes():
                    whole += chunk
            part = await client.get(
                f"{sent.base}/files/0",
                headers={**header, "Range": "bytes=1000000-1999999"},
            )
    assert put.json() == {"received": len(data)}
    assert bytes(whole) == data
    assert part.status_code == 206
    assert part.content == data[1_000_000:2_000_000]


async def test_cut_upload_is_kept_resumable_and_not_published(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sealpost.access")
    config = make_config(tmp_path)
    app = create_app(config)
    finished = _Finished("PUT", "/api/shares/{share_id}/files/{index:int}")
    access = logging.getLogger("sealpost.access")
    access.addHandler(finished)
    try:
        async with live_server(app) as base_url:
            async with httpx.AsyncClient(base_url=base_url) as client:
                sent = await create(client, [200_000])
                data = sent.files[0]
                host, port = base_url.removeprefix("http://").split(":")

                # A raw connection that promises the whole file, sends part
                # of it, waits until the server stored that part, then dies.
                reader, writer = await asyncio.open_connection(host, int(port))
                head = (
                    f"PUT {sent.base}/files/0 HTTP/1.1\r\n"
                    f"Host: {host}\r\n"
                    f"Authorization: Bearer {sent.owner_token}\r\n"
                    "Upload-Offset: 0\r\n"
                    f"Content-Length: {len(data)}\r\n\r\n"
                )
                writer.write(head.encode() + data[:70_000])
                await writer.drain()
                async with asyncio.timeout(WAIT_SECONDS):
                    while True:
                        status = await client.get(
                            f"{sent.base}/files/0/upload", headers=sent.owner
                        )
                        if status.json()["received"] == 70_000:
                            break
                        await asyncio.sleep(0.01)  # condition wait, bounded
                writer.transport.abort()
                await asyncio.wait_for(finished.event.wait(), WAIT_SECONDS)

                kept = await client.get(
                    f"{sent.base}/files/0/upload", headers=sent.owner
                )
                await client.put(
                    f"{sent.base}/manifest", content=sent.manifest, headers=sent.owner
                )
                early = await client.post(f"{sent.base}/finalize", headers=sent.owner)
                info = await client.get(sent.base)
                published = config.data_dir / "blobs" / sent.share_id / "0"
                was_published = published.exists()
                rest = await client.put(
                    f"{sent.base}/files/0",
                    content=data[70_000:],
                    headers={**sent.owner, "Upload-Offset": "70000"},
                )
                done = await client.post(f"{sent.base}/finalize", headers=sent.owner)
                header = await ticket(client, sent)
                blob = await client.get(f"{sent.base}/files/0", headers=header)
    finally:
        access.removeHandler(finished)

    assert kept.json() == {"received": 70_000, "size": len(data)}
    assert early.status_code == 409 and early.json()["error"] == "incomplete"
    assert_unavailable(info)
    assert not was_published
    assert rest.json() == {"received": len(data)}
    assert done.json() == {"state": "ready"}
    assert blob.content == data


async def test_logs_never_hold_ids_tokens_tickets_or_proofs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # INFO is what `sealpost serve` logs at.
    caplog.set_level(logging.INFO)
    app = create_app(make_config(tmp_path))
    async with live_server(app) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as client:
            sent = await ready_share(client, [5000], max_downloads=1)
            header = await ticket(client, sent)
            await client.get(f"{sent.base}/files/0", headers=header)
            await client.get(f"{sent.base}/files/0", headers={"Range": "bytes=9-"})
            await claim(client, sent)
            await client.get(f"/s/{sent.share_id}")
            await client.get(f"/m/{sent.share_id}")
            await client.get(f"/download/{sent.share_id}/name.txt")
            await client.get(f"{sent.base}/status", headers=sent.owner)
            await client.delete(sent.base, headers=sent.owner)

    # httpx and httpcore log on the client's side of this test, not the server.
    server_records = [
        record
        for record in caplog.records
        if not record.name.startswith(("httpx", "httpcore"))
    ]
    text = "\n".join(record.getMessage() for record in server_records)
    secrets = [
        sent.share_id,
        sent.owner_token,
        header["Sealpost-Ticket"],
        b64url_encode(sent.proof),
        "name.txt",
    ]
    for secret in secrets:
        assert secret not in text
    # The access line is there, with the route template instead of the path.
    assert "GET /api/shares/{share_id}/files/{index:int} 200" in text
    assert "DELETE /api/shares/{share_id} 200" in text


async def test_unexpected_errors_answer_500_without_details(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(make_config(tmp_path))
    async with live_server(app) as base_url:
        async with httpx.AsyncClient(base_url=base_url) as client:
            sent = await ready_share(client, [10])
            # Damage the store under the app: the manifest loses a byte.
            manifest = tmp_path / "data" / "blobs" / sent.share_id / "manifest"
            os.truncate(manifest, len(sent.manifest) - 1)
            response = await client.get(f"{sent.base}/manifest")
            after = await client.get(sent.base)
    assert response.status_code == 500
    assert response.json()["error"] == "internal"
    assert after.status_code == 200
    assert "Failed GET /api/shares/{share_id}/manifest: RuntimeError." in caplog.text
    assert sent.share_id not in caplog.text
    assert "Traceback" not in caplog.text
