"""Envelope, manifest and whole-share suite, run under CPython and in Pyodide.

Plain ``async def test_*`` functions with plain asserts: the CPython runner and
the Pyodide host both call every one of them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

from pyodide_crypto import chunked, envelope, manifest, share
from pyodide_crypto.errors import DecryptionError, FormatError, ParameterError
from pyodide_crypto.runtime import backend

CHUNK = chunked.CHUNK_SIZE
#: C08: combining accent, tab, ZWJ emoji; must come back byte for byte.
C08_MESSAGE = "🎇🎇 👩\u200d⚕️ e\u0301 中文 \t end"
#: C01 and C04 file names.
C01_NAMES = ["vide.txt", "é 🤖.txt"]
C04_NAMES = [
    'rapport "final" v2.pdf',
    "!£$%^&*)(_-+=}{][@'#~?>.‹,|`¬.txt",
    "<img src=x onerror=alert(1)>.txt",
]
#: Header offsets of the single link stanza.
STANZA_AT = envelope.PREAMBLE_SIZE
SALT_AT = STANZA_AT + envelope.STANZA_PREFIX_SIZE
WRAPPED_AT = SALT_AT + envelope.LINK_SALT_SIZE
HEADER_SIZE = WRAPPED_AT + envelope.LINK_WRAPPED_SIZE


def _pattern(size: int, seed: object) -> bytes:
    """Deterministic, non-repeating test data (not a secret)."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def _counter_rng(tag: str) -> Callable[[int], bytes]:
    """A reproducible stand-in for the CSPRNG: call n gets sha256(tag, n)."""
    calls = [0]

    def random_bytes(size: int) -> bytes:
        calls[0] += 1
        return _pattern(size, f"{tag}:{calls[0]}")

    return random_bytes


def _flip(data: bytes, offset: int) -> bytes:
    changed = bytearray(data)
    changed[offset] ^= 0x01
    return bytes(changed)


async def _raises(
    errors: type[Exception] | tuple[type[Exception], ...],
    make: Callable[[], Awaitable[object]],
) -> Exception:
    try:
        await make()
    except errors as exc:
        return exc
    raise AssertionError(f"expected {errors}")


async def _encrypt(sender: share.ShareSender, index: int, data: bytes) -> bytes:
    """Encrypt a file in windows of two chunks, like the clients do."""
    encryptor = await sender.file_encryptor(index)
    parts = [encryptor.header]
    window = 2 * CHUNK
    offset = 0
    while len(data) - offset > window:
        sealed = await encryptor.seal(data[offset : offset + window], final=False)
        parts.append(backend().buffer_to_bytes(sealed))
        offset += window
    sealed = await encryptor.seal(data[offset:], final=True)
    parts.append(backend().buffer_to_bytes(sealed))
    return b"".join(parts)


async def _decrypt(recipient: share.ShareRecipient, index: int, blob: bytes) -> bytes:
    """Decrypt a file in windows of two sealed chunks."""
    header = blob[: chunked.HEADER_SIZE]
    decryptor = await recipient.file_decryptor(index, header)
    body = blob[chunked.HEADER_SIZE :]
    window = 2 * chunked.SEALED_CHUNK_SIZE
    parts = []
    offset = 0
    while len(body) - offset > window:
        opened = await decryptor.open(body[offset : offset + window], final=False)
        parts.append(backend().buffer_to_bytes(opened))
        offset += window
    opened = await decryptor.open(body[offset:], final=True)
    parts.append(backend().buffer_to_bytes(opened))
    return b"".join(parts)


async def _share(
    files: list[tuple[str, bytes]],
    *,
    message: str = "hello",
    random_bytes: Callable[[int], bytes] | None = None,
    link_secret: bytes | None = None,
    share_key: bytes | None = None,
) -> tuple[share.ShareSender, bytes, list[bytes]]:
    """Build a share; returns the sender, the envelope and the file blobs."""
    sender = await share.ShareSender.create(
        link_secret=link_secret, share_key=share_key, random_bytes=random_bytes
    )
    for name, data in files:
        sender.add_file(name, len(data), "text/plain")
    await sender.seal_header()
    blobs = [await _encrypt(sender, i, data) for i, (_, data) in enumerate(files)]
    sealed = await sender.seal_manifest(message, expires_in=3600, max_downloads=3)
    return sender, sealed, blobs


async def _two_file_share() -> tuple[share.ShareSender, bytes, list[bytes]]:
    return await _share([("a.txt", _pattern(100, 1)), ("b.txt", _pattern(100, 2))])


async def test_share_round_trip_sizes_names_and_message() -> None:
    sizes = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK + 7]
    names = C01_NAMES + C04_NAMES + ["f.bin"]
    files = [(names[i], _pattern(size, i)) for i, size in enumerate(sizes)]
    files.append((names[len(sizes)], b""))
    sender, sealed, blobs = await _share(files, message=C08_MESSAGE)

    recipient = await share.ShareRecipient.open(
        share.parse_fragment(sender.fragment), sealed
    )

    assert recipient.manifest.message == C08_MESSAGE
    assert recipient.manifest.message.encode() == C08_MESSAGE.encode()
    assert recipient.manifest.expires_in == 3600
    assert recipient.manifest.max_downloads == 3
    assert [f.name for f in recipient.manifest.files] == [n for n, _ in files]
    assert [f.size for f in recipient.manifest.files] == [len(d) for _, d in files]
    for index, (_, data) in enumerate(files):
        assert len(blobs[index]) == sender.ciphertext_size(index)
        assert recipient.ciphertext_size(index) == len(blobs[index])
        assert await _decrypt(recipient, index, blobs[index]) == data


async def test_share_claim_proof_matches_verifier() -> None:
    sender, sealed, _ = await _two_file_share()

    recipient = await share.ShareRecipient.open(sender.link_secret, sealed)

    assert len(sender.claim_verifier) == 32
    assert await backend().sha256(recipient.claim_proof) == sender.claim_verifier
    assert recipient.claim_proof != sender.claim_verifier


async def test_share_fragment_round_trip() -> None:
    sender = await share.ShareSender.create()

    assert len(sender.fragment) == share.FRAGMENT_LENGTH
    assert share.parse_fragment(sender.fragment) == sender.link_secret
    assert share.parse_fragment("#" + sender.fragment) == sender.link_secret


async def test_share_parse_fragment_rejects_bad_text() -> None:
    good = (await share.ShareSender.create()).fragment
    bad = [
        "",
        good[:-1],
        good + "A",
        good + "=",
        good[:-1] + "+",
        good[:-1] + "/",
        " " + good[1:],
        # Last character with non-zero unused bits: a second spelling.
        good[:-1] + chr(ord("A") + 1) if good[-1] == "A" else good[:-1] + "B",
    ]
    for text in bad:
        if text != good:
            await _raises(FormatError, _async(share.parse_fragment, text))


def _async(
    function: Callable[..., object], *args: object
) -> Callable[[], Awaitable[object]]:
    async def call() -> object:
        return function(*args)

    return call


async def test_share_open_fragment_convenience() -> None:
    sender, sealed, _ = await _two_file_share()

    recipient = await share.ShareRecipient.open_fragment(sender.fragment, sealed)

    assert [f.name for f in recipient.manifest.files] == ["a.txt", "b.txt"]


async def test_share_unsafe_names_are_neutralised() -> None:
    names = [
        "../../etc/passwd",
        "a\\b",
        "C:evil",
        "..",
        ".",
        "",
        "x\x00y",
        "r\u202etxt.exe",
    ]
    expected = [
        "_.._.._etc_passwd",
        "a_b",
        "C_evil",
        "__",
        "_",
        "_",
        "x_y",
        "r_txt.exe",
    ]
    files = [(name, b"") for name in names]
    sender, sealed, _ = await _share(files)

    recipient = await share.ShareRecipient.open(sender.link_secret, sealed)

    assert [f.name for f in recipient.manifest.files] == expected


async def test_share_header_is_stable_before_files() -> None:
    sender = await share.ShareSender.create()
    sender.add_file("a", 1, "")

    first = await sender.seal_header()

    assert await sender.seal_header() == first
    assert first[: len(envelope.MAGIC)] == envelope.MAGIC
    assert len(first) == HEADER_SIZE


async def test_tamper_stanza_salt() -> None:
    sender, sealed, _ = await _two_file_share()

    tampered = _flip(sealed, SALT_AT)

    await _raises(
        DecryptionError, lambda: share.ShareRecipient.open(sender.link_secret, tampered)
    )


async def test_tamper_wrapped_key() -> None:
    sender, sealed, _ = await _two_file_share()

    for offset in (WRAPPED_AT, HEADER_SIZE - 1):
        tampered = _flip(sealed, offset)
        await _raises(
            DecryptionError,
            lambda t=tampered: share.ShareRecipient.open(sender.link_secret, t),
        )


async def test_tamper_header_count() -> None:
    sender, sealed, _ = await _two_file_share()
    count_at = len(envelope.MAGIC) + 1

    for count in (0, 2, 17, 255):
        tampered = bytearray(sealed)
        tampered[count_at] = count
        await _raises(
            (FormatError, DecryptionError),
            lambda t=bytes(tampered): share.ShareRecipient.open(sender.link_secret, t),
        )


async def test_tamper_manifest_byte() -> None:
    sender, sealed, _ = await _two_file_share()

    # In the manifest's salt, its commitment, and its first chunk.
    for offset in (HEADER_SIZE, HEADER_SIZE + 30, HEADER_SIZE + 60, len(sealed) - 1):
        tampered = _flip(sealed, offset)
        await _raises(
            DecryptionError,
            lambda t=tampered: share.ShareRecipient.open(sender.link_secret, t),
        )


async def test_tamper_wrong_link_secret() -> None:
    _, sealed, _ = await _two_file_share()
    other = await share.ShareSender.create()

    await _raises(
        DecryptionError, lambda: share.ShareRecipient.open(other.link_secret, sealed)
    )


async def test_tamper_truncated_envelope() -> None:
    sender, sealed, _ = await _two_file_share()

    for size in (len(sealed) - 1, len(sealed) - 16, HEADER_SIZE + 56 + 16):
        await _raises(
            DecryptionError,
            lambda s=size: share.ShareRecipient.open(sender.link_secret, sealed[:s]),
        )
    for size in (
        0,
        5,
        envelope.PREAMBLE_SIZE,
        HEADER_SIZE - 1,
        HEADER_SIZE,
        HEADER_SIZE + 71,
    ):
        await _raises(
            FormatError,
            lambda s=size: share.ShareRecipient.open(sender.link_secret, sealed[:s]),
        )


async def test_tamper_trailing_bytes() -> None:
    sender, sealed, _ = await _two_file_share()

    manifest_body = len(sealed) - HEADER_SIZE - chunked.HEADER_SIZE
    # The last one leaves a body of whole sealed chunks: an impossible length.
    extras = [
        1,
        16,
        chunked.SEALED_CHUNK_SIZE,
        chunked.SEALED_CHUNK_SIZE - manifest_body,
    ]
    for extra in extras:
        await _raises(
            (DecryptionError, FormatError),
            lambda e=extra: share.ShareRecipient.open(
                sender.link_secret, sealed + bytes(e)
            ),
        )


async def test_tamper_stanza_with_wrong_length() -> None:
    sender, sealed, _ = await _two_file_share()
    body = sealed[SALT_AT:HEADER_SIZE]
    rest = sealed[HEADER_SIZE:]

    for new_body in (body[:-1], body + b"\x00"):
        stanza = bytes([envelope.STANZA_LINK]) + len(new_body).to_bytes(2, "big")
        tampered = sealed[:STANZA_AT] + stanza + new_body + rest
        await _raises(
            FormatError,
            lambda t=tampered: share.ShareRecipient.open(sender.link_secret, t),
        )


async def test_tamper_unknown_version() -> None:
    sender, sealed, _ = await _two_file_share()

    for version in (0, 2, 255):
        tampered = bytearray(sealed)
        tampered[len(envelope.MAGIC)] = version
        exc = await _raises(
            FormatError,
            lambda t=bytes(tampered): share.ShareRecipient.open(sender.link_secret, t),
        )
        assert "version" in str(exc)


async def test_tamper_bad_magic() -> None:
    sender, sealed, _ = await _two_file_share()

    await _raises(
        FormatError,
        lambda: share.ShareRecipient.open(sender.link_secret, _flip(sealed, 0)),
    )


async def test_tamper_file_blob_swapped_between_indices() -> None:
    data = _pattern(CHUNK + 3, 9)
    sender, sealed, blobs = await _share([("a", data), ("b", data)])
    recipient = await share.ShareRecipient.open(sender.link_secret, sealed)

    assert await _decrypt(recipient, 0, blobs[0]) == data
    await _raises(DecryptionError, lambda: _decrypt(recipient, 0, blobs[1]))
    await _raises(DecryptionError, lambda: _decrypt(recipient, 1, blobs[0]))


async def test_tamper_file_from_another_share() -> None:
    # Same link secret, share key and file keys; only the stanza salt (hence
    # the header hash) differs, so only the context binding can catch it.
    link_secret = _pattern(32, 100)
    share_key = _pattern(32, 101)
    data = _pattern(300, 7)
    first = await _share(
        [("a", data)],
        link_secret=link_secret,
        share_key=share_key,
        random_bytes=_same_keys_rng("one"),
    )
    second = await _share(
        [("a", data)],
        link_secret=link_secret,
        share_key=share_key,
        random_bytes=_same_keys_rng("two"),
    )
    recipient = await share.ShareRecipient.open(link_secret, first[1])
    other = await share.ShareRecipient.open(link_secret, second[1])

    assert recipient.manifest.files[0].key == other.manifest.files[0].key
    assert recipient.header_hash != other.header_hash
    await _raises(DecryptionError, lambda: _decrypt(recipient, 0, second[2][0]))


def _same_keys_rng(tag: str) -> Callable[[int], bytes]:
    """File keys and chunk salts fixed; stanza salts (16 bytes) depend on tag."""
    keys = _counter_rng("shared")
    salts = _counter_rng(tag)

    def random_bytes(size: int) -> bytes:
        return salts(size) if size == envelope.LINK_SALT_SIZE else keys(size)

    return random_bytes


async def test_tamper_stanza_rewrapped_with_same_key() -> None:
    # Someone who knows the share key re-wraps it: the header changes, so the
    # manifest's commitment (bound to the header hash) no longer matches.
    link_secret = _pattern(32, 3)
    share_key = _pattern(32, 4)
    sender, sealed, _ = await _share(
        [("a", b"x")], link_secret=link_secret, share_key=share_key
    )
    stanza = await envelope.LinkRecipient(link_secret).wrap(share_key)
    tampered = envelope.encode_header([stanza]) + sealed[HEADER_SIZE:]

    await _raises(
        DecryptionError, lambda: share.ShareRecipient.open(link_secret, tampered)
    )


async def test_envelope_unknown_stanza_types_are_skipped() -> None:
    link_secret = _pattern(32, 5)
    share_key = _pattern(32, 6)
    link = await envelope.LinkRecipient(link_secret).wrap(share_key)
    stanzas = [
        envelope.Stanza(0x7F, b"future"),
        envelope.Stanza(envelope.STANZA_HPKE, bytes(65 + 48)),
        envelope.Stanza(0x80, b""),
        link,
    ]
    header, offset = envelope.parse_header(envelope.encode_header(stanzas) + b"rest")

    found = await envelope.unwrap_share_key(
        header, [envelope.LinkIdentity(link_secret)]
    )

    assert found == share_key
    assert header.stanzas == tuple(stanzas)
    assert offset == len(header.raw)


async def test_envelope_no_stanza_opens() -> None:
    share_key = _pattern(32, 6)
    link = await envelope.LinkRecipient(_pattern(32, 5)).wrap(share_key)
    header, _ = envelope.parse_header(
        envelope.encode_header([envelope.Stanza(0x7F, b"x"), link])
    )

    await _raises(
        DecryptionError,
        lambda: envelope.unwrap_share_key(header, [envelope.LinkIdentity(bytes(32))]),
    )


async def test_envelope_second_link_stanza_opens() -> None:
    share_key = _pattern(32, 8)
    first = await envelope.LinkRecipient(_pattern(32, 9)).wrap(share_key)
    second = await envelope.LinkRecipient(_pattern(32, 10)).wrap(share_key)
    header, _ = envelope.parse_header(envelope.encode_header([first, second]))

    found = await envelope.unwrap_share_key(
        header, [envelope.LinkIdentity(_pattern(32, 10))]
    )

    assert found == share_key


async def test_manifest_rejects_decrypted_garbage() -> None:
    # A sender that encrypts an invalid manifest: authentication passes, the
    # strict validation must still refuse it.
    share_key = _pattern(32, 11)
    link_secret = _pattern(32, 12)
    stanza = await envelope.LinkRecipient(link_secret).wrap(share_key)
    header = envelope.encode_header([stanza])
    digest = await envelope.header_hash(header)
    key = await manifest.derive_key(share_key)
    document = b'{"v":2}'
    plaintext = len(document).to_bytes(4, "big") + document
    plaintext += bytes(manifest.padded_size(len(document)) - len(plaintext))
    sealed = header + await chunked.encrypt(key, manifest.context(digest), plaintext)

    await _raises(FormatError, lambda: share.ShareRecipient.open(link_secret, sealed))


async def test_share_sender_misuse() -> None:
    sender = await share.ShareSender.create()

    for size in (-1, 1.5, True):
        await _raises(ParameterError, _async(sender.add_file, "a", size, ""))
    await _raises(ParameterError, _async(sender.add_file, "\ud800", 1, ""))
    await _raises(ParameterError, lambda: sender.file_encryptor(0))
    await _raises(
        ParameterError, lambda: sender.seal_manifest("m", expires_in=0, max_downloads=1)
    )
    await _raises(
        ParameterError,
        lambda: sender.seal_manifest("\ud800", expires_in=1, max_downloads=1),
    )
    await sender.seal_manifest("m", expires_in=1, max_downloads=1)
    await _raises(
        ParameterError, lambda: sender.seal_manifest("m", expires_in=1, max_downloads=1)
    )
    await _raises(ParameterError, _async(sender.add_file, "b", 1, ""))
    await _raises(
        ParameterError, lambda: share.ShareSender.create(link_secret=bytes(31))
    )
