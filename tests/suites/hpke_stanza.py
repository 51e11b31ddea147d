"""HPKE stanzas, multi-recipient shares and the reply key, in both runtimes.

A share carries an optional link or code stanza plus up to 15 HPKE stanzas;
each recipient key opens its own. The stanza's exact layout and sizes, its
tampering and length cases, unknown suites, the sender's refusals, manifest
version 2 (``reply_to``) and the HPKE vector block of docs/format.md.
"""

from __future__ import annotations

import json
from typing import Any

from pyodide_crypto import codes, envelope, hpke, hpke_stanza, kdf, keys, share
from pyodide_crypto.errors import DecryptionError, FormatError, ParameterError
from pyodide_crypto.reply import ReplyTo

from .envelope_share import (
    _format_doc,
    _hand_made_envelope,
    _pattern,
    _raises,
    _refused,
    _valid_document,
)

X25519_BODY = 6 + 8 + 32 + 48
P256_BODY = 6 + 8 + 65 + 48


async def _pairs() -> tuple[keys.KeyPair, keys.KeyPair]:
    return (
        await keys.KeyPair.generate(keys.SUITE_X25519),
        await keys.KeyPair.generate(keys.SUITE_P256),
    )


async def _sealed_share(
    recipients: list[keys.PublicKey],
    *,
    link: bool = True,
    reply_to: ReplyTo | None = None,
) -> tuple[share.ShareSender, bytes]:
    sender = await share.ShareSender.create(recipients=recipients, link=link)
    sender.add_file("a.txt", 0, "text/plain")
    sealed = await sender.seal_manifest(
        "bonjour", expires_in=60, max_downloads=1, reply_to=reply_to
    )
    return sender, sealed


async def test_hpke_stanza_share_opens_for_each_recipient() -> None:
    x, p = await _pairs()
    sender, sealed = await _sealed_share([x.public, p.public])
    header, _ = envelope.split_envelope(sealed)

    assert [s.type for s in header.stanzas] == [1, 3, 3]
    assert [len(s.body) for s in header.stanzas[1:]] == [X25519_BODY, P256_BODY]
    for pair in (x, p):
        opened = await share.ShareRecipient.open_with_keys(sealed, [pair])
        assert opened.manifest.message == "bonjour"
        assert (
            opened.claim_proof
            == (await share.ShareRecipient.open(sender.link_secret, sealed)).claim_proof
        )
    other = await keys.KeyPair.generate()
    await _raises(
        DecryptionError, lambda: share.ShareRecipient.open_with_keys(sealed, [other])
    )


async def test_hpke_stanza_body_layout_and_info() -> None:
    pair = await keys.KeyPair.generate()
    share_key = _pattern(32, "share key")
    stanza = await hpke_stanza.HpkeRecipient(pair.public).wrap(share_key)
    body = stanza.body
    suite = keys.SUITES[keys.SUITE_X25519]

    assert stanza.type == envelope.STANZA_HPKE
    assert len(body) == X25519_BODY == hpke_stanza.body_size(keys.SUITE_X25519)
    assert body[:6] == bytes.fromhex("002000010002")
    assert body[6:14] == (await keys.fingerprint(pair.public))[:8]
    info = b"sealpost.v1/hpke-stanza\x00" + body[:14]
    opened = await hpke.open(suite, pair.private, body[14:46], info, b"", body[46:])
    assert opened == share_key
    await _raises(
        DecryptionError,
        lambda: hpke.open(suite, pair.private, body[14:46], info[:-1], b"", body[46:]),
    )


async def test_hpke_stanza_tampered_byte_anywhere_fails() -> None:
    x, _ = await _pairs()
    identity = hpke_stanza.HpkeIdentity(x)
    stanza = await hpke_stanza.HpkeRecipient(x.public).wrap(bytes(32))

    assert await identity.unwrap(stanza.body) == bytes(32)
    for at in range(len(stanza.body)):
        bad = bytearray(stanza.body)
        bad[at] ^= 0x01
        await _raises(DecryptionError, lambda b=bytes(bad): identity.unwrap(b))


async def test_hpke_stanza_tampered_in_envelope_fails() -> None:
    x, p = await _pairs()
    _, sealed = await _sealed_share([x.public, p.public], link=False)
    header, _ = envelope.split_envelope(sealed)
    start = envelope.PREAMBLE_SIZE + envelope.STANZA_PREFIX_SIZE

    # enc, then sealed key, of the first stanza; and a byte of the second.
    for at in (start + 14, start + 50, len(header.raw) - 1):
        bad = bytearray(sealed)
        bad[at] ^= 0x80
        for pair in (x, p):
            await _raises(
                DecryptionError,
                lambda b=bytes(bad), k=pair: share.ShareRecipient.open_with_keys(
                    b, [k]
                ),
            )


async def test_hpke_stanza_wrong_length_is_a_format_error() -> None:
    x, _ = await _pairs()
    stanza = await hpke_stanza.HpkeRecipient(x.public).wrap(bytes(32))
    for body in (stanza.body[:-1], stanza.body + b"\x00", stanza.body[:5]):
        raw = envelope.MAGIC + bytes([1, 1, 3]) + len(body).to_bytes(2, "big") + body
        try:
            envelope.parse_header(raw)
        except FormatError as exc:
            assert "bad stanza size for type 3" in str(exc)
        else:
            raise AssertionError(f"{len(body)}-byte HPKE stanza accepted")
        await _raises(
            ParameterError,
            lambda b=body: _async_encode([envelope.Stanza(3, b)]),
        )


async def _async_encode(stanzas: list[envelope.Stanza]) -> bytes:
    return envelope.encode_header(stanzas)


async def test_hpke_stanza_of_unknown_suite_is_skipped() -> None:
    # A later suite (say a post-quantum KEM) with its own size: skipped.
    future = envelope.Stanza(3, bytes.fromhex("004100010002") + bytes(1200))
    link_secret, sealed = await _hand_made_envelope(_valid_document(), stanzas=[future])

    opened = await share.ShareRecipient.open(link_secret, sealed)

    assert opened.manifest.message == "m"


async def test_hpke_stanza_identity_ignores_other_keys_and_suites() -> None:
    x, p = await _pairs()
    to_p = await hpke_stanza.HpkeRecipient(p.public).wrap(bytes(32))

    await _raises(
        DecryptionError, lambda: hpke_stanza.HpkeIdentity(x).unwrap(to_p.body)
    )
    assert await hpke_stanza.HpkeIdentity(p).unwrap(to_p.body) == bytes(32)


async def test_hpke_only_share_has_no_link() -> None:
    x, _ = await _pairs()
    sender, sealed = await _sealed_share([x.public], link=False)
    header, _ = envelope.split_envelope(sealed)

    assert [s.type for s in header.stanzas] == [3]
    await _raises(ParameterError, lambda: _fragment(sender))
    await _raises(
        DecryptionError, lambda: share.ShareRecipient.open(sender.link_secret, sealed)
    )
    opened = await share.ShareRecipient.open_with(sealed, [hpke_stanza.HpkeIdentity(x)])
    assert opened.manifest.files[0].name == "a.txt"


async def _fragment(sender: share.ShareSender) -> str:
    return sender.fragment


async def test_hpke_code_share_with_recipients() -> None:
    x, _ = await _pairs()
    sender = await share.ShareSender.create(
        code="ABCDE-FGHJK", kdf_params=kdf.FLOOR, recipients=[x.public]
    )
    sealed = await sender.seal_manifest("m", expires_in=60, max_downloads=1)
    header, _ = envelope.split_envelope(sealed)

    assert [s.type for s in header.stanzas] == [2, 3]
    await _raises(
        DecryptionError, lambda: share.ShareRecipient.open(sender.link_secret, sealed)
    )
    secret = await codes.CodeSecret.derive(
        sender.link_secret,
        "abcde fghjk",
        salt=sender.code_secret.salt,
        params=kdf.FLOOR,
    )
    by_code = await share.ShareRecipient.open(
        sender.link_secret, sealed, code_secret=secret
    )
    by_key = await share.ShareRecipient.open_with_keys(sealed, [x])
    assert by_code.header_hash == by_key.header_hash


async def test_hpke_sender_refusals() -> None:
    x, _ = await _pairs()
    many = [(await keys.KeyPair.generate()).public for _ in range(16)]

    async def create(**options: Any) -> share.ShareSender:
        return await share.ShareSender.create(**options)

    await _raises(ParameterError, lambda: create(link=False))
    await _raises(ParameterError, lambda: create(recipients=[x.public, x.public]))
    await _raises(ParameterError, lambda: create(recipients=many))
    await _raises(ParameterError, lambda: create(recipients=[b"key"]))
    await _raises(
        ParameterError, lambda: create(code="ABCDE", link=False, recipients=[x.public])
    )
    sender = await create(recipients=many[:15])
    assert len(envelope.parse_header(await sender.seal_header())[0].stanzas) == 16
    sender = await create(recipients=many[:15], link=False)
    assert len(envelope.parse_header(await sender.seal_header())[0].stanzas) == 15
    low_order = keys.PublicKey(keys.SUITE_X25519, bytes(32))
    sender = await create(recipients=[low_order])
    await _raises(ParameterError, sender.seal_header)


# Manifest version 2: the reply key -----------------------------------------


async def test_manifest_reply_key_round_trip_and_versions() -> None:
    x, p = await _pairs()
    address = ReplyTo(p.public, "account", "acct_42-Z")
    sender, sealed = await _sealed_share([], reply_to=address)
    opened = await share.ShareRecipient.open(sender.link_secret, sealed)
    plain_sender, plain = await _sealed_share([])
    plain_opened = await share.ShareRecipient.open(plain_sender.link_secret, plain)

    assert opened.manifest.reply_to == address
    assert opened.manifest.reply_to.key == p.public
    assert plain_opened.manifest.reply_to is None
    del x


def test_reply_address_refuses_what_no_server_gives_out() -> None:
    key = keys.PublicKey("x25519", bytes(range(1, 33)))
    for kind, ident in (("box", "abc"), ("account", ""), ("reply", "a/b")):
        try:
            ReplyTo(key, kind, ident)
        except ParameterError:
            continue
        raise AssertionError(f"accepted {kind} {ident!r}")


async def test_manifest_v2_hand_made_documents() -> None:
    x = await keys.KeyPair.generate()
    to = {"kind": "reply", "id": "R3plyBox"}
    reply = {**x.public.to_json(), "to": to}
    link_secret, sealed = await _hand_made_envelope(
        _valid_document(v=2, reply_to=reply)
    )

    opened = await share.ShareRecipient.open(link_secret, sealed)

    assert opened.manifest.reply_to == ReplyTo(x.public, "reply", "R3plyBox")
    assert "keys" in await _refused(_valid_document(v=2))
    assert "keys" in await _refused(_valid_document(v=1, reply_to=reply))
    for bad in (
        {"suite": "x25519"},
        {"suite": "x448", "key": reply["key"]},
        {"suite": "x25519", "key": reply["key"][:-1]},
        {"suite": "p256", "key": reply["key"]},
        {**reply, "extra": 1},
        x.public.to_json(),
        {**reply, "to": {"kind": "box", "id": "R3plyBox"}},
        {**reply, "to": {"kind": "reply", "id": ""}},
        {**reply, "to": {"kind": "reply", "id": "R3plyBox", "x": 1}},
        {**reply, "to": "R3plyBox"},
        "key",
    ):
        assert "reply_to" in await _refused(_valid_document(v=2, reply_to=bad))


# The HPKE vector block of docs/format.md -----------------------------------


def _doc_block(tag: str) -> dict[str, str]:
    text = _format_doc().read_text(encoding="utf-8")
    fence = f"```{tag}\n"
    start = text.index(fence) + len(fence)
    values: dict[str, str] = {}
    name = ""
    for line in text[start : text.index("```", start)].splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line[0].isspace():
            values[name] += line.strip()
        else:
            name, _, value = line.partition(":")
            assert name not in values, f"duplicate vector entry {name}"
            values[name] = value.strip()
    return values


async def test_format_doc_hpke_vector_recomputes() -> None:
    doc = _doc_block("vector-hpke")

    def hexed(name: str) -> bytes:
        return bytes.fromhex(doc.pop(name))

    share_key = hexed("share_key")
    recipients = []
    seeds = []
    for name in ("x25519", "p256"):
        kem = keys.SUITES[name].kem
        private, public = await hpke.derive_key_pair(kem, hexed(f"{name}_ikm"))
        pair = await keys.KeyPair.from_private(name, private)
        assert hexed(f"{name}_private") == private
        assert hexed(f"{name}_public") == public == pair.public.key
        digest = await keys.fingerprint(pair.public)
        assert hexed(f"{name}_fingerprint") == digest
        assert hexed(f"{name}_key_id") == await keys.key_id(pair.public)
        assert json.loads(doc.pop(f"{name}_fingerprint_text")) == (
            keys.fingerprint_text(digest)
        )
        assert json.loads(doc.pop(f"{name}_fingerprint_fragment")) == (
            keys.fingerprint_fragment(digest)
        )
        recipients.append(pair)
        seeds.append(hexed(f"{name}_ephemeral_ikm"))
    sender = await share.ShareSender.create(
        share_key=share_key,
        recipients=[pair.public for pair in recipients],
        link=False,
        test_hpke_ikm=seeds,
    )
    header = await sender.seal_header()
    parsed, _ = envelope.parse_header(header)

    assert hexed("header") == header
    assert hexed("x25519_stanza") == parsed.stanzas[0].body
    assert hexed("p256_stanza") == parsed.stanzas[1].body
    for pair, stanza in zip(recipients, parsed.stanzas, strict=True):
        assert await hpke_stanza.HpkeIdentity(pair).unwrap(stanza.body) == share_key
    assert doc == {}, f"vector entries nobody checked: {sorted(doc)}"
