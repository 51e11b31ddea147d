"""Folder trees for the journeys: make them, drop or pick them, read zips.

Dropping goes through Chromium's own drag and drop (the DevTools protocol's
``Input.dispatchDragEvent`` with real paths), so the page gets the same
``FileSystemEntry`` tree as from a file manager, empty folders included.
Picking uses the ``webkitdirectory`` input, which lists files only: a
browser never reports an empty folder through it.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path, PurePosixPath

from pages import TRANSFER_TIMEOUT_MS
from playwright.sync_api import Download, Page, expect

#: What :func:`tree_of` and :func:`zip_tree` give an empty folder.
FOLDER = "/"

_ENDED = re.compile(r"^(done|failed)$")


def drop_paths(page: Page, paths: list[Path]) -> None:
    """Drag ``paths`` (files or folders) from the desktop onto ``#drop``."""
    box = page.locator("#drop").bounding_box()
    assert box is not None, "the drop zone is not shown"
    x = box["x"] + box["width"] / 2
    y = box["y"] + box["height"] / 2
    files = [str(path) for path in paths]
    data = {"items": [], "files": files, "dragOperationsMask": 1}
    session = page.context.new_cdp_session(page)
    try:
        for kind in ("dragEnter", "dragOver", "drop"):
            session.send(
                "Input.dispatchDragEvent", {"type": kind, "x": x, "y": y, "data": data}
            )
    finally:
        session.detach()


def choose_folder(page: Page, folder: Path) -> None:
    """Pick ``folder`` with the send page's "add a folder" button."""
    page.locator("#folder").set_input_files(str(folder))


def expect_selected(page: Page, count: int) -> None:
    """Wait until the send page lists ``count`` entries (files and folders)."""
    # Reading a big dropped tree takes a moment on a loaded machine.
    expect(page.locator("#selected > li")).to_have_count(
        count, timeout=TRANSFER_TIMEOUT_MS
    )


def tree_of(root: Path, *, under: str = "") -> dict[str, str]:
    """Every file below ``root`` with its SHA-256, and empty folders as "/".

    Keys are ``/`` paths relative to ``root``'s parent when ``under`` is
    ``root``'s name, so that they read as the sender's paths.
    """
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        relative = PurePosixPath(under, *path.relative_to(root).parts).as_posix()
        if path.is_file():
            found[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif path.is_dir() and not any(path.iterdir()):
            found[relative] = FOLDER
    return found


def zip_tree(archive: Path) -> dict[str, str]:
    """Every entry of a zip: files with their SHA-256, folders as "/".

    :raises AssertionError: an entry fails its CRC, or a name is repeated.
    """
    with zipfile.ZipFile(archive) as opened:
        assert opened.testzip() is None, "an entry fails its CRC"
        names = opened.namelist()
        assert len(names) == len(set(names)), "a name is in the zip twice"
        found: dict[str, str] = {}
        for info in opened.infolist():
            if info.is_dir():
                found[info.filename.rstrip("/")] = FOLDER
            else:
                digest = hashlib.sha256(opened.read(info)).hexdigest()
                found[info.filename] = digest
    return found


def save_all_as_zip(page: Page, target_dir: Path) -> tuple[Download, Path]:
    """Press "download all"; wait for the one zip and save it.

    Waits until the page marks the zip done or failed; the caller checks
    ``failure()``.
    """
    with page.expect_download(timeout=TRANSFER_TIMEOUT_MS) as info:
        page.locator("#download-all").click()
    item = info.value
    # The page's state first: Playwright's own wait for the end of a
    # download has no timeout, and a stalled stream would hang the run.
    state = page.locator("#download-all-state")
    expect(state).to_have_attribute("data-state", _ENDED, timeout=TRANSFER_TIMEOUT_MS)
    target = target_dir / item.suggested_filename
    if item.failure() is None:
        item.save_as(target)
    return item, target


def shown_folders(page: Page) -> list[str]:
    """The empty folders the receive page lists, in order."""
    names = page.locator("#file-list li.folder .name")
    return [
        str(text) for text in names.evaluate_all("els => els.map(e => e.textContent)")
    ]


def is_contained(name: str) -> bool:
    """Whether a zip entry name stays inside the folder it is unpacked in."""
    if name.startswith(("/", "\\")) or "\\" in name or "\x00" in name:
        return False
    parts = PurePosixPath(name).parts
    if parts and len(parts[0]) >= 2 and parts[0][1] == ":":
        return False
    return ".." not in parts and "." not in parts
