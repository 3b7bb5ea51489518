/* store_sqlite.h: the SQLite engine's insides, shared by its files (marketd/store.h).
 *
 *   store_sqlite_schema.c  the file (private, WAL), its migrations, the statement cache
 *   store_sqlite.c         the operations, and the table of them (store_sqlite)
 *   store_sqlite_policy.c  the policies' operations: hour windows, the backtest's reader
 *   store_sqlite_webhook.c the webhook outbox (marketd/webhook.c)
 *   store_sqlite_stats.c   the agents' scorecards (marketd/stats.c)
 *   store_sqlite_search.c  how a search (q=) is asked of the trigram index
 */
#ifndef DEALDESK_MARKETD_STORE_SQLITE_H
#define DEALDESK_MARKETD_STORE_SQLITE_H

#include <sqlite3.h>
#include <stdarg.h>

#include "marketd/store.h"

/* The engine's handle. */
typedef struct sq {
    store base;
    sqlite3 *db;
    bool memory;           /* ":memory:": no file, no WAL, no synchronous */
    bool reader;           /* a read-only handle (store_ops.open_reader) */
    char *path;            /* the database's path (owned) */
    struct sq_stmt *stmts; /* prepared statements, by SQL text */
} sq;

#define SQ(s) ((sq *)(s))

/* Gives a cached prepared statement for sql, reset, with its parameters bound in order by
 * spec, one letter a parameter: 't' a const char * (NULL binds null), 'I' an int64_t.
 * NULL on failure (logged). Text is bound without a copy: step before it goes. */
sqlite3_stmt *sq_stmt(sq *q, const char *sql, const char *spec, ...);
sqlite3_stmt *sq_vstmt(sq *q, const char *sql, const char *spec, va_list ap);
/* Runs sql (bound as sq_stmt) to its end. 0 or -1. */
int sq_run(sq *q, const char *sql, const char *spec, ...);
/* Finalizes and forgets every cached statement (before the connection closes). */
void sq_stmts_free(sq *q);
/* Executes SQL text without parameters or results. 0 or -1 (logged). */
int sq_exec(sq *q, const char *sql);

/* store_ops.open, close, error. */
store *sq_open(const char *path, const store_seed *seed, char *err, size_t errsz);
store *sq_open_reader(store *s, char *err, size_t errsz);
void sq_close(store *s);
const char *sq_error(store *s);

/* The policies' operations (store_sqlite_policy.c; marketd/store.h). */
int sq_purchases_window(store *s, const char *buyer, int64_t since, int64_t *count, int64_t *sum);
store *sq_reader_open(store *s);
void sq_reader_close(store *r);
int sq_purchases_recent(store *s, int max, store_row_fn fn, void *ud);
int sq_purchases_history(store *s, const char *buyer, int64_t before_ord, int64_t since, int max,
                         int (*fn)(void *ud, int64_t at, int64_t total), void *ud);

/* How the search q (lower case) of kind is asked of its trigram index (search_KIND,
 * store_sqlite_search.c): into match (size bytes) an FTS5 expression whose rows are a
 * superset of those holding q; *confirm: each must then be confirmed by
 * instr(objects.st, q) (else match is exact). 0 or -1. */
int sq_search_plan(sq *s, const char *kind, const char *q, char *match, size_t size, bool *confirm);

/* The webhook outbox's operations (store_sqlite_webhook.c; marketd/store.h). */
int sq_outbox_put(store *s, const char *event_id, const char *url, const char *body, int64_t at);
int sq_outbox_due(store *s, int64_t now, int max, store_row_fn fn, void *ud);
int sq_outbox_next(store *s, int64_t *at, int64_t *pending);
int sq_outbox_done(store *s, int64_t n, int64_t at);
int sq_outbox_retry(store *s, int64_t n, int64_t next_at);

/* The agents' scorecards (store_sqlite_stats.c; marketd/store.h). */
int sq_agent_stats(store *s, store_stats_q *q);

#endif
