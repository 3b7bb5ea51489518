/* webhook.c: escalation when nobody is looking at the screen (docs/api.md, "Webhooks").
 *
 * `marketd --webhook URL` (repeatable) POSTs, to each URL, critical alerts
 * (`alert.critical`, from marketd/alert.c), purchases with under 30 s left
 * (`purchase.deadline`, found by market_tick: webhook_tick below) and whatever else calls
 * webhook_enqueue() (the unattended switch's transitions). Each is at least once:
 * webhook_enqueue() writes one outbox row per URL in the transaction of the change it
 * reports (a crash loses none: the outbox is sent after a restart), and a thread of its
 * own sends them, signed (marketd/webhook_send.c), retrying a failure with exponential
 * backoff (0.5 s doubling, at most 30 s). That thread takes the market's lock only to
 * read due rows and to record an attempt, never while it sends: a receiver that is down
 * or hangs never blocks the market.
 */
#include "marketd/mkt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WH_MAX_URLS      8
#define WH_BATCH         16    /* rows read per pass */
#define WH_BACKOFF_MS    500   /* the first retry's delay ... */
#define WH_BACKOFF_MAX   30000 /* ... doubling up to this */
#define WH_DEADLINE_MS   30000 /* "under 30 s left" */
#define WH_DEADLINE_SCAN 100   /* pending purchases read per tick */

struct webhook {
    char *urls[WH_MAX_URLS];
    int nurls;
    char *secret;
    size_t secretlen;
    pthread_t thread;
    pthread_mutex_t mu; /* guards kick, stop; never held while taking the market's lock */
    pthread_cond_t cv;
    bool kick, stop;
    int64_t deadline_mark; /* the latest decide_by already reported (webhook_tick) */
    /* counters for /metrics (written by the sender under mu) */
    uint64_t deliveries, failures;
    int64_t pending;
};

/* Writes one outbox row per URL for event id of type with data (borrowed). */
static int enqueue(market *m, const char *id, const char *type, json_t *data)
{
    webhook *w = m->wh;
    json_t *ev = json_pack("{ss ss so sO}", "id", id, "type", type, "created_at",
                           mkt_time_json(m->now), "data", data ? data : json_null());
    char *body = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    json_decref(ev);
    int rc = body ? 0 : -1;
    for (int i = 0; rc == 0 && i < w->nurls; i++)
        rc = STORE(m->db, outbox_put, id, w->urls[i], body, m->now);
    free(body);
    if (rc == 0) {
        pthread_mutex_lock(&w->mu);
        w->kick = true; /* the sender reads after this transaction ends (it needs our lock) */
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
    return rc;
}

int webhook_enqueue(market *m, const char *type, json_t *data)
{
    char id[72];
    if (!m->wh)
        return 0;
    return mkt_new_id(m, "whe_", id) == 0 ? enqueue(m, id, type, data) : -1;
}

/* Reports each pending purchase whose decide_by is under 30 s away, once: its event id
 * is "whe_deadline_<purchase id>" (an outbox row per id and URL), and the latest one
 * reported is remembered, so that a tick reads without writing when nothing is new. */
void webhook_tick(market *m)
{
    webhook *w = m->wh;
    if (!w)
        return;
    json_t *items = json_array();
    STORE(m->db, purchases_due, m->now + WH_DEADLINE_MS, WH_DEADLINE_SCAN, mkt_collect, items);
    size_t i;
    json_t *p;
    bool began = false;
    int rc = 0;
    int64_t mark = w->deadline_mark;
    json_array_foreach(items, i, p)
    {
        int64_t due = mkt_parse_time(mkt_str(p, "decide_by"));
        if (due <= w->deadline_mark || due <= m->now)
            continue;
        if (!began && (rc = mkt_begin(m, true)) != 0)
            break;
        began = true;
        char id[120];
        snprintf(id, sizeof id, "whe_deadline_%s", mkt_str(p, "id"));
        if ((rc = enqueue(m, id, "purchase.deadline", p)) != 0)
            break;
        mark = due > mark ? due : mark;
    }
    if (began && rc == 0 && mkt_commit(m) == 0)
        w->deadline_mark = mark;
    else if (began && rc != 0)
        mkt_rollback(m);
    json_decref(items);
}

/* Milliseconds to wait before attempt number attempts+1 (attempts failed so far). */
static int64_t backoff_ms(int64_t attempts)
{
    int64_t d = WH_BACKOFF_MS;
    for (int64_t i = 1; i < attempts && d < WH_BACKOFF_MAX; i++)
        d *= 2;
    return d < WH_BACKOFF_MAX ? d : WH_BACKOFF_MAX;
}

/* Sends the rows (an array) without the market's lock, then records each attempt under
 * it. */
static void send_rows(market *m, json_t *rows)
{
    webhook *w = m->wh;
    size_t n = json_array_size(rows);
    bool *ok = calloc(n ? n : 1, sizeof *ok);
    if (!ok)
        return;
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_array_get(rows, i);
        ok[i] = webhook_send(mkt_str(r, "url"), mkt_str(r, "event_id"), mkt_str(r, "body"),
                             w->secret, w->secretlen) == 0;
    }
    pthread_mutex_lock(&m->mu);
    m->now = mkt_now_ms();
    if (mkt_begin(m, true) == 0) {
        for (size_t i = 0; i < n; i++) {
            json_t *r = json_array_get(rows, i);
            int64_t row = mkt_int(r, "n");
            if (ok[i])
                STORE(m->db, outbox_done, row, m->now);
            else
                STORE(m->db, outbox_retry, row, m->now + backoff_ms(mkt_int(r, "attempts") + 1));
        }
        if (mkt_commit(m) != 0)
            mkt_rollback(m);
    }
    pthread_mutex_unlock(&m->mu);
    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < n; i++)
        ok[i] ? w->deliveries++ : w->failures++;
    pthread_mutex_unlock(&w->mu);
    free(ok);
}

/* Waits until kicked, stopped, or the absolute ms time `until` (-1: no time). */
static void wait_for(webhook *w, int64_t until)
{
    pthread_mutex_lock(&w->mu);
    if (!w->kick && !w->stop) {
        if (until < 0) {
            pthread_cond_wait(&w->cv, &w->mu);
        } else {
            struct timespec ts = {.tv_sec = (time_t)(until / 1000),
                                  .tv_nsec = (long)(until % 1000) * 1000000L};
            pthread_cond_timedwait(&w->cv, &w->mu, &ts);
        }
    }
    w->kick = false;
    pthread_mutex_unlock(&w->mu);
}

/* The sender: reads the due rows, sends them, and sleeps until the next is due or a new
 * one is written (idle: no CPU). */
static void *sender(void *arg)
{
    market *m = arg;
    webhook *w = m->wh;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        bool stop = w->stop;
        pthread_mutex_unlock(&w->mu);
        if (stop)
            break;
        if (!mkt_leader(m)) { /* one instance delivers (marketd/market.c): look again */
            wait_for(w, mkt_now_ms() + 1000);
            continue;
        }
        json_t *rows = json_array();
        int64_t next = -1, pending = 0;
        pthread_mutex_lock(&m->mu);
        m->now = mkt_now_ms();
        int64_t now = m->now;
        STORE(m->db, outbox_due, now, WH_BATCH, mkt_collect, rows);
        STORE(m->db, outbox_next, &next, &pending);
        pthread_mutex_unlock(&m->mu);
        pthread_mutex_lock(&w->mu);
        w->pending = pending;
        pthread_mutex_unlock(&w->mu);
        if (json_array_size(rows) > 0)
            send_rows(m, rows);
        else
            wait_for(w, next);
        json_decref(rows);
    }
    return NULL;
}

int market_webhooks(market *m, const char *const *urls, int n, const char *secret, size_t secretlen,
                    char *err, size_t errsz)
{
    if (n < 1 || n > WH_MAX_URLS || !secret || secretlen == 0) {
        snprintf(err, errsz, "--webhook: 1 to %d URLs, and a secret (--webhook-secret-file)",
                 WH_MAX_URLS);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (strncmp(urls[i], "http://", 7) != 0 && strncmp(urls[i], "https://", 8) != 0) {
            snprintf(err, errsz, "--webhook %s: not an http:// or https:// URL", urls[i]);
            return -1;
        }
    }
    webhook *w = webhook_send_init() == 0 ? calloc(1, sizeof *w) : NULL;
    if (!w || !(w->secret = malloc(secretlen))) {
        free(w);
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    memcpy(w->secret, secret, secretlen);
    w->secretlen = secretlen;
    for (int i = 0; i < n; i++)
        w->urls[w->nurls++] = strdup(urls[i]);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL); /* CLOCK_REALTIME: `until` is ms since the epoch */
    w->deadline_mark = 0;
    pthread_mutex_lock(&m->mu);
    m->wh = w;
    pthread_mutex_unlock(&m->mu);
    if (pthread_create(&w->thread, NULL, sender, m) != 0) {
        snprintf(err, errsz, "--webhook: cannot start the sender");
        webhook_free(m);
        return -1;
    }
    return 0;
}

void webhook_stop(market *m)
{
    webhook *w = m->wh;
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    webhook_free(m);
}

void webhook_free(market *m)
{
    webhook *w = m->wh;
    if (!w)
        return;
    pthread_mutex_lock(&m->mu);
    m->wh = NULL;
    pthread_mutex_unlock(&m->mu);
    for (int i = 0; i < w->nurls; i++)
        free(w->urls[i]);
    memset(w->secret, 0, w->secretlen);
    free(w->secret);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

void webhook_stats(market *m, uint64_t *deliveries, uint64_t *failures, int64_t *pending)
{
    webhook *w = m->wh;
    *deliveries = *failures = 0;
    *pending = 0;
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    *deliveries = w->deliveries;
    *failures = w->failures;
    *pending = w->pending;
    pthread_mutex_unlock(&w->mu);
}
