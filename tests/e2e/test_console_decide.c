/* test_console_decide.c: decisions from the console reach the real server and the screen
 * shows the server's outcome: approve (after a default-no confirmation), veto with a
 * reason, cap with limits typed as money, a decision racing another operator, and
 * read-only / viewer consoles that refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/lib/proc.h"
#include "tests/lib/e2e.h"
#include "tests/lib/faultproxy.h"

#define WAIT_MS 15000

/* Asserts that the server holds purchase pur in status want. */
static void assert_status(e2e_market *m, const char *pur, const char *want)
{
    char status[32];
    assert_int_equal(e2e_purchase_status(m, pur, status, sizeof status, NULL), 0);
    assert_string_equal(status, want);
}

/* Waits until the console reports "<verb> <pur>: done". */
static void wait_done(vt *t, const char *verb, const char *pur, int timeout_ms)
{
    char done[96];
    snprintf(done, sizeof done, "%s %s: done", verb, pur);
    assert_true(e2e_wait(t, done, timeout_ms));
}

/* True when the console shows the server's refusal of a stale approval (412 or 409). */
static bool refused_as_changed(vt *t, void *ud)
{
    (void)ud;
    return vt_contains(t, "412 approve") || vt_contains(t, "409 approve");
}

/* Quits the console with q and asserts a clean exit. */
static void quit(vt *t)
{
    e2e_quit(t);
}

/* Approve: the confirmation is bound to version, amount, quantity and counterparty;
 * anything but y sends nothing; y sends and the server's result is shown. */
static void test_approve_confirms_and_shows_outcome(void **state)
{
    e2e_market *m = *state;
    char pur[65], neg[65];
    assert_int_equal(e2e_purchase(m, "Touring bike", "bikes", 78900, 1, pur, neg), 0);
    vt *t = e2e_console_on(m, pur, m->sup1_file, NULL);
    vt_send(t, "a");
    char title[96];
    snprintf(title, sizeof title, "Approve %s (version 1)", pur);
    assert_true(e2e_wait(t, title, WAIT_MS));
    assert_true(e2e_wait(t, "total $789.00 USD", WAIT_MS));
    assert_true(e2e_wait(t, "from seller-e2e", WAIT_MS));
    assert_true(e2e_wait(t, "N no (default)", WAIT_MS));
    vt_send(t, "\r"); /* Enter is not yes */
    assert_true(e2e_wait(t, "not approved: nothing was sent", WAIT_MS));
    assert_status(m, pur, "pending_approval");

    vt_send(t, "a");
    assert_true(e2e_wait(t, title, WAIT_MS));
    vt_send(t, "y");
    wait_done(t, "approve", pur, WAIT_MS);
    assert_true(e2e_wait(t, "settled", WAIT_MS));
    assert_status(m, pur, "settled");
    quit(t);
}

/* A purchase of buyer as seller, a qty x price bike; writes its id. */
static void bike_purchase(e2e_market *m, const e2e_agent *buyer, int64_t price, int64_t qty,
                          char pur[65])
{
    char lst[65], neg[65];
    assert_int_equal(e2e_listing(m, &m->seller, "Cap bike", 8, "bikes", price, 10, lst), 201);
    assert_int_equal(e2e_offer(m, buyer, lst, price, qty, "ok", 2, neg), 201);
    assert_int_equal(e2e_accept(m, &m->seller, neg, pur), 201);
    assert_true(pur[0] != '\0');
}

/* Review finding 4 in the console: approving a purchase that would take its buyer past
 * its spending cap (spent since the purchase was made) says so in the approve box and
 * shows the server's 409 budget_exceeded message; nothing settles. */
static void test_approve_over_cap_shows_why(void **state)
{
    e2e_market *m = *state;
    e2e_agent b;
    char p1[65] = "", p2[65] = "", path[160];
    assert_int_equal(e2e_agent_new(m, "buyer", "capped-e2e", 10, &b), 0);
    snprintf(path, sizeof path, "/v1/agents/%s/limits", b.id);
    assert_int_equal(e2e_decide(m, TESTSRV_TOKEN_SUP2, path, 1, "{\"spend_cap_minor\":150000}"),
                     200);
    bike_purchase(m, &b, 50000, 2, p1); /* $1,000 */
    bike_purchase(m, &b, 45000, 2, p2); /* $900 */
    snprintf(path, sizeof path, "/v1/purchases/%s/approve", p1);
    assert_int_equal(
        e2e_decide(m, TESTSRV_TOKEN_SUP2, path, 1, "{\"expected_total_minor\":100000}"), 200);
    vt *t = e2e_dealdesk(m, 30, 120, m->sup1_file, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, p2, WAIT_MS));
    vt_send(t, "/");
    vt_send(t, p2);
    vt_send(t, "\r");
    assert_true(e2e_wait(t, "-$400.00 of $1,500.00 left after this", WAIT_MS)); /* the detail */
    vt_send(t, "a");
    assert_true(
        e2e_wait(t, "over the spending cap: spent $1,000.00 + $900.00 > $1,500.00 USD", WAIT_MS));
    vt_send(t, "y");
    assert_true(e2e_wait(t,
                         "spent $1,000.00 USD + total $900.00 USD is over the $1,500.00 USD "
                         "spending cap",
                         WAIT_MS));
    assert_true(vt_contains(t, "409 approve"));
    assert_status(m, p2, "pending_approval");
    quit(t);
}

/* Veto asks the reason on the readline prompt; the server records it. */
static void test_veto_with_reason(void **state)
{
    e2e_market *m = *state;
    char pur[65], neg[65];
    assert_int_equal(e2e_purchase(m, "Folding bike", "bikes", 30000, 1, pur, neg), 0);
    vt *t = e2e_console_on(m, pur, m->sup1_file, NULL);
    vt_send(t, "v");
    assert_true(e2e_wait(t, "reason:", WAIT_MS));
    vt_send(t, "not in this quarter's plan\r");
    wait_done(t, "veto", pur, WAIT_MS);
    assert_true(e2e_wait(t, "vetoed", WAIT_MS));
    assert_status(m, pur, "vetoed");
    /* the reason reached the server: the decision shows it in the detail */
    assert_true(e2e_wait(t, "not in this quarter's plan", WAIT_MS));
    quit(t);
}

/* Cap asks for the limits as money, confirms them, and the server caps. */
static void test_cap_with_money_limits(void **state)
{
    e2e_market *m = *state;
    char pur[65], neg[65];
    assert_int_equal(e2e_purchase(m, "Cargo bike", "bikes", 250000, 1, pur, neg), 0);
    vt *t = e2e_console_on(m, pur, m->sup1_file, NULL);
    vt_send(t, "c");
    assert_true(e2e_wait(t, "max unit price", WAIT_MS));
    vt_send(t, "12.345\r"); /* too many decimals for USD: refused, nothing sent */
    assert_true(e2e_wait(t, "nothing was sent", WAIT_MS));
    vt_send(t, "c");
    assert_true(e2e_wait(t, "max unit price", WAIT_MS));
    vt_send(t, "2,100.50\r");
    assert_true(e2e_wait(t, "max quantity", WAIT_MS));
    vt_send(t, "\r");
    assert_true(e2e_wait(t, "unit price at most $2,100.50", WAIT_MS));
    vt_send(t, "y");
    wait_done(t, "cap", pur, WAIT_MS);
    assert_status(m, pur, "capped");
    quit(t);
}

/* Another operator vetoes while the confirmation is open: the box says it changed and
 * the console shows the server's refusal and what the purchase is now. */
static void test_race_with_another_operator(void **state)
{
    e2e_market *m = *state;
    char pur[65], neg[65];
    assert_int_equal(e2e_purchase(m, "Tandem bike", "bikes", 99000, 1, pur, neg), 0);
    vt *t = e2e_console_on(m, pur, m->sup1_file, NULL);
    vt_send(t, "a");
    assert_true(e2e_wait(t, "N no (default)", WAIT_MS));
    char path[128];
    snprintf(path, sizeof path, "/v1/purchases/%s/veto", pur);
    assert_int_equal(e2e_decide(m, TESTSRV_TOKEN_SUP2, path, 1, "{\"reason\":\"sup2 was faster\"}"),
                     200);
    assert_true(e2e_wait(t, "CHANGED since shown", WAIT_MS));
    vt_send(t, "y");
    if (!vt_wait(t, refused_as_changed, NULL, WAIT_MS)) { /* whichever the server says */
        vt_dump(t, "waiting for 412 or 409 approve");
        fail();
    }
    assert_true(e2e_wait(t, "vetoed", WAIT_MS));
    assert_true(e2e_wait(t, "sup2", WAIT_MS));
    assert_status(m, pur, "vetoed");
    quit(t);
}

/* --read-only: decisions are visibly unavailable and nothing is sent; a viewer token
 * gets the server's refusal at most, never a change. */
static void test_read_only_and_viewer_refuse(void **state)
{
    e2e_market *m = *state;
    char pur[65], neg[65];
    assert_int_equal(e2e_purchase(m, "Kids bike", "bikes", 15000, 1, pur, neg), 0);
    const char *ro[] = {"--read-only", NULL};
    vt *t = e2e_console_on(m, pur, m->sup1_file, ro);
    assert_true(e2e_wait(t, "READ-ONLY", WAIT_MS));
    vt_send(t, "a");
    assert_true(e2e_wait(t, "read-only", WAIT_MS));
    assert_false(vt_contains(t, "N no (default)"));
    vt_send(t, ":approve ");
    vt_send(t, pur);
    vt_send(t, "\r");
    assert_true(e2e_wait(t, "read-only: 'approve' is unavailable", WAIT_MS));
    vt_send(t, "?");
    vt_send(t, "jjjj"); /* down to the decisions' keys (the panes' keys come first) */
    assert_true(e2e_wait(t, "[unavailable: read-only]", WAIT_MS));
    vt_send(t, "q");
    quit(t);

    t = e2e_console_on(m, pur, m->view_file, NULL);
    /* the role is known once the header shows it (GET /v1/whoami answered): from then on
     * the console is read-only (the server's own 403 to a viewer is
     * test_marketd_api's) */
    assert_true(e2e_wait(t, "view1 \xc2\xb7 viewer", WAIT_MS));
    vt_send(t, "a");
    assert_true(e2e_wait(t, "read-only", WAIT_MS));
    assert_false(vt_contains(t, "N no (default)"));
    assert_status(m, pur, "pending_approval");
    quit(t);
}

/* While the server has not answered, the row says the decision is on its way and
 * nothing claims it is done; when the answer is lost the decision is sent again with the
 * same key, and the screen shows the server's (first) answer. */
static void test_in_flight_and_lost_answer(void **state)
{
    e2e_market *m = *state;
    char pur[65], neg[65];
    assert_int_equal(e2e_purchase(m, "Penny-farthing", "bikes", 66600, 1, pur, neg), 0);
    faultproxy *fp = faultproxy_start(m->srv.port);
    assert_non_null(fp);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", faultproxy_port(fp));
    vt *t = e2e_dealdesk_at(m, url, 30, 100, m->sup1_file, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, pur, WAIT_MS));
    vt_send(t, "/");
    vt_send(t, pur);
    vt_send(t, "\r");
    char want[80];
    snprintf(want, sizeof want, "%s v1", pur);
    assert_true(e2e_wait(t, want, WAIT_MS));
    assert_true(e2e_wait_operator(t, WAIT_MS)); /* whoami answered: decisions can be bound */

    faultproxy_set(fp, FAULTPROXY_STALL, 0); /* the server's answers are held */
    vt_send(t, "a");
    assert_true(e2e_wait(t, "N no (default)", WAIT_MS));
    vt_send(t, "y");
    assert_true(e2e_wait(t, "approving", WAIT_MS));
    assert_true(e2e_wait(t, "sending, no answer yet", WAIT_MS));
    char row[2048];
    int r = vt_find_row(t, "approving\xe2\x80\xa6"); /* the table row says so */
    assert_true(r >= 0);
    vt_row(t, r, row, sizeof row);
    assert_non_null(strstr(row, pur));
    assert_null(strstr(row, "settled"));
    faultproxy_set(fp, 0, 0);
    wait_done(t, "approve", pur, WAIT_MS);
    assert_true(e2e_wait(t, "settled", WAIT_MS));

    /* a lost answer: the veto reaches the server, its answer never comes back */
    char pur2[65], neg2[65];
    assert_int_equal(e2e_purchase(m, "Bamboo bike", "bikes", 70000, 1, pur2, neg2), 0);
    vt_send(t, "\033/");
    vt_send(t, pur2);
    vt_send(t, "\r");
    snprintf(want, sizeof want, "%s v1", pur2);
    assert_true(e2e_wait(t, want, WAIT_MS));
    faultproxy_drop_responses(fp, 1, "/veto");
    vt_send(t, "v");
    assert_true(e2e_wait(t, "reason:", WAIT_MS));
    vt_send(t, "answer lost on the way\r");
    wait_done(t, "veto", pur2, 30000);
    assert_status(m, pur2, "vetoed");
    faultproxy_stats st;
    faultproxy_stats_get(fp, &st);
    assert_int_equal(st.responses_dropped, 1);
    quit(t);
    faultproxy_stop(fp);
}

/* Refund from the ledger, pause an agent, acknowledge an alert, export the ledger and
 * the threads, and halt the fleet (typing "halt"), each shown as the server answers. */
static void test_refund_pause_ack_export_halt(void **state)
{
    e2e_market *m = *state;
    char pur[65], neg[65], path[160];
    assert_int_equal(e2e_purchase(m, "Unicycle", "bikes", 12000, 1, pur, neg), 0);
    snprintf(path, sizeof path, "/v1/purchases/%s/approve", pur);
    assert_int_equal(e2e_decide(m, TESTSRV_TOKEN_SUP2, path, 1, "{\"expected_total_minor\":12000}"),
                     200);
    /* a flagged purchase raises critical alerts */
    char pur2[65], neg2[65];
    assert_int_equal(e2e_purchase(m, "GPU hours", "compute", 100, 1, pur2, neg2), 0);

    vt *t = e2e_dealdesk(m, 30, 100, m->sup1_file, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, "FLEET RUNNING", WAIT_MS));
    assert_true(e2e_wait_operator(t, WAIT_MS)); /* whoami answered: decisions can be bound */
    /* refund: ledger pane, filter to the entry of our purchase */
    vt_send(t, "4/");
    vt_send(t, pur);
    vt_send(t, "\r");
    assert_true(e2e_wait(t, "settlement", WAIT_MS));
    vt_send(t, "R");
    assert_true(e2e_wait(t, "reason:", WAIT_MS));
    vt_send(t, "wrong size\r");
    assert_true(e2e_wait(t, "Refund", WAIT_MS));
    assert_true(e2e_wait(t, "N no (default)", WAIT_MS));
    vt_send(t, "y");
    wait_done(t, "refund", pur, WAIT_MS);
    assert_status(m, pur, "refunded");
    assert_true(e2e_wait(t, "refund ", WAIT_MS)); /* the reversing entry arrived */

    /* ack: alerts pane, first open alert */
    vt_send(t, "5");
    assert_true(e2e_wait(t, "off_mandate", WAIT_MS));
    vt_send(t, "A");
    assert_true(e2e_wait(t, ": done", WAIT_MS));
    assert_true(e2e_wait(t, "acked sup1", WAIT_MS));

    /* pause: agents pane, the buyer */
    vt_send(t, "6/buyer-e2e\r");
    assert_true(e2e_wait(t, "active", WAIT_MS));
    vt_send(t, "p");
    assert_true(e2e_wait(t, "reason:", WAIT_MS));
    vt_send(t, "too many GPU hours\r");
    char pdone[96];
    snprintf(pdone, sizeof pdone, "pause %s: done", m->buyer.id);
    assert_true(e2e_wait(t, pdone, WAIT_MS));
    assert_true(e2e_wait(t, "paused", WAIT_MS));

    /* export */
    char csv[600], json[600], buf[65536];
    snprintf(csv, sizeof csv, "%s/ledger.csv", getenv("TEST_TMP"));
    snprintf(json, sizeof json, "%s/threads.json", getenv("TEST_TMP"));
    vt_send(t, ":export ledger ");
    vt_send(t, csv);
    vt_send(t, "\r");
    assert_true(e2e_wait(t, "exported", WAIT_MS));
    assert_true(tproc_slurp(csv, buf, sizeof buf) > 0);
    assert_non_null(strstr(buf, "entry,seq,kind,purchase"));
    assert_non_null(strstr(buf, pur));
    assert_non_null(strstr(buf, "refund"));
    assert_non_null(strstr(buf, "-120.00"));
    vt_send(t, ":export threads ");
    vt_send(t, json);
    vt_send(t, "\r");
    assert_true(e2e_wait(t, "threads to", WAIT_MS));
    assert_true(tproc_slurp(json, buf, sizeof buf) > 0);
    assert_non_null(strstr(buf, neg));

    /* halt: on a row, what to halt (f the fleet, or Enter), a reason, then the word itself;
     * anything else halts nothing */
    vt_send(t, "H");
    assert_true(e2e_wait(t, "halt what?", WAIT_MS));
    vt_send(t, "f\r");
    assert_true(e2e_wait(t, "HALT THE FLEET", WAIT_MS));
    vt_send(t, "drill\r");
    assert_true(e2e_wait(t, "type halt", WAIT_MS));
    vt_send(t, "yes\r");
    assert_true(e2e_wait(t, "not halted", WAIT_MS));
    vt_send(t, "H");
    assert_true(e2e_wait(t, "halt what?", WAIT_MS));
    vt_send(t, "\r");
    assert_true(e2e_wait(t, "HALT THE FLEET", WAIT_MS));
    vt_send(t, "drill\r");
    assert_true(e2e_wait(t, "type halt", WAIT_MS));
    vt_send(t, "halt\r");
    assert_true(e2e_wait(t, "FLEET HALTED", WAIT_MS));
    assert_true(e2e_wait(t, "halted: drill", WAIT_MS));
    /* and resume, confirmed */
    vt_send(t, "H");
    assert_true(e2e_wait(t, "Resume the fleet", WAIT_MS));
    vt_send(t, "y");
    assert_true(e2e_wait(t, "FLEET RUNNING", WAIT_MS));
    quit(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_approve_confirms_and_shows_outcome),
        cmocka_unit_test(test_approve_over_cap_shows_why),
        cmocka_unit_test(test_veto_with_reason),
        cmocka_unit_test(test_cap_with_money_limits),
        cmocka_unit_test(test_race_with_another_operator),
        cmocka_unit_test(test_in_flight_and_lost_answer),
        cmocka_unit_test(test_read_only_and_viewer_refuse),
        cmocka_unit_test(test_refund_pause_ack_export_halt),
    };
    return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
