/* test_two_person_model.c: the console's model of two-person approval and claims (issue
 * 16): a purchase's approvals decoded from the wire, whether it waits for an approval a
 * given operator can give, a Claim (claim.updated) kept on its purchase in the store
 * (renewed, kept across the purchase's versions, cleared when released, dropped when
 * stale or about a purchase the store does not hold), and who else reviews it when. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/json.h"
#include "api/model.h"
#include "tui/ui.h"

/* The event line of a purchase at version v with approvals_required req and the
 * approvals given (a JSON array's inside, e.g. {"by":"sup1","at":"..."}). */
static void purchase_line(char *out, size_t size, int64_t seq, int v, int req,
                          const char *approvals)
{
    snprintf(out, size,
             "{\"seq\":%lld,\"type\":\"purchase.updated\",\"at\":\"2026-12-01T10:00:00.000Z\","
             "\"data\":{\"id\":\"pur_1\",\"version\":%d,\"negotiation_id\":\"neg_1\","
             "\"listing_id\":\"lst_1\",\"buyer_id\":\"agt_2\",\"seller_id\":\"agt_1\","
             "\"unit_price_minor\":45000,\"quantity\":2,\"total_minor\":90000,"
             "\"currency\":\"USD\",\"ship_to\":null,\"status\":\"pending_approval\",\"flags\":[],"
             "\"risk_score\":0,\"decide_by\":\"2026-12-01T10:10:00.000Z\","
             "\"default_on_timeout\":\"veto\",\"decision\":null,\"approvals_required\":%d,"
             "\"approvals\":[%s],\"created_at\":\"2026-12-01T10:00:00.000Z\","
             "\"updated_at\":\"2026-12-01T10:00:00.000Z\"}}",
             (long long)seq, v, req, approvals);
}

static void claim_line(char *out, size_t size, int64_t seq, int v, const char *by,
                       const char *status)
{
    snprintf(out, size,
             "{\"seq\":%lld,\"type\":\"claim.updated\",\"at\":\"2026-12-01T10:00:01.000Z\","
             "\"data\":{\"id\":\"pur_1\",\"purchase_id\":\"pur_1\",\"by\":\"%s\","
             "\"until\":\"2026-12-01T10:02:00.000Z\",\"status\":\"%s\",\"version\":%d,"
             "\"updated_at\":\"2026-12-01T10:00:01.000Z\"}}",
             (long long)seq, by, status, v);
}

/* Decodes line and applies it to s; returns the store's result. */
static store_result apply_line(store *s, const char *line)
{
    model_event ev;
    char err[200];
    const char *type = strstr(line, "claim.updated") ? "claim.updated" : "purchase.updated";
    assert_int_equal(json_decode_event(type, line, strlen(line), TEXT_UTF8, &ev, err, sizeof err),
                     JSON_OK);
    store_result r = store_apply(s, &ev);
    model_event_free(&ev);
    return r;
}

static void test_approvals_decoded(void **state)
{
    (void)state;
    char line[2048];
    store *s = store_new();
    store_reset(s, "e1", 0);
    purchase_line(line, sizeof line, 1, 1, 2, "");
    assert_int_equal(apply_line(s, line), STORE_APPLIED);
    const model_purchase *p = store_purchase(s, "pur_1");
    assert_int_equal(p->approvals_required, 2);
    assert_int_equal(p->napprovals, 0);
    assert_true(model_awaits_approval_by(p, "sup1"));
    purchase_line(line, sizeof line, 2, 2, 2,
                  "{\"by\":\"sup1\",\"at\":\"2026-12-01T10:00:02.000Z\"}");
    assert_int_equal(apply_line(s, line), STORE_APPLIED);
    p = store_purchase(s, "pur_1");
    assert_int_equal(p->napprovals, 1);
    assert_string_equal(p->approved_by[0].s, "sup1");
    assert_false(model_awaits_approval_by(p, "sup1")); /* sup1 gave its approval */
    assert_true(model_awaits_approval_by(p, "sup2"));
    /* a purchase that needs one approval waits for no second */
    purchase_line(line, sizeof line, 3, 3, 1, "");
    assert_int_equal(apply_line(s, line), STORE_APPLIED);
    assert_false(model_awaits_approval_by(store_purchase(s, "pur_1"), "sup2"));
    store_free(s);
}

static void test_claim_kept_on_purchase(void **state)
{
    (void)state;
    char line[2048];
    store *s = store_new();
    store_reset(s, "e1", 0);
    /* a claim about a purchase the store does not hold is dropped */
    claim_line(line, sizeof line, 1, 1, "sup2", "active");
    assert_int_equal(apply_line(s, line), STORE_STALE);
    purchase_line(line, sizeof line, 2, 1, 2, "");
    assert_int_equal(apply_line(s, line), STORE_APPLIED);
    uint64_t c0 = store_changes(s, MODEL_PURCHASE);
    claim_line(line, sizeof line, 3, 1, "sup2", "active");
    assert_int_equal(apply_line(s, line), STORE_APPLIED);
    assert_true(store_changes(s, MODEL_PURCHASE) > c0); /* the panes show it */
    const model_purchase *p = store_purchase(s, "pur_1");
    int64_t until = p->claim_until;
    assert_true(until > 0);
    assert_string_equal(model_claimed_by_other(p, "sup1", until - 1), "sup2");
    assert_null(model_claimed_by_other(p, "sup2", until - 1)); /* one's own claim */
    assert_null(model_claimed_by_other(p, "sup1", until));     /* past its until */
    /* a new version of the purchase keeps its claim */
    purchase_line(line, sizeof line, 4, 2, 2, "");
    assert_int_equal(apply_line(s, line), STORE_APPLIED);
    p = store_purchase(s, "pur_1");
    assert_string_equal(model_claimed_by_other(p, "sup1", until - 1), "sup2");
    /* a stale claim is dropped; a released one clears it */
    claim_line(line, sizeof line, 5, 1, "sup1", "active");
    assert_int_equal(apply_line(s, line), STORE_STALE);
    claim_line(line, sizeof line, 6, 2, "sup2", "released");
    assert_int_equal(apply_line(s, line), STORE_APPLIED);
    p = store_purchase(s, "pur_1");
    assert_null(model_claimed_by_other(p, "sup1", until - 1));
    assert_null(p->claim_by.s);
    store_free(s);
}

/* The approve box of a first approval warns when fewer than two supervisors are
 * watching (issue 16), and not when two are, nor when presence is unknown. */
static void test_first_approval_warns_when_alone(void **state)
{
    (void)state;
    char line[2048], out[256];
    store *s = store_new();
    store_reset(s, "e1", 0);
    purchase_line(line, sizeof line, 1, 1, 2, "");
    assert_int_equal(apply_line(s, line), STORE_APPLIED);
    const model_purchase *p = store_purchase(s, "pur_1");
    ui u;
    memset(&u, 0, sizeof u);
    u.st = s;
    snprintf(u.cs.operator_name, sizeof u.cs.operator_name, "sup1");
    u.cs.presence_supervisors = 1;
    assert_true(twoperson_confirm_line(&u, p, out, sizeof out));
    assert_non_null(strstr(out, "yours is the first"));
    assert_non_null(strstr(out, "1 supervisor watching: a second may not come in time"));
    u.cs.presence_supervisors = 2;
    assert_true(twoperson_confirm_line(&u, p, out, sizeof out));
    assert_null(strstr(out, "watching"));
    u.cs.presence_supervisors = -1; /* a market that says nothing of presence */
    assert_true(twoperson_confirm_line(&u, p, out, sizeof out));
    assert_null(strstr(out, "watching"));
    /* the approval that settles it needs no warning */
    purchase_line(line, sizeof line, 2, 2, 2,
                  "{\"by\":\"sup2\",\"at\":\"2026-12-01T10:00:02.000Z\"}");
    assert_int_equal(apply_line(s, line), STORE_APPLIED);
    u.cs.presence_supervisors = 0;
    assert_true(twoperson_confirm_line(&u, store_purchase(s, "pur_1"), out, sizeof out));
    assert_non_null(strstr(out, "yours settles it"));
    assert_null(strstr(out, "watching"));
    store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_approvals_decoded),
        cmocka_unit_test(test_claim_kept_on_purchase),
        cmocka_unit_test(test_first_approval_warns_when_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
