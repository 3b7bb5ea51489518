/* store_sqlite_schema.c: the SQLite engine's database: the file, its schema and its
 * statements (marketd/store.h, marketd/store_sqlite.h).
 *
 * One connection, guarded by the market's mutex; WAL, synchronous FULL for decisions
 * (NORMAL for an agent's chatter: store_sqlite.c, sq_begin). The file and its -wal and
 * -shm are private (0600). Migrations run in order, each in its own transaction, up to
 * SCHEMA_VERSION; a database newer than this marketd is refused. Prepared statements are
 * cached by their SQL text for the life of the connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "marketd/mkt.h"
#include "marketd/store_sqlite.h"

#define SCHEMA_VERSION 4

/* SQL pieces of migration 4: an RFC 3339 time of ours as ms; a field of an object's JSON
 * as text ('' when absent); the separator of the fields of a searchable text; a table of
 * searchable text (trigrams of the lower-case text, case-sensitive: ASCII case is folded
 * by the writer, as SQL lower() does) and its filling from the rows' texts. */
#define MS(x)   "(CAST(strftime('%s'," x ") AS INTEGER)*1000+CAST(substr(" x ",21,3) AS INTEGER))"
#define F(path) "ifnull(json_extract(json,'$." path "'),'')"
#define SEP     "||char(10)||"
#define FTS(kind)                                                                                  \
    "CREATE VIRTUAL TABLE search_" kind " USING fts5(t, tokenize='trigram "                        \
    "case_sensitive 1', content='', detail=full);"
#define FILL(kind)                                                                                 \
    "INSERT INTO search_" kind "(rowid,t) SELECT ord, st FROM objects WHERE kind='" kind "';"

/* The migrations, in order: migrations[i] takes user_version i to i+1. */
/* clang-format off */
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

    /* 4: issue 14. The lists' sort keys (store.h, store_keys: read off each object by
     * db.c, mkt_sort_keys; here off the rows already there) and each object's searchable
     * text (db.c, search_fields: the same fields, in the same order, lower case) in its
     * row, one pass a kind; an index per sort with and without a status; how many
     * objects of each kind were ever stored (kept by a trigger in the transaction that
     * inserts); and a trigram index per kind of the searchable text. */
    "ALTER TABLE objects ADD COLUMN upd INTEGER;"
    "ALTER TABLE objects ADD COLUMN k1 INTEGER;"
    "ALTER TABLE objects ADD COLUMN k2 INTEGER;"
    "ALTER TABLE objects ADD COLUMN tk TEXT;"
    "ALTER TABLE objects ADD COLUMN st TEXT;"
    "UPDATE objects SET tk=ifnull(json_extract(json,'$.name'),''), st=lower("
    F("id") SEP F("name") SEP F("principal") ") WHERE kind='agent';"
    "UPDATE objects SET upd=ifnull(" MS("json_extract(json,'$.updated_at')") ",-1),"
    " k1=ifnull(json_extract(json,'$.unit_price_minor'),0), st=lower("
    F("id") SEP F("title") SEP F("category") SEP F("seller_id") ") WHERE kind='listing';"
    "UPDATE objects SET upd=ifnull(" MS("json_extract(json,'$.updated_at')") ",-1),"
    " k1=ifnull(json_extract(json,'$.message_count'),0), st=lower("
    F("id") SEP F("listing_id") SEP F("buyer_id") SEP F("seller_id") SEP
    "ifnull((SELECT json_extract(l.json,'$.title') FROM objects l WHERE l.kind='listing'"
    " AND l.id=json_extract(objects.json,'$.listing_id')),'')) WHERE kind='negotiation';"
    "UPDATE objects SET k1=ifnull(json_extract(json,'$.total_minor'),0), k2=ifnull("
    MS("json_extract(json,'$.decide_by')") ",9223372036854775807), st=lower("
    F("id") SEP F("negotiation_id") SEP F("listing_id") SEP F("buyer_id") SEP F("seller_id")
    ") WHERE kind='purchase';"
    "UPDATE objects SET k1=CASE json_extract(json,'$.severity') WHEN 'critical' THEN 2"
    " WHEN 'warning' THEN 1 ELSE 0 END, st=lower("
    F("id") SEP F("rule") SEP F("message") SEP F("subject.id") ") WHERE kind='alert';"
    "UPDATE objects SET k1=ifnull((SELECT MAX(json_extract(value,'$.amount_minor')) FROM"
    " json_each(objects.json,'$.postings')),0), st=lower(" F("id") SEP F("purchase_id") SEP
    "ifnull((SELECT group_concat(json_extract(value,'$.account'),char(10)) FROM"
    " json_each(objects.json,'$.postings')),'')) WHERE kind='ledger';"
    "UPDATE objects SET st=lower(" F("id") SEP F("action") SEP F("by") SEP F("subject.id") SEP
    F("reason") ") WHERE kind='decision';"
    "CREATE INDEX objects_kind_ord ON objects(kind, ord);"
    "CREATE INDEX objects_upd ON objects(kind, upd, ord) WHERE upd IS NOT NULL;"
    "CREATE INDEX objects_status_upd ON objects(kind, status, upd, ord) WHERE upd IS NOT NULL;"
    "CREATE INDEX objects_k1 ON objects(kind, k1, ord) WHERE k1 IS NOT NULL;"
    "CREATE INDEX objects_status_k1 ON objects(kind, status, k1, ord)"
    " WHERE k1 IS NOT NULL AND status IS NOT NULL;"
    "CREATE INDEX objects_k2 ON objects(kind, k2, ord) WHERE k2 IS NOT NULL;"
    "CREATE INDEX objects_status_k2 ON objects(kind, status, k2, ord) WHERE k2 IS NOT NULL;"
    "CREATE INDEX objects_tk ON objects(kind, tk, ord) WHERE tk IS NOT NULL;"
    "CREATE TABLE kind_totals(kind TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT INTO kind_totals SELECT kind, COUNT(*) FROM objects GROUP BY kind;"
    "CREATE TRIGGER objects_total AFTER INSERT ON objects BEGIN INSERT INTO kind_totals(kind,n)"
    " VALUES(new.kind,1) ON CONFLICT(kind) DO UPDATE SET n=n+1; END;"
    FTS("agent") FTS("listing") FTS("negotiation") FTS("purchase") FTS("alert") FTS("ledger")
    FTS("decision")
    FILL("agent") FILL("listing") FILL("negotiation") FILL("purchase") FILL("alert")
    FILL("ledger") FILL("decision"),
};
/* clang-format on */

/* ---- statements -------------------------------------------------------------- */

/* One cached prepared statement. */
struct sq_stmt {
    struct sq_stmt *next;
    char *sql;
    sqlite3_stmt *st;
};

/* The cached statement for sql, reset and unbound (prepared on first use), or NULL. */
static sqlite3_stmt *cached(sq *q, const char *sql)
{
    for (struct sq_stmt *e = q->stmts; e; e = e->next) {
        if (strcmp(e->sql, sql) == 0) {
            sqlite3_reset(e->st);
            sqlite3_clear_bindings(e->st);
            return e->st;
        }
    }
    struct sq_stmt *e = calloc(1, sizeof *e);
    if (!e || !(e->sql = strdup(sql)) ||
        sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &e->st, NULL) != SQLITE_OK) {
        if (e) {
            free(e->sql);
            free(e);
        }
        fprintf(stderr, "marketd: sqlite: %s\n", sqlite3_errmsg(q->db));
        return NULL;
    }
    e->next = q->stmts;
    q->stmts = e;
    return e->st;
}

sqlite3_stmt *sq_vstmt(sq *q, const char *sql, const char *spec, va_list ap)
{
    sqlite3_stmt *st = cached(q, sql);
    for (int i = 0; st && spec[i]; i++) {
        if (spec[i] == 'I') {
            sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
        } else {
            const char *t = va_arg(ap, const char *);
            if (t)
                sqlite3_bind_text(st, i + 1, t, -1, SQLITE_STATIC);
        }
    }
    return st;
}

sqlite3_stmt *sq_stmt(sq *q, const char *sql, const char *spec, ...)
{
    va_list ap;
    va_start(ap, spec);
    sqlite3_stmt *st = sq_vstmt(q, sql, spec, ap);
    va_end(ap);
    return st;
}

int sq_run(sq *q, const char *sql, const char *spec, ...)
{
    va_list ap;
    va_start(ap, spec);
    sqlite3_stmt *st = sq_vstmt(q, sql, spec, ap);
    va_end(ap);
    if (!st)
        return -1;
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(st);
    return rc;
}

int sq_exec(sq *q, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(q->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "marketd: sqlite: %s (%.60s)\n", err ? err : "?", sql);
        sqlite3_free(err);
        return -1;
    }
    return 0;
}

/* Finalizes every cached statement (before the connection closes). */
void sq_stmts_free(sq *q)
{
    while (q->stmts) {
        struct sq_stmt *e = q->stmts;
        q->stmts = e->next;
        sqlite3_finalize(e->st);
        free(e->sql);
        free(e);
    }
}

/* ---- the schema ---------------------------------------------------------------- */

/* Writes the seed of a new database (inside its first migration). 0 or -1. */
static int seed_meta(sq *q, const store_seed *seed)
{
    static const char sql[] = "INSERT INTO meta(key,value) VALUES(?,?) ON CONFLICT(key) DO "
                              "UPDATE SET value=excluded.value";
    return sq_run(q, sql, "tt", "epoch", seed->epoch) == 0 &&
                   sq_run(q, sql, "tt", "fleet", seed->fleet) == 0
               ? 0
               : -1;
}

/* Brings the schema to SCHEMA_VERSION, seeding a new database. 0 or -1 with err set. */
static int migrate(sq *q, const store_seed *seed, char *err, size_t errsz)
{
    int version = 0;
    sqlite3_stmt *st = sq_stmt(q, "PRAGMA user_version", "");
    if (st) {
        if (sqlite3_step(st) == SQLITE_ROW)
            version = sqlite3_column_int(st, 0);
        sqlite3_reset(st);
    }
    if (version > SCHEMA_VERSION) {
        snprintf(err, errsz, "database schema %d is newer than this marketd (%d)", version,
                 SCHEMA_VERSION);
        return -1;
    }
    /* A migration may scrub secrets (schema 2: agent tokens in stored answers): what it
     * overwrites is zeroed in the file, and the WAL is checkpointed once it is done. The
     * later ones scrub nothing (and rewrite much: schema 4 every object row), so they
     * run without. */
    bool migrated = version < SCHEMA_VERSION;
    if (migrated) /* a large database migrates faster with more of it in memory */
        sq_exec(q, "PRAGMA cache_size=-262144");
    for (; version < SCHEMA_VERSION; version++) {
        char sql[64];
        sq_exec(q, version < 2 ? "PRAGMA secure_delete=ON" : "PRAGMA secure_delete=OFF");
        if (sq_exec(q, "BEGIN IMMEDIATE") != 0)
            goto fail;
        snprintf(sql, sizeof sql, "PRAGMA user_version=%d", version + 1);
        if (sq_exec(q, migrations[version]) != 0 || sq_exec(q, sql) != 0 ||
            (version == 0 && seed_meta(q, seed) != 0)) {
            sq_exec(q, "ROLLBACK");
            goto fail;
        }
        if (sq_exec(q, "COMMIT") != 0)
            goto fail;
    }
    if (migrated) {
        sq_exec(q, "PRAGMA secure_delete=OFF");
        sq_exec(q, "PRAGMA cache_size=-2000"); /* SQLite's default again */
        if (!q->memory)
            sq_exec(q, "PRAGMA wal_checkpoint(TRUNCATE)");
    }
    return 0;
fail:
    snprintf(err, errsz, "cannot migrate the database: %s", sqlite3_errmsg(q->db));
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

store *sq_open(const char *path, const store_seed *seed, char *err, size_t errsz)
{
    sq *q = calloc(1, sizeof *q);
    if (!q) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    q->base.ops = &store_sqlite;
    q->memory = strcmp(path, ":memory:") == 0;
    if (!(q->path = strdup(path))) {
        snprintf(err, errsz, "out of memory");
        goto fail;
    }
    if (!q->memory && private_files(path, err, errsz) != 0)
        goto fail;
    if (sqlite3_open_v2(path, &q->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        snprintf(err, errsz, "cannot open database %s: %s", path,
                 q->db ? sqlite3_errmsg(q->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(q->db, 5000);
    if ((!q->memory && sq_exec(q, "PRAGMA journal_mode=WAL") != 0) ||
        sq_exec(q, "PRAGMA synchronous=FULL") != 0 || sq_exec(q, "PRAGMA foreign_keys=ON") != 0) {
        snprintf(err, errsz, "cannot configure database %s: %s", path, sqlite3_errmsg(q->db));
        goto fail;
    }
    if (migrate(q, seed, err, errsz) != 0)
        goto fail;
    return &q->base;
fail:
    sq_stmts_free(q);
    if (q->db)
        sqlite3_close(q->db);
    free(q->path);
    free(q);
    return NULL;
}

store *sq_open_reader(store *s, char *err, size_t errsz)
{
    sq *w = SQ(s), *q = w->memory ? NULL : calloc(1, sizeof *q);
    if (!q) {
        snprintf(err, errsz, "%s",
                 w->memory ? "an in-memory database has one handle" : "out of memory");
        return NULL;
    }
    q->base.ops = &store_sqlite;
    q->reader = true;
    if (!(q->path = strdup(w->path)) ||
        sqlite3_open_v2(w->path, &q->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK) {
        snprintf(err, errsz, "cannot open database %s to read: %s", w->path,
                 q->db ? sqlite3_errmsg(q->db) : "out of memory");
        sqlite3_close(q->db);
        free(q->path);
        free(q);
        return NULL;
    }
    sqlite3_busy_timeout(q->db, 5000);
    return &q->base;
}

void sq_close(store *s)
{
    sq *q = SQ(s);
    if (!q)
        return;
    if (!q->memory && !q->reader)
        sqlite3_exec(q->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
    sq_stmts_free(q);
    sqlite3_close(q->db);
    free(q->path);
    free(q);
}

const char *sq_error(store *s)
{
    return sqlite3_errmsg(SQ(s)->db);
}
