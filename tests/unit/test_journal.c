/* test_journal.c: the decision journal: entries survive, settling removes them, a torn
 * last line is ignored, old entries are settled instead of replayed, keys are fresh,
 * and nothing in it resembles a token. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "api/journal.h"

/* A fresh journal path under TEST_TMP. */
static void path_for(const char *name, char *out, size_t size)
{
    const char *t = getenv("TEST_TMP");
    snprintf(out, size, "%s/journal-test/%s/journal", t ? t : "/tmp", name);
}

static void test_append_settle(void **state)
{
    (void)state;
    char path[512], err[256];
    path_for("a", path, sizeof path);
    journal *j = journal_open(path, err, sizeof err);
    assert_non_null(j);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 077, 0);
    char body[] = "{\"reason\":\"x\"}";
    journal_entry e = {.at_ms = 1000000, .version = 3, .body = body};
    const int64_t now = 1000000 + 1000;
    for (int i = 0; i < 3; i++) {
        snprintf(e.key, sizeof e.key, "key%d", i);
        snprintf(e.action, sizeof e.action, "veto");
        snprintf(e.subject, sizeof e.subject, "pur_%d", i);
        assert_int_equal(journal_append(j, &e), 0);
    }
    assert_int_equal(journal_settle(j, "key1", 200), 0);
    journal_entry *v;
    size_t n, bad;
    assert_int_equal(journal_unsettled(j, now, &v, &n, &bad), 0);
    assert_int_equal(n, 2);
    assert_int_equal(bad, 0);
    assert_string_equal(v[0].key, "key0");
    assert_string_equal(v[1].key, "key2");
    assert_string_equal(v[1].subject, "pur_2");
    assert_int_equal(v[1].version, 3);
    assert_string_equal(v[1].body, "{\"reason\":\"x\"}");
    journal_entries_free(v, n);
    /* A field that would break the line format is refused. */
    snprintf(e.key, sizeof e.key, "k\tx");
    assert_int_equal(journal_append(j, &e), -1);
    journal_close(j);

    /* Reopened (a new run): the same entries; a torn line is skipped. */
    FILE *f = fopen(path, "a");
    fputs("D\tkeyT\t1000000\tveto\tpur_9\t1\t{\"rea", f);
    fclose(f);
    j = journal_open(path, err, sizeof err);
    assert_int_equal(journal_unsettled(j, now, &v, &n, &bad), 0);
    assert_int_equal(n, 2);
    assert_int_equal(bad, 1);
    journal_entries_free(v, n);
    /* A day later they are settled as expired, not replayed. */
    assert_int_equal(journal_unsettled(j, now + JOURNAL_REPLAY_WINDOW_MS, &v, &n, NULL), 0);
    assert_int_equal(n, 0);
    journal_entries_free(v, n);
    assert_int_equal(journal_unsettled(j, now, &v, &n, NULL), 0);
    assert_int_equal(n, 0);
    journal_entries_free(v, n);
    journal_close(j);
}

static void test_keys(void **state)
{
    (void)state;
    char a[64], b[64];
    assert_int_equal(journal_new_key(a, sizeof a), 0);
    assert_int_equal(journal_new_key(b, sizeof b), 0);
    assert_int_equal(strlen(a), 35);
    assert_int_equal(strncmp(a, "dd_", 3), 0);
    assert_string_not_equal(a, b);
    for (const char *p = a + 3; *p; p++)
        assert_non_null(strchr("0123456789abcdef", *p));
    assert_int_equal(journal_new_key(a, 10), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_settle),
        cmocka_unit_test(test_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
