"""Where and how to send an encrypted answer: a manifest's ``reply_to``.

A share that invites an answer carries, inside its encrypted manifest, the
public key to encrypt the answer to and the mailbox the server should put it
in. Both travel under the share's encryption and the header hash, so the
server can neither swap the key nor learn who may answer whom.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import FormatError, ParameterError
from .keys import PublicKey

#: Mailboxes a reply can go to: a staff account, or a depositor's reply box.
KINDS = frozenset({"account", "reply"})
#: Server ids are short base64url strings; this bounds what a reader accepts.
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_KEYS = frozenset({"key", "suite", "to"})


@dataclass(frozen=True)
class ReplyTo:
    """The reply key and the mailbox (``kind``, server ``id``) it belongs to.

    :raises ParameterError: ``key`` is not a :class:`~.keys.PublicKey`, or
        ``kind`` or ``id`` is not one a server gives out.
    """

    key: PublicKey
    kind: str
    id: str

    def __post_init__(self) -> None:
        if not isinstance(self.key, PublicKey):
            raise ParameterError("reply_to: key must be a keys.PublicKey")
        if self.kind not in KINDS:
            raise ParameterError(f"reply_to: kind must be one of {sorted(KINDS)}")
        if not isinstance(self.id, str) or not _ID.fullmatch(self.id):
            raise ParameterError("reply_to: id must be 1 to 64 base64url characters")

    def to_json(self) -> dict[str, object]:
        """The manifest's ``reply_to`` object."""
        return {**self.key.to_json(), "to": {"id": self.id, "kind": self.kind}}

    @classmethod
    def from_json(cls, value: object) -> ReplyTo:
        """Parse a manifest's ``reply_to`` object, exactly of section 7.2.

        :raises FormatError: any other shape, suite, key, kind or id.
        """
        if not isinstance(value, dict) or set(value) != _KEYS:
            raise FormatError("manifest: bad reply_to")
        to = value["to"]
        if not isinstance(to, dict) or set(to) != {"kind", "id"}:
            raise FormatError("manifest: bad reply_to")
        try:
            key = PublicKey.from_json({"key": value["key"], "suite": value["suite"]})
            return cls(key, to["kind"], to["id"])
        except (FormatError, ParameterError):
            raise FormatError("manifest: bad reply_to") from None
