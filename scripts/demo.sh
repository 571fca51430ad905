#!/usr/bin/env bash
# Install abiguard (no compilers needed) and diff the bundled 2022 user_pt_regs example on every arch.
set -euo pipefail
cd "$(dirname "$0")/.."
ABIGUARD_SETUP=minimal ./scripts/setup.sh
example=examples/user_pt_regs-2022
set +e
.venv/bin/abiguard diff "$example/before" "$example/after" --arch all "$@"
rc=$?
set -e
if [ "$rc" -eq 1 ]; then
  echo "(exit code 1: a breaking change was found, as expected for this example)" >&2
  exit 0
fi
exit "$rc"
