#!/bin/sh
# make check-layers: fails when a file includes across the layers (the README's tour).
#
#   themes/   libc, curses
#   widgets/  themes/, curses, and the curses-free primitives api/text.h, api/money.h
#   api/      libc; libcurl only in api/http.c; jansson only in api/json.c, api/json_*.[ch]
#             (the module of json.h); never curses;
#             the store (api/store.c) only libc and api/model.h, api/text.h
#   tui/      everything above; HTTP through api/http.c and JSON through api/json.h
#             (no libcurl, no jansson, no server libraries)
#   marketd/  libc, libmicrohttpd, sqlite3, jansson, api/money.h, api/text.h,
#             api/json_canon.h (the canonical JSON both programs hash), marketd/;
#             sqlite3 only in the SQLite engine (marketd/store_sqlite*); libpq only in
#             the PostgreSQL engine (marketd/store_pg*); libcrypto
#             (OpenSSL) only in marketd/crypto.c; libcurl only in marketd/webhook_send.c
set -u
cd "$(dirname "$0")/.." || exit 2
bad=0
fail() { echo "check-layers: $1: $2" >&2; bad=1; }

for f in $(find api tui widgets themes marketd -name '*.[ch]' 2>/dev/null | sort); do
  dir=${f%%/*}
  grep -n '^[[:space:]]*#[[:space:]]*include' "$f" | while IFS= read -r line; do
    inc=$(printf '%s' "$line" | sed -n 's/.*#[[:space:]]*include[[:space:]]*[<"]\([^>"]*\)[>"].*/\1/p')
    n=${line%%:*}
    where="$f:$n"
    case "$inc" in
      curses.h|ncurses.h|ncursesw/*|term.h) kind=curses ;;
      curl/*) kind=curl ;;
      openssl/*) kind=crypto ;;
      jansson.h) kind=jansson ;;
      microhttpd.h) kind=mhd ;;
      sqlite3.h) kind=sqlite ;;
      libpq-fe.h|libpq/*|postgresql/*) kind=libpq ;;
      readline/*) kind=readline ;;
      cmocka.h|vterm.h) kind=test ;;
      api/*|tui/*|widgets/*|themes/*|marketd/*) kind=${inc%%/*} ;;
      *.h) if [ -f "$(dirname "$f")/$inc" ]; then kind=$dir; else kind=libc; fi ;;
      *) kind=libc ;;
    esac
    case "$dir:$kind" in
      *:libc|*:"$dir") ;;
      themes:curses) ;;
      widgets:curses|widgets:themes) ;;
      widgets:api) case "$inc" in api/text.h|api/money.h) ;; *) echo "$where: widgets/ may include only api/text.h and api/money.h from api/, not $inc" ;; esac ;;
      api:curl) [ "$f" = api/http.c ] || echo "$where: libcurl belongs in api/http.c only" ;;
      api:jansson) case "$f" in api/json.c|api/json_*.[ch]) ;; *) echo "$where: jansson belongs in api/json*.c only (the JSON module of json.h)" ;; esac ;;
      tui:curses|tui:readline|tui:api|tui:widgets|tui:themes) ;;
      tui:curl) echo "$where: tui/ reaches HTTP through api/http.c, not libcurl" ;;
      tui:jansson) echo "$where: tui/ reaches JSON through api/, not jansson" ;;
      marketd:mhd|marketd:sqlite|marketd:jansson) ;;
      marketd:libpq) case "$f" in marketd/store_pg*) ;; *) echo "$where: libpq belongs in the PostgreSQL engine only (marketd/store_pg*)" ;; esac ;;
      marketd:crypto) [ "$f" = marketd/crypto.c ] || echo "$where: libcrypto belongs in marketd/crypto.c only" ;;
      marketd:curl) [ "$f" = marketd/webhook_send.c ] || echo "$where: libcurl belongs in marketd/webhook_send.c only" ;;
      marketd:api) case "$inc" in api/text.h|api/money.h|api/json_canon.h) ;; *) echo "$where: marketd/ may include only api/money.h, api/text.h and api/json_canon.h from api/, not $inc" ;; esac ;;
      *) echo "$where: $dir/ may not include $inc ($kind)" ;;
    esac
  done
done > /tmp/check-layers.$$ 2>&1
if [ -s /tmp/check-layers.$$ ]; then
  sed 's/^/check-layers: /' /tmp/check-layers.$$ >&2
  bad=1
fi
rm -f /tmp/check-layers.$$

# The store is pure: libc and the domain types only.
if [ -f api/store.c ]; then
  impure=$(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' api/store.c |
    grep -v -e 'api/model.h' -e 'api/text.h' -e 'api/store')
  if [ -n "$impure" ]; then
    echo "check-layers: api/store.c includes more than libc and api/model.h: $impure" >&2
    bad=1
  fi
fi
# marketd's rules never name the database engine: sqlite3 only in the SQLite engine's
# files (marketd/store_sqlite*), behind the interface of marketd/store.h.
named=$(grep -ln 'sqlite3' marketd/*.[ch] 2>/dev/null | grep -v '^marketd/store_sqlite')
if [ -n "$named" ]; then
  for f in $named; do
    echo "check-layers: $f names sqlite3: the engine belongs in marketd/store_sqlite*.c (marketd/store.h)" >&2
  done
  bad=1
fi
# and libpq only in the PostgreSQL engine's files (marketd/store_pg*).
named=$(grep -lnE 'PQ[a-z]+[A-Za-z]*\(|PGconn|PGresult' marketd/*.[ch] 2>/dev/null | grep -v '^marketd/store_pg')
if [ -n "$named" ]; then
  for f in $named; do
    echo "check-layers: $f calls libpq: the engine belongs in marketd/store_pg*.c (marketd/store.h)" >&2
  done
  bad=1
fi
[ "$bad" -eq 0 ] && echo "check-layers: ok"
exit $bad
