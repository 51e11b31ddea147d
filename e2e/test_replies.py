"""Journeys: answers that travel encrypted to a key named inside the share.

An outsider answers a staff member's link share from the receive page; a
member answers a deposit through the depositor's reply link; a colleague
answers a colleague. Each answer is encrypted in the answering browser to
the ``reply_to`` key of the encrypted manifest."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

import pytest
from boxpages import create_box, deposit, deposit_link, open_deposit_page
from browsing import Contexts
from pages import TRANSFER_TIMEOUT_MS, open_receive_page, sha256_file
from playwright.sync_api import Page, expect
from samples import FRENCH_MESSAGE, FRENCH_NAME
from serverproc import RunningServer
from staff import UNLOCK_TIMEOUT_MS, new_staff, wait_idle
from staffmail import compose, inbox_items, item_message, open_item, save_item_file

pytestmark = pytest.mark.browser

ANSWER = "Merci, bien reçu. Voici ma réponse signée \u2014 Jeanne"


def _reply_in_app(page: Page, files: list[Path], message: str) -> None:
    page.click("#item-reply")
    page.set_input_files("#item-reply-files", [str(p) for p in files])
    page.fill("#item-reply-message", message)
    page.click("#item-reply-send")
    wait_idle(page)
    expect(page.locator("#item-reply-done")).to_be_visible()


def test_outsider_replies_to_a_staff_link_share_into_the_staff_inbox(
    server: RunningServer,
    contexts: Contexts,
    make_file: Callable[[str, bytes], Path],
    tmp_path: Path,
) -> None:
    staff = new_staff(server, contexts.page("staff"), "emma", name="Emma Durand")
    sent = make_file("résultats.pdf", os.urandom(120_000))
    link = compose(staff.page, [], [sent], "Vos résultats.", link=True)
    assert link is not None

    outsider = contexts.page("outsider", locale="fr-FR")
    open_receive_page(outsider, link)
    form = outsider.locator("#reply-form")
    expect(form).to_be_visible(timeout=UNLOCK_TIMEOUT_MS)
    answer = make_file(FRENCH_NAME, os.urandom(80_000))
    outsider.set_input_files("#reply-files", [str(answer)])
    outsider.fill("#reply-message", FRENCH_MESSAGE)
    outsider.click("#reply-send")
    expect(outsider.locator("#reply")).to_have_attribute(
        "data-state", "sent", timeout=TRANSFER_TIMEOUT_MS
    )

    rows = inbox_items(staff.page)
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".sender")).not_to_contain_text(staff.handle)
    open_item(rows.first)
    assert item_message(staff.page) == FRENCH_MESSAGE
    saved = save_item_file(staff.page, 0, tmp_path)
    assert sha256_file(saved) == sha256_file(answer)


def test_member_answers_a_deposit_through_the_depositors_reply_link(
    server: RunningServer,
    contexts: Contexts,
    make_file: Callable[[str, bytes], Path],
    tmp_path: Path,
) -> None:
    admin = new_staff(
        server, contexts.page("admin"), "farid", name="Farid Admin", role="admin"
    )
    slug = f"radio-{secrets.token_hex(3)}"
    block = create_box(admin.page, "Radiologie", slug, [admin.handle])
    box_id = block.get_attribute("data-box-id")
    link = deposit_link(admin.page, slug)

    depositor = contexts.page("depositor", locale="fr-FR")
    open_deposit_page(depositor, link)
    question = make_file("question.txt", b"Puis-je venir lundi ?")
    reply_link = deposit(
        depositor, [question], "Question de Mme Leroy", want_reply=True
    )
    assert reply_link is not None and "/r/" in reply_link

    rows = inbox_items(admin.page, box_id)
    expect(rows).to_have_count(1)
    open_item(rows.first)
    answer = make_file("convocation.pdf", os.urandom(60_000))
    _reply_in_app(admin.page, [answer], ANSWER)

    # A fresh browser holding only the reply link reads the answer.
    reader = contexts.page("reader", locale="fr-FR")
    reader.goto(reply_link)
    rows = reader.locator("#replies li.inbox-item")
    expect(rows).to_have_count(1, timeout=UNLOCK_TIMEOUT_MS)
    expect(rows.first.locator(".sender")).to_contain_text(admin.handle)
    rows.first.locator("button.open-item").click()
    expect(reader.locator("#reply-message")).to_have_text(
        ANSWER, timeout=UNLOCK_TIMEOUT_MS
    )
    with reader.expect_download(timeout=TRANSFER_TIMEOUT_MS) as info:
        reader.locator("#reply-files li[data-index='0'] button.download").click()
    target = tmp_path / "answer.pdf"
    info.value.save_as(target)
    assert sha256_file(target) == sha256_file(answer)

    # The reply link's secrets are gone from the address bar at once.
    assert "#" not in reader.url


def test_colleague_answers_a_colleague(
    server: RunningServer,
    contexts: Contexts,
    make_file: Callable[[str, bytes], Path],
    tmp_path: Path,
) -> None:
    gaelle = new_staff(server, contexts.page("gaelle"), "gaelle", name="Gaëlle")
    hugo = new_staff(server, contexts.page("hugo"), "hugo", name="Hugo")
    compose(gaelle.page, [hugo.handle], [make_file("a.txt", b"a")], "Question ?")
    rows = inbox_items(hugo.page)
    expect(rows).to_have_count(1)
    open_item(rows.first)
    answer = make_file("b.txt", os.urandom(5000))
    _reply_in_app(hugo.page, [answer], ANSWER)

    rows = inbox_items(gaelle.page)
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".sender")).to_contain_text(hugo.handle)
    open_item(rows.first)
    assert item_message(gaelle.page) == ANSWER
    saved = save_item_file(gaelle.page, 0, tmp_path)
    assert sha256_file(saved) == sha256_file(answer)
