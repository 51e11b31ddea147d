"""Configuration from flags and environment, and `python -m server` itself."""

from __future__ import annotations

import argparse
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from server.config import REPO_ROOT, config_from_args
from server.main import add_serve_arguments


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_serve_arguments(parser)
    return parser.parse_args(list(argv))


def test_flags_win_over_environment_over_defaults(tmp_path: Path) -> None:
    env = {
        "SEALPOST_PORT": "9001",
        "SEALPOST_MAX_FILES": "3",
        "SEALPOST_SECRET": "env-secret",
        "SEALPOST_DATA_DIR": str(tmp_path / "env-data"),
    }
    config = config_from_args(parse("--port", "9002", "--data", str(tmp_path)), env=env)
    assert config.port == 9002
    assert config.max_files == 3
    assert config.data_dir == tmp_path
    assert config.secrets == ("env-secret",)
    assert config.host == "127.0.0.1"
    defaults = config_from_args(parse("--secret", "s"), env={})
    assert defaults.port == 8000
    assert defaults.data_dir == Path(".sealpost-data")


def test_dev_secret_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    first = config_from_args(parse("--data", str(tmp_path)), env={})
    second = config_from_args(parse("--data", str(tmp_path)), env={})
    mode = stat.S_IMODE((tmp_path / "secret.key").stat().st_mode)
    assert first.secrets == second.secrets
    assert len(first.secrets[0]) >= 40
    assert mode == 0o600


def test_secret_file_holds_rotating_secrets(tmp_path: Path) -> None:
    path = tmp_path / "secrets"
    path.write_text("old\n\nnew\n")
    by_flag = config_from_args(parse("--secret-file", str(path)), env={})
    by_env = config_from_args(parse(), env={"SEALPOST_SECRET_FILE": str(path)})
    assert by_flag.secrets == by_env.secrets == ("old", "new")
    path.write_text("\n")
    with pytest.raises(RuntimeError, match="empty"):
        config_from_args(parse("--secret-file", str(path)), env={})
    with pytest.raises(RuntimeError, match="cannot read"):
        config_from_args(parse("--secret-file", str(tmp_path / "none")), env={})


def test_bad_environment_values_are_named(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="SEALPOST_MAX_FILES"):
        config_from_args(parse("--secret", "s"), env={"SEALPOST_MAX_FILES": "many"})
    with pytest.raises(RuntimeError, match="downloads_default"):
        config_from_args(parse("--secret", "s", "--downloads-max", "5"), env={})


def test_python_m_server_serves_and_logs_no_ids(tmp_path: Path) -> None:
    env = {**os.environ, "SEALPOST_SECRET": "test", "PYTHONUNBUFFERED": "1"}
    command = [
        sys.executable,
        "-m",
        "server",
        "--port",
        "0",
        "--data",
        str(tmp_path / "data"),
    ]
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("Sealpost is serving on http://127.0.0.1:"), first
        base_url = first.split(" on ", 1)[1].strip().rstrip("/")
        share_id = "Q" * 22
        with httpx.Client(base_url=base_url, timeout=30) as client:
            config = client.get("/api/config")
            page = client.get(f"/s/{share_id}")
            info = client.get(f"/api/shares/{share_id}")
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert config.status_code == 200
    assert config.json()["downloads_default"] == 10
    assert page.status_code == 200
    assert info.status_code == 404
    # uvicorn re-raises the stop signal once it shut down cleanly.
    assert process.returncode in (0, -signal.SIGTERM)
    assert "Sealpost stopped." in output
    assert share_id not in output
    assert "GET /s/{share_id} 200" in output
    assert "GET /api/shares/{share_id} 404" in output


def test_python_m_server_reports_a_bad_setting(tmp_path: Path) -> None:
    env = {**os.environ, "SEALPOST_MAX_FILES": "lots", "SEALPOST_SECRET": "x"}
    result = subprocess.run(
        [sys.executable, "-m", "server", "--data", str(tmp_path)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("sealpost: error: config: SEALPOST_MAX_FILES")
