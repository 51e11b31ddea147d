"""Folders in the manifest: relative paths, empty folders, hostile paths.

A sender refuses paths that could escape a target folder; a reader
neutralises whatever a hostile sender put there anyway (docs/format.md).
"""

from __future__ import annotations

import json

from pyodide_crypto import chunked, envelope, manifest, share
from pyodide_crypto.errors import FormatError, ParameterError


async def _raises(exc_type, coro) -> None:
    try:
        await coro
    except exc_type:
        return
    raise AssertionError(f"did not raise {exc_type}")


def _raises_now(exc_type, fn, *args) -> None:
    try:
        fn(*args)
    except exc_type:
        return
    raise AssertionError(f"{fn.__name__}{args!r} did not raise {exc_type}")


async def _forged(document: dict) -> tuple[bytes, bytes]:
    """An envelope whose manifest JSON is written by hand, as a hostile sender
    would, bypassing every sender-side check. Returns (link secret, envelope)."""
    sender = await share.ShareSender.create()
    header = await sender.seal_header()
    text = json.dumps(document, ensure_ascii=False, sort_keys=True).encode()
    total = manifest.padded_size(len(text))
    plaintext = len(text).to_bytes(4, "big") + text + bytes(total - 4 - len(text))
    key = await manifest.derive_key(sender._share_key)
    ctx = manifest.context(await envelope.header_hash(header))
    return sender.link_secret, header + await chunked.encrypt(key, ctx, plaintext)


def _doc(names: list[str], dirs: list[str] | None = None) -> dict:
    document = {
        "v": 1,
        "message": "",
        "files": [
            {"name": n, "size": 0, "type": "text/plain", "key": "A" * 43} for n in names
        ],
        "expires_in": 60,
        "max_downloads": 1,
    }
    if dirs is not None:
        document["dirs"] = dirs
    return document


async def test_tree_round_trip_with_empty_folders() -> None:
    names = [
        "exam/series 1/img001.dcm",
        "exam/series 1/img002.dcm",
        "exam/Été/🤖 notes.txt",
        "exam/compte-rendu.pdf",
        "top.txt",
    ]
    sender = await share.ShareSender.create()
    for name in names:
        sender.add_file(name, 0, "application/octet-stream")
    sender.add_dir("exam/empty")
    sender.add_dir("exam/series 2/still empty")
    sealed = await sender.seal_manifest("", expires_in=60, max_downloads=1)
    recipient = await share.ShareRecipient.open(sender.link_secret, sealed)
    assert [f.name for f in recipient.manifest.files] == names
    assert recipient.manifest.dirs == ["exam/empty", "exam/series 2/still empty"]


async def test_share_without_folders_has_no_dirs_key() -> None:
    sender = await share.ShareSender.create()
    sender.add_file("a.txt", 0, "text/plain")
    plain = manifest.encode(
        manifest.Manifest("", [sender._file(0)], expires_in=1, max_downloads=1)
    )
    assert b'"dirs"' not in plain


async def test_sender_refuses_escaping_paths() -> None:
    sender = await share.ShareSender.create()
    for bad in [
        "../x",
        "a/../../x",
        "/etc/passwd",
        "a//b",
        "a/",
        ".",
        "..",
        "",
        "C:/x",
        "c:evil.txt",
        "a\\b",
        "nul\x00.txt",
        "a/\x1fb",
        "/".join(["d"] * 33),
    ]:
        _raises_now(ParameterError, sender.add_file, bad, 0, "")
        _raises_now(ParameterError, sender.add_dir, bad)


async def test_sender_refuses_clashing_tree() -> None:
    for files, dirs in [
        (["a", "a/b"], []),
        (["x/y"], ["x/y"]),
    ]:
        sender = await share.ShareSender.create()
        for name in files:
            sender.add_file(name, 0, "")
        for d in dirs:
            sender.add_dir(d)
        await _raises(
            ParameterError,
            sender.seal_manifest("", expires_in=1, max_downloads=1),
        )


async def test_reader_neutralises_hostile_paths() -> None:
    cases = {
        "../../etc/passwd": "__/__/etc/passwd",
        "/abs": "_/abs",
        "a//b": "a/_/b",
        "a\\b": "a_b",
        "..\\..\\win.ini": ".._.._win.ini",
        "C:evil": "C_evil",
        "c:\\windows": "c__windows",
        "..": "__",
        ".": "_",
        "": "_",
        "x\x00y": "x_y",
        "tab\there": "tab_here",
        "del\x7f\x85": "del__",
        "r\u202etxt.exe": "r_txt.exe",
        "iso\u2066late\u2069": "iso_late_",
        "line\u2028para\u2029": "line_para_",
        "...": "...",
        "a:b.txt": "a_b.txt",
        "note: 12:30.txt": "note: 12:30.txt",
        "ok/fine.txt": "ok/fine.txt",
    }
    link, sealed = await _forged(_doc(list(cases), dirs=["../up", "/root", "ok"]))
    recipient = await share.ShareRecipient.open(link, sealed)
    assert [f.name for f in recipient.manifest.files] == list(cases.values())
    assert recipient.manifest.dirs == ["__/up", "_/root", "ok"]
    # Neutralising twice changes nothing (clients may apply it again).
    for safe in cases.values():
        assert manifest.safe_path(safe) == safe
        for segment in safe.split("/"):
            assert segment not in ("", ".", "..")


async def test_reader_refuses_malformed_dirs() -> None:
    for dirs in [[], "a", [1], ["/".join(["d"] * 40)]]:
        link, sealed = await _forged(_doc(["a"], dirs=dirs))
        await _raises(FormatError, share.ShareRecipient.open(link, sealed))
