/* json_policy.c: policies as files and lists (api/json_policy.h). */
#include "api/json_policy.h"

#include <jansson.h>
#include <stdio.h>
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
