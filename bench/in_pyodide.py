"""Python side of bench/crypto_worker.js; runs inside Pyodide, not CPython.

``make_encryptor``/``make_decryptor`` give the shipped pyodide_crypto objects
that the worker drives through client/web/py/bridge.py. ``naive_encrypt`` and
``naive_decrypt`` are the design Sealpost rejected: Python awaits one WebCrypto
promise per 16 KiB chunk. They exist only to be measured against it.
"""

from __future__ import annotations

from typing import Any

from js import Object, Uint8Array, crypto  # type: ignore[import-not-found]
from pyodide.ffi import to_js  # type: ignore[import-not-found]

from pyodide_crypto import chunked

#: Context string of the benchmark's messages (any fixed value will do).
CONTEXT = b"sealpost bench"

CHUNK_SIZE = chunked.CHUNK_SIZE
SEALED_SIZE = chunked.CHUNK_SIZE + chunked.TAG_SIZE


async def make_encryptor(raw_key: Any) -> chunked.Encryptor:
    """A shipped streaming encryptor under the benchmark key."""
    return await chunked.Encryptor.create(bytes(raw_key.to_py()), CONTEXT)


def header_of(encryptor: chunked.Encryptor) -> Any:
    """The encryptor's 56-byte header as a Uint8Array."""
    return to_js(encryptor.header)


async def make_decryptor(raw_key: Any, header: Any) -> chunked.Decryptor:
    """A shipped streaming decryptor for a message made by make_encryptor."""
    return await chunked.Decryptor.create(
        bytes(raw_key.to_py()), CONTEXT, bytes(header.to_py())
    )


def _nonce(base: int, index: int) -> Any:
    # Same nonce rule as the JS baseline: the index XORed into the base.
    return to_js((base ^ index).to_bytes(chunked.NONCE_SIZE, "big"))


async def _naive(
    operation: str, key: Any, base_nonce: Any, data: Any, in_size: int, out_size: int
) -> Any:
    base = int.from_bytes(bytes(base_nonce.to_py()), "big")
    length = int(data.length)
    count = max(1, -(-length // in_size))
    tags = count * chunked.TAG_SIZE
    out = Uint8Array.new(length + tags if operation == "encrypt" else length - tags)
    call = getattr(crypto.subtle, operation)

    # The obvious loop: a fresh params object and one await per chunk, which
    # costs an event-loop hop and a wrapped promise every 16 KiB.
    for index in range(count):
        chunk = data.subarray(index * in_size, min((index + 1) * in_size, length))
        params = to_js(
            {"name": "AES-GCM", "iv": _nonce(base, index), "tagLength": 128},
            dict_converter=Object.fromEntries,
        )
        result = await call(params, key, chunk)
        out.set(Uint8Array.new(result), index * out_size)
    return out


async def naive_encrypt(key: Any, base_nonce: Any, plaintext: Any) -> Any:
    """Encrypt ``plaintext`` chunk by chunk, awaiting every chunk."""
    return await _naive("encrypt", key, base_nonce, plaintext, CHUNK_SIZE, SEALED_SIZE)


async def naive_decrypt(key: Any, base_nonce: Any, sealed: Any) -> Any:
    """Decrypt what :func:`naive_encrypt` made, awaiting every chunk."""
    return await _naive("decrypt", key, base_nonce, sealed, SEALED_SIZE, CHUNK_SIZE)
