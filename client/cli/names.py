"""Safe local file names for what a sender named their files.

A sender chooses the names in the manifest, so a hostile one may try to
write outside the output folder (``../x``, ``/etc/x``, ``C:x``), hide a file
(``.bashrc``), disguise its type (bidi overrides), break a terminal (control
characters) or exceed what the file system takes. :func:`neutralise` turns
any name into one plain file name inside the folder; :func:`numbered` gives
the ``name (1).ext`` variants used when a name is taken.
"""

from __future__ import annotations

import re
import unicodedata

#: Stand-in for every character that cannot appear in a saved name.
SUBSTITUTE = "_"
#: Name used when nothing of the sender's name survives.
FALLBACK_NAME = "file"
#: Longest saved name in UTF-8 bytes. File systems allow 255; the rest is
#: room for a " (999)" suffix and for a temporary name built from it.
MAX_NAME_BYTES = 200
#: Longest extension kept apart when a long name is shortened.
_MAX_SUFFIX_BYTES = 16

# Path separators, C0/C1 controls (NUL included), and the invisible
# characters that reorder or hide text: bidi marks, embeddings, overrides
# and isolates. Zero-width joiners stay: emoji names need them.
_UNSAFE = re.compile(
    "[/\\\\\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
_DRIVE = re.compile(r"^[A-Za-z]:")
# Names Windows reserves whatever the extension; harmless here, but a share
# saved on a USB stick and opened on Windows must not break.
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.I)


def neutralise(name: str) -> str:
    """Return a safe single-component file name for ``name``.

    Separators and control or bidi characters become ``_``; a drive prefix
    ``X:`` becomes ``X_``; leading dots and spaces and trailing dots and
    spaces are dropped; Windows device names get a ``_`` prefix; names longer
    than :data:`MAX_NAME_BYTES` are shortened keeping their extension; an
    empty result becomes ``file``. Everything else, Unicode included, stays.
    """
    safe = _UNSAFE.sub(SUBSTITUTE, unicodedata.normalize("NFC", name))
    if _DRIVE.match(safe):
        safe = safe[0] + SUBSTITUTE + safe[2:]
    safe = safe.lstrip(". ").rstrip(". ")
    if _RESERVED.match(safe):
        safe = SUBSTITUTE + safe
    safe = _shorten(safe)
    return safe or FALLBACK_NAME


def split_suffix(name: str) -> tuple[str, str]:
    """Split ``report.tar.pdf`` into ``("report.tar", ".pdf")``."""
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem or not suffix:
        return name, ""
    return stem, "." + suffix


def numbered(name: str, number: int) -> str:
    """``name (number).ext``, the variant used when ``name`` is taken."""
    stem, suffix = split_suffix(name)
    return f"{stem} ({number}){suffix}"


def _shorten(name: str) -> str:
    if len(name.encode("utf-8")) <= MAX_NAME_BYTES:
        return name
    stem, suffix = split_suffix(name)
    if len(suffix.encode("utf-8")) > _MAX_SUFFIX_BYTES:
        stem, suffix = name, ""
    budget = MAX_NAME_BYTES - len(suffix.encode("utf-8"))
    # Cut on a character boundary so no UTF-8 sequence is left half.
    cut = stem.encode("utf-8")[:budget].decode("utf-8", errors="ignore")
    return cut.rstrip(". ") + suffix
