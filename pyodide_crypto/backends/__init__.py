"""Primitive backends: WebCrypto under Pyodide, pyca/cryptography under CPython.

Use :func:`pyodide_crypto.runtime.backend` to get the active one.
"""
