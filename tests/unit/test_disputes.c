/* test_disputes.c: the console side of issue 17 without a server: a Dispute decodes exactly
 * (and is refused outside the contract), the store keeps the working set (open and
 * responded disputes; a resolved one only when held), a snapshot's "disputes" and
 * history total load, the resolve decision is checked and encoded, and the evidence of a
 * dispute is assembled from its parts (terms against what was bought, the messages that
 * matter marked, the parties' histories). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/evidence.h"
#include "api/json.h"
#include "tests/lib/consolefx.h"

#define AT "2026-11-26T10:02:11.345Z"

static const char dispute_ok[] =
    "{\"id\":\"dsp_1\",\"version\":2,\"purchase_id\":\"pur_1\",\"negotiation_id\":\"neg_1\","
    "\"buyer_id\":\"agt_b\",\"seller_id\":\"agt_s\",\"opened_by\":\"agt_b\","
    "\"reason\":\"wrong_quantity\",\"claim_minor\":108000,\"currency\":\"USD\","
    "\"text\":\"asked for 10, got 100\\u001b[31m\",\"status\":\"responded\","
    "\"response\":{\"by\":\"agt_s\",\"text\":\"they typed 100\",\"offer_minor\":5000,"
    "\"at\":\"" AT "\"},\"responses\":[{\"by\":\"agt_s\",\"text\":\"they typed 100\","
    "\"offer_minor\":5000,\"at\":\"" AT "\"}],\"resolution\":null,\"unanswered\":false,"
    "\"respond_by\":\"2026-11-27T10:02:11.345Z\",\"created_at\":\"" AT "\",\"updated_at\":\"" AT
    "\"}";

/* Replaces the first occurrence of from by to in src (static result). */
static const char *subst(const char *src, const char *from, const char *to)
{
    static char buf[8192];
    const char *p = strstr(src, from);
    assert_non_null(p);
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(p - src), src, to, p + strlen(from));
    return buf;
}

/* Decodes a dispute object; JSON_OK or not. */
static json_result decode(const char *json, model_event *ev, char *err, size_t errsz)
{
    return json_decode_object(MODEL_DISPUTE, json, strlen(json), TEXT_UTF8, ev, err, errsz);
}

static void test_dispute_decodes(void **state)
{
    (void)state;
    model_event ev;
    char err[200] = "";
    assert_int_equal(decode(dispute_ok, &ev, err, sizeof err), JSON_OK);
    const model_dispute *d = &ev.u.dispute;
    assert_string_equal(d->id, "dsp_1");
    assert_int_equal(d->version, 2);
    assert_string_equal(d->purchase_id, "pur_1");
    assert_string_equal(d->opened_by.s, "agt_b");
    assert_int_equal(d->reason, DSP_WRONG_QUANTITY);
    assert_int_equal(d->claim_minor, 108000);
    assert_int_equal(d->status, DSP_RESPONDED);
    assert_int_equal(d->nresponses, 1);
    assert_int_equal(d->responses[0].offer_minor, 5000);
    assert_false(d->resolved);
    assert_null(strchr(d->text.s, 0x1b)); /* sanitised once, when decoded */
    assert_true(d->respond_by > d->created_at);
    model_event_free(&ev);

    /* resolved, with an outcome, an amount and via; a reason this build does not know */
    const char *res =
        subst(dispute_ok, "\"resolution\":null",
              "\"resolution\":{\"outcome\":\"partial_refund\",\"amount_minor\":"
              "5000,\"reason\":\"offer\",\"by\":\"agt_b\",\"at\":\"" AT "\",\"via\":\"offer\"}");
    char copy[8192], copy2[8192];
    snprintf(copy2, sizeof copy2, "%s", res); /* subst's result is overwritten by the next */
    snprintf(copy, sizeof copy, "%s", subst(copy2, "\"wrong_quantity\"", "\"counterfeit\""));
    assert_int_equal(decode(copy, &ev, err, sizeof err), JSON_OK);
    assert_true(ev.u.dispute.resolved);
    assert_int_equal(ev.u.dispute.outcome, DSP_PARTIAL_REFUND);
    assert_int_equal(ev.u.dispute.resolved_minor, 5000);
    assert_string_equal(ev.u.dispute.via, "offer");
    assert_int_equal(ev.u.dispute.reason, DSP_REASON_UNKNOWN);
    assert_string_equal(model_dispute_reason_label(&ev.u.dispute), "counterfeit");
    model_event_free(&ev);

    /* outside the contract: the whole object refused, naming the field */
    const struct {
        const char *from, *to, *field;
    } bad[] = {{"\"claim_minor\":108000", "\"claim_minor\":-1", "claim_minor"},
               {"\"claim_minor\":108000", "\"claim_minor\":1.5", "claim_minor"},
               {"\"USD\"", "\"XXX\"", "currency"},
               {"\"dsp_1\"", "\"pur_1\"", "id"},
               {"5000,\"at\":\"" AT "\"}]", "\"50\",\"at\":\"" AT "\"}]", "offer_minor"},
               {"\"unanswered\":false", "\"unanswered\":1", "unanswered"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(decode(subst(dispute_ok, bad[i].from, bad[i].to), &ev, err, sizeof err),
                         JSON_BAD);
        assert_non_null(strstr(err, bad[i].field));
    }

    /* the event type */
    char e[8192];
    snprintf(e, sizeof e, "{\"seq\":4,\"type\":\"dispute.updated\",\"at\":\"" AT "\",\"data\":%s}",
             dispute_ok);
    assert_int_equal(
        json_decode_event("dispute.updated", e, strlen(e), TEXT_UTF8, &ev, err, sizeof err),
        JSON_OK);
    assert_int_equal(ev.kind, MODEL_DISPUTE);
    model_event_free(&ev);
}

/* Applies a dispute event with seq and status to st. */
static store_result apply(store *st, int seq, const char *id, const char *status, int version)
{
    char json[8192], v[32], idq[32], stq[32];
    snprintf(idq, sizeof idq, "\"%s\"", id);
    snprintf(json, sizeof json, "%s", subst(dispute_ok, "\"dsp_1\"", idq));
    snprintf(stq, sizeof stq, "\"%s\"", status);
    char tmp[8192];
    snprintf(tmp, sizeof tmp, "%s", json);
    snprintf(json, sizeof json, "%s", subst(tmp, "\"responded\"", stq));
    snprintf(v, sizeof v, "\"version\":%d", version);
    snprintf(tmp, sizeof tmp, "%s", json);
    snprintf(json, sizeof json, "%s", subst(tmp, "\"version\":2", v));
    model_event ev;
    char err[200];
    assert_int_equal(decode(json, &ev, err, sizeof err), JSON_OK);
    ev.seq = seq;
    store_result r = store_apply(st, &ev);
    model_event_free(&ev);
    return r;
}

static void test_store_working_set(void **state)
{
    (void)state;
    store *st = store_new();
    store_reset(st, "e1", 0);
    uint64_t ch = store_changes(st, MODEL_DISPUTE);
    assert_int_equal(apply(st, 1, "dsp_1", "open", 1), STORE_APPLIED);
    assert_true(store_changes(st, MODEL_DISPUTE) > ch);
    /* a resolved dispute the store does not hold is history: not applied */
    assert_int_equal(apply(st, 2, "dsp_2", "resolved", 3), STORE_STALE);
    assert_null(store_dispute(st, "dsp_2"));
    /* the held one resolved: applied (the newest resolved are kept) */
    assert_int_equal(apply(st, 3, "dsp_1", "resolved", 2), STORE_APPLIED);
    assert_int_equal(store_dispute(st, "dsp_1")->status, DSP_RESOLVED);
    assert_int_equal(apply(st, 4, "dsp_1", "open", 1), STORE_STALE); /* an older version */
    size_t n;
    store_disputes(st, &n);
    assert_int_equal(n, 1);
    /* a settled purchase the store does not hold: history, unless a dispute names it */
    static const char pur[] =
        "{\"seq\":%d,\"type\":\"purchase.updated\",\"at\":\"" AT "\",\"data\":{\"id\":"
        "\"pur_%d\",\"version\":2,\"listing_id\":\"lst_1\",\"buyer_id\":\"agt_b\","
        "\"seller_id\":\"agt_s\",\"unit_price_minor\":100,\"quantity\":1,\"total_minor\":100,"
        "\"currency\":\"USD\",\"status\":\"settled\",\"refunded_minor\":0,\"dispute_id\":%s,"
        "\"updated_at\":\"" AT "\"}}";
    char ev_json[2048], err[200];
    for (int k = 0; k < 2; k++) {
        snprintf(ev_json, sizeof ev_json, pur, 5 + k, 8 + k, k ? "\"dsp_1\"" : "null");
        model_event ev;
        assert_int_equal(json_decode_event("purchase.updated", ev_json, strlen(ev_json), TEXT_UTF8,
                                           &ev, err, sizeof err),
                         JSON_OK);
        assert_int_equal(store_apply(st, &ev), k ? STORE_APPLIED : STORE_STALE);
        model_event_free(&ev);
    }
    assert_null(store_purchase(st, "pur_8"));
    assert_string_equal(store_purchase(st, "pur_9")->dispute_id, "dsp_1");

    /* a snapshot's disputes and total */
    char snap[9000];
    snprintf(snap, sizeof snap,
             "{\"epoch\":\"e2\",\"seq\":9,\"disputes\":[%s],\"history\":{\"disputes\":"
             "{\"total\":7}}}",
             dispute_ok);
    uint64_t rejected = 0;
    assert_int_equal(
        json_decode_snapshot(snap, strlen(snap), TEXT_UTF8, st, &rejected, err, sizeof err),
        JSON_OK);
    assert_int_equal(rejected, 0);
    assert_non_null(store_dispute(st, "dsp_1"));
    assert_int_equal(store_dispute(st, "dsp_1")->status, DSP_RESPONDED);
    assert_int_equal(store_history_total(st, MODEL_DISPUTE), 7);
    store_free(st);
}

static void test_resolve_decision(void **state)
{
    (void)state;
    decision_req r;
    char err[200], path[100];
    decision_req_init(&r, DEC_RESOLVE, "dsp_4");
    snprintf(r.reason, sizeof r.reason, "quantity typo shown in the thread");
    snprintf(r.outcome, sizeof r.outcome, "partial_refund");
    assert_int_equal(decision_validate(&r, err, sizeof err), -1); /* no amount */
    r.amount_minor = 0;
    assert_int_equal(decision_validate(&r, err, sizeof err), -1);
    r.amount_minor = 12345;
    assert_int_equal(decision_validate(&r, err, sizeof err), 0);
    char *body = json_decision_body(&r);
    assert_string_equal(body, "{\"outcome\":\"partial_refund\",\"amount_minor\":12345,"
                              "\"reason\":\"quantity typo shown in the thread\"}");
    free(body);
    assert_int_equal(decision_path(&r, path, sizeof path), 0);
    assert_string_equal(path, "/v1/disputes/dsp_4/resolve");
    assert_int_equal(decision_subject_kind(DEC_RESOLVE), MODEL_DISPUTE);
    assert_string_equal(decision_action_name(DEC_RESOLVE), "resolve");
    snprintf(r.outcome, sizeof r.outcome, "refund");
    assert_int_equal(decision_validate(&r, err, sizeof err), -1); /* refund takes no amount */
    r.amount_minor = -1;
    assert_int_equal(decision_validate(&r, err, sizeof err), 0);
    r.reason[0] = '\0';
    assert_int_equal(decision_validate(&r, err, sizeof err), -1); /* a reason is required */
    snprintf(r.reason, sizeof r.reason, "r");
    snprintf(r.outcome, sizeof r.outcome, "chargeback");
    assert_int_equal(decision_validate(&r, err, sizeof err), -1);
    assert_int_equal(decision_validate(&(decision_req){.action = DEC_RESOLVE}, err, sizeof err),
                     -1);
}

/* ---- evidence ------------------------------------------------------------------------ */

static model_message msg(int seq, const char *from, model_msg_kind kind, int64_t unit, int64_t qty,
                         char *text)
{
    model_message m = {.seq = seq, .kind = kind, .unit_price_minor = unit, .quantity = qty};
    snprintf(m.from, sizeof m.from, "%s", from);
    snprintf(m.negotiation_id, sizeof m.negotiation_id, "neg_1");
    m.text.s = text;
    return m;
}

static const char *names(void *ud, const char *id)
{
    (void)ud;
    return strcmp(id, "agt_b") == 0 ? "Atlas buyer" : NULL;
}

/* The line of a section holding needle, or NULL. */
static const evidence_line *find(const evidence *e, const char *section, const char *needle)
{
    for (size_t i = 0; i < e->n; i++)
        if (!strcmp(e->lines[i].section, section) && strstr(e->lines[i].text, needle))
            return &e->lines[i];
    return NULL;
}

static void test_evidence(void **state)
{
    (void)state;
    model_event ev;
    char err[200];
    assert_int_equal(decode(dispute_ok, &ev, err, sizeof err), JSON_OK);
    model_dispute *d = &ev.u.dispute;
    model_purchase p = {.quantity = 100,
                        .unit_price_minor = 1200,
                        .total_minor = 120000,
                        .refunded_minor = 2000,
                        .risk_score = 40};
    snprintf(p.id, sizeof p.id, "pur_1");
    static char ship[] = "1 Main St", detail[] = "100 against a usual 10", sup[] = "sup1";
    static char t[5][40] = {"could you do 11.00?", "lovely weather", "12.00 then",
                            "please ship to the new address", "deal"};
    p.ship_to.s = ship;
    model_flag fl = {.rule = "quantity_vs_intent", .severity = SEV_CRITICAL};
    fl.detail.s = detail;
    p.flags = &fl;
    p.nflags = 1;
    p.decision.present = true;
    snprintf(p.decision.action, sizeof p.decision.action, "approve");
    p.decision.by.s = sup;
    model_message ms[] = {
        msg(1, "agt_b", MSG_OFFER, 1100, 10, t[0]),   msg(2, "agt_s", MSG_NOTE, -1, -1, t[1]),
        msg(3, "agt_s", MSG_COUNTER, 1200, 10, t[2]), msg(4, "agt_b", MSG_NOTE, -1, -1, t[3]),
        msg(5, "agt_b", MSG_ACCEPT, -1, -1, t[4]),
    };
    model_negotiation n = {.messages = ms, .nmessages = 5, .message_count = 5};
    snprintf(n.id, sizeof n.id, "neg_1");
    /* the buyer's history: two other disputes it opened, both rejected; the seller's: none */
    model_dispute h1 = *d, h2 = *d, h3 = *d;
    snprintf(h1.id, sizeof h1.id, "dsp_7");
    snprintf(h2.id, sizeof h2.id, "dsp_8");
    h1.resolved = h2.resolved = true;
    h1.outcome = h2.outcome = DSP_REJECTED;
    const model_dispute *bh[] = {&h1, &h2, &h3 /* this one: left out */};
    evidence_in in = {.dispute = d,
                      .purchase = &p,
                      .thread = &n,
                      .buyer = {bh, 3, true, true},
                      .seller = {NULL, 0, true, true},
                      .name = names,
                      .now_ms = d->created_at};
    evidence e = {0};
    assert_int_equal(evidence_build(&in, &e), 0);
    /* agreed from the accept (the counter's terms) against what was bought */
    assert_int_equal(e.f.agreed_qty, 10);
    assert_int_equal(e.f.agreed_unit_minor, 1200);
    assert_int_equal(e.f.agreed_total_minor, 12000);
    assert_true(e.f.qty_differs);
    assert_false(e.f.price_differs);
    const evidence_line *l = find(&e, "terms", "10 × $12.00 = $120.00");
    assert_non_null(l);
    assert_int_equal(l->mark, EVM_WARN);
    assert_non_null(strstr(l->text, "quantity differs"));
    assert_non_null(find(&e, "bought", "100 × $12.00 = $1,200.00"));
    assert_non_null(find(&e, "bought", "refundable $1,180.00"));
    assert_int_equal(e.f.refundable_minor, 118000);
    assert_non_null(find(&e, "dispute", "claim $1,080.00 USD of $1,200.00 paid"));
    assert_non_null(find(&e, "dispute", "Atlas buyer (agt_b)"));
    assert_non_null(find(&e, "response", "offers $50.00"));
    assert_int_equal(e.f.offer_minor, 5000);
    /* the messages that matter: offer, counter, the address note, the accept */
    assert_int_equal(e.f.marked, 4);
    assert_int_equal(find(&e, "thread", "lovely weather")->mark, EVM_PLAIN);
    assert_int_equal(find(&e, "thread", "new address")->mark, EVM_MATTERS);
    assert_int_equal(find(&e, "thread", "12.00 then")->mark, EVM_MATTERS);
    assert_int_equal(find(&e, "flags", "quantity_vs_intent")->mark, EVM_CRIT);
    assert_non_null(find(&e, "decision", "approve by sup1"));
    /* histories */
    assert_int_equal(e.f.buyer_opened, 2);
    assert_int_equal(e.f.buyer_opened_rejected, 2);
    assert_int_equal(e.f.seller_against, 0);
    l = find(&e, "history", "2 other disputes opened (0 refunded, 2 rejected)");
    assert_non_null(l);
    assert_int_equal(l->mark, EVM_WARN);

    /* --json: the same lines, and the figures */
    char *out = NULL;
    size_t outlen = 0;
    FILE *mf = open_memstream(&out, &outlen);
    assert_int_equal(json_print_evidence(mf, d, &e), 0);
    fclose(mf);
    assert_non_null(strstr(out, "\"facts\":{\"claim_minor\":108000,\"offer_minor\":5000,"));
    assert_non_null(strstr(out, "\"agreed_quantity\":10,"));
    assert_non_null(strstr(out, "\"quantity_differs\":true"));
    assert_non_null(strstr(out, "\"flag_rules\":[\"quantity_vs_intent\"]"));
    assert_non_null(strstr(out, "\"section\":\"terms\",\"mark\":\"warn\""));
    assert_null(strchr(out, 0x1b));
    free(out);

    /* nothing but the dispute read yet: said, never guessed */
    model_dispute silent = *d; /* no response by respond_by */
    silent.nresponses = 0;
    evidence_in bare = {.dispute = &silent, .now_ms = d->respond_by + 1};
    assert_int_equal(evidence_build(&bare, &e), 0);
    assert_non_null(find(&e, "bought", "not read yet"));
    assert_non_null(find(&e, "thread", "not read yet"));
    assert_non_null(find(&e, "history", "history not read yet"));
    assert_int_equal(e.f.agreed_qty, -1);
    assert_int_equal(e.f.buyer_opened, -1);
    assert_non_null(find(&e, "dispute", "UNANSWERED"));
    evidence_free(&e);
    model_event_free(&ev);
}

/* The pane's keys: m asks the amount as money (a bad one, or one past the claim, changes
 * nothing), then the reason, then a y/N box bound to the version seen; y sends one resolve
 * decision. d asks a reason; f refunds the claim; a resolved dispute is refused. */
static void test_console_resolve(void **state)
{
    (void)state;
    consolefx *f = consolefx_open(NULL, false);
    consolefx_dispute(f);
    consolefx_key_on(f, PANE_DISPUTES, "dsp_1", ACT_DISPUTE_PARTIAL);
    assert_int_equal(f->u.line_purpose, LINE_DISPUTE_AMOUNT);
    assert_string_equal(cmdline_prompt(), "refund part of dsp_1 (claim $30.00 USD)  amount: ");
    consolefx_answer(f, "1,2.00");
    consolefx_says(f, "amount: ", true);
    assert_true(consolefx_nothing_sent(f));
    commands_do(&f->u, ACT_DISPUTE_PARTIAL);
    consolefx_answer(f, "30.01");
    consolefx_says(f, "at most the claim $30.00; nothing was sent", true);
    assert_true(consolefx_nothing_sent(f));
    commands_do(&f->u, ACT_DISPUTE_PARTIAL);
    consolefx_answer(f, "$12.50");
    assert_int_equal(f->u.line_purpose, LINE_DISPUTE_REASON);
    assert_string_equal(cmdline_prompt(), "partial_refund dsp_1 $12.50  reason: ");
    consolefx_answer(f, "");
    consolefx_says(f, "a resolution needs a reason; nothing was sent", true);
    commands_do(&f->u, ACT_DISPUTE_PARTIAL);
    consolefx_answer(f, "12.50");
    consolefx_answer(f, "they typed 3 for 1");
    consolefx_confirming(f, DEC_RESOLVE, "dsp_1");
    assert_string_equal(f->u.confirm_title, "Refund part of dsp_1 (version 1)");
    assert_int_equal(f->u.confirm_req.amount_minor, 1250);
    bool says = false;
    for (int i = 0; i < f->u.confirm_n; i++)
        says |= strstr(f->u.confirm_lines[i], "Refund $12.50 USD?") != NULL;
    assert_true(says);
    actions_confirm_key(&f->u, 'y', false);
    consolefx_sent(f, DEC_RESOLVE, "dsp_1");
    consolefx_close(f);

    f = consolefx_open(NULL, false);
    consolefx_dispute(f);
    consolefx_key_on(f, PANE_DISPUTES, "dsp_1", ACT_DISPUTE_REJECT);
    assert_string_equal(cmdline_prompt(), "rejected dsp_1  reason: ");
    consolefx_answer(f, "no evidence of a wrong quantity");
    consolefx_confirming(f, DEC_RESOLVE, "dsp_1");
    assert_string_equal(f->u.confirm_req.outcome, "rejected");
    assert_int_equal(f->u.confirm_req.amount_minor, -1);
    actions_confirm_key(&f->u, 'n', false);
    consolefx_says(f, "not resolved: nothing was sent", false);
    commands_do(&f->u, ACT_DISPUTE_REFUND);
    consolefx_answer(f, "justified");
    consolefx_confirming(f, DEC_RESOLVE, "dsp_1");
    assert_string_equal(f->u.confirm_req.outcome, "refund");
    assert_string_equal(f->u.confirm_title, "Refund the claim of dsp_1 (version 1)");
    consolefx_close(f);

    f = consolefx_open(NULL, false); /* no such dispute, and one resolved */
    commands_run(&f->u, "resolve dsp_9 refund because");
    consolefx_says(f, "no such dispute", true);
    consolefx_close(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dispute_decodes),  cmocka_unit_test(test_store_working_set),
        cmocka_unit_test(test_resolve_decision), cmocka_unit_test(test_evidence),
        cmocka_unit_test(test_console_resolve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
