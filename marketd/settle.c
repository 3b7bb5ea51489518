/* settle.c: what follows a purchase's decision, and the clock.
 *
 * Settlement (the ledger's double entry, the buyer's spending, the listing's quantity),
 * refunds (whole, or part of it: a dispute's), the purchase's negotiation after it ends
 * or is capped, and expiry at decide_by, which market_tick() runs with the idempotency
 * keys' pruning and the disputes' respond_by (marketd/dispute.c). Each runs
 * inside the caller's transaction, except settle_expire_due(), which commits each expiry
 * on its own.
 */
#include "marketd/mkt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/money.h"

/* Sets the account's balance += delta. 0 or -1. */
static int add_balance(market *m, const char *account, int64_t delta)
{
    return STORE(m->db, balance_add, account, delta);
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

int settle_purchase(market *m, json_t *p)
{
    json_t *l = mkt_get(m, "listing", mkt_str(p, "listing_id"));
    json_t *buyer = mkt_get(m, "agent", mkt_str(p, "buyer_id"));
    int64_t qty = mkt_int(p, "quantity"), total = mkt_int(p, "total_minor");
    int rc = -1;
    char why[256];
    if (!l || !buyer)
        goto out;
    if (risk_over_cap(buyer, p, why, sizeof why)) {
        /* never past the cap: the approval refused it already (409 budget_exceeded), and
         * an automatic settlement follows the budget rule in the same transaction */
        rc = 1;
        goto out;
    }
    int64_t spent;
    if (strcmp(mkt_str(l, "status"), "open") != 0 || mkt_int(l, "quantity") < qty ||
        !money_add(mkt_int(buyer, "spent_minor"), total, &spent)) {
        /* settlement is impossible: the goods are gone */
        json_object_set_new(p, "status", json_string("failed"));
        rc = mkt_update(m, "purchase", p);
        if (rc == 0)
            rc = risk_alert(m, "warning", "settlement_failed", p, NULL,
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
    json_object_set_new(p, "settled_at", mkt_time_json(m->now)); /* the dispute window's start */
    rc = mkt_update(m, "purchase", p);
out:
    json_decref(l);
    json_decref(buyer);
    return rc;
}

int settle_thread(market *m, json_t *p, const char *status, const char *text, json_t *cap)
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

int settle_expire(market *m, json_t *p)
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
    return settle_thread(
        m, p, "expired",
        "The purchase expired without a supervisor's decision and is not going ahead.", NULL);
}

/* True when purchase p is pending and its decide_by is at or before m->now. */
static bool due_now(market *m, json_t *p)
{
    if (!mkt_str(p, "status") || strcmp(mkt_str(p, "status"), "pending_approval") != 0)
        return false;
    json_t *db = json_object_get(p, "decide_by");
    if (!json_is_string(db))
        return false;
    char now[32];
    mkt_time_str(m->now, now);
    return strcmp(json_string_value(db), now) <= 0;
}

void settle_expire_due(market *m)
{
    json_t *due = json_array();
    STORE(m->db, purchases_due, m->now, 200, mkt_collect, due);
    size_t i;
    json_t *p;
    json_array_foreach(due, i, p)
    {
        if (mkt_begin(m, true) != 0)
            break;
        /* on an engine several instances share, the purchase as it is now, inside the
         * transaction: another instance may have decided it since the list was read */
        json_t *cur = m->shared ? mkt_get(m, "purchase", mkt_str(p, "id")) : json_incref(p);
        if (!cur || !due_now(m, cur) || settle_expire(m, cur) != 0 || mkt_commit(m) != 0)
            mkt_rollback(m);
        json_decref(cur);
    }
    json_decref(due);
}

bool settle_expire_if_due(market *m, json_t *p)
{
    return due_now(m, p) && settle_expire(m, p) == 0;
}

int settle_refund(market *m, json_t *p, int64_t amount)
{
    int64_t total = mkt_int(p, "total_minor"), refunded = mkt_int(p, "refunded_minor") + amount;
    if (amount < 0 || refunded > total || post_ledger(m, p, "refund", -amount) != 0)
        return -1;
    json_object_set_new(p, "refunded_minor", json_integer(refunded));
    if (refunded == total)
        json_object_set_new(p, "status", json_string("refunded"));
    if (mkt_update(m, "purchase", p) != 0)
        return -1;
    json_t *buyer = mkt_get(m, "agent", mkt_str(p, "buyer_id"));
    if (!buyer)
        return 0;
    int64_t spent = mkt_int(buyer, "spent_minor") - amount;
    json_object_set_new(buyer, "spent_minor", json_integer(spent < 0 ? 0 : spent));
    int rc = mkt_update(m, "agent", buyer);
    json_decref(buyer);
    return rc;
}

void market_tick(market *m)
{
    pthread_mutex_lock(&m->mu);
    m->now = mkt_now_ms();
    if (mkt_leader_check(m)) { /* once per market, not per instance (marketd/market.c) */
        settle_expire_due(m);
        claims_tick(m);
        dispute_tick(m);
        webhook_tick(m);
        mkt_idem_prune(m);
        mkt_retain_prune(m);
    }
    pthread_mutex_unlock(&m->mu);
    presence_tick(m); /* without the lock: it may halt the fleet (marketd/presence.c) */
}
