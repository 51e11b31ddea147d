"""Run every suite in ``tests/suites`` inside Pyodide, hosted by Node.js.

The wheel and lock file are built fresh (``server.build.build``) into a
temporary folder, then ``tests/pyodide_host/run.mjs`` loads them the way the
browser worker does and runs every suite test on the WebCrypto backend, once
per session. Each suite function becomes one pytest test here, failing with
the Python traceback from inside Pyodide; a last test checks that Pyodide ran
exactly the tests that CPython runs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from server.build import build

# Through test_suites, which makes pytest rewrite the suites' asserts before
# they are first imported.
if __package__:
    from .test_suites import SUITE_TESTS, suites
else:
    from test_suites import SUITE_TESTS, suites

pytestmark = pytest.mark.pyodide

ROOT = Path(__file__).resolve().parents[1]
HOST = ROOT / "tests" / "pyodide_host" / "run.mjs"
#: The shared vector folder (SEALPOST_VECTORS, or ../shared/vectors).
VECTORS = suites.vector_path("wycheproof").parent
#: A guard against a hung runtime, far above a normal run (about ten seconds).
HOST_TIMEOUT_SECONDS = 900


@pytest.fixture(scope="session")
def pyodide_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Build, run the Node host once, and return its results by test id."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (Node.js 20 runs the Pyodide suites)")
    if not (ROOT / "node_modules" / "pyodide" / "pyodide.mjs").is_file():
        pytest.fail("node_modules/pyodide is missing; run `npm ci`")

    out_dir = tmp_path_factory.mktemp("pyodide-build")
    build(out_dir)
    vectors = VECTORS
    completed = subprocess.run(
        [
            node,
            # subtle-window.js is an ES module in a folder without a
            # package.json "type"; Node loads it fine but says so on stderr.
            "--disable-warning=MODULE_TYPELESS_PACKAGE_JSON",
            str(HOST),
            "--build",
            str(out_dir),
            "--vectors",
            str(vectors),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=HOST_TIMEOUT_SECONDS,
        env={**os.environ, "SEALPOST_VECTORS": str(vectors)},
    )
    # Exit code 1 only says that some test failed; each one reports itself.
    if completed.returncode not in (0, 1):
        sys.stderr.write(completed.stderr)
        pytest.fail(
            f"the Pyodide host failed (exit {completed.returncode}): "
            f"{completed.stderr.strip()[-2000:]}"
        )

    results = {}
    for line in completed.stdout.splitlines():
        result = json.loads(line)
        results[f"{result['suite']}::{result['name']}"] = result
    return {"results": results, "stderr": completed.stderr}


@pytest.mark.parametrize("test_id", sorted(SUITE_TESTS))
def test_pyodide_suite(test_id: str, pyodide_results: dict[str, Any]) -> None:
    result = pyodide_results["results"].get(test_id)

    if result is None:
        pytest.fail(f"{test_id} did not run inside Pyodide", pytrace=False)
    if not result["ok"]:
        pytest.fail(f"inside Pyodide:\n{result['error']}", pytrace=False)


def test_pyodide_ran_the_same_tests_as_cpython(
    pyodide_results: dict[str, Any],
) -> None:
    ran = set(pyodide_results["results"])

    assert ran, "the Pyodide host ran no test"
    assert ran == set(SUITE_TESTS), (
        f"only in Pyodide: {sorted(ran - set(SUITE_TESTS))}; "
        f"only in CPython: {sorted(set(SUITE_TESTS) - ran)}"
    )


def test_build_is_reproducible_and_idempotent(tmp_path: Path) -> None:
    first = build(tmp_path / "one")
    files = {name: (tmp_path / "one" / name).read_bytes() for name in first["files"]}
    stamps = {name: (tmp_path / "one" / name).stat().st_mtime_ns for name in files}

    again = build(tmp_path / "one")
    other = build(tmp_path / "two")

    assert again == first == other
    for name, data in files.items():
        assert (tmp_path / "two" / name).read_bytes() == data
        assert hashlib.sha256(data).hexdigest() == first["files"][name]
        # Unchanged bytes are not rewritten (a server may be serving them).
        assert (tmp_path / "one" / name).stat().st_mtime_ns == stamps[name]


def test_build_lock_pins_the_wheel(tmp_path: Path) -> None:
    result = build(tmp_path)
    lock = json.loads((tmp_path / result["lock"]).read_text("utf-8"))
    runtime_lock = ROOT / "node_modules" / "pyodide" / "pyodide-lock.json"

    assert list(lock["packages"]) == ["pyodide-crypto"]
    entry = lock["packages"]["pyodide-crypto"]
    wheel = (tmp_path / entry["file_name"]).read_bytes()
    assert entry["file_name"] == result["wheel"]
    assert entry["sha256"] == result["wheel_sha256"]
    assert entry["sha256"] == hashlib.sha256(wheel).hexdigest()
    # Relative, so that Pyodide resolves it against packageBaseUrl.
    assert "/" not in entry["file_name"]
    assert lock["info"] == json.loads(runtime_lock.read_text("utf-8"))["info"]


def test_build_wheel_contents(tmp_path: Path) -> None:
    result = build(tmp_path)

    with zipfile.ZipFile(tmp_path / result["wheel"]) as wheel:
        infos = wheel.infolist()
        names = [info.filename for info in infos]
        record = wheel.read(next(n for n in names if n.endswith("/RECORD")))
        contents = {name: wheel.read(name) for name in names}

    assert result["wheel"].endswith("-py3-none-any.whl")
    assert "sealpost_bridge.py" in names
    assert (
        contents["sealpost_bridge.py"]
        == (ROOT / "client" / "web" / "py" / "bridge.py").read_bytes()
    )
    sources = sorted(
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "pyodide_crypto").rglob("*.py")
        if "__pycache__" not in path.parts
    )
    assert sorted(n for n in names if n.startswith("pyodide_crypto/")) == sources
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    lines = record.decode().splitlines()
    assert len(lines) == len(names)
    for line in lines:
        path, digest, size = line.rsplit(",", 2)
        if path.endswith("/RECORD"):
            continue
        expected = base64.urlsafe_b64encode(
            hashlib.sha256(contents[path]).digest()
        ).rstrip(b"=")
        assert digest == "sha256=" + expected.decode()
        assert int(size) == len(contents[path])


def test_pyodide_host_refuses_a_wheel_that_differs_from_the_lock(
    tmp_path: Path,
) -> None:
    node = shutil.which("node")
    assert node is not None, "node is not installed"
    result = build(tmp_path)
    wheel = tmp_path / result["wheel"]
    wheel.write_bytes(wheel.read_bytes() + b"\x00")

    completed = subprocess.run(
        [node, str(HOST), "--build", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=HOST_TIMEOUT_SECONDS,
        env={**os.environ, "SEALPOST_VECTORS": str(VECTORS)},
    )

    assert completed.returncode == 2
    assert "differs from the lock file" in completed.stderr
    assert completed.stdout == ""
