"""Sealpost's end-to-end encryption format, in pure Python.

Runs unchanged under CPython (pyca/cryptography) and under Pyodide in a Web
Worker (WebCrypto); :mod:`pyodide_crypto.runtime` picks the backend. The
modules callers use are :mod:`pyodide_crypto.share` (a whole share, sans-IO)
and :mod:`pyodide_crypto.chunked` (streaming file encryption). The byte
format is specified in docs/format.md.
"""

from __future__ import annotations

from .errors import (
    BackendError,
    CryptoError,
    DecryptionError,
    FormatError,
    ParameterError,
)

__version__ = "0.1.0"

__all__ = [
    "BackendError",
    "CryptoError",
    "DecryptionError",
    "FormatError",
    "ParameterError",
    "__version__",
]
