"""Shared helpers of the tests/test_server_*.py files.

Every helper builds real objects (the app, SQLite, the folder store); the
only seam is the clock, which tests move instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from server.app import create_app
from server.config import REPO_ROOT, Config
from server.encoding import b64url_encode
from server.limits import CHUNK_SIZE, HEADER_SIZE, TAG_SIZE
from server.main import make_server

START_TIME = 1_700_000_000.0


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = START_TIME) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def cipher_size(plain: int) -> int:
    """Ciphertext size of a plaintext of ``plain`` bytes (the format's rule)."""
    return HEADER_SIZE + plain + (plain // CHUNK_SIZE + 1) * TAG_SIZE


def make_config(tmp_path: Path, clock: Clock | None = None, **overrides: Any) -> Config:
    """A config whose data lives under ``tmp_path`` and never builds."""
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "secrets": ("test-secret",),
        "clock": clock or Clock(),
        "cleanup_interval_seconds": 0,
        "build_client": False,
        "expiry_min_seconds": 60,
    }
    values.update(overrides)
    return Config(**values)


@contextlib.asynccontextmanager
async def app_client(
    app: Starlette, base_url: str = "http://sealpost.test"
) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan and hand out an in-process client."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client


@contextlib.asynccontextmanager
async def client_for(config: Config, **stores: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(create_app(config, **stores)) as client:
        yield client


@contextlib.asynccontextmanager
async def live_server(app: Starlette) -> AsyncIterator[str]:
    """Serve ``app`` with real uvicorn on 127.0.0.1 in this event loop.

    The socket listens before uvicorn starts, so a client may connect at
    once: the kernel queues it until uvicorn accepts.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    server = make_server(app)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@dataclass
class SentShare:
    """A share made through the API, with everything the test needs."""

    share_id: str
    owner_token: str
    proof: bytes
    files: list[bytes]
    manifest: bytes
    expires_at: float
    owner: dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"/api/shares/{self.share_id}"


def new_proof() -> tuple[bytes, str]:
    """A random claim proof and the verifier the server stores for it."""
    proof = os.urandom(32)
    return proof, b64url_encode(hashlib.sha256(proof).digest())


async def create(
    client: httpx.AsyncClient,
    plain_sizes: list[int],
    *,
    manifest_size: int = 100,
    **fields: Any,
) -> SentShare:
    """Create a pending share whose files hold random 'ciphertext'.

    The server never decrypts, so random bytes of a valid ciphertext size
    stand for real ciphertext here.
    """
    proof, verifier = new_proof()
    files = [os.urandom(cipher_size(n)) for n in plain_sizes]
    body = {
        "claim_verifier": verifier,
        "files": [{"size": len(data)} for data in files],
        "manifest_size": manifest_size,
        **fields,
    }
    response = await client.post("/api/shares", json=body)
    assert response.status_code == 201, response.text
    answer = response.json()
    token = answer["owner_token"]
    return SentShare(
        share_id=answer["id"],
        owner_token=token,
        proof=proof,
        files=files,
        manifest=os.urandom(manifest_size),
        expires_at=answer["expires_at"],
        owner={"Authorization": f"Bearer {token}"},
    )


async def upload_all(client: httpx.AsyncClient, sent: SentShare) -> None:
    """Upload every file (in two pieces) and the manifest."""
    for index, data in enumerate(sent.files):
        half = len(data) // 2
        for offset, piece in ((0, data[:half]), (half, data[half:])):
            response = await client.put(
                f"{sent.base}/files/{index}",
                content=piece,
                headers={**sent.owner, "Upload-Offset": str(offset)},
            )
            assert response.status_code == 200, response.text
    response = await client.put(
        f"{sent.base}/manifest", content=sent.manifest, headers=sent.owner
    )
    assert response.status_code == 200, response.text


async def ready_share(
    client: httpx.AsyncClient, plain_sizes: list[int], **fields: Any
) -> SentShare:
    """Create, upload and finalize a share."""
    sent = await create(client, plain_sizes, **fields)
    await upload_all(client, sent)
    response = await client.post(f"{sent.base}/finalize", headers=sent.owner)
    assert response.status_code == 200, response.text
    return sent


async def claim(client: httpx.AsyncClient, sent: SentShare) -> httpx.Response:
    return await client.post(
        f"{sent.base}/claim", json={"proof": b64url_encode(sent.proof)}
    )


async def ticket(client: httpx.AsyncClient, sent: SentShare) -> dict[str, str]:
    """Claim one download and return the ticket header."""
    response = await claim(client, sent)
    assert response.status_code == 200, response.text
    return {"Sealpost-Ticket": response.json()["ticket"]}


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 404, response.text
    assert response.json()["error"] == "unavailable"


WEB_FILES = {
    "index.html": "<html>send {{assets}}/js/a.js {{pyodide}}/pyodide.mjs</html>",
    "receive.html": "<html>receive {{assets}} {{pyodide}}</html>",
    "manage.html": "<html>manage {{assets}}</html>",
    "js/app.js": "export const x = 1;\n" * 200,
    "js/sw.js": "self.addEventListener('fetch', () => {});\n",
    "css/site.css": "body { color: black; }\n",
    "i18n/en.json": '{"hello": "Hello"}',
    "py/bridge.py": "VALUE = 1\n",
}


def make_web_tree(root: Path) -> Path:
    """A small client tree with the page placeholders, and a build folder."""
    for name, text in WEB_FILES.items():
        path = root / "web" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    build = root / "web" / "build"
    build.mkdir()
    (build / "pyodide-lock.json").write_text('{"packages": {}}')
    (build / "pyodide_crypto-0.1.0-py3-none-any.whl").write_bytes(b"PK\x03\x04wheel")
    return root / "web"


PYODIDE_DIR = REPO_ROOT / "node_modules" / "pyodide"
QRCODE_DIR = REPO_ROOT / "node_modules" / "qrcode-generator" / "dist"
