"""The staff commands: ``activate``, ``inbox``, ``open``, ``passphrase``, and
the account options of ``send`` (``--to``, ``--as``, ...).

Secrets never come as plain arguments: they are asked at the terminal or
read from a file (:mod:`client.cli.prompts`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TextIO, TypeVar

from . import account, mailbox, prompts
from .errors import EXIT_HELP, CliError, UsageError
from .mail_api import MailApi

#: Where commands go when neither ``--server`` nor the variable says.
SERVER_ENV = "SEALPOST_SERVER"
COMMANDS = ("activate", "inbox", "open", "passphrase", "recover")

T = TypeVar("T")


def server_url(value: str | None) -> str:
    """``--server``, else ``$SEALPOST_SERVER``.

    :raises UsageError: neither is set.
    """
    server = value or os.environ.get(SERVER_ENV, "")
    if not server:
        raise UsageError(f"no server: pass --server URL or set {SERVER_ENV}")
    return server


def _server_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", help=f"server URL (default: ${SERVER_ENV})")


def _passphrase_option(parser: argparse.ArgumentParser, text: str) -> None:
    parser.add_argument(
        "--passphrase-file",
        type=Path,
        metavar="PATH",
        help=f"{text} from this file, one line ('-' for standard input; "
        f"default: ${prompts.PASSPHRASE_FILE_ENV}, else asked at the terminal)",
    )


def _identity_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument(
        "--as",
        dest="handle",
        required=required,
        metavar="HANDLE",
        help="sign in as this staff member (the passphrase is asked for)",
    )
    _passphrase_option(parser, "read the passphrase")


def add_send_options(sender: argparse.ArgumentParser) -> None:
    """``send``'s recipients, fingerprint checks and signing in."""
    sender.add_argument(
        "--to",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="encrypt to this staff member's key (a handle, needs --as) or "
        "to a drop box (box:SLUG; anyone may deposit); repeatable. The share "
        "lands in their inboxes; no link is made unless --link",
    )
    sender.add_argument(
        "--link",
        action="store_true",
        help="with --to, also make a link for someone without an account",
    )
    sender.add_argument(
        "--expect-fingerprint",
        action="append",
        default=[],
        metavar="ADDRESS=FP",
        help="refuse to send unless ADDRESS's key has this fingerprint (the "
        "32 digits, as the recipient reads them to you)",
    )
    _identity_options(sender, required=False)


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``activate``, ``inbox``, ``open`` and ``passphrase``."""
    activate = commands.add_parser(
        "activate",
        allow_abbrev=False,
        epilog=EXIT_HELP,
        help="activate a staff account with its one-time code",
        description="Make this account's keys on this computer and activate "
        "it with the code the administrator gave you. Asks for the code and "
        "a new passphrase; prints the key fingerprint.",
    )
    _server_option(activate)
    activate.add_argument("--handle", required=True, help="your login handle")
    activate.add_argument(
        "--code-file",
        type=Path,
        metavar="PATH",
        help="read the activation code from this file ('-' for standard "
        "input; default: asked at the terminal)",
    )
    _passphrase_option(activate, "read the new passphrase")

    inbox = commands.add_parser(
        "inbox",
        allow_abbrev=False,
        epilog=EXIT_HELP,
        help="list your inbox and your boxes' inboxes",
        description="List shares sent to you and to your boxes: sender, date, "
        "size, read. Subject, message and names stay encrypted unless --open.",
    )
    _server_option(inbox)
    _identity_options(inbox, required=True)
    inbox.add_argument("--box", metavar="SLUG", help="only this box's inbox")
    inbox.add_argument(
        "--open",
        action="store_true",
        help="decrypt and show each message's first line and the file names "
        "(downloads nothing, marks nothing read)",
    )
    inbox.add_argument("--json", action="store_true", help="print JSON")

    opener = commands.add_parser(
        "open",
        allow_abbrev=False,
        epilog=EXIT_HELP,
        help="decrypt and save a share from your inboxes",
        description="Open a share of your inbox or a box's with your keys and "
        "save it like 'sealpost get' does; marks it read.",
    )
    opener.add_argument(
        "share_id", metavar="SHARE_ID", help="the share's id, as 'inbox' lists it"
    )
    _server_option(opener)
    _identity_options(opener, required=True)
    opener.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("."),
        metavar="DIR",
        help="folder to save the files in (created if needed; default: .)",
    )
    opener.add_argument(
        "-f", "--force", action="store_true", help="replace existing files"
    )

    recover = commands.add_parser(
        "recover",
        allow_abbrev=False,
        epilog=EXIT_HELP,
        help="set a new passphrase with your recovery code",
        description="Restore access after a forgotten passphrase: the "
        "recovery code printed at activation opens your keys here, and a new "
        "passphrase replaces the old one. Ends all of your sessions.",
    )
    _server_option(recover)
    recover.add_argument("--handle", required=True, help="your login handle")
    recover.add_argument(
        "--recovery-code-file",
        type=Path,
        metavar="PATH",
        help="read the recovery code from this file ('-' for standard input; "
        "default: asked at the terminal)",
    )
    recover.add_argument(
        "--new-passphrase-file",
        type=Path,
        metavar="PATH",
        help="read the new passphrase from this file ('-' for standard input; "
        "default: asked twice at the terminal)",
    )

    change = commands.add_parser(
        "passphrase",
        allow_abbrev=False,
        epilog=EXIT_HELP,
        help="change your passphrase",
        description="Re-wrap your account key under a new passphrase; your "
        "keys, and everything sent to them, stay. Ends your other sessions.",
    )
    _server_option(change)
    _identity_options(change, required=True)
    change.add_argument(
        "--new-passphrase-file",
        type=Path,
        metavar="PATH",
        help="read the new passphrase from this file ('-' for standard input; "
        "default: asked twice at the terminal)",
    )


async def _signed_in(
    args: argparse.Namespace,
    passphrase: str,
    work: Callable[[MailApi, account.SignedIn], Awaitable[T]],
) -> T:
    async with MailApi(server_url(args.server)) as api:
        signed = await account.sign_in(api, args.handle, passphrase)
        try:
            return await work(api, signed)
        finally:
            with contextlib.suppress(CliError):
                await api.logout()


def run(args: argparse.Namespace, stdin: TextIO, out: TextIO, err: TextIO) -> None:
    """Run one of :data:`COMMANDS` (asyncio inside).

    :raises CliError: anything expected that went wrong.
    """
    server_url(args.server)  # a usage error before any prompt
    if args.command == "activate":
        asyncio.run(_activate(args, stdin, out, err))
        return
    if args.command == "recover":
        asyncio.run(_recover(args, stdin, out))
        return
    source = prompts.passphrase_source(args.passphrase_file)
    if args.command == "passphrase":
        new_source = prompts.SecretSource(
            args.new_passphrase_file, "passphrase", "--new-passphrase-file"
        )
        prompts.check_one_stdin(source, new_source)
        old = prompts.read_secret(source, stdin)
        new = prompts.read_new_passphrase(new_source, stdin)

        async def change(api: MailApi, signed: account.SignedIn) -> None:
            await account.change_passphrase(api, signed, new)
            out.write("passphrase changed; your other sessions have ended\n")

        asyncio.run(_signed_in(args, old, change))
        return

    passphrase = prompts.read_secret(source, stdin)
    if args.command == "inbox":

        async def work(api: MailApi, signed: account.SignedIn) -> object:
            return await mailbox.list_inbox(
                api,
                signed,
                slug=args.box,
                decrypt=args.open,
                as_json=args.json,
                out=out,
            )

    else:

        async def work(api: MailApi, signed: account.SignedIn) -> object:
            return await mailbox.open_item(
                api,
                signed,
                args.share_id,
                out_dir=args.output,
                force=args.force,
                out=out,
                err=err,
            )

    asyncio.run(_signed_in(args, passphrase, work))


async def _recover(args: argparse.Namespace, stdin: TextIO, out: TextIO) -> None:
    code_source = prompts.SecretSource(
        args.recovery_code_file, "recovery code", "--recovery-code-file"
    )
    new_source = prompts.SecretSource(
        args.new_passphrase_file, "passphrase", "--new-passphrase-file"
    )
    prompts.check_one_stdin(code_source, new_source)
    code = prompts.read_secret(code_source, stdin)
    new = prompts.read_new_passphrase(new_source, stdin)
    async with MailApi(server_url(args.server)) as api:
        await account.recover(api, args.handle, code, new)
    out.write("passphrase reset; sign in with the new one (all sessions ended)\n")


async def _activate(
    args: argparse.Namespace, stdin: TextIO, out: TextIO, err: TextIO
) -> None:
    code_source = prompts.SecretSource(args.code_file, "activation code", "--code-file")
    pass_source = prompts.passphrase_source(args.passphrase_file)
    prompts.check_one_stdin(code_source, pass_source)
    code = prompts.read_secret(code_source, stdin)

    async with MailApi(server_url(args.server)) as api:
        # The code is checked before the passphrase is asked for: a typo in
        # it shows at once, not after typing a new passphrase twice.
        account_id = await account.start_activation(api, args.handle, code)
        passphrase = prompts.read_new_passphrase(pass_source, stdin)
        await account.activate(
            api, args.handle, code, account_id, passphrase, out=out, err=err
        )
        with contextlib.suppress(CliError):
            await api.logout()
