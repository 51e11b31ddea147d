"""Neutralising received file names (client/cli/names.py)."""

from __future__ import annotations

import pytest

from client.cli.names import MAX_NAME_BYTES, neutralise, numbered, split_suffix


@pytest.mark.parametrize(
    "name",
    [
        "vide.txt",
        "é 🤖.txt",
        "Compte-rendu opératoire é 🤖.pdf",
        'rapport "final" v2.pdf',
        "!£$%^&*)(_-+=}{][@'#~?>.‹,|`¬.txt",
        "<img src=x onerror=alert(1)>.txt",
        "👩\u200d⚕️.png",
    ],
)
def test_neutralise_keeps_ordinary_names(name: str) -> None:
    assert neutralise(name) == name


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd", "_.._etc_passwd"),
        ("/etc/passwd", "_etc_passwd"),
        ("..\\..\\win.ini", "_.._win.ini"),
        ("a\x00b.txt", "a_b.txt"),
        ("line\nbreak\t.txt", "line_break_.txt"),
        ("\x1b[31mred.txt", "_[31mred.txt"),
        ("invoice\u202efdp.exe", "invoice_fdp.exe"),
        (".bashrc", "bashrc"),
        ("...hidden", "hidden"),
        (" .x", "x"),
        ("C:evil.txt", "C_evil.txt"),
        ("trailing. . ", "trailing"),
        ("CON", "_CON"),
        ("nul.txt", "_nul.txt"),
        ("", "file"),
        (".", "file"),
        ("..", "file"),
        ("e\u0301.txt", "\u00e9.txt"),
    ],
)
def test_neutralise_replaces_what_is_unsafe(name: str, safe: str) -> None:
    assert neutralise(name) == safe


def test_neutralise_shortens_long_names_keeping_the_extension() -> None:
    safe = neutralise("é" * 300 + ".pdf")

    assert safe.endswith(".pdf")
    assert len(safe.encode("utf-8")) <= MAX_NAME_BYTES
    assert set(safe[:-4]) == {"é"}


def test_neutralise_never_returns_a_path() -> None:
    for name in ["a/b", "/", "\\", "../", "./.", "x/../../y"]:
        safe = neutralise(name)
        assert "/" not in safe and "\\" not in safe
        assert safe not in ("", ".", "..")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.pdf", "report (1).pdf"),
        ("archive.tar.gz", "archive.tar (1).gz"),
        ("README", "README (1)"),
        ("trailing.", "trailing. (1)"),
    ],
)
def test_numbered_inserts_the_number_before_the_extension(
    name: str, expected: str
) -> None:
    assert numbered(name, 1) == expected


def test_split_suffix_without_extension() -> None:
    assert split_suffix("notes") == ("notes", "")
    assert split_suffix("a.b.c") == ("a.b", ".c")
