#!/usr/bin/env bash
# Runs the E2B SDK suite (Tests/e2b) against the built `paddock`. pytest's exit code is passed through,
# except that "no tests collected" (5) is a failure too: the suite must never pass by not running.
set -uo pipefail
cd "$(dirname "$0")/.."
./scripts/install-python.sh || exit 1
.venv/bin/python -m pytest Tests/e2b -q -rs -p no:cacheprovider "$@"
status=$?
if [ "$status" = 5 ]; then
  echo "paddock: the E2B suite collected no tests; that is a failure, not a pass" >&2
  exit 1
fi
exit "$status"
