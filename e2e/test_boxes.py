"""Journeys: a departmental drop box with two members, deposits from an
outsider without an account, and a member's removal by key rotation."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from boxpages import (
    add_member,
    box_block,
    create_box,
    deposit,
    deposit_link,
    grant,
    key_id_of,
    open_boxes,
    open_deposit_page,
    remove_member,
    stanza_key_ids,
)
from browsing import Contexts
from pages import TRANSFER_TIMEOUT_MS, matches_message, sha256_file
from playwright.sync_api import Page, expect
from samples import FRENCH_MESSAGE, FRENCH_NAME
from serverproc import RunningServer, start_server, stop_server
from staff import UNLOCK_TIMEOUT_MS, new_staff
from staffmail import (
    compose,
    inbox_items,
    item_message,
    open_item,
    pick_recipient,
    save_item_file,
)

from pyodide_crypto.encoding import b64url_encode

pytestmark = pytest.mark.browser


def box_block_fingerprint(page: Page, slug: str) -> str:
    """The box key fingerprint the boxes view shows."""
    open_boxes(page)
    return box_block(page, slug).locator(".box-fingerprint").inner_text()


def _api(page: Page, path: str) -> tuple[int, bytes]:
    """GET an API path with the page's session cookie."""
    origin = page.url.split("/", 3)[:3]
    response = page.request.get("/".join(origin) + path)
    return response.status, response.body()


def test_box_deposit_opens_for_both_members_and_rotation_shuts_out_the_removed(
    server: RunningServer,
    contexts: Contexts,
    make_file: Callable[[str, bytes], Path],
    tmp_path: Path,
) -> None:
    admin = new_staff(
        server, contexts.page("admin"), "chloe", name="Chloé Admin", role="admin"
    )
    member = new_staff(server, contexts.page("member"), "david", name="David Membre")
    slug = f"cardio-{secrets.token_hex(3)}"

    # The box key pair is made in the administrator's browser, granted to
    # her; the second member is added pending and granted from her browser.
    block = create_box(admin.page, "Secrétariat de cardiologie", slug, [admin.handle])
    box_id = block.get_attribute("data-box-id")
    assert box_id is not None
    expect(block.locator(".removal-note")).to_be_visible()
    add_member(admin.page, slug, member.handle)
    row = box_block(admin.page, slug).locator(
        f"li.member[data-handle='{member.handle}']"
    )
    assert row.locator(".fingerprint").inner_text() == member.fingerprint
    grant(admin.page, slug, member.handle)
    link = deposit_link(admin.page, slug)
    assert link.startswith(server.url(f"/b/{slug}#"))

    # A link naming another key (what a server substituting the box key
    # looks like to the depositor) blocks the page; a damaged one too.
    base = link.split("#", 1)[0]
    substituted = contexts.page("substituted")
    substituted.goto(f"{base}#{b64url_encode(os.urandom(16))}")
    expect(substituted.locator("body")).to_have_attribute(
        "data-state", "mismatch", timeout=UNLOCK_TIMEOUT_MS
    )
    expect(substituted.locator("#error")).to_have_attribute(
        "data-code", "fingerprint_mismatch"
    )
    expect(substituted.locator("#deposit-form")).to_be_hidden()
    substituted.goto(f"{base}#not-a-fingerprint")
    expect(substituted.locator("#error")).to_have_attribute(
        "data-code", "bad_link", timeout=UNLOCK_TIMEOUT_MS
    )
    expect(substituted.locator("#deposit-form")).to_be_hidden()

    outsider = contexts.page("outsider", locale="fr-FR")
    open_deposit_page(outsider, link)
    expect(outsider.locator("#box-fingerprint")).to_have_text(
        box_block(admin.page, slug).locator(".box-fingerprint").inner_text()
    )
    first = make_file(FRENCH_NAME, os.urandom(250_000))
    deposit(outsider, [first], FRENCH_MESSAGE)

    for staff in (admin, member):
        open_boxes(staff.page)
        rows = inbox_items(staff.page, box_id)
        expect(rows).to_have_count(1)
        open_item(rows.first)
        assert item_message(staff.page) == FRENCH_MESSAGE
        saved = save_item_file(staff.page, 0, tmp_path / staff.handle)
        assert sha256_file(saved) == sha256_file(first)

    # Removal rotates the box key in the administrator's browser.
    open_boxes(admin.page)
    remove_member(admin.page, slug, member.handle)
    expect(box_block(admin.page, slug)).to_have_attribute("data-version", "2")
    new_link = deposit_link(admin.page, slug)
    assert new_link != link

    # The old link names the old key: the deposit page refuses it, blocking.
    stale = contexts.page("stale")
    stale.goto(link)
    expect(stale.locator("body")).to_have_attribute(
        "data-state", "mismatch", timeout=UNLOCK_TIMEOUT_MS
    )
    expect(stale.locator("#error")).to_have_attribute(
        "data-code", "fingerprint_mismatch"
    )
    expect(stale.locator("#deposit-form")).to_be_hidden()

    second = make_file("deuxième.bin", os.urandom(100_000))
    outsider = contexts.page("outsider-again", locale="fr-FR")
    open_deposit_page(outsider, new_link)
    deposit(outsider, [second], "Deuxième dépôt, après le retrait.")

    # The other member still opens it.
    rows = inbox_items(admin.page, box_id)
    expect(rows).to_have_count(2)
    open_item(rows.first)
    assert item_message(admin.page) == "Deuxième dépôt, après le retrait."
    saved = save_item_file(admin.page, 0, tmp_path / "after")
    assert sha256_file(saved) == sha256_file(second)
    share_id = rows.first.get_attribute("data-share-id")

    # The removed member sees no box, may not list it, and the deposit is
    # sealed only to the new key, whose private half was never granted to
    # them.
    member.page.reload()
    status, _ = _api(member.page, f"/api/boxes/{box_id}/inbox")
    assert status in (401, 403)
    status, body = _api(admin.page, f"/api/boxes/{box_id}")
    assert status == 200
    versions = {v["version"]: v["public_key"] for v in json.loads(body)["versions"]}
    status, sealed = _api(admin.page, f"/api/shares/{share_id}/manifest")
    assert status == 200
    assert stanza_key_ids(sealed) == [key_id_of(versions[2])]
    assert key_id_of(versions[1]) not in stanza_key_ids(sealed)


#: The limits server takes anonymous deposits of at most this many bytes, and
#: two anonymous shares (or reply boxes) per address and window.
DEPOSIT_MAX_BYTES = 50_000
DEPOSIT_RATE_COUNT = 2


@pytest.fixture(scope="module")
def limits_server(tmp_root: Path) -> Iterator[RunningServer]:
    running = start_server(
        tmp_root,
        "deposit-limits",
        {
            "SEALPOST_DEPOSIT_MAX_BYTES": str(DEPOSIT_MAX_BYTES),
            "SEALPOST_DEPOSIT_RATE_COUNT": str(DEPOSIT_RATE_COUNT),
        },
    )
    yield running
    stop_server(running)


def test_deposits_are_bounded_with_clear_messages(
    limits_server: RunningServer,
    contexts: Contexts,
    make_file: Callable[[str, bytes], Path],
) -> None:
    server = limits_server
    admin = new_staff(
        server, contexts.page("admin"), "karim", name="Karim", role="admin"
    )
    slug = f"limits-{secrets.token_hex(3)}"
    block = create_box(admin.page, "Pneumologie", slug, [admin.handle])
    box_id = block.get_attribute("data-box-id")
    link = deposit_link(admin.page, slug)

    outsider = contexts.page("outsider", locale="fr-FR")
    open_deposit_page(outsider, link)
    big = make_file("trop gros.bin", os.urandom(DEPOSIT_MAX_BYTES + 1))
    outsider.set_input_files("#deposit-files", [str(big)])
    outsider.click("#deposit-send")
    error = outsider.locator("#error")
    expect(error).to_have_attribute("data-code", "deposit_too_large")
    assert matches_message(error.inner_text(), "fr", "errors.deposit_too_large")

    for number in range(DEPOSIT_RATE_COUNT):
        small = make_file(f"petit-{number}.txt", os.urandom(1000))
        deposit(outsider, [small], f"Dépôt {number}")
        outsider.click("#deposit-again")
    outsider.set_input_files("#deposit-files", [str(make_file("un de trop.txt", b"x"))])
    outsider.click("#deposit-send")
    expect(error).to_have_attribute(
        "data-code", "rate_limited", timeout=TRANSFER_TIMEOUT_MS
    )
    assert matches_message(error.inner_text(), "fr", "errors.rate_limited")

    # Only the deposits within the limits reached the box.
    expect(inbox_items(admin.page, box_id)).to_have_count(DEPOSIT_RATE_COUNT)

    # Staff are not anonymous depositors: a colleague's share to the box,
    # picked from the directory by its fingerprint, is not limited.
    admin.page.click("button.tab[data-tab='compose']")
    shown = pick_recipient(admin.page, slug, kind="box")
    assert shown == box_block_fingerprint(admin.page, slug)
    compose(admin.page, [], [make_file("de l'équipe.txt", b"interne")], "Interne")
    expect(inbox_items(admin.page, box_id)).to_have_count(DEPOSIT_RATE_COUNT + 1)
