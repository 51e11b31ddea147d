"""Relative paths in a manifest: what a sender may write, how a reader
neutralises what it received, and media types (docs/format.md, 7.2 and 7.3).
"""

from __future__ import annotations

import re
import unicodedata

from .errors import ParameterError

#: UTF-8 bytes; generous next to the 255 bytes most file systems allow.
MAX_NAME_SIZE = 1024
DEFAULT_MEDIA_TYPE = "application/octet-stream"

#: Characters replaced in received file names: path separators and anything
#: that could hide or reorder what the name looks like (C0/C1 controls, bidi
#: marks, overrides and isolates, line and paragraph separators).
_UNSAFE_NAME_CHARS = re.compile(
    "[/\\\\\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
_DRIVE_PREFIX = re.compile("^[A-Za-z]:")
_CONTROL_CHARS = re.compile("[\x00-\x1f\x7f-\x9f]")
NAME_SUBSTITUTE = "_"
#: A bare ``type/subtype`` (RFC 6838 restricted names, no parameters).
_MEDIA_TYPE = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
)

#: Folder levels in a path: deeper trees are refused on both sides.
MAX_PATH_DEPTH = 32
PATH_SEPARATOR = "/"


def safe_path(path: str) -> str:
    """Neutralise a received relative path, segment by segment.

    Each ``/``-separated segment goes through :func:`safe_file_name`, so an
    empty segment, ``.`` or ``..`` becomes ``_`` or ``__`` and nothing can
    climb out of, or start above, the folder it is saved in: ``/etc/x``
    becomes ``_/etc/x`` and ``../../x`` becomes ``__/__/x``.
    """
    return PATH_SEPARATOR.join(
        safe_file_name(segment) for segment in path.split(PATH_SEPARATOR)
    )


def check_path(path: str, what: str = "file name") -> str:
    """Check a relative path a sender puts in a manifest; return it NFC.

    A path is one or more ``/``-separated names. Refused: an empty segment
    (so no absolute path and no ``a//b``), ``.`` and ``..``, a backslash, NUL
    and other control characters, a drive letter (``C:``) at the start, more
    than :data:`MAX_PATH_DEPTH` levels, or more than :data:`MAX_NAME_SIZE`
    UTF-8 bytes.

    :raises ParameterError: with the reason.
    """
    if not isinstance(path, str):
        raise ParameterError(f"{what}: expected str")
    path = unicodedata.normalize("NFC", path)
    if len(utf8(path, what)) > MAX_NAME_SIZE:
        raise ParameterError(f"{what}: longer than {MAX_NAME_SIZE} UTF-8 bytes")
    segments = path.split(PATH_SEPARATOR)
    if len(segments) > MAX_PATH_DEPTH:
        raise ParameterError(f"{what}: more than {MAX_PATH_DEPTH} folder levels")
    if _DRIVE_PREFIX.match(path):
        raise ParameterError(f"{what}: a drive letter is not a relative path")
    for segment in segments:
        if segment in ("", ".", ".."):
            raise ParameterError(
                f"{what}: empty, '.' and '..' path segments are refused: {path!r}"
            )
        if "\\" in segment or _CONTROL_CHARS.search(segment):
            raise ParameterError(
                f"{what}: backslashes and control characters are refused: {path!r}"
            )
    return path


def safe_file_name(name: str) -> str:
    """Neutralise a received file name so that saving it cannot escape a folder.

    ``/``, ``\\``, C0 and C1 controls, bidi controls and line separators each
    become ``_``; a leading drive letter ``X:`` becomes ``X_``; a name that is
    empty, ``.`` or ``..`` becomes ``_``, ``_`` or ``__``. Every other name
    comes back unchanged (quotes, ``<``, ``>``, emoji and the like are text).
    """
    safe = _UNSAFE_NAME_CHARS.sub(NAME_SUBSTITUTE, name)
    if _DRIVE_PREFIX.match(safe):
        safe = safe[0] + NAME_SUBSTITUTE + safe[2:]
    if safe in ("", ".", ".."):
        safe = NAME_SUBSTITUTE * max(1, len(safe))
    return safe


def safe_media_type(media_type: str) -> str:
    """Return ``media_type`` lowercased if it is a bare ``type/subtype``.

    Anything else (parameters, empty, odd characters) becomes
    :data:`DEFAULT_MEDIA_TYPE`.
    """
    if _MEDIA_TYPE.fullmatch(media_type) is None:
        return DEFAULT_MEDIA_TYPE
    return media_type.lower()


def utf8(value: str, what: str) -> bytes:
    """``value`` in UTF-8; :raises ParameterError: lone surrogates."""
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        raise ParameterError(f"{what}: not valid unicode") from None


def check_tree(files: list[str], dirs: list[str]) -> None:
    """Refuse a file where a folder must be.

    Two files with one path are allowed (files picked from two folders often
    share a name); readers make saved names unique.
    """
    folders = set(dirs)
    for path in files:
        parts = path.split(PATH_SEPARATOR)
        folders.update(
            PATH_SEPARATOR.join(parts[:depth]) for depth in range(1, len(parts))
        )
    clash = folders.intersection(files)
    if clash:
        raise ParameterError(f"files: {sorted(clash)[0]!r} is both a file and a folder")
