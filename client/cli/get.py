"""``sealpost get``: download, verify and decrypt a share into a folder."""

from __future__ import annotations

import contextlib
import os
import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import httpx

from pyodide_crypto import chunked, share
from pyodide_crypto.errors import DecryptionError, FormatError

from .api import ServerApi
from .errors import CliError
from .links import parse_link
from .progress import Progress

#: Ciphertext decrypted per step: 256 whole chunks with their tags.
WINDOW_CIPHERTEXT = 256 * (chunked.CHUNK_SIZE + chunked.TAG_SIZE)

#: Most " (n)" suffixes tried before giving up on a free file name.
_MAX_RENAMES = 1000

_DAMAGED_LINK = "this link is damaged or incomplete (its key does not open the share)"


class _Incomplete(Exception):
    """The server sent fewer or more bytes than the share announced."""


async def get(
    link_text: str,
    out_dir: Path,
    *,
    out: TextIO,
    err: TextIO,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[Path]:
    """Download the share behind ``link_text`` into ``out_dir``.

    The message goes to ``out``; each saved path is reported on ``err``. A
    file appears under its final name only after its last chunk
    authenticated; until then it is written as ``<name>.part`` and removed on
    any failure.

    :raises CliError: bad link, share unavailable, tampered data, network or
        disk failure.
    """
    link = parse_link(link_text)
    try:
        link_secret = share.parse_fragment(link.fragment)
    except FormatError:
        raise CliError(_DAMAGED_LINK) from None
    out_dir = _prepare_dir(out_dir)

    async with ServerApi(link.server, transport=transport) as api:
        info = await api.info(link.share_id)
        envelope = await api.manifest(link.share_id)
        try:
            recipient = await share.ShareRecipient.open(link_secret, envelope)
        except (DecryptionError, FormatError):
            # One message for both: which check failed is nobody's business.
            raise CliError(_DAMAGED_LINK) from None
        manifest = recipient.manifest
        sizes = _ciphertext_sizes(info, len(manifest.files))
        for index, entry in enumerate(manifest.files):
            if sizes[index] != chunked.ciphertext_size(entry.size):
                raise CliError("the server's file list does not match the share")

        if manifest.message:
            out.write(manifest.message + "\n")
            out.flush()
        if not manifest.files:
            return []

        ticket = await api.claim(link.share_id, recipient.claim_proof)
        saved = []
        for index, entry in enumerate(manifest.files):
            path = await _download_file(
                api,
                recipient,
                link.share_id,
                ticket,
                index,
                entry.name,
                sizes[index],
                out_dir,
                err,
            )
            err.write(f"saved {_shown(str(path))}\n")
            saved.append(path)
    return saved


def _prepare_dir(out_dir: Path) -> Path:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f'cannot create "{out_dir}": {exc.strerror or exc}') from None
    if not out_dir.is_dir():
        raise CliError(f'"{out_dir}" is not a folder')
    return out_dir.resolve()


def _ciphertext_sizes(info: dict[str, Any], count: int) -> list[int]:
    try:
        files = sorted(info["files"], key=lambda item: int(item["index"]))
        sizes = [int(item["size"]) for item in files]
        indexes = [int(item["index"]) for item in files]
    except (KeyError, TypeError, ValueError):
        raise CliError("the server sent an unexpected file list") from None
    if indexes != list(range(count)):
        raise CliError("the server's file list does not match the share")
    return sizes


async def _download_file(
    api: ServerApi,
    recipient: share.ShareRecipient,
    share_id: str,
    ticket: str,
    index: int,
    name: str,
    size: int,
    out_dir: Path,
    err: TextIO,
) -> Path:
    """Stream, verify and decrypt one file; publish it only when complete."""
    target = _free_target(out_dir, name)
    part = target.with_name(target.name + ".part")
    plaintext_size = chunked.plaintext_size(size)
    progress = Progress(err, _shown(name), plaintext_size)
    try:
        handle = part.open("xb")
    except OSError as exc:
        raise CliError(f'cannot write "{_shown(str(part))}": {exc.strerror}') from None

    complete = False
    try:
        with handle:
            async with api.download(share_id, index, ticket) as response:
                await _decrypt_stream(
                    response.aiter_bytes(), recipient, index, size, handle, progress
                )
            handle.flush()
            os.fsync(handle.fileno())
        final = _publish(part, out_dir, name)
        complete = True
        return final
    except (DecryptionError, FormatError):
        raise CliError(
            f'file "{_shown(name)}" failed verification (it was damaged or '
            "tampered with); nothing was saved"
        ) from None
    except (_Incomplete, httpx.HTTPError):
        raise CliError(
            f'file "{_shown(name)}" could not be downloaded completely; '
            "nothing was saved"
        ) from None
    except OSError as exc:
        raise CliError(
            f'cannot write "{_shown(str(part))}": {exc.strerror or exc}'
        ) from None
    finally:
        progress.finish()
        if not complete:
            with contextlib.suppress(FileNotFoundError):
                part.unlink()


async def _decrypt_stream(
    chunks: AsyncIterator[bytes],
    recipient: share.ShareRecipient,
    index: int,
    size: int,
    handle: BinaryIO,
    progress: Progress,
) -> None:
    """Decrypt ``size`` bytes of ciphertext from ``chunks`` into ``handle``.

    Windows end on chunk boundaries, and the last window holds exactly the
    final chunk, so the decryptor can tell truncation and trailing data apart
    from a complete stream.
    """
    reader = _ExactReader(chunks)
    if size < chunked.HEADER_SIZE:
        raise _Incomplete
    header = await reader.read(chunked.HEADER_SIZE)
    decryptor = await recipient.file_decryptor(index, header)
    remaining = size - chunked.HEADER_SIZE
    written = 0

    while remaining > WINDOW_CIPHERTEXT:
        plaintext = await decryptor.open(
            await reader.read(WINDOW_CIPHERTEXT), final=False
        )
        handle.write(plaintext)
        written += len(plaintext)
        remaining -= WINDOW_CIPHERTEXT
        progress.update(written)
    plaintext = await decryptor.open(await reader.read(remaining), final=True)
    handle.write(plaintext)
    progress.update(written + len(plaintext))
    await reader.expect_end()


class _ExactReader:
    """Turns an async stream of arbitrary pieces into reads of exact sizes."""

    def __init__(self, chunks: AsyncIterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = bytearray()

    async def read(self, size: int) -> bytes:
        while len(self._buffer) < size:
            try:
                self._buffer += await anext(self._chunks)
            except StopAsyncIteration:
                raise _Incomplete from None
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    async def expect_end(self) -> None:
        if self._buffer:
            raise _Incomplete
        async for piece in self._chunks:
            if piece:
                raise _Incomplete


def _checked_name(name: str) -> str:
    """Refuse any name that could leave the output folder or hide itself.

    pyodide_crypto already neutralises names from the manifest; this is the
    second line of defence, because the manifest is written by the sender.
    """
    bad = (
        not name
        or name in (".", "..")
        or "/" in name
        or "\\" in name
        or any(unicodedata.category(char) == "Cc" for char in name)
        or Path(name).name != name
        or (len(name) >= 2 and name[1] == ":")
    )
    if bad:
        raise CliError(f"refusing to save a file with the unsafe name {name!r}")
    return name


def _candidates(name: str) -> list[str]:
    path = Path(name)
    stem, suffix = (path.stem, path.suffix) if path.stem else (name, "")
    return [name] + [f"{stem} ({n}){suffix}" for n in range(1, _MAX_RENAMES)]


def _free_target(out_dir: Path, name: str) -> Path:
    """The first name, with " (n)" added if needed, that nothing uses yet."""
    for candidate in _candidates(_checked_name(name)):
        target = out_dir / candidate
        if target.resolve().parent != out_dir:
            raise CliError(f"refusing to save a file with the unsafe name {name!r}")
        part = target.with_name(target.name + ".part")
        if not os.path.lexists(target) and not os.path.lexists(part):
            return target
    raise CliError(f'no free file name for "{_shown(name)}" in {out_dir}')


def _publish(part: Path, out_dir: Path, name: str) -> Path:
    """Give the verified ``part`` file its final name, never overwriting.

    ``os.link`` fails if the name exists, so a file created meanwhile by
    someone else is never replaced.
    """
    for candidate in _candidates(name):
        target = out_dir / candidate
        try:
            os.link(part, target)
        except FileExistsError:
            continue
        part.unlink()
        return target
    raise CliError(f'no free file name for "{_shown(name)}" in {out_dir}')


def _shown(text: str) -> str:
    """Text safe to print on a terminal (no escape sequences)."""
    return "".join(
        char if char.isprintable() else repr(char)[1:-1] for char in text
    )
