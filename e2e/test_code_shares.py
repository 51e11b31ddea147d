"""Journeys: shares that open only with the link *and* a second-channel code.

The server here tolerates three wrong codes per share, so the journeys can
count attempts down to the lock. Codes are sent and received in the browser
and by the command line, both ways; the CLI-made shares also serve as the
raw material for the tampering journeys, which change what the server holds
and check that the receive page refuses before it trusts anything.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from browsing import Contexts
from codes import (
    attempts_shown,
    enter_code,
    open_code_page,
    protect_with_code,
    result_code,
)
from owner import status
from pages import (
    TRANSFER_TIMEOUT_MS,
    SentShare,
    choose_files,
    download,
    error_text,
    expect_unavailable,
    file_items,
    matches_message,
    messages,
    open_manage_page,
    open_send_page,
    send,
    set_message,
    sha256_file,
    shown_message,
    shown_names,
)
from playwright.sync_api import Page, Request, expect
from samples import FRENCH_MESSAGE, FRENCH_NAME
from serverproc import ROOT, RunningServer, start_server, stop_server

from pyodide_crypto import kdf
from server.storage.base import MANIFEST_BLOB

pytestmark = pytest.mark.browser

SEALPOST = ROOT / ".venv" / "bin" / "sealpost"
#: Bound for one CLI run (one Argon2id and a few kilobytes over loopback).
CLI_TIMEOUT_SECONDS = 120
#: Wrong codes this test server tolerates before a share locks.
ATTEMPTS = 3
#: A code the journeys type: accents, a space, digits.
ACCENTED_CODE = "Cr\u00e8me Br\u00fbl\u00e9e 42"


@pytest.fixture(scope="module")
def code_server(tmp_root: Path) -> Iterator[RunningServer]:
    """A server whose code shares lock after :data:`ATTEMPTS` wrong codes."""
    running = start_server(tmp_root, "codes", {"SEALPOST_CODE_ATTEMPTS": str(ATTEMPTS)})
    yield running
    stop_server(running)


def _sealpost(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SEALPOST), *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=CLI_TIMEOUT_SECONDS,
        check=False,
    )


def _cli_send(server: RunningServer, *args: str) -> dict[str, str]:
    """``sealpost send --json`` on the test server; its JSON answer."""
    result = _sealpost("send", "--server", server.base_url, "--json", *args)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def _public_code(server: RunningServer, share_id: str) -> dict[str, object]:
    """What the server publishes about a share's code (before any unlock)."""
    with server.client() as client:
        info = client.get(f"/api/shares/{share_id}")
    assert info.status_code == 200, info.text
    code = info.json()["code"]
    assert isinstance(code, dict)
    return code


def _send_with_code(
    server: RunningServer,
    contexts: Contexts,
    sources: list[Path],
    *,
    code: str | None = None,
    message: str = "",
) -> tuple[SentShare, str]:
    """Send from the browser with a code (generated when ``code`` is None)."""
    sender = contexts.page("sender")
    open_send_page(sender, server.base_url)
    choose_files(sender, sources)
    if message:
        set_message(sender, message)
    chosen = protect_with_code(sender, code)
    sent = send(sender)
    # The code is shown apart from the link, and the link does not hold it.
    assert result_code(sender) == chosen
    assert chosen not in sent.link
    assert kdf.normalize_code(chosen).decode() not in sent.link.lower()
    return sent, chosen


def _expect_locked_out(page: Page) -> None:
    """The share is not open: no file, no message, nothing of the manifest."""
    expect(page.locator("#share")).to_be_hidden()
    expect(file_items(page)).to_have_count(0)
    assert shown_message(page) == ""


def _assert_received(
    page: Page, sources: list[Path], message: str, out_dir: Path
) -> None:
    assert shown_message(page) == message
    assert shown_names(page) == [source.name for source in sources]
    out_dir.mkdir(exist_ok=True)
    for index, source in enumerate(sources):
        item, saved = download(page, index, out_dir)
        assert item.failure() is None
        assert sha256_file(saved) == sha256_file(source)


# ----------------------------------------------------------- browser only


def test_code_share_generated_code_opens_in_any_spelling(
    code_server: RunningServer,
    contexts: Contexts,
    make_file: Callable[[str, bytes], Path],
    tmp_path: Path,
) -> None:
    sources = [
        make_file("scan.dcm", os.urandom(300_000)),
        make_file(FRENCH_NAME, os.urandom(1000)),
    ]
    sent, code = _send_with_code(code_server, contexts, sources, message=FRENCH_MESSAGE)

    # The server publishes the writer's Argon2id settings, and holds back
    # the envelope from anyone who has only the link.
    public = _public_code(code_server, sent.share_id)
    assert (public["kdf"], public["m"], public["t"], public["p"]) == (
        "argon2id",
        64 * 1024,
        3,
        1,
    )
    assert public["attempts_left"] == ATTEMPTS
    with code_server.client() as client:
        assert client.get(f"/api/shares/{sent.share_id}/manifest").status_code == 403

    recipient = contexts.page("recipient")
    open_code_page(recipient, sent.link)
    _expect_locked_out(recipient)
    assert attempts_shown(recipient) == ATTEMPTS
    # Read over the phone: lower case, a space for the hyphen, one too many.
    spelled = code.lower().replace("-", " ") + " "
    assert enter_code(recipient, spelled), error_text(recipient)

    _assert_received(recipient, sources, FRENCH_MESSAGE, tmp_path / "out")
    assert _public_code(code_server, sent.share_id)["attempts_left"] == ATTEMPTS


def test_code_share_wrong_code_counts_and_the_right_one_still_opens(
    code_server: RunningServer,
    contexts: Contexts,
    make_file: Callable[[str, bytes], Path],
    tmp_path: Path,
) -> None:
    sources = [make_file("compte-rendu.pdf", os.urandom(50_000))]
    sent, _ = _send_with_code(
        code_server, contexts, sources, code=ACCENTED_CODE, message="bloc B"
    )

    recipient = contexts.page("recipient")
    open_code_page(recipient, sent.link)
    # Nothing left once spaces and hyphens go: refused here, never counted.
    assert not enter_code(recipient, " - ")
    assert matches_message(error_text(recipient), "en", "errors.code_invalid")
    # The reason is said in the page's language, not Python's.
    assert messages("en")["reasons.empty"] in error_text(recipient)
    assert attempts_shown(recipient) == ATTEMPTS
    # Accents are significant: without them it is another code.
    assert not enter_code(recipient, "creme brulee 42")
    assert matches_message(error_text(recipient), "en", "errors.wrong_code")
    assert attempts_shown(recipient) == ATTEMPTS - 1
    assert _public_code(code_server, sent.share_id)["attempts_left"] == ATTEMPTS - 1
    _expect_locked_out(recipient)

    # Combining accents, capitals and hyphens: the same code as typed.
    spelled = unicodedata.normalize("NFD", "CR\u00c8ME-BR\u00dbL\u00c9E-42")
    assert enter_code(recipient, spelled), error_text(recipient)
    _assert_received(recipient, sources, "bloc B", tmp_path / "out")


def test_code_share_wrong_link_and_wrong_code_read_the_same(
    code_server: RunningServer,
    contexts: Contexts,
    make_file: Callable[[str, bytes], Path],
) -> None:
    source = make_file("a.txt", b"either one")
    sent, code = _send_with_code(code_server, contexts, [source])
    base = sent.link.split("#", 1)[0]
    other = sent.fragment[:-4] + ("AAAA" if sent.fragment[-4:] != "AAAA" else "BBBA")

    wrong_link = contexts.page("wrong link")
    open_code_page(wrong_link, f"{base}#{other}")
    assert not enter_code(wrong_link, code)
    wrong_code = contexts.page("wrong code")
    open_code_page(wrong_code, sent.link)
    assert not enter_code(wrong_code, "ZZZZZ-ZZZZZ")

    # One message for both, which cannot help a guesser; both were counted.
    assert error_text(wrong_link) == error_text(wrong_code)
    assert matches_message(error_text(wrong_code), "en", "errors.wrong_code")
    assert attempts_shown(wrong_link) == ATTEMPTS - 1
    assert attempts_shown(wrong_code) == ATTEMPTS - 2
    for page, left in ((wrong_link, ATTEMPTS - 1), (wrong_code, ATTEMPTS - 2)):
        attempts = page.locator("#attempts").inner_text()
        key = "receive.attempts_one" if left == 1 else "receive.attempts_other"
        assert matches_message(attempts, "en", key), attempts
        assert str(left) in attempts
        _expect_locked_out(page)


def test_code_share_locks_after_the_limit_and_the_owner_sees_it(
    code_server: RunningServer,
    contexts: Contexts,
    make_file: Callable[[str, bytes], Path],
) -> None:
    source = make_file("locked.txt", b"never seen")
    sent, _ = _send_with_code(code_server, contexts, [source], message="x")
    assert sent.owner_token

    guesser = contexts.page("guesser")
    open_code_page(guesser, sent.link)
    for left in range(ATTEMPTS - 1, -1, -1):
        assert not enter_code(guesser, f"ZZZZZ-ZZZZ{left + 2}")
        assert attempts_shown(guesser) == left
    # No attempt left: the page stops asking.
    expect(guesser.locator("#code-submit")).to_be_disabled()
    expect(guesser.locator("#code-input")).to_be_disabled()
    assert matches_message(
        guesser.locator("#attempts").inner_text(), "en", "receive.attempts_other"
    )
    _expect_locked_out(guesser)

    # Locked for good: a fresh browser is not even asked for the code.
    latecomer = contexts.page("latecomer")
    latecomer.goto(sent.link)
    expect_unavailable(latecomer)
    expect(latecomer.locator("#code-form")).to_be_hidden()

    owner = contexts.page("owner")
    open_manage_page(owner, str(sent.manage_link))
    expect(owner.locator("#state")).to_have_attribute("data-value", "locked")
    expect(owner.locator("#state")).to_have_text(messages("en")["manage.states.locked"])
    expect(owner.locator("#revoke")).to_be_disabled()
    with code_server.client() as client:
        assert status(client, sent.share_id, sent.owner_token)["state"] == "locked"


# ------------------------------------------------------ browser and CLI


@pytest.mark.parametrize("typed", [True, False], ids=["typed", "generated"])
def test_code_share_browser_to_cli(
    code_server: RunningServer,
    contexts: Contexts,
    make_file: Callable[[str, bytes], Path],
    tmp_path: Path,
    typed: bool,
) -> None:
    sources = [
        make_file(FRENCH_NAME, os.urandom(70_000)),
        make_file("vide.txt", b""),
    ]
    sent, code = _send_with_code(
        code_server,
        contexts,
        sources,
        code=ACCENTED_CODE if typed else None,
        message=FRENCH_MESSAGE,
    )
    out_dir = tmp_path / "cli-out"

    # Another spelling of the same code, as the CLI's user would type it.
    spelled = unicodedata.normalize("NFD", code.upper()).replace(" ", "-")
    result = _sealpost("get", sent.link, "-o", str(out_dir), "--code", spelled)

    assert result.returncode == 0, result.stderr
    assert result.stdout == FRENCH_MESSAGE + "\n"
    for source in sources:
        assert sha256_file(out_dir / source.name) == sha256_file(source)
    assert _public_code(code_server, sent.share_id)["attempts_left"] == ATTEMPTS


@pytest.mark.parametrize("typed", [True, False], ids=["typed", "generated"])
def test_code_share_cli_to_browser(
    code_server: RunningServer,
    contexts: Contexts,
    make_file: Callable[[str, bytes], Path],
    tmp_path: Path,
    typed: bool,
) -> None:
    sources = [make_file(FRENCH_NAME, os.urandom(40_000))]
    chosen = ["--code", ACCENTED_CODE] if typed else ["--generate-code"]
    answer = _cli_send(code_server, *chosen, "-m", FRENCH_MESSAGE, str(sources[0]))
    code = ACCENTED_CODE if typed else answer["code"]

    recipient = contexts.page("recipient")
    open_code_page(recipient, answer["link"])
    assert attempts_shown(recipient) == ATTEMPTS
    spelled = f"  {code.lower()}  " if typed else code.replace("-", "")
    assert enter_code(recipient, spelled), error_text(recipient)
    _assert_received(recipient, sources, FRENCH_MESSAGE, tmp_path / "out")


# --------------------------------------------------------------- tampering


def _record_unlocks(page: Page) -> list[str]:
    """URLs of every unlock request the page (or its worker) makes."""
    seen: list[str] = []

    def record(request: Request) -> None:
        if request.url.split("?", 1)[0].endswith("/unlock"):
            seen.append(request.url)

    page.context.on("request", record)
    return seen


@pytest.mark.parametrize(
    "published",
    [{"m": 1024}, {"t": 1}, {"m": 4 * 1024 * 1024}],
    ids=["memory-below-floor", "iterations-below-floor", "memory-above-ceiling"],
)
def test_code_share_unsafe_kdf_settings_are_refused_before_deriving(
    code_server: RunningServer,
    contexts: Contexts,
    published: dict[str, int],
) -> None:
    answer = _cli_send(code_server, "--code", ACCENTED_CODE, "-m", "kept")
    share_id = answer["link"].split("#", 1)[0].rsplit("/", 1)[1]
    # A hostile (or broken) server publishes other Argon2id settings.
    database = sqlite3.connect(code_server.data_dir / "sealpost.db")
    try:
        with database:
            (stored,) = database.execute(
                "SELECT code_kdf FROM shares WHERE id = ?", (share_id,)
            ).fetchone()
            database.execute(
                "UPDATE shares SET code_kdf = ? WHERE id = ?",
                (json.dumps({**json.loads(stored), **published}), share_id),
            )
    finally:
        database.close()

    recipient = contexts.page("recipient")
    unlocks = _record_unlocks(recipient)
    recipient.goto(answer["link"])
    error = recipient.locator("#error").filter(has_text=re.compile(r"\S"))
    expect(error).to_be_visible(timeout=TRANSFER_TIMEOUT_MS)

    assert matches_message(error.inner_text(), "en", "errors.code_unsafe")
    # Refused as soon as the settings were read: no code asked, no Argon2id
    # run, no unlock tried, no attempt spent.
    expect(recipient.locator("#code-form")).to_be_hidden()
    _expect_locked_out(recipient)
    assert unlocks == []
    assert _public_code(code_server, share_id)["attempts_left"] == ATTEMPTS


# Offsets in a one-stanza envelope (docs/format.md 5.1 and 5.4): the stanza
# type at 10, its body from 13: KDF id, m (4 bytes), t (4), p, salt (16),
# then the wrapped share key and its tag (48).
_BODY = 13
STANZA_FIELDS = {
    "stanza-type": 10,
    "kdf-id": _BODY,
    "memory": _BODY + 3,
    "iterations": _BODY + 8,
    "salt": _BODY + 10 + 5,
    "wrapped-key": _BODY + 26 + 7,
    "tag": _BODY + 26 + 47,
}


@pytest.mark.parametrize("offset", STANZA_FIELDS.values(), ids=STANZA_FIELDS.keys())
def test_code_share_tampered_code_stanza_fails_closed(
    code_server: RunningServer, contexts: Contexts, offset: int
) -> None:
    answer = _cli_send(code_server, "--code", ACCENTED_CODE, "-m", "secret words")
    share_id = answer["link"].split("#", 1)[0].rsplit("/", 1)[1]
    blob = code_server.data_dir / "blobs" / share_id / MANIFEST_BLOB
    envelope = bytearray(blob.read_bytes())
    assert envelope[10] == 0x02, "expected a code stanza first"
    envelope[offset] ^= 0x01
    blob.write_bytes(bytes(envelope))

    recipient = contexts.page("recipient")
    open_code_page(recipient, answer["link"])
    # The server still takes the right code (it checks the unlock proof
    # from the published settings, not the stanza), so it is the page that
    # must refuse what it got.
    assert not enter_code(recipient, ACCENTED_CODE)

    assert matches_message(error_text(recipient), "en", "errors.bad_link")
    _expect_locked_out(recipient)
    assert "secret words" not in recipient.content()
    assert _public_code(code_server, share_id)["attempts_left"] == ATTEMPTS
