"""Journeys: the pages speak the person's language, French or English."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from browsing import Contexts
from pages import (
    choose_files,
    messages,
    open_receive_page,
    open_send_page,
    send,
    switch_language,
)
from playwright.sync_api import Page, expect
from serverproc import RunningServer

pytestmark = pytest.mark.browser


def _expect_text(page: Page, selector: str, language: str, key: str) -> None:
    expect(page.locator(selector)).to_have_text(messages(language)[key].strip())


def test_send_page_speaks_french_for_a_french_browser(
    server: RunningServer, contexts: Contexts
) -> None:
    page = contexts.page("sender", locale="fr-FR")
    open_send_page(page, server.base_url)

    expect(page.locator("html")).to_have_attribute("lang", "fr")
    assert messages("fr")["send.send"] != messages("en")["send.send"]
    _expect_text(page, "#send", "fr", "send.send")


def test_language_switch_translates_send_and_receive_pages(
    server: RunningServer,
    contexts: Contexts,
    make_file: Callable[[str, bytes], Path],
) -> None:
    sender = contexts.page("sender", locale="en-US")
    open_send_page(sender, server.base_url)
    _expect_text(sender, "#send", "en", "send.send")

    switch_language(sender, "fr")
    _expect_text(sender, "#send", "fr", "send.send")
    # Switching keeps what the person already chose.
    choose_files(sender, [make_file("bilan.txt", os.urandom(100))])
    switch_language(sender, "en")
    _expect_text(sender, "#send", "en", "send.send")
    sent = send(sender)

    recipient = contexts.page("recipient", locale="en-US")
    open_receive_page(recipient, sent.link)
    _expect_text(recipient, "#download-all", "en", "receive.download_all")
    switch_language(recipient, "fr")
    _expect_text(recipient, "#download-all", "fr", "receive.download_all")
    expect(recipient.locator("#file-list li[data-index]")).to_have_count(1)
