"""Shared helpers of the tests/test_cli*.py files.

The server is ``python -m server`` on 127.0.0.1 and a free port with its own
data folder. The CLI runs as a separate process exactly as a person runs it,
so exit statuses, stdout and stderr are what is checked.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "client.cli"]
#: Bound for one CLI run (a few megabytes over loopback).
CLI_TIMEOUT_SECONDS = 120
#: How long a server may take to answer /api/config after it starts.
STARTUP_SECONDS = 60.0


@dataclass
class Server:
    """A running server and what tests need to know of it."""

    base_url: str
    data_dir: Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(base_url: str, alive: Callable[[], bool]) -> None:
    """Poll /api/config until it answers; ``alive()`` False ends the wait."""
    deadline = time.monotonic() + STARTUP_SECONDS
    with httpx.Client(base_url=base_url, timeout=2.0) as client:
        while True:
            if not alive():
                raise RuntimeError("the server stopped while starting")
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not answer /api/config")
            try:
                if client.get("/api/config").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)  # readiness polling interval, not a test timing


@contextlib.contextmanager
def running_server(root: Path, env: dict[str, str] | None = None) -> Iterator[Server]:
    """Run ``python -m server`` with data under ``root`` and extra ``env``."""
    data_dir = root / "data"
    port = free_port()
    full_env = {
        **os.environ,
        "SEALPOST_HOST": "127.0.0.1",
        "SEALPOST_PORT": str(port),
        "SEALPOST_DATA_DIR": str(data_dir),
        **(env or {}),
    }
    log_path = root / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "server"],
            cwd=ROOT,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base_url, lambda: process.poll() is None)
    except RuntimeError:
        process.kill()
        process.wait()
        raise RuntimeError(log_path.read_text(errors="replace")) from None
    try:
        yield Server(base_url, data_dir)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def sealpost(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI; output decoded as UTF-8 whatever the locale."""
    return subprocess.run(
        [*CLI, *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        encoding="utf-8",
        timeout=CLI_TIMEOUT_SECONDS,
        env={**os.environ, **(env or {})},
        check=False,
    )


def send_ok(server: Server, *args: str) -> str:
    result = sealpost("send", "--server", server.base_url, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def make_file(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def listing(folder: Path) -> list[str]:
    """Every entry of ``folder``, hidden temporary files included."""
    return sorted(os.listdir(folder)) if folder.exists() else []


def share_id(link: str) -> str:
    return link.split("#")[0].rsplit("/s/", 1)[1]
