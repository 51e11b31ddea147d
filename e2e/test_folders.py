"""Journeys: folder trees sent from the browser, received as one zip or file by file.

The tree is a patient's exam: 200 small images in nested folders with
accented and emoji names, an empty folder, the 0-byte files of case C01 and
the hostile names of case C04, all inside folders. A hand-made manifest
with ``../`` paths plays the hostile sender.
"""

from __future__ import annotations

import os
import subprocess
import zipfile
from pathlib import Path

import pytest
from browsing import Contexts
from folders import (
    FOLDER,
    choose_folder,
    drop_paths,
    expect_selected,
    is_contained,
    save_all_as_zip,
    shown_folders,
    tree_of,
    zip_tree,
)
from forged import forged_share
from owner import status
from pages import (
    TRANSFER_TIMEOUT_MS,
    download,
    error_text,
    file_items,
    matches_message,
    messages,
    open_receive_page,
    open_send_page,
    send,
    set_downloads,
    sha256_file,
    shown_names,
)
from playwright.sync_api import Page, expect
from serverproc import ROOT, RunningServer

from pyodide_crypto import manifest

pytestmark = pytest.mark.browser

SEALPOST = ROOT / ".venv" / "bin" / "sealpost"
#: Bound for one CLI run (a few files over loopback).
CLI_TIMEOUT_SECONDS = 120
#: Small files in the exam series (the issue's "200 small files").
SERIES = 200
#: Case C04's names, used here as names of files inside a folder.
C04_NAMES = [
    'rapport "final" v2.pdf',
    "!\u00a3$%^&*)(_-+=}{][@'#~?>.\u2039,|`\u00ac.txt",
    "<img src=x onerror=alert(1)>.txt",
]
#: Folders named with accents and emoji (NFC, as the manifest stores them).
SERIES_FOLDERS = ["IRM 2026/s\u00e9rie 1", "Scanner/\U0001fac0 c\u0153ur"]


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def _exam_tree(root: Path) -> Path:
    """Write the exam tree under ``root``; returns its top folder."""
    exam = root / "exam"
    for number in range(SERIES):
        folder = SERIES_FOLDERS[number % len(SERIES_FOLDERS)]
        # Sizes from 1 byte to a bit over one 16 KiB chunk.
        content = os.urandom(1 + number * 97 % 17_000)
        _write(exam / folder / f"img-{number:03d}.dcm", content)
    (exam / "vide").mkdir()
    # C01 inside a folder: two 0-byte files, one with an accent and emoji.
    _write(exam / "Radiologie \u00e9t\u00e9" / "vide.txt", b"")
    _write(exam / "Radiologie \u00e9t\u00e9" / "\u00e9 \U0001f916.txt", b"")
    # C04 inside folders, and as a folder name.
    for name in C04_NAMES:
        _write(exam / "noms" / name, name.encode("utf-8"))
    _write(exam / "<b onclick=alert(2)>dossier</b>" / "note.txt", b"inert")
    _write(exam / "a" / "b" / "c" / "d" / "e" / "profond.txt", b"deep")
    return exam


def _watch_dialogs(page: Page, seen: list[str]) -> None:
    page.on("dialog", lambda dialog: (seen.append(dialog.message), dialog.dismiss()))


def _files_only(tree: dict[str, str]) -> dict[str, str]:
    return {path: digest for path, digest in tree.items() if digest != FOLDER}


def test_dropped_folder_tree_arrives_identical_as_zip_and_file_by_file(
    server: RunningServer, contexts: Contexts, tmp_path: Path
) -> None:
    exam = _exam_tree(tmp_path / "in")
    expected = tree_of(exam, under="exam")
    files = _files_only(expected)
    assert len(files) == SERIES + 2 + len(C04_NAMES) + 2
    assert expected["exam/vide"] == FOLDER
    dialogs: list[str] = []

    sender = contexts.page("sender")
    _watch_dialogs(sender, dialogs)
    open_send_page(sender, server.base_url)
    drop_paths(sender, [exam])
    # Every file under its path, and the empty folder as an entry of its own.
    expect_selected(sender, len(expected))
    set_downloads(sender, 2)
    sent = send(sender)

    recipient = contexts.page("recipient")
    _watch_dialogs(recipient, dialogs)
    open_receive_page(recipient, sent.link)
    assert sorted(shown_names(recipient)) == sorted(files)
    assert shown_folders(recipient) == ["exam/vide"]
    # Names are text: no element was made out of one (C04).
    assert recipient.locator("#file-list img, #file-list b").count() == 0

    item, archive = save_all_as_zip(recipient, tmp_path)
    assert item.failure() is None
    # One folder was sent: the zip is named after it.
    assert item.suggested_filename == "exam.zip"
    received = zip_tree(archive)
    assert received == expected
    assert all(is_contained(name) for name in received)

    # File by file, in the same visit: each one under its own name.
    names = shown_names(recipient)
    for index, path in enumerate(names):
        out_dir = tmp_path / "one-by-one" / str(index)
        out_dir.mkdir(parents=True)
        item, saved = download(recipient, index, out_dir)
        assert item.failure() is None, path
        assert sha256_file(saved) == files[path], path
        assert "/" not in item.suggested_filename

    assert dialogs == []
    # One visit counts one download, however many files and zips it saved.
    with server.client() as client:
        assert sent.owner_token
        assert status(client, sent.share_id, sent.owner_token)["downloads"] == 1


def test_picked_folder_keeps_its_paths(
    server: RunningServer, contexts: Contexts, tmp_path: Path
) -> None:
    top = tmp_path / "in" / "dossier patient"
    _write(top / "s\u00e9rie" / "\U0001f9e0 IRM.dcm", os.urandom(20_000))
    _write(top / "s\u00e9rie" / "sous-dossier" / "b.txt", b"b")
    _write(top / "lettre.txt", "\u00e9t\u00e9".encode())
    expected = tree_of(top, under=top.name)

    sender = contexts.page("sender")
    open_send_page(sender, server.base_url)
    choose_folder(sender, top)
    expect_selected(sender, len(expected))
    sent = send(sender)

    recipient = contexts.page("recipient")
    open_receive_page(recipient, sent.link)
    assert sorted(shown_names(recipient)) == sorted(expected)
    item, archive = save_all_as_zip(recipient, tmp_path)
    assert item.failure() is None
    assert zip_tree(archive) == expected


#: Paths a hostile sender writes into a manifest (docs/format.md 7.3).
HOSTILE = [
    "../escape.txt",
    "../../twice.txt",
    "/etc/absolute.txt",
    "sub/../../climb.txt",
    "..\\windows.txt",
    "C:/drive.txt",
    "./dot/./x.txt",
    "a//b.txt",
    "nul\x00byte.txt",
    # Neutralised, this is where "../escape.txt" lands: names must not clash.
    "__/escape.txt",
    # A file where another entry needs a folder.
    "sub",
    "sub/inner.txt",
]
HOSTILE_DIRS = ["../up", "/rooted"]


def test_crafted_manifest_paths_are_shown_safely_and_neutralised_in_the_zip(
    server: RunningServer, contexts: Contexts, tmp_path: Path
) -> None:
    with server.client() as client:
        link, contents = forged_share(client, HOSTILE, HOSTILE_DIRS)
    neutral = [manifest.safe_path(name) for name in HOSTILE]

    recipient = contexts.page("recipient")
    open_receive_page(recipient, link)
    # Shown as the neutralised paths, as text, in the manifest's order.
    assert shown_names(recipient) == neutral
    assert file_items(recipient).count() == len(HOSTILE)
    assert shown_folders(recipient) == sorted(
        manifest.safe_path(d) for d in HOSTILE_DIRS
    )

    item, archive = save_all_as_zip(recipient, tmp_path)
    assert item.failure() is None
    assert item.suggested_filename == messages("en")["receive.zip_name"]
    received = zip_tree(archive)
    # Nothing escapes, nothing is lost, nothing is overwritten.
    assert all(is_contained(name) for name in received), sorted(received)
    folders = {name for name, kind in received.items() if kind == FOLDER}
    assert folders == {manifest.safe_path(d) for d in HOSTILE_DIRS}
    with zipfile.ZipFile(archive) as opened:
        names = [name for name in opened.namelist() if not name.endswith("/")]
        saved = sorted(opened.read(name) for name in names)
    assert saved == sorted(contents.values())
    # The first of two clashing paths keeps its name; the other is renamed.
    with zipfile.ZipFile(archive) as opened:
        assert opened.read("__/escape.txt") == contents["../escape.txt"]
        assert opened.read("_/etc/absolute.txt") == contents["/etc/absolute.txt"]
        assert opened.read("sub/inner.txt") == contents["sub/inner.txt"]

    # File by file: a bare name, never a path, with the right bytes.
    for index, name in enumerate(HOSTILE):
        out_dir = tmp_path / "one-by-one" / str(index)
        out_dir.mkdir(parents=True)
        item, saved_file = download(recipient, index, out_dir)
        assert item.failure() is None, name
        suggested = item.suggested_filename
        assert "/" not in suggested and "\\" not in suggested, suggested
        assert suggested not in ("", ".", "..")
        assert saved_file.read_bytes() == contents[name], name


def test_folder_with_a_name_the_format_refuses_is_stopped_before_upload(
    server: RunningServer, contexts: Contexts, tmp_path: Path
) -> None:
    top = tmp_path / "in" / "export"
    _write(top / "ok.txt", b"fine")
    # A backslash is a folder separator elsewhere: refused at send time.
    _write(top / "sub" / "back\\slash.txt", b"refused")
    posts: list[str] = []

    sender = contexts.page("sender")
    sender.on(
        "request",
        lambda request: posts.append(request.url) if request.method == "POST" else None,
    )
    open_send_page(sender, server.base_url)
    drop_paths(sender, [top])
    expect_selected(sender, 2)

    # Once the runtime has checked the paths, the page names the refused one
    # and will not send; nothing reached the server.
    expect(sender.locator("#error")).to_contain_text(
        "export/sub/back\\slash.txt", timeout=TRANSFER_TIMEOUT_MS
    )
    expect(sender.locator("#send")).to_be_disabled()
    assert matches_message(error_text(sender), "en", "errors.path_invalid")
    assert posts == []


def test_download_all_stops_failed_at_a_tampered_file(
    server: RunningServer, contexts: Contexts, tmp_path: Path
) -> None:
    top = tmp_path / "in" / "serie"
    for number in range(3):
        _write(top / f"img-{number}.dcm", os.urandom(40_000 + number))
    sent = subprocess.run(
        [str(SEALPOST), "send", "--server", server.base_url, str(top)],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_SECONDS,
        check=False,
    )
    assert sent.returncode == 0, sent.stderr
    link = sent.stdout.strip()
    share_id = link.split("#", 1)[0].rsplit("/", 1)[1]
    # The middle file's last chunk: the zip has already streamed the first.
    blob = server.data_dir / "blobs" / share_id / "1"
    ciphertext = bytearray(blob.read_bytes())
    ciphertext[-5] ^= 0x01
    blob.write_bytes(bytes(ciphertext))

    recipient = contexts.page("recipient")
    open_receive_page(recipient, link)
    item, _ = save_all_as_zip(recipient, tmp_path)

    assert item.failure() is not None, "a zip with a tampered file completed"
    state = recipient.locator("#download-all-state")
    assert state.get_attribute("data-state") == "failed"
    assert matches_message(error_text(recipient), "en", "errors.tampered")
