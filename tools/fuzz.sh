#!/bin/sh
# tools/fuzz.sh BIN...: runs each libFuzzer target for FUZZ_SECONDS (default 60) on its
# corpus in tests/fuzz/corpus/<name> (seeded from tests/fuzz/seeds/<name> when present),
# and prints the executions each one made. Fails when any target finds a crash.
set -u
secs=${FUZZ_SECONDS:-60}
top=$(cd "$(dirname "$0")/.." && pwd)
status=0
for bin in "$@"; do
  name=${bin##*/}
  corpus="$top/build/fuzz/corpus/$name"
  mkdir -p "$corpus"
  seeds="$top/tests/fuzz/seeds/$name"
  log="$top/build/fuzz/$name.log"
  dirs="$corpus"
  [ -d "$seeds" ] && dirs="$corpus $seeds"
  # shellcheck disable=SC2086
  "$bin" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$top/build/fuzz/$name-" \
    -max_len=8192 $dirs >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  echo "fuzz $name: ${execs:-?} executions in ${secs}s, exit $rc"
  [ "$rc" -ne 0 ] && { tail -40 "$log"; status=1; }
done
exit $status
