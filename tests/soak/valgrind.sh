#!/bin/sh
# tests/soak/valgrind.sh [BIN...]: runs test binaries under valgrind, and every dealdesk
# and marketd they start as well (through wrapper scripts given to tests/run.sh as
# DEALDESK_BIN and MARKETD_BIN), then reads every valgrind log and fails when any holds
# an error or a definitely lost block.
#
#   tests/soak/valgrind.sh                      # the unit and integration binaries
#   tests/soak/valgrind.sh build/tests/e2e/*    # any others
#
# Environment: BUILD (default build; the binaries under test), VG_TIMEOUT (seconds per
# test binary, default 3600). Logs: build/valgrind/logs/<program>.<pid>.log.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
vg=$top/build/valgrind
logs=$vg/logs
wrap=$vg/wrap
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }
rm -rf "$logs" "$wrap"
mkdir -p "$logs" "$wrap/tests"
opts="--error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite --track-fds=no --num-callers=30"
# tests/run.sh takes DEALDESK_BIN and MARKETD_BIN from $top/$BUILD: point BUILD at the
# wrappers (relative to $top).
for prog in dealdesk marketd; do
  cat >"$wrap/$prog" <<EOS
#!/bin/sh
exec valgrind $opts --log-file=$logs/$prog.%p.log "$top/$BUILD/$prog" "\$@"
EOS
  chmod +x "$wrap/$prog"
done
if [ $# -eq 0 ]; then
  set -- "$top/$BUILD"/tests/unit/test_* "$top/$BUILD"/tests/integration/test_*
fi
bins=""
for bin in "$@"; do
  case "$bin" in *.d|*.o) continue ;; esac
  [ -x "$bin" ] || continue
  name=${bin##*/}
  cat >"$wrap/tests/$name" <<EOS
#!/bin/sh
exec valgrind $opts --log-file=$logs/$name.%p.log "$bin" "\$@"
EOS
  chmod +x "$wrap/tests/$name"
  bins="$bins $wrap/tests/$name"
done
rel=${wrap#"$top"/}
# shellcheck disable=SC2086
BUILD=$rel VALGRIND=1 TEST_TIMEOUT=${VG_TIMEOUT:-3600} "$top/tests/run.sh" $bins
suite=$?
# Every log: errors and definite leaks (a process killed with SIGKILL leaves no summary).
bad=0; n=0; complete=0
for log in "$logs"/*.log; do
  [ -f "$log" ] || continue
  n=$((n + 1))
  if grep -q "ERROR SUMMARY:" "$log"; then
    complete=$((complete + 1))
    if ! grep -q "ERROR SUMMARY: 0 errors" "$log"; then
      echo "== $log"; grep -A3 "ERROR SUMMARY\|Invalid\|uninitialised\|definitely lost" "$log" | head -40
      bad=$((bad + 1))
    fi
  fi
  if grep -q "definitely lost: [1-9]" "$log"; then
    echo "== $log (definitely lost)"; grep -B2 -A20 "definitely lost in" "$log" | head -60
    bad=$((bad + 1))
  fi
done
echo "valgrind: $n processes logged, $complete ran to their end, $bad with errors or definite leaks; suite exit $suite"
[ "$bad" -eq 0 ] && [ "$suite" -eq 0 ]
