/* agents.c: an agent's registration (POST /v1/agents) and its limits as a body gives them.
 *
 * Registration is a supervisor's decision (recorded with decide_record) that creates the
 * agent and issues its token; the token is shown once and only its hash is stored
 * (market.c). The limits parser serves registration (the first four limits required) and
 * the limits decision (any of them; marketd/decide.c).
 */
#include "marketd/mkt.h"

#include <stdlib.h>
#include <string.h>

#include "api/money.h"

/* The limits; the last, two_person_minor (0 or absent: off), is optional at registration:
 * a purchase whose total is at or above it needs two supervisors' approvals (decide.c). */
static const char *const limit_keys[] = {"spend_cap_minor", "per_deal_max_minor",
                                         "approval_threshold_minor", "max_quantity",
                                         "two_person_minor"};
#define REQUIRED_LIMITS 4

/* Reads a limits object field into lim (required or optional). Returns 1/0/-1. */
static int limit_field(mkt_ctx *c, json_t *src, json_t *lim, const char *key, bool required)
{
    json_t *v = json_object_get(src, key);
    if (!v || json_is_null(v)) {
        if (required) {
            mkt_fail(c, 400, "bad_request", key, NULL, "limits.%s is required", key);
            return -1;
        }
        return 0;
    }
    int64_t max = strcmp(key, "max_quantity") == 0 ? MKT_QTY_MAX : MONEY_MAX_MINOR;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max) {
        mkt_fail(c, 400, "bad_request", key, NULL, "%s must be an integer from 0 to %lld", key,
                 (long long)max);
        return -1;
    }
    json_object_set(lim, key, v);
    return 1;
}

json_t *agents_limits(mkt_ctx *c, json_t *src, bool required)
{
    json_t *lim = json_object();
    for (size_t i = 0; i < sizeof limit_keys / sizeof limit_keys[0]; i++)
        if (limit_field(c, src, lim, limit_keys[i], required && i < REQUIRED_LIMITS) < 0) {
            json_decref(lim);
            return NULL;
        }
    return lim;
}

bool agents_two_person(json_t *buyer, int64_t total)
{
    int64_t lim = mkt_int(json_object_get(buyer, "limits"), "two_person_minor");
    return lim > 0 && total >= lim;
}

/* Checks that v is an array of 0..max strings of 1..maxlen bytes. */
static bool string_array(mkt_ctx *c, json_t *v, const char *field, size_t max, size_t maxlen)
{
    if (!json_is_array(v) || json_array_size(v) > max)
        return mkt_fail(c, 400, "bad_request", field, NULL,
                        "%s must be an array of at most %zu strings", field, max);
    size_t i;
    json_t *s;
    json_array_foreach(v, i, s)
    {
        if (!json_is_string(s) || json_string_length(s) < 1 || json_string_length(s) > maxlen)
            return mkt_fail(c, 400, "bad_request", field, NULL,
                            "%s must hold strings of 1 to %zu bytes", field, maxlen);
    }
    return true;
}

/* Creates the agent ag (stored, recorded) and answers it with its token, which the
 * stored answer that a replay of this request gets replaces with a note. */
static bool create_agent(mkt_ctx *c, json_t *ag)
{
    const char *id = mkt_str(ag, "id");
    char *token = NULL;
    bool ok = false;
    if (mkt_create(c->m, "agent", ag, NULL) == 0 && mkt_issue_token(c->m, id, &token) == 0 &&
        decide_record(c, "register", "agent", id, NULL, NULL) == 0) {
        /* The token is shown in this answer only: the stored answer that a replay of
         * this request gets says so instead of holding it (docs/api.md). */
        ok = mkt_ok(c, 201, json_pack("{sO ss}", "agent", ag, "token", token));
        c->replay = json_pack("{sO sn ss}", "agent", ag, "token", "token_note", MKT_TOKEN_NOTE);
    } else
        mkt_fail(c, 503, "unavailable", NULL, NULL, "could not register the agent");
    if (token) {
        memset(token, 0, strlen(token));
        free(token);
    }
    return ok;
}

bool agents_register(mkt_ctx *c)
{
    const char *name, *principal, *role, *currency;
    if (mkt_body_str(c, "name", 1, 200, true, &name) < 0 ||
        mkt_body_str(c, "principal", 1, 200, true, &principal) < 0 ||
        mkt_body_str(c, "role", 1, 16, true, &role) < 0 ||
        mkt_body_str(c, "currency", 3, 3, true, &currency) < 0)
        return false;
    if (strcmp(role, "buyer") != 0 && strcmp(role, "seller") != 0)
        return mkt_fail(c, 400, "bad_request", "role", NULL, "role must be buyer or seller");
    if (!money_currency_valid(currency))
        return mkt_fail(c, 400, "bad_request", "currency", NULL, "unknown currency");
    json_t *src = json_object_get(c->body, "limits");
    if (!json_is_object(src))
        return mkt_fail(c, 400, "bad_request", "limits", NULL, "limits must be an object");
    json_t *lim = agents_limits(c, src, true);
    if (!lim)
        return false;
    json_t *mandate = json_object_get(c->body, "mandate");
    json_t *cats = json_object_get(mandate, "categories");
    json_t *addrs = json_object_get(c->body, "addresses");
    if (!json_is_object(mandate) || !string_array(c, cats, "mandate", 256, 64) ||
        (addrs && !json_is_null(addrs) && !string_array(c, addrs, "addresses", 64, 500))) {
        if (!json_is_object(mandate))
            mkt_fail(c, 400, "bad_request", "mandate", NULL, "mandate must be {categories: [..]}");
        json_decref(lim);
        return false;
    }
    char id[72];
    if (mkt_new_id(c->m, "agt_", id) != 0) {
        json_decref(lim);
        return mkt_fail(c, 503, "unavailable", NULL, NULL, "database unavailable");
    }
    json_t *addresses = json_is_array(addrs) ? json_incref(addrs) : json_array();
    json_t *ag = json_pack("{ss sI ss ss ss ss ss so sI s{sO} so s[]}", "id", id, "version", 1,
                           "name", name, "principal", principal, "role", role, "status", "active",
                           "currency", currency, "limits", lim, "spent_minor", (json_int_t)0,
                           "mandate", "categories", cats, "addresses", addresses, "held_by");
    bool ok = ag ? create_agent(c, ag)
                 : mkt_fail(c, 503, "unavailable", NULL, NULL, "could not register the agent");
    json_decref(ag);
    return ok;
}
