"""Fixtures for the browser journeys: one real server, one headless Chromium.

The server runs as a subprocess on 127.0.0.1 with a free port and a temporary
data directory, so the journeys exercise exactly what people run. Every test
gets fresh browser contexts (one per role) and creates its own shares, so the
tests do not depend on their order. When a test fails, the screenshots and
console output of every page it opened are written to a temporary directory
whose path is printed.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from browsing import Contexts
from playwright.sync_api import (
    Browser,
    Playwright,
    sync_playwright,
)
from serverproc import (
    CHROMIUM,
    CHROMIUM_ARGS,
    RunningServer,
    start_server,
    stop_server,
)

#: Shortest expiry the test server accepts, so an expiry journey takes seconds.
EXPIRY_MIN_SECONDS = 5

#: Largest file the second, small-limit server accepts (case C07).
SMALL_MAX_FILE_BYTES = 64 * 1024


_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Iterator[pytest.TestReport]:
    # Keep each phase's report on the item so fixtures can tell, at teardown,
    # whether the test failed and the page evidence is worth keeping.
    report: pytest.TestReport = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@pytest.fixture(scope="session")
def tmp_root() -> Iterator[Path]:
    """A session-wide scratch directory, removed at the end."""
    path = Path(tempfile.mkdtemp(prefix="sealpost-e2e-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def server(tmp_root: Path) -> Iterator[RunningServer]:
    """The shared Sealpost server with a low minimum expiry."""
    running = start_server(
        tmp_root, "main", {"SEALPOST_EXPIRY_MIN_SECONDS": str(EXPIRY_MIN_SECONDS)}
    )
    yield running
    stop_server(running)


@pytest.fixture(scope="session")
def small_server(tmp_root: Path) -> Iterator[RunningServer]:
    """A second server whose per-file maximum is tiny (case C07)."""
    running = start_server(
        tmp_root,
        "small",
        {
            "SEALPOST_EXPIRY_MIN_SECONDS": str(EXPIRY_MIN_SECONDS),
            "SEALPOST_MAX_FILE_BYTES": str(SMALL_MAX_FILE_BYTES),
        },
    )
    yield running
    stop_server(running)


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    """The Playwright driver (sync API), started once."""
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless, shared by every journey."""
    chromium = playwright_instance.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS
    )
    yield chromium
    chromium.close()


@pytest.fixture
def contexts(
    browser: Browser, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Contexts]:
    """Fresh browser contexts for this test; evidence is kept if it fails."""
    made = Contexts(browser)
    yield made
    reports = request.node.stash.get(_REPORTS, {})
    failed = any(report.failed for report in reports.values())
    if failed:
        directory = Path(tempfile.mkdtemp(prefix="sealpost-e2e-failure-"))
        made.save(directory)
        message = f"browser evidence for {request.node.nodeid}: {directory}"
        print(message)
        sys.stderr.write(message + "\n")
    made.close()


@pytest.fixture
def make_file(tmp_path: Path) -> Callable[[str, bytes], Path]:
    """Write a file with an exact name and content in a directory of its own."""
    counter = iter(range(1_000_000))

    def make(name: str, content: bytes) -> Path:
        directory = tmp_path / f"in-{next(counter)}"
        directory.mkdir()
        path = directory / name
        path.write_bytes(content)
        return path

    return make
