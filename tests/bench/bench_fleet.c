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

#include "tests/lib/proc.h"
#include "tests/lib/testsrv.h"

static testsrv srv;

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
    double w = tproc_now_s();
    while (testsrv_metric(&srv, "marketd_purchases_total") < 1 && tproc_now_s() - w < 30) {
        struct timespec nap = {0, 50000000L};
        nanosleep(&nap, NULL);
    }
    double *lat = calloc(100000, sizeof *lat);
    int nd = 0, conflicts = 0, other = 0;
    long long s0 = testsrv_seq(&srv), q0 = testsrv_metric(&srv, "marketd_requests_total");
    double c0 = 1e-9 * tproc_cpu_ns(srv.pid), t0 = tproc_now_s();
    while (tproc_now_s() - t0 < secs && nd < 100000) {
        testhttp_resp r;
        testsrv_get(&srv, TESTSRV_TOKEN_SUP1, "/v1/purchases?status=pending_approval&limit=50", &r);
        long long n = r.body ? testjson_len(r.body, "items") : -1;
        for (long long i = 0; i < n && tproc_now_s() - t0 < secs; i++) {
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
            double b0 = tproc_now_s();
            testsrv_post(&srv, TESTSRV_TOKEN_SUP1, path, v, body, &a);
            double ms = (tproc_now_s() - b0) * 1000.0;
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
    double el = tproc_now_s() - t0, c1 = 1e-9 * tproc_cpu_ns(srv.pid);
    long long s1 = testsrv_seq(&srv), q1 = testsrv_metric(&srv, "marketd_requests_total");
    qsort(lat, (size_t)nd, sizeof *lat, tproc_cmp_double);
    double evs = (double)(s1 - s0) / el, p99 = tproc_quantile(lat, nd, 0.99);
    printf("fleet: %d agents at --rate 1000 for %.1f s: %lld events = %.0f events/s, %.0f market "
           "requests/s, marketd CPU %.0f%% of one core\n",
           agents, el, s1 - s0, evs, (double)(q1 - q0) / el, (c1 - c0) / el * 100.0);
    printf("fleet: %d approvals of the fleet's pending purchases: p50 %.2f ms, p99 %.2f ms, max "
           "%.2f ms (%d conflicts, %d other answers)\n",
           nd, tproc_quantile(lat, nd, 0.5), p99, nd ? lat[nd - 1] : -1.0, conflicts, other);
    printf("BENCH|marketd|events persisted (fleet at top rate)|%.6g|events/s|-|info\n", evs);
    printf("BENCH|marketd|fleet market requests|%.6g|requests/s|-|info\n", (double)(q1 - q0) / el);
    printf("BENCH|marketd|marketd CPU (fleet at top rate)|%.6g|%% of a core|-|info\n",
           (c1 - c0) / el * 100.0);
    printf("BENCH|marketd|decision p50 (fleet at top rate)|%.6g|ms|-|info\n",
           tproc_quantile(lat, nd, 0.5));
    printf("BENCH|marketd|decision p99 (fleet at top rate)|%.6g|ms|console budget 20 ms|info\n",
           p99);
    free(lat);
    testsrv_stop(&srv);
    return nd > 0 ? 0 : 1;
}
