/* policy.c: policies, what a person never needs to see and what a person must see.
 *
 * A policy {id, version, name, enabled, mode, priority, match, action, reason, hits,
 * shadow_hits, created_at, updated_at} is an object of kind "policy" (docs/api.md,
 * "Policies"). Creating and replacing one are decisions like any other: idempotent
 * (route.c), conditional (If-Match: decide_if_match), recorded as a Decision and a
 * policy.updated event; enable and disable are rows of decide.c's table.
 *
 * When a purchase is made (trade.c), the enabled policies are evaluated in priority
 * order: the first live one whose match holds decides (approve, veto, review), every
 * shadow one whose match holds is recorded on the purchase (policy_shadow) and decides
 * nothing. An approve never holds for a purchase with a critical flag. The hour windows
 * (max_per_hour, max_spend_per_hour_minor) are read from the database in the purchase's
 * own transaction. Hits are counted in the policy's row without a new version (mkt_put):
 * a count is not a change an operator's If-Match should trip on.
 */
#include "marketd/mkt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/money.h"
#include "api/text.h"

#define POLICY_NAME_MAX  64
#define POLICY_LIST_MAX  100 /* entries of a match's list */
#define POLICY_ITEM_MAX  200 /* characters of an entry */
#define POLICY_PRIO_MAX  1000000
#define POLICY_HOUR_MS   3600000
#define POLICY_COUNT_MAX 1000000000LL

/* ---- the match's conditions, one table ------------------------------------------ */

typedef enum cond_type { C_LIST, C_RULES, C_CURRENCY, C_MONEY, C_RISK, C_COUNT } cond_type;

typedef struct cond {
    const char *key;
    cond_type type;
} cond;

/* Every condition a match may hold (docs/api.md); all of those given must hold. */
static const cond conds[] = {
    {"agents", C_LIST},
    {"principals", C_LIST},
    {"sellers", C_LIST},
    {"categories", C_LIST},
    {"currency", C_CURRENCY},
    {"total_min_minor", C_MONEY},
    {"total_max_minor", C_MONEY},
    {"unit_price_max_minor", C_MONEY},
    {"risk_max", C_RISK},
    {"flags_any", C_RULES},
    {"flags_none", C_RULES},
    {"max_per_hour", C_COUNT},
    {"max_spend_per_hour_minor", C_MONEY},
};

static const char *const actions[] = {"approve", "veto", "review", NULL};
static const char *const modes[] = {"live", "shadow", NULL};

/* Fields of a policy the server owns: a body may carry them (an exported or listed
 * policy sent back) and they are ignored. */
static const char *const owned[] = {"id",          "version",    "hits",
                                    "shadow_hits", "created_at", "updated_at"};

/* Characters of UTF-8 text s (jansson's strings are valid UTF-8). */
static size_t chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static bool one_of(const char *const *set, const char *s)
{
    for (; s && *set; set++)
        if (strcmp(*set, s) == 0)
            return true;
    return false;
}

/* Checks a list condition (strings, or rule names): 1 to POLICY_LIST_MAX entries. */
static bool check_list(mkt_ctx *c, const char *field, json_t *v, bool rules)
{
    if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > POLICY_LIST_MAX)
        return mkt_fail(c, 400, "bad_request", field, NULL, "%s must be a list of 1 to %d entries",
                        field, POLICY_LIST_MAX);
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        const char *s = json_string_value(e);
        size_t n = s ? chars(s) : 0;
        if (!s || n < 1 || n > POLICY_ITEM_MAX)
            return mkt_fail(c, 400, "bad_request", field, NULL,
                            "%s must hold strings of 1 to %d characters", field, POLICY_ITEM_MAX);
        if (rules && !risk_rule_known(s))
            return mkt_fail(c, 400, "bad_request", field, NULL, "%s: no rule named %.64s", field,
                            s);
    }
    return true;
}

/* Checks one condition's value; false: answered (400). */
static bool check_cond(mkt_ctx *c, const cond *k, json_t *v)
{
    char field[64];
    snprintf(field, sizeof field, "match.%s", k->key);
    int64_t max = k->type == C_RISK ? 100 : k->type == C_COUNT ? POLICY_COUNT_MAX : MONEY_MAX_MINOR;
    switch (k->type) {
        case C_LIST:
        case C_RULES: return check_list(c, field, v, k->type == C_RULES);
        case C_CURRENCY:
            if (!json_is_string(v) || !money_currency_valid(json_string_value(v)))
                return mkt_fail(c, 400, "bad_request", field, NULL, "unknown currency");
            return true;
        default:
            if (!json_is_integer(v) || json_integer_value(v) < (k->type == C_COUNT) ||
                json_integer_value(v) > max)
                return mkt_fail(c, 400, "bad_request", field, NULL,
                                "%s must be an integer from %d to %lld", field, k->type == C_COUNT,
                                (long long)max);
            return true;
    }
}

/* The match of c->body, normalised (nulls dropped), owned; NULL: answered. */
static json_t *parse_match(mkt_ctx *c)
{
    json_t *src = json_object_get(c->body, "match");
    if (!json_is_object(src)) {
        mkt_fail(c, 400, "bad_request", "match", NULL, "match must be an object");
        return NULL;
    }
    json_t *out = json_object(), *v;
    const char *key;
    json_object_foreach(src, key, v)
    {
        const cond *k = NULL;
        for (size_t i = 0; i < sizeof conds / sizeof conds[0] && !k; i++)
            if (strcmp(conds[i].key, key) == 0)
                k = &conds[i];
        if (!k) {
            mkt_fail(c, 400, "bad_request", "match", NULL, "match: no condition named %.64s", key);
            goto fail;
        }
        if (json_is_null(v))
            continue;
        if (!check_cond(c, k, v))
            goto fail;
        json_object_set(out, key, v);
    }
    return out;
fail:
    json_decref(out);
    return NULL;
}

/* An optional string field that must be one of set (dflt when absent). */
static bool body_choice(mkt_ctx *c, const char *key, const char *const *set, const char *dflt,
                        const char **out)
{
    int r = mkt_body_str(c, key, 1, 16, !dflt, out);
    if (r < 0)
        return false;
    if (r == 0)
        *out = dflt;
    if (!one_of(set, *out))
        return mkt_fail(c, 400, "bad_request", key, NULL, "%s must be %s", key,
                        set == actions ? "approve, veto or review" : "live or shadow");
    return true;
}

/* Checks that the body names no field a policy does not have. */
static bool known_fields(mkt_ctx *c)
{
    static const char *const fields[] = {"name",   "enabled", "mode",  "priority",
                                         "action", "reason",  "match", NULL};
    const char *key;
    json_t *v;
    json_object_foreach(c->body, key, v)
    {
        bool ok = one_of(fields, key);
        for (size_t i = 0; i < sizeof owned / sizeof owned[0] && !ok; i++)
            ok = strcmp(owned[i], key) == 0;
        if (!ok)
            return mkt_fail(c, 400, "bad_request", key, NULL, "a policy has no field %.64s", key);
    }
    return true;
}

json_t *policy_parse(mkt_ctx *c)
{
    const char *name, *mode, *action, *reason = NULL;
    int64_t prio = 100;
    json_t *en = json_object_get(c->body, "enabled");
    if (!known_fields(c) || mkt_body_str(c, "name", 1, POLICY_NAME_MAX, true, &name) < 0 ||
        !body_choice(c, "mode", modes, "live", &mode) ||
        !body_choice(c, "action", actions, NULL, &action) ||
        mkt_body_int(c, "priority", 0, POLICY_PRIO_MAX, &prio) < 0 ||
        mkt_body_str(c, "reason", 0, 500, false, &reason) < 0)
        return NULL;
    if (en && !json_is_boolean(en) && !json_is_null(en)) {
        mkt_fail(c, 400, "bad_request", "enabled", NULL, "enabled must be true or false");
        return NULL;
    }
    if (!strcmp(action, "veto") && (!reason || !*reason)) {
        mkt_fail(c, 400, "bad_request", "reason", NULL,
                 "a veto policy needs a reason: it goes back to the agent");
        return NULL;
    }
    json_t *match = parse_match(c);
    if (!match)
        return NULL;
    json_t *def = json_pack("{ss ss sI so ss so}", "name", name, "mode", mode, "priority",
                            (json_int_t)prio, "match", match, "action", action, "reason",
                            reason && *reason ? json_string(reason) : json_null());
    if (json_is_boolean(en))
        json_object_set(def, "enabled", en);
    return def;
}

/* ---- create and replace ---------------------------------------------------------- */

/* A walk that keeps the objects whose "name" is ud->name and whose id is not ud->id. */
typedef struct name_walk {
    const char *name, *id;
    char other[72];
} name_walk;
static int same_name(void *ud, const char *json, int64_t n)
{
    (void)n;
    name_walk *w = ud;
    json_t *o = json ? json_loads(json, 0, NULL) : NULL;
    const char *nm = mkt_str(o, "name"), *id = mkt_str(o, "id");
    int stop = nm && id && !strcmp(nm, w->name) && (!w->id || strcmp(id, w->id) != 0);
    if (stop)
        snprintf(w->other, sizeof w->other, "%s", id);
    json_decref(o);
    return stop;
}

/* A policy's name is unique (an export and an import match policies by it): false with
 * 409 when another policy has it. */
static bool name_free(mkt_ctx *c, const char *name, const char *id)
{
    name_walk w = {name, id, ""};
    if (STORE(c->m->db, objects_each, "policy", same_name, &w) < 0)
        return mkt_fail(c, 503, "unavailable", NULL, NULL, "database unavailable");
    if (w.other[0])
        return mkt_fail(c, 409, "conflict", "name", NULL, "policy %s is already named %.64s",
                        w.other, name);
    return true;
}

/* Records the Decision of a policy change and answers the policy (status). */
static bool changed(mkt_ctx *c, const char *action, json_t *pol, int status)
{
    json_t *params = json_pack("{sI}", "version", (json_int_t)mkt_int(pol, "version"));
    if (decide_record(c, action, "policy", mkt_str(pol, "id"), NULL, params) != 0)
        return mkt_fail(c, 503, "unavailable", NULL, NULL, "could not store the decision");
    return mkt_ok(c, status, json_incref(pol));
}

bool policy_create(mkt_ctx *c)
{
    json_t *def = policy_parse(c);
    if (!def)
        return false;
    char id[72];
    bool ok = false;
    if (!name_free(c, mkt_str(def, "name"), NULL))
        goto out;
    if (mkt_new_id(c->m, "pol_", id) != 0) {
        mkt_fail(c, 503, "unavailable", NULL, NULL, "database unavailable");
        goto out;
    }
    json_t *en = json_object_get(def, "enabled");
    json_t *pol = json_pack(
        "{ss sI ss sb sO sO sO sO sO sI sI}", "id", id, "version", 1, "name", mkt_str(def, "name"),
        "enabled", json_is_true(en), "mode", json_object_get(def, "mode"), "priority",
        json_object_get(def, "priority"), "match", json_object_get(def, "match"), "action",
        json_object_get(def, "action"), "reason", json_object_get(def, "reason"), "hits",
        (json_int_t)0, "shadow_hits", (json_int_t)0);
    if (!pol || mkt_create(c->m, "policy", pol, "created_at") != 0)
        mkt_fail(c, 503, "unavailable", NULL, NULL, "could not store the policy");
    else
        ok = changed(c, "create", pol, 201);
    json_decref(pol);
out:
    json_decref(def);
    return ok;
}

bool policy_replace(mkt_ctx *c)
{
    if (!text_valid_id(c->seg[1], "pol_"))
        return mkt_fail(c, 400, "bad_request", "id", NULL, "not a valid policy id");
    json_t *pol = mkt_get(c->m, "policy", c->seg[1]);
    if (!pol)
        return mkt_fail(c, 404, "not_found", NULL, NULL, "no such policy");
    json_t *def = NULL;
    bool ok = false;
    if (!decide_if_match(c, pol) || !(def = policy_parse(c)) ||
        !name_free(c, mkt_str(def, "name"), mkt_str(pol, "id")))
        goto out;
    json_object_update(pol, def); /* enabled stays as it was unless the body gives it */
    if (mkt_update(c->m, "policy", pol) != 0)
        mkt_fail(c, 503, "unavailable", NULL, NULL, "could not store the policy");
    else
        ok = changed(c, "replace", pol, 200);
out:
    json_decref(def);
    json_decref(pol);
    return ok;
}

/* ---- matching -------------------------------------------------------------------- */

/* True when the string array arr holds s. */
static bool list_has(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) if (s && json_is_string(v) &&
                                      !strcmp(json_string_value(v), s)) return true;
    return false;
}

/* True when any flag of p is of a rule in the list rules. */
static bool flags_in(json_t *p, json_t *rules)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(p, "flags"), i,
                       f) if (list_has(rules, mkt_str(f, "rule"))) return true;
    return false;
}

static bool critical(json_t *p)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(p, "flags"), i, f)
    {
        const char *sev = mkt_str(f, "severity");
        if (sev && !strcmp(sev, "critical"))
            return true;
    }
    return false;
}

/* The integer condition key of match, or -1 when it has none. */
static int64_t cond_int(json_t *match, const char *key)
{
    json_t *v = json_object_get(match, key);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* The hour window's conditions: fewer than max_per_hour purchases by the buyer in the
 * previous 60 minutes, and their totals plus this one at most max_spend_per_hour_minor. */
static bool window_holds(json_t *match, policy_facts *f)
{
    int64_t max_n = cond_int(match, "max_per_hour");
    int64_t max_spend = cond_int(match, "max_spend_per_hour_minor");
    if (max_n < 0 && max_spend < 0)
        return true;
    if (!f->have_window) {
        if (!f->window || f->window(f->ud, f) != 0) {
            f->failed = 1;
            return false; /* unknown: the policy does not hold */
        }
        f->have_window = true;
    }
    int64_t after;
    if (max_n >= 0 && f->hour_count >= max_n)
        return false;
    return max_spend < 0 ||
           (money_add(f->hour_sum, mkt_int(f->p, "total_minor"), &after) && after <= max_spend);
}

bool policy_matches(json_t *pol, policy_facts *f)
{
    json_t *m = json_object_get(pol, "match"), *p = f->p, *v;
    const char *action = mkt_str(pol, "action");
    if (action && !strcmp(action, "approve") && critical(p))
        return false;
    static const char *const lists[][2] = {{"agents", "buyer_id"}, {"sellers", "seller_id"}};
    for (int i = 0; i < 2; i++)
        if ((v = json_object_get(m, lists[i][0])) && !list_has(v, mkt_str(p, lists[i][1])))
            return false;
    if ((v = json_object_get(m, "principals")) && !list_has(v, f->principal))
        return false;
    if ((v = json_object_get(m, "categories")) && !list_has(v, f->category))
        return false;
    const char *cur = mkt_str(m, "currency"), *pcur = mkt_str(p, "currency");
    if (cur && (!pcur || strcmp(cur, pcur) != 0))
        return false;
    int64_t total = mkt_int(p, "total_minor"), x;
    if ((x = cond_int(m, "total_min_minor")) >= 0 && total < x)
        return false;
    if ((x = cond_int(m, "total_max_minor")) >= 0 && total > x)
        return false;
    if ((x = cond_int(m, "unit_price_max_minor")) >= 0 && mkt_int(p, "unit_price_minor") > x)
        return false;
    if ((x = cond_int(m, "risk_max")) >= 0 && mkt_int(p, "risk_score") > x)
        return false;
    if ((v = json_object_get(m, "flags_any")) && !flags_in(p, v))
        return false;
    if ((v = json_object_get(m, "flags_none")) && flags_in(p, v))
        return false;
    return window_holds(m, f);
}

/* qsort order of policies: priority ascending, then position. */
typedef struct ranked {
    json_t *pol;
    int64_t prio;
    size_t at;
} ranked;
static int cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->prio != y->prio)
        return x->prio < y->prio ? -1 : 1;
    return (x->at > y->at) - (x->at < y->at);
}

json_t *policy_order(json_t *set)
{
    size_t n = json_array_size(set), k = 0, i;
    ranked *r = calloc(n ? n : 1, sizeof *r);
    json_t *out = json_array(), *pol;
    if (!r || !out) {
        free(r);
        return out;
    }
    json_array_foreach(set, i, pol) if (json_is_true(json_object_get(pol, "enabled"))) r[k++] =
        (ranked){pol, mkt_int(pol, "priority"), i};
    qsort(r, k, sizeof *r, cmp_ranked);
    for (i = 0; i < k; i++)
        json_array_append(out, r[i].pol);
    free(r);
    return out;
}

/* ---- evaluation on a new purchase ------------------------------------------------- */

/* The live hour window: the buyer's purchases stored before this one (it is not yet). */
static int live_window(void *ud, policy_facts *f)
{
    market *m = ud;
    return STORE(m->db, purchases_window, mkt_str(f->p, "buyer_id"), m->now - POLICY_HOUR_MS,
                 &f->hour_count, &f->hour_sum);
}

/* Adds one to the counter key of pol and stores it without a new version. 0 or -1. */
static int count_hit(market *m, json_t *pol, const char *key)
{
    json_object_set_new(pol, key, json_integer(mkt_int(pol, key) + 1));
    return mkt_put(m, "policy", pol);
}

int policy_decide(market *m, json_t *p, json_t *buyer, json_t *listing, policy_verdict *v)
{
    *v = (policy_verdict){0};
    json_t *all = json_array();
    if (STORE(m->db, objects_each, "policy", mkt_collect, all) < 0) {
        json_decref(all);
        return -1;
    }
    json_t *set = policy_order(all), *pol, *shadow = json_array();
    json_decref(all);
    policy_facts f = {.p = p,
                      .principal = mkt_str(buyer, "principal"),
                      .category = mkt_str(listing, "category"),
                      .window = live_window,
                      .ud = m};
    int rc = 0;
    size_t i;
    json_array_foreach(set, i, pol)
    {
        bool live = !strcmp(mkt_str(pol, "mode"), "live");
        if ((live && v->action) || !policy_matches(pol, &f))
            continue;
        if (live) {
            v->action = mkt_str(pol, "action");
            v->policy = json_incref(pol);
        } else {
            json_array_append_new(shadow, json_pack("{ss ss ss}", "policy_id", mkt_str(pol, "id"),
                                                    "name", mkt_str(pol, "name"), "action",
                                                    mkt_str(pol, "action")));
        }
        if (count_hit(m, pol, live ? "hits" : "shadow_hits") != 0)
            rc = -1;
    }
    if (json_array_size(shadow))
        json_object_set(p, "policy_shadow", shadow);
    json_decref(shadow);
    json_decref(set); /* v->policy keeps its own reference; v->action lives in it */
    return rc == 0 && !f.failed ? 0 : -1;
}

void policy_apply(market *m, json_t *p, const policy_verdict *v)
{
    if (!v->action)
        return;
    json_t *pol = v->policy;
    json_object_set_new(p, "policy",
                        json_pack("{ss ss ss}", "id", mkt_str(pol, "id"), "name",
                                  mkt_str(pol, "name"), "action", v->action));
    bool approve = !strcmp(v->action, "approve");
    if (!approve && strcmp(v->action, "veto") != 0)
        return; /* review: a person decides, as before */
    char by[80];
    snprintf(by, sizeof by, "policy:%s", mkt_str(pol, "id"));
    json_object_set_new(p, "status", json_string(approve ? "approved" : "vetoed"));
    json_object_set_new(p, "decide_by", json_null());
    json_object_set_new(p, "decision",
                        json_pack("{ss ss so sO sn}", "action", v->action, "by", by, "at",
                                  mkt_time_json(m->now), "reason", json_object_get(pol, "reason"),
                                  "cap"));
}

int policy_follow(market *m, json_t *p, const policy_verdict *v)
{
    if (!v->action || strcmp(v->action, "veto") != 0)
        return 0;
    char text[2600]; /* a reason of 500 characters (2,000 bytes) and a name, whole */
    const char *reason = mkt_str(v->policy, "reason");
    snprintf(text, sizeof text, "Vetoed by policy %s: %s", mkt_str(v->policy, "name"),
             reason ? reason : "");
    return settle_thread(m, p, "vetoed", text, NULL);
}
