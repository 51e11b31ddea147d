"""Link and duration parsing of the CLI (client/cli/links.py)."""

from __future__ import annotations

import pytest

from client.cli.errors import EXIT_BAD_LINK, EXIT_USAGE, BadLinkError, UsageError
from client.cli.links import format_bytes, format_duration, parse_duration, parse_link

FRAGMENT = "A" * 43


def test_parse_link_splits_server_id_and_fragment() -> None:
    link = parse_link(f"https://sealpost.example:8443/s/Ab_9-x#{FRAGMENT}")

    assert link.server == "https://sealpost.example:8443"
    assert link.share_id == "Ab_9-x"
    assert link.fragment == FRAGMENT


def test_parse_link_keeps_a_reverse_proxy_prefix() -> None:
    link = parse_link(f"  http://host/sealpost/s/abc#{FRAGMENT}\n")

    assert link.server == "http://host/sealpost"
    assert link.share_id == "abc"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sealpost",
        f"ftp://host/s/abc#{FRAGMENT}",
        f"https:///s/abc#{FRAGMENT}",
        f"https://host/m/abc#{FRAGMENT}",
        f"https://host/s/#{FRAGMENT}",
        f"https://host/s/a.b#{FRAGMENT}",
        f"https://host/s/abc?x=1#{FRAGMENT}",
        f"https://host/s/abc/#{FRAGMENT}",
    ],
)
def test_parse_link_rejects_what_is_not_a_share_link(text: str) -> None:
    with pytest.raises(BadLinkError) as caught:
        parse_link(text)

    assert caught.value.exit_code == EXIT_BAD_LINK


def test_parse_link_without_fragment_says_the_key_is_missing() -> None:
    with pytest.raises(BadLinkError, match="no key"):
        parse_link("https://host/s/abc")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("45s", 45), ("30m", 1800), ("2h", 7200), ("7d", 604800), ("1w", 604800)],
)
def test_parse_duration_units(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0h", "2", "h", "-1d", "1.5h", "2x", "1d2h"])
def test_parse_duration_rejects_bad_text(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_duration(text)

    assert caught.value.exit_code == EXIT_USAGE


@pytest.mark.parametrize(
    ("seconds", "text"), [(45, "45s"), (90, "90s"), (7200, "2h"), (1209600, "2w")]
)
def test_format_duration_uses_the_largest_exact_unit(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text


def test_format_bytes_switches_to_binary_units() -> None:
    assert format_bytes(0) == "0 bytes"
    assert format_bytes(1023) == "1023 bytes"
    assert format_bytes(1536) == "1.5 KiB"
    assert format_bytes(5 * 1024**3) == "5.0 GiB"
