/* policy_load.c: a set of policies installed when marketd starts (--policies FILE,
 * --default-policies), and the default set itself (docs/api.md, "Policies").
 *
 * Each policy of the set is created through market_handle() as the operator "marketd"
 * (a supervisor), like any POST /v1/policies: the same checks, a Decision and a
 * policy.updated event. Its Idempotency-Key is the hash of its text, so a restart on the
 * same database replays instead of creating it twice; a policy of that name made since
 * (an edit) is kept, and said so.
 */
#include "marketd/mkt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The default set (make demo): every flagged purchase goes to a person, whatever else
 * matches later (the simulation's faults are flagged by the rules of
 * marketd/sim_fault.c); a small clean purchase inside the buyer's mandate (no flag: no
 * off_mandate) and its pace is approved without one; a large one waits for a person.
 * A shadow policy shows what vetoing small overpayments outright would do. Disabled or edited in
 * the console, exported with dealdesk policies export. */
const char market_default_policies[] =
    "{\"policies\":["
    "{\"name\":\"flagged-to-a-person\",\"enabled\":true,\"priority\":10,\"action\":\"review\","
    "\"reason\":\"a risk rule flagged it: a person decides\",\"match\":{\"flags_any\":["
    "\"quantity_vs_intent\",\"over_deal_max\",\"budget\",\"off_mandate\",\"below_floor\","
    "\"below_reference\",\"overpay\",\"ship_to_unverified\",\"terms_drift\",\"duplicate\","
    "\"hidden_text\"]}},"
    "{\"name\":\"small-clean-books\",\"enabled\":true,\"priority\":20,\"action\":\"approve\","
    "\"reason\":\"small, clean, inside the mandate and the buyer's usual pace\","
    "\"match\":{\"total_max_minor\":100000,\"risk_max\":0,\"max_per_hour\":60,"
    "\"max_spend_per_hour_minor\":500000}},"
    "{\"name\":\"large-to-a-person\",\"enabled\":true,\"priority\":30,\"action\":\"review\","
    "\"reason\":\"over $1,000.00: a person decides\",\"match\":{\"total_min_minor\":100001}},"
    "{\"name\":\"overpay-veto-shadow\",\"enabled\":true,\"mode\":\"shadow\",\"priority\":40,"
    "\"action\":\"veto\",\"reason\":\"the price is well above the reference: negotiate it "
    "down\",\"match\":{\"flags_any\":[\"overpay\"],\"total_max_minor\":20000}}"
    "]}";

/* The Idempotency-Key of a policy's text: "policy-" and 32 hex digits of its hash. */
static void key_of(const char *text, char out[48])
{
    unsigned char d[32] = {0};
    mkt_sha256(text, strlen(text), NULL, 0, d);
    memcpy(out, "policy-", 7);
    for (int i = 0; i < 16; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", d[i]);
}

/* Creates one policy (item) as the operator "marketd". 0, or -1 with err set. */
static int create_one(market *m, json_t *item, char *err, size_t errsz)
{
    static const market_actor self = {.role = ROLE_SUPERVISOR, .name = "marketd"};
    char *text = json_dumps(item, JSON_COMPACT | JSON_SORT_KEYS), key[48];
    if (!text) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    key_of(text, key);
    market_request rq = {.method = "POST",
                         .path = "/v1/policies",
                         .body = text,
                         .body_len = strlen(text),
                         .idempotency_key = key};
    market_response rs = {0};
    market_handle(m, &self, &rq, &rs);
    free(text);
    json_t *ans = rs.body ? json_loads(rs.body, 0, NULL) : NULL;
    int rc = 0;
    if (rs.status == 409)
        fprintf(stderr, "marketd: policies: kept the existing %s\n", mkt_str(ans, "message"));
    else if (rs.status != 201) {
        snprintf(err, errsz, "policy %.64s: %d %.300s", mkt_str(item, "name"), rs.status,
                 mkt_str(ans, "message"));
        rc = -1;
    }
    json_decref(ans);
    free(rs.body);
    return rc;
}

/* Checks the whole set before anything is created (a backtest of one purchase parses
 * every policy as POST /v1/policies does). 0, or -1 with err set. */
static int check_set(market *m, json_t *list, char *err, size_t errsz)
{
    static const market_actor self = {.role = ROLE_SUPERVISOR, .name = "marketd"};
    json_t *q = json_pack("{sO sI}", "policies", list, "limit", (json_int_t)1);
    char *text = q ? json_dumps(q, JSON_COMPACT) : NULL;
    json_decref(q);
    market_request rq = {.method = "POST",
                         .path = "/v1/policies/backtest",
                         .body = text,
                         .body_len = text ? strlen(text) : 0};
    market_response rs = {0};
    if (!text || !policy_backtest_take(m, &self, &rq, &rs)) {
        free(text);
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    free(text);
    json_t *ans = rs.status == 200 ? NULL : json_loads(rs.body, 0, NULL);
    if (rs.status != 200)
        snprintf(err, errsz, "%.80s: %.300s", mkt_str(ans, "field") ? mkt_str(ans, "field") : "",
                 mkt_str(ans, "message"));
    json_decref(ans);
    free(rs.body);
    return rs.status == 200 ? 0 : -1;
}

int market_load_policies(market *m, const char *text, size_t len, char *err, size_t errsz)
{
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    json_t *list = json_is_object(root) ? json_object_get(root, "policies") : root;
    int rc = 0;
    if (!json_is_array(list)) {
        snprintf(err, errsz, "%s", root ? "the file holds no list of policies" : je.text);
        rc = -1;
    } else {
        rc = check_set(m, list, err, errsz);
    }
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item) if (rc == 0 && create_one(m, item, err, errsz) != 0) rc = -1;
    json_decref(root);
    return rc;
}
