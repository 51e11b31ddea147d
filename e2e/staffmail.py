"""What staff do in /app's mailbox: compose from the directory, open an inbox
item and save its files. Built on the stable ids of client/web/app.html;
every wait is on a page condition."""

from __future__ import annotations

from pathlib import Path

from pages import TRANSFER_TIMEOUT_MS
from playwright.sync_api import Locator, Page, expect
from staff import wait_idle


def pick_recipient(page: Page, query: str, *, kind: str = "account") -> str:
    """Search the directory and add the one ``kind`` entry matching ``query``.

    :returns: the fingerprint the picker showed for it.
    """
    page.fill("#dir-search", query)
    entry = page.locator(f"#dir-results li.dir-entry[data-kind='{kind}']")
    expect(entry).to_have_count(1)
    fingerprint = entry.locator(".fingerprint").inner_text()
    entry.locator("button.pick").click()
    expect(
        page.locator(f"#compose-recipients li.dir-entry[data-kind='{kind}']")
    ).not_to_have_count(0)
    return fingerprint


def compose(
    page: Page,
    recipients: list[str],
    files: list[Path],
    message: str,
    *,
    link: bool = False,
) -> str | None:
    """Send ``files`` and ``message`` to staff found by handle.

    :returns: the outsider link when ``link`` is set.
    """
    page.click("button.tab[data-tab='compose']")
    for handle in recipients:
        pick_recipient(page, handle)
    page.set_input_files("#compose-files", [str(path) for path in files])
    page.fill("#compose-message", message)
    if link:
        page.check("#compose-link")
    page.click("#compose-send")
    expect(page.locator("#compose-result")).to_be_visible(timeout=TRANSFER_TIMEOUT_MS)
    if not link:
        return None
    return page.locator("#compose-link-out").get_attribute("href")


def inbox_items(page: Page, box_id: str | None = None) -> Locator:
    """The own inbox's rows, or those of one box, after a refresh."""
    page.click("button.tab[data-tab='inbox']")
    page.click("#inbox-refresh")
    wait_idle(page)
    if box_id is None:
        return page.locator("#inbox-own li.inbox-item")
    return page.locator(f".box-inbox[data-box-id='{box_id}'] li.inbox-item")


def open_item(row: Locator) -> None:
    """Open one inbox row and wait for its files to show."""
    page = row.page
    row.locator("button.open-item").click()
    wait_idle(page)
    expect(page.locator("#panel-item")).to_be_visible()


def item_message(page: Page) -> str:
    return page.locator("#item-message").inner_text()


def save_item_file(page: Page, index: int, target_dir: Path) -> Path:
    """Download file ``index`` of the opened item and save it."""
    button = page.locator(f"#item-files li[data-index='{index}'] button.download")
    with page.expect_download(timeout=TRANSFER_TIMEOUT_MS) as info:
        button.click()
    item = info.value
    assert item.failure() is None, item.failure()
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / item.suggested_filename
    item.save_as(target)
    return target
