/* client_util.c: the client's small parts (see client_int.h): jitter, the error line,
 * the items of the apply queue, and the names of connection states and reasons. Kept
 * apart from client.c, whose subject is the connection state machine. */
#include "api/client_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "api/json.h"

/* ---- small helpers ---------------------------------------------------------------- */

/* A uniformly random number in [0, n) (n > 0), for jitter. */
uint32_t client_rnd(uint32_t n)
{
    uint32_t v = 0;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) != sizeof v)
        v = (uint32_t)clock_mono_ms() * 2654435761u;
    return v % n;
}

/* Records the last error (already safe text: our own words or sanitised). */
void client_set_error(client *c, const char *msg)
{
    /* Cut on a character boundary: never leave half a UTF-8 sequence. */
    size_t n = strlen(msg), max = sizeof c->s.last_error - 1;
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)msg[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(c->s.last_error, msg, n);
    c->s.last_error[n] = '\0';
}

/* Sanitises an error answer into a short, mark-free message: the server's "message"
 * when the body is the contract's error JSON, else the start of the body. */
void client_safe_msg(client *c, const char *prefix, const char *body, size_t len)
{
    decision_outcome o = {0};
    json_decode_outcome(body, len, MODEL_KIND_COUNT, c->cfg->mode, &o);
    if (o.message[0]) {
        snprintf(c->s.last_error, sizeof c->s.last_error, "%s%.150s", prefix, o.message);
        return;
    }
    text_safe t;
    char clean[200] = "";
    if (len > 300)
        len = 300;
    if (text_sanitize(body, len, c->cfg->mode, &t) == 0) {
        text_strip_marks(t.s, clean, sizeof clean);
        text_safe_free(&t);
    }
    snprintf(c->s.last_error, sizeof c->s.last_error, "%s%s", prefix, clean);
}

/* Frees one item. */
void client_item_free(item *it)
{
    free(it->type);
    free(it->data);
    free(it);
}

/* Makes an item from copies of its parts; NULL on out of memory. */
item *client_item_new(const char *type, const char *data, size_t len, const char *id)
{
    item *it = calloc(1, sizeof *it);
    if (!it)
        return NULL;
    it->type = strdup(type);
    it->data = malloc(len + 1);
    if (!it->type || !it->data) {
        client_item_free(it);
        return NULL;
    }
    memcpy(it->data, data, len);
    it->data[len] = '\0';
    it->len = len;
    snprintf(it->id, sizeof it->id, "%s", id ? id : "");
    return it;
}

/* Appends to the apply queue. */
void client_enqueue(client *c, item *it)
{
    if (c->qtail)
        c->qtail->next = it;
    else
        c->qhead = it;
    c->qtail = it;
    c->qlen++;
    c->qbytes += it->len;
}

const char *client_reason_name(conn_reason r)
{
    switch (r) {
        case CONN_REASON_NONE: return "";
        case CONN_REASON_REFUSED: return "refused";
        case CONN_REASON_UNREACHABLE: return "unreachable";
        case CONN_REASON_DNS: return "DNS";
        case CONN_REASON_TLS: return "TLS";
        case CONN_REASON_TIMEOUT: return "timeout";
        case CONN_REASON_UNAUTHORIZED: return "unauthorized";
        case CONN_REASON_FORBIDDEN: return "forbidden";
        case CONN_REASON_HTTP: return "HTTP error";
        case CONN_REASON_CLOSED: return "closed";
        case CONN_REASON_STALLED: return "no data";
        case CONN_REASON_BAD_ANSWER: return "bad answer";
        case CONN_REASON_RESYNC: return "re-syncing";
        case CONN_REASON_OTHER: return "error";
    }
    return "error";
}

const char *client_state_name(conn_state s)
{
    switch (s) {
        case CONN_CONNECTING: return "connecting";
        case CONN_LIVE: return "live";
        case CONN_RECONNECTING: return "reconnecting";
        case CONN_OFFLINE: return "offline";
    }
    return "?";
}
