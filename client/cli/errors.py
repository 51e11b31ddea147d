"""The errors the CLI shows to people, each with its own exit status.

Scripts tell failures apart by exit status; people read the message. The
statuses are part of the CLI's interface (README.md lists them): never
renumber one.
"""

from __future__ import annotations

#: Anything else that went wrong (unreadable file, full disk, odd answer).
EXIT_FAILURE = 1
#: Wrong command-line usage (argparse uses 2 as well).
EXIT_USAGE = 2
#: The share is expired, used up, revoked or unknown.
EXIT_UNAVAILABLE = 3
#: The text is not a Sealpost link, its key (after ``#``) is wrong, or the
#: share's second-channel code is wrong, missing or has unsafe settings; or
#: a passphrase, an activation code or the keys held do not fit.
EXIT_BAD_LINK = 4
#: Downloaded data failed authentication: damaged or tampered with.
EXIT_TAMPERED = 5
#: The server could not be reached, or a transfer broke and did not resume.
EXIT_UNREACHABLE = 6
#: A file, the share or the message exceeds the server's limits.
EXIT_TOO_LARGE = 7
#: Interrupted with Ctrl-C (the shell convention 128 + SIGINT).
EXIT_INTERRUPTED = 130

#: The statuses as ``--help`` lists them.
EXIT_HELP = """\
exit status: 0 done, 1 other failure, 2 wrong usage, 3 link unavailable
(expired, used up, revoked, locked), 4 not a sealpost link, wrong key,
wrong or missing code, wrong passphrase or activation code,
5 damaged or tampered data or an unexpected key fingerprint, 6 server
unreachable, 7 over the server's limits or rate limits.
"""


class CliError(Exception):
    """A failure reported as ``sealpost: error: <message>``.

    Messages are short, lowercase and never contain keys, tokens, tickets or
    the link fragment.
    """

    exit_code = EXIT_FAILURE


class UsageError(CliError):
    """The arguments make no sense together (caught before any network)."""

    exit_code = EXIT_USAGE


class UnavailableError(CliError):
    """The share cannot be downloaded any more, or never existed."""

    exit_code = EXIT_UNAVAILABLE


class BadLinkError(CliError):
    """Not a Sealpost link, or the key in its fragment does not fit."""

    exit_code = EXIT_BAD_LINK


class WrongSecretError(CliError):
    """A passphrase or activation code that does not fit, key-derivation
    settings we refuse, or no key for what is to be opened."""

    exit_code = EXIT_BAD_LINK


class TamperedError(CliError):
    """Ciphertext failed authentication; nothing of it was kept."""

    exit_code = EXIT_TAMPERED


class UnreachableError(CliError):
    """The network failed, and retrying did not help."""

    exit_code = EXIT_UNREACHABLE


class TooLargeError(CliError):
    """A limit of the server would be exceeded."""

    exit_code = EXIT_TOO_LARGE
