"""Random public identifiers (shares, accounts, boxes, reply boxes)."""

from __future__ import annotations

import secrets


def new_id(nbytes: int) -> str:
    """A random base64url identifier of ``nbytes`` bytes that does not
    start with ``-``.

    People paste ids into command lines, where a leading hyphen reads as
    an option; redrawing the 1 in 64 such ids costs well under one bit.
    """
    while True:
        value = secrets.token_urlsafe(nbytes)
        if not value.startswith("-"):
            return value
