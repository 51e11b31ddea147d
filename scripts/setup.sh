# Shared setup steps of scripts/run.sh and scripts/test.sh (sourced, not run).
#
# Every step is idempotent and skipped when its inputs have not changed, so a
# second run goes straight to work. The caller sets PROG (for messages) and
# is already in the repository root.

say() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

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

# Install Debian packages when root; otherwise say which command would.
apt_install() {
  [ "$#" -gt 0 ] || return 0
  if [ "$(id -u)" -ne 0 ]; then
    die "missing: $*; install with: sudo apt-get update && \
sudo apt-get install -y --no-install-recommends $*"
  fi
  command -v apt-get >/dev/null || die "missing: $* (and no apt-get to install it)"
  say "installing $* (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  quiet apt-get update -q
  quiet apt-get install -y -q --no-install-recommends "$@"
}

find_python() {
  local candidate
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null \
      && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

# System packages a clean Debian lacks: a Python with venv, Node.js and npm,
# and (for the browser tests) Debian's chromium. Never a downloaded browser.
ensure_system() {
  local want_chromium="${1:-no}" missing=() python
  python="$(find_python || true)"
  if [ -z "$python" ]; then
    missing+=(python3 python3-venv)
  elif ! "$python" -c 'import ensurepip, venv' 2>/dev/null \
    && [ ! -x .venv/bin/python ]; then
    missing+=(python3-venv)
  fi
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  if [ "$want_chromium" = yes ] && [ ! -x /usr/bin/chromium ]; then
    missing+=(chromium)
  fi
  apt_install "${missing[@]}"
}

# .venv with the project installed; "test" adds the test extras.
ensure_venv() {
  local extras="${1:-}" python want have
  if [ ! -x .venv/bin/python ]; then
    python="$(find_python)" || die "python 3.11 or newer is required"
    say "creating .venv"
    quiet "$python" -m venv .venv
  fi
  .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die ".venv must use python 3.11 or newer (remove it and rerun)"
  want="$(stamp_of pyproject.toml)"
  have="$(cat .venv/.sealpost-stamp 2>/dev/null || true)"
  if [ "$extras" = test ]; then
    [ "$have" = "$want test" ] && return 0
    say "installing Python packages (with test tools)"
    quiet .venv/bin/python -m pip install -q -e '.[test]'
    printf '%s test\n' "$want" >.venv/.sealpost-stamp
  else
    # A stamp written with the test extras also satisfies a plain run.
    [ "${have%% *}" = "$want" ] && return 0
    say "installing Python packages"
    quiet .venv/bin/python -m pip install -q -e .
    printf '%s\n' "$want" >.venv/.sealpost-stamp
  fi
}

# Pyodide and the other browser libraries, exactly as package-lock.json pins.
ensure_npm() {
  local want
  want="$(stamp_of package.json package-lock.json)"
  [ "$(cat node_modules/.sealpost-stamp 2>/dev/null)" = "$want" ] && return 0
  say "installing npm packages"
  quiet npm ci --no-audit --no-fund --loglevel=error
  printf '%s\n' "$want" >node_modules/.sealpost-stamp
}

# The pyodide_crypto wheel and lock file the browser loads.
ensure_build() {
  quiet .venv/bin/python -m server.build
}
