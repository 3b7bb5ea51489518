#!/bin/sh
# tests/run.sh BIN...: runs each test binary (cmocka) and ends with one summary line,
# "N passed, N failed", counting test cases. A binary that crashes, times out or exits
# non-zero without a cmocka summary counts as one failed test. Exits non-zero on failure.
#
# Environment given to the tests: DEALDESK_BIN, MARKETD_BIN (the binaries under test),
# TESTDATA (the shared hostile-text corpus and fixtures), TEST_TMP (a scratch folder).
set -u
BUILD=${BUILD:-build}
TIMEOUT=${TEST_TIMEOUT:-600}
top=$(cd "$(dirname "$0")/.." && pwd)
export DEALDESK_BIN="$top/$BUILD/dealdesk"
export MARKETD_BIN="$top/$BUILD/marketd"
if [ -z "${TESTDATA:-}" ]; then
  if [ -d "$top/../shared/testdata" ]; then TESTDATA="$top/../shared/testdata"; else TESTDATA="$top/tests/data"; fi
fi
export TESTDATA
export TESTS_DIR="$top/tests"
export CMOCKA_MESSAGE_OUTPUT=stdout
# Tests never touch the operator's real state or config.
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/dealdesk-test.XXXXXX")
export TEST_TMP XDG_STATE_HOME="$TEST_TMP/state" XDG_CONFIG_HOME="$TEST_TMP/config"
export XDG_DATA_HOME="$TEST_TMP/data" HOME="$TEST_TMP/home"
mkdir -p "$HOME"
trap 'rm -rf "$TEST_TMP"' EXIT INT TERM

passed=0; failed=0; failed_bins=""
for bin in "$@"; do
  name=${bin##*/}
  out="$TEST_TMP/$name.out"
  start=$(date +%s)
  timeout -k 10 "$TIMEOUT" "$bin" >"$out" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  cat "$out"
  p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test(s)\..*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
  f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test(s).*/\1/p' "$out" | awk '{s+=$1} END {print s+0}')
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    f=1
    echo "!! $name exited with status $rc (timeout or crash)"
  fi
  passed=$((passed + p)); failed=$((failed + f))
  [ "$f" -gt 0 ] && failed_bins="$failed_bins $name"
  echo "-- $name: $p passed, $f failed (${secs}s)"
done
[ -n "$failed_bins" ] && echo "failing:$failed_bins"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
