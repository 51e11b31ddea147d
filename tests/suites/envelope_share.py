"""Envelope, manifest and whole-share suite, run under CPython and in Pyodide.

Plain ``async def test_*`` functions with plain asserts: the CPython runner and
the Pyodide host both call every one of them. The worked example of
docs/format.md is recomputed here from the inputs printed in the document, so
the document cannot drift from the code.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from pyodide_crypto import chunked, envelope, manifest, share
from pyodide_crypto.encoding import b64url_encode
from pyodide_crypto.errors import DecryptionError, FormatError, ParameterError
from pyodide_crypto.runtime import backend

CHUNK = chunked.CHUNK_SIZE
#: C08: combining accent, tab, ZWJ emoji; must come back byte for byte.
C08_MESSAGE = "🎇🎇 👩\u200d⚕️ e\u0301 中文 \t end"
#: C01 and C04 file names, which must come back unchanged.
C01_NAMES = ["vide.txt", "é 🤖.txt"]
C04_NAMES = [
    'rapport "final" v2.pdf',
    "!£$%^&*)(_-+=}{][@'#~?>.‹,|`¬.txt",
    "<img src=x onerror=alert(1)>.txt",
]
#: C03: one- to four-byte files.
C03_FILES = [("a", "a"), ("e-acute", "é"), ("euro", "€"), ("robot", "🤖")]
#: Header offsets of the single link stanza.
STANZA_AT = envelope.PREAMBLE_SIZE
SALT_AT = STANZA_AT + envelope.STANZA_PREFIX_SIZE
WRAPPED_AT = SALT_AT + envelope.LINK_SALT_SIZE
HEADER_SIZE = WRAPPED_AT + envelope.LINK_WRAPPED_SIZE
#: Names and settings every sender in this suite uses unless told otherwise.
EXPIRES_IN = 3600
MAX_DOWNLOADS = 3


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
    make: Callable[[], Awaitable[object]],
) -> Exception:
    try:
        await make()
    except errors as exc:
        return exc
    raise AssertionError(f"expected {errors}")


def _async(
    function: Callable[..., object], *args: object, **kwargs: object
) -> Callable[[], Awaitable[object]]:
    """Wrap a plain call so that :func:`_raises` can await it."""

    async def call() -> object:
        return function(*args, **kwargs)

    return call


async def _encrypt(
    sender: share.ShareSender,
    index: int,
    data: bytes,
    *,
    salt: bytes | None = None,
) -> bytes:
    """Encrypt a file in windows of two chunks, like the clients do."""
    encryptor = await sender.file_encryptor(index, test_salt=salt)
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
    link_secret: bytes | None = None,
    share_key: bytes | None = None,
    stanza_salt: bytes | None = None,
    file_keys: list[bytes] | None = None,
    file_salts: list[bytes] | None = None,
) -> tuple[share.ShareSender, bytes, list[bytes]]:
    """Build a share; returns the sender, the envelope and the file blobs."""
    sender = await share.ShareSender.create(
        link_secret=link_secret, share_key=share_key, test_stanza_salt=stanza_salt
    )
    for index, (name, data) in enumerate(files):
        key = file_keys[index] if file_keys else None
        sender.add_file(name, len(data), "text/plain", test_key=key)
    await sender.seal_header()
    blobs = []
    for index, (_, data) in enumerate(files):
        salt = file_salts[index] if file_salts else None
        blobs.append(await _encrypt(sender, index, data, salt=salt))
    sealed = await sender.seal_manifest(
        message, expires_in=EXPIRES_IN, max_downloads=MAX_DOWNLOADS
    )
    return sender, sealed, blobs


async def _two_file_share() -> tuple[share.ShareSender, bytes, list[bytes]]:
    return await _share([("a.txt", _pattern(100, 1)), ("b.txt", _pattern(100, 2))])


async def _open(link_secret: bytes, sealed: bytes) -> share.ShareRecipient:
    return await share.ShareRecipient.open(link_secret, sealed)


async def _hand_made_envelope(
    document: bytes | dict[str, object],
    *,
    stanzas: list[envelope.Stanza] | None = None,
) -> tuple[bytes, bytes]:
    """An envelope whose manifest plaintext we choose byte for byte.

    Authentication passes, so only the strict validation can refuse it.

    :returns: the link secret and the envelope.
    """
    link_secret = _pattern(32, "hand-made link")
    share_key = _pattern(32, "hand-made share")
    link = await envelope.LinkRecipient(link_secret).wrap(share_key)
    header = envelope.encode_header((stanzas or []) + [link])
    digest = await envelope.header_hash(header)
    if isinstance(document, dict):
        text = json.dumps(document, separators=(",", ":")).encode()
    else:
        text = document
    plaintext = len(text).to_bytes(4, "big") + text
    plaintext += bytes(manifest.padded_size(len(text)) - len(plaintext))
    key = await manifest.derive_key(share_key)
    sealed = await chunked.encrypt(key, manifest.context(digest), plaintext)
    return link_secret, header + sealed


def _valid_document(**changes: object) -> dict[str, object]:
    document: dict[str, object] = {
        "v": 1,
        "message": "m",
        "files": [
            {
                "name": "a.txt",
                "size": 3,
                "type": "text/plain",
                "key": b64url_encode(bytes(32)),
            }
        ],
        "expires_in": 60,
        "max_downloads": 1,
    }
    document.update(changes)
    return document


def _valid_file(**changes: object) -> dict[str, object]:
    files = _valid_document()["files"]
    assert isinstance(files, list)
    entry = dict(files[0])
    entry.update(changes)
    return entry


# Round trips and the field cases -------------------------------------------


async def test_share_round_trip_sizes_names_and_message() -> None:
    sizes = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 2 * CHUNK + 1, 5 * CHUNK]
    names = C01_NAMES + C04_NAMES + ["f.bin", "g.bin", "h.bin"]
    files = [(names[i], _pattern(size, i)) for i, size in enumerate(sizes)]
    sender, sealed, blobs = await _share(files, message=C08_MESSAGE)

    recipient = await _open(share.parse_fragment(sender.fragment), sealed)

    assert recipient.manifest.message.encode() == C08_MESSAGE.encode()
    assert recipient.manifest.expires_in == EXPIRES_IN
    assert recipient.manifest.max_downloads == MAX_DOWNLOADS
    assert [f.name for f in recipient.manifest.files] == names
    assert [f.size for f in recipient.manifest.files] == sizes
    recipient.check_ciphertext_sizes([len(blob) for blob in blobs])
    for index, (_, data) in enumerate(files):
        assert len(blobs[index]) == sender.ciphertext_size(index)
        assert recipient.ciphertext_size(index) == len(blobs[index])
        assert await _decrypt(recipient, index, blobs[index]) == data


async def test_share_c01_empty_files_keep_names_and_size() -> None:
    sender, sealed, blobs = await _share([(name, b"") for name in C01_NAMES])

    recipient = await _open(sender.link_secret, sealed)

    assert [f.name for f in recipient.manifest.files] == C01_NAMES
    assert [f.size for f in recipient.manifest.files] == [0, 0]
    for index in range(2):
        assert len(blobs[index]) == chunked.HEADER_SIZE + chunked.TAG_SIZE
        assert await _decrypt(recipient, index, blobs[index]) == b""


async def test_share_c03_tiny_files_exact_bytes() -> None:
    files = [(name, text.encode()) for name, text in C03_FILES]
    sender, sealed, blobs = await _share(files)

    recipient = await _open(sender.link_secret, sealed)

    assert [f.size for f in recipient.manifest.files] == [1, 2, 3, 4]
    for index, (_, data) in enumerate(files):
        assert await _decrypt(recipient, index, blobs[index]) == data


async def test_share_c04_names_come_back_unchanged() -> None:
    sender, sealed, _ = await _share([(name, b"x") for name in C04_NAMES])

    recipient = await _open(sender.link_secret, sealed)

    assert [f.name for f in recipient.manifest.files] == C04_NAMES
    assert [manifest.safe_file_name(name) for name in C04_NAMES] == C04_NAMES


async def test_share_c08_message_is_never_normalised() -> None:
    decomposed = "e\u0301"
    composed = "\u00e9"
    message = C08_MESSAGE + decomposed + composed + "\r\n\u2028\x00"
    sender, sealed, _ = await _share([], message=message)

    recipient = await _open(sender.link_secret, sealed)

    assert recipient.manifest.message.encode() == message.encode()
    assert recipient.manifest.files == []


async def test_share_names_are_stored_nfc() -> None:
    sender, sealed, _ = await _share([("Re\u0301sume\u0301.txt", b"")])

    recipient = await _open(sender.link_secret, sealed)

    assert recipient.manifest.files[0].name == "R\u00e9sum\u00e9.txt"


async def test_share_claim_proof_matches_verifier() -> None:
    sender, sealed, _ = await _two_file_share()

    recipient = await _open(sender.link_secret, sealed)

    assert len(sender.claim_verifier) == 32
    assert await backend().sha256(recipient.claim_proof) == sender.claim_verifier
    assert recipient.claim_proof != sender.claim_verifier


async def test_share_secrets_are_fresh() -> None:
    first = await share.ShareSender.create()
    second = await share.ShareSender.create()
    first.add_file("a", 0, "")
    second.add_file("a", 0, "")

    assert first.link_secret != second.link_secret
    assert first.claim_verifier != second.claim_verifier
    assert await first.seal_header() != await second.seal_header()
    one = await first.file_encryptor(0)
    again = await first.file_encryptor(0)
    assert one.header != again.header


async def test_share_fragment_round_trip() -> None:
    sender = await share.ShareSender.create()

    assert len(sender.fragment) == share.FRAGMENT_LENGTH
    assert share.parse_fragment(sender.fragment) == sender.link_secret
    assert share.parse_fragment("#" + sender.fragment) == sender.link_secret


async def test_share_parse_fragment_rejects_bad_text() -> None:
    good = (await share.ShareSender.create()).fragment
    # 43 characters carry 258 bits for 256: the last character's two low bits
    # are unused, and setting one would spell the same bytes a second way.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    second_spelling = good[:-1] + alphabet[alphabet.index(good[-1]) + 1]
    bad = [
        "",
        good[:-1],
        good + "A",
        good + "=",
        good[:-1] + "+",
        good[:-1] + "/",
        " " + good[1:],
        second_spelling,
    ]
    for text in bad:
        await _raises(FormatError, _async(share.parse_fragment, text))
    await _raises(FormatError, _async(share.parse_fragment, None))


async def test_share_open_fragment_convenience() -> None:
    sender, sealed, _ = await _two_file_share()

    recipient = await share.ShareRecipient.open_fragment(sender.fragment, sealed)

    assert [f.name for f in recipient.manifest.files] == ["a.txt", "b.txt"]


async def test_share_check_ciphertext_sizes() -> None:
    sender, sealed, blobs = await _two_file_share()
    recipient = await _open(sender.link_secret, sealed)
    sizes = [len(blob) for blob in blobs]

    recipient.check_ciphertext_sizes(sizes)

    for wrong in (sizes[:1], sizes + [72], [sizes[0], sizes[1] + 1], [72, 72]):
        await _raises(FormatError, _async(recipient.check_ciphertext_sizes, wrong))


async def test_share_media_types_are_neutralised() -> None:
    cases = {
        "text/plain": "text/plain",
        "Image/PNG": "image/png",
        "": "application/octet-stream",
        "text/html; charset=utf-8": "application/octet-stream",
        "text/html\r\nX-Evil: 1": "application/octet-stream",
        "nonsense": "application/octet-stream",
    }
    sender = await share.ShareSender.create()
    for index, media_type in enumerate(cases):
        sender.add_file(f"f{index}", 0, media_type)
    sealed = await sender.seal_manifest("", expires_in=1, max_downloads=1)

    recipient = await _open(sender.link_secret, sealed)

    assert [f.media_type for f in recipient.manifest.files] == list(cases.values())


async def test_share_header_is_stable_before_files() -> None:
    sender = await share.ShareSender.create()
    sender.add_file("a", 1, "")

    first = await sender.seal_header()

    assert await sender.seal_header() == first
    assert first[: len(envelope.MAGIC)] == envelope.MAGIC
    assert len(first) == HEADER_SIZE


async def test_manifest_padding_hides_message_length() -> None:
    sizes = set()
    for length in (0, 1, 100, 500, 800):
        _, sealed, _ = await _share([("a", b"")], message="x" * length)
        sizes.add(len(sealed))
    _, longer, _ = await _share([("a", b"")], message="x" * 1100)

    assert len(sizes) == 1
    assert len(longer) == sizes.pop() + manifest.PAD_BLOCK


async def test_manifest_padded_sizes() -> None:
    for json_size, total in ((0, 1024), (1020, 1024), (1021, 2048), (2044, 2048)):
        assert manifest.padded_size(json_size) == total


# The worked example of docs/format.md --------------------------------------


def _format_doc() -> Path:
    """docs/format.md, or where SEALPOST_FORMAT_DOC says (the Pyodide host)."""
    override = os.environ.get("SEALPOST_FORMAT_DOC")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "docs" / "format.md"


def _doc_vector() -> dict[str, str]:
    """The ``name: value`` lines of the doc's ```vector block."""
    text = _format_doc().read_text(encoding="utf-8")
    start = text.index("```vector\n") + len("```vector\n")
    block = text[start : text.index("```", start)]
    values: dict[str, str] = {}
    name = ""
    for line in block.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line[0].isspace():
            values[name] += line.strip()
        else:
            name, _, value = line.partition(":")
            assert name not in values, f"duplicate vector entry {name}"
            values[name] = value.strip()
    return values


async def test_format_doc_vector_recomputes() -> None:
    doc = _doc_vector()
    h = {k: v for k, v in doc.items() if not v.startswith('"')}

    def hexed(name: str) -> bytes:
        return bytes.fromhex(h.pop(name))

    def text(name: str) -> str:
        value = json.loads(doc[name])
        assert isinstance(value, str)
        return value

    link_secret = hexed("link_secret")
    share_key = hexed("share_key")
    files = [
        (
            text(f"file{i}_name"),
            text(f"file{i}_type"),
            text(f"file{i}_data").encode(),
            hexed(f"file{i}_key"),
            hexed(f"file{i}_salt"),
        )
        for i in range(2)
    ]
    expires_in = int(h.pop("expires_in"))
    max_downloads = int(h.pop("max_downloads"))
    sender = await share.ShareSender.create(
        link_secret=link_secret,
        share_key=share_key,
        test_stanza_salt=hexed("stanza_salt"),
    )
    for name, media_type, data, key, _ in files:
        sender.add_file(name, len(data), media_type, test_key=key)
    header = await sender.seal_header()
    blobs = [
        await _encrypt(sender, i, data, salt=salt)
        for i, (_, _, data, _, salt) in enumerate(files)
    ]
    sealed = await sender.seal_manifest(
        text("message"),
        expires_in=expires_in,
        max_downloads=max_downloads,
        test_salt=hexed("manifest_salt"),
    )
    recipient = await _open(link_secret, sealed)
    salt = header[SALT_AT:WRAPPED_AT]
    hkdf = backend().hkdf_sha256
    plaintext = await chunked.decrypt(
        await manifest.derive_key(share_key),
        manifest.context(recipient.header_hash),
        sealed[len(header) :],
    )

    assert json.loads(doc["fragment"]) == sender.fragment
    assert hexed("link_wrap_key") == await hkdf(
        link_secret, salt=salt, info=envelope.LINK_LABEL, length=32
    )
    assert hexed("header") == header
    assert hexed("header_hash") == recipient.header_hash
    assert hexed("manifest_key") == await manifest.derive_key(share_key)
    assert hexed("claim_key") == recipient.claim_proof
    assert hexed("claim_verifier") == sender.claim_verifier
    assert hexed("manifest_context") == manifest.context(recipient.header_hash)
    json_size = int.from_bytes(plaintext[:4], "big")
    assert hexed("manifest_json") == plaintext[4 : 4 + json_size]
    assert hexed("manifest_ciphertext") == sealed[len(header) :]
    for i in range(2):
        context = share.file_context(recipient.header_hash, i)
        assert hexed(f"file{i}_context") == context
        assert hexed(f"file{i}_ciphertext") == blobs[i]
        assert await _decrypt(recipient, i, blobs[i]) == files[i][2]
    assert h == {}, f"vector entries nobody checked: {sorted(h)}"
    assert recipient.manifest.message == text("message")


# Tampering ------------------------------------------------------------------


async def test_tamper_every_envelope_byte() -> None:
    sender, sealed, _ = await _share([("a", b"x")])

    for offset in range(len(sealed)):
        await _raises(
            (FormatError, DecryptionError),
            lambda o=offset: _open(sender.link_secret, _flip(sealed, o)),
        )


async def test_tamper_stanza_salt() -> None:
    sender, sealed, _ = await _two_file_share()

    tampered = _flip(sealed, SALT_AT)

    await _raises(DecryptionError, lambda: _open(sender.link_secret, tampered))


async def test_tamper_wrapped_key() -> None:
    sender, sealed, _ = await _two_file_share()

    for offset in (WRAPPED_AT, HEADER_SIZE - 1):
        tampered = _flip(sealed, offset)
        await _raises(DecryptionError, lambda t=tampered: _open(sender.link_secret, t))


async def test_tamper_stanza_type() -> None:
    sender, sealed, _ = await _two_file_share()

    for stanza_type in (0x00, envelope.STANZA_HPKE, 0xFF):
        tampered = bytearray(sealed)
        tampered[STANZA_AT] = stanza_type
        # Now a stanza nobody here can open: skipped, and none is left.
        await _raises(
            DecryptionError, lambda t=bytes(tampered): _open(sender.link_secret, t)
        )
    # A known type with another type's body size is refused before any
    # decryption (the code stanza is 74 bytes, a link stanza 64).
    tampered = bytearray(sealed)
    tampered[STANZA_AT] = envelope.STANZA_CODE
    await _raises(FormatError, lambda t=bytes(tampered): _open(sender.link_secret, t))


async def test_tamper_header_count() -> None:
    sender, sealed, _ = await _two_file_share()
    count_at = len(envelope.MAGIC) + 1

    for count in (0, 17, 255):
        tampered = bytearray(sealed)
        tampered[count_at] = count
        await _raises(
            FormatError, lambda t=bytes(tampered): _open(sender.link_secret, t)
        )
    tampered[count_at] = 2
    await _raises(
        (FormatError, DecryptionError),
        lambda t=bytes(tampered): _open(sender.link_secret, t),
    )


async def test_tamper_manifest_byte() -> None:
    sender, sealed, _ = await _two_file_share()

    # In the manifest's salt, its commitment, and its only chunk.
    for offset in (HEADER_SIZE, HEADER_SIZE + 30, HEADER_SIZE + 60, len(sealed) - 1):
        tampered = _flip(sealed, offset)
        await _raises(DecryptionError, lambda t=tampered: _open(sender.link_secret, t))


async def test_tamper_wrong_link_secret() -> None:
    _, sealed, _ = await _two_file_share()
    other = await share.ShareSender.create()

    await _raises(DecryptionError, lambda: _open(other.link_secret, sealed))
    await _raises(ParameterError, lambda: _open(bytes(31), sealed))


async def test_tamper_truncated_envelope() -> None:
    sender, sealed, _ = await _two_file_share()

    for size in (len(sealed) - 1, len(sealed) - 16, HEADER_SIZE + 56 + 16):
        await _raises(
            DecryptionError, lambda s=size: _open(sender.link_secret, sealed[:s])
        )
    for size in (0, 5, envelope.PREAMBLE_SIZE, HEADER_SIZE - 1, HEADER_SIZE):
        await _raises(FormatError, lambda s=size: _open(sender.link_secret, sealed[:s]))
    await _raises(
        FormatError,
        lambda: _open(sender.link_secret, sealed[: HEADER_SIZE + 56 + 15]),
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
            lambda e=extra: _open(sender.link_secret, sealed + bytes(e)),
        )


async def test_tamper_stanza_with_wrong_length() -> None:
    sender, sealed, _ = await _two_file_share()
    body = sealed[SALT_AT:HEADER_SIZE]
    rest = sealed[HEADER_SIZE:]

    for new_body in (body[:-1], body + b"\x00"):
        stanza = bytes([envelope.STANZA_LINK]) + len(new_body).to_bytes(2, "big")
        tampered = sealed[:STANZA_AT] + stanza + new_body + rest
        await _raises(FormatError, lambda t=tampered: _open(sender.link_secret, t))


async def test_tamper_unknown_version() -> None:
    sender, sealed, _ = await _two_file_share()

    for version in (0, 2, 255):
        tampered = bytearray(sealed)
        tampered[len(envelope.MAGIC)] = version
        exc = await _raises(
            FormatError, lambda t=bytes(tampered): _open(sender.link_secret, t)
        )
        assert "version" in str(exc)


async def test_tamper_bad_magic() -> None:
    sender, sealed, _ = await _two_file_share()

    for offset in range(len(envelope.MAGIC)):
        exc = await _raises(
            FormatError,
            lambda o=offset: _open(sender.link_secret, _flip(sealed, o)),
        )
        assert "not a sealpost envelope" in str(exc)


async def test_tamper_oversized_header() -> None:
    sender, sealed, _ = await _two_file_share()
    big = bytes([0x7F]) + (0xFFFF).to_bytes(2, "big") + bytes(0xFFFF)
    preamble = envelope.MAGIC + bytes([envelope.VERSION, 2])

    # Two stanzas whose lengths add up past the 64 KiB header limit.
    tampered = preamble + big + sealed[STANZA_AT:]

    exc = await _raises(FormatError, lambda: _open(sender.link_secret, tampered))
    assert "too large" in str(exc)


async def test_tamper_file_blob_swapped_between_indices() -> None:
    data = _pattern(CHUNK + 3, 9)
    sender, sealed, blobs = await _share([("a", data), ("b", data)])
    recipient = await _open(sender.link_secret, sealed)

    assert await _decrypt(recipient, 0, blobs[0]) == data
    await _raises(DecryptionError, lambda: _decrypt(recipient, 0, blobs[1]))
    await _raises(DecryptionError, lambda: _decrypt(recipient, 1, blobs[0]))


async def test_tamper_file_from_another_share() -> None:
    # Same link secret, share key, file keys and chunk salts; only the stanza
    # salt (hence the header hash) differs, so only the context binding can
    # catch the swap.
    same = {
        "link_secret": _pattern(32, 100),
        "share_key": _pattern(32, 101),
        "file_keys": [_pattern(32, 102)],
        "file_salts": [_pattern(24, 103)],
    }
    data = _pattern(300, 7)
    first = await _share([("a", data)], stanza_salt=_pattern(16, 1), **same)
    second = await _share([("a", data)], stanza_salt=_pattern(16, 2), **same)
    recipient = await _open(_pattern(32, 100), first[1])
    other = await _open(_pattern(32, 100), second[1])

    assert recipient.manifest.files[0].key == other.manifest.files[0].key
    assert recipient.header_hash != other.header_hash
    assert await _decrypt(other, 0, second[2][0]) == data
    await _raises(DecryptionError, lambda: _decrypt(recipient, 0, second[2][0]))
    # The manifest of one share does not open under the other's header.
    spliced = first[1][:HEADER_SIZE] + second[1][HEADER_SIZE:]
    await _raises(DecryptionError, lambda: _open(_pattern(32, 100), spliced))


async def test_tamper_stanza_rewrapped_with_same_key() -> None:
    # Someone who knows the share key re-wraps it: the header changes, so the
    # manifest's commitment (bound to the header hash) no longer matches.
    link_secret = _pattern(32, 3)
    share_key = _pattern(32, 4)
    _, sealed, _ = await _share(
        [("a", b"x")], link_secret=link_secret, share_key=share_key
    )
    stanza = await envelope.LinkRecipient(link_secret).wrap(share_key)
    tampered = envelope.encode_header([stanza]) + sealed[HEADER_SIZE:]

    await _raises(DecryptionError, lambda: _open(link_secret, tampered))


# Envelope header --------------------------------------------------------------


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


async def test_share_with_unknown_stanza_opens() -> None:
    unknown = [envelope.Stanza(0x42, b"from a later version"), envelope.Stanza(9, b"")]
    link_secret, sealed = await _hand_made_envelope(_valid_document(), stanzas=unknown)

    recipient = await _open(link_secret, sealed)

    assert recipient.manifest.message == "m"
    assert sealed[STANZA_AT] == 0x42


async def test_envelope_no_stanza_opens() -> None:
    share_key = _pattern(32, 6)
    link = await envelope.LinkRecipient(_pattern(32, 5)).wrap(share_key)
    header, _ = envelope.parse_header(
        envelope.encode_header([envelope.Stanza(0x7F, b"x"), link])
    )
    only_unknown, _ = envelope.parse_header(
        envelope.encode_header([envelope.Stanza(0x7F, bytes(64))])
    )

    await _raises(
        DecryptionError,
        lambda: envelope.unwrap_share_key(header, [envelope.LinkIdentity(bytes(32))]),
    )
    await _raises(
        DecryptionError,
        lambda: envelope.unwrap_share_key(
            only_unknown, [envelope.LinkIdentity(_pattern(32, 5))]
        ),
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


async def test_envelope_encode_header_misuse() -> None:
    link = envelope.Stanza(envelope.STANZA_LINK, bytes(envelope.LINK_BODY_SIZE))
    bad = [
        [],
        [link] * 17,
        [envelope.Stanza(256, b"")],
        [envelope.Stanza(-1, b"")],
        [envelope.Stanza(envelope.STANZA_LINK, bytes(63))],
        [envelope.Stanza(0x7F, bytes(0x10000))],
        [envelope.Stanza(0x7F, bytes(0xFFFF))] * 2,
    ]
    for stanzas in bad:
        await _raises(ParameterError, _async(envelope.encode_header, stanzas))
    assert len(envelope.encode_header([link] * 16)) == 10 + 16 * 67


async def test_envelope_link_wrap_misuse() -> None:
    recipient = envelope.LinkRecipient(bytes(32))

    await _raises(ParameterError, lambda: recipient.wrap(bytes(31)))
    await _raises(ParameterError, lambda: recipient.wrap(bytes(32), salt=bytes(15)))
    await _raises(ParameterError, _async(envelope.LinkRecipient, bytes(33)))
    await _raises(
        DecryptionError, lambda: envelope.LinkIdentity(bytes(32)).unwrap(bytes(63))
    )


# Strict manifest validation ---------------------------------------------------


async def _refused(document: bytes | dict[str, object]) -> str:
    link_secret, sealed = await _hand_made_envelope(document)
    exc = await _raises(FormatError, lambda: _open(link_secret, sealed))
    return str(exc)


async def test_manifest_hand_made_valid_document_opens() -> None:
    # The control for the refusals below: the same path with a valid document.
    link_secret, sealed = await _hand_made_envelope(_valid_document())

    recipient = await _open(link_secret, sealed)

    assert recipient.manifest.files[0].name == "a.txt"
    assert recipient.manifest.files[0].size == 3


async def test_manifest_rejects_wrong_version() -> None:
    for version in (0, 3, "1", 1.0, True, None):
        assert "version" in await _refused(_valid_document(v=version))
    document = _valid_document()
    del document["v"]
    assert "version" in await _refused(document)


async def test_manifest_rejects_wrong_keys() -> None:
    document = _valid_document()
    del document["message"]
    assert "keys" in await _refused(document)
    assert "keys" in await _refused(_valid_document(extra=1))
    for entry in (
        {k: v for k, v in _valid_file().items() if k != "type"},
        _valid_file(extra=True),
    ):
        assert "file keys" in await _refused(_valid_document(files=[entry]))
    assert "file keys" in await _refused(_valid_document(files=["a.txt"]))


async def test_manifest_rejects_duplicate_keys() -> None:
    text = json.dumps(_valid_document(), separators=(",", ":")).encode()
    top = text[:-1] + b',"message":"other"}'
    inner = text.replace(b'"size":3', b'"size":3,"size":4')

    assert "duplicate" in await _refused(top)
    assert "duplicate" in await _refused(inner)


async def test_manifest_rejects_wrong_types() -> None:
    bad_documents = [
        _valid_document(message=1),
        _valid_document(message=None),
        _valid_document(files={}),
        _valid_document(expires_in="60"),
        _valid_document(expires_in=60.0),
        _valid_document(expires_in=0),
        _valid_document(max_downloads=True),
        _valid_document(max_downloads=0),
        _valid_document(max_downloads=2**53),
        _valid_document(files=[_valid_file(name=1)]),
        _valid_document(files=[_valid_file(size=-1)]),
        _valid_document(files=[_valid_file(size=3.0)]),
        _valid_document(files=[_valid_file(size=False)]),
        _valid_document(files=[_valid_file(size=manifest.MAX_FILE_SIZE + 1)]),
        _valid_document(files=[_valid_file(type=None)]),
        _valid_document(files=[_valid_file(key=None)]),
    ]
    for document in bad_documents:
        assert (await _refused(document)).startswith("manifest: ")
    assert "json" in await _refused(b"[]")
    assert "json" in await _refused(b"1")


async def test_manifest_rejects_deep_nesting() -> None:
    deep = _valid_document(files=[_valid_file(name=[[["a"]]])])
    brackets_in_strings = _valid_document(
        message='[[[[{{{{ \\" ]]]]', files=[_valid_file(name='"[[[[\\')]
    )

    assert "nested" in await _refused(deep)
    assert "nested" in await _refused(b"[" * 100_000 + b"]" * 100_000)
    link_secret, sealed = await _hand_made_envelope(brackets_in_strings)
    recipient = await _open(link_secret, sealed)
    assert recipient.manifest.message == '[[[[{{{{ \\" ]]]]'


async def test_manifest_rejects_bad_file_keys() -> None:
    good = b64url_encode(bytes(32))
    for key in ("", good[:-1], good + "A", good + "=", "+" + good[1:], good[:-1] + "B"):
        await _refused(_valid_document(files=[_valid_file(key=key)]))


async def test_manifest_rejects_invalid_json() -> None:
    text = json.dumps(_valid_document(), separators=(",", ":")).encode()
    bad = [
        b"",
        text[:-1],
        text + b"x",
        b"\xef\xbb\xbf" + text,
        text.replace(b'"m"', b'"\xff"'),
        text.replace(b'"size":3', b'"size":NaN'),
        text.replace(b'"size":3', b'"size":Infinity'),
        text.replace(b'"size":3', b'"size":' + b"9" * 5000),
        text.replace(b'"m"', b'"\\ud800"'),
    ]
    for document in bad:
        assert (await _refused(document)).startswith("manifest: ")


async def test_manifest_rejects_bad_length_and_padding() -> None:
    text = json.dumps(_valid_document(), separators=(",", ":")).encode()
    prefix = len(text).to_bytes(4, "big")
    padding = bytes(manifest.padded_size(len(text)) - 4 - len(text))
    link_secret = _pattern(32, "hand-made link")
    bad = [
        prefix + text,  # no padding
        prefix + text + padding + bytes(1024),  # a padding block too many
        prefix + text + padding[:-1] + b"\x01",  # non-zero padding
        (len(text) - 1).to_bytes(4, "big") + text + padding,  # short length
        (5000).to_bytes(4, "big") + text + padding,  # length past the end
        (2**32 - 1).to_bytes(4, "big") + text + padding,
    ]
    for plaintext in bad:
        sealed = await _reseal(plaintext)
        await _raises(FormatError, lambda s=sealed: _open(link_secret, s))


async def _reseal(plaintext: bytes) -> bytes:
    """An envelope whose manifest plaintext is exactly ``plaintext``."""
    link_secret = _pattern(32, "hand-made link")
    share_key = _pattern(32, "hand-made share")
    link = await envelope.LinkRecipient(link_secret).wrap(share_key)
    header = envelope.encode_header([link])
    digest = await envelope.header_hash(header)
    key = await manifest.derive_key(share_key)
    return header + await chunked.encrypt(key, manifest.context(digest), plaintext)


async def test_manifest_rejects_over_limits() -> None:
    long_name = "n" * (manifest.MAX_NAME_SIZE + 1)
    long_type = "t/" + "x" * manifest.MAX_MEDIA_TYPE_LENGTH
    many = [_valid_file()] * (manifest.MAX_FILES + 1)
    huge = _valid_file(size=manifest.MAX_FILE_SIZE)

    assert "too long" in await _refused(
        _valid_document(files=[_valid_file(name=long_name)])
    )
    assert "too long" in await _refused(
        _valid_document(files=[_valid_file(type=long_type)])
    )
    assert "too many" in await _refused(_valid_document(files=many))
    assert "total" in await _refused(_valid_document(files=[huge, huge, huge]))


async def test_manifest_at_limits_opens() -> None:
    name = "é" * (manifest.MAX_NAME_SIZE // 2)
    huge = _valid_file(size=manifest.MAX_FILE_SIZE, name=name)
    link_secret, sealed = await _hand_made_envelope(_valid_document(files=[huge]))

    recipient = await _open(link_secret, sealed)

    assert recipient.manifest.files[0].name == name
    assert recipient.ciphertext_size(0) <= manifest.MAX_SAFE_INTEGER


async def test_manifest_too_large_is_refused_before_decrypting() -> None:
    sender, sealed, _ = await _two_file_share()
    size = manifest.MAX_PLAINTEXT_SIZE + 1
    fake = sealed[:HEADER_SIZE] + bytes(chunked.ciphertext_size(size))

    exc = await _raises(FormatError, lambda: _open(sender.link_secret, fake))

    assert "too large" in str(exc)


# Sender misuse ----------------------------------------------------------------


async def test_share_sender_misuse() -> None:
    sender = await share.ShareSender.create()

    for size in (-1, 1.5, True, None, manifest.MAX_FILE_SIZE + 1):
        await _raises(ParameterError, _async(sender.add_file, "a", size, ""))
    await _raises(ParameterError, _async(sender.add_file, "\ud800", 1, ""))
    await _raises(ParameterError, _async(sender.add_file, None, 1, ""))
    await _raises(ParameterError, _async(sender.add_file, "a", 1, None))
    await _raises(ParameterError, _async(sender.add_file, "a", 1, "t/" + "x" * 254))
    await _raises(
        ParameterError,
        _async(sender.add_file, "é" * (manifest.MAX_NAME_SIZE // 2 + 1), 1, ""),
    )
    await _raises(ParameterError, lambda: sender.file_encryptor(0))
    sender.add_file("a", 1, "")
    await _raises(ParameterError, lambda: sender.file_encryptor(0, test_salt=bytes(23)))
    await _raises(ParameterError, lambda: sender.file_encryptor(1))
    for settings in ({"expires_in": 0}, {"max_downloads": 0}, {"expires_in": 1.0}):
        values = {"expires_in": 1, "max_downloads": 1, **settings}
        await _raises(ParameterError, lambda v=values: sender.seal_manifest("m", **v))
    await _raises(
        ParameterError,
        lambda: sender.seal_manifest("\ud800", expires_in=1, max_downloads=1),
    )
    await _raises(
        ParameterError,
        lambda: sender.seal_manifest(b"m", expires_in=1, max_downloads=1),
    )
    await sender.seal_manifest("m", expires_in=1, max_downloads=1)
    await _raises(
        ParameterError, lambda: sender.seal_manifest("m", expires_in=1, max_downloads=1)
    )
    await _raises(ParameterError, _async(sender.add_file, "b", 1, ""))


async def test_share_sender_rejects_bad_injected_secrets() -> None:
    for values in (
        {"link_secret": bytes(31)},
        {"share_key": bytes(33)},
        {"test_stanza_salt": bytes(15)},
        {"link_secret": "0" * 32},
    ):
        await _raises(ParameterError, lambda v=values: share.ShareSender.create(**v))
    sender = await share.ShareSender.create()
    await _raises(
        ParameterError, _async(sender.add_file, "a", 1, "", test_key=bytes(1))
    )


async def test_share_sender_message_over_limit() -> None:
    sender = await share.ShareSender.create()
    message = "x" * (manifest.MAX_MESSAGE_SIZE + 1)

    exc = await _raises(
        ParameterError,
        lambda: sender.seal_manifest(message, expires_in=1, max_downloads=1),
    )

    assert "message" in str(exc)
