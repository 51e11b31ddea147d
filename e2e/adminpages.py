"""The administrators' view of /app in the browser journeys: the first
administrator from ``sealpost admin init``, the CSV import, the activation
sheets and the account actions."""

from __future__ import annotations

import re
import secrets
import subprocess
from pathlib import Path

from playwright.sync_api import Locator, Page, expect
from serverproc import ROOT, RunningServer
from staff import CLI, UNLOCK_TIMEOUT_MS, Staff, activate, wait_idle

_CODE = re.compile(r"^Activation code: (\S+)$", re.MULTILINE)


def init_admin(server: RunningServer, page: Page, *, name: str) -> Staff:
    """``sealpost admin init`` on the data folder, then activation in /app."""
    handle = "admin"
    done = subprocess.run(
        [
            *CLI,
            "admin",
            "init",
            "--data",
            str(server.data_dir),
            "--handle",
            handle,
            "--name",
            name,
            "--department",
            "Cellule de crise",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    found = _CODE.search(done.stdout)
    assert found is not None, done.stdout
    passphrase = f"phrase de crise {secrets.token_hex(6)}"
    activate(page, server, handle, found.group(1), passphrase)
    return Staff(handle, name, passphrase, page)


def open_admin(page: Page) -> None:
    page.click("button.tab[data-tab='admin']")
    wait_idle(page)
    expect(page.locator("#panel-admin")).to_be_visible()


def import_csv(page: Page, path: Path) -> None:
    """Import a CSV file from the administrators' view and wait for it."""
    open_admin(page)
    page.set_input_files("#admin-import-file", str(path))
    page.click("#admin-import-submit")
    wait_idle(page)


def sheet(page: Page, handle: str) -> Locator:
    """A person's activation sheet (laid out one page per person)."""
    page.select_option("#admin-sheet-layout", "person")
    return page.locator(f"#print-sheets .sheet-person[data-handle='{handle}']")


def code_on_sheet(page: Page, handle: str) -> str:
    return sheet(page, handle).locator(".sheet-code").inner_text()


def account_row(page: Page, handle: str) -> Locator:
    return page.locator(f"#admin-accounts tbody tr[data-handle='{handle}']")


def account_action(page: Page, handle: str, action: str) -> None:
    """Press an action of an account row (twice for a deletion)."""
    open_admin(page)
    button = account_row(page, handle).locator(f"button[data-action='{action}']")
    button.click()
    if action == "delete":
        button.click()
    wait_idle(page)


def grant_all(page: Page) -> str:
    """Press "grant all"; returns what the page then says."""
    open_admin(page)
    page.click("#admin-grant-all")
    wait_idle(page)
    note = page.locator("#admin-grant-done")
    expect(note).to_be_visible(timeout=UNLOCK_TIMEOUT_MS)
    return note.inner_text()
