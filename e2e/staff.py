"""Staff accounts in the browser journeys: provisioning, activation, sign-in.

Accounts are provisioned the way an administrator does it, with
``sealpost admin add-user`` on the running server's data folder; the
activation code it prints is then typed into /app like a person would. Each
journey makes its own accounts with fresh handles, so journeys share
nothing and run in any order.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
from dataclasses import dataclass

from playwright.sync_api import Page, expect
from serverproc import ROOT, RunningServer

CLI = [sys.executable, "-m", "client.cli"]
_CODE = re.compile(r"^Activation code: (\S+)$", re.MULTILINE)
#: Argon2id at the default cost runs for a few seconds in a busy browser.
UNLOCK_TIMEOUT_MS = 120_000


def fresh_handle(prefix: str) -> str:
    """A handle no other journey uses."""
    return f"{prefix}.{secrets.token_hex(4)}"


def add_user(
    server: RunningServer,
    handle: str,
    *,
    name: str,
    role: str = "staff",
    department: str = "Cardiologie",
) -> str:
    """Provision a pending account; returns its activation code."""
    done = subprocess.run(
        [
            *CLI,
            "admin",
            "add-user",
            "--data",
            str(server.data_dir),
            "--handle",
            handle,
            "--name",
            name,
            "--department",
            department,
            "--role",
            role,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    found = _CODE.search(done.stdout)
    assert found is not None, done.stdout
    return found.group(1)


@dataclass
class Staff:
    """A staff member: handle, passphrase and the page signed in as them."""

    handle: str
    name: str
    passphrase: str
    page: Page

    @property
    def fingerprint(self) -> str:
        return self.page.locator("#me-fingerprint").inner_text()


def open_app(page: Page, server: RunningServer) -> None:
    page.goto(server.url("/app"))
    expect(page.locator("body")).to_have_attribute("data-state", "login")


def activate(
    page: Page, server: RunningServer, handle: str, code: str, passphrase: str
) -> str:
    """Activate an account in /app (code, then passphrase twice, then the
    recovery code kept); returns the recovery code shown."""
    open_app(page, server)
    page.click("#show-activate")
    page.fill("#activate-handle", handle)
    page.fill("#activate-code", code)
    page.click("#activate-check")
    wait_idle(page)
    expect(page.locator("#activate-pass-form")).to_be_visible()
    page.fill("#activate-pass1", passphrase)
    page.fill("#activate-pass2", passphrase)
    page.click("#activate-submit")
    return keep_recovery_code(page)


def keep_recovery_code(page: Page) -> str:
    """After activation: confirm the recovery code was kept, then go in."""
    expect(page.locator("body")).to_have_attribute(
        "data-state", "recovery", timeout=UNLOCK_TIMEOUT_MS
    )
    code = page.locator("#recovery-code").inner_text()
    expect(page.locator("#recovery-continue")).to_be_disabled()
    page.check("#recovery-kept")
    page.click("#recovery-continue")
    signed_in(page)
    return code


def sign_in(page: Page, server: RunningServer, handle: str, passphrase: str) -> None:
    """Sign in on a fresh /app page."""
    open_app(page, server)
    page.fill("#login-handle", handle)
    page.fill("#login-passphrase", passphrase)
    page.click("#login-submit")


def signed_in(page: Page) -> None:
    expect(page.locator("body")).to_have_attribute(
        "data-state", "signed-in", timeout=UNLOCK_TIMEOUT_MS
    )
    expect(page.locator("#me-fingerprint")).to_have_text(
        re.compile(r"^(\d{4} ){7}\d{4}$")
    )


def new_staff(
    server: RunningServer,
    page: Page,
    prefix: str,
    *,
    name: str,
    role: str = "staff",
) -> Staff:
    """Provision and activate an account in ``page``; it stays signed in."""
    handle = fresh_handle(prefix)
    passphrase = f"phrase secrète {secrets.token_hex(6)}"
    code = add_user(server, handle, name=name, role=role)
    activate(page, server, handle, code, passphrase)
    return Staff(handle, name, passphrase, page)


def wait_idle(page: Page) -> None:
    """Wait until the page finished its current action."""
    expect(page.locator("body")).not_to_have_attribute(
        "data-busy", "true", timeout=UNLOCK_TIMEOUT_MS
    )
