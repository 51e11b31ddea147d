"""The field cases of /work/shared/cases that a person meets in the browser.

Each test names its case (C01...). Sizes, names and messages are the ones
that broke products like ours.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from browsing import Contexts
from pages import (
    choose_files,
    download,
    file_items,
    matches_message,
    open_receive_page,
    open_send_page,
    send,
    set_message,
    sha256_file,
    shown_message,
    shown_names,
)
from playwright.sync_api import Page, Request, expect
from samples import C08_MESSAGE
from serverproc import RunningServer

pytestmark = pytest.mark.browser

CHUNK = 16 * 1024

# Records every state of a progress element, so a NaN shown even briefly is
# caught (C01). Installed before the page's own scripts run.
_PROGRESS_RECORDER = """
window.__progressSeen = [];
const record = () => {
  const el = document.getElementById('progress');
  if (!el) return;
  const parts = [el.textContent, el.getAttribute('value'), el.getAttribute('max'),
    el.getAttribute('aria-valuenow'), el.getAttribute('style')];
  for (const child of el.querySelectorAll('*')) {
    parts.push(child.textContent, child.getAttribute('value'),
      child.getAttribute('style'), child.getAttribute('aria-valuenow'));
  }
  window.__progressSeen.push(parts.join('|'));
};
new MutationObserver(record).observe(document, {
  subtree: true, childList: true, attributes: true, characterData: true,
});
"""


def _progress_states(page: Page) -> list[str]:
    return [str(state) for state in page.evaluate("window.__progressSeen")]


def _round_trip(
    server: RunningServer,
    contexts: Contexts,
    sources: list[Path],
    out_dir: Path,
    *,
    message: str = "",
) -> tuple[Page, Page]:
    """Send ``sources`` from one context, receive and check them in another."""
    sender = contexts.page("sender")
    sender.add_init_script(_PROGRESS_RECORDER)
    open_send_page(sender, server.base_url)
    choose_files(sender, sources)
    if message:
        set_message(sender, message)
    sent = send(sender)

    recipient = contexts.page("recipient")
    recipient.add_init_script(_PROGRESS_RECORDER)
    open_receive_page(recipient, sent.link)
    assert shown_names(recipient) == [source.name for source in sources]
    out_dir.mkdir(exist_ok=True)
    for index, source in enumerate(sources):
        item, saved = download(recipient, index, out_dir)
        assert item.failure() is None, source.name
        assert saved.read_bytes() == source.read_bytes(), source.name
    return sender, recipient


def test_c01_two_empty_files_round_trip_without_nan_progress(
    server: RunningServer,
    contexts: Contexts,
    make_file: Callable[[str, bytes], Path],
    tmp_path: Path,
) -> None:
    sources = [make_file("vide.txt", b""), make_file("\u00e9 \U0001f916.txt", b"")]
    sender, recipient = _round_trip(server, contexts, sources, tmp_path / "out")

    for page in (sender, recipient):
        states = _progress_states(page)
        assert not [state for state in states if "NaN" in state or "Infinity" in state]
    for source in sources:
        assert (tmp_path / "out" / source.name).stat().st_size == 0


def test_c02_c03_chunk_boundary_and_tiny_utf8_files_are_identical(
    server: RunningServer,
    contexts: Contexts,
    make_file: Callable[[str, bytes], Path],
    tmp_path: Path,
) -> None:
    sizes = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 2 * CHUNK + 1, 257 * CHUNK]
    sources = [make_file(f"taille-{size}.bin", os.urandom(size)) for size in sizes]
    sources += [
        make_file(f"petit-{number}.txt", text.encode("utf-8"))
        for number, text in enumerate(["a", "\u00e9", "\u20ac", "\U0001f916"])
    ]
    _round_trip(server, contexts, sources, tmp_path / "out")


def test_c04_hostile_names_are_shown_as_inert_text(
    server: RunningServer,
    contexts: Contexts,
    make_file: Callable[[str, bytes], Path],
    tmp_path: Path,
) -> None:
    names = [
        'rapport "final" v2.pdf',
        "!\u00a3$%^&*)(_-+=}{][@'#~?>.\u2039,|`\u00ac.txt",
        "<img src=x onerror=alert(1)>.txt",
    ]
    sources = [make_file(name, name.encode("utf-8")) for name in names]
    dialogs: list[str] = []

    sender = contexts.page("sender")
    sender.on(
        "dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss())
    )
    open_send_page(sender, server.base_url)
    choose_files(sender, sources)
    sent = send(sender)

    recipient = contexts.page("recipient")
    recipient.on(
        "dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss())
    )
    open_receive_page(recipient, sent.link)

    assert shown_names(recipient) == names
    # Shown as text: no element was made out of a name.
    assert recipient.locator("#file-list img").count() == 0
    for index, source in enumerate(sources):
        item, saved = download(recipient, index, tmp_path)
        assert item.failure() is None
        # The saved name is the original or the browser's safe substitute
        # (it replaces characters that file systems refuse), never empty.
        assert item.suggested_filename
        assert saved.read_bytes() == source.read_bytes()
    assert dialogs == []


def test_c05_html_and_svg_with_script_are_only_offered_as_downloads(
    server: RunningServer,
    contexts: Contexts,
    make_file: Callable[[str, bytes], Path],
    tmp_path: Path,
) -> None:
    script = "<script>alert('xss'); document.title = 'pwned';</script>"
    sources = [
        make_file(
            "page.html", f"<!doctype html><html><body>{script}</body></html>".encode()
        ),
        make_file(
            "image.svg",
            (
                '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(2)">'
                f"{script}</svg>"
            ).encode(),
        ),
    ]
    sender = contexts.page("sender")
    open_send_page(sender, server.base_url)
    choose_files(sender, sources)
    sent = send(sender)

    context = contexts.new("recipient")
    recipient = context.new_page()
    dialogs: list[str] = []
    pages_opened: list[Page] = []
    context.on("page", lambda opened: pages_opened.append(opened))
    recipient.on(
        "dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss())
    )
    open_receive_page(recipient, sent.link)
    receive_url = recipient.url

    for index, source in enumerate(sources):
        item, saved = download(recipient, index, tmp_path)
        assert item.failure() is None
        assert saved.read_bytes() == source.read_bytes()

    assert dialogs == []
    assert pages_opened == []
    assert recipient.url == receive_url
    assert recipient.title() != "pwned"
    for frame in recipient.frames:
        assert not frame.url.endswith((".html", ".svg")), frame.url


def test_c07_file_over_the_limit_is_refused_before_upload(
    small_server: RunningServer,
    contexts: Contexts,
    make_file: Callable[[str, bytes], Path],
) -> None:
    limit = int(small_server.config["max_file_bytes"])
    too_big = make_file("trop-gros.bin", os.urandom(limit + 1))

    for locale, language in (("en-US", "en"), ("fr-FR", "fr")):
        uploads: list[str] = []
        context = contexts.new(f"sender {language}", locale=locale)

        def watch(request: Request, seen: list[str] = uploads) -> None:
            if request.method in ("POST", "PUT") and "/api/shares" in request.url:
                seen.append(f"{request.method} {request.url}")

        context.on("request", watch)
        sender = context.new_page()
        open_send_page(sender, small_server.base_url)
        choose_files(sender, [too_big])
        if sender.locator("#send").is_enabled():
            sender.locator("#send").click()
        error = sender.locator("#error")
        expect(error).to_be_visible()
        text = error.inner_text()
        assert matches_message(text, language, "errors.file_too_large"), text
        assert too_big.name in text
        expect(sender.locator("#result-link")).to_be_hidden()
        assert uploads == []

    # The limit is the server's, not a guess: exactly the limit is accepted.
    sender = contexts.page("sender at the limit")
    open_send_page(sender, small_server.base_url)
    choose_files(sender, [make_file("juste.bin", os.urandom(limit))])
    assert send(sender).link


def test_c08_message_with_combining_marks_tab_and_zwj_is_exact(
    server: RunningServer,
    contexts: Contexts,
    make_file: Callable[[str, bytes], Path],
    tmp_path: Path,
) -> None:
    source = make_file("note.txt", b"x")
    _, recipient = _round_trip(
        server, contexts, [source], tmp_path / "out", message=C08_MESSAGE
    )
    assert shown_message(recipient) == C08_MESSAGE


def test_c10_files_picked_in_two_passes_keep_their_bytes(
    server: RunningServer,
    contexts: Contexts,
    make_file: Callable[[str, bytes], Path],
    tmp_path: Path,
) -> None:
    first = make_file("a.zip", os.urandom(70_000))
    second = make_file("b.jpg", os.urandom(90_001))
    sender = contexts.page("sender")
    open_send_page(sender, server.base_url)
    choose_files(sender, [first])
    choose_files(sender, [second])
    sent = send(sender)

    recipient = contexts.page("recipient")
    open_receive_page(recipient, sent.link)
    names = shown_names(recipient)
    assert "b.jpg" in names
    by_name = {first.name: first, second.name: second}
    for index, name in enumerate(names):
        item, saved = download(recipient, index, tmp_path)
        assert item.failure() is None
        assert item.suggested_filename == name
        assert sha256_file(saved) == sha256_file(by_name[name])
    assert file_items(recipient).count() == len(names)
