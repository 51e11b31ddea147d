"""The one place that decides which runtime pyodide_crypto runs under.

Everything else asks :func:`backend` for the primitives; nothing else imports
``js`` or checks ``sys.platform``.
"""

from __future__ import annotations

import sys
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .backends.base import Backend

#: True inside Pyodide (CPython compiled to WebAssembly, in a browser or Node).
IN_PYODIDE = sys.platform == "emscripten"


@cache
def backend() -> Backend:
    """Return the primitive backend for the current runtime (created once)."""
    if IN_PYODIDE:
        from .backends.webcrypto import WebCryptoBackend

        return WebCryptoBackend()
    from .backends.cpython import CPythonBackend

    return CPythonBackend()
