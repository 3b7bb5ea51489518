/* pgtest.h: the PostgreSQL side of the tests: a database per test on the run's cluster.
 *
 * tests/run.sh starts one throwaway cluster per run (in $TEST_TMP, on a free loopback
 * port, fsync off, never the Debian "main" cluster) and runs the marketd integration
 * binaries a second time with MARKETD_ENGINE=postgresql and TEST_PG_URL naming the
 * cluster (postgresql://postgres@127.0.0.1:PORT). Then testsrv (tests/lib/testsrv.c)
 * gives each marketd it starts a database of its own, made here and dropped when the
 * server is stopped; the cluster goes with the run.
 */
#ifndef DEALDESK_TESTS_PGTEST_H
#define DEALDESK_TESTS_PGTEST_H

#include <stdbool.h>
#include <stddef.h>

/* True on the PostgreSQL run (MARKETD_ENGINE=postgresql). */
bool pgtest_engine(void);

/* The cluster's URL without a database (TEST_PG_URL), or NULL when there is none. */
const char *pgtest_cluster(void);

/* Makes a new, empty database on the cluster and writes its URL into url (size bytes).
 * 0 or -1 (with a message on stderr). */
int pgtest_create(char *url, size_t size);

/* Drops the database of url (the servers on it are gone, or their connections are cut).
 * 0 or -1. */
int pgtest_drop(const char *url);

/* Runs sql on the database of url: the rows it changed, or -1 (with a message). */
int pgtest_sql(const char *url, const char *sql);

#endif
