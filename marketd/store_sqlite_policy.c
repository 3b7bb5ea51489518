/* store_sqlite_policy.c: the SQLite operations of the policies (marketd/policy.c):
 * a buyer's hour window, read in the purchase's own transaction, and the backtest's
 * reader, a second read-only connection whose one read transaction is a snapshot of the
 * database that the market's writer never waits for (WAL). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "marketd/store_sqlite.h"

int sq_purchases_window(store *s, const char *buyer, int64_t since, int64_t *count, int64_t *sum)
{
    /* newest first by the (kind, p1, ord) index: the walk ends at the first purchase
     * made before the window, so it reads the window's rows and one more */
    sqlite3_stmt *st = sq_stmt(SQ(s),
                               "SELECT created, json_extract(json,'$.total_minor') FROM objects "
                               "WHERE kind='purchase' AND p1=? ORDER BY ord DESC",
                               "t", buyer);
    if (!st)
        return -1;
    int64_t n = 0, total = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && sqlite3_column_int64(st, 0) >= since) {
        n++;
        total += sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return -1;
    *count = n;
    *sum = total;
    return 0;
}

/* A reader reads much once: its file through memory mapping (no copy per page), its
 * temporary sorts in memory. */
store *sq_reader_open(store *s)
{
    const char *path = sqlite3_db_filename(SQ(s)->db, "main");
    if (SQ(s)->memory || !path || !*path)
        return NULL;
    sq *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->base.ops = s->ops;
    if (sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_busy_timeout(q->db, 5000) != SQLITE_OK ||
        sq_exec(q, "PRAGMA temp_store=MEMORY") != 0 ||
        sq_exec(q, "PRAGMA mmap_size=268435456") != 0 || sq_exec(q, "BEGIN") != 0) {
        sqlite3_close(q->db);
        free(q);
        return NULL;
    }
    return &q->base;
}

void sq_reader_close(store *r)
{
    sq *q = SQ(r);
    if (!q)
        return;
    sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
    sq_stmts_free(q);
    sqlite3_close(q->db);
    free(q);
}

int sq_purchases_recent(store *s, int max, store_row_fn fn, void *ud)
{
    /* the newest ords are chosen (and sorted) on the (kind, id) index alone, then the
     * rows read by ord in order: nothing but integers is ever sorted */
    sqlite3_stmt *st = sq_stmt(
        SQ(s),
        "SELECT json_set(p.json, '$.category', (SELECT json_extract(l.json, '$.category') "
        "FROM objects l WHERE l.kind='listing' AND l.id=json_extract(p.json, '$.listing_id'))), "
        "p.ord FROM objects p WHERE p.ord IN (SELECT ord FROM objects WHERE kind='purchase' ORDER "
        "BY "
        "ord DESC LIMIT ?) ORDER BY p.ord",
        "I", (int64_t)max);
    if (!st)
        return -1;
    int n = 0, rc, stop = 0;
    while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        stop = fn(ud, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1));
        n++;
    }
    sqlite3_reset(st);
    return stop < 0 || (!stop && rc != SQLITE_DONE) ? -1 : n;
}

int sq_purchases_history(store *s, const char *buyer, int64_t before_ord, int64_t since, int max,
                         int (*fn)(void *ud, int64_t at, int64_t total), void *ud)
{
    /* newest first by the (kind, p1, ord) index, ending at the first one made before since */
    sqlite3_stmt *st = sq_stmt(SQ(s),
                               "SELECT created, json_extract(json,'$.total_minor') FROM objects "
                               "WHERE kind='purchase' AND p1=? AND ord<? ORDER BY ord DESC",
                               "tI", buyer, before_ord);
    if (!st)
        return -1;
    int n = 0, rc = SQLITE_DONE, stop = 0;
    while (!stop && n < max && (rc = sqlite3_step(st)) == SQLITE_ROW &&
           sqlite3_column_int64(st, 0) >= since) {
        stop = fn(ud, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1));
        n++;
    }
    sqlite3_reset(st);
    return stop < 0 || (rc != SQLITE_ROW && rc != SQLITE_DONE) ? -1 : n;
}
