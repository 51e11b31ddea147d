#!/usr/bin/env bash
# The one test command: set up what the suite needs, then run it.
#
# Idempotent: every step is skipped when its inputs have not changed, so a
# second run goes straight to pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'sealpost test: %s\n' "$*" >&2; }
die() { printf 'sealpost test: error: %s\n' "$*" >&2; exit 1; }

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

# The shared vectors sit beside the clone (CI lays shared/ there).
vectors="${SEALPOST_VECTORS:-../shared/vectors}"
[ -d "$vectors" ] || die "test vectors not found at $vectors (expected the \
shared/ folder beside the repository, or set SEALPOST_VECTORS)"

# Chromium for the browser journeys: Debian's package, never a download.
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -ne 0 ]; then
    die "chromium is missing; install it with: \
sudo apt-get update && sudo apt-get install -y chromium"
  fi
  say "installing chromium (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  quiet apt-get update -q
  quiet apt-get install -y -q --no-install-recommends chromium
fi

# Python 3.11+ virtual environment with the project and its test extras.
if [ ! -x .venv/bin/python ]; then
  python="$(command -v python3.11 || command -v python3 || true)"
  [ -n "$python" ] || die "python 3.11 is required"
  say "creating .venv"
  quiet "$python" -m venv .venv
fi
.venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die ".venv must use python 3.11 or newer (remove it and rerun)"
want="$(stamp_of pyproject.toml) test"
if [ "$(cat .venv/.sealpost-stamp 2>/dev/null)" != "$want" ]; then
  say "installing Python packages"
  quiet .venv/bin/python -m pip install -q -e '.[test]'
  printf '%s\n' "$want" >.venv/.sealpost-stamp
fi

# Pyodide and the QR library, exactly as pinned in package-lock.json.
want="$(stamp_of package.json package-lock.json)"
if [ "$(cat node_modules/.sealpost-stamp 2>/dev/null)" != "$want" ]; then
  say "installing npm packages"
  quiet npm ci --no-audit --no-fund --loglevel=error
  printf '%s\n' "$want" >node_modules/.sealpost-stamp
fi

# The pyodide_crypto wheel and lock file the browser loads.
quiet .venv/bin/python -m server.build

status=0
.venv/bin/pytest -p no:cacheprovider tests e2e "$@" || status=$?
if [ "$status" -eq 5 ]; then
  die "pytest collected no tests"
fi
exit "$status"
