"""The ``sealpost`` command: ``send``, ``get``, the staff commands
(``activate``, ``inbox``, ``open``, ``passphrase``), ``serve`` and ``admin``.

Expected failures print ``sealpost: error: <message>`` and exit with the
status of their kind (see :mod:`client.cli.errors`); only a bug shows a
traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from pyodide_crypto import __version__, kdf
from pyodide_crypto.errors import ParameterError

from . import admin as admin_cli
from . import commands as staff
from . import prompts
from .commands import SERVER_ENV, server_url
from .errors import EXIT_HELP, EXIT_INTERRUPTED, EXIT_USAGE, CliError, UsageError
from .get import GetOptions, get
from .links import parse_duration
from .send import SendOptions, send

_EPILOG = EXIT_HELP


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``sealpost`` command."""
    parser = argparse.ArgumentParser(
        prog="sealpost",
        description="End-to-end encrypted file and message exchange.",
        epilog=_EPILOG,
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    # No abbreviations: "--passphrase SECRET" must not become
    # "--passphrase-file SECRET".
    sender = commands.add_parser(
        "send",
        allow_abbrev=False,
        help="encrypt files and a message, upload them, print the link",
        description="Encrypt files and a message on this computer, upload the "
        "ciphertext and print the link. The key is only in the link "
        "(after #): the server never sees it.",
        epilog=_EPILOG,
    )
    sender.add_argument(
        "files",
        nargs="*",
        type=Path,
        metavar="PATH",
        help="files and folders to send; a folder is sent as a tree under its "
        "own name (empty folders included). Symbolic links and special files "
        "inside a folder are skipped with a warning",
    )
    sender.add_argument(
        "--server",
        help=f"server URL (default: ${SERVER_ENV})",
    )
    sender.add_argument("-m", "--message", help="a message for the recipient")
    sender.add_argument(
        "--message-file",
        type=Path,
        metavar="PATH",
        help="read the message from a UTF-8 file ('-' for standard input)",
    )
    sender.add_argument(
        "--expires",
        type=_duration,
        metavar="DURATION",
        help="lifetime such as 30m, 2h, 7d or 1w (default: the server's)",
    )
    sender.add_argument(
        "--downloads",
        type=_positive,
        metavar="N",
        help="how many times the link can be used (default: the server's)",
    )
    sender.add_argument(
        "--json",
        action="store_true",
        help="print link, manage link and expiry (and a generated code) as one "
        "JSON object on stdout",
    )
    protection = sender.add_mutually_exclusive_group()
    protection.add_argument(
        "--code",
        metavar="CODE",
        help="also require this code, given to the recipient by another "
        "channel (phone, SMS): the link alone then opens nothing. Case, "
        "spaces and hyphens do not matter; accents do",
    )
    protection.add_argument(
        "--generate-code",
        action="store_true",
        help="like --code with a random code, printed on stderr",
    )
    staff.add_send_options(sender)

    getter = commands.add_parser(
        "get",
        help="download and decrypt a share",
        description="Download, verify and decrypt a share. A file appears "
        "under its name only once it is complete and authentic. Existing "
        "files are kept: a new file gets a name like 'name (1).ext' unless "
        "--force is given.",
        epilog=_EPILOG,
    )
    getter.add_argument(
        "link",
        nargs="?",
        default="-",
        metavar="LINK",
        help="the share link; '-' or nothing reads it from standard input, "
        "which keeps its key out of the process list and shell history",
    )
    getter.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("."),
        metavar="DIR",
        help="folder to save the files in (created if needed; default: .)",
    )
    getter.add_argument(
        "-f",
        "--force",
        action="store_true",
        help="replace existing files of the same name",
    )
    getter.add_argument(
        "--server",
        help="reach the server at this URL instead of the link's origin",
    )
    getter.add_argument(
        "--code",
        metavar="CODE",
        help="the share's code, if it has one (asked for at a terminal when "
        "missing; a wrong code uses up one of the share's few attempts)",
    )

    staff.add_commands(commands)

    server = commands.add_parser(
        "serve", help="run the Sealpost server", description="Run the server."
    )
    try:
        from server.main import add_serve_arguments
    except ImportError:
        # The client works without the server's dependencies installed.
        server.set_defaults(serve_missing=True)
    else:
        add_serve_arguments(server)

    administration = commands.add_parser(
        "admin",
        help="provision accounts on a server's data folder",
        description="Create the first administrator and other accounts, each "
        "with a one-time activation code (no email involved).",
    )
    try:
        from server.admin import add_admin_arguments
    except ImportError:
        administration.set_defaults(serve_missing=True)
    else:
        add_admin_arguments(administration)
    return parser


def _duration(text: str) -> int:
    try:
        return parse_duration(text)
    except CliError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return int(text)


def _read_message(args: argparse.Namespace, stdin: TextIO) -> str:
    if args.message is not None and args.message_file is not None:
        raise UsageError("give --message or --message-file, not both")
    if args.message_file is None:
        return args.message or ""
    if str(args.message_file) == "-":
        return stdin.read()
    try:
        return args.message_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise CliError(f'cannot read "{args.message_file}": {reason}') from None


def _read_link(args: argparse.Namespace, stdin: TextIO) -> str:
    if args.link != "-":
        return str(args.link)
    if stdin.isatty():
        sys.stderr.write("sealpost: paste the link and press Enter: ")
        sys.stderr.flush()
    return stdin.readline().strip()


def _send_code(args: argparse.Namespace) -> str | None:
    code: str | None = kdf.generate_code() if args.generate_code else args.code
    if code is None:
        return None
    try:
        # Checked here only to fail before any network; the code itself goes
        # on as typed, pyodide_crypto normalises it.
        kdf.normalize_code(code)
    except ParameterError as exc:
        raise UsageError(f"--code: {exc}") from None
    return code


def _ask_code() -> str:
    try:
        return getpass.getpass("sealpost: code for this share: ")
    except EOFError:
        return ""


def _get_options(args: argparse.Namespace, stdin: TextIO) -> GetOptions:
    link_from_stdin = args.link == "-"
    # Ask only a person at a terminal, and not when the link came from
    # standard input: that stream is taken, and a script would hang.
    can_ask = args.code is None and not link_from_stdin and stdin.isatty()
    return GetOptions(
        link=_read_link(args, stdin),
        out_dir=args.output,
        force=args.force,
        server=args.server,
        code=args.code,
        ask_code=_ask_code if can_ask else None,
    )


def _send_options(args: argparse.Namespace, stdin: TextIO) -> SendOptions:
    server = server_url(args.server)
    code = _send_code(args)
    passphrase = None
    if args.handle is not None:
        source = prompts.passphrase_source(args.passphrase_file)
        if source.from_stdin and str(args.message_file) == "-":
            raise UsageError(
                "only one of --message-file and --passphrase-file can be '-'"
            )
        passphrase = prompts.read_secret(source, stdin)
    elif args.passphrase_file is not None:
        raise UsageError("--passphrase-file goes with --as HANDLE")
    return SendOptions(
        server=server,
        paths=list(args.files),
        message=_read_message(args, stdin),
        expires_in=args.expires,
        max_downloads=args.downloads,
        as_json=args.json,
        code=code,
        show_code=args.generate_code,
        to=list(args.to),
        expect=list(args.expect_fingerprint),
        link=args.link,
        handle=args.handle,
        passphrase=passphrase,
    )


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv``; return the exit status."""
    args = build_parser().parse_args(argv)
    # Messages and names are Unicode whatever the locale says (C08).
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8", errors="backslashreplace")

    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "admin":
            return _admin(args)
        if args.command in staff.COMMANDS:
            staff.run(args, sys.stdin, sys.stdout, sys.stderr)
        elif args.command == "send":
            options = _send_options(args, sys.stdin)
            asyncio.run(send(options, out=sys.stdout, err=sys.stderr))
        else:
            get_options = _get_options(args, sys.stdin)
            asyncio.run(get(get_options, out=sys.stdout, err=sys.stderr))
    except CliError as exc:
        sys.stderr.write(f"sealpost: error: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("sealpost: interrupted\n")
        return EXIT_INTERRUPTED
    return 0


def _serve(args: argparse.Namespace) -> int:
    if getattr(args, "serve_missing", False):
        sys.stderr.write("sealpost: error: the server is not installed here\n")
        return EXIT_USAGE
    from server.main import serve

    result = serve(args)
    return int(result or 0)


def _admin(args: argparse.Namespace) -> int:
    if getattr(args, "serve_missing", False):
        sys.stderr.write("sealpost: error: the server is not installed here\n")
        return EXIT_USAGE
    if admin_cli.is_online(args):
        # Online actions are a client of the HTTP API: they make box keys
        # here, so they need no server code at all.
        admin_cli.run(args, sys.stdin, sys.stdout, sys.stderr)
        return 0
    from server.admin import admin

    return admin(args)


def main() -> None:
    """Entry point of the ``sealpost`` console script."""
    sys.exit(run())
