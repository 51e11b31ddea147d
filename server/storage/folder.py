"""BlobStore on a local folder: uploads in ``blobs/tmp``, published by rename."""

from __future__ import annotations

import asyncio
import errno
import fcntl
import os
import re
import shutil
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import Any

import aiofiles
import aiofiles.os

from server.errors import (
    Incomplete,
    OffsetMismatch,
    StorageFull,
    TooLarge,
    UploadBusy,
    WrongState,
)
from server.storage.base import BlobKey, BlobStatus, BlobStore

# Bytes read from disk per step when streaming a blob out.
READ_CHUNK_SIZE = 256 * 1024
# Share ids and blob names become path components; anything else is a bug.
_SAFE_PART = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_TMP = "tmp"
# errno values that mean "the disk is full" rather than a bug.
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


class FolderBlobStore(BlobStore):
    """Blobs as files under ``<root>``; never holds a whole file in memory.

    An upload grows in ``<root>/tmp/<share>/<name>`` and moves with
    :func:`os.replace` to ``<root>/<share>/<name>`` once complete, so a
    published path is always a whole blob. An exclusive ``flock`` on the
    upload file keeps two requests (or two processes) from appending at once.
    """

    def __init__(self, root: Path) -> None:
        self._root = root

    def _paths(self, key: BlobKey) -> tuple[Path, Path]:
        if not (_SAFE_PART.match(key.share_id) and _SAFE_PART.match(key.name)):
            raise ValueError("blob key must be made of url-safe characters")
        if key.share_id == _TMP:
            raise ValueError("blob key must not name the upload folder")
        return (
            self._root / _TMP / key.share_id / key.name,
            self._root / key.share_id / key.name,
        )

    async def status(self, key: BlobKey) -> BlobStatus:
        upload, final = self._paths(key)
        try:
            stat = await aiofiles.os.stat(final)
        except FileNotFoundError:
            pass
        else:
            return BlobStatus(received=stat.st_size, published=True)
        try:
            stat = await aiofiles.os.stat(upload)
        except FileNotFoundError:
            return BlobStatus(received=0, published=False)
        return BlobStatus(received=stat.st_size, published=False)

    async def _write(self, handle: Any, data: bytes) -> None:
        """Write one piece; a seam for tests that simulate a full disk."""
        await handle.write(data)

    async def append(
        self,
        key: BlobKey,
        *,
        offset: int,
        size: int,
        chunks: AsyncIterable[bytes],
    ) -> int:
        upload, final = self._paths(key)
        if await aiofiles.os.path.exists(final):
            raise WrongState("this upload is already complete")
        try:
            await aiofiles.os.makedirs(upload.parent, exist_ok=True)
        except OSError as exc:
            if exc.errno in _FULL_ERRNOS:
                raise StorageFull() from exc
            raise

        # Unbuffered, so a full disk shows up at the write that hit it and
        # nothing lingers in a buffer after a rollback.
        try:
            handle = await aiofiles.open(upload, "ab", buffering=0)
        except OSError as exc:
            if exc.errno in _FULL_ERRNOS:
                raise StorageFull() from exc
            raise
        try:
            return await self._append_open(
                handle, offset=offset, size=size, chunks=chunks
            )
        finally:
            await handle.close()

    async def _append_open(
        self,
        handle: Any,
        *,
        offset: int,
        size: int,
        chunks: AsyncIterable[bytes],
    ) -> int:
        """Append under an exclusive lock to an open upload file."""
        fd = handle.fileno()
        _lock(fd)
        received = os.fstat(fd).st_size
        if received != offset:
            raise OffsetMismatch(received)

        room = size - offset
        written = 0
        try:
            async for chunk in chunks:
                if not chunk:
                    continue
                if written + len(chunk) > room:
                    raise TooLarge("the body is longer than the declared size")
                await self._write(handle, chunk)
                written += len(chunk)
            await asyncio.to_thread(os.fsync, fd)
        except TooLarge:
            os.ftruncate(fd, offset)
            raise
        except OSError as exc:
            if exc.errno not in _FULL_ERRNOS:
                raise
            # Keep only what was stored before this request: the client
            # resumes from the offset it already knows.
            os.ftruncate(fd, offset)
            raise StorageFull() from exc
        # Any other failure (the client went away) keeps the bytes that
        # arrived; the client asks for the offset and resumes.
        return offset + written

    async def publish(self, key: BlobKey, *, size: int) -> None:
        upload, final = self._paths(key)
        if await aiofiles.os.path.exists(final):
            return
        status = await self.status(key)
        if status.received != size:
            raise Incomplete("a file of this share is not completely uploaded")
        try:
            await aiofiles.os.makedirs(final.parent, exist_ok=True)
            if size == 0 and not await aiofiles.os.path.exists(upload):
                await aiofiles.os.makedirs(upload.parent, exist_ok=True)
                async with aiofiles.open(upload, "wb"):
                    pass
            # rename is atomic: readers see no blob or the whole blob.
            await aiofiles.os.replace(upload, final)
        except OSError as exc:
            if exc.errno in _FULL_ERRNOS:
                raise StorageFull() from exc
            raise

    async def size(self, key: BlobKey) -> int | None:
        _, final = self._paths(key)
        try:
            stat = await aiofiles.os.stat(final)
        except FileNotFoundError:
            return None
        return stat.st_size

    async def read(self, key: BlobKey, *, start: int, end: int) -> AsyncIterator[bytes]:
        _, final = self._paths(key)
        position = start
        while position < end:
            # The file is opened for each piece and closed before the piece
            # is yielded: a response abandoned mid-stream (client gone,
            # server stopping) then leaves no open file behind it.
            async with aiofiles.open(final, "rb") as handle:
                await handle.seek(position)
                data = await handle.read(min(READ_CHUNK_SIZE, end - position))
            if not data:
                raise OSError(errno.EIO, "blob shorter than expected")
            position += len(data)
            yield data

    async def discard_upload(self, key: BlobKey) -> None:
        upload, final = self._paths(key)
        if await aiofiles.os.path.exists(final):
            raise WrongState("this upload is already complete")
        try:
            async with aiofiles.open(upload, "r+b", buffering=0) as handle:
                fd = handle.fileno()
                _lock(fd)
                os.ftruncate(fd, 0)
        except FileNotFoundError:
            return

    async def delete_share(self, share_id: str) -> None:
        upload, final = self._paths(BlobKey(share_id, "x"))
        for folder in (upload.parent, final.parent):
            await asyncio.to_thread(shutil.rmtree, folder, True)

    async def share_ids(self) -> list[str]:
        def scan() -> set[str]:
            found: set[str] = set()
            for folder in (self._root, self._root / _TMP):
                if folder.is_dir():
                    found.update(
                        entry.name
                        for entry in folder.iterdir()
                        if entry.is_dir() and entry.name != _TMP
                    )
            return found

        return sorted(await asyncio.to_thread(scan))


def _lock(fd: int) -> None:
    """Take the append lock of an upload file or refuse at once.

    The lock dies with the descriptor, so a crashed request never leaves an
    upload locked.
    """
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        raise UploadBusy() from exc
