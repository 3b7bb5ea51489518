/* client_backtest.c: a policy backtest beside the stream (api/client.h): one
 * POST /v1/policies/backtest at a time, its answer decoded by api/json_policy.c when
 * client_run collects it. Nothing waits for it: the console shows "backtest running…"
 * until the state says done (tui/policies.c). */
#include "api/client_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/json.h"

/* The answer waited for at most this long: a replay of 10,000 purchases takes well
 * under a second (docs/api.md, Backtest). */
#define BACKTEST_TIMEOUT_MS 60000L

/* Ends the current backtest as failed with msg (our own words, or sanitised). */
static void bt_fail(client *c, const char *msg)
{
    c->bt.done = true;
    c->bt.ok = false;
    snprintf(c->bt.error, sizeof c->bt.error, "%s", msg);
}

uint64_t client_backtest(client *c, const char *body)
{
    if (c->bt_req) {
        http_cancel(c->h, c->bt_req);
        c->bt_req = NULL;
    }
    uint64_t id = c->bt.id + 1;
    memset(&c->bt, 0, sizeof c->bt);
    c->bt.id = id;
    if (c->replay) {
        bt_fail(c, "a replay has no market to ask");
        return id;
    }
    char url[1400];
    client_url_of(c, "/v1/policies/backtest", url, sizeof url);
    const char *hdrs[] = {"Accept: application/json", "Content-Type: application/json", NULL};
    c->bt_req = body ? http_start(c->h, "POST", url, c->cfg->token, hdrs, body, NULL, NULL,
                                  BACKTEST_TIMEOUT_MS, 0)
                     : NULL;
    if (!c->bt_req)
        bt_fail(c, "the backtest could not be sent");
    return id;
}

const client_backtest_state *client_backtest_last(const client *c)
{
    return &c->bt;
}

bool client_backtest_done(client *c, http_req *r)
{
    if (!r || r != c->bt_req)
        return false;
    c->bt_req = NULL;
    const http_result *res = http_req_result(r);
    size_t len;
    const char *body = http_req_body(r, &len);
    char err[200];
    if (res->status == 200) {
        if (json_policy_backtest_parse(body, len, c->cfg->mode, &c->bt.result, err, sizeof err) ==
            0) {
            c->bt.done = c->bt.ok = true;
        } else
            bt_fail(c, err);
    } else if (res->status == 0) {
        bt_fail(c, "no answer from the market");
    } else {
        decision_outcome o = {0};
        json_decode_outcome(body, len, MODEL_KIND_COUNT, c->cfg->mode, &o);
        snprintf(err, sizeof err, "HTTP %ld%s%.150s", (long)res->status, o.message[0] ? ": " : "",
                 o.message);
        bt_fail(c, err);
    }
    http_req_free(r);
    return true;
}
