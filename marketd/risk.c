/* risk.c: the risk rules, run on every purchase when it is made.
 *
 * Each rule that fires adds a flag {rule, severity, detail} and raises an alert; the
 * purchase's risk_score is the sum of the fired rules' weights, capped at 100. The
 * weights (stated in docs/api.md) put every critical rule at or above 40, so that any
 * critical flag alone lands in the top band of the score.
 */
#include "marketd/mkt.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/money.h"
#include "api/text.h"

#define VELOCITY_LIMIT    30     /* offers a minute */
#define DUPLICATE_WINDOW  600000 /* ms */
#define QTY_INTENT_FACTOR 10

typedef struct rule {
    const char *name, *severity;
    int weight;
    const char *to_agents; /* the flag's detail as an agent sees it (risk_purchase_view) */
} rule;

/* Every rule, by name and severity (budget has two), with its weight (docs/api.md's
 * rules table). */
static const rule rules[] = {
    {"quantity_vs_intent", "critical", 40, "the quantity is outside the buyer's usual range"},
    {"over_deal_max", "critical", 40, "the total is over the buyer's deal maximum"},
    {"budget", "critical", 40, "the total is over the buyer's spending cap"},
    {"budget", "warning", 15, "the total brings the buyer near its spending cap"},
    {"off_mandate", "critical", 40, "the category is outside the buyer's mandate"},
    {"below_floor", "warning", 15, "the unit price is below the seller's floor"},
    {"below_reference", "warning", 15, "the unit price is under half the reference price"},
    {"overpay", "warning", 20, "the unit price is well above the reference price"},
    {"ship_to_unverified", "critical", 40, "the ship-to address is not a verified one"},
    {"terms_drift", "critical", 50, "the purchase's terms differ from the agreed terms"},
    {"duplicate", "warning", 20, "the same purchase was made in the last 10 minutes"},
    {"hidden_text", "warning", 25, "the listing or the thread holds hidden characters"},
};

/* The rule of that name and severity, or NULL. */
static const rule *rule_of(const char *name, const char *severity)
{
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (name && severity && strcmp(rules[i].name, name) == 0 &&
            strcmp(rules[i].severity, severity) == 0)
            return &rules[i];
    return NULL;
}

bool risk_rule_known(const char *name)
{
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (name && strcmp(rules[i].name, name) == 0)
            return true;
    return false;
}

/* Appends a flag to p and adds its rule's weight to *score. */
static void flag(json_t *p, int *score, const char *rulename, const char *severity, const char *fmt,
                 ...) __attribute__((format(printf, 5, 6)));
static void flag(json_t *p, int *score, const char *rulename, const char *severity, const char *fmt,
                 ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    json_array_append_new(
        json_object_get(p, "flags"),
        json_pack("{ss ss ss}", "rule", rulename, "severity", severity, "detail", detail));
    const rule *r = rule_of(rulename, severity);
    *score += r ? r->weight : 0;
}

json_t *risk_purchase_view(const market_actor *a, json_t *p)
{
    json_t *v = json_deep_copy(p);
    if (!v || a->role != ROLE_AGENT)
        return v;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(v, "flags"), i, f)
    {
        const rule *r = rule_of(mkt_str(f, "rule"), mkt_str(f, "severity"));
        json_object_set_new(f, "detail", json_string(r ? r->to_agents : "flagged for review"));
    }
    json_object_del(v, "policy"); /* the supervisors' policies are theirs (policy.c) */
    json_object_del(v, "policy_shadow");
    return v;
}

/* Median quantity of the buyer's earlier purchases, or -1 when there are none. */
static int64_t median_quantity(market *m, const char *buyer)
{
    int64_t vals[512];
    int n = STORE(m->db, purchase_quantities, buyer, vals, 512);
    if (n <= 0)
        return -1;
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && vals[j - 1] > vals[j]; j--) {
            int64_t t = vals[j];
            vals[j] = vals[j - 1];
            vals[j - 1] = t;
        }
    return vals[n / 2];
}

/* True when a purchase with the same buyer, listing and terms is settled, approved or
 * pending and was made in the last 10 minutes. */
static bool duplicate_exists(market *m, json_t *p)
{
    store_dup q = {mkt_str(p, "buyer_id"), mkt_str(p, "listing_id"), mkt_int(p, "unit_price_minor"),
                   mkt_int(p, "quantity"), m->now - DUPLICATE_WINDOW};
    return STORE(m->db, purchase_duplicate, &q) == 1;
}

/* TEXT_F_HIDDEN_MASK flags of s; line feeds and tabs are ordinary layout in
 * descriptions and messages, so they do not count. */
static unsigned hidden_flags(const char *s)
{
    if (!s)
        return 0;
    size_t n = strlen(s);
    char *copy = malloc(n + 1);
    if (!copy)
        return 0;
    for (size_t i = 0; i <= n; i++)
        copy[i] = (s[i] == '\n' || s[i] == '\t') ? ' ' : s[i];
    unsigned f = text_scan(copy, n) & TEXT_F_HIDDEN_MASK;
    free(copy);
    return f;
}

/* The first message of a thread holding hidden characters: its flags and seq. */
typedef struct hidden_walk {
    unsigned flags;
    int64_t seq;
} hidden_walk;
static int hidden_message(void *ud, const char *text, int64_t seq)
{
    hidden_walk *w = ud;
    w->flags = hidden_flags(text);
    w->seq = seq;
    return w->flags ? 1 : 0;
}

/* Flags of every text in the listing and the negotiation's thread. */
static unsigned thread_hidden(market *m, json_t *listing, json_t *neg, char *where, size_t wsz)
{
    unsigned f = hidden_flags(mkt_str(listing, "title"));
    if (f) {
        snprintf(where, wsz, "listing title");
        return f;
    }
    if ((f = hidden_flags(mkt_str(listing, "description")))) {
        snprintf(where, wsz, "listing description");
        return f;
    }
    hidden_walk w = {0, 0};
    STORE(m->db, message_texts, mkt_str(neg, "id"), hidden_message, &w);
    if (w.flags)
        snprintf(where, wsz, "message %d", (int)w.seq);
    return w.flags;
}

/* True when the string array arr holds s. */
static bool array_has(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    if (!s)
        return false;
    json_array_foreach(arr, i, v) if (json_is_string(v) &&
                                      strcmp(json_string_value(v), s) == 0) return true;
    return false;
}

bool risk_over_cap(json_t *buyer, json_t *p, char *why, size_t size)
{
    const char *cur = mkt_str(p, "currency");
    int64_t cap = mkt_int(json_object_get(buyer, "limits"), "spend_cap_minor");
    int64_t spent = mkt_int(buyer, "spent_minor"), total = mkt_int(p, "total_minor"), after;
    if (money_add(spent, total, &after) && after <= cap)
        return false;
    char m1[MKT_MONEY_LEN], m2[MKT_MONEY_LEN], m3[MKT_MONEY_LEN];
    snprintf(why, size, "spent %s + total %s is over the %s spending cap",
             mkt_money(m1, spent, cur), mkt_money(m2, total, cur), mkt_money(m3, cap, cur));
    return true;
}

/* The rules on the buyer's limits: quantity, deal maximum, spending cap, mandate. */
static void buyer_rules(market *m, json_t *p, int *score, json_t *buyer, json_t *listing)
{
    json_t *lim = json_object_get(buyer, "limits");
    const char *cur = mkt_str(p, "currency");
    char m1[MKT_MONEY_LEN], m2[MKT_MONEY_LEN], m3[MKT_MONEY_LEN];
    char q1[MKT_COUNT_LEN], q2[MKT_COUNT_LEN];
    int64_t qty = mkt_int(p, "quantity"), total = mkt_int(p, "total_minor");
    int64_t maxq = mkt_int(lim, "max_quantity");
    int64_t med = median_quantity(m, mkt_str(p, "buyer_id"));
    if (qty > maxq)
        flag(p, score, "quantity_vs_intent", "critical",
             "quantity %s is over the buyer's maximum of %s", mkt_count(q1, qty),
             mkt_count(q2, maxq));
    else if (med > 0 && qty >= QTY_INTENT_FACTOR * med)
        flag(p, score, "quantity_vs_intent", "critical",
             "quantity %s is %lldx the buyer's median purchase quantity of %s", mkt_count(q1, qty),
             (long long)(qty / med), mkt_count(q2, med));

    int64_t per_deal = mkt_int(lim, "per_deal_max_minor");
    if (total > per_deal)
        flag(p, score, "over_deal_max", "critical", "total %s is over the %s deal maximum",
             mkt_money(m1, total, cur), mkt_money(m2, per_deal, cur));

    int64_t cap = mkt_int(lim, "spend_cap_minor"), spent = mkt_int(buyer, "spent_minor");
    int64_t after = spent + total; /* in range when risk_over_cap says it is not over */
    char why[256];
    if (risk_over_cap(buyer, p, why, sizeof why))
        flag(p, score, "budget", "critical", "%s", why);
    else if (after * 5 >= cap * 4)
        flag(p, score, "budget", "warning",
             "spent %s + total %s reaches %lld%% of the %s spending cap", mkt_money(m1, spent, cur),
             mkt_money(m2, total, cur), cap > 0 ? (long long)(after * 100 / cap) : 100LL,
             mkt_money(m3, cap, cur));

    const char *category = mkt_str(listing, "category");
    json_t *mandate = json_object_get(json_object_get(buyer, "mandate"), "categories");
    if (!array_has(mandate, category))
        flag(p, score, "off_mandate", "critical", "category %s is not in the buyer's mandate",
             category ? category : "?");
}

/* The rules on the price: the seller's floor, and the listing's reference price. */
static void price_rules(json_t *p, int *score, json_t *listing)
{
    const char *cur = mkt_str(p, "currency");
    char m1[MKT_MONEY_LEN], m2[MKT_MONEY_LEN];
    int64_t price = mkt_int(p, "unit_price_minor");
    json_t *floor = json_object_get(listing, "floor_minor");
    int64_t ref = mkt_int(listing, "reference_price_minor");
    if (json_is_integer(floor) && price < json_integer_value(floor))
        flag(p, score, "below_floor", "warning", "unit price %s is below the seller's floor %s",
             mkt_money(m1, price, cur), mkt_money(m2, json_integer_value(floor), cur));
    /* Without a floor, a seller's agent giving goods away is still noticed. */
    if (!json_is_integer(floor) && ref > 0 && price * 2 < ref)
        flag(p, score, "below_reference", "warning",
             "unit price %s is under half the reference price %s", mkt_money(m1, price, cur),
             mkt_money(m2, ref, cur));
    if (ref > 0 && price * 2 > ref * 3)
        flag(p, score, "overpay", "warning",
             "unit price %s is more than 1.5x the reference price %s", mkt_money(m1, price, cur),
             mkt_money(m2, ref, cur));
}

int risk_check(market *m, json_t *p, json_t *buyer, json_t *listing, json_t *neg)
{
    int score = 0;
    const char *cur = mkt_str(p, "currency");
    char m1[MKT_MONEY_LEN], m2[MKT_MONEY_LEN], q1[MKT_COUNT_LEN], q2[MKT_COUNT_LEN];
    int64_t qty = mkt_int(p, "quantity"), price = mkt_int(p, "unit_price_minor");
    buyer_rules(m, p, &score, buyer, listing);
    price_rules(p, &score, listing);

    const char *ship = mkt_str(p, "ship_to");
    if (!array_has(json_object_get(buyer, "addresses"), ship))
        flag(p, &score, "ship_to_unverified", "critical", "%s",
             ship ? "the ship-to address is not one of the buyer's verified addresses"
                  : "no ship-to address and no verified address");

    json_t *agreed = json_object_get(neg, "agreed_terms");
    if (json_is_object(agreed) &&
        (mkt_int(agreed, "unit_price_minor") != price || mkt_int(agreed, "quantity") != qty))
        flag(p, &score, "terms_drift", "critical",
             "purchase %s x %s differs from the agreed %s x %s", mkt_count(q1, qty),
             mkt_money(m1, price, cur), mkt_count(q2, mkt_int(agreed, "quantity")),
             mkt_money(m2, mkt_int(agreed, "unit_price_minor"), cur));

    if (duplicate_exists(m, p))
        flag(p, &score, "duplicate", "warning",
             "the same buyer bought the same listing at the same terms in the last 10 minutes");

    char where[64] = "";
    unsigned hf = thread_hidden(m, listing, neg, where, sizeof where);
    if (hf) {
        char desc[160];
        text_flags_describe(hf, desc, sizeof desc);
        flag(p, &score, "hidden_text", "warning", "%s holds %s", where, desc);
    }
    json_object_set_new(p, "risk_score", json_integer(score > 100 ? 100 : score));
    m->st.flags += json_array_size(json_object_get(p, "flags"));
    return 0;
}

int risk_velocity(market *m, const char *agent_id)
{
    int n = STORE(m->db, offers_since, agent_id, m->now - 60000);
    if (n < 0)
        return -1;
    if (n != VELOCITY_LIMIT + 1)
        return 0; /* alert once, when the limit is first passed in this minute */
    char msg[160];
    snprintf(msg, sizeof msg, "agent %s sent more than %d offers in a minute", agent_id,
             VELOCITY_LIMIT);
    return risk_alert(m, "warning", "velocity", NULL, agent_id, msg);
}

/* A walk of an agent's disputes, newest first, counting those against it in a window. */
typedef struct burst_walk {
    const char *agent;
    int64_t since; /* ms */
    int n;
} burst_walk;
static int burst_row(void *ud, const char *json, int64_t ord)
{
    (void)ord;
    burst_walk *w = ud;
    json_t *d = json ? json_loads(json, 0, NULL) : NULL;
    int stop = d && mkt_parse_time(mkt_str(d, "created_at")) < w->since;
    const char *against = d && !stop ? dispute_against(d) : NULL;
    if (against && strcmp(against, w->agent) == 0)
        w->n++;
    json_decref(d);
    return stop;
}

int risk_dispute_burst(market *m, const char *agent_id)
{
    if (!agent_id)
        return 0;
    burst_walk w = {agent_id, m->now - 24LL * 3600 * 1000, 0};
    store_page q = {.kind = "dispute", .party = agent_id, .limit = 1000, .desc = true};
    if (STORE(m->db, objects_page, &q, burst_row, &w) < 0)
        return -1;
    if (w.n < DISPUTE_BURST)
        return 0;
    char msg[160];
    snprintf(msg, sizeof msg, "agent %s has %d disputes against it in 24 hours", agent_id, w.n);
    return risk_alert(m, "warning", "dispute_burst", NULL, agent_id, msg);
}
