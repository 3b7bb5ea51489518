/* idem.c: the answers kept for Idempotency-Key (table idem), each body stored once.
 *
 * A stored answer holds each part that is the data of an event of its own transaction
 * (an answer's top-level member, or the whole answer) only in that event (which itself
 * may keep it in an object's or a message's row, db.c): idem.refs lists "name=seq"
 * pairs, comma-separated ("=seq" for the whole answer), and the body keeps null in that
 * member's place, so the members keep their order. A replay puts the event's data back:
 * the same text, since it was compared byte for byte when stored. Before issue 11 a
 * 4 KB listing was stored three times (object, event, answer). market_tick() prunes
 * the answers after 48 hours (mkt_idem_prune). Before the event log's retention
 * (marketd/retain.c) deletes events, the answers referring to them get their whole body
 * back (mkt_idem_inline), so that a replay still answers the same text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "marketd/mkt.h"

/* The seq of the newest event of the current transaction whose data is text (len
 * bytes), or 0. */
static int64_t tx_event_with(market *m, const char *text, size_t len)
{
    int64_t seq = 0;
    for (mkt_evnode *n = m->tx_head; n; n = n->next)
        if (n->data_len == len && memcmp(n->json + n->data_off, text, len) == 0)
            seq = n->seq;
    return seq;
}

/* True when name may appear in idem.refs (our own member names: a-z and _). */
static bool ref_name_ok(const char *name)
{
    if (!*name || strlen(name) > 40)
        return false;
    for (; *name; name++)
        if (!((*name >= 'a' && *name <= 'z') || *name == '_'))
            return false;
    return true;
}

/* Replaces the members of answer that are an event's data by null and writes their
 * references into refs (size bytes). Returns how many. */
static int answer_refs(market *m, json_t *answer, char *refs, size_t size)
{
    int n = 0;
    size_t used = 0;
    const char *name;
    json_t *v;
    refs[0] = '\0';
    json_object_foreach(answer, name, v)
    {
        if (!json_is_object(v) || !ref_name_ok(name))
            continue;
        char *text = json_dumps(v, JSON_COMPACT);
        int64_t seq = text ? tx_event_with(m, text, strlen(text)) : 0;
        free(text);
        int w = seq ? snprintf(refs + used, size - used, "%s%s=%lld", n ? "," : "", name,
                               (long long)seq)
                    : 0;
        if (seq && w > 0 && (size_t)w < size - used) {
            used += (size_t)w;
            json_object_set_new(answer, name, json_null()); /* in place: the order stays */
            n++;
        }
    }
    return n;
}

int mkt_idem_store(market *m, const char *scope, const char *key, const char *fp, int status,
                   const char *body)
{
    char refs[256] = "";
    char *stored = NULL;
    int64_t whole = tx_event_with(m, body, strlen(body));
    if (whole) {
        snprintf(refs, sizeof refs, "=%lld", (long long)whole);
    } else {
        json_t *a = json_loads(body, 0, NULL);
        if (json_is_object(a) && answer_refs(m, a, refs, sizeof refs) > 0)
            stored = json_dumps(a, JSON_COMPACT);
        json_decref(a);
        if (!stored)
            refs[0] = '\0';
    }
    store_answer row = {fp, status, whole ? "" : stored ? stored : body, refs[0] ? refs : NULL};
    int rc = STORE(m->db, idem_put, scope, key, &row, m->now);
    free(stored);
    return rc;
}

/* Rebuilds a stored answer from its body and refs (see above). Owned text, or NULL. */
static char *answer_rebuild(market *m, const char *body, const char *refs)
{
    if (refs[0] == '=')
        return mkt_event_data(m, strtoll(refs + 1, NULL, 10));
    json_t *a = json_loads(body, 0, NULL);
    for (const char *p = refs; a && *p;) {
        const char *eq = strchr(p, '=');
        if (!eq || eq == p || (size_t)(eq - p) > 40)
            break;
        char name[48];
        memcpy(name, p, (size_t)(eq - p));
        name[eq - p] = '\0';
        char *end;
        char *data = mkt_event_data(m, strtoll(eq + 1, &end, 10));
        json_t *v = data ? json_loads(data, 0, NULL) : NULL;
        free(data);
        if (!v || !json_object_get(a, name)) {
            json_decref(v);
            json_decref(a);
            return NULL;
        }
        json_object_set_new(a, name, v);
        p = *end == ',' ? end + 1 : end;
    }
    char *text = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    return text;
}

/* A stored answer being looked up: what the request's fingerprint finds. */
typedef struct lookup {
    const char *fp;
    int r; /* 1 found with this fingerprint, 2 with another, 0 unreadable */
    int status;
    char *stored; /* its body (owned) */
    char *refs;   /* its references (owned), or NULL */
} lookup;
static int take_answer(void *ud, const store_answer *a)
{
    lookup *l = ud;
    l->r = 2;
    if (a->fingerprint && strcmp(a->fingerprint, l->fp) == 0) {
        l->status = a->status;
        l->stored = a->body ? strdup(a->body) : NULL;
        l->refs = a->refs ? strdup(a->refs) : NULL;
        l->r = l->stored && (l->refs || !a->refs) ? 1 : 0;
    }
    return 0;
}

int mkt_idem_lookup(market *m, const char *scope, const char *key, const char *fp, int *status,
                    char **body)
{
    lookup l = {fp, 0, 0, NULL, NULL};
    if (STORE(m->db, idem_get, scope, key, take_answer, &l) != 1)
        l.r = 0;
    int r = l.r;
    char *stored = l.stored, *refs = l.refs;
    if (r == 1)
        *status = l.status;
    if (r == 1 && refs) {
        char *text = answer_rebuild(m, stored, refs);
        free(stored);
        stored = text;
        if (!stored) { /* never run the request twice: answer that the stored one is lost */
            *status = 503;
            stored = strdup("{\"error\":\"unavailable\",\"message\":\"the stored answer "
                            "could not be read\"}");
            r = stored ? 1 : 0;
        }
    }
    free(refs);
    if (r == 1)
        *body = stored;
    else
        free(stored);
    return r;
}

void mkt_idem_prune(market *m)
{
    if (m->now - m->last_prune <= 3600 * 1000)
        return;
    /* Idempotency keys are kept 48 hours (the contract promises at least 24). */
    STORE(m->db, idem_prune, m->now - 48LL * 3600 * 1000);
    m->last_prune = m->now;
}

/* An answer to make whole (mkt_idem_inline): its scope, key and rebuilt body (owned). */
typedef struct inline_row {
    struct inline_row *next;
    char *scope, *key, *body;
} inline_row;
typedef struct inline_walk {
    market *m;
    inline_row *head;
    bool failed;
} inline_walk;
static int take_inline(void *ud, const char *scope, const char *key, const store_answer *a)
{
    inline_walk *w = ud;
    inline_row *r = calloc(1, sizeof *r);
    if (r) {
        r->scope = strdup(scope);
        r->key = strdup(key);
        r->body = a->body && a->refs ? answer_rebuild(w->m, a->body, a->refs) : NULL;
        r->next = w->head;
        w->head = r;
    }
    /* an answer whose events are gone already stays as it is (a replay answers 503) */
    if (!r || !r->scope || !r->key)
        w->failed = true;
    return 0;
}

int mkt_idem_inline(market *m, int64_t after, int64_t upto)
{
    inline_walk w = {m, NULL, false};
    int rc = STORE(m->db, idem_refs_each, after, upto, take_inline, &w) < 0 || w.failed ? -1 : 0;
    while (w.head) {
        inline_row *r = w.head;
        w.head = r->next;
        if (rc == 0 && r->body && STORE(m->db, idem_inline, r->scope, r->key, r->body) != 0)
            rc = -1;
        free(r->scope);
        free(r->key);
        free(r->body);
        free(r);
    }
    return rc;
}
