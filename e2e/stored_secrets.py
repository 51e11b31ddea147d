"""Look for secrets in everything a server wrote: database, blobs, log.

The journeys know every secret they used (passphrases, messages, file
names and contents, link fragments); the keys made in the browsers are
recovered here under CPython from the server's own records and the known
passphrases, with pyodide_crypto, exactly as a client would. Each secret is
searched as raw bytes and in base64url at every alignment, since the
server's JSON fields are base64url.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from pyodide_crypto import account_records, accounts, boxes
from pyodide_crypto.encoding import b64url_encode

T = TypeVar("T")
#: Shorter needles would match random ciphertext by chance.
MIN_NEEDLE_BYTES = 6


def run_async(work: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to the end from sync (Playwright) test code.

    Playwright's sync API owns this thread's event loop, so the coroutine
    gets a thread and a loop of its own.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, work).result()


async def _account_secrets(
    me: dict[str, Any], passphrase: str, box_details: list[dict[str, Any]]
) -> list[bytes]:
    record = account_records.join(me)
    secret = await accounts.derive_passphrase(passphrase, record["kdf"])
    account = await accounts.unlock(me["account"]["id"], secret, record)
    found = [pair.private for pair in account.key_pairs]
    # The key the passphrase protects, and the auth secret the server only
    # keeps a slow hash of.
    found.append(account._account_key)
    found.append(secret.auth_secret)
    for details in box_details:
        publics = {v["version"]: v["public_key"] for v in details["versions"]}
        for item in details["my_keys"]:
            box_key = await boxes.open_grant(
                details["id"],
                item["version"],
                publics[item["version"]],
                [item["wrapped"]],
                account.key_pairs,
            )
            found.append(box_key.key_pair.private)
    return [value for value in found if value]


def account_secrets(
    me: dict[str, Any], passphrase: str, box_details: list[dict[str, Any]]
) -> list[bytes]:
    """An account's private keys, account key and the box keys it holds."""
    return run_async(_account_secrets(me, passphrase, box_details))


def forms(secret: bytes) -> list[bytes]:
    """``secret`` raw and as the inner characters of its base64url at each
    of the three alignments it can have inside a longer encoded value."""
    found = [secret]
    for shift in range(3):
        encoded = b64url_encode(secret[shift:]).encode("ascii")
        # The last characters depend on what follows in a longer value.
        inner = encoded[1:-3] if shift else encoded[:-3]
        if len(inner) >= MIN_NEEDLE_BYTES:
            found.append(inner)
    return found


def stored_files(*roots: Path) -> list[Path]:
    found: list[Path] = []
    for root in roots:
        if root.is_file():
            found.append(root)
        elif root.is_dir():
            found.extend(sorted(p for p in root.rglob("*") if p.is_file()))
    return found


def leaks(secrets: dict[str, bytes], roots: list[Path]) -> list[str]:
    """``"<label> in <file>"`` for every secret found in any form."""
    assert all(len(value) >= MIN_NEEDLE_BYTES for value in secrets.values())
    found = []
    for path in stored_files(*roots):
        data = path.read_bytes()
        for label, secret in secrets.items():
            if any(needle in data for needle in forms(secret)):
                found.append(f"{label} in {path.name}")
    return found
