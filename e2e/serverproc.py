"""Run the real Sealpost server as a subprocess, for journeys and benchmarks.

The server binds 127.0.0.1 on a free port with its own data directory; start
returns once ``/api/config`` answers, so callers never guess a delay.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

#: How long the server may take to answer /api/config after it starts.
STARTUP_SECONDS = 60.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningServer:
    """A Sealpost server subprocess and what the journeys need to know of it."""

    base_url: str
    data_dir: Path
    config: dict[str, Any]
    process: subprocess.Popen[bytes]
    log_path: Path

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` on this server."""
        return self.base_url + path

    def client(self) -> httpx.Client:
        """A plain HTTP client for this server (the caller closes it)."""
        return httpx.Client(base_url=self.base_url, timeout=30.0)


def start_server(tmp_root: Path, name: str, extra_env: dict[str, str]) -> RunningServer:
    """Start a server with its data under ``tmp_root`` and wait until it answers.

    :param name: a short label for its data directory and log file.
    :param extra_env: SEALPOST_* settings (limits) for this server.
    :raises RuntimeError: the process exits or does not answer in time.
    """
    data_dir = tmp_root / f"{name}-data"
    data_dir.mkdir()
    log_path = tmp_root / f"{name}.log"
    port = _free_port()
    env = dict(os.environ)
    env.update(
        {
            # Address and data go by environment, which every entry point
            # (`python -m server`, `sealpost serve`) reads the same way.
            "SEALPOST_HOST": "127.0.0.1",
            "SEALPOST_PORT": str(port),
            "SEALPOST_DATA_DIR": str(data_dir),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra_env)
    command = [str(PYTHON), "-m", "server"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    base_url = f"http://127.0.0.1:{port}"

    # Poll /api/config until it answers: that is the server's readiness, and
    # a dead process ends the wait at once with its log.
    deadline = time.monotonic() + STARTUP_SECONDS
    config: dict[str, Any] | None = None
    with httpx.Client(base_url=base_url, timeout=2.0) as client:
        while config is None:
            if process.poll() is not None:
                log_text = log_path.read_text(errors="replace")
                raise RuntimeError(
                    f"server {name} exited with {process.returncode}:\n{log_text}"
                )
            if time.monotonic() > deadline:
                process.kill()
                process.wait()
                raise RuntimeError(f"server {name} did not answer /api/config")
            try:
                response = client.get("/api/config")
            except httpx.TransportError:
                time.sleep(0.1)  # polling interval of a readiness wait
                continue
            if response.status_code == 200:
                config = response.json()
    return RunningServer(base_url, data_dir, config, process, log_path)


def stop_server(server: RunningServer) -> None:
    """Terminate the server and wait for it (kill if it hangs)."""
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
