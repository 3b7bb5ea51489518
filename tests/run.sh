#!/bin/sh
# tests/run.sh BIN...: runs each test binary (cmocka) and ends with one summary line,
# "N passed, N failed", counting test cases. A binary that crashes, times out or exits
# non-zero without a cmocka summary counts as one failed test. Exits non-zero on failure.
#
# Environment given to the tests: DEALDESK_BIN, MARKETD_BIN (the binaries under test),
# TESTDATA (the shared hostile-text corpus and fixtures), TEST_TMP (a scratch folder).
#
# Both engines (issue 18): every binary runs on SQLite; then the marketd integration
# binaries (test_marketd_*) run a second time on PostgreSQL, with MARKETD_ENGINE=postgresql
# and TEST_PG_URL naming one throwaway cluster started here for the run (in TEST_TMP, on a
# free loopback port, fsync off; as the postgres user when root, since initdb refuses
# root; never the Debian "main" cluster) and removed at the end, also on failure. Each
# server a test starts gets a database of its own (tests/lib/pgtest.h).
# TEST_ENGINES="sqlite postgresql" (the default) chooses; without PostgreSQL the second
# run is skipped with a message, but under CI=true that is a failure. PG_BINDIR names the
# folder of initdb and pg_ctl (default: Debian's newest /usr/lib/postgresql/N/bin).
set -u
BUILD=${BUILD:-build}
TIMEOUT=${TEST_TIMEOUT:-600}
ENGINES=${TEST_ENGINES:-sqlite postgresql}
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

pgdir="$TEST_TMP/pg"; pgbin=""; pgas=""; pg_up=0; pg_why=""
pg_stop() {
  [ "$pg_up" -eq 1 ] && $pgas "$pgbin/pg_ctl" -D "$pgdir/data" -m immediate -w stop >/dev/null 2>&1
  pg_up=0
}
trap 'pg_stop; rm -rf "$TEST_TMP"' EXIT
trap 'exit 130' INT TERM

# Starts the run's cluster and exports TEST_PG_URL; 1 with pg_why set when it cannot.
pg_start() {
  pgbin=${PG_BINDIR:-$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)}
  if [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ]; then
    pg_why="no PostgreSQL server installed (make deps installs postgresql-15)"; return 1
  fi
  mkdir -p "$pgdir"
  if [ "$(id -u)" = 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
      pg_why="running as root and there is no postgres user for initdb"; return 1
    fi
    pgas="runuser -u postgres --"
    chmod 711 "$TEST_TMP" && chown postgres "$pgdir"
  fi
  if ! $pgas "$pgbin/initdb" -D "$pgdir/data" -U postgres -A trust -E UTF8 --locale=C \
      --no-sync >"$pgdir/initdb.log" 2>&1; then
    pg_why="initdb failed: $(tail -n 3 "$pgdir/initdb.log" | tr '\n' ' ')"; return 1
  fi
  # every role is trusted but marketd_pw, whose password test_marketd_pg gives marketd
  # through PGPASSWORD (the first matching line of pg_hba.conf wins)
  hba="$pgdir/data/pg_hba.conf"
  { echo "host all marketd_pw 127.0.0.1/32 scram-sha-256"; cat "$hba"; } >"$pgdir/hba.new" &&
    cat "$pgdir/hba.new" >"$hba" && rm -f "$pgdir/hba.new"
  # a free loopback port below the kernel's ephemeral range (never 5432): tried, not guessed
  tries=0
  while [ "$tries" -lt 20 ]; do
    tries=$((tries + 1))
    port=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 10000 + 20000 ))
    if $pgas "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w -t 60 -o \
        "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start >/dev/null 2>&1; then
      pg_up=1
      export TEST_PG_URL="postgresql://postgres@127.0.0.1:$port"
      # pg_ctl on this cluster, for test_marketd_multi's restart (its options kept)
      export TEST_PG_CTL="$pgas $pgbin/pg_ctl -D $pgdir/data -l $pgdir/log"
      return 0
    fi
  done
  pg_why="the cluster did not start: $(tail -n 3 "$pgdir/log" 2>/dev/null | tr '\n' ' ')"; return 1
}

passed=0; failed=0; failed_bins=""
# Runs one test binary ($1) and counts its cases; $2 names the engine in the lines.
run_bin() {
  bin=$1; name=${bin##*/}$2
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
}

pg_bins=""
for bin in "$@"; do
  case "${bin##*/}" in test_marketd_*) pg_bins="$pg_bins $bin" ;; esac
  case " $ENGINES " in *" sqlite "*) run_bin "$bin" "" ;; esac
done

case " $ENGINES " in *" postgresql "*)
  if [ -n "$pg_bins" ]; then
    if pg_start; then
      echo "== the marketd integration binaries again, on PostgreSQL ($TEST_PG_URL)"
      start_pg=$(date +%s)
      for bin in $pg_bins; do MARKETD_ENGINE=postgresql run_bin "$bin" " (postgresql)"; done
      echo "== on PostgreSQL: $(( $(date +%s) - start_pg ))s"
      pg_stop
    elif [ "${CI:-}" = true ]; then
      echo "!! the PostgreSQL run could not start under CI: $pg_why"
      failed=$((failed + 1)); failed_bins="$failed_bins postgresql"
    else
      echo "== skipped: the marketd integration binaries on PostgreSQL: $pg_why"
    fi
  fi ;;
esac

[ -n "$failed_bins" ] && echo "failing:$failed_bins"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
