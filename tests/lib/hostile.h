/* hostile.h: the hostile-text corpus ($TESTDATA/hostile-text.txt) as raw byte strings.
 *
 * Each line of the file is NAME, a tab, then text with escapes: \xNN one raw byte,
 * \u{H} one code point (UTF-8 encoded), \\ a backslash; \r \n \t as in C (the corpus
 * uses them in cr_overwrite and tab_newline_title). Lines starting with '#' and
 * blank lines are skipped.
 */
#ifndef DEALDESK_TESTS_HOSTILE_H
#define DEALDESK_TESTS_HOSTILE_H

#include <stddef.h>

typedef struct hostile_case {
    char name[64];
    char *bytes; /* owned, NUL-terminated (may also hold NULs inside: use len) */
    size_t len;
} hostile_case;

/* Loads the corpus from $TESTDATA/hostile-text.txt (or path when not NULL). Returns the
 * number of cases and sets *out (owned; free with hostile_free), or -1 on error. */
int hostile_load(const char *path, hostile_case **out);
void hostile_free(hostile_case *cases, int n);

/* Decodes one escaped text (the part after the tab) into raw bytes; returns the owned
 * buffer and its length in *len, or NULL on a malformed escape. */
char *hostile_unescape(const char *text, size_t *len);

#endif
