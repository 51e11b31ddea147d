"""server.limits mirrors pyodide_crypto.chunked without importing it."""

from __future__ import annotations

import pytest

from pyodide_crypto import chunked
from pyodide_crypto.errors import FormatError
from server import limits

CHUNK = chunked.CHUNK_SIZE
SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 5 * CHUNK + 7]


def test_limits_constants_match_the_format() -> None:
    assert limits.CHUNK_SIZE == chunked.CHUNK_SIZE
    assert limits.TAG_SIZE == chunked.TAG_SIZE
    assert limits.HEADER_SIZE == chunked.HEADER_SIZE


@pytest.mark.parametrize("plain", SIZES)
def test_limits_agree_with_the_format_on_real_sizes(plain: int) -> None:
    size = chunked.ciphertext_size(plain)
    assert limits.is_ciphertext_size(size)
    assert limits.plaintext_size(size) == plain


@pytest.mark.parametrize("size", range(0, 3 * (CHUNK + 16) + 100, 97))
def test_limits_accept_exactly_the_sizes_the_format_accepts(size: int) -> None:
    try:
        chunked.plaintext_size(size)
    except FormatError:
        possible = False
    else:
        possible = True
    assert limits.is_ciphertext_size(size) is possible


@pytest.mark.parametrize("size", [0, 56, 71, 56 + CHUNK + 16, 56 + CHUNK + 31])
def test_limits_refuse_impossible_sizes(size: int) -> None:
    assert not limits.is_ciphertext_size(size)
