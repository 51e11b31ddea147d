"""The crisis drill of issue 4, measured: from an empty server to a file
exchanged with an outsider through a departmental box, with no mail server.

Usage: ``.venv/bin/python bench/crisis_drill.py [--people 500]
[--departments 30] [--activate 10]``

Steps, each timed with the wall clock: start an empty server; ``sealpost
admin init`` and the administrator's activation in the browser; the CSV
import from the administrators' view (the pending accounts, and one box per
department whose key pair is made in the administrator's browser);
activation of some people in their own browsers with the code read from
their printed sheet; "grant all"; an outsider's deposit into one box and
the member opening it (checked byte for byte). Not a test: nothing here
passes or fails on speed; it prints the time of each step and the total.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "e2e"))

from adminpages import code_on_sheet, grant_all, import_csv, init_admin  # noqa: E402
from boxpages import (  # noqa: E402
    deposit,
    deposit_link,
    open_boxes,
    open_deposit_page,
)
from playwright.sync_api import Browser, sync_playwright  # noqa: E402
from serverproc import CHROMIUM, CHROMIUM_ARGS, start_server, stop_server  # noqa: E402
from staff import activate  # noqa: E402
from staffmail import inbox_items, open_item, save_item_file  # noqa: E402

TIMEOUT_MS = 300_000
FILE_BYTES = 1024 * 1024


def staff_csv(people: int, departments: int) -> bytes:
    """A French spreadsheet export: BOM, `;`, accented names."""
    lines = ["Nom;Service;Téléphone;Rôle"]
    for index in range(people):
        department = f"Service n°{index % departments + 1:02d}"
        lines.append(f"Agnès Exercice {index:04d};{department};;personnel")
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")


class Clock:
    def __init__(self) -> None:
        self.steps: list[tuple[str, float]] = []

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.monotonic()
        yield
        elapsed = time.monotonic() - start
        self.steps.append((name, elapsed))
        print(f"{name:<52} {elapsed:8.1f} s", flush=True)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def drill(browser: Browser, root: Path, args: argparse.Namespace) -> Clock:
    clock = Clock()
    pages: list[Callable[[], None]] = []

    def new_page(locale: str = "fr-FR"):  # type: ignore[no-untyped-def]
        context = browser.new_context(locale=locale, accept_downloads=True)
        context.set_default_timeout(TIMEOUT_MS)
        pages.append(context.close)
        return context.new_page()

    with clock.step("start an empty server"):
        server = start_server(root, "drill", {})
    try:
        admin_page = new_page()
        with clock.step("admin init + administrator activation"):
            init_admin(server, admin_page, name="Cellule de crise")
        csv = root / "personnel.csv"
        csv.write_bytes(staff_csv(args.people, args.departments))
        with clock.step(
            f"import {args.people} people, {args.departments} boxes (browser)"
        ):
            import_csv(admin_page, csv)
            rows = admin_page.locator("#admin-codes tbody tr")
            if rows.count() != args.people:
                raise SystemExit(f"drill: {rows.count()} codes, not {args.people}")
        # The first people of department 01 (every `departments`-th row).
        handles = [
            f"agnes.exercice.{index:04d}"
            for index in range(0, args.departments * args.activate, args.departments)
        ]
        codes = {handle: code_on_sheet(admin_page, handle) for handle in handles}
        members = []
        with clock.step(f"activate {args.activate} people with printed codes"):
            for handle in handles:
                page = new_page()
                passphrase = f"phrase d'exercice {secrets.token_hex(6)}"
                activate(page, server, handle, codes[handle], passphrase)
                members.append(page)
        with clock.step("grant all (box keys wrapped in the browser)"):
            grant_all(admin_page)
        with clock.step("outsider deposits 1 MiB into the box"):
            open_boxes(admin_page)
            link = deposit_link(admin_page, "service-n-01")
            outsider = new_page()
            open_deposit_page(outsider, link)
            sent = root / "in" / "compte-rendu.bin"
            sent.parent.mkdir()
            sent.write_bytes(os.urandom(FILE_BYTES))
            deposit(outsider, [sent], "Exercice de crise : merci d'ouvrir.")
        with clock.step("a new member opens it"):
            member = members[0]
            open_boxes(member)
            box = admin_page.locator("#box-list .box[data-slug='service-n-01']")
            items = inbox_items(member, box.get_attribute("data-box-id"))
            open_item(items.first)
            saved = save_item_file(member, 0, root / "out")
            if sha256(saved) != sha256(sent):
                raise SystemExit("drill: the opened file differs")
    finally:
        for close in pages:
            close()
        stop_server(server)
    return clock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--departments", type=int, default=30)
    parser.add_argument("--activate", type=int, default=10)
    args = parser.parse_args()
    if args.people < args.departments * args.activate:
        parser.error("--people must be at least --departments × --activate")
    with tempfile.TemporaryDirectory(prefix="sealpost-drill-") as tmp:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS
            )
            try:
                clock = drill(browser, Path(tmp), args)
            finally:
                browser.close()
    total = sum(elapsed for _, elapsed in clock.steps)
    print(f"{'total':<52} {total:8.1f} s")


if __name__ == "__main__":
    main()
