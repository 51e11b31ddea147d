"""The receipt interface: which claim of a share downloaded which file, when.

A claim is labelled with the recipient's account id when a signed-in
recipient of an addressed share made it; otherwise it has no label (a link
claim, known only by its number). No address, no user agent, nothing else.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass


@dataclass(frozen=True)
class ClaimReceipt:
    """One claim: who (if known), and each file's first complete download."""

    claim: int
    recipient_id: str | None
    files: dict[int, float]


class ReceiptStore(abc.ABC):
    @abc.abstractmethod
    async def open(self) -> None:
        """Connect and create the schema if needed."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections."""

    @abc.abstractmethod
    async def claimed(
        self, share_id: str, claim: int, recipient_id: str | None
    ) -> None:
        """Label claim number ``claim`` of a share."""

    @abc.abstractmethod
    async def served(self, share_id: str, claim: int, index: int, at: float) -> None:
        """A file was served to its last byte under the claim's ticket; only
        the first time counts."""

    @abc.abstractmethod
    async def receipts(self, share_id: str) -> list[ClaimReceipt]:
        """Every labelled or downloading claim of a share, by number."""

    @abc.abstractmethod
    async def share_ids(self) -> list[str]:
        """Every share that has receipts."""

    @abc.abstractmethod
    async def forget(self, share_ids: list[str]) -> None:
        """Drop the receipts of shares whose metadata is gone."""
