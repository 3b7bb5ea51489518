/* client.c: the connection state machine (see client.h).
 *
 * Everything arrives as an "item" on one queue: the event stream's events (queued by the
 * SSE parser from inside libcurl's write callback, which does nothing else), snapshot
 * answers, and a replay file's events. client_run() drains the queue in order, so a
 * snapshot and the events after it are applied by the same code whether they came from
 * a server or a file.
 */
#include "api/client_int.h"

#ifdef __GLIBC__
#include <malloc.h> /* malloc_trim */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/json.h"

/* Empties the apply queue. */
static void queue_clear(client *c)
{
    while (c->qhead) {
        item *it = c->qhead;
        c->qhead = it->next;
        client_item_free(it);
    }
    c->qtail = NULL;
    c->qlen = 0;
    c->qbytes = 0;
}

/* The SSE parser's callback (inside libcurl's write callback): only queues. */
static void on_sse_event(void *ud, const sse_event *ev)
{
    client *c = ud;
    if (c->qlen >= QUEUE_MAX || c->qbytes + ev->datalen > QUEUE_MAX_BYTES) {
        c->overflow = true;
        return;
    }
    item *it = client_item_new(ev->type, ev->data, ev->datalen, ev->id);
    if (!it) {
        c->overflow = true;
        return;
    }
    client_enqueue(c, it);
}

/* The stream transfer's data callback: bytes to the parser, nothing else. */
static void on_stream_data(void *ud, const char *buf, size_t n)
{
    client *c = ud;
    if (sse_feed(c->sse, buf, n) < 0)
        c->overflow = true;
}

/* ---- the stream state machine -------------------------------------------------------- */

/* Notes why the connection is not live; a live stream lost now makes what the store
 * holds stale from this moment (the header marks it). */
static void set_down(client *c, conn_reason why)
{
    if (!c->replay && (c->s.state == CONN_LIVE || (!c->s.stale_since_ms && c->s.snapshots)))
        c->s.stale_since_ms = clock_wall_ms();
    c->s.reason = why;
}

/* The reason for a transfer that got no HTTP answer. */
static conn_reason transport_reason(const http_req *r)
{
    switch (http_req_result(r)->failure) {
        case HTTP_FAIL_REFUSED: return CONN_REASON_REFUSED;
        case HTTP_FAIL_UNREACHABLE: return CONN_REASON_UNREACHABLE;
        case HTTP_FAIL_DNS: return CONN_REASON_DNS;
        case HTTP_FAIL_TLS: return CONN_REASON_TLS;
        case HTTP_FAIL_TIMEOUT: return CONN_REASON_TIMEOUT;
        case HTTP_FAIL_NONE:
        case HTTP_FAIL_OTHER: break;
    }
    return CONN_REASON_OTHER;
}

/* Stops on a refused token: 401/403 on the snapshot or the stream (no retry). */
static void auth_refused(client *c, long status, const char *body, size_t len)
{
    set_down(c, status == 401 ? CONN_REASON_UNAUTHORIZED : CONN_REASON_FORBIDDEN);
    c->s.auth_failed = true;
    c->s.http_status = (int)status;
    client_safe_msg(c, status == 401 ? "401 unauthorized: " : "403 forbidden: ", body, len);
    c->ph = PH_IDLE;
    c->s.state = CONN_OFFLINE;
}

/* With several URLs (instances of one market, cfg->urls): a failure of the one in use
 * (nothing listening, a transport error, the stream closed or stalled, a 5xx, another
 * market there) moves to the next one, which the stream then resumes on from the last
 * seq applied (start_stream: Last-Event-ID). A re-sync on the same server does not move.
 * Returns true when it moved. */
static bool next_url(client *c)
{
    conn_reason why = c->s.reason;
    bool moves = why != CONN_REASON_RESYNC && why != CONN_REASON_NONE &&
                 (why != CONN_REASON_HTTP || c->s.http_status >= 500);
    if (c->cfg->nurls < 2 || !moves)
        return false;
    c->url_i = (c->url_i + 1) % c->cfg->nurls;
    http_url_hostport(client_base(c), c->s.server, sizeof c->s.server);
    return true;
}

/* Schedules the next connection attempt after a backoff with jitter: the server's retry
 * (or 1 s) doubled per consecutive failure, within [0.5 s, 60 s], then a random point in
 * its upper half so that many clients do not reconnect in step. With several URLs the
 * backoff counts rounds of them: a move to a URL not yet tried in this round is at
 * once. */
static void schedule_retry(client *c, int64_t now)
{
    int n = c->cfg->nurls > 1 ? c->cfg->nurls : 1;
    if (next_url(c) && (c->attempt + 1) % n != 0) {
        c->attempt++;
        c->retry_at = now;
        c->ph = PH_WAIT;
        c->s.state =
            (c->s.snapshots || c->cfg->stream_after >= 0) ? CONN_RECONNECTING : CONN_CONNECTING;
        return;
    }
    int64_t base = sse_retry_ms(c->sse);
    if (base < 0)
        base = RETRY_DEFAULT_MS;
    if (base < RETRY_MIN_MS)
        base = RETRY_MIN_MS;
    if (base > RETRY_MAX_MS)
        base = RETRY_MAX_MS;
    int64_t d = base;
    for (int i = 0; i < c->attempt / n && d < RETRY_MAX_MS; i++)
        d *= 2;
    if (d > RETRY_MAX_MS)
        d = RETRY_MAX_MS;
    d = d / 2 + client_rnd((uint32_t)(d / 2) + 1);
    if (d < RETRY_MIN_MS)
        d = RETRY_MIN_MS;
    c->attempt++;
    c->retry_at = now + d;
    c->ph = PH_WAIT;
    if (c->s.reason == CONN_REASON_NONE)
        set_down(c, CONN_REASON_OTHER); /* callers that know better set it first */
    c->s.state =
        (c->s.snapshots || c->cfg->stream_after >= 0) ? CONN_RECONNECTING : CONN_CONNECTING;
}

/* Closes the stream and the snapshot request, if open. */
static void close_transfers(client *c)
{
    if (c->stream)
        http_cancel(c->h, c->stream);
    if (c->snap)
        http_cancel(c->h, c->snap);
    c->stream = c->snap = NULL;
    if (c->snap_held) /* answered already: only freed */
        http_req_free(c->snap_held);
    c->snap_held = NULL;
}

/* Asks the server who we are, unless it has answered or is being asked. Asked again at
 * every snapshot and stream start until it answers: a console started before its server
 * would otherwise never learn its operator, and a decision is bound to the market and the
 * operator (client_req.c). */
static void ask_whoami(client *c)
{
    if (c->whoami_answered || c->whoami)
        return;
    char url[1200];
    client_url_of(c, "/v1/whoami", url, sizeof url);
    c->whoami = http_start(c->h, "GET", url, c->cfg->token, NULL, NULL, NULL, NULL, 10000L, 0);
}

const char *client_base(const client *c)
{
    return c->cfg->nurls > 1 ? c->cfg->urls[c->url_i] : c->cfg->url;
}

/* Builds base + path into out. */
void client_url_of(const client *c, const char *path, char *out, size_t size)
{
    snprintf(out, size, "%s%s", client_base(c), path);
}

/* A transfer of the connection could not start: tries again after the backoff. */
static void start_failed(client *c, const char *msg, int64_t now)
{
    client_set_error(c, msg);
    set_down(c, CONN_REASON_OTHER);
    schedule_retry(c, now);
}

/* Starts the snapshot request. */
static void start_snapshot(client *c, int64_t now)
{
    char url[1200];
    ask_whoami(c);
    if (c->snap_held) { /* superseded by this one */
        http_req_free(c->snap_held);
        c->snap_held = NULL;
    }
    /* a console asks for the working set with most open threads read after it
     * (client_backfill.c); a recording keeps the whole one (a replay reads no pages) */
    char path[64] = "/v1/snapshot";
    if (c->cfg->console && !c->rec)
        snprintf(path, sizeof path, "/v1/snapshot?open_threads=%d",
                 c->cfg->open_threads > 0 ? c->cfg->open_threads : CLIENT_OPEN_THREADS);
    client_url_of(c, path, url, sizeof url);
    const char *hdrs[] = {"Accept: application/json", NULL};
    c->snap = http_start(c->h, "GET", url, c->cfg->token, hdrs, NULL, NULL, NULL, 60000L, 0);
    if (!c->snap) {
        start_failed(c, "cannot start the snapshot request", now);
        return;
    }
    c->ph = PH_SNAPSHOT;
}

/* Opens the event stream after the store's position, with Last-Event-ID. */
static void start_stream(client *c, int64_t now)
{
    char url[1200], path[96], lei[128];
    ask_whoami(c);
    snprintf(path, sizeof path, "/v1/events?after=%lld%s", (long long)store_seq(c->st),
             c->cfg->console ? "&console=1" : "");
    client_url_of(c, path, url, sizeof url);
    const char *hdrs[4] = {"Accept: text/event-stream", "Cache-Control: no-cache", NULL, NULL};
    if (store_epoch(c->st)[0]) {
        snprintf(lei, sizeof lei, "Last-Event-ID: %s:%lld", store_epoch(c->st),
                 (long long)store_seq(c->st));
        hdrs[2] = lei;
    }
    sse_reset(c->sse);
    c->stream = http_start(c->h, "GET", url, c->cfg->token, hdrs, NULL, on_stream_data, c, 0L, 0);
    if (!c->stream) {
        start_failed(c, "cannot start the event stream", now);
        return;
    }
    c->ph = PH_STREAM;
    c->seen_bytes = 0;
    c->last_bytes_ms = now;
    c->stream_got_event = false;
}

/* Drops the stream and takes a fresh snapshot (a gap, a reset, an epoch change). The
 * first re-sync is immediate; one within 2 s of the last snapshot backs off, so that a
 * confused server cannot make the client loop. */
static void resync(client *c, int64_t now, const char *why)
{
    close_transfers(c);
    client_backfill_stop(c);
    queue_clear(c);
    c->need_snapshot = true;
    client_history_forget(c, MODEL_KIND_COUNT); /* pages of the market as it was */
    client_set_error(c, why);
    if (c->replay)
        return;
    set_down(c, CONN_REASON_RESYNC);
    if (now - c->last_snapshot_ms < 2000) {
        schedule_retry(c, now);
    } else {
        c->ph = PH_WAIT;
        c->retry_at = now;
    }
}

/* Handles a transfer of the connection (what: "stream", "snapshot") that brought no
 * usable answer: a refused token stops the retries (auth_refused); otherwise the reason
 * is recorded, the transport's or the server's message (sanitised). Returns false when
 * the token was refused. */
static bool transfer_failed(client *c, http_req *r, const char *what)
{
    long status = http_req_result(r)->status;
    size_t len;
    const char *body = http_req_body(r, &len);
    char m[256];
    if (status == 401 || status == 403) {
        auth_refused(c, status, body, len);
        return false;
    }
    if (status == 0) {
        snprintf(m, sizeof m, "%s: %.230s", what, http_req_result(r)->error);
        set_down(c, transport_reason(r));
        client_set_error(c, m);
    } else {
        set_down(c, CONN_REASON_HTTP);
        c->s.http_status = (int)status;
        snprintf(m, sizeof m, "%s: HTTP %ld: ", what, status);
        client_safe_msg(c, m, body, len);
    }
    return true;
}

/* Handles the end of the stream transfer. */
static void stream_done(client *c, http_req *r, int64_t now)
{
    long status = http_req_result(r)->status;
    if (status >= 200 && status < 300) {
        set_down(c, CONN_REASON_CLOSED);
        client_set_error(c, "the stream closed");
    } else if (!transfer_failed(c, r, "stream")) {
        return;
    }
    if (c->stream_got_event)
        c->attempt = 0;
    schedule_retry(c, now);
}

/* Handles the snapshot answer: queues it (applied in order with the stream's items). */
static void snapshot_done(client *c, http_req *r, int64_t now)
{
    if (http_req_result(r)->status == 200) {
        size_t len;
        const char *body = http_req_body(r, &len);
        item *it = client_item_new("snapshot", body, len, "");
        if (it) {
            client_enqueue(c, it);
            return;
        }
        client_set_error(c, "out of memory for the snapshot");
    } else if (!transfer_failed(c, r, "snapshot")) {
        return;
    }
    schedule_retry(c, now);
}

/* Handles GET /v1/whoami: a server without it (404) leaves the role "unknown". */
static void whoami_done(client *c, http_req *r)
{
    long status = http_req_result(r)->status;
    c->whoami_answered = status > 0; /* an HTTP answer, not a transport failure */
    size_t len;
    const char *body = http_req_body(r, &len);
    if (status == 200 &&
        json_decode_whoami(body, len, c->cfg->mode, c->s.operator_name, sizeof c->s.operator_name,
                           c->s.role, sizeof c->s.role) == JSON_OK)
        client_bind_operator(c, c->s.operator_name);
    else
        snprintf(c->s.role, sizeof c->s.role, "unknown");
}

/* ---- applying items ---------------------------------------------------------------- */

/* Counts an applied (or position-advancing) event and calls the hook. */
static void count_event(client *c, const item *it, int64_t seq, int64_t at, int64_t now)
{
    c->s.events++;
    if (now / 1000 != c->rate_sec) {
        c->s.events_per_s = now / 1000 == c->rate_sec + 1 ? c->rate_count : 0;
        c->rate_sec = now / 1000;
        c->rate_count = 0;
    }
    c->rate_count++;
    c->last_at = at;
    if (c->hook)
        c->hook(c->hook_ud, seq, it->type, it->data, it->len);
}

/* The epoch part of an SSE id "epoch:seq" into out ("" when the id has none). */
static void id_epoch(const char *id, char *out, size_t size)
{
    const char *colon = strrchr(id, ':');
    size_t n = colon ? (size_t)(colon - id) : 0;
    if (n >= size)
        n = size - 1;
    memcpy(out, id, n);
    out[n] = '\0';
}

void client_trim(void)
{
#ifdef __GLIBC__
    /* The snapshot's JSON tree is freed by now: give its pages back, else a large
     * market's snapshot keeps its peak resident (bench_live, 100k listings and
     * threads: 626 MB -> ~180 MB; the trim takes ~40 ms once per snapshot). */
    malloc_trim(0);
#endif
}

/* With several URLs, all of one market: true (and the error says so) when a snapshot
 * is of another market than the one already read (its epoch): that URL is refused, not
 * followed, and the client moves on (schedule_retry). One URL: a new market there is
 * read (client_bind_epoch drops what was bound to the old one). */
static bool other_market(client *c, const item *it)
{
    const char *known = c->bound_epoch[0] ? c->bound_epoch : store_epoch(c->st);
    char epoch[65], err[128], m[256];
    int64_t seq;
    if (c->cfg->nurls < 2 || !known[0] ||
        json_decode_reset(it->data, it->len, epoch, sizeof epoch, &seq, err, sizeof err) !=
            JSON_OK ||
        strcmp(epoch, known) == 0)
        return false;
    snprintf(m, sizeof m, "%.120s serves another market (epoch %.20s, not %.20s): refused",
             c->s.server, epoch, known);
    client_set_error(c, m);
    return true;
}

/* Applies one item. Returns false when the rest of the queue must be dropped (a
 * re-sync was started). */
static bool apply_item(client *c, item *it, int64_t now)
{
    char err[256];
    if (strcmp(it->type, "snapshot") == 0) {
        if (!c->replay && other_market(c, it)) {
            set_down(c, CONN_REASON_OTHER);
            schedule_retry(c, now); /* to the next URL */
            return false;
        }
        client_record_item(c, it);
        uint64_t rejected = 0;
        json_result r = json_decode_snapshot(it->data, it->len, c->cfg->mode, c->st, &rejected, err,
                                             sizeof err);
        c->s.errors_decode += rejected;
        if (r != JSON_OK) {
            char m[300];
            snprintf(m, sizeof m, "snapshot rejected: %s", err);
            client_set_error(c, m);
            if (!c->replay) {
                set_down(c, CONN_REASON_BAD_ANSWER);
                schedule_retry(c, now);
            }
            return false;
        }
        c->s.snapshots++;
        c->need_snapshot = false;
        client_history_forget(c, MODEL_KIND_COUNT); /* read again against this snapshot */
        client_bind_epoch(c, store_epoch(c->st));
        /* a staged one is small: its trim waits for the end of the backfill */
        if (!store_live_more(c->st))
            client_trim();
        c->last_snapshot_ms = now;
        if (!c->replay) {
            c->attempt = 0;
            start_stream(c, now);
        }
        client_backfill_start(c, now); /* the rest of its open threads, if it has more */
        return true;
    }
    if (strcmp(it->type, "reset") == 0) {
        if (c->replay)
            return true; /* the recording holds the snapshot that followed it */
        client_record_item(c, it);
        resync(c, now, "the server reset the stream: taking a fresh snapshot");
        return false;
    }
    char ep[64];
    id_epoch(it->id, ep, sizeof ep);
    if (ep[0]) {
        if (!store_epoch(c->st)[0])
            store_set_epoch(c->st, ep);
        else if (strcmp(ep, store_epoch(c->st)) != 0) {
            if (c->replay) {
                store_set_epoch(c->st, ep);
            } else {
                resync(c, now, "the server's epoch changed: taking a fresh snapshot");
                return false;
            }
        }
    }
    model_event ev;
    json_result jr =
        json_decode_event(it->type, it->data, it->len, c->cfg->mode, &ev, err, sizeof err);
    c->stream_got_event = true;
    if (jr == JSON_UNKNOWN && strcmp(it->type, "presence.updated") == 0)
        client_presence_event(c, it->data, it->len); /* not in the store: a status */
    if (jr != JSON_OK) {
        /* Outside the contract (or a type this client does not know): counted, and the
         * position moves past it so that one bad event does not force a snapshot. */
        if (jr == JSON_BAD || jr == JSON_NOMEM) {
            c->s.errors_decode++;
            char m[300];
            snprintf(m, sizeof m, "event rejected: %s", err);
            client_set_error(c, m);
        }
        if (ev.seq == store_seq(c->st) + 1) {
            client_record_item(c, it);
            store_skip(c->st, ev.seq);
        }
        return true;
    }
    int64_t seq = ev.seq, at = ev.at;
    if (c->replay && seq > store_seq(c->st) + 1)
        store_skip(c->st, seq - 1); /* a recording that starts mid-stream */
    store_result r = store_apply(c->st, &ev);
    switch (r) {
        case STORE_APPLIED:
        case STORE_STALE:
            if (r == STORE_STALE)
                c->s.events_dropped++;
            client_record_item(c, it);
            count_event(c, it, seq, at, now);
            break;
        case STORE_DUPLICATE: c->s.events_dropped++; break;
        case STORE_GAP:
            model_event_free(&ev);
            resync(c, now, "a gap in the stream: taking a fresh snapshot");
            return false;
        case STORE_NOMEM: client_set_error(c, "out of memory"); break;
    }
    model_event_free(&ev);
    return true;
}

/* Applies every queued item. */
static void drain(client *c, int64_t now)
{
    while (c->qhead) {
        item *it = c->qhead;
        c->qhead = it->next;
        if (!c->qhead)
            c->qtail = NULL;
        c->qlen--;
        c->qbytes -= it->len;
        bool go_on = apply_item(c, it, now);
        client_item_free(it);
        if (!go_on) {
            queue_clear(c);
            break;
        }
    }
}

/* ---- the public API ---------------------------------------------------------------- */

client *client_new(const config *cfg, store *st, char *err, size_t errsz)
{
    client *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    c->cfg = cfg;
    c->st = st;
    c->bf_list = -1;
    c->rate_sec = clock_mono_ms() / 1000;
    c->input_ms = clock_mono_ms(); /* starting the console is input (client_presence.c) */
    c->s.presence_supervisors = -1;
    c->h = http_new();
    c->sse = sse_new(0, on_sse_event, c);
    if (!c->h || !c->sse || client_pages_init(c) < 0) {
        snprintf(err, errsz, "out of memory");
        client_free(c);
        return NULL;
    }
    snprintf(c->s.role, sizeof c->s.role, "unknown");
    if (cfg->record_file[0] && client_open_record(c, err, errsz) < 0) {
        client_free(c);
        return NULL;
    }
    int64_t now = clock_mono_ms();
    if (cfg->replay_file[0]) {
        c->replay = true;
        c->s.replay = true;
        c->s.replay_speed = cfg->replay_speed;
        snprintf(c->s.server, sizeof c->s.server, "replay %.100s", cfg->replay_file);
        snprintf(c->s.role, sizeof c->s.role, "replay");
        if (client_load_replay(c, err, errsz) < 0) {
            client_free(c);
            return NULL;
        }
        c->rp_start = now;
        c->s.state = CONN_LIVE;
        c->ph = PH_IDLE;
        return c;
    }
    http_url_hostport(client_base(c), c->s.server, sizeof c->s.server);
    char jpath[CONFIG_PATH_MAX], jerr[512];
    if (config_journal_path(cfg, jpath, sizeof jpath) == 0)
        c->j = journal_open(jpath, jerr, sizeof jerr);
    else
        snprintf(jerr, sizeof jerr, "no journal path (set XDG_STATE_HOME or HOME)");
    if (!c->j)
        client_set_error(c, jerr);
    if (cfg->no_stream) {
        c->ph = PH_IDLE;
        return c;
    }
    ask_whoami(c);
    c->s.state = CONN_CONNECTING;
    if (cfg->stream_after >= 0) {
        store_reset(st, "", cfg->stream_after);
        start_stream(c, now);
    } else {
        c->need_snapshot = true;
        start_snapshot(c, now);
    }
    return c;
}

void client_free(client *c)
{
    if (!c)
        return;
    close_transfers(c);
    if (c->bf_req) /* the store is left as it is: only the request goes */
        http_cancel(c->h, c->bf_req);
    if (c->whoami)
        http_cancel(c->h, c->whoami);
    client_decisions_end(c);
    while (c->decs)
        client_pending_remove(c, c->decs);
    client_refusals_free(c);
    while (c->fetches)
        client_fetch_remove(c, c->fetches);
    client_pages_end(c);
    if (c->bt_req)
        http_cancel(c->h, c->bt_req);
    client_stats_end(c);
    queue_clear(c);
    while (c->rp_head) {
        item *it = c->rp_head;
        c->rp_head = it->next;
        client_item_free(it);
    }
    http_free(c->h);
    sse_free(c->sse);
    journal_close(c->j);
    if (c->rec)
        fclose(c->rec);
    free(c);
}

void client_set_event_hook(client *c, client_event_cb cb, void *ud)
{
    c->hook = cb;
    c->hook_ud = ud;
}

int client_wait(client *c, const int *extra_fds, size_t nfds, int timeout_ms, unsigned *ready)
{
    int own = client_next_timeout_ms(c);
    if (timeout_ms < 0 || (own >= 0 && own < timeout_ms))
        timeout_ms = own;
    if (ready)
        *ready = 0;
    if (timeout_ms == 0 && nfds == 0)
        return 0;
    return http_wait(c->h, extra_fds, nfds, timeout_ms, ready);
}

void client_run(client *c)
{
    client_deliver_refusals(c);
    int64_t now = clock_mono_ms();
    if (c->replay) {
        client_replay_release(c, now);
        drain(c, now);
        if (!c->rp_head && !c->qhead)
            c->s.state = CONN_OFFLINE;
        return;
    }
    http_perform(c->h);
    now = clock_mono_ms();
    http_req *r;
    while ((r = http_next_done(c->h))) {
        if (r == c->stream) {
            c->stream = NULL;
            drain(c, now); /* what arrived before it closed */
            if (!c->stream && c->ph == PH_STREAM)
                stream_done(c, r, now);
            http_req_free(r);
        } else if (r == c->snap) {
            c->snap = NULL;
            if (c->whoami) { /* the market is read with who we are in it: wait for whoami */
                c->snap_held = r;
                continue;
            }
            snapshot_done(c, r, now);
            http_req_free(r);
        } else if (r == c->whoami) {
            c->whoami = NULL;
            whoami_done(c, r);
            http_req_free(r);
            http_req *held = c->snap_held;
            c->snap_held = NULL;
            if (held) {
                snapshot_done(c, held, now);
                http_req_free(held);
            }
        } else if (!client_presence_done(c, r) && !client_backfill_done(c, r, now)) {
            client_req_done(c, r, now);
        }
    }
    client_presence_run(c, now);
    client_backfill_run(c, now);
    if (c->overflow) {
        c->overflow = false;
        c->overflows++;
        resync(c, now, "too many events queued or out of memory: taking a fresh snapshot");
    }
    drain(c, now);
    c->s.errors_sse = sse_dropped_events(c->sse) + c->overflows;
    if (c->stream) {
        uint64_t b = http_req_bytes(c->stream);
        if (b != c->seen_bytes) {
            c->seen_bytes = b;
            c->last_bytes_ms = now;
            if (http_req_status_now(c->stream) == 200) {
                c->s.state = CONN_LIVE;
                c->s.http_status = 0;
                c->s.reason = CONN_REASON_NONE;
                c->s.stale_since_ms = 0;
            }
        } else if (now - c->last_bytes_ms > 3000LL * c->cfg->heartbeat_s) {
            char m[96];
            snprintf(m, sizeof m, "no data for %d s: reconnecting", 3 * c->cfg->heartbeat_s);
            http_cancel(c->h, c->stream);
            c->stream = NULL;
            /* As when a stream ends: one that delivered events starts the backoff over
             * (else every stall of a long session doubles the wait, up to a minute). */
            if (c->stream_got_event)
                c->attempt = 0;
            set_down(c, CONN_REASON_STALLED);
            schedule_retry(c, now);
            client_set_error(c, m);
        }
    }
    if (c->ph == PH_WAIT && now >= c->retry_at) {
        if (c->s.snapshots || c->cfg->stream_after >= 0)
            c->s.reconnects++;
        if (c->need_snapshot)
            start_snapshot(c, now);
        else
            start_stream(c, now);
    }
    for (pending *p = c->decs, *nx; p && !client_retries_held(c); p = nx) {
        nx = p->next;
        if (!p->req && p->next_try <= now)
            client_send_decision(c, p);
    }
}

int client_next_timeout_ms(const client *c)
{
    int64_t now = clock_mono_ms(), best = -1;
#define CONSIDER(t)                                                                                \
    do {                                                                                           \
        int64_t d_ = (t)-now;                                                                      \
        if (d_ < 0)                                                                                \
            d_ = 0;                                                                                \
        if (best < 0 || d_ < best)                                                                 \
            best = d_;                                                                             \
    } while (0)
    if (c->qhead || c->refused)
        return 0;
    if (c->replay) {
        if (c->rp_head)
            CONSIDER(c->rp_start + c->rp_head->due_ms);
        return (int)best;
    }
    if (c->ph == PH_WAIT)
        CONSIDER(c->retry_at);
    if (client_backfill_due(c) >= 0)
        CONSIDER(client_backfill_due(c));
    if (c->stream)
        CONSIDER(c->last_bytes_ms + 3000LL * c->cfg->heartbeat_s + 1);
    for (const pending *p = c->decs; p && !client_retries_held(c); p = p->next)
        if (!p->req)
            CONSIDER(p->next_try);
#undef CONSIDER
    if (best > 60000)
        best = 60000;
    return (int)best;
}

void client_status_get(const client *c, client_status *st)
{
    *st = c->s;
    int64_t now = clock_mono_ms();
    st->seq = store_seq(c->st);
    st->retrying = c->s.reason != CONN_REASON_NONE && c->s.state != CONN_LIVE &&
                   (c->ph == PH_SNAPSHOT || c->ph == PH_STREAM);
    st->next_retry_ms = c->ph == PH_WAIT && c->retry_at > now ? c->retry_at - now : 0;
    st->lag_ms = c->last_at && !c->replay ? clock_wall_ms() - c->last_at : 0;
    if (st->lag_ms < 0)
        st->lag_ms = 0;
    if (now / 1000 > c->rate_sec + 1)
        st->events_per_s = 0;
}

bool client_retries_held(const client *c)
{
    return c->need_snapshot && !c->replay && !c->cfg->no_stream;
}

void client_market_changed(client *c)
{
    if (c->replay || c->cfg->no_stream || c->need_snapshot)
        return;
    resync(c, clock_mono_ms(),
           "the server at this address serves another market: taking a fresh snapshot");
}

void client_resync(client *c)
{
    resync(c, clock_mono_ms() - 5000, "re-sync asked for");
}
