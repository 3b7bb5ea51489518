/* headless_policies.c: dealdesk policies list|export FILE|import FILE (headless.h).
 *
 * export writes the server's set as a file a person can review, keep under version
 * control and import again (api/json_policy.h). import makes the server's set the
 * file's, through the endpoints (docs/api.md, "Policies"): the file is checked whole
 * first (locally, then by the server's own parser through a backtest, which changes
 * nothing), so an invalid file changes nothing and says why; then each policy is matched
 * by name: created when the server has none, replaced (If-Match: the version just read)
 * when it differs, left alone when it is the same; a server policy the file does not
 * name is disabled. Every POST carries an Idempotency-Key derived from what it sends,
 * so an import run twice changes nothing the second time.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/http.h"
#include "api/json.h"
#include "api/json_policy.h"
#include "api/text.h"
#include "tui/headless.h"

#define POLICIES_FILE_MAX (1 << 20)

/* An HTTP answer. */
typedef struct reply {
    long status;
    char *body; /* owned, NUL-terminated */
    size_t len;
} reply;

/* One request to path with the headers given (NULL-terminated; may be NULL), waited for
 * (30 s). 0 with *r set, or -1 after the message (a transport error). */
static int request(const config *cfg, const char *method, const char *path,
                   const char *const *headers, const char *body, reply *r)
{
    char url[1400];
    snprintf(url, sizeof url, "%s%s", cfg->url, path);
    *r = (reply){0};
    http *h = http_new();
    http_req *q = h ? http_start(h, method, url, cfg->token[0] ? cfg->token : NULL, headers, body,
                                 NULL, NULL, 30000L, 0)
                    : NULL;
    http_req *done = NULL;
    while (q && !(done = http_next_done(h))) {
        unsigned ready = 0;
        http_wait(h, NULL, 0, 1000, &ready);
        http_perform(h);
    }
    const http_result *res = done ? http_req_result(done) : NULL;
    int rc = -1;
    if (res && res->status > 0) {
        const char *b = http_req_body(done, &r->len);
        r->status = res->status;
        r->body = strdup(b ? b : "");
        rc = r->body ? 0 : -1;
    } else {
        fprintf(stderr, "dealdesk: policies: %s %s: %s\n", method, path,
                res && res->error[0] ? res->error : "no answer");
    }
    if (done)
        http_req_free(done);
    http_free(h);
    return rc;
}

/* Prints a refusal: "dealdesk: WHAT: HTTP 409 conflict: message" (sanitised). */
static void refused(const config *cfg, const char *what, const reply *r)
{
    decision_outcome o = {.http_status = (int)r->status};
    json_decode_outcome(r->body, r->len, MODEL_KIND_COUNT, cfg->mode, &o);
    char *w = text_sanitize_str(what, cfg->mode, NULL, NULL);
    fprintf(stderr, "dealdesk: %s: HTTP %ld %s: %s\n", w ? w : "?", r->status, o.error_code,
            o.message);
    free(w);
}

/* Reads the server's set (GET /v1/policies). 0, or 1 after the message. */
static int server_set(const config *cfg, policy_set *s)
{
    reply r;
    char err[300];
    if (request(cfg, "GET", "/v1/policies?limit=1000", NULL, NULL, &r) != 0)
        return 1;
    int rc = 0;
    if (r.status != 200) {
        refused(cfg, "policies", &r);
        rc = 1;
    } else if (json_policy_set_parse(r.body, r.len, true, s, err, sizeof err) != 0) {
        fprintf(stderr, "dealdesk: policies: the server's answer: %s\n", err);
        rc = 1;
    } else if (s->more) {
        fprintf(stderr, "dealdesk: policies: more than 1,000 policies: not supported\n");
        json_policy_set_free(s);
        rc = 1;
    }
    free(r.body);
    return rc;
}

/* qsort order: priority, then the server's order (id number). */
static int by_priority(const void *a, const void *b)
{
    const policy_item *x = *(policy_item *const *)a, *y = *(policy_item *const *)b;
    if (x->priority != y->priority)
        return x->priority < y->priority ? -1 : 1;
    return (x > y) - (x < y);
}

int headless_policies_list(const config *cfg)
{
    policy_set s;
    if (server_set(cfg, &s))
        return 1;
    policy_item **order = calloc(s.n + 1, sizeof *order);
    for (size_t i = 0; order && i < s.n; i++)
        order[i] = &s.items[i];
    if (order)
        qsort(order, s.n, sizeof *order, by_priority);
    for (size_t i = 0; order && i < s.n; i++) {
        const policy_item *p = order[i];
        char *name = text_sanitize_str(p->name, cfg->mode, NULL, NULL);
        printf("%-10s v%-3lld %-8s %-6s %7lld  %-7s %-28s hits %lld shadow %lld\n", p->id,
               (long long)p->version, p->enabled ? "enabled" : "disabled", p->mode,
               (long long)p->priority, p->action, name ? name : "?", (long long)p->hits,
               (long long)p->shadow_hits);
        free(name);
    }
    free(order);
    json_policy_set_free(&s);
    return fflush(stdout) == 0 ? 0 : 1;
}

int headless_policies_export(const config *cfg, const char *file)
{
    policy_set s;
    if (server_set(cfg, &s))
        return 1;
    char *text = json_policy_set_export(&s), tmp[4200];
    size_t n = s.n;
    json_policy_set_free(&s);
    snprintf(tmp, sizeof tmp, "%s.tmp", file);
    FILE *f = text ? fopen(tmp, "w") : NULL;
    bool ok = f && fputs(text, f) >= 0;
    if (f && fclose(f) != 0)
        ok = false;
    if (ok && rename(tmp, file) != 0)
        ok = false;
    free(text);
    if (!ok) {
        unlink(tmp);
        fprintf(stderr, "dealdesk: policies export: cannot write %s\n", file);
        return 1;
    }
    printf("exported %zu %s to %s\n", n, n == 1 ? "policy" : "policies", file);
    return 0;
}

/* Reads FILE whole into *text (owned). 0, or 1 after the message. */
static int read_file(const char *file, char **text, size_t *len)
{
    FILE *f = fopen(file, "rb");
    *text = f ? malloc(POLICIES_FILE_MAX + 1) : NULL;
    *len = *text ? fread(*text, 1, POLICIES_FILE_MAX + 1, f) : 0;
    if (f)
        fclose(f);
    if (!*text || *len > POLICIES_FILE_MAX) {
        fprintf(stderr, "dealdesk: policies import: %s: %s\n", file,
                *text ? "larger than 1 MiB" : "cannot read it");
        free(*text);
        return 1;
    }
    (*text)[*len] = '\0';
    return 0;
}

/* An Idempotency-Key header from the hash (FNV-1a, 64 bits) of the parts given. */
static void key_header(char out[80], const char *a, const char *b, const char *c)
{
    uint64_t h = 1469598103934665603ULL;
    const char *parts[] = {a, "\n", b, "\n", c};
    for (int i = 0; i < 5; i++)
        for (const char *p = parts[i] ? parts[i] : ""; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    snprintf(out, 80, "Idempotency-Key: import-%016llx", (unsigned long long)h);
}

/* Sends one change of an import. 0, or 1 after the message. */
static int change(const config *cfg, const char *what, const char *path, int64_t version,
                  const char *body, const char *name)
{
    char key[80], im[48], ver[24];
    snprintf(ver, sizeof ver, "%lld", (long long)version);
    key_header(key, path, body, ver);
    snprintf(im, sizeof im, "If-Match: \"%lld\"", (long long)version);
    const char *headers[] = {key, version ? im : NULL, NULL};
    reply r;
    if (request(cfg, "POST", path, headers, body, &r) != 0)
        return 1;
    int rc = r.status == 200 || r.status == 201 ? 0 : 1;
    char *n = text_sanitize_str(name, cfg->mode, NULL, NULL);
    if (rc == 0)
        printf("%s %s\n", what, n ? n : "?");
    else
        refused(cfg, n ? n : "policy", &r);
    free(n);
    free(r.body);
    return rc;
}

/* The server's checks of the whole file, without a change (a backtest of one purchase).
 * 0, or 1 after the message. */
static int server_check(const config *cfg, const policy_set *file, const char *path)
{
    char *body = json_policy_backtest_body(file, 1);
    reply r = {0};
    int rc = body && request(cfg, "POST", "/v1/policies/backtest", NULL, body, &r) == 0 ? 0 : 1;
    free(body);
    if (rc == 0 && r.status != 200) {
        decision_outcome o = {.http_status = (int)r.status};
        json_decode_outcome(r.body, r.len, MODEL_KIND_COUNT, cfg->mode, &o);
        char *p = text_sanitize_str(path, cfg->mode, NULL, NULL);
        fprintf(stderr, "dealdesk: policies import: %s: %s: nothing changed\n", p ? p : "?",
                o.message);
        free(p);
        rc = 1;
    }
    free(r.body);
    return rc;
}

/* The policy of s named name, or NULL. */
static const policy_item *named(const policy_set *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->items[i].name, name) == 0)
            return &s->items[i];
    return NULL;
}

/* Makes the server's set srv the file's set f. The exit code. */
static int apply_set(const config *cfg, const policy_set *f, const policy_set *srv)
{
    int rc = 0;
    char path[160];
    for (size_t i = 0; i < f->n && rc == 0; i++) {
        const policy_item *p = &f->items[i], *now = named(srv, p->name);
        if (!now) {
            rc = change(cfg, "created", "/v1/policies", 0, p->def, p->name);
        } else if (strcmp(now->def, p->def) != 0) {
            snprintf(path, sizeof path, "/v1/policies/%s", now->id);
            rc = change(cfg, "replaced", path, now->version, p->def, p->name);
        } else {
            char *n = text_sanitize_str(p->name, cfg->mode, NULL, NULL);
            printf("unchanged %s\n", n ? n : "?");
            free(n);
        }
    }
    for (size_t i = 0; i < srv->n && rc == 0; i++) {
        const policy_item *p = &srv->items[i];
        if (!p->enabled || named(f, p->name))
            continue;
        snprintf(path, sizeof path, "/v1/policies/%s/disable", p->id);
        rc = change(cfg, "disabled (not in the file)", path, p->version, "{}", p->name);
    }
    return rc;
}

int headless_policies_import(const config *cfg, const char *file)
{
    char *text, err[300];
    size_t len;
    if (read_file(file, &text, &len))
        return 1;
    policy_set f, srv;
    int rc = json_policy_set_parse(text, len, false, &f, err, sizeof err);
    free(text);
    if (rc != 0) {
        fprintf(stderr, "dealdesk: policies import: %s: %s: nothing changed\n", file, err);
        return 1;
    }
    rc = server_check(cfg, &f, file);
    if (rc == 0)
        rc = server_set(cfg, &srv);
    if (rc == 0) {
        rc = apply_set(cfg, &f, &srv);
        json_policy_set_free(&srv);
    }
    json_policy_set_free(&f);
    return rc;
}
