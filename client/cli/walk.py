"""What ``sealpost send`` puts in a share: files and folder trees, as paths.

A file given on the command line travels under its own name; a folder
travels as a tree rooted at the folder's own name (``send exam/`` gives
``exam/a.txt``, ``exam/sub/b.txt``). Every path is checked here with the
manifest's own rule before anything touches the network, so a name the
format refuses stops the command with the path named and nothing uploaded.
"""

from __future__ import annotations

import mimetypes
import os
import stat
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pyodide_crypto import manifest
from pyodide_crypto.errors import ParameterError

from .errors import CliError, UsageError

SEPARATOR = manifest.PATH_SEPARATOR


@dataclass
class LocalFile:
    """A regular file to send and the path it gets in the share."""

    path: Path
    name: str
    size: int
    media_type: str
    index: int = -1


@dataclass
class LocalTree:
    """Files to send, and folders to recreate that no file path implies."""

    files: list[LocalFile] = field(default_factory=list)
    dirs: list[str] = field(default_factory=list)


def collect(paths: list[Path], warn: Callable[[str], None]) -> LocalTree:
    """Turn command-line paths into share paths.

    Symbolic links and special files (sockets, FIFOs, devices) found inside
    a folder are skipped, each with a call to ``warn``: following a link
    could send something the person never meant to share.

    :raises UsageError: a path the manifest format refuses, or two entries
        that would get the same path in the share.
    :raises CliError: a file or folder cannot be read.
    """
    tree = LocalTree()
    folders: list[str] = []
    for path in paths:
        info = _stat(path)
        if stat.S_ISDIR(info.st_mode):
            root = _checked(_root_name(path), path)
            _walk(path, root, tree, folders, warn)
        elif stat.S_ISREG(info.st_mode):
            name = _checked(unicodedata.normalize("NFC", path.name), path)
            tree.files.append(_local_file(path, name, info.st_size))
        else:
            raise CliError(f'"{path}" is not a regular file or a folder')

    _check_unique(tree.files, folders)
    tree.dirs = _leaves(folders, [item.name for item in tree.files])
    # Readers refuse a manifest listing more folders than this, and the
    # server's file limit does not count folders: check it here.
    if len(tree.dirs) > manifest.MAX_FILES:
        raise UsageError(
            f"too many empty folders ({len(tree.dirs)}): a share holds at most "
            f"{manifest.MAX_FILES}"
        )
    return tree


def _walk(
    folder: Path,
    relative: str,
    tree: LocalTree,
    folders: list[str],
    warn: Callable[[str], None],
) -> None:
    folders.append(relative)
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError as exc:
        raise CliError(f'cannot read "{folder}": {exc.strerror or exc}') from None

    for entry in entries:
        path = folder / entry.name
        # Names travel in NFC so that a name typed on macOS (NFD on disk)
        # looks the same to a recipient on any system.
        name = unicodedata.normalize("NFC", entry.name)
        child = _checked(relative + SEPARATOR + name, path)
        try:
            if entry.is_symlink():
                warn(f'skipped the symbolic link "{path}"')
            elif entry.is_dir(follow_symlinks=False):
                _walk(path, child, tree, folders, warn)
            elif entry.is_file(follow_symlinks=False):
                size = entry.stat(follow_symlinks=False).st_size
                tree.files.append(_local_file(path, child, size))
            else:
                warn(f'skipped "{path}": not a regular file or a folder')
        except OSError as exc:
            raise CliError(f'cannot read "{path}": {exc.strerror or exc}') from None


def _stat(path: Path) -> os.stat_result:
    # A path named on the command line is followed if it is a link: the
    # person chose it. Only links met while walking a folder are skipped.
    try:
        return path.stat()
    except OSError as exc:
        raise CliError(f'cannot read "{path}": {exc.strerror or exc}') from None


def _root_name(path: Path) -> str:
    name = path.name
    if name in ("", ".", ".."):
        # "send ." or "send ../": the tree is named after the real folder.
        name = path.resolve().name
    return unicodedata.normalize("NFC", name)


def _checked(name: str, path: Path) -> str:
    try:
        return manifest.check_path(name)
    except ParameterError as exc:
        raise UsageError(f'cannot send "{path}": {exc}') from None


def _local_file(path: Path, name: str, size: int) -> LocalFile:
    leaf = name.rpartition(SEPARATOR)[2]
    media_type = mimetypes.guess_type(leaf)[0] or "application/octet-stream"
    return LocalFile(path=path, name=name, size=size, media_type=media_type)


def _check_unique(files: list[LocalFile], folders: list[str]) -> None:
    """Refuse two entries at one share path, which no recipient could save."""
    seen: dict[str, Path] = {}
    for item in files:
        if item.name in seen:
            raise UsageError(
                f'"{seen[item.name]}" and "{item.path}" would both be '
                f'"{item.name}" in the share: rename one or send their folders'
            )
        seen[item.name] = item.path
    implied = set(folders) | {
        ancestor for item in files for ancestor in _ancestors(item.name)
    }
    clash = sorted(implied.intersection(seen))
    if clash:
        raise UsageError(f'"{clash[0]}" would be both a file and a folder in the share')
    twice = sorted(name for name, n in Counter(folders).items() if n > 1)
    if twice:
        raise UsageError(f'two folders would both be "{twice[0]}" in the share')


def _ancestors(path: str) -> list[str]:
    parts = path.split(SEPARATOR)
    return [SEPARATOR.join(parts[:depth]) for depth in range(1, len(parts))]


def _leaves(folders: list[str], files: list[str]) -> list[str]:
    """Folders that no file or other folder path already creates.

    The recipient creates every parent of a path, so only folders that
    would otherwise be lost (empty ones, or ones whose content was skipped)
    need a manifest entry; that keeps the manifest small for big trees.
    """
    implied = {a for path in [*folders, *files] for a in _ancestors(path)}
    return sorted(set(folders) - implied)
