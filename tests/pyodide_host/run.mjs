// Runs every suite in tests/suites inside Pyodide (Node.js, WebCrypto backend).
//
//   node tests/pyodide_host/run.mjs --build DIR [--vectors DIR] [--only ID]
//
// DIR holds what `python -m server.build` writes: pyodide-lock.json and the
// wheel. Prints one JSON line per suite test on stdout:
//   {"suite", "name", "ok", "error", "seconds"}
// and exits 0 when all passed, 1 when a test failed, 2 when the host itself
// could not start (the reason goes to stderr).
//
// Loading follows the browser's path: the same JS helpers are installed on
// globalThis, then loadPyodide reads our lock file and loadPackage installs
// "pyodide-crypto" from it. Pyodide checks the lock's sha256 only in the
// browser (it becomes the fetch's `integrity`); under Node it reads the file
// without any check, so this host compares the wheel's sha256 with the lock
// entry itself before loading.

import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { readFile } from "node:fs/promises";
import path from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "..", "..");
const PACKAGE = "pyodide-crypto";
// Where the host folders appear inside Pyodide's file system.
// The repository's layout is kept, so that a suite finding files next to
// itself (docs/format.md) finds them here too.
const TESTS_MOUNT = "/sealpost/tests/suites";
const DOCS_MOUNT = "/sealpost/docs";
const VECTORS_MOUNT = "/sealpost/vectors";

// Everything Python prints goes to stderr so that stdout stays JSON lines.
const toStderr = (line) => process.stderr.write(`${line}\n`);

function fail(message) {
  process.stderr.write(`pyodide host: error: ${message}\n`);
  process.exit(2);
}

function options() {
  const { values } = parseArgs({
    options: {
      build: { type: "string" },
      vectors: { type: "string" },
      only: { type: "string", multiple: true },
    },
  });
  if (!values.build) fail("--build DIR is required");
  const vectors =
    values.vectors ??
    process.env.SEALPOST_VECTORS ??
    path.resolve(ROOT, "..", "shared", "vectors");
  if (!existsSync(vectors)) fail(`test vectors not found at ${vectors}`);
  return {
    build: path.resolve(values.build),
    vectors: path.resolve(vectors),
    only: values.only ?? [],
  };
}

async function checkedLock(buildDir) {
  const lockPath = path.join(buildDir, "pyodide-lock.json");
  const lock = JSON.parse(await readFile(lockPath, "utf8"));
  const entry = lock.packages?.[PACKAGE];
  if (!entry) fail(`${lockPath} has no package "${PACKAGE}"`);
  const wheel = await readFile(path.join(buildDir, entry.file_name));
  const digest = createHash("sha256").update(wheel).digest("hex");
  if (digest !== entry.sha256) {
    fail(`${entry.file_name}: sha256 ${digest} differs from the lock file`);
  }
  return lockPath;
}

// The JS helpers the worker installs before Python starts: the AES-GCM
// window helper and Argon2id (hash-wasm, which WebCrypto lacks).
async function installHelpers() {
  const js = (name) => pathToFileURL(path.join(ROOT, "client", "web", "js", name)).href;
  const { installSubtleWindow } = await import(js("subtle-window.js"));
  installSubtleWindow(globalThis);
  const { installArgon2 } = await import(js("argon2.js"));
  const { argon2id } = createRequire(path.join(ROOT, "package.json"))("hash-wasm");
  installArgon2(globalThis, argon2id);
}

async function startPyodide(lockPath, buildDir) {
  const { loadPyodide } = await import(
    pathToFileURL(path.join(ROOT, "node_modules", "pyodide", "pyodide.mjs")).href
  );
  const pyodide = await loadPyodide({
    indexURL: path.join(ROOT, "node_modules", "pyodide") + path.sep,
    lockFileURL: lockPath,
    packageBaseUrl: buildDir + path.sep,
    stdout: toStderr,
    stderr: toStderr,
  });

  // loadPackage resolves even when loading failed; the error callback is the
  // only signal, as in the worker.
  const problems = [];
  await pyodide.loadPackage(PACKAGE, {
    messageCallback: () => {},
    errorCallback: (message) => problems.push(message),
  });
  if (problems.length > 0) fail(`loading ${PACKAGE}: ${problems.join("; ")}`);
  return pyodide;
}

function mount(pyodide, hostPath, target) {
  pyodide.FS.mkdirTree(target);
  pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: hostPath }, target);
}

// Runs once per Pyodide instance: the environment, then discovery.
const SETUP = `
import importlib
import inspect
import json
import os
import pkgutil
import sys
import time
import traceback

os.environ["SEALPOST_VECTORS"] = VECTORS_MOUNT
sys.path.insert(0, os.path.dirname(TESTS_MOUNT))

from pyodide_crypto import runtime

backend_name = runtime.backend().name
if backend_name != "webcrypto":
    raise RuntimeError(f"expected the webcrypto backend, got {backend_name}")

import suites


def discover():
    found = {}
    for info in sorted(pkgutil.iter_modules(suites.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"suites.{info.name}")
        for name, function in inspect.getmembers(
            module, inspect.iscoroutinefunction
        ):
            if name.startswith("test_") and function.__module__ == module.__name__:
                found[f"{info.name}::{name}"] = function
    return found


TESTS = discover()
json.dumps(sorted(TESTS))
`;

// Runs one test (TEST_ID) and evaluates to its JSON line.
const RUN_ONE = `
suite, name = TEST_ID.split("::")
started = time.perf_counter()
try:
    await TESTS[TEST_ID]()
except BaseException:
    error = traceback.format_exc()
else:
    error = None
json.dumps({
    "suite": suite,
    "name": name,
    "ok": error is None,
    "error": error,
    "seconds": round(time.perf_counter() - started, 3),
})
`;

// A Pyodide fatal error (say, a stack overflow deep in C) can surface as an
// unhandled rejection while the test's own promise never settles; it ends
// the running test instead, and the host goes on in a fresh Pyodide.
const crash = { reject: null };
function onCrash(error) {
  if (crash.reject === null) fail(`unexpected error: ${error?.stack ?? error}`);
  crash.reject(error);
}
process.on("unhandledRejection", onCrash);
process.on("uncaughtException", onCrash);

async function session(opts, lockPath) {
  const pyodide = await startPyodide(lockPath, opts.build);
  mount(pyodide, path.join(ROOT, "tests", "suites"), TESTS_MOUNT);
  mount(pyodide, path.join(ROOT, "docs"), DOCS_MOUNT);
  mount(pyodide, opts.vectors, VECTORS_MOUNT);
  const globals = pyodide.toPy({ TESTS_MOUNT, VECTORS_MOUNT });
  let ids;
  try {
    ids = JSON.parse(await pyodide.runPythonAsync(SETUP, { globals }));
  } catch (error) {
    fail(`suite setup: ${error.message ?? error}`);
  }
  return { pyodide, globals, ids };
}

async function runOne(current, id) {
  const crashed = new Promise((_, reject) => {
    crash.reject = reject;
  });
  current.globals.set("TEST_ID", id);
  try {
    return JSON.parse(
      await Promise.race([
        current.pyodide.runPythonAsync(RUN_ONE, { globals: current.globals }),
        crashed,
      ]),
    );
  } catch (error) {
    const [suite, name] = id.split("::");
    const message = `Pyodide failed: ${error?.message ?? error}`;
    return { suite, name, ok: false, error: message, crashed: true };
  } finally {
    crash.reject = null;
  }
}

async function main() {
  const opts = options();
  const lockPath = await checkedLock(opts.build);
  await installHelpers();
  let current = await session(opts, lockPath);
  const only = opts.only;
  const ids = current.ids.filter((id) => only.length === 0 || only.includes(id));

  let failed = 0;
  for (const id of ids) {
    const result = await runOne(current, id);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    if (!result.ok) failed += 1;
    if (result.crashed) current = await session(opts, lockPath);
  }
  process.exitCode = failed === 0 ? 0 : 1;
  // Pyodide keeps no handle open that should outlive the run.
  process.exit();
}

await main();
