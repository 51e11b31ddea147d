"""Progress lines on stderr, shown only to a person at a terminal."""

from __future__ import annotations

from typing import TextIO

from .links import format_bytes

# Redraw at most once per this many percent, so a fast transfer of a big file
# does not flood the terminal.
_STEP_PERCENT = 1


class Progress:
    """One line per file, redrawn in place; silent when ``err`` is no TTY."""

    def __init__(self, err: TextIO, label: str, total: int) -> None:
        self._err = err
        self._enabled = err.isatty()
        self._label = label
        self._total = total
        self._shown = -1

    def update(self, done: int) -> None:
        """Report ``done`` bytes out of the total."""
        if not self._enabled:
            return
        # A 0-byte file is complete as soon as it starts: never divide by 0.
        percent = 100 if self._total == 0 else min(100, done * 100 // self._total)
        if percent < self._shown + _STEP_PERCENT and percent != 100:
            return
        self._shown = percent
        self._err.write(
            f"\r{self._label}: {percent:3d}% of {format_bytes(self._total)}"
        )
        self._err.flush()

    def finish(self) -> None:
        """End the line (also after a failure, so errors start on a new line)."""
        if self._enabled and self._shown >= 0:
            self._err.write("\n")
            self._err.flush()
