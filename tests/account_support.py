"""Helpers of the account, session, box and inbox tests.

The server treats every key as opaque, so random bytes of the right sizes
stand for public keys, wrapped keys and auth secrets here; the real ones are
made by pyodide_crypto in the browser.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from server_support import cipher_size, new_proof
from starlette.applications import Starlette

from server.accounts import AccountService
from server.app import create_app
from server.config import Config
from server.encoding import b64url_encode
from server.storage.accounts_base import Role

BASE_URL = "http://sealpost.test"


def b64(size: int) -> str:
    return b64url_encode(os.urandom(size))


def kdf_params() -> dict[str, object]:
    return {"kdf": "argon2id", "m": 65536, "t": 3, "p": 1, "salt": b64(16)}


def public_key() -> dict[str, object]:
    return {"alg": "X25519", "key": b64(32), "fingerprint": b64(16)}


def wrapped_key() -> dict[str, object]:
    return {"alg": "hpke-x25519", "enc": b64(32), "ct": b64(48)}


def activation_body(handle: str, code: str, auth: bytes) -> dict[str, Any]:
    return {
        "handle": handle,
        "code": code,
        "kdf": kdf_params(),
        "auth": b64url_encode(auth),
        "account_key": {"nonce": b64(12), "ct": b64(48)},
        "public_key": public_key(),
        "private_key": {"nonce": b64(12), "ct": b64(64)},
    }


@dataclass
class User:
    """An activated account with its own cookie jar."""

    client: httpx.AsyncClient
    account_id: str
    handle: str
    auth: bytes
    csrf: str
    me: dict[str, Any]

    @property
    def csrf_header(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf}

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.csrf_header, **kwargs.pop("headers", {})}
        return await self.client.post(path, headers=headers, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.csrf_header, **kwargs.pop("headers", {})}
        return await self.client.put(path, headers=headers, **kwargs)


class Site:
    """A running app; hands out clients with separate cookie jars."""

    def __init__(self, app: Starlette, stack: contextlib.AsyncExitStack) -> None:
        self.app = app
        self._stack = stack

    @property
    def accounts(self) -> AccountService:
        service: AccountService = self.app.state.accounts
        return service

    async def client(self, address: str = "127.0.0.1") -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=(address, 40000))
        return await self._stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url=BASE_URL)
        )

    async def provision(
        self, handle: str, *, role: Role = Role.STAFF, name: str | None = None
    ) -> str:
        _, code = await self.accounts.provision(
            handle, name=name or f"Name of {handle}", department="Cardiology", role=role
        )
        return code

    async def user(
        self, handle: str, *, role: Role = Role.STAFF, address: str = "127.0.0.1"
    ) -> User:
        """Provision and activate an account through the API."""
        code = await self.provision(handle, role=role)
        client = await self.client(address)
        auth = os.urandom(32)
        response = await client.post(
            "/api/activate", json=activation_body(handle, code, auth)
        )
        assert response.status_code == 200, response.text
        me = response.json()
        return User(
            client=client,
            account_id=me["account"]["id"],
            handle=handle,
            auth=auth,
            csrf=me["csrf_token"],
            me=me,
        )


@contextlib.asynccontextmanager
async def site_for(config: Config) -> AsyncIterator[Site]:
    app = create_app(config)
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        yield Site(app, stack)


def share_body(
    recipients: list[dict[str, Any]] | None = None,
    *,
    plain_sizes: tuple[int, ...] = (100,),
    manifest_size: int = 100,
) -> dict[str, Any]:
    """A share creation body; ``files`` and ``manifest`` sizes to upload."""
    _, verifier = new_proof()
    body: dict[str, Any] = {
        "claim_verifier": verifier,
        "files": [{"size": cipher_size(n)} for n in plain_sizes],
        "manifest_size": manifest_size,
    }
    if recipients is not None:
        body["recipients"] = recipients
    return body


async def send_share(
    client: httpx.AsyncClient,
    recipients: list[dict[str, Any]] | None,
    *,
    headers: dict[str, str] | None = None,
    finalize: bool = True,
    plain_sizes: tuple[int, ...] = (100,),
) -> dict[str, Any]:
    """Create (and by default upload and finalize) an addressed share.

    :returns: the creation answer plus ``owner`` headers.
    """
    body = share_body(recipients, plain_sizes=plain_sizes)
    response = await client.post("/api/shares", json=body, headers=headers or {})
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    owner = {"Authorization": f"Bearer {answer['owner_token']}"}
    answer["owner"] = owner
    if not finalize:
        return answer
    base = f"/api/shares/{answer['id']}"
    for index, item in enumerate(body["files"]):
        put = await client.put(
            f"{base}/files/{index}",
            content=os.urandom(item["size"]),
            headers={**owner, "Upload-Offset": "0"},
        )
        assert put.status_code == 200, put.text
    put = await client.put(
        f"{base}/manifest", content=os.urandom(body["manifest_size"]), headers=owner
    )
    assert put.status_code == 200, put.text
    done = await client.post(f"{base}/finalize", headers=owner)
    assert done.status_code == 200, done.text
    return answer


async def make_box(
    admin: User,
    slug: str,
    members: list[User],
    *,
    pending: tuple[User, ...] = (),
) -> dict[str, Any]:
    """Create a box with ``members`` active and ``pending`` waiting."""
    response = await admin.post(
        "/api/boxes",
        json={
            "name": f"Box {slug}",
            "slug": slug,
            "department": "Cardiology",
            "public_key": public_key(),
            "members": [
                {"account_id": u.account_id, "wrapped": wrapped_key()} for u in members
            ]
            + [{"account_id": u.account_id} for u in pending],
        },
    )
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer
