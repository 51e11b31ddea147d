"""C2SP chunked-encryption v1 with AES-256-GCM and HKDF-Expand-SHA-512.

Spec: https://c2sp.org/chunked-encryption (the "Cobblestone-256" vectors).
A ciphertext is ``salt (24) || commitment (32) || chunk 0 || chunk 1 || ...``.
Every chunk holds 16 KiB of plaintext and a 16-byte tag, except the final one,
which is always shorter (possibly empty) and so marks the end of the message.

Callers stream by *windows* of whole chunks: one backend call, and under
Pyodide one JS promise, per window. This module computes every nonce and
checks every length; the backend only runs AES-GCM over the ranges it is given.
"""

from __future__ import annotations

import hmac
from typing import NamedTuple

from . import runtime
from .backends.base import AeadKey, Backend, Buffer
from .errors import DecryptionError, FormatError, ParameterError

CHUNK_SIZE = 16 * 1024  # plaintext bytes per full chunk
TAG_SIZE = 16  # AES-GCM tag bytes per chunk
SEALED_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE
SALT_SIZE = 24
COMMITMENT_SIZE = 32
HEADER_SIZE = SALT_SIZE + COMMITMENT_SIZE  # 56
KEY_SIZE = 32  # input key and AES-256 key
NONCE_SIZE = 12
#: The chunk counter must stay below 2**38 (4 PiB); the spec requires aborting.
MAX_CHUNKS = 1 << 38

_AEAD_NAME = b"AEAD_AES_256_GCM"
_LABEL = b"c2sp.org/chunked-encryption@v1+"


class DerivedKeys(NamedTuple):
    """The per-message values HKDF-Expand derives from input key and salt."""

    key: bytes
    base_nonce: bytes
    commitment: bytes


async def derive_keys(input_key: bytes, context: bytes, salt: bytes) -> DerivedKeys:
    """Derive the AEAD key, base nonce and commitment of one message.

    :raises ParameterError: the input key is not 32 bytes or the salt not 24.
    """
    _check_size("input_key", input_key, KEY_SIZE)
    _check_size("salt", salt, SALT_SIZE)
    if not isinstance(context, bytes):
        raise ParameterError("context must be bytes")

    info = _LABEL + _AEAD_NAME + b"\x00" + salt + context
    okm = await runtime.backend().hkdf_expand_sha512(
        input_key, info, KEY_SIZE + NONCE_SIZE + COMMITMENT_SIZE
    )
    return DerivedKeys(
        okm[:KEY_SIZE], okm[KEY_SIZE : KEY_SIZE + NONCE_SIZE], okm[-COMMITMENT_SIZE:]
    )


def ciphertext_size(plaintext_len: int) -> int:
    """Size of the ciphertext, header included, of a message of this length."""
    _check_int("plaintext_len", plaintext_len)
    if plaintext_len < 0:
        raise ParameterError(f"plaintext_len must be >= 0, got {plaintext_len}")
    chunks = plaintext_len // CHUNK_SIZE + 1
    if chunks > MAX_CHUNKS:
        raise ParameterError("plaintext_len exceeds the 2**38 chunk limit")
    return HEADER_SIZE + plaintext_len + chunks * TAG_SIZE


def plaintext_size(ciphertext_len: int) -> int:
    """Size of the message inside a ciphertext of this length (header included).

    :raises FormatError: no valid ciphertext has this length.
    """
    _check_int("ciphertext_len", ciphertext_len)
    body = ciphertext_len - HEADER_SIZE
    full, final = divmod(body, SEALED_CHUNK_SIZE)
    # A body of whole sealed chunks lacks its short final chunk: truncated.
    if body < TAG_SIZE or final < TAG_SIZE or full >= MAX_CHUNKS:
        raise FormatError(f"impossible ciphertext length {ciphertext_len}")
    return full * CHUNK_SIZE + final - TAG_SIZE


def chunk_offset(index: int) -> int:
    """Offset of chunk ``index`` in the ciphertext (header included)."""
    _check_int("index", index)
    if not 0 <= index < MAX_CHUNKS:
        raise ParameterError(f"chunk index must be in 0..2**38-1, got {index}")
    return HEADER_SIZE + index * SEALED_CHUNK_SIZE


def _check_int(name: str, value: object) -> None:
    # bool is an int to Python but never a size; a float would slip through
    # divmod and come back as a float size.
    if not isinstance(value, int) or isinstance(value, bool):
        raise ParameterError(f"{name} must be an int, got {type(value).__name__}")


def _check_size(name: str, value: object, size: int) -> None:
    if not isinstance(value, bytes):
        raise ParameterError(f"{name} must be bytes, got {type(value).__name__}")
    if len(value) != size:
        raise ParameterError(f"{name} must be {size} bytes, got {len(value)}")


class _Chunks:
    """A message key and base nonce; turns chunk indices into nonces."""

    def __init__(self, backend: Backend, key: AeadKey, base_nonce: bytes) -> None:
        self.backend = backend
        self.key = key
        self._base = int.from_bytes(base_nonce, "big")

    def nonces(self, first: int, count: int) -> list[bytes]:
        # Indices stay below 2**38, so only the last 5 bytes of the base nonce
        # change and no two chunks of one message share a nonce.
        if first < 0 or first + count > MAX_CHUNKS:
            raise DecryptionError()
        base = self._base
        return [
            (base ^ k).to_bytes(NONCE_SIZE, "big") for k in range(first, first + count)
        ]

    def as_buffer(self, data: Buffer) -> Buffer:
        if isinstance(data, bytes | bytearray | memoryview):
            return self.backend.buffer_from_bytes(data)
        return data

    async def open(self, first: int, data: Buffer, *, final: bool) -> Buffer:
        """Open whole chunks from ``first``; with ``final``, the last is short."""
        size = self.backend.buffer_length(data)
        full, rest = divmod(size, SEALED_CHUNK_SIZE)
        if not final and rest:
            raise ParameterError(
                f"a non-final window must be a multiple of {SEALED_CHUNK_SIZE} bytes"
            )
        # The final chunk is sealed in 16..16399 bytes: none at all is a
        # truncation, a full one means the real final chunk was cut off.
        if final and rest < TAG_SIZE:
            raise DecryptionError()

        count = full + 1 if final else full
        if count == 0:
            return self.backend.buffer_from_bytes(b"")
        nonces = self.nonces(first, count)
        plaintext, ok = await self.backend.open_chunks(
            self.key, nonces, data, CHUNK_SIZE
        )
        if ok != count:
            raise DecryptionError()
        return plaintext


class Encryptor:
    """Streaming encryption of one message, window by window."""

    def __init__(self, chunks: _Chunks, header: bytes) -> None:
        self._chunks = chunks
        self._header = header
        self._next = 0
        self._closed = False

    @classmethod
    async def create(
        cls, input_key: bytes, context: bytes, *, salt: bytes | None = None
    ) -> Encryptor:
        """Start a message under ``input_key`` (32 bytes) and ``context``.

        :param salt: 24 bytes; random unless given (a seam for test vectors).
        :raises ParameterError: wrong key or salt size.
        """
        backend = runtime.backend()
        if salt is None:
            salt = backend.random_bytes(SALT_SIZE)
        derived = await derive_keys(input_key, context, salt)
        key = await backend.import_aes_gcm_key(derived.key)
        return cls(_Chunks(backend, key, derived.base_nonce), salt + derived.commitment)

    @classmethod
    async def create_raw(cls, key: bytes, base_nonce: bytes) -> Encryptor:
        """Raw mode (spec appendix): no header, key and nonce from the caller.

        Hazmat for protocols that derive ``key`` and ``base_nonce`` themselves;
        they must be uniformly random and never reused.
        """
        _check_size("key", key, KEY_SIZE)
        _check_size("base_nonce", base_nonce, NONCE_SIZE)
        backend = runtime.backend()
        aead_key = await backend.import_aes_gcm_key(key)
        return cls(_Chunks(backend, aead_key, base_nonce), b"")

    @property
    def header(self) -> bytes:
        """The 56-byte ``salt || commitment`` that precedes the chunks."""
        return self._header

    async def seal(self, data: Buffer, *, final: bool) -> Buffer:
        """Encrypt the next window of plaintext.

        :param data: a non-final window holds whole chunks (a multiple of
            ``CHUNK_SIZE`` bytes); the final window may hold any length and
            ends with the short final chunk.
        :raises ParameterError: wrong window size, or the message is finished.
        """
        if self._closed:
            raise ParameterError("the message is already finished")
        backend = self._chunks.backend
        data = self._chunks.as_buffer(data)
        size = backend.buffer_length(data)
        if not final and size % CHUNK_SIZE:
            raise ParameterError(
                f"a non-final window must be a multiple of {CHUNK_SIZE} bytes, "
                f"got {size}"
            )
        count = size // CHUNK_SIZE + (1 if final else 0)
        if self._next + count > MAX_CHUNKS:
            raise ParameterError("the message exceeds the 2**38 chunk limit")
        if count == 0:
            return backend.buffer_from_bytes(b"")

        # Consume the nonces before sealing: if the backend fails midway the
        # encryptor is closed rather than reusing a nonce on a retry.
        first = self._next
        self._next += count
        self._closed = True
        sealed = await backend.seal_chunks(
            self._chunks.key, self._chunks.nonces(first, count), data, CHUNK_SIZE
        )
        self._closed = final
        return sealed


class Decryptor:
    """Streaming and random-access decryption of one message."""

    def __init__(self, chunks: _Chunks) -> None:
        self._chunks = chunks
        self._next = 0
        self._failed = False
        self._done = False

    @classmethod
    async def create(cls, input_key: bytes, context: bytes, header: bytes) -> Decryptor:
        """Check ``header`` against the key and context, before any chunk.

        :raises ParameterError: the input key is not 32 bytes.
        :raises DecryptionError: the header is short or its commitment differs
            (wrong key, wrong context, or a modified header).
        """
        _check_size("input_key", input_key, KEY_SIZE)
        if not isinstance(header, bytes | bytearray) or len(header) != HEADER_SIZE:
            raise DecryptionError()

        salt = bytes(header[:SALT_SIZE])
        derived = await derive_keys(input_key, context, salt)
        if not hmac.compare_digest(derived.commitment, bytes(header[SALT_SIZE:])):
            raise DecryptionError()
        backend = runtime.backend()
        key = await backend.import_aes_gcm_key(derived.key)
        return cls(_Chunks(backend, key, derived.base_nonce))

    @classmethod
    async def create_raw(cls, key: bytes, base_nonce: bytes) -> Decryptor:
        """Raw mode (spec appendix): no header and no key commitment. Hazmat."""
        _check_size("key", key, KEY_SIZE)
        _check_size("base_nonce", base_nonce, NONCE_SIZE)
        backend = runtime.backend()
        aead_key = await backend.import_aes_gcm_key(key)
        return cls(_Chunks(backend, aead_key, base_nonce))

    async def open(self, data: Buffer, *, final: bool) -> Buffer:
        """Decrypt the next window of the stream; only authenticated bytes.

        :param data: a non-final window holds whole sealed chunks (a multiple
            of ``CHUNK_SIZE + 16`` bytes); the final window holds the rest of
            the ciphertext, ending with the short final chunk.
        :raises DecryptionError: a chunk does not authenticate, or the stream
            is truncated or has trailing data. The decryptor then stays failed.
        :raises ParameterError: wrong window size, or the stream is finished.
        """
        if self._failed:
            raise DecryptionError()
        if self._done:
            raise ParameterError("the stream is already finished")

        data = self._chunks.as_buffer(data)
        full, rest = divmod(self._chunks.backend.buffer_length(data), SEALED_CHUNK_SIZE)
        if not final and rest:
            raise ParameterError(
                f"a non-final window must be a multiple of {SEALED_CHUNK_SIZE} bytes"
            )

        # Claim the chunk indices before awaiting so that a second call can
        # never open the same positions; any failure is final.
        first = self._next
        self._next += full
        self._done = final
        try:
            return await self._chunks.open(first, data, final=final)
        except Exception:
            self._failed = True
            raise

    async def open_range(
        self, first_chunk: int, data: Buffer, *, final: bool
    ) -> Buffer:
        """Decrypt whole chunks starting at ``first_chunk`` (random access).

        Independent of the streaming position. With ``final``, ``data`` runs to
        the end of the ciphertext and must end with a valid short final chunk.

        :raises DecryptionError: a chunk does not authenticate or the final
            chunk has an impossible length.
        :raises ParameterError: a non-final range is not whole sealed chunks.
        """
        if not 0 <= first_chunk < MAX_CHUNKS:
            raise ParameterError(
                f"first_chunk must be in 0..2**38-1, got {first_chunk}"
            )
        return await self._chunks.open(
            first_chunk, self._chunks.as_buffer(data), final=final
        )

    async def open_final_chunk(
        self, tail: Buffer, *, ciphertext_len: int | None = None
    ) -> Buffer:
        """Authenticate only the final chunk, which proves the message length.

        :param tail: the end of the ciphertext, at least the whole final chunk;
            without ``ciphertext_len`` it is all of the ciphertext after the
            header.
        :param ciphertext_len: the full ciphertext length, header included.
        :returns: the plaintext of the final chunk.
        :raises DecryptionError: impossible length or the chunk does not verify.
        """
        backend = self._chunks.backend
        tail = self._chunks.as_buffer(tail)
        tail_len = backend.buffer_length(tail)
        if ciphertext_len is None:
            ciphertext_len = HEADER_SIZE + tail_len
        try:
            plaintext_size(ciphertext_len)
        except FormatError:
            raise DecryptionError() from None

        index, final_len = divmod(ciphertext_len - HEADER_SIZE, SEALED_CHUNK_SIZE)
        if tail_len < final_len:
            raise ParameterError("tail must hold the whole final chunk")
        final_chunk = backend.buffer_slice(tail, tail_len - final_len, tail_len)
        return await self._chunks.open(index, final_chunk, final=True)


async def encrypt(
    input_key: bytes, context: bytes, data: bytes, *, salt: bytes | None = None
) -> bytes:
    """Encrypt a whole message held in memory; returns header and chunks."""
    encryptor = await Encryptor.create(input_key, context, salt=salt)
    sealed = await encryptor.seal(data, final=True)
    return encryptor.header + runtime.backend().buffer_to_bytes(sealed)


async def decrypt(input_key: bytes, context: bytes, data: bytes) -> bytes:
    """Decrypt a whole message held in memory.

    :raises ParameterError: the input key is not 32 bytes.
    :raises DecryptionError: anything about the ciphertext is wrong.
    """
    view = memoryview(data)
    decryptor = await Decryptor.create(input_key, context, bytes(view[:HEADER_SIZE]))
    plaintext = await decryptor.open(view[HEADER_SIZE:], final=True)
    return runtime.backend().buffer_to_bytes(plaintext)
