"""What administrators do to accounts: list, add, import, codes, disable,
delete, sessions, and the members waiting for box access.

Every change is written to the audit log with the acting administrator's
id. Importing is one account transaction: a malformed file is refused by
:mod:`server.csv_import` before anything is stored, and loading a file again
stores nothing new (a handle already present is skipped). Box keys are never
made here: departments without a box are reported so that the
administrator's client creates them (the server holds no usable key).
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass, field

from server.accounts import AccountService, ref
from server.audit import Audit
from server.credentials import code_hash, generate_code, handle_key
from server.csv_import import ImportRow
from server.errors import Conflict, NotFound
from server.storage.accounts_base import (
    AccountFilter,
    AccountRecord,
    AccountState,
    Role,
)
from server.storage.mail_base import BoxRecord, MailStore, MemberState

logger = logging.getLogger("sealpost.admin")

SLUG_MAX_CHARS = 64
# Roles that belong in their department's box.
BOX_ROLES = frozenset({Role.STAFF, Role.ADMIN})
# Most accounts one department answer lists.
MAX_DEPARTMENT = 50_000


def _id(actor: AccountRecord | None) -> str | None:
    """The actor's id for the audit log; ``None`` is the admin command."""
    return None if actor is None else actor.account_id


def department_slug(department: str) -> str:
    """The deposit slug of a department's box: ``"Cardiologie B"`` →
    ``cardiologie-b`` (accents dropped; may be empty)."""
    decomposed = unicodedata.normalize("NFKD", department.casefold())
    out: list[str] = []
    for c in decomposed:
        if unicodedata.combining(c):
            continue
        if c.isascii() and c.isalnum():
            out.append(c)
        elif out and out[-1] != "-":
            out.append("-")
    return "".join(out).strip("-")[:SLUG_MAX_CHARS].strip("-")


@dataclass(frozen=True)
class Created:
    record: AccountRecord
    code: str
    phone: str = ""


@dataclass(frozen=True)
class Department:
    """A department of an import: its accounts and its box, if any."""

    name: str
    slug: str
    box: BoxRecord | None
    members: list[str]
    added: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ImportResult:
    created: list[Created]
    existing: list[str]
    duplicates: int
    departments: list[Department]


@dataclass(frozen=True)
class Waiting:
    """A box and its members waiting for the current key."""

    box: BoxRecord
    members: list[tuple[str, AccountRecord | None]]


class Administration:
    """Administrator operations on top of the account service and stores."""

    def __init__(self, accounts: AccountService, mail: MailStore, audit: Audit):
        self.accounts = accounts
        self.store = accounts.store
        self.mail = mail
        self.audit = audit

    def _now(self) -> float:
        return self.accounts.config.clock()

    async def list(self, query: AccountFilter) -> list[AccountRecord]:
        return await self.store.list_accounts(query)

    async def _account(self, account_id: str) -> AccountRecord:
        record = await self.store.account(account_id)
        if record is None:
            raise NotFound("there is no such account")
        return record

    async def add(
        self,
        actor: AccountRecord | None,
        *,
        handle: str,
        name: str,
        department: str,
        role: Role,
    ) -> tuple[Created, Department | None]:
        """One pending account, joined to its department's box if there is one.

        :raises BadRequest: a bad handle.
        :raises Conflict: the handle is taken.
        """
        record, code = await self.accounts.provision(
            handle, name=name, department=department, role=role, actor=_id(actor)
        )
        joined = None
        if department and role in BOX_ROLES:
            joined = await self._department(actor, department, [record.account_id])
        return Created(record, code), joined

    async def import_rows(
        self, actor: AccountRecord | None, rows: list[ImportRow], duplicates: int
    ) -> ImportResult:
        """Create the pending accounts of a parsed file (see the module doc)."""
        made = [
            (
                row,
                *self.accounts.new_pending(
                    row.handle, name=row.name, department=row.department, role=row.role
                ),
            )
            for row in rows
        ]
        stored = set(await self.store.create_accounts([m[1] for m in made]))
        created = [
            Created(record, code, row.phone)
            for row, record, code in made
            if record.handle_key in stored
        ]
        existing = [
            row.handle for row, record, _ in made if record.handle_key not in stored
        ]
        await self.audit.record_all(
            [
                self.audit.event(
                    "account.created",
                    actor=_id(actor),
                    account=c.record.account_id,
                    role=c.record.role.value,
                )
                for c in created
            ]
            + [
                self.audit.event(
                    "accounts.imported",
                    actor=_id(actor),
                    rows=len(rows),
                    created=len(created),
                    existing=len(existing),
                    duplicates=duplicates,
                )
            ]
        )
        logger.info(
            "Imported %d accounts (%d already there).", len(created), len(existing)
        )

        departments = []
        for name in dict.fromkeys(row.department for row in rows):
            departments.append(await self._department(actor, name, None))
        return ImportResult(created, existing, duplicates, departments)

    async def _department(
        self, actor: AccountRecord | None, name: str, only: list[str] | None
    ) -> Department:
        """The department's box members; an existing box gets the missing
        ones as pending members (access is granted by a client later)."""
        records = await self.store.list_accounts(
            AccountFilter(department=name, limit=MAX_DEPARTMENT)
        )
        members = [
            r.account_id
            for r in records
            if r.role in BOX_ROLES
            and r.state is not AccountState.DISABLED
            and (only is None or r.account_id in only)
        ]
        slug = department_slug(name)
        box = await self.mail.box_by_slug(slug) if slug else None
        added: list[str] = []
        if box is not None and members:
            added = await self.mail.add_members(box.box_id, members, now=self._now())
            await self.audit.record_all(
                [
                    self.audit.event(
                        "box.member_added",
                        actor=_id(actor),
                        account=account_id,
                        box=box.box_id,
                    )
                    for account_id in added
                ]
            )
        return Department(name, slug, box, members, added)

    async def add_to_department(
        self, actor: AccountRecord | None, record: AccountRecord
    ) -> Department:
        """Make one account a pending member of its department's box."""
        return await self._department(actor, record.department, [record.account_id])

    async def reissue(self, actor: AccountRecord | None, account_id: str) -> Created:
        """A new activation code for a pending account; the old one dies.

        :raises NotFound: no such account.
        :raises Conflict: the account is not pending.
        """
        await self._account(account_id)
        code = generate_code()
        digest = code_hash(code)
        assert digest is not None
        expires_at = self._now() + self.accounts.config.activation_seconds
        if not await self.store.reissue_code(
            account_id, digest, expires_at=expires_at, now=self._now()
        ):
            raise Conflict("only a pending account gets a new activation code")
        await self.audit.record(
            "account.code_reissued", actor=_id(actor), account=account_id
        )
        updated = await self._account(account_id)
        return Created(updated, code)

    async def set_state(
        self, actor: AccountRecord | None, account_id: str, state: AccountState
    ) -> AccountRecord:
        """Disable (ending its sessions) or enable an activated account.

        :raises NotFound: no such account.
        :raises Conflict: pending or requested, or the actor's own account.
        """
        record = await self._account(account_id)
        if actor is not None and record.account_id == actor.account_id:
            raise Conflict("you cannot disable your own account")
        return await self.accounts.set_state(record.handle, state, actor=_id(actor))

    async def delete(self, actor: AccountRecord | None, account_id: str) -> int:
        """Delete an account, its sessions, inbox entries and memberships.

        :returns: how many box memberships ended.
        :raises Conflict: the actor's own account.
        """
        record = await self._account(account_id)
        if actor is not None and record.account_id == actor.account_id:
            raise Conflict("you cannot delete your own account")
        ended = await self.mail.forget_account(account_id)
        await self.store.delete_account(account_id)
        logger.info("Deleted account %s.", ref(account_id))
        await self.audit.record(
            "account.deleted",
            actor=_id(actor),
            account=account_id,
            memberships=ended,
        )
        return ended

    async def revoke_sessions(
        self, actor: AccountRecord | None, account_id: str
    ) -> int:
        """End every session of an account (all of them, the actor's too if
        it is the actor's own account)."""
        await self._account(account_id)
        ended = await self.store.delete_sessions(account_id)
        await self.audit.record(
            "account.sessions_revoked",
            actor=_id(actor),
            account=account_id,
            sessions=ended,
        )
        return ended

    async def waiting(self) -> list[Waiting]:
        """Per box, the members waiting for access (active or not yet)."""
        rows = await self.mail.pending_members()
        records = await self.store.accounts(list({m.account_id for _, m in rows}))
        boxes: dict[str, Waiting] = {}
        for box, member in rows:
            assert member.state is MemberState.PENDING
            entry = boxes.setdefault(box.box_id, Waiting(box, []))
            entry.members.append((member.account_id, records.get(member.account_id)))
        return list(boxes.values())

    async def by_handle(self, handle: str) -> AccountRecord:
        record = await self.store.account_by_handle(handle_key(handle))
        if record is None:
            raise NotFound("there is no such account")
        return record
