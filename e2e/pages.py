"""What a person does on Sealpost's pages, as small functions over Playwright.

Only the stable element ids of docs/architecture.md are used, so the journeys
read like the steps a person takes and survive changes of layout. Every wait
is on a page condition, never on a fixed delay.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from playwright.sync_api import Download, Locator, Page, expect

ROOT = Path(__file__).resolve().parent.parent
I18N_DIR = ROOT / "client" / "web" / "i18n"

#: Generous bound for an upload or a download of a few megabytes on 2 cores.
TRANSFER_TIMEOUT_MS = 120_000

_SOME_TEXT = re.compile(r"\S")
_SETTLED = re.compile(r"^(ready|error)$")


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in pieces."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for piece in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(piece)
    return digest.hexdigest()


@cache
def messages(language: str) -> dict[str, str]:
    """The client's translation table for ``language`` (flattened keys)."""
    table = json.loads((I18N_DIR / f"{language}.json").read_text(encoding="utf-8"))
    flat: dict[str, str] = {}

    def walk(prefix: str, value: object) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else key, inner)
        else:
            flat[prefix] = str(value)

    walk("", table)
    return flat


def matches_message(shown: str, language: str, key: str) -> bool:
    """Whether ``shown`` is the translation ``key`` with its values filled in.

    Placeholders such as ``{limit}`` may hold anything; every fixed piece of
    the template must appear, in order.
    """
    pieces = re.split(r"\{[a-z_]+\}", messages(language)[key])
    pattern = ".*".join(re.escape(piece) for piece in pieces)
    return re.search(pattern, shown, re.DOTALL) is not None


@dataclass(frozen=True)
class SentShare:
    """What the sender gets back: the recipient link and the owner link."""

    link: str
    manage_link: str | None

    @property
    def share_id(self) -> str:
        """The share id (the last path segment of the link)."""
        return self.link.split("#", 1)[0].rstrip("/").rsplit("/", 1)[1]

    @property
    def fragment(self) -> str:
        """The link secret as the URL fragment spells it."""
        return self.link.split("#", 1)[1]

    @property
    def owner_token(self) -> str | None:
        """The owner token, from the manage link's fragment."""
        if self.manage_link is None or "#" not in self.manage_link:
            return None
        return self.manage_link.split("#", 1)[1]


# ------------------------------------------------------------------ sending


def open_send_page(page: Page, base_url: str) -> None:
    """Open the send page and wait until it accepts files."""
    page.goto(base_url + "/")
    expect(page.locator("#files")).to_be_attached()
    expect(page.locator("#send")).to_be_visible()
    # The page marks itself ready once it has the server's limits and the
    # settings it offers are filled in, or failed to start.
    body = page.locator("body")
    expect(body).to_have_attribute("data-state", _SETTLED)
    if body.get_attribute("data-state") != "ready":
        raise AssertionError(f"the send page did not start: {error_text(page)!r}")


def choose_files(page: Page, paths: list[Path]) -> None:
    """Pick files in the file dialog (one pass)."""
    page.locator("#files").set_input_files([str(path) for path in paths])


def set_message(page: Page, message: str) -> None:
    """Type the message for the recipient."""
    page.locator("#message").fill(message)


def set_downloads(page: Page, count: int) -> None:
    """Choose how many downloads the link allows."""
    _choose(page.locator("#downloads"), str(count))


def set_expiry(page: Page, seconds: int) -> None:
    """Choose the link's lifetime, in seconds."""
    _choose(page.locator("#expiry"), str(seconds))


def expiry_choices(page: Page) -> list[int]:
    """The lifetimes (seconds) the send page offers."""
    values = page.locator("#expiry option").evaluate_all(
        "options => options.map((option) => option.value)"
    )
    return [int(value) for value in values]


def switch_language(page: Page, language: str) -> None:
    """Pick a language in the page's switch and wait until the page speaks it."""
    _choose(page.locator("#lang"), language)
    expect(page.locator("html")).to_have_attribute("lang", language)


def _choose(field: Locator, value: str) -> None:
    if field.evaluate("el => el.tagName") == "SELECT":
        field.select_option(value)
    else:
        field.fill(value)


def send(page: Page, *, timeout_ms: int = TRANSFER_TIMEOUT_MS) -> SentShare:
    """Press send and wait for the link (or fail with the page's error)."""
    page.locator("#send").click()
    result = page.locator("#result-link")
    error = page.locator("#error").filter(has_text=_SOME_TEXT)
    expect(result.filter(has_text=_SOME_TEXT).or_(error)).to_be_visible(
        timeout=timeout_ms
    )
    if error.is_visible():
        raise AssertionError(f"sending failed: {error.inner_text()!r}")
    manage = page.locator("#manage-link")
    manage_link = _link_of(manage) if manage.count() else None
    return SentShare(_link_of(result), manage_link)


def _link_of(element: Locator) -> str:
    # The link may be shown as an anchor, an input or plain text.
    value = element.evaluate(
        "el => el.getAttribute('href') || el.value || el.textContent"
    )
    return str(value).strip()


# ---------------------------------------------------------------- receiving


def open_receive_page(page: Page, link: str) -> None:
    """Open a share link; returns when its files or an error are shown."""
    page.goto(link)
    files = page.locator("#file-list li[data-index]")
    error = page.locator("#error").filter(has_text=_SOME_TEXT)
    expect(files.first.or_(error)).to_be_visible(timeout=TRANSFER_TIMEOUT_MS)


def shown_message(page: Page) -> str:
    """The decrypted message exactly as the page holds it."""
    return str(
        page.locator("#message").evaluate(
            "el => (el.value !== undefined ? el.value : el.textContent)"
        )
    )


def file_items(page: Page) -> Locator:
    """The receive page's file entries, in order."""
    return page.locator("#file-list li[data-index]")


def shown_names(page: Page) -> list[str]:
    """File names in the order the receive page lists them."""
    items = file_items(page)
    names: list[str] = []
    for index in range(items.count()):
        item = items.nth(index)
        name = item.locator(".name")
        source = name if name.count() else item
        names.append(str(source.evaluate("el => el.textContent")).strip())
    return names


def download_button(page: Page, index: int) -> Locator:
    """The download button of file ``index``."""
    return page.locator(f"#file-list li[data-index='{index}'] button.download")


def download(page: Page, index: int, target_dir: Path) -> tuple[Download, Path]:
    """Download file ``index`` and save it under its suggested name.

    Waits for the download to end; the caller checks ``failure()``.
    """
    with page.expect_download(timeout=TRANSFER_TIMEOUT_MS) as info:
        download_button(page, index).click()
    item = info.value
    target = target_dir / item.suggested_filename
    if item.failure() is None:
        item.save_as(target)
    return item, target


def expect_download_refused(page: Page, index: int, reason: str) -> str:
    """Click download of file ``index``; it must fail and show an error.

    Either the browser starts a download that ends failed, or no download
    starts at all; in both cases the page says why, with the English message
    of error code ``reason``, and the file is not marked done.
    :returns: the error text shown.
    """
    started: list[Download] = []

    # Playwright tags each handler with an attribute: a plain function, then,
    # not a builtin bound method such as list.append.
    def record(item: Download) -> None:
        started.append(item)

    page.on("download", record)
    download_button(page, index).click()
    item = page.locator(f"#file-list li[data-index='{index}']")
    expect(item).to_have_attribute("data-state", "failed", timeout=TRANSFER_TIMEOUT_MS)
    for download_item in started:
        assert download_item.failure() is not None, "a damaged download completed"
    shown = item.inner_text() + "\n" + error_text(page)
    assert matches_message(shown, "en", f"errors.{reason}"), shown
    return shown


def expect_unavailable(page: Page) -> None:
    """The receive page says the link is no longer available, offers nothing."""
    error = page.locator("#error").filter(has_text=_SOME_TEXT)
    expect(error).to_be_visible(timeout=TRANSFER_TIMEOUT_MS)
    expect(file_items(page)).to_have_count(0)
    assert matches_message(error.inner_text(), "en", "errors.unavailable")


def history_urls(page: Page) -> list[str]:
    """Every URL in the tab's session history (back and forward entries)."""
    session = page.context.new_cdp_session(page)
    try:
        history = session.send("Page.getNavigationHistory")
    finally:
        session.detach()
    return [str(entry["url"]) for entry in history["entries"]]


def error_text(page: Page) -> str:
    """The text of the page's error area ("" when hidden)."""
    error = page.locator("#error")
    return error.inner_text() if error.is_visible() else ""


# ----------------------------------------------------------------- managing


def open_manage_page(page: Page, manage_link: str) -> None:
    """Open the owner's page and wait until it shows the share's state."""
    page.goto(manage_link)
    expect(page.locator("#state")).to_have_text(_SOME_TEXT)
