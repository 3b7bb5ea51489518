/* pgtest.c: a database per test on the run's PostgreSQL cluster (tests/lib/pgtest.h). */
#include "tests/lib/pgtest.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool pgtest_engine(void)
{
    const char *e = getenv("MARKETD_ENGINE");
    return e && strcmp(e, "postgresql") == 0;
}

const char *pgtest_cluster(void)
{
    const char *u = getenv("TEST_PG_URL");
    return u && *u ? u : NULL;
}

/* Quiets libpq's notices (a database that is not there to drop, ...). */
static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Runs sql on database db of the cluster: the rows it changed, or -1. */
static int run_on(const char *db, const char *sql)
{
    const char *base = pgtest_cluster();
    if (!base) {
        fprintf(stderr, "pgtest: TEST_PG_URL is not set (tests/run.sh starts the cluster)\n");
        return -1;
    }
    char url[512];
    snprintf(url, sizeof url, "%s/%s", base, db);
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "pgtest: %s: %s", url, PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    PQsetNoticeProcessor(c, quiet, NULL);
    PGresult *r = PQexec(c, sql);
    int st = PQresultStatus(r), n = -1;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        n = atoi(PQcmdTuples(r));
    else
        fprintf(stderr, "pgtest: %.80s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return n;
}

int pgtest_create(char *url, size_t size)
{
    static int counter;
    char name[64], sql[128];
    snprintf(name, sizeof name, "t%ld_%d", (long)getpid(), __atomic_add_fetch(&counter, 1, 0));
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    if (run_on("postgres", sql) < 0)
        return -1;
    snprintf(url, size, "%s/%s", pgtest_cluster(), name);
    return 0;
}

int pgtest_drop(const char *url)
{
    const char *name = strrchr(url, '/');
    char sql[128];
    if (!name || !pgtest_cluster())
        return -1;
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name + 1);
    return run_on("postgres", sql) < 0 ? -1 : 0;
}

int pgtest_sql(const char *url, const char *sql)
{
    const char *name = strrchr(url, '/');
    return name ? run_on(name + 1, sql) : -1;
}
