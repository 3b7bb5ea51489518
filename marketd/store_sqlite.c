/* store_sqlite.c: the SQLite engine's operations, and their table (marketd/store.h).
 *
 * Each operation is one or two statements over the tables of store_sqlite_schema.c,
 * prepared once and cached by their text (sq_stmt), bound by a spec string, and stepped
 * here, so that no other file of marketd/ calls sqlite3_*. Rows go to the caller's
 * callback as SQLite gives them (borrowed text: no copy).
 */
#include <stdio.h>
#include <string.h>

#include "marketd/store_sqlite.h"

/* Steps st to its end, giving column 0 (text) and column 1 (an integer, when the
 * statement has one; else 0) of each row to fn; resets st. The rows given, or -1. */
static int walk(sqlite3_stmt *st, store_row_fn fn, void *ud)
{
    if (!st)
        return -1;
    bool two = sqlite3_column_count(st) > 1;
    int n = 0, rc, stop = 0;
    while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        stop =
            fn(ud, (const char *)sqlite3_column_text(st, 0), two ? sqlite3_column_int64(st, 1) : 0);
        n++;
    }
    sqlite3_reset(st);
    return stop < 0 || (!stop && rc != SQLITE_DONE) ? -1 : n;
}

/* Steps st once: its first row to fn (as walk). 1 a row, 0 none, -1. */
static int one(sqlite3_stmt *st, store_row_fn fn, void *ud)
{
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        fn(ud, (const char *)sqlite3_column_text(st, 0),
           sqlite3_column_count(st) > 1 ? sqlite3_column_int64(st, 1) : 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* The integer in column 0 of st's first row into *out (untouched when there is none).
 * 1 a row, 0 none, -1. */
static int one_int(sqlite3_stmt *st, int64_t *out)
{
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* ---- transactions and meta ---------------------------------------------------- */

static int sq_begin(store *s, bool durable)
{
    sq *q = SQ(s);
    if (!q->memory)
        sq_exec(q, durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    return sq_exec(q, "BEGIN IMMEDIATE");
}

static int sq_commit(store *s)
{
    return sq_exec(SQ(s), "COMMIT");
}

static void sq_rollback(store *s)
{
    if (sqlite3_get_autocommit(SQ(s)->db) == 0)
        sq_exec(SQ(s), "ROLLBACK");
}

static int sq_meta_get(store *s, const char *key, store_row_fn fn, void *ud)
{
    return one(sq_stmt(SQ(s), "SELECT value FROM meta WHERE key=?", "t", key), fn, ud);
}

static int sq_meta_set(store *s, const char *key, const char *value)
{
    return sq_run(SQ(s),
                  "INSERT INTO meta(key,value) VALUES(?,?) ON CONFLICT(key) DO "
                  "UPDATE SET value=excluded.value",
                  "tt", key, value);
}

/* ---- objects -------------------------------------------------------------------- */

static int sq_object_get(store *s, const char *kind, const char *id, store_row_fn fn, void *ud)
{
    return one(sq_stmt(SQ(s), "SELECT json FROM objects WHERE kind=? AND id=?", "tt", kind, id), fn,
               ud);
}

/* The kinds of object, each with its table of searchable text (search_<kind>); policies
 * are listed but not searched (few, listed whole: marketd/db.c, mkt_searchable). A
 * searchable kind added after these (disputes: few) has no table: its text is kept in
 * objects.st only, and a search of it reads each row's (sq_objects_page). */
static const char *const kinds[] = {"agent", "listing", "negotiation", "purchase",
                                    "alert", "ledger",  "decision",    NULL};

/* True when kind is one of kinds[] (its name may then be written into SQL text). */
static bool known_kind(const char *kind)
{
    for (int i = 0; kind && kinds[i]; i++)
        if (strcmp(kinds[i], kind) == 0)
            return true;
    return false;
}

/* Binds k's sort keys to st's parameters 10 to 13 (NULL where the kind has none). */
static void bind_keys(sqlite3_stmt *st, const store_keys *k)
{
    if (k->has_upd)
        sqlite3_bind_int64(st, 10, k->upd);
    if (k->has_k1)
        sqlite3_bind_int64(st, 11, k->k1);
    if (k->has_k2)
        sqlite3_bind_int64(st, 12, k->k2);
    if (k->tk)
        sqlite3_bind_text(st, 13, k->tk, -1, SQLITE_STATIC);
}

/* Adds a new row's searchable text to its kind's index. 0 or -1. */
static int search_put(sq *q, const store_object *o)
{
    char sql[160];
    if (!known_kind(o->kind))
        return -1;
    snprintf(sql, sizeof sql,
             "INSERT INTO search_%s(rowid,t) SELECT ord, ?3 FROM objects WHERE kind=?1 AND id=?2",
             o->kind);
    return sq_run(q, sql, "ttt", o->kind, o->id, o->search);
}

static int sq_object_put(store *s, const store_object *o)
{
    sqlite3_stmt *st =
        sq_stmt(SQ(s),
                "INSERT INTO objects(kind,id,status,p1,p2,due,created,json,seq,upd,k1,k2,tk,st) "
                "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(kind,id) DO UPDATE SET "
                "status=excluded.status, due=excluded.due, json=excluded.json, "
                "seq=excluded.seq, upd=excluded.upd, k1=excluded.k1, k2=excluded.k2, "
                "tk=excluded.tk",
                "ttttt", o->kind, o->id, o->status, o->p1, o->p2);
    if (!st)
        return -1;
    if (o->due >= 0)
        sqlite3_bind_int64(st, 6, o->due);
    sqlite3_bind_int64(st, 7, o->created);
    sqlite3_bind_text(st, 8, o->json, -1, SQLITE_STATIC);
    if (o->seq > 0)
        sqlite3_bind_int64(st, 9, o->seq);
    bind_keys(st, &o->keys);
    if (o->search)
        sqlite3_bind_text(st, 14, o->search, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(st);
    if (rc == 0 && o->search && known_kind(o->kind))
        rc = search_put(SQ(s), o);
    return rc;
}

/* A search in another order than creation's, or with a status (or party): when it
 * matches at most this many rows, they are found by the trigram index (and sorted);
 * when more, the index of the sort (and status) is read in order, each row's text
 * tested, until the page is full (a common text fills it soon). */
#define SEARCH_SORTED_MAX 4000

/* The SQL of a page of q into sql (size bytes): the parameters are ?1 kind, ?2 status,
 * ?3 the cursor's order, ?4 the party or id, ?5 the cursor's key, ?6 the search (an
 * FTS5 expression, sq_search_plan), ?7 the limit, ?8 the searched text. A search led by
 * its index (CROSS JOIN: SQLite keeps that order) gives rows in creation order (the
 * index's rowids are the rows' order), sorted then in another sort; confirm: each row
 * the index gives is confirmed by its text (objects.st). scan: the sort's index leads
 * and each row's text is tested. The kind is one of kinds[]. */
static void page_sql(const store_page *q, bool scan, bool confirm, char *sql, size_t size)
{
    static const char *const cols[] = {"o.ord", "o.upd", "o.k1", "o.k2", "o.tk"};
    const char *dir = q->desc ? " DESC" : "", *cmp = q->desc ? "<" : ">";
    bool by_ord = q->col == STORE_ORD;
    char col[64], from[128], cursor[128] = "", search[160] = "", order[160], notnull[96] = "";
    /* a party's rows (an agent's threads) are found by the parties' indexes and sorted:
     * "+" keeps SQLite from reading the whole kind in the sort's index instead */
    snprintf(col, sizeof col, "%s%s", q->party ? "+" : "", cols[q->col]);
    if (q->q && !scan) {
        if (by_ord)
            snprintf(col, sizeof col, "search_%s.rowid", q->kind);
        snprintf(from, sizeof from, "search_%s CROSS JOIN objects o ON o.ord=search_%s.rowid",
                 q->kind, q->kind);
        snprintf(search, sizeof search, " AND search_%s MATCH ?6%s", q->kind,
                 confirm ? " AND instr(o.st, ?8) > 0" : "");
    } else {
        snprintf(from, sizeof from, "objects o");
        if (q->q)
            snprintf(search, sizeof search, " AND instr(o.st, ?8) > 0");
    }
    if (by_ord && (q->after > 0 || !q->desc))
        snprintf(cursor, sizeof cursor, " AND %s %s ?3", col, cmp);
    else if (!by_ord && q->has_key)
        snprintf(cursor, sizeof cursor, " AND (%s, o.ord) %s (?5, ?3)", col, cmp);
    if (by_ord) {
        snprintf(order, sizeof order, "%s%s", col, dir);
    } else {
        snprintf(order, sizeof order, "%s%s, o.ord%s", col, dir, dir);
        snprintf(notnull, sizeof notnull, " AND %s IS NOT NULL", col);
    }
    snprintf(sql, size,
             "SELECT o.json, o.ord FROM %s WHERE o.kind=?1%s%s%s%s%s ORDER BY %s LIMIT ?7", from,
             q->status ? " AND o.status=?2" : "", notnull,
             q->id      ? " AND o.id=?4"
             : q->party ? " AND o.ord IN (SELECT ord FROM objects WHERE kind=?1 AND p1=?4 UNION "
                          "SELECT ord FROM objects WHERE kind=?1 AND p2=?4)"
                        : "",
             cursor, search, order);
}

/* True when the search of page q (match and confirm: sq_search_plan) matches more than
 * SEARCH_SORTED_MAX rows. */
static bool search_is_common(sq *s, const store_page *q, const char *match, bool confirm)
{
    char sql[320];
    int64_t n = 0;
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM (SELECT 1 FROM search_%s CROSS JOIN objects o ON "
             "o.ord=search_%s.rowid WHERE search_%s MATCH ?1%s LIMIT %d)",
             q->kind, q->kind, q->kind, confirm ? " AND instr(o.st, ?2) > 0" : "",
             SEARCH_SORTED_MAX + 1);
    one_int(sq_stmt(s, sql, confirm ? "tt" : "t", match, q->q), &n);
    return n > SEARCH_SORTED_MAX;
}

static int sq_objects_page(store *s, const store_page *q, store_row_fn fn, void *ud)
{
    /* the kind is a parameter of the SQL, but a search names its table: only the kinds
     * of kinds[] are searched through one, any other's rows are scanned (objects.st) */
    if (q->col > STORE_TK)
        return -1;
    char sql[1024], match[640] = "";
    bool confirm = false;
    bool known = known_kind(q->kind);
    if (q->q && known && sq_search_plan(SQ(s), q->kind, q->q, match, sizeof match, &confirm) < 0)
        return -1;
    bool filtered = q->col != STORE_ORD || q->status || q->party || q->id;
    bool scan = q->q && (!known || (filtered && search_is_common(SQ(s), q, match, confirm)));
    page_sql(q, scan, confirm, sql, sizeof sql);
    sqlite3_stmt *st =
        sq_stmt(SQ(s), sql, "ttIt", q->kind, q->status, q->after, q->id ? q->id : q->party);
    if (!st)
        return -1;
    if (q->has_key && q->col == STORE_TK)
        sqlite3_bind_text(st, 5, q->tkey ? q->tkey : "", -1, SQLITE_STATIC);
    else if (q->has_key)
        sqlite3_bind_int64(st, 5, q->key);
    if (q->q && !scan)
        sqlite3_bind_text(st, 6, match, -1, SQLITE_STATIC);
    if (q->q && (scan || confirm))
        sqlite3_bind_text(st, 8, q->q, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, q->limit);
    return walk(st, fn, ud);
}

static int sq_objects_working(store *s, const char *kind, const char *s1, const char *s2, int max,
                              store_row_fn fn, void *ud)
{
    return walk(sq_stmt(SQ(s),
                        "SELECT json, ord FROM objects INDEXED BY objects_kind_status WHERE "
                        "kind=?1 AND status IN (?2,?3) "
                        "UNION ALL SELECT json, ord FROM (SELECT json, ord FROM objects WHERE "
                        "kind=?1 AND (status IS NULL OR (status IS NOT ?2 AND status IS NOT ?3)) "
                        "ORDER BY ord DESC LIMIT ?4) ORDER BY 2",
                        "tttI", kind, s1, s2, (int64_t)max),
                fn, ud);
}

/* Each id looked up (not the whole kind read), sorted. */
static int sq_objects_named(store *s, const char *kind, const char *ids, store_row_fn fn, void *ud)
{
    return walk(sq_stmt(SQ(s),
                        "SELECT o.json, o.ord FROM (SELECT DISTINCT value AS v FROM json_each(?2)) "
                        "j CROSS JOIN objects o ON o.kind=?1 AND o.id=j.v ORDER BY o.ord",
                        "tt", kind, ids),
                fn, ud);
}

static int sq_objects_total(store *s, const char *kind, int64_t *n)
{
    *n = 0;
    return one_int(sq_stmt(SQ(s), "SELECT n FROM kind_totals WHERE kind=?", "t", kind), n) < 0 ? -1
                                                                                               : 0;
}

static int sq_objects_each(store *s, const char *kind, store_row_fn fn, void *ud)
{
    return walk(sq_stmt(SQ(s), "SELECT json FROM objects WHERE kind=? ORDER BY ord", "t", kind), fn,
                ud);
}

static int sq_objects_newest(store *s, const char *kind, int max, store_row_fn fn, void *ud)
{
    return walk(sq_stmt(SQ(s),
                        "SELECT json FROM (SELECT json, ord FROM objects WHERE kind=? ORDER BY "
                        "ord DESC LIMIT ?) ORDER BY ord",
                        "tI", kind, (int64_t)max),
                fn, ud);
}

static int sq_objects_held_by(store *s, const char *kind, const char *status, const char *holder,
                              store_row_fn fn, void *ud)
{
    return walk(sq_stmt(SQ(s),
                        "SELECT json FROM objects WHERE kind=?1 AND status=?2 AND EXISTS "
                        "(SELECT 1 FROM json_each(objects.json,'$.held_by') WHERE value=?3) "
                        "ORDER BY ord",
                        "ttt", kind, status, holder),
                fn, ud);
}

static int sq_threads_live(store *s, const char *agent_id, store_row_fn fn, void *ud)
{
    return walk(sq_stmt(SQ(s),
                        "SELECT json FROM objects WHERE kind=?1 AND status IN (?2,'held') AND "
                        "(?3 IS NULL OR p1=?3 OR p2=?3) ORDER BY ord",
                        "ttt", "negotiation", "open", agent_id),
                fn, ud);
}

static int sq_alerts_live(store *s, const char *agent_id, store_row_fn fn, void *ud)
{
    /* objects_p2 (kind, p2, ord): the agent's alerts only, in order */
    return walk(sq_stmt(SQ(s),
                        "SELECT json FROM objects WHERE kind='alert' AND p2=?1 AND "
                        "status IN ('open','acked') ORDER BY ord",
                        "t", agent_id),
                fn, ud);
}

static int sq_purchases_due(store *s, int64_t now, int max, store_row_fn fn, void *ud)
{
    return walk(sq_stmt(SQ(s),
                        "SELECT json FROM objects WHERE kind='purchase' AND "
                        "status='pending_approval' AND due IS NOT NULL AND due<=? ORDER BY due "
                        "LIMIT ?",
                        "II", now, (int64_t)max),
                fn, ud);
}

static int sq_listings_open(store *s, const char *seller, int max)
{
    /* a partial index holds only open listings: this reads at most max entries */
    int64_t n = -1;
    one_int(sq_stmt(SQ(s),
                    "SELECT COUNT(*) FROM (SELECT 1 FROM objects WHERE kind='listing' AND "
                    "status='open' AND p1=? LIMIT ?)",
                    "tI", seller, (int64_t)max),
            &n);
    return (int)n;
}

static int sq_purchase_quantities(store *s, const char *buyer, int64_t *out, int max)
{
    sqlite3_stmt *st = sq_stmt(SQ(s),
                               "SELECT json_extract(json,'$.quantity') FROM objects WHERE "
                               "kind='purchase' AND p1=? ORDER BY ord DESC LIMIT ?",
                               "tI", buyer, (int64_t)max);
    if (!st)
        return -1;
    int n = 0;
    while (n < max && sqlite3_step(st) == SQLITE_ROW)
        out[n++] = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return n;
}

static int sq_purchase_duplicate(store *s, const store_dup *q)
{
    int64_t one_row = 0;
    return one_int(sq_stmt(SQ(s),
                           "SELECT 1 FROM objects WHERE kind='purchase' AND p1=? AND created>=? "
                           "AND status IN ('pending_approval','approved','settled') AND "
                           "json_extract(json,'$.listing_id')=? AND "
                           "json_extract(json,'$.unit_price_minor')=? AND "
                           "json_extract(json,'$.quantity')=? LIMIT 1",
                           "tItII", q->buyer, q->since, q->listing_id, q->unit_price, q->quantity),
                   &one_row);
}

/* ---- messages ------------------------------------------------------------------- */

static int sq_message_put(store *s, const store_message *msg)
{
    return sq_run(SQ(s),
                  "INSERT INTO messages(negotiation_id,seq,from_id,kind,at,json) "
                  "VALUES(?,?,?,?,?,?)",
                  "tIttIt", msg->negotiation_id, msg->seq, msg->from, msg->kind, msg->at,
                  msg->json);
}

static int sq_messages_page(store *s, const char *neg, int64_t after, int max, store_row_fn fn,
                            void *ud)
{
    return walk(sq_stmt(SQ(s),
                        "SELECT json, seq FROM messages WHERE negotiation_id=? AND seq>? ORDER BY "
                        "seq LIMIT ?",
                        "tII", neg, after, (int64_t)max),
                fn, ud);
}

static int sq_message_texts(store *s, const char *neg, store_row_fn fn, void *ud)
{
    return walk(sq_stmt(SQ(s),
                        "SELECT json_extract(json,'$.text'), seq FROM messages WHERE "
                        "negotiation_id=? ORDER BY seq",
                        "t", neg),
                fn, ud);
}

static int sq_offers_since(store *s, const char *from, int64_t since)
{
    int64_t n = 0;
    if (one_int(sq_stmt(SQ(s),
                        "SELECT COUNT(*) FROM messages WHERE from_id=? AND at>? AND kind IN "
                        "('offer','counter')",
                        "tI", from, since),
                &n) < 0)
        return -1;
    return (int)n;
}

/* ---- the event log -------------------------------------------------------------- */

static int sq_event_append(store *s, const store_event *e)
{
    sqlite3_stmt *st = sq_stmt(
        SQ(s), "INSERT INTO events(seq,type,at,json,src,src_id,src_n) VALUES(?,?,?,?,?,?,?)",
        "ItIttt", e->seq, e->type, e->at, e->line ? e->line : "", e->src,
        e->src ? e->src_id : NULL);
    if (!st)
        return -1;
    if (e->src)
        sqlite3_bind_int64(st, 7, e->src_n);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(st);
    return rc;
}

/* The SQL giving, for events, seq, type, at, the stored line ('' when elided) and, for
 * an elided one, its data from where it lives. */
#define EVENT_SELECT                                                                               \
    "SELECT e.seq, e.type, e.at, e.json, CASE WHEN e.json<>'' THEN NULL "                          \
    "WHEN e.src='message' THEN (SELECT json FROM messages WHERE negotiation_id=e.src_id AND "      \
    "seq=e.src_n) ELSE (SELECT json FROM objects WHERE kind=e.src AND id=e.src_id) END "           \
    "FROM events e "

/* Steps st (columns seq, type, at, line or '', data) giving each row to fn, at most max
 * rows (max < 0: all); resets st. The rows given, or -1. */
static int walk_events(sqlite3_stmt *st, int max, store_event_fn fn, void *ud)
{
    if (!st)
        return -1;
    int n = 0, rc = SQLITE_DONE, stop = 0;
    while (!stop && (max < 0 || n < max) && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *line = (const char *)sqlite3_column_text(st, 3);
        store_evrow e = {.seq = sqlite3_column_int64(st, 0),
                         .type = (const char *)sqlite3_column_text(st, 1),
                         .at = sqlite3_column_int64(st, 2),
                         .line = line && *line ? line : NULL,
                         .data = (const char *)sqlite3_column_text(st, 4)};
        stop = fn(ud, &e);
        n++;
    }
    sqlite3_reset(st);
    return stop < 0 || (!stop && rc != SQLITE_DONE && rc != SQLITE_ROW) ? -1 : n;
}

static int sq_events_each(store *s, int64_t after, int max, store_event_fn fn, void *ud)
{
    return walk_events(sq_stmt(SQ(s), EVENT_SELECT "WHERE e.seq>? ORDER BY e.seq LIMIT ?", "II",
                               after, (int64_t)max),
                       -1, fn, ud);
}

static int sq_event_get(store *s, int64_t seq, store_event_fn fn, void *ud)
{
    return walk_events(sq_stmt(SQ(s), EVENT_SELECT "WHERE e.seq=?", "I", seq), 1, fn, ud);
}

static int sq_event_of_object(store *s, const char *kind, const char *id, store_event_fn fn,
                              void *ud)
{
    sqlite3_stmt *st = sq_stmt(SQ(s),
                               "SELECT e.seq, e.type, e.at, '', o.json FROM objects o JOIN "
                               "events e ON e.seq=o.seq AND e.json='' WHERE o.kind=? AND o.id=?",
                               "tt", kind, id);
    return walk_events(st, 1, fn, ud);
}

static int sq_event_set_line(store *s, int64_t seq, const char *line)
{
    return sq_run(SQ(s), "UPDATE events SET json=?, src=NULL, src_id=NULL WHERE seq=?", "tI", line,
                  seq);
}

static int sq_last_seq(store *s, int64_t *seq)
{
    *seq = 0;
    return one_int(sq_stmt(SQ(s), "SELECT COALESCE(MAX(seq),0) FROM events", ""), seq) < 0 ? -1 : 0;
}

static int sq_events_prune(store *s, int64_t below)
{
    return sq_run(SQ(s), "DELETE FROM events WHERE seq<?", "I", below);
}

/* ---- idempotency ---------------------------------------------------------------- */

static int sq_idem_get(store *s, const char *scope, const char *key, store_answer_fn fn, void *ud)
{
    sqlite3_stmt *st = sq_stmt(SQ(s),
                               "SELECT fingerprint,status,body,refs FROM idem WHERE actor=? AND "
                               "key=?",
                               "tt", scope, key);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        store_answer a = {.fingerprint = (const char *)sqlite3_column_text(st, 0),
                          .status = sqlite3_column_int(st, 1),
                          .body = (const char *)sqlite3_column_text(st, 2),
                          .refs = (const char *)sqlite3_column_text(st, 3)};
        fn(ud, &a);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int sq_idem_put(store *s, const char *scope, const char *key, const store_answer *a,
                       int64_t at)
{
    return sq_run(SQ(s),
                  "INSERT INTO idem(actor,key,fingerprint,status,body,at,refs) "
                  "VALUES(?,?,?,?,?,?,?)",
                  "tttItIt", scope, key, a->fingerprint, (int64_t)a->status, a->body, at, a->refs);
}

static int sq_idem_prune(store *s, int64_t before)
{
    char sql[96];
    snprintf(sql, sizeof sql, "DELETE FROM idem WHERE at<%lld", (long long)before);
    return sq_exec(SQ(s), sql);
}

static int sq_idem_refs_each(store *s, int64_t after, int64_t upto, store_idem_fn fn, void *ud)
{
    sqlite3_stmt *st = sq_stmt(SQ(s),
                               "SELECT actor,key,fingerprint,status,body,refs FROM idem WHERE "
                               "at>? AND at<=? AND refs IS NOT NULL ORDER BY at",
                               "II", after, upto);
    if (!st)
        return -1;
    int n = 0, rc, stop = 0;
    while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_answer a = {.fingerprint = (const char *)sqlite3_column_text(st, 2),
                          .status = sqlite3_column_int(st, 3),
                          .body = (const char *)sqlite3_column_text(st, 4),
                          .refs = (const char *)sqlite3_column_text(st, 5)};
        stop = fn(ud, (const char *)sqlite3_column_text(st, 0),
                  (const char *)sqlite3_column_text(st, 1), &a);
        n++;
    }
    sqlite3_reset(st);
    return stop < 0 || (!stop && rc != SQLITE_DONE) ? -1 : n;
}

static int sq_idem_inline(store *s, const char *scope, const char *key, const char *body)
{
    return sq_run(SQ(s), "UPDATE idem SET body=?, refs=NULL WHERE actor=? AND key=?", "ttt", body,
                  scope, key);
}

/* ---- reference prices ------------------------------------------------------------ */

static int sq_ref_window(store *s, const char *category, const char *currency, int64_t *total,
                         int64_t *ring, int size)
{
    *total = 0;
    if (one_int(sq_stmt(SQ(s), "SELECT total FROM ref_keys WHERE category=? AND currency=?", "tt",
                        category, currency),
                total) < 0)
        return -1;
    int64_t n = *total < size ? *total : size;
    sqlite3_stmt *st =
        sq_stmt(SQ(s), "SELECT slot, price FROM ref_prices WHERE category=? AND currency=?", "tt",
                category, currency);
    if (!st)
        return -1;
    int got = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t slot = sqlite3_column_int64(st, 0);
        if (slot >= 0 && slot < n) {
            ring[slot] = sqlite3_column_int64(st, 1);
            got++;
        }
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? got : -1;
}

static int sq_ref_put(store *s, const char *category, const char *currency, int64_t slot,
                      int64_t price, int64_t total)
{
    if (sq_run(SQ(s),
               "INSERT INTO ref_prices(category,currency,slot,price) VALUES(?,?,?,?) "
               "ON CONFLICT(category,currency,slot) DO UPDATE SET price=excluded.price",
               "ttII", category, currency, slot, price) != 0)
        return -1;
    return sq_run(SQ(s),
                  "INSERT INTO ref_keys(category,currency,total) VALUES(?,?,?) "
                  "ON CONFLICT(category,currency) DO UPDATE SET total=excluded.total",
                  "ttI", category, currency, total);
}

/* ---- balances, tokens, faults ------------------------------------------------------ */

static int sq_balance_add(store *s, const char *account, int64_t delta)
{
    return sq_run(SQ(s),
                  "INSERT INTO balances(account,amount) VALUES(?,?) ON CONFLICT(account) "
                  "DO UPDATE SET amount=amount+excluded.amount",
                  "tI", account, delta);
}

static int sq_balances_each(store *s, store_row_fn fn, void *ud)
{
    return walk(sq_stmt(SQ(s), "SELECT account, amount FROM balances ORDER BY account", ""), fn,
                ud);
}

static int sq_token_put(store *s, const char *hash, const char *agent_id)
{
    return sq_run(SQ(s), "INSERT INTO agent_tokens(hash,agent_id) VALUES(?,?)", "tt", hash,
                  agent_id);
}

static int sq_token_agent(store *s, const char *hash, store_row_fn fn, void *ud)
{
    return one(sq_stmt(SQ(s), "SELECT agent_id FROM agent_tokens WHERE hash=?", "t", hash), fn, ud);
}

static int sq_fault_put(store *s, const store_fault *f)
{
    return sq_run(SQ(s),
                  "INSERT INTO faults(kind,purchase_id,negotiation_id,listing_id,agent_id,"
                  "at) VALUES(?,?,?,?,?,?)",
                  "tttttI", f->kind, f->purchase_id, f->negotiation_id, f->listing_id, f->agent_id,
                  f->at);
}

static int sq_faults_each(store *s, store_fault_fn fn, void *ud)
{
    sqlite3_stmt *st = sq_stmt(SQ(s),
                               "SELECT kind,purchase_id,negotiation_id,listing_id,agent_id,at FROM "
                               "faults ORDER BY n",
                               "");
    if (!st)
        return -1;
    int n = 0, rc, stop = 0;
    while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *c[5];
        for (int i = 0; i < 5; i++)
            c[i] = (const char *)sqlite3_column_text(st, i);
        store_fault f = {c[0], c[1], c[2], c[3], c[4], sqlite3_column_int64(st, 5)};
        stop = fn(ud, &f);
        n++;
    }
    sqlite3_reset(st);
    return stop < 0 || (!stop && rc != SQLITE_DONE) ? -1 : n;
}

/* ---- the table ------------------------------------------------------------------- */

const store_ops store_sqlite = {
    .name = "sqlite",
    .open = sq_open,
    .open_reader = sq_open_reader,
    .close = sq_close,
    .error = sq_error,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .meta_get = sq_meta_get,
    .meta_set = sq_meta_set,
    .object_get = sq_object_get,
    .object_put = sq_object_put,
    .objects_page = sq_objects_page,
    .objects_each = sq_objects_each,
    .objects_newest = sq_objects_newest,
    .objects_working = sq_objects_working,
    .objects_named = sq_objects_named,
    .objects_total = sq_objects_total,
    .objects_held_by = sq_objects_held_by,
    .threads_live = sq_threads_live,
    .alerts_live = sq_alerts_live,
    .purchases_due = sq_purchases_due,
    .listings_open = sq_listings_open,
    .purchase_quantities = sq_purchase_quantities,
    .purchase_duplicate = sq_purchase_duplicate,
    .message_put = sq_message_put,
    .messages_page = sq_messages_page,
    .message_texts = sq_message_texts,
    .offers_since = sq_offers_since,
    .event_append = sq_event_append,
    .events_each = sq_events_each,
    .event_get = sq_event_get,
    .event_of_object = sq_event_of_object,
    .event_set_line = sq_event_set_line,
    .last_seq = sq_last_seq,
    .idem_get = sq_idem_get,
    .idem_put = sq_idem_put,
    .idem_prune = sq_idem_prune,
    .idem_refs_each = sq_idem_refs_each,
    .idem_inline = sq_idem_inline,
    .events_prune = sq_events_prune,
    .ref_window = sq_ref_window,
    .ref_put = sq_ref_put,
    .balance_add = sq_balance_add,
    .balances_each = sq_balances_each,
    .token_put = sq_token_put,
    .token_agent = sq_token_agent,
    .fault_put = sq_fault_put,
    .faults_each = sq_faults_each,
    .purchases_window = sq_purchases_window,
    .reader_open = sq_reader_open,
    .reader_close = sq_reader_close,
    .purchases_recent = sq_purchases_recent,
    .purchases_history = sq_purchases_history,
    .outbox_put = sq_outbox_put,
    .outbox_due = sq_outbox_due,
    .outbox_next = sq_outbox_next,
    .outbox_done = sq_outbox_done,
    .outbox_retry = sq_outbox_retry,
    .agent_stats = sq_agent_stats,
};
