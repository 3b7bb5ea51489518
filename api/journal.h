/* journal.h: the append-only record of decisions sent, so that none is lost or doubled.
 *
 * Before a decision is sent, a line with its Idempotency-Key, action, subject, If-Match
 * version and body is appended and fsynced; when the server answers (any HTTP status),
 * a settling line follows. At start, entries without a settling line are sent again with
 * the same key: the server answers a repeat with its first answer. Lines are
 * tab-separated, end with a checksum (a line torn by a crash is skipped) and never hold
 * the token:
 *
 *     D <key> <ms> <action> <subject|-> <version> <body> <fnv1a>
 *     R <key> <http status> <ms> <fnv1a>
 */
#ifndef DEALDESK_API_JOURNAL_H
#define DEALDESK_API_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#define JOURNAL_KEY_MAX 64

/* Idempotency keys are kept by the server for at least 24 h; older unsettled entries are
 * not replayed (the answer may be gone) but settled as expired. */
#define JOURNAL_REPLAY_WINDOW_MS (24LL * 3600 * 1000)

typedef struct journal_entry {
    char key[JOURNAL_KEY_MAX + 1];
    int64_t at_ms; /* wall clock when journaled */
    char action[24];
    char subject[65]; /* "" for the fleet */
    int64_t version;  /* If-Match; 0 none */
    char *body;       /* owned, one line of JSON */
} journal_entry;

typedef struct journal journal;

/* Opens (creating folders and the file, mode 0600) the journal at path. Returns an owned
 * journal, or NULL with a message in err. */
journal *journal_open(const char *path, char *err, size_t errsz);
void journal_close(journal *j);

/* Appends an entry and fsyncs. Returns 0 or -1 (errno set). */
int journal_append(journal *j, const journal_entry *e);

/* Appends the settling line of key and fsyncs. Returns 0 or -1. */
int journal_settle(journal *j, const char *key, int http_status);

/* Reads the whole journal and returns the entries not settled (owned array: free with
 * journal_entries_free). Entries older than JOURNAL_REPLAY_WINDOW_MS before now_ms are
 * settled (status 0) instead. Malformed lines are skipped and counted in *bad (may be
 * NULL). Returns 0 or -1. */
int journal_unsettled(journal *j, int64_t now_ms, journal_entry **out, size_t *n, size_t *bad);
void journal_entries_free(journal_entry *e, size_t n);

/* Writes a fresh Idempotency-Key ("dd_" and 32 hex digits from getrandom()) into out
 * (at least 36 bytes). Returns 0, or -1 when the system has no secure random source. */
int journal_new_key(char *out, size_t size);

#endif
