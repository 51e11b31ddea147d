"""Direct HTTP access for the journeys: the owner's status and a raw recipient.

The journeys drive the pages; these helpers only observe from outside (the
owner's ``/status``) or play a recipient that bypasses the page (to show that
expired shares are refused on every path). The recipient side uses
pyodide_crypto under CPython, exactly as the CLI does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from pyodide_crypto import share
from pyodide_crypto.encoding import b64url_encode

#: How long a share may take to reach an expected state.
STATE_TIMEOUT_SECONDS = 60.0
#: Pause between two status polls (a condition wait, not a sequencing sleep).
POLL_SECONDS = 0.2

T = TypeVar("T")


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from synchronous test code.

    Playwright's sync API owns an event loop in this thread, so the coroutine
    gets a loop of its own in a helper thread.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def status(client: httpx.Client, share_id: str, owner_token: str) -> dict[str, object]:
    """The owner's view of a share (``GET /api/shares/{id}/status``)."""
    response = client.get(
        f"/api/shares/{share_id}/status",
        headers={"Authorization": f"Bearer {owner_token}"},
    )
    response.raise_for_status()
    return dict(response.json())


def wait_for_state(
    client: httpx.Client, share_id: str, owner_token: str, state: str
) -> dict[str, object]:
    """Poll the owner's status until the share is in ``state``."""
    deadline = time.monotonic() + STATE_TIMEOUT_SECONDS
    while True:
        current = status(client, share_id, owner_token)
        if current["state"] == state:
            return current
        if time.monotonic() > deadline:
            raise AssertionError(f"share stayed {current['state']!r}, not {state!r}")
        time.sleep(POLL_SECONDS)


@dataclass(frozen=True)
class Claimed:
    """A download claimed by a raw recipient: its ticket and blob sizes."""

    ticket: str
    sizes: list[int]


def claim(client: httpx.Client, share_id: str, fragment: str) -> Claimed:
    """Open the share with the link secret and claim one download.

    :raises AssertionError: the server refused one of the steps.
    """
    info = client.get(f"/api/shares/{share_id}")
    assert info.status_code == 200, info.text
    envelope = client.get(f"/api/shares/{share_id}/manifest")
    assert envelope.status_code == 200, envelope.text
    recipient = run_async(
        share.ShareRecipient.open_fragment(fragment, envelope.content)
    )
    answer = client.post(
        f"/api/shares/{share_id}/claim",
        json={"proof": b64url_encode(recipient.claim_proof)},
    )
    assert answer.status_code == 200, answer.text
    sizes = [int(item["size"]) for item in info.json()["files"]]
    return Claimed(str(answer.json()["ticket"]), sizes)
