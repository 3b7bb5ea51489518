/* headless_disputes.c: dealdesk disputes show ID [--json] (headless.h): the evidence of one
 * dispute, read from the market (GET /v1/disputes/{id}, its purchase, its thread and every
 * message, the agents' names, both parties' disputes with ?party=) and assembled by
 * api/evidence.c, the same function the Disputes pane's evidence view shows: a script reads
 * exactly what a supervisor sees. Nothing is sent but GETs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/clock.h"
#include "api/evidence.h"
#include "api/http.h"
#include "api/json.h"
#include "api/text.h"
#include "tui/headless.h"

/* GETs path. 0 with the body (owned) and status, or -1 after the message. */
static int get(const config *cfg, const char *path, long *status, char **body, size_t *len)
{
    char url[1400], err[300];
    snprintf(url, sizeof url, "%s%s", cfg->url, path);
    if (http_request_sync("GET", url, cfg->token, NULL, 30000L, status, body, len, err,
                          sizeof err) < 0) {
        fprintf(stderr, "dealdesk: disputes: GET %s: %s\n", path, err);
        return -1;
    }
    return 0;
}

/* Says why an answer is not the object: "HTTP 404 not_found: no such dispute". */
static void refused(const config *cfg, const char *path, long status, const char *body, size_t len)
{
    decision_outcome o = {0};
    json_decode_outcome(body, len, MODEL_KIND_COUNT, cfg->mode, &o);
    fprintf(stderr, "dealdesk: disputes: GET %s: HTTP %ld %s: %s\n", path, status, o.error_code,
            o.message);
}

/* Reads one object of kind at path into the store. 1 loaded, 0 absent (404), -1 failed
 * (said). */
static int load_one(const config *cfg, store *st, model_kind kind, const char *path)
{
    long status;
    char *body = NULL, err[300];
    size_t len = 0;
    if (get(cfg, path, &status, &body, &len) < 0)
        return -1;
    int rc = -1;
    model_event ev;
    if (status == 404)
        rc = 0;
    else if (status != 200)
        refused(cfg, path, status, body, len);
    else if (json_decode_object(kind, body, len, cfg->mode, &ev, err, sizeof err) != JSON_OK)
        fprintf(stderr, "dealdesk: disputes: %s: outside the contract: %s\n", path, err);
    else {
        rc = store_load(st, &ev) == STORE_NOMEM ? -1 : 1;
        model_event_free(&ev);
    }
    free(body);
    return rc;
}

/* Reads every page of a list (path without after=) of kind: into the store (rows NULL),
 * or appended to *rows. 0, or -1 (said). */
static int load_list(const config *cfg, store *st, model_kind kind, const char *path,
                     model_event **rows, size_t *nrows)
{
    char after[300] = "", next[300], url[1200], enc[900];
    for (int pages = 0; pages < 1000; pages++) {
        http_url_encode(after, enc, sizeof enc);
        snprintf(url, sizeof url, "%s%s%s", path, after[0] ? "&after=" : "", enc);
        long status;
        char *body = NULL, err[300];
        size_t len = 0;
        if (get(cfg, url, &status, &body, &len) < 0)
            return -1;
        model_event *page = NULL;
        size_t n = 0;
        int64_t seq;
        uint64_t rejected = 0;
        json_result r = status == 200
                            ? json_decode_page(kind, body, len, cfg->mode, &page, &n, next,
                                               sizeof next, &seq, &rejected, err, sizeof err)
                            : JSON_BAD;
        if (status != 200)
            refused(cfg, url, status, body, len);
        else if (r != JSON_OK)
            fprintf(stderr, "dealdesk: disputes: %s: %s\n", url, err);
        free(body);
        model_event *grown =
            r == JSON_OK && rows ? realloc(*rows, (*nrows + n + 1) * sizeof **rows) : NULL;
        if (grown)
            *rows = grown;
        for (size_t i = 0; i < n; i++) {
            if (!rows)
                store_load(st, &page[i]);
            else if (grown) { /* the row's strings go with it */
                (*rows)[(*nrows)++] = page[i];
                memset(&page[i], 0, sizeof page[i]);
            }
            model_event_free(&page[i]);
        }
        free(page);
        if (r != JSON_OK || (rows && !grown))
            return -1;
        if (!next[0] || !strcmp(next, after))
            return 0;
        snprintf(after, sizeof after, "%s", next);
    }
    return 0;
}

/* Reads a thread's messages, page by page (?after=SEQ), into the store (watched). */
static int load_messages(const config *cfg, store *st, const char *neg)
{
    store_watch_thread(st, neg);
    int64_t last = 0;
    for (int pages = 0; pages < 1000; pages++) {
        char path[200];
        snprintf(path, sizeof path, "/v1/negotiations/%s/messages?after=%lld", neg,
                 (long long)last);
        long status;
        char *body = NULL;
        size_t len = 0;
        if (get(cfg, path, &status, &body, &len) < 0)
            return -1;
        uint64_t rejected = 0;
        int64_t before = last;
        bool more = false;
        json_result r =
            status == 200 ? json_decode_messages(body, len, cfg->mode, st, &rejected, &last, &more)
                          : JSON_BAD;
        if (status != 200)
            refused(cfg, path, status, body, len);
        free(body);
        if (r != JSON_OK)
            return -1;
        if (!more || last == before)
            return 0;
    }
    return 0;
}

/* An agent's name from the store (evidence_in.name). */
static const char *agent_name(void *ud, const char *id)
{
    const model_agent *a = store_agent(ud, id);
    return a && a->name.s ? a->name.s : NULL;
}

/* A party's disputes (GET /v1/disputes?party=ID), as evidence_history over rows. */
static int party(const config *cfg, const char *agent, model_event **rows, size_t *n,
                 const model_dispute ***ptrs, evidence_history *h)
{
    char path[200];
    snprintf(path, sizeof path, "/v1/disputes?limit=1000&party=%s", agent);
    *rows = NULL;
    *n = 0;
    if (load_list(cfg, NULL, MODEL_DISPUTE, path, rows, n) < 0)
        return -1;
    *ptrs = calloc(*n + 1, sizeof **ptrs);
    if (!*ptrs)
        return -1;
    for (size_t i = 0; i < *n; i++)
        (*ptrs)[i] = &(*rows)[i].u.dispute;
    *h = (evidence_history){.rows = *ptrs, .n = *n, .known = true, .complete = true};
    return 0;
}

/* Prints the lines (marks stripped) or the JSON. */
static int print(const model_dispute *d, const evidence *e, bool json)
{
    if (json)
        return json_print_evidence(stdout, d, e);
    for (size_t i = 0; i < e->n; i++) {
        char plain[sizeof e->lines[i].text];
        text_strip_marks(e->lines[i].text, plain, sizeof plain);
        printf("%s\n", plain);
    }
    return fflush(stdout) == 0 && !ferror(stdout) ? 0 : -1;
}

int headless_disputes_show(const config *cfg, const char *id, bool json)
{
    if (!text_valid_id(id, "dsp_")) {
        fprintf(stderr, "dealdesk: disputes show: not a dispute id (dsp_N)\n");
        return 2;
    }
    store *st = store_new();
    char path[200];
    snprintf(path, sizeof path, "/v1/disputes/%s", id);
    int rc = 1, got = st ? load_one(cfg, st, MODEL_DISPUTE, path) : -1;
    const model_dispute *d = got == 1 ? store_dispute(st, id) : NULL;
    if (got == 0)
        fprintf(stderr, "dealdesk: disputes show: no such dispute: %s\n", id);
    model_event *rows[2] = {NULL, NULL};
    size_t nrows[2] = {0, 0};
    const model_dispute **ptrs[2] = {NULL, NULL};
    evidence e = {0};
    evidence_in in = {.dispute = d,
                      .name = agent_name,
                      .name_ud = st,
                      .now_ms = clock_wall_ms(),
                      .ascii = cfg->mode == TEXT_ASCII};
    if (!d || load_list(cfg, st, MODEL_AGENT, "/v1/agents?limit=1000", NULL, NULL) < 0)
        goto out;
    snprintf(path, sizeof path, "/v1/purchases/%s", d->purchase_id);
    if (load_one(cfg, st, MODEL_PURCHASE, path) < 0)
        goto out;
    if (d->negotiation_id[0]) {
        snprintf(path, sizeof path, "/v1/negotiations/%s", d->negotiation_id);
        int t = load_one(cfg, st, MODEL_NEGOTIATION, path);
        if (t < 0 || (t == 1 && load_messages(cfg, st, d->negotiation_id) < 0))
            goto out;
        in.thread = store_negotiation(st, d->negotiation_id);
    }
    in.purchase = store_purchase(st, d->purchase_id);
    if (party(cfg, d->buyer_id, &rows[0], &nrows[0], &ptrs[0], &in.buyer) < 0 ||
        party(cfg, d->seller_id, &rows[1], &nrows[1], &ptrs[1], &in.seller) < 0)
        goto out;
    if (evidence_build(&in, &e) == 0 && print(d, &e, json) == 0)
        rc = 0;
out:
    evidence_free(&e);
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < nrows[k]; i++)
            model_event_free(&rows[k][i]);
        free(rows[k]);
        free(ptrs[k]);
    }
    store_free(st);
    return rc;
}
