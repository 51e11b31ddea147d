"""``sealpost send``: encrypt files, folders and a message, upload, print a link.

With ``--to`` the share is also sealed to staff mailboxes and drop boxes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import httpx

from pyodide_crypto import kdf, share
from pyodide_crypto.encoding import b64url_encode
from pyodide_crypto.errors import ParameterError
from pyodide_crypto.reply import ReplyTo

from . import addresses
from .account import sign_in
from .api import ServerApi, ServerError
from .errors import CliError, TooLargeError, UsageError
from .links import format_bytes, format_duration
from .mail_api import MailApi
from .upload import upload_file
from .walk import LocalFile, LocalTree, collect


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
    #: ``--to`` addresses: staff handles and ``box:SLUG``.
    to: list[str] = field(default_factory=list)
    #: ``--expect-fingerprint ADDRESS=FP`` values.
    expect: list[str] = field(default_factory=list)
    #: ``--link``: a link as well as the recipients (always without ``to``).
    link: bool = False
    #: ``--as``: send signed in, with a reply key in the manifest.
    handle: str | None = None
    passphrase: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class _Plan:
    """Who gets the share: recipients' keys, a link or not, the reply key."""

    recipients: list[addresses.Recipient]
    link: bool
    reply_to: ReplyTo | None = None


async def send(
    options: SendOptions,
    *,
    out: TextIO,
    err: TextIO,
    transport: httpx.AsyncBaseTransport | None = None,
) -> str:
    """Create a share from ``options`` and return its recipient link (or,
    for recipients only, its id).

    The link goes to ``out``; the owner's manage link goes to ``err`` because
    it grants revocation and must not end up where the link is pasted. With
    ``as_json`` both go to ``out`` as one JSON object, for scripts. Folders
    are sent as trees (:mod:`client.cli.walk`); with ``code`` the share
    opens only with the link and the code. With ``to`` the share key is
    sealed to each recipient's public key (HPKE stanzas) and the share lands
    in their inboxes; each key's fingerprint is shown on ``err`` first.

    :raises CliError: a file cannot be read, a limit is exceeded, a
        fingerprint differs from the expected one, or the server refuses or
        cannot be reached. A share created before the failure is revoked,
        so no half-uploaded share lingers.
    """
    wanted = addresses.parse_addresses(options.to)
    expected = addresses.parse_expectations(options.expect, wanted)
    if wanted and options.code is not None:
        # The server serves a code share's envelope only for the unlock
        # proof, which recipients opening with their keys cannot give.
        raise UsageError("--code protects a link; it cannot go with --to")
    tree = collect(options.paths, lambda text: _warn(err, text))
    if not tree.files and not tree.dirs and not options.message:
        raise CliError("nothing to send: give files, a message, or both")

    async with MailApi(options.server, transport=transport) as api:
        signed = None
        if options.handle is not None:
            assert options.passphrase is not None, "main reads the passphrase"
            signed = await sign_in(api, options.handle, options.passphrase)
        try:
            recipients = await addresses.resolve(
                api, wanted, signed_in=signed is not None
            )
            await addresses.show_and_check(recipients, expected, err)
            reply_to = None
            if signed is not None:
                reply_to = ReplyTo(
                    signed.reply_key, "account", signed.account.account_id
                )
            plan = _Plan(recipients, options.link or not recipients, reply_to)
            return await _share(api, options, tree, plan, out, err)
        finally:
            if signed is not None:
                # Left open, the session would stay valid on the server for
                # hours after the command that needed it.
                with contextlib.suppress(CliError):
                    await api.logout()


async def _share(
    api: ServerApi,
    options: SendOptions,
    tree: LocalTree,
    plan: _Plan,
    out: TextIO,
    err: TextIO,
) -> str:
    files = tree.files
    limits = await api.config()
    expires_in, max_downloads = _check_limits(limits, files, options)

    try:
        sender, envelope = await _seal(options, tree, plan, expires_in, max_downloads)
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
    if plan.recipients:
        body["recipients"] = [r.entry for r in plan.recipients]
    if sender.code_secret is not None:
        # The server gets the KDF description and SHA-256 of the unlock
        # proof, never the code: it can count wrong guesses, not check one.
        verifier = await sender.code_secret.unlock_verifier()
        body["code"] = {
            **sender.code_secret.public(),
            "verifier": b64url_encode(verifier),
        }
    created = await _create(api, body)
    share_id = str(created["id"])
    token = str(created["owner_token"])
    try:
        for item in files:
            await upload_file(api, sender, share_id, token, item, err)
        await api.put_manifest(share_id, token, envelope)
        await api.finalize(share_id, token)
    except BaseException:
        # Best effort: the server also drops unfinished shares after its
        # upload window, so a failure here only delays the cleanup.
        with contextlib.suppress(CliError):
            await asyncio.shield(api.revoke(share_id, token))
        raise

    link = f"{api.server}/s/{share_id}#{sender.fragment}" if plan.link else None
    manage = f"{api.server}/m/{share_id}#{token}"
    _report(options, plan, created, share_id, link, manage, out, err)
    return link or share_id


async def _create(api: ServerApi, body: dict[str, Any]) -> dict[str, Any]:
    try:
        return await api.create_share(body)
    except ServerError as exc:
        if exc.code == "conflict":
            # A box key rotated between the lookup and now: the share is
            # sealed to the old key, which the removed member may hold.
            raise CliError(
                "a box's key changed while sending; nothing was sent, send again"
            ) from None
        raise


def _report(
    options: SendOptions,
    plan: _Plan,
    created: dict[str, Any],
    share_id: str,
    link: str | None,
    manage: str,
    out: TextIO,
    err: TextIO,
) -> None:
    if options.as_json:
        document: dict[str, Any] = {"manage_link": manage, "id": share_id}
        if link is not None:
            document["link"] = link
        document["expires_at"] = created.get("expires_at")
        document["recipients"] = [r.address.text for r in plan.recipients]
        if options.show_code:
            document["code"] = options.code
        out.write(json.dumps(document) + "\n")
    else:
        out.write((link or share_id) + "\n")
        if plan.recipients:
            names = ", ".join(r.address.text for r in plan.recipients)
            err.write(f"sent to {names}\n")
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


async def _seal(
    options: SendOptions,
    tree: LocalTree,
    plan: _Plan,
    expires_in: int,
    max_downloads: int,
) -> tuple[share.ShareSender, bytes]:
    """Register the files and folders and seal the envelope."""
    # With a code this runs Argon2id once (a fraction of a second).
    sender = await share.ShareSender.create(
        code=options.code,
        kdf_params=kdf.DEFAULT,
        recipients=[r.public_key for r in plan.recipients],
        link=plan.link,
    )
    for item in tree.files:
        item.index = sender.add_file(item.name, item.size, item.media_type)
    for folder in tree.dirs:
        sender.add_dir(folder)
    await sender.seal_header()
    envelope = await sender.seal_manifest(
        options.message,
        expires_in=expires_in,
        max_downloads=max_downloads,
        reply_to=plan.reply_to,
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
