/* store_pg_multi.c: several marketd instances on one PostgreSQL database (issue 18;
 * docs/scaling.md; the operations are described in marketd/store.h).
 *
 * - The event counter is the row meta('seq') (made by store_pg_schema.c's migrate).
 *   Every write transaction locks it first (pg_tx_lock, SELECT .. FOR UPDATE) and reads
 *   the last seq taken and the database's clock; the next transaction of any instance
 *   waits there until this one commits. So commit order is seq order, the log has no gap,
 *   and everything the transaction reads after the lock is what every earlier one left
 *   (READ COMMITTED takes a new snapshot per statement).
 * - pg_tx_seq_set stores the new last seq and NOTIFYs marketd_events in the same
 *   transaction: the notification is sent at commit, to every instance's listener.
 * - The listener (pg_listen_open, pg_listen_wait) is a connection of its own that
 *   LISTENs; the delivery thread (market.c) wakes on it, then reads the table.
 * - The leader (pg_leader_try): a session-level advisory lock, held on a connection of
 *   its own for as long as the process lives; PostgreSQL frees it when that session ends
 *   (the process died, or the connection was lost), and another instance takes it.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "marketd/store_pg.h"

/* The leader's advisory lock key (any constant other than the migrations': "leader"). */
#define LEADER_LOCK "6c6561646572"

int pg_tx_lock(store *s, int64_t *seq, int64_t *now)
{
    PGresult *r = pg_query(PG(s),
                           "SELECT value::bigint, (extract(epoch FROM clock_timestamp())*1000)"
                           "::bigint FROM meta WHERE key='seq' FOR UPDATE",
                           "");
    if (!r)
        return -1;
    int rc = PQntuples(r) == 1 ? 0 : -1;
    if (rc == 0) {
        *seq = pg_int(r, 0, 0);
        *now = pg_int(r, 0, 1);
    }
    PQclear(r);
    return rc;
}

int pg_tx_seq_set(store *s, int64_t seq)
{
    char v[24];
    snprintf(v, sizeof v, "%lld", (long long)seq);
    return pg_run(PG(s),
                  "WITH u AS (UPDATE meta SET value=$1 WHERE key='seq') "
                  "SELECT pg_notify('marketd_events', $1)",
                  "t", v);
}

/* LISTENs on p's connection. 0 or -1. */
static int listen_on(pg *p)
{
    p->listening = pg_exec(p, "LISTEN marketd_events") == 0;
    return p->listening ? 0 : -1;
}

store *pg_listen_open(store *s, char *err, size_t errsz)
{
    pg *p = pg_connect(PG(s)->url, true, err, errsz);
    if (p && listen_on(p) != 0) {
        snprintf(err, errsz, "cannot LISTEN: %s", PQerrorMessage(p->conn));
        pg_close(&p->base);
        return NULL;
    }
    return p ? &p->base : NULL;
}

/* Drops the notifications received on p. */
static void drain(pg *p)
{
    PGnotify *n;
    while ((n = PQnotifies(p->conn)))
        PQfreemem(n);
}

int pg_listen_wait(store *l, int wake_fd, int timeout_ms)
{
    pg *p = PG(l);
    /* lost (or connected again by a read on it, store_pg_schema.c's vquery): connect
     * and LISTEN again */
    if (PQstatus(p->conn) != CONNECTION_OK || !p->listening) {
        if (pg_reconnect(p) != 0 || listen_on(p) != 0) {
            poll(NULL, 0, timeout_ms); /* PostgreSQL is away: try again after a while */
            return -1;
        }
        return 0; /* the caller reads the table: what was missed is there */
    }
    drain(p);
    struct pollfd fds[2] = {{PQsocket(p->conn), POLLIN, 0}, {wake_fd, POLLIN, 0}};
    int n = poll(fds, wake_fd >= 0 ? 2 : 1, timeout_ms);
    if (n < 0 && errno != EINTR)
        return -1;
    if (n > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
        if (!PQconsumeInput(p->conn))
            return -1;
        drain(p);
    }
    if (n > 0 && wake_fd >= 0 && (fds[1].revents & POLLIN)) {
        char buf[64];
        while (read(wake_fd, buf, sizeof buf) == (ssize_t)sizeof buf)
            ;
    }
    return 0;
}

int pg_leader_try(store *l)
{
    pg *p = PG(l);
    if (p->leader && PQstatus(p->conn) == CONNECTION_OK) {
        /* held: check that the session (and with it the lock) is still there */
        if (pg_exec(p, "SELECT 1") == 0)
            return 1;
        p->leader = false;
    }
    int64_t got = 0;
    if (pg_one_int(pg_query(p, "SELECT pg_try_advisory_lock(x'" LEADER_LOCK "'::bigint)::int", ""),
                   &got) < 0)
        return -1;
    p->leader = got == 1;
    return p->leader ? 1 : 0;
}

/* ---- presence shared by the instances (marketd/presence.c) ---------------------- */

/* The database's clock in ms, in SQL. */
#define NOW_MS "(extract(epoch FROM clock_timestamp())*1000)::bigint"

/* Marks instance alive at the database's clock, as a statement's last part. */
#define BEAT                                                                                       \
    "INSERT INTO instances(id,seen) VALUES($1," NOW_MS ") ON CONFLICT(id) DO UPDATE SET "          \
    "seen=excluded.seen"

int pg_presence_put(store *s, const char *instance, const char *op, int64_t consoles,
                    int64_t idle_ms)
{
    return pg_run(PG(s),
                  "WITH b AS (" BEAT ") INSERT INTO presence(instance,operator,consoles,"
                  "last_input) VALUES($1,$2,$3,CASE WHEN $4::bigint>=0 THEN " NOW_MS
                  "-$4::bigint ELSE 0 END) ON CONFLICT(instance,operator) DO UPDATE SET "
                  "consoles=excluded.consoles,last_input=GREATEST(presence.last_input,"
                  "excluded.last_input)",
                  "ttII", instance, op, consoles, idle_ms);
}

int pg_presence_beat(store *s, const char *instance)
{
    return pg_run(PG(s),
                  "WITH d AS (DELETE FROM instances WHERE seen<" NOW_MS "-86400000 RETURNING id),"
                  " p AS (DELETE FROM presence WHERE instance IN (SELECT id FROM d)) " BEAT,
                  "t", instance);
}

int pg_presence_each(store *s, int64_t ttl_ms, int64_t *now,
                     int (*fn)(void *ud, const char *op, int64_t consoles, int64_t last_input),
                     void *ud)
{
    pg *p = PG(s);
    if (pg_one_int(pg_query(p, "SELECT " NOW_MS, ""), now) != 1)
        return -1;
    /* an instance unseen for ttl_ms is dead: its consoles no longer count; input made
     * on it still does (the person was there, and may be on another instance now) */
    PGresult *r = pg_query(p,
                           "SELECT p.operator, COALESCE(sum(p.consoles) FILTER (WHERE i.seen>$1"
                           "::bigint),0), max(p.last_input) FROM presence p LEFT JOIN instances i"
                           " ON i.id=p.instance GROUP BY p.operator",
                           "I", *now - ttl_ms);
    if (!r)
        return -1;
    int n = PQntuples(r), rc = n;
    for (int i = 0; i < n && rc >= 0; i++)
        if (fn(ud, pg_text(r, i, 0), pg_int(r, i, 1), pg_int(r, i, 2)) != 0)
            rc = -1;
    PQclear(r);
    return rc;
}

/* ---- rate limits shared by the instances (marketd/ratelimit.c) ------------------ */

store *pg_rate_open(store *s, char *err, size_t errsz)
{
    pg *p = pg_connect(PG(s)->url, false, err, errsz);
    return p ? &p->base : NULL;
}

/* The bucket refilled to the database's clock (b: the row, excluded: the new take). */
#define REFILLED "LEAST($3::float8,b.tokens+GREATEST(0,excluded.at-b.at)/1000.0*$2::float8)"

int pg_rate_take(store *w, const char *key, double rate, double burst, double *tokens)
{
    char r[32], bu[32];
    snprintf(r, sizeof r, "%.17g", rate);
    snprintf(bu, sizeof bu, "%.17g", burst);
    /* one statement: the row lock makes instances racing on one agent take in turn */
    PGresult *res = pg_query(PG(w),
                             "INSERT INTO rate_buckets AS b(agent,tokens,at,taken) VALUES($1,"
                             "$3::float8-1," NOW_MS ",true) ON CONFLICT(agent) DO UPDATE SET "
                             "tokens=CASE WHEN " REFILLED ">=1 THEN " REFILLED "-1 ELSE " REFILLED
                             " END,at=GREATEST(b.at,excluded.at),taken=" REFILLED ">=1 "
                             "RETURNING taken::int, tokens",
                             "ttt", key, r, bu);
    if (!res)
        return -1;
    int rc = -1;
    if (PQntuples(res) == 1) {
        rc = (int)pg_int(res, 0, 0);
        *tokens = strtod(pg_text(res, 0, 1), NULL);
    }
    PQclear(res);
    return rc;
}
