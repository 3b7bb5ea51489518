/* market.c: opening and closing the market, its schema, tokens, and event delivery.
 *
 * One SQLite connection (marketd/db.c), guarded by the market's mutex. Committed events
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

#include "marketd/sha256.h"

#define SCHEMA_VERSION 3

/* The migrations, in order: migrations[i] takes user_version i to i+1. */
static const char *const migrations[] = {
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE objects(ord INTEGER PRIMARY KEY, kind TEXT NOT NULL, id TEXT NOT NULL,"
    " status TEXT, p1 TEXT, p2 TEXT, due INTEGER, created INTEGER NOT NULL, json TEXT NOT NULL,"
    " UNIQUE(kind, id));"
    "CREATE INDEX objects_kind_status ON objects(kind, status, ord);"
    "CREATE INDEX objects_p1 ON objects(kind, p1, ord);"
    "CREATE INDEX objects_p2 ON objects(kind, p2, ord);"
    "CREATE INDEX objects_due ON objects(due) WHERE due IS NOT NULL;"
    "CREATE TABLE messages(negotiation_id TEXT NOT NULL, seq INTEGER NOT NULL,"
    " from_id TEXT NOT NULL, kind TEXT NOT NULL, at INTEGER NOT NULL, json TEXT NOT NULL,"
    " PRIMARY KEY(negotiation_id, seq));"
    "CREATE INDEX messages_from ON messages(from_id, at);"
    "CREATE TABLE events(seq INTEGER PRIMARY KEY, type TEXT NOT NULL, at INTEGER NOT NULL,"
    " json TEXT NOT NULL);"
    "CREATE TABLE idem(actor TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL,"
    " status INTEGER NOT NULL, body TEXT NOT NULL, at INTEGER NOT NULL,"
    " PRIMARY KEY(actor, key));"
    "CREATE INDEX idem_at ON idem(at);"
    "CREATE TABLE agent_tokens(hash TEXT PRIMARY KEY, agent_id TEXT NOT NULL);"
    "CREATE TABLE balances(account TEXT PRIMARY KEY, amount INTEGER NOT NULL);"
    "CREATE TABLE faults(n INTEGER PRIMARY KEY, kind TEXT NOT NULL, purchase_id TEXT,"
    " negotiation_id TEXT, listing_id TEXT, agent_id TEXT, at INTEGER NOT NULL);"
    "CREATE TABLE halted(kind TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY(kind, id));",
    /* 2: holds as a set of holders per object (marketd/hold.c), the author of the terms
     * on the table (marketd/trade.c), and no agent token in a stored answer. The holders
     * are read off what the database says: what the halt changed ("halted"), any other
     * pause or hold being a supervisor's. */
    "UPDATE objects SET json=json_set(json,'$.held_by',json('[]'))"
    " WHERE kind IN ('agent','negotiation');"
    "UPDATE objects SET json=json_set(json,'$.held_by',json_array('fleet'))"
    " WHERE status IN ('paused','held') AND EXISTS"
    " (SELECT 1 FROM halted h WHERE h.kind=objects.kind AND h.id=objects.id);"
    "UPDATE objects SET json=json_set(json,'$.held_by',json_array('pause:'||id))"
    " WHERE kind='agent' AND status='paused' AND json_array_length(json,'$.held_by')=0;"
    "UPDATE objects SET json=json_set(json,'$.held_by',json_array('hold'))"
    " WHERE kind='negotiation' AND status='held' AND json_array_length(json,'$.held_by')=0;"
    "DROP TABLE halted;"
    "UPDATE objects SET json=json_set(json,'$.terms.by',(SELECT from_id FROM messages"
    " WHERE negotiation_id=objects.id AND kind IN ('offer','counter') ORDER BY seq DESC LIMIT 1))"
    " WHERE kind='negotiation' AND json_type(json,'$.terms')='object';"
    "UPDATE idem SET body=json_set(body,'$.token',json('null'),'$.token_note','" MKT_TOKEN_NOTE
    "') WHERE json_type(body,'$.token')='text';",

    /* 3: issue 11 item 8. Open listings per seller from a small index; the reference-price
     * windows in their own tables (filled from the listings already there); each body
     * stored once: an object row names the event whose data it is (objects.seq), an
     * event whose data is an object's current row or a message has json '' and names it
     * (src: the object's kind or 'message', src_id, src_n: the message seq), a stored
     * answer names the events its parts are (idem.refs, see db.c). */
    "CREATE INDEX objects_open_listings ON objects(p1) WHERE kind='listing' AND status='open';"
    "CREATE TABLE ref_keys(category TEXT NOT NULL, currency TEXT NOT NULL,"
    " total INTEGER NOT NULL, PRIMARY KEY(category, currency)) WITHOUT ROWID;"
    "CREATE TABLE ref_prices(category TEXT NOT NULL, currency TEXT NOT NULL,"
    " slot INTEGER NOT NULL, price INTEGER NOT NULL, PRIMARY KEY(category, currency, slot))"
    " WITHOUT ROWID;"
    "INSERT INTO ref_keys SELECT json_extract(json,'$.category'), json_extract(json,'$.currency'),"
    " COUNT(*) FROM objects WHERE kind='listing' GROUP BY 1, 2;"
    "INSERT INTO ref_prices SELECT c, cur, (n - r) % " MKT_REF_WINDOW_STR ", p FROM ("
    " SELECT json_extract(json,'$.category') AS c, json_extract(json,'$.currency') AS cur,"
    " json_extract(json,'$.unit_price_minor') AS p,"
    " ROW_NUMBER() OVER (PARTITION BY json_extract(json,'$.category'),"
    " json_extract(json,'$.currency') ORDER BY ord DESC) AS r,"
    " COUNT(*) OVER (PARTITION BY json_extract(json,'$.category'),"
    " json_extract(json,'$.currency')) AS n FROM objects WHERE kind='listing')"
    " WHERE r <= " MKT_REF_WINDOW_STR ";"
    "ALTER TABLE objects ADD COLUMN seq INTEGER;"
    "ALTER TABLE events ADD COLUMN src TEXT;"
    "ALTER TABLE events ADD COLUMN src_id TEXT;"
    "ALTER TABLE events ADD COLUMN src_n INTEGER;"
    "ALTER TABLE idem ADD COLUMN refs TEXT;",
};

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

/* Brings the schema to SCHEMA_VERSION and creates the epoch of a new database.
 * Returns 0 or -1 with err set. */
static int migrate(market *m, char *err, size_t errsz)
{
    sqlite3_stmt *st;
    int version = 0;
    if (mkt_prepare(m, "PRAGMA user_version", &st) == 0) {
        if (sqlite3_step(st) == SQLITE_ROW)
            version = sqlite3_column_int(st, 0);
        mkt_release(st);
    }
    if (version > SCHEMA_VERSION) {
        snprintf(err, errsz, "database schema %d is newer than this marketd (%d)", version,
                 SCHEMA_VERSION);
        return -1;
    }
    /* A migration may scrub secrets (schema 2: agent tokens in stored answers): what it
     * overwrites is zeroed in the file, and the WAL is checkpointed once it is done. */
    bool migrated = version < SCHEMA_VERSION;
    if (migrated)
        mkt_exec(m, "PRAGMA secure_delete=ON");
    for (; version < SCHEMA_VERSION; version++) {
        char sql[64];
        if (mkt_exec(m, "BEGIN IMMEDIATE") != 0)
            goto fail;
        snprintf(sql, sizeof sql, "PRAGMA user_version=%d", version + 1);
        if (mkt_exec(m, migrations[version]) != 0 || mkt_exec(m, sql) != 0) {
            mkt_exec(m, "ROLLBACK");
            goto fail;
        }
        if (version == 0) {
            char epoch[33], now[32];
            if (random_hex(epoch, 8) != 0) {
                mkt_exec(m, "ROLLBACK");
                goto fail;
            }
            mkt_time_str(mkt_now_ms(), now);
            char fleet[160];
            snprintf(fleet, sizeof fleet,
                     "{\"status\":\"running\",\"reason\":null,\"by\":null,\"updated_at\":\"%s\"}",
                     now);
            if (mkt_meta_set(m, "epoch", epoch) != 0 || mkt_meta_set(m, "fleet", fleet) != 0) {
                mkt_exec(m, "ROLLBACK");
                goto fail;
            }
        }
        if (mkt_exec(m, "COMMIT") != 0)
            goto fail;
    }
    if (migrated) {
        mkt_exec(m, "PRAGMA secure_delete=OFF");
        if (!m->memory)
            mkt_exec(m, "PRAGMA wal_checkpoint(TRUNCATE)");
    }
    return 0;
fail:
    snprintf(err, errsz, "cannot migrate the database: %s", sqlite3_errmsg(m->db));
    return -1;
}

/* Makes the database file and its -wal and -shm files private to the user (0600): the
 * database holds the market's money, principals and addresses. The database is created
 * here, 0600, before SQLite opens it, because SQLite gives -wal and -shm the mode of the
 * database file; files an older marketd left readable are narrowed. Returns 0 or -1
 * with err set. */
static int private_files(const char *path, char *err, size_t errsz)
{
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char p[4200];
        if (snprintf(p, sizeof p, "%s%s", path, suffixes[i]) >= (int)sizeof p) {
            snprintf(err, errsz, "database path too long");
            return -1;
        }
        int fd = open(p, O_RDWR | O_CLOEXEC | (i == 0 ? O_CREAT : 0), 0600);
        if (fd < 0) {
            if (i > 0 && errno == ENOENT)
                continue; /* SQLite creates it later, with the database's mode */
            snprintf(err, errsz, "cannot open database %s: %s", p, strerror(errno));
            return -1;
        }
        struct stat sb;
        int rc = fstat(fd, &sb);
        if (rc == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 077))
            rc = fchmod(fd, sb.st_mode & 0700);
        if (rc != 0) {
            snprintf(err, errsz, "cannot make database %s private (mode 0600): %s", p,
                     strerror(errno));
            close(fd);
            return -1;
        }
        close(fd);
    }
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
        sha256_hex(secret, strlen(secret), op->secret_hash);
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
            fns[i](uds[i], n->seq, n->type, n->json);
        free(n->json);
        free(n);
        pthread_mutex_lock(&m->qmu);
        m->delivering = false;
        pthread_cond_broadcast(&m->qcv);
    }
    pthread_mutex_unlock(&m->qmu);
    return NULL;
}

market *market_open(const market_options *opt, char *err, size_t errsz)
{
    market *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&m->mu, NULL);
    pthread_mutex_init(&m->qmu, NULL);
    pthread_cond_init(&m->qcv, NULL);
    m->decide_timeout_s = opt->decide_timeout_s > 0 ? opt->decide_timeout_s : 120;
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
    m->memory = strcmp(path, ":memory:") == 0;
    if (opt->tokens_path && load_tokens(m, opt->tokens_path, err, errsz) != 0)
        goto fail;
    if (!m->memory && private_files(path, err, errsz) != 0)
        goto fail;
    if (sqlite3_open_v2(path, &m->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        snprintf(err, errsz, "cannot open database %s: %s", path,
                 m->db ? sqlite3_errmsg(m->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(m->db, 5000);
    if ((!m->memory && mkt_exec(m, "PRAGMA journal_mode=WAL") != 0) ||
        mkt_exec(m, "PRAGMA synchronous=FULL") != 0 || mkt_exec(m, "PRAGMA foreign_keys=ON") != 0) {
        snprintf(err, errsz, "cannot configure database %s: %s", path, sqlite3_errmsg(m->db));
        goto fail;
    }
    if (migrate(m, err, errsz) != 0)
        goto fail;
    if (!mkt_meta_get(m, "epoch", m->epoch, sizeof m->epoch)) {
        snprintf(err, errsz, "database %s has no epoch", path);
        goto fail;
    }
    sqlite3_stmt *st;
    if (mkt_prepare(m, "SELECT COALESCE(MAX(seq),0) FROM events", &st) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            m->seq = sqlite3_column_int64(st, 0);
        mkt_release(st);
    }
    if (pthread_create(&m->q_thread, NULL, deliver_main, m) != 0) {
        snprintf(err, errsz, "cannot start the delivery thread");
        goto fail;
    }
    return m;
fail:
    mkt_stmts_free(m);
    if (m->db)
        sqlite3_close(m->db);
    pthread_cond_destroy(&m->qcv);
    pthread_mutex_destroy(&m->qmu);
    pthread_mutex_destroy(&m->mu);
    memset(m->ops, 0, sizeof m->ops);
    ratelimit_free(m->rl);
    free(m);
    return NULL;
}

void market_close(market *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->qmu);
    m->q_stop = true;
    pthread_cond_broadcast(&m->qcv);
    pthread_mutex_unlock(&m->qmu);
    pthread_join(m->q_thread, NULL);
    pthread_mutex_lock(&m->mu);
    if (!m->memory)
        sqlite3_exec(m->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
    mkt_stmts_free(m);
    mkt_refcache_free(m);
    sqlite3_close(m->db);
    pthread_mutex_unlock(&m->mu);
    pthread_cond_destroy(&m->qcv);
    pthread_mutex_destroy(&m->qmu);
    pthread_mutex_destroy(&m->mu);
    memset(m->ops, 0, sizeof m->ops);
    ratelimit_free(m->rl);
    free(m);
}

bool market_authenticate(market *m, const char *token, market_actor *out)
{
    memset(out, 0, sizeof *out);
    if (!token || !*token || strlen(token) > 512)
        return false;
    char h[65];
    sha256_hex(token, strlen(token), h);
    for (int i = 0; i < m->nops; i++) {
        if (digest_eq(h, m->ops[i].secret_hash)) {
            out->role = m->ops[i].role;
            snprintf(out->name, sizeof out->name, "%s", m->ops[i].name);
            return true;
        }
    }
    bool found = false;
    pthread_mutex_lock(&m->mu);
    sqlite3_stmt *st;
    if (mkt_prepare(m, "SELECT agent_id FROM agent_tokens WHERE hash=?", &st) == 0) {
        sqlite3_bind_text(st, 1, h, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            out->role = ROLE_AGENT;
            snprintf(out->agent_id, sizeof out->agent_id, "%s",
                     (const char *)sqlite3_column_text(st, 0));
            snprintf(out->name, sizeof out->name, "%s", out->agent_id);
            found = true;
        }
        mkt_release(st);
    }
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
    sha256_hex(token, strlen(token), h);
    sqlite3_stmt *st;
    if (mkt_prepare(m, "INSERT INTO agent_tokens(hash,agent_id) VALUES(?,?)", &st) != 0)
        return -1;
    sqlite3_bind_text(st, 1, h, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, agent_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    mkt_release(st);
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
    sqlite3_stmt *st;
    if (mkt_prepare(m,
                    "INSERT INTO faults(kind,purchase_id,negotiation_id,listing_id,agent_id,"
                    "at) VALUES(?,?,?,?,?,?)",
                    &st) == 0) {
        sqlite3_bind_text(st, 1, kind ? kind : "unknown", -1, SQLITE_TRANSIENT);
        const char *ids[4] = {purchase_id, negotiation_id, listing_id, agent_id};
        for (int i = 0; i < 4; i++)
            if (ids[i])
                sqlite3_bind_text(st, 2 + i, ids[i], -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 6, mkt_now_ms());
        if (sqlite3_step(st) != SQLITE_DONE)
            fprintf(stderr, "marketd: cannot record fault: %s\n", sqlite3_errmsg(m->db));
        mkt_release(st);
    }
    pthread_mutex_unlock(&m->mu);
}

const char *market_epoch(market *m)
{
    return m->epoch;
}

int64_t market_seq(market *m)
{
    pthread_mutex_lock(&m->mu);
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
    out->seq = m->seq;
    out->events = m->st.events;
    out->requests = m->st.requests;
    out->errors = m->st.errors;
    out->decisions = m->st.decisions;
    out->replays = m->st.replays;
    out->conflicts = m->st.conflicts;
    out->expired = m->st.expired;
    out->purchases = m->st.purchases;
    out->flags = m->st.flags;
    out->commit_failures = m->st.commit_failures;
    out->decision_seconds = m->st.decision_seconds;
    pthread_mutex_unlock(&m->mu);
    out->rate_limited = ratelimit_refused(m->rl);
}
