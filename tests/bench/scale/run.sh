#!/bin/sh
# tests/bench/scale/run.sh BIN [PART...]: `make bench-scale`. Makes or finds the cached
# fixture (tests/bench/scale/fixture.sh), runs bench_scale on it (PARTS: frame flood keys
# tail; default all) and ends with the table of its figures beside their goals, as
# tests/bench/run.sh does for `make bench`. Nothing here fails on a timing; exits
# non-zero only when the fixture could not be made or a part could not run.
#
# Environment: BUILD (default build); BENCH_SCALE_FLOOD_S (default 1800),
# BENCH_SCALE_SAMPLE_S (60), BENCH_SCALE_TRIALS (20), BENCH_SCALE_TAIL_N (200000);
# BENCH_RESULTS=FILE keeps the figures' lines.
set -u
BUILD=${BUILD:-build}
top=$(cd "$(dirname "$0")/../../.." && pwd)
bin=$1
shift
export DEALDESK_BIN="$top/$BUILD/dealdesk"
export MARKETD_BIN="$top/$BUILD/marketd"
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/dealdesk-bench-scale.XXXXXX")
export TEST_TMP XDG_STATE_HOME="$TEST_TMP/state" XDG_CONFIG_HOME="$TEST_TMP/config"
export XDG_DATA_HOME="$TEST_TMP/data" HOME="$TEST_TMP/home"
mkdir -p "$HOME"
trap 'rm -rf "$TEST_TMP"' EXIT INT TERM
res=${BENCH_RESULTS:-$TEST_TMP/results}

start=$(date +%s)
load0=$(cut -d' ' -f1-3 /proc/loadavg)
db=$(BUILD=$BUILD "$top/tests/bench/scale/fixture.sh") || exit 1
echo "bench-scale: fixture ready in $(( $(date +%s) - start )) s"
{ BENCH_SCALE_DB=$db "$bin" "$@" 2>&1; echo $? >"$TEST_TMP/rc"; } | tee "$TEST_TMP/out"
rc=$(cat "$TEST_TMP/rc" 2>/dev/null || echo 0)
grep '^BENCH|' "$TEST_TMP/out" >"$res"
total=$(( $(date +%s) - start ))

echo
echo "== dealdesk bench-scale: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), load average $load0 at start, $(cut -d' ' -f1-3 /proc/loadavg) at end; $total s in all"
awk -F'|' '
  BEGIN { printf "%-8s %-50s %12s %-12s %-20s %s\n", "SECTION", "METRIC", "VALUE", "UNIT", "GOAL", "VERDICT"
          printf "%-8s %-50s %12s %-12s %-20s %s\n", "-------", "------", "-----", "----", "----", "-------" }
  $1 == "BENCH" {
    v = $4
    if (v ~ /^[0-9.]+$/) v = (v + 0 >= 1000 ? sprintf("%.0f", v) : (v + 0 >= 10 ? sprintf("%.1f", v) : sprintf("%.3g", v)))
    printf "%-8s %-50s %12s %-12s %-20s %s\n", $2, substr($3, 1, 50), v, $5, $6, $7
    n[$7]++
  }
  END { printf "\n%d met, %d missed, %d for information\n", n["met"], n["missed"], n["info"] }' "$res"
exit "$rc"
