/* test_marketd_webhooks.c: marketd --webhook against a receiver of our own on loopback
 * (docs/api.md, "Webhooks").
 *
 * The receiver (below) is a real HTTP server on 127.0.0.1 that records what it gets; it
 * can be down (its port closed: connections refused), up, or hanging (it accepts and
 * never answers). The tests wait for states (a delivery recorded, a metric), never for
 * a guessed time. Also: an agent token stored as its hash before marketd hashed with
 * libcrypto still authenticates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "tests/lib/testsrv.h"
#include "tests/lib/whrecv.h"

#define SECRET "whsec-test-4b1d9e2a7c"

static whrecv *rcv;

/* Checks delivery i's signature as a receiver would: t=TS,v1=HMAC-SHA256(SECRET,
 * "TS.BODY"), TS within five minutes of now, and its event id. */
static void verify_signature(int i)
{
    const char *head, *body;
    assert_true(whrecv_get(rcv, i, &head, &body, NULL));
    char sig[200], want[65];
    assert_non_null(whrecv_header(head, "Dealdesk-Signature", sig, sizeof sig));
    long long ts = 0;
    char hex[100] = "";
    assert_int_equal(sscanf(sig, "t=%lld,v1=%64s", &ts, hex), 2);
    assert_true(llabs((long long)time(NULL) - ts) < 300);
    size_t blen = strlen(body);
    char *text = malloc(blen + 32);
    int n = snprintf(text, 32, "%lld.", ts);
    memcpy(text + n, body, blen);
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;
    assert_non_null(HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (unsigned char *)text,
                         (size_t)n + blen, d, &dl));
    for (unsigned k = 0; k < dl; k++)
        snprintf(want + 2 * k, 3, "%02x", d[k]);
    assert_string_equal(hex, want);
    /* the same check fails on a body changed by one byte */
    text[n + blen / 2] ^= 1;
    assert_non_null(HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (unsigned char *)text,
                         (size_t)n + blen, d, &dl));
    char other[65];
    for (unsigned k = 0; k < dl; k++)
        snprintf(other + 2 * k, 3, "%02x", d[k]);
    assert_string_not_equal(hex, other);
    free(text);
    char idh[100], id[100];
    assert_non_null(whrecv_header(head, "Dealdesk-Event-Id", idh, sizeof idh));
    assert_true(testjson_str(body, "id", id, sizeof id));
    assert_string_equal(id, idh);
}

/* ---- the server -------------------------------------------------------------------- */

static testsrv srv;
static char secret_path[600];

/* Starts a receiver and a marketd posting to it, with extra arguments. */
static int setup_with(const char *extra)
{
    rcv = whrecv_start();
    if (!rcv)
        return -1;
    const char *tmp = getenv("TEST_TMP") ? getenv("TEST_TMP") : "/tmp";
    snprintf(secret_path, sizeof secret_path, "%s/whsecret.%d", tmp, (int)getpid());
    FILE *f = fopen(secret_path, "w");
    if (!f)
        return -1;
    fprintf(f, "%s\n", SECRET);
    fclose(f);
    char args[800];
    snprintf(args, sizeof args,
             "--decide-timeout 20 --webhook http://127.0.0.1:%d/hook --webhook-secret-file %s%s",
             whrecv_port(rcv), secret_path, extra);
    return testsrv_start(&srv, args);
}

static int setup(void **state)
{
    (void)state;
    return setup_with("");
}

/* The unattended switch after one second nobody watched (no console ever connects). */
static int setup_unattended(void **state)
{
    (void)state;
    return setup_with(" --unattended 1");
}

static int teardown(void **state)
{
    (void)state;
    whrecv_hang(rcv, false);
    testsrv_stop(&srv);
    whrecv_stop(rcv);
    unlink(secret_path);
    return 0;
}

/* The index of the first delivery of type for subject id (data.id), or -1. */
static int find_got(const char *type, const char *id)
{
    const char *body;
    for (int i = 0; whrecv_get(rcv, i, NULL, &body, NULL); i++) {
        char t[64] = "", d[80] = "";
        testjson_str(body, "type", t, sizeof t);
        testjson_str(body, "data.id", d, sizeof d);
        if (!strcmp(t, type) && (!id || !strcmp(d, id)))
            return i;
    }
    return -1;
}

/* Waits until a delivery of type about id is recorded; its index. */
static int wait_for_type(const char *type, const char *id)
{
    int i, n = 0;
    while ((i = find_got(type, id)) < 0) {
        int now = whrecv_wait(rcv, n, 60);
        assert_true(now > n); /* something new came in 60 s */
        n = now;
    }
    return i;
}

/* ---- the tests ----------------------------------------------------------------------- */

static void wait_metric(const char *name, long long min, bool at_most);

static void test_deadline_and_critical_alert_are_signed(void **state)
{
    (void)state;
    testsrv_market t;
    char pur[72];
    assert_int_equal(testsrv_market_setup(&srv, &t, 0), 0);
    /* 201 x $500.00 = $100,500.00: over the buyer's deal maximum, a critical flag */
    assert_int_equal(testsrv_market_purchase(&srv, &t, 50000, 201, pur), 0);
    int i = wait_for_type("purchase.deadline", pur); /* decide_by is 20 s away */
    verify_signature(i);
    char path[160];
    const char *body;
    assert_true(whrecv_get(rcv, i, NULL, &body, NULL));
    assert_true(testjson_str(body, "data.status", path, sizeof path));
    assert_string_equal(path, "pending_approval");
    int j = wait_for_type("alert.critical", NULL);
    verify_signature(j);
    char rule[64];
    assert_true(whrecv_get(rcv, j, NULL, &body, NULL));
    assert_true(testjson_str(body, "data.rule", rule, sizeof rule));
    /* counted once the receiver's answer is in: after it recorded the body */
    wait_metric("marketd_webhook_deliveries_total", 2, false);
    /* once each */
    int deadlines = 0;
    for (int k = 0; whrecv_get(rcv, k, NULL, &body, NULL); k++)
        deadlines += strstr(body, "\"purchase.deadline\"") != NULL;
    assert_int_equal(deadlines, 1);
}

/* Waits until the metric name reaches at least min (at_most: falls to at most min), read
 * every 50 ms; fails the test, naming it, after 60 s. */
static void wait_metric(const char *name, long long min, bool at_most)
{
    for (int i = 0; i < 1200; i++) {
        long long v = testsrv_metric(&srv, name);
        if (at_most ? v <= min : v >= min)
            return;
        usleep(50 * 1000);
    }
    fail_msg("%s did not reach %s %lld in 60 s", name, at_most ? "at most" : "at least", min);
}

static void test_receiver_down_then_up_is_delivered_after_retry(void **state)
{
    (void)state;
    assert_int_equal(whrecv_down(rcv), 0);
    testsrv_market t;
    char pur[72];
    assert_int_equal(testsrv_market_setup(&srv, &t, 0), 0);
    assert_int_equal(testsrv_market_purchase(&srv, &t, 45000, 1, pur), 0);
    /* failures are counted, and the market answers meanwhile */
    wait_metric("marketd_webhook_failures_total", 2, false);
    assert_true(testsrv_metric(&srv, "marketd_webhook_pending") >= 1);
    assert_true(testsrv_seq(&srv) > 0);
    assert_int_equal(whrecv_up(rcv), 0);
    int i = wait_for_type("purchase.deadline", pur);
    verify_signature(i);
    wait_metric("marketd_webhook_pending", 0, true);
}

static void test_crash_with_undelivered_outbox_delivers_after_restart(void **state)
{
    (void)state;
    assert_int_equal(whrecv_down(rcv), 0);
    testsrv_market t;
    char pur[72], path[128], act[160];
    assert_int_equal(testsrv_market_setup(&srv, &t, 0), 0);
    assert_int_equal(testsrv_market_purchase(&srv, &t, 45000, 1, pur), 0);
    wait_metric("marketd_webhook_failures_total", 1, false);
    /* decided: no rescan after the restart can find it again; only the outbox has it */
    snprintf(path, sizeof path, "/v1/purchases/%s", pur);
    snprintf(act, sizeof act, "%s/veto", path);
    testhttp_resp r;
    assert_int_equal(testsrv_get(&srv, TESTSRV_TOKEN_SUP1, path, &r), 0);
    long long v = testjson_int(r.body, "version");
    testhttp_resp_free(&r);
    assert_int_equal(testsrv_post(&srv, TESTSRV_TOKEN_SUP1, act, v, "{\"reason\":\"no\"}", &r), 0);
    assert_int_equal(r.status, 200);
    testhttp_resp_free(&r);
    testsrv_kill9(&srv);
    assert_int_equal(whrecv_up(rcv), 0);
    assert_int_equal(testsrv_restart(&srv), 0);
    int i = wait_for_type("purchase.deadline", pur);
    verify_signature(i);
}

static void test_market_answers_while_the_receiver_hangs(void **state)
{
    (void)state;
    whrecv_hang(rcv, true);
    testsrv_market t;
    char pur[72], pur2[72];
    assert_int_equal(testsrv_market_setup(&srv, &t, 0), 0);
    assert_int_equal(testsrv_market_purchase(&srv, &t, 45000, 1, pur), 0);
    assert_true(whrecv_wait_hung(rcv, 60));
    /* the sender is inside a POST that gets no answer: the market still takes writes */
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_int_equal(testsrv_market_fresh_purchase(&srv, &t, "Second bike", 5, 1, pur2), 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    assert_true(s < 5.0); /* well under the sender's 10 s timeout */
    assert_int_equal(whrecv_count(rcv), 0);
    whrecv_hang(rcv, false);
    wait_for_type("purchase.deadline", pur);
    wait_for_type("purchase.deadline", pur2);
}

/* The SHA-256 of "agt-tok-stored-before-3f9a1c0d7e5b2a48", as marketd stored agent
 * tokens before it used libcrypto (computed with sha256sum, independently of both). */
#define OLD_TOKEN "agt-tok-stored-before-3f9a1c0d7e5b2a48"
#define OLD_HASH  "5b79cef16f31e64b933ea127897c42f1c08fa958b198a3797b59f6ef927b9aa8"

static void test_token_stored_before_still_works(void **state)
{
    (void)state;
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&srv, &t, 0), 0);
    assert_int_equal(testsrv_terminate(&srv), 0);
    char sql[300];
    snprintf(sql, sizeof sql, "INSERT INTO agent_tokens(hash, agent_id) VALUES('%s','%s')",
             OLD_HASH, t.buyer_id);
    assert_int_equal(testsrv_sql(&srv, sql, sql), 1);
    assert_int_equal(testsrv_restart(&srv), 0);
    testhttp_resp r;
    assert_int_equal(testsrv_get(&srv, OLD_TOKEN, "/v1/whoami", &r), 0);
    assert_int_equal(r.status, 200);
    char id[72];
    assert_true(testjson_str(r.body, "agent_id", id, sizeof id));
    assert_string_equal(id, t.buyer_id);
    testhttp_resp_free(&r);
    /* and a token issued now is found by the same hash */
    assert_int_equal(testsrv_get(&srv, t.seller_token, "/v1/whoami", &r), 0);
    assert_int_equal(r.status, 200);
    testhttp_resp_free(&r);
}

/* The unattended switch's transition is escalated: a signed market.unattended delivery
 * carrying the switch as the Fleet now holds it (issue 16). */
static void test_unattended_transition_is_posted(void **state)
{
    (void)state;
    int i = wait_for_type("market.unattended", NULL);
    const char *body;
    assert_true(whrecv_get(rcv, i, NULL, &body, NULL));
    char action[16] = "", since[40] = "";
    assert_true(testjson_str(body, "data.action", action, sizeof action));
    assert_string_equal(action, "restrict");
    assert_true(testjson_str(body, "data.since", since, sizeof since)); /* it acted */
    testhttp_resp r;
    assert_int_equal(testsrv_get(&srv, TESTSRV_TOKEN_SUP1, "/v1/fleet", &r), 0);
    char fleet_since[40] = "";
    assert_true(testjson_str(r.body, "unattended.since", fleet_since, sizeof fleet_since));
    assert_string_equal(fleet_since, since);
    testhttp_resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_deadline_and_critical_alert_are_signed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_receiver_down_then_up_is_delivered_after_retry, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_crash_with_undelivered_outbox_delivers_after_restart,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_market_answers_while_the_receiver_hangs, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_token_stored_before_still_works, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unattended_transition_is_posted, setup_unattended,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
