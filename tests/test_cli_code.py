"""``sealpost send --code`` / ``get --code``: shares that need a second channel.

The server runs with a budget of three wrong codes per share, so the tests
can count attempts down to the lock.
"""

from __future__ import annotations

import json
import os
import pty
import select
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cli_support import (
    CLI,
    CLI_TIMEOUT_SECONDS,
    ROOT,
    Server,
    listing,
    make_file,
    running_server,
    sealpost,
    send_ok,
    share_id,
)

from client.cli import errors
from pyodide_crypto.encoding import b64url_encode

ATTEMPTS = 3
WRONG = "the code does not match this link"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("cli-code-server")
    with running_server(root, {"SEALPOST_CODE_ATTEMPTS": str(ATTEMPTS)}) as s:
        yield s


def attempts_left(server: Server, link: str) -> int:
    info = httpx.get(f"{server.base_url}/api/shares/{share_id(link)}").json()
    return int(info["code"]["attempts_left"])


def get(link: str, out_dir: Path, *extra: str) -> tuple[int, str, str]:
    # stdin is an empty pipe, never the terminal pytest runs in: no prompt.
    result = sealpost("get", link, "-o", str(out_dir), *extra, stdin="")
    return result.returncode, result.stdout, result.stderr


def test_cli_code_share_round_trip(server: Server, tmp_path: Path) -> None:
    source = make_file(tmp_path / "in", "scan.dcm", os.urandom(40_000))
    link = send_ok(server, "--code", "ABCDE-FGHJK", "-m", "bed 12", str(source))

    code, stdout, stderr = get(link, tmp_path / "out", "--code", "ABCDE-FGHJK")

    assert code == 0, stderr
    assert stdout == "bed 12\n"
    assert (tmp_path / "out" / "scan.dcm").read_bytes() == source.read_bytes()
    assert attempts_left(server, link) == ATTEMPTS


def test_cli_code_share_link_alone_fails_cleanly(
    server: Server, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "in", "a.txt", b"secret")
    link = send_ok(server, "--code", "ABCDE-FGHJK", str(source))

    # Not a terminal (the test pipes stdin): no prompt, a clear refusal.
    code, stdout, stderr = get(link, tmp_path / "out")

    assert code == errors.EXIT_BAD_LINK
    assert "this share needs its code: --code" in stderr
    assert stdout == ""
    assert listing(tmp_path / "out") == []
    # Nothing was guessed, so nothing was counted.
    assert attempts_left(server, link) == ATTEMPTS


def test_cli_code_share_link_from_stdin_never_prompts(
    server: Server, tmp_path: Path
) -> None:
    link = send_ok(server, "--code", "ABCDE-FGHJK", "-m", "x")

    result = sealpost("get", "-o", str(tmp_path / "out"), stdin=link + "\n")

    assert result.returncode == errors.EXIT_BAD_LINK
    assert "this share needs its code: --code" in result.stderr


def _run_in_terminal(args: list[str], answer: str) -> tuple[int, str]:
    """Run the CLI on a pseudo-terminal; type ``answer`` at its code prompt.

    Returns the exit status and everything the terminal showed.
    """
    pid, fd = pty.fork()
    if pid == 0:  # the child: the CLI, with the terminal as its tty
        os.chdir(ROOT)
        os.execv(CLI[0], [*CLI, *args])
    shown = b""
    answered = False
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], CLI_TIMEOUT_SECONDS)
            if not ready:
                raise AssertionError(f"the CLI hung; it showed {shown!r}")
            try:
                piece = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not piece:
                break
            shown += piece
            if not answered and b"code for this share:" in shown:
                os.write(fd, answer.encode() + b"\n")
                answered = True
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), shown.decode(errors="replace")


def test_cli_get_asks_for_the_code_at_a_terminal(
    server: Server, tmp_path: Path
) -> None:
    link = send_ok(server, "--code", "ABCDE-FGHJK", "-m", "asked")

    status, shown = _run_in_terminal(
        ["get", link, "-o", str(tmp_path / "out")], "abcde-fghjk"
    )

    assert status == 0, shown
    assert "sealpost: code for this share:" in shown
    # getpass does not echo: the typed code never shows on the screen.
    assert "abcde-fghjk" not in shown
    assert "asked" in shown


def test_cli_generated_code_is_printed_and_opens_the_share(
    server: Server, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "in", "g.txt", b"generated")
    sent = sealpost(
        "send", "--server", server.base_url, "--generate-code", "--json", str(source)
    )
    assert sent.returncode == 0, sent.stderr
    document = json.loads(sent.stdout)
    generated = document["code"]
    assert len(generated.replace("-", "")) == 10
    # The code never travels in the link.
    assert generated not in document["link"]

    code, _, stderr = get(document["link"], tmp_path / "out", "--code", generated)
    assert code == 0, stderr
    assert (tmp_path / "out" / "g.txt").read_bytes() == b"generated"

    plain = sealpost(
        "send", "--server", server.base_url, "--generate-code", "-m", "by phone"
    )
    assert plain.returncode == 0, plain.stderr
    line = next(line for line in plain.stderr.splitlines() if line.startswith("code ("))
    printed = line.rsplit(": ", 1)[1]
    assert printed != generated and printed not in plain.stdout

    # Lower case, spaces for the hyphen and a trailing space: same code.
    spelled = printed.lower().replace("-", " ") + " "
    code, stdout, stderr = get(plain.stdout.strip(), tmp_path / "o2", "--code", spelled)
    assert code == 0, stderr
    assert stdout == "by phone\n"


def test_cli_code_spelling_follows_normalize_code(
    server: Server, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "in", "n.txt", b"normalised")
    link = send_ok(server, "--downloads", "5", "--code", "Crème Brûlée", str(source))

    decomposed = unicodedata.normalize("NFD", "crème-brûlée  ")
    for index, spelling in enumerate(["CRÈME BRÛLÉE", decomposed, " crèmebrûlée"]):
        code, _, stderr = get(link, tmp_path / f"ok{index}", "--code", spelling)
        assert code == 0, (spelling, stderr)
        assert (tmp_path / f"ok{index}" / "n.txt").read_bytes() == b"normalised"

    # Accents are significant: this is another code, and it counts.
    code, _, stderr = get(link, tmp_path / "bad", "--code", "creme brulee")
    assert code == errors.EXIT_BAD_LINK
    assert WRONG in stderr
    assert attempts_left(server, link) == ATTEMPTS - 1


def test_cli_wrong_code_counts_then_right_code_works(
    server: Server, tmp_path: Path
) -> None:
    source = make_file(tmp_path / "in", "w.txt", b"wrong then right")
    link = send_ok(server, "--code", "ABCDE-FGHJK", str(source))

    code, stdout, stderr = get(link, tmp_path / "bad", "--code", "ABCDE-FGHJM")

    assert code == errors.EXIT_BAD_LINK
    assert f"{WRONG} (2 attempts left)" in stderr
    assert stdout == "" and listing(tmp_path / "bad") == []
    assert attempts_left(server, link) == ATTEMPTS - 1

    code, _, stderr = get(link, tmp_path / "good", "--code", "abcde fghjk")

    assert code == 0, stderr
    assert (tmp_path / "good" / "w.txt").read_bytes() == b"wrong then right"


def test_cli_wrong_link_key_with_right_code_says_the_same(
    server: Server, tmp_path: Path
) -> None:
    link = send_ok(server, "--code", "ABCDE-FGHJK", "-m", "hello")
    base, fragment = link.split("#")
    other = b64url_encode(os.urandom(32))
    assert other != fragment

    code, stdout, stderr = get(
        f"{base}#{other}", tmp_path / "out", "--code", "ABCDE-FGHJK"
    )

    # Link or code: the message never says which one was wrong.
    assert code == errors.EXIT_BAD_LINK
    assert f"{WRONG} (2 attempts left)" in stderr
    assert stdout == ""


def test_cli_code_share_locks_after_the_limit(server: Server, tmp_path: Path) -> None:
    link = send_ok(server, "--code", "ABCDE-FGHJK", "-m", "locked away")

    for left in range(ATTEMPTS - 1, -1, -1):
        code, _, stderr = get(link, tmp_path / "out", "--code", "ZZZZZ-ZZZZZ")
        assert code == errors.EXIT_BAD_LINK
        assert f"({left} attempt" in stderr

    code, stdout, stderr = get(link, tmp_path / "out", "--code", "ABCDE-FGHJK")

    assert code == errors.EXIT_UNAVAILABLE
    assert "no longer available" in stderr
    assert stdout == ""


def _forged_code_share(server: Server, m: int, t: int) -> str:
    """A code share whose KDF settings the sender's library would refuse.

    Built through the API by hand (the server accepts any sane numbers);
    its envelope is random, since a client must refuse before using it.
    """
    envelope = os.urandom(200)
    body = {
        "claim_verifier": b64url_encode(os.urandom(32)),
        "files": [],
        "manifest_size": len(envelope),
        "code": {
            "kdf": "argon2id",
            "m": m,
            "t": t,
            "p": 1,
            "salt": b64url_encode(os.urandom(16)),
            "verifier": b64url_encode(os.urandom(32)),
        },
    }
    with httpx.Client(base_url=server.base_url) as client:
        created = client.post("/api/shares", json=body)
        assert created.status_code == 201, created.text
        answer = created.json()
        owner = {"Authorization": f"Bearer {answer['owner_token']}"}
        base = f"/api/shares/{answer['id']}"
        put = client.put(f"{base}/manifest", content=envelope, headers=owner)
        assert put.status_code == 200, put.text
        done = client.post(f"{base}/finalize", headers=owner)
        assert done.status_code == 200, done.text
    return f"{server.base_url}/s/{answer['id']}#{b64url_encode(os.urandom(32))}"


@pytest.mark.parametrize(
    ("m", "t", "bound"),
    [
        (1024, 1, "memory_kib=1024"),
        (19 * 1024, 1, "iterations=1"),
        (4 * 1024 * 1024, 3, "memory_kib=4194304"),
    ],
)
def test_cli_get_refuses_kdf_settings_outside_the_bounds(
    server: Server, tmp_path: Path, m: int, t: int, bound: str
) -> None:
    link = _forged_code_share(server, m, t)

    code, stdout, stderr = get(link, tmp_path / "out", "--code", "ABCDE-FGHJK")

    assert code == errors.EXIT_BAD_LINK
    assert "code settings are unsafe" in stderr and bound in stderr
    assert WRONG not in stderr
    assert stdout == "" and listing(tmp_path / "out") == []
    # Refused before any derivation, so no unlock was tried either.
    assert attempts_left(server, link) == ATTEMPTS


def test_cli_code_given_for_a_link_share_is_ignored_with_a_warning(
    server: Server, tmp_path: Path
) -> None:
    link = send_ok(server, "-m", "plain link")

    code, stdout, stderr = get(link, tmp_path / "out", "--code", "ABCDE-FGHJK")

    assert code == 0, stderr
    assert stdout == "plain link\n"
    assert "this share has no code; --code is ignored" in stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--code", ""],
        ["--code", " - - "],
        ["--code", "ABCDE", "--generate-code"],
    ],
)
def test_cli_send_refuses_unusable_codes_before_any_network(
    args: list[str], tmp_path: Path
) -> None:
    # Port 9 on 127.0.0.1 answers nothing: reaching it would fail otherwise.
    result = sealpost("send", "--server", "http://127.0.0.1:9", "-m", "x", *args)

    assert result.returncode == errors.EXIT_USAGE
    assert "Traceback" not in result.stderr


def test_cli_get_refuses_an_empty_code(server: Server, tmp_path: Path) -> None:
    link = send_ok(server, "--code", "ABCDE-FGHJK", "-m", "x")

    code, _, stderr = get(link, tmp_path / "out", "--code", "  ")

    assert code == errors.EXIT_BAD_LINK
    assert "not a valid code" in stderr
    assert attempts_left(server, link) == ATTEMPTS
