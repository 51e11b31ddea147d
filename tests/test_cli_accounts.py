"""``sealpost activate`` and ``passphrase``, and signing in with ``--as``.

A real server subprocess; accounts come from ``sealpost admin add-user`` and
are activated through the CLI (see mailbox_support.py). Each test makes its
own accounts.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import ROOT, Server, digest, make_file, running_server, sealpost
from mailbox_support import (
    FINGERPRINT,
    account_field,
    activate,
    add_user,
    inbox,
    new_staff,
    secret_file,
    set_account_field,
    unique,
)

from client.cli import errors, prompts
from client.cli.account import UNSAFE_KDF
from client.cli.api import WRONG_ACTIVATION, WRONG_PASSPHRASE
from client.cli.errors import UsageError

#: Every test here signs in from 127.0.0.1, and several fail on purpose:
#: a budget of 5 failures per address would make them depend on each other.
#: The limit itself is tested on a server of its own.
ROOMY_LIMITS = {"SEALPOST_LOGIN_FAILURES": "1000"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("cli-accounts"), ROOMY_LIMITS) as s:
        yield s


def _stored_bytes(data_dir: Path) -> bytes:
    """Everything the server keeps: database (with its WAL) and blobs."""
    return b"".join(
        path.read_bytes() for path in sorted(data_dir.rglob("*")) if path.is_file()
    )


def test_cli_activate_prints_the_fingerprint_and_stores_no_secret(
    server: Server, tmp_path: Path
) -> None:
    handle = unique("ana")
    code = add_user(server, handle)
    passphrase = "Soleil d'hiver 42 é"

    result = activate(server, handle, code, passphrase, tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"activated {handle} (Name of {handle})\n")
    assert FINGERPRINT.search(result.stdout)
    stored = _stored_bytes(server.data_dir)
    assert passphrase.encode() not in stored
    assert code.encode() not in stored and code.replace("-", "").encode() not in stored


def test_cli_activated_account_signs_in_with_its_passphrase(
    server: Server, tmp_path: Path
) -> None:
    staff = new_staff(server, tmp_path)

    assert inbox(server, staff) == []


def test_cli_activate_code_works_once(server: Server, tmp_path: Path) -> None:
    handle = unique("bo")
    code = add_user(server, handle)
    assert activate(server, handle, code, "first passphrase", tmp_path).returncode == 0

    again = activate(server, handle, code, "second passphrase", tmp_path)

    assert again.returncode == errors.EXIT_BAD_LINK
    assert again.stderr == f"sealpost: error: {WRONG_ACTIVATION}\n"


def test_cli_activate_wrong_code_fails_cleanly(server: Server, tmp_path: Path) -> None:
    handle = unique("cy")
    right = add_user(server, handle)
    wrong = "22222-33333-44444"

    result = activate(server, handle, wrong, "a long passphrase", tmp_path)

    assert result.returncode == errors.EXIT_BAD_LINK
    assert result.stderr == f"sealpost: error: {WRONG_ACTIVATION}\n"
    assert wrong not in result.stdout + result.stderr
    # Checking a wrong code used nothing: the right one still works.
    assert (
        activate(server, handle, right, "a long passphrase", tmp_path).returncode == 0
    )


def test_cli_activate_refuses_a_short_passphrase_and_keeps_the_code(
    server: Server, tmp_path: Path
) -> None:
    handle = unique("di")
    code = add_user(server, handle)

    result = activate(server, handle, code, "short", tmp_path)

    assert result.returncode == errors.EXIT_USAGE
    assert "at least 8 characters" in result.stderr
    assert "short" not in result.stderr.replace("at least", "")
    assert activate(server, handle, code, "long enough now", tmp_path).returncode == 0


def test_cli_wrong_passphrase_fails_cleanly(server: Server, tmp_path: Path) -> None:
    staff = new_staff(server, tmp_path)
    wrong = "not the passphrase at all"

    result = sealpost(
        "inbox",
        "--server",
        server.base_url,
        "--as",
        staff.handle,
        "--passphrase-file",
        str(secret_file(tmp_path, wrong)),
    )

    assert result.returncode == errors.EXIT_BAD_LINK
    assert result.stderr == f"sealpost: error: {WRONG_PASSPHRASE}\n"
    assert result.stdout == ""
    assert wrong not in result.stderr and staff.passphrase not in result.stderr


def test_cli_unknown_handle_fails_like_a_wrong_passphrase(
    server: Server, tmp_path: Path
) -> None:
    result = sealpost(
        "inbox",
        "--server",
        server.base_url,
        "--as",
        unique("nobody"),
        "--passphrase-file",
        str(secret_file(tmp_path, "whatever it is")),
    )

    assert result.returncode == errors.EXIT_BAD_LINK
    assert result.stderr == f"sealpost: error: {WRONG_PASSPHRASE}\n"


def test_cli_failed_logins_are_rate_limited_with_a_clean_message(
    tmp_path: Path,
) -> None:
    limited_root = tmp_path / "limited"
    limited_root.mkdir()
    with running_server(limited_root, {"SEALPOST_LOGIN_FAILURES": "2"}) as s:
        staff = new_staff(s, tmp_path)
        wrong = secret_file(tmp_path, "a wrong guess here")
        args = ["inbox", "--server", s.base_url, "--as", staff.handle]
        statuses = [
            sealpost(*args, "--passphrase-file", str(wrong)).returncode
            for _ in range(2)
        ]
        # Now even the right passphrase waits.
        limited = sealpost(*args, "--passphrase-file", str(staff.passphrase_file))

    assert statuses == [errors.EXIT_BAD_LINK] * 2
    assert limited.returncode == errors.EXIT_TOO_LARGE
    assert limited.stderr.startswith("sealpost: error: too many attempts")
    assert "try again in" in limited.stderr
    assert staff.passphrase not in limited.stderr


def test_cli_refuses_kdf_settings_below_the_floor(
    server: Server, tmp_path: Path
) -> None:
    staff = new_staff(server, tmp_path)
    weak = {**account_field(server, staff.handle, "kdf"), "m": 1024, "t": 1}
    set_account_field(server, staff.handle, "kdf", weak)

    result = sealpost("inbox", "--server", server.base_url, *staff.as_args())

    assert result.returncode == errors.EXIT_BAD_LINK
    assert result.stderr == f"sealpost: error: {UNSAFE_KDF}\n"


def test_cli_own_public_key_substituted_by_the_server_fails_closed(
    server: Server, tmp_path: Path
) -> None:
    bob, eve = new_staff(server, tmp_path), new_staff(server, tmp_path)
    set_account_field(
        server,
        bob.handle,
        "public_key",
        account_field(server, eve.handle, "public_key"),
    )

    result = sealpost("inbox", "--server", server.base_url, *bob.as_args())

    assert result.returncode == errors.EXIT_TAMPERED
    assert "your account keys from the server failed verification" in result.stderr


def test_cli_passphrase_from_stdin_and_from_the_variable(
    server: Server, tmp_path: Path
) -> None:
    staff = new_staff(server, tmp_path)
    base = ["inbox", "--server", server.base_url, "--as", staff.handle, "--json"]

    piped = sealpost(*base, "--passphrase-file", "-", stdin=staff.passphrase + "\n")
    from_env = sealpost(
        *base, env={"SEALPOST_PASSPHRASE_FILE": str(staff.passphrase_file)}
    )

    assert piped.returncode == 0, piped.stderr
    assert from_env.returncode == 0, from_env.stderr


def test_cli_without_terminal_or_file_asks_for_a_file(
    server: Server, tmp_path: Path
) -> None:
    staff = new_staff(server, tmp_path)

    result = sealpost("inbox", "--server", server.base_url, "--as", staff.handle)

    assert result.returncode == errors.EXIT_USAGE
    assert "--passphrase-file" in result.stderr


def test_cli_passphrase_change_keeps_access(server: Server, tmp_path: Path) -> None:
    ana, bob = new_staff(server, tmp_path), new_staff(server, tmp_path)
    source = make_file(tmp_path / "in", "résultats.bin", os.urandom(70_000))
    sent = sealpost(
        "send",
        "--server",
        server.base_url,
        *ana.as_args(),
        "--to",
        bob.handle,
        str(source),
    )
    assert sent.returncode == 0, sent.stderr
    new = "a brand new passphrase ü"

    changed = sealpost(
        "passphrase",
        "--server",
        server.base_url,
        *bob.as_args(),
        "--new-passphrase-file",
        str(secret_file(tmp_path, new)),
    )

    assert changed.returncode == 0, changed.stderr
    assert new not in changed.stdout + changed.stderr
    old_login = sealpost("inbox", "--server", server.base_url, *bob.as_args())
    assert old_login.returncode == errors.EXIT_BAD_LINK
    bob.passphrase_file = secret_file(tmp_path, new)
    opened = sealpost(
        "open",
        sent.stdout.strip(),
        "--server",
        server.base_url,
        *bob.as_args(),
        "-o",
        str(tmp_path / "out"),
    )
    assert opened.returncode == 0, opened.stderr
    assert digest(tmp_path / "out" / "résultats.bin") == digest(source)


def test_cli_activate_at_a_terminal_asks_code_then_passphrase_twice(
    server: Server, tmp_path: Path
) -> None:
    handle = unique("ed")
    code = add_user(server, handle)
    passphrase = "typed at the terminal"

    status, output = _run_in_terminal(
        ["activate", "--server", server.base_url, "--handle", handle],
        [
            ("activation code: ", code),
            ("new passphrase: ", passphrase),
            ("new passphrase again: ", passphrase),
        ],
    )

    assert status == 0, output
    assert "activation code:" in output and "new passphrase again:" in output
    assert passphrase not in output and code not in output
    assert FINGERPRINT.search(output.replace("\r\n", "\n"))


def _run_in_terminal(
    args: list[str], answers: list[tuple[str, str]]
) -> tuple[int, str]:
    """Run the CLI on a pseudo-terminal, answering each prompt in turn.

    getpass reads from the controlling terminal, so the answers go to the
    pty; each is written once its prompt has appeared (no sleeps).
    """
    import pty

    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "client.cli", *args],
        cwd=ROOT,
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        start_new_session=True,
    )
    os.close(secondary)
    output = b""
    pending = list(answers)
    seen = 0
    try:
        while True:
            try:
                chunk = os.read(primary, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
            # Each prompt is looked for after the previous one only.
            while pending and (found := output.find(pending[0][0].encode(), seen)) >= 0:
                seen = found + len(pending[0][0])
                os.write(primary, pending.pop(0)[1].encode() + b"\n")
    finally:
        os.close(primary)
        status = process.wait(timeout=120)
    return status, output.decode("utf-8", "replace")


@pytest.mark.parametrize(
    "args",
    [
        ["activate", "--handle", "x", "--code", "22222-33333-44444"],
        ["inbox", "--as", "x", "--passphrase", "my secret words"],
        ["send", "--as", "x", "--passphrase", "my secret words", "-m", "hi"],
    ],
)
def test_cli_secrets_are_never_plain_arguments(args: list[str]) -> None:
    # No option takes a secret, and none is abbreviated into a file option
    # (the secret would become a file name). argparse echoes what it did not
    # understand; that was on the command line already.
    result = sealpost(*args, env={"SEALPOST_SERVER": "http://127.0.0.1:9"})

    assert result.returncode == errors.EXIT_USAGE
    assert f"unrecognized arguments: {args[3]}" in result.stderr


# -- secrets from files and the terminal (in process) -------------------------


def _source(path: Path | None) -> prompts.SecretSource:
    return prompts.SecretSource(path, "passphrase", "--passphrase-file")


def test_prompts_secret_file_loses_one_line_end_and_keeps_spaces(
    tmp_path: Path,
) -> None:
    path = tmp_path / "p"
    path.write_bytes(" spaced out é \r\n".encode())

    assert prompts.read_secret(_source(path), io.StringIO()) == " spaced out é "


def test_prompts_secret_file_of_two_lines_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p"
    path.write_text("first line\nsecond line\n", encoding="utf-8")

    with pytest.raises(UsageError, match="on one line") as caught:
        prompts.read_secret(_source(path), io.StringIO())
    assert "first" not in str(caught.value) and "second" not in str(caught.value)


def test_prompts_unreadable_secret_file_does_not_show_its_path(
    tmp_path: Path,
) -> None:
    # Someone typing the secret where the path belongs must not see it echoed.
    missing = tmp_path / "my secret words"

    with pytest.raises(UsageError) as caught:
        prompts.read_secret(_source(missing), io.StringIO())
    assert "my secret words" not in str(caught.value)


def test_prompts_new_passphrase_typed_twice_must_match() -> None:
    answers = iter(["first version 1", "first version 2"])

    with pytest.raises(UsageError, match="differ") as caught:
        prompts.read_new_passphrase(
            _source(None), io.StringIO(), lambda prompt: next(answers)
        )
    assert "first version" not in str(caught.value)


def test_prompts_only_one_secret_from_stdin() -> None:
    stdin = Path("-")
    code = prompts.SecretSource(stdin, "activation code", "--code-file")

    with pytest.raises(UsageError, match="only one of"):
        prompts.check_one_stdin(code, _source(stdin))
