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
    model_kind kind;         /* MODEL_LISTING, _NEGOTIATION, _PURCHASE, _ALERT, _LEDGER
                                or _DECISION */
    char status[24];         /* one status name of the kind, or "" for any */
    char q[PAGES_Q_MAX + 1]; /* text searched (PAGES_Q_MIN..PAGES_Q_MAX bytes), or "" */
    char sort[24];           /* a sort docs/api.md names for the kind, or "" (creation
                                order, oldest first) */
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

#endif
