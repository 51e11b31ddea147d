"""The JSON API, in process: every route and every rule of the share lifecycle."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import pytest
from server_support import (
    Clock,
    SentShare,
    assert_unavailable,
    cipher_size,
    claim,
    client_for,
    create,
    make_config,
    new_proof,
    ready_share,
    ticket,
    upload_all,
)

from server.encoding import b64url_encode


async def test_config_publishes_the_configured_limits(tmp_path: Path) -> None:
    config = make_config(tmp_path, max_files=7, downloads_max=19, ticket_seconds=99)
    async with client_for(config) as client:
        response = await client.get("/api/config")
    assert response.status_code == 200
    assert response.json() == config.public_limits()
    assert response.json()["max_files"] == 7


async def test_create_returns_id_token_and_expiry(tmp_path: Path) -> None:
    clock = Clock()
    async with client_for(make_config(tmp_path, clock)) as client:
        sent = await create(client, [10], expires_in=3600, max_downloads=2)
        status = await client.get(f"{sent.base}/status", headers=sent.owner)
    assert sent.expires_at == clock.now + 3600
    assert status.json()["state"] == "pending"
    assert status.json()["max_downloads"] == 2


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"expires_in": 1}, "bad_request"),
        ({"expires_in": "60"}, "bad_request"),
        ({"max_downloads": 0}, "bad_request"),
        ({"max_downloads": True}, "bad_request"),
        ({"claim_verifier": "short"}, "bad_request"),
        ({"claim_verifier": None}, "bad_request"),
        ({"files": "nope"}, "bad_request"),
        ({"files": [{"size": -1}]}, "bad_request"),
        ({"files": [{"size": 56 + 15}]}, "bad_request"),
        ({"files": [{"size": 56 + 16384 + 16}]}, "bad_request"),
        ({"manifest_size": 0}, "bad_request"),
        ({"manifest_size": "1"}, "bad_request"),
    ],
)
async def test_create_refuses_bad_fields(
    tmp_path: Path, change: dict[str, object], code: str
) -> None:
    _, verifier = new_proof()
    body = {"claim_verifier": verifier, "files": [{"size": 100}], "manifest_size": 10}
    body.update(change)
    async with client_for(make_config(tmp_path)) as client:
        response = await client.post("/api/shares", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == code
    assert response.json()["message"]


async def test_create_refuses_bodies_that_are_not_json_objects(tmp_path: Path) -> None:
    async with client_for(make_config(tmp_path)) as client:
        broken = await client.post("/api/shares", content=b"{nope")
        listed = await client.post("/api/shares", json=[1])
    assert broken.status_code == 400 and broken.json()["error"] == "bad_request"
    assert listed.status_code == 400 and listed.json()["error"] == "bad_request"


@pytest.mark.parametrize(
    ("limits", "sizes", "manifest"),
    [
        ({"max_file_bytes": 1000}, [1001], 10),
        ({"max_share_bytes": 1500, "max_file_bytes": 1000}, [800, 800], 10),
        ({"max_files": 2}, [1, 1, 1], 10),
        ({"max_manifest_bytes": 50}, [1], 51),
    ],
)
async def test_create_answers_413_over_the_limits(
    tmp_path: Path, limits: dict[str, int], sizes: list[int], manifest: int
) -> None:
    _, verifier = new_proof()
    body = {
        "claim_verifier": verifier,
        "files": [{"size": cipher_size(n)} for n in sizes],
        "manifest_size": manifest,
    }
    async with client_for(make_config(tmp_path, **limits)) as client:
        response = await client.post("/api/shares", json=body)
    assert response.status_code == 413, response.text
    assert response.json()["error"] == "too_large"


async def test_create_accepts_exactly_the_limit(tmp_path: Path) -> None:
    config = make_config(tmp_path, max_file_bytes=1000, max_share_bytes=1000)
    async with client_for(config) as client:
        sent = await create(client, [1000])
    assert sent.share_id


async def test_upload_is_append_only_and_resumable(tmp_path: Path) -> None:
    async with client_for(make_config(tmp_path)) as client:
        sent = await create(client, [40_000])
        data = sent.files[0]
        url = f"{sent.base}/files/0"

        first = await client.put(
            url, content=data[:1000], headers={**sent.owner, "Upload-Offset": "0"}
        )
        again = await client.put(
            url, content=data[:1000], headers={**sent.owner, "Upload-Offset": "0"}
        )
        status = await client.get(f"{url}/upload", headers=sent.owner)
        rest = await client.put(
            url, content=data[1000:], headers={**sent.owner, "Upload-Offset": "1000"}
        )
        done = await client.get(f"{url}/upload", headers=sent.owner)

    assert first.json() == {"received": 1000}
    assert again.status_code == 409
    assert again.json()["error"] == "offset_mismatch"
    assert again.headers["upload-offset"] == "1000"
    assert status.json() == {"received": 1000, "size": len(data)}
    assert rest.json() == {"received": len(data)}
    assert done.json() == {"received": len(data), "size": len(data)}


async def test_upload_past_the_declared_size_is_refused_and_rolled_back(
    tmp_path: Path,
) -> None:
    async with client_for(make_config(tmp_path)) as client:
        sent = await create(client, [100])
        url = f"{sent.base}/files/0"
        await client.put(
            url, content=b"x" * 10, headers={**sent.owner, "Upload-Offset": "0"}
        )
        too_long = await client.put(
            url,
            content=os.urandom(len(sent.files[0])),
            headers={**sent.owner, "Upload-Offset": "10"},
        )
        status = await client.get(f"{url}/upload", headers=sent.owner)
    assert too_long.status_code == 413
    assert too_long.json()["error"] == "too_large"
    assert status.json()["received"] == 10


async def test_upload_needs_a_numeric_offset(tmp_path: Path) -> None:
    async with client_for(make_config(tmp_path)) as client:
        sent = await create(client, [100])
        missing = await client.put(
            f"{sent.base}/files/0", content=b"x", headers=sent.owner
        )
        negative = await client.put(
            f"{sent.base}/files/0",
            content=b"x",
            headers={**sent.owner, "Upload-Offset": "-1"},
        )
    assert missing.status_code == 400 and missing.json()["error"] == "bad_request"
    assert negative.status_code == 400


async def test_owner_routes_need_the_owner_token(tmp_path: Path) -> None:
    async with client_for(make_config(tmp_path)) as client:
        sent = await create(client, [100])
        other = await create(client, [100])
        no_token = await client.get(f"{sent.base}/status")
        malformed = await client.get(
            f"{sent.base}/status", headers={"Authorization": "Bearer abc"}
        )
        foreign = await client.get(f"{sent.base}/status", headers=other.owner)
        put = await client.put(
            f"{sent.base}/files/0",
            content=b"x",
            headers={**other.owner, "Upload-Offset": "0"},
        )
        revoke = await client.delete(sent.base, headers=other.owner)
        still = await client.get(f"{sent.base}/status", headers=sent.owner)
    assert no_token.status_code == 401
    assert no_token.headers["www-authenticate"] == "Bearer"
    assert malformed.status_code == 401
    for response in (foreign, put, revoke):
        assert_unavailable(response)
    assert still.json()["state"] == "pending"
    # The token is never echoed back in an error.
    assert sent.owner_token not in foreign.text + put.text


async def test_pending_share_is_unavailable_to_recipients(tmp_path: Path) -> None:
    async with client_for(make_config(tmp_path)) as client:
        sent = await create(client, [100])
        await upload_all(client, sent)
        answers = [
            await client.get(sent.base),
            await client.get(f"{sent.base}/manifest"),
            await claim(client, sent),
        ]
    for response in answers:
        assert_unavailable(response)


async def test_finalize_needs_every_file_and_the_manifest(tmp_path: Path) -> None:
    async with client_for(make_config(tmp_path)) as client:
        sent = await create(client, [100, 200])
        put = await client.put(
            f"{sent.base}/files/0",
            content=sent.files[0],
            headers={**sent.owner, "Upload-Offset": "0"},
        )
        early = await client.post(f"{sent.base}/finalize", headers=sent.owner)
        await upload_all_rest(client, sent)
        ready = await client.post(f"{sent.base}/finalize", headers=sent.owner)
        twice = await client.post(f"{sent.base}/finalize", headers=sent.owner)
        late_put = await client.put(
            f"{sent.base}/files/1",
            content=b"x",
            headers={**sent.owner, "Upload-Offset": "0"},
        )
    assert put.status_code == 200
    assert early.status_code == 409 and early.json()["error"] == "incomplete"
    assert ready.json() == {"state": "ready"}
    assert twice.json() == {"state": "ready"}
    assert late_put.status_code == 409 and late_put.json()["error"] == "wrong_state"


async def upload_all_rest(client: httpx.AsyncClient, sent: SentShare) -> None:
    response = await client.put(
        f"{sent.base}/files/1",
        content=sent.files[1],
        headers={**sent.owner, "Upload-Offset": "0"},
    )
    assert response.status_code == 200
    response = await client.put(
        f"{sent.base}/manifest", content=sent.manifest, headers=sent.owner
    )
    assert response.status_code == 200


async def test_manifest_must_be_sent_whole(tmp_path: Path) -> None:
    async with client_for(make_config(tmp_path)) as client:
        sent = await create(client, [10], manifest_size=100)
        short = await client.put(
            f"{sent.base}/manifest", content=sent.manifest[:50], headers=sent.owner
        )
        long = await client.put(
            f"{sent.base}/manifest", content=sent.manifest + b"x", headers=sent.owner
        )
        whole = await client.put(
            f"{sent.base}/manifest", content=sent.manifest, headers=sent.owner
        )
    assert short.status_code == 400 and "100 bytes" in short.json()["message"]
    assert long.status_code == 413
    assert whole.json() == {"received": 100}


async def test_recipient_reads_info_and_manifest_without_counting(
    tmp_path: Path,
) -> None:
    async with client_for(make_config(tmp_path)) as client:
        sent = await ready_share(client, [0, 20_000], max_downloads=1)
        for _ in range(3):
            info = await client.get(sent.base)
            manifest = await client.get(f"{sent.base}/manifest")
            page = await client.get(f"/s/{sent.share_id}")
        status = await client.get(f"{sent.base}/status", headers=sent.owner)

    assert info.json() == {
        "code": None,
        "files": [
            {"index": 0, "size": len(sent.files[0])},
            {"index": 1, "size": len(sent.files[1])},
        ],
        "manifest_size": len(sent.manifest),
        "expires_at": sent.expires_at,
    }
    assert manifest.content == sent.manifest
    assert manifest.headers["content-type"] == "application/octet-stream"
    assert manifest.headers["content-disposition"] == "attachment"
    assert manifest.headers["content-security-policy"] == "sandbox; default-src 'none'"
    assert page.status_code == 200
    assert status.json()["downloads"] == 0


async def test_claim_counts_and_the_ticket_opens_the_blobs(tmp_path: Path) -> None:
    clock = Clock()
    async with client_for(make_config(tmp_path, clock)) as client:
        sent = await ready_share(client, [70_000, 5])
        answer = await claim(client, sent)
        header = {"Sealpost-Ticket": answer.json()["ticket"]}
        blobs = [
            await client.get(f"{sent.base}/files/{i}", headers=header) for i in (0, 1)
        ]
        status = await client.get(f"{sent.base}/status", headers=sent.owner)

    assert answer.status_code == 200
    assert answer.json()["ticket_expires_in"] == 6 * 3600
    assert [b.content for b in blobs] == sent.files
    assert blobs[0].headers["content-length"] == str(len(sent.files[0]))
    assert blobs[0].headers["content-security-policy"] == "sandbox; default-src 'none'"
    assert "content-encoding" not in blobs[0].headers
    assert status.json()["downloads"] == 1
    assert status.json()["claims"] == [clock.now]


async def test_wrong_proof_is_unavailable_and_not_counted(tmp_path: Path) -> None:
    async with client_for(make_config(tmp_path)) as client:
        sent = await ready_share(client, [10])
        wrong = await client.post(
            f"{sent.base}/claim", json={"proof": b64url_encode(os.urandom(32))}
        )
        malformed = await client.post(f"{sent.base}/claim", json={"proof": "xyz"})
        status = await client.get(f"{sent.base}/status", headers=sent.owner)
    assert_unavailable(wrong)
    assert malformed.status_code == 400
    assert status.json()["downloads"] == 0


async def test_unknown_and_impossible_ids_look_alike(tmp_path: Path) -> None:
    async with client_for(make_config(tmp_path)) as client:
        sent = await ready_share(client, [10])
        known = await client.get(sent.base)
        unknown_id = "A" * 22
        answers = [
            await client.get(f"/api/shares/{unknown_id}"),
            await client.get("/api/shares/short-id"),
            await client.get(f"/api/shares/{unknown_id}/manifest"),
            await client.post(
                f"/api/shares/{unknown_id}/claim",
                json={"proof": b64url_encode(sent.proof)},
            ),
        ]
    assert known.status_code == 200
    bodies = {response.text for response in answers}
    for response in answers:
        assert_unavailable(response)
    assert len(bodies) == 1


async def test_blob_needs_a_ticket_for_this_share(tmp_path: Path) -> None:
    async with client_for(make_config(tmp_path)) as client:
        sent = await ready_share(client, [10])
        other = await ready_share(client, [10])
        other_ticket = await ticket(client, other)
        none = await client.get(f"{sent.base}/files/0")
        forged = await client.get(
            f"{sent.base}/files/0", headers={"Sealpost-Ticket": "abc.def.ghi"}
        )
        foreign = await client.get(f"{sent.base}/files/0", headers=other_ticket)
        no_such_file = await client.get(f"{other.base}/files/3", headers=other_ticket)
    for response in (none, forged, foreign):
        assert response.status_code == 403, response.text
        assert response.json()["error"] == "invalid_ticket"
    assert_unavailable(no_such_file)


async def test_ticket_from_another_secret_is_refused(tmp_path: Path) -> None:
    first = make_config(tmp_path, secrets=("one",))
    async with client_for(first) as client:
        sent = await ready_share(client, [10])
        header = await ticket(client, sent)
    rotated = make_config(tmp_path, secrets=("one", "two"))
    async with client_for(rotated) as client:
        still = await client.get(f"{sent.base}/files/0", headers=header)
    replaced = make_config(tmp_path, secrets=("three",))
    async with client_for(replaced) as client:
        refused = await client.get(f"{sent.base}/files/0", headers=header)
    assert still.status_code == 200
    assert refused.status_code == 403


async def test_download_limit_consumes_the_share(tmp_path: Path) -> None:
    async with client_for(make_config(tmp_path)) as client:
        sent = await ready_share(client, [10], max_downloads=2)
        first = await ticket(client, sent)
        await ticket(client, sent)
        third = await claim(client, sent)
        info = await client.get(sent.base)
        # The last claimer can still finish its download.
        blob = await client.get(f"{sent.base}/files/0", headers=first)
        status = await client.get(f"{sent.base}/status", headers=sent.owner)
    assert_unavailable(third)
    assert_unavailable(info)
    assert blob.content == sent.files[0]
    assert status.json()["state"] == "consumed"
    assert status.json()["downloads"] == 2


async def test_concurrent_claims_never_exceed_the_limit(tmp_path: Path) -> None:
    async with client_for(make_config(tmp_path)) as client:
        sent = await ready_share(client, [10], max_downloads=7)
        answers = await asyncio.gather(*(claim(client, sent) for _ in range(60)))
        status = await client.get(f"{sent.base}/status", headers=sent.owner)
    codes = sorted(response.status_code for response in answers)
    assert codes == [200] * 7 + [404] * 53
    assert status.json()["downloads"] == 7
    assert len(status.json()["claims"]) == 7


async def test_expiry_follows_the_injected_clock(tmp_path: Path) -> None:
    clock = Clock()
    async with client_for(make_config(tmp_path, clock)) as client:
        sent = await ready_share(client, [10], expires_in=600)
        header = await ticket(client, sent)
        clock.advance(599)
        before = await client.get(sent.base)
        clock.advance(1)
        answers = [
            await client.get(sent.base),
            await client.get(f"{sent.base}/manifest"),
            await claim(client, sent),
            await client.get(f"{sent.base}/files/0", headers=header),
            await client.get(
                f"{sent.base}/files/0", headers={**header, "Range": "bytes=0-3"}
            ),
        ]
        status = await client.get(f"{sent.base}/status", headers=sent.owner)
    assert before.status_code == 200
    for response in answers:
        assert_unavailable(response)
    assert status.json()["state"] == "expired"


async def test_ticket_expires_after_ticket_seconds(tmp_path: Path) -> None:
    clock = Clock()
    config = make_config(tmp_path, clock, ticket_seconds=100)
    async with client_for(config) as client:
        sent = await ready_share(client, [10])
        header = await ticket(client, sent)
        clock.advance(100)
        fresh = await client.get(f"{sent.base}/files/0", headers=header)
        clock.advance(2)
        old = await client.get(f"{sent.base}/files/0", headers=header)
    assert fresh.status_code == 200
    assert old.status_code == 403 and old.json()["error"] == "invalid_ticket"


async def test_pending_share_cannot_finalize_after_expiry(tmp_path: Path) -> None:
    clock = Clock()
    async with client_for(make_config(tmp_path, clock)) as client:
        sent = await create(client, [10], expires_in=60)
        await upload_all(client, sent)
        clock.advance(60)
        late = await client.post(f"{sent.base}/finalize", headers=sent.owner)
    assert late.status_code == 409 and late.json()["error"] == "wrong_state"


async def test_revoke_ends_the_share_and_deletes_blobs(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    async with client_for(config) as client:
        sent = await ready_share(client, [10, 20])
        header = await ticket(client, sent)
        revoked = await client.delete(sent.base, headers=sent.owner)
        answers = [
            await client.get(sent.base),
            await client.get(f"{sent.base}/manifest"),
            await claim(client, sent),
            await client.get(f"{sent.base}/files/0", headers=header),
        ]
        status = await client.get(f"{sent.base}/status", headers=sent.owner)
    assert revoked.json() == {"state": "revoked"}
    for response in answers:
        assert_unavailable(response)
    assert status.json()["state"] == "revoked"
    assert not (config.data_dir / "blobs" / sent.share_id).exists()


async def test_range_requests_return_206_and_content_range(tmp_path: Path) -> None:
    async with client_for(make_config(tmp_path)) as client:
        sent = await ready_share(client, [50_000])
        header = await ticket(client, sent)
        data = sent.files[0]
        size = len(data)
        url = f"{sent.base}/files/0"
        cases = {
            "bytes=0-0": (0, 1),
            "bytes=100-": (100, size),
            f"bytes=10-{size + 500}": (10, size),
            "bytes=-56": (size - 56, size),
            f"bytes=-{size * 2}": (0, size),
            f"bytes={size - 1}-{size - 1}": (size - 1, size),
        }
        answers = {
            text: await client.get(url, headers={**header, "Range": text})
            for text in cases
        }
        bad = [
            await client.get(url, headers={**header, "Range": text})
            for text in (f"bytes={size}-", "bytes=5-2", "bytes=0-1,5-6", "bytes=x-")
        ]
        other_unit = await client.get(url, headers={**header, "Range": "items=0-1"})
    for text, (start, end) in cases.items():
        response = answers[text]
        assert response.status_code == 206, text
        assert response.content == data[start:end], text
        assert response.headers["content-range"] == f"bytes {start}-{end - 1}/{size}"
        assert response.headers["content-length"] == str(end - start)
    for response in bad:
        assert response.status_code == 416
        assert response.headers["content-range"] == f"bytes */{size}"
        assert response.json()["error"] == "range_not_satisfiable"
    assert other_unit.status_code == 200 and other_unit.content == data


async def test_unknown_routes_and_methods_answer_json(tmp_path: Path) -> None:
    async with client_for(make_config(tmp_path)) as client:
        missing = await client.get("/api/nothing")
        method = await client.patch("/api/shares")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert method.status_code == 405
    assert method.json()["error"] == "method_not_allowed"
