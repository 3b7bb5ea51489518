/* test_client_stream.c: `dealdesk tail` against a real marketd that is killed with
 * SIGKILL and restarted 20 times while traffic flows: every seq is printed exactly once
 * and in order, and the objects rebuilt from what tail printed equal the server's
 * snapshot. Also: --record then `replay` gives the same events without a server, and a
 * dead connection (the server stalled, no heartbeat) is noticed and reconnected. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
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
#include "tests/lib/faultproxy.h"
#include "tests/lib/testsrv.h"

/* The seqs printed so far in a tail output file (complete lines only). */
typedef struct seqs {
    int64_t *v;
    size_t n;
    char **lines; /* owned copies, for rebuilding state */
} seqs;

static void seqs_free(seqs *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->lines[i]);
    free(s->lines);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* Reads the output file; every complete line must be JSON with an integer seq. */
static seqs read_seqs(const char *path, bool keep_lines)
{
    seqs s = {0};
    FILE *f = fopen(path, "r");
    if (!f)
        return s;
    char *line = NULL;
    size_t cap = 0, alloc = 0;
    ssize_t r;
    while ((r = getline(&line, &cap, f)) > 0) {
        if (line[r - 1] != '\n')
            break;
        json_t *j = json_loads(line, 0, NULL);
        if (!j)
            fail_msg("tail printed a line that is not JSON: %.200s", line);
        json_t *seq = json_object_get(j, "seq");
        assert_true(json_is_integer(seq));
        if (s.n == alloc) {
            alloc = alloc ? alloc * 2 : 1024;
            s.v = realloc(s.v, alloc * sizeof *s.v);
            s.lines = realloc(s.lines, alloc * sizeof *s.lines);
        }
        s.v[s.n] = json_integer_value(seq);
        s.lines[s.n] = keep_lines ? strdup(line) : NULL;
        s.n++;
        json_decref(j);
        /* ASCII only: nothing in it can act on a terminal. */
        for (ssize_t i = 0; i < r; i++)
            assert_true((unsigned char)line[i] < 0x7f &&
                        ((unsigned char)line[i] >= 0x20 || line[i] == '\n'));
    }
    free(line);
    fclose(f);
    return s;
}

/* The last seq printed, or 0. */
static int64_t last_seq(const char *path)
{
    seqs s = read_seqs(path, false);
    int64_t v = s.n ? s.v[s.n - 1] : 0;
    seqs_free(&s);
    return v;
}

/* Waits until tail has printed seq (or the deadline passes). */
static bool wait_for_seq(const char *path, int64_t seq, int ms)
{
    int64_t deadline = tproc_now_ms() + ms;
    while (tproc_now_ms() < deadline) {
        if (last_seq(path) >= seq)
            return true;
        tproc_nap(20);
    }
    return false;
}

/* Traffic: the seller lists and withdraws items as fast as the server answers. */
typedef struct traffic {
    testsrv *srv;
    testsrv_market m;
    atomic_bool stop;
    atomic_long ok;
} traffic;

static void *traffic_main(void *ud)
{
    traffic *t = ud;
    int i = 0;
    while (!atomic_load(&t->stop)) {
        char body[512];
        snprintf(body, sizeof body,
                 "{\"title\":\"item %d \\u001b[7m\",\"description\":\"d\",\"category\":\"bikes\","
                 "\"unit_price_minor\":%d,\"currency\":\"USD\",\"quantity\":3}",
                 i, 1000 + i);
        testhttp_resp r = {0};
        if (testsrv_post(t->srv, t->m.seller_token, "/v1/listings", 0, body, &r) == 0 &&
            r.status / 100 == 2)
            atomic_fetch_add(&t->ok, 1);
        else
            tproc_nap(5); /* the server is down: do not spin */
        testhttp_resp_free(&r);
        i++;
    }
    return NULL;
}

/* Rebuilds, from tail's lines, the latest version of each object by (type, id), and
 * checks it against the server's snapshot arrays. */
static void compare_with_snapshot(const seqs *s, const char *snapshot)
{
    json_t *objs = json_object(); /* "type/id" -> data */
    for (size_t i = 0; i < s->n; i++) {
        json_t *e = json_loads(s->lines[i], 0, NULL);
        tailcheck_apply(objs, e);
        json_decref(e);
    }
    json_t *snap = json_loads(snapshot, 0, NULL);
    assert_non_null(snap);
    size_t compared = tailcheck_match(objs, snap);
    assert_true(compared > 20);
    json_decref(snap);
    json_decref(objs);
}

static void test_tail_through_20_kills(void **state)
{
    (void)state;
    testsrv srv;
    /* the traffic is one seller listing as fast as it can, on purpose: past the per-agent
     * rate limit and the cap on open listings (with them, it stopped after 1,000 listings
     * and every round below waited out its 5 s for traffic that never came) */
    assert_int_equal(
        testsrv_start(&srv, "--heartbeat 1 --agent-rate 0 --max-open-listings 1000000000"), 0);
    traffic t = {.srv = &srv};
    assert_int_equal(testsrv_market_setup(&srv, &t.m, 1000000), 0);
    char *tok = testsrv_token_file(&srv, TESTSRV_TOKEN_SUP1);
    char out[600], err[600];
    snprintf(out, sizeof out, "%s/tail.out", getenv("TEST_TMP"));
    snprintf(err, sizeof err, "%s/tail.err", getenv("TEST_TMP"));
    const char *args[] = {"--url", srv.url, "--token-file", tok, "--heartbeat",
                          "1",     "tail",  "--after",      "0", NULL};
    pid_t pid = tproc_spawn_dealdesk(args, out, err);
    /* Everything so far (the market's setup) must come through first. */
    assert_true(wait_for_seq(out, testsrv_seq(&srv), 20000));

    pthread_t th;
    pthread_create(&th, NULL, traffic_main, &t);
    for (int k = 0; k < 20; k++) {
        /* Let some traffic through, then crash the server. */
        int64_t base = testsrv_seq(&srv);
        int64_t deadline = tproc_now_ms() + 5000;
        while (testsrv_seq(&srv) < base + 5 && tproc_now_ms() < deadline)
            tproc_nap(5);
        if (testsrv_seq(&srv) < base + 5) /* the crash must land while traffic flows */
            fail_msg("restart %d: no traffic (seq %lld, was %lld)", k, (long long)testsrv_seq(&srv),
                     (long long)base);
        testsrv_kill9(&srv);
        assert_int_equal(testsrv_restart(&srv), 0);
        /* The client must come back: it prints what was committed before the crash. */
        int64_t committed = testsrv_seq(&srv);
        if (!wait_for_seq(out, committed, 20000))
            fail_msg("restart %d: tail stuck at %lld, server at %lld", k, (long long)last_seq(out),
                     (long long)committed);
    }
    atomic_store(&t.stop, true);
    pthread_join(th, NULL);
    int64_t final = testsrv_seq(&srv);
    assert_true(wait_for_seq(out, final, 20000));
    assert_int_equal(tproc_stop_child(pid), 0);

    seqs s = read_seqs(out, true);
    assert_true(s.n > 100);
    for (size_t i = 0; i < s.n; i++)
        if (s.v[i] != (int64_t)i + 1)
            fail_msg("line %zu has seq %lld, expected %zu (every seq once, in order)", i,
                     (long long)s.v[i], i + 1);
    assert_int_equal(s.v[s.n - 1], final);

    testhttp_resp snap = {0};
    assert_non_null(snap.body = testsrv_state(&srv, TESTSRV_TOKEN_SUP1));
    assert_int_equal(testjson_int(snap.body, "seq"), final);
    compare_with_snapshot(&s, snap.body);
    testhttp_resp_free(&snap);

    testsrv_stop(&srv);
    seqs_free(&s);
    free(tok);
}

/* Records, then replays headless at full speed: identical lines. */
static void test_record_replay(void **state)
{
    (void)state;
    testsrv srv;
    assert_int_equal(testsrv_start(&srv, NULL), 0);
    traffic t = {.srv = &srv};
    assert_int_equal(testsrv_market_setup(&srv, &t.m, 1000000), 0);
    char *tok = testsrv_token_file(&srv, TESTSRV_TOKEN_SUP1);
    const char *tmp = getenv("TEST_TMP");
    char out[600], err[600], rec[600], out2[600], err2[600];
    snprintf(out, sizeof out, "%s/rr-tail.out", tmp);
    snprintf(err, sizeof err, "%s/rr-tail.err", tmp);
    snprintf(rec, sizeof rec, "%s/rr.rec", tmp);
    snprintf(out2, sizeof out2, "%s/rr-replay.out", tmp);
    snprintf(err2, sizeof err2, "%s/rr-replay.err", tmp);
    char after[32];
    snprintf(after, sizeof after, "%lld", (long long)testsrv_seq(&srv));
    const char *args[] = {"--url", srv.url, "--token-file", tok,   "--record",
                          rec,     "tail",  "--after",      after, NULL};
    pid_t pid = tproc_spawn_dealdesk(args, out, err);
    char pur[72];
    assert_int_equal(testsrv_market_purchase(&srv, &t.m, 50000, 2, pur), 0);
    int64_t target = testsrv_seq(&srv);
    assert_true(wait_for_seq(out, target, 20000));
    for (int i = 0; i < 30; i++) {
        testhttp_resp r = {0};
        char body[256];
        snprintf(body, sizeof body,
                 "{\"title\":\"r%d\",\"description\":\"\\u202e\",\"category\":\"bikes\","
                 "\"unit_price_minor\":10,\"currency\":\"USD\",\"quantity\":1}",
                 i);
        testsrv_post(&srv, t.m.seller_token, "/v1/listings", 0, body, &r);
        testhttp_resp_free(&r);
    }
    assert_true(wait_for_seq(out, testsrv_seq(&srv), 20000));
    assert_int_equal(tproc_stop_child(pid), 0);
    testsrv_stop(&srv);

    const char *rargs[] = {"replay", rec, "--speed", "0", "--headless", NULL};
    pid = tproc_spawn_dealdesk(rargs, out2, err2);
    int st;
    int64_t deadline = tproc_now_ms() + 20000;
    while (waitpid(pid, &st, WNOHANG) == 0 && tproc_now_ms() < deadline)
        tproc_nap(10);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    seqs a = read_seqs(out, true), b = read_seqs(out2, true);
    assert_true(a.n > 30);
    assert_int_equal(a.n, b.n);
    for (size_t i = 0; i < a.n; i++)
        assert_string_equal(a.lines[i], b.lines[i]);
    seqs_free(&a);
    seqs_free(&b);
    free(tok);
}

/* A server that stops sending (stalled behind a proxy: no heartbeats) is a dead
 * connection after three heartbeat periods; the client reconnects and catches up. */
static void test_dead_connection(void **state)
{
    (void)state;
    testsrv srv;
    assert_int_equal(testsrv_start(&srv, "--heartbeat 1"), 0);
    testsrv_market m;
    assert_int_equal(testsrv_market_setup(&srv, &m, 1000000), 0);
    faultproxy *fp = faultproxy_start(srv.port);
    assert_non_null(fp);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", faultproxy_port(fp));
    char *tok = testsrv_token_file(&srv, TESTSRV_TOKEN_SUP1);
    const char *tmp = getenv("TEST_TMP");
    char out[600], err[600];
    snprintf(out, sizeof out, "%s/dead.out", tmp);
    snprintf(err, sizeof err, "%s/dead.err", tmp);
    const char *args[] = {"--url", url, "--token-file", tok, "--heartbeat", "1", "tail", NULL};
    pid_t pid = tproc_spawn_dealdesk(args, out, err);
    /* It takes a snapshot first: make events until one after it is printed (live). */
    char pur[72];
    int64_t deadline = tproc_now_ms() + 20000;
    while (last_seq(out) == 0 && tproc_now_ms() < deadline) {
        assert_int_equal(testsrv_market_purchase(&srv, &m, 50000, 1, pur), 0);
        wait_for_seq(out, testsrv_seq(&srv), 300);
    }
    assert_true(wait_for_seq(out, testsrv_seq(&srv), 20000));
    faultproxy_stats s0;
    faultproxy_stats_get(fp, &s0);
    /* Stall: the open stream gets nothing more, not even heartbeats. */
    faultproxy_set(fp, FAULTPROXY_STALL, 0);
    assert_int_equal(testsrv_market_purchase(&srv, &m, 50000, 1, pur), 0);
    int64_t want = testsrv_seq(&srv);
    /* After 3 s of silence the client must give up on that connection; then the proxy
     * lets data through again and the new connection catches up. */
    deadline = tproc_now_ms() + 15000;
    faultproxy_stats s1 = s0;
    while (s1.connections == s0.connections && tproc_now_ms() < deadline) {
        tproc_nap(50);
        faultproxy_stats_get(fp, &s1);
    }
    assert_true(s1.connections > s0.connections);
    faultproxy_set(fp, 0, 0);
    faultproxy_cut_all(fp); /* the stalled attempts, if any */
    assert_true(wait_for_seq(out, want, 20000));
    assert_int_equal(tproc_stop_child(pid), 0);
    faultproxy_stop(fp);
    testsrv_stop(&srv);
    free(tok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tail_through_20_kills),
        cmocka_unit_test(test_record_replay),
        cmocka_unit_test(test_dead_connection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
