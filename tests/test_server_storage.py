"""The two stores: SQLite claims across connections, the folder's uploads."""

from __future__ import annotations

import asyncio
import errno
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from server_support import client_for, create, make_config

from server.errors import OffsetMismatch, TooLarge, UploadBusy, WrongState
from server.storage.base import BlobKey, ShareRecord, ShareState
from server.storage.folder import FolderBlobStore
from server.storage.sqlite import SQLiteMetadataStore


class FullDisk(FolderBlobStore):
    """A folder store whose disk fills up after ``room`` more bytes."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.room: int | None = None

    async def _write(self, handle: Any, data: bytes) -> None:
        if self.room is not None:
            if len(data) > self.room:
                # Like a real disk: part of the write lands, then ENOSPC.
                await handle.write(data[: self.room])
                self.room = 0
                raise OSError(errno.ENOSPC, "No space left on device")
            self.room -= len(data)
        await handle.write(data)


async def test_full_disk_answers_507_and_keeps_the_upload_resumable(
    tmp_path: Path,
) -> None:
    config = make_config(tmp_path)
    store = FullDisk(config.data_dir / "blobs")
    async with client_for(config, blobs=store) as client:
        sent = await create(client, [50_000])
        data = sent.files[0]
        url = f"{sent.base}/files/0"
        first = await client.put(
            url, content=data[:1000], headers={**sent.owner, "Upload-Offset": "0"}
        )
        store.room = 5000
        full = await client.put(
            url, content=data[1000:], headers={**sent.owner, "Upload-Offset": "1000"}
        )
        after = await client.get(f"{url}/upload", headers=sent.owner)
        store.room = None
        resumed = await client.put(
            url, content=data[1000:], headers={**sent.owner, "Upload-Offset": "1000"}
        )
    assert first.json() == {"received": 1000}
    assert full.status_code == 507
    assert full.json()["error"] == "storage_full"
    # Rolled back to what the client knows was stored: never a torn tail.
    assert after.json()["received"] == 1000
    assert resumed.json() == {"received": len(data)}
    published = config.data_dir / "blobs" / sent.share_id / "0"
    assert published.read_bytes() == data


def _chunks(*pieces: bytes) -> AsyncIterator[bytes]:
    async def gen() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece

    return gen()


async def test_folder_store_refuses_a_second_writer(tmp_path: Path) -> None:
    store = FolderBlobStore(tmp_path)
    key = BlobKey.file("A" * 22, 0)
    gate = asyncio.Event()

    async def slow() -> AsyncIterator[bytes]:
        yield b"abc"
        await gate.wait()
        yield b"def"

    first = asyncio.create_task(store.append(key, offset=0, size=10, chunks=slow()))
    # The first writer holds the lock once its first piece is on disk.
    while (await store.status(key)).received < 3:
        await asyncio.sleep(0)
    with pytest.raises(UploadBusy):
        await store.append(key, offset=3, size=10, chunks=_chunks(b"x"))
    with pytest.raises(UploadBusy):
        await store.discard_upload(key)
    gate.set()
    assert await first == 6


async def test_folder_store_offsets_sizes_and_publish(tmp_path: Path) -> None:
    store = FolderBlobStore(tmp_path)
    key = BlobKey.file("A" * 22, 1)
    assert await store.append(key, offset=0, size=6, chunks=_chunks(b"abc")) == 3
    with pytest.raises(OffsetMismatch) as mismatch:
        await store.append(key, offset=0, size=6, chunks=_chunks(b"abc"))
    assert mismatch.value.received == 3
    with pytest.raises(TooLarge):
        await store.append(key, offset=3, size=6, chunks=_chunks(b"de", b"fgh"))
    assert (await store.status(key)).received == 3
    assert await store.size(key) is None
    assert await store.append(key, offset=3, size=6, chunks=_chunks(b"def")) == 6
    await store.publish(key, size=6)
    assert await store.size(key) == 6
    assert b"".join([c async for c in store.read(key, start=2, end=5)]) == b"cde"
    with pytest.raises(WrongState):
        await store.append(key, offset=6, size=6, chunks=_chunks(b""))
    assert await store.share_ids() == ["A" * 22]
    await store.delete_share("A" * 22)
    assert await store.share_ids() == []


@pytest.mark.parametrize("bad", ["../x", "tmp", "a/b", "", "x" * 65])
async def test_folder_store_refuses_unsafe_keys(tmp_path: Path, bad: str) -> None:
    store = FolderBlobStore(tmp_path)
    with pytest.raises(ValueError):
        await store.status(BlobKey(bad, "0"))


def _record(share_id: str, max_downloads: int) -> ShareRecord:
    return ShareRecord(
        share_id=share_id,
        owner_hash=b"o" * 32,
        claim_verifier=b"v" * 32,
        created_at=0.0,
        expires_at=1000.0,
        max_downloads=max_downloads,
        manifest_size=10,
        file_sizes=(100,),
        state=ShareState.READY,
    )


async def test_claims_from_separate_connections_never_exceed_the_limit(
    tmp_path: Path,
) -> None:
    # Two stores on one file stand for two server processes: only SQLite's
    # own locking keeps them from counting past the limit.
    path = tmp_path / "shares.db"
    stores = [SQLiteMetadataStore(path) for _ in range(3)]
    for store in stores:
        await store.open()
    try:
        await stores[0].create(_record("S" * 22, 9))
        results = await asyncio.gather(
            *(stores[i % 3].claim("S" * 22, now=float(i)) for i in range(60))
        )
        record = await stores[1].get("S" * 22)
        times = await stores[2].claim_times("S" * 22)
    finally:
        for store in stores:
            await store.close()
    numbers = sorted(n for n in results if n is not None)
    assert numbers == list(range(1, 10))
    assert record is not None and record.downloads == 9
    assert len(times) == 9


async def test_claims_stop_at_expiry(tmp_path: Path) -> None:
    store = SQLiteMetadataStore(tmp_path / "shares.db")
    await store.open()
    try:
        await store.create(_record("S" * 22, 5))
        assert await store.claim("S" * 22, now=999.0) == 1
        assert await store.claim("S" * 22, now=1000.0) is None
    finally:
        await store.close()
