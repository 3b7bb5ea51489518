/* fuzz_market.c: libFuzzer target for marketd's request handling (market_handle).
 *
 * One market on ":memory:" is opened at the first input and seeded through the API
 * itself: a seller agt_1, a buyer agt_2 (approval threshold 0, so purchases wait), a
 * listing lst_1, a negotiation neg_1 and a pending purchase pur_1. Every input is one
 * request:
 *
 *   byte 0        the actor: 0 supervisor, 1 buyer agt_2, 2 seller agt_1, 3 viewer,
 *                 4 an agent id that does not exist, 5 no role (low 3 bits, mod 6);
 *                 bit 3: GET instead of POST; bit 4: a method that is neither
 *   then          path \0 query \0 body \0 idempotency-key \0 if-match
 *                 (a missing field is NULL; an empty query is NULL)
 *
 * Invariants on every answer: a status from the contract's set, a body that is a JSON
 * object; errors carry "error" with one of the contract's codes and a "message"; a
 * viewer or an unauthenticated caller never gets a 2xx on a POST; an agent never gets
 * a 2xx on an operator decision. Every 4096 inputs the market is closed and opened
 * anew so that memory stays bounded however long the fuzzer runs. */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "marketd/market.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static market *mk;
static unsigned runs;

/* Handles one request and returns the status (body freed). */
static int call(const market_actor *a, const char *method, const char *path, const char *body)
{
    static unsigned key;
    char k[32];
    snprintf(k, sizeof k, "seed-%u", ++key);
    market_request rq = {.method = method,
                         .path = path,
                         .body = body,
                         .body_len = body ? strlen(body) : 0,
                         .idempotency_key = k};
    market_response rs = {0};
    market_handle(mk, a, &rq, &rs);
    free(rs.body);
    return rs.status;
}

/* Opens the market and seeds it (ids are deterministic: agt_1, agt_2, lst_1, neg_1,
 * pur_1). Aborts when the seeding fails: the target would fuzz nothing useful. */
static void market_setup(void)
{
    char err[256];
    /* no per-agent rate limit: one seeded agent makes every request, and the handlers
     * behind the limit are what is fuzzed */
    market_options opt = {.db_path = ":memory:", .decide_timeout_s = 3600, .agent_rate = -1};
    mk = market_open(&opt, err, sizeof err);
    if (!mk) {
        fprintf(stderr, "fuzz_market: %s\n", err);
        abort();
    }
    market_actor sup = {.role = ROLE_SUPERVISOR, .name = "sup1"};
    market_actor seller = {.role = ROLE_AGENT, .name = "agt_1", .agent_id = "agt_1"};
    market_actor buyer = {.role = ROLE_AGENT, .name = "agt_2", .agent_id = "agt_2"};
    int s[5];
    s[0] = call(&sup, "POST", "/v1/agents",
                "{\"name\":\"Seller\",\"principal\":\"Shop\",\"role\":\"seller\",\"currency\":"
                "\"USD\",\"limits\":{\"spend_cap_minor\":0,\"per_deal_max_minor\":0,"
                "\"approval_threshold_minor\":0,\"max_quantity\":0},\"mandate\":{\"categories\":"
                "[]},\"addresses\":[]}");
    s[1] = call(&sup, "POST", "/v1/agents",
                "{\"name\":\"Buyer\",\"principal\":\"Ann\",\"role\":\"buyer\",\"currency\":\"USD\","
                "\"limits\":{\"spend_cap_minor\":100000000,\"per_deal_max_minor\":10000000,"
                "\"approval_threshold_minor\":0,\"max_quantity\":100},\"mandate\":{"
                "\"categories\":[\"bikes\"]},\"addresses\":[\"1 Main St\"]}");
    s[2] = call(&seller, "POST", "/v1/listings",
                "{\"title\":\"Bike\",\"description\":\"d\",\"category\":\"bikes\","
                "\"unit_price_minor\":50000,\"currency\":\"USD\",\"quantity\":1000,"
                "\"floor_minor\":30000}");
    s[3] =
        call(&buyer, "POST", "/v1/negotiations",
             "{\"listing_id\":\"lst_1\",\"unit_price_minor\":50000,\"quantity\":2,\"text\":\"o\"}");
    s[4] = call(&seller, "POST", "/v1/negotiations/neg_1/messages",
                "{\"kind\":\"accept\",\"text\":\"deal\"}");
    for (int i = 0; i < 5; i++)
        if (s[i] < 200 || s[i] > 299) {
            fprintf(stderr, "fuzz_market: seeding step %d answered %d\n", i, s[i]);
            abort();
        }
}

/* True when path is an operator decision (a POST only a supervisor may make). */
static bool operator_path(const char *path)
{
    static const char *const pre[] = {"/v1/purchases/", "/v1/fleet/", "/v1/alerts/"};
    if (!strcmp(path, "/v1/agents"))
        return true;
    for (size_t i = 0; i < sizeof pre / sizeof pre[0]; i++)
        if (!strncmp(path, pre[i], strlen(pre[i])))
            return true;
    if (!strncmp(path, "/v1/agents/", 11))
        return true;
    if (!strncmp(path, "/v1/negotiations/", 17)) {
        const char *slash = strrchr(path, '/');
        return slash && strcmp(slash, "/messages") != 0 && slash > path + 17;
    }
    return false;
}

/* Checks one answer against the contract; aborts with a description when it breaks. */
static void check(const market_actor *a, const char *method, const char *path,
                  const market_response *rs)
{
    static const int statuses[] = {200, 201, 400, 401, 403, 404, 405, 409, 412, 413, 422, 428, 503};
    static const char *const codes[] = {"bad_request",
                                        "unauthorized",
                                        "forbidden",
                                        "not_found",
                                        "conflict",
                                        "precondition_failed",
                                        "precondition_required",
                                        "idempotency_mismatch",
                                        "too_large",
                                        "cap_exceeded",
                                        "own_offer",
                                        "agent_paused",
                                        "fleet_halted",
                                        "unavailable",
                                        "method_not_allowed"};
    bool known = false;
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        known |= rs->status == statuses[i];
    const char *why = NULL;
    json_error_t je;
    json_t *j = rs->body ? json_loads(rs->body, 0, &je) : NULL;
    if (!known)
        why = "status outside the contract";
    else if (!json_is_object(j))
        why = "body is not a JSON object";
    else if (rs->status >= 400) {
        const char *code = json_string_value(json_object_get(j, "error"));
        bool ok = false;
        for (size_t i = 0; code && i < sizeof codes / sizeof codes[0]; i++)
            ok |= !strcmp(code, codes[i]);
        if (!ok)
            why = "error code outside the contract";
        else if (!json_is_string(json_object_get(j, "message")))
            why = "error without a message";
    } else if (!strcmp(method, "POST") && (a->role == ROLE_VIEWER || a->role == ROLE_NONE))
        why = "a viewer or anonymous caller changed something";
    else if (!strcmp(method, "POST") && a->role == ROLE_AGENT && operator_path(path))
        why = "an agent made an operator decision";
    json_decref(j);
    if (why) {
        fprintf(stderr, "fuzz_market: %s: %s %s as role %d -> %d %s\n", why, method, path,
                (int)a->role, rs->status, rs->body ? rs->body : "(null)");
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (!mk || ++runs % 4096 == 0) {
        market_close(mk);
        market_setup();
    }
    /* Split the rest into up to five NUL-separated fields (a private copy, NUL-ended). */
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    const char *field[5] = {NULL};
    size_t flen[5] = {0};
    size_t pos = 0;
    for (int f = 0; f < 5 && pos <= size - 1; f++) {
        field[f] = buf + pos;
        flen[f] = strlen(buf + pos);
        pos += flen[f] + 1;
    }
    static const market_actor actors[] = {
        {.role = ROLE_SUPERVISOR, .name = "sup1"},
        {.role = ROLE_AGENT, .name = "agt_2", .agent_id = "agt_2"},
        {.role = ROLE_AGENT, .name = "agt_1", .agent_id = "agt_1"},
        {.role = ROLE_VIEWER, .name = "view1"},
        {.role = ROLE_AGENT, .name = "agt_999", .agent_id = "agt_999"},
        {.role = ROLE_NONE},
    };
    const market_actor *a = &actors[(data[0] & 7) % 6];
    const char *method = data[0] & 16 ? "DELETE" : data[0] & 8 ? "GET" : "POST";
    market_request rq = {
        .method = method,
        .path = field[0] ? field[0] : "/",
        .query = field[1] && *field[1] ? field[1] : NULL,
        .body = field[2],
        .body_len = field[2] ? flen[2] : 0,
        .idempotency_key = field[3],
        .if_match = field[4],
    };
    market_response rs = {0};
    market_handle(mk, a, &rq, &rs);
    check(a, method, rq.path, &rs);
    free(rs.body);
    if (runs % 64 == 0)
        market_tick(mk);
    free(buf);
    return 0;
}
