/* db.c: the market's data in SQLite: transactions, events, objects, ids and time.
 *
 * Every change runs in one transaction (mkt_begin .. mkt_commit) that also appends its
 * events with the next seq, so that the stream and the state never disagree, even after
 * kill -9. Objects are stored as their JSON with a few indexed columns (status, the
 * parties, the decide_by deadline, creation time). Committed events go to the delivery
 * queue of market.c.
 */
#include "marketd/mkt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t mkt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void mkt_time_str(int64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

json_t *mkt_time_json(int64_t ms)
{
    char b[32];
    mkt_time_str(ms, b);
    return json_string(b);
}

/* Parses our own RFC 3339 form back to ms; returns -1 when it is not one. */
static int64_t parse_time(const char *s)
{
    struct tm tm = {0};
    int ms = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

int mkt_exec(market *m, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(m->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "marketd: sqlite: %s (%.60s)\n", err ? err : "?", sql);
        sqlite3_free(err);
        return -1;
    }
    return 0;
}

/* Reads meta[key] into out (size bytes). Returns true when present. */
bool mkt_meta_get(market *m, const char *key, char *out, size_t size)
{
    sqlite3_stmt *st;
    bool found = false;
    if (mkt_prepare(m, "SELECT value FROM meta WHERE key=?", &st) != 0)
        return false;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(out, size, "%s", (const char *)sqlite3_column_text(st, 0));
        found = true;
    }
    mkt_release(st);
    return found;
}

/* Writes meta[key] = value. Returns 0 or -1. */
int mkt_meta_set(market *m, const char *key, const char *value)
{
    sqlite3_stmt *st;
    if (mkt_prepare(m,
                    "INSERT INTO meta(key,value) VALUES(?,?) ON CONFLICT(key) DO "
                    "UPDATE SET value=excluded.value",
                    &st) != 0)
        return -1;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    mkt_release(st);
    return rc;
}

int mkt_new_id(market *m, const char *prefix, char out[72])
{
    char key[32], val[32];
    snprintf(key, sizeof key, "next:%s", prefix);
    long long n = 1;
    if (mkt_meta_get(m, key, val, sizeof val))
        n = atoll(val);
    snprintf(val, sizeof val, "%lld", n + 1);
    if (mkt_meta_set(m, key, val) != 0)
        return -1;
    snprintf(out, 72, "%s%lld", prefix, n);
    return 0;
}

/* ---- transactions and events ---------------------------------------------- */

int mkt_begin(market *m, bool durable)
{
    if (!m->memory)
        mkt_exec(m, durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    if (mkt_exec(m, "BEGIN IMMEDIATE") != 0)
        return -1;
    m->in_tx = true;
    m->tx_seq0 = m->seq;
    return 0;
}

/* Frees a list of event nodes. */
static void free_nodes(mkt_evnode *n)
{
    while (n) {
        mkt_evnode *next = n->next;
        free(n->json);
        free(n);
        n = next;
    }
}

int mkt_commit(market *m)
{
    if (mkt_exec(m, "COMMIT") != 0) {
        m->st.commit_failures++;
        mkt_rollback(m);
        return -1;
    }
    m->in_tx = false;
    m->refs_dirty = false;
    m->st.events += (uint64_t)(m->seq - m->tx_seq0);
    if (m->tx_head) {
        pthread_mutex_lock(&m->qmu);
        if (m->q_tail)
            m->q_tail->next = m->tx_head;
        else
            m->q_head = m->tx_head;
        m->q_tail = m->tx_tail;
        pthread_cond_broadcast(&m->qcv);
        pthread_mutex_unlock(&m->qmu);
    }
    m->tx_head = m->tx_tail = NULL;
    return 0;
}

void mkt_rollback(market *m)
{
    if (sqlite3_get_autocommit(m->db) == 0)
        mkt_exec(m, "ROLLBACK");
    m->in_tx = false;
    m->seq = m->tx_seq0;
    if (m->refs_dirty) /* the reference-price windows held what was rolled back */
        mkt_refcache_free(m);
    free_nodes(m->tx_head);
    m->tx_head = m->tx_tail = NULL;
}

/* Builds the stored form of an event, {"seq":..,"type":..,"at":..,"data":DATA}, into a
 * new string (owned; NULL when memory ran out); *data_off is where DATA starts. type is
 * one of the market's own event types (no character needs escaping). */
static char *event_line(int64_t seq, const char *type, int64_t at, const char *data, size_t dlen,
                        size_t *data_off)
{
    char when[32], head[160];
    mkt_time_str(at, when);
    int hn = snprintf(head, sizeof head,
                      "{\"seq\":%lld,\"type\":\"%s\",\"at\":\"%s\",\"data\":", (long long)seq, type,
                      when);
    char *line = hn > 0 && (size_t)hn < sizeof head ? malloc((size_t)hn + dlen + 2) : NULL;
    if (!line)
        return NULL;
    memcpy(line, head, (size_t)hn);
    memcpy(line + hn, data, dlen);
    line[(size_t)hn + dlen] = '}';
    line[(size_t)hn + dlen + 1] = '\0';
    *data_off = (size_t)hn;
    return line;
}

/* Appends one event whose data is the JSON text data with the next seq. When src is
 * given, the data is stored only where it lives (src "message": the messages row
 * (src_id, src_n); otherwise the objects row (src, src_id), whose seq names this
 * event) and the event row keeps json '' (see mkt_event_text). Returns 0 or -1. */
static int emit_text(market *m, const char *type, const char *data, const char *src,
                     const char *src_id, int64_t src_n)
{
    int64_t seq = m->seq + 1;
    size_t dlen = strlen(data), off;
    char *line = event_line(seq, type, m->now, data, dlen, &off);
    mkt_evnode *n = calloc(1, sizeof *n);
    sqlite3_stmt *st;
    if (!line || !n ||
        mkt_prepare(m,
                    "INSERT INTO events(seq,type,at,json,src,src_id,src_n) VALUES(?,?,?,?,?,?,?)",
                    &st) != 0) {
        free(line);
        free(n);
        return -1;
    }
    sqlite3_bind_int64(st, 1, seq);
    sqlite3_bind_text(st, 2, type, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, m->now);
    sqlite3_bind_text(st, 4, src ? "" : line, -1, SQLITE_STATIC);
    if (src) {
        sqlite3_bind_text(st, 5, src, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, src_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 7, src_n);
    }
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    mkt_release(st);
    if (rc != 0) {
        free(line);
        free(n);
        return -1;
    }
    m->seq = seq;
    n->seq = seq;
    snprintf(n->type, sizeof n->type, "%s", type);
    n->json = line;
    n->data_off = off;
    n->data_len = dlen;
    if (m->tx_tail)
        m->tx_tail->next = n;
    else
        m->tx_head = n;
    m->tx_tail = n;
    return 0;
}

int mkt_emit(market *m, const char *type, json_t *data)
{
    char *text = json_dumps(data, JSON_COMPACT);
    int rc = text ? emit_text(m, type, text, NULL, NULL, 0) : -1;
    free(text);
    return rc;
}

/* The SQL giving, for events, seq, type, at, the stored line ('' when elided) and, for
 * an elided one, its data from where it lives. */
#define EVENT_SELECT                                                                               \
    "SELECT e.seq, e.type, e.at, e.json, CASE WHEN e.json<>'' THEN NULL "                          \
    "WHEN e.src='message' THEN (SELECT json FROM messages WHERE negotiation_id=e.src_id AND "      \
    "seq=e.src_n) ELSE (SELECT json FROM objects WHERE kind=e.src AND id=e.src_id) END "           \
    "FROM events e "

/* The line of the event in the current row of st (an EVENT_SELECT): borrowed from the
 * row, or built into *buf (owned by the caller, freed and replaced). *data_off and
 * *data_len locate its data. NULL on a broken row or no memory. */
static const char *row_line(sqlite3_stmt *st, char **buf, size_t *data_off, size_t *data_len)
{
    const char *json = (const char *)sqlite3_column_text(st, 3);
    if (json && *json) {
        const char *d = strstr(json, ",\"data\":");
        size_t len = strlen(json);
        if (!d || len < 1)
            return NULL;
        *data_off = (size_t)(d - json) + 8;
        *data_len = len - 1 - *data_off;
        return json;
    }
    const char *data = (const char *)sqlite3_column_text(st, 4);
    if (!data)
        return NULL;
    free(*buf);
    *buf = event_line(sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
                      sqlite3_column_int64(st, 2), data, strlen(data), data_off);
    *data_len = strlen(data);
    return *buf;
}

int mkt_events_each(market *m, int64_t after, int max, market_event_fn fn, void *ud)
{
    sqlite3_stmt *st;
    if (mkt_prepare(m, EVENT_SELECT "WHERE e.seq>? ORDER BY e.seq LIMIT ?", &st) != 0)
        return -1;
    sqlite3_bind_int64(st, 1, after);
    sqlite3_bind_int(st, 2, max);
    int n = 0;
    char *buf = NULL;
    size_t off, len;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *line = row_line(st, &buf, &off, &len);
        if (!line) {
            n = -1;
            break;
        }
        fn(ud, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1), line);
        n++;
    }
    mkt_release(st);
    free(buf);
    return n;
}

char *mkt_event_data(market *m, int64_t seq)
{
    sqlite3_stmt *st;
    if (mkt_prepare(m, EVENT_SELECT "WHERE e.seq=?", &st) != 0)
        return NULL;
    sqlite3_bind_int64(st, 1, seq);
    char *buf = NULL, *out = NULL;
    size_t off, len;
    const char *line = sqlite3_step(st) == SQLITE_ROW ? row_line(st, &buf, &off, &len) : NULL;
    if (line && (out = malloc(len + 1))) {
        memcpy(out, line + off, len);
        out[len] = '\0';
    }
    mkt_release(st);
    free(buf);
    return out;
}

/* Before the objects row (kind, id) changes: the event whose data it holds gets its
 * whole line back, so that each version of an object is stored exactly once (the
 * current one in its row, every earlier one in its event). Returns 0 or -1. */
static int keep_superseded(market *m, const char *kind, const char *id)
{
    sqlite3_stmt *st;
    if (mkt_prepare(m,
                    "SELECT e.seq, e.type, e.at, o.json FROM objects o JOIN events e ON "
                    "e.seq=o.seq AND e.json='' WHERE o.kind=? AND o.id=?",
                    &st) != 0)
        return -1;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    int64_t seq = 0;
    char *line = NULL;
    size_t off;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *data = (const char *)sqlite3_column_text(st, 3);
        seq = sqlite3_column_int64(st, 0);
        line = data ? event_line(seq, (const char *)sqlite3_column_text(st, 1),
                                 sqlite3_column_int64(st, 2), data, strlen(data), &off)
                    : NULL;
    }
    mkt_release(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (!line)
        return -1;
    rc = mkt_prepare(m, "UPDATE events SET json=?, src=NULL, src_id=NULL WHERE seq=?", &st);
    if (rc == 0) {
        sqlite3_bind_text(st, 1, line, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, seq);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
        mkt_release(st);
    }
    free(line);
    return rc;
}

json_t *mkt_get(market *m, const char *kind, const char *id)
{
    sqlite3_stmt *st;
    json_t *o = NULL;
    if (mkt_prepare(m, "SELECT json FROM objects WHERE kind=? AND id=?", &st) != 0)
        return NULL;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        o = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
    mkt_release(st);
    return o;
}

/* Stores obj as its JSON text (with its indexed columns); seq > 0 names the event that
 * carries this version (emitted next, see emit_text). Returns 0 or -1. */
static int put_text(market *m, const char *kind, json_t *obj, const char *text, int64_t seq)
{
    const char *id = mkt_str(obj, "id");
    const char *status = mkt_str(obj, "status");
    const char *p1 = NULL, *p2 = NULL;
    int64_t due = -1;
    if (strcmp(kind, "listing") == 0) {
        p1 = mkt_str(obj, "seller_id");
    } else if (strcmp(kind, "negotiation") == 0 || strcmp(kind, "purchase") == 0) {
        p1 = mkt_str(obj, "buyer_id");
        p2 = mkt_str(obj, "seller_id");
        if (status && strcmp(status, "pending_approval") == 0)
            due = parse_time(mkt_str(obj, "decide_by"));
    } else if (strcmp(kind, "alert") == 0) {
        json_t *subj = json_object_get(obj, "subject");
        p1 = mkt_str(subj, "id");
    }
    sqlite3_stmt *st;
    if (!id || keep_superseded(m, kind, id) != 0 ||
        mkt_prepare(m,
                    "INSERT INTO objects(kind,id,status,p1,p2,due,created,json,seq) "
                    "VALUES(?,?,?,?,?,?,?,?,?) ON CONFLICT(kind,id) DO UPDATE SET "
                    "status=excluded.status, due=excluded.due, json=excluded.json, "
                    "seq=excluded.seq",
                    &st) != 0)
        return -1;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    if (status)
        sqlite3_bind_text(st, 3, status, -1, SQLITE_STATIC);
    if (p1)
        sqlite3_bind_text(st, 4, p1, -1, SQLITE_STATIC);
    if (p2)
        sqlite3_bind_text(st, 5, p2, -1, SQLITE_STATIC);
    if (due >= 0)
        sqlite3_bind_int64(st, 6, due);
    sqlite3_bind_int64(st, 7, m->now);
    sqlite3_bind_text(st, 8, text, -1, SQLITE_STATIC);
    if (seq > 0)
        sqlite3_bind_int64(st, 9, seq);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    mkt_release(st);
    return rc;
}

int mkt_put(market *m, const char *kind, json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT);
    int rc = text ? put_text(m, kind, obj, text, 0) : -1;
    free(text);
    return rc;
}

/* Stores obj and emits its event (type), the data held once, in the object's row. */
static int put_and_emit(market *m, const char *kind, json_t *obj, const char *type)
{
    char *text = json_dumps(obj, JSON_COMPACT);
    const char *id = mkt_str(obj, "id");
    int rc = text && id && put_text(m, kind, obj, text, m->seq + 1) == 0
                 ? emit_text(m, type, text, kind, id, 0)
                 : -1;
    free(text);
    return rc;
}

/* The event type for objects of kind ("purchase" -> "purchase.updated"). */
static void event_type(const char *kind, char out[40])
{
    snprintf(out, 40, "%s.%s", kind, strcmp(kind, "ledger") == 0 ? "posted" : "updated");
}

int mkt_create(market *m, const char *kind, json_t *obj, const char *created_key)
{
    /* created_key first: the object reads ..., created_at, updated_at (docs/api.md), the
     * same in its row, its event and the answer, whose parts are then stored once */
    if (created_key)
        json_object_set_new(obj, created_key, mkt_time_json(m->now));
    if (strcmp(kind, "ledger") != 0 && strcmp(kind, "decision") != 0) {
        json_object_set_new(obj, "version", json_integer(1));
        json_object_set_new(obj, "updated_at", mkt_time_json(m->now));
    }
    char type[40];
    if (strcmp(kind, "decision") == 0)
        snprintf(type, sizeof type, "decision.recorded");
    else
        event_type(kind, type);
    return put_and_emit(m, kind, obj, type);
}

int mkt_update(market *m, const char *kind, json_t *obj)
{
    json_object_set_new(obj, "version", json_integer(mkt_int(obj, "version") + 1));
    json_object_set_new(obj, "updated_at", mkt_time_json(m->now));
    char type[40];
    event_type(kind, type);
    return put_and_emit(m, kind, obj, type);
}

int mkt_put_message(market *m, json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    if (!text)
        return -1;
    sqlite3_stmt *st;
    if (mkt_prepare(
            m, "INSERT INTO messages(negotiation_id,seq,from_id,kind,at,json) VALUES(?,?,?,?,?,?)",
            &st) != 0) {
        free(text);
        return -1;
    }
    sqlite3_bind_text(st, 1, mkt_str(msg, "negotiation_id"), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, mkt_int(msg, "seq"));
    sqlite3_bind_text(st, 3, mkt_str(msg, "from"), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, mkt_str(msg, "kind"), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, m->now);
    sqlite3_bind_text(st, 6, text, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    mkt_release(st);
    if (rc == 0) /* the message's text lives in its row only */
        rc = emit_text(m, "negotiation.message", text, "message", mkt_str(msg, "negotiation_id"),
                       mkt_int(msg, "seq"));
    free(text);
    return rc;
}

int mkt_query_json(market *m, const char *sql, mkt_binder bind, const void *ud, json_t *arr)
{
    sqlite3_stmt *st;
    if (mkt_prepare(m, sql, &st) != 0) {
        fprintf(stderr, "marketd: sqlite: %s\n", sqlite3_errmsg(m->db));
        return -1;
    }
    if (bind)
        bind(st, ud);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *o = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
        if (o)
            json_array_append_new(arr, o);
    }
    mkt_release(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

json_t *mkt_fleet(market *m)
{
    /* read whole, not through a fixed buffer: a halt's reason may take 2,000 bytes and
     * more once escaped, and a cut JSON text would not parse */
    sqlite3_stmt *st;
    json_t *f = NULL;
    if (mkt_prepare(m, "SELECT value FROM meta WHERE key='fleet'", &st) == 0) {
        if (sqlite3_step(st) == SQLITE_ROW)
            f = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
        mkt_release(st);
    }
    return f ? f : json_pack("{ss sn sn sn}", "status", "running", "reason", "by", "updated_at");
}

bool mkt_fleet_halted(market *m)
{
    json_t *f = mkt_fleet(m);
    bool h = f && mkt_str(f, "status") && strcmp(mkt_str(f, "status"), "halted") == 0;
    json_decref(f);
    return h;
}

/* Stores the fleet singleton in meta and emits fleet.updated. */
int mkt_set_fleet(market *m, json_t *fleet)
{
    json_object_set_new(fleet, "updated_at", mkt_time_json(m->now));
    char *text = json_dumps(fleet, JSON_COMPACT);
    if (!text)
        return -1;
    int rc = mkt_meta_set(m, "fleet", text);
    free(text);
    return rc == 0 ? mkt_emit(m, "fleet.updated", fleet) : -1;
}

/* One cached prepared statement. */
struct mkt_stmt {
    struct mkt_stmt *next;
    char *sql;
    sqlite3_stmt *st;
};

int mkt_prepare(market *m, const char *sql, sqlite3_stmt **out)
{
    for (struct mkt_stmt *e = m->stmts; e; e = e->next) {
        if (strcmp(e->sql, sql) == 0) {
            sqlite3_reset(e->st);
            sqlite3_clear_bindings(e->st);
            *out = e->st;
            return 0;
        }
    }
    struct mkt_stmt *e = calloc(1, sizeof *e);
    if (!e || !(e->sql = strdup(sql)) ||
        sqlite3_prepare_v3(m->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &e->st, NULL) != SQLITE_OK) {
        if (e) {
            free(e->sql);
            free(e);
        }
        fprintf(stderr, "marketd: sqlite: %s\n", sqlite3_errmsg(m->db));
        return -1;
    }
    e->next = m->stmts;
    m->stmts = e;
    *out = e->st;
    return 0;
}

void mkt_release(sqlite3_stmt *st)
{
    sqlite3_reset(st);
}

void mkt_stmts_free(market *m)
{
    while (m->stmts) {
        struct mkt_stmt *e = m->stmts;
        m->stmts = e->next;
        sqlite3_finalize(e->st);
        free(e->sql);
        free(e);
    }
}
