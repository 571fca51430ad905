#!/usr/bin/env bash
# Install everything the tests need (idempotent), then run ruff and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
.venv/bin/ruff check src tests benchmarks tools
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
