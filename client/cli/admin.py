"""``sealpost admin import|grant --server URL --as ADMIN``: the online half
of crisis provisioning, as an administrator's client.

The server never makes a key, so a departmental box is born here: the CSV
goes to ``POST /api/admin/import`` (which creates the pending accounts and
adds new people to boxes that exist), then for every department without a
box this client makes the box key pair, creates the box with the
department's people as pending members and the administrator as its first
member, and seals the box key to the administrator's own public key.
``grant`` seals the current box key to every pending member who has
activated since, each shown with the fingerprint of the key it was sealed
to. Both are idempotent: run again, they only do what is left.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from pyodide_crypto import boxes, keys
from pyodide_crypto.errors import DecryptionError, FormatError, ParameterError

from . import account, prompts
from .commands import server_url
from .errors import CliError, TamperedError, UsageError
from .mail_api import MailApi

#: Largest CSV file sent (the server's own limit is the same).
MAX_CSV_BYTES = 8 * 1024 * 1024


def is_online(args: argparse.Namespace) -> bool:
    """Whether an ``admin`` action runs against a server (not a data folder)."""
    return args.admin_command == "grant" or bool(getattr(args, "server", None))


def _box_path(box_id: str) -> str:
    return f"/api/boxes/{quote(box_id, safe='')}"


def _member_keys(record: object) -> list[keys.PublicKey]:
    entries = record.get("keys") if isinstance(record, dict) else None
    if not isinstance(entries, list):
        raise CliError("the server sent an unexpected public key")
    try:
        return [keys.PublicKey.from_json(entry) for entry in entries]
    except (FormatError, ParameterError):
        raise CliError("the server sent an unexpected public key") from None


def _until(at: object) -> str:
    if not isinstance(at, int | float):
        return "?"
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at))


def print_sheet(out: TextIO, answer: dict[str, Any]) -> None:
    """The activation sheet of an import answer, per department."""
    created = answer.get("created", [])
    by_department: dict[str, list[str]] = {}
    for item in created:
        phone = f"  tel. {item['phone']}" if item.get("phone") else ""
        by_department.setdefault(item["department"], []).append(
            f"  {item['name']} ({item['role']})  handle: {item['handle']}  "
            f"code: {item['code']}  valid until "
            f"{_until(item.get('activation_expires_at'))}{phone}"
        )
    out.write(
        f"{len(created)} accounts created, {len(answer.get('existing', []))} "
        f"already there, {answer.get('duplicates', 0)} duplicate rows skipped.\n"
    )
    for name, lines in by_department.items():
        out.write(f"\n== {name} ==\n" + "\n".join(lines) + "\n")
    if created:
        out.write(
            "\nEach code works once. Hand it to the person by phone or on paper; "
            "anyone holding it can take the account.\n"
        )


async def _create_box(
    api: MailApi, signed: account.SignedIn, department: dict[str, Any]
) -> str:
    """Make a department's box: key pair here, admin granted, others pending."""
    me = str(signed.me["account"]["id"])
    pair = await keys.KeyPair.generate(keys.SUITE_X25519)
    members = [me] + [m for m in department["members"] if m != me]
    created = await api.request_json(
        "POST",
        "/api/boxes",
        json={
            "name": department["department"],
            "slug": department["slug"],
            "department": department["department"],
            "public_key": pair.public.to_json(),
            "members": [{"account_id": m} for m in members],
        },
    )
    box_id = str(created["id"])
    # The grant binds the box id, which exists only now.
    box_key = boxes.BoxKey(box_id, 1, pair)
    wrapped = await boxes.grant(box_key, signed.reply_key)
    await api.request_json(
        "PUT",
        f"{_box_path(box_id)}/members/{quote(me, safe='')}/key",
        json={"version": 1, "wrapped": wrapped},
    )
    return box_id


async def import_online(
    api: MailApi, signed: account.SignedIn, path: Path, *, out: TextIO
) -> dict[str, Any]:
    """Import a CSV file and create the missing departmental boxes."""
    try:
        if path.stat().st_size > MAX_CSV_BYTES:
            raise UsageError(f"{path} is larger than {MAX_CSV_BYTES} bytes")
        body = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    answer = await api.request_json(
        "POST",
        "/api/admin/import",
        content=body,
        headers={"Content-Type": "text/csv; charset=utf-8"},
    )
    print_sheet(out, answer)
    for department in answer.get("departments", []):
        name = department["department"]
        if department.get("box") is not None:
            added = len(department.get("added", []))
            if added:
                out.write(f"box of {name}: {added} new members wait for access\n")
            continue
        if not department.get("members"):
            continue
        if not department.get("slug"):
            out.write(f"no box for {name}: its name gives no usable link\n")
            continue
        await _create_box(api, signed, department)
        out.write(
            f"created the box of {name} (deposit page /b/"
            f"{department['slug']}); {len(department['members'])} members wait "
            "for access until they activate: then run 'sealpost admin grant'\n"
        )
    return answer


async def _open_current(
    api: MailApi, signed: account.SignedIn, box_id: str
) -> boxes.BoxKey | None:
    details = await api.box(box_id)
    version = details.get("version")
    held = [
        k
        for k in details.get("my_keys", [])
        if isinstance(k, dict) and k.get("version") == version
    ]
    if not held:
        return None
    try:
        return await boxes.open_grant(
            box_id,
            version,
            details.get("public_key"),
            [k.get("wrapped") for k in held],
            signed.account.key_pairs,
        )
    except (DecryptionError, FormatError, ParameterError):
        raise TamperedError(
            "your key of this box failed verification (damaged or tampered with)"
        ) from None


async def grant_waiting(
    api: MailApi, signed: account.SignedIn, slug: str | None, *, out: TextIO
) -> int:
    """Seal each box's current key to its activated pending members.

    :returns: how many members got access.
    """
    answer = await api.request_json("GET", "/api/admin/pending-grants")
    granted = 0
    for box in answer.get("boxes", []):
        if slug is not None and box.get("slug") != slug:
            continue
        ready = [m for m in box.get("members", []) if m.get("ready")]
        waiting = len(box.get("members", [])) - len(ready)
        if not ready:
            out.write(f"{box['name']}: {waiting} members have not activated yet\n")
            continue
        box_key = await _open_current(api, signed, str(box["id"]))
        if box_key is None:
            out.write(
                f"{box['name']}: you hold no key of this box; a member must grant "
                "access\n"
            )
            continue
        for member in ready:
            public = account.preferred_key(_member_keys(member.get("public_key")))
            wrapped = await boxes.grant(box_key, public)
            await api.request_json(
                "PUT",
                f"{_box_path(box_key.box_id)}/members/"
                f"{quote(str(member['account_id']), safe='')}/key",
                json={"version": box_key.version, "wrapped": wrapped},
            )
            granted += 1
            out.write(
                f"{box['name']}: access for {member.get('handle')} (key "
                f"{await account.fingerprint_text(public)})\n"
            )
        if waiting:
            out.write(f"{box['name']}: {waiting} members have not activated yet\n")
    out.write(f"{granted} members got box access\n")
    return granted


def run(args: argparse.Namespace, stdin: TextIO, out: TextIO, err: TextIO) -> None:
    """Run ``admin import`` or ``admin grant`` online.

    :raises CliError: anything expected that went wrong.
    """
    server = server_url(args.server)
    if not args.handle:
        raise UsageError("online administration needs --as ADMIN")
    passphrase = prompts.read_secret(
        prompts.passphrase_source(args.passphrase_file), stdin
    )

    async def work() -> None:
        async with MailApi(server) as api:
            signed = await account.sign_in(api, args.handle, passphrase)
            try:
                if args.admin_command == "import":
                    await import_online(api, signed, args.csv_file, out=out)
                else:
                    await grant_waiting(api, signed, args.box, out=out)
            finally:
                with contextlib.suppress(CliError):
                    await api.logout()

    asyncio.run(work())
