#!/usr/bin/env bash
# The one test command: set up what the suite needs, then run all of it.
#
# Idempotent: every step is skipped when its inputs have not changed, so a
# second run goes straight to pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PROG="sealpost test"
# shellcheck source=scripts/setup.sh
. scripts/setup.sh

# The shared vectors sit beside the clone (CI lays shared/ there).
vectors="${SEALPOST_VECTORS:-../shared/vectors}"
[ -d "$vectors" ] || die "test vectors not found at $vectors (expected the \
shared/ folder beside the repository, or set SEALPOST_VECTORS)"

ensure_system yes
ensure_venv test
ensure_npm
ensure_build

status=0
.venv/bin/pytest -p no:cacheprovider tests e2e "$@" || status=$?
if [ "$status" -eq 5 ]; then
  die "pytest collected no tests"
fi
exit "$status"
