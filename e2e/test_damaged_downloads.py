"""Journeys: a damaged or interrupted download is never saved as complete.

A byte flipped in the stored ciphertext must be reported as tampering, and a
connection cut halfway (C11) as a failure; in both cases the browser download
ends failed (or never starts) and the page shows an error.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from browser_cutproxy import CuttingProxy
from browsing import Contexts
from pages import (
    SentShare,
    choose_files,
    expect_download_refused,
    open_receive_page,
    open_send_page,
    send,
)
from serverproc import RunningServer

from pyodide_crypto import chunked

pytestmark = pytest.mark.browser

MIB = 1024 * 1024


def _send(server: RunningServer, contexts: Contexts, source: Path) -> SentShare:
    sender = contexts.page("sender")
    open_send_page(sender, server.base_url)
    choose_files(sender, [source])
    return send(sender)


def _blob_of_size(data_dir: Path, size: int) -> Path:
    # The server names blobs as it likes; the ciphertext size is ours, and
    # each test picks a plaintext size no other test uses.
    matches = [
        path
        for path in data_dir.rglob("*")
        if path.is_file() and path.stat().st_size == size
    ]
    assert len(matches) == 1, f"expected one blob of {size} bytes, got {matches}"
    return matches[0]


def test_flipped_ciphertext_byte_is_reported_as_tampered(
    server: RunningServer,
    contexts: Contexts,
    make_file: Callable[[str, bytes], Path],
) -> None:
    # 6 MiB + 7: the flip sits in the second window, after a first window
    # that decrypts fine, which is the hard case for "never complete".
    plain_size = 6 * MIB + 7
    source = make_file("intact.bin", os.urandom(plain_size))
    sent = _send(server, contexts, source)

    blob = _blob_of_size(server.data_dir, chunked.ciphertext_size(plain_size))
    with blob.open("r+b") as handle:
        position = chunked.ciphertext_size(5 * MIB) + 100
        handle.seek(position)
        byte = handle.read(1)
        handle.seek(position)
        handle.write(bytes([byte[0] ^ 0x01]))

    recipient = contexts.page("recipient")
    open_receive_page(recipient, sent.link)
    expect_download_refused(recipient, 0, "tampered")


def test_cut_connection_download_is_reported_failed(
    server: RunningServer,
    contexts: Contexts,
    make_file: Callable[[str, bytes], Path],
) -> None:
    # C11: the network drops halfway through the ciphertext.
    plain_size = 9 * MIB + 3
    source = make_file("coupure.bin", os.urandom(plain_size))
    sent = _send(server, contexts, source)
    port = int(server.base_url.rsplit(":", 1)[1])

    with CuttingProxy(
        port, cut_after=chunked.ciphertext_size(plain_size) // 2
    ) as proxy:
        link = sent.link.replace(server.base_url, proxy.base_url, 1)
        recipient = contexts.page("recipient")
        open_receive_page(recipient, link)
        expect_download_refused(recipient, 0, "network")
        assert proxy.cuts >= 1
