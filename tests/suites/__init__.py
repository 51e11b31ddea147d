"""Test suites that run unchanged under CPython and inside Pyodide.

Each module here defines ``async def test_<name>() -> None`` functions with
plain asserts and no pytest imports, so that ``tests/test_suites.py`` (CPython)
and ``tests/pyodide_host/run.mjs`` (Pyodide in Node.js, WebCrypto backend) run
the very same checks on the very same vector files.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

#: Where the shared vectors live unless SEALPOST_VECTORS says otherwise: the
#: project's sibling folder ``shared/vectors``. The Pyodide host mounts them
#: and sets SEALPOST_VECTORS to the mount point.
_DEFAULT_VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "vectors"


def vector_path(name: str) -> Path:
    """Path of a vector file, e.g. ``"wycheproof/aes_gcm_test.json"``."""
    root = os.environ.get("SEALPOST_VECTORS")
    return (Path(root) if root else _DEFAULT_VECTORS) / name


@cache
def load_vectors(name: str) -> Any:
    """Parse a JSON vector file (cached: suites share the parsed data)."""
    with vector_path(name).open("rb") as fh:
        return json.load(fh)
