"""Code shares on the server: unlock proofs, attempt counting and locking.

The server never sees the code; it keeps SHA-256 of the unlock proof, serves
the envelope only for the right proof, and locks after the configured number
of wrong ones (docs/format.md, code stanza).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

from server_support import (
    assert_unavailable,
    claim,
    client_for,
    make_config,
    ready_share,
)

from server.encoding import b64url_encode

KDF = {"kdf": "argon2id", "m": 65536, "t": 3, "p": 1}


def _code_fields() -> tuple[bytes, dict[str, object]]:
    unlock = os.urandom(32)
    code = {
        **KDF,
        "salt": b64url_encode(os.urandom(16)),
        "verifier": b64url_encode(hashlib.sha256(unlock).digest()),
    }
    return unlock, code


def _proof(value: bytes) -> dict[str, str]:
    return {"proof": b64url_encode(value)}


async def test_info_publishes_kdf_and_manifest_needs_unlock(tmp_path: Path) -> None:
    unlock, code = _code_fields()
    async with client_for(make_config(tmp_path, code_attempts=3)) as client:
        sent = await ready_share(client, [100], code=code)
        info = (await client.get(sent.base)).json()
        plain_get = await client.get(f"{sent.base}/manifest")
        good = await client.post(f"{sent.base}/unlock", json=_proof(unlock))
        again = await client.post(f"{sent.base}/unlock", json=_proof(unlock))

    assert info["code"] == {
        **KDF,
        "salt": code["salt"],
        "attempts_left": 3,
    }
    assert plain_get.status_code == 403
    assert plain_get.json()["error"] == "code_required"
    assert good.status_code == 200
    assert good.content == sent.manifest
    assert good.headers["content-disposition"] == "attachment"
    # A right proof spends nothing.
    assert again.status_code == 200


async def test_wrong_proofs_count_down_then_lock(tmp_path: Path) -> None:
    unlock, code = _code_fields()
    async with client_for(make_config(tmp_path, code_attempts=3)) as client:
        sent = await ready_share(client, [100], code=code)
        first = await client.post(f"{sent.base}/unlock", json=_proof(os.urandom(32)))
        # The right code after a wrong one still works before the limit.
        right = await client.post(f"{sent.base}/unlock", json=_proof(unlock))
        left = (await client.get(sent.base)).json()["code"]["attempts_left"]
        second = await client.post(f"{sent.base}/unlock", json=_proof(os.urandom(32)))
        third = await client.post(f"{sent.base}/unlock", json=_proof(os.urandom(32)))
        after = await client.post(f"{sent.base}/unlock", json=_proof(unlock))
        info = await client.get(sent.base)
        claimed = await claim(client, sent)
        status = (await client.get(f"{sent.base}/status", headers=sent.owner)).json()

    assert first.status_code == 403
    assert first.json() == {
        "error": "wrong_code",
        "message": "the code does not match this link",
        "attempts_left": 2,
    }
    assert right.status_code == 200
    assert left == 2
    assert second.json()["attempts_left"] == 1
    assert third.json()["attempts_left"] == 0
    for response in (after, info, claimed):
        assert_unavailable(response)
    assert status["state"] == "locked"
    assert status["code"] == {"failures": 3, "attempts": 3}


async def test_concurrent_guesses_never_exceed_the_budget(tmp_path: Path) -> None:
    _, code = _code_fields()
    async with client_for(make_config(tmp_path, code_attempts=5)) as client:
        sent = await ready_share(client, [10], code=code)
        answers = await asyncio.gather(
            *(
                client.post(f"{sent.base}/unlock", json=_proof(os.urandom(32)))
                for _ in range(40)
            )
        )
        status = (await client.get(f"{sent.base}/status", headers=sent.owner)).json()

    wrong = [r for r in answers if r.status_code == 403]
    assert len(wrong) == 5
    assert sorted(r.json()["attempts_left"] for r in wrong) == [0, 1, 2, 3, 4]
    assert all(r.status_code == 404 for r in answers if r not in wrong)
    assert status["code"]["failures"] == 5


async def test_link_shares_have_no_unlock(tmp_path: Path) -> None:
    async with client_for(make_config(tmp_path)) as client:
        sent = await ready_share(client, [10])
        response = await client.post(f"{sent.base}/unlock", json=_proof(sent.proof))
        info = (await client.get(sent.base)).json()
    assert_unavailable(response)
    assert info["code"] is None


async def test_malformed_code_requests_are_refused(tmp_path: Path) -> None:
    _, good = _code_fields()
    bad_codes = [
        {**good, "kdf": "pbkdf2"},
        {**good, "m": 0},
        {**good, "t": True},
        {**good, "salt": b64url_encode(os.urandom(15))},
        {**good, "verifier": "not base64!"},
        {k: v for k, v in good.items() if k != "salt"},
        {**good, "extra": 1},
        "argon2id",
    ]
    async with client_for(make_config(tmp_path)) as client:
        for code in bad_codes:
            response = await client.post(
                "/api/shares",
                json={
                    "claim_verifier": b64url_encode(os.urandom(32)),
                    "files": [],
                    "manifest_size": 100,
                    "code": code,
                },
            )
            assert response.status_code == 400, code
            assert response.json()["error"] == "bad_request"


async def test_config_publishes_attempts(tmp_path: Path) -> None:
    async with client_for(make_config(tmp_path, code_attempts=7)) as client:
        limits = (await client.get("/api/config")).json()
    assert limits["code_attempts"] == 7
