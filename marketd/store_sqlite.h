/* store_sqlite.h: the SQLite engine's insides, shared by its two files (marketd/store.h).
 *
 *   store_sqlite_schema.c  the file (private, WAL), its migrations, the statement cache
 *   store_sqlite.c         the operations, and the table of them (store_sqlite)
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
/* Executes SQL text without parameters or results. 0 or -1 (logged). */
int sq_exec(sq *q, const char *sql);

/* store_ops.open, close, error. */
store *sq_open(const char *path, const store_seed *seed, char *err, size_t errsz);
store *sq_open_reader(store *s, char *err, size_t errsz);
void sq_close(store *s);
const char *sq_error(store *s);

#endif
