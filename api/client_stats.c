/* client_stats.c: the agents' scorecards beside the stream (api/client.h): one
 * GET /v1/stats/agents at a time, its answer decoded by api/json_stats.c when client_run
 * collects it. Nothing waits for it: the Agents pane asks while it is shown and shows
 * the last answer (tui/agents.c). */
#include "api/client_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/json.h"

/* The answer waited for at most this long (over 100,000 purchases it takes well under a
 * second: docs/benchmarks.md). */
#define STATS_TIMEOUT_MS 30000L

/* Ends the current read as failed with msg (our own words, or sanitised). */
static void st_fail(client *c, const char *msg)
{
    c->stats.done = true;
    c->stats.ok = false;
    snprintf(c->stats.error, sizeof c->stats.error, "%s", msg);
}

uint64_t client_stats(client *c, const char *window)
{
    if (c->stats_req)
        return 0; /* one at a time: the one on its way answers */
    c->stats.id++;
    c->stats.done = false;
    c->stats.error[0] = '\0';
    if (c->replay) {
        st_fail(c, "a replay has no market to ask");
        return c->stats.id;
    }
    char path[96], url[1400];
    snprintf(path, sizeof path, "/v1/stats/agents?window=%.16s", window ? window : "24h");
    client_url_of(c, path, url, sizeof url);
    const char *hdrs[] = {"Accept: application/json", NULL};
    c->stats_req =
        http_start(c->h, "GET", url, c->cfg->token, hdrs, NULL, NULL, NULL, STATS_TIMEOUT_MS, 0);
    if (!c->stats_req)
        st_fail(c, "the scorecards could not be asked for");
    return c->stats.id;
}

const client_stats_state *client_stats_last(const client *c)
{
    return &c->stats;
}

bool client_stats_done(client *c, http_req *r)
{
    if (!r || r != c->stats_req)
        return false;
    c->stats_req = NULL;
    const http_result *res = http_req_result(r);
    size_t len;
    const char *body = http_req_body(r, &len);
    char err[200];
    stats_agents got;
    if (res->status == 200) {
        if (json_stats_parse(body, len, c->cfg->mode, &got, err, sizeof err) == 0) {
            /* the same figures as before move nothing: a shown pane's refresh of a quiet
             * market draws nothing */
            bool same = c->stats.answered && got.n == c->stats.result.n &&
                        (!got.n ||
                         memcmp(got.items, c->stats.result.items, got.n * sizeof *got.items) == 0);
            json_stats_free(&c->stats.result); /* the last answer stays until a new one */
            c->stats.result = got;
            c->stats.done = c->stats.ok = true;
            c->stats.answered += !same;
        } else
            st_fail(c, err);
    } else if (res->status == 0) {
        st_fail(c, "no answer from the market");
    } else {
        decision_outcome o = {0};
        json_decode_outcome(body, len, MODEL_KIND_COUNT, c->cfg->mode, &o);
        snprintf(err, sizeof err, "HTTP %ld%s%.150s", (long)res->status, o.message[0] ? ": " : "",
                 o.message);
        st_fail(c, err);
    }
    http_req_free(r);
    return true;
}

void client_stats_end(client *c)
{
    if (c->stats_req)
        http_cancel(c->h, c->stats_req);
    c->stats_req = NULL;
    json_stats_free(&c->stats.result);
}
