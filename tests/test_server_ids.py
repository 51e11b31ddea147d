"""Public ids never start with a hyphen (they are pasted on command lines)."""

from __future__ import annotations

import pytest

from server import ids


def test_new_id_redraws_an_id_that_would_read_as_an_option(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    drawn = iter(["-looksLikeAnOption", "--also", "fine-id_"])
    monkeypatch.setattr(ids.secrets, "token_urlsafe", lambda nbytes: next(drawn))

    assert ids.new_id(16) == "fine-id_"


def test_new_id_has_the_size_asked_for() -> None:
    values = {ids.new_id(16) for _ in range(200)}

    assert len(values) == 200
    assert all(len(v) == 22 and not v.startswith("-") for v in values)
