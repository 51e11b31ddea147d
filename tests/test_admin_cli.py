"""``sealpost admin``: first administrator, more accounts, disable/enable,
and the printed codes activating through the real app on the same folder."""

from __future__ import annotations

import asyncio
import io
import os
import re
import subprocess
import sys
from pathlib import Path

from account_support import activation_body, site_for
from server_support import Clock, make_config

from client.cli.main import build_parser
from server.admin import admin
from server.config import REPO_ROOT

_SYMBOL = "[23456789ABCDEFGHJKMNPQRSTVWXYZ]"
CODE = re.compile(rf"^Activation code: ({_SYMBOL}{{5}}(?:-{_SYMBOL}{{5}}){{2}})$", re.M)


def _run(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = dict(os.environ)
    os.environ.update(env or {})
    try:
        args = build_parser().parse_args(["admin", *argv])
        status = admin(args, out=out, err=err)
    finally:
        os.environ.clear()
        os.environ.update(old)
    return status, out.getvalue(), err.getvalue()


async def _arun(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    # The command runs its own event loop, so not inside the test's.
    return await asyncio.to_thread(_run, *argv, env=env)


def _code(output: str) -> str:
    found = CODE.search(output)
    assert found, output
    return found.group(1)


async def test_init_prints_a_code_that_activates_an_administrator(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    status, out, err = await _arun("init", "--data", str(data))
    assert status == 0, err
    assert 'Created admin account "admin"' in out
    code = _code(out)

    config = make_config(tmp_path, Clock(), data_dir=data)
    async with site_for(config) as site:
        client = await site.client()
        response = await client.post(
            "/api/activate", json=activation_body("admin", code, os.urandom(32))
        )
    assert response.status_code == 200, response.text
    assert response.json()["account"]["role"] == "admin"


def test_init_refuses_a_server_that_has_accounts(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    assert _run("init", "--data", data)[0] == 0
    status, out, err = _run("init", "--data", data, "--handle", "other")
    assert status == 1
    assert out == ""
    assert err == "sealpost: error: this server already has accounts\n"


def test_add_user_prints_a_fresh_code_each_time(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    first = _run("add-user", "--data", data, "--handle", "ana", "--name", "Ana B")
    second = _run(
        "add-user",
        "--data",
        data,
        "--handle",
        "Zoé",
        "--name",
        "Zoé",
        "--department",
        "Radiologie",
        "--role",
        "admin",
    )
    assert first[0] == second[0] == 0
    assert 'Created staff account "ana" (Ana B).' in first[1]
    assert 'Created admin account "Zoé" (Zoé).' in second[1]
    assert _code(first[1]) != _code(second[1])


def test_add_user_refuses_taken_and_malformed_handles(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    assert _run("add-user", "--data", data, "--handle", "ana", "--name", "A")[0] == 0
    taken = _run("add-user", "--data", data, "--handle", "ANA", "--name", "A")
    bad = _run("add-user", "--data", data, "--handle", "a b", "--name", "A")
    assert taken[0] == 1 and taken[2] == "sealpost: error: this handle is taken\n"
    assert bad[0] == 2 and bad[2].startswith("sealpost: error: a handle holds")


async def test_activation_seconds_from_flag_and_environment(tmp_path: Path) -> None:
    data = tmp_path / "data"
    status, out, _ = await _arun(
        "add-user",
        "--data",
        str(data),
        "--handle",
        "ana",
        "--name",
        "A",
        "--activation-seconds",
        "60",
    )
    assert status == 0
    env_status, env_out, _ = await _arun(
        "add-user",
        "--data",
        str(data),
        "--handle",
        "bob",
        "--name",
        "B",
        env={"SEALPOST_ACTIVATION_SECONDS": "7200"},
    )
    assert env_status == 0
    async with site_for(make_config(tmp_path, Clock(), data_dir=data)) as site:
        ana = await site.accounts.store.account_by_handle("ana")
        bob = await site.accounts.store.account_by_handle("bob")
    assert ana is not None and bob is not None
    assert ana.activation_expires_at == ana.created_at + 60
    assert bob.activation_expires_at == bob.created_at + 7200


async def test_expired_cli_code_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _, out, _ = await _arun(
        "add-user", "--data", str(data), "--handle", "ana", "--name", "A",
        "--activation-seconds", "60",
    )  # fmt: skip
    clock = Clock()
    async with site_for(make_config(tmp_path, clock, data_dir=data)) as site:
        record = await site.accounts.store.account_by_handle("ana")
        assert record is not None
        # The CLI used the wall clock; move the app's clock to the expiry.
        clock.now = record.created_at + 60
        client = await site.client()
        response = await client.post(
            "/api/activate", json=activation_body("ana", _code(out), os.urandom(32))
        )
    assert response.status_code == 403
    assert response.json()["error"] == "activation_failed"


def test_disable_and_enable(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    _run("add-user", "--data", data, "--handle", "ana", "--name", "A")
    pending = _run("disable", "--data", data, "--handle", "ana")
    unknown = _run("disable", "--data", data, "--handle", "ghost")
    assert pending[0] == unknown[0] == 1
    assert pending[2] == "sealpost: error: no activated account has this handle\n"


async def test_disable_from_the_cli_ends_sessions(tmp_path: Path) -> None:
    data = tmp_path / "data"
    async with site_for(make_config(tmp_path, Clock(), data_dir=data)) as site:
        user = await site.user("ana")
        status, out, _ = await _arun("disable", "--data", str(data), "--handle", "ana")
        after = await user.client.get("/api/me")
        status_on, out_on, _ = await _arun(
            "enable", "--data", str(data), "--handle", "ana"
        )
    assert status == status_on == 0
    assert out == 'Account "ana" is now disabled.\n'
    assert out_on == 'Account "ana" is now active.\n'
    assert after.status_code == 401


def test_sealpost_admin_runs_from_the_command_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "client.cli", "admin", "init", "--data", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    _code(result.stdout)
    help_text = subprocess.run(
        [sys.executable, "-m", "client.cli", "admin", "--help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "add-user" in help_text and "init" in help_text
