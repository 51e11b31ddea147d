"""Journeys: a person sends files and a message, another one receives them."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from browsing import Contexts
from folders import save_all_as_zip, zip_tree
from owner import status
from pages import (
    choose_files,
    download,
    expiry_choices,
    history_urls,
    open_receive_page,
    open_send_page,
    send,
    set_downloads,
    set_expiry,
    set_message,
    sha256_file,
    shown_message,
    shown_names,
)
from samples import FRENCH_MESSAGE, FRENCH_NAME
from serverproc import RunningServer

pytestmark = pytest.mark.browser

MIB = 1024 * 1024


def test_send_receive_files_and_message_arrive_byte_identical(
    server: RunningServer,
    contexts: Contexts,
    make_file: Callable[[str, bytes], Path],
    tmp_path: Path,
) -> None:
    sources = [
        make_file("donnees.bin", os.urandom(5 * MIB)),
        make_file("vide.txt", b""),
        make_file(FRENCH_NAME, os.urandom(200_000)),
    ]
    sender = contexts.page("sender")
    open_send_page(sender, server.base_url)
    choose_files(sender, sources)
    set_message(sender, FRENCH_MESSAGE)
    # Not the page's default: the choice must reach the server.
    expiry = sorted(expiry_choices(sender))[-1]
    set_expiry(sender, expiry)
    set_downloads(sender, 3)
    sent = send(sender)

    with server.client() as client:
        assert sent.owner_token, "the send page must give the owner link"
        settings = status(client, sent.share_id, sent.owner_token)
    assert settings["max_downloads"] == 3
    assert settings["downloads"] == 0
    lifetime = float(settings["expires_at"]) - float(settings["created_at"])  # type: ignore[arg-type]
    assert abs(lifetime - expiry) < 60

    # Another "browser": nothing shared with the sender's context.
    recipient = contexts.page("recipient")
    open_receive_page(recipient, sent.link)

    assert shown_message(recipient) == FRENCH_MESSAGE
    assert shown_names(recipient) == [source.name for source in sources]
    # The link secret leaves the address bar and the tab's history.
    assert "#" not in recipient.url
    assert sent.fragment not in recipient.evaluate("location.href")
    for url in history_urls(recipient):
        assert sent.fragment not in url

    saved_dir = tmp_path / "saved"
    saved_dir.mkdir()
    for index, source in enumerate(sources):
        item, saved = download(recipient, index, saved_dir)
        assert item.failure() is None
        assert item.suggested_filename == source.name
        assert saved.stat().st_size == source.stat().st_size
        assert sha256_file(saved) == sha256_file(source)

    # A second person (another fresh browser) takes everything at once, as
    # one zip.
    second = contexts.page("second recipient")
    open_receive_page(second, sent.link)
    item, archive = save_all_as_zip(second, tmp_path)
    assert item.failure() is None
    assert zip_tree(archive) == {source.name: sha256_file(source) for source in sources}

    # One page visit counts one download, however many files it saved.
    with server.client() as client:
        assert status(client, sent.share_id, sent.owner_token)["downloads"] == 2
