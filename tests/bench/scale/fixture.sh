#!/bin/sh
# tests/bench/scale/fixture.sh: makes (once) and prints the path of the bench-scale market,
# a marketd database migrated to this marketd's schema (make bench-scale; issue 14).
#
#   1. fixture-v3-G.db: tests/bench/scale/fixture.sql run by the sqlite3 shell (schema
#      version 3, 1M listings and threads, 10M messages and ledger entries), niced;
#      G is a hash of fixture.sql, so an edited generator makes a new one.
#   2. fixture-m-G-S.db: a copy of it that marketd opened once (marketd migrates a
#      database to its own schema when it opens it, then listens; it is stopped there,
#      and closes the file whole). S is a hash of marketd/store_sqlite_schema.c, so a new
#      migration makes a new copy; the v3 file stays for that.
# Both live in $BUILD/bench-scale/ (other keys' files are removed: ~20 GB of disk at most).
# The bench runs marketd on the migrated copy in place: it only reads (its flood is
# written into the stream by the bench, never into the database), so a second run starts
# in seconds. Progress and timings go to stderr; the path alone to stdout.
#
# Environment: BUILD (default build), MARKETD_BIN (default $BUILD/marketd).
set -eu
umask 077
top=$(cd "$(dirname "$0")/../../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) out=$BUILD/bench-scale ;; *) out=$top/$BUILD/bench-scale ;; esac
marketd=${MARKETD_BIN:-$top/$BUILD/marketd}
gen=$top/tests/bench/scale/fixture.sql
mkdir -p "$out"
chmod 700 "$out"

key() { sha256sum "$1" | cut -c1-12; }
gkey=$(key "$gen")
skey=$(key "$top/marketd/store_sqlite_schema.c")
v3=$out/fixture-v3-$gkey.db
mig=$out/fixture-m-$gkey-$skey.db

if [ ! -f "$v3" ]; then
  command -v sqlite3 >/dev/null || { echo "fixture.sh: needs the sqlite3 shell (apt-get install sqlite3)" >&2; exit 1; }
  for f in "$out"/fixture-*.db; do [ -e "$f" ] && [ "$f" != "$mig" ] && rm -f "$f"; done
  rm -f "$v3.tmp"
  echo "bench-scale: generating the fixture (1M listings and threads, 10M messages and ledger entries; a few minutes, niced)" >&2
  t0=$(date +%s)
  (umask 077 && nice -n 10 sqlite3 "$v3.tmp" <"$gen" >/dev/null)
  mv "$v3.tmp" "$v3"
  echo "bench-scale: generated $v3 in $(( $(date +%s) - t0 )) s, $(du -m "$v3" | cut -f1) MB" >&2
fi

if [ ! -f "$mig" ]; then
  for f in "$out"/fixture-m-*.db; do [ -e "$f" ] && rm -f "$f"; done
  tmp=$out/migrating
  rm -rf "$tmp"
  mkdir -m 700 "$tmp"
  echo "bench-scale: copying the fixture for marketd to migrate" >&2
  t0=$(date +%s)
  cp "$v3" "$tmp/market.db"
  printf 'bench supervisor bench-scale-migrate-0123456789\n' >"$tmp/tokens"
  chmod 600 "$tmp/tokens" "$tmp/market.db"
  t1=$(date +%s)
  # marketd migrates before it listens: the "listening on" line means the file is done
  nice -n 10 "$marketd" --listen 127.0.0.1:0 --db "$tmp/market.db" --tokens "$tmp/tokens" \
    >"$tmp/out" 2>"$tmp/err" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null && ! grep -q 'listening on' "$tmp/out"; do sleep 1; done
  if ! grep -q 'listening on' "$tmp/out"; then
    echo "bench-scale: marketd could not open the fixture:" >&2
    cat "$tmp/err" >&2
    exit 1
  fi
  kill -TERM "$pid"
  wait "$pid" || { echo "bench-scale: marketd did not close the fixture cleanly" >&2; cat "$tmp/err" >&2; exit 1; }
  version=$(sqlite3 "$tmp/market.db" 'PRAGMA user_version')
  mv "$tmp/market.db" "$mig"
  rm -rf "$tmp"
  echo "bench-scale: marketd opened (migrated to schema $version) in $(( $(date +%s) - t1 )) s (copy $(( t1 - t0 )) s): $mig, $(du -m "$mig" | cut -f1) MB" >&2
fi
echo "$mig"
