/* bench_multi.c: marketd's write throughput and decision latency on SQLite, on PostgreSQL
 * with one instance and with three on one database (issue 18, docs/scaling.md).
 *
 * For each setup, WRITERS threads (spread over the instances) each make purchases on a
 * market of their own and approve them, for SECONDS; it prints the events persisted per
 * second (the seq's growth over the run: every event committed, in the transaction with
 * its change) and the approval's p50 and p99 (the POST's round trip). Every instance of
 * a setup is a real marketd on a free loopback port; PostgreSQL is a throwaway cluster
 * started here (initdb in TEST_TMP, fsync off as in tests/run.sh; as the postgres user
 * when root), or the one TEST_PG_URL names. Without PostgreSQL its two setups say they
 * are skipped.
 *
 * Prints human lines and "BENCH|multi|metric|value|unit|comparison|info" lines
 * (tests/bench/run.sh).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/proc.h"
#include "tests/lib/testsrv.h"

#define WRITERS 6
#define SECONDS 6
#define MAX_DEC 20000

typedef struct writer {
    testsrv *s;
    testsrv_market t;
    int64_t until;
    double *lat; /* approval round trips, ms */
    int n, failed;
} writer;

/* Purchases and approvals until w->until. */
static void *write_main(void *arg)
{
    writer *w = arg;
    for (int k = 0; tproc_now_ms() < w->until && w->n < MAX_DEC / WRITERS; k++) {
        char pur[72], path[160], body[80];
        if (testsrv_market_purchase(w->s, &w->t, 40000 + k % 1000, 1, pur) != 0) {
            w->failed++;
            continue;
        }
        snprintf(path, sizeof path, "/v1/purchases/%s/approve", pur);
        snprintf(body, sizeof body, "{\"expected_total_minor\":%d}", 40000 + k % 1000);
        testhttp_resp r;
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        int rc = testsrv_post(w->s, TESTSRV_TOKEN_SUP1, path, 1, body, &r);
        clock_gettime(CLOCK_MONOTONIC, &b);
        if (rc == 0 && r.status == 200)
            w->lat[w->n++] =
                (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
        else
            w->failed++;
        testhttp_resp_free(&r);
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One setup: n instances (engine by MARKETD_ENGINE); prints its figures under name. 0 or
 * -1. */
static int run_setup(const char *name, int n)
{
    testsrv srv[3];
    const char *args = "--decide-timeout 600 --agent-rate 100000";
    if (testsrv_start(&srv[0], args) != 0)
        return -1;
    for (int i = 1; i < n; i++)
        if (testsrv_start_on(&srv[i], &srv[0], args) != 0)
            return -1;
    writer w[WRITERS];
    memset(w, 0, sizeof w);
    static double lat[MAX_DEC];
    for (int i = 0; i < WRITERS; i++) {
        w[i].s = &srv[i % n];
        w[i].lat = lat + i * (MAX_DEC / WRITERS);
        if (testsrv_market_setup(w[i].s, &w[i].t, 0) != 0)
            return -1;
    }
    long long seq0 = testsrv_seq(&srv[0]);
    int64_t t0 = tproc_now_ms();
    pthread_t th[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        w[i].until = t0 + SECONDS * 1000;
        pthread_create(&th[i], NULL, write_main, &w[i]);
    }
    for (int i = 0; i < WRITERS; i++)
        pthread_join(th[i], NULL);
    double secs = (double)(tproc_now_ms() - t0) / 1e3;
    long long seq1 = testsrv_seq(&srv[n - 1]);
    static double all[MAX_DEC];
    size_t nd = 0;
    int failed = 0;
    for (int i = 0; i < WRITERS; i++) {
        memcpy(all + nd, w[i].lat, (size_t)w[i].n * sizeof all[0]);
        nd += (size_t)w[i].n;
        failed += w[i].failed;
    }
    qsort(all, nd, sizeof all[0], cmp_double); /* tproc_quantile wants them sorted */
    double eps = (double)(seq1 - seq0) / secs;
    double p50 = tproc_quantile(all, nd, 0.5), p99 = tproc_quantile(all, nd, 0.99);
    printf("%-22s %8.0f events/s  %6zu decisions  p50 %6.2f ms  p99 %6.2f ms  (%d failed)\n", name,
           eps, nd, p50, p99, failed);
    printf("BENCH|multi|%s events persisted|%.0f|events/s|%d writers, %d s|info\n", name, eps,
           WRITERS, SECONDS);
    printf("BENCH|multi|%s decision p99|%.3g|ms|p50 %.3g ms|info\n", name, p99, p50);
    for (int i = n - 1; i >= 0; i--)
        testsrv_stop(&srv[i]);
    return failed * 100 > (int)nd ? -1 : 0; /* more than 1% failed: the setup is broken */
}

/* Starts a throwaway PostgreSQL cluster in TEST_TMP (tests/run.sh does the same for the
 * tests) and exports TEST_PG_URL; ctl gets the pg_ctl command to stop it. 0 or -1. */
static int cluster_start(char *ctl, size_t size)
{
    const char *tmp = getenv("TEST_TMP");
    char cmd[4096], dir[512];
    snprintf(dir, sizeof dir, "%s/benchpg", tmp && *tmp ? tmp : "/tmp");
    FILE *f = popen("find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d "
                    "2>/dev/null | sort -V | tail -n 1",
                    "r");
    char bin[512] = "";
    if (f) {
        if (!fgets(bin, sizeof bin, f))
            bin[0] = '\0';
        pclose(f);
    }
    bin[strcspn(bin, "\n")] = '\0';
    if (!bin[0])
        return -1;
    const char *as = getuid() == 0 ? "runuser -u postgres --" : "";
    snprintf(cmd, sizeof cmd,
             "mkdir -p %s && { [ $(id -u) != 0 ] || { chmod 711 %s && chown postgres %s; }; } && "
             "%s %s/initdb -D %s/data -U postgres -A trust -E UTF8 --locale=C --no-sync "
             ">/dev/null 2>&1",
             dir, tmp && *tmp ? tmp : "/tmp", dir, as, bin, dir);
    if (system(cmd) != 0)
        return -1;
    snprintf(ctl, size, "%s %s/pg_ctl -D %s/data -l %s/log", as, bin, dir, dir);
    for (int tries = 0; tries < 20; tries++) {
        int port = 20000 + (int)((unsigned)tproc_now_ms() * 7919u % 10000u) + tries;
        snprintf(cmd, sizeof cmd,
                 "%s -w -t 60 -o \"-p %d -c listen_addresses=127.0.0.1 -c "
                 "unix_socket_directories='' -c fsync=off -c full_page_writes=off -c "
                 "max_connections=200\" start >/dev/null 2>&1",
                 ctl, port);
        if (system(cmd) == 0) {
            char url[128];
            snprintf(url, sizeof url, "postgresql://postgres@127.0.0.1:%d", port);
            setenv("TEST_PG_URL", url, 1);
            return 0;
        }
    }
    return -1;
}

int main(void)
{
    int rc = 0;
    setenv("MARKETD_ENGINE", "sqlite", 1);
    rc |= run_setup("sqlite, 1 instance", 1);
    char ctl[1536] = "", cmd[1700];
    bool own = !getenv("TEST_PG_URL");
    if (own && cluster_start(ctl, sizeof ctl) != 0) {
        printf("PostgreSQL: skipped (no cluster could be started here: make deps installs "
               "postgresql-15)\n");
        return rc ? 1 : 0;
    }
    setenv("MARKETD_ENGINE", "postgresql", 1);
    rc |= run_setup("postgresql, 1 instance", 1);
    rc |= run_setup("postgresql, 3 instances", 3);
    if (own) {
        snprintf(cmd, sizeof cmd, "%s -m fast -w stop >/dev/null 2>&1", ctl);
        if (system(cmd) != 0)
            fprintf(stderr, "bench_multi: the cluster did not stop\n");
    }
    return rc ? 1 : 0;
}
