"""Where ``sealpost get`` may write: folders inside the output folder only.

Received paths are ``/``-separated and already neutralised by
pyodide_crypto (no ``..``, no absolute path); each segment is neutralised
again as a local file name (:func:`names.neutralise`). That alone cannot
stop a symbolic link already present in the output folder from leading a
write elsewhere, so every folder on the way is checked with ``lstat``: a
link is refused, never followed, and the result must still resolve inside
the output folder.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from . import names
from .errors import CliError

SEPARATOR = "/"


def split(path: str) -> tuple[list[str], str]:
    """Local folder segments and file name for a received path."""
    segments = [names.neutralise(part) for part in path.split(SEPARATOR)]
    return segments[:-1], segments[-1]


def folder_segments(path: str) -> list[str]:
    """Local folder segments for a received folder path."""
    return [names.neutralise(part) for part in path.split(SEPARATOR)]


class Target:
    """The output folder of one ``get`` run and the folders made in it.

    TODO: a local user who can write in the output folder could still swap
    a checked folder for a link between the check and the write; closing
    that needs ``openat``-style calls (``dir_fd``), which Windows lacks.
    It can go once the CLI writes through directory descriptors.
    """

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._made: dict[tuple[str, ...], Path] = {(): self.root}

    def check(self, segments: list[str]) -> None:
        """Refuse, without creating anything, a path that could not be made.

        Run for every path before the download is claimed, so a refusal
        costs the recipient no download.

        :raises CliError: a segment exists as a link or as a non-folder.
        """
        current = self.root
        for depth, segment in enumerate(segments, start=1):
            current = current / segment
            info = _lstat(current)
            if info is None:
                return
            _require_folder(info, segments[:depth], self.root)

    def folder(self, segments: list[str]) -> Path:
        """Create (if needed) and return the folder ``segments`` below the root.

        :raises CliError: a segment is a link or a file, the folder resolves
            outside the root, or it cannot be created.
        """
        key = tuple(segments)
        if key in self._made:
            return self._made[key]
        parent = self.folder(segments[:-1])
        current = parent / segments[-1]
        info = _lstat(current)
        if info is None:
            try:
                # Owner only, like the saved files (mode 0600).
                os.mkdir(current, 0o700)
            except FileExistsError:
                pass  # made meanwhile: the check below decides
            except OSError as exc:
                raise CliError(
                    f'cannot create the folder "{_shown(segments)}" in '
                    f'"{self.root}": {exc.strerror or exc}'
                ) from None
            info = _lstat(current)
        if info is None:
            raise CliError(f'cannot create the folder "{_shown(segments)}"')
        _require_folder(info, segments, self.root)
        if not current.resolve().is_relative_to(self.root):
            raise CliError(
                f'refusing "{_shown(segments)}": it leads outside "{self.root}"'
            )
        self._made[key] = current
        return current


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CliError(f'cannot inspect "{path}": {exc.strerror or exc}') from None


def _require_folder(info: os.stat_result, segments: list[str], root: Path) -> None:
    if stat.S_ISLNK(info.st_mode):
        raise CliError(
            f'refusing to save through the symbolic link "{_shown(segments)}" '
            f'in "{root}"; nothing was written there'
        )
    if not stat.S_ISDIR(info.st_mode):
        raise CliError(
            f'cannot create the folder "{_shown(segments)}" in "{root}": '
            "a file of that name exists"
        )


def _shown(segments: list[str]) -> str:
    # Segments went through names.neutralise: no controls or bidi marks left.
    return SEPARATOR.join(segments)
