/* json_policy.c: policies as files and lists (api/json_policy.h). */
#include "api/json_policy.h"

#include <jansson.h>
#include <stdio.h>

#include "api/clock.h"
#include "api/json_int.h"
#include "api/money.h"
#include "api/text.h"
#include <stdlib.h>
#include <string.h>

/* The definition of policy o (owned): its defining fields, the server's defaults for
 * those absent (a value of the wrong type is kept, for the server to refuse), the match
 * without null conditions. */
static json_t *definition(json_t *o)
{
    json_t *match = json_object(), *v;
    const char *key;
    json_object_foreach(json_object_get(o, "match"), key, v) if (!json_is_null(v))
        json_object_set(match, key, v);
    json_t *mode = json_object_get(o, "mode"), *prio = json_object_get(o, "priority");
    json_t *reason = json_object_get(o, "reason");
    return json_pack("{sO sb so so so sO so}", "name", json_object_get(o, "name"), "enabled",
                     json_is_true(json_object_get(o, "enabled")), "mode",
                     mode ? json_incref(mode) : json_string("live"), "priority",
                     prio ? json_incref(prio) : json_integer(100), "match", match, "action",
                     json_object_get(o, "action"), "reason",
                     reason ? json_incref(reason) : json_null());
}

static void copy_str(char *out, size_t size, json_t *v)
{
    snprintf(out, size, "%s", json_is_string(v) ? json_string_value(v) : "");
}

/* Fills item it from policy o; -1 with err when o is not a policy. */
static int item_of(json_t *o, size_t i, policy_item *it, char *err, size_t errsz)
{
    const char *name = json_string_value(json_object_get(o, "name"));
    json_t *en = json_object_get(o, "enabled");
    const char *missing = NULL;
    if (!json_is_object(o))
        missing = "the policy (an object)";
    else if (!name || !*name)
        missing = "name";
    else if (!json_is_string(json_object_get(o, "action")))
        missing = "action";
    else if (!json_is_object(json_object_get(o, "match")))
        missing = "match";
    else if (en && !json_is_boolean(en))
        missing = "enabled";
    if (missing) {
        snprintf(err, errsz, "policy %zu: %s is missing or not valid", i + 1, missing);
        return -1;
    }
    json_t *def = definition(o);
    it->def = def ? json_dumps(def, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(def);
    it->name = strdup(name);
    if (!it->def || !it->name) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    copy_str(it->id, sizeof it->id, json_object_get(o, "id"));
    copy_str(it->mode, sizeof it->mode, json_object_get(o, "mode"));
    copy_str(it->action, sizeof it->action, json_object_get(o, "action"));
    if (!it->mode[0])
        snprintf(it->mode, sizeof it->mode, "live");
    it->version = json_integer_value(json_object_get(o, "version"));
    it->enabled = json_is_true(json_object_get(o, "enabled"));
    json_t *prio = json_object_get(o, "priority");
    it->priority = json_is_integer(prio) ? json_integer_value(prio) : 100;
    it->hits = json_integer_value(json_object_get(o, "hits"));
    it->shadow_hits = json_integer_value(json_object_get(o, "shadow_hits"));
    return 0;
}

int json_policy_set_parse(const char *text, size_t len, bool from_list, policy_set *out, char *err,
                          size_t errsz)
{
    memset(out, 0, sizeof *out);
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    json_t *list = json_object_get(root, from_list ? "items" : "policies");
    if (!root) {
        snprintf(err, errsz, "not JSON: %s (line %d)", je.text, je.line);
        return -1;
    }
    int rc = -1;
    if (!json_is_array(list)) {
        snprintf(err, errsz, "%s",
                 from_list ? "the answer holds no items" : "the file holds no list \"policies\"");
        goto out;
    }
    out->more = from_list && json_is_string(json_object_get(root, "next"));
    out->items = calloc(json_array_size(list) + 1, sizeof *out->items);
    if (!out->items) {
        snprintf(err, errsz, "out of memory");
        goto out;
    }
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o)
    {
        if (item_of(o, i, &out->items[i], err, errsz) != 0)
            goto out;
        out->n = i + 1;
        for (size_t j = 0; j < i; j++)
            if (strcmp(out->items[j].name, out->items[i].name) == 0) {
                snprintf(err, errsz, "policy %zu: the name of policy %zu again", i + 1, j + 1);
                goto out;
            }
    }
    rc = 0;
out:
    json_decref(root);
    if (rc != 0)
        json_policy_set_free(out);
    return rc;
}

void json_policy_set_free(policy_set *s)
{
    for (size_t i = 0; s->items && i < s->n; i++) {
        free(s->items[i].name);
        free(s->items[i].def);
    }
    free(s->items);
    memset(s, 0, sizeof *s);
}

/* The definitions of s as a JSON array (owned), each one's fields in the order a
 * person reads them. */
static json_t *definitions(const policy_set *s)
{
    static const char *const order[] = {"name",   "enabled", "mode", "priority",
                                        "action", "reason",  "match"};
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < s->n; i++) {
        json_t *def = json_loads(s->items[i].def, 0, NULL), *o = json_object();
        for (size_t k = 0; k < sizeof order / sizeof order[0]; k++)
            json_object_set(o, order[k], json_object_get(def, order[k]));
        json_decref(def);
        json_array_append_new(arr, o);
    }
    return arr;
}

char *json_policy_set_export(const policy_set *s)
{
    json_t *root = json_pack("{so}", "policies", definitions(s));
    char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    char *out = text ? realloc(text, strlen(text) + 2) : NULL;
    if (!out) {
        free(text);
        return NULL;
    }
    strcat(out, "\n");
    return out;
}

char *json_policy_backtest_body(const policy_set *s, int limit)
{
    json_t *root = json_pack("{so si}", "policies", definitions(s), "limit", limit);
    char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    return text;
}

/* ---- a Policy and a purchase's policy fields as the store holds them (json_int.h) ---- */

/* Sanitises string v (or the empty string) into t; -1 on out of memory. */
static int safe_text(jctx *c, json_t *v, const char *key, model_text *t)
{
    memset(t, 0, sizeof *t);
    if (!json_is_string(v))
        return 0;
    text_safe ts;
    if (text_sanitize(json_string_value(v), json_string_length(v), c->mode, &ts) < 0)
        return jc_fail(c, "%s: out of memory", key);
    t->s = ts.s;
    t->width = ts.width;
    t->flags = ts.flags;
    t->hidden = ts.hidden;
    return 0;
}

/* Appends "sep + text" to out (size bytes), cut at its end. */
static void add(char *out, size_t size, const char *text)
{
    size_t n = strlen(out);
    if (n + 1 < size)
        snprintf(out + n, size - n, "%s%s", n ? ", " : "", text);
}

/* A match's lists in words, in the order of docs/api.md's table ("agents agt_1 agt_2,
 * flags_any overpay"); "" when there is none. Not sanitised yet. */
static void match_words(json_t *m, char *out, size_t size)
{
    static const char *const lists[] = {"agents",     "principals", "sellers",
                                        "categories", "flags_any",  "flags_none"};
    out[0] = '\0';
    char part[400];
    for (size_t k = 0; k < sizeof lists / sizeof lists[0]; k++) {
        json_t *arr = json_object_get(m, lists[k]), *v;
        size_t i;
        if (!json_is_array(arr))
            continue;
        int n = snprintf(part, sizeof part, "%s", lists[k]);
        json_array_foreach(arr, i, v) if (json_is_string(v) && n > 0 && (size_t)n < sizeof part)
            n += snprintf(part + n, sizeof part - (size_t)n, " %s", json_string_value(v));
        add(out, size, part);
    }
}

/* A word field (action, mode) copied when it is one, sanitised otherwise. */
static void word_of(jctx *c, json_t *v, char *out, size_t size)
{
    jc_safe_copy(v, c->mode, out, size);
    if (!out[0])
        snprintf(out, size, "?");
}

int jc_dec_policy(jctx *c, json_t *o, model_policy *p)
{
    const char *id = json_string_value(json_object_get(o, "id"));
    const char *mode = json_string_value(json_object_get(o, "mode"));
    json_t *match = json_object_get(o, "match"), *en = json_object_get(o, "enabled");
    if (!id || !text_valid_id(id, "pol_"))
        return jc_fail(c, "id: not a valid pol_ id");
    snprintf(p->id, sizeof p->id, "%s", id);
    if (jc_get_int(c, o, "version", 1, INT64_MAX, &p->version, false, 0) < 0 ||
        jc_get_int(c, o, "priority", 0, INT64_MAX, &p->priority, true, 100) < 0 ||
        jc_get_int(c, o, "hits", 0, INT64_MAX, &p->hits, true, 0) < 0 ||
        jc_get_int(c, o, "shadow_hits", 0, INT64_MAX, &p->shadow_hits, true, 0) < 0)
        return -1;
    if (!json_is_string(json_object_get(o, "name")) || !json_is_object(match) ||
        !json_is_boolean(en) || !json_is_string(json_object_get(o, "action")))
        return jc_fail(c, "policy: name, enabled, action or match missing");
    const char *upd = json_string_value(json_object_get(o, "updated_at"));
    if (upd && clock_parse_rfc3339(upd, &p->updated_at) < 0)
        return jc_fail(c, "updated_at: not an RFC 3339 time");
    p->enabled = json_is_true(en);
    p->shadow = mode && !strcmp(mode, "shadow");
    if (mode && !p->shadow && strcmp(mode, "live") != 0)
        word_of(c, json_object_get(o, "mode"), p->mode_raw, sizeof p->mode_raw);
    word_of(c, json_object_get(o, "action"), p->action, sizeof p->action);
    const char *cur = json_string_value(json_object_get(match, "currency"));
    if (cur && money_currency_valid(cur))
        snprintf(p->currency, sizeof p->currency, "%s", cur);
    for (int k = 0; k < MODEL_POLICY_CONDS; k++) {
        json_t *v = json_object_get(match, model_policy_conds[k].key);
        p->cond[k] = json_is_integer(v) && json_integer_value(v) >= 0 ? json_integer_value(v) : -1;
    }
    char words[1200];
    match_words(match, words, sizeof words);
    json_t *def = definition(o);
    p->def = def ? json_dumps(def, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(def);
    json_t *w = json_string(words);
    int rc = !p->def ? jc_fail(c, "policy: out of memory") : 0;
    if (!rc)
        rc = safe_text(c, json_object_get(o, "name"), "name", &p->name) < 0 ||
                     safe_text(c, json_object_get(o, "reason"), "reason", &p->reason) < 0 ||
                     safe_text(c, w, "match", &p->match_text) < 0
                 ? -1
                 : 0;
    json_decref(w);
    return rc;
}

/* {id|policy_id, name, action} into r. */
static int policy_ref(jctx *c, json_t *o, const char *idkey, model_policy_ref *r)
{
    const char *id = json_string_value(json_object_get(o, idkey));
    if (!json_is_object(o) || !id || !text_valid_id(id, "pol_"))
        return jc_fail(c, "policy: not a policy reference");
    snprintf(r->id, sizeof r->id, "%s", id);
    word_of(c, json_object_get(o, "action"), r->action, sizeof r->action);
    return safe_text(c, json_object_get(o, "name"), "policy.name", &r->name);
}

int jc_purchase_policies(jctx *c, json_t *o, model_purchase *p)
{
    json_t *pol = json_object_get(o, "policy"), *sh = json_object_get(o, "policy_shadow"), *v;
    if (pol && !json_is_null(pol) && policy_ref(c, pol, "id", &p->policy) < 0)
        return -1;
    if (!sh || json_is_null(sh))
        return 0;
    size_t n = json_array_size(sh), i;
    if (!json_is_array(sh) || n > 100)
        return jc_fail(c, "policy_shadow: not an array of at most 100");
    if (n && !(p->policy_shadow = calloc(n, sizeof *p->policy_shadow)))
        return jc_fail(c, "policy_shadow: out of memory");
    json_array_foreach(sh, i, v)
    {
        p->npolicy_shadow++;
        if (policy_ref(c, v, "policy_id", &p->policy_shadow[i]) < 0)
            return -1;
    }
    return 0;
}

/* ---- changes and backtests from the console ------------------------------------------ */

char *json_policy_def_set(const char *def, const char *key, const char *value)
{
    json_t *o = json_loads(def, 0, NULL);
    json_t *v = json_loads(value, JSON_DECODE_ANY, NULL);
    char *out = NULL;
    if (json_is_object(o) && v) {
        json_t *target = o;
        if (!strncmp(key, "match.", 6)) {
            target = json_object_get(o, "match");
            key += 6;
        }
        if (json_is_object(target)) {
            if (target != o && json_is_null(v)) /* a condition taken away */
                json_object_del(target, key);
            else
                json_object_set(target, key, v);
            out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
        }
    }
    json_decref(v);
    json_decref(o);
    return out;
}

char *json_policy_def_set_text(const char *def, const char *key, const char *text)
{
    json_t *v = json_string(text);
    char *value = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
    json_decref(v);
    char *out = value ? json_policy_def_set(def, key, value) : NULL;
    free(value);
    return out;
}

char *json_policy_backtest_defs(const char *const *defs, size_t n, int limit)
{
    json_t *arr = json_array(), *root = NULL;
    for (size_t i = 0; arr && i < n; i++) {
        json_t *d = json_loads(defs[i], 0, NULL);
        if (!json_is_object(d)) {
            json_decref(d);
            json_decref(arr);
            return NULL;
        }
        json_array_append_new(arr, d);
    }
    root = json_pack("{so}", "policies", arr);
    if (root && limit > 0)
        json_object_set_new(root, "limit", json_integer(limit));
    char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    return text;
}

/* {count, totals: {CUR: minor}} into k; -1 when it is not that. */
static int bt_counts(json_t *o, policy_bt_counts *k)
{
    json_t *totals = json_object_get(o, "totals"), *v;
    const char *cur;
    if (!json_is_integer(json_object_get(o, "count")) || !json_is_object(totals))
        return -1;
    k->count = json_integer_value(json_object_get(o, "count"));
    json_object_foreach(totals, cur, v)
    {
        if (!money_currency_valid(cur) || !json_is_integer(v) || k->ncur == POLICY_BT_CURRENCIES)
            continue; /* a currency this build cannot show as money is left out */
        snprintf(k->currency[k->ncur], sizeof k->currency[0], "%s", cur);
        k->total[k->ncur++] = json_integer_value(v);
    }
    return 0;
}

int json_policy_backtest_parse(const char *text, size_t len, text_mode mode, policy_backtest *out,
                               char *err, size_t errsz)
{
    memset(out, 0, sizeof *out);
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je), *list, *v;
    int rc = -1;
    if (!json_is_object(root) || bt_counts(json_object_get(root, "approve"), &out->approve) < 0 ||
        bt_counts(json_object_get(root, "veto"), &out->veto) < 0 ||
        bt_counts(json_object_get(root, "review"), &out->review) < 0 ||
        !json_is_integer(json_object_get(root, "differ")) ||
        !json_is_array(list = json_object_get(root, "approved_but"))) {
        snprintf(err, errsz, "the backtest's answer is outside the contract");
        goto out;
    }
    out->purchases = json_integer_value(json_object_get(root, "purchases"));
    out->differ = json_integer_value(json_object_get(root, "differ"));
    out->elapsed_ms = json_integer_value(json_object_get(root, "elapsed_ms"));
    out->approved_but = (int64_t)json_array_size(list) +
                        json_integer_value(json_object_get(root, "approved_but_more"));
    size_t i;
    json_array_foreach(list, i, v)
    {
        const char *id = json_string_value(json_object_get(v, "purchase_id"));
        const char *cur = json_string_value(json_object_get(v, "currency"));
        if (out->nitems == POLICY_BT_SHOWN || !id || !text_valid_id(id, "pur_") || !cur ||
            !money_currency_valid(cur))
            continue;
        policy_bt_item *it = &out->items[out->nitems++];
        snprintf(it->purchase_id, sizeof it->purchase_id, "%s", id);
        snprintf(it->currency, sizeof it->currency, "%s", cur);
        it->total_minor = json_integer_value(json_object_get(v, "total_minor"));
        jc_safe_copy(json_object_get(v, "by"), mode, it->by, sizeof it->by);
        jc_safe_copy(json_object_get(v, "outcome"), mode, it->outcome, sizeof it->outcome);
        jc_safe_copy(json_object_get(v, "fault"), mode, it->fault, sizeof it->fault);
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}
