"""What a person does with a second-channel code, on the send and receive pages.

Only the element ids of docs/architecture.md are used. Every wait is on a
page condition: a code's Argon2id takes a while in the browser, and the
waits end as soon as the page shows the outcome.
"""

from __future__ import annotations

import re

from pages import TRANSFER_TIMEOUT_MS, file_items
from playwright.sync_api import Page, expect

_SOME_TEXT = re.compile(r"\S")
#: A generated code: two groups of five symbols (docs/format.md, 5.4).
GENERATED_CODE = re.compile(r"^[2-9A-HJKMNP-TV-Z]{5}-[2-9A-HJKMNP-TV-Z]{5}$")


# ------------------------------------------------------------------ sending


def protect_with_code(page: Page, code: str | None = None) -> str:
    """Tick "protect with a code"; type ``code``, or keep the generated one.

    :returns: the code the field holds when the person moves on.
    """
    page.locator("#use-code").check()
    field = page.locator("#code")
    expect(field).to_be_visible()
    if code is None:
        # The worker makes the code once the runtime is up.
        expect(field).to_have_value(GENERATED_CODE, timeout=TRANSFER_TIMEOUT_MS)
    else:
        field.fill(code)
    return field.input_value()


def result_code(page: Page) -> str:
    """The code the result page shows apart from the link ("" when none)."""
    block = page.locator("#result-code-block")
    if not block.is_visible():
        return ""
    return page.locator("#result-code").inner_text().strip()


# ---------------------------------------------------------------- receiving


def open_code_page(page: Page, link: str) -> None:
    """Open a code share's link; returns when the page asks for the code.

    :raises AssertionError: the page showed files or an error instead.
    """
    page.goto(link)
    form = page.locator("#code-form:not([hidden])")
    error = page.locator("#error").filter(has_text=_SOME_TEXT)
    expect(form.or_(error).or_(file_items(page).first)).to_be_visible(
        timeout=TRANSFER_TIMEOUT_MS
    )
    if not form.is_visible():
        raise AssertionError(f"no code asked: {page.locator('#error').inner_text()!r}")


def attempts_shown(page: Page) -> int:
    """The attempts left as the code form states them."""
    attempts = page.locator("#attempts")
    expect(attempts).to_have_text(_SOME_TEXT)
    return int(str(attempts.get_attribute("data-left")))


def enter_code(page: Page, code: str) -> bool:
    """Type ``code`` and submit it; wait until the page opens or refuses.

    :returns: True when the share opened (its files are listed), False when
        the page refused the code and shows an error.
    """
    page.locator("#code-input").fill(code)
    page.locator("#code-submit").click()
    # The click's submit handler clears any earlier error before it returns,
    # so the error seen here answers this code.
    error = page.locator("#error").filter(has_text=_SOME_TEXT)
    opened = page.locator("#share:not([hidden])")
    expect(opened.or_(error)).to_be_visible(timeout=TRANSFER_TIMEOUT_MS)
    return opened.is_visible()
