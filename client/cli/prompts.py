"""Passphrases and activation codes: asked at the terminal or read from files.

Never from a plain argument: the process list and the shell history show
those to others. A file (``-`` for standard input) serves scripts. Nothing
read here is ever printed or put in an error message.
"""

from __future__ import annotations

import getpass
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from pyodide_crypto import accounts
from pyodide_crypto.errors import ParameterError

from .errors import UsageError

#: A file holding the passphrase, for scripts that cannot pass options.
PASSPHRASE_FILE_ENV = "SEALPOST_PASSPHRASE_FILE"
#: Refuse to read more than this from a secret file: a wrong path (a disk
#: image, say) must not be read whole into memory.
MAX_SECRET_FILE_BYTES = 64 * 1024

#: Asks for a secret without echoing it (``getpass`` at a terminal).
Ask = Callable[[str], str]


@dataclass(frozen=True)
class SecretSource:
    """Where one secret comes from: a file, standard input, or the terminal.

    :param path: the file (``-`` is standard input); None asks at the
        terminal.
    :param what: what the secret is called in prompts and errors.
    :param option: the option that names a file for it.
    """

    path: Path | None
    what: str
    option: str

    @property
    def from_stdin(self) -> bool:
        return self.path is not None and str(self.path) == "-"


def passphrase_source(path: Path | None, *, env: bool = True) -> SecretSource:
    """The passphrase's source: ``--passphrase-file``, else the variable."""
    if path is None and env and os.environ.get(PASSPHRASE_FILE_ENV):
        path = Path(os.environ[PASSPHRASE_FILE_ENV])
    return SecretSource(path, "passphrase", "--passphrase-file")


def check_one_stdin(*sources: SecretSource) -> None:
    """Standard input holds at most one secret.

    :raises UsageError: two sources are ``-``.
    """
    if sum(source.from_stdin for source in sources) > 1:
        names = " and ".join(source.option for source in sources)
        raise UsageError(f"only one of {names} can be '-' (standard input)")


def read_secret(source: SecretSource, stdin: TextIO, ask: Ask | None = None) -> str:
    """The secret from its file, or asked once at the terminal.

    :raises UsageError: no file and no terminal, an unreadable file, a file
        of more than one line, or an empty secret.
    """
    if source.path is not None:
        text = _read_file(source, stdin)
    else:
        text = _ask(source, stdin, ask, f"sealpost: {source.what}: ")
    if not text:
        raise UsageError(f"the {source.what} is empty")
    return text


def read_new_passphrase(
    source: SecretSource, stdin: TextIO, ask: Ask | None = None
) -> str:
    """A new passphrase: from its file, or typed twice at the terminal.

    :raises UsageError: see :func:`read_secret`; the two entries differ, or
        the passphrase is too short or has characters a passphrase cannot
        hold.
    """
    if source.path is not None:
        passphrase = read_secret(source, stdin)
    else:
        passphrase = _ask(source, stdin, ask, f"sealpost: new {source.what}: ")
        again = _ask(source, stdin, ask, f"sealpost: new {source.what} again: ")
        # Constant time, out of habit with secrets; nothing is learnt here.
        if not hmac.compare_digest(passphrase.encode(), again.encode()):
            raise UsageError("the two passphrases differ")
    try:
        accounts.check_new_passphrase(passphrase)
    except ParameterError as exc:
        raise UsageError(f"unusable new passphrase: {exc}") from None
    return passphrase


def _ask(source: SecretSource, stdin: TextIO, ask: Ask | None, prompt: str) -> str:
    if ask is None:
        if not stdin.isatty():
            raise UsageError(
                f"no {source.what}: give {source.option} PATH or run at a terminal"
            )
        ask = getpass.getpass
    try:
        return ask(prompt)
    except EOFError:
        return ""


def _read_file(source: SecretSource, stdin: TextIO) -> str:
    assert source.path is not None
    if source.from_stdin:
        text = stdin.readline(MAX_SECRET_FILE_BYTES)
    else:
        try:
            with source.path.open("r", encoding="utf-8", newline="") as handle:
                text = handle.read(MAX_SECRET_FILE_BYTES + 1)
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not UTF-8 text"
            # Not the path: a secret typed where the path belongs must not
            # end up on the screen or in a log.
            raise UsageError(
                f"{source.option}: cannot read the file: {reason}"
            ) from None
        if len(text) > MAX_SECRET_FILE_BYTES:
            raise UsageError(f"{source.option}: the file is too large")
    # One trailing line end is the file's, not the secret's; spaces are kept
    # (a passphrase may begin or end with one).
    for end in ("\r\n", "\n"):
        if text.endswith(end):
            text = text[: -len(end)]
            break
    if "\n" in text or "\r" in text:
        raise UsageError(f"{source.option}: expected the {source.what} on one line")
    return text
