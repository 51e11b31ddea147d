"""Shares a hostile sender makes: a manifest written by hand, real ciphertext.

pyodide_crypto's sender refuses paths such as ``../x`` before anything is
encrypted, so a journey that checks the receiving side must write the
manifest JSON itself, exactly as a hostile client would, and upload it
through the API. Every file is real ciphertext under its own key, so a
recipient gets as far as saving it.
"""

from __future__ import annotations

import json
import os

import httpx
from owner import run_async

from pyodide_crypto import chunked, envelope, manifest, share
from pyodide_crypto.encoding import b64url_encode

#: The lifetime the hand-made shares ask for, in seconds.
EXPIRES_IN = 3600


async def _seal(
    names: list[str], dirs: list[str], max_downloads: int
) -> tuple[share.ShareSender, bytes, list[bytes], dict[str, bytes]]:
    sender = await share.ShareSender.create()
    header = await sender.seal_header()
    header_hash = await envelope.header_hash(header)
    contents = {name: f"content of {name!r}".encode() for name in names}
    keys = [os.urandom(manifest.FILE_KEY_SIZE) for _ in names]
    blobs = [
        bytes(await chunked.encrypt(key, share.file_context(header_hash, i), data))
        for i, (key, data) in enumerate(zip(keys, contents.values(), strict=True))
    ]
    document: dict[str, object] = {
        "v": 1,
        "message": "",
        "files": [
            {
                "name": name,
                "size": len(contents[name]),
                "type": "text/plain",
                "key": b64url_encode(key),
            }
            for name, key in zip(names, keys, strict=True)
        ],
        "expires_in": EXPIRES_IN,
        "max_downloads": max_downloads,
    }
    if dirs:
        document["dirs"] = dirs
    text = json.dumps(document, ensure_ascii=False).encode()
    padded = manifest.padded_size(len(text))
    plaintext = len(text).to_bytes(4, "big") + text + bytes(padded - 4 - len(text))
    # The share key is private to the sender; a hostile client has its own.
    manifest_key = await manifest.derive_key(sender._share_key)
    sealed = header + bytes(
        await chunked.encrypt(manifest_key, manifest.context(header_hash), plaintext)
    )
    return sender, sealed, blobs, contents


def forged_share(
    client: httpx.Client,
    names: list[str],
    dirs: list[str],
    *,
    max_downloads: int = 5,
) -> tuple[str, dict[str, bytes]]:
    """Upload a share whose manifest lists ``names`` and ``dirs`` verbatim.

    Names must be distinct (each one's content is keyed by it).
    :returns: the recipient link and each name's content.
    """
    assert len(set(names)) == len(names), "names must be distinct"
    sender, sealed, blobs, contents = run_async(_seal(names, dirs, max_downloads))
    created = client.post(
        "/api/shares",
        json={
            "claim_verifier": b64url_encode(sender.claim_verifier),
            "files": [{"size": len(blob)} for blob in blobs],
            "manifest_size": len(sealed),
            "max_downloads": max_downloads,
            "expires_in": EXPIRES_IN,
        },
    )
    assert created.status_code == 201, created.text
    answer = created.json()
    owner = {"Authorization": f"Bearer {answer['owner_token']}"}
    base = f"/api/shares/{answer['id']}"
    for index, blob in enumerate(blobs):
        put = client.put(
            f"{base}/files/{index}",
            content=blob,
            headers={**owner, "Upload-Offset": "0"},
        )
        assert put.status_code == 200, put.text
    put = client.put(f"{base}/manifest", content=sealed, headers=owner)
    assert put.status_code == 200, put.text
    done = client.post(f"{base}/finalize", headers=owner)
    assert done.status_code == 200, done.text
    origin = str(client.base_url).rstrip("/")
    return f"{origin}/s/{answer['id']}#{sender.fragment}", contents
