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

#endif
