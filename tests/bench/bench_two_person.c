/* bench_two_person.c: two supervisors approving a two-person purchase at once (issue 16).
 *
 * A real marketd on loopback with a third supervisor (sup3, appended to the test tokens
 * file, then a restart). Per trial: a fresh purchase at or above the buyer's
 * two_person_minor; sup1 gives the first approval; then sup2 and sup3 approve at the same
 * version at the same moment (two threads behind a barrier). Exactly one of them may
 * settle it: the market's lock and the conditional version (If-Match) make it so. The
 * bench counts the answers and, from the ledger, the settlements of each purchase.
 *
 * Prints "BENCH|section|metric|value|unit|goal|verdict" lines.
 * Usage: bench_two_person [TRIALS] (default 200). Needs MARKETD_BIN (default build/marketd).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/testsrv.h"

#define TOKEN_SUP3 "s3cr3t-sup3-bench-5d0e6a1c9b7f2348"

/* One machine-readable figure. */
static void bench_line(const char *section, const char *metric, double value, const char *unit,
                       const char *goal, const char *verdict)
{
    printf("BENCH|%s|%s|%.6g|%s|%s|%s\n", section, metric, value, unit, goal, verdict);
    fflush(stdout);
}

typedef struct shot {
    testsrv *s;
    const char *token;
    char path[160], body[64];
    long long version;
    pthread_barrier_t *go;
    testhttp_resp r;
} shot;

static void *fire(void *arg)
{
    shot *sh = arg;
    pthread_barrier_wait(sh->go);
    testsrv_post(sh->s, sh->token, sh->path, sh->version, sh->body, &sh->r);
    return NULL;
}

/* Adds sup3 to the server's tokens and restarts it. 0 or -1. */
static int add_sup3(testsrv *s)
{
    FILE *f = fopen(s->tokens, "a");
    if (!f)
        return -1;
    fputs("sup3 supervisor " TOKEN_SUP3 "\n", f);
    fclose(f);
    testsrv_kill9(s);
    return testsrv_restart(s);
}

/* Sets the buyer's two_person_minor (off before: takes effect at once). 0 or -1. */
static int set_limit(testsrv *s, testsrv_market *t, long long minor)
{
    char path[128], body[64];
    snprintf(path, sizeof path, "/v1/agents/%s", t->buyer_id);
    testhttp_resp r;
    if (testsrv_get(s, TESTSRV_TOKEN_SUP1, path, &r) != 0)
        return -1;
    long long v = testjson_int(r.body, "version");
    testhttp_resp_free(&r);
    strcat(path, "/limits");
    snprintf(body, sizeof body, "{\"two_person_minor\":%lld}", minor);
    int rc =
        testsrv_post(s, TESTSRV_TOKEN_SUP1, path, v, body, &r) == 0 && r.status == 200 ? 0 : -1;
    testhttp_resp_free(&r);
    return rc;
}

/* Counts ledger entries for purchase pur (the ledger read whole: few entries). */
static int settlements(testsrv *s, const char *pur)
{
    testhttp_resp r;
    char path[160];
    snprintf(path, sizeof path, "/v1/ledger?limit=1000&q=%s", pur);
    if (testsrv_get(s, TESTSRV_TOKEN_SUP1, path, &r) != 0 || r.status != 200) {
        testhttp_resp_free(&r);
        return -1;
    }
    int n = 0;
    for (long long i = 0; i < testjson_len(r.body, "items"); i++) {
        char k[64], id[72];
        snprintf(k, sizeof k, "items.%lld.purchase_id", i);
        n += testjson_str(r.body, k, id, sizeof id) && !strcmp(id, pur);
    }
    testhttp_resp_free(&r);
    return n;
}

int main(int argc, char **argv)
{
    int trials = argc > 1 ? atoi(argv[1]) : 200;
    if (trials < 1 || trials > 900)
        trials = 200;
    if (!getenv("MARKETD_BIN"))
        setenv("MARKETD_BIN", "build/marketd", 1);
    testsrv srv;
    testsrv_market t;
    if (testsrv_start(&srv, "--decide-timeout 600 --agent-rate 0") != 0 || add_sup3(&srv) != 0 ||
        testsrv_market_setup(&srv, &t, 0) != 0 || set_limit(&srv, &t, 30000) != 0) {
        fprintf(stderr, "bench_two_person: cannot set up the market\n");
        return 1;
    }
    int settled = 0, one = 0, ok200 = 0, stale412 = 0, conflict409 = 0, other = 0;
    for (int i = 0; i < trials; i++) {
        char pur[72], path[128];
        long long total = 40000 + i; /* quantity 1: the listing's 1,000 last */
        if (testsrv_market_purchase(&srv, &t, total, 1, pur) != 0)
            break;
        snprintf(path, sizeof path, "/v1/purchases/%s", pur);
        shot first = {.s = &srv, .token = TESTSRV_TOKEN_SUP1};
        shot a = {.s = &srv, .token = TESTSRV_TOKEN_SUP2}, b = {.s = &srv, .token = TOKEN_SUP3};
        snprintf(a.path, sizeof a.path, "%s/approve", path);
        snprintf(a.body, sizeof a.body, "{\"expected_total_minor\":%lld}", total);
        memcpy(b.path, a.path, sizeof b.path);
        memcpy(b.body, a.body, sizeof b.body);
        /* the purchase is at version 1; sup1's first approval makes it 2 */
        if (testsrv_post(&srv, first.token, a.path, 1, a.body, &first.r) != 0 ||
            first.r.status != 200)
            break;
        testhttp_resp_free(&first.r);
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, 2);
        a.version = b.version = 2;
        a.go = b.go = &go;
        pthread_t ta, tb;
        pthread_create(&ta, NULL, fire, &a);
        pthread_create(&tb, NULL, fire, &b);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        pthread_barrier_destroy(&go);
        const shot *both[] = {&a, &b};
        for (int k = 0; k < 2; k++) {
            long st = both[k]->r.status;
            ok200 += st == 200;
            stale412 += st == 412;
            conflict409 += st == 409;
            other += st != 200 && st != 412 && st != 409;
        }
        int n = settlements(&srv, pur);
        settled += n > 0 ? n : 0;
        one += n == 1;
        testhttp_resp_free(&a.r);
        testhttp_resp_free(&b.r);
    }
    testsrv_stop(&srv);
    printf("two-person race: %d trials, %d with exactly one settlement, %d settlements; answers: "
           "%d x 200, %d x 412, %d x 409, %d other\n",
           trials, one, settled, ok200, stale412, conflict409, other);
    bool met = one == trials && settled == trials && ok200 == trials && other == 0;
    bench_line("two-person", "trials", trials, "trials", "200", "info");
    bench_line("two-person", "settlements", settled, "settlements", "= trials",
               met ? "met" : "missed");
    bench_line("two-person", "trials with exactly one settlement", one, "trials", "= trials",
               one == trials ? "met" : "missed");
    bench_line("two-person", "answers 200", ok200, "answers", "= trials", met ? "met" : "missed");
    bench_line("two-person", "answers 412", stale412, "answers", "-", "info");
    bench_line("two-person", "answers 409", conflict409, "answers", "-", "info");
    bench_line("two-person", "other answers", other, "answers", "0", other ? "missed" : "met");
    return met ? 0 : 1;
}
