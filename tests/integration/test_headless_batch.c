/* test_headless_batch.c: `dealdesk approve PUR…` and `dealdesk veto PUR… --reason R` with
 * several ids against a real marketd (issue 15): each id its own decision, one line per
 * id on stdout in the order given; an id may carry the total the caller expects
 * (pur_12=535.00, money in the purchase's currency), one without it is approved at its
 * current total, said on stderr first; exit 0 only when every one succeeded; an amount
 * that does not parse, an id given twice, a total on a veto: usage errors, nothing sent;
 * one id with its total is the single decision as before. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/lib/proc.h"
#include "tests/lib/testsrv.h"

typedef struct run_result {
    int status;
    char out[8192];
    char err[8192];
} run_result;

static testsrv srv;
static testsrv_market mkt;
static char *tok;

/* Runs $DEALDESK_BIN --url --token-file with args (NULL-terminated) to completion. */
static run_result run(const char *const *args)
{
    const char *argv[40] = {"--url", srv.url, "--token-file", tok};
    size_t n = 4;
    for (size_t i = 0; args[i] && n < 39; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    run_result r = {0};
    const char *tmp = getenv("TEST_TMP");
    char op[600], ep[600];
    snprintf(op, sizeof op, "%s/batch.out", tmp);
    snprintf(ep, sizeof ep, "%s/batch.err", tmp);
    r.status = tproc_wait_child(tproc_spawn_dealdesk(argv, op, ep), 30000);
    if (r.status < 0)
        fail_msg("dealdesk did not finish in 30 s");
    tproc_slurp(op, r.out, sizeof r.out);
    tproc_slurp(ep, r.err, sizeof r.err);
    return r;
}

/* The purchase's status. */
static void status_of(const char *id, char *out, size_t size)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/purchases/%s", id);
    testhttp_resp r = {0};
    assert_int_equal(testsrv_get(&srv, TESTSRV_TOKEN_SUP1, path, &r), 0);
    testjson_str(r.body, "status", out, size);
    testhttp_resp_free(&r);
}

/* Fails unless purchase id's status is want. */
static void is(const char *id, const char *want)
{
    char st[40];
    status_of(id, st, sizeof st);
    if (strcmp(st, want) != 0)
        fail_msg("%s is %s, not %s", id, st, want);
}

/* The number of decisions the market holds. */
static long long decisions(void)
{
    testhttp_resp r = {0};
    assert_non_null(r.body = testsrv_state(&srv, TESTSRV_TOKEN_SUP1));
    long long n = testjson_len(r.body, "decisions");
    testhttp_resp_free(&r);
    return n;
}

/* A pending purchase of qty at $500.00 each. */
static void purchase(long long qty, char id[72])
{
    assert_int_equal(testsrv_market_purchase(&srv, &mkt, 50000, qty, id), 0);
    is(id, "pending_approval");
}

/* Fails unless line i (0-based) of text starts with want. */
static void line_is(const char *text, int i, const char *want)
{
    const char *l = text;
    for (int k = 0; k < i && l; k++) {
        l = strchr(l, '\n');
        l = l ? l + 1 : NULL;
    }
    if (!l || strncmp(l, want, strlen(want)) != 0)
        fail_msg("line %d is not '%s' in:\n%s", i, want, text);
}

static int setup(void **state)
{
    (void)state;
    if (testsrv_start(&srv, NULL) < 0 || testsrv_market_setup(&srv, &mkt, 1000) < 0)
        return -1;
    tok = testsrv_token_file(&srv, TESTSRV_TOKEN_SUP1);
    return tok ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    testsrv_stop(&srv);
    free(tok);
    return 0;
}

/* Three ids: one with its right total, one without (its current total, said first),
 * one with a wrong total (412): a line each in order, exit 1, the two settle. */
static void test_approve_several(void **state)
{
    (void)state;
    char a[72], b[72], c[72], ta[100], tc[100], want[200];
    purchase(1, a);
    purchase(2, b);
    purchase(3, c);
    snprintf(ta, sizeof ta, "%s=500.00", a);
    snprintf(tc, sizeof tc, "%s=1.00", c);
    const char *args[] = {"approve", ta, b, tc, NULL};
    run_result r = run(args);
    assert_int_equal(r.status, 1);
    snprintf(want, sizeof want, "ok approve %s 200", a);
    line_is(r.out, 0, want);
    snprintf(want, sizeof want, "ok approve %s 200", b);
    line_is(r.out, 1, want);
    snprintf(want, sizeof want, "refused approve %s 412 ", c);
    line_is(r.out, 2, want);
    assert_string_equal(strchr(strstr(r.out, want), '\n'), "\n"); /* no fourth line */
    snprintf(want, sizeof want, "approving %s at its current total 1,000.00 USD (version ", b);
    assert_non_null(strstr(r.err, want));
    snprintf(want, sizeof want, "approving %s ", a); /* a and c came with their totals */
    assert_null(strstr(r.err, want));
    snprintf(want, sizeof want, "approving %s ", c);
    assert_null(strstr(r.err, want));
    is(a, "settled");
    is(b, "settled");
    is(c, "pending_approval");
    /* every one right: exit 0 */
    snprintf(tc, sizeof tc, "%s=1,500.00", c);
    char d[72];
    purchase(1, d);
    const char *ok[] = {"approve", tc, d, NULL};
    r = run(ok);
    if (r.status != 0)
        fail_msg("exit %d: %s%s", r.status, r.out, r.err);
    is(c, "settled");
    is(d, "settled");
}

/* Several vetoes with one reason; one already decided is refused (409) and named. */
static void test_veto_several(void **state)
{
    (void)state;
    char a[72], b[72], done[72], want[200];
    purchase(1, a);
    purchase(1, b);
    purchase(1, done);
    const char *first[] = {"veto", done, "--reason", "wrong seller", NULL};
    assert_int_equal(run(first).status, 0);
    const char *args[] = {"veto", a, done, b, "--reason", "duplicate orders", NULL};
    run_result r = run(args);
    assert_int_equal(r.status, 1);
    snprintf(want, sizeof want, "ok veto %s 200", a);
    line_is(r.out, 0, want);
    snprintf(want, sizeof want, "refused veto %s 409 ", done);
    line_is(r.out, 1, want);
    assert_non_null(strstr(r.out, "vetoed"));
    snprintf(want, sizeof want, "ok veto %s 200", b);
    line_is(r.out, 2, want);
    is(a, "vetoed");
    is(b, "vetoed");
}

/* An id the market does not have fails on its line; the others go. */
static void test_unknown_id(void **state)
{
    (void)state;
    char a[72], want[200];
    purchase(1, a);
    const char *args[] = {"approve", "pur_nope", a, NULL};
    run_result r = run(args);
    assert_int_equal(r.status, 1);
    line_is(r.out, 0, "failed approve pur_nope: not read, nothing sent");
    snprintf(want, sizeof want, "ok approve %s 200", a);
    line_is(r.out, 1, want);
    assert_non_null(strstr(r.err, "pur_nope"));
    is(a, "settled");
}

/* Bad input: exit 2 and nothing sent, whatever the other ids. */
static void test_usage(void **state)
{
    (void)state;
    char a[72], b[72], bad[100], dup[100], vt[100];
    purchase(1, a);
    purchase(1, b);
    long long before = decisions();
    snprintf(bad, sizeof bad, "%s=12.345", b); /* a float is no amount of USD */
    snprintf(dup, sizeof dup, "%s=500.00", a);
    snprintf(vt, sizeof vt, "%s=500.00", b);
    const char *cases[][8] = {
        {"approve", a, bad, NULL},
        {"approve", a, dup, NULL},
        {"approve", a, "=5", NULL},
        {"approve", a, b, "--total", "500.00", NULL},
        {"approve", a, b, "--if-match", "1", NULL},
        {"veto", a, vt, "--reason", "x", NULL},
        {"veto", a, b, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_result r = run(cases[i]);
        if (r.status != 2)
            fail_msg("case %zu: exit %d, not 2: %s", i, r.status, r.err);
        assert_string_equal(r.out, "");
    }
    assert_int_equal(decisions(), before);
    is(a, "pending_approval");
    is(b, "pending_approval");
}

/* One id carrying its total is the single approve as before ("ok approve ID 200"); a
 * wrong one is 412 on stderr, exit 1. */
static void test_one_id_with_total(void **state)
{
    (void)state;
    char a[72], with[100], want[200];
    purchase(2, a);
    snprintf(with, sizeof with, "%s=999.99", a);
    const char *wrong[] = {"approve", with, NULL};
    run_result r = run(wrong);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "412"));
    snprintf(with, sizeof with, "%s=1000", a);
    const char *right[] = {"approve", with, NULL};
    r = run(right);
    assert_int_equal(r.status, 0);
    snprintf(want, sizeof want, "ok approve %s 200\n", a);
    assert_string_equal(r.out, want);
    assert_null(strstr(r.err, "current total")); /* the caller gave it */
    is(a, "settled");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_approve_several),   cmocka_unit_test(test_veto_several),
        cmocka_unit_test(test_unknown_id),        cmocka_unit_test(test_usage),
        cmocka_unit_test(test_one_id_with_total),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
