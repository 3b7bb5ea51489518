/* store_pg.h: the PostgreSQL engine's insides, shared by its files (marketd/store.h).
 *
 *   store_pg_schema.c  the connection (a postgresql:// URL, never with a password in
 *                      it), its migrations under an advisory lock, the statement cache
 *   store_pg.c         the operations on objects, messages, events, idem, and the table
 *                      of them (store_pg)
 *   store_pg_more.c    reference prices, balances, tokens, faults, the policies' reads
 *                      and the webhook outbox
 *   store_pg_stats.c   the agents' scorecards (agent_stats)
 *
 * Only these files call libpq (tools/check-layers.sh). Every value travels as text (ints
 * in decimal) through statements prepared once per connection and cached by their text.
 */
#ifndef DEALDESK_MARKETD_STORE_PG_H
#define DEALDESK_MARKETD_STORE_PG_H

#include <libpq-fe.h>
#include <stdarg.h>

#include "marketd/store.h"

/* The engine's handle. */
typedef struct pg {
    store base;
    PGconn *conn;
    char err[256];         /* the last failure's message (pg_error) */
    bool reader;           /* a read-only handle (open_reader, reader_open) */
    char *url;             /* the database's URL (owned; holds no password) */
    struct pg_stmt *stmts; /* prepared statements, by SQL text */
    int nstmts;            /* how many were prepared (their names: "s1", "s2", ...) */
    bool in_tx;            /* a transaction is open (begin .. commit or rollback) */
    bool leader;           /* holds the leader's advisory lock (store_pg_multi.c) */
    bool listening;        /* LISTEN marketd_events was run on this session */
} pg;

#define PG(s) ((pg *)(s))

/* Runs a cached prepared statement for sql with its parameters given in order by spec,
 * one letter a parameter: 't' a const char * (NULL: null), 'I' an int64_t. The result
 * (tuples or command ok; the caller PQclear()s it), or NULL on failure (logged). */
PGresult *pg_query(pg *p, const char *sql, const char *spec, ...);
/* Runs sql (as pg_query) and drops its result. 0 or -1. */
int pg_run(pg *p, const char *sql, const char *spec, ...);
/* Executes SQL text without parameters (one or more statements). 0 or -1 (logged). */
int pg_exec(pg *p, const char *sql);
/* Keeps message (its first line) as p's last failure's, for pg_error. */
void pg_set_error(pg *p, const char *message);
/* Deallocates nothing (the connection goes with them): forgets the cached statements. */
void pg_stmts_free(pg *p);

/* A value of a result: the text (NULL when null), the integer (0 when null). */
const char *pg_text(const PGresult *r, int row, int col);
int64_t pg_int(const PGresult *r, int row, int col);

/* Gives column 0 (text) and column 1 (an integer, when there is one; else 0) of each row
 * of r to fn and clears r; walk: every row, one: the first. Walk: the rows given, or -1;
 * one: 1 a row, 0 none, -1. */
int pg_walk(PGresult *r, store_row_fn fn, void *ud);
int pg_one(PGresult *r, store_row_fn fn, void *ud);
/* The integer in column 0 of r's first row into *out (untouched when none); clears r.
 * 1 a row, 0 none, -1. */
int pg_one_int(PGresult *r, int64_t *out);

/* A new handle connected to url (read only when reader). NULL with err set. */
pg *pg_connect(const char *url, bool reader, char *err, size_t errsz);
/* Connects p again when its connection was lost (PostgreSQL restarted), forgetting its
 * prepared statements. 0 (connected) or -1. */
int pg_reconnect(pg *p);

/* store_ops.open, open_reader, close, error, reader_open, reader_close. */
store *pg_open(const char *url, const store_seed *seed, char *err, size_t errsz);
store *pg_open_reader(store *s, char *err, size_t errsz);
void pg_close(store *s);
const char *pg_error(store *s);
store *pg_reader_open(store *s);
void pg_reader_close(store *r);

/* The operations of store_pg_more.c (marketd/store.h). */
int pg_ref_window(store *s, const char *category, const char *currency, int64_t *total,
                  int64_t *ring, int size);
int pg_ref_put(store *s, const char *category, const char *currency, int64_t slot, int64_t price,
               int64_t total);
int pg_balance_add(store *s, const char *account, int64_t delta);
int pg_balances_each(store *s, store_row_fn fn, void *ud);
int pg_token_put(store *s, const char *hash, const char *agent_id);
int pg_token_agent(store *s, const char *hash, store_row_fn fn, void *ud);
int pg_fault_put(store *s, const store_fault *f);
int pg_faults_each(store *s, store_fault_fn fn, void *ud);
int pg_purchases_window(store *s, const char *buyer, int64_t since, int64_t *count, int64_t *sum);
int pg_purchases_recent(store *s, int max, store_row_fn fn, void *ud);
int pg_purchases_history(store *s, const char *buyer, int64_t before_ord, int64_t since, int max,
                         int (*fn)(void *ud, int64_t at, int64_t total), void *ud);
/* store_ops.agent_stats (store_pg_stats.c). */
int pg_agent_stats(store *s, store_stats_q *q);
int pg_outbox_put(store *s, const char *event_id, const char *url, const char *body, int64_t at);
int pg_outbox_due(store *s, int64_t now, int max, store_row_fn fn, void *ud);
int pg_outbox_next(store *s, int64_t *at, int64_t *pending);
int pg_outbox_done(store *s, int64_t n, int64_t at);
int pg_outbox_retry(store *s, int64_t n, int64_t next_at);

/* The operations of several instances on one database (store_pg_multi.c). */
int pg_tx_lock(store *s, int64_t *seq, int64_t *now);
int pg_tx_seq_set(store *s, int64_t seq);
store *pg_listen_open(store *s, char *err, size_t errsz);
int pg_listen_wait(store *l, int wake_fd, int timeout_ms);
int pg_leader_try(store *l);
store *pg_rate_open(store *s, char *err, size_t errsz);
int pg_rate_take(store *w, const char *key, double rate, double burst, double *tokens);
int pg_presence_put(store *s, const char *instance, const char *op, int64_t consoles,
                    int64_t idle_ms);
int pg_presence_beat(store *s, const char *instance);
int pg_presence_each(store *s, int64_t ttl_ms, int64_t *now,
                     int (*fn)(void *ud, const char *op, int64_t consoles, int64_t last_input),
                     void *ud);

#endif
