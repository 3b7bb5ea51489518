/* decide.c: operator decisions (role supervisor), as one table of actions.
 *
 * Every decision runs inside the transaction market_handle() opened: the If-Match
 * version check, the state check, the change, its events, the Decision record and the
 * stored idempotent answer commit together or not at all. Under the market's lock, of
 * two operators (or an operator and the clock) exactly one wins; the other gets 409 or
 * 412 with the current object.
 *
 * The decisions are one table (actions[] below): per subject (purchase, negotiation,
 * agent, fleet, alert, policy, dispute) and action, the states it is allowed in, its body parser, a
 * further check, the change and its follow-up. decide() runs any of them the same way:
 * parse, load, If-Match, state, check, change, follow-up, then decided() records the
 * Decision and answers, or answers 503 when a step could not be stored. Registering an
 * agent is in marketd/agents.c; settlement, refunds and expiry in marketd/settle.c.
 */
#include "marketd/mkt.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/money.h"
#include "api/text.h"

/* Room for a system message that quotes a reason of up to 500 characters (2,000 bytes)
 * whole, with its words around it. */
#define SYSTEM_TEXT 2600

/* Formats like snprintf, but a text that does not fit is cut before the character that
 * would not fit whole, never inside it (a cut UTF-8 sequence cannot be stored). */
static void textf(char *out, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void textf(char *out, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, size, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n >= size)
        out[text_utf8_fit(out, size - 1)] = '\0';
}

/* Checks If-Match against obj's version: true when it matches (else the answer is set:
 * 428 missing, 400 malformed, 412 stale with current). */
static bool check_if_match(mkt_ctx *c, json_t *obj)
{
    int64_t v;
    int r = mkt_parse_if_match(c->rq->if_match, &v);
    if (r == 0)
        return mkt_fail(c, 428, "precondition_required", "If-Match", obj,
                        "If-Match: \"<version>\" is required");
    if (r < 0)
        return mkt_fail(c, 400, "bad_request", "If-Match", NULL, "If-Match must be \"<version>\"");
    if (v != mkt_int(obj, "version"))
        return mkt_fail(c, 412, "precondition_failed", "If-Match", obj,
                        "the object is at version %lld, not %lld",
                        (long long)mkt_int(obj, "version"), (long long)v);
    return true;
}

bool decide_if_match(mkt_ctx *c, json_t *obj)
{
    return check_if_match(c, obj);
}

int decide_record(mkt_ctx *c, const char *action, const char *kind, const char *id,
                  const char *reason, json_t *params)
{
    char did[72];
    if (mkt_new_id(c->m, "dec_", did) != 0) {
        json_decref(params);
        return -1;
    }
    json_t *d = json_pack("{ss ss s{ss ss} ss so so so}", "id", did, "action", action, "subject",
                          "kind", kind, "id", id, "by", c->a->name, "at", mkt_time_json(c->m->now),
                          "reason", reason ? json_string(reason) : json_null(), "params",
                          params ? params : json_null());
    int rc = d ? mkt_create(c->m, "decision", d, NULL) : -1;
    json_decref(d);
    return rc;
}

/* Loads the object named by seg[1] (kind, id prefix) or fails with 400/404. */
static json_t *load(mkt_ctx *c, const char *kind, const char *prefix)
{
    if (!text_valid_id(c->seg[1], prefix)) {
        mkt_fail(c, 400, "bad_request", "id", NULL, "not a valid %s id", kind);
        return NULL;
    }
    json_t *o = mkt_get(c->m, kind, c->seg[1]);
    if (!o)
        mkt_fail(c, 404, "not_found", NULL, NULL, "no such %s", kind);
    return o;
}

/* ---- the decision table ---------------------------------------------------- */

typedef struct dec dec;

/* What decisions are taken on: a kind of object and where its decisions are posted. */
typedef struct subject {
    const char *seg;     /* the path: /v1/{seg}/{id}/{action}, the fleet's /v1/fleet/{action} */
    int nseg;            /* segments of that path */
    const char *kind;    /* its stored kind, and the Decision's subject kind */
    const char *prefix;  /* its ids' prefix; NULL: the fleet, one object, no id */
    const char *unknown; /* the 404 message of an action it does not have */
    /* Brings the subject up to date before its state is checked; false: answered. */
    bool (*current)(dec *d);
    /* Answers 409 for an action the subject's state does not allow. */
    void (*refuse)(dec *d);
} subject;

/* One decision: an action on a subject. */
typedef struct action {
    const subject *on;
    const char *name;      /* its path segment and the Decision's action */
    const char *states[3]; /* the statuses it is allowed in; none: check decides */
    const char *to;        /* the status it leaves the subject in (NULL: its holders decide) */
    bool (*parse)(dec *d); /* reads the body (may be NULL); false: answered (400) */
    bool (*check)(dec *d); /* a further precondition (may be NULL); false: answered */
    int (*change)(dec *d); /* changes and stores the subject: 0 or -1 */
    int (*follow)(dec *d); /* what follows elsewhere (may be NULL): 0 or -1 */
} action;

/* One decision being taken. */
struct dec {
    mkt_ctx *c;
    const action *act;
    json_t *obj;        /* the subject (owned) */
    const char *reason; /* its reason, comment or note (borrowed from the body), or NULL */
    int64_t expected;   /* an approval's expected_total_minor */
    json_t *params;     /* recorded with the Decision (owned), or NULL */
    json_t *cap;        /* a cap decision's cap (the params), or NULL */
};

/* ---- body parsers ---- */

/* Reads an optional limit in minor units or a quantity. Returns 1/0/-1. */
static int opt_cap(mkt_ctx *c, json_t *cap, const char *key, int64_t max)
{
    int64_t v;
    int r = mkt_body_int(c, key, key[4] == 'q' ? 1 : 0, max, &v);
    if (r == 1)
        json_object_set_new(cap, key, json_integer(v));
    else if (r == 0)
        json_object_set_new(cap, key, json_null());
    return r;
}

/* Reads a cap {max_unit_price_minor, max_quantity} (at least one) from the body. */
static bool parse_cap(dec *d)
{
    json_t *cap = json_object();
    int a = opt_cap(d->c, cap, "max_unit_price_minor", MONEY_MAX_MINOR);
    int b = a < 0 ? -1 : opt_cap(d->c, cap, "max_quantity", MKT_QTY_MAX);
    if (a < 0 || b < 0) {
        json_decref(cap);
        return false;
    }
    if (a == 0 && b == 0) {
        json_decref(cap);
        return mkt_fail(d->c, 400, "bad_request", "max_unit_price_minor", NULL,
                        "a cap needs a maximum unit price or a maximum quantity");
    }
    d->cap = d->params = cap;
    return true;
}

/* A reason of 1 to 500 characters, required. */
static bool parse_reason(dec *d)
{
    return mkt_body_str(d->c, "reason", 1, 500, true, &d->reason) >= 0;
}

/* A purchase's cap: an optional reason, then the cap. */
static bool parse_reason_cap(dec *d)
{
    return mkt_body_str(d->c, "reason", 0, 500, false, &d->reason) >= 0 && parse_cap(d);
}

/* An approval: expected_total_minor (required) and an optional comment. */
static bool parse_approval(dec *d)
{
    int r = mkt_body_int(d->c, "expected_total_minor", 0, MONEY_MAX_MINOR, &d->expected);
    if (r < 0)
        return false;
    if (r == 0)
        return mkt_fail(d->c, 400, "bad_request", "expected_total_minor", NULL,
                        "expected_total_minor is required");
    if (mkt_body_str(d->c, "comment", 0, 500, false, &d->reason) < 0)
        return false;
    d->params = json_pack("{sI}", "expected_total_minor", (json_int_t)d->expected);
    return true;
}

/* An acknowledgement's optional note. */
static bool parse_note(dec *d)
{
    return mkt_body_str(d->c, "note", 0, 500, false, &d->reason) >= 0;
}

/* New limits: any of the four, at least one (marketd/agents.c). */
static bool parse_limits(dec *d)
{
    if (!(d->params = agents_limits(d->c, d->c->body, false)))
        return false;
    if (json_object_size(d->params) == 0)
        return mkt_fail(d->c, 400, "bad_request", "spend_cap_minor", NULL,
                        "give at least one limit");
    return true;
}

/* ---- purchases ---- */

/* A purchase past its decision deadline expires before a decision that needs it pending
 * is taken: the clock won. The expiry is committed on its own (this answer is an error,
 * whose transaction is rolled back); if that commit fails, the next tick expires it. */
static bool purchase_current(dec *d)
{
    if (strcmp(d->act->states[0], "pending_approval") != 0 ||
        !settle_expire_if_due(d->c->m, d->obj))
        return true;
    if (mkt_commit(d->c->m) == 0)
        mkt_begin(d->c->m, true);
    return mkt_fail(d->c, 409, "conflict", NULL, d->obj,
                    "the purchase expired at its decision deadline");
}

static void purchase_refuse(dec *d)
{
    mkt_fail(d->c, 409, "conflict", NULL, d->obj, "the purchase is %s", mkt_str(d->obj, "status"));
}

/* An approval holds only for the total the supervisor saw (412 otherwise). */
static bool check_total(dec *d)
{
    json_t *p = d->obj;
    if (d->expected == mkt_int(p, "total_minor"))
        return true;
    char now[MKT_MONEY_LEN], exp[MKT_MONEY_LEN];
    return mkt_fail(d->c, 412, "precondition_failed", "expected_total_minor", p,
                    "the total is %s, not %s",
                    mkt_money(now, mkt_int(p, "total_minor"), mkt_str(p, "currency")),
                    mkt_money(exp, d->expected, mkt_str(p, "currency")));
}

/* An approval settles now, so it holds only within the buyer's spending cap as it is now:
 * the budget rule (risk_over_cap) again, in the transaction that settles. Over it: 409
 * budget_exceeded, and the purchase stays pending for a person to veto, cap, or raise
 * the cap (POST /v1/agents/{id}/limits) and approve. */
static bool check_cap(dec *d)
{
    json_t *p = d->obj;
    json_t *buyer = mkt_get(d->c->m, "agent", mkt_str(p, "buyer_id"));
    char why[256];
    bool over = buyer && risk_over_cap(buyer, p, why, sizeof why);
    json_decref(buyer);
    if (!buyer)
        return mkt_fail(d->c, 503, "unavailable", NULL, NULL, "could not read the buyer");
    return !over || mkt_fail(d->c, 409, "budget_exceeded", NULL, p, "%s", why);
}

/* True when the purchase's approvals (two-person: marketd/agents.c) hold one by name. */
static bool approved_by(json_t *p, const char *name)
{
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(p, "approvals"), i, a)
    {
        if (!strcmp(mkt_str(a, "by"), name))
            return true;
    }
    return false;
}

/* A second approval of a two-person purchase must come from another supervisor. */
static bool check_second_person(dec *d)
{
    if (!approved_by(d->obj, d->c->a->name))
        return true;
    return mkt_fail(d->c, 409, "same_approver", NULL, d->obj,
                    "%s already approved this purchase; it needs another supervisor's approval",
                    d->c->a->name);
}

/* An approval: the total the supervisor saw, by a supervisor who has not approved it yet,
 * within the buyer's spending cap. */
static bool check_approval(dec *d)
{
    return check_total(d) && check_second_person(d) && check_cap(d);
}

/* Marks the purchase decided: its new status and the decision on it. */
static int purchase_decided(dec *d)
{
    json_t *p = d->obj;
    json_object_set_new(p, "status", json_string(d->act->to));
    json_object_set_new(p, "decision",
                        json_pack("{ss ss so so sO}", "action", d->act->name, "by", d->c->a->name,
                                  "at", mkt_time_json(d->c->m->now), "reason",
                                  d->reason ? json_string(d->reason) : json_null(), "cap",
                                  d->cap ? d->cap : json_null()));
    return mkt_update(d->c->m, "purchase", p);
}

/* An approval adds {by, at} to the purchase's approvals; it settles the purchase when it
 * has as many as it requires (two at or above the buyer's two_person_minor, fixed when the
 * purchase was made: marketd/trade.c), else the purchase stays pending at its next
 * version. */
static int purchase_approve(dec *d)
{
    json_t *p = d->obj, *list = json_object_get(p, "approvals");
    int64_t need = mkt_int(p, "approvals_required");
    if (!json_is_array(list)) {
        list = json_array();
        json_object_set_new(p, "approvals", list);
    }
    json_array_append_new(
        list, json_pack("{ss so}", "by", d->c->a->name, "at", mkt_time_json(d->c->m->now)));
    if ((int64_t)json_array_size(list) < need)
        return mkt_update(d->c->m, "purchase", p);
    return purchase_decided(d);
}

static int follow_approve(dec *d)
{
    if (strcmp(mkt_str(d->obj, "status"), "approved") != 0)
        return 0; /* a first approval of two */
    return settle_purchase(d->c->m, d->obj);
}

static int follow_veto(dec *d)
{
    char text[SYSTEM_TEXT];
    textf(text, sizeof text, "Vetoed by the supervisor: %s", d->reason);
    return settle_thread(d->c->m, d->obj, "vetoed", text, NULL);
}

/* The thread reopens inside the cap. */
static int follow_cap(dec *d)
{
    char text[SYSTEM_TEXT], words[160];
    const char *reason = d->reason;
    textf(text, sizeof text,
          "Capped by the supervisor (%s)%s%s. Agree new terms inside the cap to buy.",
          mkt_cap_words(words, sizeof words, d->cap, mkt_str(d->obj, "currency")),
          reason ? ": " : "", reason ? reason : "");
    return settle_thread(d->c->m, d->obj, "open", text, d->cap);
}

/* A refund returns what is left of the total (all of it, unless a dispute returned part
 * of it already) and leaves the purchase refunded (marketd/settle.c). */
static int purchase_refund(dec *d)
{
    json_t *p = d->obj;
    return settle_refund(d->c->m, p, mkt_int(p, "total_minor") - mkt_int(p, "refunded_minor"));
}

/* ---- negotiations ---- */

/* A supervisor's hold is one holder among others (marketd/hold.c). */
static void negotiation_refuse(dec *d)
{
    json_t *neg = d->obj;
    const char *st = mkt_str(neg, "status");
    bool held = !strcmp(st, "held");
    char who[400];
    hold_describe(neg, who, sizeof who);
    if (held && !hold_has(neg, "hold"))
        mkt_fail(d->c, 409, "conflict", NULL, neg,
                 "the negotiation is held by %s, not by a supervisor's hold", who);
    else
        mkt_fail(d->c, 409, "conflict", NULL, neg, "the negotiation is %s%s%s", st,
                 held ? " by " : "", held ? who : "");
}

/* A supervisor holds a negotiation once. */
static bool check_not_held(dec *d)
{
    if (!hold_has(d->obj, "hold"))
        return true;
    negotiation_refuse(d);
    return false;
}

/* A release removes a supervisor's hold, and only that. */
static bool check_held(dec *d)
{
    if (hold_has(d->obj, "hold"))
        return true;
    negotiation_refuse(d);
    return false;
}

static int negotiation_cap(dec *d)
{
    json_object_set(d->obj, "cap", d->cap);
    return mkt_update(d->c->m, "negotiation", d->obj);
}

static int negotiation_hold(dec *d)
{
    char text[SYSTEM_TEXT];
    textf(text, sizeof text, "Held by the supervisor: %s", d->reason);
    return hold_add(d->c->m, "negotiation", d->obj, "hold", text) == 1 ? 0 : -1;
}

static int negotiation_release(dec *d)
{
    return hold_remove(d->c->m, "negotiation", d->obj, "hold", "Released by the supervisor.") == 1
               ? 0
               : -1;
}

static int negotiation_veto(dec *d)
{
    json_object_set_new(d->obj, "status", json_string(d->act->to));
    json_object_set_new(d->obj, "held_by", json_array()); /* it ends: nothing holds it */
    char text[SYSTEM_TEXT];
    textf(text, sizeof text, "Vetoed by the supervisor: %s", d->reason);
    if (trade_system_message(d->c->m, d->obj, text) != 0)
        return -1;
    return mkt_update(d->c->m, "negotiation", d->obj);
}

/* ---- agents ---- */

/* A supervisor's pause of an agent holds the agent and its open negotiations (both
 * sides: nothing trades with a paused agent); resume removes that pause, and only it
 * (marketd/hold.c): what the fleet halt holds stays held. */

/* The holder of a supervisor's pause of agent ag, in out[80]. */
static const char *pause_holder(json_t *ag, char out[80])
{
    snprintf(out, 80, "pause:%s", mkt_str(ag, "id"));
    return out;
}

static bool check_not_paused(dec *d)
{
    char holder[80];
    if (!hold_has(d->obj, pause_holder(d->obj, holder)))
        return true;
    return mkt_fail(d->c, 409, "conflict", NULL, d->obj, "agent %s is already paused",
                    mkt_str(d->obj, "id"));
}

static bool check_paused(dec *d)
{
    json_t *ag = d->obj;
    char holder[80], who[400];
    if (hold_has(ag, pause_holder(ag, holder)))
        return true;
    hold_describe(ag, who, sizeof who);
    if (json_array_size(json_object_get(ag, "held_by")))
        return mkt_fail(d->c, 409, "conflict", NULL, ag,
                        "agent %s is not paused by a supervisor; it is held by %s",
                        mkt_str(ag, "id"), who);
    return mkt_fail(d->c, 409, "conflict", NULL, ag, "agent %s is active", mkt_str(ag, "id"));
}

static int agent_pause(dec *d)
{
    const char *id = mkt_str(d->obj, "id");
    char holder[80], text[160];
    pause_holder(d->obj, holder);
    snprintf(text, sizeof text, "Held: agent %s was paused by a supervisor.", id);
    return hold_add(d->c->m, "agent", d->obj, holder, NULL) == 1 &&
                   hold_threads(d->c->m, id, holder, text) == 0
               ? 0
               : -1;
}

static int agent_resume(dec *d)
{
    char holder[80], text[160];
    pause_holder(d->obj, holder);
    snprintf(text, sizeof text, "Released: agent %s was resumed.", mkt_str(d->obj, "id"));
    return hold_remove(d->c->m, "agent", d->obj, holder, NULL) == 1 &&
                   hold_release(d->c->m, "negotiation", holder, text) == 0
               ? 0
               : -1;
}

/* Changing an agent's two_person_minor once it is set (lowering, raising or clearing it)
 * is itself a two-person decision: the first supervisor's limits call is held on the
 * agent as pending_limits {the limits, by, at}; another supervisor's identical call
 * confirms it. Setting it when it is off, or any other limit, takes effect at once. */
static bool limits_guarded(dec *d)
{
    json_t *tp = json_object_get(d->params, "two_person_minor");
    int64_t cur = mkt_int(json_object_get(d->obj, "limits"), "two_person_minor");
    return tp && cur > 0 && json_integer_value(tp) != cur;
}

/* True when the agent's pending limits change is the one d asks for. */
static bool limits_pending_same(dec *d)
{
    json_t *pend = json_object_get(d->obj, "pending_limits");
    if (!json_is_object(pend))
        return false;
    json_t *lim = json_deep_copy(pend);
    json_object_del(lim, "by");
    json_object_del(lim, "at");
    bool same = json_equal(lim, d->params);
    json_decref(lim);
    return same;
}

/* The supervisor who proposed a held limits change cannot confirm it. */
static bool check_limits(dec *d)
{
    if (!limits_guarded(d) || !limits_pending_same(d) ||
        strcmp(mkt_str(json_object_get(d->obj, "pending_limits"), "by"), d->c->a->name) != 0)
        return true;
    return mkt_fail(d->c, 409, "same_approver", "two_person_minor", d->obj,
                    "%s proposed this change; another supervisor must confirm it", d->c->a->name);
}

static int agent_limits(dec *d)
{
    if (limits_guarded(d) && !limits_pending_same(d)) {
        json_t *pend = json_deep_copy(d->params);
        json_object_set_new(pend, "by", json_string(d->c->a->name));
        json_object_set_new(pend, "at", mkt_time_json(d->c->m->now));
        json_object_set_new(d->obj, "pending_limits", pend);
        return mkt_update(d->c->m, "agent", d->obj);
    }
    if (limits_guarded(d))
        json_object_del(d->obj, "pending_limits"); /* confirmed */
    json_object_update(json_object_get(d->obj, "limits"), d->params);
    return mkt_update(d->c->m, "agent", d->obj);
}

/* ---- the fleet: the kill switch and its undo ---- */

static void fleet_refuse(dec *d)
{
    mkt_fail(d->c, 409, "conflict", NULL, d->obj, "the fleet is already %s",
             mkt_str(d->obj, "status"));
}

/* Stores the fleet with the action's status, its reason and who decided (its next
 * version: mkt_set_fleet). A halt or resume holds only for the version the operator
 * saw (If-Match, like every decision): a resume decided on one halt cannot lift a later
 * one made for another reason. */
static int fleet_store(dec *d, int rc)
{
    json_t *fleet = d->obj;
    json_object_set_new(fleet, "status", json_string(d->act->to));
    json_object_set_new(fleet, "reason", d->reason ? json_string(d->reason) : json_null());
    json_object_set_new(fleet, "by", json_string(d->c->a->name));
    return rc == 0 ? mkt_set_fleet(d->c->m, fleet) : -1;
}

/* The halt is one holder of every agent and every open negotiation; resuming the fleet
 * removes that holder and no other (marketd/hold.c). */
static int fleet_halt(dec *d)
{
    market *m = d->c->m;
    json_t *agents = json_array();
    int rc = STORE(m->db, objects_each, "agent", mkt_collect, agents) < 0 ? -1 : 0;
    size_t i;
    json_t *o;
    json_array_foreach(agents, i, o)
    {
        if (rc == 0 && hold_add(m, "agent", o, "fleet", NULL) < 0)
            rc = -1;
    }
    json_decref(agents);
    if (rc == 0)
        rc = hold_threads(m, NULL, "fleet", "Held: the fleet was halted.");
    return fleet_store(d, rc);
}

static int fleet_resume(dec *d)
{
    int rc = hold_release(d->c->m, "agent", "fleet", NULL);
    if (rc == 0)
        rc = hold_release(d->c->m, "negotiation", "fleet", "Released: the fleet was resumed.");
    return fleet_store(d, rc);
}

/* ---- scoped halts (marketd/halt.c): their lift ---- */

static void halt_refuse_lift(dec *d)
{
    mkt_fail(d->c, 409, "conflict", NULL, d->obj, "the halt is already lifted");
}

static int halt_lift_change(dec *d)
{
    return halt_lift(d->c, d->obj);
}

/* ---- alerts ---- */

/* Only an open alert is acknowledged: an acknowledged one already was, and a resolved
 * one needs no one any more (its purchases were decided: marketd/alert.c). */
static void alert_refuse(dec *d)
{
    json_t *res = json_object_get(d->obj, "resolution");
    if (strcmp(mkt_str(d->obj, "status"), "resolved") == 0)
        mkt_fail(d->c, 409, "conflict", NULL, d->obj, "the alert is resolved: purchase %s is %s",
                 json_is_object(res) ? mkt_str(res, "purchase_id") : "?",
                 json_is_object(res) ? mkt_str(res, "purchase_status") : "decided");
    else
        mkt_fail(d->c, 409, "conflict", NULL, d->obj, "the alert is already acknowledged");
}

static int alert_ack(dec *d)
{
    json_object_set_new(d->obj, "status", json_string(d->act->to));
    json_object_set_new(d->obj, "acked_by", json_string(d->c->a->name));
    return mkt_update(d->c->m, "alert", d->obj);
}

/* ---- disputes (marketd/dispute.c): their resolution ---- */

static void dispute_refuse(dec *d)
{
    mkt_fail(d->c, 409, "conflict", NULL, d->obj, "the dispute is already resolved");
}

static bool parse_resolution(dec *d)
{
    return (d->params = dispute_resolution_parse(d->c, &d->reason)) != NULL;
}

static bool check_resolution(dec *d)
{
    return dispute_resolution_check(d->c, d->obj, d->params);
}

static int dispute_resolve_change(dec *d)
{
    return dispute_resolve(d->c, d->obj, d->params, d->reason);
}

/* ---- policies (marketd/policy.c): enable and disable ---- */

static bool check_enable(dec *d)
{
    bool on = json_is_true(json_object_get(d->obj, "enabled"));
    if (on != !strcmp(d->act->name, "enable"))
        return true;
    return mkt_fail(d->c, 409, "conflict", NULL, d->obj, "the policy is already %s",
                    on ? "enabled" : "disabled");
}

static int policy_enable(dec *d)
{
    json_object_set_new(d->obj, "enabled", json_boolean(!strcmp(d->act->name, "enable")));
    return mkt_update(d->c->m, "policy", d->obj);
}

/* ---- the table ---- */

#define NO_SUCH_DECISION "no such decision"

/* One row a subject (and below, an action): they read best as tables. */
/* clang-format off */
static const subject purchases =
    {"purchases",    3, "purchase",    "pur_", NO_SUCH_DECISION,   purchase_current,
     purchase_refuse};
static const subject negotiations =
    {"negotiations", 3, "negotiation", "neg_", NO_SUCH_DECISION,   NULL, negotiation_refuse};
static const subject agents =
    {"agents",       3, "agent",       "agt_", NO_SUCH_DECISION,   NULL, NULL};
static const subject fleet =
    {"fleet",        2, "fleet",       NULL,   NO_SUCH_DECISION,   NULL, fleet_refuse};
static const subject alerts =
    {"alerts",       3, "alert",       "alr_", "no such endpoint", NULL, alert_refuse};
static const subject halts =
    {"halts",        3, "halt",        "hlt_", NO_SUCH_DECISION,   NULL, halt_refuse_lift};
static const subject policies =
    {"policies",     3, "policy",      "pol_", "no such endpoint", NULL, NULL};
static const subject disputes =
    {"disputes",     3, "dispute",     "dsp_", "no such endpoint", NULL, dispute_refuse};

/* POST /v1/{purchases|negotiations|agents|alerts}/{id}/{action}, /v1/fleet/{action}.
 * A row: subject, action, the states it is allowed in, the status it leaves, body parser,
 * further check, change, follow-up. */
static const action actions[] = {
    {&purchases,    "approve", {"pending_approval"}, "approved", parse_approval,   check_approval,
     purchase_approve,    follow_approve},
    {&purchases,    "veto",    {"pending_approval"}, "vetoed",   parse_reason,     NULL,
     purchase_decided,    follow_veto},
    {&purchases,    "cap",     {"pending_approval"}, "capped",   parse_reason_cap, NULL,
     purchase_decided,    follow_cap},
    {&purchases,    "refund",  {"settled"},          "refunded", parse_reason,     NULL,
     purchase_refund,     NULL},
    {&negotiations, "cap",     {"open", "held"},     NULL,       parse_cap,        NULL,
     negotiation_cap,     NULL},
    {&negotiations, "hold",    {"open", "held"},     NULL,       parse_reason,     check_not_held,
     negotiation_hold,    NULL},
    {&negotiations, "release", {"open", "held"},     NULL,       NULL,             check_held,
     negotiation_release, NULL},
    {&negotiations, "veto",    {"open", "held"},     "vetoed",   parse_reason,     NULL,
     negotiation_veto,    NULL},
    {&agents,       "pause",   {NULL},               NULL,       parse_reason,     check_not_paused,
     agent_pause,         NULL},
    {&agents,       "resume",  {NULL},               NULL,       NULL,             check_paused,
     agent_resume,        NULL},
    {&agents,       "limits",  {NULL},               NULL,       parse_limits,     check_limits,
     agent_limits,        NULL},
    {&fleet,        "halt",    {"running"},          "halted",   parse_reason,     NULL,
     fleet_halt,          NULL},
    {&fleet,        "resume",  {"halted"},           "running",  NULL,             NULL,
     fleet_resume,        NULL},
    {&halts,        "lift",    {"active"},           "lifted",   NULL,             NULL,
     halt_lift_change,    NULL},
    {&alerts,       "ack",     {"open"},             "acked",    parse_note,       NULL,
     alert_ack,           NULL},
    {&policies,     "enable",  {NULL},               NULL,       NULL,             check_enable,
     policy_enable,       NULL},
    {&policies,     "disable", {NULL},               NULL,       NULL,             check_enable,
     policy_enable,       NULL},
    {&disputes,     "resolve", {"open", "responded"}, "resolved", parse_resolution,
     check_resolution,    dispute_resolve_change, NULL},
};
/* clang-format on */

/* ---- taking a decision ---- */

/* True when the subject's status is one the action is allowed in (or it names none). */
static bool allowed(const dec *d)
{
    const char *st = mkt_str(d->obj, "status");
    if (!d->act->states[0])
        return true;
    for (size_t i = 0; i < sizeof d->act->states / sizeof d->act->states[0]; i++)
        if (d->act->states[i] && st && strcmp(d->act->states[i], st) == 0)
            return true;
    return false;
}

/* Ends decision d whose steps returned rc: records the Decision and answers the subject
 * (200), or, when a step could not be stored, answers 503 (the transaction is rolled
 * back). */
static bool decided(dec *d, int rc)
{
    const char *id = d->act->on->prefix ? mkt_str(d->obj, "id") : d->act->on->kind;
    if (rc != 0 || decide_record(d->c, d->act->name, d->act->on->kind, id, d->reason,
                                 d->params ? json_deep_copy(d->params) : NULL) != 0)
        return mkt_fail(d->c, 503, "unavailable", NULL, NULL, "could not store the decision");
    return mkt_ok(d->c, 200, json_incref(d->obj));
}

/* Takes decision act: parse, load, If-Match, state, check, change, follow-up, record. */
static bool decide(mkt_ctx *c, const action *act)
{
    const subject *on = act->on;
    dec d = {.c = c, .act = act};
    bool ok = false;
    if (act->parse && !act->parse(&d))
        goto out;
    d.obj = on->prefix ? load(c, on->kind, on->prefix) : mkt_fleet(c->m);
    if (!d.obj || !check_if_match(c, d.obj))
        goto out;
    if (on->current && !on->current(&d))
        goto out;
    if (!allowed(&d)) {
        on->refuse(&d);
        goto out;
    }
    if (act->check && !act->check(&d))
        goto out;
    int rc = act->change(&d);
    if (rc == 0 && act->follow)
        rc = act->follow(&d);
    ok = decided(&d, rc);
out:
    json_decref(d.params);
    json_decref(d.obj);
    return ok;
}

bool decide_route(mkt_ctx *c)
{
    const subject *on = NULL;
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
        const action *act = &actions[i];
        if (act->on->nseg != c->nseg || strcmp(act->on->seg, c->seg[0]) != 0)
            continue;
        if (!strcmp(act->name, c->seg[c->nseg - 1]))
            return decide(c, act);
        on = act->on;
    }
    return mkt_fail(c, 404, "not_found", NULL, NULL, "%s", on ? on->unknown : "no such endpoint");
}
