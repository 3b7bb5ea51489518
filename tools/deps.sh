#!/bin/sh
# make deps: install the Debian packages the build and the suite need.
# As root it runs apt-get update and apt-get install for what is missing; otherwise it
# prints the exact command and fails, so that nothing half-builds.
# Usage: tools/deps.sh [extra-set ...]   (sets: fuzz, bench, scale, check)
# PostgreSQL 15 (the server, pg_trgm from postgresql-contrib, libpq) is marketd's second
# engine (--db postgresql://...): tests/run.sh runs the marketd integration suite on a
# throwaway cluster of its own; the package's "main" cluster is never used.
set -eu

want="make gcc pkg-config openssl libncurses-dev libcurl4-openssl-dev libjansson-dev
libmicrohttpd-dev libsqlite3-dev libssl-dev libreadline-dev libcmocka-dev libvterm-dev ca-certificates
libpq-dev postgresql-15 postgresql-contrib"
for set in "$@"; do
  case "$set" in
    fuzz) want="$want clang libclang-rt-14-dev" ;;
    bench) want="$want jq" ;;
    scale) want="$want sqlite3" ;;
    check) want="$want clang-format cppcheck" ;;
    *) echo "deps: unknown set '$set'" >&2; exit 2 ;;
  esac
done

missing=""
for p in $want; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ]; then
  echo "deps: installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends $missing
else
  echo "deps: missing Debian packages:$missing" >&2
  echo "deps: run: sudo apt-get update && sudo apt-get install -y$missing" >&2
  exit 1
fi
