"""Journeys: a person sends files and a message, another one receives them."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from browsing import Contexts
from pages import (
    choose_files,
    download,
    open_receive_page,
    open_send_page,
    send,
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
    sent = send(sender)

    recipient = contexts.page("recipient")
    open_receive_page(recipient, sent.link)

    assert shown_message(recipient) == FRENCH_MESSAGE
    assert shown_names(recipient) == [source.name for source in sources]
    saved_dir = tmp_path / "saved"
    saved_dir.mkdir()
    for index, source in enumerate(sources):
        item, saved = download(recipient, index, saved_dir)
        assert item.failure() is None
        assert item.suggested_filename == source.name
        assert saved.stat().st_size == source.stat().st_size
        assert sha256_file(saved) == sha256_file(source)
