"""Download tickets: short-lived signed proofs that a download was claimed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from itsdangerous.timed import TimestampSigner

from server.errors import InvalidTicket

TICKET_SALT = "sealpost.download-ticket"


class ClockSigner(TimestampSigner):
    """A TimestampSigner that reads time from the server's injectable clock."""

    def __init__(self, *args: Any, clock: Callable[[], float], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clock = clock

    def get_timestamp(self) -> int:
        return int(self._clock())


class Tickets:
    """Issues and checks tickets bound to one share and one claim number.

    :param secrets: signing secrets, oldest first; the last one signs, all
        of them verify, which lets an operator rotate the secret.
    :param max_age: seconds a ticket stays valid.
    :param clock: returns the current time in seconds.
    """

    def __init__(
        self,
        secrets: tuple[str, ...],
        *,
        max_age: int,
        clock: Callable[[], float],
    ) -> None:
        self._max_age = max_age
        self._serializer = URLSafeTimedSerializer(
            list(secrets),
            salt=TICKET_SALT,
            signer=ClockSigner,
            signer_kwargs={"clock": clock},
        )

    @property
    def max_age(self) -> int:
        return self._max_age

    def issue(self, share_id: str, claim: int) -> str:
        """Sign a ticket for claim number ``claim`` of ``share_id``."""
        return str(self._serializer.dumps({"s": share_id, "c": claim}))

    def check(self, ticket: str | None, share_id: str) -> int:
        """Return the claim number carried by a valid ticket for ``share_id``.

        :raises InvalidTicket: missing, forged, expired, or for another share.
        """
        if not ticket:
            raise InvalidTicket("a download ticket is required")
        try:
            payload = self._serializer.loads(ticket, max_age=self._max_age)
        except BadSignature as exc:
            # Covers SignatureExpired too: the client must claim again.
            raise InvalidTicket() from exc
        if (
            not isinstance(payload, dict)
            or payload.get("s") != share_id
            or not isinstance(payload.get("c"), int)
        ):
            raise InvalidTicket()
        return int(payload["c"])
