"""Encrypt and upload one file of a share, window by window, resumably."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, TextIO

from pyodide_crypto import chunked, share

from .api import NetworkError, ServerApi, ServerError
from .errors import CliError
from .progress import Progress
from .walk import LocalFile

#: Plaintext read, encrypted and uploaded per request: 256 whole chunks (4 MiB).
WINDOW_BYTES = 256 * chunked.CHUNK_SIZE

#: Tries per upload window before giving up (the first try included).
UPLOAD_ATTEMPTS = 4
#: First pause before retrying a window; doubles with each try.
RETRY_DELAY_SECONDS = 0.25

# Server answers after which resuming from the server's offset may help: an
# offset conflict (a previous try did land) or a transient server failure.
_RETRY_STATUSES = frozenset({409, 500, 502, 503, 504})


async def upload_file(
    api: ServerApi,
    sender: share.ShareSender,
    share_id: str,
    token: str,
    item: LocalFile,
    err: TextIO,
) -> None:
    """Encrypt and upload one file window by window, never whole in memory."""
    encryptor = await sender.file_encryptor(item.index)
    total = sender.ciphertext_size(item.index)
    progress = Progress(err, item.name, item.size)
    pending = bytes(encryptor.header)
    offset = 0
    remaining = item.size

    try:
        with _open(item.path) as handle:
            while True:
                want = min(WINDOW_BYTES, remaining)
                data = _read(handle, item, want)
                remaining -= want
                sealed = await encryptor.seal(data, final=remaining == 0)
                window = pending + bytes(sealed)
                pending = b""
                offset = await _put_window(
                    api, share_id, token, item.index, offset, window
                )
                progress.update(item.size - remaining)
                if remaining == 0:
                    break
            if _read(handle, item, 1, exact=False):
                raise _changed(item)
    finally:
        progress.finish()

    if offset != total:
        raise CliError("the encrypted size does not match the announced size")


async def _put_window(
    api: ServerApi,
    share_id: str,
    token: str,
    index: int,
    start: int,
    window: bytes,
) -> int:
    """Upload ``window`` at ``start``, resuming from the server's offset.

    After a failed try the server may hold none, part or all of the window;
    asking it how much it received makes the retry append exactly the rest.
    """
    end = start + len(window)
    sent_from = start
    delay = RETRY_DELAY_SECONDS

    for attempt in range(1, UPLOAD_ATTEMPTS + 1):
        try:
            received = await api.put_file(
                share_id, token, index, sent_from, window[sent_from - start :]
            )
        except (NetworkError, ServerError) as exc:
            retryable = isinstance(exc, NetworkError) or exc.status in _RETRY_STATUSES
            if not retryable or attempt == UPLOAD_ATTEMPTS:
                raise
            await asyncio.sleep(delay)
            delay *= 2
            try:
                received = await api.upload_status(share_id, token, index)
            except NetworkError:
                continue
            if not start <= received <= end:
                raise CliError("the server lost part of the upload") from None
            sent_from = received
            if received == end:
                return end
            continue
        if received != end:
            raise CliError("the server acknowledged an unexpected upload size")
        return end
    raise CliError("the upload failed")


def _open(path: Path) -> Any:
    try:
        return path.open("rb")
    except OSError as exc:
        raise CliError(f'cannot read "{path}": {exc.strerror or exc}') from None


def _read(handle: Any, item: LocalFile, size: int, *, exact: bool = True) -> bytes:
    try:
        data = handle.read(size)
    except OSError as exc:
        raise CliError(f'cannot read "{item.path}": {exc.strerror or exc}') from None
    if exact and len(data) != size:
        raise _changed(item)
    return bytes(data)


def _changed(item: LocalFile) -> CliError:
    return CliError(f'"{item.path}" changed while it was being sent')
