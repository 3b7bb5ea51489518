/* bench_webhooks.c: marketd --webhook on loopback (docs/api.md, "Webhooks").
 *
 * Latency: N times (default 200), a fresh buyer makes a purchase over its deal maximum
 * (a critical flag: a new critical alert, escalated in the purchase's own transaction);
 * the time from the purchase's two requests (the buyer's offer, the seller's accept)
 * being sent to the receiver (tests/lib/whrecv.c) getting the signed `alert.critical`
 * POST: an upper bound of commit-to-receipt (the two requests' own time is printed
 * beside it). p50/p99/max.
 *
 * Receiver down: the receiver is down for D seconds (default 60, BENCH_WEBHOOK_DOWN_S
 * or the second argument) while K purchases are made; the bench records how the market
 * answered meanwhile (the slowest purchase), the failed attempts counted in /metrics,
 * and, once the receiver is up again, how long until every event was delivered (the
 * backoff's cap, 30 s, bounds it).
 *
 * Prints human lines and "BENCH|section|metric|value|unit|goal|verdict" lines.
 * Usage: bench_webhooks [N [D]]. Needs MARKETD_BIN (default build/marketd).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/proc.h"
#include "tests/lib/testsrv.h"
#include "tests/lib/whrecv.h"

#define SECRET "whsec-bench-8c2e51f0"

static void bench_line(const char *section, const char *metric, double value, const char *unit,
                       const char *goal, const char *verdict)
{
    printf("BENCH|%s|%s|%.6g|%s|%s|%s\n", section, metric, value, unit, goal, verdict);
    fflush(stdout);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The arrival time of the first alert.critical delivery about purchase pur, or -1. */
static double critical_about(whrecv *r, const char *pur)
{
    const char *body;
    double at;
    char t[64], subj[80];
    for (int i = 0; whrecv_get(r, i, NULL, &body, &at); i++)
        if (testjson_str(body, "type", t, sizeof t) && !strcmp(t, "alert.critical") &&
            testjson_str(body, "data.subject.id", subj, sizeof subj) && !strcmp(subj, pur))
            return at;
    return -1;
}

/* Waits (up to timeout_s) until the alert about pur arrived; its arrival time, or -1. */
static double wait_about(whrecv *r, const char *pur, double timeout_s)
{
    double end = tproc_now_s() + timeout_s, at;
    int seen = whrecv_count(r);
    while ((at = critical_about(r, pur)) < 0) {
        double left = end - tproc_now_s();
        if (left <= 0)
            return -1;
        seen = whrecv_wait(r, seen, left);
    }
    return at;
}

/* One purchase over the deal maximum by a fresh buyer (a new critical alert); the
 * seconds the accept took into *took. 0 or -1. */
static int critical_purchase(testsrv *s, char pur[72], double *sent, double *took)
{
    testsrv_market t;
    if (testsrv_market_setup(s, &t, 0) != 0)
        return -1;
    *sent = tproc_now_s();
    int rc = testsrv_market_purchase(s, &t, 50000, 201, pur);
    *took = tproc_now_s() - *sent;
    return rc;
}

static int latency(testsrv *s, whrecv *r, int n)
{
    double *lat = calloc((size_t)n, sizeof *lat), *req = calloc((size_t)n, sizeof *req);
    for (int i = 0; i < n; i++) {
        double sent, took, at;
        char pur[72];
        if (critical_purchase(s, pur, &sent, &took) != 0 || (at = wait_about(r, pur, 30)) < 0) {
            fprintf(stderr, "bench_webhooks: purchase %d: no alert.critical delivered\n", i);
            free(lat);
            free(req);
            return -1;
        }
        lat[i] = (at - sent) * 1000.0;
        req[i] = took * 1000.0;
    }
    qsort(lat, (size_t)n, sizeof *lat, cmp_double);
    qsort(req, (size_t)n, sizeof *req, cmp_double);
    double p50 = lat[n / 2], p99 = lat[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1],
           max = lat[n - 1];
    printf("delivery latency over %d critical alerts (offer and accept sent -> POST received): "
           "p50 %.1f ms, p99 %.1f ms, max %.1f ms (the two requests alone: p50 %.1f ms)\n",
           n, p50, p99, max, req[n / 2]);
    bench_line("webhooks", "delivery latency p50", p50, "ms", "-", "info");
    bench_line("webhooks", "delivery latency p99", p99, "ms", "< 1000 ms",
               p99 < 1000 ? "met" : "missed");
    free(lat);
    free(req);
    return 0;
}

static int receiver_down(testsrv *s, whrecv *r, double down_s)
{
    enum { K = 5 };
    char purs[K][72];
    long long f0 = testsrv_metric(s, "marketd_webhook_failures_total");
    if (whrecv_down(r) != 0)
        return -1;
    double t0 = tproc_now_s(), slowest = 0;
    for (int i = 0; i < K; i++) {
        double sent, took;
        if (critical_purchase(s, purs[i], &sent, &took) != 0)
            return -1;
        slowest = took > slowest ? took : slowest;
    }
    while (tproc_now_s() - t0 < down_s) { /* the outage lasts down_s; the market answers */
        usleep(500 * 1000);
        if (testsrv_seq(s) < 0)
            return -1;
    }
    long long failures = testsrv_metric(s, "marketd_webhook_failures_total") - f0;
    long long pending = testsrv_metric(s, "marketd_webhook_pending");
    double up = tproc_now_s();
    if (whrecv_up(r) != 0)
        return -1;
    double last = up;
    for (int i = 0; i < K; i++) {
        double at = wait_about(r, purs[i], 120);
        if (at < 0)
            return -1;
        last = at > last ? at : last;
    }
    double after = last - up;
    printf("receiver down %.0f s with %d purchases' critical alerts: %lld failed attempts, %lld "
           "pending at the end "
           "of the outage, all delivered %.1f s after it came back; the slowest purchase meanwhile "
           "took %.1f ms\n",
           down_s, K, failures, pending, after, slowest * 1000);
    bench_line("webhooks-down", "outage", down_s, "s", "-", "info");
    bench_line("webhooks-down", "failed attempts", (double)failures, "attempts", "-", "info");
    bench_line("webhooks-down", "delivered after the receiver was back", after, "s",
               "<= 30 s (backoff cap)", after <= 31 ? "met" : "missed");
    bench_line("webhooks-down", "slowest purchase during the outage", slowest * 1000, "ms",
               "not blocked", slowest < 2 ? "met" : "missed");
    return 0;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200;
    const char *env = getenv("BENCH_WEBHOOK_DOWN_S");
    double down_s = argc > 2 ? atof(argv[2]) : env ? atof(env) : 60;
    if (n < 1 || n > 2000)
        n = 200;
    if (down_s < 0 || down_s > 3600)
        down_s = 60;
    if (!getenv("MARKETD_BIN"))
        setenv("MARKETD_BIN", "build/marketd", 1);
    whrecv *r = whrecv_start();
    if (!r)
        return 1;
    char secret[600], args[800];
    snprintf(secret, sizeof secret, "%s/bench-whsecret.%d",
             getenv("TEST_TMP") ? getenv("TEST_TMP") : "/tmp", (int)getpid());
    FILE *f = fopen(secret, "w");
    if (!f)
        return 1;
    fprintf(f, "%s\n", SECRET);
    fclose(f);
    snprintf(args, sizeof args,
             "--agent-rate 0 --webhook http://127.0.0.1:%d/hook --webhook-secret-file %s",
             whrecv_port(r), secret);
    testsrv s;
    int rc = 1;
    if (testsrv_start(&s, args) == 0) {
        rc = latency(&s, r, n) == 0 && receiver_down(&s, r, down_s) == 0 ? 0 : 1;
        testsrv_stop(&s);
    }
    unlink(secret);
    whrecv_stop(r);
    return rc;
}
