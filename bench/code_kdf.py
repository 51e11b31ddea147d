"""Time to derive a second-channel code's Argon2id in the browser's worker.

Usage: ``.venv/bin/python bench/code_kdf.py [--repeat 5]``

In one run of headless Chromium against a real Sealpost server, a module Web
Worker loads Pyodide, the shipped wheel (pyodide_crypto and the worker's
bridge) and hash-wasm's Argon2id exactly as client/web/js/worker.js does,
then times the bridge's ``derive_code`` (the one derivation a recipient's
worker runs when a code is typed: Argon2id with the writer parameters
m=65536 KiB, t=3, p=1, then the two HKDF steps) several times. It also
times hash-wasm's Argon2id called straight from JS with the same inputs, to
show what the Python layer adds. It prints every run and the medians.
Not a test: nothing here passes or fails on speed.
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any

from harness import bench_page, print_table, running, runtime_urls

from pyodide_crypto import kdf

# A module worker, started from a blob on the server's origin. It loads the
# runtime as the shipped worker does, checks once that the bridge's result
# opens a share made in this same worker (so a fast wrong derivation cannot
# win), then interleaves the two ways run by run.
_WORKER = r"""
self.onmessage = async (event) => {
  try {
    self.postMessage({ ok: true, result: await run(event.data) });
  } catch (error) {
    const text =
      error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    self.postMessage({ ok: false, error: text });
  }
};

async function run({ pyodideURL, assetsURL, repeat, params }) {
  const { installSubtleWindow } = await import(`${assetsURL}/js/subtle-window.js`);
  installSubtleWindow(globalThis);
  const [{ installArgon2 }, { argon2id }] = await Promise.all([
    import(`${assetsURL}/js/argon2.js`),
    import(`${assetsURL}/vendor/hash-wasm.mjs`),
  ]);
  installArgon2(globalThis, argon2id);
  const { loadPyodide } = await import(`${pyodideURL}/pyodide.mjs`);
  const pyodide = await loadPyodide({
    indexURL: `${pyodideURL}/`,
    lockFileURL: `${assetsURL}/build/pyodide-lock.json`,
    packageBaseUrl: `${assetsURL}/build/`,
    stdout: () => {},
    stderr: () => {},
  });
  const problems = [];
  await pyodide.loadPackage("pyodide-crypto", {
    messageCallback: () => {},
    errorCallback: (message) => problems.push(message),
  });
  if (problems.length > 0) throw new Error(problems.join("; "));
  const bridge = pyodide.pyimport("sealpost_bridge");
  const call = async (fn, ...args) => {
    const awaitable = fn(...args);
    try {
      return await awaitable;
    } finally {
      awaitable.destroy();
    }
  };

  // A real code share, sealed here with the bridge: its published settings
  // are what a recipient's worker derives with.
  const code = bridge.generate_code();
  const sender = await call(bridge.create_sender, [], [], code);
  const info = await call(bridge.sender_info, sender, 0);
  const envelope = await call(bridge.seal_manifest, sender, "", 60, 1);
  sender.destroy();
  const published = info.code;
  for (const key of ["m", "t", "p"]) {
    if (published[key] !== params[key]) {
      throw new Error(`the writer's ${key} is ${published[key]}`);
    }
  }
  const opened = await call(
    bridge.open_share,
    info.fragment,
    envelope,
    await call(bridge.derive_code, info.fragment, published, code),
  );
  opened.destroy();

  const salt = base64url(published.salt);
  const password = new TextEncoder().encode(code.replace("-", "").toLowerCase());
  const seconds = { bridge: [], hashwasm: [] };
  for (let run = 0; run < repeat; run += 1) {
    let started = performance.now();
    const secret = await call(bridge.derive_code, info.fragment, published, code);
    seconds.bridge.push((performance.now() - started) / 1000);
    secret.destroy();

    started = performance.now();
    await globalThis.sealpostArgon2id(password, salt, params.m, params.t, params.p, 32);
    seconds.hashwasm.push((performance.now() - started) / 1000);
  }
  return { seconds, userAgent: navigator.userAgent };
}

function base64url(text) {
  const plain = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(plain, (c) => c.charCodeAt(0));
}
"""

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

WAYS = (
    ("bridge", "derive_code in the worker (shipped path)"),
    ("hashwasm", "hash-wasm argon2id from JS alone"),
)


def measure(repeat: int) -> dict[str, Any]:
    """Run the worker once against a fresh server; return its raw timings."""
    with running() as (server, browser, _):
        urls = runtime_urls(server)
        page = bench_page(browser, server)
        message = {
            "pyodideURL": urls.pyodide,
            "assetsURL": urls.assets,
            "repeat": repeat,
            "params": kdf.DEFAULT.to_json(),
        }
        result: dict[str, Any] = page.evaluate(
            _RUN_WORKER, {"source": _WORKER, "message": message}
        )
        result["browser"] = browser.version
    return result


def report(result: dict[str, Any]) -> None:
    """Print each run and the median per way, in seconds."""
    params = kdf.DEFAULT
    print(
        f"Argon2id m={params.memory_kib} KiB, t={params.iterations}, "
        f"p={params.parallelism}; Chromium {result['browser']}"
    )
    rows = []
    for way, label in WAYS:
        runs = [float(value) for value in result["seconds"][way]]
        rows.append(
            [
                label,
                f"{statistics.median(runs):.3f}",
                " ".join(f"{value:.3f}" for value in runs),
            ]
        )
    print_table(["way", "median s", "runs s"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per way")
    options = parser.parse_args()
    if options.repeat < 1:
        parser.error("--repeat must be at least 1")
    report(measure(options.repeat))


if __name__ == "__main__":
    main()
