"""What members, administrators and depositors do with drop boxes: create a
box in /app, add and grant members, remove one (a key rotation), and
deposit on the public page /b/<slug>. Stable ids of app.html and
deposit.html only; every wait is on a page condition."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pages import TRANSFER_TIMEOUT_MS
from playwright.sync_api import Locator, Page, expect
from staff import UNLOCK_TIMEOUT_MS, wait_idle

from pyodide_crypto import envelope
from pyodide_crypto.encoding import b64url_decode

#: docs/keys.md section 2, computed here independently of the client.
_FINGERPRINT_LABEL = b"sealpost.v1/key-fingerprint"
_SUITE_IDS = {"x25519": bytes.fromhex("002000010002")}


def open_boxes(page: Page) -> None:
    page.click("button.tab[data-tab='boxes']")
    wait_idle(page)


def box_block(page: Page, slug: str) -> Locator:
    return page.locator(f"#box-list .box[data-slug='{slug}']")


def create_box(page: Page, name: str, slug: str, member_handles: list[str]) -> Locator:
    """As an administrator, create a box with these (activated) members."""
    open_boxes(page)
    page.fill("#box-name", name)
    page.fill("#box-slug", slug)
    page.fill("#box-department", "Cardiologie")
    for handle in member_handles:
        page.fill("#box-member-search", handle)
        entry = page.locator(f"#box-member-results li[data-handle='{handle}']")
        entry.locator("button.pick").click()
        expect(
            page.locator(f"#box-members-chosen li[data-handle='{handle}']")
        ).to_have_count(1)
    page.click("#box-create-submit")
    wait_idle(page)
    block = box_block(page, slug)
    expect(block).to_have_count(1)
    return block


def member_row(block: Locator, handle: str) -> Locator:
    return block.locator(f"li.member[data-handle='{handle}']")


def add_member(page: Page, slug: str, handle: str) -> None:
    block = box_block(page, slug)
    block.locator("input.add-member-handle").fill(handle)
    block.locator("form.add-member button[type='submit']").click()
    wait_idle(page)
    expect(member_row(box_block(page, slug), handle)).to_have_attribute(
        "data-state", "pending"
    )


def grant(page: Page, slug: str, handle: str) -> None:
    member_row(box_block(page, slug), handle).locator("button.grant").click()
    wait_idle(page)
    expect(member_row(box_block(page, slug), handle)).to_have_attribute(
        "data-state", "active"
    )


def remove_member(page: Page, slug: str, handle: str) -> None:
    member_row(box_block(page, slug), handle).locator("button.remove").click()
    wait_idle(page)
    expect(member_row(box_block(page, slug), handle)).to_have_count(0)


def deposit_link(page: Page, slug: str) -> str:
    link = box_block(page, slug).locator("a.deposit-link").get_attribute("href")
    assert link is not None
    return link


def open_deposit_page(page: Page, link: str) -> None:
    page.goto(link)
    expect(page.locator("body")).to_have_attribute(
        "data-state", "ready", timeout=UNLOCK_TIMEOUT_MS
    )


def deposit(
    page: Page, files: list[Path], message: str, *, want_reply: bool = False
) -> str | None:
    """Deposit on an open deposit page; returns the reply link if asked."""
    page.set_input_files("#deposit-files", [str(path) for path in files])
    page.fill("#deposit-message", message)
    if want_reply:
        page.check("#deposit-reply")
    page.click("#deposit-send")
    expect(page.locator("body")).to_have_attribute(
        "data-state", "sent", timeout=TRANSFER_TIMEOUT_MS
    )
    if not want_reply:
        return None
    return page.locator("#reply-link").get_attribute("href")


def stanza_key_ids(envelope_bytes: bytes) -> list[bytes]:
    """The key ids that the HPKE stanzas of an envelope are sealed to."""
    header, _ = envelope.parse_header(envelope_bytes)
    return [
        bytes(s.body[envelope.HPKE_SUITE_SIZE : envelope.HPKE_SUITE_SIZE + 8])
        for s in header.stanzas
        if s.type == envelope.STANZA_HPKE
    ]


def key_id_of(public: dict[str, str]) -> bytes:
    """The key id (first 8 fingerprint bytes) of a ``{suite, key}`` key."""
    suite = _SUITE_IDS[public["suite"]]
    data = _FINGERPRINT_LABEL + b"\x00" + suite + b64url_decode(public["key"])
    return hashlib.sha256(data).digest()[:8]
