"""What both benchmarks share: a real server, Debian's Chromium, a table.

The server and the browser are started exactly as the journeys in e2e/ start
them (e2e/serverproc.py), on 127.0.0.1 with a free port and a scratch data
directory that is removed afterwards.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "e2e"))

from serverproc import (  # noqa: E402 - e2e/ is not a package
    CHROMIUM,
    CHROMIUM_ARGS,
    RunningServer,
    start_server,
    stop_server,
)

MIB = 1024 * 1024

# A path on the server's origin that no route uses; the benchmark page is
# served there by Playwright so that it shares the origin without any CSP.
BENCH_PAGE_PATH = "/__sealpost_bench__"

# The pages name both prefixes on their <html> element.
_ASSETS = re.compile(r"""data-assets=["']([^"']+)["']""")
_PYODIDE = re.compile(r"""data-pyodide=["']([^"']+)["']""")


@dataclass(frozen=True)
class RuntimeURLs:
    """Where the server publishes the client assets and the Pyodide runtime."""

    assets: str
    pyodide: str


@contextmanager
def running(
    extra_env: dict[str, str] | None = None,
) -> Iterator[tuple[RunningServer, Browser, Path]]:
    """A server and a headless Chromium for the length of the block."""
    scratch = Path(tempfile.mkdtemp(prefix="sealpost-bench-"))
    server = start_server(scratch, "bench", extra_env or {})
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS
            )
            try:
                yield server, browser, scratch
            finally:
                browser.close()
    finally:
        stop_server(server)
        shutil.rmtree(scratch, ignore_errors=True)


def runtime_urls(server: RunningServer) -> RuntimeURLs:
    """Find the hashed asset prefix and the Pyodide prefix the pages use.

    :raises RuntimeError: the send page names neither.
    """
    with server.client() as client:
        html = client.get("/").text
    assets = _ASSETS.search(html)
    pyodide = _PYODIDE.search(html)
    if assets is None or pyodide is None:
        raise RuntimeError("bench: the send page has no data-assets/data-pyodide")
    return RuntimeURLs(
        urljoin(server.url("/"), assets.group(1)).rstrip("/"),
        urljoin(server.url("/"), pyodide.group(1)).rstrip("/"),
    )


def bench_page(browser: Browser, server: RunningServer) -> Page:
    """A blank page on the server's origin, for workers made from blobs."""
    context = browser.new_context()
    context.set_default_timeout(0)
    url = server.url(BENCH_PAGE_PATH)
    context.route(
        url,
        lambda route: route.fulfill(
            status=200,
            content_type="text/html; charset=utf-8",
            body="<!doctype html><meta charset=utf-8><title>bench</title>",
        ),
    )
    page = context.new_page()
    page.goto(url)
    return page


def print_table(header: list[str], rows: list[list[str]]) -> None:
    """Print rows under a header, columns aligned."""
    widths = [
        max(len(row[column]) for row in [header, *rows])
        for column in range(len(header))
    ]
    for row in [header, ["-" * width for width in widths], *rows]:
        cells = (
            cell.ljust(width) if column == 0 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        print("  ".join(cells))
