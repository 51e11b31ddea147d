"""Server configuration from command-line flags and SEALPOST_* variables."""

from __future__ import annotations

import argparse
import os
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB
MINUTE_SECONDS = 60
HOUR_SECONDS = 60 * MINUTE_SECONDS
DAY_SECONDS = 24 * HOUR_SECONDS

SECRET_FILE_NAME = "secret.key"
# Bytes of randomness in a generated development secret.
SECRET_BYTES = 32


@dataclass(frozen=True)
class Config:
    """Everything the server needs to know, fixed at start-up.

    Sizes are in bytes of plaintext (the server converts them to ciphertext
    bounds), durations in seconds. ``clock`` is the single source of time so
    tests can move it instead of sleeping.
    """

    data_dir: Path
    secrets: tuple[str, ...]
    host: str = "127.0.0.1"
    port: int = 8000
    max_file_bytes: int = 4 * GIB
    max_share_bytes: int = 8 * GIB
    max_files: int = 500
    max_manifest_bytes: int = 1 * MIB
    expiry_min_seconds: int = 5 * MINUTE_SECONDS
    expiry_max_seconds: int = 30 * DAY_SECONDS
    expiry_default_seconds: int = 7 * DAY_SECONDS
    downloads_min: int = 1
    downloads_max: int = 100
    downloads_default: int = 10
    ticket_seconds: int = 6 * HOUR_SECONDS
    # Wrong second-channel codes before a code share locks for good.
    code_attempts: int = 5
    upload_window_seconds: int = 24 * HOUR_SECONDS
    cleanup_interval_seconds: float = 60
    # How long the owner can still read the status of an expired or revoked
    # share; after that its metadata row is dropped too.
    metadata_retention_seconds: int = 7 * DAY_SECONDS
    # Accounts and sessions (docs/api-accounts.md).
    activation_seconds: int = 72 * HOUR_SECONDS
    session_seconds: int = 12 * HOUR_SECONDS
    # Failed logins (or activations) per handle and per client address in
    # one window before the server answers 429.
    login_failures: int = 5
    login_window_seconds: int = 15 * MINUTE_SECONDS
    # Anonymous addressed shares (deposits, replies): plaintext size, how
    # many one client address may start per window, and how much a single
    # box or mailbox holds from anonymous senders (ciphertext bytes).
    deposit_max_bytes: int = 1 * GIB
    deposit_rate_count: int = 20
    deposit_rate_window_seconds: int = HOUR_SECONDS
    box_quota_count: int = 1000
    box_quota_bytes: int = 20 * GIB
    reply_box_seconds: int = 30 * DAY_SECONDS
    # Self-service account requests one client address may send per window
    # (docs/api-admin.md), and the lifetime of a session opened with a
    # recovery code (it can only set a new passphrase).
    request_rate_count: int = 5
    request_rate_window_seconds: int = HOUR_SECONDS
    recovery_session_seconds: int = 15 * MINUTE_SECONDS
    # Mark the session cookie Secure (set it whenever users come over HTTPS).
    cookie_secure: bool = False
    clock: Callable[[], float] = field(default=time.time, compare=False)
    web_dir: Path = REPO_ROOT / "client" / "web"
    pyodide_dir: Path = REPO_ROOT / "node_modules" / "pyodide"
    qrcode_dir: Path = REPO_ROOT / "node_modules" / "qrcode-generator" / "dist"
    build_dir: Path | None = None
    # Build the pyodide_crypto wheel at start-up when missing or stale.
    build_client: bool = True

    def __post_init__(self) -> None:
        if not self.secrets or not all(self.secrets):
            raise RuntimeError("config: at least one non-empty secret is required")
        if not self.downloads_min <= self.downloads_default <= self.downloads_max:
            raise RuntimeError(
                "config: downloads_default must lie between downloads_min and "
                f"downloads_max, got {self.downloads_default}"
            )
        if not (
            self.expiry_min_seconds
            <= self.expiry_default_seconds
            <= self.expiry_max_seconds
        ):
            raise RuntimeError(
                "config: expiry_default_seconds must lie between the minimum and "
                f"the maximum, got {self.expiry_default_seconds}"
            )
        if self.downloads_min < 1 or self.max_files < 1 or self.code_attempts < 1:
            raise RuntimeError(
                "config: downloads_min, max_files and code_attempts must be >= 1"
            )
        for name in _POSITIVE_FIELDS:
            if getattr(self, name) < 1:
                raise RuntimeError(f"config: {name} must be >= 1")

    @property
    def client_build_dir(self) -> Path:
        """Where the wheel and ``pyodide-lock.json`` are built and served from."""
        return self.build_dir if self.build_dir is not None else self.web_dir / "build"

    def public_limits(self) -> dict[str, int]:
        """The limits a client needs before it starts a share (``/api/config``)."""
        return {
            "max_file_bytes": self.max_file_bytes,
            "max_share_bytes": self.max_share_bytes,
            "max_files": self.max_files,
            "max_manifest_bytes": self.max_manifest_bytes,
            "expiry_min_seconds": self.expiry_min_seconds,
            "expiry_max_seconds": self.expiry_max_seconds,
            "expiry_default_seconds": self.expiry_default_seconds,
            "downloads_min": self.downloads_min,
            "downloads_max": self.downloads_max,
            "downloads_default": self.downloads_default,
            "ticket_seconds": self.ticket_seconds,
            "code_attempts": self.code_attempts,
            "deposit_max_bytes": self.deposit_max_bytes,
            "deposit_rate_count": self.deposit_rate_count,
            "deposit_rate_window_seconds": self.deposit_rate_window_seconds,
            "box_quota_count": self.box_quota_count,
            "box_quota_bytes": self.box_quota_bytes,
        }


# Settings of accounts and deposits that make no sense at zero.
_POSITIVE_FIELDS = (
    "activation_seconds",
    "session_seconds",
    "login_failures",
    "login_window_seconds",
    "deposit_max_bytes",
    "deposit_rate_count",
    "deposit_rate_window_seconds",
    "box_quota_count",
    "box_quota_bytes",
    "reply_box_seconds",
    "request_rate_count",
    "request_rate_window_seconds",
    "recovery_session_seconds",
)


# (flag name, Config field, type, help) for every tunable limit.
_LIMIT_OPTIONS: tuple[tuple[str, type, str], ...] = (
    ("max_file_bytes", int, "largest file, in plaintext bytes"),
    ("max_share_bytes", int, "largest share (all files), in plaintext bytes"),
    ("max_files", int, "most files in one share"),
    ("max_manifest_bytes", int, "largest encrypted manifest, in bytes"),
    ("expiry_min_seconds", int, "shortest allowed lifetime of a share"),
    ("expiry_max_seconds", int, "longest allowed lifetime of a share"),
    ("expiry_default_seconds", int, "lifetime offered by default"),
    ("downloads_min", int, "smallest download limit"),
    ("downloads_max", int, "largest download limit"),
    ("downloads_default", int, "download limit offered by default"),
    ("ticket_seconds", int, "validity of a download ticket"),
    ("code_attempts", int, "wrong codes a code share tolerates before it locks"),
    ("upload_window_seconds", int, "unfinished shares older than this are deleted"),
    ("cleanup_interval_seconds", float, "seconds between cleanup passes"),
    ("metadata_retention_seconds", int, "owner status kept after expiry/revoke"),
    ("activation_seconds", int, "validity of a new activation code"),
    ("session_seconds", int, "lifetime of a login session"),
    ("login_failures", int, "failed logins per handle or address per window"),
    ("login_window_seconds", int, "window of the failed-login limit"),
    ("deposit_max_bytes", int, "largest anonymous deposit or reply, plaintext"),
    ("deposit_rate_count", int, "anonymous deposits per client address per window"),
    ("deposit_rate_window_seconds", int, "window of the deposit rate limit"),
    ("box_quota_count", int, "anonymous deposits one box or mailbox holds"),
    ("box_quota_bytes", int, "ciphertext bytes of anonymous deposits one box holds"),
    ("reply_box_seconds", int, "lifetime of a depositor's reply mailbox"),
    ("request_rate_count", int, "account requests per client address per window"),
    ("request_rate_window_seconds", int, "window of the account request limit"),
    ("recovery_session_seconds", int, "lifetime of a recovery-code session"),
)

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _boolean(text: str) -> bool:
    """Parse a yes/no setting from an environment variable."""
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(text)


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--data``, ``--host``, ``--port``, the secret flags and every limit.

    Flags default to ``None`` so that :func:`config_from_args` can tell an
    explicit flag from a SEALPOST_* variable from the built-in default.
    """
    parser.add_argument(
        "--data",
        "--data-dir",
        dest="data_dir",
        type=Path,
        default=None,
        help="data folder (default: ./.sealpost-data; env SEALPOST_DATA_DIR)",
    )
    parser.add_argument(
        "--host", default=None, help="address to bind (default: 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=int, default=None, help="port to bind (default: 8000)"
    )
    parser.add_argument(
        "--secret-file",
        type=Path,
        default=None,
        help="file holding the ticket signing secret, one per line, the last "
        "one signs (env SEALPOST_SECRET_FILE; default: generated into "
        "<data>/secret.key)",
    )
    parser.add_argument(
        "--secret",
        action="append",
        default=None,
        help="signing secret; repeat to rotate (the last one signs); prefer "
        "--secret-file, flags show in the process list",
    )
    parser.add_argument(
        "--cookie-secure",
        action="store_const",
        const=True,
        default=None,
        help="mark the session cookie Secure (behind HTTPS; env "
        "SEALPOST_COOKIE_SECURE=1)",
    )
    for name, kind, text in _LIMIT_OPTIONS:
        parser.add_argument(
            "--" + name.replace("_", "-"), type=kind, default=None, help=text
        )


def _env_value(
    env: Mapping[str, str], name: str, kind: Callable[[str], object]
) -> object | None:
    raw = env.get("SEALPOST_" + name.upper())
    if raw is None or raw == "":
        return None
    try:
        return kind(raw)
    except ValueError as exc:
        raise RuntimeError(
            f"config: SEALPOST_{name.upper()} must be a "
            f"{getattr(kind, '__name__', 'value').lstrip('_')}, got {raw!r}"
        ) from exc


def load_or_create_secret(data_dir: Path) -> str:
    """Return the development secret kept in ``<data_dir>/secret.key``.

    The file is created once with mode 0600 so that tickets stay valid across
    restarts without the operator having to pick a secret.
    """
    path = data_dir / SECRET_FILE_NAME
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        value = path.read_text(encoding="ascii").strip()
        if not value:
            raise RuntimeError(f"config: secret file {path} is empty") from None
        return value
    value = secrets.token_urlsafe(SECRET_BYTES)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(value + "\n")
    return value


def read_secret_file(path: Path) -> tuple[str, ...]:
    """Secrets from a file, one a line, oldest first (the last one signs).

    :raises RuntimeError: the file cannot be read or holds no secret.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise RuntimeError(
            f"config: cannot read the secret file {path}: {exc.strerror}"
        ) from exc
    found = tuple(line.strip() for line in lines if line.strip())
    if not found:
        raise RuntimeError(f"config: the secret file {path} is empty")
    return found


def config_from_args(
    args: argparse.Namespace,
    *,
    env: Mapping[str, str] | None = None,
    default_data_dir: Path = Path(".sealpost-data"),
) -> Config:
    """Build a :class:`Config`: flag, else SEALPOST_* variable, else default.

    :raises RuntimeError: a variable does not parse or the limits contradict.
    """
    env = os.environ if env is None else env
    values: dict[str, object] = {}

    for name, kind in (("host", str), ("port", int), ("data_dir", Path)):
        flag = getattr(args, name, None)
        value = flag if flag is not None else _env_value(env, name, kind)
        if value is not None:
            values[name] = value
    for name, limit_kind, _ in _LIMIT_OPTIONS:
        flag = getattr(args, name, None)
        value = flag if flag is not None else _env_value(env, name, limit_kind)
        if value is not None:
            values[name] = value
    flag = getattr(args, "cookie_secure", None)
    secure = flag if flag is not None else _env_value(env, "cookie_secure", _boolean)
    if secure is not None:
        values["cookie_secure"] = secure

    data_dir = Path(values.pop("data_dir", default_data_dir))  # type: ignore[arg-type]
    flag_secrets = getattr(args, "secret", None)
    secret_file = getattr(args, "secret_file", None) or env.get("SEALPOST_SECRET_FILE")
    if flag_secrets:
        secret_list = tuple(flag_secrets)
    elif secret_file:
        secret_list = read_secret_file(Path(secret_file))
    elif env.get("SEALPOST_SECRET"):
        # Several secrets separated by commas allow key rotation.
        secret_list = tuple(s for s in env["SEALPOST_SECRET"].split(",") if s)
    else:
        secret_list = (load_or_create_secret(data_dir),)

    return Config(data_dir=data_dir, secrets=secret_list, **values)  # type: ignore[arg-type]
