/* store_sqlite_search.c: how a search (q=, docs/api.md: a substring of the searchable
 * text) is asked of a kind's trigram index (search_KIND, store_sqlite_schema.c).
 *
 * The phrase of every trigram of the text is exact, but FTS5 reads the doclist of each
 * of its trigrams along the way: at 1M listings "lot 54321" walks "lot" and "ot " (in
 * every row) to find 11 rows, 50-200 ms. A text of more than SEARCH_LEAD_TERMS trigrams
 * is asked instead by its rarest ones (an AND of them: FTS5 seeks each doclist past the
 * others' rowids, a few ms), and every candidate is confirmed by instr() over the row's
 * own text (objects.st, what the index holds). How rare a trigram is: how far back its
 * SEARCH_PROBE_ROWS-th newest row lies (a read of that many rowids, well under 1 ms).
 * Only trigrams of three ASCII bytes are chosen: three ASCII bytes are three characters
 * of the trigram tokenizer whatever surrounds them, so every row holding the text holds
 * them. A text without one is asked as the phrase. */
#include <stdio.h>
#include <string.h>

#include "marketd/store_sqlite.h"

#define SEARCH_LEAD_TERMS 3  /* trigrams ANDed to find the candidates */
#define SEARCH_PROBES     32 /* distinct trigrams probed at most (the first ones) */
#define SEARCH_PROBE_ROWS 64 /* newest rows a probe reads */

/* A trigram and how rare it is: rows among its newest SEARCH_PROBE_ROWS (fewer: that is
 * all of them), and the span of order they cover (wider: rarer). */
typedef struct probe {
    char t[4];
    int64_t n, span;
} probe;

/* Appends text as one FTS5 string (in double quotes, a double quote doubled) to out,
 * which holds *len bytes of size. */
static void add_string(char *out, size_t size, size_t *len, const char *text, size_t n)
{
    if (*len + 2 * n + 3 > size)
        return;
    out[(*len)++] = '"';
    for (size_t i = 0; i < n && text[i]; i++) {
        if (text[i] == '"')
            out[(*len)++] = '"';
        out[(*len)++] = text[i];
    }
    out[(*len)++] = '"';
    out[*len] = '\0';
}

/* The distinct trigrams of three ASCII bytes of q, at most max, into t. How many. */
static int ascii_trigrams(const char *q, probe *t, int max)
{
    int n = 0;
    size_t len = strlen(q);
    for (size_t i = 0; i + 3 <= len && n < max; i++) {
        const unsigned char *c = (const unsigned char *)q + i;
        if (c[0] >= 0x80 || c[1] >= 0x80 || c[2] >= 0x80)
            continue;
        int k = 0;
        while (k < n && memcmp(t[k].t, c, 3) != 0)
            k++;
        if (k == n) {
            memcpy(t[n].t, c, 3);
            t[n].t[3] = '\0';
            t[n].n = t[n].span = 0;
            n++;
        }
    }
    return n;
}

/* Reads how rare trigram p is in kind's index (see probe). 0 or -1. */
static int probe_one(sq *s, const char *kind, probe *p)
{
    char sql[256], term[16];
    size_t len = 0;
    snprintf(sql, sizeof sql,
             "SELECT count(*), ifnull(max(r)-min(r),0) FROM (SELECT rowid AS r FROM search_%s "
             "WHERE search_%s MATCH ?1 ORDER BY rowid DESC LIMIT %d)",
             kind, kind, SEARCH_PROBE_ROWS);
    add_string(term, sizeof term, &len, p->t, 3);
    sqlite3_stmt *st = sq_stmt(s, sql, "t", term);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        p->n = sqlite3_column_int64(st, 0);
        p->span = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

/* True when a is rarer than b. */
static bool rarer(const probe *a, const probe *b)
{
    return a->n < b->n || (a->n == b->n && a->span > b->span);
}

/* Sorts the probes rarest first (a handful: insertion). */
static void sort_probes(probe *t, int n)
{
    for (int i = 1; i < n; i++)
        for (int k = i; k > 0 && rarer(&t[k], &t[k - 1]); k--) {
            probe x = t[k];
            t[k] = t[k - 1];
            t[k - 1] = x;
        }
}

int sq_search_plan(sq *s, const char *kind, const char *q, char *match, size_t size, bool *confirm)
{
    probe t[SEARCH_PROBES];
    size_t len = 0;
    int n = ascii_trigrams(q, t, SEARCH_PROBES);
    match[0] = '\0';
    *confirm = false;
    if (n == 0 || (n == 1 && strlen(q) == 3)) { /* the phrase: exact */
        add_string(match, size, &len, q, strlen(q));
        return 0;
    }
    if (n > SEARCH_LEAD_TERMS) {
        for (int i = 0; i < n; i++)
            if (probe_one(s, kind, &t[i]) < 0)
                return -1;
        sort_probes(t, n);
        n = SEARCH_LEAD_TERMS;
    }
    for (int i = 0; i < n; i++) {
        if (i) {
            snprintf(match + len, size - len, " AND ");
            len += strlen(match + len);
        }
        add_string(match, size, &len, t[i].t, 3);
    }
    *confirm = true;
    return 0;
}
