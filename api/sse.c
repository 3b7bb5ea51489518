/* sse.c: the WHATWG Server-Sent Events parser (see sse.h). */
#include "api/sse.h"

#include <stdlib.h>
#include <string.h>

struct sse_parser {
    size_t max_event; /* data bytes per event */
    size_t max_line;  /* bytes of one line */
    sse_event_fn fn;
    void *ud;

    int bom; /* bytes of the BOM matched so far; -1 once past the start */
    bool after_cr;

    char *line; /* the current line (no terminator) */
    size_t linelen, linecap;
    bool line_cut; /* the line outgrew max_line: the rest is being skipped */

    char *data; /* the data buffer of the current event */
    size_t datalen, datacap;
    bool has_data;   /* at least one data field since the last dispatch */
    bool event_drop; /* the current event is over the limit */

    char type[64];
    bool type_cut;
    char id[SSE_MAX_ID + 1];
    int64_t retry_ms;

    uint64_t dropped_events, dropped_lines;
};

static const unsigned char bom_bytes[3] = {0xEF, 0xBB, 0xBF};

/* Grows *buf to hold need bytes (and a NUL); returns 0 or -1 on out of memory. */
static int grow(char **buf, size_t *cap, size_t need)
{
    if (need + 1 <= *cap)
        return 0;
    size_t n = *cap ? *cap : 256;
    while (n < need + 1)
        n *= 2;
    char *b = realloc(*buf, n);
    if (!b)
        return -1;
    *buf = b;
    *cap = n;
    return 0;
}

sse_parser *sse_new(size_t max_event, sse_event_fn fn, void *ud)
{
    sse_parser *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->max_event = max_event ? max_event : SSE_DEFAULT_MAX_EVENT;
    /* A line holds "data: " and a whole event's data at most. */
    p->max_line = p->max_event + 16;
    p->fn = fn;
    p->ud = ud;
    p->retry_ms = -1;
    sse_reset(p);
    return p;
}

void sse_free(sse_parser *p)
{
    if (!p)
        return;
    free(p->line);
    free(p->data);
    free(p);
}

/* Forgets the current event's data and type (after a dispatch or a blank line). */
static void event_clear(sse_parser *p)
{
    p->datalen = 0;
    p->has_data = false;
    p->event_drop = false;
    p->type[0] = '\0';
    p->type_cut = false;
    /* Give back a buffer that one huge event made big. */
    if (p->datacap > 64 * 1024) {
        free(p->data);
        p->data = NULL;
        p->datacap = 0;
    }
}

void sse_reset(sse_parser *p)
{
    p->bom = 0;
    p->after_cr = false;
    p->linelen = 0;
    p->line_cut = false;
    event_clear(p);
}

/* Dispatches the current event (a blank line was seen). */
static void dispatch(sse_parser *p)
{
    if (!p->has_data) {
        event_clear(p);
        return;
    }
    if (p->event_drop || p->type_cut) {
        /* Over a limit, or a type that cannot be held (overlong, or holding a NUL). */
        p->dropped_events++;
        event_clear(p);
        return;
    }
    /* The data buffer ends with the LF of the last data line: remove it. */
    if (p->datalen > 0)
        p->datalen--;
    if (grow(&p->data, &p->datacap, p->datalen) < 0) {
        event_clear(p);
        return;
    }
    p->data[p->datalen] = '\0';
    sse_event ev = {
        .type = p->type[0] ? p->type : "message",
        .data = p->data,
        .datalen = p->datalen,
        .id = p->id,
    };
    p->fn(p->ud, &ev);
    event_clear(p);
}

/* True when v (n bytes) is one or more ASCII digits. */
static bool all_digits(const char *v, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (v[i] < '0' || v[i] > '9')
            return false;
    return true;
}

/* Processes one complete line (without its terminator). Returns 0 or -1 (memory). */
static int process_line(sse_parser *p)
{
    const char *l = p->line;
    size_t n = p->linelen;
    if (p->line_cut) {
        /* A line over the limit: if it was data, the event cannot be whole. */
        p->dropped_lines++;
        if (n >= 4 && memcmp(l, "data", 4) == 0 && (n == 4 || l[4] == ':')) {
            p->event_drop = true;
            p->has_data = true;
        }
        return 0;
    }
    if (n == 0) {
        dispatch(p);
        return 0;
    }
    if (l[0] == ':')
        return 0; /* comment */
    const char *colon = memchr(l, ':', n);
    size_t flen = colon ? (size_t)(colon - l) : n;
    const char *v = colon ? colon + 1 : l + n;
    size_t vlen = colon ? n - flen - 1 : 0;
    if (vlen > 0 && v[0] == ' ') {
        v++;
        vlen--;
    }
    if (flen == 5 && memcmp(l, "event", 5) == 0) {
        if (vlen < sizeof p->type) {
            memcpy(p->type, v, vlen);
            p->type[vlen] = '\0';
            p->type_cut = memchr(v, '\0', vlen) != NULL;
        } else {
            p->type[0] = '\0';
            p->type_cut = true; /* dropped at dispatch: never "message" by accident */
        }
    } else if (flen == 4 && memcmp(l, "data", 4) == 0) {
        p->has_data = true;
        if (p->event_drop)
            return 0;
        if (p->datalen + vlen + 1 > p->max_event) {
            p->event_drop = true;
            return 0;
        }
        if (grow(&p->data, &p->datacap, p->datalen + vlen + 1) < 0)
            return -1;
        memcpy(p->data + p->datalen, v, vlen);
        p->datalen += vlen;
        p->data[p->datalen++] = '\n';
    } else if (flen == 2 && memcmp(l, "id", 2) == 0) {
        if (memchr(v, '\0', vlen) == NULL) {
            if (vlen <= SSE_MAX_ID) {
                memcpy(p->id, v, vlen);
                p->id[vlen] = '\0';
            } else {
                p->dropped_lines++;
            }
        }
    } else if (flen == 5 && memcmp(l, "retry", 5) == 0) {
        if (all_digits(v, vlen)) {
            int64_t ms = 0;
            for (size_t i = 0; i < vlen; i++) {
                if (ms > (INT64_MAX - 9) / 10) {
                    ms = INT64_MAX;
                    break;
                }
                ms = ms * 10 + (v[i] - '0');
            }
            p->retry_ms = ms;
        }
    }
    /* Any other field is ignored. */
    return 0;
}

/* Appends bytes to the current line, cutting it at the limit. */
static int line_append(sse_parser *p, const char *b, size_t n)
{
    if (p->line_cut)
        return 0;
    if (p->linelen + n > p->max_line) {
        /* Keep a prefix to recognise the field name, drop the rest. */
        size_t keep = p->linelen < 16 ? 16 - p->linelen : 0;
        if (keep > n)
            keep = n;
        if (keep && grow(&p->line, &p->linecap, p->linelen + keep) < 0)
            return -1;
        memcpy(p->line + p->linelen, b, keep);
        p->linelen += keep;
        p->line_cut = true;
        return 0;
    }
    if (grow(&p->line, &p->linecap, p->linelen + n) < 0)
        return -1;
    memcpy(p->line + p->linelen, b, n);
    p->linelen += n;
    return 0;
}

/* Ends the current line. */
static int line_end(sse_parser *p)
{
    int rc = process_line(p);
    p->linelen = 0;
    p->line_cut = false;
    if (p->linecap > 64 * 1024) {
        free(p->line);
        p->line = NULL;
        p->linecap = 0;
    }
    return rc;
}

int sse_feed(sse_parser *p, const char *buf, size_t len)
{
    size_t i = 0;
    /* The BOM, possibly split across chunks. */
    while (p->bom >= 0 && i < len) {
        if ((unsigned char)buf[i] == bom_bytes[p->bom]) {
            p->bom++;
            i++;
            if (p->bom == 3)
                p->bom = -1;
            continue;
        }
        /* Not a BOM: the bytes matched so far were text. */
        int matched = p->bom;
        p->bom = -1;
        if (matched > 0 && line_append(p, (const char *)bom_bytes, (size_t)matched) < 0)
            goto oom;
    }
    while (i < len) {
        if (p->after_cr) {
            p->after_cr = false;
            if (buf[i] == '\n') {
                i++;
                continue;
            }
        }
        /* The run of ordinary bytes up to the next CR or LF. */
        size_t j = i;
        while (j < len && buf[j] != '\n' && buf[j] != '\r')
            j++;
        if (j > i && line_append(p, buf + i, j - i) < 0)
            goto oom;
        if (j == len)
            break;
        if (buf[j] == '\r')
            p->after_cr = true;
        i = j + 1;
        if (line_end(p) < 0)
            goto oom;
    }
    return 0;
oom:
    sse_reset(p);
    return -1;
}

const char *sse_last_id(const sse_parser *p)
{
    return p->id;
}

int64_t sse_retry_ms(const sse_parser *p)
{
    return p->retry_ms;
}

uint64_t sse_dropped_events(const sse_parser *p)
{
    return p->dropped_events;
}

uint64_t sse_dropped_lines(const sse_parser *p)
{
    return p->dropped_lines;
}
