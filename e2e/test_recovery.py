"""Journey: the recovery code shown once at activation restores access
after a forgotten passphrase; a wrong code is refused with one answer."""

from __future__ import annotations

import secrets

import pytest
from browsing import Contexts
from playwright.sync_api import Page, expect
from serverproc import RunningServer
from staff import (
    UNLOCK_TIMEOUT_MS,
    activate,
    add_user,
    fresh_handle,
    open_app,
    sign_in,
    signed_in,
    wait_idle,
)

pytestmark = pytest.mark.browser


def _forgot(page: Page, server: RunningServer, handle: str, code: str) -> None:
    open_app(page, server)
    page.click("#show-forgot")
    expect(page.locator("#view-forgot")).to_be_visible()
    page.fill("#forgot-handle", handle)
    page.fill("#forgot-code", code)
    page.click("#forgot-check")
    wait_idle(page)


def test_recovery_code_restores_access_after_a_forgotten_passphrase(
    server: RunningServer, contexts: Contexts
) -> None:
    handle = fresh_handle("ines")
    forgotten = f"phrase oubliée {secrets.token_hex(6)}"
    page = contexts.page("ines", locale="fr-FR")
    code = activate(
        page, server, handle, add_user(server, handle, name="Inès"), forgotten
    )
    assert len(code.replace("-", "").replace(" ", "")) == 20
    fingerprint = page.locator("#me-fingerprint").inner_text()

    # A wrong code (same length and alphabet) gets the one refusal.
    wrong = contexts.page("wrong")
    _forgot(wrong, server, handle, code[::-1])
    expect(wrong.locator("#error")).to_have_attribute(
        "data-code", "recovery_failed", timeout=UNLOCK_TIMEOUT_MS
    )
    expect(wrong.locator("#forgot-pass-form")).to_be_hidden()

    restored = contexts.page("restored", locale="fr-FR")
    _forgot(restored, server, handle, code.lower())
    expect(restored.locator("#forgot-pass-form")).to_be_visible()
    expect(restored.locator("#forgot-who")).to_contain_text(handle)
    chosen = f"nouvelle phrase {secrets.token_hex(6)}"
    restored.fill("#forgot-pass1", chosen)
    restored.fill("#forgot-pass2", chosen)
    restored.click("#forgot-submit")
    wait_idle(restored)
    expect(restored.locator("#forgot-done")).to_be_visible()
    expect(restored.locator("#login-handle")).to_have_value(handle)

    # Every session ended; the old passphrase no longer opens the account,
    # the new one does, with the same keys.
    old = contexts.page("old")
    sign_in(old, server, handle, forgotten)
    expect(old.locator("#error")).to_have_attribute(
        "data-code", "login_failed", timeout=UNLOCK_TIMEOUT_MS
    )
    restored.fill("#login-passphrase", chosen)
    restored.click("#login-submit")
    signed_in(restored)
    assert restored.locator("#me-fingerprint").inner_text() == fingerprint
