"""HTTP ``Range`` headers for blob downloads (RFC 9110, single ranges only)."""

from __future__ import annotations

import re

from server.errors import RangeNotSatisfiable

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$", re.IGNORECASE)


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """Turn a ``Range`` header into ``(start, end)``, ``end`` exclusive.

    :returns: ``None`` when the whole blob should be sent (no header, or a
        unit other than bytes, which RFC 9110 says to ignore).
    :raises RangeNotSatisfiable: a malformed, multi-part or out-of-bounds
        byte range; clients decrypt exact windows, so we never guess.
    """
    if header is None:
        return None
    text = header.strip()
    if not text.lower().startswith("bytes="):
        return None

    match = _RANGE.match(text.replace(" ", ""))
    if match is None:
        raise RangeNotSatisfiable(size)
    first, last = match.groups()
    if first == "" and last == "":
        raise RangeNotSatisfiable(size)
    if first == "":
        # Suffix range: the last N bytes.
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(size)
        return max(0, size - suffix), size
    start = int(first)
    end = size if last == "" else min(int(last) + 1, size)
    if start >= size or (last != "" and int(last) < start):
        raise RangeNotSatisfiable(size)
    return start, end
