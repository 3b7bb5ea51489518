/* client_req.c: requests beside the stream: decisions (journaled first, sent with their
 * Idempotency-Key and If-Match, retried with the same key) and a thread's history. */
#include "api/client_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/json.h"

/* ---- decisions --------------------------------------------------------------------- */

/* Sends (or re-sends) a decision with its key and If-Match. */
void client_send_decision(client *c, pending *p)
{
    char url[1400], key[128], ifm[64];
    client_url_of(c, p->path, url, sizeof url);
    snprintf(key, sizeof key, "Idempotency-Key: %s", p->key);
    const char *hdrs[4] = {key, "Accept: application/json", NULL, NULL};
    if (p->version > 0) {
        snprintf(ifm, sizeof ifm, "If-Match: \"%lld\"", (long long)p->version);
        hdrs[2] = ifm;
    }
    p->attempts++;
    p->req = http_start(c->h, "POST", url, c->cfg->token, hdrs, p->body, NULL, NULL,
                        DECISION_TIMEOUT, (uintptr_t)p->id);
    p->next_try = 0;
}

/* Unlinks and frees a pending decision. */
void client_pending_remove(client *c, pending *p)
{
    for (pending **pp = &c->decs; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    if (p->req)
        http_cancel(c->h, p->req);
    free(p->body);
    free(p);
}

/* Delivers an outcome to the decision's callback (or, for a journal replay, into the
 * status line) and forgets the decision. */
static void deliver(client *c, pending *p, decision_outcome *o)
{
    o->id = p->id;
    if (p->cb)
        p->cb(p->ud, o);
    else if (!o->ok) {
        char m[256];
        snprintf(m, sizeof m, "journaled %s %s: %d %.100s", p->action, p->key, o->http_status,
                 o->message);
        client_set_error(c, m);
    }
    decision_outcome_free(o);
    client_pending_remove(c, p);
}

/* Handles the end of a decision request. */
void client_decision_done(client *c, pending *p, http_req *r, int64_t now)
{
    long status = http_req_status(r);
    p->req = NULL;
    /* An untrusted certificate is not transient: the request never left this machine. */
    bool refused = status == 0 && http_req_tls_refused(r);
    bool transient = (status == 0 && !refused) || status == 502 || status == 503 || status == 504;
    if (transient && p->attempts < DECISION_ATTEMPTS) {
        /* The same key again: if the first attempt did commit, the server replays it. */
        int64_t d = 250LL << (p->attempts < 8 ? p->attempts : 8);
        if (d > 10000)
            d = 10000;
        p->next_try = now + d / 2 + client_rnd((uint32_t)(d / 2) + 1);
        http_req_free(r);
        return;
    }
    decision_outcome o = {0};
    o.http_status = (int)status;
    o.ok = status >= 200 && status < 300;
    o.replayed = http_req_replayed(r);
    if (refused) {
        /* Never sent, and never will be: settled, so no later start sends it either. */
        journal_settle(c->j, p->key, 0);
        snprintf(o.message, sizeof o.message, "not sent: %s", http_req_error(r));
    } else if (transient) {
        snprintf(o.message, sizeof o.message,
                 "no answer after %d attempts (%s); it stays in the journal and is sent "
                 "again at the next start",
                 p->attempts, status ? "server unavailable" : http_req_error(r));
    } else {
        journal_settle(c->j, p->key, (int)status);
        size_t len;
        const char *body = http_req_body(r, &len);
        json_decode_outcome(body, len, p->kind, c->cfg->mode, &o);
        if (!o.ok && !o.message[0])
            snprintf(o.message, sizeof o.message, "HTTP %ld", status);
    }
    http_req_free(r);
    deliver(c, p, &o);
}

/* Queues a decision for sending; takes ownership of body. Returns its pending entry. */
static pending *pending_add(client *c, const char *key, const char *action, model_kind kind,
                            const char *path, char *body, int64_t version, decision_cb cb, void *ud)
{
    pending *p = calloc(1, sizeof *p);
    if (!p) {
        free(body);
        return NULL;
    }
    p->id = ++c->next_dec_id;
    snprintf(p->key, sizeof p->key, "%s", key);
    snprintf(p->action, sizeof p->action, "%s", action);
    snprintf(p->path, sizeof p->path, "%s", path);
    p->kind = kind;
    p->body = body;
    p->version = version;
    p->cb = cb;
    p->ud = ud;
    p->next = c->decs;
    c->decs = p;
    client_send_decision(c, p);
    return p;
}

/* Re-sends the journal's unsettled entries (same keys). */
void client_replay_journal(client *c)
{
    journal_entry *e;
    size_t n, bad = 0;
    if (journal_unsettled(c->j, client_wall_ms(), &e, &n, &bad) < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        int a = decision_action_from_name(e[i].action);
        char path[256];
        if (a < 0 || decision_path_of((decision_action)a, e[i].subject, path, sizeof path) < 0)
            continue;
        pending_add(c, e[i].key, e[i].action, decision_subject_kind((decision_action)a), path,
                    e[i].body, e[i].version, NULL, NULL);
        e[i].body = NULL;
    }
    journal_entries_free(e, n);
}

/* Calls cb at once with a refusal. */
static void refuse(decision_cb cb, void *ud, const char *msg)
{
    decision_outcome o = {0};
    snprintf(o.message, sizeof o.message, "%s", msg);
    if (cb)
        cb(ud, &o);
}

uint64_t client_decide(client *c, const decision_req *req, decision_cb cb, void *ud)
{
    char err[256], path[256], key[64];
    if (c->replay) {
        refuse(cb, ud, "a replay is read-only: decisions are not sent");
        return 0;
    }
    if (c->cfg->read_only) {
        refuse(cb, ud, "read-only mode: decisions are not sent");
        return 0;
    }
    if (!c->j) {
        refuse(cb, ud, "no decision journal: decisions are not sent (see the start-up error)");
        return 0;
    }
    if (decision_validate(req, err, sizeof err) < 0) {
        refuse(cb, ud, err);
        return 0;
    }
    if (decision_path(req, path, sizeof path) < 0 || journal_new_key(key, sizeof key) < 0) {
        refuse(cb, ud, "cannot make the request (no secure random source?)");
        return 0;
    }
    char *body = json_decision_body(req);
    if (!body) {
        refuse(cb, ud, "out of memory");
        return 0;
    }
    journal_entry e = {.at_ms = client_wall_ms(), .version = req->if_match_version, .body = body};
    snprintf(e.key, sizeof e.key, "%s", key);
    snprintf(e.action, sizeof e.action, "%s", decision_action_name(req->action));
    snprintf(e.subject, sizeof e.subject, "%s", req->subject_id);
    if (journal_append(c->j, &e) < 0) {
        snprintf(err, sizeof err, "cannot write the decision journal: %s", strerror(errno));
        free(body);
        refuse(cb, ud, err);
        return 0;
    }
    pending *p = pending_add(c, key, e.action, decision_subject_kind(req->action), path, body,
                             req->if_match_version, cb, ud);
    return p ? p->id : 0;
}

size_t client_pending_decisions(const client *c)
{
    size_t n = 0;
    for (const pending *p = c->decs; p; p = p->next)
        n++;
    return n;
}

/* Finds a pending decision by its request. */
pending *client_pending_of(client *c, const http_req *r)
{
    for (pending *p = c->decs; p; p = p->next)
        if (p->req == r)
            return p;
    return NULL;
}

/* ---- threads' history ------------------------------------------------------------- */

/* Starts (or continues) a history fetch. Returns 0 or -1. */
static int fetch_start(client *c, fetch *f)
{
    char path[160], url[1400];
    snprintf(path, sizeof path, "/v1/negotiations/%s/messages?after=%lld", f->neg,
             (long long)f->after);
    client_url_of(c, path, url, sizeof url);
    const char *hdrs[] = {"Accept: application/json", NULL};
    f->req = http_start(c->h, "GET", url, c->cfg->token, hdrs, NULL, NULL, NULL, 30000L, 0);
    return f->req ? 0 : -1;
}

/* Unlinks and frees a fetch. */
void client_fetch_remove(client *c, fetch *f)
{
    for (fetch **pp = &c->fetches; *pp; pp = &(*pp)->next)
        if (*pp == f) {
            *pp = f->next;
            break;
        }
    if (f->req)
        http_cancel(c->h, f->req);
    free(f);
}

/* Handles a page of history: loads it and asks for the next page when there is one. */
void client_fetch_done(client *c, fetch *f, http_req *r)
{
    f->req = NULL;
    long status = http_req_status(r);
    size_t len;
    const char *body = http_req_body(r, &len);
    bool more = false;
    if (status == 200) {
        uint64_t rejected = 0;
        int64_t last = f->after;
        if (json_decode_messages(body, len, c->cfg->mode, c->st, &rejected, &last, &more) !=
            JSON_OK)
            client_set_error(c, "a thread's messages could not be read");
        c->s.errors_decode += rejected;
        more = more && last > f->after;
        f->after = last;
    } else {
        char p[128];
        snprintf(p, sizeof p, "messages of %s: HTTP %ld: ", f->neg, status);
        client_safe_msg(c, p, body, len);
    }
    http_req_free(r);
    if (!more || fetch_start(c, f) < 0)
        client_fetch_remove(c, f);
}

int client_fetch_thread(client *c, const char *negotiation_id)
{
    if (c->replay || !text_valid_id(negotiation_id, "neg_"))
        return -1;
    for (fetch *f = c->fetches; f; f = f->next)
        if (!strcmp(f->neg, negotiation_id))
            return 0;
    fetch *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->neg, sizeof f->neg, "%s", negotiation_id);
    if (fetch_start(c, f) < 0) {
        free(f);
        return -1;
    }
    f->next = c->fetches;
    c->fetches = f;
    return 0;
}

/* The fetch a transfer belongs to, or NULL. */
fetch *client_fetch_of(client *c, const http_req *r)
{
    for (fetch *f = c->fetches; f; f = f->next)
        if (f->req == r)
            return f;
    return NULL;
}
