/* test_marketd_presence.c: presence and the unattended switch against a real marketd
 * (docs/api.md, "Presence"; issue 16).
 *
 * A console is an event stream opened with ?console=1 (a raw socket here, so that the
 * test closes it when it chooses); presence needs it and keyboard input (POST
 * /v1/presence) within the window; a stream without console=1 is never presence; input
 * past the window (--presence-window 2) ends it, waited for as a state. The switch:
 * restrict refuses new negotiations (409 unattended) and stops the approval threshold
 * from approving, and lifts when a supervisor returns; halt halts the fleet by "market";
 * the state survives kill -9 and a restart. Every wait is for a state, with a deadline.
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
#include <time.h>
#include <unistd.h>

#include "tests/lib/rawhttp.h"
#include "tests/lib/srvcheck.h"
#include "tests/lib/testsrv.h"

static testsrv srv;
static testsrv_market mk;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap(void)
{
    struct timespec ts = {0, 20 * 1000000L};
    nanosleep(&ts, NULL);
}

/* Opens an event stream as token (console: with ?console=1) on a raw socket and reads
 * its head: the fd, counted by the server once the head is in. */
static int open_stream(const char *token, bool console)
{
    int fd = dial_from("127.0.0.1", srv.port);
    assert_true(fd >= 0);
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET /v1/events%s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                     "%s\r\nAccept: text/event-stream\r\n\r\n",
                     console ? "?console=1" : "", token);
    assert_int_equal(write(fd, req, (size_t)n), n);
    rawans a;
    read_head(fd, &a, 5000);
    assert_int_equal(raw_status(a.text), 200);
    return fd;
}

/* Waits (10 s at most) until GET path's JSON has the integer at jpath equal to want;
 * returns the milliseconds it took. */
static int64_t wait_int(const char *path, const char *jpath, long long want)
{
    int64_t t0 = mono_ms();
    for (;;) {
        char *b = testsrv_get_ok(&srv, path);
        long long v = testjson_int(b, jpath);
        free(b);
        if (v == want)
            return mono_ms() - t0;
        assert_true(mono_ms() - t0 < 10000);
        nap();
    }
}

/* Waits (10 s at most) until GET path's JSON has an array or object of n at jpath. */
static void wait_len(const char *path, const char *jpath, long long n)
{
    int64_t t0 = mono_ms();
    for (;;) {
        char *b = testsrv_get_ok(&srv, path);
        long long v = testjson_len(b, jpath);
        free(b);
        if (v == n)
            return;
        assert_true(mono_ms() - t0 < 10000);
        nap();
    }
}

/* Waits until the fleet's unattended.since is set (set) or null (!set). */
static void wait_unattended(bool set)
{
    int64_t t0 = mono_ms();
    for (;;) {
        char *b = testsrv_get_ok(&srv, "/v1/fleet");
        bool null = testjson_null(b, "unattended.since");
        free(b);
        if (null != set)
            return;
        assert_true(mono_ms() - t0 < 10000);
        nap();
    }
}

static int teardown(void **state)
{
    (void)state;
    testsrv_stop(&srv);
    return 0;
}

/* A console with input is presence; a console without input is not; a stream without
 * console=1 is not (whatever it posts); closing the last console ends it; viewers count
 * apart; each change is a presence.updated event. */
static void test_console_and_input(void **state)
{
    (void)state;
    assert_int_equal(testsrv_start(&srv, NULL), 0);
    long long seq0 = testsrv_seq(&srv);
    int tail = open_stream(TESTSRV_TOKEN_SUP1, false);
    free(testsrv_post_want(&srv, TESTSRV_TOKEN_SUP1, "/v1/presence", 0, "{}", 200));
    char *b = testsrv_get_ok(&srv, "/v1/presence");
    assert_int_equal(testjson_len(b, "supervisors"), 0); /* a tail is not presence */
    free(b);
    int con = open_stream(TESTSRV_TOKEN_SUP1, true);
    wait_int("/v1/presence", "supervisors.0.consoles", 1); /* the input above counts */
    close(tail);
    int con2 = open_stream(TESTSRV_TOKEN_SUP2, true);
    b = testsrv_get_ok(&srv, "/v1/presence");
    assert_int_equal(testjson_len(b, "supervisors"), 1); /* sup2: a console, no input */
    free(b);
    b = testsrv_post_want(&srv, TESTSRV_TOKEN_SUP2, "/v1/presence", 0, "{\"idle_s\":3}", 200);
    char name[32], since[40], seen[40];
    assert_true(testjson_str(b, "supervisors.1.name", name, sizeof name));
    assert_string_equal(name, "sup2");
    assert_true(testjson_str(b, "supervisors.1.since", since, sizeof since));
    assert_true(testjson_str(b, "supervisors.1.last_seen", seen, sizeof seen));
    assert_true(strcmp(seen, since) < 0); /* input 3 s before it was reported */
    free(b);
    int view = open_stream(TESTSRV_TOKEN_VIEW1, true);
    wait_int("/v1/presence", "viewers", 1);
    close(con);
    wait_len("/v1/presence", "supervisors", 1); /* sup1 left with its console */
    b = testsrv_get_ok(&srv, "/v1/presence");
    assert_true(testjson_str(b, "supervisors.0.name", name, sizeof name));
    assert_string_equal(name, "sup2");
    free(b);
    close(con2);
    wait_len("/v1/presence", "supervisors", 0);
    close(view);
    wait_int("/v1/presence", "viewers", 0);
    /* sup1 came, sup2 came, the viewer, sup1 left, sup2 left, the viewer left */
    assert_true(testsrv_seq(&srv) - seq0 >= 6);
    /* viewers read presence, may not report it; agents neither */
    testhttp_resp r;
    assert_int_equal(testsrv_post(&srv, TESTSRV_TOKEN_VIEW1, "/v1/presence", 0, "{}", &r), 0);
    assert_int_equal(r.status, 403);
    testhttp_resp_free(&r);
    assert_int_equal(testsrv_get(&srv, TESTSRV_TOKEN_VIEW1, "/v1/presence", &r), 0);
    assert_int_equal(r.status, 200);
    testhttp_resp_free(&r);
    assert_int_equal(testsrv_market_setup(&srv, &mk, 0), 0);
    assert_int_equal(testsrv_get(&srv, mk.buyer_token, "/v1/presence", &r), 0);
    assert_int_equal(r.status, 403);
    testhttp_resp_free(&r);
    assert_int_equal(testsrv_post(&srv, mk.buyer_token, "/v1/presence", 0, "{}", &r), 0);
    assert_int_equal(r.status, 403);
    testhttp_resp_free(&r);
}

/* Input counts for the window only (--presence-window 2): presence ends by itself, no
 * sooner than the window after the input, while the console stays connected. */
static void test_window(void **state)
{
    (void)state;
    assert_int_equal(testsrv_start(&srv, "--presence-window 2"), 0);
    int con = open_stream(TESTSRV_TOKEN_SUP1, true);
    int64_t t0 = mono_ms();
    char *b = testsrv_post_want(&srv, TESTSRV_TOKEN_SUP1, "/v1/presence", 0, "{}", 200);
    assert_int_equal(testjson_len(b, "supervisors"), 1);
    free(b);
    for (;;) {
        b = testsrv_get_ok(&srv, "/v1/presence");
        long long n = testjson_len(b, "supervisors");
        free(b);
        if (n == 0)
            break;
        assert_true(mono_ms() - t0 < 10000);
        nap();
    }
    assert_true(mono_ms() - t0 >= 1900);
    /* input reported as older than the window is not presence; new input is */
    b = testsrv_post_want(&srv, TESTSRV_TOKEN_SUP1, "/v1/presence", 0, "{\"idle_s\":5}", 200);
    assert_int_equal(testjson_len(b, "supervisors"), 0);
    free(b);
    b = testsrv_post_want(&srv, TESTSRV_TOKEN_SUP1, "/v1/presence", 0, "{}", 200);
    assert_int_equal(testjson_len(b, "supervisors"), 1);
    free(b);
    close(con);
}

/* Makes a negotiation on the listing (the buyer's offer at 50000 x qty), expecting
 * status want: its id into neg (when not NULL). */
static void open_negotiation(char neg[72], int qty, long want)
{
    char body[256];
    snprintf(body, sizeof body,
             "{\"listing_id\":\"%s\",\"unit_price_minor\":50000,\"quantity\":%d,\"text\":\"o\"}",
             mk.listing_id, qty);
    char *b = testsrv_post_want(&srv, mk.buyer_token, "/v1/negotiations", 0, body, want);
    if (neg)
        assert_true(testjson_str(b, "negotiation.id", neg, 72));
    if (want == 409) {
        char code[32];
        assert_true(testjson_str(b, "error", code, sizeof code));
        assert_string_equal(code, "unattended");
    }
    free(b);
}

/* The seller accepts neg: the purchase's JSON (owned). */
static char *accept(const char *neg)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/negotiations/%s/messages", neg);
    char *b = testsrv_post_want(&srv, mk.seller_token, path, 0,
                                "{\"kind\":\"accept\",\"text\":\"deal\"}", 201);
    return b;
}

/* restrict: unwatched for 1 s, new negotiations get 409 unattended and a purchase the
 * approval threshold would approve waits for a person; a supervisor's return lifts it;
 * the state survives kill -9 and a restart. */
static void test_restrict(void **state)
{
    (void)state;
    assert_int_equal(testsrv_start(&srv, "--unattended 1 --decide-timeout 600"), 0);
    int con = open_stream(TESTSRV_TOKEN_SUP1, true);
    free(testsrv_post_want(&srv, TESTSRV_TOKEN_SUP1, "/v1/presence", 0, "{}", 200));
    wait_unattended(false);
    char *b = testsrv_get_ok(&srv, "/v1/fleet");
    assert_int_equal(testjson_int(b, "unattended.after_s"), 1);
    char action[32], st[32];
    assert_true(testjson_str(b, "unattended.action", action, sizeof action));
    assert_string_equal(action, "restrict");
    free(b);
    assert_int_equal(testsrv_market_setup(&srv, &mk, 100000000), 0); /* threshold approves */
    char neg1[72], neg2[72];
    open_negotiation(neg1, 1, 201);
    open_negotiation(neg2, 2, 201); /* not a duplicate of neg1 */
    close(con);
    wait_unattended(true);
    open_negotiation(NULL, 3, 409);
    b = accept(neg1); /* a negotiation open before goes on; its purchase waits */
    assert_true(testjson_str(b, "purchase.status", st, sizeof st));
    assert_string_equal(st, "pending_approval");
    assert_non_null(strstr(b, "\"unattended\":true")); /* the switch kept it waiting */
    free(b);
    /* the state survives a crash and a restart */
    testsrv_kill9(&srv);
    assert_int_equal(testsrv_restart(&srv), 0);
    b = testsrv_get_ok(&srv, "/v1/fleet");
    assert_int_equal(testjson_null(b, "unattended.since"), 0);
    free(b);
    open_negotiation(NULL, 3, 409);
    /* a supervisor returns: lifted at once */
    con = open_stream(TESTSRV_TOKEN_SUP2, true);
    free(testsrv_post_want(&srv, TESTSRV_TOKEN_SUP2, "/v1/presence", 0, "{}", 200));
    b = testsrv_get_ok(&srv, "/v1/fleet");
    assert_int_equal(testjson_null(b, "unattended.since"), 1);
    free(b);
    b = accept(neg2); /* the threshold approves again */
    assert_true(testjson_str(b, "purchase.status", st, sizeof st));
    assert_string_equal(st, "settled");
    free(b);
    open_negotiation(NULL, 3, 201);
    close(con);
}

/* halt: unwatched for 1 s, the fleet halts by "market" with a reason that says why; a
 * supervisor's return ends the unattended state but not the halt. */
static void test_halt(void **state)
{
    (void)state;
    assert_int_equal(testsrv_start(&srv, "--unattended 1:halt"), 0);
    int64_t t0 = mono_ms();
    char st[32] = "", by[32], reason[400];
    while (strcmp(st, "halted") != 0) {
        char *b = testsrv_get_ok(&srv, "/v1/fleet");
        assert_true(testjson_str(b, "status", st, sizeof st));
        free(b);
        assert_true(mono_ms() - t0 < 10000);
        if (strcmp(st, "halted") != 0)
            nap();
    }
    char *b = testsrv_get_ok(&srv, "/v1/fleet");
    assert_true(testjson_str(b, "by", by, sizeof by));
    assert_string_equal(by, "market");
    assert_true(testjson_str(b, "reason", reason, sizeof reason));
    assert_non_null(strstr(reason, "no supervisor present for 1 s"));
    assert_true(testjson_str(b, "unattended.action", st, sizeof st));
    assert_string_equal(st, "halt");
    free(b);
    int con = open_stream(TESTSRV_TOKEN_SUP1, true);
    free(testsrv_post_want(&srv, TESTSRV_TOKEN_SUP1, "/v1/presence", 0, "{}", 200));
    b = testsrv_get_ok(&srv, "/v1/fleet");
    assert_int_equal(testjson_null(b, "unattended.since"), 1);
    assert_true(testjson_str(b, "status", st, sizeof st));
    assert_string_equal(st, "halted"); /* a person resumes it */
    free(b);
    free(testsrv_post_want(&srv, TESTSRV_TOKEN_SUP1, "/v1/fleet/resume",
                           testsrv_fleet_version(&srv), "{}", 200));
    close(con);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_console_and_input, teardown),
        cmocka_unit_test_teardown(test_window, teardown),
        cmocka_unit_test_teardown(test_restrict, teardown),
        cmocka_unit_test_teardown(test_halt, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
