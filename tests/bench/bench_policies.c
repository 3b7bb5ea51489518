/* bench_policies.c: the default policy set (marketd --default-policies, as make demo
 * starts it) against the simulated fleet, measured from the simulation's ground truth.
 *
 *   reach a person   the share of purchases no policy and no threshold decided (they
 *                    wait in the queue), and how many a minute
 *   faults           injected faults on purchases (GET /v1/sim/faults): how many a
 *                    policy approved (goal 0), how many reached a person (goal 100%),
 *                    how many the threshold approved; faults with no purchase (velocity)
 *                    are counted apart: they reach a person as an agent's alert
 *   backtest         POST /v1/policies/backtest of the set over the newest 10,000
 *                    purchases while the fleet trades: its time, and the events the
 *                    market committed meanwhile (it is not under the market's lock)
 *
 * Nobody decides during the run: a purchase left to a person waits, then expires.
 * Prints human lines and "BENCH|section|metric|value|unit|goal|verdict" lines.
 * Usage: bench_policies [SECONDS [AGENTS [RATE [none]]]] (default 600 s, 2000 agents at
 * rate 1000: the fleet at its top rate, as the issue asks; `bench_policies 180 12 2` is
 * the make demo fleet; a fourth word "none" runs without the policies, for comparison).
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/lib/proc.h"
#include "tests/lib/testsrv.h"

static testsrv srv;

static void bench_line(const char *section, const char *metric, double value, const char *unit,
                       const char *goal, const char *verdict)
{
    printf("BENCH|%s|%s|%.6g|%s|%s|%s\n", section, metric, value, unit, goal, verdict);
    fflush(stdout);
}

static void nap_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* GETs path as sup1 and parses the answer (owned), or NULL. */
static json_t *get_json(const char *path)
{
    testhttp_resp r;
    json_t *j = NULL;
    if (testsrv_get(&srv, TESTSRV_TOKEN_SUP1, path, &r) == 0 && r.status == 200)
        j = json_loads(r.body, 0, NULL);
    testhttp_resp_free(&r);
    return j;
}

/* Every purchase, by id (owned). */
static json_t *all_purchases(void)
{
    json_t *by_id = json_object();
    char path[160] = "/v1/purchases?limit=1000";
    for (;;) {
        json_t *page = get_json(path);
        if (!page)
            break;
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(page, "items"), i, p)
            json_object_set(by_id, json_string_value(json_object_get(p, "id")), p);
        const char *next = json_string_value(json_object_get(page, "next"));
        if (next)
            snprintf(path, sizeof path, "/v1/purchases?limit=1000&after=%s", next);
        json_decref(page);
        if (!next)
            break;
    }
    return by_id;
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* How purchase p was decided when it was made: 'p' approved by a policy, 'v' vetoed by
 * a policy, 't' approved by the threshold, 'h' left to a person. */
static char how(json_t *p)
{
    json_t *pol = json_object_get(p, "policy");
    const char *act = str(pol, "action");
    if (!strcmp(act, "approve"))
        return 'p';
    if (!strcmp(act, "veto"))
        return 'v';
    if (!strcmp(act, "review"))
        return 'h';
    const char *st = str(p, "status");
    bool undecided = json_is_null(json_object_get(p, "decision"));
    return undecided && strcmp(st, "pending_approval") != 0 ? 't' : 'h';
}

/* Times a backtest of the server's current policies over the newest 10,000 purchases. */
static void backtest(void)
{
    json_t *pols = get_json("/v1/policies?limit=1000");
    json_t *q = json_pack("{sO si}", "policies", json_object_get(pols, "items"), "limit", 10000);
    char *body = json_dumps(q, JSON_COMPACT);
    json_decref(q);
    json_decref(pols);
    testhttp_resp r;
    long long s0 = testsrv_seq(&srv);
    double t0 = tproc_now_s();
    testsrv_post(&srv, TESTSRV_TOKEN_SUP1, "/v1/policies/backtest", 0, body, &r);
    double ms = (tproc_now_s() - t0) * 1000.0;
    long long s1 = testsrv_seq(&srv);
    free(body);
    json_t *a = r.status == 200 ? json_loads(r.body, 0, NULL) : NULL;
    long long n = json_integer_value(json_object_get(a, "purchases"));
    long long cpu = json_integer_value(json_object_get(a, "cpu_ms"));
    printf("backtest: HTTP %ld over %lld purchases in %.0f ms (server %lld ms, %lld ms of CPU); "
           "%lld events committed meanwhile; approve %lld veto %lld review %lld, differ %lld\n",
           r.status, n, ms, (long long)json_integer_value(json_object_get(a, "elapsed_ms")), cpu,
           s1 - s0,
           (long long)json_integer_value(json_object_get(json_object_get(a, "approve"), "count")),
           (long long)json_integer_value(json_object_get(json_object_get(a, "veto"), "count")),
           (long long)json_integer_value(json_object_get(json_object_get(a, "review"), "count")),
           (long long)json_integer_value(json_object_get(a, "differ")));
    bench_line("policies", "backtest purchases", (double)n, "purchases", "10000", "info");
    bench_line("policies", "backtest time", ms, "ms", "-", r.status == 200 ? "info" : "missed");
    bench_line("policies", "backtest CPU", (double)cpu, "ms", "-", "info");
    bench_line("policies", "events during backtest", (double)(s1 - s0), "events",
               "> 0: not under the lock", s1 > s0 ? "met" : "info");
    json_decref(a);
    testhttp_resp_free(&r);
}

/* Counts the faults: on purchases approved by a policy, reaching a person, approved by
 * the threshold, vetoed by a policy; and those on no purchase. */
static void faults(json_t *purchases)
{
    json_t *fs = get_json("/v1/sim/faults");
    long long on_pur = 0, by_policy = 0, person = 0, threshold = 0, vetoed = 0, none = 0;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(fs, "items"), i, f)
    {
        const char *kind = str(f, "kind");
        if (kind && strncmp(kind, "dispute_", 8) == 0)
            continue; /* a dispute after settlement, not a fault of the purchase (issue 17) */
        json_t *p = json_object_get(purchases, str(f, "purchase_id"));
        if (!p) {
            none++;
            continue;
        }
        on_pur++;
        char h = how(p);
        by_policy += h == 'p';
        vetoed += h == 'v';
        person += h == 'h';
        threshold += h == 't';
    }
    json_decref(fs);
    double share = on_pur ? 100.0 * (double)person / (double)on_pur : 100.0;
    printf("faults: %lld on purchases: %lld reached a person, %lld approved by a policy, %lld "
           "vetoed by a policy, %lld approved by the threshold; %lld on no purchase\n",
           on_pur, person, by_policy, vetoed, threshold, none);
    bench_line("policies", "faults on purchases", (double)on_pur, "faults", "-", "info");
    bench_line("policies", "faults approved by a policy", (double)by_policy, "faults", "0",
               by_policy == 0 ? "met" : "missed");
    bench_line("policies", "faults reaching a person", share, "%", "100%",
               person == on_pur ? "met" : "missed");
    bench_line("policies", "faults approved by the threshold", (double)threshold, "faults", "-",
               "info");
    bench_line("policies", "faults on no purchase (alerts)", (double)none, "faults", "-", "info");
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 600;
    int agents = argc > 2 ? atoi(argv[2]) : 2000;
    double rate = argc > 3 ? atof(argv[3]) : 1000;
    if (!getenv("MARKETD_BIN"))
        setenv("MARKETD_BIN", "build/marketd", 1);
    char args[200];
    bool none = argc > 4 && !strcmp(argv[4], "none");
    snprintf(args, sizeof args, "--fleet %d --rate %g --seed 3%s", agents, rate,
             none ? "" : " --default-policies");
    if (testsrv_start(&srv, args) != 0)
        return 1;
    double w = tproc_now_s();
    while (testsrv_metric(&srv, "marketd_purchases_total") < 1 && tproc_now_s() - w < 60)
        nap_ms(50);
    double t0 = tproc_now_s();
    bool tested = false;
    while (tproc_now_s() - t0 < secs) {
        nap_ms(500);
        if (!tested && testsrv_metric(&srv, "marketd_purchases_total") >= 10000) {
            backtest();
            tested = true;
        }
    }
    if (!tested)
        backtest();
    double minutes = (tproc_now_s() - t0) / 60.0;
    testhttp_resp h;
    testsrv_post(&srv, TESTSRV_TOKEN_SUP1, "/v1/fleet/halt", testsrv_fleet_version(&srv),
                 "{\"reason\":\"bench_policies: counting\"}", &h);
    testhttp_resp_free(&h);
    json_t *purchases = all_purchases();
    long long n = 0, counts[128] = {0};
    const char *key;
    json_t *p;
    json_object_foreach(purchases, key, p)
    {
        n++;
        counts[(unsigned char)how(p)]++;
    }
    double share = n ? 100.0 * (double)counts['h'] / (double)n : 0;
    printf("%d agents at rate %g for %.1f min: %lld purchases; %lld reached a person (%.1f%%, "
           "%.1f a minute), %lld approved by a policy, %lld vetoed by a policy, %lld approved "
           "by the threshold\n",
           agents, rate, minutes, n, counts['h'], share, (double)counts['h'] / minutes, counts['p'],
           counts['v'], counts['t']);
    bench_line("policies", "purchases", (double)n, "purchases", "-", "info");
    bench_line("policies", "share reaching a person", share, "%", "-", "info");
    bench_line("policies", "reaching a person per minute", (double)counts['h'] / minutes, "/min",
               "3-6 (one every 10-20 s) in the demo", "info");
    faults(purchases);
    json_decref(purchases);
    testsrv_stop(&srv);
    return 0;
}
