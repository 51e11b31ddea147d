"""``sealpost send DIR`` / ``get``: folder trees, and paths that must not escape.

A hostile sender can write any path into a manifest; the hand-made
manifests here bypass every sender-side check, as such a sender would.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cli_support import (
    Server,
    digest,
    listing,
    make_file,
    running_server,
    sealpost,
    send_ok,
)

from client.cli import errors
from pyodide_crypto import chunked, envelope, manifest, share
from pyodide_crypto.encoding import b64url_encode


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("cli-folders-server")) as s:
        yield s


def tree(root: Path) -> dict[str, str]:
    """Every entry below ``root``: files with their digest, folders as "/"."""
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        key = path.relative_to(root).as_posix()
        found[key] = "/" if path.is_dir() else digest(path)
    return found


def make_exam(root: Path) -> Path:
    exam = root / "exam"
    make_file(exam, "compte-rendu é.pdf", b"%PDF-1.7 " + os.urandom(3000))
    make_file(exam / "série 1", "img001.dcm", os.urandom(70_000))
    make_file(exam / "série 1" / "sous-série", "🤖 notes 👩\u200d⚕️.txt", "été".encode())
    make_file(exam / "Été", "vide.txt", b"")
    (exam / "empty").mkdir()
    (exam / "series 2" / "still empty").mkdir(parents=True)
    for number in range(200):
        make_file(exam / "many", f"f{number:03d}.txt", os.urandom(number % 37))
    return exam


def test_cli_folder_tree_round_trip(server: Server, tmp_path: Path) -> None:
    exam = make_exam(tmp_path / "in")
    loose = make_file(tmp_path / "in", "loose.txt", b"beside the folder")

    link = send_ok(server, "--downloads", "2", str(exam) + "/", str(loose))
    result = sealpost("get", link, "-o", str(tmp_path / "out"))

    assert result.returncode == 0, result.stderr
    expected = {"exam": "/", **{f"exam/{k}": v for k, v in tree(exam).items()}}
    expected["loose.txt"] = digest(loose)
    assert tree(tmp_path / "out") == expected
    assert len([k for k in expected if k.startswith("exam/many/")]) == 200

    # A second download into the same folder keeps the collision rule per
    # file, inside each folder.
    again = sealpost("get", link, "-o", str(tmp_path / "out"))

    assert again.returncode == 0, again.stderr
    out = tmp_path / "out"
    assert (out / "exam" / "Été" / "vide (1).txt").read_bytes() == b""
    assert digest(out / "exam" / "many" / "f007 (1).txt") == digest(
        exam / "many" / "f007.txt"
    )
    assert (out / "loose (1).txt").read_bytes() == b"beside the folder"
    assert not (out / "exam (1)").exists()


def test_cli_send_skips_links_and_special_files_with_a_warning(
    server: Server, tmp_path: Path
) -> None:
    folder = tmp_path / "in" / "box"
    make_file(folder, "real.txt", b"real")
    outside = make_file(tmp_path / "secret", "passwords.txt", b"do not send")
    (folder / "link.txt").symlink_to(outside)
    (folder / "linked-folder").symlink_to(outside.parent, target_is_directory=True)
    os.mkfifo(folder / "pipe")

    sent = sealpost("send", "--server", server.base_url, str(folder))
    assert sent.returncode == 0, sent.stderr
    assert "skipped the symbolic link" in sent.stderr
    assert "link.txt" in sent.stderr and "linked-folder" in sent.stderr
    assert "pipe" in sent.stderr

    result = sealpost("get", sent.stdout.strip(), "-o", str(tmp_path / "out"))

    assert result.returncode == 0, result.stderr
    assert tree(tmp_path / "out") == {
        "box": "/",
        "box/real.txt": digest(folder / "real.txt"),
    }


def blob_count(server: Server) -> int:
    return sum(1 for path in server.data_dir.rglob("*") if path.is_file())


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("back\\slash.txt", "backslashes"),
        ("/".join(["d"] * 32) + "/deep.txt", "more than 32 folder levels"),
    ],
)
def test_cli_send_refuses_a_path_the_format_refuses(
    server: Server, tmp_path: Path, bad: str, reason: str
) -> None:
    root = tmp_path / "in" / "top"
    make_file(root, "fine.txt", b"fine")
    path = root / bad
    make_file(path.parent, path.name, b"bad")
    before = blob_count(server)

    result = sealpost("send", "--server", server.base_url, str(root))

    assert result.returncode == errors.EXIT_USAGE
    assert f'cannot send "{root}/' in result.stderr and reason in result.stderr
    assert "Traceback" not in result.stderr
    assert blob_count(server) == before


def test_cli_send_refuses_two_files_at_one_path(server: Server, tmp_path: Path) -> None:
    first = make_file(tmp_path / "one", "same.txt", b"1")
    second = make_file(tmp_path / "two", "same.txt", b"2")

    result = sealpost("send", "--server", server.base_url, str(first), str(second))

    assert result.returncode == errors.EXIT_USAGE
    assert 'both be "same.txt"' in result.stderr


async def _forged_share(
    server: Server, names: list[str], dirs: list[str], *, max_downloads: int = 5
) -> tuple[str, dict[str, bytes]]:
    """Upload a share whose manifest JSON is written by hand.

    Each file holds real ciphertext under its own key, so a recipient gets
    as far as writing it. Returns the link and each name's content.
    """
    sender = await share.ShareSender.create()
    header = await sender.seal_header()
    header_hash = await envelope.header_hash(header)
    contents = {name: f"content of {name}".encode() for name in names}
    keys = [os.urandom(32) for _ in names]
    blobs = [
        await chunked.encrypt(key, share.file_context(header_hash, index), data)
        for index, (key, data) in enumerate(zip(keys, contents.values(), strict=True))
    ]
    document = {
        "v": 1,
        "message": "",
        "files": [
            {
                "name": name,
                "size": len(contents[name]),
                "type": "text/plain",
                "key": b64url_encode(key),
            }
            for name, key in zip(names, keys, strict=True)
        ],
        "expires_in": 3600,
        "max_downloads": max_downloads,
        "dirs": dirs,
    }
    text = json.dumps(document, ensure_ascii=False).encode()
    total = manifest.padded_size(len(text))
    plaintext = len(text).to_bytes(4, "big") + text + bytes(total - 4 - len(text))
    key = await manifest.derive_key(sender._share_key)
    sealed = header + await chunked.encrypt(
        key, manifest.context(header_hash), plaintext
    )

    async with httpx.AsyncClient(base_url=server.base_url) as client:
        created = await client.post(
            "/api/shares",
            json={
                "claim_verifier": b64url_encode(sender.claim_verifier),
                "files": [{"size": len(blob)} for blob in blobs],
                "manifest_size": len(sealed),
                "max_downloads": max_downloads,
            },
        )
        assert created.status_code == 201, created.text
        answer = created.json()
        owner = {"Authorization": f"Bearer {answer['owner_token']}"}
        base = f"/api/shares/{answer['id']}"
        for index, blob in enumerate(blobs):
            put = await client.put(
                f"{base}/files/{index}",
                content=bytes(blob),
                headers={**owner, "Upload-Offset": "0"},
            )
            assert put.status_code == 200, put.text
        put = await client.put(f"{base}/manifest", content=sealed, headers=owner)
        assert put.status_code == 200, put.text
        done = await client.post(f"{base}/finalize", headers=owner)
        assert done.status_code == 200, done.text
    return f"{server.base_url}/s/{answer['id']}#{sender.fragment}", contents


HOSTILE = [
    "../escape.txt",
    "../../twice.txt",
    "/etc/absolute.txt",
    "sub/../../climb.txt",
    "..\\windows.txt",
    "C:/drive.txt",
    "./dot/./x.txt",
    "a//b.txt",
]


async def test_cli_get_never_writes_outside_the_target(
    server: Server, tmp_path: Path
) -> None:
    link, contents = await _forged_share(server, HOSTILE, ["../up", "/rooted"])
    target = tmp_path / "box" / "target"
    target.mkdir(parents=True)

    result = sealpost("get", link, "-o", str(target))

    assert result.returncode == 0, result.stderr
    # Nothing beside the target, nothing above it.
    assert listing(tmp_path) == ["box"]
    assert listing(tmp_path / "box") == ["target"]
    saved = {path.read_bytes() for path in target.rglob("*") if path.is_file()}
    assert saved == set(contents.values())
    for path in target.rglob("*"):
        assert path.resolve().is_relative_to(target.resolve())
        assert ".." not in path.relative_to(target).parts
    assert (target / "__" / "escape.txt").read_bytes() == contents["../escape.txt"]
    assert (target / "__" / "up").is_dir()


async def test_cli_get_refuses_a_symlinked_folder_before_claiming(
    server: Server, tmp_path: Path
) -> None:
    link, _ = await _forged_share(server, ["sub/planted.txt"], ["sub"], max_downloads=1)
    target = tmp_path / "target"
    outside = tmp_path / "outside"
    target.mkdir()
    outside.mkdir()
    (target / "sub").symlink_to(outside, target_is_directory=True)

    result = sealpost("get", link, "-o", str(target))

    assert result.returncode == errors.EXIT_FAILURE
    assert "symbolic link" in result.stderr and "Traceback" not in result.stderr
    assert listing(outside) == []
    assert listing(target) == ["sub"]
    # Refused before the claim: the one download is still there.
    (target / "sub").unlink()
    retry = sealpost("get", link, "-o", str(target))
    assert retry.returncode == 0, retry.stderr
    assert (target / "sub" / "planted.txt").is_file()
    assert listing(outside) == []
