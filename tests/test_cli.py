"""The ``sealpost`` CLI end to end: real server subprocess, CLI subprocesses.

The server is ``python -m server`` on 127.0.0.1 and a free port with its own
data folder (see cli_support.py). The CLI runs as a separate process exactly
as a person runs it, so exit statuses, stdout and stderr are what is checked.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from cli_cutproxy import CutProxy
from cli_support import (
    CLI,
    CLI_TIMEOUT_SECONDS,
    ROOT,
    Server,
    digest,
    free_port,
    listing,
    make_file,
    running_server,
    sealpost,
    send_ok,
    wait_ready,
)

from client.cli import errors
from pyodide_crypto import chunked

#: C02: chunk-boundary sizes that broke products like ours.
C02_SIZES = [0, 1, 16383, 16384, 16385, 32768, 32769, 257 * 16384]
#: C08: combining accent, tab, ZWJ emoji.
C08_MESSAGE = "🎇🎇 👩\u200d⚕️ e\u0301 中文 \t end"
#: Small limits for the limit tests (plaintext bytes).
MAX_FILE_BYTES = 12 * 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("cli-server")
    with running_server(root, {"SEALPOST_MAX_FILE_BYTES": str(MAX_FILE_BYTES)}) as s:
        yield s


def blob_paths(data_dir: Path, link: str) -> list[Path]:
    """The published ciphertext files of the share behind ``link``."""
    share_id = link.split("#")[0].rsplit("/s/", 1)[1]
    return sorted(
        path
        for path in data_dir.rglob("*")
        if path.is_file() and path.parent.name == share_id
    )


def file_blob(data_dir: Path, link: str, plaintext_size: int) -> Path:
    """The blob of the one file of ``link`` with this plaintext size."""
    size = chunked.ciphertext_size(plaintext_size)
    found = [p for p in blob_paths(data_dir, link) if p.stat().st_size == size]
    assert len(found) == 1, f"expected one blob of {size} bytes, got {found}"
    return found[0]


# -- round trips -------------------------------------------------------------


def test_cli_round_trip_c02_sizes_unicode_names_and_c08_message(
    server: Server, tmp_path: Path
) -> None:
    sources = [
        make_file(
            tmp_path / "in",
            f"é 🤖 {size}.bin" if size else "vide.txt",
            os.urandom(size),
        )
        for size in C02_SIZES
    ]
    sources.append(make_file(tmp_path / "in", "Compte-rendu é.pdf", b"%PDF"))

    link = send_ok(server, "--message", C08_MESSAGE, *map(str, sources))
    out_dir = tmp_path / "out"
    result = sealpost("get", link, "-o", str(out_dir))

    assert result.returncode == 0, result.stderr
    assert result.stdout == C08_MESSAGE + "\n"
    assert listing(out_dir) == sorted(source.name for source in sources)
    for source in sources:
        assert digest(out_dir / source.name) == digest(source), source.name


def test_cli_get_reads_the_link_from_stdin(server: Server, tmp_path: Path) -> None:
    source = make_file(tmp_path / "in", "a.txt", "€".encode())
    link = send_ok(server, str(source))

    result = sealpost("get", "-o", str(tmp_path / "out"), stdin=link + "\n")

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "a.txt").read_bytes() == "€".encode()


def test_cli_send_uses_sealpost_server_and_prints_json(
    server: Server, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "in", "b.txt", b"b")

    result = sealpost(
        "send", "--json", str(source), env={"SEALPOST_SERVER": server.base_url}
    )

    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["link"].startswith(server.base_url + "/s/")
    assert document["manage_link"].startswith(server.base_url + "/m/")
    assert "#" in document["link"] and "#" in document["manage_link"]


def test_cli_message_only_share(server: Server, tmp_path: Path) -> None:
    link = send_ok(server, "--message", "only words\nsecond line")

    result = sealpost("get", link, "-o", str(tmp_path / "out"))

    assert result.returncode == 0, result.stderr
    assert result.stdout == "only words\nsecond line\n"
    assert listing(tmp_path / "out") == []


def test_cli_get_never_overwrites_without_force(server: Server, tmp_path: Path) -> None:
    first = make_file(tmp_path / "one", "same.txt", b"first")
    # A share cannot hold one path twice, but the recipient drops trailing
    # dots, so both names are saved as "same.txt" on the recipient's side.
    second = make_file(tmp_path / "two", "same.txt.", b"second")
    link = send_ok(server, "--downloads", "3", str(first), str(second))
    out_dir = tmp_path / "out"
    make_file(out_dir, "same.txt", b"mine")

    result = sealpost("get", link, "-o", str(out_dir))

    assert result.returncode == 0, result.stderr
    assert (out_dir / "same.txt").read_bytes() == b"mine"
    assert (out_dir / "same (1).txt").read_bytes() == b"first"
    assert (out_dir / "same (2).txt").read_bytes() == b"second"

    forced = sealpost("get", link, "-o", str(out_dir), "--force")

    assert forced.returncode == 0, forced.stderr
    # --force replaces what was there, but never a file of the same run.
    assert (out_dir / "same.txt").read_bytes() == b"first"
    assert (out_dir / "same (1).txt").read_bytes() == b"second"
    assert listing(out_dir) == ["same (1).txt", "same (2).txt", "same.txt"]


# -- refusals ----------------------------------------------------------------


def test_cli_download_limit_exhausted(server: Server, tmp_path: Path) -> None:
    source = make_file(tmp_path / "in", "once.txt", b"once")
    link = send_ok(server, "--downloads", "1", "--message", "hi", str(source))
    assert sealpost("get", link, "-o", str(tmp_path / "a")).returncode == 0

    result = sealpost("get", link, "-o", str(tmp_path / "b"))

    assert result.returncode == errors.EXIT_UNAVAILABLE
    assert "no longer available" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert listing(tmp_path / "b") == []


def test_cli_revoked_share_is_unavailable(server: Server, tmp_path: Path) -> None:
    source = make_file(tmp_path / "in", "r.txt", b"revoke me")
    result = sealpost("send", "--server", server.base_url, "--json", str(source))
    document = json.loads(result.stdout)
    share_id, token = document["manage_link"].split("/m/", 1)[1].split("#")
    revoked = httpx.delete(
        f"{server.base_url}/api/shares/{share_id}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert revoked.is_success

    result = sealpost("get", document["link"], "-o", str(tmp_path / "out"))

    assert result.returncode == errors.EXIT_UNAVAILABLE
    assert "no longer available" in result.stderr
    assert listing(tmp_path / "out") == []


@pytest.mark.parametrize("where", ["header", "middle", "last byte"])
def test_cli_tampered_blob_fails_and_saves_nothing(
    server: Server, tmp_path: Path, where: str
) -> None:
    size = 3 * chunked.CHUNK_SIZE + 10
    source = make_file(tmp_path / "in", "t.bin", os.urandom(size))
    link = send_ok(server, str(source))
    blob = file_blob(server.data_dir, link, size)
    data = bytearray(blob.read_bytes())
    offset = {"header": 3, "middle": len(data) // 2, "last byte": len(data) - 1}
    data[offset[where]] ^= 0x01
    blob.write_bytes(bytes(data))

    result = sealpost("get", link, "-o", str(tmp_path / "out"))

    assert result.returncode == errors.EXIT_TAMPERED, result.stderr
    assert "failed verification" in result.stderr
    assert "Traceback" not in result.stderr
    assert listing(tmp_path / "out") == []


def test_cli_truncated_blob_fails_and_saves_nothing(
    server: Server, tmp_path: Path
) -> None:
    size = 5 * chunked.CHUNK_SIZE
    source = make_file(tmp_path / "in", "cut.bin", os.urandom(size))
    link = send_ok(server, str(source))
    blob = file_blob(server.data_dir, link, size)
    with blob.open("r+b") as handle:
        handle.truncate(blob.stat().st_size - 100)

    result = sealpost("get", link, "-o", str(tmp_path / "out"))

    assert result.returncode in (errors.EXIT_TAMPERED, errors.EXIT_UNREACHABLE)
    assert "nothing was saved" in result.stderr
    assert "Traceback" not in result.stderr
    assert listing(tmp_path / "out") == []


def _change_one_character(fragment: str) -> str:
    # Changing the first character changes the decoded bytes for certain
    # (the last one may only carry padding bits).
    return ("B" if fragment[0] != "B" else "C") + fragment[1:]


def test_cli_wrong_fragment_is_a_bad_link(server: Server, tmp_path: Path) -> None:
    source = make_file(tmp_path / "in", "w.txt", b"wrong key")
    link = send_ok(server, "--downloads", "1", str(source))
    base, fragment = link.split("#")

    wrong = sealpost(
        "get", f"{base}#{_change_one_character(fragment)}", "-o", str(tmp_path / "out")
    )
    short = sealpost("get", f"{base}#{fragment[:-1]}", "-o", str(tmp_path / "out"))
    missing = sealpost("get", base, "-o", str(tmp_path / "out"))

    for result in (wrong, short, missing):
        assert result.returncode == errors.EXIT_BAD_LINK, result.stderr
        assert "Traceback" not in result.stderr
        assert fragment not in result.stderr
    assert listing(tmp_path / "out") == []
    # A wrong key does not use up the one download.
    assert sealpost("get", link, "-o", str(tmp_path / "ok")).returncode == 0


def test_cli_not_a_link(tmp_path: Path) -> None:
    result = sealpost("get", "hello", "-o", str(tmp_path / "out"))

    assert result.returncode == errors.EXIT_BAD_LINK
    assert result.stderr.startswith("sealpost: error: ")


def test_cli_refuses_a_file_over_the_limit_before_upload(
    server: Server, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "in", "big.bin", b"\0" * (MAX_FILE_BYTES + 1))
    before = sorted(server.data_dir.rglob("*"))

    result = sealpost("send", "--server", server.base_url, str(source))

    assert result.returncode == errors.EXIT_TOO_LARGE
    assert "too large" in result.stderr
    assert result.stdout == ""
    # Nothing was created or uploaded on the server.
    assert sorted(server.data_dir.rglob("*")) == before


def test_cli_unreachable_server(tmp_path: Path) -> None:
    source = make_file(tmp_path / "in", "u.txt", b"u")
    url = f"http://127.0.0.1:{free_port()}"

    sent = sealpost("send", "--server", url, str(source))
    got = sealpost("get", f"{url}/s/abc#{'A' * 43}", "-o", str(tmp_path / "out"))

    for result in (sent, got):
        assert result.returncode == errors.EXIT_UNREACHABLE, result.stderr
        assert "could not reach the server" in result.stderr
    assert listing(tmp_path / "out") == []


@pytest.mark.parametrize(
    "args",
    [
        ["send", "--expires", "soon", "x"],
        ["send", "--downloads", "0", "x"],
        ["get", "--bogus"],
    ],
)
def test_cli_usage_errors_exit_2(args: list[str]) -> None:
    result = sealpost(*args)

    assert result.returncode == errors.EXIT_USAGE
    assert "Traceback" not in result.stderr


def test_cli_send_without_server_is_a_usage_error(tmp_path: Path) -> None:
    source = make_file(tmp_path / "in", "x.txt", b"x")
    env = {k: v for k, v in os.environ.items() if k != "SEALPOST_SERVER"}

    result = subprocess.run(
        [*CLI, "send", str(source)],
        cwd=ROOT,
        capture_output=True,
        encoding="utf-8",
        env=env,
        timeout=CLI_TIMEOUT_SECONDS,
        check=False,
    )

    assert result.returncode == errors.EXIT_USAGE
    assert "SEALPOST_SERVER" in result.stderr


def test_cli_send_missing_file_is_a_clear_error(server: Server, tmp_path: Path) -> None:
    result = sealpost("send", "--server", server.base_url, str(tmp_path / "nope"))

    assert result.returncode == errors.EXIT_FAILURE
    assert result.stderr.startswith("sealpost: error: cannot read")


# -- broken connections -----------------------------------------------------


def _port(server: Server) -> int:
    return int(server.base_url.rsplit(":", 1)[1])


def test_cli_get_resumes_a_cut_download_with_range(
    server: Server, tmp_path: Path
) -> None:
    size = 600 * chunked.CHUNK_SIZE + 7  # more than two 4 MiB windows
    source = make_file(tmp_path / "in", "resume.bin", os.urandom(size))
    link = send_ok(server, str(source))

    with CutProxy(_port(server), after=5 * 1024 * 1024, cuts=2) as proxy:
        result = sealpost(
            "get", link, "-o", str(tmp_path / "out"), "--server", proxy.base_url
        )

    assert result.returncode == 0, result.stderr
    assert proxy.cuts == 2
    assert digest(tmp_path / "out" / "resume.bin") == digest(source)
    assert listing(tmp_path / "out") == ["resume.bin"]


def test_cli_get_download_that_keeps_breaking_saves_nothing(
    server: Server, tmp_path: Path
) -> None:
    size = 100 * chunked.CHUNK_SIZE
    source = make_file(tmp_path / "in", "c11.bin", os.urandom(size))
    link = send_ok(server, str(source))

    with CutProxy(_port(server), after=size // 2, cuts=None) as proxy:
        result = sealpost(
            "get", link, "-o", str(tmp_path / "out"), "--server", proxy.base_url
        )

    assert result.returncode == errors.EXIT_UNREACHABLE, result.stderr
    assert "nothing was saved" in result.stderr
    assert listing(tmp_path / "out") == []


def test_cli_send_resumes_a_cut_upload(server: Server, tmp_path: Path) -> None:
    size = 300 * chunked.CHUNK_SIZE + 3
    source = make_file(tmp_path / "in", "up.bin", os.urandom(size))

    with CutProxy(_port(server), after=1024 * 1024, cuts=2) as proxy:
        sent = sealpost("send", "--server", proxy.base_url, str(source))
    assert sent.returncode == 0, sent.stderr
    assert proxy.cuts == 2
    link = sent.stdout.strip().replace(proxy.base_url, server.base_url)

    result = sealpost("get", link, "-o", str(tmp_path / "out"))

    assert result.returncode == 0, result.stderr
    assert digest(tmp_path / "out" / "up.bin") == digest(source)


# -- expiry, on a server whose clock the test moves --------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clocked_server(tmp_path: Path) -> Iterator[tuple[Server, _Clock]]:
    """A server in this process, in a thread, whose clock the test moves."""
    from server.app import create_app
    from server.config import Config

    clock = _Clock()
    data_dir = tmp_path / "clocked-data"
    config = Config(data_dir=data_dir, secrets=("test-secret",), clock=clock)
    port = free_port()
    runner = uvicorn.Server(
        uvicorn.Config(
            create_app(config),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
        )
    )
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    wait_ready(base_url, thread.is_alive)
    yield Server(base_url, data_dir), clock
    runner.should_exit = True
    thread.join(timeout=30)


def test_cli_expired_share_is_unavailable(
    clocked_server: tuple[Server, _Clock], tmp_path: Path
) -> None:
    server, clock = clocked_server
    source = make_file(tmp_path / "in", "e.txt", b"expiring")
    link = send_ok(server, "--expires", "30m", str(source))
    clock.now += 29 * 60
    assert sealpost("get", link, "-o", str(tmp_path / "before")).returncode == 0

    clock.now += 2 * 60
    result = sealpost("get", link, "-o", str(tmp_path / "after"))

    assert result.returncode == errors.EXIT_UNAVAILABLE
    assert "no longer available" in result.stderr
    assert listing(tmp_path / "after") == []
