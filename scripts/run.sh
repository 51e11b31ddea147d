#!/usr/bin/env bash
# The one run command: set up Sealpost (idempotent), then serve it.
#
# With no arguments it serves on http://127.0.0.1:8000/ with its data in
# ./.sealpost-data; arguments go to `sealpost serve` (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
PROG=sealpost
# shellcheck source=scripts/setup.sh
. scripts/setup.sh

ensure_system no
ensure_venv
ensure_npm
ensure_build

exec .venv/bin/sealpost serve "$@"
