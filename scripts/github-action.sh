#!/usr/bin/env bash
# The GitHub Action's work (action.yml runs this): diff OLD against NEW, put the Markdown report in the job
# summary, optionally write SARIF for code scanning, print the text report in the log, and exit as
# `abiguard diff` does (0 nothing at --fail-on level, 1 something is, 2 error).
# Inputs come as ABIGUARD_* variables; ABIGUARD_BIN points at an installed abiguard (tests, local runs),
# otherwise abiguard is installed with pip from the directory this script belongs to.
set -uo pipefail

old=${ABIGUARD_OLD:?ABIGUARD_OLD (input 'old') is required}
new=${ABIGUARD_NEW:?ABIGUARD_NEW (input 'new') is required}
arch=${ABIGUARD_ARCH:-all}
fail_on=${ABIGUARD_FAIL_ON:-breaking}
waivers=${ABIGUARD_WAIVERS:-}
sarif=${ABIGUARD_SARIF:-}

if [ -n "${ABIGUARD_BIN:-}" ]; then
  abiguard=$ABIGUARD_BIN
else
  root=$(cd "$(dirname "$0")/.." && pwd)
  venv=${RUNNER_TEMP:-${TMPDIR:-/tmp}}/abiguard-venv
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv" || exit 2
  "$venv/bin/python" -m pip install -q "$root" || exit 2
  abiguard=$venv/bin/abiguard
fi

args=("$old" "$new" --arch "$arch" --fail-on "$fail_on")
[ -z "$waivers" ] || args+=(--waivers "$waivers")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The Markdown run decides the exit code; the other formats read the parse cache it filled.
"$abiguard" diff "${args[@]}" --format markdown -o "$work/report.md" 2> "$work/stderr"
status=$?
if [ "$status" -ge 2 ]; then
  cat "$work/stderr" >&2
  message=$(head -n 1 "$work/stderr")
  echo "::error title=abiguard::${message:-abiguard diff failed}"
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    printf '## abiguard: error\n\n```\n%s\n```\n' "$(cat "$work/stderr")" >> "$GITHUB_STEP_SUMMARY"
  fi
  exit "$status"
fi

if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  cat "$work/report.md" >> "$GITHUB_STEP_SUMMARY"
else
  echo "abiguard: GITHUB_STEP_SUMMARY is not set; the Markdown report follows" >&2
  cat "$work/report.md"
fi

if [ -n "$sarif" ]; then
  mkdir -p "$(dirname "$sarif")"
  "$abiguard" diff "${args[@]}" --format sarif -o "$sarif" 2>/dev/null
  sarif_status=$?
  if [ "$sarif_status" -ge 2 ]; then
    echo "::error title=abiguard::could not write SARIF to $sarif"
    exit "$sarif_status"
  fi
fi

# Plain text in the CI log: what a reader of the failed step sees first.
"$abiguard" diff "${args[@]}" --format text 2>/dev/null

if [ -n "${GITHUB_OUTPUT:-}" ]; then
  {
    echo "exit-code=$status"
    [ -z "$sarif" ] || echo "sarif=$sarif"
  } >> "$GITHUB_OUTPUT"
fi
if [ "$status" -eq 1 ]; then
  echo "::error title=abiguard::ABI check failed at --fail-on $fail_on (the job summary has the report)"
fi
exit "$status"
