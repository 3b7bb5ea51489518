/* client_req.c: requests beside the stream: decisions (journaled first, sent with their
 * Idempotency-Key and If-Match, retried with the same key) and a thread's history. */
#include "api/client_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/json.h"

/* ---- decisions --------------------------------------------------------------------- */

/* Sends (or re-sends) a decision with its key, If-Match and If-Epoch (the market it is
 * bound to: another market at this URL answers 412 epoch_mismatch and applies nothing). */
void client_send_decision(client *c, pending *p)
{
    char url[1400], key[128], ifm[64], ife[96];
    client_url_of(c, p->path, url, sizeof url);
    snprintf(key, sizeof key, "Idempotency-Key: %s", p->key);
    snprintf(ife, sizeof ife, "If-Epoch: %s", p->epoch);
    const char *hdrs[5] = {key, "Accept: application/json", ife, NULL, NULL};
    if (p->version > 0) {
        snprintf(ifm, sizeof ifm, "If-Match: \"%lld\"", (long long)p->version);
        hdrs[3] = ifm;
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

/* Delivers an outcome to the decision's callback (or, for an entry of an earlier session,
 * into the status line) and forgets the decision. */
static void deliver(client *c, pending *p, decision_outcome *o)
{
    o->id = p->id;
    snprintf(o->action, sizeof o->action, "%s", p->action);
    snprintf(o->subject, sizeof o->subject, "%s", p->subject);
    if (p->cb)
        p->cb(p->ud, o);
    else if (!o->ok) {
        char m[256];
        snprintf(m, sizeof m, "earlier %s %s: %d %.100s", p->action, p->key, o->http_status,
                 o->message);
        client_set_error(c, m);
    }
    decision_outcome_free(o);
    client_pending_remove(c, p);
}

/* Ends a decision that got no answer: not sent (settled: nothing happened), or outcome
 * unknown (kept for the console to offer at its next start; a one-shot command settles it
 * as abandoned, so that nothing is ever sent later without being shown). */
static void no_answer(client *c, pending *p, decision_outcome *o, const char *why)
{
    if (!p->maybe_sent) {
        journal_settle(c->j, p->key, JOURNAL_NOT_SENT);
        o->delivery = DELIVERY_NOT_SENT;
        snprintf(o->message, sizeof o->message, "not sent (%s): nothing left this machine", why);
    } else if (c->cfg->no_stream) {
        journal_settle(c->j, p->key, JOURNAL_ABANDONED);
        o->delivery = DELIVERY_UNKNOWN;
        snprintf(o->message, sizeof o->message,
                 "no answer (%s): the outcome is unknown (it may have reached the server); "
                 "it will not be sent again: look before deciding again",
                 why);
    } else {
        o->delivery = DELIVERY_UNKNOWN;
        snprintf(o->message, sizeof o->message,
                 "no answer (%s): the outcome is unknown (it may have reached the server); "
                 "it is kept and offered again at the next start",
                 why);
        size_t len = strlen(c->given_up_list); /* named again when quitting */
        snprintf(c->given_up_list + len, sizeof c->given_up_list - len, "%s%s %s",
                 c->given_up ? ", " : "", p->action, p->subject[0] ? p->subject : "fleet");
        c->given_up++;
    }
}

/* Handles the end of a decision request. */
void client_decision_done(client *c, pending *p, http_req *r, int64_t now)
{
    long status = http_req_result(r)->status;
    p->req = NULL;
    /* A request that never left (no connection, TLS refused) changed nothing; anything
     * else may have reached the server (a 502/504 from a proxy too). */
    if (status != 0 || !http_req_result(r)->not_sent)
        p->maybe_sent = true;
    /* An untrusted certificate is not transient: the request never left this machine. */
    bool refused = status == 0 && http_req_result(r)->tls_refused;
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
    o.replayed = http_req_result(r)->replayed;
    if (refused || transient) {
        char why[200];
        snprintf(why, sizeof why, "%.160s after %d attempts",
                 status ? "server unavailable" : http_req_result(r)->error, p->attempts);
        o.http_status = 0;
        no_answer(c, p, &o, refused ? http_req_result(r)->error : why);
    } else {
        o.delivery = DELIVERY_ANSWERED;
        journal_settle(c->j, p->key, (int)status);
        size_t len;
        const char *body = http_req_body(r, &len);
        json_decode_outcome(body, len, p->kind, c->cfg->mode, &o);
        if (status == 412 && !strcmp(o.error_code, "epoch_mismatch")) {
            /* Refused before anything was looked at: settled as answered (412), never
             * sent again; the client reads the market that is there now. */
            snprintf(o.message, sizeof o.message,
                     "the market at %.300s is not the one this decision was made for: nothing "
                     "applied",
                     client_base(c));
            client_market_changed(c);
        }
        if (!o.ok && !o.message[0])
            snprintf(o.message, sizeof o.message, "HTTP %ld", status);
    }
    http_req_free(r);
    deliver(c, p, &o);
}

/* Queues a decision for sending; takes ownership of body. Returns its pending entry. */
static pending *pending_add(client *c, const journal_entry *e, model_kind kind, const char *path,
                            char *body, decision_cb cb, void *ud)
{
    pending *p = calloc(1, sizeof *p);
    if (!p) {
        free(body);
        return NULL;
    }
    p->id = ++c->next_dec_id;
    snprintf(p->key, sizeof p->key, "%s", e->key);
    snprintf(p->action, sizeof p->action, "%s", e->action);
    snprintf(p->path, sizeof p->path, "%s", path);
    snprintf(p->subject, sizeof p->subject, "%s", e->subject);
    snprintf(p->epoch, sizeof p->epoch, "%s", e->epoch);
    p->kind = kind;
    p->body = body;
    p->version = e->version;
    p->cb = cb;
    p->ud = ud;
    p->next = c->decs;
    c->decs = p;
    client_send_decision(c, p);
    return p;
}

/* ---- binding decisions to a market and an operator ------------------------------- */

/* Once both the market and the operator are known, a console looks at the journal once:
 * the entries of an earlier session for this market and operator with no answer are kept
 * in c->offer for the operator to see (client_unanswered); nothing is sent unasked, and
 * entries for other markets or operators are left for their own. */
static void look_at_journal(client *c)
{
    if (c->offered || !c->bound_epoch[0] || !c->bound_operator[0])
        return;
    c->offered = true;
    if (!c->j || c->cfg->no_stream || c->cfg->read_only)
        return;
    journal_entry *e;
    size_t n;
    if (journal_unsettled(c->j, clock_wall_ms(), &e, &n, NULL) < 0)
        return;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        /* this market, this operator, and left behind (not in flight in a console
         * that is still running) */
        bool mine = !strcmp(e[i].epoch, c->bound_epoch) &&
                    !strcmp(e[i].operator_name, c->bound_operator) &&
                    decision_action_from_name(e[i].action) >= 0 && !journal_entry_live(c->j, &e[i]);
        if (mine) {
            journal_entry t = e[k];
            e[k++] = e[i];
            e[i] = t;
        }
    }
    for (size_t i = k; i < n; i++)
        free(e[i].body);
    c->offer = e;
    c->noffer = k;
}

void client_bind_epoch(client *c, const char *epoch)
{
    if (c->bound_epoch[0] && strcmp(c->bound_epoch, epoch) != 0) {
        /* Another market at this address now: what was for the old one is not sent here. */
        while (c->decs) {
            pending *p = c->decs;
            decision_outcome o = {0};
            if (p->req)
                p->maybe_sent = true; /* in flight: it may have reached the old market */
            no_answer(c, p, &o, "the server at this address now serves another market");
            deliver(c, p, &o);
        }
        /* The offer was the old market's: it stays in the journal for that market (not
         * settled), and the journal is read again for this one. */
        client_unanswered_keep(c);
        c->offered = false;
    }
    snprintf(c->bound_epoch, sizeof c->bound_epoch, "%s", epoch);
    look_at_journal(c);
}

void client_bind_operator(client *c, const char *name)
{
    snprintf(c->bound_operator, sizeof c->bound_operator, "%s", name ? name : "");
    look_at_journal(c);
}

int client_bind(client *c, const char *epoch, const char *operator_name)
{
    if (!epoch || !epoch[0] || !operator_name || !operator_name[0])
        return -1;
    client_bind_operator(c, operator_name);
    client_bind_epoch(c, epoch);
    return 0;
}

bool client_bound(const client *c)
{
    return c->bound_epoch[0] && c->bound_operator[0];
}

size_t client_unanswered(const client *c, char *summary, size_t size)
{
    if (summary && size) {
        summary[0] = '\0';
        size_t len = 0;
        for (size_t i = 0; i < c->noffer && len + 1 < size; i++) {
            const journal_entry *e = &c->offer[i];
            int n = snprintf(summary + len, size - len, "%s%s %s", i ? ", " : "", e->action,
                             e->subject[0] ? e->subject : "fleet");
            if (n < 0)
                break;
            len += (size_t)n;
        }
    }
    return c->noffer;
}

void client_unanswered_send(client *c, decision_cb cb, void *ud)
{
    for (size_t i = 0; i < c->noffer; i++) {
        journal_entry *e = &c->offer[i];
        int a = decision_action_from_name(e->action);
        char path[256];
        if (a < 0 || decision_path_of((decision_action)a, e->subject, path, sizeof path) < 0)
            continue;
        /* The same key: if the first attempt did reach the server, it answers that again.
         * Taken over first, so that another console does not offer it while this one runs
         * (best effort: at worst the key makes a second send harmless). */
        journal_take_over(c->j, e->key);
        pending *p =
            pending_add(c, e, decision_subject_kind((decision_action)a), path, e->body, cb, ud);
        if (p)
            p->maybe_sent = true;
        e->body = NULL;
    }
    journal_entries_free(c->offer, c->noffer);
    c->offer = NULL;
    c->noffer = 0;
}

void client_unanswered_discard(client *c)
{
    for (size_t i = 0; i < c->noffer; i++)
        journal_settle(c->j, c->offer[i].key, JOURNAL_ABANDONED);
    client_unanswered_keep(c);
}

void client_unanswered_keep(client *c)
{
    journal_entries_free(c->offer, c->noffer);
    c->offer = NULL;
    c->noffer = 0;
}

size_t client_unknown_outcomes(const client *c, char *summary, size_t size)
{
    size_t n = c->given_up, len = 0;
    if (summary && size)
        len = (size_t)snprintf(summary, size, "%s", c->given_up_list);
    for (const pending *p = c->decs; p; p = p->next) {
        if (!p->maybe_sent && !p->req)
            continue; /* not sent so far: settled as not sent at the end */
        n++;
        if (summary && len + 1 < size) {
            int k = snprintf(summary + len, size - len, "%s%s %s", n > 1 ? ", " : "", p->action,
                             p->subject[0] ? p->subject : "fleet");
            len += k > 0 ? (size_t)k : 0;
        }
    }
    return n;
}

void client_decisions_end(client *c)
{
    for (pending *p = c->decs; p; p = p->next) {
        if (!p->maybe_sent && !p->req)
            journal_settle(c->j, p->key, JOURNAL_NOT_SENT);
        else if (c->cfg->no_stream)
            journal_settle(c->j, p->key, JOURNAL_ABANDONED);
    }
    client_unanswered_keep(c);
}

/* Queues a refusal for the next client_run: nothing was journaled or sent. Returns its
 * id (0: out of memory, and nothing will be delivered). */
static uint64_t refuse(client *c, const decision_req *req, decision_cb cb, void *ud,
                       const char *msg)
{
    refusal *r = calloc(1, sizeof *r);
    if (!r)
        return 0;
    r->cb = cb;
    r->ud = ud;
    r->o.id = ++c->next_dec_id;
    r->o.delivery = DELIVERY_NOT_SENT;
    snprintf(r->o.action, sizeof r->o.action, "%s", decision_action_name(req->action));
    snprintf(r->o.subject, sizeof r->o.subject, "%s", req->subject_id);
    snprintf(r->o.message, sizeof r->o.message, "%s", msg);
    refusal **tail = &c->refused;
    while (*tail)
        tail = &(*tail)->next;
    *tail = r;
    return r->o.id;
}

void client_deliver_refusals(client *c)
{
    refusal *r = c->refused; /* those refused while delivering wait for the next run */
    c->refused = NULL;
    while (r) {
        refusal *next = r->next;
        if (r->cb)
            r->cb(r->ud, &r->o);
        free(r);
        r = next;
    }
}

void client_refusals_free(client *c)
{
    while (c->refused) {
        refusal *r = c->refused;
        c->refused = r->next;
        free(r);
    }
}

uint64_t client_decide(client *c, const decision_req *req, decision_cb cb, void *ud)
{
    char err[400], path[256], key[64];
    if (c->replay)
        return refuse(c, req, cb, ud, "a replay is read-only: nothing sent");
    if (c->cfg->read_only)
        return refuse(c, req, cb, ud, "read-only mode: nothing sent");
    if (!c->j)
        return refuse(c, req, cb, ud, "no decision journal (see the start-up error): nothing sent");
    if (decision_validate(req, err, sizeof err) < 0) {
        strncat(err, ": nothing sent", sizeof err - strlen(err) - 1);
        return refuse(c, req, cb, ud, err);
    }
    if (!client_bound(c)) {
        /* A decision is for a market and an operator: until both have been read, there
         * is nothing to bind it to (and nowhere it could safely go later). */
        if (c->bound_epoch[0] && !c->whoami)
            return refuse(c, req, cb, ud,
                          "not connected: nothing sent (the server did not say who you are: "
                          "GET /v1/whoami)");
        snprintf(err, sizeof err, "not connected: nothing sent%s%.200s%s",
                 c->s.last_error[0] ? " (" : "", c->s.last_error, c->s.last_error[0] ? ")" : "");
        return refuse(c, req, cb, ud, err);
    }
    if (decision_path(req, path, sizeof path) < 0 || journal_session_key(c->j, key, sizeof key) < 0)
        return refuse(c, req, cb, ud,
                      "cannot make the request (no secure random source?): nothing sent");
    char *body = json_decision_body(req);
    if (!body)
        return refuse(c, req, cb, ud, "out of memory: nothing sent");
    journal_entry e = {.at_ms = clock_wall_ms(), .version = req->if_match_version, .body = body};
    snprintf(e.key, sizeof e.key, "%s", key);
    snprintf(e.action, sizeof e.action, "%s", decision_action_name(req->action));
    snprintf(e.subject, sizeof e.subject, "%s", req->subject_id);
    snprintf(e.epoch, sizeof e.epoch, "%s", c->bound_epoch);
    snprintf(e.operator_name, sizeof e.operator_name, "%s", c->bound_operator);
    if (journal_append(c->j, &e) < 0) {
        snprintf(err, sizeof err, "cannot write the decision journal: %s: nothing sent",
                 strerror(errno));
        free(body);
        return refuse(c, req, cb, ud, err);
    }
    pending *p = pending_add(c, &e, decision_subject_kind(req->action), path, body, cb, ud);
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

void client_req_done(client *c, http_req *r, int64_t now)
{
    if (client_page_done(c, r) || client_backtest_done(c, r) || client_stats_done(c, r))
        return;
    pending *p = client_pending_of(c, r);
    fetch *f = p ? NULL : client_fetch_of(c, r);
    if (p)
        client_decision_done(c, p, r, now);
    else if (f)
        client_fetch_done(c, f, r);
    else
        http_req_free(r);
}

/* ---- claims (issue 16) ------------------------------------------------------------- */

int client_claim(client *c, const char *purchase_id)
{
    char path[160], url[1400], key[160], ife[96], id[80];
    if (c->replay || c->cfg->read_only || !client_bound(c) || !purchase_id[0] ||
        strlen(purchase_id) > 64 ||
        strspn(purchase_id, "abcdefghijklmnopqrstuvwxyz"
                            "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != strlen(purchase_id))
        return -1;
    snprintf(id, sizeof id, "%s", purchase_id);
    snprintf(path, sizeof path, "/v1/purchases/%s/claim", id);
    client_url_of(c, path, url, sizeof url);
    /* a claim is not a decision: a fresh key each time (a renewal is a new request) */
    snprintf(key, sizeof key, "Idempotency-Key: claim-%s-%08x%08x", id, client_rnd(0xffffffffu),
             client_rnd(0xffffffffu));
    snprintf(ife, sizeof ife, "If-Epoch: %s", c->bound_epoch);
    const char *hdrs[] = {key, ife, "Accept: application/json", NULL};
    /* tag 0: client_req_done frees the answer unread (the claim comes as claim.updated) */
    return http_start(c->h, "POST", url, c->cfg->token, hdrs, "{}", NULL, NULL, 10000L, 0) ? 0 : -1;
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
    long status = http_req_result(r)->status;
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
    if (!text_valid_id(negotiation_id, "neg_"))
        return -1;
    /* watched from now on, also in a replay (whose stream brings its messages) */
    bool was = store_thread_watched(c->st, negotiation_id);
    if (store_watch_thread(c->st, negotiation_id) < 0 || c->replay)
        return -1;
    for (fetch *f = c->fetches; f; f = f->next)
        if (!strcmp(f->neg, negotiation_id))
            return 0;
    const model_negotiation *n = store_negotiation(c->st, negotiation_id);
    if (was && n && n->nmessages >= (size_t)n->message_count)
        return 0; /* every message is here already */
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
