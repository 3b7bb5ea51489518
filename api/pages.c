/* pages.c: the cache of history read a page at a time (api/pages.h). Pure data: libc and
 * the model's types; the client (api/client_pages.c) asks the server and fills it.
 *
 * Each query's rows are one set: an array of objects of the query's kind, each in its
 * own allocation (a borrowed row stays where it is while the set grows). The sets are in
 * a list, the most recently asked first; the cache drops from its tail. */
#include "api/pages.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct page_set {
    struct page_set *next, *prev;
    page_query q;
    uint64_t serial;
    page_state state;
    void **rows;
    size_t nrows, cap;
    bool complete;
    bool queued; /* waits its turn (pages_queue) */
    int64_t read_seq;
    int64_t failed_at;
    char cursor[PAGES_CURSOR_MAX + 1];
    char error[160];
};

struct pages {
    page_set *head, *tail; /* most recently asked first */
    size_t nsets, nrows;
    uint64_t serial, changes;
};

static const char *const kind_paths[MODEL_KIND_COUNT] = {
    [MODEL_LISTING] = "listings",   [MODEL_NEGOTIATION] = "negotiations",
    [MODEL_PURCHASE] = "purchases", [MODEL_ALERT] = "alerts",
    [MODEL_LEDGER] = "ledger",      [MODEL_DECISION] = "decisions",
    [MODEL_DISPUTE] = "disputes"};

const char *pages_kind_path(model_kind kind)
{
    return (unsigned)kind < MODEL_KIND_COUNT ? kind_paths[kind] : NULL;
}

bool pages_kind_ok(model_kind kind)
{
    return pages_kind_path(kind) != NULL;
}

pages *pages_new(void)
{
    return calloc(1, sizeof(pages));
}

/* The size of a row's object, by kind (the union member of model_event). */
static size_t row_size(model_kind k)
{
    switch (k) {
        case MODEL_LISTING: return sizeof(model_listing);
        case MODEL_NEGOTIATION: return sizeof(model_negotiation);
        case MODEL_PURCHASE: return sizeof(model_purchase);
        case MODEL_ALERT: return sizeof(model_alert);
        case MODEL_LEDGER: return sizeof(model_ledger_entry);
        case MODEL_DECISION: return sizeof(model_decision);
        case MODEL_DISPUTE: return sizeof(model_dispute);
        default: return 0;
    }
}

/* Frees one row's object. */
static void row_free(model_kind k, void *o)
{
    switch (k) {
        case MODEL_LISTING: model_listing_clear(o); break;
        case MODEL_NEGOTIATION: model_negotiation_clear(o); break;
        case MODEL_PURCHASE: model_purchase_clear(o); break;
        case MODEL_ALERT: model_alert_clear(o); break;
        case MODEL_DECISION: model_decision_clear(o); break;
        case MODEL_DISPUTE: model_dispute_clear(o); break;
        default: break; /* a ledger entry owns nothing */
    }
    free(o);
}

/* Unlinks a set from the list. */
static void unlink_set(pages *p, page_set *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        p->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        p->tail = s->prev;
    s->next = s->prev = NULL;
}

/* Puts a set first (the most recently asked). */
static void push_front(pages *p, page_set *s)
{
    s->next = p->head;
    s->prev = NULL;
    if (p->head)
        p->head->prev = s;
    p->head = s;
    if (!p->tail)
        p->tail = s;
}

/* Unlinks and frees a set with its rows. */
static void drop_set(pages *p, page_set *s)
{
    unlink_set(p, s);
    for (size_t i = 0; i < s->nrows; i++)
        row_free(s->q.kind, s->rows[i]);
    free(s->rows);
    p->nrows -= s->nrows;
    p->nsets--;
    p->changes++;
    free(s);
}

void pages_free(pages *p)
{
    if (!p)
        return;
    while (p->head)
        drop_set(p, p->head);
    free(p);
}

/* Whether two queries are the same query (every field). */
static bool same_query(const page_query *a, const page_query *b)
{
    return a->kind == b->kind && strcmp(a->status, b->status) == 0 && strcmp(a->q, b->q) == 0 &&
           strcmp(a->sort, b->sort) == 0 && strcmp(a->party, b->party) == 0;
}

page_set *pages_get(pages *p, const page_query *q)
{
    for (page_set *s = p->head; s; s = s->next)
        if (same_query(&s->q, q)) {
            if (s != p->head) {
                unlink_set(p, s);
                push_front(p, s);
            }
            return s;
        }
    page_set *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->q = *q;
    /* the fields are NUL-terminated within their arrays, whatever the caller left there */
    s->q.status[sizeof s->q.status - 1] = '\0';
    s->q.q[sizeof s->q.q - 1] = '\0';
    s->q.sort[sizeof s->q.sort - 1] = '\0';
    s->serial = ++p->serial;
    push_front(p, s);
    p->nsets++;
    while (p->nsets > PAGES_MAX_QUERIES && p->tail != s)
        drop_set(p, p->tail);
    return s;
}

page_set *pages_find(pages *p, uint64_t serial)
{
    for (page_set *s = p->head; s; s = s->next)
        if (s->serial == serial)
            return s;
    return NULL;
}

uint64_t pages_serial(const page_set *s)
{
    return s->serial;
}

const page_query *pages_query(const page_set *s)
{
    return &s->q;
}

const char *pages_cursor(const page_set *s)
{
    return s->cursor;
}

void pages_result(const page_set *s, page_result *out)
{
    memset(out, 0, sizeof *out);
    out->state = s->state;
    out->rows = (const void *const *)s->rows;
    out->nrows = s->nrows;
    out->complete = s->complete;
    out->read_seq = s->read_seq;
    if (s->state == PAGE_FAILED)
        snprintf(out->error, sizeof out->error, "%s", s->error);
}

void pages_loading(pages *p, page_set *s)
{
    s->state = PAGE_LOADING;
    s->queued = false;
    p->changes++;
}

void pages_unqueue(pages *p, page_set *s)
{
    if (!s->queued)
        return;
    s->queued = false;
    s->state = PAGE_IDLE;
    p->changes++;
}

void pages_queue(pages *p, page_set *s)
{
    for (page_set *o = p->head; o; o = o->next)
        if (o != s && o->q.kind == s->q.kind)
            pages_unqueue(p, o);
    if (s->queued)
        return;
    s->queued = true;
    s->state = PAGE_LOADING;
    p->changes++;
}

page_set *pages_queued(pages *p, model_kind kind)
{
    for (page_set *s = p->head; s; s = s->next)
        if (s->queued && s->q.kind == kind)
            return s;
    return NULL;
}

void pages_failed(pages *p, page_set *s, const char *error, int64_t now_ms)
{
    s->state = PAGE_FAILED;
    s->queued = false;
    s->failed_at = now_ms ? now_ms : 1;
    snprintf(s->error, sizeof s->error, "%s", error);
    p->changes++;
}

int64_t pages_failed_at(const page_set *s)
{
    return s->state == PAGE_FAILED ? s->failed_at : 0;
}

/* Makes room for n more rows in a set. Returns 0 or -1. */
static int reserve_rows(page_set *s, size_t n)
{
    if (s->nrows + n <= s->cap)
        return 0;
    size_t cap = s->cap ? s->cap : 64;
    while (cap < s->nrows + n)
        cap *= 2;
    void **r = realloc(s->rows, cap * sizeof *r);
    if (!r)
        return -1;
    s->rows = r;
    s->cap = cap;
    return 0;
}

int pages_add(pages *p, page_set *s, model_event *rows, size_t n, const char *next,
              int64_t read_seq)
{
    size_t size = row_size(s->q.kind);
    if (next && strlen(next) > PAGES_CURSOR_MAX) {
        pages_failed(p, s, "the server's cursor (next) is too long", 1);
        return -1;
    }
    if (!size || reserve_rows(s, n) < 0) {
        pages_failed(p, s, "out of memory", 1);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (rows[i].kind != s->q.kind)
            continue;
        void *o = malloc(size);
        if (!o) {
            pages_failed(p, s, "out of memory", 1);
            return -1;
        }
        memcpy(o, &rows[i].u, size);
        memset(&rows[i], 0, sizeof rows[i]);
        s->rows[s->nrows++] = o;
        p->nrows++;
    }
    snprintf(s->cursor, sizeof s->cursor, "%s", next ? next : "");
    s->complete = !next || !next[0];
    if (!s->read_seq)
        s->read_seq = read_seq;
    s->state = PAGE_IDLE;
    s->queued = false;
    s->failed_at = 0;
    s->error[0] = '\0';
    p->changes++;
    while (p->nrows > PAGES_MAX_ROWS) { /* the least recently asked other set goes */
        page_set *v = p->tail == s ? s->prev : p->tail;
        if (!v)
            break;
        drop_set(p, v);
    }
    return 0;
}

void pages_forget(pages *p, model_kind kind)
{
    for (page_set *s = p->head, *nx; s; s = nx) {
        nx = s->next;
        if (kind == MODEL_KIND_COUNT || s->q.kind == kind)
            drop_set(p, s);
    }
}

size_t pages_rows(const pages *p)
{
    return p->nrows;
}

size_t pages_sets(const pages *p)
{
    return p->nsets;
}

uint64_t pages_changes(const pages *p)
{
    return p->changes;
}
