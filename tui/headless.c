/* headless.c: tail, snapshot, replay and the one-shot decisions (see headless.h). */
#include "tui/headless.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/client.h"
#include "api/http.h"
#include "api/json.h"
#include "api/money.h"

static int sig_pipe[2] = {-1, -1};
static volatile sig_atomic_t got_signal;

/* Signal handler: only records (and wakes the wait through the self-pipe). */
static void on_signal(int sig)
{
    int saved = errno;
    got_signal = sig;
    if (sig_pipe[1] >= 0) {
        ssize_t w = write(sig_pipe[1], "s", 1);
        (void)w;
    }
    errno = saved;
}

/* Installs the self-pipe and the handlers for SIGINT, SIGTERM and SIGHUP; ignores
 * SIGPIPE (a closed stdout is seen as a write error). Returns 0 or -1. */
static int signals_setup(void)
{
    if (sig_pipe[0] < 0) {
        if (pipe(sig_pipe) < 0)
            return -1;
        for (int i = 0; i < 2; i++) {
            fcntl(sig_pipe[i], F_SETFL, fcntl(sig_pipe[i], F_GETFL) | O_NONBLOCK);
            fcntl(sig_pipe[i], F_SETFD, FD_CLOEXEC);
        }
    }
    static const int stops[] = {SIGINT, SIGTERM, SIGHUP};
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++)
        sigaction(stops[i], &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

/* Prints "dealdesk: " and a message to stderr. */
static void errmsg(const char *what, const char *msg)
{
    fprintf(stderr, "dealdesk: %s%s%s\n", what, *what ? ": " : "", msg);
}

typedef struct printer {
    bool failed; /* stdout closed or full */
} printer;

/* The client's event hook: one line of ASCII JSON per event, as received when it needs
 * no escaping (json_print_event_decoded: the client calls the hook only for an event
 * json_decode_event accepted). Flushed by run_printing once per round, not per event. */
static void print_event(void *ud, int64_t seq, const char *type, const char *raw, size_t len)
{
    printer *p = ud;
    (void)seq;
    (void)type;
    if (p->failed)
        return;
    json_print_event_decoded(stdout, raw, len);
    if (ferror(stdout))
        p->failed = true;
}

/* A client on a new store (*st, owned by the caller with the client), or NULL after
 * the message. */
static client *open_client(config *cfg, store **st)
{
    char err[512];
    *st = store_new();
    client *c = *st ? client_new(cfg, *st, err, sizeof err) : NULL;
    if (!c) {
        errmsg("", *st ? err : "out of memory");
        store_free(*st);
        *st = NULL;
    }
    return c;
}

/* Runs a client until a signal, a closed stdout, authentication failure or (replay) the
 * end of the recording. Returns the exit code. */
static int run_printing(config *cfg)
{
    if (signals_setup() < 0) {
        errmsg("", "cannot set up signal handling");
        return 1;
    }
    store *st;
    client *c = open_client(cfg, &st);
    if (!c)
        return 1;
    printer pr = {0};
    client_set_event_hook(c, print_event, &pr);
    conn_state last = CONN_CONNECTING;
    char last_err[256] = "";
    uint64_t snapshots = 0;
    int rc = 0;
    while (!got_signal && !pr.failed) {
        unsigned ready = 0;
        client_wait(c, &sig_pipe[0], 1, 1000, &ready);
        if (ready & 1) {
            char b[16];
            while (read(sig_pipe[0], b, sizeof b) > 0)
                ;
        }
        client_run(c);
        /* what this round applied goes out now: a reader sees each event within a round */
        if (fflush(stdout) != 0 || ferror(stdout))
            pr.failed = true;
        client_status s;
        client_status_get(c, &s);
        /* Connection changes to stderr (stdout holds only events). */
        if ((s.state != last || strcmp(s.last_error, last_err) != 0) && s.last_error[0] &&
            s.state != CONN_LIVE)
            fprintf(stderr, "dealdesk: %s: %s\n", client_state_name(s.state), s.last_error);
        /* A fresh snapshot in the middle of a tail means events were not seen one by one:
         * say so, since a reader of the output would otherwise miss the jump. */
        if (s.snapshots > snapshots && (snapshots > 0 || cfg->stream_after >= 0))
            fprintf(stderr, "dealdesk: re-synced from a snapshot at seq %lld (%s)\n",
                    (long long)s.seq, s.last_error);
        snapshots = s.snapshots;
        last = s.state;
        snprintf(last_err, sizeof last_err, "%s", s.last_error);
        if (s.auth_failed) {
            rc = 1;
            break;
        }
        if (s.state == CONN_OFFLINE && cfg->replay_file[0])
            break;
    }
    client_status s;
    client_status_get(c, &s);
    if (s.errors_decode)
        fprintf(stderr, "dealdesk: %llu events rejected as outside the contract\n",
                (unsigned long long)s.errors_decode);
    if (s.replay && s.state == CONN_OFFLINE) /* the end, as the console's header says it */
        fprintf(stderr, "dealdesk: replay finished: event %llu/%llu\n",
                (unsigned long long)s.replay_played, (unsigned long long)s.replay_total);
    client_free(c);
    store_free(st);
    return rc;
}

int headless_tail(config *cfg)
{
    return run_printing(cfg);
}

int headless_replay(config *cfg)
{
    return run_printing(cfg);
}

/* Reads one page of a list for the snapshot command (json_page_fn). */
static int snapshot_page(void *ud, const char *path, const char *after, char **body, size_t *len,
                         char *err, size_t errsz)
{
    const config *cfg = *(const config **)ud;
    char url[2600], enc[800];
    http_url_encode(after, enc, sizeof enc);
    snprintf(url, sizeof url, "%s/v1/%s?limit=1000%s%s", cfg->url, path, enc[0] ? "&after=" : "",
             enc);
    long status;
    char m[256];
    if (http_request_sync("GET", url, cfg->token, NULL, 60000L, &status, body, len, m, sizeof m) <
        0) {
        snprintf(err, errsz, "%s: %s", path, m);
        return -1;
    }
    if (status == 200)
        return 0;
    decision_outcome o = {.http_status = (int)status};
    json_decode_outcome(*body, *len, MODEL_KIND_COUNT, cfg->mode, &o);
    snprintf(err, errsz, "%s: HTTP %ld %s: %.200s", path, status, o.error_code, o.message);
    free(*body);
    *body = NULL;
    return -1;
}

/* `dealdesk snapshot`: the whole state as one line of JSON (docs/dealdesk.1): the
 * snapshot (GET /v1/snapshot: the working set, issue 14) with each list of history read
 * whole from the server page by page and printed as it comes (json_print_state), so
 * that a market of any size prints in the memory of one page. */
int headless_snapshot(const config *cfg)
{
    char url[1200], err[512];
    snprintf(url, sizeof url, "%s/v1/snapshot", cfg->url);
    long status;
    char *body;
    size_t len;
    if (http_request_sync("GET", url, cfg->token, NULL, 60000L, &status, &body, &len, err,
                          sizeof err) < 0) {
        errmsg("snapshot", err);
        return 1;
    }
    int rc = 1;
    if (status != 200) {
        decision_outcome o = {.http_status = (int)status};
        json_decode_outcome(body, len, MODEL_KIND_COUNT, cfg->mode, &o);
        fprintf(stderr, "dealdesk: snapshot: HTTP %ld %s: %s\n", status, o.error_code, o.message);
        goto out;
    }
    store *st = store_new();
    uint64_t rejected = 0;
    if (!st ||
        json_decode_snapshot(body, len, cfg->mode, st, &rejected, err, sizeof err) != JSON_OK) {
        errmsg("snapshot rejected", st ? err : "out of memory");
        store_free(st);
        goto out;
    }
    store_free(st);
    signal(SIGPIPE, SIG_IGN);
    uint64_t paged = 0; /* objects of the lists outside the contract */
    const config *ud = cfg;
    if (json_print_state(stdout, body, len, cfg->mode, snapshot_page, &ud, &paged, err,
                         sizeof err) == 0 &&
        fflush(stdout) == 0)
        rc = 0;
    else if (err[0])
        fprintf(stderr, "dealdesk: snapshot: %s: the output is incomplete\n", err);
    if (rejected + paged)
        fprintf(stderr, "dealdesk: snapshot: %llu objects outside the contract\n",
                (unsigned long long)(rejected + paged));
out:
    free(body);
    return rc;
}

/* Where a decision's answer is kept until the loop sees it. */
typedef struct answer {
    bool done;
    decision_outcome o;
    char summary[256];
} answer;

/* A one-line description of the server's current object (409/412): its kind, id,
 * version and state. */
static void describe_current(const decision_outcome *o, char *out, size_t size)
{
    const model_event *e = &o->current;
    const char *id, *state;
    int64_t version;
    switch (e->kind) {
        case MODEL_PURCHASE:
            id = e->u.purchase.id;
            version = e->u.purchase.version;
            state = model_purchase_status_label(&e->u.purchase);
            break;
        case MODEL_NEGOTIATION:
            id = e->u.negotiation.id;
            version = e->u.negotiation.version;
            state = model_neg_status_label(&e->u.negotiation);
            break;
        case MODEL_AGENT:
            id = e->u.agent.id;
            version = e->u.agent.version;
            state = model_agent_status_label(&e->u.agent);
            break;
        case MODEL_ALERT:
            id = e->u.alert.id;
            version = e->u.alert.version;
            state = model_alert_status_label(&e->u.alert);
            break;
        case MODEL_DISPUTE:
            id = e->u.dispute.id;
            version = e->u.dispute.version;
            state = model_dispute_status_label(&e->u.dispute);
            break;
        default: out[0] = '\0'; return;
    }
    char kind[16]; /* "purchase" of "purchase.updated" */
    snprintf(kind, sizeof kind, "%.*s", (int)strcspn(model_kind_event_type(e->kind), "."),
             model_kind_event_type(e->kind));
    snprintf(out, size, "%s %s is now version %lld, %s", kind, id, (long long)version, state);
}

/* The decision callback: keeps the outcome for the loop. */
static void on_answer(void *ud, const decision_outcome *o)
{
    answer *a = ud;
    a->done = true;
    a->o = *o;
    a->o.has_current = false; /* the object itself stays with the client */
    memset(&a->o.current, 0, sizeof a->o.current);
    if (o->has_current)
        describe_current(o, a->summary, sizeof a->summary);
}

/* GETs path from the server, trying again a few times with a growing pause (0.25 s to
 * 2 s) on a transport error or a 503 (nothing is sent by a GET); an untrusted certificate
 * never. Returns 0 with *status and *body (owned), or -1 with a message in err. */
static int get_retrying(const config *cfg, const char *path, long *status, char **body, size_t *len,
                        char *err, size_t errsz)
{
    char url[1400];
    snprintf(url, sizeof url, "%s%s", cfg->url, path);
    for (int attempt = 0;; attempt++) {
        int rc =
            http_request_sync("GET", url, cfg->token, NULL, 30000L, status, body, len, err, errsz);
        bool again = rc == -1 || (rc == 0 && *status == 503);
        if (!again || attempt == 4)
            return rc < 0 ? -1 : 0;
        free(*body);
        *body = NULL;
        struct timespec pause = {0, 250000000L << attempt};
        if (attempt >= 2)
            pause = (struct timespec){1 << (attempt - 2), 0};
        nanosleep(&pause, NULL);
    }
}

/* Reads the market's epoch (GET /v1/health). Returns 0, or -1 with the reason in err. */
static int read_epoch(const config *cfg, char *epoch, size_t epochsz, char *err, size_t errsz)
{
    long status = 0;
    char *body = NULL;
    size_t len = 0;
    int64_t seq;
    if (get_retrying(cfg, "/v1/health", &status, &body, &len, err, errsz) < 0)
        return -1;
    int rc = status == 200 && json_decode_reset(body, len, epoch, epochsz, &seq, NULL, 0) == JSON_OK
                 ? 0
                 : -1;
    free(body);
    if (rc < 0)
        snprintf(err, errsz, "the server did not say which market it is (GET /v1/health: %ld)",
                 status);
    return rc;
}

/* Reads what a one-shot decision is bound to: the market's epoch (GET /v1/health) and the
 * operator's name (GET /v1/whoami), as the console reads them from its snapshot and
 * whoami. Returns 0, or -1 with the reason in err. */
static int read_binding(const config *cfg, char *epoch, size_t epochsz, char *name, size_t namesz,
                        char *err, size_t errsz)
{
    long status = 0;
    char *body = NULL, role[16];
    size_t len = 0;
    if (read_epoch(cfg, epoch, epochsz, err, errsz) < 0)
        return -1;
    if (get_retrying(cfg, "/v1/whoami", &status, &body, &len, err, errsz) < 0)
        return -1;
    name[0] = '\0';
    if (status == 200)
        json_decode_whoami(body, len, cfg->mode, name, namesz, role, sizeof role);
    if (status == 401 || status == 403) {
        decision_outcome o = {0};
        json_decode_outcome(body, len, MODEL_KIND_COUNT, cfg->mode, &o);
        snprintf(err, errsz, "%ld %.300s", status, o.message);
    } else if (!name[0]) {
        snprintf(err, errsz, "the server did not say who you are (GET /v1/whoami: %ld)", status);
    }
    free(body);
    return name[0] ? 0 : -1;
}

/* Fetches the subject of a decision for its version (and, for approve, total and
 * currency); the fleet's for a halt or resume. Returns 0, or the exit code. */
static int fetch_subject(const config *cfg, decision_req *req, int64_t *total, char currency[4])
{
    static const char *const coll[] = {[MODEL_AGENT] = "agents",
                                       [MODEL_PURCHASE] = "purchases",
                                       [MODEL_NEGOTIATION] = "negotiations",
                                       [MODEL_ALERT] = "alerts",
                                       [MODEL_DISPUTE] = "disputes"};
    model_kind kind = decision_subject_kind(req->action);
    char path[200], err[512];
    const char *name = kind == MODEL_FLEET ? "fleet" : req->subject_id;
    if (kind == MODEL_FLEET)
        snprintf(path, sizeof path, "/v1/fleet");
    else
        snprintf(path, sizeof path, "/v1/%s/%s", coll[kind], req->subject_id);
    long status = 0;
    char *body = NULL;
    size_t len = 0;
    if (get_retrying(cfg, path, &status, &body, &len, err, sizeof err) < 0) {
        errmsg(name, err);
        return 1;
    }
    if (status != 200) {
        decision_outcome o = {0};
        json_decode_outcome(body, len, MODEL_KIND_COUNT, cfg->mode, &o);
        fprintf(stderr, "dealdesk: %s: HTTP %ld %s: %s\n", name, status, o.error_code, o.message);
        free(body);
        return 1;
    }
    model_event ev;
    json_result r = json_decode_object(kind, body, len, cfg->mode, &ev, err, sizeof err);
    free(body);
    if (r != JSON_OK) {
        errmsg(name, err);
        return 1;
    }
    switch (kind) {
        case MODEL_PURCHASE:
            req->if_match_version = ev.u.purchase.version;
            *total = ev.u.purchase.total_minor;
            memcpy(currency, ev.u.purchase.currency, 4);
            break;
        case MODEL_NEGOTIATION:
            req->if_match_version = ev.u.negotiation.version;
            memcpy(currency, ev.u.negotiation.currency, 4);
            break;
        case MODEL_AGENT: req->if_match_version = ev.u.agent.version; break;
        case MODEL_ALERT: req->if_match_version = ev.u.alert.version; break;
        case MODEL_DISPUTE:
            req->if_match_version = ev.u.dispute.version;
            memcpy(currency, ev.u.dispute.currency, 4);
            break;
        case MODEL_FLEET: req->if_match_version = ev.u.fleet.version; break;
        default: break;
    }
    model_event_free(&ev);
    return 0;
}

/* The subject of a decision as the messages name it. */
static const char *subject_name(const decision_req *req)
{
    return req->subject_id[0] ? req->subject_id : "fleet";
}

/* Parses an amount given with flag in the subject's currency. Returns 0, or 2 after the
 * message. */
static int parse_amount(const char *flag, const char *text, const char *currency, int64_t *out)
{
    money_err me = money_parse(text, currency, out);
    if (me == MONEY_OK)
        return 0;
    fprintf(stderr, "dealdesk: %s %s: %s\n", flag, text, money_strerror(me));
    return 2;
}

/* Completes a decision from the command line: the subject's version (for approve also its
 * total, and the currency) fetched when not given, the amounts parsed, the whole checked.
 * *total_from_server says approve took the fetched total. Returns 0 or the exit code. */
static int prepare(const config *cfg, decision_req *req, const char *total_text,
                   const char *max_price_text, char currency[4], bool *total_from_server)
{
    int64_t total = -1;
    bool need_fetch = req->if_match_version == 0 ||
                      (req->action == DEC_APPROVE && req->expected_total_minor < 0) ||
                      (req->action == DEC_APPROVE && total_text) || max_price_text;
    if (need_fetch) {
        int64_t v = req->if_match_version;
        int rc = fetch_subject(cfg, req, &total, currency);
        if (rc)
            return rc;
        if (v)
            req->if_match_version = v; /* an explicit --if-match wins */
    }
    *total_from_server = false;
    if (req->action == DEC_APPROVE && total_text) {
        if (parse_amount("--total", total_text, currency, &req->expected_total_minor))
            return 2;
    } else if (req->action == DEC_APPROVE && req->expected_total_minor < 0) {
        req->expected_total_minor = total;
        *total_from_server = true;
    }
    bool resolve = req->action == DEC_RESOLVE; /* its amount: --amount, in the dispute's currency */
    if (max_price_text &&
        parse_amount(resolve ? "--amount" : "--max-price", max_price_text, currency,
                     resolve ? &req->amount_minor : &req->max_unit_price_minor))
        return 2;
    char err[512];
    if (decision_validate(req, err, sizeof err) < 0) {
        errmsg(decision_action_name(req->action), err);
        return 2;
    }
    return 0;
}

/* Says what came of a decision: "ok ..." on stdout, or the refusal (and what the subject
 * is now) on stderr. Returns the exit code. */
static int report(const decision_req *req, const answer *a, uint64_t id, bool total_from_server,
                  const char *currency)
{
    const char *action = decision_action_name(req->action);
    if (a->o.ok && total_from_server) {
        char buf[64];
        money_format(buf, sizeof buf, req->expected_total_minor, currency, MONEY_FMT_CODE);
        fprintf(stderr, "dealdesk: approved %s at its current total %s (version %lld)\n",
                req->subject_id, buf, (long long)req->if_match_version);
    }
    if (a->o.ok) {
        printf("ok %s %s %d%s\n", action, subject_name(req), a->o.http_status,
               a->o.replayed ? " replayed" : "");
        return 0;
    }
    if (a->o.http_status == 0) {
        fprintf(stderr, "dealdesk: %s %s: %s\n", action, req->subject_id, a->o.message);
        return id ? 1 : 2;
    }
    fprintf(stderr, "dealdesk: %s %s: %d %s: %s\n", action, subject_name(req), a->o.http_status,
            a->o.error_code, a->o.message);
    if (a->summary[0])
        fprintf(stderr, "dealdesk: %s\n", a->summary);
    return 1;
}

/* Reads the binding, then completes the decision (prepare: the subject's version and
 * total are read from the server), then reads the market's epoch again: the version and
 * total are bound to the market they were read from (a market served at the URL in
 * between is refused here, and any later by If-Epoch, api/client_req.c). Returns 0 or the
 * exit code. */
static int bind_and_prepare(config *cfg, decision_req *req, const char *total_text,
                            const char *max_price_text, char currency[4], bool *total_from_server,
                            char epoch[65], char name[65])
{
    char err[512], again[65];
    const char *what = decision_action_name(req->action);
    if (read_binding(cfg, epoch, 65, name, 65, err, sizeof err) < 0) {
        fprintf(stderr, "dealdesk: %s %s: not connected (%s): nothing sent\n", what,
                subject_name(req), err);
        return 1;
    }
    int rc = prepare(cfg, req, total_text, max_price_text, currency, total_from_server);
    if (rc)
        return rc;
    if (read_epoch(cfg, again, sizeof again, err, sizeof err) < 0) {
        fprintf(stderr, "dealdesk: %s %s: not connected (%s): nothing sent\n", what,
                subject_name(req), err);
        return 1;
    }
    if (strcmp(again, epoch) != 0) {
        fprintf(stderr,
                "dealdesk: %s %s: the market at %s changed while the decision was prepared "
                "(market %s, now %s): nothing sent\n",
                what, subject_name(req), cfg->url, epoch, again);
        return 1;
    }
    return 0;
}

int headless_decide(config *cfg, decision_req *req, const char *total_text,
                    const char *max_price_text)
{
    char currency[4] = "", epoch[65], name[65];
    bool total_from_server;
    int rc = bind_and_prepare(cfg, req, total_text, max_price_text, currency, &total_from_server,
                              epoch, name);
    if (rc)
        return rc;
    if (signals_setup() < 0) /* from here on a signal ends the wait, not the process */
        return 1;
    cfg->no_stream = true;
    store *st;
    client *c = open_client(cfg, &st);
    if (!c)
        return 1;
    client_bind(c, epoch, name);
    answer a = {0};
    uint64_t id = client_decide(c, req, on_answer, &a);
    while (id && !a.done && !got_signal) {
        unsigned ready = 0;
        client_wait(c, &sig_pipe[0], 1, 1000, &ready);
        client_run(c);
    }
    /* Interrupted: a one-shot command leaves nothing to be sent later (client_free settles
     * it: not sent, or abandoned with its outcome unknown). */
    bool maybe_sent = !a.done && client_unknown_outcomes(c, NULL, 0) > 0;
    client_free(c);
    store_free(st);
    if (!a.done) {
        fprintf(stderr, "dealdesk: %s %s: interrupted before the answer came: %s\n",
                decision_action_name(req->action), subject_name(req),
                maybe_sent ? "the outcome is unknown (it may have reached the server); it will not "
                             "be sent again"
                           : "nothing sent");
        return 1;
    }
    return report(req, &a, id, total_from_server, currency);
}

/* One id of `dealdesk approve|veto PUR…` (headless_decide_many). */
typedef struct batch_one {
    decision_req req;
    char currency[4];
    bool from_server; /* approve at the total read from the server */
    bool unread;      /* the purchase could not be read (stderr says why): not sent */
    uint64_t id;      /* client_decide's */
    answer a;
} batch_one;

/* Reads each purchase (its version; for approve its total and currency) and parses the
 * totals the caller gave. Returns 0, or 2 after the message (a bad amount: nothing is
 * sent at all). */
static int batch_prepare(const config *cfg, batch_one *b, const char *const *totals, int n)
{
    for (int i = 0; i < n; i++) {
        int64_t total = -1;
        if (fetch_subject(cfg, &b[i].req, &total, b[i].currency)) {
            b[i].unread = true;
            continue;
        }
        if (b[i].req.action != DEC_APPROVE)
            continue;
        char flag[100];
        snprintf(flag, sizeof flag, "%s=", b[i].req.subject_id);
        if (totals[i] &&
            parse_amount(flag, totals[i], b[i].currency, &b[i].req.expected_total_minor))
            return 2;
        if (!totals[i]) {
            b[i].req.expected_total_minor = total;
            b[i].from_server = true;
        }
    }
    for (int i = 0; i < n; i++) {
        char err[512];
        if (!b[i].unread && decision_validate(&b[i].req, err, sizeof err) < 0) {
            errmsg(decision_action_name(b[i].req.action), err);
            return 2;
        }
    }
    return 0;
}

/* Sends every prepared decision on one client and waits for all the answers (or a
 * signal). Returns 0, or 1 when no client could be opened. */
static int batch_send(config *cfg, batch_one *b, int n, const char *epoch, const char *name)
{
    if (signals_setup() < 0)
        return 1;
    cfg->no_stream = true;
    store *st;
    client *c = open_client(cfg, &st);
    if (!c)
        return 1;
    client_bind(c, epoch, name);
    for (int i = 0; i < n; i++)
        if (!b[i].unread)
            b[i].id = client_decide(c, &b[i].req, on_answer, &b[i].a);
    for (;;) {
        bool all = true;
        for (int i = 0; i < n; i++)
            all &= b[i].unread || !b[i].id || b[i].a.done;
        if (all || got_signal)
            break;
        unsigned ready = 0;
        client_wait(c, &sig_pipe[0], 1, 1000, &ready);
        client_run(c);
    }
    client_free(c); /* an unanswered one is settled: not sent, or abandoned */
    store_free(st);
    return 0;
}

/* One line on stdout for each id, in the order given: "ok approve pur_1 200", "refused
 * approve pur_2 412 version_mismatch: …", "failed …" or "unknown …". True when ok. */
static bool batch_line(const batch_one *b)
{
    const char *action = decision_action_name(b->req.action), *id = b->req.subject_id;
    if (b->unread)
        printf("failed %s %s: not read, nothing sent\n", action, id);
    else if (!b->id || !b->a.done)
        printf("unknown %s %s: %s\n", action, id,
               b->id ? "interrupted before the answer came; it will not be sent again"
                     : "out of memory: nothing sent");
    else if (b->a.o.ok)
        printf("ok %s %s %d%s\n", action, id, b->a.o.http_status,
               b->a.o.replayed ? " replayed" : "");
    else if (b->a.o.http_status == 0)
        printf("failed %s %s: %s\n", action, id, b->a.o.message);
    else
        printf("refused %s %s %d %s: %s%s%s\n", action, id, b->a.o.http_status, b->a.o.error_code,
               b->a.o.message, b->a.summary[0] ? "; " : "", b->a.summary);
    return !b->unread && b->id && b->a.done && b->a.o.ok;
}

int headless_decide_many(config *cfg, decision_action action, const char *const *ids,
                         const char *const *totals, int n, const char *reason)
{
    batch_one *b = calloc((size_t)n, sizeof *b);
    if (!b) {
        errmsg("", "out of memory");
        return 1;
    }
    const char *what = decision_action_name(action);
    char epoch[65], name[65], again[65], err[512];
    int rc = 0;
    for (int i = 0; i < n; i++) {
        decision_req_init(&b[i].req, action, ids[i]);
        snprintf(b[i].req.reason, sizeof b[i].req.reason, "%s", reason ? reason : "");
    }
    if (read_binding(cfg, epoch, sizeof epoch, name, sizeof name, err, sizeof err) < 0) {
        fprintf(stderr, "dealdesk: %s: not connected (%s): nothing sent\n", what, err);
        rc = 1;
    }
    if (!rc)
        rc = batch_prepare(cfg, b, totals, n);
    for (int i = 0; !rc && i < n; i++) /* what an id without a total is approved at: first */
        if (b[i].from_server) {
            char money[64];
            money_format(money, sizeof money, b[i].req.expected_total_minor, b[i].currency,
                         MONEY_FMT_CODE);
            fprintf(stderr, "dealdesk: approving %s at its current total %s (version %lld)\n",
                    ids[i], money, (long long)b[i].req.if_match_version);
        }
    if (!rc &&
        (read_epoch(cfg, again, sizeof again, err, sizeof err) < 0 || strcmp(again, epoch))) {
        fprintf(stderr, "dealdesk: %s: the market at %s changed or cannot be read: nothing sent\n",
                what, cfg->url);
        rc = 1;
    }
    if (!rc)
        rc = batch_send(cfg, b, n, epoch, name);
    if (!rc) {
        for (int i = 0; i < n; i++)
            if (!batch_line(&b[i]))
                rc = 1;
        if (fflush(stdout) != 0)
            rc = 1;
    }
    free(b);
    return rc;
}
