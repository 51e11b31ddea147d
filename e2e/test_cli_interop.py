"""Journeys between the browser and the command line, both ways."""

from __future__ import annotations

import os
import subprocess
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
from samples import C08_MESSAGE, FRENCH_NAME
from serverproc import ROOT, RunningServer

pytestmark = pytest.mark.browser

SEALPOST = ROOT / ".venv" / "bin" / "sealpost"

#: Bound for one CLI run (a few megabytes over loopback).
CLI_TIMEOUT_SECONDS = 120


def _sealpost(*args: str) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(
        [str(SEALPOST), *args],
        capture_output=True,
        timeout=CLI_TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result


def test_browser_to_cli_files_and_message_are_identical(
    server: RunningServer,
    contexts: Contexts,
    make_file: Callable[[str, bytes], Path],
    tmp_path: Path,
) -> None:
    sources = [
        make_file(FRENCH_NAME, os.urandom(3 * 1024 * 1024 + 5)),
        make_file("vide.txt", b""),
    ]
    sender = contexts.page("sender")
    open_send_page(sender, server.base_url)
    choose_files(sender, sources)
    set_message(sender, C08_MESSAGE)
    sent = send(sender)

    out_dir = tmp_path / "cli-out"
    result = _sealpost("get", sent.link, "-o", str(out_dir))

    # The CLI prints the message followed by one newline.
    assert result.stdout.decode("utf-8") == C08_MESSAGE + "\n"
    for source in sources:
        received = out_dir / source.name
        assert sha256_file(received) == sha256_file(source)
    assert sorted(path.name for path in out_dir.iterdir()) == sorted(
        source.name for source in sources
    )


def test_cli_to_browser_files_and_message_are_identical(
    server: RunningServer,
    contexts: Contexts,
    make_file: Callable[[str, bytes], Path],
    tmp_path: Path,
) -> None:
    sources = [
        make_file(FRENCH_NAME, os.urandom(2 * 1024 * 1024 + 11)),
        make_file("a.txt", "\u20ac".encode()),
    ]
    result = _sealpost(
        "send",
        "--server",
        server.base_url,
        "--message",
        C08_MESSAGE,
        *(str(source) for source in sources),
    )
    link = result.stdout.decode("utf-8").strip()

    recipient = contexts.page("recipient")
    open_receive_page(recipient, link)
    assert shown_message(recipient) == C08_MESSAGE
    assert shown_names(recipient) == [source.name for source in sources]
    for index, source in enumerate(sources):
        item, saved = download(recipient, index, tmp_path)
        assert item.failure() is None
        assert item.suggested_filename == source.name
        assert sha256_file(saved) == sha256_file(source)
