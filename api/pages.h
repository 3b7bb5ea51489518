/* pages.h: history the console does not hold, read from the server a page at a time.
 *
 * The store (model.h) holds the working set (issue 14): the fleet, the agents, everything
 * pending or open, the ledger balances and the newest objects of each closed kind.
 * Everything else is read with the list endpoints (docs/api.md, Reading:
 * GET /v1/{kind}?status=&q=&sort=&after=&limit=) when a pane needs it: a query's rows grow
 * page by page as the pane asks for more. The cache holds at most PAGES_MAX_ROWS rows over
 * all queries and drops the least recently asked query first; a query that was dropped or
 * forgotten is read fresh when asked again. Rows are owned by the cache, decoded and
 * sanitised like the store's (api/json.h), and never changed by the stream: where the
 * store holds the same object, the store's is the newer, and a pane shows that one.
 */
#ifndef DEALDESK_API_PAGES_H
#define DEALDESK_API_PAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/model.h"

#define PAGES_MAX_ROWS  20000 /* rows cached over all queries */
#define PAGES_PAGE_ROWS 100   /* rows asked for at a time (the server's limit=) */
#define PAGES_Q_MIN     3     /* the shortest text the server searches (q=) */
#define PAGES_Q_MAX     100

/* What a pane asks the server for. Two queries are the same query when every field is. */
typedef struct page_query {
    model_kind kind;         /* MODEL_LISTING, _NEGOTIATION, _PURCHASE, _ALERT, _LEDGER,
                                _DECISION or _DISPUTE */
    char status[24];         /* one status name of the kind, or "" for any */
    char q[PAGES_Q_MAX + 1]; /* text searched (PAGES_Q_MIN..PAGES_Q_MAX bytes), or "" */
    char sort[24];           /* a sort docs/api.md names for the kind, or "" (creation
                                order, oldest first) */
    /* disputes: an agent's (party=, issue 17), or "" */
    char party[MODEL_ID_MAX + 1];
} page_query;

typedef enum page_state {
    PAGE_IDLE,    /* nothing on its way: every row asked for is here, or the server has no more */
    PAGE_LOADING, /* a page is on its way */
    PAGE_FAILED,  /* the last read failed (error says why); asking again retries */
} page_state;

/* A query's rows as they are now (borrowed until the next client_run() or
 * client_history_forget()). */
typedef struct page_result {
    page_state state;
    const void *const *rows; /* model objects of the query's kind, in the server's order */
    size_t nrows;
    bool complete;    /* the server has no more rows for the query */
    int64_t read_seq; /* the market's seq when the first page was read (0: none yet) */
    char error[160];  /* sanitised; for PAGE_FAILED */
} page_result;

/* ---- the cache (api/pages.c): pure data, filled by the client (api/client_pages.c) --- */

#define PAGES_MAX_QUERIES 64  /* queries cached (the least recently asked dropped first) */
#define PAGES_CURSOR_MAX  255 /* the longest `next` cursor kept (a longer one is refused) */

typedef struct pages pages;
typedef struct page_set page_set; /* one query's rows */

/* A new, empty cache (NULL: memory); freeing frees every row. */
pages *pages_new(void);
void pages_free(pages *p);

/* The set of a query, made the most recently asked; created empty (PAGE_IDLE, no rows,
 * not complete) when absent, which may drop the least recently asked set beyond
 * PAGES_MAX_QUERIES. NULL: memory. */
page_set *pages_get(pages *p, const page_query *q);

/* The set with this serial number (each set gets a new one), or NULL when it was dropped:
 * how a page that arrives finds its set. */
page_set *pages_find(pages *p, uint64_t serial);
uint64_t pages_serial(const page_set *s);
const page_query *pages_query(const page_set *s);

/* The cursor to ask for the next page with (after=; "" for the first page). */
const char *pages_cursor(const page_set *s);

/* The set as a result (borrowed rows: until the set changes or is dropped). */
void pages_result(const page_set *s, page_result *out);

/* A page is on its way (PAGE_LOADING). */
void pages_loading(pages *p, page_set *s);

/* The set waits its turn (a search of its kind is on its way, api/client_pages.c): it reads
 * as PAGE_LOADING until pages_loading, pages_add, pages_failed or pages_unqueue. Any other
 * set of its kind that waited stops waiting (pages_unqueue): only the newest waits. */
void pages_queue(pages *p, page_set *s);

/* The set stops waiting: PAGE_IDLE again (nothing was asked). No-op when it was not. */
void pages_unqueue(pages *p, page_set *s);

/* The set of kind that waits its turn, or NULL. */
page_set *pages_queued(pages *p, model_kind kind);

/* The read failed: PAGE_FAILED with error (copied; already sanitised), at now_ms. */
void pages_failed(pages *p, page_set *s, const char *error, int64_t now_ms);

/* When the set's last read failed (monotonic ms; 0: it did not). */
int64_t pages_failed_at(const page_set *s);

/* Appends a page's rows: takes each event's object (rows[i].kind must be the query's kind;
 * each event is zeroed), sets the cursor of the next page (next NULL or "": the last
 * page: complete), read_seq on the first page, and PAGE_IDLE. Then drops the least
 * recently asked other sets until the cache holds at most PAGES_MAX_ROWS rows. Returns 0,
 * or -1 (memory, or a cursor longer than PAGES_CURSOR_MAX: the set is PAGE_FAILED, the
 * rows are left to the caller). */
int pages_add(pages *p, page_set *s, model_event *rows, size_t n, const char *next,
              int64_t read_seq);

/* Drops every set of a kind (MODEL_KIND_COUNT: every set). */
void pages_forget(pages *p, model_kind kind);

/* Rows held over every set, and sets held. */
size_t pages_rows(const pages *p);
size_t pages_sets(const pages *p);

/* Moves whenever a set gets rows, starts loading, fails or is dropped. */
uint64_t pages_changes(const pages *p);

/* Whether history of a kind is read a page at a time (the six kinds of page_query). */
bool pages_kind_ok(model_kind kind);

/* The list endpoint's name of a kind ("listings", ..., "ledger"); NULL for another kind. */
const char *pages_kind_path(model_kind kind);

#endif
