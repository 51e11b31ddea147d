"""Browser encryption speed: pyodide_crypto vs plain JS vs a naive Python loop.

Usage: ``.venv/bin/python bench/browser_crypto.py [--mib 64] [--rounds 3]``

In one run of headless Chromium against a real Sealpost server, a module Web
Worker loads Pyodide and pyodide_crypto the way the shipped worker does and
encrypts then decrypts the same buffer of random bytes, in 16 KiB chunks,
four ways (see bench/crypto_worker.js). It prints MB/s (10**6 bytes per
second; best of the rounds) and each way's ratio to plain JS. Absolute numbers
move between runs and machines; the ratios, measured side by side, are the
result. Not a test: nothing here passes or fails on speed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from harness import MIB, bench_page, print_table, running, runtime_urls

HERE = Path(__file__).resolve().parent

WAYS = (
    ("js", "plain JS, subtle per chunk, one await per window"),
    ("helper", "window helper driven from JS (no Python)"),
    ("window", "pyodide_crypto + window helper (shipped)"),
    ("naive", "Python, one await per chunk (naive)"),
)

# Starts the worker from a blob (same origin as the page) and returns what
# it posts back, or throws its error.
_RUN_WORKER = """
async ({ source, message }) => {
  const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
  const worker = new Worker(url, { type: 'module' });
  try {
    return await new Promise((resolve, reject) => {
      worker.onmessage = (event) => event.data.ok
        ? resolve(event.data.result) : reject(new Error(event.data.error));
      worker.onerror = (event) => reject(new Error(event.message || 'worker failed'));
      worker.postMessage(message);
    });
  } finally {
    worker.terminate();
    URL.revokeObjectURL(url);
  }
}
"""


def measure(mib: int, rounds: int) -> dict[str, Any]:
    """Run the worker once against a fresh server; return its raw timings."""
    with running() as (server, browser, _):
        urls = runtime_urls(server)
        page = bench_page(browser, server)
        message = {
            "pyodideURL": urls.pyodide,
            "assetsURL": urls.assets,
            "benchPython": (HERE / "in_pyodide.py").read_text(encoding="utf-8"),
            "size": mib * MIB,
            "rounds": rounds,
        }
        source = (HERE / "crypto_worker.js").read_text(encoding="utf-8")
        result: dict[str, Any] = page.evaluate(
            _RUN_WORKER, {"source": source, "message": message}
        )
        result["browser"] = browser.version
    return result


def report(result: dict[str, Any]) -> None:
    """Print MB/s and ratios to plain JS, best of the rounds."""
    size = int(result["size"])
    speed = {
        (way, direction): size / 1e6 / min(result["seconds"][way][direction])
        for way, _ in WAYS
        for direction in ("encrypt", "decrypt")
    }
    rounds = len(result["seconds"]["js"]["encrypt"])
    print(
        f"Chromium {result['browser']}, {size // MIB} MiB, 16 KiB chunks, "
        f"best of {rounds} round(s)"
    )
    rows = []
    for way, label in WAYS:
        encrypt, decrypt = speed[way, "encrypt"], speed[way, "decrypt"]
        rows.append(
            [
                label,
                f"{encrypt:.0f}",
                f"{encrypt / speed['js', 'encrypt']:.2f}",
                f"{decrypt:.0f}",
                f"{decrypt / speed['js', 'decrypt']:.2f}",
            ]
        )
    print_table(["approach", "encrypt MB/s", "x JS", "decrypt MB/s", "x JS"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--mib", type=int, default=64, help="buffer size in MiB")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per way")
    parser.add_argument("--json", action="store_true", help="print raw timings")
    args = parser.parse_args()
    if args.mib < 1 or args.rounds < 1:
        parser.error("--mib and --rounds must be at least 1")

    result = measure(args.mib, args.rounds)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        report(result)


if __name__ == "__main__":
    main()
