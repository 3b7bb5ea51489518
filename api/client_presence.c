/* client_presence.c: a console's presence (docs/api.md, "Presence"; issue 16).
 *
 * A console (cfg->console) opens its stream with ?console=1 (client.c) and reports its
 * keyboard input with POST /v1/presence: at the start of each live spell (with how long
 * ago the last input was: starting the console counts as input) and then at most once a
 * minute while input comes. A viewer, who reports nothing, reads GET /v1/presence once
 * per live spell. Each answer, and each presence.updated event, gives the counts in
 * client_status (presence_supervisors, presence_viewers, presence_me). One request at a
 * time, on the client's multi handle: never a wait. A tail or a one-shot command is not a
 * console and reports nothing.
 */
#include "api/client_int.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api/clock.h"
#include "api/json.h"

#define REPORT_EVERY_MS 60000  /* input is reported at most once a minute */
#define WINDOW_MS       600000 /* input older than this is not presence: not reported */

void client_presence_input(client *c)
{
    c->input_ms = clock_mono_ms();
}

/* Applies a presence document (or a presence.updated event's JSON) to the status. */
static void apply(client *c, const char *json, size_t len)
{
    int sups, viewers;
    bool me;
    if (json_decode_presence(json, len, c->s.operator_name, &sups, &viewers, &me) == JSON_OK) {
        c->s.presence_supervisors = sups;
        c->s.presence_viewers = viewers;
        c->s.presence_me = me;
    }
}

void client_presence_event(client *c, const char *json, size_t len)
{
    apply(c, json, len);
}

/* Starts the report (a supervisor) or the read (anyone else). */
static void start(client *c, int64_t now)
{
    bool sup = strcmp(c->s.role, "supervisor") == 0;
    char url[1400], body[64], key[96];
    client_url_of(c, "/v1/presence", url, sizeof url);
    int64_t idle = (now - c->input_ms) / 1000;
    snprintf(body, sizeof body, "{\"idle_s\":%lld}", (long long)(idle < 0 ? 0 : idle));
    snprintf(key, sizeof key, "Idempotency-Key: presence-%lld-%ld", (long long)clock_wall_ms(),
             (long)getpid());
    const char *hdrs[] = {"Accept: application/json", "Content-Type: application/json", key, NULL};
    c->presence = http_start(c->h, sup ? "POST" : "GET", url, c->cfg->token, hdrs,
                             sup ? body : NULL, NULL, NULL, 10000L, 0);
    c->reported_ms = now;
    c->presence_live = true;
}

void client_presence_run(client *c, int64_t now)
{
    if (!c->cfg->console || c->replay || c->cfg->no_stream)
        return;
    if (c->s.state != CONN_LIVE) {
        c->presence_live = false; /* the next live spell reports at its start */
        return;
    }
    if (c->presence || !c->s.role[0] || !c->s.operator_name[0])
        return;
    bool sup = strcmp(c->s.role, "supervisor") == 0;
    bool fresh = !c->presence_live && (!sup || now - c->input_ms < WINDOW_MS);
    bool due = sup && c->presence_live && c->input_ms > c->reported_ms &&
               now - c->reported_ms >= REPORT_EVERY_MS;
    if (fresh || due)
        start(c, now);
}

bool client_presence_done(client *c, http_req *r)
{
    if (!r || r != c->presence)
        return false;
    c->presence = NULL;
    size_t len;
    const char *body = http_req_body(r, &len);
    if (http_req_result(r)->status == 200)
        apply(c, body, len);
    http_req_free(r);
    return true;
}
