"""Journey: a sender sees per recipient and per file when a share was
downloaded; the administrators' audit log shows each step, filters by type
and exports as CSV without any content (no file name, no message)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from adminpages import open_admin
from browsing import Contexts
from pages import sha256_file
from playwright.sync_api import expect
from serverproc import RunningServer
from staff import new_staff, wait_idle
from staffmail import compose, inbox_items, open_item, save_item_file

pytestmark = pytest.mark.browser

FILE_NAME = "bilan sanguin Mme Durand.pdf"
MESSAGE = "Résultats confidentiels pour le Dr Roux."


def test_receipts_and_an_audit_log_without_content(
    server: RunningServer,
    contexts: Contexts,
    make_file: Callable[[str, bytes], Path],
    tmp_path: Path,
) -> None:
    admin = new_staff(
        server, contexts.page("admin"), "rose", name="Rose Admin", role="admin"
    )
    sender = new_staff(server, contexts.page("sender"), "paul", name="Paul Envoi")
    reader = new_staff(server, contexts.page("reader"), "lea", name="Léa Roux")

    sent = make_file(FILE_NAME, os.urandom(40_000))
    compose(sender.page, [reader.handle], [sent], MESSAGE)

    # Before anyone opened it there is no receipt; after the download, one
    # for the reader with the file's time.
    sender.page.click("button.tab[data-tab='sent']")
    wait_idle(sender.page)
    share = sender.page.locator("#sent-list li.sent-share").first
    expect(share.locator("p.hint")).to_be_visible()
    row = share.locator("tr[data-index='0']")

    rows = inbox_items(reader.page)
    open_item(rows.first)
    saved = save_item_file(reader.page, 0, tmp_path / "reader")
    assert sha256_file(saved) == sha256_file(sent)

    sender.page.click("#sent-refresh")
    wait_idle(sender.page)
    expect(row).to_have_attribute("data-downloaded", "true")
    assert reader.name in row.inner_text()
    share_id = share.get_attribute("data-share-id")
    assert share_id is not None

    page = admin.page
    open_admin(page)
    events = page.locator("#audit-events tbody tr")
    for kind in ("account.created", "account.activated", "share.created"):
        expect(
            events.and_(page.locator(f"[data-type='{kind}']")).first
        ).to_be_attached()
    page.select_option("#audit-type", "share.")
    page.click("#audit-submit")
    wait_idle(page)
    types = {row.get_attribute("data-type") for row in events.all()}
    assert types and all(kind.startswith("share.") for kind in types if kind)
    assert {"share.created", "share.claimed"} <= types

    link = page.locator("#audit-csv").get_attribute("href")
    assert link is not None and "format=csv" in link
    response = page.request.get(server.url(link))
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/csv")
    text = response.text()
    assert share_id in text and "share.claimed" in text
    for secret in (FILE_NAME, MESSAGE, "Durand", reader.name, sender.passphrase):
        assert secret not in text
