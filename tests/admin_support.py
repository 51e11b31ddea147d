"""Helpers of the administration, audit, request, recovery and receipt tests.

They drive the real app in process (account_support.site_for); the clock is
the only seam.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
from account_support import User, activation_body
from server_support import SentShare, cipher_size, new_proof, upload_all

from server.encoding import b64url_encode


async def admin_get(user: User, path: str, **params: Any) -> dict[str, Any]:
    response = await user.client.get(path, params=params)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def audit(user: User, **params: Any) -> list[dict[str, Any]]:
    answer = await admin_get(user, "/api/admin/audit", **params)
    events: list[dict[str, Any]] = answer["events"]
    return events


async def import_csv(user: User, text: str | bytes) -> httpx.Response:
    body = text.encode("utf-8") if isinstance(text, str) else text
    return await user.post(
        "/api/admin/import", content=body, headers={"Content-Type": "text/csv"}
    )


async def activate(client: httpx.AsyncClient, handle: str, code: str) -> dict[str, Any]:
    """Activate through the API with random opaque keys; returns *me*."""
    response = await client.post(
        "/api/activate", json=activation_body(handle, code, os.urandom(32))
    )
    assert response.status_code == 200, response.text
    me: dict[str, Any] = response.json()
    return me


async def user_share(
    user: User,
    plain_sizes: list[int],
    recipients: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> SentShare:
    """A ready share sent by a signed-in user (CSRF header included)."""
    proof, verifier = new_proof()
    files = [os.urandom(cipher_size(n)) for n in plain_sizes]
    body: dict[str, Any] = {
        "claim_verifier": verifier,
        "files": [{"size": len(data)} for data in files],
        "manifest_size": 100,
        **fields,
    }
    if recipients is not None:
        body["recipients"] = recipients
    response = await user.post("/api/shares", json=body)
    assert response.status_code == 201, response.text
    answer = response.json()
    sent = SentShare(
        share_id=answer["id"],
        owner_token=answer["owner_token"],
        proof=proof,
        files=files,
        manifest=os.urandom(100),
        expires_at=answer["expires_at"],
        owner={"Authorization": f"Bearer {answer['owner_token']}"},
    )
    await upload_all(user.client, sent)
    done = await user.client.post(f"{sent.base}/finalize", headers=sent.owner)
    assert done.status_code == 200, done.text
    return sent


def proof_body(sent: SentShare) -> dict[str, str]:
    return {"proof": b64url_encode(sent.proof)}
