/* test_security_conns.c: a supervisor keeps its way into marketd while anonymous clients
 * hold what they may (issue 11 item 7: "Supervisors' tokens must stay able to connect
 * while an anonymous client is at its limit"; review finding 3), over raw sockets from
 * other loopback addresses (127.0.0.2 and up) to a real marketd (marketd/limits.c).
 *
 * - Requests stuck mid-body fill no more than the non-operators' share of the table: a
 *   supervisor's decision gets its answer during the flood.
 * - A supervisor's idle keep-alive connection is never closed for a newcomer.
 * - At the cap with every slot held mid-body, an operator's request pushes out one of
 *   them; anyone else's is refused (503).
 * - IPv6 clients count per /64 (forwarded through a trusted proxy: tests touch only
 *   loopback).
 * - A body below --min-body-rate is closed long before the request deadline; one above
 *   it is answered.
 * Every wait is for a state: a "100 Continue" (the server has read the headers and taken
 * the request), an answer, a counter in /metrics.
 */
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/proc.h"
#include "tests/lib/rawhttp.h"
#include "tests/lib/testsrv.h"

/* A request whose body is held: headers, then (after "100 Continue") one byte of 60000. */
#define HELD_HEAD                                                                                  \
    "POST /v1/listings HTTP/1.1\r\nHost: x\r\nIdempotency-Key: held-1\r\nExpect: "                 \
    "100-continue\r\nContent-Length: 60000\r\n\r\n"

static void start_with(testsrv *s, const char *args)
{
    assert_int_equal(testsrv_start(s, args), 0);
}

/* Sends req on fd and reads one answer (up to 10 s). Returns its status (0: none). */
static int ask(int fd, const char *req, rawans *a)
{
    assert_int_equal(tproc_send_all(fd, req, strlen(req)), 0);
    read_raw(fd, a, 10000, true);
    return raw_status(a->text);
}

/* A supervisor's request from 127.0.0.1 (POST with a body when body is not NULL) on a
 * fresh connection; returns its status (0: closed without an answer). */
static int supervisor(testsrv *s, const char *method, const char *path, long long version,
                      const char *body)
{
    static int key;
    char req[768], if_match[48] = "";
    if (version > 0) /* the fleet's decisions are conditional on its version */
        snprintf(if_match, sizeof if_match, "If-Match: \"%lld\"\r\n", version);
    snprintf(req, sizeof req,
             "%s %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nIdempotency-Key: "
             "conns-%d\r\n%sContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
             method, path, TESTSRV_TOKEN_SUP1, ++key, if_match, body ? strlen(body) : 0,
             body ? body : "");
    int fd = dial_from("127.0.0.1", s->port);
    assert_true(fd >= 0);
    rawans a;
    int st = ask(fd, req, &a);
    close(fd);
    return st;
}

/* Opens a held request from src: returns the fd when the server took it ("100 Continue",
 * then one body byte sent), -1 when it refused it (its status in *refused). */
static int hold_from(testsrv *s, const char *src, int *refused)
{
    int fd = dial_from(src, s->port);
    assert_true(fd >= 0);
    assert_int_equal(tproc_send_all(fd, HELD_HEAD, strlen(HELD_HEAD)), 0);
    rawans a;
    read_head(fd, &a, 10000);
    *refused = raw_status(a.text);
    if (*refused != 100) {
        close(fd);
        return -1;
    }
    assert_int_equal(tproc_send_all(fd, "{", 1), 0);
    return fd;
}

/* The value of /metrics line name, read on the operator's connection op (a GET on a
 * fresh connection would be a newcomer itself); -1 when absent. */
static long long metric_on(int op, const char *name)
{
    rawans a;
    char req[256];
    snprintf(req, sizeof req,
             "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n",
             TESTSRV_TOKEN_SUP1);
    assert_int_equal(ask(op, req, &a), 200);
    char m[112];
    snprintf(m, sizeof m, "\n%s ", name);
    const char *p = strstr(a.text, m);
    return p ? atoll(p + strlen(m)) : -1;
}

/* The limited_total counter of limit name, read on op (metric_on). */
static long long limited_on(int op, const char *name)
{
    char m[96];
    snprintf(m, sizeof m, "marketd_limited_total{limit=\"%s\"}", name);
    return metric_on(op, m);
}

/* Waits (up to 10 s) until marketd holds n connections, asking on op; returns the last
 * count. */
static long long wait_conns(int op, long long n)
{
    int64_t deadline = tproc_now_ms() + 10000;
    long long got;
    while ((got = metric_on(op, "marketd_connections")) != n && tproc_now_ms() < deadline)
        tproc_nap(20);
    return got;
}

/* Waits (up to 5 s) until the server closes one of fds[0..n); returns how many it closed
 * (those are set to -1 after closing them here). */
static int wait_one_closed(int *fds, int n)
{
    int gone = 0;
    int64_t deadline = tproc_now_ms() + 5000;
    do {
        for (int i = 0; i < n; i++)
            if (fds[i] >= 0 && closed_within(fds[i], 0)) {
                close(fds[i]);
                fds[i] = -1;
                gone++;
            }
        if (!gone)
            tproc_nap(20);
    } while (!gone && tproc_now_ms() < deadline);
    return gone;
}

/* The review's reproduction (tests/rev/slow_body_lockout.py): 4 addresses x 16 requests
 * stuck mid-body at --max-conns 64 --max-conns-per-addr 16. They get at most the
 * non-operators' share (64 - 4); a supervisor's resume is answered during the flood. */
static void test_slow_bodies_leave_room_for_supervisor(void **state)
{
    (void)state;
    testsrv s;
    /* no minimum body rate and a long deadline: only the reserve can let it in */
    start_with(&s, "--max-conns 64 --max-conns-per-addr 16 --min-body-rate 0 "
                   "--header-timeout 60");
    long long fleet_version = testsrv_fleet_version(&s); /* read before the flood */
    assert_int_equal(
        supervisor(&s, "POST", "/v1/fleet/halt", fleet_version, "{\"reason\":\"incident\"}"), 200);
    /* a console's connection, kept open to watch the table from */
    int op = dial_from("127.0.0.1", s.port);
    assert_true(op >= 0);
    assert_true(metric_on(op, "marketd_connections") >= 1);
    enum { ADDRS = 4, PER = 16 };
    int fds[ADDRS * PER], held = 0, refused503 = 0;
    for (int i = 0; i < ADDRS * PER; i++) {
        char src[32];
        snprintf(src, sizeof src, "127.0.0.%d", 2 + i / PER);
        int st;
        fds[i] = hold_from(&s, src, &st);
        held += fds[i] >= 0;
        refused503 += st == 503;
    }
    /* the refused ones gone: the held bodies and the console's connection */
    long long conns = wait_conns(op, held + 1);
    int st = supervisor(&s, "POST", "/v1/fleet/resume", fleet_version + 1, "{}");
    int still = 0;
    for (int i = 0; i < ADDRS * PER; i++)
        still += fds[i] >= 0 && !closed_within(fds[i], 0);
    printf("64 requests stuck mid-body at --max-conns 64: %d held, %d refused (503), %d still "
           "open; a supervisor's resume meanwhile: %d\n",
           held, refused503, still, st);
    assert_int_equal(held, 60);
    assert_int_equal(refused503, 4);
    assert_int_equal(conns, 61);
    assert_int_equal(st, 200);
    assert_int_equal(still, 60); /* none of them had to go for it */
    for (int i = 0; i < ADDRS * PER; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    close(op);
    testsrv_stop(&s);
}

/* A supervisor's idle keep-alive connection is never the one closed for a newcomer at the
 * cap: 15 idle connections fill --max-conns 16 beside it, then 25 newcomers each close the
 * oldest connection waiting for its headers; after the 15 older ones, that was the
 * supervisor's. */
static void test_operator_keepalive_not_evicted(void **state)
{
    (void)state;
    testsrv s;
    start_with(&s, "--max-conns 16 --header-timeout 60");
    int op = dial_from("127.0.0.1", s.port);
    assert_true(op >= 0);
    char who[256];
    snprintf(who, sizeof who,
             "GET /v1/whoami HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n",
             TESTSRV_TOKEN_SUP1);
    rawans a;
    assert_int_equal(ask(op, who, &a), 200);
    enum { FILL = 15, MORE = 25 };
    int fds[FILL + MORE];
    for (int i = 0; i < FILL; i++)
        assert_true((fds[i] = dial_from("127.0.0.2", s.port)) >= 0);
    assert_int_equal(wait_conns(op, 16), 16);
    for (int i = FILL; i < FILL + MORE; i++)
        assert_true((fds[i] = dial_from("127.0.0.2", s.port)) >= 0);
    /* every newcomer seen (asked on a fresh connection: the console's stays idle) */
    int64_t deadline = tproc_now_ms() + 10000;
    long long ev = 0;
    while ((ev = testsrv_metric(&s, "marketd_limited_total{limit=\"conns_evicted\"}")) < MORE &&
           tproc_now_ms() < deadline)
        tproc_nap(20);
    int st = ask(op, who, &a);
    printf("40 idle connections at --max-conns 16 beside a supervisor's keep-alive: %lld "
           "evicted; the supervisor's connection then: %d\n",
           ev, st);
    assert_true(ev >= MORE);
    assert_int_equal(st, 200);
    close(op);
    for (int i = 0; i < FILL + MORE; i++)
        close(fds[i]);
    testsrv_stop(&s);
}

/* Every slot held: 15 requests stuck mid-body (the share at --max-conns 16) and a
 * supervisor's connection. A second supervisor connection is taken into the reserve and,
 * its token seen, pushes out one stuck body; an anonymous request then is refused (503). */
static void test_operator_pushes_out_mid_body(void **state)
{
    (void)state;
    testsrv s;
    start_with(&s, "--max-conns 16 --max-conns-per-addr 64 --min-body-rate 0 "
                   "--header-timeout 60");
    enum { SHARE = 15 };
    int fds[SHARE], st;
    for (int i = 0; i < SHARE; i++) {
        fds[i] = hold_from(&s, "127.0.0.2", &st);
        assert_int_equal(st, 100);
    }
    int op = dial_from("127.0.0.1", s.port);
    assert_true(op >= 0);
    assert_int_equal(wait_conns(op, 16), 16);
    assert_int_equal(limited_on(op, "conns_pushed"), 0); /* 16 of 16: no one had to go */
    char who[256];
    snprintf(who, sizeof who,
             "GET /v1/whoami HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n",
             TESTSRV_TOKEN_SUP1);
    int second = dial_from("127.0.0.1", s.port);
    assert_true(second >= 0);
    rawans a;
    int second_st = ask(second, who, &a);
    int gone = wait_one_closed(fds, SHARE);
    long long pushed = limited_on(op, "conns_pushed");
    /* 16 again (the console's two and 14 stuck bodies) once the pushed one is freed */
    assert_int_equal(wait_conns(op, 16), 16);
    int anon = dial_from("127.0.0.3", s.port);
    assert_true(anon >= 0);
    int anon_st = ask(anon, "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n", &a);
    printf("a supervisor's second connection with 16 of 16 held: %d, %lld pushed out (%d "
           "closed); an anonymous request then: %d\n",
           second_st, pushed, gone, anon_st);
    assert_int_equal(second_st, 200);
    assert_int_equal(pushed, 1);
    assert_int_equal(gone, 1);
    assert_int_equal(anon_st, 503);
    assert_non_null(find_nocase(a.text, "Retry-After:"));
    assert_non_null(strstr(a.text, "too_many_connections"));
    assert_int_equal(limited_on(op, "conns_share"), 1);
    assert_int_equal(wait_one_closed(fds, 0), 0);
    for (int i = 0; i < SHARE; i++) /* none other had to go */
        if (fds[i] >= 0) {
            assert_false(closed_within(fds[i], 0));
            close(fds[i]);
        }
    close(anon);
    close(second);
    close(op);
    testsrv_stop(&s);
}

/* IPv6 clients count per /64: two held requests from 2001:db8:0:1::a and ::b (forwarded
 * by a trusted proxy) put that /64 at --max-conns-per-addr 2; ::c of it is refused, an
 * address of another /64 is not. */
static void test_ipv6_counts_per_64(void **state)
{
    (void)state;
    testsrv s;
    start_with(&s, "--trusted-proxy 127.0.0.8 --max-conns-per-addr 2 --min-body-rate 0");
    const char *from[2] = {"2001:db8:0:1::a", "2001:db8:0:1::b"};
    int h[2];
    rawans a;
    for (int i = 0; i < 2; i++) {
        char req[256];
        snprintf(req, sizeof req,
                 "POST /v1/listings HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: %s\r\nExpect: "
                 "100-continue\r\nContent-Length: 2\r\n\r\n",
                 from[i]);
        h[i] = dial_from("127.0.0.8", s.port);
        assert_true(h[i] >= 0);
        assert_int_equal(tproc_send_all(h[i], req, strlen(req)), 0);
        read_head(h[i], &a, 10000);
        assert_int_equal(raw_status(a.text), 100);
    }
    int same = dial_from("127.0.0.8", s.port), other = dial_from("127.0.0.8", s.port);
    int st_same = ask(
        same, "GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 2001:db8:0:1::c\r\n\r\n", &a);
    int st_other =
        ask(other, "GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 2001:db8:0:2::a\r\n\r\n",
            &a);
    printf("2001:db8:0:1::/64 holding 2 requests at --max-conns-per-addr 2: ::c %d, "
           "2001:db8:0:2::a %d\n",
           st_same, st_other);
    assert_int_equal(st_same, 429);
    assert_int_equal(st_other, 200);
    close(same);
    close(other);
    close(h[0]);
    close(h[1]);
    testsrv_stop(&s);
}

/* Sends a 1000-byte body step bytes every 100 ms after the headers; returns the answer's
 * status (0 when the server closed first) and the time taken in *ms. */
static int trickle(testsrv *s, int step, int64_t *ms)
{
    int fd = dial_from("127.0.0.4", s->port);
    assert_true(fd >= 0);
    const char *head = "POST /v1/listings HTTP/1.1\r\nHost: x\r\nIdempotency-Key: t-1\r\n"
                       "Content-Length: 1000\r\n\r\n";
    assert_int_equal(tproc_send_all(fd, head, strlen(head)), 0);
    char chunk[1000];
    memset(chunk, 'x', sizeof chunk);
    int64_t t0 = tproc_now_ms();
    bool spoke = false; /* the server answered or closed: what it sent is read below */
    for (int sent = 0; sent < 1000 && !spoke && tproc_now_ms() - t0 < 30000; sent += step) {
        if (tproc_send_all(fd, chunk, (size_t)step) != 0)
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        spoke = poll(&p, 1, 100) > 0;
    }
    rawans a;
    read_raw(fd, &a, 10000, true);
    *ms = tproc_now_ms() - t0;
    close(fd);
    return raw_status(a.text);
}

/* A body sent at 10 bytes a second is closed at --min-body-rate 200, long before the
 * 30 s request deadline; one sent at 1,000 bytes a second is answered. */
static void test_min_body_rate(void **state)
{
    (void)state;
    testsrv s;
    start_with(&s, "--min-body-rate 200 --header-timeout 30");
    int64_t slow_ms, fast_ms;
    int slow = trickle(&s, 1, &slow_ms);
    int fast = trickle(&s, 100, &fast_ms);
    printf("a 1000-byte body at --min-body-rate 200: at 10 B/s closed after %lld ms (status "
           "%d); at 1000 B/s answered %d after %lld ms\n",
           (long long)slow_ms, slow, fast, (long long)fast_ms);
    assert_int_equal(slow, 0);
    assert_true(slow_ms < 15000);
    assert_int_equal(testsrv_metric(&s, "marketd_limited_total{limit=\"body_rate\"}"), 1);
    assert_int_equal(testsrv_metric(&s, "marketd_limited_total{limit=\"header_timeout\"}"), 0);
    assert_int_equal(fast, 401); /* read whole, then answered: no token */
    testsrv_stop(&s);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_bodies_leave_room_for_supervisor),
        cmocka_unit_test(test_operator_keepalive_not_evicted),
        cmocka_unit_test(test_operator_pushes_out_mid_body),
        cmocka_unit_test(test_ipv6_counts_per_64),
        cmocka_unit_test(test_min_body_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
