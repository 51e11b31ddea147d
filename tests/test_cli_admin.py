"""``sealpost admin import`` (offline and online), ``admin grant`` and
``sealpost recover``, as subprocesses against a running server, with real
keys made by pyodide_crypto: a departmental box born in the import opens
for a member granted afterwards."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import Server, digest, make_file, running_server, sealpost
from mailbox_support import (
    Staff,
    activate,
    inbox,
    new_staff,
    secret_file,
    unique,
)

from client.cli import errors

SHEET_LINE = re.compile(
    r"^  (?P<name>.+) \((?P<role>\w+)\)  handle: (?P<handle>\S+)  "
    r"code: (?P<code>[0-9A-Z]{5}-[0-9A-Z]{5}-[0-9A-Z]{5})  valid until",
    re.M,
)
RECOVERY = re.compile(r"^recovery code: (\S+)$", re.M)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {"SEALPOST_DEPOSIT_RATE_COUNT": "1000", "SEALPOST_LOGIN_FAILURES": "1000"}
    with running_server(tmp_path_factory.mktemp("cli-admin"), env) as s:
        yield s


@pytest.fixture(scope="module")
def admin(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Staff:
    return new_staff(server, tmp_path_factory.mktemp("admin"), "chief", role="admin")


def _online(server: Server, admin: Staff, *args: str) -> tuple[int, str, str]:
    result = sealpost(
        "admin", *args[:1], "--server", server.base_url, *admin.as_args(), *args[1:]
    )
    return result.returncode, result.stdout, result.stderr


def _sheet(text: str) -> dict[str, str]:
    return {m["handle"]: m["code"] for m in SHEET_LINE.finditer(text)}


def _staff_list(folder: Path, department: str, names: list[str]) -> Path:
    path = folder / "liste.csv"
    lines = ["Nom;Service;Téléphone;Rôle"] + [f"{n};{department};;" for n in names]
    path.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    return path


def test_cli_online_import_makes_the_box_and_grant_opens_it(
    server: Server, admin: Staff, tmp_path: Path
) -> None:
    tag = unique("d")
    department = f"Cardiologie {tag}"
    slug = f"cardiologie-{tag}"
    names = [f"Élise Martin{tag}", f"Paul Roy{tag}"]
    csv_file = _staff_list(tmp_path, department, names)

    status, out, err = _online(server, admin, "import", str(csv_file))
    assert status == 0, err
    codes = _sheet(out)
    assert sorted(codes) == [f"elise.martin{tag}", f"paul.roy{tag}"]
    assert out.startswith("2 accounts created, 0 already there")
    assert f"created the box of {department}" in out

    status, again, err = _online(server, admin, "import", str(csv_file))
    assert status == 0, err
    assert again.startswith("0 accounts created, 2 already there")
    assert "created the box" not in again and _sheet(again) == {}

    handle = sorted(codes)[0]
    passphrase = f"passphrase of {handle}"
    activated = activate(server, handle, codes[handle], passphrase, tmp_path)
    assert activated.returncode == 0, activated.stderr
    member = Staff(handle, passphrase, secret_file(tmp_path, passphrase), "")

    status, granted, err = _online(server, admin, "grant", "--box", slug)
    assert status == 0, err
    assert f"access for {handle} (key " in granted
    assert "1 members have not activated yet" in granted
    assert granted.endswith("1 members got box access\n")
    status, nothing, err = _online(server, admin, "grant", "--box", slug)
    assert nothing.endswith("0 members got box access\n")

    original = make_file(tmp_path / "in", "bilan é.pdf", b"\x00" * 5000 + b"fin")
    sent = sealpost(
        "send", "--server", server.base_url, "--to", f"box:{slug}", str(original)
    )
    assert sent.returncode == 0, sent.stderr
    [item] = inbox(server, member, "--box", slug)
    opened = sealpost(
        "open",
        item["share_id"],
        "--server",
        server.base_url,
        *member.as_args(),
        "-o",
        str(tmp_path / "out"),
    )
    assert opened.returncode == 0, opened.stderr
    assert digest(tmp_path / "out" / original.name) == digest(original)


def test_cli_offline_import_prints_the_sheet_and_refuses_a_bad_line(
    server: Server, tmp_path: Path
) -> None:
    tag = unique("o")
    bad = tmp_path / "bad.csv"
    bad.write_text(f"name,department\nAna {tag},ICU\nBo {tag},\n", encoding="utf-8")
    good = _staff_list(tmp_path, f"Urgences {tag}", [f"Ana {tag}", f"Zoë {tag}"])
    data = ["--data", str(server.data_dir)]

    refused = sealpost("admin", "import", *data, str(bad))
    done = sealpost("admin", "import", *data, str(good))

    assert refused.returncode == errors.EXIT_USAGE
    assert refused.stderr == "sealpost: error: line 3: the department is empty\n"
    assert done.returncode == 0, done.stderr
    codes = _sheet(done.stdout)
    assert sorted(codes) == [f"ana.{tag}", f"zoe.{tag}"]
    assert "No drop box yet for: Urgences" in done.stdout
    handle = f"zoe.{tag}"
    activated = activate(server, handle, codes[handle], "a long passphrase", tmp_path)
    assert activated.returncode == 0, activated.stderr


def test_cli_activate_shows_a_recovery_code_that_recover_uses(
    server: Server, tmp_path: Path
) -> None:
    handle = unique("rec")
    result = sealpost(
        "admin",
        "add-user",
        "--data",
        str(server.data_dir),
        "--handle",
        handle,
        "--name",
        "Réa",
    )
    code = re.search(r"Activation code: (\S+)", result.stdout)
    assert code, result.stdout
    activated = activate(server, handle, code.group(1), "first passphrase", tmp_path)
    assert activated.returncode == 0, activated.stderr
    found = RECOVERY.search(activated.stderr)
    assert found, activated.stderr
    assert "Print this recovery code" in activated.stderr
    assert found.group(1) not in activated.stdout

    def recover(recovery_code: str, new: str) -> tuple[int, str, str]:
        done = sealpost(
            "recover",
            "--server",
            server.base_url,
            "--handle",
            handle,
            "--recovery-code-file",
            str(secret_file(tmp_path, recovery_code)),
            "--new-passphrase-file",
            str(secret_file(tmp_path, new)),
        )
        return done.returncode, done.stdout, done.stderr

    wrong_code = "ABCDE-FGHJK-MNPQR-STVW"
    status, _, err = recover(wrong_code, "second passphrase")
    assert status == errors.EXIT_BAD_LINK
    assert err == "sealpost: error: the recovery code does not match this account\n"

    status, out, err = recover(found.group(1), "second passphrase")
    assert status == 0, err
    assert out.startswith("passphrase reset")

    def listing(passphrase: str) -> tuple[int, str]:
        done = sealpost(
            "inbox",
            "--server",
            server.base_url,
            "--as",
            handle,
            "--passphrase-file",
            str(secret_file(tmp_path, passphrase)),
            "--json",
        )
        return done.returncode, done.stdout

    new_status, new_out = listing("second passphrase")
    old_status, _ = listing("first passphrase")
    assert new_status == 0 and json.loads(new_out)["items"] == []
    assert old_status == errors.EXIT_BAD_LINK
    # The record still carries the recovery wrap: the code works again.
    status, _, err = recover(found.group(1), "third passphrase")
    assert status == 0, err
