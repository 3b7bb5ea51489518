/* bench_audit.c: `dealdesk audit export` and `dealdesk audit verify` over a chain of
 * 100,000 decisions (issue 17; docs/api.md, "Audit"), against a real marketd.
 *
 * The decisions are made in this process through the market's own entry point
 * (market_handle, as HTTP would: each its own transaction, hashed into the chain by
 * marketd/audit.c), a supervisor pausing and resuming one agent, on a database in
 * /dev/shm (a durable commit there costs no disk flush; elsewhere when it is missing);
 * the file is then copied to the server's folder and marketd started on it. Then the
 * export (GET /v1/audit page by page to a file), its verify against the market's head,
 * and a verify against a head given (no market). Prints human lines and
 * "BENCH|section|metric|value|unit|goal|verdict" lines (tests/bench/run.sh).
 * Usage: bench_audit [DECISIONS] (default 100000).
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "marketd/market.h"
#include "tests/lib/proc.h"
#include "tests/lib/testsrv.h"

static testsrv srv;

static void bench_line(const char *section, const char *metric, double value, const char *unit,
                       const char *goal, const char *verdict)
{
    printf("BENCH|%s|%s|%.6g|%s|%s|%s\n", section, metric, value, unit, goal, verdict);
    fflush(stdout);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* One POST through market_handle as actor a, If-Match version when > 0: the status. */
static int post(market *m, const market_actor *a, const char *path, const char *body, long key,
                long version)
{
    char idem[48], im[32];
    snprintf(idem, sizeof idem, "bench-audit-%ld", key);
    snprintf(im, sizeof im, "\"%ld\"", version);
    market_request rq = {"POST", path, NULL, body, strlen(body), idem, version > 0 ? im : NULL,
                         NULL};
    market_response rs = {0};
    market_handle(m, a, &rq, &rs);
    if (rs.status >= 300)
        fprintf(stderr, "bench_audit: %s: %d %s\n", path, rs.status, rs.body ? rs.body : "");
    free(rs.body);
    return rs.status;
}

/* Makes n decisions in the database at path (pauses and resumes of one agent). 0/-1. */
static int make_decisions(const char *path, const char *tokens, long n)
{
    char err[256];
    market_options opt = {.db_path = path, .tokens_path = tokens, .agent_rate = -1};
    market *m = market_open(&opt, err, sizeof err);
    if (!m) {
        fprintf(stderr, "bench_audit: %s\n", err);
        return -1;
    }
    market_actor sup;
    int rc = market_authenticate(m, TESTSRV_TOKEN_SUP1, &sup) ? 0 : -1;
    const char *agent = "{\"name\":\"bench\",\"principal\":\"Bench\",\"role\":\"buyer\","
                        "\"currency\":\"USD\",\"limits\":{\"spend_cap_minor\":1000,"
                        "\"per_deal_max_minor\":100,\"approval_threshold_minor\":10,"
                        "\"max_quantity\":1},\"mandate\":{\"categories\":[\"bikes\"]}}";
    if (rc == 0 && post(m, &sup, "/v1/agents", agent, 0, 0) != 201)
        rc = -1;
    for (long i = 1; rc == 0 && i < n; i++) {
        bool pause = i % 2 == 1;
        if (post(m, &sup, pause ? "/v1/agents/agt_1/pause" : "/v1/agents/agt_1/resume",
                 pause ? "{\"reason\":\"bench: an audit trail of many decisions\"}" : "{}", i,
                 i) != 200) {
            fprintf(stderr, "bench_audit: decision %ld refused\n", i);
            rc = -1;
        }
    }
    market_close(m);
    return rc;
}

/* Copies file from to to. 0 or -1. */
static int copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = a ? fopen(to, "wb") : NULL;
    char buf[1 << 16];
    size_t k;
    int rc = a && b ? 0 : -1;
    while (rc == 0 && (k = fread(buf, 1, sizeof buf, a)) > 0)
        if (fwrite(buf, 1, k, b) != k)
            rc = -1;
    if (a)
        fclose(a);
    if (b && fclose(b) != 0)
        rc = -1;
    return rc;
}

/* Runs dealdesk with args; its exit code, its stdout in out. */
static int dealdesk(const char *tok, const char *const *args, char *out, size_t size)
{
    const char *argv[16] = {"--url", srv.url, "--token-file", tok};
    size_t n = 4;
    for (size_t i = 0; args[i] && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    char op[600], ep[600];
    snprintf(op, sizeof op, "%s/dd.out", getenv("TEST_TMP"));
    snprintf(ep, sizeof ep, "%s/dd.err", getenv("TEST_TMP"));
    int st = tproc_wait_child(tproc_spawn_dealdesk(argv, op, ep), 600000);
    tproc_slurp(op, out, size);
    if (st != 0) {
        char err[2048];
        tproc_slurp(ep, err, sizeof err);
        fprintf(stderr, "bench_audit: dealdesk %s: exit %d: %s %s\n", args[1], st, out, err);
    }
    return st;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    if (n < 2 || testsrv_start(&srv, NULL) != 0 || testsrv_terminate(&srv) != 0)
        return 1;
    char gen[700], file[700], out[4096];
    struct stat st;
    bool shm = stat("/dev/shm", &st) == 0 && access("/dev/shm", W_OK) == 0;
    snprintf(gen, sizeof gen, "%s/bench-audit-%ld.db", shm ? "/dev/shm" : getenv("TEST_TMP"),
             (long)getpid());
    unlink(srv.db);
    double t0 = now_s();
    int rc = make_decisions(gen, srv.tokens, n);
    double made = now_s() - t0;
    if (rc != 0 || copy_file(gen, srv.db) != 0 || testsrv_restart(&srv) != 0) {
        unlink(gen);
        testsrv_stop(&srv);
        return 1;
    }
    unlink(gen);
    printf("made %ld decisions in %.1f s (%s, market_handle)\n", n, made,
           shm ? "/dev/shm" : "disk");
    char *tok = testsrv_token_file(&srv, TESTSRV_TOKEN_SUP1);
    snprintf(file, sizeof file, "%s/audit.jsonl", getenv("TEST_TMP"));
    const char *exp[] = {"audit", "export", file, NULL};
    t0 = now_s();
    rc = dealdesk(tok, exp, out, sizeof out);
    double export_s = now_s() - t0;
    printf("%s", out);
    const char *ver[] = {"audit", "verify", file, NULL};
    t0 = now_s();
    rc |= dealdesk(tok, ver, out, sizeof out);
    double verify_s = now_s() - t0;
    printf("%s", out);
    /* against a head given: no market asked */
    char head[65] = "";
    FILE *f = fopen(file, "r");
    json_t *h = f && fgets(out, sizeof out, f) ? json_loads(out, 0, NULL) : NULL;
    if (f)
        fclose(f);
    snprintf(head, sizeof head, "%s",
             json_string_value(json_object_get(json_object_get(h, "head"), "hash"))
                 ? json_string_value(json_object_get(json_object_get(h, "head"), "hash"))
                 : "");
    json_decref(h);
    const char *given[] = {"audit", "verify", file, "--head", head, NULL};
    t0 = now_s();
    rc |= dealdesk(tok, given, out, sizeof out);
    double given_s = now_s() - t0;
    printf("%s", out);
    stat(file, &st);
    bench_line("audit", "decisions in the chain", (double)n, "entries", "100,000", "info");
    bench_line("audit", "dealdesk audit export", export_s, "s", "info (paged, 1,000 a request)",
               "info");
    bench_line("audit", "export size", (double)st.st_size / 1048576.0, "MiB", "info", "info");
    bench_line("audit", "dealdesk audit verify (market's head)", verify_s, "s", "info", "info");
    bench_line("audit", "dealdesk audit verify --head (no market)", given_s, "s", "info", "info");
    bench_line("audit", "decisions made (market_handle, hashed)", (double)n / made, "/s", "info",
               "info");
    free(tok);
    testsrv_stop(&srv);
    return rc == 0 ? 0 : 1;
}
