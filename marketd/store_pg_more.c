/* store_pg_more.c: the PostgreSQL operations on reference prices, balances, tokens,
 * faults, the policies' reads and the webhook outbox (marketd/store.h; the SQLite
 * engine's are in store_sqlite.c, store_sqlite_policy.c, store_sqlite_webhook.c). */
#include <stdio.h>

#include "marketd/store_pg.h"

/* ---- reference prices ------------------------------------------------------------ */

int pg_ref_window(store *s, const char *category, const char *currency, int64_t *total,
                  int64_t *ring, int size)
{
    *total = 0;
    if (pg_one_int(pg_query(PG(s), "SELECT total FROM ref_keys WHERE category=$1 AND currency=$2",
                            "tt", category, currency),
                   total) < 0)
        return -1;
    int64_t n = *total < size ? *total : size;
    PGresult *r =
        pg_query(PG(s), "SELECT slot, price FROM ref_prices WHERE category=$1 AND currency=$2",
                 "tt", category, currency);
    if (!r)
        return -1;
    int got = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        int64_t slot = pg_int(r, i, 0);
        if (slot >= 0 && slot < n) {
            ring[slot] = pg_int(r, i, 1);
            got++;
        }
    }
    PQclear(r);
    return got;
}

int pg_ref_put(store *s, const char *category, const char *currency, int64_t slot, int64_t price,
               int64_t total)
{
    if (pg_run(PG(s),
               "INSERT INTO ref_prices(category,currency,slot,price) VALUES($1,$2,$3,$4) "
               "ON CONFLICT(category,currency,slot) DO UPDATE SET price=excluded.price",
               "ttII", category, currency, slot, price) != 0)
        return -1;
    return pg_run(PG(s),
                  "INSERT INTO ref_keys(category,currency,total) VALUES($1,$2,$3) "
                  "ON CONFLICT(category,currency) DO UPDATE SET total=excluded.total",
                  "ttI", category, currency, total);
}

/* ---- balances, tokens, faults ------------------------------------------------------ */

int pg_balance_add(store *s, const char *account, int64_t delta)
{
    return pg_run(PG(s),
                  "INSERT INTO balances(account,amount) VALUES($1,$2) ON CONFLICT(account) "
                  "DO UPDATE SET amount=balances.amount+excluded.amount",
                  "tI", account, delta);
}

int pg_balances_each(store *s, store_row_fn fn, void *ud)
{
    return pg_walk(pg_query(PG(s), "SELECT account, amount FROM balances ORDER BY account", ""), fn,
                   ud);
}

int pg_token_put(store *s, const char *hash, const char *agent_id)
{
    return pg_run(PG(s), "INSERT INTO agent_tokens(hash,agent_id) VALUES($1,$2)", "tt", hash,
                  agent_id);
}

int pg_token_agent(store *s, const char *hash, store_row_fn fn, void *ud)
{
    return pg_one(pg_query(PG(s), "SELECT agent_id FROM agent_tokens WHERE hash=$1", "t", hash), fn,
                  ud);
}

int pg_fault_put(store *s, const store_fault *f)
{
    return pg_run(PG(s),
                  "INSERT INTO faults(kind,purchase_id,negotiation_id,listing_id,agent_id,at) "
                  "VALUES($1,$2,$3,$4,$5,$6)",
                  "tttttI", f->kind, f->purchase_id, f->negotiation_id, f->listing_id, f->agent_id,
                  f->at);
}

int pg_faults_each(store *s, store_fault_fn fn, void *ud)
{
    PGresult *r = pg_query(PG(s),
                           "SELECT kind,purchase_id,negotiation_id,listing_id,agent_id,at FROM "
                           "faults ORDER BY n",
                           "");
    if (!r)
        return -1;
    int n = 0, rows = PQntuples(r), stop = 0;
    while (!stop && n < rows) {
        store_fault f = {pg_text(r, n, 0), pg_text(r, n, 1), pg_text(r, n, 2),
                         pg_text(r, n, 3), pg_text(r, n, 4), pg_int(r, n, 5)};
        stop = fn(ud, &f);
        n++;
    }
    PQclear(r);
    return stop < 0 ? -1 : n;
}

/* ---- policies (marketd/policy.c) --------------------------------------------------- */

/* A buyer's purchases read newest first in pages of this many, until the first one
 * made before the window (as the SQLite engine's walk ends there). */
#define WINDOW_PAGE 256

int pg_purchases_window(store *s, const char *buyer, int64_t since, int64_t *count, int64_t *sum)
{
    int64_t n = 0, total = 0, before = INT64_MAX;
    for (;;) {
        PGresult *r = pg_query(PG(s),
                               "SELECT created, (json::jsonb->>'total_minor')::bigint, ord FROM "
                               "objects WHERE kind='purchase' AND p1=$1 AND ord<$2 ORDER BY ord "
                               "DESC LIMIT $3",
                               "tII", buyer, before, (int64_t)WINDOW_PAGE);
        if (!r)
            return -1;
        int rows = PQntuples(r), i = 0;
        for (; i < rows && pg_int(r, i, 0) >= since; i++) {
            n++;
            total += pg_int(r, i, 1);
            before = pg_int(r, i, 2);
        }
        PQclear(r);
        if (i < rows || rows < WINDOW_PAGE)
            break;
    }
    *count = n;
    *sum = total;
    return 0;
}

int pg_purchases_recent(store *s, int max, store_row_fn fn, void *ud)
{
    /* the purchase's JSON with its listing's category set (null when it has none) */
    return pg_walk(pg_query(PG(s),
                            "SELECT jsonb_set(p.json::jsonb, '{category}', COALESCE((SELECT "
                            "l.json::jsonb->'category' FROM objects l WHERE l.kind='listing' AND "
                            "l.id=p.json::jsonb->>'listing_id'), 'null'::jsonb))::text, p.ord "
                            "FROM (SELECT json, ord FROM objects WHERE kind='purchase' ORDER BY "
                            "ord DESC LIMIT $1) p ORDER BY p.ord",
                            "I", (int64_t)max),
                   fn, ud);
}

int pg_purchases_history(store *s, const char *buyer, int64_t before_ord, int64_t since, int max,
                         int (*fn)(void *ud, int64_t at, int64_t total), void *ud)
{
    PGresult *r = pg_query(PG(s),
                           "SELECT created, (json::jsonb->>'total_minor')::bigint FROM objects "
                           "WHERE kind='purchase' AND p1=$1 AND ord<$2 ORDER BY ord DESC LIMIT $3",
                           "tII", buyer, before_ord, (int64_t)(max > 0 ? max : 0));
    if (!r)
        return -1;
    int n = 0, rows = PQntuples(r), stop = 0;
    while (!stop && n < rows && pg_int(r, n, 0) >= since) {
        stop = fn(ud, pg_int(r, n, 0), pg_int(r, n, 1));
        n++;
    }
    PQclear(r);
    return stop < 0 ? -1 : n;
}

/* ---- the webhook outbox (marketd/webhook.c) ---------------------------------------- */

int pg_outbox_put(store *s, const char *event_id, const char *url, const char *body, int64_t at)
{
    return pg_run(PG(s),
                  "INSERT INTO webhook_outbox(event_id,url,body,attempts,next_at,created)"
                  " VALUES($1,$2,$3,0,$4,$4) ON CONFLICT(event_id,url) DO NOTHING",
                  "tttI", event_id, url, body, at);
}

int pg_outbox_due(store *s, int64_t now, int max, store_row_fn fn, void *ud)
{
    PGresult *r = pg_query(PG(s),
                           "SELECT json_build_object('n',n,'event_id',event_id,'url',url,'body',"
                           "body,'attempts',attempts,'created',created)::text FROM webhook_outbox"
                           " WHERE delivered IS NULL AND next_at<=$1 ORDER BY next_at, n LIMIT $2",
                           "II", now, (int64_t)max);
    if (!r)
        return -1;
    int n = 0, rows = PQntuples(r);
    while (n < rows) {
        n++;
        if (fn(ud, pg_text(r, n - 1, 0), n) != 0)
            break;
    }
    PQclear(r);
    return n;
}

int pg_outbox_next(store *s, int64_t *at, int64_t *pending)
{
    PGresult *r = pg_query(PG(s),
                           "SELECT MIN(next_at), COUNT(*) FROM webhook_outbox"
                           " WHERE delivered IS NULL",
                           "");
    if (!r || PQntuples(r) != 1) {
        PQclear(r);
        return -1;
    }
    bool any = !PQgetisnull(r, 0, 0);
    *at = any ? pg_int(r, 0, 0) : -1;
    *pending = pg_int(r, 0, 1);
    PQclear(r);
    return any ? 1 : 0;
}

int pg_outbox_done(store *s, int64_t n, int64_t at)
{
    return pg_run(PG(s), "UPDATE webhook_outbox SET delivered=$2, attempts=attempts+1 WHERE n=$1",
                  "II", n, at);
}

int pg_outbox_retry(store *s, int64_t n, int64_t next_at)
{
    return pg_run(PG(s), "UPDATE webhook_outbox SET next_at=$2, attempts=attempts+1 WHERE n=$1",
                  "II", n, next_at);
}
