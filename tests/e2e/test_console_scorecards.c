/* test_console_scorecards.c: the Agents pane shows each agent's scorecard (issue 17;
 * GET /v1/stats/agents, docs/api.md "Statistics") against a real marketd, in a pty: the
 * scorecard's columns at 80x24 and 120x40 (where the limits' SPEND / CAP is back), the buyer's and
 * the seller's figures (deals, spend or revenue as money, the price against the reference as a
 * percentage), the figures in the agent's detail, and the "losing" sort putting the agent that
 * loses most for its principal first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/lib/e2e.h"

#define WAIT_MS 15000

/* True when ids[0]'s row is above ids[1]'s. */
static bool above(vt *t, void *ud)
{
    const char *const *ids = ud;
    int r0 = vt_find_row(t, ids[0]), r1 = vt_find_row(t, ids[1]);
    return r0 >= 0 && r1 >= 0 && r0 < r1;
}

/* A purchase of one unit at price on a fresh "bikes" listing asking ask, approved by
 * sup1: a deal of the buyer and the seller. */
static void deal(e2e_market *m, int64_t ask, int64_t price)
{
    char lst[72], neg[72], pur[72], st[32], path[128];
    assert_int_equal(e2e_listing(m, &m->seller, "Road bike", 9, "bikes", ask, 5, lst), 201);
    assert_int_equal(e2e_offer(m, &m->buyer, lst, price, 1, "deal?", 5, neg), 201);
    assert_int_equal(e2e_accept(m, &m->seller, neg, pur), 201);
    int64_t v = 0;
    assert_int_equal(e2e_purchase_status(m, pur, st, sizeof st, &v), 0);
    assert_string_equal(st, "pending_approval");
    snprintf(path, sizeof path, "/v1/purchases/%s/approve", pur);
    char body[64];
    snprintf(body, sizeof body, "{\"expected_total_minor\":%lld}", (long long)price);
    assert_int_equal(e2e_decide(m, TESTSRV_TOKEN_SUP1, path, v, body), 200);
}

static void test_agents_pane_scorecards(void **state)
{
    (void)state;
    e2e_market m;
    assert_int_equal(e2e_market_start(&m, NULL), 0);
    /* the reference is the first listing's ask, 50000; the buyer pays 55000: +10.0% */
    deal(&m, 50000, 55000);
    vt *t = e2e_dealdesk(&m, 24, 80, m.sup1_file, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, "FLEET RUNNING", WAIT_MS));
    vt_send(t, "6");
    const char *buyer[] = {m.buyer.id, "buyer", "1", "$550.00", "+10.0%", NULL};
    assert_true(e2e_wait_row(t, buyer, WAIT_MS));
    const char *seller[] = {m.seller.id, "seller", "1", "$550.00", "+10.0%", NULL};
    assert_true(e2e_wait_row(t, seller, WAIT_MS));
    assert_true(e2e_wait(t, "DEALS", WAIT_MS));
    assert_true(e2e_wait(t, "SPEND/REV", WAIT_MS));
    assert_true(e2e_wait(t, "VS REF", WAIT_MS));
    /* the losing view: the buyer paid over the reference, the seller got more than it */
    vt_send(t, ":sort losing\r");
    assert_true(e2e_wait(t, "sorted by losing", WAIT_MS));
    const char *order[] = {m.buyer.id, m.seller.id};
    if (!vt_wait(t, above, (void *)order, WAIT_MS)) {
        vt_dump(t, "waiting for the buyer above the seller");
        fail();
    }
    e2e_quit(t);

    /* at 120x40 the rest of the scorecard, and the detail */
    t = e2e_dealdesk(&m, 40, 120, m.sup1_file, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, "FLEET RUNNING", WAIT_MS));
    vt_send(t, "6");
    assert_true(e2e_wait(t, "SPEND / CAP", WAIT_MS));
    assert_true(e2e_wait(t, "VET/CAP/EXP", WAIT_MS));
    assert_true(e2e_wait(t, "PACE", WAIT_MS));
    const char *row[] = {m.buyer.id, "$550.00", "+10.0%", "0/0/0", "1r", NULL};
    assert_true(e2e_wait_row(t, row, WAIT_MS));
    vt_send(t, "/buyer-e2e\r");
    assert_true(e2e_wait(t, "scorecard 24h: 1 deals, spend $550.00, median +10.0%", WAIT_MS));
    assert_true(e2e_wait(t, "vetoed 0, capped 0, expired 0, refunded 0, disputed 0", WAIT_MS));
    e2e_quit(t);
    e2e_market_stop(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agents_pane_scorecards),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
