"""Parsing of share links and of the command-line durations."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import BadLinkError, UsageError

_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_DURATION = re.compile(r"([0-9]{1,9})([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass(frozen=True)
class ShareLink:
    """A recipient link ``<server>/s/<id>#<fragment>`` split into its parts."""

    server: str
    share_id: str
    fragment: str


def parse_link(link: str) -> ShareLink:
    """Split a share link; the fragment is checked later by pyodide_crypto.

    :raises BadLinkError: the text is not a Sealpost share link.
    """
    invalid = BadLinkError(
        "this is not a sealpost link (expected https://<server>/s/<id>#<key>)"
    )
    parts = urlsplit(link.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise invalid
    # A prefix before /s/ is allowed so that a server behind a reverse proxy
    # at a sub-path still works.
    prefix, sep, share_id = parts.path.rpartition("/s/")
    if not sep or not _ID.fullmatch(share_id) or parts.query:
        raise invalid
    if not parts.fragment:
        raise BadLinkError("this link has no key (the part after # is missing)")
    server = f"{parts.scheme}://{parts.netloc}{prefix}"
    return ShareLink(server=server, share_id=share_id, fragment=parts.fragment)


def parse_duration(text: str) -> int:
    """Parse ``30m``, ``2h``, ``7d``, ``1w`` (or ``45s``) into seconds.

    :raises UsageError: the text is not a positive duration with a unit.
    """
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None or int(match.group(1)) == 0:
        raise UsageError(f"invalid duration {text!r} (expected e.g. 30m, 2h, 7d or 1w)")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def format_duration(seconds: int) -> str:
    """Render seconds in the largest unit that divides them exactly."""
    for unit in ("w", "d", "h", "m"):
        size = _UNIT_SECONDS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def format_bytes(size: int) -> str:
    """Render a byte count in binary units for messages."""
    if size < 1024:
        return f"{size} bytes"
    value = size / 1024
    for unit in ("KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"
