"""``sealpost admin``: provision accounts from the command line, no email.

Works on the data folder directly (the server may be running: SQLite in
WAL mode serialises the writers). Each new account gets a one-time
activation code printed here and stored only as a digest. ``import`` and
``grant`` with ``--server`` run online instead, as an administrator's
client that makes box keys (client/cli/admin.py); the offline ``import``
shares its rules with ``POST /api/admin/import`` (server.administration).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TextIO, TypeVar

from server.accounts import AccountService
from server.administration import Administration, ImportResult
from server.audit import Audit
from server.config import Config, config_from_args
from server.csv_import import MAX_IMPORT_BYTES, decode, parse
from server.errors import BadRequest, Conflict
from server.storage.accounts_base import AccountRecord, AccountState, Role
from server.storage.accounts_sqlite import SQLiteAccountStore
from server.storage.audit_sqlite import SQLiteAuditStore
from server.storage.mail_sqlite import SQLiteMailStore

DATABASE_NAME = "sealpost.db"
EXIT_FAILED = 1
EXIT_USAGE = 2

T = TypeVar("T")


def add_admin_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``init``, ``add-user``, ``import``, ``grant``, ``disable`` and
    ``enable``."""
    commands = parser.add_subparsers(dest="admin_command", metavar="ACTION")
    commands.required = True

    init = commands.add_parser(
        "init",
        help="create the first administrator on an empty server",
        description="Create the first administrator and print a one-time "
        "activation code. Refused when the server already has accounts.",
    )
    _common(init)
    init.add_argument("--handle", default="admin", help="login handle (admin)")
    init.add_argument("--name", default="Administrator", help="display name")
    init.add_argument("--department", default="", help="department")

    add = commands.add_parser(
        "add-user",
        help="create a pending account and print its activation code",
        description="Create a pending account and print a one-time activation "
        "code. Handles hold letters, digits and . - _ and ignore case.",
    )
    _common(add)
    add.add_argument("--handle", required=True, help="login handle")
    add.add_argument("--name", required=True, help="display name")
    add.add_argument("--department", default="", help="department")
    add.add_argument(
        "--role", choices=[r.value for r in Role], default=Role.STAFF.value
    )

    importer = commands.add_parser(
        "import",
        help="create pending accounts from a CSV staff list and print codes",
        description="Create the pending accounts of a CSV file (name, "
        "department, optional phone, role; French headers too) and print a "
        "sheet of activation codes. Loading the same file again creates "
        "nothing. With --server and --as it runs online and also creates one "
        "drop box per new department (the box keys are made here).",
    )
    _common(importer)
    _online(importer)
    importer.add_argument("csv_file", type=Path, metavar="FILE", help="the CSV file")

    granter = commands.add_parser(
        "grant",
        help="give box access to members waiting for it (online)",
        description="Wrap the current box key to every pending member who "
        "has activated their account, in this client. Needs --server and --as.",
    )
    _online(granter)
    granter.add_argument("--box", metavar="SLUG", help="only this box")

    for action, text in (
        ("disable", "disable an account and end all of its sessions"),
        ("enable", "enable a disabled account again"),
    ):
        sub = commands.add_parser(action, help=text, description=text.capitalize())
        _common(sub)
        sub.add_argument("--handle", required=True, help="login handle")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        "--data-dir",
        dest="data_dir",
        type=Path,
        default=None,
        help="data folder (default: ./.sealpost-data; env SEALPOST_DATA_DIR)",
    )
    parser.add_argument(
        "--activation-seconds",
        type=int,
        default=None,
        help="validity of the activation code (default: 72 hours; env "
        "SEALPOST_ACTIVATION_SECONDS)",
    )


def _online(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--server", help="run online against this server URL (env SEALPOST_SERVER)"
    )
    parser.add_argument(
        "--as",
        dest="handle",
        metavar="ADMIN",
        help="the administrator to sign in as (the passphrase is asked for)",
    )
    parser.add_argument(
        "--passphrase-file",
        type=Path,
        metavar="PATH",
        help="read the passphrase from this file ('-' for standard input)",
    )


async def _with_admin(
    config: Config, work: Callable[[Administration], Awaitable[T]]
) -> T:
    config.data_dir.mkdir(parents=True, exist_ok=True)
    database = config.data_dir / DATABASE_NAME
    store = SQLiteAccountStore(database)
    mail = SQLiteMailStore(database)
    audit_store = SQLiteAuditStore(database)
    await store.open()
    await mail.open()
    await audit_store.open()
    try:
        audit = Audit(audit_store, config.clock)
        return await work(
            Administration(AccountService(config, store, audit), mail, audit)
        )
    finally:
        await audit_store.close()
        await mail.close()
        await store.close()


async def _with_service(
    config: Config, work: Callable[[AccountService], Awaitable[T]]
) -> T:
    return await _with_admin(config, lambda admin: work(admin.accounts))


def _until(at: float | None) -> str:
    assert at is not None
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at))


def print_sheet(out: TextIO, result: ImportResult) -> None:
    """The activation sheet: per department, each new person's code."""
    by_department: dict[str, list[str]] = {}
    for created in result.created:
        record = created.record
        phone = f"  tel. {created.phone}" if created.phone else ""
        by_department.setdefault(record.department, []).append(
            f"  {record.name} ({record.role.value})  handle: {record.handle}  "
            f"code: {created.code}  valid until {_until(record.activation_expires_at)}"
            f"{phone}"
        )
    out.write(
        f"{len(result.created)} accounts created, {len(result.existing)} already "
        f"there, {result.duplicates} duplicate rows skipped.\n"
    )
    for name, lines in by_department.items():
        out.write(f"\n== {name} ==\n" + "\n".join(lines) + "\n")
    if result.created:
        out.write(
            "\nEach code works once. Hand it to the person by phone or on paper; "
            "anyone holding it can take the account.\n"
        )
    missing = [d.name for d in result.departments if d.box is None and d.members]
    if missing:
        out.write(
            "\nNo drop box yet for: " + ", ".join(missing) + ". Box keys are made "
            "by a client: run this import with --server URL --as ADMIN, or create "
            "the boxes on the administration page.\n"
        )


def _read_csv(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_IMPORT_BYTES:
            raise BadRequest("the file is too large")
        return decode(path.read_bytes())
    except OSError as exc:
        raise BadRequest(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise BadRequest("the file is neither UTF-8 nor Windows-1252") from None


async def _import(config: Config, path: Path) -> ImportResult:
    rows, duplicates = parse(_read_csv(path))
    return await _with_admin(
        config, lambda admin: admin.import_rows(None, rows, duplicates)
    )


def _print_code(out: TextIO, record: AccountRecord, code: str) -> None:
    assert record.activation_expires_at is not None
    until = time.strftime(
        "%Y-%m-%d %H:%M UTC", time.gmtime(record.activation_expires_at)
    )
    out.write(
        f'Created {record.role.value} account "{record.handle}" ({record.name}).\n'
        f"Activation code: {code}\n"
        f"Valid once, until {until}. Give it to the person by phone or on "
        "paper; anyone holding it can take the account.\n"
    )


def admin(
    args: argparse.Namespace,
    *,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """Run one offline ``sealpost admin`` action; return the exit status."""
    if args.admin_command == "grant" or getattr(args, "server", None):
        err.write("sealpost: error: this action runs online: see client.cli.admin\n")
        return EXIT_USAGE
    try:
        config = config_from_args(args)
    except RuntimeError as exc:
        err.write(f"sealpost: error: {exc}\n")
        return EXIT_USAGE
    action = args.admin_command
    try:
        if action == "import":
            print_sheet(out, asyncio.run(_import(config, args.csv_file)))
        elif action in ("init", "add-user"):
            first = action == "init"
            record, code = asyncio.run(
                _with_service(
                    config,
                    lambda service: service.provision(
                        args.handle,
                        name=args.name,
                        department=args.department,
                        role=Role.ADMIN if first else Role(args.role),
                        first=first,
                    ),
                )
            )
            _print_code(out, record, code)
        else:
            state = (
                AccountState.DISABLED if action == "disable" else AccountState.ACTIVE
            )
            record = asyncio.run(
                _with_service(
                    config, lambda service: service.set_state(args.handle, state)
                )
            )
            out.write(f'Account "{record.handle}" is now {state.value}.\n')
    except BadRequest as exc:
        err.write(f"sealpost: error: {exc.message}\n")
        return EXIT_USAGE
    except Conflict as exc:
        err.write(f"sealpost: error: {exc.message}\n")
        return EXIT_FAILED
    return 0
