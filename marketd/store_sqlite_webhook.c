/* store_sqlite_webhook.c: the SQLite operations of the webhook outbox (marketd/webhook.c,
 * marketd/store.h): a row per event and receiver, written in the transaction of the
 * change it reports (so a crash loses none), kept once delivered (so an event id is
 * never sent twice by the market's own doing: INSERT OR IGNORE). */
#include "marketd/store_sqlite.h"

int sq_outbox_put(store *s, const char *event_id, const char *url, const char *body, int64_t at)
{
    return sq_run(SQ(s),
                  "INSERT OR IGNORE INTO webhook_outbox(event_id,url,body,attempts,next_at,created)"
                  " VALUES(?,?,?,0,?4,?4)",
                  "tttI", event_id, url, body, at);
}

int sq_outbox_due(store *s, int64_t now, int max, store_row_fn fn, void *ud)
{
    sqlite3_stmt *st = sq_stmt(SQ(s),
                               "SELECT json_object('n',n,'event_id',event_id,'url',url,'body',"
                               "body,'attempts',attempts,'created',created) FROM webhook_outbox"
                               " WHERE delivered IS NULL AND next_at<=? ORDER BY next_at LIMIT ?",
                               "II", now, (int64_t)max);
    if (!st)
        return -1;
    int rc, n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        n++;
        if (fn(ud, (const char *)sqlite3_column_text(st, 0), n) != 0)
            break;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? n : -1;
}

int sq_outbox_next(store *s, int64_t *at, int64_t *pending)
{
    sqlite3_stmt *st = sq_stmt(SQ(s),
                               "SELECT MIN(next_at), COUNT(*) FROM webhook_outbox"
                               " WHERE delivered IS NULL",
                               "");
    if (!st || sqlite3_step(st) != SQLITE_ROW) {
        if (st)
            sqlite3_reset(st);
        return -1;
    }
    bool any = sqlite3_column_type(st, 0) != SQLITE_NULL;
    *at = any ? sqlite3_column_int64(st, 0) : -1;
    *pending = sqlite3_column_int64(st, 1);
    sqlite3_reset(st);
    return any ? 1 : 0;
}

int sq_outbox_done(store *s, int64_t n, int64_t at)
{
    return sq_run(SQ(s), "UPDATE webhook_outbox SET delivered=?2, attempts=attempts+1 WHERE n=?1",
                  "II", n, at);
}

int sq_outbox_retry(store *s, int64_t n, int64_t next_at)
{
    return sq_run(SQ(s), "UPDATE webhook_outbox SET next_at=?2, attempts=attempts+1 WHERE n=?1",
                  "II", n, next_at);
}
