"""``sealpost get``: download, verify and decrypt a share into a folder."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import httpx

from pyodide_crypto import chunked, share
from pyodide_crypto.errors import DecryptionError, FormatError

from . import code, names, place
from .api import WRONG_CODE, NetworkError, ServerApi
from .code import AskCode
from .errors import BadLinkError, CliError, TamperedError, UnreachableError
from .links import parse_link
from .progress import Progress

#: Ciphertext decrypted per step: 256 whole chunks with their tags (4 MiB).
WINDOW_CIPHERTEXT = 256 * chunked.SEALED_CHUNK_SIZE

#: Tries in a row that make no progress before a download is given up.
DOWNLOAD_ATTEMPTS = 4
#: First pause before resuming a broken download; doubles with each try.
RETRY_DELAY_SECONDS = 0.25

#: Most " (n)" variants tried before giving up on a free file name.
_MAX_RENAMES = 1000
#: Temporary files are hidden and recognisable, so a crash leaves no file
#: that looks complete.
_PART_PREFIX = ".sealpost-"
_PART_SUFFIX = ".part"

# C0/C1 controls (escape sequences start with one) and bidi controls.
_TERMINAL_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)

_WRONG_KEY = (
    "this link's key does not open the share (was the whole link copied, "
    "including the part after #?)"
)


@dataclass(frozen=True)
class GetOptions:
    """What the person asked ``sealpost get`` to do."""

    link: str
    out_dir: Path
    force: bool = False
    server: str | None = None
    #: The second-channel code, as typed; only a code share uses it.
    code: str | None = None
    #: How to ask for a missing code; None means "cannot ask" (no terminal).
    ask_code: AskCode | None = None


class _Truncated(Exception):
    """The server ended a file early or sent bytes past its announced size."""


async def get(
    options: GetOptions,
    *,
    out: TextIO,
    err: TextIO,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[Path]:
    """Download the share behind ``options.link`` into ``options.out_dir``.

    The message goes to ``out``; each saved path is reported on ``err``. A
    file is written to a hidden temporary file in its folder and gets its
    name only after its final chunk authenticated; on any failure the
    temporary file is removed, so a damaged or cut file never appears.
    Folders of the share are recreated inside ``options.out_dir`` only
    (:mod:`client.cli.place`). A code share is opened with ``options.code``
    or, failing that, what ``options.ask_code`` returns.

    :raises CliError: bad link, share unavailable, tampered data, network or
        disk failure (each with its own exit status).
    """
    link = parse_link(options.link)
    try:
        link_secret = share.parse_fragment(link.fragment)
    except FormatError:
        raise BadLinkError(_WRONG_KEY) from None
    out_dir = prepare_dir(options.out_dir)

    async with ServerApi(options.server or link.server, transport=transport) as api:
        info = await api.info(link.share_id)
        code_secret = None
        if info.get("code") is None:
            if options.code is not None:
                _warn(err, "this share has no code; --code is ignored")
            envelope = await api.manifest(link.share_id)
        else:
            code_secret = await code.derive(
                link_secret, info["code"], options.code, options.ask_code
            )
            envelope = await api.unlock(link.share_id, code_secret.unlock_proof)
        try:
            recipient = await share.ShareRecipient.open(
                link_secret, envelope, code_secret=code_secret
            )
        except (DecryptionError, FormatError):
            # One message for both: which check failed is nobody's business.
            raise BadLinkError(
                _WRONG_KEY if code_secret is None else WRONG_CODE
            ) from None
        return await receive(
            api,
            link.share_id,
            info,
            recipient,
            out_dir=out_dir,
            force=options.force,
            out=out,
            err=err,
        )


async def receive(
    api: ServerApi,
    share_id: str,
    info: dict[str, Any],
    recipient: share.ShareRecipient,
    *,
    out_dir: Path,
    force: bool,
    out: TextIO,
    err: TextIO,
) -> list[Path]:
    """Save an opened share: the message to ``out``, files into ``out_dir``.

    The one saving path of ``get`` and ``open`` (mailboxes): every path is
    checked before the download is claimed, each file is verified before
    it gets its name (see :func:`get`). ``out_dir`` comes from
    :func:`prepare_dir`.

    :raises CliError: see :func:`get`.
    """
    manifest = recipient.manifest
    target = place.Target(out_dir)
    # Every path is checked before the claim: a refusal costs no download.
    folders = [place.folder_segments(path) for path in manifest.dirs]
    files = [place.split(entry.name) for entry in manifest.files]
    for segments in [*folders, *(parents for parents, _ in files)]:
        target.check(segments)
    sizes = _ciphertext_sizes(info, len(manifest.files))
    for size, entry in zip(sizes, manifest.files, strict=True):
        if size != chunked.ciphertext_size(entry.size):
            raise TamperedError("the server's file list does not match the share")

    # Claim first even for a message alone: reading the share is what the
    # sender's download limit counts, and the claim is what enforces it.
    ticket = await api.claim(share_id, recipient.claim_proof)
    if manifest.message:
        _write_message(out, manifest.message)

    for segments in folders:
        target.folder(segments)
    saved: list[Path] = []
    taken: set[Path] = set()
    for index, (parents, name) in enumerate(files):
        download = _Download(api, recipient, share_id, ticket, index)
        path = await download.save(
            name, sizes[index], target.folder(parents), force, taken, err
        )
        taken.add(path)
        err.write(f"saved {shown(str(path))}\n")
        err.flush()
        saved.append(path)
    return saved


def _warn(err: TextIO, text: str) -> None:
    err.write(f"sealpost: warning: {text}\n")
    err.flush()


def _write_message(out: TextIO, message: str) -> None:
    # A terminal interprets escape sequences; a sender must not be able to
    # move the cursor or rewrite what the screen shows. Pipes get the exact
    # text (C08: byte-identical).
    if out.isatty():
        message = shown(message, keep="\t\n")
    out.write(message + "\n")
    out.flush()


def prepare_dir(out_dir: Path) -> Path:
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
        raise TamperedError("the server's file list does not match the share")
    return sizes


class _Download:
    """One file of a share: fetch, resume, verify, decrypt, publish."""

    def __init__(
        self,
        api: ServerApi,
        recipient: share.ShareRecipient,
        share_id: str,
        ticket: str,
        index: int,
    ) -> None:
        self._api = api
        self._recipient = recipient
        self._share_id = share_id
        self._ticket = ticket
        self._index = index

    async def save(
        self,
        name: str,
        size: int,
        out_dir: Path,
        force: bool,
        taken: set[Path],
        err: TextIO,
    ) -> Path:
        """Write the file into ``out_dir``; return where it was saved.

        ``name`` is one path segment; ``out_dir`` is a checked folder inside
        the output folder (see :mod:`client.cli.place`).
        """
        safe = names.neutralise(name)
        progress = Progress(err, shown(safe), chunked.plaintext_size(size))
        try:
            fd, part_name = tempfile.mkstemp(
                prefix=_PART_PREFIX, suffix=_PART_SUFFIX, dir=out_dir
            )
        except OSError as exc:
            raise CliError(f'cannot write in "{out_dir}": {exc.strerror}') from None
        part = Path(part_name)

        complete = False
        try:
            with os.fdopen(fd, "wb") as handle:
                await self._fetch(size, handle, progress)
                handle.flush()
                os.fsync(handle.fileno())
            final = _publish(part, out_dir, safe, force=force, taken=taken)
            complete = True
            return final
        except (DecryptionError, FormatError):
            raise TamperedError(
                f'file "{shown(safe)}" failed verification (damaged or '
                "tampered with); nothing was saved"
            ) from None
        except _Truncated:
            raise TamperedError(
                f'file "{shown(safe)}" is incomplete on the server; nothing was saved'
            ) from None
        except OSError as exc:
            raise CliError(
                f'cannot write "{shown(safe)}" in "{out_dir}": {exc.strerror or exc}'
            ) from None
        finally:
            progress.finish()
            if not complete:
                with contextlib.suppress(FileNotFoundError):
                    part.unlink()

    async def _fetch(self, size: int, handle: BinaryIO, progress: Progress) -> None:
        """Stream and decrypt ``size`` bytes of ciphertext, resuming by Range.

        Windows end on chunk boundaries and the last one holds exactly the
        final chunk, so the decryptor tells a complete stream from a cut one.
        A broken connection resumes at the first byte not yet decrypted.
        """
        if size < chunked.HEADER_SIZE:
            raise _Truncated
        decryptor: chunked.Decryptor | None = None
        position = 0
        failures = 0
        delay = RETRY_DELAY_SECONDS

        while True:
            before = position
            try:
                async with self._api.download(
                    self._share_id, self._index, self._ticket, start=position
                ) as response:
                    reader = _ExactReader(response.aiter_bytes())
                    if decryptor is None:
                        header = await reader.read(chunked.HEADER_SIZE)
                        decryptor = await self._recipient.file_decryptor(
                            self._index, header
                        )
                        position = chunked.HEADER_SIZE
                    while position < size:
                        length = min(WINDOW_CIPHERTEXT, size - position)
                        final = position + length == size
                        plaintext = await decryptor.open(
                            await reader.read(length), final=final
                        )
                        handle.write(plaintext)
                        position += length
                        progress.update(_plaintext_done(position, size))
                    await reader.expect_end()
                return
            except (httpx.TransportError, NetworkError):
                if position > before:
                    failures, delay = 0, RETRY_DELAY_SECONDS
                failures += 1
                if failures >= DOWNLOAD_ATTEMPTS:
                    raise UnreachableError(
                        "the download broke and could not be resumed; nothing was saved"
                    ) from None
            # Back off so a server that is restarting gets time to come back.
            await asyncio.sleep(delay)
            delay *= 2


def _plaintext_done(position: int, size: int) -> int:
    if position >= size:
        return chunked.plaintext_size(size)
    chunks = (position - chunked.HEADER_SIZE) // chunked.SEALED_CHUNK_SIZE
    return chunks * chunked.CHUNK_SIZE


class _ExactReader:
    """Turns an async stream of arbitrary pieces into reads of exact sizes."""

    def __init__(self, pieces: AsyncIterator[bytes]) -> None:
        self._pieces = pieces
        self._buffer = bytearray()

    async def read(self, size: int) -> bytes:
        while len(self._buffer) < size:
            try:
                self._buffer += await anext(self._pieces)
            except StopAsyncIteration:
                raise _Truncated from None
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    async def expect_end(self) -> None:
        if self._buffer:
            raise _Truncated
        async for piece in self._pieces:
            if piece:
                raise _Truncated


def _publish(
    part: Path, out_dir: Path, name: str, *, force: bool, taken: set[Path]
) -> Path:
    """Give the verified ``part`` file its final name.

    Names already used by this run (two files of one share with the same
    name) are skipped: the later file gets a " (n)" suffix. Without
    ``force`` an existing file is never replaced: the name gets a " (n)"
    suffix instead. With ``force`` the first name this run has not used
    replaces whatever file has it.
    """
    candidates = [name] + [names.numbered(name, n) for n in range(1, _MAX_RENAMES)]
    for candidate in candidates:
        target = out_dir / candidate
        if target in taken:
            continue
        if force:
            if target.is_dir() and not target.is_symlink():
                raise CliError(f'cannot replace the folder "{shown(candidate)}"')
            # os.replace swaps the directory entry: a symlink planted under
            # that name is replaced itself, its target is never written.
            os.replace(part, target)
            return target
        if _claim_name(part, target):
            return target
    raise CliError(f'no free file name for "{shown(name)}" in {out_dir}')


def _claim_name(part: Path, target: Path) -> bool:
    """Move ``part`` to ``target`` unless ``target`` exists (atomically)."""
    try:
        # A hard link fails if the name exists, so nothing created meanwhile
        # is ever replaced.
        os.link(part, target)
    except FileExistsError:
        return False
    except OSError:
        # Some file systems (FAT, some network mounts) have no hard links:
        # reserve the name exclusively, then move the file over it.
        try:
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            return False
        os.replace(part, target)
        return True
    part.unlink()
    return True


def shown(text: str, *, keep: str = "") -> str:
    """Text safe to print on a terminal: controls and bidi marks escaped.

    Other invisible characters stay (a zero-width joiner is part of an
    emoji), since they cannot move the cursor or reorder the line.
    """
    return "".join(
        char
        if char in keep or not _TERMINAL_UNSAFE.match(char)
        else f"\\u{ord(char):04x}"
        for char in text
    )
