/* market.c: opening and closing the market, its tokens, and event delivery.
 *
 * One store (marketd/store.h; the SQLite engine, store_sqlite.c, keeps the schema),
 * guarded by the market's mutex. Committed events
 * are handed to a delivery thread that calls the subscribers in commit order without
 * the market's lock, so a subscriber may call market_handle() itself.
 */
#include "marketd/mkt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Fills buf with n random bytes from the kernel. Returns 0 or -1. */
static int random_bytes(unsigned char *buf, size_t n)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < n) {
        ssize_t r = read(fd, buf + off, n - off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)r;
    }
    close(fd);
    return 0;
}

/* Writes n random bytes as 2n hex digits and a NUL into out. Returns 0 or -1. */
static int random_hex(char *out, size_t n)
{
    unsigned char b[64];
    if (n > sizeof b || random_bytes(b, n) != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    return 0;
}

/* Opens the database at path with its engine: a new one is seeded with a random epoch
 * and a running fleet. Returns 0 or -1 with err set. */
static int open_store(market *m, const char *path, char *err, size_t errsz)
{
    char epoch[33], now[32], fleet[160];
    if (random_hex(epoch, 8) != 0) {
        snprintf(err, errsz, "cannot read random bytes for the epoch");
        return -1;
    }
    mkt_time_str(mkt_now_ms(), now);
    snprintf(
        fleet, sizeof fleet,
        "{\"version\":1,\"status\":\"running\",\"reason\":null,\"by\":null,\"updated_at\":\"%s\"}",
        now);
    store_seed seed = {epoch, fleet};
    /* the engine by the path: a postgresql:// (or postgres://) URL names PostgreSQL
     * (store_pg.c), anything else a SQLite file (store_sqlite.c) */
    bool pg = strncmp(path, "postgresql://", 13) == 0 || strncmp(path, "postgres://", 11) == 0;
    m->db = (pg ? &store_pg : &store_sqlite)->open(path, &seed, err, errsz);
    if (!m->db)
        return -1;
    if (!mkt_meta_get(m, "epoch", m->epoch, sizeof m->epoch)) {
        snprintf(err, errsz, "database %s has no epoch", path);
        return -1;
    }
    /* the seq: on SQLite the market's, taken in memory from here on (db.c, emit_text);
     * on an engine several instances share, read again by each transaction (db.c,
     * begin_shared) */
    STORE(m->db, last_seq, &m->seq);
    m->shared = m->db->ops->tx_lock != NULL;
    m->delivered = m->seq;
    return 0;
}

/* Compares two hex digests without an early exit. */
static bool digest_eq(const char *a, const char *b)
{
    unsigned char d = 0;
    for (int i = 0; i < 64; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

/* Reads the operator tokens file (NAME ROLE SECRET lines). Returns 0 or -1 with err. */
static int load_tokens(market *m, const char *path, char *err, size_t errsz)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errsz, "cannot open tokens file %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        snprintf(err, errsz, "tokens file %s is not a regular file", path);
        return -1;
    }
    if (sb.st_mode & 077) {
        close(fd);
        snprintf(err, errsz,
                 "tokens file %s is %s by group or others (mode %03o); run chmod 600 %s", path,
                 (sb.st_mode & 044) ? "readable" : "writable", (unsigned)(sb.st_mode & 0777), path);
        return -1;
    }
    FILE *f = fdopen(fd, "r");
    if (!f) {
        close(fd);
        snprintf(err, errsz, "cannot read tokens file %s", path);
        return -1;
    }
    char line[1024];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || *p == '\r' || *p == '\0')
            continue;
        char name[128], role[32], secret[512];
        if (sscanf(p, "%127s %31s %511s", name, role, secret) != 3 || strlen(name) > 64 ||
            strlen(secret) < 8) {
            fclose(f);
            snprintf(err, errsz,
                     "tokens file %s line %d: expected NAME ROLE SECRET (secret of 8 or more "
                     "characters)",
                     path, lineno);
            return -1;
        }
        market_role r = strcmp(role, "supervisor") == 0 ? ROLE_SUPERVISOR
                        : strcmp(role, "viewer") == 0   ? ROLE_VIEWER
                                                        : ROLE_NONE;
        if (r == ROLE_NONE) {
            fclose(f);
            snprintf(err, errsz, "tokens file %s line %d: role must be supervisor or viewer", path,
                     lineno);
            return -1;
        }
        if (m->nops == MKT_MAX_OPERATORS) {
            fclose(f);
            snprintf(err, errsz, "tokens file %s: more than %d operators", path, MKT_MAX_OPERATORS);
            return -1;
        }
        mkt_operator *op = &m->ops[m->nops];
        memcpy(op->name, name, strlen(name) + 1); /* at most 64 characters, checked above */
        op->role = r;
        mkt_sha256_hex(secret, strlen(secret), op->secret_hash);
        memset(secret, 0, sizeof secret);
        /* Two lines with one name would make the log and the decisions ambiguous; two with
         * one secret would authenticate as whichever comes first. */
        const char *dup = NULL;
        for (int i = 0; i < m->nops && !dup; i++)
            dup = strcmp(m->ops[i].name, op->name) == 0               ? "name"
                  : digest_eq(m->ops[i].secret_hash, op->secret_hash) ? "secret"
                                                                      : NULL;
        if (dup) {
            fclose(f);
            memset(op, 0, sizeof *op);
            snprintf(err, errsz, "tokens file %s line %d: the same %s as an earlier line", path,
                     lineno, dup);
            return -1;
        }
        m->nops++;
    }
    memset(line, 0, sizeof line);
    fclose(f);
    return 0;
}

/* Calls the subscribers (as they are now) with one event, without the queue's lock;
 * called with it held, returns with it held. */
static void deliver_one(market *m, int64_t seq, const char *type, const char *json)
{
    int nsubs = m->nsubs;
    market_event_fn fns[MKT_MAX_SUBSCRIBERS];
    void *uds[MKT_MAX_SUBSCRIBERS];
    for (int i = 0; i < nsubs; i++) {
        fns[i] = m->subs[i].fn;
        uds[i] = m->subs[i].ud;
    }
    m->delivering = true;
    pthread_mutex_unlock(&m->qmu);
    for (int i = 0; i < nsubs; i++)
        fns[i](uds[i], seq, type, json);
    pthread_mutex_lock(&m->qmu);
    m->delivering = false;
    pthread_cond_broadcast(&m->qcv);
}

/* mkt_store_events callback of the shared delivery thread: one event read back. */
static void deliver_row(void *ud, int64_t seq, const char *type, const char *json)
{
    market *m = ud;
    pthread_mutex_lock(&m->qmu);
    deliver_one(m, seq, type, json);
    pthread_mutex_unlock(&m->qmu);
    m->delivered = seq;
}

/* The delivery thread of an engine several instances share: wakes on a commit of any
 * instance (LISTEN/NOTIFY: store_pg_multi.c) or of this one (the wake pipe, db.c's
 * mkt_commit), then reads the events after the last one delivered from the table, in
 * seq order, so that each is delivered once and in order wherever it was committed.
 * Commit order is seq order (the counter row), so what the table shows has no gap. The
 * wait's timeout is a safety net only. */
static void *deliver_shared(void *arg)
{
    market *m = arg;
    for (;;) {
        pthread_mutex_lock(&m->qmu);
        bool stop = m->q_stop;
        pthread_mutex_unlock(&m->qmu);
        if (stop)
            break;
        while (mkt_store_events(m->listener, m->delivered, 256, deliver_row, m) == 256)
            ;
        m->db->ops->listen_wait(m->listener, m->wake[0], 1000);
    }
    return NULL;
}

/* The delivery thread: calls the subscribers for each committed event, in order. */
static void *deliver_main(void *arg)
{
    market *m = arg;
    pthread_mutex_lock(&m->qmu);
    for (;;) {
        while (!m->q_head && !m->q_stop)
            pthread_cond_wait(&m->qcv, &m->qmu);
        if (!m->q_head)
            break;
        mkt_evnode *n = m->q_head;
        m->q_head = n->next;
        if (!m->q_head)
            m->q_tail = NULL;
        deliver_one(m, n->seq, n->type, n->json);
        free(n->json);
        free(n);
    }
    pthread_mutex_unlock(&m->qmu);
    return NULL;
}

/* Frees m (no delivery thread running): its database, locks, operators' hashes. */
static void market_free(market *m)
{
    if (m->rdb)
        m->rdb->ops->close(m->rdb);
    if (m->ldb)
        m->ldb->ops->close(m->ldb);
    if (m->listener)
        m->listener->ops->close(m->listener);
    for (int i = 0; i < 2; i++)
        if (m->wake[i] >= 0)
            close(m->wake[i]);
    presence_close(m);
    if (m->db)
        m->db->ops->close(m->db);
    pthread_cond_destroy(&m->qcv);
    pthread_mutex_destroy(&m->rmu);
    pthread_mutex_destroy(&m->qmu);
    pthread_mutex_destroy(&m->mu);
    memset(m->ops, 0, sizeof m->ops);
    ratelimit_free(m->rl);
    free(m);
}

/* The connections and the pipe of an engine several instances share: the delivery
 * thread's listener, the leader's lock. 0 or -1 with err set. */
static int open_shared(market *m, char *err, size_t errsz)
{
    if (pipe(m->wake) != 0 || fcntl(m->wake[0], F_SETFL, O_NONBLOCK) != 0 ||
        fcntl(m->wake[1], F_SETFL, O_NONBLOCK) != 0) {
        snprintf(err, errsz, "cannot make a pipe: %s", strerror(errno));
        return -1;
    }
    m->listener = m->db->ops->listen_open(m->db, err, errsz);
    m->ldb = m->listener ? m->db->ops->open_reader(m->db, err, errsz) : NULL;
    return m->ldb ? 0 : -1;
}

bool mkt_leader_check(market *m)
{
    if (!m->shared)
        return true;
    bool was = mkt_leader(m), is = m->ldb->ops->leader_try(m->ldb) == 1;
    if (is != was)
        fprintf(stderr, "marketd: %s the jobs that run once (expiry, the fleet, webhooks)\n",
                is ? "leading:" : "no longer leading:");
    __atomic_store_n(&m->leader, is, __ATOMIC_RELAXED);
    return is;
}

bool mkt_leader(market *m)
{
    return __atomic_load_n(&m->leader, __ATOMIC_RELAXED);
}

bool market_leading(market *m)
{
    return mkt_leader(m);
}

int mkt_seq_refresh(market *m)
{
    int64_t seq;
    if (!m->shared || m->in_tx)
        return 0;
    if (STORE(m->db, last_seq, &seq) != 0)
        return -1;
    if (seq > m->seq)
        m->seq = seq;
    return 0;
}

market *market_open(const market_options *opt, char *err, size_t errsz)
{
    market *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&m->mu, NULL);
    pthread_mutex_init(&m->rmu, NULL);
    pthread_mutex_init(&m->qmu, NULL);
    pthread_cond_init(&m->qcv, NULL);
    m->wake[0] = m->wake[1] = -1;
    m->decide_timeout_s = opt->decide_timeout_s > 0 ? opt->decide_timeout_s : 120;
    m->two_person_timeout_s = opt->two_person_timeout_s > 0 ? opt->two_person_timeout_s : 600;
    m->claim_s = opt->claim_s > 0 ? opt->claim_s : 120;
    m->dispute_window_days = opt->dispute_window_days ? opt->dispute_window_days : 30;
    m->dispute_respond_s = opt->dispute_respond_s > 0 ? opt->dispute_respond_s : 172800;
    m->max_open_listings =
        opt->max_open_listings > 0 ? opt->max_open_listings : MARKET_MAX_OPEN_LISTINGS;
    if (opt->agent_rate >= 0) {
        m->rl = ratelimit_new(opt->agent_rate > 0 ? opt->agent_rate : MARKET_AGENT_RATE,
                              opt->agent_burst > 0 ? opt->agent_burst : MARKET_AGENT_BURST);
        if (!m->rl) {
            snprintf(err, errsz, "out of memory");
            goto fail;
        }
    }
    const char *path = opt->db_path ? opt->db_path : ":memory:";
    if (opt->tokens_path && load_tokens(m, opt->tokens_path, err, errsz) != 0)
        goto fail;
    if (open_store(m, path, err, errsz) != 0 || presence_open(m, opt, err, errsz) != 0)
        goto fail;
    char rerr[256]; /* no reader (":memory:"): the lists are read under the lock */
    m->rdb = m->db->ops->open_reader ? m->db->ops->open_reader(m->db, rerr, sizeof rerr) : NULL;
    if (m->shared && open_shared(m, err, errsz) != 0)
        goto fail;
    m->leader = !m->shared; /* a shared engine's: from the first market_tick */
    if (pthread_create(&m->q_thread, NULL, m->shared ? deliver_shared : deliver_main, m) != 0) {
        snprintf(err, errsz, "cannot start the delivery thread");
        goto fail;
    }
    return m;
fail:
    market_free(m);
    return NULL;
}

void market_close(market *m)
{
    if (!m)
        return;
    webhook_stop(m); /* first: it takes the market's lock */
    pthread_mutex_lock(&m->qmu);
    m->q_stop = true;
    pthread_cond_broadcast(&m->qcv);
    pthread_mutex_unlock(&m->qmu);
    if (m->wake[1] >= 0 && write(m->wake[1], "", 1) < 0) {
        /* full: the thread has a wake-up pending already */
    }
    pthread_join(m->q_thread, NULL);
    pthread_mutex_lock(&m->mu);
    mkt_refcache_free(m);
    pthread_mutex_unlock(&m->mu);
    market_free(m);
}

/* Makes actor ud the agent whose id is text. */
static int take_agent(void *ud, const char *text, int64_t n)
{
    (void)n;
    market_actor *out = ud;
    out->role = ROLE_AGENT;
    snprintf(out->agent_id, sizeof out->agent_id, "%s", text ? text : "");
    snprintf(out->name, sizeof out->name, "%s", out->agent_id);
    return 0;
}

bool market_authenticate(market *m, const char *token, market_actor *out)
{
    memset(out, 0, sizeof *out);
    if (!token || !*token || strlen(token) > 512)
        return false;
    char h[65];
    mkt_sha256_hex(token, strlen(token), h);
    for (int i = 0; i < m->nops; i++) {
        if (digest_eq(h, m->ops[i].secret_hash)) {
            out->role = m->ops[i].role;
            snprintf(out->name, sizeof out->name, "%s", m->ops[i].name);
            return true;
        }
    }
    pthread_mutex_lock(&m->mu);
    bool found = STORE(m->db, token_agent, h, take_agent, out) == 1;
    pthread_mutex_unlock(&m->mu);
    return found;
}

/* Issues a token: random, prefixed, stored only as its SHA-256. */
int mkt_issue_token(market *m, const char *agent_id, char **out)
{
    char hex[65], token[80], h[65];
    if (random_hex(hex, 24) != 0)
        return -1;
    snprintf(token, sizeof token, "agt-tok-%s", hex);
    mkt_sha256_hex(token, strlen(token), h);
    int rc = STORE(m->db, token_put, h, agent_id);
    if (rc == 0 && !(*out = strdup(token)))
        rc = -1;
    return rc;
}

/* ---- public odds and ends ------------------------------------------------- */

void market_subscribe(market *m, market_event_fn fn, void *ud)
{
    pthread_mutex_lock(&m->qmu);
    if (m->nsubs < MKT_MAX_SUBSCRIBERS) {
        m->subs[m->nsubs].fn = fn;
        m->subs[m->nsubs].ud = ud;
        m->nsubs++;
    }
    pthread_mutex_unlock(&m->qmu);
}

void market_unsubscribe(market *m, market_event_fn fn, void *ud)
{
    pthread_mutex_lock(&m->qmu);
    for (int i = 0; i < m->nsubs; i++) {
        if (m->subs[i].fn == fn && m->subs[i].ud == ud) {
            memmove(&m->subs[i], &m->subs[i + 1], sizeof m->subs[0] * (size_t)(m->nsubs - i - 1));
            m->nsubs--;
            break;
        }
    }
    while (m->delivering)
        pthread_cond_wait(&m->qcv, &m->qmu);
    pthread_mutex_unlock(&m->qmu);
}

void market_record_fault(market *m, const char *kind, const char *purchase_id,
                         const char *negotiation_id, const char *listing_id, const char *agent_id)
{
    pthread_mutex_lock(&m->mu);
    store_fault f = {
        kind ? kind : "unknown", purchase_id, negotiation_id, listing_id, agent_id, mkt_now_ms()};
    if (STORE(m->db, fault_put, &f) != 0)
        fprintf(stderr, "marketd: cannot record fault: %s\n", m->db->ops->error(m->db));
    pthread_mutex_unlock(&m->mu);
}

const char *market_epoch(market *m)
{
    return m->epoch;
}

int64_t market_seq(market *m)
{
    pthread_mutex_lock(&m->mu);
    mkt_seq_refresh(m);
    int64_t s = m->seq;
    pthread_mutex_unlock(&m->mu);
    return s;
}

int market_events_after(market *m, int64_t after, int max, market_event_fn fn, void *ud)
{
    pthread_mutex_lock(&m->mu);
    int n = mkt_events_each(m, after, max, fn, ud);
    pthread_mutex_unlock(&m->mu);
    return n;
}

void market_stats(market *m, market_metrics *out)
{
    pthread_mutex_lock(&m->mu);
    memset(out, 0, sizeof *out);
    mkt_seq_refresh(m);
    out->seq = m->seq;
    out->events = m->st.events;
    out->requests = m->st.requests + __atomic_load_n(&m->st.reads, __ATOMIC_RELAXED);
    out->errors = m->st.errors + __atomic_load_n(&m->st.read_errors, __ATOMIC_RELAXED);
    out->decisions = m->st.decisions;
    out->replays = m->st.replays;
    out->conflicts = m->st.conflicts;
    out->expired = m->st.expired;
    out->purchases = m->st.purchases;
    out->flags = m->st.flags;
    out->commit_failures = m->st.commit_failures;
    out->events_pruned = m->st.pruned;
    out->decision_seconds = m->st.decision_seconds;
    pthread_mutex_unlock(&m->mu);
    out->rate_limited = ratelimit_refused(m->rl);
    webhook_stats(m, &out->webhook_deliveries, &out->webhook_failures, &out->webhook_pending);
}
