#!/usr/bin/env bash
# Set up (with the test extras) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
WITH_TEST=1 bash scripts/setup.sh
exec .venv/bin/python -m pytest -q "$@"
