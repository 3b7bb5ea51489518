/* dispute.c: disputes after a sale (issue 17; docs/api.md, "Disputes").
 *
 * A Dispute (kind "dispute", ids "dsp_N") is opened on a settled purchase by one of its
 * agents or by a supervisor, within the dispute window after settlement (marketd
 * --dispute-window-days), for a claim of at most what is left unrefunded; one dispute at a
 * time per purchase (the purchase names its latest in dispute_id). The other party
 * responds (both agents when a supervisor opened it), with an offer or not; the opener
 * may accept an offer, which resolves the dispute as a partial refund of that amount;
 * a supervisor resolves it as a decision (marketd/decide.c's table, action "resolve").
 * A refund is a reversing ledger entry for the amount (settle_refund, marketd/settle.c).
 * At respond_by with no response the dispute is marked unanswered and an alert is
 * raised (dispute_tick, from market_tick). Each step leaves a system message in the
 * purchase's negotiation and a dispute.updated event.
 */
#include "marketd/mkt.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/money.h"
#include "api/text.h"

#define DISPUTE_TEXT_MAX 2000 /* characters of a dispute's or a response's text */
#define DAY_MS           (24LL * 3600 * 1000)

static const char *const reasons[][2] = {
    {"not_received", "not received"},
    {"not_as_described", "not as described"},
    {"wrong_quantity", "wrong quantity"},
    {"unauthorized", "unauthorized"},
    {"other", "other"},
};

/* The words of reason r ("not received"), or NULL when it is not one. */
static const char *reason_words(const char *r)
{
    for (size_t i = 0; r && i < sizeof reasons / sizeof reasons[0]; i++)
        if (strcmp(reasons[i][0], r) == 0)
            return reasons[i][1];
    return NULL;
}

/* True when agent id is the buyer or the seller of o (a purchase or a dispute). */
static bool is_party(json_t *o, const char *id)
{
    const char *b = mkt_str(o, "buyer_id"), *s = mkt_str(o, "seller_id");
    return id && ((b && strcmp(b, id) == 0) || (s && strcmp(s, id) == 0));
}

/* True when a supervisor opened dispute d ("operator:NAME"). */
static bool by_operator(json_t *d)
{
    const char *o = mkt_str(d, "opened_by");
    return o && strncmp(o, "operator:", 9) == 0;
}

const char *dispute_against(json_t *d)
{
    const char *o = mkt_str(d, "opened_by"), *b = mkt_str(d, "buyer_id");
    if (by_operator(d) || !o || !b || strcmp(o, b) == 0)
        return mkt_str(d, "seller_id");
    return b;
}

/* What is left unrefunded of purchase p. */
static int64_t left_of(json_t *p)
{
    return mkt_int(p, "total_minor") - mkt_int(p, "refunded_minor");
}

/* When purchase p settled (ms): its settled_at (marketd/settle.c), or for a purchase
 * settled before it had one, its last change. */
static int64_t settled_ms(json_t *p)
{
    int64_t t = mkt_parse_time(mkt_str(p, "settled_at"));
    return t >= 0 ? t : mkt_parse_time(mkt_str(p, "updated_at"));
}

/* Adds a system message (text formatted, cut at a whole character) to the negotiation of
 * dispute d and stores it. 0 or -1. */
static int thread_note(market *m, json_t *d, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int thread_note(market *m, json_t *d, const char *fmt, ...)
{
    char text[2600];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n >= sizeof text)
        text[text_utf8_fit(text, sizeof text - 1)] = '\0';
    json_t *neg = mkt_get(m, "negotiation", mkt_str(d, "negotiation_id"));
    if (!neg)
        return 0; /* a purchase always has one; nothing to tell otherwise */
    int rc = trade_system_message(m, neg, text) == 0 ? mkt_update(m, "negotiation", neg) : -1;
    json_decref(neg);
    return rc;
}

/* The purchase the answer's refusal shows to the caller (its view: risk_purchase_view). */
static bool fail_purchase(mkt_ctx *c, int status, const char *code, const char *field, json_t *p,
                          const char *msg)
{
    json_t *v = mkt_object_view(c->a, "purchase", json_incref(p));
    mkt_fail(c, status, code, field, v, "%s", msg);
    json_decref(v);
    return false;
}

/* ---- open ------------------------------------------------------------------- */

/* The body of an opening: reason, claim_minor, text. False: answered (400). */
static bool open_body(mkt_ctx *c, const char **reason, int64_t *claim, const char **text)
{
    if (mkt_body_str(c, "reason", 1, 32, true, reason) < 0)
        return false;
    if (!reason_words(*reason))
        return mkt_fail(c, 400, "bad_request", "reason", NULL,
                        "reason must be not_received, not_as_described, wrong_quantity, "
                        "unauthorized or other");
    int r = mkt_body_int(c, "claim_minor", 1, MONEY_MAX_MINOR, claim);
    if (r < 0)
        return false;
    if (r == 0)
        return mkt_fail(c, 400, "bad_request", "claim_minor", NULL, "claim_minor is required");
    return mkt_body_str(c, "text", 1, DISPUTE_TEXT_MAX, true, text) >= 0;
}

/* Checks that purchase p may take a new dispute of claim now: settled, inside the window,
 * none open on it, the claim within what is left. False: answered. */
static bool may_open(mkt_ctx *c, json_t *p, int64_t claim)
{
    market *m = c->m;
    char msg[256], a[MKT_MONEY_LEN], when[32];
    if (strcmp(mkt_str(p, "status"), "settled") != 0) {
        snprintf(msg, sizeof msg, "the purchase is %s: only a settled purchase is disputed",
                 mkt_str(p, "status"));
        return fail_purchase(c, 409, "conflict", NULL, p, msg);
    }
    int64_t at = settled_ms(p);
    if (m->dispute_window_days < 0 || at < 0 ||
        m->now > at + (int64_t)m->dispute_window_days * DAY_MS) {
        mkt_time_str(at < 0 ? 0 : at, when);
        snprintf(msg, sizeof msg,
                 "the purchase settled at %s; disputes are opened within %d days of settlement",
                 when, m->dispute_window_days < 0 ? 0 : m->dispute_window_days);
        return fail_purchase(c, 409, "conflict", NULL, p, msg);
    }
    const char *did = mkt_str(p, "dispute_id");
    json_t *d = did ? mkt_get(m, "dispute", did) : NULL;
    if (d && strcmp(mkt_str(d, "status"), "resolved") != 0) {
        mkt_fail(c, 409, "conflict", NULL, d, "dispute %s is already open on this purchase", did);
        json_decref(d);
        return false;
    }
    json_decref(d);
    if (claim > left_of(p)) {
        snprintf(msg, sizeof msg, "claim_minor must be at most %s, what is left unrefunded",
                 mkt_money(a, left_of(p), mkt_str(p, "currency")));
        return fail_purchase(c, 400, "bad_request", "claim_minor", p, msg);
    }
    return true;
}

/* A new dispute on purchase p (owned), or NULL. */
static json_t *new_dispute(mkt_ctx *c, json_t *p, const char *reason, int64_t claim,
                           const char *text)
{
    market *m = c->m;
    char id[72], opener[80];
    if (mkt_new_id(m, "dsp_", id) != 0)
        return NULL;
    if (c->a->role == ROLE_AGENT)
        snprintf(opener, sizeof opener, "%s", c->a->agent_id);
    else
        snprintf(opener, sizeof opener, "operator:%s", c->a->name);
    return json_pack("{ss sI ss ss ss ss ss ss sI ss ss ss sn s[] sn sb so}", "id", id, "version",
                     (json_int_t)1, "purchase_id", mkt_str(p, "id"), "negotiation_id",
                     mkt_str(p, "negotiation_id"), "buyer_id", mkt_str(p, "buyer_id"), "seller_id",
                     mkt_str(p, "seller_id"), "opened_by", opener, "reason", reason, "claim_minor",
                     (json_int_t)claim, "currency", mkt_str(p, "currency"), "text", text, "status",
                     "open", "response", "responses", "resolution", "unanswered", 0, "respond_by",
                     mkt_time_json(m->now + (int64_t)m->dispute_respond_s * 1000));
}

bool dispute_open(mkt_ctx *c)
{
    market *m = c->m;
    const char *pid = c->seg[1], *reason, *text;
    int64_t claim;
    if (!text_valid_id(pid, "pur_"))
        return mkt_fail(c, 400, "bad_request", "id", NULL, "not a valid purchase id");
    if (!open_body(c, &reason, &claim, &text))
        return false;
    json_t *p = mkt_get(m, "purchase", pid), *d = NULL;
    if (!p)
        return mkt_fail(c, 404, "not_found", NULL, NULL, "no such purchase");
    bool ok = false;
    if (c->a->role == ROLE_AGENT && !is_party(p, c->a->agent_id)) {
        mkt_fail(c, 403, "forbidden", NULL, NULL, "not a party to this purchase");
        goto out;
    }
    if (!may_open(c, p, claim))
        goto out;
    char amt[MKT_MONEY_LEN];
    if (!(d = new_dispute(c, p, reason, claim, text)) ||
        mkt_create(m, "dispute", d, "created_at") != 0)
        goto fail;
    json_object_set_new(p, "dispute_id", json_string(mkt_str(d, "id")));
    if (mkt_update(m, "purchase", p) != 0 ||
        thread_note(m, d, "Dispute %s opened by %s: %s, claiming %s. The other party may respond.",
                    mkt_str(d, "id"), mkt_str(d, "opened_by"), reason_words(reason),
                    mkt_money(amt, claim, mkt_str(d, "currency"))) != 0 ||
        risk_dispute_burst(m, dispute_against(d)) != 0)
        goto fail;
    int64_t due = m->now + (int64_t)m->dispute_respond_s * 1000;
    if (m->dispute_due == 0 || due < m->dispute_due)
        m->dispute_due = due;
    ok = mkt_ok(c, 201, json_incref(d));
    goto out;
fail:
    mkt_fail(c, 503, "unavailable", NULL, NULL, "could not store the dispute");
out:
    json_decref(d);
    json_decref(p);
    return ok;
}

/* ---- respond, accept an offer ---------------------------------------------- */

/* Loads the dispute named by seg[1] for one of its agents (the caller). NULL: answered. */
static json_t *load_for_agent(mkt_ctx *c, const char *what)
{
    if (c->a->role != ROLE_AGENT) {
        mkt_fail(c, 403, "forbidden", NULL, NULL,
                 "only the agents of a dispute %s; supervisors resolve it", what);
        return NULL;
    }
    if (!text_valid_id(c->seg[1], "dsp_")) {
        mkt_fail(c, 400, "bad_request", "id", NULL, "not a valid dispute id");
        return NULL;
    }
    json_t *d = mkt_get(c->m, "dispute", c->seg[1]);
    if (!d) {
        mkt_fail(c, 404, "not_found", NULL, NULL, "no such dispute");
        return NULL;
    }
    if (!is_party(d, c->a->agent_id)) {
        mkt_fail(c, 403, "forbidden", NULL, NULL, "not a party to this dispute");
    } else if (strcmp(mkt_str(d, "status"), "resolved") == 0) {
        mkt_fail(c, 409, "conflict", NULL, d, "the dispute is resolved");
    } else {
        return d;
    }
    json_decref(d);
    return NULL;
}

/* True when agent id responded to dispute d already. */
static bool responded(json_t *d, const char *id)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(d, "responses"), i, r)
    {
        if (strcmp(mkt_str(r, "by"), id) == 0)
            return true;
    }
    return false;
}

/* Checks that the caller may respond to d: the other party (either agent when a
 * supervisor opened it), once. False: answered. */
static bool may_respond(mkt_ctx *c, json_t *d)
{
    const char *me = c->a->agent_id;
    if (!by_operator(d) && strcmp(mkt_str(d, "opened_by"), me) == 0)
        return mkt_fail(c, 403, "forbidden", NULL, NULL,
                        "the party that opened the dispute does not respond to it");
    if (responded(d, me))
        return mkt_fail(c, 409, "conflict", NULL, d, "%s already responded to this dispute", me);
    return true;
}

bool dispute_respond(mkt_ctx *c)
{
    const char *text;
    int64_t offer = -1;
    json_t *d = load_for_agent(c, "respond");
    if (!d)
        return false;
    bool ok = false;
    int r = 0;
    if (!may_respond(c, d) || mkt_body_str(c, "text", 1, DISPUTE_TEXT_MAX, true, &text) < 0 ||
        (r = mkt_body_int(c, "offer_minor", 1, mkt_int(d, "claim_minor"), &offer)) < 0)
        goto out;
    json_t *resp =
        json_pack("{ss ss so so}", "by", c->a->agent_id, "text", text, "offer_minor",
                  r == 1 ? json_integer(offer) : json_null(), "at", mkt_time_json(c->m->now));
    json_array_append_new(json_object_get(d, "responses"), resp);
    if (json_is_null(json_object_get(d, "response")))
        json_object_set(d, "response", resp);
    json_object_set_new(d, "status", json_string("responded"));
    char amt[MKT_MONEY_LEN], words[MKT_MONEY_LEN + 40] = "";
    if (r == 1)
        snprintf(words, sizeof words, ", offering %s",
                 mkt_money(amt, offer, mkt_str(d, "currency")));
    if (mkt_update(c->m, "dispute", d) != 0 ||
        thread_note(c->m, d, "%s responded to dispute %s%s.", c->a->agent_id, mkt_str(d, "id"),
                    words) != 0)
        mkt_fail(c, 503, "unavailable", NULL, NULL, "could not store the response");
    else
        ok = mkt_ok(c, 200, json_incref(d));
out:
    json_decref(d);
    return ok;
}

/* The newest offer made in d's responses, or -1. */
static int64_t newest_offer(json_t *d)
{
    json_t *rs = json_object_get(d, "responses");
    for (size_t i = json_array_size(rs); i-- > 0;) {
        json_t *o = json_object_get(json_array_get(rs, i), "offer_minor");
        if (json_is_integer(o))
            return json_integer_value(o);
    }
    return -1;
}

/* Resolves dispute d (borrowed; stored here) with outcome, refunding amount (0: none)
 * of its purchase, by who, via "supervisor" or "offer". 0 or -1. */
static int settle_dispute(market *m, json_t *d, const char *outcome, int64_t amount,
                          const char *reason, const char *by, const char *via)
{
    json_t *p = mkt_get(m, "purchase", mkt_str(d, "purchase_id"));
    if (!p || (amount > 0 && settle_refund(m, p, amount) != 0)) {
        json_decref(p);
        return -1;
    }
    json_decref(p);
    json_object_set_new(d, "status", json_string("resolved"));
    json_object_set_new(d, "resolution",
                        json_pack("{ss sI ss ss so ss}", "outcome", outcome, "amount_minor",
                                  (json_int_t)amount, "reason", reason, "by", by, "at",
                                  mkt_time_json(m->now), "via", via));
    char amt[MKT_MONEY_LEN];
    const char *cur = mkt_str(d, "currency");
    if (mkt_update(m, "dispute", d) != 0)
        return -1;
    if (amount > 0)
        return thread_note(m, d, "Dispute %s resolved (%s by %s): %s refunded. %s",
                           mkt_str(d, "id"), strcmp(via, "offer") == 0 ? "offer accepted" : outcome,
                           by, mkt_money(amt, amount, cur), reason);
    return thread_note(m, d, "Dispute %s resolved: rejected by %s, nothing refunded. %s",
                       mkt_str(d, "id"), by, reason);
}

/* Answers 409 when amount is more than what is left unrefunded of d's purchase (a refund
 * of the purchase may have come between); true when it is within. */
static bool within_left(mkt_ctx *c, json_t *d, int64_t amount)
{
    json_t *p = mkt_get(c->m, "purchase", mkt_str(d, "purchase_id"));
    if (!p)
        return mkt_fail(c, 503, "unavailable", NULL, NULL, "could not read the purchase");
    int64_t left = left_of(p);
    bool settled = strcmp(mkt_str(p, "status"), "settled") == 0;
    json_decref(p);
    char a[MKT_MONEY_LEN], b[MKT_MONEY_LEN];
    const char *cur = mkt_str(d, "currency");
    if (amount == 0 || (settled && amount <= left))
        return true;
    return mkt_fail(c, 409, "conflict", "amount_minor", d,
                    "%s is more than the %s left unrefunded of the purchase",
                    mkt_money(a, amount, cur), mkt_money(b, settled ? left : 0, cur));
}

bool dispute_accept_offer(mkt_ctx *c)
{
    json_t *d = load_for_agent(c, "accept an offer");
    if (!d)
        return false;
    bool ok = false;
    int64_t offer = newest_offer(d);
    if (strcmp(mkt_str(d, "opened_by"), c->a->agent_id) != 0)
        mkt_fail(c, 403, "forbidden", NULL, NULL,
                 "only the party that opened the dispute accepts an offer");
    else if (offer < 0)
        mkt_fail(c, 409, "conflict", NULL, d, "there is no offer to accept");
    else if (!within_left(c, d, offer)) {
        /* answered */
    } else if (settle_dispute(c->m, d, "partial_refund", offer, "the offer was accepted",
                              c->a->agent_id, "offer") != 0)
        mkt_fail(c, 503, "unavailable", NULL, NULL, "could not store the resolution");
    else
        ok = mkt_ok(c, 200, json_incref(d));
    json_decref(d);
    return ok;
}

/* ---- resolve: a supervisor's decision (marketd/decide.c) -------------------- */

json_t *dispute_resolution_parse(mkt_ctx *c, const char **reason)
{
    const char *outcome;
    int64_t amount = 0;
    if (mkt_body_str(c, "outcome", 1, 32, true, &outcome) < 0 ||
        mkt_body_str(c, "reason", 1, 500, true, reason) < 0)
        return NULL;
    bool partial = strcmp(outcome, "partial_refund") == 0;
    if (!partial && strcmp(outcome, "refund") != 0 && strcmp(outcome, "rejected") != 0) {
        mkt_fail(c, 400, "bad_request", "outcome", NULL,
                 "outcome must be refund, partial_refund or rejected");
        return NULL;
    }
    int r = mkt_body_int(c, "amount_minor", 1, MONEY_MAX_MINOR, &amount);
    if (r < 0)
        return NULL;
    if (partial != (r == 1)) {
        mkt_fail(c, 400, "bad_request", "amount_minor", NULL,
                 partial ? "a partial_refund needs amount_minor"
                         : "amount_minor is for a partial_refund only");
        return NULL;
    }
    return json_pack("{ss sI}", "outcome", outcome, "amount_minor", (json_int_t)amount);
}

bool dispute_resolution_check(mkt_ctx *c, json_t *d, json_t *params)
{
    const char *outcome = mkt_str(params, "outcome");
    int64_t claim = mkt_int(d, "claim_minor"), amount = mkt_int(params, "amount_minor");
    char a[MKT_MONEY_LEN], b[MKT_MONEY_LEN];
    if (strcmp(outcome, "refund") == 0)
        amount = claim; /* a refund returns the claim */
    if (amount > claim)
        return mkt_fail(c, 400, "bad_request", "amount_minor", NULL,
                        "amount_minor %s is more than the claim, %s",
                        mkt_money(a, amount, mkt_str(d, "currency")),
                        mkt_money(b, claim, mkt_str(d, "currency")));
    json_object_set_new(params, "amount_minor", json_integer(amount));
    return within_left(c, d, amount);
}

int dispute_resolve(mkt_ctx *c, json_t *d, json_t *params, const char *reason)
{
    return settle_dispute(c->m, d, mkt_str(params, "outcome"), mkt_int(params, "amount_minor"),
                          reason, c->a->name, "supervisor");
}

/* ---- the clock: respond_by ------------------------------------------------- */

/* Marks dispute d (as read before the transaction) unanswered with an alert about the
 * party that had to answer, in the transaction begun by the caller; with several
 * instances (m->shared) read again inside it first (answered elsewhere since?). 0 or -1. */
static int mark_one(market *m, json_t *d)
{
    json_t *cur = m->shared ? mkt_get(m, "dispute", mkt_str(d, "id")) : json_incref(d);
    int rc = 0;
    if (cur && mkt_str(cur, "status") && strcmp(mkt_str(cur, "status"), "open") == 0 &&
        !json_is_true(json_object_get(cur, "unanswered")) &&
        mkt_parse_time(mkt_str(cur, "respond_by")) <= m->now) {
        char msg[256], amt[MKT_MONEY_LEN];
        snprintf(msg, sizeof msg, "dispute %s on %s (%s, claiming %s) had no response by %s",
                 mkt_str(cur, "id"), mkt_str(cur, "purchase_id"),
                 reason_words(mkt_str(cur, "reason")),
                 mkt_money(amt, mkt_int(cur, "claim_minor"), mkt_str(cur, "currency")),
                 mkt_str(cur, "respond_by"));
        json_object_set_new(cur, "unanswered", json_true());
        rc = mkt_update(m, "dispute", cur) == 0 && risk_alert(m, "warning", "dispute_unanswered",
                                                              NULL, dispute_against(cur), msg) == 0
                 ? 0
                 : -1;
    }
    json_decref(cur);
    return rc;
}

/* Marks open disputes past respond_by (with no response) unanswered, in one transaction
 * begun only when one is due; notes the next respond_by to look again at. */
static void mark_unanswered(market *m)
{
    json_t *open = json_array();
    int64_t next = INT64_MAX;
    bool ok = STORE(m->db, objects_working, "dispute", "open", NULL, 0, mkt_collect, open) >= 0,
         began = false;
    size_t i;
    json_t *d;
    json_array_foreach(open, i, d)
    {
        int64_t by = mkt_parse_time(mkt_str(d, "respond_by"));
        if (!ok || json_is_true(json_object_get(d, "unanswered")))
            continue;
        if (by > m->now) {
            next = by < next ? by : next;
            continue;
        }
        if (!began && !(ok = began = mkt_begin(m, true) == 0))
            continue;
        ok = mark_one(m, d) == 0;
    }
    if (ok && (!began || mkt_commit(m) == 0))
        m->dispute_due = next;
    else if (m->in_tx)
        mkt_rollback(m);
    json_decref(open);
}

void dispute_tick(market *m)
{
    /* a shared engine's disputes may come from any instance: looked at every tick */
    if (m->shared || m->dispute_due == 0 || m->now >= m->dispute_due)
        mark_unanswered(m);
}
