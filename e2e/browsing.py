"""Browser contexts per role, with the evidence kept for failure reports.

Each role (sender, recipient, a link-preview robot...) gets a fresh context:
no shared storage, no shared service worker, downloads accepted. Every page
opened in them has its console and page errors recorded, so that a failing
journey can leave screenshots and logs behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
    Response,
)

#: Default Playwright timeout: Pyodide's first start in a context takes a while.
PAGE_TIMEOUT_MS = 60_000


@dataclass
class _Evidence:
    """Console lines and page errors of one page, kept for failure reports."""

    role: str
    page: Page
    lines: list[str] = field(default_factory=list)


class Contexts:
    """Creates one fresh browser context per role and records their pages."""

    def __init__(self, browser: Browser) -> None:
        self._browser = browser
        self._contexts: list[BrowserContext] = []
        self.evidence: list[_Evidence] = []

    def new(self, role: str, *, locale: str = "en-US") -> BrowserContext:
        """A fresh context (no shared storage) that accepts downloads."""
        context = self._browser.new_context(accept_downloads=True, locale=locale)
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        context.on("page", lambda page: self._watch(role, page))
        self._contexts.append(context)
        return context

    def page(self, role: str, *, locale: str = "en-US") -> Page:
        """A page in a fresh context of its own."""
        return self.new(role, locale=locale).new_page()

    def _watch(self, role: str, page: Page) -> None:
        evidence = _Evidence(role, page)
        self.evidence.append(evidence)

        def on_console(message: ConsoleMessage) -> None:
            evidence.lines.append(f"[{message.type}] {message.text}")

        def on_response(response: Response) -> None:
            if response.status >= 400:
                evidence.lines.append(f"[http {response.status}] {_path(response.url)}")

        def on_failed(request: Request) -> None:
            evidence.lines.append(
                f"[request failed] {request.method} {_path(request.url)}: "
                f"{request.failure}"
            )

        page.on("console", on_console)
        page.on("pageerror", lambda error: evidence.lines.append(f"[error] {error}"))
        page.on("response", on_response)
        page.on("requestfailed", on_failed)

    def save(self, directory: Path) -> None:
        """Write a screenshot and the console of every open page."""
        for number, evidence in enumerate(self.evidence):
            stem = f"{number:02d}-{evidence.role}"
            (directory / f"{stem}.console.txt").write_text(
                f"url: {_safe_url(evidence.page)}\n" + "\n".join(evidence.lines)
            )
            if not evidence.page.is_closed():
                try:
                    evidence.page.screenshot(
                        path=str(directory / f"{stem}.png"), full_page=True
                    )
                except Exception as error:  # noqa: BLE001 - evidence is best effort
                    (directory / f"{stem}.screenshot-error.txt").write_text(str(error))

    def close(self) -> None:
        """Close every context this test opened."""
        for context in self._contexts:
            context.close()


def _safe_url(page: Page) -> str:
    # The fragment holds the link secret or owner token: keep it out of files.
    try:
        return page.url.split("#", 1)[0]
    except Exception:  # noqa: BLE001 - a crashed page has no URL
        return "?"


def _path(url: str) -> str:
    # Share ids are not secrets, but fragments are: keep only the path.
    return url.split("#", 1)[0]
