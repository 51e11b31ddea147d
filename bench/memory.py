"""Browser memory while a large file goes through Sealpost (case C12).

Usage: ``.venv/bin/python bench/memory.py [--mib 1024]``

A headless Chromium sends one file of random bytes through the real send page
to a real server, then a second context receives it through the receive page
(decrypted and streamed to disk by the service worker). A sampler thread sums
the memory of every Chromium process this run started, read from /proc, and
the script prints the peaks of each phase next to the file size. The
received file is checked byte for byte. Not a test: C12 asks that memory stay
bounded, and this prints the numbers that let a person judge it.
"""

from __future__ import annotations

import argparse
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from harness import MIB, print_table, running
from pages import (
    choose_files,
    download_button,
    open_receive_page,
    open_send_page,
    send,
    sha256_file,
)
from playwright.sync_api import Page

_TYPE_ARGUMENT = re.compile(rb"--type=([a-z-]+)")

#: Seconds between two samples of /proc.
SAMPLE_SECONDS = 0.1
#: Bytes written at a time while making the input file.
WRITE_PIECE = 16 * MIB
#: Generous bound for the upload or the download of one large file.
TRANSFER_TIMEOUT_MS = 30 * 60 * 1000


def _descendants(root: int) -> list[int]:
    """Ids of every live process below ``root``."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as handle:
                stat = handle.read()
        except OSError:
            continue
        # The command name may hold spaces; the parent id follows its ')'.
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry))
    found: list[int] = []
    queue = [root]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def _kind(pid: int) -> str:
    """Chromium's process type (browser, renderer, gpu-process...), or ''."""
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8") as handle:
            if "chrom" not in handle.read():
                return ""
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            # Chromium rewrites its title, so arguments may be joined by
            # spaces rather than NULs.
            found = _TYPE_ARGUMENT.search(handle.read())
    except OSError:
        return ""
    return found.group(1).decode(errors="replace") if found else "browser"


def _memory_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in KiB; zeros when it is gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as handle:
            fields = dict(line.split(":", 1) for line in handle if ":" in line)
    except (OSError, ValueError):
        return 0, 0
    rss = int(fields.get("Rss", "0 kB").split()[0])
    pss = int(fields.get("Pss", "0 kB").split()[0])
    return rss, pss


@dataclass
class Sampler:
    """Samples the summed memory of our Chromium processes in a thread."""

    phase: str = "start"
    peaks: dict[str, tuple[int, int]] = field(default_factory=dict)
    # Per phase, PSS by process type at the moment of the phase's peak.
    shares: dict[str, dict[str, int]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def sample(self) -> tuple[int, int, dict[str, int]]:
        rss = pss = 0
        by_kind: dict[str, int] = {}
        for pid in _descendants(os.getpid()):
            kind = _kind(pid)
            if not kind:
                continue
            one_rss, one_pss = _memory_kib(pid)
            rss += one_rss
            pss += one_pss
            by_kind[kind] = by_kind.get(kind, 0) + one_pss
        return rss, pss, by_kind

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            phase = self.phase
            rss, pss, by_kind = self.sample()
            old_rss, old_pss = self.peaks.get(phase, (0, 0))
            self.peaks[phase] = (max(old_rss, rss), max(old_pss, pss))
            if pss >= old_pss:
                self.shares[phase] = by_kind


def _make_input(path: Path, size: int) -> None:
    with path.open("wb") as handle:
        left = size
        while left:
            piece = min(left, WRITE_PIECE)
            handle.write(os.urandom(piece))
            left -= piece


def _download(page: Page) -> Path:
    """Click the first file's download and wait until it is on disk."""
    with page.expect_download(timeout=TRANSFER_TIMEOUT_MS) as info:
        download_button(page, 0).click()
    item = info.value
    failure = item.failure()
    if failure is not None:
        raise RuntimeError(f"memory bench: the download failed: {failure}")
    return Path(item.path())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--mib", type=int, default=1024, help="file size in MiB")
    args = parser.parse_args()
    if args.mib < 1:
        parser.error("--mib must be at least 1")
    size = args.mib * MIB

    with running() as (server, browser, scratch):
        version = browser.version
        source = scratch / "gros-fichier.bin"
        _make_input(source, size)
        sampler = Sampler()
        sampler.start()
        try:
            sender = browser.new_context(accept_downloads=True)
            sender.set_default_timeout(TRANSFER_TIMEOUT_MS)
            page = sender.new_page()
            sampler.phase = "idle (send page open)"
            open_send_page(page, server.base_url)
            choose_files(page, [source])
            sampler.phase = "send"
            sent = send(page, timeout_ms=TRANSFER_TIMEOUT_MS)
            sender.close()

            recipient = browser.new_context(accept_downloads=True)
            recipient.set_default_timeout(TRANSFER_TIMEOUT_MS)
            page = recipient.new_page()
            sampler.phase = "idle (receive page open)"
            open_receive_page(page, sent.link)
            sampler.phase = "receive"
            saved = _download(page)
            sampler.phase = "done"
            identical = sha256_file(saved) == sha256_file(source)
            recipient.close()
        finally:
            sampler.stop()

    print(f"Chromium {version}, file of {size / MIB:.0f} MiB")
    rows = [
        [phase, f"{rss / 1024:.0f}", f"{pss / 1024:.0f}", f"{rss * 1024 / size:.2f}"]
        for phase, (rss, pss) in sampler.peaks.items()
        if phase != "done"
    ]
    print_table(
        ["phase", "peak sum RSS MiB", "peak sum PSS MiB", "RSS / file size"], rows
    )
    print("PSS MiB by process type at each peak:")
    for phase, by_kind in sampler.shares.items():
        if phase != "done":
            parts = sorted(by_kind.items(), key=lambda item: -item[1])
            print(f"  {phase}: " + ", ".join(f"{k} {v / 1024:.0f}" for k, v in parts))
    print("received file identical:", "yes" if identical else "NO")
    if not identical:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
