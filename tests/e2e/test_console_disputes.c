/* test_console_disputes.c: the Disputes pane against a real marketd (issue 17): a buyer
 * opens a dispute over a settled purchase it bought ten of when it agreed on a quantity in
 * the thread, the seller answers with an offer; the console lists it (claim as money,
 * status, reason), shows its evidence on one screen (the claim and the response, what was
 * agreed against what was bought, the thread's messages that matter marked, the flags and
 * the decision at purchase time, the parties' histories); a partial refund typed as money
 * is confirmed, sent bound to the version seen, and the server's answer shows; the
 * response's hostile text is shown, never obeyed; `dealdesk disputes show --json` prints
 * the same lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/lib/e2e.h"
#include "tests/lib/proc.h"

#define WAIT_MS 15000

/* POSTs body to path as token (If-Match: version when > 0); the answer's body in *out
 * (owned) when out is given. Returns the HTTP status. */
static long post(e2e_market *m, const char *token, const char *path, long long version,
                 const char *body, char **out)
{
    testhttp_resp r = {0};
    assert_int_equal(testsrv_post(&m->srv, token, path, version, body, &r), 0);
    long status = r.status;
    if (out)
        *out = strdup(r.body ? r.body : "");
    testhttp_resp_free(&r);
    return status;
}

/* The value of "key":"..." or "key":N in json, copied into out ("" when absent). */
static void field(const char *json, const char *key, char *out, size_t size)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(json, pat);
    out[0] = '\0';
    if (!p)
        return;
    p += strlen(pat);
    if (*p == '"')
        p++;
    size_t n = strcspn(p, "\",}");
    snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), p);
}

/* A settled purchase of qty bikes at price: made by the real server's trade endpoints,
 * approved by sup2 when it waits. Writes its id and its thread's. */
static void settled_purchase(e2e_market *m, int64_t price, int64_t qty, char pur[65], char neg[65])
{
    char lst[65];
    assert_int_equal(e2e_listing(m, &m->seller, "Commuter bike", 13, "bikes", price, 50, lst), 201);
    static const char text[] = "I need ten bikes delivered to 1 Main St, quantity 10";
    assert_int_equal(e2e_offer(m, &m->buyer, lst, price, qty, text, sizeof text - 1, neg), 201);
    assert_int_equal(e2e_accept(m, &m->seller, neg, pur), 201);
    char status[32], path[160], body[96];
    int64_t version = 0;
    assert_int_equal(e2e_purchase_status(m, pur, status, sizeof status, &version), 0);
    if (!strcmp(status, "pending_approval")) {
        snprintf(path, sizeof path, "/v1/purchases/%s/approve", pur);
        snprintf(body, sizeof body, "{\"expected_total_minor\":%lld}", (long long)(price * qty));
        assert_int_equal(e2e_decide(m, TESTSRV_TOKEN_SUP2, path, version, body), 200);
        assert_int_equal(e2e_purchase_status(m, pur, status, sizeof status, NULL), 0);
    }
    assert_string_equal(status, "settled");
}

static void test_dispute_pane_evidence_and_partial_refund(void **state)
{
    e2e_market *m = *state;
    char pur[65], neg[65], path[200], id[65], v[32], *ans = NULL;
    settled_purchase(m, 2500, 12, pur, neg); /* 12 × $25.00 = $300.00 */
    snprintf(path, sizeof path, "/v1/purchases/%s/disputes", pur);
    assert_int_equal(post(m, m->buyer.token, path, 0,
                          "{\"reason\":\"wrong_quantity\",\"claim_minor\":5000,"
                          "\"text\":\"we asked for ten, two more were shipped\"}",
                          &ans),
                     201);
    field(ans, "id", id, sizeof id);
    free(ans);
    assert_true(strncmp(id, "dsp_", 4) == 0);
    snprintf(path, sizeof path, "/v1/disputes/%s/respond", id);
    assert_int_equal(post(m, m->seller.token, path, 0,
                          "{\"text\":\"the buyer's offer said 12 \\u001b]52;c;cm0gLXJmIC8=\\u0007"
                          "\\u202e\",\"offer_minor\":1000}",
                          NULL),
                     200);

    vt *t = e2e_dealdesk(m, 40, 120, m->sup1_file, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait_operator(t, WAIT_MS));
    vt_send(t, "8");
    const char *row[] = {id, "responded", "wrong_quantity", "$50.00", NULL};
    assert_true(e2e_wait_row(t, row, WAIT_MS));
    vt_send(t, "/");
    vt_send(t, id);
    vt_send(t, "\r");
    /* the evidence, on one screen: claim, response, bought against agreed, the thread */
    assert_true(e2e_wait(t, "claim $50.00 USD of $300.00 paid", WAIT_MS));
    assert_true(e2e_wait(t, "claim $50.00: we asked for ten, two more were shipped", WAIT_MS));
    assert_true(e2e_wait(t, "offers $10.00: the buyer's offer said 12", WAIT_MS));
    /* the response's escape sequence is shown, never obeyed (api/text.h) */
    assert_true(e2e_wait(t, "said 12 ␛]52;c;cm0gLXJmIC8=␇<U+202E>", WAIT_MS));
    size_t len;
    const unsigned char *out = vt_output(t, &len);
    assert_null(vt_check_stream(out, len, false));
    assert_true(e2e_wait(t, "bought   12 × $25.00 = $300.00", WAIT_MS));
    assert_true(e2e_wait(t, "agreed   12 × $25.00 = $300.00", WAIT_MS));
    assert_true(e2e_wait(t, "other disputes opened", WAIT_MS)); /* the buyer's history */
    assert_true(e2e_wait(t, "other disputes against it", WAIT_MS));
    assert_true(e2e_wait(t, "I need ten bikes delivered", WAIT_MS)); /* the thread, read */
    const char *marked[] = {"▶", "offer", "12 × $25.00", NULL};
    assert_true(e2e_wait_row(t, marked, WAIT_MS));

    /* refund part: a bad amount changes nothing; then $12.50, a reason, the box, y */
    vt_send(t, "m");
    assert_true(e2e_wait(t, "amount:", WAIT_MS));
    vt_send(t, "12.505\r");
    assert_true(e2e_wait(t, "nothing was sent", WAIT_MS));
    vt_send(t, "m");
    assert_true(e2e_wait(t, "amount:", WAIT_MS));
    vt_send(t, "12.50\r");
    assert_true(e2e_wait(t, "reason:", WAIT_MS));
    vt_send(t, "two extra bikes were shipped, the buyer keeps them at a discount\r");
    char title[96];
    snprintf(title, sizeof title, "Refund part of %s (version 2)", id);
    assert_true(e2e_wait(t, title, WAIT_MS));
    assert_true(e2e_wait(t, "Refund $12.50 USD?", WAIT_MS));
    assert_true(e2e_wait(t, "N no (default)", WAIT_MS));
    vt_send(t, "y");
    char done[96];
    snprintf(done, sizeof done, "resolve %s: done", id);
    assert_true(e2e_wait(t, done, WAIT_MS));
    assert_true(e2e_wait(t, "dispute now resolved partial_refund $12.50", WAIT_MS));
    assert_true(e2e_wait(t, "resolved partial_refund $12.50 by sup1 via supervisor", WAIT_MS));
    assert_true(e2e_wait(t, "refunded so far $12.50", WAIT_MS));

    /* the server holds what the screen says */
    testhttp_resp r = {0};
    snprintf(path, sizeof path, "/v1/disputes/%s", id);
    assert_int_equal(testsrv_get(&m->srv, TESTSRV_TOKEN_SUP1, path, &r), 0);
    field(r.body, "status", v, sizeof v);
    assert_string_equal(v, "resolved");
    field(r.body, "amount_minor", v, sizeof v);
    assert_string_equal(v, "1250");
    testhttp_resp_free(&r);
    snprintf(path, sizeof path, "/v1/purchases/%s", pur);
    assert_int_equal(testsrv_get(&m->srv, TESTSRV_TOKEN_SUP1, path, &r), 0);
    field(r.body, "refunded_minor", v, sizeof v);
    assert_string_equal(v, "1250");
    testhttp_resp_free(&r);
    e2e_quit(t);
}

/* The box is bound to the version seen: the seller answers while it is open, the box says
 * so, and y is refused by the market (412): nothing is refunded. */
static void test_resolve_bound_to_version(void **state)
{
    e2e_market *m = *state;
    char pur[65], neg[65], path[200], id[65], *ans = NULL;
    settled_purchase(m, 3000, 2, pur, neg);
    snprintf(path, sizeof path, "/v1/purchases/%s/disputes", pur);
    assert_int_equal(post(m, m->buyer.token, path, 0,
                          "{\"reason\":\"not_as_described\",\"claim_minor\":6000,"
                          "\"text\":\"scratched frames\"}",
                          &ans),
                     201);
    field(ans, "id", id, sizeof id);
    free(ans);
    vt *t = e2e_dealdesk(m, 40, 120, m->sup1_file, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait_operator(t, WAIT_MS));
    vt_send(t, "8");
    vt_send(t, "/");
    vt_send(t, id);
    vt_send(t, "\r");
    const char *row[] = {id, "open", "not_as_described", "$60.00", NULL};
    assert_true(e2e_wait_row(t, row, WAIT_MS));
    vt_send(t, "f");
    assert_true(e2e_wait(t, "reason:", WAIT_MS));
    vt_send(t, "scratches shown in the photos\r");
    char title[160];
    snprintf(title, sizeof title, "Refund the claim of %s (version 1)", id);
    assert_true(e2e_wait(t, title, WAIT_MS));
    assert_true(e2e_wait(t, "Refund $60.00 USD?", WAIT_MS));
    snprintf(path, sizeof path, "/v1/disputes/%s/respond", id);
    assert_int_equal(post(m, m->seller.token, path, 0, "{\"text\":\"they were new\"}", NULL), 200);
    assert_true(e2e_wait(t, "CHANGED since shown: now v2 responded; y will be refused", WAIT_MS));
    vt_send(t, "y");
    char refused[160];
    snprintf(refused, sizeof refused, "412 resolve %s: it changed since you saw it", id);
    assert_true(e2e_wait(t, refused, WAIT_MS));
    testhttp_resp r = {0};
    char v[32];
    snprintf(path, sizeof path, "/v1/purchases/%s", pur);
    assert_int_equal(testsrv_get(&m->srv, TESTSRV_TOKEN_SUP1, path, &r), 0);
    field(r.body, "refunded_minor", v, sizeof v);
    assert_string_equal(v, "0");
    testhttp_resp_free(&r);
    e2e_quit(t);
}

/* `dealdesk disputes show ID --json` reads what the evidence view shows, and `disputes
 * resolve` refuses what the pane refuses (an amount in the wrong shape: nothing sent). */
static void test_disputes_show_headless(void **state)
{
    e2e_market *m = *state;
    char pur[65], neg[65], path[200], id[65], *ans = NULL;
    settled_purchase(m, 4000, 10, pur, neg);
    snprintf(path, sizeof path, "/v1/purchases/%s/disputes", pur);
    assert_int_equal(post(m, TESTSRV_TOKEN_SUP1, path, 0,
                          "{\"reason\":\"not_received\",\"claim_minor\":40000,"
                          "\"text\":\"nothing arrived\"}",
                          &ans),
                     201);
    field(ans, "id", id, sizeof id);
    free(ans);
    char out_path[700], err_path[700], *out = malloc(1 << 20);
    assert_non_null(out);
    snprintf(out_path, sizeof out_path, "%s/show.out", m->srv.dir);
    snprintf(err_path, sizeof err_path, "%s/show.err", m->srv.dir);
    const char *show[] = {"--url", m->srv.url, "--token-file", m->sup1_file, "disputes",
                          "show",  id,         "--json",       NULL};
    assert_int_equal(tproc_wait_child(tproc_spawn_dealdesk(show, out_path, err_path), 30000), 0);
    assert_true(tproc_slurp(out_path, out, 1 << 20) > 0);
    assert_non_null(strstr(out, "\"claim_minor\":40000"));
    assert_non_null(strstr(out, "\"agreed_quantity\":10"));
    assert_non_null(strstr(out, "\"quantity_differs\":false"));
    assert_non_null(strstr(out, "\"text\":\"claim $400.00: nothing arrived\""));
    const char *bad[] = {
        "--url",     m->srv.url,       "--token-file", m->sup1_file, "disputes", "resolve", id,
        "--outcome", "partial_refund", "--amount",     "1,0.00",     "--reason", "test",    NULL};
    assert_int_equal(tproc_wait_child(tproc_spawn_dealdesk(bad, out_path, err_path), 30000), 2);
    assert_true(tproc_slurp(err_path, out, 1 << 20) > 0);
    assert_non_null(strstr(out, "--amount 1,0.00"));
    free(out);
    char status[32];
    assert_int_equal(e2e_purchase_status(m, pur, status, sizeof status, NULL), 0);
    assert_string_equal(status, "settled");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dispute_pane_evidence_and_partial_refund),
        cmocka_unit_test(test_resolve_bound_to_version),
        cmocka_unit_test(test_disputes_show_headless),
    };
    return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
