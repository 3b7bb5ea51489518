/* test_marketd_multi_shared.c: what several marketd instances on one PostgreSQL
 * database share besides the market's objects (issue 18; docs/scaling.md,
 * marketd/store_pg_multi.c): presence and the unattended switch (marketd/presence.c),
 * and the agents' rate limits (marketd/ratelimit.c).
 *
 * - A console stream on instance A and keyboard input posted to A make the market
 *   attended when read from B: B's GET /v1/presence names the supervisor, and B (which
 *   runs no switch) lets new negotiations through.
 * - The switch (run by the leading instance only) acts only when no instance has a
 *   present supervisor: with the supervisor's console and input on the other instance
 *   alone, it stays attended past after_s (a purchase's decide_by, 2 s, passing on the
 *   leader's tick proves the time went by); with no console anywhere it acts.
 * - A dead instance's rows stop counting: kill -9 of the instance holding the only
 *   console, and the survivor finds nobody present and switches to unattended.
 * - One agent's requests spread over two instances get the market's burst, not twice
 *   it: the bucket is one row, taken from by the database's clock; the refusal carries
 *   Retry-After on either instance.
 *
 * PostgreSQL only: on the SQLite run (or without the PostgreSQL run of tests/run.sh) each
 * test says it is skipped. Every wait is for a state, with a deadline.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/pgtest.h"
#include "tests/lib/proc.h"
#include "tests/lib/rawhttp.h"
#include "tests/lib/srvcheck.h"
#include "tests/lib/testsrv.h"

/* Skips the running test (saying why) unless this is the PostgreSQL run. */
#define NEED_PG()                                                                                  \
    do {                                                                                           \
        if (!pgtest_engine() || !pgtest_cluster()) {                                               \
            print_message("skipped: several instances need the PostgreSQL run of "                 \
                          "tests/run.sh\n");                                                       \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* Opens a console's event stream (?console=1) as token on s (a raw socket, closed when
 * the test chooses) and reads its head: the fd, counted by the server once the head is in
 * (marketd/http.c calls market_console before answering). */
static int open_console(testsrv *s, const char *token)
{
    int fd = dial_from("127.0.0.1", s->port);
    assert_true(fd >= 0);
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET /v1/events?console=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: "
                     "Bearer %s\r\nAccept: text/event-stream\r\n\r\n",
                     token);
    assert_int_equal(write(fd, req, (size_t)n), n);
    rawans a;
    read_head(fd, &a, 5000);
    assert_int_equal(raw_status(a.text), 200);
    return fd;
}

/* Waits (bounded) until the fleet read through s has its unattended.since set (set) or
 * null (!set). */
static void wait_unattended(testsrv *s, bool set, int within_ms)
{
    int64_t deadline = tproc_now_ms() + within_ms;
    for (;;) {
        char *b = testsrv_get_ok(s, "/v1/fleet");
        bool null = testjson_null(b, "unattended.since");
        free(b);
        if (null != set)
            return;
        if (tproc_now_ms() > deadline)
            fail_msg("unattended.since still %s after %d ms", set ? "null" : "set", within_ms);
        tproc_nap(20);
    }
}

/* The buyer opens a negotiation through s: its status (201, or 409 while unattended). */
static long negotiate(testsrv *s, const testsrv_market *t, int qty)
{
    char body[256];
    snprintf(body, sizeof body,
             "{\"listing_id\":\"%s\",\"unit_price_minor\":50000,\"quantity\":%d,\"text\":\"o\"}",
             t->listing_id, qty);
    testhttp_resp r;
    assert_int_equal(testsrv_post(s, t->buyer_token, "/v1/negotiations", 0, body, &r), 0);
    long st = r.status;
    testhttp_resp_free(&r);
    return st;
}

/* Waits (bounded) until purchase pur, read through s, is no longer pending_approval. */
static void wait_decided(testsrv *s, const char *pur)
{
    char path[128], st[32];
    snprintf(path, sizeof path, "/v1/purchases/%s", pur);
    int64_t deadline = tproc_now_ms() + 30000;
    for (;;) {
        char *b = testsrv_get_ok(s, path);
        assert_true(testjson_str(b, "status", st, sizeof st));
        free(b);
        if (strcmp(st, "pending_approval") != 0)
            break;
        if (tproc_now_ms() > deadline)
            fail_msg("%s still pending 30 s after its decide_by", pur);
        tproc_nap(50);
    }
    assert_string_equal(st, "expired");
}

/* GET /v1/presence through s: how many supervisors are present; the first one's name and
 * consoles into name and *consoles when there is one. */
static long long present_on(testsrv *s, char name[32], long long *consoles)
{
    char *b = testsrv_get_ok(s, "/v1/presence");
    long long n = testjson_len(b, "supervisors");
    if (n > 0) {
        assert_true(testjson_str(b, "supervisors.0.name", name, 32));
        *consoles = testjson_int(b, "supervisors.0.consoles");
    }
    free(b);
    return n;
}

#define OPTS "--unattended 1 --decide-timeout 2"

static void test_presence_across_instances(void **state)
{
    (void)state;
    NEED_PG();
    testsrv a, b;
    assert_int_equal(testsrv_start(&a, OPTS), 0); /* the first: it leads */
    assert_int_equal(testsrv_start_on(&b, &a, OPTS), 0);
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&a, &t, 0), 0); /* every purchase waits */
    /* nobody anywhere: unattended, and b (which runs no switch) restricts as well */
    wait_unattended(&b, true, 15000);
    char name[32] = "";
    long long consoles = 0;
    assert_int_equal(present_on(&b, name, &consoles), 0);
    /* a console on a with input posted to a: attended, as b reads it */
    int con = open_console(&a, TESTSRV_TOKEN_SUP1);
    free(testsrv_post_want(&a, TESTSRV_TOKEN_SUP1, "/v1/presence", 0, "{}", 200));
    assert_int_equal(present_on(&b, name, &consoles), 1);
    assert_string_equal(name, "sup1");
    assert_int_equal(consoles, 1);
    wait_unattended(&b, false, 15000);
    assert_int_equal(negotiate(&b, &t, 1), 201);
    /* the console leaves a: nobody anywhere, the switch acts */
    close(con);
    wait_unattended(&b, true, 15000);
    assert_int_equal(negotiate(&b, &t, 2), 409);
    /* a console on b with input posted to b: the leader lifts the state, and keeps it
     * lifted past after_s (1 s) while the supervisor is present on b alone */
    con = open_console(&b, TESTSRV_TOKEN_SUP2);
    free(testsrv_post_want(&b, TESTSRV_TOKEN_SUP2, "/v1/presence", 0, "{}", 200));
    assert_int_equal(present_on(&a, name, &consoles), 1);
    assert_string_equal(name, "sup2");
    wait_unattended(&a, false, 15000);
    char pur[72];
    assert_int_equal(testsrv_market_purchase(&a, &t, 50000, 3, pur), 0);
    wait_decided(&a, pur); /* expired 2 s on by the leader's tick: the switch had its turn */
    wait_unattended(&a, false, 0);
    assert_int_equal(negotiate(&a, &t, 4), 201);
    /* b dies with the only console: its rows stop counting, and the switch acts */
    testsrv_kill9(&b);
    close(con);
    wait_unattended(&a, true, 30000);
    assert_int_equal(present_on(&a, name, &consoles), 0);
    assert_int_equal(negotiate(&a, &t, 5), 409);
    testsrv_stop(&b);
    testsrv_stop(&a);
}

/* GET /v1/listings as the buyer through s: the status, and Retry-After into *retry. */
static long agent_get(testsrv *s, const testsrv_market *t, long *retry)
{
    testhttp_resp r;
    assert_int_equal(testsrv_get(s, t->buyer_token, "/v1/listings", &r), 0);
    long st = r.status;
    char h[16] = "";
    *retry = testhttp_header(&r, "Retry-After", h, sizeof h) ? atol(h) : 0;
    testhttp_resp_free(&r);
    return st;
}

/* --agent-burst 6 at 0.01 a second (a token in 100 s, so none comes back during the
 * test): twelve requests alternating between two instances get six 200s, and the rest
 * 429 with Retry-After, on both (each instance's own bucket would let all twelve by). */
static void test_rate_limit_across_instances(void **state)
{
    (void)state;
    NEED_PG();
    testsrv a, b;
    assert_int_equal(testsrv_start(&a, "--agent-rate 0.01 --agent-burst 6"), 0);
    assert_int_equal(testsrv_start_on(&b, &a, "--agent-rate 0.01 --agent-burst 6"), 0);
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&a, &t, 0), 0); /* by a supervisor: unlimited */
    int ok = 0, refused[2] = {0, 0};
    for (int i = 0; i < 12; i++) {
        long retry = 0, st = agent_get(i % 2 ? &b : &a, &t, &retry);
        if (st == 200) {
            ok++;
            continue;
        }
        assert_int_equal(st, 429);
        assert_true(retry >= 1);
        refused[i % 2]++;
    }
    assert_int_equal(ok, 6);
    assert_int_equal(refused[0], 3);
    assert_int_equal(refused[1], 3);
    assert_int_equal(testsrv_metric(&a, "marketd_rate_limited_total") +
                         testsrv_metric(&b, "marketd_rate_limited_total"),
                     6);
    testsrv_stop(&b);
    testsrv_stop(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_presence_across_instances),
        cmocka_unit_test(test_rate_limit_across_instances),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
