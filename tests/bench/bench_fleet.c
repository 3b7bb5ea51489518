/* bench_fleet.c: marketd while its simulated fleet trades at the top rate (--rate 1000,
 * the most marketd accepts), on a database file as in production.
 *
 *   events/s     committed events per second (/v1/health seq) over the window
 *   requests/s   the fleet's market requests (/metrics marketd_requests_total)
 *   decisions    a supervisor approves the purchases the fleet leaves pending
 *                (GET /v1/purchases?status=pending_approval, then POST approve with
 *                If-Match and the expected total): round-trip latency p50/p99/max
 *   CPU          marketd's CPU share (all threads, /proc/PID/task/x/schedstat)
 *
 * Prints human lines and "BENCH|section|metric|value|unit|goal|verdict" lines.
 * Usage: bench_fleet [AGENTS [SECONDS]] (default 2000 agents, as the soak run, 15 s).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/lib/testsrv.h"

static testsrv srv;

/* Monotonic seconds. */
static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The q-quantile of sorted v[n]. */
static double quantile(const double *v, int n, double q)
{
    int i = (int)(q * n);
    return n ? v[i < n ? i : n - 1] : -1;
}

/* CPU time of every thread of pid in seconds. */
static double cpu_s(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    double sum = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[320];
        snprintf(p, sizeof p, "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
        FILE *f = fopen(p, "r");
        unsigned long long run = 0;
        if (f) {
            if (fscanf(f, "%llu", &run) == 1)
                sum += (double)run / 1e9;
            fclose(f);
        }
    }
    if (d)
        closedir(d);
    return sum;
}

/* The server's seq. */
static long long seq_now(void)
{
    testhttp_resp r;
    testsrv_get(&srv, NULL, "/v1/health", &r);
    long long s = testjson_int(r.body, "seq");
    testhttp_resp_free(&r);
    return s;
}

/* The value of an unlabelled metric. */
static long long metric(const char *name)
{
    testhttp_resp r;
    testsrv_get(&srv, NULL, "/metrics", &r);
    char key[96];
    snprintf(key, sizeof key, "\n%s ", name);
    char *p = r.body ? strstr(r.body, key) : NULL;
    long long v = p ? atoll(p + strlen(key)) : -1;
    testhttp_resp_free(&r);
    return v;
}

int main(int argc, char **argv)
{
    int agents = argc > 1 ? atoi(argv[1]) : 2000;
    double secs = argc > 2 ? atof(argv[2]) : 15;
    if (!getenv("MARKETD_BIN"))
        setenv("MARKETD_BIN", "build/marketd", 1);
    char args[160];
    snprintf(args, sizeof args,
             "--fleet %d --rate 1000 --seed 3 --faults 0.1 --decide-timeout 3600", agents);
    if (testsrv_start(&srv, args) != 0)
        return 1;
    /* the fleet registers its agents first: start the window once it trades */
    double w = mono();
    while (metric("marketd_purchases_total") < 1 && mono() - w < 30) {
        struct timespec nap = {0, 50000000L};
        nanosleep(&nap, NULL);
    }
    double *lat = calloc(100000, sizeof *lat);
    int nd = 0, conflicts = 0, other = 0;
    long long s0 = seq_now(), q0 = metric("marketd_requests_total");
    double c0 = cpu_s(srv.pid), t0 = mono();
    while (mono() - t0 < secs && nd < 100000) {
        testhttp_resp r;
        testsrv_get(&srv, TESTSRV_TOKEN_SUP1, "/v1/purchases?status=pending_approval&limit=50", &r);
        long long n = r.body ? testjson_len(r.body, "items") : -1;
        for (long long i = 0; i < n && mono() - t0 < secs; i++) {
            char key[64], id[72], path[160], body[96];
            snprintf(key, sizeof key, "items.%lld.id", i);
            if (!testjson_str(r.body, key, id, sizeof id))
                continue;
            snprintf(key, sizeof key, "items.%lld.version", i);
            long long v = testjson_int(r.body, key);
            snprintf(key, sizeof key, "items.%lld.total_minor", i);
            long long total = testjson_int(r.body, key);
            snprintf(path, sizeof path, "/v1/purchases/%s/approve", id);
            snprintf(body, sizeof body, "{\"expected_total_minor\":%lld}", total);
            testhttp_resp a;
            double b0 = mono();
            testsrv_post(&srv, TESTSRV_TOKEN_SUP1, path, v, body, &a);
            double ms = (mono() - b0) * 1000.0;
            if (a.status == 200)
                lat[nd++] = ms;
            else if (a.status == 409 || a.status == 412)
                conflicts++;
            else
                other++;
            testhttp_resp_free(&a);
        }
        testhttp_resp_free(&r);
        if (n <= 0) {
            struct timespec nap = {0, 20000000L};
            nanosleep(&nap, NULL);
        }
    }
    double el = mono() - t0, c1 = cpu_s(srv.pid);
    long long s1 = seq_now(), q1 = metric("marketd_requests_total");
    qsort(lat, (size_t)nd, sizeof *lat, cmp_d);
    double evs = (double)(s1 - s0) / el, p99 = quantile(lat, nd, 0.99);
    printf("fleet: %d agents at --rate 1000 for %.1f s: %lld events = %.0f events/s, %.0f market "
           "requests/s, marketd CPU %.0f%% of one core\n",
           agents, el, s1 - s0, evs, (double)(q1 - q0) / el, (c1 - c0) / el * 100.0);
    printf("fleet: %d approvals of the fleet's pending purchases: p50 %.2f ms, p99 %.2f ms, max "
           "%.2f ms (%d conflicts, %d other answers)\n",
           nd, quantile(lat, nd, 0.5), p99, nd ? lat[nd - 1] : -1.0, conflicts, other);
    printf("BENCH|marketd|events persisted (fleet at top rate)|%.6g|events/s|-|info\n", evs);
    printf("BENCH|marketd|fleet market requests|%.6g|requests/s|-|info\n", (double)(q1 - q0) / el);
    printf("BENCH|marketd|marketd CPU (fleet at top rate)|%.6g|%% of a core|-|info\n",
           (c1 - c0) / el * 100.0);
    printf("BENCH|marketd|decision p50 (fleet at top rate)|%.6g|ms|-|info\n",
           quantile(lat, nd, 0.5));
    printf("BENCH|marketd|decision p99 (fleet at top rate)|%.6g|ms|console budget 20 ms|info\n",
           p99);
    free(lat);
    testsrv_stop(&srv);
    return nd > 0 ? 0 : 1;
}
