#!/usr/bin/env bash
# Set up (with the test and train extras) and run every test tier: plain `pytest` runs only the fast tier
# (pyproject.toml's addopts deselect the `slow` and `browser` marks); `-m ""` selects every test again.
set -euo pipefail
cd "$(dirname "$0")/.."
WITH_TEST=1 bash scripts/setup.sh
rc=0
.venv/bin/python -m pytest -q -m "" "$@" || rc=$?
if [ "$rc" = 5 ]; then
  echo "scripts/test.sh: no tests were collected" >&2
  rc=1
fi
exit "$rc"
