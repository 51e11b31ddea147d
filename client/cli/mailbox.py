"""``sealpost inbox`` and ``sealpost open``: a staff member's inboxes.

The server lists what arrived (sender, date, size, read) in the account's
own inbox and in the inbox of each box the account belongs to. Subject,
message and file names stay in the encrypted manifest: ``inbox --open``
decrypts them here, and ``open`` saves a share through the same code as
``sealpost get`` (:func:`client.cli.get.receive`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from pyodide_crypto import boxes, keys, share
from pyodide_crypto.errors import DecryptionError, FormatError, ParameterError

from .account import SignedIn, fingerprint_text
from .errors import CliError, TamperedError, UnavailableError, WrongSecretError
from .get import prepare_dir, receive, shown
from .links import format_bytes
from .mail_api import MailApi

OWN_INBOX = "mine"


@dataclass(frozen=True)
class Item:
    """One inbox entry: where it is (own inbox or a box) and what the server
    says of it."""

    inbox: str
    box: dict[str, Any] | None
    entry: dict[str, Any]

    @property
    def share_id(self) -> str:
        return str(self.entry.get("share_id"))

    @property
    def sender(self) -> str:
        sender = self.entry.get("sender")
        if not isinstance(sender, dict):
            return "anonymous"
        return f"{sender.get('handle')} ({sender.get('name')})"


def _memberships(signed: SignedIn, slug: str | None) -> list[dict[str, Any]]:
    found = [b for b in signed.me.get("boxes", []) if isinstance(b, dict)]
    if slug is None:
        return found
    chosen = [b for b in found if b.get("slug") == slug.lower()]
    if not chosen:
        raise CliError(f"you are not a member of box:{slug}")
    return chosen


async def collect(api: MailApi, signed: SignedIn, slug: str | None) -> list[Item]:
    """Items of the own inbox (unless ``slug`` names one box) and the boxes'."""
    items = []
    if slug is None:
        items += [Item(OWN_INBOX, None, entry) for entry in await api.inbox()]
    for box in _memberships(signed, slug):
        # The slug comes from the server: it goes to the terminal escaped.
        label = shown(f"box:{box.get('slug')}")
        entries = await api.box_inbox(str(box.get("id")))
        items += [Item(label, box, entry) for entry in entries]
    return items


@dataclass
class Keyring:
    """The key pairs that may open an item: the account's, and box keys
    opened from the member's grants on first use (in memory only)."""

    api: MailApi
    signed: SignedIn
    _box_keys: dict[tuple[str, int], keys.KeyPair] = field(default_factory=dict)

    async def for_item(self, item: Item) -> list[keys.KeyPair]:
        """The account's key pairs, or the box keys of the item's version.

        :raises WrongSecretError: no key of the box version the item needs.
        :raises TamperedError: a grant that does not open.
        """
        if item.box is None:
            return list(self.signed.account.key_pairs)
        version = item.entry.get("key_version")
        held = [k for k in item.box.get("keys", []) if isinstance(k, dict)]
        wanted = [k for k in held if version is None or k.get("version") == version]
        if not wanted:
            raise WrongSecretError(
                f"you hold no key of {item.inbox} for this deposit (key version "
                f"{version}): a member must grant it to you"
            )
        return [await self._box_key(item, grant) for grant in wanted]

    async def _box_key(self, item: Item, held: dict[str, Any]) -> keys.KeyPair:
        assert item.box is not None
        box_id, version = str(item.box.get("id")), held.get("version")
        if type(version) is not int:
            raise CliError("the server sent an unexpected box key")
        cached = self._box_keys.get((box_id, version))
        if cached is not None:
            return cached
        public = item.box.get("public_key")
        if version != item.box.get("version"):
            public = await self._old_public_key(box_id, version)
        try:
            box_key = await boxes.open_grant(
                box_id,
                version,
                public,
                [held.get("wrapped")],
                self.signed.account.key_pairs,
            )
        except (DecryptionError, FormatError, ParameterError):
            raise TamperedError(
                f"your key of {item.inbox} failed verification (damaged or "
                "tampered with)"
            ) from None
        self._box_keys[(box_id, version)] = box_key.key_pair
        return box_key.key_pair

    async def _old_public_key(self, box_id: str, version: int) -> object:
        for entry in (await self.api.box(box_id)).get("versions", []):
            if isinstance(entry, dict) and entry.get("version") == version:
                return entry.get("public_key")
        raise CliError("the server lists no public key for this box key version")


async def _open_envelope(
    api: MailApi, item: Item, ring: Keyring
) -> tuple[dict[str, Any], share.ShareRecipient]:
    pairs = await ring.for_item(item)
    info = await api.info(item.share_id)
    envelope = await api.manifest(item.share_id)
    try:
        recipient = await share.ShareRecipient.open_with_keys(envelope, pairs)
    except (DecryptionError, FormatError):
        # The server put it in this inbox, so it should open: whether the
        # stanza was modified or sealed to other keys is one answer.
        raise TamperedError(
            "this share failed verification with your keys (damaged, tampered "
            "with, or not sealed to you)"
        ) from None
    return info, recipient


async def list_inbox(
    api: MailApi,
    signed: SignedIn,
    *,
    slug: str | None,
    decrypt: bool,
    as_json: bool,
    out: TextIO,
) -> list[Item]:
    """Print the items; with ``decrypt`` also message and names (no download
    is counted: reading a manifest is not a claim)."""
    items = await collect(api, signed, slug)
    ring = Keyring(api, signed)
    documents = []
    for item in items:
        document = {"inbox": item.inbox, **item.entry}
        if decrypt:
            document.update(await _peek(api, item, ring))
        documents.append(document)
    if as_json:
        out.write(json.dumps({"items": documents}, ensure_ascii=False) + "\n")
    else:
        _print(out, items, documents)
    out.flush()
    return items


def _print(out: TextIO, items: list[Item], documents: list[dict[str, Any]]) -> None:
    if not items:
        out.write("no shares\n")
    for item, document in zip(items, documents, strict=True):
        out.write(shown(_line(item)) + "\n")
        if "message" in document:
            first = str(document["message"]).partition("\n")[0]
            out.write(f"    message: {shown(first)}\n")
            names = ", ".join(document["names"]) or "(none)"
            out.write(f"    files: {shown(names)}\n")
        elif "error" in document:
            out.write(f"    {document['error']}\n")


async def _peek(api: MailApi, item: Item, ring: Keyring) -> dict[str, Any]:
    try:
        _, recipient = await _open_envelope(api, item, ring)
    except (TamperedError, WrongSecretError) as exc:
        return {"error": str(exc)}
    manifest = recipient.manifest
    return {
        "message": manifest.message,
        "names": [entry.name for entry in manifest.files],
    }


def _line(item: Item) -> str:
    entry = item.entry
    created = entry.get("created_at")
    when = (
        time.strftime("%Y-%m-%d %H:%M", time.gmtime(created))
        if isinstance(created, int | float)
        else "?"
    )
    count = entry.get("files")
    size = entry.get("size")
    files = f"{count} file{'' if count == 1 else 's'}"
    shown_size = format_bytes(size) if isinstance(size, int) else "?"
    state = "read" if entry.get("read") else "new"
    return (
        f"{item.share_id}  {when} UTC  {item.inbox}  from {item.sender}  "
        f"{files}, {shown_size}  {state}"
    )


async def open_item(
    api: MailApi,
    signed: SignedIn,
    share_id: str,
    *,
    out_dir: Path,
    force: bool,
    out: TextIO,
    err: TextIO,
) -> list[Path]:
    """Open a share of the own or a box inbox and save it; mark it read.

    :raises UnavailableError: the share is in none of the inboxes.
    :raises TamperedError: it does not open with the keys that should.
    """
    out_dir = prepare_dir(out_dir)
    items = [i for i in await collect(api, signed, None) if i.share_id == share_id]
    if not items:
        raise UnavailableError("this share is not in your inboxes (or it expired)")
    item = items[0]
    info, recipient = await _open_envelope(api, item, Keyring(api, signed))

    err.write(f"from {shown(item.sender)}, in {item.inbox}\n")
    reply_to = recipient.manifest.reply_to
    if reply_to is not None:
        text = await fingerprint_text(reply_to.key)
        err.write(f"the sender's reply key fingerprint: {text}\n")
    saved = await receive(
        api, share_id, info, recipient, out_dir=out_dir, force=force, out=out, err=err
    )
    await api.mark_read(share_id)
    return saved
