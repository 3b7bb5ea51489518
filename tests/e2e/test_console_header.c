/* test_console_header.c: the header is always true (issue 12). Before the market has
 * been read the fleet and the counts show as unknown and the connection says why it is
 * not live and when it tries again (a closed port: refused; a wrong token: unauthorized,
 * no retry; https to a plain-HTTP server: TLS); after a live stream is lost, what is shown is
 * marked stale, and live again once the server is back. All at 80x24. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/e2e.h"
#include "tests/lib/proc.h"

#define WAIT_MS 15000

/* The two header lines (rows 0 and 1) of the screen. */
static void header(vt *t, char *out, size_t size)
{
    char r0[512], r1[512];
    vt_row(t, 0, r0, sizeof r0);
    vt_row(t, 1, r1, sizeof r1);
    snprintf(out, size, "%s\n%s", r0, r1);
}

/* Asserts that the header claims nothing about a market it has not read. */
static void assert_claims_nothing(vt *t)
{
    char h[1100];
    header(t, h, sizeof h);
    if (strstr(h, "FLEET RUNNING") || strstr(h, "FLEET HALTED") || strstr(h, "0 pending") ||
        strstr(h, "0 critical") || strstr(h, "live")) {
        vt_dump(t, "a header that claims what it does not know");
        fail_msg("the header claims a market it has not read:\n%s", h);
    }
}

/* A loopback TCP port on which nothing listens: bound (so no one else takes it) and
 * never listened on, so a connection is refused. Returns the socket (close it after). */
static int closed_port(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* True when the countdown to the next try is 3 s or more (the third failure's). */
static bool long_retry(vt *t, void *ud)
{
    (void)ud;
    return vt_contains(t, "retry in 3s") || vt_contains(t, "retry in 4s");
}

/* Connecting to a closed port: the header says OFFLINE refused with the next try, and
 * FLEET ? / pending ? / alerts ?, for as long as it lasts (two retries seen). */
static void test_closed_port_before_first_snapshot(void **state)
{
    e2e_market *m = *state;
    int port;
    int fd = closed_port(&port);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    vt *t = e2e_dealdesk_at(m, url, 24, 80, m->sup1_file, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, "OFFLINE refused", WAIT_MS));
    assert_true(e2e_wait(t, "retry in", WAIT_MS));
    assert_true(e2e_wait(t, "FLEET ?", WAIT_MS));
    assert_true(e2e_wait(t, "pending ?", WAIT_MS));
    assert_true(e2e_wait(t, "alerts ?", WAIT_MS));
    assert_claims_nothing(t);
    /* two retries later (the backoff doubles: 0.5-1 s, 1-2 s, then 2-4 s): still true */
    if (!vt_wait(t, long_retry, NULL, WAIT_MS)) {
        vt_dump(t, "waiting for the third try's countdown");
        fail();
    }
    assert_true(vt_contains(t, "OFFLINE refused"));
    assert_claims_nothing(t);
    e2e_quit(t);
    close(fd);
}

/* A token the server refuses: OFFLINE unauthorized, not retrying; nothing claimed. */
static void test_refused_token_before_first_snapshot(void **state)
{
    e2e_market *m = *state;
    char path[600];
    snprintf(path, sizeof path, "%s/wrong-token", getenv("TEST_TMP"));
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("not-a-token-the-server-knows-0123456789\n", f);
    fclose(f);
    assert_int_equal(chmod(path, 0600), 0);
    vt *t = e2e_dealdesk(m, 24, 80, path, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, "OFFLINE unauthorized", WAIT_MS));
    assert_true(e2e_wait(t, "not retrying", WAIT_MS));
    assert_true(e2e_wait(t, "FLEET ?", WAIT_MS));
    assert_true(e2e_wait(t, "pending ?", WAIT_MS));
    assert_claims_nothing(t);
    e2e_quit(t);
}

/* https:// to a plain-HTTP server: the TLS handshake fails, and the header says TLS. */
static void test_tls_failure_named(void **state)
{
    e2e_market *m = *state;
    char url[64];
    snprintf(url, sizeof url, "https://127.0.0.1:%d", m->srv.port);
    vt *t = e2e_dealdesk_at(m, url, 24, 80, m->sup1_file, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, "OFFLINE TLS", WAIT_MS));
    assert_true(e2e_wait(t, "FLEET ?", WAIT_MS));
    assert_claims_nothing(t);
    e2e_quit(t);
}

/* True when the header shows the fleet as live and unmarked (not "RUNNING?"). */
static bool fleet_live(vt *t, void *ud)
{
    (void)ud;
    char h[1100];
    header(t, h, sizeof h);
    return strstr(h, "FLEET RUNNING ") && !strstr(h, "RUNNING?") && strstr(h, "live") &&
           !strstr(h, "as of");
}

/* After a live stream is lost: OFFLINE with the reason and the next try, the fleet and
 * the counts marked stale ("RUNNING?", "as of HH:MM:SS"); live and unmarked once back. */
static void test_stale_after_disconnect(void **state)
{
    e2e_market *m = *state;
    vt *t = e2e_dealdesk(m, 24, 80, m->sup1_file, NULL, NULL);
    assert_non_null(t);
    if (!vt_wait(t, fleet_live, NULL, WAIT_MS)) {
        vt_dump(t, "waiting for a live header");
        fail();
    }
    testsrv_kill9(&m->srv);
    assert_true(e2e_wait(t, "OFFLINE", WAIT_MS));
    assert_true(e2e_wait(t, "retry in", WAIT_MS));
    assert_true(e2e_wait(t, "FLEET RUNNING?", WAIT_MS));
    assert_true(e2e_wait(t, "as of ", WAIT_MS));
    char h[1100];
    header(t, h, sizeof h);
    assert_null(strstr(h, "live"));
    assert_int_equal(testsrv_restart(&m->srv), 0);
    if (!vt_wait(t, fleet_live, NULL, 30000)) {
        vt_dump(t, "waiting for the header to be live again");
        fail();
    }
    e2e_quit(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_closed_port_before_first_snapshot),
        cmocka_unit_test(test_refused_token_before_first_snapshot),
        cmocka_unit_test(test_tls_failure_named),
        cmocka_unit_test(test_stale_after_disconnect),
    };
    return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
