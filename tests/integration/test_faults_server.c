/* test_faults_server.c: the server killed (SIGKILL) and restarted, and stopped (SIGSTOP)
 * then continued, at random moments while a simulated fleet trades fast.
 *
 * `dealdesk tail --after 0 --heartbeat 1` follows the stream throughout. At the end the
 * fleet is halted, and the test asserts that tail printed every seq from 1 to the
 * server's last exactly once and in order, that the objects rebuilt from its lines equal
 * the server's snapshot, and that every stall was noticed ("no data for 3 s") within
 * three heartbeat periods (plus a margin for a loaded machine; the worst figure measured
 * is printed).
 *
 * Default: 6 faults (3 kills, 3 stops). SOAK=1 (make soak): 100 faults. FAULTS_SEED=N
 * repeats a run's random moments. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/proc.h"
#include "tests/lib/tailcheck.h"
#include "tests/lib/testsrv.h"

/* Stall detection must happen within 3 heartbeats of 1 s; the margin covers the
 * client's wait granularity and a loaded 2-core machine (ASan, valgrind). */
#define STALL_LIMIT_MS (3000 + 1500)
/* After a fault, the client is back and caught up within this (the server's retry of 2 s
 * doubled a few times at most, plus a stall's own detection). */
#define CATCHUP_LIMIT_MS 15000

/* Waits until tail printed seq; false at the deadline. */
static bool wait_for_seq(const char *path, int64_t seq, int ms)
{
    int64_t deadline = tproc_now_ms() + ms;
    while (tproc_now_ms() < deadline) {
        if (tproc_last_seq(path, NULL) >= seq)
            return true;
        tproc_nap(20);
    }
    return false;
}

/* How many times needle occurs in the file at path. */
static int count_in_file(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    int c = 0;
    for (const char *p = buf; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        c++;
    return c;
}

/* Rebuilds the newest version of each object from tail's output and compares it with
 * the server's snapshot (every object, field by field). Returns the objects compared. */
static size_t compare_with_snapshot(const char *out_path, const char *snapshot, size_t *events)
{
    json_t *objs = json_object();
    FILE *f = fopen(out_path, "r");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0;
    ssize_t r;
    int64_t want = 1;
    *events = 0;
    while ((r = getline(&line, &cap, f)) > 0 && line[r - 1] == '\n') {
        json_t *e = json_loads(line, 0, NULL);
        if (!e)
            fail_msg("tail printed a line that is not JSON: %.200s", line);
        int64_t seq = json_integer_value(json_object_get(e, "seq"));
        if (seq != want)
            fail_msg("event %zu has seq %lld, expected %lld: every seq exactly once, in order",
                     *events, (long long)seq, (long long)want);
        want++;
        (*events)++;
        tailcheck_apply(objs, e);
        json_decref(e);
    }
    free(line);
    fclose(f);
    json_t *snap = json_loads(snapshot, 0, NULL);
    assert_non_null(snap);
    assert_int_equal(json_integer_value(json_object_get(snap, "seq")), want - 1);
    size_t compared = tailcheck_match(objs, snap);
    json_decref(snap);
    json_decref(objs);
    return compared;
}

/* Halts the fleet and waits until the server's seq has not moved for a second. */
static int64_t halt_and_settle(testsrv *srv)
{
    testhttp_resp r = {0};
    assert_int_equal(testsrv_post(srv, TESTSRV_TOKEN_SUP1, "/v1/fleet/halt",
                                  testsrv_fleet_version(srv), "{\"reason\":\"drill\"}", &r),
                     0);
    if (r.status != 200)
        fail_msg("halt: %ld %s", r.status, r.body);
    testhttp_resp_free(&r);
    int64_t deadline = tproc_now_ms() + 30000, seq = testsrv_seq(srv), since = tproc_now_ms();
    while (tproc_now_ms() < deadline) {
        tproc_nap(100);
        int64_t s = testsrv_seq(srv);
        if (s != seq) {
            seq = s;
            since = tproc_now_ms();
        } else if (tproc_now_ms() - since >= 1000)
            return seq;
    }
    fail_msg("the server's seq kept moving after the fleet was halted");
    return -1;
}

/* A small deterministic generator (xorshift64*), so a seed repeats a run. */
static uint64_t rng_state;
static void test_kills_and_stops_under_a_fast_fleet(void **state)
{
    (void)state;
    bool soak = getenv("SOAK") != NULL;
    int rounds = soak ? 100 : 6;
    const char *seed_env = getenv("FAULTS_SEED");
    uint64_t seed = seed_env ? strtoull(seed_env, NULL, 10) : (uint64_t)time(NULL);
    rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
    printf("faults seed %llu (FAULTS_SEED=%llu repeats it)\n", (unsigned long long)seed,
           (unsigned long long)seed);

    testsrv srv;
    assert_int_equal(testsrv_start(&srv, "--fleet 16 --seed 5 --rate 50 --faults 0.2 "
                                         "--heartbeat 1 --decide-timeout 3600"),
                     0);
    char *tok = testsrv_token_file(&srv, TESTSRV_TOKEN_SUP1);
    assert_non_null(tok);
    char out[600], err[600];
    snprintf(out, sizeof out, "%s/faults-tail.out", getenv("TEST_TMP"));
    snprintf(err, sizeof err, "%s/faults-tail.err", getenv("TEST_TMP"));
    const char *args[] = {"--url", srv.url, "--token-file", tok, "--heartbeat",
                          "1",     "tail",  "--after",      "0", NULL};
    pid_t pid = tproc_spawn_dealdesk(args, out, err);
    assert_true(wait_for_seq(out, testsrv_seq(&srv), 20000));

    int kills = 0, stops = 0;
    int64_t worst_stall = 0, total_stall = 0, worst_catchup = 0;
    for (int k = 0; k < rounds; k++) {
        /* A random moment while the fleet trades. */
        tproc_nap(50 + (int)(tproc_rng(&rng_state) % 700));
        int64_t t0;
        if (tproc_rng(&rng_state) % 2 == 0) {
            testsrv_kill9(&srv);
            kills++;
            tproc_nap((int)(tproc_rng(&rng_state) % 300)); /* down for a random while */
            assert_int_equal(testsrv_restart(&srv), 0);
            t0 = tproc_now_ms();
        } else {
            int before = count_in_file(err, "no data for");
            kill(srv.pid, SIGSTOP);
            t0 = tproc_now_ms();
            stops++;
            while (count_in_file(err, "no data for") == before && tproc_now_ms() - t0 < 20000)
                tproc_nap(10);
            int64_t took = tproc_now_ms() - t0;
            kill(srv.pid, SIGCONT);
            if (count_in_file(err, "no data for") == before)
                fail_msg("stop %d: the stall was not noticed in 20 s", stops);
            if (took > worst_stall)
                worst_stall = took;
            total_stall += took;
            t0 = tproc_now_ms();
        }
        /* The client comes back and prints everything committed so far. */
        int64_t committed = testsrv_seq(&srv);
        if (!wait_for_seq(out, committed, 30000))
            fail_msg("fault %d: tail stuck at %lld, server at %lld", k,
                     (long long)tproc_last_seq(out, NULL), (long long)committed);
        if (tproc_now_ms() - t0 > worst_catchup)
            worst_catchup = tproc_now_ms() - t0;
        /* Live again: an event committed after the fault has come through the new stream
         * (so the next stall is measured against a live connection). */
        if (!wait_for_seq(out, committed + 1, 30000))
            fail_msg("fault %d: no new event after catching up", k);
    }
    int64_t final = halt_and_settle(&srv);
    if (!wait_for_seq(out, final, 30000)) {
        char e[8192] = "";
        FILE *ef = fopen(err, "r");
        if (ef) {
            e[fread(e, 1, sizeof e - 1, ef)] = '\0';
            fclose(ef);
        }
        fail_msg("after the faults: tail at %lld, server at %lld; tail said:\n%s",
                 (long long)tproc_last_seq(out, NULL), (long long) final, e);
    }
    assert_int_equal(tproc_stop_child(pid), 0);

    testhttp_resp snap = {0};
    assert_non_null(snap.body = testsrv_state(&srv, TESTSRV_TOKEN_SUP1));
    size_t events = 0;
    size_t compared = compare_with_snapshot(out, snap.body, &events);
    testhttp_resp_free(&snap);
    assert_int_equal(count_in_file(err, "re-synced"), 0);
    printf("faults: %d kills + %d stops in %d rounds; %zu events each applied once (seq 1..%lld), "
           "%zu objects equal to the server's; lost 0, doubled 0\n",
           kills, stops, rounds, events, (long long) final, compared);
    printf("stall noticed after %lld ms at worst, %lld ms on average (limit %d); worst catch-up "
           "%lld ms\n",
           (long long)worst_stall, stops ? (long long)(total_stall / stops) : 0LL, STALL_LIMIT_MS,
           (long long)worst_catchup);
    assert_true(events > 100);
    assert_true(worst_stall <= STALL_LIMIT_MS);
    /* Back within a few retry periods after every fault, however many came before (the
     * backoff starts over once a stream has delivered events). */
    assert_true(worst_catchup <= CATCHUP_LIMIT_MS);
    testsrv_stop(&srv);
    free(tok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kills_and_stops_under_a_fast_fleet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
