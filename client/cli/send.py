"""``sealpost send``: encrypt files, folders and a message, upload, print a link."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import httpx

from pyodide_crypto import chunked, kdf, share
from pyodide_crypto.encoding import b64url_encode
from pyodide_crypto.errors import ParameterError

from .api import NetworkError, ServerApi, ServerError
from .errors import CliError, TooLargeError, UsageError
from .links import format_bytes, format_duration
from .progress import Progress
from .walk import LocalFile, LocalTree, collect

#: Plaintext read, encrypted and uploaded per request: 256 whole chunks (4 MiB).
WINDOW_BYTES = 256 * chunked.CHUNK_SIZE

#: Tries per upload window before giving up (the first try included).
UPLOAD_ATTEMPTS = 4
#: First pause before retrying a window; doubles with each try.
RETRY_DELAY_SECONDS = 0.25

# Server answers after which resuming from the server's offset may help: an
# offset conflict (a previous try did land) or a transient server failure.
_RETRY_STATUSES = frozenset({409, 500, 502, 503, 504})


@dataclass(frozen=True)
class SendOptions:
    """What the person asked ``sealpost send`` to do."""

    server: str
    paths: list[Path]
    message: str
    expires_in: int | None
    max_downloads: int | None
    as_json: bool = False
    #: The second-channel code; without it the link alone opens the share.
    code: str | None = None
    #: Whether ``code`` was generated here and must be shown to the sender.
    show_code: bool = False


async def send(
    options: SendOptions,
    *,
    out: TextIO,
    err: TextIO,
    transport: httpx.AsyncBaseTransport | None = None,
) -> str:
    """Create a share from ``options`` and return its recipient link.

    The link goes to ``out``; the owner's manage link goes to ``err`` because
    it grants revocation and must not end up where the link is pasted. With
    ``as_json`` both go to ``out`` as one JSON object, for scripts. Folders
    are sent as trees (:mod:`client.cli.walk`); with ``code`` the share
    opens only with the link and the code.

    :raises CliError: a file cannot be read, a limit is exceeded, or the
        server refuses or cannot be reached. A share created before the
        failure is revoked, so no half-uploaded share lingers.
    """
    tree = collect(options.paths, lambda text: _warn(err, text))
    files = tree.files
    if not files and not tree.dirs and not options.message:
        raise CliError("nothing to send: give files, a message, or both")

    async with ServerApi(options.server, transport=transport) as api:
        limits = await api.config()
        expires_in, max_downloads = _check_limits(limits, files, options)

        try:
            sender, envelope = await _seal(options, tree, expires_in, max_downloads)
        except ParameterError as exc:
            # walk.collect already checked every path; what is left here is
            # a code or a message the format refuses.
            raise UsageError(f"cannot build the share: {exc}") from None
        if len(envelope) > int(limits["max_manifest_bytes"]):
            raise TooLargeError(
                "the message and file names are too long for this server "
                f"({format_bytes(len(envelope))} encrypted, at most "
                f"{format_bytes(int(limits['max_manifest_bytes']))})"
            )

        body: dict[str, Any] = {
            "expires_in": expires_in,
            "max_downloads": max_downloads,
            "claim_verifier": b64url_encode(sender.claim_verifier),
            "files": [{"size": sender.ciphertext_size(f.index)} for f in files],
            "manifest_size": len(envelope),
        }
        if sender.code_secret is not None:
            # The server gets the KDF description and SHA-256 of the unlock
            # proof, never the code: it can count wrong guesses, not check one.
            verifier = await sender.code_secret.unlock_verifier()
            body["code"] = {
                **sender.code_secret.public(),
                "verifier": b64url_encode(verifier),
            }
        created = await api.create_share(body)
        share_id = str(created["id"])
        token = str(created["owner_token"])
        try:
            for item in files:
                await _upload_file(api, sender, share_id, token, item, err)
            await api.put_manifest(share_id, token, envelope)
            await api.finalize(share_id, token)
        except BaseException:
            # Best effort: the server also drops unfinished shares after its
            # upload window, so a failure here only delays the cleanup.
            with contextlib.suppress(CliError):
                await asyncio.shield(api.revoke(share_id, token))
            raise

    link = f"{api.server}/s/{share_id}#{sender.fragment}"
    manage = f"{api.server}/m/{share_id}#{token}"
    if options.as_json:
        document = {"link": link, "manage_link": manage, "id": share_id}
        document["expires_at"] = created.get("expires_at")
        if options.show_code:
            document["code"] = options.code
        out.write(json.dumps(document) + "\n")
    else:
        out.write(link + "\n")
        err.write(f"manage or revoke this share: {manage}\n")
        if options.show_code:
            err.write(
                f"code (give it by another channel, not with the link): "
                f"{options.code}\n"
            )
        elif options.code is not None:
            err.write("the link opens only with the code: give it by another channel\n")
    out.flush()
    err.flush()
    return link


async def _seal(
    options: SendOptions, tree: LocalTree, expires_in: int, max_downloads: int
) -> tuple[share.ShareSender, bytes]:
    """Register the files and folders and seal the envelope."""
    # With a code this runs Argon2id once (a fraction of a second).
    sender = await share.ShareSender.create(code=options.code, kdf_params=kdf.DEFAULT)
    for item in tree.files:
        item.index = sender.add_file(item.name, item.size, item.media_type)
    for folder in tree.dirs:
        sender.add_dir(folder)
    await sender.seal_header()
    envelope = await sender.seal_manifest(
        options.message, expires_in=expires_in, max_downloads=max_downloads
    )
    return sender, envelope


def _warn(err: TextIO, text: str) -> None:
    err.write(f"sealpost: warning: {text}\n")
    err.flush()


def _check_limits(
    limits: dict[str, Any], files: list[LocalFile], options: SendOptions
) -> tuple[int, int]:
    """Refuse before any upload whatever the server would refuse (C07)."""
    try:
        max_files = int(limits["max_files"])
        max_file = int(limits["max_file_bytes"])
        max_share = int(limits["max_share_bytes"])
        expiry_min = int(limits["expiry_min_seconds"])
        expiry_max = int(limits["expiry_max_seconds"])
        downloads_min = int(limits["downloads_min"])
        downloads_max = int(limits["downloads_max"])
        expires_in = options.expires_in or int(limits["expiry_default_seconds"])
        max_downloads = options.max_downloads or int(limits["downloads_default"])
    except (KeyError, TypeError, ValueError):
        raise CliError("the server sent unexpected limits") from None

    if len(files) > max_files:
        raise TooLargeError(f"too many files: this server accepts at most {max_files}")
    for item in files:
        if item.size > max_file:
            raise TooLargeError(
                f'file "{item.name}" is too large ({format_bytes(item.size)}): '
                f"this server accepts at most {format_bytes(max_file)} per file"
            )
    total = sum(item.size for item in files)
    if total > max_share:
        raise TooLargeError(
            f"the files are too large together ({format_bytes(total)}): this "
            f"server accepts at most {format_bytes(max_share)} per share"
        )
    if not expiry_min <= expires_in <= expiry_max:
        raise UsageError(
            f"--expires must be between {format_duration(expiry_min)} and "
            f"{format_duration(expiry_max)} on this server"
        )
    if not downloads_min <= max_downloads <= downloads_max:
        raise UsageError(
            f"--downloads must be between {downloads_min} and {downloads_max} "
            "on this server"
        )
    return expires_in, max_downloads


async def _upload_file(
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
