#!/usr/bin/env bash
# The audit step of the nsgcheck GitHub Action (action.yml): one audit writes SARIF for code
# scanning and a Markdown job summary; the exit code is recorded, not returned, so the SARIF
# upload still runs; the action's last step fails the job with it. The test suite runs this
# script against the bundled example (tests/test_action.py).
#
# Inputs (environment, set by action.yml from the action's inputs):
#   NSGCHECK_PATHS        inputs, one per line (empty: `paths:` of .nsgcheck.yaml)
#   NSGCHECK_TAGS, NSGCHECK_SCENARIO, NSGCHECK_SOURCE_REGION, NSGCHECK_TARGET_REGION,
#   NSGCHECK_BASELINE, NSGCHECK_SUPPRESSIONS   the options of the same name (empty: not given)
#   NSGCHECK_FAIL_ON      error | warning | note | never (default error)
#   NSGCHECK_SARIF        where to write the SARIF report (default nsgcheck.sarif)
#   NSGCHECK_ARGS         more options, one per line
#   NSGCHECK_ROOT         folder SARIF paths are relative to (default: GITHUB_WORKSPACE, else .)
# GitHub sets GITHUB_STEP_SUMMARY and GITHUB_OUTPUT; without them the summary goes to stdout.
set -u

args=()
while IFS= read -r line; do
  [ -n "$line" ] && args+=("$line")
done <<< "${NSGCHECK_PATHS:-}"
opt() { if [ -n "${2:-}" ]; then args+=("$1" "$2"); fi; }
opt --tags "${NSGCHECK_TAGS:-}"
opt --scenario "${NSGCHECK_SCENARIO:-}"
opt --source-region "${NSGCHECK_SOURCE_REGION:-}"
opt --target-region "${NSGCHECK_TARGET_REGION:-}"
opt --baseline "${NSGCHECK_BASELINE:-}"
opt --suppressions "${NSGCHECK_SUPPRESSIONS:-}"
while IFS= read -r line; do
  [ -n "$line" ] && args+=("$line")
done <<< "${NSGCHECK_ARGS:-}"

sarif="${NSGCHECK_SARIF:-nsgcheck.sarif}"
root="${NSGCHECK_ROOT:-${GITHUB_WORKSPACE:-.}}"
summary="$(mktemp "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/nsgcheck-summary.XXXXXX")"

nsgcheck audit ${args[@]+"${args[@]}"} --format sarif --output "$sarif" --root "$root" \
  --also "markdown=$summary" --fail-on "${NSGCHECK_FAIL_ON:-error}"
code=$?

if [ -s "$summary" ]; then
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then cat "$summary" >> "$GITHUB_STEP_SUMMARY"; else cat "$summary"; fi
fi
rm -f "$summary"
case "$code" in
  0) echo "nsgcheck: nothing at or above --fail-on ${NSGCHECK_FAIL_ON:-error}" ;;
  1) echo "nsgcheck: findings at or above --fail-on ${NSGCHECK_FAIL_ON:-error} (see the job summary and code scanning)" ;;
  *) echo "nsgcheck: unusable input (exit $code): see the messages above" ;;
esac
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  { echo "exit-code=$code"; echo "sarif-file=$sarif"; } >> "$GITHUB_OUTPUT"
fi
exit 0
