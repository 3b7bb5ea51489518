/* db.c: the market's data over the store (marketd/store.h): transactions, events,
 * objects, ids and time, whatever the engine.
 *
 * Every change runs in one transaction (mkt_begin .. mkt_commit) that also appends its
 * events with the next seq, so that the stream and the state never disagree, even after
 * kill -9. Objects are stored as their JSON with a few indexed columns (status, the
 * parties, the decide_by deadline, creation time), which this file reads off the object.
 * Each body is stored once: an event whose data is an object's current version or a
 * message refers to that row, and gets its whole line back when the row changes
 * (keep_superseded). Committed events go to the delivery queue of market.c.
 */
#include "marketd/mkt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
int64_t mkt_parse_time(const char *s)
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

/* Copies a row's text into the buffer of a text_buf. */
typedef struct text_buf {
    char *out;
    size_t size;
} text_buf;
static int copy_text(void *ud, const char *text, int64_t n)
{
    (void)n;
    text_buf *b = ud;
    snprintf(b->out, b->size, "%s", text ? text : "");
    return 0;
}

bool mkt_meta_get(market *m, const char *key, char *out, size_t size)
{
    text_buf b = {out, size};
    return STORE(m->db, meta_get, key, copy_text, &b) == 1;
}

int mkt_meta_set(market *m, const char *key, const char *value)
{
    return STORE(m->db, meta_set, key, value);
}

/* Parses a row's JSON into *(json_t **)ud (NULL when it does not parse). */
static int parse_json(void *ud, const char *text, int64_t n)
{
    (void)n;
    *(json_t **)ud = text ? json_loads(text, 0, NULL) : NULL;
    return 0;
}

int mkt_collect(void *arr, const char *json, int64_t n)
{
    (void)n;
    json_t *o = json ? json_loads(json, 0, NULL) : NULL;
    if (o)
        json_array_append_new(arr, o);
    return 0;
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

/* On a shared engine (PostgreSQL: several instances), right after begin: the counter
 * row locked (writers of every instance take turns from here to their commit), m->seq
 * and m->now from the database, and what this instance keeps in memory of what another
 * may have changed forgotten (the reference-price windows; claims.c looks at the
 * claims every tick on such an engine).
 * 0 or -1. */
static int begin_shared(market *m)
{
    int64_t now;
    if (m->db->ops->tx_lock(m->db, &m->seq, &now) != 0)
        return -1;
    m->now = now;
    mkt_refcache_free(m);
    return 0;
}

int mkt_begin(market *m, bool durable)
{
    if (m->db->ops->begin(m->db, durable) != 0)
        return -1;
    if (m->shared && begin_shared(m) != 0) {
        m->db->ops->rollback(m->db);
        return -1;
    }
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
    bool appended = m->seq != m->tx_seq0;
    if ((m->shared && appended && m->db->ops->tx_seq_set(m->db, m->seq) != 0) ||
        m->db->ops->commit(m->db) != 0) {
        m->st.commit_failures++;
        mkt_rollback(m);
        return -1;
    }
    m->in_tx = false;
    m->refs_dirty = false;
    m->st.events += (uint64_t)(m->seq - m->tx_seq0);
    if (m->shared) { /* delivered from the table, as other instances' (market.c) */
        free_nodes(m->tx_head);
        m->tx_head = m->tx_tail = NULL;
        if (appended && write(m->wake[1], "", 1) < 0) {
            /* full: the delivery thread has a wake-up pending already */
        }
        return 0;
    }
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
    m->db->ops->rollback(m->db);
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
    store_event e = {seq, type, m->now, src ? NULL : line, src, src_id, src_n};
    if (!line || !n || STORE(m->db, event_append, &e) != 0) {
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

/* The line of event e: borrowed from e, or built into *buf (owned by the caller, freed
 * and replaced). *data_off and *data_len locate its data. NULL on a broken row or no
 * memory. */
static const char *row_line(const store_evrow *e, char **buf, size_t *data_off, size_t *data_len)
{
    if (e->line) {
        const char *d = strstr(e->line, ",\"data\":");
        size_t len = strlen(e->line);
        if (!d || len < 1)
            return NULL;
        *data_off = (size_t)(d - e->line) + 8;
        *data_len = len - 1 - *data_off;
        return e->line;
    }
    if (!e->data)
        return NULL;
    free(*buf);
    *buf = event_line(e->seq, e->type, e->at, e->data, strlen(e->data), data_off);
    *data_len = strlen(e->data);
    return *buf;
}

/* A walk of events handing each line to a subscriber's function. */
typedef struct each_walk {
    market_event_fn fn;
    void *ud;
    char *buf;
} each_walk;
static int each_event(void *ud, const store_evrow *e)
{
    each_walk *w = ud;
    size_t off, len;
    const char *line = row_line(e, &w->buf, &off, &len);
    if (!line)
        return -1;
    w->fn(w->ud, e->seq, e->type, line);
    return 0;
}

int mkt_events_each(market *m, int64_t after, int max, market_event_fn fn, void *ud)
{
    return mkt_store_events(m->db, after, max, fn, ud);
}

int mkt_store_events(store *db, int64_t after, int max, market_event_fn fn, void *ud)
{
    each_walk w = {fn, ud, NULL};
    int n = STORE(db, events_each, after, max, each_event, &w);
    free(w.buf);
    return n;
}

/* Copies an event's data into *(char **)ud (owned; NULL when broken). */
static int event_data(void *ud, const store_evrow *e)
{
    char *buf = NULL, **out = ud;
    size_t off, len;
    const char *line = row_line(e, &buf, &off, &len);
    if (line && (*out = malloc(len + 1))) {
        memcpy(*out, line + off, len);
        (*out)[len] = '\0';
    }
    free(buf);
    return 0;
}

char *mkt_event_data(market *m, int64_t seq)
{
    char *out = NULL;
    STORE(m->db, event_get, seq, event_data, &out);
    return out;
}

/* The event a superseded object version is the data of: its seq and whole line (owned). */
typedef struct superseded {
    int64_t seq;
    char *line;
} superseded;
static int superseded_line(void *ud, const store_evrow *e)
{
    superseded *s = ud;
    size_t off;
    s->seq = e->seq;
    s->line = e->data ? event_line(e->seq, e->type, e->at, e->data, strlen(e->data), &off) : NULL;
    return 0;
}

/* Before the objects row (kind, id) changes: the event whose data it holds gets its
 * whole line back, so that each version of an object is stored exactly once (the
 * current one in its row, every earlier one in its event). Returns 0 or -1. */
static int keep_superseded(market *m, const char *kind, const char *id)
{
    superseded s = {0, NULL};
    int found = STORE(m->db, event_of_object, kind, id, superseded_line, &s);
    if (found == 0)
        return 0;
    int rc = found == 1 && s.line ? STORE(m->db, event_set_line, s.seq, s.line) : -1;
    free(s.line);
    return rc;
}

json_t *mkt_get(market *m, const char *kind, const char *id)
{
    json_t *o = NULL;
    STORE(m->db, object_get, kind, id, parse_json, &o);
    return o;
}

/* The sort keys of obj, of kind (marketd/store.h, store_keys; the sorts that use them:
 * marketd/lists.c). Migration 4 of store_sqlite_schema.c reads the same off older rows. */
store_keys mkt_sort_keys(const char *kind, json_t *obj)
{
    store_keys k = {0};
    if (strcmp(kind, "listing") == 0 || strcmp(kind, "negotiation") == 0) {
        k.upd = mkt_parse_time(mkt_str(obj, "updated_at"));
        k.has_upd = k.has_k1 = true;
        k.k1 = mkt_int(obj, strcmp(kind, "listing") == 0 ? "unit_price_minor" : "message_count");
    } else if (strcmp(kind, "purchase") == 0) {
        int64_t due = mkt_parse_time(mkt_str(obj, "decide_by"));
        k.has_k1 = k.has_k2 = true;
        k.k1 = mkt_int(obj, "total_minor");
        k.k2 = due >= 0 ? due : INT64_MAX; /* none: last, soonest first */
    } else if (strcmp(kind, "alert") == 0) {
        const char *sev = mkt_str(obj, "severity");
        k.has_k1 = true;
        k.k1 = !sev ? 0 : strcmp(sev, "critical") == 0 ? 2 : strcmp(sev, "warning") == 0 ? 1 : 0;
    } else if (strcmp(kind, "ledger") == 0) {
        size_t i;
        json_t *p;
        k.has_k1 = true;
        json_array_foreach(json_object_get(obj, "postings"), i, p)
        {
            if (i == 0 || mkt_int(p, "amount_minor") > k.k1)
                k.k1 = mkt_int(p, "amount_minor");
        }
    } else if (strcmp(kind, "agent") == 0) {
        k.tk = mkt_str(obj, "name") ? mkt_str(obj, "name") : "";
    } else if (strcmp(kind, "dispute") == 0) {
        k.upd = mkt_parse_time(mkt_str(obj, "updated_at"));
        k.has_upd = k.has_k1 = k.has_k2 = true;
        k.k1 = mkt_int(obj, "claim_minor");
        k.k2 = mkt_parse_time(mkt_str(obj, "respond_by"));
    }
    return k;
}

/* The fields of each kind's searchable text (docs/api.md, Reading: q=), in order: a
 * name, a dotted path into an object ("subject.id"), an array's field
 * ("postings[].account": each one), or "listing:title" (the title of the listing the
 * object names). Migration 4 of store_sqlite_schema.c writes the same for older rows. */
static const struct {
    const char *kind;
    const char *fields[7];
} search_fields[] = {
    {"agent", {"id", "name", "principal"}},
    {"listing", {"id", "title", "category", "seller_id"}},
    {"negotiation", {"id", "listing_id", "buyer_id", "seller_id", "listing:title"}},
    {"purchase", {"id", "negotiation_id", "listing_id", "buyer_id", "seller_id"}},
    {"alert", {"id", "rule", "message", "subject.id"}},
    {"ledger", {"id", "purchase_id", "postings[].account"}},
    {"decision", {"id", "action", "by", "subject.id", "reason"}},
    {"dispute", {"id", "purchase_id", "buyer_id", "seller_id", "opened_by", "reason"}},
};

/* Appends text (NULL: nothing) and a separator to the buffer *b of *len bytes. */
static void search_add(char **b, size_t *len, const char *text, bool sep)
{
    size_t n = text ? strlen(text) : 0;
    char *nb = realloc(*b, *len + n + 2);
    if (!nb)
        return;
    *b = nb;
    memcpy(nb + *len, text ? text : "", n);
    *len += n;
    if (sep)
        nb[(*len)++] = '\n';
    nb[*len] = '\0';
}

/* Appends one field of obj (see search_fields) to the buffer. */
static void search_field(market *m, json_t *obj, const char *f, char **b, size_t *len, bool sep)
{
    const char *dot = strchr(f, '.'), *colon = strchr(f, ':');
    if (colon) { /* "listing:title": the object the kind's listing_id names */
        json_t *o =
            mkt_get(m, "listing", mkt_str(obj, "listing_id") ? mkt_str(obj, "listing_id") : "");
        search_add(b, len, o ? mkt_str(o, colon + 1) : NULL, sep);
        json_decref(o);
    } else if (dot && dot > f + 2 && dot[-1] == ']') { /* "postings[].account" */
        char name[32];
        snprintf(name, sizeof name, "%.*s", (int)(dot - f - 2), f);
        json_t *arr = json_object_get(obj, name), *el;
        size_t i, n = json_array_size(arr);
        json_array_foreach(arr, i, el)
        {
            search_add(b, len, mkt_str(el, dot + 1), i + 1 < n);
        }
        if (sep)
            search_add(b, len, "", true);
    } else if (dot) { /* "subject.id" */
        char name[32];
        snprintf(name, sizeof name, "%.*s", (int)(dot - f), f);
        search_add(b, len, mkt_str(json_object_get(obj, name), dot + 1), sep);
    } else {
        search_add(b, len, mkt_str(obj, f), sep);
    }
}

/* True when objects of kind have a searchable text; see mkt.h. */
bool mkt_searchable(const char *kind)
{
    for (size_t i = 0; i < sizeof search_fields / sizeof search_fields[0]; i++)
        if (strcmp(search_fields[i].kind, kind) == 0)
            return true;
    return false;
}

/* The searchable text of obj, of kind, in lower case (ASCII): owned, or NULL. */
static char *search_text(market *m, const char *kind, json_t *obj)
{
    for (size_t i = 0; i < sizeof search_fields / sizeof search_fields[0]; i++) {
        if (strcmp(search_fields[i].kind, kind) != 0)
            continue;
        char *b = NULL;
        size_t len = 0;
        const char *const *f = search_fields[i].fields;
        for (int k = 0; f[k]; k++)
            search_field(m, obj, f[k], &b, &len, f[k + 1] != NULL);
        for (size_t c = 0; b && c < len; c++)
            if (b[c] >= 'A' && b[c] <= 'Z')
                b[c] = (char)(b[c] - 'A' + 'a');
        return b;
    }
    return NULL;
}

/* Stores obj as its JSON text (with its indexed columns and sort keys; its searchable
 * text too when it is new); seq > 0 names the event that carries this version (emitted
 * next, see emit_text). Returns 0 or -1. */
static int put_text(market *m, const char *kind, json_t *obj, const char *text, int64_t seq,
                    bool created)
{
    const char *id = mkt_str(obj, "id");
    const char *status = mkt_str(obj, "status");
    const char *p1 = NULL, *p2 = NULL;
    int64_t due = -1;
    if (strcmp(kind, "listing") == 0) {
        p1 = mkt_str(obj, "seller_id");
    } else if (strcmp(kind, "negotiation") == 0 || strcmp(kind, "purchase") == 0 ||
               strcmp(kind, "dispute") == 0) {
        p1 = mkt_str(obj, "buyer_id");
        p2 = mkt_str(obj, "seller_id");
        if (status && strcmp(status, "pending_approval") == 0)
            due = mkt_parse_time(mkt_str(obj, "decide_by"));
    } else if (strcmp(kind, "alert") == 0) {
        json_t *subj = json_object_get(obj, "subject");
        p1 = mkt_str(subj, "id");
        p2 = mkt_str(obj, "agent_id"); /* its agent: the buyer of a purchase (alert.c) */
    }
    if (!id || keep_superseded(m, kind, id) != 0)
        return -1;
    bool with_search = created && mkt_searchable(kind);
    char *search = with_search ? search_text(m, kind, obj) : NULL;
    if (with_search && !search)
        return -1;
    store_object row = {kind,  id, status, p1, p2, due, m->now, text, seq, mkt_sort_keys(kind, obj),
                        search};
    int rc = STORE(m->db, object_put, &row);
    free(search);
    return rc;
}

int mkt_put(market *m, const char *kind, json_t *obj)
{
    if (audit_chained(kind)) /* a link of the audit chain never changes (marketd/audit.c) */
        return -1;
    char *text = json_dumps(obj, JSON_COMPACT);
    int rc = text ? put_text(m, kind, obj, text, 0, false) : -1;
    free(text);
    return rc;
}

/* Stores obj and emits its event (type), the data held once, in the object's row. */
static int put_and_emit(market *m, const char *kind, json_t *obj, const char *type, bool created)
{
    char *text = json_dumps(obj, JSON_COMPACT);
    const char *id = mkt_str(obj, "id");
    int rc = text && id && put_text(m, kind, obj, text, m->seq + 1, created) == 0
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
    /* a decision or a ledger entry is a link of the audit chain (marketd/audit.c) */
    if (audit_chain(m, kind, obj) != 0)
        return -1;
    char type[40];
    if (strcmp(kind, "decision") == 0)
        snprintf(type, sizeof type, "decision.recorded");
    else
        event_type(kind, type);
    return put_and_emit(m, kind, obj, type, true);
}

int mkt_update(market *m, const char *kind, json_t *obj)
{
    if (audit_chained(kind)) /* a link of the audit chain never changes (marketd/audit.c) */
        return -1;
    json_object_set_new(obj, "version", json_integer(mkt_int(obj, "version") + 1));
    json_object_set_new(obj, "updated_at", mkt_time_json(m->now));
    char type[40];
    event_type(kind, type);
    int rc = put_and_emit(m, kind, obj, type, false);
    /* every change of a purchase passes here: one that leaves pending_approval resolves
     * its alerts in the same transaction (marketd/alert.c) */
    if (rc == 0 && strcmp(kind, "purchase") == 0)
        rc = risk_resolve(m, obj);
    /* ... and releases its claim: any change of it is a decision, or its expiry */
    if (rc == 0 && strcmp(kind, "purchase") == 0)
        rc = claims_release(m, obj);
    return rc;
}

int mkt_put_message(market *m, json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    if (!text)
        return -1;
    store_message row = {mkt_str(msg, "negotiation_id"),
                         mkt_int(msg, "seq"),
                         mkt_str(msg, "from"),
                         mkt_str(msg, "kind"),
                         m->now,
                         text};
    int rc = STORE(m->db, message_put, &row);
    if (rc == 0) /* the message's text lives in its row only */
        rc = emit_text(m, "negotiation.message", text, "message", mkt_str(msg, "negotiation_id"),
                       mkt_int(msg, "seq"));
    free(text);
    return rc;
}

json_t *mkt_fleet(market *m)
{
    /* read whole, not through a fixed buffer: a halt's reason may take 2,000 bytes and
     * more once escaped, and a cut JSON text would not parse */
    json_t *f = NULL;
    STORE(m->db, meta_get, "fleet", parse_json, &f);
    if (!f)
        return json_pack("{sI ss sn sn sn}", "version", (json_int_t)1, "status", "running",
                         "reason", "by", "updated_at");
    if (!json_is_integer(json_object_get(f, "version"))) /* stored before fleets had one */
        json_object_set_new(f, "version", json_integer(1));
    return f;
}

bool mkt_fleet_halted(market *m)
{
    json_t *f = mkt_fleet(m);
    bool h = f && mkt_str(f, "status") && strcmp(mkt_str(f, "status"), "halted") == 0;
    json_decref(f);
    return h;
}

/* Stores the fleet singleton in meta with its next version and emits fleet.updated. */
int mkt_set_fleet(market *m, json_t *fleet)
{
    json_object_set_new(fleet, "version", json_integer(mkt_int(fleet, "version") + 1));
    json_object_set_new(fleet, "updated_at", mkt_time_json(m->now));
    char *text = json_dumps(fleet, JSON_COMPACT);
    if (!text)
        return -1;
    int rc = mkt_meta_set(m, "fleet", text);
    free(text);
    return rc == 0 ? mkt_emit(m, "fleet.updated", fleet) : -1;
}
