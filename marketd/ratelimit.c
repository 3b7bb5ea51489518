/* ratelimit.c: per-agent request rate limits (a token bucket per agent).
 *
 * Each agent may make `burst` requests at once and `rate` a second after that; past it,
 * market_handle() answers 429 rate_limited with Retry-After before it takes the market's
 * lock, so an agent that floods costs the others nothing but this table's own short
 * lock. Operators are never limited here. The table holds one bucket per agent seen
 * (agents are created only by supervisors, so it cannot be grown by an agent), in an
 * open-addressing hash table that doubles when half full.
 *
 * Several instances on one database (PostgreSQL, docs/scaling.md) share each agent's
 * bucket instead: a row of the database taken from in one statement by the database's
 * clock (store.h's rate_take, marketd/store_pg_multi.c), on a connection of this file's
 * own (opened at the first agent request, used under the table's lock), so that an agent
 * spread over N instances still gets `rate` a second, not N times it. That costs a round
 * trip to PostgreSQL per agent request; when the database cannot answer, the request
 * goes on unlimited (it meets the database's 503 next).
 */
#include "marketd/ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "marketd/mkt.h"

typedef struct bucket {
    char key[65];  /* agent id; "" for an empty slot */
    double tokens; /* requests it may make now */
    int64_t at_ms; /* when tokens was computed */
} bucket;

struct ratelimit {
    pthread_mutex_t mu;
    double rate, burst;
    bucket *slots;
    size_t cap, used;
    uint64_t refused;
    store *db;   /* several instances: the shared buckets' connection, or NULL */
    bool db_bad; /* it could not be opened (logged once): in memory */
};

ratelimit *ratelimit_new(double rate, double burst)
{
    if (!(rate > 0) || !(burst >= 1))
        return NULL;
    ratelimit *rl = calloc(1, sizeof *rl);
    if (!rl)
        return NULL;
    rl->cap = 256;
    rl->slots = calloc(rl->cap, sizeof *rl->slots);
    if (!rl->slots) {
        free(rl);
        return NULL;
    }
    rl->rate = rate;
    rl->burst = burst;
    pthread_mutex_init(&rl->mu, NULL);
    return rl;
}

void ratelimit_free(ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->mu);
    if (rl->db)
        rl->db->ops->close(rl->db);
    free(rl->slots);
    free(rl);
}

/* FNV-1a of a key. */
static size_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return (size_t)h;
}

/* The slot of key in slots (cap a power of two): its own, or the empty one to take. */
static bucket *probe(bucket *slots, size_t cap, const char *key)
{
    size_t i = hash(key) & (cap - 1);
    while (slots[i].key[0] && strcmp(slots[i].key, key) != 0)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

/* Doubles the table. Returns false when memory ran out (the table is unchanged). */
static bool grow(ratelimit *rl)
{
    size_t cap = rl->cap * 2;
    bucket *n = calloc(cap, sizeof *n);
    if (!n)
        return false;
    for (size_t i = 0; i < rl->cap; i++)
        if (rl->slots[i].key[0])
            *probe(n, cap, rl->slots[i].key) = rl->slots[i];
    free(rl->slots);
    rl->slots = n;
    rl->cap = cap;
    return true;
}

int ratelimit_take(ratelimit *rl, const char *key, int64_t now_ms)
{
    if (!rl || !key || strlen(key) >= sizeof rl->slots[0].key)
        return 0;
    pthread_mutex_lock(&rl->mu);
    bucket *b = probe(rl->slots, rl->cap, key);
    if (!b->key[0]) {
        if ((rl->used + 1) * 2 > rl->cap && grow(rl))
            b = probe(rl->slots, rl->cap, key);
        memcpy(b->key, key, strlen(key) + 1);
        b->tokens = rl->burst;
        b->at_ms = now_ms;
        rl->used++;
    }
    if (now_ms > b->at_ms) {
        b->tokens += (double)(now_ms - b->at_ms) / 1000.0 * rl->rate;
        if (b->tokens > rl->burst)
            b->tokens = rl->burst;
        b->at_ms = now_ms;
    }
    int wait = 0;
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
    } else {
        wait = (int)ceil((1.0 - b->tokens) / rl->rate);
        if (wait < 1)
            wait = 1;
        rl->refused++;
    }
    pthread_mutex_unlock(&rl->mu);
    return wait;
}

uint64_t ratelimit_refused(ratelimit *rl)
{
    if (!rl)
        return 0;
    pthread_mutex_lock(&rl->mu);
    uint64_t n = rl->refused;
    pthread_mutex_unlock(&rl->mu);
    return n;
}

/* ---- the market's use (market_handle) ---- */

/* Several instances: takes one request from the agent's shared bucket in the database
 * (rl's lock held): the seconds to wait as ratelimit_take, or -1 when the database did
 * not answer (or there is no shared engine): then the bucket in memory decides. */
static int shared_take(market *m, ratelimit *rl, const char *key)
{
    const store_ops *ops = m->db->ops;
    if (!ops->rate_take || rl->db_bad)
        return -1;
    if (!rl->db) {
        char err[256];
        if (!(rl->db = ops->rate_open(m->db, err, sizeof err))) {
            fprintf(stderr, "marketd: rate limits kept per instance: %s\n", err);
            rl->db_bad = true;
            return -1;
        }
    }
    double tokens = 0;
    int got = ops->rate_take(rl->db, key, rl->rate, rl->burst, &tokens);
    if (got < 0)
        return 0; /* unavailable: the market answers 503 itself */
    if (got == 1)
        return 0;
    rl->refused++;
    int wait = (int)ceil((1.0 - tokens) / rl->rate);
    return wait < 1 ? 1 : wait;
}

/* The seconds agent key must wait (0: go on): from the shared bucket when there is one,
 * else this process's. */
static int take(market *m, const char *key)
{
    ratelimit *rl = m->rl;
    if (!key)
        return 0;
    pthread_mutex_lock(&rl->mu);
    int wait = strlen(key) < sizeof rl->slots[0].key ? shared_take(m, rl, key) : 0;
    pthread_mutex_unlock(&rl->mu);
    if (wait >= 0)
        return wait;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ratelimit_take(rl, key, (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

bool mkt_rate_refuse(market *m, const market_actor *a, market_response *rs)
{
    if (a->role != ROLE_AGENT || !m->rl)
        return false;
    int wait = take(m, a->agent_id);
    if (wait == 0)
        return false;
    char msg[96];
    snprintf(msg, sizeof msg, "too many requests from this agent: retry in %d s", wait);
    json_t *b =
        json_pack("{ss ss si}", "error", "rate_limited", "message", msg, "retry_after_s", wait);
    rs->status = 429;
    rs->retry_after = wait;
    rs->replayed = false;
    rs->body = b ? json_dumps(b, JSON_COMPACT) : NULL;
    json_decref(b);
    if (!rs->body) {
        rs->status = 500;
        rs->body = strdup("{\"error\":\"unavailable\",\"message\":\"out of memory\"}");
    }
    return true;
}
