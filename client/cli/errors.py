"""The one error type the CLI shows to people."""

from __future__ import annotations


class CliError(Exception):
    """A failure reported as ``sealpost: error: <message>`` with exit status 1.

    Messages are short, lowercase and never contain keys, tokens, tickets or
    the link fragment.
    """
