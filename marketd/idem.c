/* idem.c: the answers kept for Idempotency-Key (table idem), each body stored once.
 *
 * A stored answer holds each part that is the data of an event of its own transaction
 * (an answer's top-level member, or the whole answer) only in that event (which itself
 * may keep it in an object's or a message's row, db.c): idem.refs lists "name=seq"
 * pairs, comma-separated ("=seq" for the whole answer), and the body keeps null in that
 * member's place, so the members keep their order. A replay puts the event's data back:
 * the same text, since it was compared byte for byte when stored. Before issue 11 a
 * 4 KB listing was stored three times (object, event, answer). market_tick() prunes
 * the answers after 48 hours (mkt_idem_prune).
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
    sqlite3_stmt *st;
    int rc = -1;
    if (mkt_prepare(m,
                    "INSERT INTO idem(actor,key,fingerprint,status,body,at,refs) "
                    "VALUES(?,?,?,?,?,?,?)",
                    &st) == 0) {
        sqlite3_bind_text(st, 1, scope, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, fp, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 4, status);
        sqlite3_bind_text(st, 5, whole ? "" : stored ? stored : body, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, m->now);
        if (refs[0])
            sqlite3_bind_text(st, 7, refs, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
        mkt_release(st);
    }
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

int mkt_idem_lookup(market *m, const char *scope, const char *key, const char *fp, int *status,
                    char **body)
{
    sqlite3_stmt *st;
    int r = 0;
    if (mkt_prepare(m, "SELECT fingerprint,status,body,refs FROM idem WHERE actor=? AND key=?",
                    &st) != 0)
        return 0;
    sqlite3_bind_text(st, 1, scope, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    char *stored = NULL, *refs = NULL;
    if (sqlite3_step(st) == SQLITE_ROW) {
        r = 2;
        if (strcmp((const char *)sqlite3_column_text(st, 0), fp) == 0) {
            *status = sqlite3_column_int(st, 1);
            const char *rf = (const char *)sqlite3_column_text(st, 3);
            stored = strdup((const char *)sqlite3_column_text(st, 2));
            refs = rf ? strdup(rf) : NULL;
            r = stored && (refs || !rf) ? 1 : 0;
        }
    }
    mkt_release(st); /* before answer_rebuild prepares other statements */
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
    char sql[96];
    snprintf(sql, sizeof sql, "DELETE FROM idem WHERE at<%lld",
             (long long)(m->now - 48LL * 3600 * 1000));
    mkt_exec(m, sql);
    m->last_prune = m->now;
}
