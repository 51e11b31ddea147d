"""Build the wheel the browser installs, and the lock file that pins it.

``python -m server.build [--out DIR]`` writes into ``client/web/build/``
(or DIR):

- ``pyodide_crypto-<version>-py3-none-any.whl``: a pure-Python wheel of the
  ``pyodide_crypto`` package plus the worker's glue,
  ``client/web/py/bridge.py``, as the top-level module ``sealpost_bridge``
  (the name ``client/web/js/worker.js`` imports). One wheel, so that one
  hash pins every line of Python the browser runs.
- ``pyodide-lock.json``: a lock file for Pyodide 314.0.7 (``lockFileURL``)
  with the single package ``pyodide-crypto``. Its ``file_name`` is relative,
  so Pyodide resolves it against ``packageBaseUrl`` (or, without one, the
  folder of the lock file), and its ``sha256`` becomes the ``integrity`` of
  the browser's fetch: a wheel that does not match is refused.

The build is reproducible: entries are sorted, timestamps and permissions
fixed, JSON keys sorted; unchanged inputs give byte-identical outputs, and
files whose bytes did not change are not rewritten.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import re
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIR = REPO_ROOT / "pyodide_crypto"
BRIDGE_FILE = REPO_ROOT / "client" / "web" / "py" / "bridge.py"
#: The account area's glue (client/web/py/accounts_bridge.py), its own module.
ACCOUNTS_BRIDGE_FILE = REPO_ROOT / "client" / "web" / "py" / "accounts_bridge.py"
DEFAULT_OUT_DIR = REPO_ROOT / "client" / "web" / "build"
RUNTIME_LOCK = REPO_ROOT / "node_modules" / "pyodide" / "pyodide-lock.json"

DIST_NAME = "pyodide-crypto"
BRIDGE_MODULE = "sealpost_bridge"
ACCOUNTS_BRIDGE_MODULE = "sealpost_accounts_bridge"
LOCK_NAME = "pyodide-lock.json"
#: Pyodide refuses a lock file whose ABI differs from its own; these are the
#: values of Pyodide 314.0.7's own lock file (checked against it when present).
PYODIDE_LOCK_INFO = {
    "abi_version": "2026_0",
    "arch": "wasm32",
    "platform": "emscripten_5_0_3",
    "python": "3.14.2",
}
#: Zip entries carry this time: the earliest a zip can hold, the same forever.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = 0o644 << 16
_VERSION = re.compile(r'^__version__ = "([^"]+)"$', re.MULTILINE)


def _version() -> str:
    # Read, not imported, so that building never depends on import side effects.
    found = _VERSION.search((PACKAGE_DIR / "__init__.py").read_text("utf-8"))
    if found is None:
        raise RuntimeError("build: no __version__ in pyodide_crypto/__init__.py")
    return found.group(1)


def _sources() -> dict[str, bytes]:
    """Archive path -> bytes of every module that goes into the wheel."""
    files = {
        path.relative_to(REPO_ROOT).as_posix(): path.read_bytes()
        for path in PACKAGE_DIR.rglob("*.py")
        if "__pycache__" not in path.parts
    }
    files[f"{BRIDGE_MODULE}.py"] = BRIDGE_FILE.read_bytes()
    files[f"{ACCOUNTS_BRIDGE_MODULE}.py"] = ACCOUNTS_BRIDGE_FILE.read_bytes()
    return files


def _record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def wheel_bytes(version: str, sources: dict[str, bytes]) -> bytes:
    """A py3-none-any wheel of ``sources``, identical for identical input."""
    dist_info = f"{DIST_NAME.replace('-', '_')}-{version}.dist-info"
    metadata = (
        "Metadata-Version: 2.1\n"
        f"Name: {DIST_NAME}\n"
        f"Version: {version}\n"
        "Summary: Sealpost's end-to-end encryption format, for Pyodide.\n"
        "License: Apache-2.0\n"
    )
    wheel = (
        "Wheel-Version: 1.0\n"
        "Generator: sealpost server.build\n"
        "Root-Is-Purelib: true\n"
        "Tag: py3-none-any\n"
    )
    top_level = "".join(
        f"{name}\n"
        for name in sorted(["pyodide_crypto", BRIDGE_MODULE, ACCOUNTS_BRIDGE_MODULE])
    )
    entries = dict(sorted(sources.items()))
    entries[f"{dist_info}/METADATA"] = metadata.encode()
    entries[f"{dist_info}/WHEEL"] = wheel.encode()
    entries[f"{dist_info}/top_level.txt"] = top_level.encode()
    record_path = f"{dist_info}/RECORD"
    record = "".join(
        f"{path},{_record_hash(data)},{len(data)}\n" for path, data in entries.items()
    )
    entries[record_path] = (record + f"{record_path},,\n").encode()

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, data in entries.items():
            info = zipfile.ZipInfo(path, date_time=_ZIP_TIME)
            info.external_attr = _FILE_MODE
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data, compresslevel=9)
    return buffer.getvalue()


def lock_bytes(wheel_name: str, version: str, sha256: str) -> bytes:
    """A Pyodide lock file listing only our wheel."""
    lock = {
        "info": _lock_info(),
        "packages": {
            DIST_NAME: {
                "name": DIST_NAME,
                "version": version,
                "file_name": wheel_name,
                "install_dir": "site",
                "sha256": sha256,
                "package_type": "package",
                "imports": ["pyodide_crypto", BRIDGE_MODULE, ACCOUNTS_BRIDGE_MODULE],
                "depends": [],
                "unvendored_tests": False,
                "tool": {},
            }
        },
        "tool": {},
    }
    return (json.dumps(lock, indent=2, sort_keys=True) + "\n").encode()


def _lock_info() -> dict[str, str]:
    if RUNTIME_LOCK.is_file():
        info = json.loads(RUNTIME_LOCK.read_text("utf-8"))["info"]
        if info != PYODIDE_LOCK_INFO:
            raise RuntimeError(
                "build: node_modules/pyodide does not match the pinned runtime "
                f"(lock info {info}); update PYODIDE_LOCK_INFO with the upgrade"
            )
    return dict(PYODIDE_LOCK_INFO)


def _write_if_changed(path: Path, data: bytes) -> None:
    if path.is_file() and path.read_bytes() == data:
        return
    # Write then rename, so that a server never serves half a file.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def build(out_dir: Path = DEFAULT_OUT_DIR) -> dict[str, Any]:
    """Build the wheel and the lock file into ``out_dir``.

    :returns: ``{"wheel": name, "wheel_sha256": hex, "lock": name,
        "lock_sha256": hex, "files": {name: sha256 hex}}``; names are
        relative to ``out_dir``.
    :raises RuntimeError: the sources or the Pyodide runtime are not what the
        build expects.
    """
    version = _version()
    wheel_name = f"{DIST_NAME.replace('-', '_')}-{version}-py3-none-any.whl"
    wheel = wheel_bytes(version, _sources())
    wheel_sha256 = hashlib.sha256(wheel).hexdigest()
    lock = lock_bytes(wheel_name, version, wheel_sha256)

    out_dir.mkdir(parents=True, exist_ok=True)
    _write_if_changed(out_dir / wheel_name, wheel)
    _write_if_changed(out_dir / LOCK_NAME, lock)
    # Wheels of earlier versions would only be served stale.
    for stale in out_dir.glob(f"{DIST_NAME.replace('-', '_')}-*.whl"):
        if stale.name != wheel_name:
            stale.unlink()

    lock_sha256 = hashlib.sha256(lock).hexdigest()
    return {
        "wheel": wheel_name,
        "wheel_sha256": wheel_sha256,
        "lock": LOCK_NAME,
        "lock_sha256": lock_sha256,
        "files": {wheel_name: wheel_sha256, LOCK_NAME: lock_sha256},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m server.build", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT_DIR,
        help="output folder (default: client/web/build)",
    )
    args = parser.parse_args(argv)
    try:
        result = build(args.out)
    except (OSError, RuntimeError) as exc:
        print(f"sealpost: error: {exc}", file=sys.stderr)
        return 1
    for name, sha256 in result["files"].items():
        print(f"{sha256}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
