/* journal.h: the append-only record of decisions sent, so that none is lost or doubled.
 *
 * Before a decision is sent, a line with its Idempotency-Key, action, subject, If-Match
 * version, the market it is for (the server's epoch: one market may be served at several
 * URLs, and one URL may later serve another market), the operator who made it (GET
 * /v1/whoami's name) and its body is appended and fsynced. A settling line follows when
 * the server answers (its HTTP status), when the request certainly never left this
 * machine (JOURNAL_NOT_SENT), or when its outcome is unknown and it must not be sent again
 * (JOURNAL_ABANDONED, JOURNAL_EXPIRED). An entry without a settling line whose session
 * has ended (its key names the session: journal_key_live) has an unknown outcome: the
 * console offers it again, with the same key, only to the same market and operator
 * (api/client_req.c). Lines are tab-separated, end with a checksum (a line torn
 * by a crash is skipped) and never hold the token:
 *
 *     D <key> <ms> <action> <subject|-> <version> <epoch|-> <operator|-> <body> <fnv1a>
 *     R <key> <status> <ms> <fnv1a>
 *     T <key> <session> <ms> <fnv1a>
 *
 * A T line says that a running session took an entry of a session that ended over (it
 * sends it again with the same key): from then on the entry is in flight there, and is
 * left behind again only when that session ends too (journal_entry_live).
 * (D lines of older versions have no epoch and operator: they are never sent again.)
 * Settled entries older than the server's idempotency window are dropped when a journal
 * is opened with no other process using it (write a new file, fsync, rename, fsync the
 * folder: a crash leaves the old file or the new one, never a mix).
 */
#ifndef DEALDESK_API_JOURNAL_H
#define DEALDESK_API_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JOURNAL_KEY_MAX 64

/* Idempotency keys are kept by the server for 48 hours (docs/api.md, "Writing"); the
 * console re-sends an unsettled entry only within the first 24 h (a margin for clocks),
 * older ones are settled as JOURNAL_EXPIRED. Settled entries older than the whole window
 * are dropped by compaction. */
#define JOURNAL_REPLAY_WINDOW_MS      (24LL * 3600 * 1000)
#define JOURNAL_IDEMPOTENCY_WINDOW_MS (48LL * 3600 * 1000)

/* Settling statuses besides HTTP statuses. */
#define JOURNAL_NOT_SENT  0  /* the request never left this machine: nothing happened */
#define JOURNAL_ABANDONED -1 /* outcome unknown; not to be sent again (headless, or declined) */
#define JOURNAL_EXPIRED   -2 /* outcome unknown and too old to re-send safely */

typedef struct journal_entry {
    char key[JOURNAL_KEY_MAX + 1];
    int64_t at_ms; /* wall clock when journaled */
    char action[24];
    char subject[65];       /* "" for the fleet */
    int64_t version;        /* If-Match; 0 none */
    char epoch[65];         /* the market's epoch ("" in lines of older versions) */
    char operator_name[65]; /* whoami's name ("" in lines of older versions) */
    char taken_by[9];       /* the session that took it over (last T line), "" none */
    char *body;             /* owned, one line of JSON */
} journal_entry;

typedef struct journal journal;

/* Opens (creating folders and the file, mode 0600) the journal at path, compacting it
 * first (journal_compact_file, at the wall clock) when no other process has it open: every
 * open journal holds a shared flock on path.lock, and compaction needs it exclusively.
 * Returns an owned journal, or NULL with a message in err. */
journal *journal_open(const char *path, char *err, size_t errsz);

/* Rewrites the journal at path without the settled entries older than
 * JOURNAL_IDEMPOTENCY_WINDOW_MS before now_ms and without malformed lines, crash-safely
 * (path.compact written and fsynced, renamed over path, the folder fsynced). The file is
 * left untouched when nothing is to be dropped. The caller must hold the exclusive lock
 * (journal_open does). Returns the number of lines dropped, or -1 (errno set). */
long journal_compact_file(const char *path, int64_t now_ms);
void journal_close(journal *j);

/* Appends an entry and fsyncs. Returns 0 or -1 (errno set). */
int journal_append(journal *j, const journal_entry *e);

/* Appends the settling line of key (an HTTP status or JOURNAL_*) and fsyncs. Returns 0
 * or -1. */
int journal_settle(journal *j, const char *key, int http_status);

/* Reads the whole journal and returns the entries not settled (owned array: free with
 * journal_entries_free). Entries older than JOURNAL_REPLAY_WINDOW_MS before now_ms are
 * settled (JOURNAL_EXPIRED) instead. Malformed lines are skipped and counted in *bad (may be
 * NULL). Returns 0 or -1. */
int journal_unsettled(journal *j, int64_t now_ms, journal_entry **out, size_t *n, size_t *bad);
void journal_entries_free(journal_entry *e, size_t n);

/* Writes a fresh Idempotency-Key of this journal's session ("dd_", the session's 8 hex
 * digits, "_", 24 random hex digits) into out (at least 37 bytes). Every open journal is
 * a session that holds path.live.<id> flocked until journal_close. Returns 0 or -1. */
int journal_session_key(journal *j, char *out, size_t size);

/* True when key was made by a session that is still running (this one, or another
 * process's open journal): its unsettled entry is in flight there, not left behind.
 * Keys without a session are never live. */
bool journal_key_live(journal *j, const char *key);

/* True when the entry is in flight in a running session: the one that took it over (its
 * last T line), else the one that made its key (journal_key_live). */
bool journal_entry_live(journal *j, const journal_entry *e);

/* Records (T line, fsynced) that this session takes key over: it is about to send an
 * entry of a session that ended again, so other sessions must not offer it while this one
 * runs. Returns 0, or -1 (errno set; EINVAL: this session has no id). */
int journal_take_over(journal *j, const char *key);

/* Writes a fresh Idempotency-Key ("dd_" and 32 hex digits from getrandom()) into out
 * (at least 36 bytes). Returns 0, or -1 when the system has no secure random source. */
int journal_new_key(char *out, size_t size);

#endif
