/* client_backfill.c: the rest of a staged snapshot (issue 14; docs/api.md, Reading:
 * ?open_threads=). A console's snapshot holds only the CLIENT_OPEN_THREADS most recently
 * updated open and held threads, so that its first full frame does not wait for the
 * decoding of every one (20,000 in bench-scale); when the snapshot says more are open
 * (open_threads.more), they are read here afterwards, once the stream is live, one
 * request at a time beside it and never waited for: GET
 * /v1/negotiations?status=open&include=listings, then status=held, each in creation order from its
 * start (an order that updates do not move, so a walk misses none; what changes meanwhile comes on
 * the stream). Each page's threads and the listings they name go through store_backfill(), which
 * applies a row only when it is newer than what the stream said of that object since the backfill
 * began (model.h): a page read before an event but applied after it brings no older version back.
 */
#include "api/client_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/json.h"

/* Threads asked for at a time (the server's most); a failed page is asked again no sooner
 * than BACKFILL_RETRY_MS, BACKFILL_FAILS times in a row, then a fresh snapshot is taken:
 * while a backfill runs the store evicts no thread (model.h), so it does not wait forever
 * for a server that cannot answer. */
#define BACKFILL_ROWS     1000
#define BACKFILL_RETRY_MS 1000
#define BACKFILL_FAILS    10

/* The lists read, in turn. */
static const char *const statuses[] = {"open", "held"};
#define NLISTS ((int)(sizeof statuses / sizeof statuses[0]))

void client_backfill_stop(client *c)
{
    if (c->bf_req)
        http_cancel(c->h, c->bf_req);
    c->bf_req = NULL;
    c->bf_list = -1;
    c->bf_retry_at = 0;
    store_backfill_end(c->st);
}

/* Starts the request of the next page. */
static void ask(client *c, int64_t now)
{
    char path[600], enc[3 * PAGES_CURSOR_MAX + 4], url[1400];
    int n = snprintf(path, sizeof path, "/v1/negotiations?status=%s&include=listings&limit=%d",
                     statuses[c->bf_list], BACKFILL_ROWS);
    if (c->bf_after[0]) {
        http_url_encode(c->bf_after, enc, sizeof enc);
        snprintf(path + n, sizeof path - (size_t)n, "&after=%s", enc);
    }
    client_url_of(c, path, url, sizeof url);
    const char *hdrs[] = {"Accept: application/json", NULL};
    c->bf_req = http_start(c->h, "GET", url, c->cfg->token, hdrs, NULL, NULL, NULL, 30000L, 0);
    c->bf_retry_at = c->bf_req ? 0 : now + BACKFILL_RETRY_MS;
}

void client_backfill_start(client *c, int64_t now)
{
    client_backfill_stop(c);
    c->s.threads_loading = false;
    if (c->replay || !store_live_more(c->st))
        return;
    store_backfill_begin(c->st);
    snprintf(c->bf_epoch, sizeof c->bf_epoch, "%s", store_epoch(c->st));
    c->bf_list = 0;
    c->bf_fails = 0;
    c->bf_after[0] = '\0';
    c->s.threads_loading = true;
    c->bf_retry_at = now; /* asked once the stream is live (client_backfill_run): the
                             first frame's stream start does not wait behind a page */
}

void client_backfill_run(client *c, int64_t now)
{
    if (c->bf_list >= 0 && !c->bf_req && now >= c->bf_retry_at && c->s.state == CONN_LIVE)
        ask(c, now);
}

int64_t client_backfill_due(const client *c)
{
    return c->bf_list >= 0 && !c->bf_req && c->s.state == CONN_LIVE ? c->bf_retry_at : -1;
}

/* Puts each of n rows through store_backfill (and frees them and the array). */
static void put_rows(client *c, model_event *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (store_backfill(c->st, &rows[i]) == STORE_NOMEM)
            client_set_error(c, "out of memory reading the open threads");
        model_event_free(&rows[i]);
    }
    free(rows);
}

/* Handles a 200 answer: asks for the next page first (marketd makes it while this one is
 * decoded), then applies its listings and its threads; after the last page of the last
 * list, ends the backfill. Returns 0, or -1 when it is outside the contract (then the
 * same page is asked again later). */
static int page_arrived(client *c, http_req *r, int64_t now)
{
    size_t len, nt = 0, nl = 0;
    const char *body = http_req_body(r, &len);
    char next[PAGES_CURSOR_MAX + 1], cur[sizeof c->bf_after];
    if (json_page_next(body, len, next, sizeof next) != JSON_OK)
        return -1;
    if (strcmp(next, c->bf_after) == 0)
        next[0] = '\0'; /* a cursor that does not move ends the list */
    int list = c->bf_list;
    bool last = !next[0] && list + 1 == NLISTS;
    snprintf(cur, sizeof cur, "%s", c->bf_after);
    if (!last) {
        snprintf(c->bf_after, sizeof c->bf_after, "%s", next);
        c->bf_list += !next[0];
        ask(c, now);
    }
    model_event *threads = NULL, *listings = NULL;
    uint64_t rejected = 0;
    json_result jr =
        json_decode_threads_page(body, len, c->cfg->mode, &threads, &nt, &listings, &nl, &rejected);
    c->s.errors_decode += rejected;
    if (jr != JSON_OK) { /* this page again, later */
        if (c->bf_req)
            http_cancel(c->h, c->bf_req);
        c->bf_req = NULL;
        c->bf_list = list;
        snprintf(c->bf_after, sizeof c->bf_after, "%s", cur);
    }
    put_rows(c, listings, nl); /* first: a thread's listing is there when it is */
    put_rows(c, threads, nt);
    if (jr == JSON_OK && last) { /* every list read: the store holds the working set */
        c->bf_list = -1;
        store_backfill_end(c->st);
        c->s.threads_loading = false;
        client_trim();
    }
    return jr == JSON_OK ? 0 : -1;
}

bool client_backfill_done(client *c, http_req *r, int64_t now)
{
    if (!r || r != c->bf_req)
        return false;
    c->bf_req = NULL;
    long status = http_req_result(r)->status;
    if (strcmp(c->bf_epoch, store_epoch(c->st)) != 0) {
        client_backfill_stop(c); /* another market since: its own snapshot says */
    } else if (status != 200 || page_arrived(c, r, now) < 0) {
        const char *why = status == 200 ? "a page outside the contract"
                          : status      ? "the server refused a page"
                                        : "no answer";
        c->bf_retry_at = now + BACKFILL_RETRY_MS;
        bool give_up = ++c->bf_fails >= BACKFILL_FAILS;
        if (give_up)
            client_resync(c); /* stops the backfill; the next snapshot starts it again */
        char m[120];
        snprintf(m, sizeof m, "open threads: %s; %s", why,
                 give_up ? "taking a fresh snapshot" : "asked again");
        client_set_error(c, m);
    } else {
        c->bf_fails = 0;
    }
    http_req_free(r);
    return true;
}
