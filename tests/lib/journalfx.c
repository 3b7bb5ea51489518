/* journalfx.c: see journalfx.h. */
#include "tests/lib/journalfx.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "api/clock.h"
#include "api/config.h"
#include "api/journal.h"

/* Opens the run's journal (the caller closes it and frees cfg). */
static journal *open_journal(config *cfg)
{
    char path[4096], err[256];
    config_init(cfg);
    assert_int_equal(config_journal_path(cfg, path, sizeof path), 0);
    journal *j = journal_open(path, err, sizeof err);
    if (!j)
        fail_msg("journal %s: %s", path, err);
    return j;
}

void journalfx_left(const char *action, const char *subject, int64_t version, const char *body,
                    const char *epoch, const char *op, char *key)
{
    config cfg;
    journal *j = open_journal(&cfg);
    char text[512];
    snprintf(text, sizeof text, "%s", body);
    journal_entry e = {.at_ms = clock_wall_ms() / 1000 * 1000, .version = version, .body = text};
    assert_int_equal(journal_new_key(e.key, sizeof e.key), 0);
    snprintf(e.action, sizeof e.action, "%s", action);
    snprintf(e.subject, sizeof e.subject, "%.64s", subject);
    snprintf(e.epoch, sizeof e.epoch, "%s", epoch);
    snprintf(e.operator_name, sizeof e.operator_name, "%s", op);
    assert_int_equal(journal_append(j, &e), 0);
    if (key)
        snprintf(key, JOURNAL_KEY_MAX + 1, "%s", e.key);
    journal_close(j);
    config_free(&cfg);
}

bool journalfx_unsettled(const char *key)
{
    config cfg;
    journal *j = open_journal(&cfg);
    journal_entry *e;
    size_t n;
    assert_int_equal(journal_unsettled(j, clock_wall_ms(), &e, &n, NULL), 0);
    bool found = false;
    for (size_t i = 0; i < n; i++)
        found = found || !strcmp(e[i].key, key);
    journal_entries_free(e, n);
    journal_close(j);
    config_free(&cfg);
    return found;
}
