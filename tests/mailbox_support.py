"""Helpers of tests/test_cli_accounts.py and tests/test_cli_mailbox.py.

Accounts are provisioned with ``sealpost admin add-user`` on the running
server's data folder and activated with ``sealpost activate``, both as
subprocesses, exactly as an administrator and a staff member would. Boxes
have no command line yet (the browser makes them), so :func:`make_box` does
what the browser does: a real box key pair, granted to each member's real
public key through the API.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cli_support import Server, sealpost

from client.cli.account import sign_in
from client.cli.mail_api import MailApi
from pyodide_crypto import boxes, keys

_SYMBOL = "[23456789ABCDEFGHJKMNPQRSTVWXYZ]"
CODE = re.compile(rf"^Activation code: ({_SYMBOL}{{5}}(?:-{_SYMBOL}{{5}}){{2}})$", re.M)
FINGERPRINT = re.compile(r"^key fingerprint: ((?:[0-9]{4} ){7}[0-9]{4})$", re.M)
_serial = itertools.count()


@dataclass
class Staff:
    """An activated account and where its passphrase file is."""

    handle: str
    passphrase: str
    passphrase_file: Path
    fingerprint: str

    def as_args(self) -> list[str]:
        return ["--as", self.handle, "--passphrase-file", str(self.passphrase_file)]


def unique(prefix: str) -> str:
    """A handle or slug no other test uses (tests create their own data)."""
    return f"{prefix}{next(_serial)}"


def secret_file(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"secret-{next(_serial)}"
    path.write_text(text + "\n", encoding="utf-8")
    return path


def add_user(server: Server, handle: str, *, role: str = "staff") -> str:
    """``sealpost admin add-user``; returns the printed activation code."""
    result = sealpost(
        "admin",
        "add-user",
        "--data",
        str(server.data_dir),
        "--handle",
        handle,
        "--name",
        f"Name of {handle}",
        "--role",
        role,
    )
    assert result.returncode == 0, result.stderr
    found = CODE.search(result.stdout)
    assert found, result.stdout
    return found.group(1)


def activate(
    server: Server, handle: str, code: str, passphrase: str, folder: Path
) -> subprocess.CompletedProcess[str]:
    return sealpost(
        "activate",
        "--server",
        server.base_url,
        "--handle",
        handle,
        "--code-file",
        str(secret_file(folder, code)),
        "--passphrase-file",
        str(secret_file(folder, passphrase)),
    )


def new_staff(
    server: Server, folder: Path, prefix: str = "staff", *, role: str = "staff"
) -> Staff:
    """Provision and activate an account through the command line."""
    handle = unique(prefix)
    passphrase = f"correct horse {handle} é"
    result = activate(
        server, handle, add_user(server, handle, role=role), passphrase, folder
    )
    assert result.returncode == 0, result.stderr
    found = FINGERPRINT.search(result.stdout)
    assert found, result.stdout
    return Staff(handle, passphrase, secret_file(folder, passphrase), found.group(1))


def inbox(server: Server, staff: Staff, *extra: str) -> list[dict[str, Any]]:
    result = sealpost(
        "inbox", "--server", server.base_url, *staff.as_args(), "--json", *extra
    )
    assert result.returncode == 0, result.stderr
    items: list[dict[str, Any]] = json.loads(result.stdout)["items"]
    return items


def make_box(server: Server, admin: Staff, members: list[Staff]) -> str:
    """A box whose members all hold its key (version 1); returns its slug."""
    slug = unique("box-")
    asyncio.run(_make_box(server, admin, members, slug))
    return slug


async def _make_box(
    server: Server, admin: Staff, members: list[Staff], slug: str
) -> None:
    async with MailApi(server.base_url) as api:
        await sign_in(api, admin.handle, admin.passphrase)
        found = await _member_keys(api, members)
        pair = await keys.KeyPair.generate()
        created = await api.request_json(
            "POST",
            "/api/boxes",
            json={
                "name": f"Secretariat {slug}",
                "slug": slug,
                "public_key": pair.public.to_json(),
                "members": [{"account_id": account_id} for account_id in found],
            },
        )
        # The grant binds the box id, which exists only now.
        box_key = boxes.BoxKey(created["id"], 1, pair)
        for account_id, public in found.items():
            await api.request_json(
                "PUT",
                f"/api/boxes/{created['id']}/members/{account_id}/key",
                json={"version": 1, "wrapped": await boxes.grant(box_key, public)},
            )
        await api.logout()


def rotate_box(server: Server, admin: Staff, slug: str, keep: list[Staff]) -> None:
    """Rotate the box key to version 2, granted to ``keep`` only: every
    other member is removed (what removing a member does in the browser)."""
    asyncio.run(_rotate_box(server, admin, slug, keep))


async def _member_keys(api: MailApi, members: list[Staff]) -> dict[str, keys.PublicKey]:
    found = {}
    for member in members:
        listed = (await api.directory(member.handle))["accounts"]
        entry = next(e for e in listed if e["handle"] == member.handle)
        found[entry["id"]] = keys.PublicKey.from_json(entry["public_key"]["keys"][0])
    return found


async def _rotate_box(
    server: Server, admin: Staff, slug: str, keep: list[Staff]
) -> None:
    async with MailApi(server.base_url) as api:
        await sign_in(api, admin.handle, admin.passphrase)
        box_id = (await api.box_by_slug(slug))["id"]
        members = (await api.box(box_id))["members"]
        kept = await _member_keys(api, keep)
        pair = await keys.KeyPair.generate()
        box_key = boxes.BoxKey(box_id, 2, pair)
        await api.request_json(
            "POST",
            f"/api/boxes/{box_id}/rotate",
            json={
                "remove": [
                    m["account_id"] for m in members if m["account_id"] not in kept
                ],
                "public_key": pair.public.to_json(),
                "version": 2,
                "wrapped": [
                    {
                        "account_id": account_id,
                        "wrapped": await boxes.grant(box_key, key),
                    }
                    for account_id, key in kept.items()
                ],
            },
        )
        await api.logout()


def set_account_field(server: Server, handle: str, column: str, value: object) -> None:
    """Change what the server stores for an account, as a hostile server
    (or anyone with its disk) could."""
    assert column in ("kdf", "public_key")
    with contextlib.closing(sqlite3.connect(server.data_dir / "sealpost.db")) as db:
        with db:
            changed = db.execute(
                f"UPDATE accounts SET {column} = ? WHERE handle = ?",
                (json.dumps(value), handle),
            ).rowcount
    assert changed == 1


def account_field(server: Server, handle: str, column: str) -> Any:
    assert column in ("kdf", "public_key")
    with contextlib.closing(sqlite3.connect(server.data_dir / "sealpost.db")) as db:
        (value,) = db.execute(
            f"SELECT {column} FROM accounts WHERE handle = ?", (handle,)
        ).fetchone()
    return json.loads(value)
