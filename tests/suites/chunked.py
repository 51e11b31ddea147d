"""C2SP chunked-encryption suite, run under CPython and inside Pyodide.

Every vector of the Wycheproof Cobblestone-256 file is applied with the
file's own semantics (see its schema and ``notes``): valid messages decrypt
one-shot, streamed by windows, by random chunk ranges and in raw mode, and
re-encrypt to the same bytes; invalid ones fail every way, release at most
their valid prefix and keep failing; header failures are rejected before a
single chunk is decrypted. Then round trips across chunk boundaries, the size
functions, truncation, trailing data and tampering.

Bulk data goes through the backend's own buffers (``Uint8Array`` views in
Pyodide), sliced the way the clients slice them.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import zlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pyodide_crypto import chunked
from pyodide_crypto.errors import DecryptionError, FormatError, ParameterError
from pyodide_crypto.runtime import backend

from . import load_vectors

VECTORS = "wycheproof/c2sp_chunked_encryption_aes_256_gcm_test.json"
CHUNK = chunked.CHUNK_SIZE
SEALED = chunked.SEALED_CHUNK_SIZE
HEADER = chunked.HEADER_SIZE
#: Window sizes, in chunks, that the streaming checks read by.
WINDOWS = (1, 2, 3)
ROUND_TRIP_SIZES = (0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 2 * CHUNK + 1)
BIG_SIZE = 257 * CHUNK
#: Flags the suite knows how to apply; an unknown one fails the suite.
KNOWN_FLAGS = frozenset(
    {
        "ChunkReordering",
        "CounterRollover",
        "HeaderFailure",
        "InvalidKeySize",
        "ModifiedCiphertext",
        "PartialPlaintext",
        "TrailingData",
        "Truncation",
        "ValidFinalChunk",
        "WrongContext",
        "WrongKey",
    }
)


@dataclass(frozen=True)
class Vector:
    """One test case of the vector file, decoded."""

    tc_id: int
    comment: str
    key: bytes
    ctx: bytes
    ct: bytes
    result: str
    flags: frozenset[str]
    aead_key: bytes | None
    base_nonce: bytes | None
    msg_length: int | None
    msg_sha512: bytes | None

    @property
    def body(self) -> bytes:
        return self.ct[HEADER:]

    def label(self) -> str:
        return f"tcId {self.tc_id} ({self.comment})"


def _hex(test: dict[str, Any], name: str) -> bytes | None:
    return bytes.fromhex(test[name]) if name in test else None


def _vectors() -> tuple[dict[str, Any], list[Vector]]:
    document = load_vectors(VECTORS)
    found = []
    for group in document["testGroups"]:
        assert group["type"] == "ChunkedEncryption"
        assert group["aead"] == "AEAD_AES_256_GCM" and group["sha"] == "SHA-512"
        for test in group["tests"]:
            found.append(
                Vector(
                    tc_id=test["tcId"],
                    comment=test["comment"],
                    key=bytes.fromhex(test["key"]),
                    ctx=bytes.fromhex(test["ctx"]),
                    ct=zlib.decompress(bytes.fromhex(test["ct"])),
                    result=test["result"],
                    flags=frozenset(test["flags"]),
                    aead_key=_hex(test, "aeadKey"),
                    base_nonce=_hex(test, "baseNonce"),
                    msg_length=test.get("msgLength"),
                    msg_sha512=_hex(test, "msgSha512"),
                )
            )
    return document, found


def _b(buffer: Any) -> bytes:
    return backend().buffer_to_bytes(buffer)


def _pattern(size: int, seed: object) -> bytes:
    """Deterministic, non-repeating test data (not a secret)."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def _flip(data: bytes, offset: int) -> bytes:
    changed = bytearray(data)
    changed[offset] ^= 0x01
    return bytes(changed)


async def _raises(
    errors: type[Exception] | tuple[type[Exception], ...],
    call: Awaitable[object],
    what: str = "",
) -> Exception:
    """Await ``call`` and return the expected error it raised."""
    try:
        await call
    except errors as exc:
        return exc
    raise AssertionError(f"expected {errors} {what}".rstrip())


async def _sync(function: Callable[..., object], *args: object) -> object:
    return function(*args)


@contextlib.contextmanager
def _count_calls(method: str) -> Iterator[list[int]]:
    """Count calls of one backend method while the block runs.

    Wraps the method on the backend instance (the same object in CPython and
    Pyodide), so that "rejected before any chunk is decrypted" and "one call
    per window" are observed, not assumed.
    """
    instance = backend()
    original = getattr(instance, method)
    calls = [0]

    async def counting(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return await original(*args, **kwargs)

    setattr(instance, method, counting)
    try:
        yield calls
    finally:
        delattr(instance, method)


def _count_chunk_opens() -> contextlib.AbstractContextManager[list[int]]:
    return _count_calls("open_chunks")


async def _stream(
    decryptor: chunked.Decryptor, body: bytes, window_chunks: int
) -> tuple[bytes, Exception | None]:
    """Read ``body`` like a client: whole windows, the last one final.

    Returns what was released and the error that stopped the stream, if any.
    """
    buffer = backend().buffer_from_bytes(body)
    window = window_chunks * SEALED
    released = bytearray()
    offset = 0
    try:
        while len(body) - offset > window:
            piece = backend().buffer_slice(buffer, offset, offset + window)
            released += _b(await decryptor.open(piece, final=False))
            offset += window
        piece = backend().buffer_slice(buffer, offset, len(body))
        released += _b(await decryptor.open(piece, final=True))
    except DecryptionError as exc:
        return bytes(released), exc
    return bytes(released), None


async def _seal_stream(encryptor: chunked.Encryptor, data: bytes, window: int) -> bytes:
    """Encrypt ``data`` by windows of ``window`` chunks, like the clients."""
    buffer = backend().buffer_from_bytes(data)
    step = window * CHUNK
    parts = [encryptor.header]
    offset = 0
    while len(data) - offset > step:
        piece = backend().buffer_slice(buffer, offset, offset + step)
        parts.append(_b(await encryptor.seal(piece, final=False)))
        offset += step
    piece = backend().buffer_slice(buffer, offset, len(data))
    parts.append(_b(await encryptor.seal(piece, final=True)))
    return b"".join(parts)


async def _check_released_prefix(vector: Vector, released: bytes) -> None:
    """What a failing stream released is a prefix of the valid plaintext."""
    allowed = vector.msg_length if "PartialPlaintext" in vector.flags else 0
    assert allowed is not None
    assert len(released) <= allowed, vector.label()
    assert len(released) % CHUNK == 0, vector.label()
    if released and len(released) == allowed:
        assert hashlib.sha512(released).digest() == vector.msg_sha512, vector.label()
    if released:
        # The vectors make encryption deterministic: re-sealing the released
        # chunks must give back the ciphertext they came from, byte for byte.
        assert vector.aead_key is not None and vector.base_nonce is not None
        raw = await chunked.Encryptor.create_raw(vector.aead_key, vector.base_nonce)
        resealed = _b(await raw.seal(released, final=False))
        assert resealed == vector.body[: len(released) // CHUNK * SEALED]


async def _check_valid(vector: Vector) -> None:
    assert vector.aead_key is not None and vector.base_nonce is not None
    assert vector.msg_length is not None and vector.msg_sha512 is not None
    derived = await chunked.derive_keys(vector.key, vector.ctx, vector.ct[:24])
    assert derived.key == vector.aead_key, vector.label()
    assert derived.base_nonce == vector.base_nonce, vector.label()
    assert derived.commitment == vector.ct[24:HEADER], vector.label()

    message = await chunked.decrypt(vector.key, vector.ctx, vector.ct)
    assert len(message) == vector.msg_length, vector.label()
    assert hashlib.sha512(message).digest() == vector.msg_sha512, vector.label()
    assert chunked.plaintext_size(len(vector.ct)) == vector.msg_length
    assert chunked.ciphertext_size(vector.msg_length) == len(vector.ct)

    for window in WINDOWS:
        decryptor = await chunked.Decryptor.create(
            vector.key, vector.ctx, vector.ct[:HEADER]
        )
        released, error = await _stream(decryptor, vector.body, window)
        assert error is None and released == message, (vector.label(), window)

    await _check_ranges(vector, message)

    decryptor = await chunked.Decryptor.create(
        vector.key, vector.ctx, vector.ct[:HEADER]
    )
    last = _b(await decryptor.open_final_chunk(vector.body))
    assert last == message[len(message) // CHUNK * CHUNK :], vector.label()

    # Raw mode and deterministic re-encryption, both ways.
    raw = await chunked.Decryptor.create_raw(vector.aead_key, vector.base_nonce)
    assert _b(await raw.open(vector.body, final=True)) == message
    encryptor = await chunked.Encryptor.create_raw(vector.aead_key, vector.base_nonce)
    assert _b(await encryptor.seal(message, final=True)) == vector.body
    salt = vector.ct[:24]
    assert await chunked.encrypt(vector.key, vector.ctx, message, salt=salt) == (
        vector.ct
    )
    encryptor = await chunked.Encryptor.create(vector.key, vector.ctx, salt=salt)
    assert await _seal_stream(encryptor, message, 2) == vector.ct, vector.label()


async def _check_ranges(vector: Vector, message: bytes) -> None:
    """Random access: chunk ranges starting anywhere, some up to the end."""
    decryptor = await chunked.Decryptor.create(
        vector.key, vector.ctx, vector.ct[:HEADER]
    )
    buffer = backend().buffer_from_bytes(vector.body)
    chunks = len(message) // CHUNK + 1
    rng = random.Random(vector.tc_id)
    ranges = {(0, chunks), (chunks - 1, chunks), (chunks // 2, chunks)}
    for _ in range(6):
        first = rng.randrange(chunks)
        ranges.add((first, rng.randrange(first, chunks) + 1))
    for first, end in sorted(ranges):
        final = end == chunks
        stop = len(vector.body) if final else end * SEALED
        piece = backend().buffer_slice(buffer, first * SEALED, stop)
        opened = _b(await decryptor.open_range(first, piece, final=final))
        assert opened == message[first * CHUNK : end * CHUNK], (vector.label(), first)
        if first + 1 < chunks:
            # The same bytes claimed at another index must not authenticate.
            await _raises(
                DecryptionError,
                decryptor.open_range(first + 1, piece, final=final),
                vector.label(),
            )


async def _check_header_failure(vector: Vector) -> None:
    error = ParameterError if "InvalidKeySize" in vector.flags else DecryptionError
    with _count_chunk_opens() as calls:
        await _raises(
            error,
            chunked.Decryptor.create(vector.key, vector.ctx, vector.ct[:HEADER]),
            vector.label(),
        )
        await _raises(
            error,
            chunked.decrypt(vector.key, vector.ctx, vector.ct),
            vector.label(),
        )
    assert calls[0] == 0, f"{vector.label()}: a chunk was decrypted"


async def _check_invalid_body(vector: Vector) -> None:
    """A valid header followed by chunks that must not decrypt as a message."""
    assert vector.aead_key is not None and vector.base_nonce is not None
    derived = await chunked.derive_keys(vector.key, vector.ctx, vector.ct[:24])
    assert derived.key == vector.aead_key and derived.base_nonce == vector.base_nonce

    await _raises(
        DecryptionError,
        chunked.decrypt(vector.key, vector.ctx, vector.ct),
        vector.label(),
    )
    for window in WINDOWS:
        decryptor = await chunked.Decryptor.create(
            vector.key, vector.ctx, vector.ct[:HEADER]
        )
        released, error = await _stream(decryptor, vector.body, window)
        assert error is not None, (vector.label(), window)
        await _check_released_prefix(vector, released)
        if window == 1 and "PartialPlaintext" in vector.flags:
            # Read chunk by chunk, the whole valid prefix comes out, unless
            # the body is whole chunks and the reader took the last as final.
            assert vector.msg_length is not None
            if len(vector.body) % SEALED:
                assert len(released) == vector.msg_length, vector.label()
        # A failed stream stays failed, whatever it is given next.
        for data, final in ((b"", True), (vector.body[:SEALED], False)):
            await _raises(
                DecryptionError,
                decryptor.open(data, final=final),
                vector.label(),
            )

    decryptor = await chunked.Decryptor.create(
        vector.key, vector.ctx, vector.ct[:HEADER]
    )
    await _raises(
        DecryptionError,
        decryptor.open_range(0, vector.body, final=True),
        vector.label(),
    )
    raw = await chunked.Decryptor.create_raw(vector.aead_key, vector.base_nonce)
    await _raises(DecryptionError, raw.open(vector.body, final=True), vector.label())

    # Authenticating only the final chunk may succeed exactly when the file
    # says the final chunk is valid at its index.
    if "ValidFinalChunk" in vector.flags:
        await decryptor.open_final_chunk(vector.body)
    else:
        await _raises(
            DecryptionError,
            decryptor.open_final_chunk(vector.body),
            vector.label(),
        )


async def test_chunked_vectors_all_applied() -> None:
    document, vectors = _vectors()
    results: dict[str, int] = {}

    for vector in vectors:
        unknown = vector.flags - KNOWN_FLAGS
        assert not unknown, f"{vector.label()}: unknown flags {sorted(unknown)}"
        if vector.result == "valid":
            await _check_valid(vector)
        elif vector.result == "invalid" and "HeaderFailure" in vector.flags:
            await _check_header_failure(vector)
        elif vector.result == "invalid":
            await _check_invalid_body(vector)
        elif vector.result == "acceptable":
            # Either outcome is allowed, but a success must be the message.
            try:
                message = await chunked.decrypt(vector.key, vector.ctx, vector.ct)
            except (DecryptionError, ParameterError):
                pass
            else:
                assert hashlib.sha512(message).digest() == vector.msg_sha512
        else:
            raise AssertionError(f"{vector.label()}: unknown result {vector.result}")
        results[vector.result] = results.get(vector.result, 0) + 1

    assert len(vectors) == document["numberOfTests"]
    assert sum(results.values()) == document["numberOfTests"]
    assert len({v.tc_id for v in vectors}) == len(vectors)


async def test_chunked_round_trip_sizes() -> None:
    for size in (*ROUND_TRIP_SIZES, BIG_SIZE):
        key = _pattern(32, ("key", size))
        data = _pattern(size, size)

        sealed = await chunked.encrypt(key, b"round trip", data)

        assert len(sealed) == chunked.ciphertext_size(size)
        assert chunked.plaintext_size(len(sealed)) == size
        assert await chunked.decrypt(key, b"round trip", sealed) == data
        for window in (1, 2, 256):
            decryptor = await chunked.Decryptor.create(
                key, b"round trip", sealed[:HEADER]
            )
            released, error = await _stream(decryptor, sealed[HEADER:], window)
            assert error is None and released == data, (size, window)
        encryptor = await chunked.Encryptor.create(key, b"round trip", salt=sealed[:24])
        assert await _seal_stream(encryptor, data, 3) == sealed, size


async def test_chunked_big_message_random_ranges() -> None:
    key = _pattern(32, "ranges")
    data = _pattern(BIG_SIZE + 5, "ranges")
    sealed = await chunked.encrypt(key, b"", data)
    decryptor = await chunked.Decryptor.create(key, b"", sealed[:HEADER])
    buffer = backend().buffer_from_bytes(sealed[HEADER:])
    chunks = len(data) // CHUNK + 1
    rng = random.Random(257)

    for _ in range(12):
        first = rng.randrange(1, chunks - 1)
        end = min(chunks, first + rng.randrange(1, 40))
        final = end == chunks
        stop = len(sealed) - HEADER if final else end * SEALED
        piece = backend().buffer_slice(buffer, first * SEALED, stop)
        opened = _b(await decryptor.open_range(first, piece, final=final))
        assert opened == data[first * CHUNK : end * CHUNK], (first, end)

    last = _b(
        await decryptor.open_final_chunk(
            sealed[-(5 + 16) :], ciphertext_len=len(sealed)
        )
    )
    assert last == data[-5:]


async def test_chunked_size_functions() -> None:
    for size in (*ROUND_TRIP_SIZES, BIG_SIZE, 10**12):
        chunks = size // CHUNK + 1
        assert chunked.ciphertext_size(size) == HEADER + size + 16 * chunks
        assert chunked.plaintext_size(chunked.ciphertext_size(size)) == size
    for index in (0, 1, 2, 257, chunked.MAX_CHUNKS - 1):
        assert chunked.chunk_offset(index) == HEADER + index * SEALED

    # Too short for a header and an empty final chunk, or a body of whole
    # sealed chunks (the short final chunk is missing), or a final chunk
    # shorter than its tag.
    impossible = [-1, 0, 1, HEADER - 1, HEADER, HEADER + 15]
    for full in (1, 2, 257):
        impossible += [HEADER + full * SEALED + extra for extra in (0, 1, 15)]
    impossible.append(HEADER + chunked.MAX_CHUNKS * SEALED + 16)
    for length in impossible:
        await _raises(FormatError, _sync(chunked.plaintext_size, length), str(length))
    assert chunked.plaintext_size(HEADER + 16) == 0
    assert chunked.plaintext_size(HEADER + SEALED + 16) == CHUNK
    assert chunked.plaintext_size(HEADER + SEALED - 1) == CHUNK - 1

    for bad in (-1, chunked.MAX_CHUNKS * CHUNK):
        await _raises(ParameterError, _sync(chunked.ciphertext_size, bad), str(bad))
    for bad in (-1, chunked.MAX_CHUNKS):
        await _raises(ParameterError, _sync(chunked.chunk_offset, bad), str(bad))
    for function in (chunked.ciphertext_size, chunked.plaintext_size):
        for wrong_type in (100.0, True, "100", None):
            await _raises(ParameterError, _sync(function, wrong_type), repr(wrong_type))
    await _raises(ParameterError, _sync(chunked.chunk_offset, 1.0))


async def test_chunked_truncation_at_every_chunk_boundary() -> None:
    key = _pattern(32, "truncate")
    data = _pattern(3 * CHUNK + 5, "truncate")
    sealed = await chunked.encrypt(key, b"", data)

    cuts = [0, 1, 15, 16]
    for boundary in range(1, 4):
        cuts += [boundary * SEALED + delta for delta in (-16, -1, 0, 1, 16)]
    cuts += [len(sealed) - HEADER - 1, len(sealed) - HEADER - 16]
    for cut in cuts:
        truncated = sealed[: HEADER + cut]
        await _raises(DecryptionError, chunked.decrypt(key, b"", truncated), str(cut))
        decryptor = await chunked.Decryptor.create(key, b"", sealed[:HEADER])
        released, error = await _stream(decryptor, truncated[HEADER:], 1)
        assert error is not None, cut
        # Only whole chunks before the cut come out, each one authentic.
        assert released == data[: len(released)]
        assert len(released) <= cut // SEALED * CHUNK


async def test_chunked_trailing_data() -> None:
    key = _pattern(32, "trailing")
    data = _pattern(CHUNK + 7, "trailing")
    sealed = await chunked.encrypt(key, b"", data)
    another = await chunked.encrypt(key, b"", data)

    extras = [b"\x00", bytes(16), bytes(SEALED), sealed[HEADER:], another[-23:]]
    for extra in extras:
        await _raises(
            DecryptionError,
            chunked.decrypt(key, b"", sealed + extra),
            str(len(extra)),
        )


async def test_chunked_tampered_byte_anywhere() -> None:
    key = _pattern(32, "tamper")
    context = b"tamper context"
    small = await chunked.encrypt(key, context, _pattern(100, "small"))

    # Every byte of a one-chunk message, header included, one at a time.
    for offset in range(len(small)):
        await _raises(
            DecryptionError,
            chunked.decrypt(key, context, _flip(small, offset)),
            str(offset),
        )

    # A three-chunk message: every header byte, and one byte (at a random
    # place) in every 16-byte block of the body, tags included.
    data = _pattern(2 * CHUNK + 9, "big")
    sealed = await chunked.encrypt(key, context, data)
    for offset in range(HEADER):
        await _raises(
            DecryptionError,
            chunked.Decryptor.create(key, context, _flip(sealed, offset)[:HEADER]),
            str(offset),
        )
    decryptor = await chunked.Decryptor.create(key, context, sealed[:HEADER])
    body = sealed[HEADER:]
    assert _b(await decryptor.open_range(0, body, final=True)) == data
    rng = random.Random(16)
    for block in range(0, len(body), 16):
        offset = block + rng.randrange(min(16, len(body) - block))
        await _raises(
            DecryptionError,
            decryptor.open_range(0, _flip(body, offset), final=True),
            str(offset),
        )


async def test_chunked_wrong_key_and_context_rejected_by_commitment() -> None:
    key = _pattern(32, "commit")
    sealed = await chunked.encrypt(key, b"ctx", _pattern(2 * CHUNK, "commit"))

    with _count_chunk_opens() as calls:
        for other_key, other_context in ((_flip(key, 0), b"ctx"), (key, b"ctx2")):
            await _raises(
                DecryptionError,
                chunked.Decryptor.create(other_key, other_context, sealed[:HEADER]),
            )
            await _raises(
                DecryptionError,
                chunked.decrypt(other_key, other_context, sealed),
            )
    assert calls[0] == 0


async def test_chunked_misuse_is_rejected_without_losing_state() -> None:
    key = _pattern(32, "misuse")
    data = _pattern(2 * CHUNK + 1, "misuse")
    for bad_key in (bytes(31), bytes(33), "x" * 32):
        await _raises(ParameterError, chunked.Encryptor.create(bad_key, b""))
    await _raises(ParameterError, chunked.Encryptor.create(key, b"", salt=b"s"))
    await _raises(ParameterError, chunked.Encryptor.create(key, "text"))

    encryptor = await chunked.Encryptor.create(key, b"")
    await _raises(ParameterError, encryptor.seal(data[:100], final=False))
    # The refused window consumed nothing: the stream continues normally.
    first = _b(await encryptor.seal(data[:CHUNK], final=False))
    rest = _b(await encryptor.seal(data[CHUNK:], final=True))
    await _raises(ParameterError, encryptor.seal(b"", final=True))
    sealed = encryptor.header + first + rest
    assert await chunked.decrypt(key, b"", sealed) == data

    decryptor = await chunked.Decryptor.create(key, b"", sealed[:HEADER])
    body = sealed[HEADER:]
    await _raises(ParameterError, decryptor.open(body[:100], final=False))
    opened = _b(await decryptor.open(body[:SEALED], final=False))
    opened += _b(await decryptor.open(body[SEALED:], final=True))
    assert opened == data
    await _raises(ParameterError, decryptor.open(b"", final=True))
    await _raises(ParameterError, decryptor.open_range(-1, body, final=True))
    await _raises(DecryptionError, chunked.Decryptor.create(key, b"", b"x"))


async def test_chunked_one_backend_call_per_window() -> None:
    key = _pattern(32, "windows")
    data = _pattern(9 * CHUNK + 3, "windows")
    encryptor = await chunked.Encryptor.create(key, b"")
    plain = backend().buffer_from_bytes(data)

    with _count_calls("seal_chunks") as seals:
        first = await encryptor.seal(
            backend().buffer_slice(plain, 0, 4 * CHUNK), final=False
        )
        second = await encryptor.seal(
            backend().buffer_slice(plain, 4 * CHUNK, 8 * CHUNK), final=False
        )
        last = await encryptor.seal(
            backend().buffer_slice(plain, 8 * CHUNK, len(data)), final=True
        )
    body = _b(first) + _b(second) + _b(last)
    decryptor = await chunked.Decryptor.create(key, b"", encryptor.header)
    with _count_calls("open_chunks") as opens:
        opened = await decryptor.open(body[: 8 * SEALED], final=False)
        rest = await decryptor.open(body[8 * SEALED :], final=True)

    assert seals[0] == 3 and opens[0] == 2
    assert _b(opened) + _b(rest) == data
    if backend().name == "webcrypto":
        # Bulk results stay JS Uint8Arrays; only small values become bytes.
        for buffer in (first, second, last, opened, rest):
            assert not isinstance(buffer, bytes | bytearray | memoryview)
            assert buffer.constructor.name == "Uint8Array"
