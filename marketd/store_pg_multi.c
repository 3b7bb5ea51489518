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
