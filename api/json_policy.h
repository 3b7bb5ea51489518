/* json_policy.h: a set of policies as `dealdesk policies export|import|list` read and write
 * it (docs/api.md, "Policies"): the answer of GET /v1/policies, or a file
 * {"policies": [...]}, reduced to what defines each policy, so that a file and the
 * server's set can be compared, written and sent back (tui/headless_policies.c).
 *
 * A policy's definition is its name, enabled, mode, priority, match, action and reason,
 * with the server's defaults filled in (enabled false, mode "live", priority 100, reason
 * null) and the conditions that are null left out, as compact JSON with sorted keys: two
 * policies that mean the same have the same text. Names and other text are kept as sent
 * (they are printed only through text_sanitize_str).
 */
#ifndef DEALDESK_API_JSON_POLICY_H
#define DEALDESK_API_JSON_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/text.h"

typedef struct policy_item {
    char id[72];     /* the server's id, "" in a file without one */
    int64_t version; /* the server's version, 0 when unknown */
    char *name;      /* owned */
    bool enabled;
    char mode[8], action[8];
    int64_t priority, hits, shadow_hits;
    char *def; /* the definition's text (owned) */
} policy_item;

typedef struct policy_set {
    policy_item *items;
    size_t n;
    bool more; /* a listing with a next page */
} policy_set;

/* Reads a set: from_list, the answer of GET /v1/policies ({items, next}); else a file
 * ({"policies": [...]}). 0, or -1 with the reason in err (which policy and field): a
 * file's policy must have a name (unique in the file), an action and a match object;
 * the server checks the rest. */
int json_policy_set_parse(const char *text, size_t len, bool from_list, policy_set *out, char *err,
                          size_t errsz);
void json_policy_set_free(policy_set *s);

/* The file text of set s ({"policies": [definitions]}, indented, a final newline), or
 * NULL (out of memory). Owned. */
char *json_policy_set_export(const policy_set *s);

/* The body of POST /v1/policies/backtest for set s with limit, or NULL. Owned. */
char *json_policy_backtest_body(const policy_set *s, int limit);

/* A definition (a policy_item's def, a model_policy's def) with one field changed: key
 * names a top-level field ("enabled", "priority", "reason", "name", "mode", "action") or
 * a condition ("match.total_max_minor"); value is JSON text ("true", "20", "\"x\"",
 * "[\"a\",\"b\"]"); "null" takes a condition away. The result has sorted keys like a
 * definition. NULL when def or value is not JSON, or out of memory. Owned. */
char *json_policy_def_set(const char *def, const char *key, const char *value);

/* The same with a text value (any string, written as a JSON string). */
char *json_policy_def_set_text(const char *def, const char *key, const char *text);

/* The body of POST /v1/policies/backtest for n definitions (the whole set as it would
 * be) and limit (0: the server's default), or NULL. Owned. */
char *json_policy_backtest_defs(const char *const *defs, size_t n, int limit);

/* What a backtest answered (docs/api.md, Policies, "Backtest"), as the console shows it:
 * counts and totals per currency of each action, how many differ from what happened, and
 * the purchases it would approve that a person vetoed, capped or refunded or that carried
 * an injected fault (the first POLICY_BT_SHOWN of them; approved_but counts them all). */
#define POLICY_BT_CURRENCIES 8
#define POLICY_BT_SHOWN      5
typedef struct policy_bt_counts {
    int64_t count;
    size_t ncur;
    char currency[POLICY_BT_CURRENCIES][4];
    int64_t total[POLICY_BT_CURRENCIES];
} policy_bt_counts;
typedef struct policy_bt_item {
    char purchase_id[72];
    int64_t total_minor;
    char currency[4];
    char by[72];      /* the policy's name (sanitised, marks stripped) or "threshold" */
    char outcome[16]; /* vetoed, capped, refunded, or "" */
    char fault[48];   /* the injected fault's name, or "" */
} policy_bt_item;
typedef struct policy_backtest {
    int64_t purchases;
    policy_bt_counts approve, veto, review;
    int64_t differ;
    int64_t approved_but; /* with approved_but_more */
    policy_bt_item items[POLICY_BT_SHOWN];
    size_t nitems;
    int64_t elapsed_ms;
} policy_backtest;

/* Reads a backtest's answer into out. 0, or -1 with the reason in err. */
int json_policy_backtest_parse(const char *text, size_t len, text_mode mode, policy_backtest *out,
                               char *err, size_t errsz);

#endif
