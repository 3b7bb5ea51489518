/* client_pages.c: history read a page at a time (api/pages.h, issue 14): the requests
 * that fill the cache, on the client's one multi handle beside the stream. A query's
 * next page is asked for only when a pane wants more rows than are here; an answer finds
 * its set by serial number (a set dropped meanwhile: the answer is dropped), is decoded
 * and sanitised by json_decode_page like the store's objects, and is kept only for the
 * market it was asked of. At most one search (q=) of a kind is on its way: a search asked
 * meanwhile waits its turn (pages_queue; the newest one only: keys typed meanwhile
 * coalesce into it) and is sent when the answer comes. An answer for an older search is
 * kept in its set, which no pane showing the newer one draws. */
#include "api/client_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/json.h"
#include "api/text.h"

#define PAGES_RETRY_MS 1000 /* a failed read is asked again no sooner than this */

/* A page on its way. */
typedef struct page_req {
    struct page_req *next;
    http_req *req;
    uint64_t serial; /* of its set (pages_find) */
    model_kind kind; /* of its query */
    bool search;     /* its query has a q= */
    char epoch[64];  /* the market it was asked of */
} page_req;

/* A status or sort name as the contract spells them: 0..23 of [a-z_]. */
static bool word_ok(const char *w, size_t size)
{
    size_t n = strnlen(w, size);
    if (n == size)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((w[i] >= 'a' && w[i] <= 'z') || w[i] == '_'))
            return false;
    return true;
}

/* Why a query cannot be asked, or NULL when it can. */
static const char *query_refused(const client *c, const page_query *q)
{
    if (!pages_kind_ok(q->kind))
        return "this kind has no history to page through";
    size_t qn = strnlen(q->q, sizeof q->q);
    if (qn == sizeof q->q || (qn && qn < PAGES_Q_MIN))
        return "type 3 characters to search history";
    if (!word_ok(q->status, sizeof q->status) || !word_ok(q->sort, sizeof q->sort))
        return "not a status or sort the server knows";
    if (q->party[0] && !text_valid_id(q->party, "agt_"))
        return "not an agent id";
    if (c->replay)
        return "no server in a replay: history is not read";
    if (!c->pg)
        return "out of memory";
    return NULL;
}

/* Starts the request of a set's next page. Returns 0 or -1. */
static int ask_page(client *c, page_set *s)
{
    const page_query *q = pages_query(s);
    char path[900], enc[3 * PAGES_CURSOR_MAX + 4], url[1400];
    int n =
        snprintf(path, sizeof path, "/v1/%s?limit=%d", pages_kind_path(q->kind), PAGES_PAGE_ROWS);
    if (q->status[0])
        n += snprintf(path + n, sizeof path - (size_t)n, "&status=%s", q->status);
    if (q->sort[0])
        n += snprintf(path + n, sizeof path - (size_t)n, "&sort=%s", q->sort);
    if (q->party[0]) /* an agent id: nothing to encode */
        n += snprintf(path + n, sizeof path - (size_t)n, "&party=%s", q->party);
    if (q->q[0]) {
        http_url_encode(q->q, enc, sizeof enc);
        n += snprintf(path + n, sizeof path - (size_t)n, "&q=%s", enc);
    }
    if (pages_cursor(s)[0]) {
        http_url_encode(pages_cursor(s), enc, sizeof enc);
        snprintf(path + n, sizeof path - (size_t)n, "&after=%s", enc);
    }
    page_req *pr = calloc(1, sizeof *pr);
    if (!pr)
        return -1;
    client_url_of(c, path, url, sizeof url);
    const char *hdrs[] = {"Accept: application/json", NULL};
    pr->req = http_start(c->h, "GET", url, c->cfg->token, hdrs, NULL, NULL, NULL, 30000L, 0);
    if (!pr->req) {
        free(pr);
        return -1;
    }
    pr->serial = pages_serial(s);
    pr->kind = q->kind;
    pr->search = q->q[0] != '\0';
    snprintf(pr->epoch, sizeof pr->epoch, "%s", store_epoch(c->st));
    pr->next = c->page_reqs;
    c->page_reqs = pr;
    pages_loading(c->pg, s);
    return 0;
}

/* Fills out as a failure that is not kept (nothing was asked). */
static void refuse(page_result *out, const char *why)
{
    memset(out, 0, sizeof *out);
    out->state = PAGE_FAILED;
    snprintf(out->error, sizeof out->error, "%s", why);
}

/* The search of kind on its way, or NULL. */
static page_req *search_on_its_way(client *c, model_kind kind)
{
    for (page_req *pr = c->page_reqs; pr; pr = pr->next)
        if (pr->search && pr->kind == kind)
            return pr;
    return NULL;
}

void client_history(client *c, const page_query *q, size_t want, page_result *out)
{
    const char *why = query_refused(c, q);
    page_set *s = why ? NULL : pages_get(c->pg, q);
    if (!s) {
        refuse(out, why ? why : "out of memory");
        return;
    }
    pages_result(s, out);
    page_req *busy = q->q[0] ? search_on_its_way(c, q->kind) : NULL;
    if (busy && busy->serial == pages_serial(s)) { /* asked again: nothing else waits */
        page_set *w = pages_queued(c->pg, q->kind);
        if (w)
            pages_unqueue(c->pg, w);
    }
    if (out->state == PAGE_LOADING || out->complete || out->nrows >= want)
        return;
    int64_t failed = pages_failed_at(s);
    if (failed && clock_mono_ms() - failed < PAGES_RETRY_MS)
        return; /* asked again at the next ask after a pause: a down server is not hammered */
    if (out->nrows + PAGES_PAGE_ROWS > PAGES_MAX_ROWS) {
        out->state = PAGE_FAILED;
        snprintf(out->error, sizeof out->error,
                 "no more history is held: narrow it with a filter or a search");
        return;
    }
    if (busy) /* one search of a kind at a time: this one goes when its answer comes */
        pages_queue(c->pg, s);
    else if (ask_page(c, s) < 0)
        pages_failed(c->pg, s, "could not start the request (out of memory)", clock_mono_ms());
    pages_result(s, out);
}

/* Unlinks a page request (its transfer is the caller's) and frees it. */
static void unlink_req(client *c, page_req *pr)
{
    for (page_req **pp = &c->page_reqs; *pp; pp = &(*pp)->next)
        if (*pp == pr) {
            *pp = pr->next;
            break;
        }
    free(pr);
}

/* Sends the search of kind that waited for the one on its way, once none is. */
static void send_queued(client *c, model_kind kind)
{
    page_set *next = pages_queued(c->pg, kind);
    if (next && !search_on_its_way(c, kind) && ask_page(c, next) < 0)
        pages_failed(c->pg, next, "could not start the request (out of memory)", clock_mono_ms());
}

void client_history_forget(client *c, model_kind kind)
{
    if (!c->pg)
        return;
    pages_forget(c->pg, kind);
    for (page_req *pr = c->page_reqs, *nx; pr; pr = nx) {
        nx = pr->next;
        if (!pages_find(c->pg, pr->serial)) { /* its set is gone: the answer would be too */
            model_kind k = pr->kind;
            bool search = pr->search;
            http_cancel(c->h, pr->req);
            unlink_req(c, pr);
            if (search)
                send_queued(c, k);
        }
    }
}

uint64_t client_history_changes(const client *c)
{
    return c->pg ? pages_changes(c->pg) : 0;
}

/* The words of a failed read: a sort or search the server refuses (400 naming sort or q:
 * a server that cannot sort or search history this way) says so; else the status and the
 * server's message, sanitised. */
static void failure_text(client *c, const page_query *q, http_req *r, char *out, size_t size)
{
    const http_result *res = http_req_result(r);
    size_t len;
    const char *body = http_req_body(r, &len);
    char code[32], field[32], clean[120] = "";
    json_decode_error(body, len, c->cfg->mode, code, sizeof code, field, sizeof field);
    if (res->status) {
        decision_outcome o = {0};
        json_decode_outcome(body, len, MODEL_KIND_COUNT, c->cfg->mode, &o);
        snprintf(clean, sizeof clean, "%.100s", o.message);
    } else {
        text_safe t;
        if (text_sanitize(res->error, strlen(res->error), c->cfg->mode, &t) == 0) {
            text_strip_marks(t.s, clean, sizeof clean);
            text_safe_free(&t);
        }
    }
    bool sort = q->sort[0] && strcmp(field, "sort") == 0, search = q->q[0] && !strcmp(field, "q");
    if (res->status == 400 && (sort || search))
        snprintf(out, size, "the server cannot %s history this way (%s= refused: %s)",
                 sort ? "sort" : "search", field, clean);
    else if (res->status)
        snprintf(out, size, "history: HTTP %ld: %s", res->status, clean);
    else
        snprintf(out, size, "history: %s", clean[0] ? clean : "no answer");
}

/* Loads a 200 answer into its set. */
static void page_arrived(client *c, page_set *s, http_req *r)
{
    size_t len, n = 0;
    const char *body = http_req_body(r, &len);
    model_event *rows = NULL;
    char next[PAGES_CURSOR_MAX + 1], err[160] = "";
    int64_t seq = 0;
    uint64_t rejected = 0;
    json_result jr = json_decode_page(pages_query(s)->kind, body, len, c->cfg->mode, &rows, &n,
                                      next, sizeof next, &seq, &rejected, err, sizeof err);
    c->s.errors_decode += rejected;
    if (jr != JSON_OK) {
        char m[200];
        snprintf(m, sizeof m, "history: an answer outside the contract: %.120s", err);
        pages_failed(c->pg, s, m, clock_mono_ms());
    } else {
        (void)pages_add(c->pg, s, rows, n, next, seq ? seq : store_seq(c->st));
    }
    for (size_t i = 0; i < n; i++)
        model_event_free(&rows[i]);
    free(rows);
}

bool client_page_done(client *c, http_req *r)
{
    page_req *pr = c->page_reqs;
    while (pr && pr->req != r)
        pr = pr->next;
    if (!pr)
        return false;
    page_set *s = pages_find(c->pg, pr->serial);
    /* an answer for a set since dropped, or about another market, is dropped too */
    if (s && strcmp(pr->epoch, store_epoch(c->st)) == 0) {
        if (http_req_result(r)->status == 200) {
            page_arrived(c, s, r);
        } else {
            char m[160];
            failure_text(c, pages_query(s), r, m, sizeof m);
            pages_failed(c->pg, s, m, clock_mono_ms());
        }
    }
    model_kind kind = pr->kind;
    bool search = pr->search;
    unlink_req(c, pr);
    http_req_free(r);
    if (search)
        send_queued(c, kind);
    return true;
}

int client_pages_init(client *c)
{
    c->pg = pages_new();
    return c->pg ? 0 : -1;
}

void client_pages_end(client *c)
{
    while (c->page_reqs) {
        http_cancel(c->h, c->page_reqs->req);
        unlink_req(c, c->page_reqs);
    }
    pages_free(c->pg);
    c->pg = NULL;
}
