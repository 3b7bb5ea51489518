/* halt.c: scoped halts (docs/api.md, "Halts").
 *
 * The fleet halt stops everything; a scoped halt stops what its scope names: listings of
 * some categories, some sellers, agents of some principals (a buyer's or a seller's).
 * A scope matches when any one of its entries matches. A halt is an object of its own
 * (kind "halt", ids "hlt_"), active until it is lifted, and one holder of each
 * negotiation it held ("halt:<id>": marketd/hold.c), so that lifting it releases exactly
 * those and no other holder; a negotiation reopens only when its last holder is gone.
 * While it is active, a new negotiation or purchase in its scope is refused (409
 * halted, naming it: marketd/trade.c) and a thread that reopens in its scope is held
 * again (hold_inherit). Purchases already pending stay pending for a person to decide.
 * The active halts are also listed in the Fleet object (`halts`), which every console
 * already follows, and which trade.c reads to refuse.
 */
#include "marketd/mkt.h"

#include <stdio.h>
#include <string.h>

#include "api/text.h"

#define SCOPE_MAX_ENTRIES 64  /* per list of a scope */
#define SCOPE_MAX_CHARS   200 /* per entry: a principal's length (marketd/agents.c) */

static const char *const scope_keys[] = {"categories", "sellers", "principals"};
#define NKEYS (sizeof scope_keys / sizeof scope_keys[0])

/* The holder of halt id, in out[80]. */
static const char *halt_holder(const char *id, char out[80])
{
    snprintf(out, 80, "halt:%s", id);
    return out;
}

/* True when the string s is in the array arr. */
static bool in_list(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (s && json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return true;
    }
    return false;
}

/* What a scope is matched against: a listing's category and seller, the two parties'
 * principals. */
typedef struct target {
    const char *category, *seller_id, *principals[2];
} target;

/* True when scope matches t: any one entry of any list. */
static bool scope_matches(json_t *scope, const target *t)
{
    json_t *pr = json_object_get(scope, "principals");
    return in_list(json_object_get(scope, "categories"), t->category) ||
           in_list(json_object_get(scope, "sellers"), t->seller_id) ||
           in_list(pr, t->principals[0]) || in_list(pr, t->principals[1]);
}

/* Fills t for a trade on listing l between buyer_id and the listing's seller; the
 * agents (owned, kept alive for t's strings) go to *ags. */
static void target_of(market *m, json_t *l, const char *buyer_id, json_t *ags[2], target *t)
{
    ags[0] = buyer_id ? mkt_get(m, "agent", buyer_id) : NULL;
    ags[1] = mkt_get(m, "agent", mkt_str(l, "seller_id"));
    *t = (target){mkt_str(l, "category"),
                  mkt_str(l, "seller_id"),
                  {mkt_str(ags[0], "principal"), mkt_str(ags[1], "principal")}};
}

/* The active halts (the Fleet object's `halts`), owned; an empty array when none. */
static json_t *active_halts(market *m)
{
    json_t *f = mkt_fleet(m);
    json_t *h = json_object_get(f, "halts");
    json_t *out = json_is_array(h) ? json_incref(h) : json_array();
    json_decref(f);
    return out;
}

/* Appends to out (an array of strings) the holder of each active halt whose scope
 * matches a trade on listing l between buyer_id and its seller. */
static void matching(market *m, json_t *halts, json_t *l, const char *buyer_id, json_t *out)
{
    if (!l || json_array_size(halts) == 0)
        return;
    json_t *ags[2];
    target t;
    target_of(m, l, buyer_id, ags, &t);
    size_t i;
    json_t *h;
    json_array_foreach(halts, i, h)
    {
        char holder[80];
        if (scope_matches(json_object_get(h, "scope"), &t))
            json_array_append_new(out, json_string(halt_holder(mkt_str(h, "id"), holder)));
    }
    json_decref(ags[0]);
    json_decref(ags[1]);
}

bool halt_refuse(mkt_ctx *c, const char *listing_id, const char *buyer_id)
{
    json_t *halts = active_halts(c->m);
    if (json_array_size(halts) == 0) {
        json_decref(halts);
        return false;
    }
    json_t *l = mkt_get(c->m, "listing", listing_id);
    json_t *hit = json_array();
    matching(c->m, halts, l, buyer_id, hit);
    bool refused = json_array_size(hit) > 0;
    if (refused) {
        const char *id = json_string_value(json_array_get(hit, 0)) + 5; /* after "halt:" */
        json_t *h = NULL;
        size_t i;
        json_t *v;
        json_array_foreach(halts, i, v)
        {
            if (!h && strcmp(mkt_str(v, "id"), id) == 0)
                h = v;
        }
        mkt_fail(c, 409, "halted", NULL, NULL, "halt %s stops trading here: %s", id,
                 mkt_str(h, "reason"));
        json_object_set_new(c->answer, "halt", json_deep_copy(h));
    }
    json_decref(hit);
    json_decref(l);
    json_decref(halts);
    return refused;
}

int halt_inherit(market *m, json_t *neg, json_t *holders)
{
    json_t *halts = active_halts(m);
    json_t *l = json_array_size(halts) ? mkt_get(m, "listing", mkt_str(neg, "listing_id")) : NULL;
    json_t *hit = json_array();
    matching(m, halts, l, mkt_str(neg, "buyer_id"), hit);
    size_t i;
    json_t *v;
    json_array_foreach(hit, i, v)
    {
        if (!hold_has(neg, json_string_value(v)))
            json_array_append(holders, v);
    }
    json_decref(hit);
    json_decref(l);
    json_decref(halts);
    return 0;
}

/* Reads the body's scope: an object of up to three lists of strings, at least one entry
 * in all (an empty scope would halt nothing: the fleet halt is POST /v1/fleet/halt).
 * Returns it (owned, with all three lists), or NULL (answered 400). */
static json_t *parse_scope(mkt_ctx *c)
{
    json_t *src = json_object_get(c->body, "scope");
    if (!json_is_object(src)) {
        mkt_fail(c, 400, "bad_request", "scope", NULL,
                 "scope must be {categories?, sellers?, principals?}");
        return NULL;
    }
    json_t *scope = json_object();
    size_t total = 0;
    const char *key;
    json_t *v;
    json_object_foreach(src, key, v)
    {
        bool known = false;
        for (size_t k = 0; k < NKEYS; k++)
            known = known || strcmp(key, scope_keys[k]) == 0;
        if (!known) {
            json_decref(scope);
            mkt_fail(c, 400, "bad_request", "scope", NULL,
                     "a scope has categories, sellers and principals only");
            return NULL;
        }
    }
    for (size_t k = 0; k < NKEYS; k++) {
        json_t *arr = json_object_get(src, scope_keys[k]), *e;
        size_t i;
        bool ok = !arr || json_is_null(arr) ||
                  (json_is_array(arr) && json_array_size(arr) <= SCOPE_MAX_ENTRIES);
        json_array_foreach(arr, i, e)
        {
            const char *s = json_string_value(e);
            size_t n = 0; /* characters: jansson's strings are valid UTF-8 */
            for (const char *p = s; p && *p; p++)
                n += ((unsigned char)*p & 0xC0) != 0x80;
            ok = ok && s && n >= 1 && n <= SCOPE_MAX_CHARS;
        }
        if (!ok) {
            json_decref(scope);
            mkt_fail(c, 400, "bad_request", "scope", NULL,
                     "scope.%s must be a list of up to %d texts of 1 to %d characters",
                     scope_keys[k], SCOPE_MAX_ENTRIES, SCOPE_MAX_CHARS);
            return NULL;
        }
        json_object_set_new(scope, scope_keys[k],
                            json_is_array(arr) ? json_copy(arr) : json_array());
        total += json_array_size(arr);
    }
    if (total == 0) {
        json_decref(scope);
        mkt_fail(c, 400, "bad_request", "scope", NULL,
                 "the scope names nothing: give categories, sellers or principals (the whole "
                 "fleet is POST /v1/fleet/halt)");
        return NULL;
    }
    return scope;
}

/* Holds every open or held negotiation that halt h's scope matches. 0 or -1. */
static int hold_matching(market *m, json_t *h)
{
    json_t *items = json_array(), *one = json_array();
    json_array_append(one, h);
    int rc = STORE(m->db, threads_live, NULL, mkt_collect, items) < 0 ? -1 : 0;
    char holder[80], text[2100]; /* a reason of 500 characters is 2,000 bytes at most */
    halt_holder(mkt_str(h, "id"), holder);
    snprintf(text, sizeof text, "Held: halt %s (%s).", mkt_str(h, "id"), mkt_str(h, "reason"));
    size_t i;
    json_t *neg;
    json_array_foreach(items, i, neg)
    {
        json_t *l = mkt_get(m, "listing", mkt_str(neg, "listing_id")), *hit = json_array();
        matching(m, one, l, mkt_str(neg, "buyer_id"), hit);
        if (rc == 0 && json_array_size(hit) && hold_add(m, "negotiation", neg, holder, text) < 0)
            rc = -1;
        json_decref(hit);
        json_decref(l);
    }
    json_decref(one);
    json_decref(items);
    return rc;
}

/* Puts (add) or takes (!add) halt h in the Fleet object's `halts`. 0 or -1. */
static int fleet_list(market *m, json_t *h, bool add)
{
    json_t *f = mkt_fleet(m);
    json_t *halts = json_object_get(f, "halts");
    if (!json_is_array(halts)) {
        halts = json_array();
        json_object_set_new(f, "halts", halts);
    }
    size_t i;
    json_t *v;
    json_array_foreach(halts, i, v)
    {
        if (strcmp(mkt_str(v, "id"), mkt_str(h, "id")) == 0) {
            json_array_remove(halts, i);
            break;
        }
    }
    if (add)
        json_array_append_new(halts,
                              json_pack("{sO sO sO sO sO}", "id", json_object_get(h, "id"),
                                        "reason", json_object_get(h, "reason"), "scope",
                                        json_object_get(h, "scope"), "by", json_object_get(h, "by"),
                                        "created_at", json_object_get(h, "created_at")));
    int rc = mkt_set_fleet(m, f);
    json_decref(f);
    return rc;
}

bool halt_create(mkt_ctx *c)
{
    market *m = c->m;
    const char *reason;
    if (mkt_body_str(c, "reason", 1, 500, true, &reason) < 0)
        return false;
    json_t *scope = parse_scope(c);
    if (!scope)
        return false;
    char id[72];
    json_t *h = NULL;
    if (mkt_new_id(m, "hlt_", id) == 0)
        h = json_pack("{ss sI ss ss so ss sn sn}", "id", id, "version", 1, "status", "active",
                      "reason", reason, "scope", scope, "by", c->a->name, "lifted_by", "lifted_at");
    else
        json_decref(scope);
    bool ok = h && mkt_create(m, "halt", h, "created_at") == 0 && hold_matching(m, h) == 0 &&
              fleet_list(m, h, true) == 0 &&
              decide_record(c, "halt", "halt", id, reason,
                            json_pack("{sO}", "scope", json_object_get(h, "scope"))) == 0;
    ok = ok ? mkt_ok(c, 201, json_incref(h))
            : mkt_fail(c, 503, "unavailable", NULL, NULL, "could not store the halt");
    json_decref(h);
    return ok;
}

int halt_lift(mkt_ctx *c, json_t *h)
{
    char holder[80], text[120];
    halt_holder(mkt_str(h, "id"), holder);
    snprintf(text, sizeof text, "Released: halt %s was lifted.", mkt_str(h, "id"));
    json_object_set_new(h, "status", json_string("lifted"));
    json_object_set_new(h, "lifted_by", json_string(c->a->name));
    json_object_set_new(h, "lifted_at", mkt_time_json(c->m->now));
    if (hold_release(c->m, "negotiation", holder, text) != 0 || mkt_update(c->m, "halt", h) != 0)
        return -1;
    return fleet_list(c->m, h, false);
}
