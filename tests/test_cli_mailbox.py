"""``sealpost send --to``, ``inbox`` and ``open``: HPKE stanzas end to end.

A real server subprocess; staff accounts are activated through the CLI and
boxes get real keys (mailbox_support.py). Each test makes its own accounts
and boxes.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import Server, digest, listing, make_file, running_server, sealpost
from mailbox_support import (
    Staff,
    account_field,
    inbox,
    make_box,
    new_staff,
    rotate_box,
    set_account_field,
)

from client.cli import errors
from pyodide_crypto import envelope, hpke_stanza, keys

#: A combining accent, a tab and a ZWJ emoji in a French message.
MESSAGE = "Résultats du patient e\u0301 👩\u200d⚕️\tà relire"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # Anonymous deposits all come from 127.0.0.1: a roomy budget keeps the
    # tests independent of each other (the limit is the server's tests').
    env = {"SEALPOST_DEPOSIT_RATE_COUNT": "1000"}
    with running_server(tmp_path_factory.mktemp("cli-mailbox"), env) as s:
        yield s


@pytest.fixture(scope="module")
def admin(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Staff:
    return new_staff(server, tmp_path_factory.mktemp("admin"), "admin", role="admin")


def send(server: Server, *args: str) -> tuple[int, str, str]:
    result = sealpost("send", "--server", server.base_url, *args)
    return result.returncode, result.stdout, result.stderr


def open_share(
    server: Server, staff: Staff, share_id: str, out_dir: Path
) -> tuple[int, str, str]:
    result = sealpost(
        "open",
        share_id,
        "--server",
        server.base_url,
        *staff.as_args(),
        "-o",
        str(out_dir),
    )
    return result.returncode, result.stdout, result.stderr


def sources(folder: Path) -> list[Path]:
    return [
        make_file(folder, "compte-rendu é.pdf", os.urandom(40_000)),
        make_file(folder, "vide.txt", b""),
        make_file(folder, "irm 🧠.dcm", os.urandom(16_385)),
    ]


def assert_same_files(out_dir: Path, originals: list[Path]) -> None:
    assert listing(out_dir) == sorted(p.name for p in originals)
    for original in originals:
        assert digest(out_dir / original.name) == digest(original), original.name


def manifest_blob(data_dir: Path, share_id: str) -> Path:
    found = [p for p in data_dir.rglob("manifest") if p.parent.name == share_id]
    assert len(found) == 1, found
    return found[0]


def test_cli_send_to_a_staff_mailbox_opens_byte_identical(
    server: Server, tmp_path: Path
) -> None:
    ana, bob = new_staff(server, tmp_path), new_staff(server, tmp_path)
    files = sources(tmp_path / "in")

    status, out, err = send(
        server, *ana.as_args(), "--to", bob.handle, "-m", MESSAGE, *map(str, files)
    )

    assert status == 0, err
    share_id = out.strip()
    assert "/s/" not in out  # recipients only: no link was made
    assert (
        f"to {bob.handle} (Name of {bob.handle}): key fingerprint {bob.fingerprint}\n"
        in err
    )
    [item] = inbox(server, bob)
    assert item["share_id"] == share_id and item["read"] is False
    assert item["sender"]["handle"] == ana.handle
    assert item["files"] == 3

    status, out, err = open_share(server, bob, share_id, tmp_path / "out")

    assert status == 0, err
    assert out == MESSAGE + "\n"
    assert_same_files(tmp_path / "out", files)
    # The reply key travelled in the manifest: it is Ana's own key.
    assert f"the sender's reply key fingerprint: {ana.fingerprint}\n" in err
    assert inbox(server, bob)[0]["read"] is True


def test_cli_inbox_open_shows_message_and_names_without_a_download(
    server: Server, tmp_path: Path
) -> None:
    ana, bob = new_staff(server, tmp_path), new_staff(server, tmp_path)
    files = sources(tmp_path / "in")
    status, out, err = send(
        server,
        *ana.as_args(),
        "--to",
        bob.handle,
        "-m",
        "ligne un\nligne deux",
        "--downloads",
        "1",
        *map(str, files),
    )
    assert status == 0, err
    hidden = sealpost("inbox", "--server", server.base_url, *bob.as_args())
    assert "ligne un" not in hidden.stdout and "vide.txt" not in hidden.stdout

    shown = sealpost("inbox", "--server", server.base_url, *bob.as_args(), "--open")

    assert shown.returncode == 0, shown.stderr
    assert "    message: ligne un\n" in shown.stdout
    assert "vide.txt" in shown.stdout
    # Peeking counted no download: the one allowed is still there.
    assert open_share(server, bob, out.strip(), tmp_path / "out")[0] == 0


def test_cli_box_with_two_members_both_open_it(
    server: Server, admin: Staff, tmp_path: Path
) -> None:
    ana, bob, carol = (new_staff(server, tmp_path) for _ in range(3))
    slug = make_box(server, admin, [ana, bob])
    files = sources(tmp_path / "in")

    status, out, err = send(
        server,
        *carol.as_args(),
        "--to",
        f"box:{slug}",
        "-m",
        MESSAGE,
        *map(str, files),
    )

    assert status == 0, err
    share_id = out.strip()
    for member in (ana, bob):
        listed = inbox(server, member, "--box", slug)
        assert [i["share_id"] for i in listed] == [share_id]
        assert listed[0]["inbox"] == f"box:{slug}"
        status, out, err = open_share(
            server, member, share_id, tmp_path / member.handle
        )
        assert status == 0, err
        assert out == MESSAGE + "\n"
        assert_same_files(tmp_path / member.handle, files)
    # Carol is no member: the deposit is in none of her inboxes.
    status, _, err = open_share(server, carol, share_id, tmp_path / "carol")
    assert status == errors.EXIT_UNAVAILABLE, err


def test_cli_anonymous_deposit_to_a_box_without_as(
    server: Server, admin: Staff, tmp_path: Path
) -> None:
    ana = new_staff(server, tmp_path)
    slug = make_box(server, admin, [ana])
    files = sources(tmp_path / "in")

    status, out, err = send(
        server, "--to", f"box:{slug}", "-m", "dépôt anonyme", *map(str, files)
    )

    assert status == 0, err
    [item] = inbox(server, ana)
    assert item["sender"] is None and item["share_id"] == out.strip()
    status, message, err = open_share(server, ana, out.strip(), tmp_path / "out")
    assert status == 0, err
    assert message == "dépôt anonyme\n"
    assert "reply key" not in err  # an anonymous depositor gave none
    assert_same_files(tmp_path / "out", files)


def test_cli_send_to_a_handle_needs_as(server: Server, tmp_path: Path) -> None:
    bob = new_staff(server, tmp_path)

    status, _, err = send(server, "--to", bob.handle, "-m", "hello")

    assert status == errors.EXIT_USAGE
    assert "needs --as" in err


def test_cli_to_with_link_opens_both_ways(server: Server, tmp_path: Path) -> None:
    ana, bob = new_staff(server, tmp_path), new_staff(server, tmp_path)
    files = sources(tmp_path / "in")

    status, out, err = send(
        server,
        *ana.as_args(),
        "--to",
        bob.handle,
        "--link",
        "--json",
        *map(str, files),
    )

    assert status == 0, err
    document = json.loads(out)
    assert document["recipients"] == [bob.handle]
    got = sealpost("get", document["link"], "-o", str(tmp_path / "by-link"))
    assert got.returncode == 0, got.stderr
    assert_same_files(tmp_path / "by-link", files)
    assert open_share(server, bob, document["id"], tmp_path / "by-key")[0] == 0
    assert_same_files(tmp_path / "by-key", files)


def test_cli_expect_fingerprint_refuses_a_mismatch(
    server: Server, tmp_path: Path
) -> None:
    ana, bob, carol = (new_staff(server, tmp_path) for _ in range(3))

    status, out, err = send(
        server,
        *ana.as_args(),
        "--to",
        bob.handle,
        "-m",
        "secret",
        "--expect-fingerprint",
        f"{bob.handle}={carol.fingerprint}",
    )

    assert status == errors.EXIT_TAMPERED
    assert out == ""
    assert "does not have the expected fingerprint" in err
    assert inbox(server, bob) == []
    ok, _, err = send(
        server,
        *ana.as_args(),
        "--to",
        bob.handle,
        "-m",
        "secret",
        "--expect-fingerprint",
        f"{bob.handle}={bob.fingerprint.replace(' ', '')}",
    )
    assert ok == 0, err
    assert len(inbox(server, bob)) == 1


def _link_fingerprint(server: Server, staff: Staff) -> str:
    """The 22-character form a deposit link carries, of the stored key."""
    stored = account_field(server, staff.handle, "public_key")["keys"][0]
    digest = asyncio.run(keys.fingerprint(keys.PublicKey.from_json(stored)))
    return keys.fingerprint_fragment(digest)


def test_cli_expect_fingerprint_in_the_link_form(
    server: Server, tmp_path: Path
) -> None:
    ana, bob, eve = (new_staff(server, tmp_path) for _ in range(3))
    base = [*ana.as_args(), "--to", bob.handle, "-m", "hello"]

    wrong = send(
        server,
        *base,
        "--expect-fingerprint",
        f"{bob.handle}={_link_fingerprint(server, eve)}",
    )
    right = send(
        server,
        *base,
        "--expect-fingerprint",
        f"{bob.handle}={_link_fingerprint(server, bob)}",
    )

    assert wrong[0] == errors.EXIT_TAMPERED, wrong[2]
    assert right[0] == 0, right[2]
    assert [item["share_id"] for item in inbox(server, bob)] == [right[1].strip()]


def test_cli_key_substituted_by_the_server_shows_and_is_refused(
    server: Server, tmp_path: Path
) -> None:
    ana, bob, eve = (new_staff(server, tmp_path) for _ in range(3))
    set_account_field(
        server,
        bob.handle,
        "public_key",
        account_field(server, eve.handle, "public_key"),
    )

    status, out, err = send(
        server,
        *ana.as_args(),
        "--to",
        bob.handle,
        "-m",
        "for bob only",
        "--expect-fingerprint",
        f"{bob.handle}={bob.fingerprint}",
    )

    # Ana sees Eve's fingerprint under Bob's name, and nothing is sent.
    assert status == errors.EXIT_TAMPERED
    assert f"key fingerprint {eve.fingerprint}\n" in err
    assert out == "" and inbox(server, eve) == []


def test_cli_box_rotation_old_and_new_deposits(
    server: Server, admin: Staff, tmp_path: Path
) -> None:
    ana, bob = new_staff(server, tmp_path), new_staff(server, tmp_path)
    slug = make_box(server, admin, [ana, bob])
    status, old, err = send(server, "--to", f"box:{slug}", "-m", "before")
    assert status == 0, err

    rotate_box(server, admin, slug, keep=[ana])
    status, new, err = send(server, "--to", f"box:{slug}", "-m", "after")

    assert status == 0, err
    assert "key version 2" in err
    # Ana opens both: the old deposit with the version 1 key she kept.
    for share_id, message in ((old, "before"), (new, "after")):
        status, out, err = open_share(server, ana, share_id.strip(), tmp_path / "a")
        assert (status, out) == (0, message + "\n"), err
    # Bob was removed: the new deposit is not his to open.
    status, _, err = open_share(server, bob, new.strip(), tmp_path / "b")
    assert status == errors.EXIT_UNAVAILABLE, err


def test_cli_tampered_hpke_stanza_fails_closed(server: Server, tmp_path: Path) -> None:
    ana, bob = new_staff(server, tmp_path), new_staff(server, tmp_path)
    source = make_file(tmp_path / "in", "a.bin", os.urandom(5000))
    status, out, err = send(server, *ana.as_args(), "--to", bob.handle, str(source))
    assert status == 0, err
    share_id = out.strip()
    blob = manifest_blob(server.data_dir, share_id)
    data = bytearray(blob.read_bytes())
    # Header: magic, version, count, then the one HPKE stanza (type, length,
    # body); flip a byte of the sealed share key at the end of its body.
    body = len(envelope.MAGIC) + 2 + 3
    assert data[body - 3] == envelope.STANZA_HPKE
    data[body + hpke_stanza.body_size("x25519") - 5] ^= 0x01
    blob.write_bytes(bytes(data))

    status, out, err = open_share(server, bob, share_id, tmp_path / "out")

    assert status == errors.EXIT_TAMPERED
    assert err.startswith("sealpost: error: this share failed verification")
    assert out == ""
    assert listing(tmp_path / "out") == []
    assert inbox(server, bob)[0]["read"] is False


def test_cli_code_does_not_go_with_to(tmp_path: Path) -> None:
    # Recipients open with their keys; a code share's envelope needs the code.
    result = sealpost(
        "send",
        "--server",
        "http://127.0.0.1:9",
        "--to",
        "box:x",
        "--code",
        "K7M2Q-9RTXA",
        "-m",
        "hi",
    )

    assert result.returncode == errors.EXIT_USAGE
    assert "--code" in result.stderr
