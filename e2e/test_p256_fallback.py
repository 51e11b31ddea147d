"""Journeys: the P-256 fallback for a browser whose WebCrypto lacks X25519.

The "old browser" is a test harness, not a real old browser: its context
rewrites the worker script on the way in, so that the worker's
``crypto.subtle`` refuses the X25519 algorithm exactly as a browser without
it does (a ``NotSupportedError`` DOMException from ``generateKey``,
``importKey``, ``deriveBits`` and ``deriveKey``). Everything else, P-256
included, is the real Chromium WebCrypto.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path

import pytest
from boxpages import box_block, create_box, deposit_link, open_deposit_page
from browsing import Contexts
from pages import TRANSFER_TIMEOUT_MS, matches_message, sha256_file
from playwright.sync_api import BrowserContext, Page, Route, expect
from samples import FRENCH_MESSAGE, FRENCH_NAME
from serverproc import RunningServer
from staff import Staff, new_staff, wait_idle
from staffmail import (
    inbox_items,
    item_message,
    open_item,
    pick_recipient,
    save_item_file,
)

from pyodide_crypto import keys

pytestmark = pytest.mark.browser

# Prepended to worker.js: runs before any of the worker's own code touches
# WebCrypto (the Python backend looks methods up on crypto.subtle per call).
_NO_X25519 = """\
{
  const subtle = self.crypto.subtle;
  const named = (algorithm) =>
    typeof algorithm === "string" ? algorithm : algorithm && algorithm.name;
  const isX25519 = (algorithm) => String(named(algorithm)).toUpperCase() === "X25519";
  const at = { generateKey: 0, importKey: 2, deriveBits: 0, deriveKey: 0 };
  for (const [method, index] of Object.entries(at)) {
    const original = subtle[method].bind(subtle);
    subtle[method] = (...args) =>
      isX25519(args[index])
        ? Promise.reject(new DOMException("Unrecognized name.", "NotSupportedError"))
        : original(...args);
  }
}
"""


def _without_x25519(context: BrowserContext) -> BrowserContext:
    """Make ``context`` behave like a browser without WebCrypto X25519."""

    def patch(route: Route) -> None:
        response = route.fetch()
        headers = {
            name: value
            for name, value in response.headers.items()
            if name.lower() != "content-length"
        }
        route.fulfill(
            status=response.status, headers=headers, body=_NO_X25519 + response.text()
        )

    context.route("**/js/worker.js", patch)
    return context


def _old_page(contexts: Contexts, role: str) -> Page:
    return _without_x25519(contexts.new(role)).new_page()


def _public_keys(server: RunningServer, staff: Staff) -> list[dict[str, str]]:
    """The account's public keys, as the server stores and serves them."""
    response = staff.page.request.get(server.url("/api/me"))
    assert response.ok
    entries: list[dict[str, str]] = json.loads(response.body())["public_key"]["keys"]
    return entries


def _suites(server: RunningServer, staff: Staff) -> list[str]:
    return [entry["suite"] for entry in _public_keys(server, staff)]


def _fingerprint_of(server: RunningServer, staff: Staff, suite: str) -> str:
    """The digits of the account's key of ``suite``, computed here from
    docs/keys.md section 2."""
    (entry,) = [e for e in _public_keys(server, staff) if e["suite"] == suite]
    public = keys.PublicKey.from_json(entry)
    label = keys.FINGERPRINT_LABEL + b"\x00" + public.hpke_suite.encoded
    return keys.fingerprint_text(hashlib.sha256(label + public.key).digest())


def _send(page: Page, handle: str, file: Path, message: str) -> str:
    """Compose to one colleague; returns the fingerprint the picker showed."""
    page.click("button.tab[data-tab='compose']")
    shown = pick_recipient(page, handle)
    page.set_input_files("#compose-files", [str(file)])
    page.fill("#compose-message", message)
    page.click("#compose-send")
    expect(page.locator("#compose-result")).to_be_visible(timeout=TRANSFER_TIMEOUT_MS)
    return shown


def _receive(staff: Staff, file: Path, message: str, tmp_path: Path) -> None:
    rows = inbox_items(staff.page)
    expect(rows).to_have_count(1)
    open_item(rows.first)
    assert item_message(staff.page) == message
    saved = save_item_file(staff.page, 0, tmp_path / staff.handle)
    assert sha256_file(saved) == sha256_file(file)


def test_staff_in_a_browser_without_x25519_exchange_with_a_colleague(
    server: RunningServer,
    contexts: Contexts,
    make_file: Callable[[str, bytes], Path],
    tmp_path: Path,
) -> None:
    old = new_staff(server, _old_page(contexts, "old"), "elise", name="Élise Ancien")
    new = new_staff(
        server, contexts.page("new"), "farid", name="Farid Actuel", role="admin"
    )
    # Activated without X25519: one P-256 key. With it: both suites.
    assert _suites(server, old) == [keys.SUITE_P256]
    assert _suites(server, new) == [keys.SUITE_X25519, keys.SUITE_P256]
    assert old.fingerprint == _fingerprint_of(server, old, keys.SUITE_P256)
    assert new.fingerprint == _fingerprint_of(server, new, keys.SUITE_X25519)

    # A current browser seals to the P-256 key, the only one there is.
    to_old = make_file(FRENCH_NAME, os.urandom(70_000))
    shown = _send(new.page, old.handle, to_old, FRENCH_MESSAGE)
    assert shown == old.fingerprint
    _receive(old, to_old, FRENCH_MESSAGE, tmp_path)

    # The old browser seals to the colleague's P-256 key, and shows that
    # key's digits (not those of the X25519 key the colleague sees).
    to_new = make_file("compte-rendu.pdf", os.urandom(40_000))
    shown = _send(old.page, new.handle, to_new, "Réponse en P-256")
    assert shown == _fingerprint_of(server, new, keys.SUITE_P256)
    _receive(new, to_new, "Réponse en P-256", tmp_path)


def test_outsider_without_x25519_is_told_before_depositing_to_an_x25519_box(
    server: RunningServer,
    contexts: Contexts,
    make_file: Callable[[str, bytes], Path],
) -> None:
    admin = new_staff(
        server, contexts.page("admin"), "gael", name="Gaël Admin", role="admin"
    )
    slug = f"radio-{secrets.token_hex(3)}"
    block = create_box(admin.page, "Secrétariat de radiologie", slug, [admin.handle])
    box_id = block.get_attribute("data-box-id")
    assert box_id is not None
    link = deposit_link(admin.page, slug)

    outsider = _old_page(contexts, "outsider")
    open_deposit_page(outsider, link)
    outsider.set_input_files(
        "#deposit-files", [str(make_file("scanner.dcm", os.urandom(10_000)))]
    )
    outsider.fill("#deposit-message", "Voici les images")
    # Asking for an answer too: not even the reply box may be made.
    outsider.check("#deposit-reply")
    outsider.click("#deposit-send")
    error = outsider.locator("#error")
    expect(error).to_have_attribute(
        "data-code", "suite_unsupported", timeout=TRANSFER_TIMEOUT_MS
    )
    text = error.inner_text()
    assert "Secrétariat de radiologie" in text
    assert matches_message(text, "en", "errors.suite_unsupported")
    expect(outsider.locator("body")).to_have_attribute("data-state", "ready")

    # Nothing reached the box.
    wait_idle(admin.page)
    expect(box_block(admin.page, slug)).to_have_count(1)
    expect(inbox_items(admin.page, box_id)).to_have_count(0)
