"""``send --to``: addresses, their public keys, and the fingerprint check.

An address is a staff handle (looked up in the signed-in address book,
``/api/directory``) or ``box:SLUG`` (a departmental drop box, public at
``/api/boxes/by-slug/``). The server serves the keys, so it could serve its
own: each recipient's fingerprint is shown, and ``--expect-fingerprint``
refuses to send when one differs from what the sender was told by another
channel.
"""

from __future__ import annotations

import hmac
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from pyodide_crypto import keys
from pyodide_crypto.errors import FormatError

from .account import fingerprint_text, preferred_key
from .errors import CliError, TamperedError, UsageError
from .get import shown
from .mail_api import MailApi

BOX_PREFIX = "box:"
_DIGITS = re.compile(r"[0-9]{32}")
_FRAGMENT = re.compile(r"[A-Za-z0-9_-]{22}")


@dataclass(frozen=True)
class Address:
    """One ``--to`` value: a staff handle or a box slug."""

    text: str
    kind: str
    name: str

    @classmethod
    def parse(cls, text: str) -> Address:
        """:raises UsageError: an empty handle or slug."""
        text = text.strip()
        if text.startswith(BOX_PREFIX):
            slug = text[len(BOX_PREFIX) :].strip().lower()
            if not slug:
                raise UsageError("--to box:SLUG needs the box's slug")
            return cls(f"{BOX_PREFIX}{slug}", "box", slug)
        if not text:
            raise UsageError("--to needs a handle or box:SLUG")
        return cls(text, "account", text)

    @property
    def key(self) -> str:
        """Handles compare as the server compares them (NFC, case folded)."""
        return unicodedata.normalize("NFC", self.text).casefold()


@dataclass(frozen=True)
class Recipient:
    """A resolved address: its public key and the share's ``recipients`` entry."""

    address: Address
    label: str
    public_key: keys.PublicKey
    entry: dict[str, Any]


def parse_addresses(values: Sequence[str]) -> list[Address]:
    """:raises UsageError: an empty address, or one given twice."""
    found = [Address.parse(value) for value in values]
    if len({address.key for address in found}) != len(found):
        raise UsageError("--to: an address is given twice")
    return found


def parse_expectations(
    values: Sequence[str], addresses: Sequence[Address]
) -> dict[str, str]:
    """``--expect-fingerprint ADDRESS=FP`` values, by address key.

    FP is the 32 digits people read aloud (spaces do not count) or the
    22-character form a deposit link carries.

    :raises UsageError: a malformed value, or an address not in ``--to``.
    """
    known = {address.key for address in addresses}
    expected: dict[str, str] = {}
    for value in values:
        where, sep, fingerprint = value.rpartition("=")
        if not sep or not where.strip():
            raise UsageError("--expect-fingerprint: expected ADDRESS=FINGERPRINT")
        key = Address.parse(where).key
        if key not in known:
            raise UsageError(f"--expect-fingerprint: {where.strip()} is not a --to")
        digits = re.sub(r"[\s-]", "", fingerprint)
        if not (_DIGITS.fullmatch(digits) or _FRAGMENT.fullmatch(fingerprint.strip())):
            raise UsageError(
                "--expect-fingerprint: a fingerprint is 32 digits "
                "(8 groups of 4) or 22 characters from a deposit link"
            )
        expected[key] = digits if _DIGITS.fullmatch(digits) else fingerprint.strip()
    return expected


async def resolve(
    api: MailApi, addresses: Sequence[Address], *, signed_in: bool
) -> list[Recipient]:
    """Fetch each address's public key from the server.

    :raises UsageError: a staff address without a session.
    :raises CliError: no such handle or box, or an unusable key.
    """
    found = []
    for address in addresses:
        if address.kind == "box":
            found.append(await _box(api, address))
        elif not signed_in:
            raise UsageError(
                f"sending to {address.text} needs --as HANDLE "
                "(the address book is for staff)"
            )
        else:
            found.append(await _account(api, address))
    return found


async def _box(api: MailApi, address: Address) -> Recipient:
    box = await api.box_by_slug(address.name)
    key = _public_key(box.get("public_key"), address)
    version = box.get("version")
    if type(version) is not int or not isinstance(box.get("id"), str):
        raise CliError("the server sent an unexpected box")
    label = f"{address.text} ({box.get('name') or address.name}, key version {version})"
    return Recipient(
        address, label, key, {"kind": "box", "id": box["id"], "version": version}
    )


async def _account(api: MailApi, address: Address) -> Recipient:
    listed = (await api.directory(address.text)).get("accounts")
    if not isinstance(listed, list):
        raise CliError("the server sent an unexpected address book")
    for entry in listed:
        if not isinstance(entry, dict) or not isinstance(entry.get("handle"), str):
            continue
        if Address.parse(entry["handle"]).key != address.key:
            continue
        value = entry.get("public_key")
        if not isinstance(value, dict) or not isinstance(value.get("keys"), list):
            raise CliError(f"{address.text} has no usable public key yet")
        candidates = [_public_key(item, address) for item in value["keys"]]
        label = f"{entry['handle']} ({entry.get('name') or entry['handle']})"
        return Recipient(
            address,
            label,
            preferred_key(candidates),
            {"kind": "account", "id": str(entry["id"])},
        )
    raise CliError(f"no staff member has the handle {address.text}")


def _public_key(value: object, address: Address) -> keys.PublicKey:
    try:
        return keys.PublicKey.from_json(value)
    except FormatError:
        raise CliError(f"the server sent an unusable key for {address.text}") from None


async def show_and_check(
    recipients: Sequence[Recipient], expected: dict[str, str], err: TextIO
) -> list[str]:
    """Print each recipient's fingerprint; refuse any unexpected one.

    :returns: the fingerprints (digits), in order.
    :raises TamperedError: a key's fingerprint is not the expected one
        (the server may have substituted it): nothing is sent.
    """
    prints = []
    for recipient in recipients:
        text = await fingerprint_text(recipient.public_key)
        err.write(f"to {shown(recipient.label)}: key fingerprint {text}\n")
        prints.append(text)
        want = expected.get(recipient.address.key)
        if want is None:
            continue
        if _DIGITS.fullmatch(want):
            same = hmac.compare_digest(want, text.replace(" ", ""))
        else:
            try:
                same = await keys.fingerprint_matches(want, recipient.public_key)
            except FormatError:
                raise UsageError(
                    "--expect-fingerprint: not a link fingerprint"
                ) from None
        if not same:
            raise TamperedError(
                f"the key of {recipient.address.text} does not have the expected "
                "fingerprint (a substituted key?); nothing was sent"
            )
    err.flush()
    return prints
