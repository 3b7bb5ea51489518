/* json_stats.c: the agents' scorecards decoded (api/json_stats.h). */
#include "api/json_stats.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/json_int.h"
#include "api/money.h"

/* v as an int64 into *out when it is an integer: true, else false (out untouched). */
static bool int_of(json_t *o, const char *key, int64_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        return false;
    *out = (int64_t)json_integer_value(v);
    return true;
}

/* Orders rules by count, the most first, then by name. */
static int rule_cmp(const void *a, const void *b)
{
    const stats_rule *x = a, *y = b;
    if (x->n != y->n)
        return x->n > y->n ? -1 : 1;
    return strcmp(x->rule, y->rule);
}

/* The flags by rule of object fl into a. */
static void read_flags(json_t *fl, text_mode mode, stats_agent *a)
{
    stats_rule all[64];
    size_t n = 0;
    const char *key;
    json_t *v;
    json_object_foreach(fl, key, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) <= 0)
            continue;
        a->flags += (int64_t)json_integer_value(v);
        if (n == sizeof all / sizeof all[0])
            continue;
        json_t *name = json_string(key);
        jc_safe_copy(name, mode, all[n].rule, sizeof all[n].rule);
        json_decref(name);
        all[n++].n = (int64_t)json_integer_value(v);
    }
    qsort(all, n, sizeof all[0], rule_cmp);
    a->nrules = n < STATS_RULES ? n : STATS_RULES;
    memcpy(a->rules, all, a->nrules * sizeof all[0]);
}

/* One agent's scorecard from o into a: false when it is outside the contract. */
static bool read_agent(json_t *o, text_mode mode, stats_agent *a)
{
    const char *id = json_string_value(json_object_get(o, "agent_id"));
    const char *cur = json_string_value(json_object_get(o, "currency"));
    if (!id || !text_valid_id(id, "agt_") || !cur || !money_currency_valid(cur) ||
        !int_of(o, "deals", &a->deals))
        return false;
    snprintf(a->id, sizeof a->id, "%s", id);
    snprintf(a->currency, sizeof a->currency, "%s", cur);
    jc_safe_copy(json_object_get(o, "role"), mode, a->role, sizeof a->role);
    int64_t spend = 0, revenue = 0;
    int_of(o, "spend_minor", &spend);
    int_of(o, "revenue_minor", &revenue);
    a->amount_minor = strcmp(a->role, "seller") == 0 ? revenue : spend;
    a->has_bp = int_of(o, "median_vs_ref_bp", &a->bp);
    a->has_rounds = int_of(o, "median_rounds", &a->rounds);
    a->has_ttd = int_of(o, "median_time_to_deal_ms", &a->ttd_ms);
    int_of(o, "vetoed", &a->vetoed);
    int_of(o, "capped", &a->capped);
    int_of(o, "expired", &a->expired);
    int_of(o, "refunded", &a->refunded);
    int_of(o, "disputed", &a->disputed);
    read_flags(json_object_get(o, "flags"), mode, a);
    json_t *series = json_object_get(o, "spend_series"), *v;
    size_t i;
    json_array_foreach(series, i, v)
    {
        if (i < STATS_SERIES && json_is_integer(v))
            a->series[i] = (int64_t)json_integer_value(v);
    }
    return true;
}

static int agent_cmp(const void *a, const void *b)
{
    return strcmp(((const stats_agent *)a)->id, ((const stats_agent *)b)->id);
}

int json_stats_parse(const char *text, size_t len, text_mode mode, stats_agents *out, char *err,
                     size_t errsz)
{
    memset(out, 0, sizeof *out);
    json_t *root = json_loadb(text, len, 0, NULL);
    json_t *list = json_object_get(root, "agents");
    if (!json_is_object(root) || !json_is_array(list)) {
        snprintf(err, errsz, "the scorecards' answer is outside the contract");
        json_decref(root);
        return -1;
    }
    jc_safe_copy(json_object_get(root, "window"), mode, out->window, sizeof out->window);
    out->items = calloc(json_array_size(list) + 1, sizeof *out->items);
    if (!out->items) {
        snprintf(err, errsz, "out of memory");
        json_decref(root);
        return -1;
    }
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        if (read_agent(v, mode, &out->items[out->n]))
            out->n++;
        else
            memset(&out->items[out->n], 0, sizeof out->items[0]);
    }
    qsort(out->items, out->n, sizeof *out->items, agent_cmp);
    json_decref(root);
    return 0;
}

void json_stats_free(stats_agents *s)
{
    free(s->items);
    memset(s, 0, sizeof *s);
}

const stats_agent *stats_find(const stats_agents *s, const char *id)
{
    if (!s || !s->n || !id)
        return NULL;
    stats_agent key;
    snprintf(key.id, sizeof key.id, "%s", id);
    return bsearch(&key, s->items, s->n, sizeof *s->items, agent_cmp);
}
