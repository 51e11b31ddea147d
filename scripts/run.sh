#!/usr/bin/env bash
# The one run command: set up Sealpost (idempotent), then serve it.
#
# With no arguments it serves on http://127.0.0.1:8000/ with its data in
# ./.sealpost-data; arguments go to `sealpost serve` (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'sealpost: %s\n' "$*" >&2; }
die() { printf 'sealpost: error: %s\n' "$*" >&2; exit 1; }

# Run a setup step quietly; show its output only when it fails.
quiet() {
  local log
  log="$(mktemp)"
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    die "failed: $*"
  fi
  rm -f "$log"
}

stamp_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

if [ ! -x .venv/bin/python ]; then
  python="$(command -v python3.11 || command -v python3 || true)"
  [ -n "$python" ] || die "python 3.11 is required"
  say "creating .venv"
  quiet "$python" -m venv .venv
fi
.venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die ".venv must use python 3.11 or newer (remove it and rerun)"
# A stamp written by scripts/test.sh (with the test extras) also satisfies us.
want="$(stamp_of pyproject.toml)"
have="$(cat .venv/.sealpost-stamp 2>/dev/null || true)"
if [ "${have%% *}" != "$want" ]; then
  say "installing Python packages"
  quiet .venv/bin/python -m pip install -q -e .
  printf '%s\n' "$want" >.venv/.sealpost-stamp
fi

want="$(stamp_of package.json package-lock.json)"
if [ "$(cat node_modules/.sealpost-stamp 2>/dev/null)" != "$want" ]; then
  say "installing npm packages"
  quiet npm ci --no-audit --no-fund --loglevel=error
  printf '%s\n' "$want" >node_modules/.sealpost-stamp
fi

quiet .venv/bin/python -m server.build

exec .venv/bin/sealpost serve "$@"
