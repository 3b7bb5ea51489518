/* store_pg.c: the PostgreSQL engine's operations, and their table (marketd/store.h).
 *
 * The same contract and the same answers as the SQLite engine (store_sqlite.c): each
 * operation is one or two statements over the tables of store_pg_schema.c, prepared once
 * per connection (pg_query); an object's JSON is kept as the text marketd wrote (fields
 * are read out of it as jsonb where a rule needs one). Rows go to the caller's callback
 * as libpq gives them (borrowed text, valid until the result is cleared after the walk).
 */
#include <stdio.h>
#include <string.h>

#include "marketd/store_pg.h"

/* ---- transactions and meta ---------------------------------------------------- */

/* A transaction not asked to be durable (an agent's chatter) commits without waiting
 * for its WAL to reach the disk, as the SQLite engine's synchronous=NORMAL: a crash of
 * the machine may lose its last ones, never half of one. */
static int p_begin(store *s, bool durable)
{
    pg *p = PG(s);
    if (pg_reconnect(p) != 0) /* PostgreSQL restarted: a new session, or a 503 */
        return -1;
    if (pg_exec(p, durable ? "BEGIN" : "BEGIN; SET LOCAL synchronous_commit TO off") != 0)
        return -1;
    p->in_tx = true;
    return 0;
}

/* COMMIT of a transaction that failed part way answers ROLLBACK: that is a failure. */
static int p_commit(store *s)
{
    PGresult *r = PQexec(PG(s)->conn, "COMMIT");
    PG(s)->in_tx = PQtransactionStatus(PG(s)->conn) != PQTRANS_IDLE;
    int rc =
        PQresultStatus(r) == PGRES_COMMAND_OK && strcmp(PQcmdStatus(r), "COMMIT") == 0 ? 0 : -1;
    PQclear(r);
    return rc;
}

static void p_rollback(store *s)
{
    PGTransactionStatusType st = PQtransactionStatus(PG(s)->conn);
    if (st != PQTRANS_IDLE && st != PQTRANS_UNKNOWN)
        pg_exec(PG(s), "ROLLBACK");
    PG(s)->in_tx = false;
}

static int p_meta_get(store *s, const char *key, store_row_fn fn, void *ud)
{
    return pg_one(pg_query(PG(s), "SELECT value FROM meta WHERE key=$1", "t", key), fn, ud);
}

static int p_meta_set(store *s, const char *key, const char *value)
{
    return pg_run(PG(s),
                  "INSERT INTO meta(key,value) VALUES($1,$2) ON CONFLICT(key) DO "
                  "UPDATE SET value=excluded.value",
                  "tt", key, value);
}

/* ---- objects -------------------------------------------------------------------- */

static int p_object_get(store *s, const char *kind, const char *id, store_row_fn fn, void *ud)
{
    return pg_one(
        pg_query(PG(s), "SELECT json FROM objects WHERE kind=$1 AND id=$2", "tt", kind, id), fn,
        ud);
}

/* A sort key as text for a parameter (NULL where the kind has none). */
static const char *key_text(bool has, int64_t v, char buf[24])
{
    if (!has)
        return NULL;
    snprintf(buf, 24, "%lld", (long long)v);
    return buf;
}

/* The searchable text is written with the row and never changed (store.h). */
static int p_object_put(store *s, const store_object *o)
{
    char due[24], seq[24], upd[24], k1[24], k2[24], created[24];
    const store_keys *k = &o->keys;
    snprintf(created, sizeof created, "%lld", (long long)o->created);
    return pg_run(PG(s),
                  "INSERT INTO objects(kind,id,status,p1,p2,due,created,json,seq,upd,k1,k2,tk,st) "
                  "VALUES($1,$2,$3,$4,$5,$6::bigint,$7::bigint,$8,$9::bigint,$10::bigint,"
                  "$11::bigint,$12::bigint,$13,$14) ON CONFLICT(kind,id) DO UPDATE SET "
                  "status=excluded.status, due=excluded.due, json=excluded.json, "
                  "seq=excluded.seq, upd=excluded.upd, k1=excluded.k1, k2=excluded.k2, "
                  "tk=excluded.tk",
                  "tttttttttttttt", o->kind, o->id, o->status, o->p1, o->p2,
                  key_text(o->due >= 0, o->due, due), created, o->json,
                  key_text(o->seq > 0, o->seq, seq), key_text(k->has_upd, k->upd, upd),
                  key_text(k->has_k1, k->k1, k1), key_text(k->has_k2, k->k2, k2), k->tk, o->search);
}

/* The SQL of a page of q into sql: the parameters are $1 kind, $2 status, $3 the
 * cursor's order, $4 the party or id, $5 the cursor's key, $6 the search (a LIKE
 * pattern over the row's searchable text: the trigram index of store_pg_schema.c), $7
 * the limit. The same rows in the same order as the SQLite engine's page_sql. */
static void page_sql(const store_page *q, char *sql, size_t size)
{
    static const char *const cols[] = {"o.ord", "o.upd", "o.k1", "o.k2", "o.tk"};
    const char *dir = q->desc ? " DESC" : "", *cmp = q->desc ? "<" : ">", *col = cols[q->col];
    bool by_ord = q->col == STORE_ORD;
    char cursor[128] = "", order[96], notnull[64] = "";
    if (by_ord && (q->after > 0 || !q->desc))
        snprintf(cursor, sizeof cursor, " AND o.ord %s $3", cmp);
    else if (!by_ord && q->has_key)
        snprintf(cursor, sizeof cursor, " AND (%s, o.ord) %s ($5, $3)", col, cmp);
    if (by_ord) {
        snprintf(order, sizeof order, "o.ord%s", dir);
    } else {
        snprintf(order, sizeof order, "%s%s, o.ord%s", col, dir, dir);
        snprintf(notnull, sizeof notnull, " AND %s IS NOT NULL", col);
    }
    snprintf(sql, size,
             "SELECT o.json, o.ord FROM objects o WHERE o.kind=$1%s%s%s%s%s ORDER BY %s LIMIT $7",
             q->status ? " AND o.status=$2" : "", notnull,
             q->id      ? " AND o.id=$4"
             : q->party ? " AND (o.p1=$4 OR o.p2=$4)"
                        : "",
             cursor, q->q ? " AND o.st LIKE $6" : "", order);
}

/* The LIKE pattern finding text anywhere in a searchable text: %, _ and \ escaped. */
static void like_pattern(const char *text, char *out, size_t size)
{
    size_t n = 0;
    out[n++] = '%';
    for (const char *c = text; *c && n < size - 4; c++) {
        if (*c == '%' || *c == '_' || *c == '\\')
            out[n++] = '\\';
        out[n++] = *c;
    }
    out[n++] = '%';
    out[n] = '\0';
}

static int p_objects_page(store *s, const store_page *q, store_row_fn fn, void *ud)
{
    /* any kind is searched by its rows' searchable text (objects.st), whether or not
     * the SQLite engine has a table of it */
    if (q->col > STORE_TK) {
        pg_set_error(PG(s), "no such sort column");
        return -1;
    }
    char sql[768], pattern[512] = "", key[24];
    if (q->q)
        like_pattern(q->q, pattern, sizeof pattern);
    page_sql(q, sql, sizeof sql);
    const char *keytext = NULL;
    if (q->has_key && q->col == STORE_TK)
        keytext = q->tkey ? q->tkey : "";
    else if (q->has_key)
        keytext = key_text(true, q->key, key);
    /* $5 is an integer but for an agent's name: its type is the column's */
    const char *spec = q->col == STORE_TK ? "ttItttI" : "ttItItI";
    int64_t nkey = q->has_key && q->col != STORE_TK ? q->key : 0;
    PGresult *r = q->col == STORE_TK
                      ? pg_query(PG(s), sql, spec, q->kind, q->status, q->after,
                                 q->id ? q->id : q->party, keytext, pattern, (int64_t)q->limit)
                      : pg_query(PG(s), sql, spec, q->kind, q->status, q->after,
                                 q->id ? q->id : q->party, nkey, pattern, (int64_t)q->limit);
    return pg_walk(r, fn, ud);
}

static int p_objects_working(store *s, const char *kind, const char *s1, const char *s2, int max,
                             store_row_fn fn, void *ud)
{
    return pg_walk(pg_query(PG(s),
                            "SELECT json, ord FROM objects WHERE kind=$1 AND status IN ($2,$3) "
                            "UNION ALL SELECT json, ord FROM (SELECT json, ord FROM objects WHERE "
                            "kind=$1 AND (status IS NULL OR (status IS DISTINCT FROM $2 AND "
                            "status IS DISTINCT FROM $3)) ORDER BY ord DESC LIMIT $4) w "
                            "ORDER BY 2",
                            "tttI", kind, s1, s2, (int64_t)max),
                   fn, ud);
}

static int p_objects_named(store *s, const char *kind, const char *ids, store_row_fn fn, void *ud)
{
    return pg_walk(pg_query(PG(s),
                            "SELECT o.json, o.ord FROM objects o WHERE o.kind=$1 AND o.id IN "
                            "(SELECT jsonb_array_elements_text($2::jsonb)) ORDER BY o.ord",
                            "tt", kind, ids),
                   fn, ud);
}

static int p_objects_total(store *s, const char *kind, int64_t *n)
{
    *n = 0;
    return pg_one_int(pg_query(PG(s), "SELECT n FROM kind_totals WHERE kind=$1", "t", kind), n) < 0
               ? -1
               : 0;
}

static int p_objects_each(store *s, const char *kind, store_row_fn fn, void *ud)
{
    return pg_walk(
        pg_query(PG(s), "SELECT json FROM objects WHERE kind=$1 ORDER BY ord", "t", kind), fn, ud);
}

static int p_objects_newest(store *s, const char *kind, int max, store_row_fn fn, void *ud)
{
    return pg_walk(
        pg_query(PG(s),
                 "SELECT json FROM (SELECT json, ord FROM objects WHERE kind=$1 ORDER BY "
                 "ord DESC LIMIT $2) w ORDER BY ord",
                 "tI", kind, (int64_t)max),
        fn, ud);
}

static int p_objects_held_by(store *s, const char *kind, const char *status, const char *holder,
                             store_row_fn fn, void *ud)
{
    return pg_walk(pg_query(PG(s),
                            "SELECT json FROM objects WHERE kind=$1 AND status=$2 AND "
                            "jsonb_exists(json::jsonb->'held_by', $3) ORDER BY ord",
                            "ttt", kind, status, holder),
                   fn, ud);
}

static int p_threads_live(store *s, const char *agent_id, store_row_fn fn, void *ud)
{
    return pg_walk(pg_query(PG(s),
                            "SELECT json FROM objects WHERE kind='negotiation' AND status IN "
                            "('open','held') AND ($1::text IS NULL OR p1=$1 OR p2=$1) ORDER BY ord",
                            "t", agent_id),
                   fn, ud);
}

static int p_alerts_live(store *s, const char *agent_id, store_row_fn fn, void *ud)
{
    return pg_walk(pg_query(PG(s),
                            "SELECT json FROM objects WHERE kind='alert' AND p2=$1 AND "
                            "status IN ('open','acked') ORDER BY ord",
                            "t", agent_id),
                   fn, ud);
}

static int p_purchases_due(store *s, int64_t now, int max, store_row_fn fn, void *ud)
{
    return pg_walk(pg_query(PG(s),
                            "SELECT json FROM objects WHERE kind='purchase' AND "
                            "status='pending_approval' AND due IS NOT NULL AND due<=$1 ORDER BY "
                            "due, ord LIMIT $2",
                            "II", now, (int64_t)max),
                   fn, ud);
}

static int p_listings_open(store *s, const char *seller, int max)
{
    int64_t n = -1;
    pg_one_int(pg_query(PG(s),
                        "SELECT COUNT(*) FROM (SELECT 1 FROM objects WHERE kind='listing' AND "
                        "status='open' AND p1=$1 LIMIT $2) w",
                        "tI", seller, (int64_t)max),
               &n);
    return (int)n;
}

static int p_purchase_quantities(store *s, const char *buyer, int64_t *out, int max)
{
    PGresult *r = pg_query(PG(s),
                           "SELECT (json::jsonb->>'quantity')::bigint FROM objects WHERE "
                           "kind='purchase' AND p1=$1 ORDER BY ord DESC LIMIT $2",
                           "tI", buyer, (int64_t)max);
    if (!r)
        return -1;
    int n = 0;
    for (; n < max && n < PQntuples(r); n++)
        out[n] = pg_int(r, n, 0);
    PQclear(r);
    return n;
}

static int p_purchase_duplicate(store *s, const store_dup *q)
{
    int64_t one_row = 0;
    return pg_one_int(pg_query(PG(s),
                               "SELECT 1 FROM objects WHERE kind='purchase' AND p1=$1 AND "
                               "created>=$2 AND status IN ('pending_approval','approved',"
                               "'settled') AND json::jsonb->>'listing_id'=$3 AND "
                               "json::jsonb->'unit_price_minor'=to_jsonb($4) AND "
                               "json::jsonb->'quantity'=to_jsonb($5) LIMIT 1",
                               "tItII", q->buyer, q->since, q->listing_id, q->unit_price,
                               q->quantity),
                      &one_row);
}

/* ---- messages ------------------------------------------------------------------- */

static int p_message_put(store *s, const store_message *msg)
{
    return pg_run(PG(s),
                  "INSERT INTO messages(negotiation_id,seq,from_id,kind,at,json) "
                  "VALUES($1,$2,$3,$4,$5,$6)",
                  "tIttIt", msg->negotiation_id, msg->seq, msg->from, msg->kind, msg->at,
                  msg->json);
}

static int p_messages_page(store *s, const char *neg, int64_t after, int max, store_row_fn fn,
                           void *ud)
{
    return pg_walk(pg_query(PG(s),
                            "SELECT json, seq FROM messages WHERE negotiation_id=$1 AND seq>$2 "
                            "ORDER BY seq LIMIT $3",
                            "tII", neg, after, (int64_t)max),
                   fn, ud);
}

static int p_message_texts(store *s, const char *neg, store_row_fn fn, void *ud)
{
    return pg_walk(pg_query(PG(s),
                            "SELECT json::jsonb->>'text', seq FROM messages WHERE "
                            "negotiation_id=$1 ORDER BY seq",
                            "t", neg),
                   fn, ud);
}

static int p_offers_since(store *s, const char *from, int64_t since)
{
    int64_t n = 0;
    if (pg_one_int(pg_query(PG(s),
                            "SELECT COUNT(*) FROM messages WHERE from_id=$1 AND at>$2 AND kind IN "
                            "('offer','counter')",
                            "tI", from, since),
                   &n) < 0)
        return -1;
    return (int)n;
}

/* ---- the event log -------------------------------------------------------------- */

/* The seq is the market's m->seq + 1 (marketd/db.c, emit_text), which every transaction
 * reads from the counter row it locks first (store_pg_multi.c, pg_tx_lock): commit order
 * is seq order across instances. */
static int p_event_append(store *s, const store_event *e)
{
    char src_n[24];
    return pg_run(PG(s),
                  "INSERT INTO events(seq,type,at,json,src,src_id,src_n) "
                  "VALUES($1,$2,$3,$4,$5,$6,$7::bigint)",
                  "ItItttt", e->seq, e->type, e->at, e->line ? e->line : "", e->src,
                  e->src ? e->src_id : NULL, key_text(e->src != NULL, e->src_n, src_n));
}

/* The SQL giving, for events, seq, type, at, the stored line ('' when elided) and, for
 * an elided one, its data from where it lives. */
#define EVENT_SELECT                                                                               \
    "SELECT e.seq, e.type, e.at, e.json, CASE WHEN e.json<>'' THEN NULL "                          \
    "WHEN e.src='message' THEN (SELECT json FROM messages WHERE negotiation_id=e.src_id AND "      \
    "seq=e.src_n) ELSE (SELECT json FROM objects WHERE kind=e.src AND id=e.src_id) END "           \
    "FROM events e "

/* Gives each row of r (seq, type, at, line or '', data) to fn, at most max (max < 0:
 * all); clears r. The rows given, or -1. */
static int walk_events(PGresult *r, int max, store_event_fn fn, void *ud)
{
    if (!r)
        return -1;
    int n = 0, rows = PQntuples(r), stop = 0;
    while (!stop && (max < 0 || n < max) && n < rows) {
        const char *line = pg_text(r, n, 3);
        store_evrow e = {.seq = pg_int(r, n, 0),
                         .type = pg_text(r, n, 1),
                         .at = pg_int(r, n, 2),
                         .line = line && *line ? line : NULL,
                         .data = pg_text(r, n, 4)};
        stop = fn(ud, &e);
        n++;
    }
    PQclear(r);
    return stop < 0 ? -1 : n;
}

static int p_events_each(store *s, int64_t after, int max, store_event_fn fn, void *ud)
{
    return walk_events(pg_query(PG(s), EVENT_SELECT "WHERE e.seq>$1 ORDER BY e.seq LIMIT $2", "II",
                                after, (int64_t)max),
                       -1, fn, ud);
}

static int p_event_get(store *s, int64_t seq, store_event_fn fn, void *ud)
{
    return walk_events(pg_query(PG(s), EVENT_SELECT "WHERE e.seq=$1", "I", seq), 1, fn, ud);
}

static int p_event_of_object(store *s, const char *kind, const char *id, store_event_fn fn,
                             void *ud)
{
    return walk_events(pg_query(PG(s),
                                "SELECT e.seq, e.type, e.at, '', o.json FROM objects o JOIN "
                                "events e ON e.seq=o.seq AND e.json='' WHERE o.kind=$1 AND "
                                "o.id=$2",
                                "tt", kind, id),
                       1, fn, ud);
}

static int p_event_set_line(store *s, int64_t seq, const char *line)
{
    return pg_run(PG(s), "UPDATE events SET json=$1, src=NULL, src_id=NULL WHERE seq=$2", "tI",
                  line, seq);
}

static int p_last_seq(store *s, int64_t *seq)
{
    *seq = 0;
    return pg_one_int(pg_query(PG(s), "SELECT COALESCE(MAX(seq),0) FROM events", ""), seq) < 0 ? -1
                                                                                               : 0;
}

static int p_events_prune(store *s, int64_t below)
{
    return pg_run(PG(s), "DELETE FROM events WHERE seq<$1", "I", below);
}

/* ---- idempotency ---------------------------------------------------------------- */

static int p_idem_get(store *s, const char *scope, const char *key, store_answer_fn fn, void *ud)
{
    PGresult *r = pg_query(PG(s),
                           "SELECT fingerprint,status,body,refs FROM idem WHERE actor=$1 AND "
                           "key=$2",
                           "tt", scope, key);
    if (!r)
        return -1;
    int found = PQntuples(r) > 0;
    if (found) {
        store_answer a = {.fingerprint = pg_text(r, 0, 0),
                          .status = (int)pg_int(r, 0, 1),
                          .body = pg_text(r, 0, 2),
                          .refs = pg_text(r, 0, 3)};
        fn(ud, &a);
    }
    PQclear(r);
    return found;
}

static int p_idem_put(store *s, const char *scope, const char *key, const store_answer *a,
                      int64_t at)
{
    return pg_run(PG(s),
                  "INSERT INTO idem(actor,key,fingerprint,status,body,at,refs) "
                  "VALUES($1,$2,$3,$4,$5,$6,$7)",
                  "tttItIt", scope, key, a->fingerprint, (int64_t)a->status, a->body, at, a->refs);
}

static int p_idem_prune(store *s, int64_t before)
{
    return pg_run(PG(s), "DELETE FROM idem WHERE at<$1", "I", before);
}

static int p_idem_refs_each(store *s, int64_t after, int64_t upto, store_idem_fn fn, void *ud)
{
    PGresult *r = pg_query(PG(s),
                           "SELECT actor,key,fingerprint,status,body,refs FROM idem WHERE "
                           "at>$1 AND at<=$2 AND refs IS NOT NULL ORDER BY at",
                           "II", after, upto);
    if (!r)
        return -1;
    int n = PQntuples(r), stop = 0, i;
    for (i = 0; i < n && !stop; i++) {
        store_answer a = {.fingerprint = pg_text(r, i, 2),
                          .status = (int)pg_int(r, i, 3),
                          .body = pg_text(r, i, 4),
                          .refs = pg_text(r, i, 5)};
        stop = fn(ud, pg_text(r, i, 0), pg_text(r, i, 1), &a);
    }
    PQclear(r);
    return stop < 0 ? -1 : i;
}

static int p_idem_inline(store *s, const char *scope, const char *key, const char *body)
{
    return pg_run(PG(s), "UPDATE idem SET body=$1, refs=NULL WHERE actor=$2 AND key=$3", "ttt",
                  body, scope, key);
}

/* ---- the table ------------------------------------------------------------------- */

const store_ops store_pg = {
    .name = "postgresql",
    .open = pg_open,
    .open_reader = pg_open_reader,
    .close = pg_close,
    .error = pg_error,
    .begin = p_begin,
    .commit = p_commit,
    .rollback = p_rollback,
    .meta_get = p_meta_get,
    .meta_set = p_meta_set,
    .object_get = p_object_get,
    .object_put = p_object_put,
    .objects_page = p_objects_page,
    .objects_each = p_objects_each,
    .objects_newest = p_objects_newest,
    .objects_working = p_objects_working,
    .objects_named = p_objects_named,
    .objects_total = p_objects_total,
    .objects_held_by = p_objects_held_by,
    .threads_live = p_threads_live,
    .alerts_live = p_alerts_live,
    .purchases_due = p_purchases_due,
    .listings_open = p_listings_open,
    .purchase_quantities = p_purchase_quantities,
    .purchase_duplicate = p_purchase_duplicate,
    .message_put = p_message_put,
    .messages_page = p_messages_page,
    .message_texts = p_message_texts,
    .offers_since = p_offers_since,
    .event_append = p_event_append,
    .events_each = p_events_each,
    .event_get = p_event_get,
    .event_of_object = p_event_of_object,
    .event_set_line = p_event_set_line,
    .last_seq = p_last_seq,
    .idem_get = p_idem_get,
    .idem_put = p_idem_put,
    .idem_prune = p_idem_prune,
    .idem_refs_each = p_idem_refs_each,
    .idem_inline = p_idem_inline,
    .events_prune = p_events_prune,
    .ref_window = pg_ref_window,
    .ref_put = pg_ref_put,
    .balance_add = pg_balance_add,
    .balances_each = pg_balances_each,
    .token_put = pg_token_put,
    .token_agent = pg_token_agent,
    .fault_put = pg_fault_put,
    .faults_each = pg_faults_each,
    .purchases_window = pg_purchases_window,
    .reader_open = pg_reader_open,
    .reader_close = pg_reader_close,
    .purchases_recent = pg_purchases_recent,
    .purchases_history = pg_purchases_history,
    .agent_stats = pg_agent_stats, /* store_pg_stats.c */
    .outbox_put = pg_outbox_put,
    .outbox_due = pg_outbox_due,
    .outbox_next = pg_outbox_next,
    .outbox_done = pg_outbox_done,
    .outbox_retry = pg_outbox_retry,
    .tx_lock = pg_tx_lock,
    .tx_seq_set = pg_tx_seq_set,
    .listen_open = pg_listen_open,
    .listen_wait = pg_listen_wait,
    .leader_try = pg_leader_try,
    .presence_put = pg_presence_put,
    .presence_beat = pg_presence_beat,
    .presence_each = pg_presence_each,
    .rate_open = pg_rate_open,
    .rate_take = pg_rate_take,
};
