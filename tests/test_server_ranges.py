"""Parsing of single-range ``Range`` headers."""

from __future__ import annotations

import pytest

from server.errors import RangeNotSatisfiable
from server.ranges import parse_range


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 10, None),
        ("items=0-1", 10, None),
        ("bytes=0-0", 10, (0, 1)),
        ("bytes=0-9", 10, (0, 10)),
        ("bytes=0-99", 10, (0, 10)),
        ("bytes=9-", 10, (9, 10)),
        ("bytes=-1", 10, (9, 10)),
        ("bytes=-10", 10, (0, 10)),
        ("bytes=-50", 10, (0, 10)),
        ("BYTES=2-3", 10, (2, 4)),
        ("bytes= 2-3", 10, (2, 4)),
    ],
)
def test_parse_range_accepts(
    header: str | None, size: int, expected: tuple[int, int] | None
) -> None:
    assert parse_range(header, size) == expected


@pytest.mark.parametrize(
    ("header", "size"),
    [
        ("bytes=10-", 10),
        ("bytes=10-20", 10),
        ("bytes=5-4", 10),
        ("bytes=-0", 10),
        ("bytes=-", 10),
        ("bytes=0-1,3-4", 10),
        ("bytes=a-b", 10),
        ("bytes=0-0", 0),
        ("bytes=-5", 0),
    ],
)
def test_parse_range_refuses(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiable) as refused:
        parse_range(header, size)
    assert refused.value.size == size
