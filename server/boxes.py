"""Departmental drop boxes: creation, membership, access grants, rotation.

A box has its own key pair, made in a browser; the server stores the public
key and, per member and key version, the private key wrapped to that
member's public key. Adding a member leaves them pending until a member's or
an administrator's browser uploads their wrapped key. Removing members is a
rotation to a new key version wrapped to exactly the active members that
remain, in one transaction, so no deposit can be addressed to a key a
removed member still holds once the removal is answered.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from server.accounts import ref
from server.audit import Audit
from server.config import Config
from server.errors import BadRequest, Forbidden, NotFound
from server.ids import new_id
from server.storage.accounts_base import AccountRecord, AccountState, AccountStore, Role
from server.storage.mail_base import BoxRecord, MailStore, Member, MemberState

logger = logging.getLogger("sealpost.boxes")

BOX_ID_BYTES = 16
# Deposit-page slugs: lowercase ASCII letters, digits and inner hyphens.
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


@dataclass(frozen=True)
class BoxView:
    """A box as a member or administrator sees it."""

    box: BoxRecord
    members: list[tuple[Member, AccountRecord | None]]
    me: Member | None


class BoxService:
    """Box operations; ``actor`` is always the checked session's account."""

    def __init__(
        self,
        config: Config,
        mail: MailStore,
        accounts: AccountStore,
        audit: Audit | None = None,
    ):
        self.config = config
        self.mail = mail
        self.accounts = accounts
        self.audit = audit

    def _now(self) -> float:
        return self.config.clock()

    async def _record(self, type: str, **fields: object) -> None:
        if self.audit is not None:
            await self.audit.record(type, **fields)  # type: ignore[arg-type]

    @staticmethod
    def _require_admin(actor: AccountRecord) -> None:
        if actor.role is not Role.ADMIN:
            raise Forbidden("only an administrator can do this")

    async def _accounts_for(
        self, members: dict[str, str | None]
    ) -> dict[str, AccountRecord]:
        found = await self.accounts.accounts(list(members))
        for account_id, wrapped in members.items():
            record = found.get(account_id)
            if record is None or record.state is AccountState.DISABLED:
                raise NotFound("a member is not a known account")
            if wrapped is not None and record.state is not AccountState.ACTIVE:
                raise BadRequest("only an activated account can get a wrapped key")
        return found

    async def create(
        self,
        actor: AccountRecord,
        *,
        name: str,
        slug: str,
        department: str,
        public_key: str,
        members: dict[str, str | None],
    ) -> BoxRecord:
        """Create a box at key version 1.

        :raises Forbidden: the actor is not an administrator.
        :raises BadRequest: a bad slug or a wrapped key for a pending account.
        :raises Conflict: the slug is taken.
        """
        self._require_admin(actor)
        if not SLUG.match(slug):
            raise BadRequest("slug must be lowercase letters, digits and hyphens")
        await self._accounts_for(members)

        box = BoxRecord(
            box_id=new_id(BOX_ID_BYTES),
            name=name,
            slug=slug,
            department=department,
            version=1,
            public_key=public_key,
            created_at=self._now(),
        )
        await self.mail.create_box(box, members)
        logger.info("Created box %s with %d members.", ref(box.box_id), len(members))
        await self._record(
            "box.created",
            actor=actor.account_id,
            box=box.box_id,
            members=len(members),
            version=1,
        )
        return box

    async def _box(self, box_id: str) -> BoxRecord:
        box = await self.mail.box(box_id)
        if box is None:
            raise NotFound("there is no such box")
        return box

    async def view(self, box_id: str, actor: AccountRecord) -> BoxView:
        """The box with its members, for a member or an administrator.

        :raises NotFound: no such box.
        :raises Forbidden: neither a member nor an administrator.
        """
        box = await self._box(box_id)
        members = await self.mail.members(box_id)
        me = next((m for m in members if m.account_id == actor.account_id), None)
        if me is None and actor.role is not Role.ADMIN:
            raise Forbidden("you are not a member of this box")
        records = await self.accounts.accounts([m.account_id for m in members])
        return BoxView(
            box=box,
            members=[(m, records.get(m.account_id)) for m in members],
            me=me,
        )

    async def _may_grant(self, box_id: str, actor: AccountRecord) -> BoxView:
        view = await self.view(box_id, actor)
        if actor.role is not Role.ADMIN and (
            view.me is None or view.me.state is not MemberState.ACTIVE
        ):
            raise Forbidden("only an active member or an administrator can do this")
        return view

    async def add_member(
        self, box_id: str, actor: AccountRecord, account_id: str
    ) -> bool:
        """Add a pending member (administrators only).

        :returns: ``False`` if the account already was a member.
        """
        self._require_admin(actor)
        await self._box(box_id)
        await self._accounts_for({account_id: None})
        added = await self.mail.add_member(box_id, account_id, now=self._now())
        if added:
            logger.info("Box %s has a new pending member.", ref(box_id))
            await self._record(
                "box.member_added",
                actor=actor.account_id,
                account=account_id,
                box=box_id,
            )
        return added

    async def grant(
        self,
        box_id: str,
        actor: AccountRecord,
        account_id: str,
        *,
        version: int,
        wrapped: str,
    ) -> None:
        """Store a member's wrapped key of one version.

        :raises NotFound: not a member or no such version.
        :raises BadRequest: the member's account is not activated.
        """
        await self._may_grant(box_id, actor)
        await self._accounts_for({account_id: wrapped})
        if not await self.mail.grant(
            box_id, account_id, version=version, wrapped=wrapped
        ):
            raise NotFound("no such member or key version")
        logger.info("Box %s: access granted for version %d.", ref(box_id), version)
        await self._record(
            "box.member_granted",
            actor=actor.account_id,
            account=account_id,
            box=box_id,
            version=version,
        )

    async def rotate(
        self,
        box_id: str,
        actor: AccountRecord,
        *,
        version: int,
        public_key: str,
        remove: set[str],
        wrapped: dict[str, str],
    ) -> None:
        """Remove members and move to a new key version (see the module doc).

        :raises Conflict: the version or the coverage of ``wrapped`` is wrong.
        """
        await self._may_grant(box_id, actor)
        await self.mail.rotate(
            box_id,
            version=version,
            public_key=public_key,
            remove=remove,
            wrapped=wrapped,
            now=self._now(),
        )
        logger.info(
            "Box %s rotated to key version %d, %d members removed.",
            ref(box_id),
            version,
            len(remove),
        )
        if self.audit is not None:
            audit = self.audit
            events = [
                audit.event(
                    "box.member_removed",
                    actor=actor.account_id,
                    account=account_id,
                    box=box_id,
                )
                for account_id in sorted(remove)
            ]
            events.append(
                audit.event(
                    "box.key_rotated",
                    actor=actor.account_id,
                    box=box_id,
                    version=version,
                    removed=len(remove),
                )
            )
            await audit.record_all(events)

    async def by_slug(self, slug: str) -> BoxRecord:
        """What the public deposit page needs.

        :raises NotFound: no box has this slug.
        """
        box = await self.mail.box_by_slug(slug) if SLUG.match(slug) else None
        if box is None:
            raise NotFound("there is no such box")
        return box
