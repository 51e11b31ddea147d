"""The SQLite account and mail stores under concurrency: two store objects on
one file stand for two server processes."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.errors import Conflict, QuotaFull
from server.storage.accounts_base import (
    AccountRecord,
    AccountState,
    Credentials,
    Role,
)
from server.storage.accounts_sqlite import SQLiteAccountStore
from server.storage.mail_base import (
    AddressedShare,
    BoxRecord,
    Quota,
    Recipient,
    RecipientKind,
)
from server.storage.mail_sqlite import SQLiteMailStore

CODE_HASH = hashlib.sha256(b"code").digest()


def _credentials(tag: str) -> Credentials:
    return Credentials(
        kdf="{}",
        auth_salt=b"s" * 16,
        auth_hash=hashlib.sha256(tag.encode()).digest(),
        account_key="{}",
        public_key="{}",
        private_key="{}",
    )


def _pending(account_id: str, handle: str) -> AccountRecord:
    return AccountRecord(
        account_id=account_id,
        handle=handle,
        handle_key=handle,
        name=handle,
        department="",
        role=Role.STAFF,
        state=AccountState.PENDING,
        created_at=0.0,
        updated_at=0.0,
        activation_hash=CODE_HASH,
        activation_expires_at=100.0,
    )


@contextlib.asynccontextmanager
async def _two(kind: type, path: Path) -> AsyncIterator[tuple[object, object]]:
    first, second = kind(path), kind(path)
    await first.open()
    await second.open()
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


async def test_an_activation_code_works_once_across_processes(tmp_path: Path) -> None:
    async with _two(SQLiteAccountStore, tmp_path / "db") as (one, two):
        assert isinstance(one, SQLiteAccountStore)
        assert isinstance(two, SQLiteAccountStore)
        await one.create_account(_pending("id1", "ana"), first=False)
        results = await asyncio.gather(
            *(
                store.activate(
                    "ana", CODE_HASH, now=1.0, credentials=_credentials(str(n))
                )
                for n, store in enumerate([one, two] * 5)
            )
        )
    assert sum(r is not None for r in results) == 1


async def test_the_attempt_budget_holds_under_a_concurrent_burst(
    tmp_path: Path,
) -> None:
    async with _two(SQLiteAccountStore, tmp_path / "db") as (one, two):
        assert isinstance(one, SQLiteAccountStore)
        assert isinstance(two, SQLiteAccountStore)
        results = await asyncio.gather(
            *(
                store.consume(["b"], now=10.0, window=60, limit=3)
                for store in [one, two] * 10
            )
        )
    counted = [ids for wait, ids in results if wait is None]
    assert len(counted) == 3
    assert all(wait == 60 for wait, _ in results if wait is not None)


async def test_released_attempts_free_their_slots(tmp_path: Path) -> None:
    store = SQLiteAccountStore(tmp_path / "db")
    await store.open()
    try:
        _, ids = await store.consume(["a", "b"], now=0.0, window=60, limit=1)
        full, none = await store.consume(["b"], now=1.0, window=60, limit=1)
        await store.release(ids)
        again, _ = await store.consume(["a", "b"], now=2.0, window=60, limit=1)
    finally:
        await store.close()
    assert (full, none) == (59.0, [])
    assert again is None


def _box(box_id: str) -> BoxRecord:
    return BoxRecord(box_id, "Box", box_id, "", 1, "{}", 0.0)


async def test_concurrent_rotations_to_the_same_version_one_wins(
    tmp_path: Path,
) -> None:
    async with _two(SQLiteMailStore, tmp_path / "db") as (one, two):
        assert isinstance(one, SQLiteMailStore)
        assert isinstance(two, SQLiteMailStore)
        await one.create_box(_box("b1"), {"a": "{}", "b": "{}"})
        results = await asyncio.gather(
            one.rotate(
                "b1",
                version=2,
                public_key="{}",
                remove={"b"},
                wrapped={"a": "{}"},
                now=1,
            ),
            two.rotate(
                "b1",
                version=2,
                public_key="{}",
                remove={"a"},
                wrapped={"b": "{}"},
                now=1,
            ),
            return_exceptions=True,
        )
        members = await one.members("b1")
    assert sum(isinstance(r, Conflict) for r in results) == 1
    assert len(members) == 1


async def test_quota_holds_under_concurrent_deposits(tmp_path: Path) -> None:
    async with _two(SQLiteMailStore, tmp_path / "db") as (one, two):
        assert isinstance(one, SQLiteMailStore)
        assert isinstance(two, SQLiteMailStore)
        await one.create_box(_box("b1"), {})
        to_box = [Recipient(RecipientKind.BOX, "b1")]
        results = await asyncio.gather(
            *(
                store.address(
                    AddressedShare(f"s{n}", None, 0.0, 100.0, 1, 10),
                    to_box,
                    quota=Quota(count=4, size=1000),
                    now=1.0,
                )
                for n, store in enumerate([one, two] * 5)
            ),
            return_exceptions=True,
        )
    assert sum(r is None for r in results) == 4
    assert all(isinstance(r, QuotaFull) for r in results if r is not None)


async def test_a_stale_box_key_version_is_refused(tmp_path: Path) -> None:
    store = SQLiteMailStore(tmp_path / "db")
    await store.open()
    try:
        await store.create_box(_box("b1"), {})
        with pytest.raises(Conflict):
            await store.address(
                AddressedShare("s", None, 0.0, 100.0, 1, 10),
                [Recipient(RecipientKind.BOX, "b1", key_version=2)],
                quota=None,
                now=1.0,
            )
        assert await store.deliver("s") == 0
    finally:
        await store.close()
