/* decide.c: operator decisions (role supervisor), settlement, refunds and expiry.
 *
 * Every decision runs inside the transaction market_handle() opened: the If-Match
 * version check, the state check, the change, its events, the Decision record and the
 * stored idempotent answer commit together or not at all. Under the market's lock, of
 * two operators (or an operator and the clock) exactly one wins; the other gets 409 or
 * 412 with the current object.
 */
#include "marketd/mkt.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/money.h"
#include "api/text.h"

#define QTY_MAX 1000000000LL
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

/* Writes a Decision record (decision.recorded). params is stolen (may be NULL). */
static int record(mkt_ctx *c, const char *action, const char *kind, const char *id,
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

/* Sets the account's balance += delta. 0 or -1. */
static int add_balance(market *m, const char *account, int64_t delta)
{
    sqlite3_stmt *st;
    if (mkt_prepare(m,
                    "INSERT INTO balances(account,amount) VALUES(?,?) ON CONFLICT(account) "
                    "DO UPDATE SET amount=amount+excluded.amount",
                    &st) != 0)
        return -1;
    sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, delta);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    mkt_release(st);
    return rc;
}

/* Posts a double entry moving amount from buyer to seller (negative: back). 0 or -1. */
static int post_ledger(market *m, json_t *p, const char *kind, int64_t amount)
{
    char lid[72], from[80], to[80];
    if (mkt_new_id(m, "led_", lid) != 0)
        return -1;
    snprintf(from, sizeof from, "agent:%s", mkt_str(p, "buyer_id"));
    snprintf(to, sizeof to, "agent:%s", mkt_str(p, "seller_id"));
    json_t *e = json_pack("{ss sI ss ss ss s[{ss sI}{ss sI}] so}", "id", lid, "seq",
                          (json_int_t)atoll(lid + 4), "kind", kind, "purchase_id", mkt_str(p, "id"),
                          "currency", mkt_str(p, "currency"), "postings", "account", from,
                          "amount_minor", (json_int_t)-amount, "account", to, "amount_minor",
                          (json_int_t)amount, "at", mkt_time_json(m->now));
    int rc = e && mkt_create(m, "ledger", e, NULL) == 0 && add_balance(m, from, -amount) == 0 &&
                     add_balance(m, to, amount) == 0
                 ? 0
                 : -1;
    json_decref(e);
    return rc;
}

int decide_settle(market *m, json_t *p)
{
    json_t *l = mkt_get(m, "listing", mkt_str(p, "listing_id"));
    json_t *buyer = mkt_get(m, "agent", mkt_str(p, "buyer_id"));
    int64_t qty = mkt_int(p, "quantity"), total = mkt_int(p, "total_minor");
    int rc = -1;
    if (!l || !buyer)
        goto out;
    int64_t spent;
    if (strcmp(mkt_str(l, "status"), "open") != 0 || mkt_int(l, "quantity") < qty ||
        !money_add(mkt_int(buyer, "spent_minor"), total, &spent)) {
        /* settlement is impossible: the goods are gone */
        json_object_set_new(p, "status", json_string("failed"));
        rc = mkt_update(m, "purchase", p);
        if (rc == 0)
            rc = risk_alert(m, "warning", "settlement_failed", "purchase", mkt_str(p, "id"),
                            "the listing no longer has the quantity; the purchase failed");
        goto out;
    }
    if (post_ledger(m, p, "settlement", total) != 0)
        goto out;
    json_object_set_new(buyer, "spent_minor", json_integer(spent));
    if (mkt_update(m, "agent", buyer) != 0)
        goto out;
    int64_t left = mkt_int(l, "quantity") - qty;
    json_object_set_new(l, "quantity", json_integer(left));
    if (left == 0)
        json_object_set_new(l, "status", json_string("sold"));
    if (mkt_update(m, "listing", l) != 0)
        goto out;
    json_object_set_new(p, "status", json_string("settled"));
    rc = mkt_update(m, "purchase", p);
out:
    json_decref(l);
    json_decref(buyer);
    return rc;
}

/* Sets a purchase's negotiation to status and adds a system message. 0 or -1. */
static int neg_after(market *m, json_t *p, const char *status, const char *text, json_t *cap)
{
    json_t *neg = mkt_get(m, "negotiation", mkt_str(p, "negotiation_id"));
    if (!neg)
        return 0;
    int rc = -1;
    if (trade_system_message(m, neg, text) == 0) {
        json_object_set_new(neg, "status", json_string(status));
        if (cap) {
            /* the old terms are off the table: new ones, inside the cap, are made by one
             * party and accepted by the other (marketd/trade.c) */
            json_object_set(neg, "cap", cap);
            json_object_set_new(neg, "agreed_terms", json_null());
            json_object_set_new(neg, "terms", json_null());
        }
        if (strcmp(status, "open") == 0 && hold_inherit(m, neg) != 0)
            goto out;
        rc = mkt_update(m, "negotiation", neg);
    }
out:
    json_decref(neg);
    return rc;
}

int decide_expire(market *m, json_t *p)
{
    json_object_set_new(p, "status", json_string("expired"));
    json_object_set_new(p, "decision",
                        json_pack("{ss ss so ss sn}", "action", "expire", "by", "market", "at",
                                  mkt_time_json(m->now), "reason",
                                  "no decision before decide_by (default_on_timeout: veto)",
                                  "cap"));
    if (mkt_update(m, "purchase", p) != 0)
        return -1;
    m->st.expired++;
    return neg_after(m, p, "expired",
                     "The purchase expired without a supervisor's decision and is not going ahead.",
                     NULL);
}

/* Binds the current time. */
static void bind_now(sqlite3_stmt *st, const void *ud)
{
    sqlite3_bind_int64(st, 1, *(const int64_t *)ud);
}

void decide_expire_due(market *m)
{
    json_t *due = json_array();
    mkt_query_json(m,
                   "SELECT json FROM objects WHERE kind='purchase' AND status='pending_approval' "
                   "AND due IS NOT NULL AND due<=? ORDER BY due LIMIT 200",
                   bind_now, &m->now, due);
    size_t i;
    json_t *p;
    json_array_foreach(due, i, p)
    {
        if (mkt_begin(m, true) != 0)
            break;
        if (decide_expire(m, p) != 0 || mkt_commit(m) != 0)
            mkt_rollback(m);
    }
    json_decref(due);
}

/* True (and expires it in this transaction) when a pending purchase is past due. */
static bool expire_if_due(mkt_ctx *c, json_t *p)
{
    if (strcmp(mkt_str(p, "status"), "pending_approval") != 0)
        return false;
    json_t *db = json_object_get(p, "decide_by");
    if (!json_is_string(db))
        return false;
    char now[32];
    mkt_time_str(c->m->now, now);
    if (strcmp(json_string_value(db), now) > 0)
        return false;
    return decide_expire(c->m, p) == 0;
}

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

/* Builds a cap object from the body; NULL when invalid or empty (answer set). */
static json_t *body_cap(mkt_ctx *c)
{
    json_t *cap = json_object();
    int a = opt_cap(c, cap, "max_unit_price_minor", MONEY_MAX_MINOR);
    int b = a < 0 ? -1 : opt_cap(c, cap, "max_quantity", QTY_MAX);
    if (a < 0 || b < 0) {
        json_decref(cap);
        return NULL;
    }
    if (a == 0 && b == 0) {
        json_decref(cap);
        mkt_fail(c, 400, "bad_request", "max_unit_price_minor", NULL,
                 "a cap needs a maximum unit price or a maximum quantity");
        return NULL;
    }
    return cap;
}

/* POST /v1/purchases/{id}/{approve|veto|cap|refund} */
static bool purchase_decision(mkt_ctx *c, const char *action)
{
    market *m = c->m;
    const char *reason = NULL;
    int64_t expected = 0;
    json_t *cap = NULL;
    if (!strcmp(action, "approve")) {
        int r = mkt_body_int(c, "expected_total_minor", 0, MONEY_MAX_MINOR, &expected);
        if (r < 0)
            return false;
        if (r == 0)
            return mkt_fail(c, 400, "bad_request", "expected_total_minor", NULL,
                            "expected_total_minor is required");
        if (mkt_body_str(c, "comment", 0, 500, false, &reason) < 0)
            return false;
    } else if (!strcmp(action, "veto") || !strcmp(action, "refund")) {
        if (mkt_body_str(c, "reason", 1, 500, true, &reason) < 0)
            return false;
    } else if (!strcmp(action, "cap")) {
        if (mkt_body_str(c, "reason", 0, 500, false, &reason) < 0 || !(cap = body_cap(c)))
            return false;
    } else {
        return mkt_fail(c, 404, "not_found", NULL, NULL, "no such decision");
    }
    json_t *p = load(c, "purchase", "pur_");
    bool ok = false;
    if (!p || !check_if_match(c, p))
        goto out;
    const char *want = !strcmp(action, "refund") ? "settled" : "pending_approval";
    if (strcmp(want, "pending_approval") == 0 && expire_if_due(c, p)) {
        /* The clock won: the expiry is committed on its own (this answer is an error,
         * whose transaction is rolled back); if that commit fails, the next tick
         * expires it. */
        if (mkt_commit(m) == 0)
            mkt_begin(m, true);
        mkt_fail(c, 409, "conflict", NULL, p, "the purchase expired at its decision deadline");
        goto out;
    }
    if (strcmp(mkt_str(p, "status"), want) != 0) {
        mkt_fail(c, 409, "conflict", NULL, p, "the purchase is %s", mkt_str(p, "status"));
        goto out;
    }
    if (!strcmp(action, "approve") && expected != mkt_int(p, "total_minor")) {
        char now[MKT_MONEY_LEN], exp[MKT_MONEY_LEN];
        mkt_fail(c, 412, "precondition_failed", "expected_total_minor", p,
                 "the total is %s, not %s",
                 mkt_money(now, mkt_int(p, "total_minor"), mkt_str(p, "currency")),
                 mkt_money(exp, expected, mkt_str(p, "currency")));
        goto out;
    }
    const char *status = !strcmp(action, "approve") ? "approved"
                         : !strcmp(action, "veto")  ? "vetoed"
                         : !strcmp(action, "cap")   ? "capped"
                                                    : "refunded";
    json_object_set_new(p, "status", json_string(status));
    if (strcmp(action, "refund") != 0)
        json_object_set_new(p, "decision",
                            json_pack("{ss ss so so sO}", "action", action, "by", c->a->name, "at",
                                      mkt_time_json(m->now), "reason",
                                      reason ? json_string(reason) : json_null(), "cap",
                                      cap ? cap : json_null()));
    if (mkt_update(m, "purchase", p) != 0)
        goto fail;
    char text[SYSTEM_TEXT];
    if (!strcmp(action, "approve")) {
        if (decide_settle(m, p) != 0)
            goto fail;
    } else if (!strcmp(action, "veto")) {
        textf(text, sizeof text, "Vetoed by the supervisor: %s", reason);
        if (neg_after(m, p, "vetoed", text, NULL) != 0)
            goto fail;
    } else if (!strcmp(action, "cap")) {
        char words[160];
        textf(text, sizeof text,
              "Capped by the supervisor (%s)%s%s. Agree new terms inside the cap to buy.",
              mkt_cap_words(words, sizeof words, cap, mkt_str(p, "currency")), reason ? ": " : "",
              reason ? reason : "");
        if (neg_after(m, p, "open", text, cap) != 0)
            goto fail;
    } else {
        if (post_ledger(m, p, "refund", -mkt_int(p, "total_minor")) != 0)
            goto fail;
        json_t *buyer = mkt_get(m, "agent", mkt_str(p, "buyer_id"));
        if (buyer) {
            int64_t spent = mkt_int(buyer, "spent_minor") - mkt_int(p, "total_minor");
            json_object_set_new(buyer, "spent_minor", json_integer(spent < 0 ? 0 : spent));
            int rc = mkt_update(m, "agent", buyer);
            json_decref(buyer);
            if (rc != 0)
                goto fail;
        }
    }
    json_t *params = NULL;
    if (!strcmp(action, "approve"))
        params = json_pack("{sI}", "expected_total_minor", (json_int_t)expected);
    else if (cap)
        params = json_deep_copy(cap);
    if (record(c, action, "purchase", mkt_str(p, "id"), reason, params) != 0)
        goto fail;
    ok = mkt_ok(c, 200, json_incref(p));
    goto out;
fail:
    mkt_fail(c, 503, "unavailable", NULL, NULL, "could not store the decision");
out:
    json_decref(cap);
    json_decref(p);
    return ok;
}

/* POST /v1/negotiations/{id}/{cap|hold|release|veto} */
static bool negotiation_decision(mkt_ctx *c, const char *action)
{
    const char *reason = NULL;
    json_t *cap = NULL;
    if (!strcmp(action, "cap")) {
        if (!(cap = body_cap(c)))
            return false;
    } else if (!strcmp(action, "hold") || !strcmp(action, "veto")) {
        if (mkt_body_str(c, "reason", 1, 500, true, &reason) < 0)
            return false;
    } else if (strcmp(action, "release") != 0) {
        return mkt_fail(c, 404, "not_found", NULL, NULL, "no such decision");
    }
    json_t *neg = load(c, "negotiation", "neg_");
    bool ok = false;
    if (!neg || !check_if_match(c, neg))
        goto out;
    const char *st = mkt_str(neg, "status");
    bool open = !strcmp(st, "open"), held = !strcmp(st, "held");
    bool mine = hold_has(neg, "hold"); /* a supervisor's hold is one holder among others */
    if (!(open || held) || (!strcmp(action, "hold") && mine) ||
        (!strcmp(action, "release") && !mine)) {
        char who[400];
        hold_describe(neg, who, sizeof who);
        if (held && !mine)
            mkt_fail(c, 409, "conflict", NULL, neg,
                     "the negotiation is held by %s, not by a supervisor's hold", who);
        else
            mkt_fail(c, 409, "conflict", NULL, neg, "the negotiation is %s%s%s", st,
                     held ? " by " : "", held ? who : "");
        goto out;
    }
    char text[SYSTEM_TEXT];
    int rc = 0;
    if (!strcmp(action, "cap")) {
        json_object_set(neg, "cap", cap);
    } else if (!strcmp(action, "hold")) {
        textf(text, sizeof text, "Held by the supervisor: %s", reason);
        rc = hold_add(c->m, "negotiation", neg, "hold", text) == 1 ? 0 : -1;
    } else if (!strcmp(action, "release")) {
        rc = hold_remove(c->m, "negotiation", neg, "hold", "Released by the supervisor.") == 1 ? 0
                                                                                               : -1;
    } else {
        json_object_set_new(neg, "status", json_string("vetoed"));
        json_object_set_new(neg, "held_by", json_array()); /* it ends: nothing holds it */
        textf(text, sizeof text, "Vetoed by the supervisor: %s", reason);
        rc = trade_system_message(c->m, neg, text);
    }
    /* hold and release stored the negotiation themselves */
    bool stored = !strcmp(action, "hold") || !strcmp(action, "release");
    if (rc != 0 || (!stored && mkt_update(c->m, "negotiation", neg) != 0) ||
        record(c, action, "negotiation", mkt_str(neg, "id"), reason,
               cap ? json_deep_copy(cap) : NULL) != 0) {
        mkt_fail(c, 503, "unavailable", NULL, NULL, "could not store the decision");
        goto out;
    }
    ok = mkt_ok(c, 200, json_incref(neg));
out:
    json_decref(cap);
    json_decref(neg);
    return ok;
}

/* Reads a limits object field into lim (required or optional). Returns 1/0/-1. */
static int limit_field(mkt_ctx *c, json_t *src, json_t *lim, const char *key, bool required)
{
    json_t *v = json_object_get(src, key);
    if (!v || json_is_null(v)) {
        if (required) {
            mkt_fail(c, 400, "bad_request", key, NULL, "limits.%s is required", key);
            return -1;
        }
        return 0;
    }
    int64_t max = strcmp(key, "max_quantity") == 0 ? QTY_MAX : MONEY_MAX_MINOR;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max) {
        mkt_fail(c, 400, "bad_request", key, NULL, "%s must be an integer from 0 to %lld", key,
                 (long long)max);
        return -1;
    }
    json_object_set(lim, key, v);
    return 1;
}

static const char *const limit_keys[] = {"spend_cap_minor", "per_deal_max_minor",
                                         "approval_threshold_minor", "max_quantity"};

/* Checks that v is an array of 0..max strings of 1..maxchars bytes. */
static bool string_array(mkt_ctx *c, json_t *v, const char *field, size_t max, size_t maxlen)
{
    if (!json_is_array(v) || json_array_size(v) > max)
        return mkt_fail(c, 400, "bad_request", field, NULL,
                        "%s must be an array of at most %zu strings", field, max);
    size_t i;
    json_t *s;
    json_array_foreach(v, i,
                       s) if (!json_is_string(s) || json_string_length(s) < 1 ||
                              json_string_length(s) >
                                  maxlen) return mkt_fail(c, 400, "bad_request", field, NULL,
                                                          "%s must hold strings of 1 to %zu bytes",
                                                          field, maxlen);
    return true;
}

/* POST /v1/agents: registers an agent and issues its token. */
static bool register_agent(mkt_ctx *c)
{
    const char *name, *principal, *role, *currency;
    if (mkt_body_str(c, "name", 1, 200, true, &name) < 0 ||
        mkt_body_str(c, "principal", 1, 200, true, &principal) < 0 ||
        mkt_body_str(c, "role", 1, 16, true, &role) < 0 ||
        mkt_body_str(c, "currency", 3, 3, true, &currency) < 0)
        return false;
    if (strcmp(role, "buyer") != 0 && strcmp(role, "seller") != 0)
        return mkt_fail(c, 400, "bad_request", "role", NULL, "role must be buyer or seller");
    if (!money_currency_valid(currency))
        return mkt_fail(c, 400, "bad_request", "currency", NULL, "unknown currency");
    json_t *src = json_object_get(c->body, "limits");
    if (!json_is_object(src))
        return mkt_fail(c, 400, "bad_request", "limits", NULL, "limits must be an object");
    json_t *lim = json_object();
    for (int i = 0; i < 4; i++)
        if (limit_field(c, src, lim, limit_keys[i], true) < 0) {
            json_decref(lim);
            return false;
        }
    json_t *mandate = json_object_get(c->body, "mandate");
    json_t *cats = json_object_get(mandate, "categories");
    json_t *addrs = json_object_get(c->body, "addresses");
    if (!json_is_object(mandate) || !string_array(c, cats, "mandate", 256, 64) ||
        (addrs && !json_is_null(addrs) && !string_array(c, addrs, "addresses", 64, 500))) {
        if (!json_is_object(mandate))
            mkt_fail(c, 400, "bad_request", "mandate", NULL, "mandate must be {categories: [..]}");
        json_decref(lim);
        return false;
    }
    char id[72];
    if (mkt_new_id(c->m, "agt_", id) != 0) {
        json_decref(lim);
        return mkt_fail(c, 503, "unavailable", NULL, NULL, "database unavailable");
    }
    json_t *addresses = json_is_array(addrs) ? json_incref(addrs) : json_array();
    json_t *ag = json_pack("{ss sI ss ss ss ss ss so sI s{sO} so s[]}", "id", id, "version", 1,
                           "name", name, "principal", principal, "role", role, "status", "active",
                           "currency", currency, "limits", lim, "spent_minor", (json_int_t)0,
                           "mandate", "categories", cats, "addresses", addresses, "held_by");
    char *token = NULL;
    bool ok = false;
    if (ag && mkt_create(c->m, "agent", ag, NULL) == 0 && mkt_issue_token(c->m, id, &token) == 0 &&
        record(c, "register", "agent", id, NULL, NULL) == 0) {
        /* The token is shown in this answer only: the stored answer that a replay of
         * this request gets says so instead of holding it (docs/api.md). */
        ok = mkt_ok(c, 201, json_pack("{sO ss}", "agent", ag, "token", token));
        c->replay = json_pack("{sO sn ss}", "agent", ag, "token", "token_note", MKT_TOKEN_NOTE);
    } else
        mkt_fail(c, 503, "unavailable", NULL, NULL, "could not register the agent");
    if (token) {
        memset(token, 0, strlen(token));
        free(token);
    }
    json_decref(ag);
    return ok;
}

/* A supervisor's pause of agent ag holds the agent and its open negotiations (both
 * sides: nothing trades with a paused agent); resume removes that pause, and only it
 * (marketd/hold.c): what the fleet halt holds stays held. Stores the agent. Returns 0,
 * 1 when refused (the answer is set), -1 on failure. */
static int pause_or_resume(mkt_ctx *c, json_t *ag, bool pause)
{
    const char *id = mkt_str(ag, "id");
    char holder[80], text[160], who[400];
    snprintf(holder, sizeof holder, "pause:%s", id);
    hold_describe(ag, who, sizeof who);
    if (pause && hold_has(ag, holder)) {
        mkt_fail(c, 409, "conflict", NULL, ag, "agent %s is already paused", id);
        return 1;
    }
    if (!pause && !hold_has(ag, holder)) {
        if (json_array_size(json_object_get(ag, "held_by")))
            mkt_fail(c, 409, "conflict", NULL, ag,
                     "agent %s is not paused by a supervisor; it is held by %s", id, who);
        else
            mkt_fail(c, 409, "conflict", NULL, ag, "agent %s is active", id);
        return 1;
    }
    if (pause) {
        snprintf(text, sizeof text, "Held: agent %s was paused by a supervisor.", id);
        return hold_add(c->m, "agent", ag, holder, NULL) == 1 &&
                       hold_threads(c->m, id, holder, text) == 0
                   ? 0
                   : -1;
    }
    snprintf(text, sizeof text, "Released: agent %s was resumed.", id);
    return hold_remove(c->m, "agent", ag, holder, NULL) == 1 &&
                   hold_release(c->m, "negotiation", holder, text) == 0
               ? 0
               : -1;
}

/* POST /v1/agents/{id}/{pause|resume|limits} */
static bool agent_decision(mkt_ctx *c, const char *action)
{
    const char *reason = NULL;
    json_t *lim = NULL;
    if (!strcmp(action, "pause")) {
        if (mkt_body_str(c, "reason", 1, 500, true, &reason) < 0)
            return false;
    } else if (!strcmp(action, "limits")) {
        lim = json_object();
        for (int i = 0; i < 4; i++)
            if (limit_field(c, c->body, lim, limit_keys[i], false) < 0) {
                json_decref(lim);
                return false;
            }
        if (json_object_size(lim) == 0) {
            json_decref(lim);
            return mkt_fail(c, 400, "bad_request", "spend_cap_minor", NULL,
                            "give at least one limit");
        }
    } else if (strcmp(action, "resume") != 0) {
        return mkt_fail(c, 404, "not_found", NULL, NULL, "no such decision");
    }
    json_t *ag = load(c, "agent", "agt_");
    bool ok = false;
    if (!ag || !check_if_match(c, ag))
        goto out;
    int rc;
    if (!strcmp(action, "limits")) {
        json_object_update(json_object_get(ag, "limits"), lim);
        rc = mkt_update(c->m, "agent", ag);
    } else if ((rc = pause_or_resume(c, ag, !strcmp(action, "pause"))) > 0) {
        goto out; /* refused: the answer is set */
    }
    if (rc != 0 ||
        record(c, action, "agent", mkt_str(ag, "id"), reason, lim ? json_incref(lim) : NULL) != 0) {
        mkt_fail(c, 503, "unavailable", NULL, NULL, "could not store the decision");
        goto out;
    }
    ok = mkt_ok(c, 200, json_incref(ag));
out:
    json_decref(lim);
    json_decref(ag);
    return ok;
}

/* POST /v1/fleet/{halt|resume}: the kill switch and its undo. */
static bool fleet_decision(mkt_ctx *c, const char *action)
{
    market *m = c->m;
    const char *reason = NULL;
    bool halt = !strcmp(action, "halt");
    if (!halt && strcmp(action, "resume") != 0)
        return mkt_fail(c, 404, "not_found", NULL, NULL, "no such decision");
    if (halt && mkt_body_str(c, "reason", 1, 500, true, &reason) < 0)
        return false;
    json_t *fleet = mkt_fleet(m);
    bool ok = false;
    if (halt == !strcmp(mkt_str(fleet, "status"), "halted")) {
        mkt_fail(c, 409, "conflict", NULL, fleet, "the fleet is already %s",
                 mkt_str(fleet, "status"));
        goto out;
    }
    /* The halt is one holder of every agent and every open negotiation; resuming the
     * fleet removes that holder and no other (marketd/hold.c). */
    int rc = 0;
    if (halt) {
        json_t *agents = json_array();
        rc = mkt_query_json(m, "SELECT json FROM objects WHERE kind='agent' ORDER BY ord", NULL,
                            NULL, agents);
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
    } else {
        rc = hold_release(m, "agent", "fleet", NULL);
        if (rc == 0)
            rc = hold_release(m, "negotiation", "fleet", "Released: the fleet was resumed.");
    }
    json_object_set_new(fleet, "status", json_string(halt ? "halted" : "running"));
    json_object_set_new(fleet, "reason", reason ? json_string(reason) : json_null());
    json_object_set_new(fleet, "by", json_string(c->a->name));
    if (rc != 0 || mkt_set_fleet(m, fleet) != 0 ||
        record(c, halt ? "halt" : "resume", "fleet", "fleet", reason, NULL) != 0) {
        mkt_fail(c, 503, "unavailable", NULL, NULL, "could not store the decision");
        goto out;
    }
    ok = mkt_ok(c, 200, json_incref(fleet));
out:
    json_decref(fleet);
    return ok;
}

/* POST /v1/alerts/{id}/ack */
static bool alert_ack(mkt_ctx *c)
{
    const char *note = NULL;
    if (mkt_body_str(c, "note", 0, 500, false, &note) < 0)
        return false;
    json_t *a = load(c, "alert", "alr_");
    bool ok = false;
    if (!a || !check_if_match(c, a))
        goto out;
    if (strcmp(mkt_str(a, "status"), "open") != 0) {
        mkt_fail(c, 409, "conflict", NULL, a, "the alert is already acknowledged");
        goto out;
    }
    json_object_set_new(a, "status", json_string("acked"));
    json_object_set_new(a, "acked_by", json_string(c->a->name));
    if (mkt_update(c->m, "alert", a) != 0 ||
        record(c, "ack", "alert", mkt_str(a, "id"), note, NULL) != 0) {
        mkt_fail(c, 503, "unavailable", NULL, NULL, "could not store the decision");
        goto out;
    }
    ok = mkt_ok(c, 200, json_incref(a));
out:
    json_decref(a);
    return ok;
}

bool decide_route(mkt_ctx *c)
{
    if (c->a->role != ROLE_SUPERVISOR)
        return mkt_fail(c, 403, "forbidden", NULL, NULL, "supervisors only");
    const char *k = c->seg[0];
    if (c->nseg == 1 && !strcmp(k, "agents"))
        return register_agent(c);
    if (c->nseg == 2 && !strcmp(k, "fleet"))
        return fleet_decision(c, c->seg[1]);
    if (c->nseg != 3)
        return mkt_fail(c, 404, "not_found", NULL, NULL, "no such endpoint");
    if (!strcmp(k, "purchases"))
        return purchase_decision(c, c->seg[2]);
    if (!strcmp(k, "negotiations"))
        return negotiation_decision(c, c->seg[2]);
    if (!strcmp(k, "agents"))
        return agent_decision(c, c->seg[2]);
    if (!strcmp(k, "alerts") && !strcmp(c->seg[2], "ack"))
        return alert_ack(c);
    return mkt_fail(c, 404, "not_found", NULL, NULL, "no such endpoint");
}

void market_tick(market *m)
{
    pthread_mutex_lock(&m->mu);
    m->now = mkt_now_ms();
    decide_expire_due(m);
    if (m->now - m->last_prune > 3600 * 1000) {
        /* Idempotency keys are kept 48 hours (the contract promises at least 24). */
        char sql[96];
        snprintf(sql, sizeof sql, "DELETE FROM idem WHERE at<%lld",
                 (long long)(m->now - 48LL * 3600 * 1000));
        mkt_exec(m, sql);
        m->last_prune = m->now;
    }
    pthread_mutex_unlock(&m->mu);
}
