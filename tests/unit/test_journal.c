/* test_journal.c: the decision journal: entries survive, settling removes them, a torn
 * last line is ignored, old entries are settled instead of replayed, keys are fresh,
 * and nothing in it resembles a token; every entry is bound to a market and an operator
 * (an unbound one is refused; lines of older versions read as unbound); compaction drops
 * settled entries older than the idempotency window, crash-safely, and never while
 * another process has the journal open; an entry a session took over is live while that
 * session runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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
    snprintf(e.epoch, sizeof e.epoch, "00aa11bb22cc33dd");
    snprintf(e.operator_name, sizeof e.operator_name, "sup1");
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
    assert_string_equal(v[1].epoch, "00aa11bb22cc33dd");
    assert_string_equal(v[1].operator_name, "sup1");
    journal_entries_free(v, n);
    /* A field that would break the line format is refused. */
    snprintf(e.key, sizeof e.key, "k\tx");
    assert_int_equal(journal_append(j, &e), -1);
    journal_close(j);

    /* Reopened (a new run) while another holds it open (so no compaction drops the torn
     * line first): the same entries; a torn line is skipped. */
    journal *other = journal_open(path, err, sizeof err);
    assert_non_null(other);
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
    journal_close(other);
}

/* Every entry names its market and operator: one without either is refused (it could
 * later be sent anywhere); a D line of an older version (no epoch, no operator) reads as
 * unbound, so that no market ever matches it. */
static void test_binding(void **state)
{
    (void)state;
    char path[512], err[256];
    path_for("bind", path, sizeof path);
    journal *j = journal_open(path, err, sizeof err);
    assert_non_null(j);
    char body[] = "{\"reason\":\"x\"}";
    journal_entry e = {.at_ms = 5000, .version = 1, .body = body};
    snprintf(e.key, sizeof e.key, "kb1");
    snprintf(e.action, sizeof e.action, "halt");
    assert_int_equal(journal_append(j, &e), -1); /* no market, no operator */
    snprintf(e.epoch, sizeof e.epoch, "e1");
    assert_int_equal(journal_append(j, &e), -1); /* no operator */
    snprintf(e.operator_name, sizeof e.operator_name, "alice smith");
    assert_int_equal(journal_append(j, &e), 0);
    journal_close(j);
    /* A line as older versions wrote it, checksum and all. */
    FILE *f = fopen(path, "a");
    const char *legacy = "D\tkold\t5000\tveto\tpur_1\t1\t{\"reason\":\"y\"}";
    uint32_t h = 2166136261u;
    for (const char *p = legacy; *p; p++) {
        h ^= (unsigned char)*p;
        h *= 16777619u;
    }
    fprintf(f, "%s\t%08x\n", legacy, h);
    fclose(f);
    j = journal_open(path, err, sizeof err);
    journal_entry *v;
    size_t n, bad;
    assert_int_equal(journal_unsettled(j, 6000, &v, &n, &bad), 0);
    assert_int_equal(n, 2);
    assert_int_equal(bad, 0);
    assert_string_equal(v[0].action, "halt");
    assert_string_equal(v[0].subject, "");
    assert_string_equal(v[0].epoch, "e1");
    assert_string_equal(v[0].operator_name, "alice smith");
    assert_string_equal(v[1].key, "kold");
    assert_string_equal(v[1].epoch, "");
    assert_string_equal(v[1].operator_name, "");
    assert_string_equal(v[1].body, "{\"reason\":\"y\"}");
    journal_entries_free(v, n);
    journal_close(j);
}

/* Appends a bound entry with key at at_ms. */
static void add(journal *j, const char *key, int64_t at_ms)
{
    char body[] = "{}";
    journal_entry e = {.at_ms = at_ms, .version = 1, .body = body};
    snprintf(e.key, sizeof e.key, "%s", key);
    snprintf(e.action, sizeof e.action, "release");
    snprintf(e.subject, sizeof e.subject, "neg_1");
    snprintf(e.epoch, sizeof e.epoch, "ep");
    snprintf(e.operator_name, sizeof e.operator_name, "sup1");
    assert_int_equal(journal_append(j, &e), 0);
}

/* Settles key and compacts path far in the future: the entry, its R and T lines go. */
static void j_settle_old(const char *path, const char *key)
{
    char err[256], text[4096] = "";
    journal *j = journal_open(path, err, sizeof err);
    assert_non_null(j);
    assert_int_equal(journal_settle(j, key, 200), 0);
    journal_close(j);
    int64_t later = (int64_t)time(NULL) * 1000 + 2 * JOURNAL_IDEMPOTENCY_WINDOW_MS;
    assert_int_equal(journal_compact_file(path, later), 3); /* D, T, R */
    FILE *f = fopen(path, "r");
    size_t len = fread(text, 1, sizeof text - 1, f);
    text[len] = '\0';
    fclose(f);
    assert_null(strstr(text, key));
}

/* Compaction: settled entries older than the window go (D and R lines), unsettled ones
 * stay whatever their age, recent settled ones stay; nothing to drop leaves the file as
 * it is (same inode); a crash before the rename leaves the old file whole (a stale
 * .compact is overwritten next time). */
static void test_compaction(void **state)
{
    (void)state;
    char path[512], err[256], tmp[600];
    path_for("compact", path, sizeof path);
    journal *j = journal_open(path, err, sizeof err);
    assert_non_null(j);
    const int64_t W = JOURNAL_IDEMPOTENCY_WINDOW_MS, now = 10 * W;
    add(j, "old_settled", now - W - 1000);
    add(j, "old_unsettled", now - W - 1000);
    add(j, "new_settled", now - 1000);
    add(j, "new_unsettled", now - 1000);
    assert_int_equal(journal_settle(j, "old_settled", 200), 0);
    assert_int_equal(journal_settle(j, "new_settled", 409), 0);
    journal_close(j);
    FILE *f = fopen(path, "a");
    fputs("garbage line\n", f);
    fclose(f);
    /* A crash mid-compaction left a half-written new file: it is not the journal. */
    snprintf(tmp, sizeof tmp, "%s.compact", path);
    f = fopen(tmp, "w");
    fputs("D\thalf", f);
    fclose(f);
    chmod(tmp, 0644);
    assert_int_equal(journal_compact_file(path, now), 3); /* old D + R, garbage */
    assert_int_equal(access(tmp, F_OK), -1);              /* renamed away */
    char text[4096] = "";
    f = fopen(path, "r");
    size_t len = fread(text, 1, sizeof text - 1, f);
    text[len] = '\0';
    fclose(f);
    assert_null(strstr(text, "old_settled"));
    assert_null(strstr(text, "garbage"));
    assert_non_null(strstr(text, "old_unsettled"));
    assert_non_null(strstr(text, "\tnew_settled\t409"));
    assert_non_null(strstr(text, "new_unsettled"));
    struct stat a, b;
    assert_int_equal(stat(path, &a), 0);
    assert_int_equal(a.st_mode & 077, 0);
    assert_int_equal(journal_compact_file(path, now), 0); /* nothing more to drop */
    assert_int_equal(stat(path, &b), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    /* What is left reads the same: two unsettled entries. */
    j = journal_open(path, err, sizeof err);
    journal_entry *v;
    size_t n;
    assert_int_equal(journal_unsettled(j, now, &v, &n, NULL), 0);
    journal_entries_free(v, n);
    journal_close(j);
}

/* journal_open compacts (at the wall clock) only when no other process has the journal
 * open: an open journal's descriptor must never point at a renamed-away file. */
static void test_compaction_waits_for_others(void **state)
{
    (void)state;
    char path[512], err[256];
    path_for("compact-open", path, sizeof path);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000;
    journal *j = journal_open(path, err, sizeof err);
    add(j, "ancient", now - JOURNAL_IDEMPOTENCY_WINDOW_MS - 60000);
    assert_int_equal(journal_settle(j, "ancient", 200), 0);
    struct stat a, b;
    assert_int_equal(stat(path, &a), 0);
    /* Another holder (flock is per open file description): a second open must not
     * compact while the first is open. The flock is taken in a child so that it is
     * another process's, as with two consoles. */
    pid_t pid = fork();
    if (pid == 0) {
        journal *j2 = journal_open(path, err, sizeof err);
        _exit(j2 ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(stat(path, &b), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    journal_close(j);
    /* Alone now: the next open compacts. */
    j = journal_open(path, err, sizeof err);
    assert_non_null(j);
    assert_int_equal(stat(path, &b), 0);
    assert_true(a.st_ino != b.st_ino);
    assert_true(b.st_size == 0);
    journal_close(j);
}

/* A key names its session: live while that journal is open (another console's decision
 * in flight is not "left behind"), not once it is closed or its process died. */
static void test_sessions(void **state)
{
    (void)state;
    char path[512], err[256], k1[64], k2[64], plain[64];
    path_for("sessions", path, sizeof path);
    journal *j1 = journal_open(path, err, sizeof err);
    journal *j2 = journal_open(path, err, sizeof err);
    assert_non_null(j1);
    assert_non_null(j2);
    assert_int_equal(journal_session_key(j1, k1, sizeof k1), 0);
    assert_int_equal(journal_session_key(j2, k2, sizeof k2), 0);
    assert_int_equal(strlen(k1), 36);
    assert_int_equal(strncmp(k1, "dd_", 3), 0);
    assert_int_not_equal(strncmp(k1, k2, 12), 0); /* two sessions */
    assert_true(journal_key_live(j2, k1));
    assert_true(journal_key_live(j1, k1));
    assert_int_equal(journal_new_key(plain, sizeof plain), 0);
    assert_false(journal_key_live(j2, plain));
    journal_close(j1);
    assert_false(journal_key_live(j2, k1));
    /* A process that dies without closing: its session ends with it. */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        journal *jc = journal_open(path, err, sizeof err);
        char kc[64] = "";
        if (jc)
            journal_session_key(jc, kc, sizeof kc);
        ssize_t w = write(fds[1], kc, sizeof kc);
        _exit(w == (ssize_t)sizeof kc ? 0 : 1);
    }
    char kc[64];
    assert_int_equal(read(fds[0], kc, sizeof kc), (ssize_t)sizeof kc);
    int status;
    waitpid(pid, &status, 0);
    close(fds[0]);
    close(fds[1]);
    assert_int_equal(strlen(kc), 36);
    assert_false(journal_key_live(j2, kc));
    journal_close(j2);
    /* Live files left by processes that died are swept when no session runs. */
    char lp[600];
    snprintf(lp, sizeof lp, "%s.live.0badc0de", path);
    FILE *f = fopen(lp, "w");
    assert_non_null(f);
    fclose(f);
    journal *j3 = journal_open(path, err, sizeof err);
    assert_non_null(j3);
    assert_int_equal(access(lp, F_OK), -1);
    journal_close(j3);
}

/* The live entry of (key) in j's unsettled list: -1 when not unsettled, else 0 or 1. */
static int entry_live(journal *j, const char *key)
{
    journal_entry *v;
    size_t n;
    int live = -1;
    assert_int_equal(journal_unsettled(j, (int64_t)time(NULL) * 1000, &v, &n, NULL), 0);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i].key, key))
            live = journal_entry_live(j, &v[i]) ? 1 : 0;
    journal_entries_free(v, n);
    return live;
}

/* A session that sends again an entry of a session that ended takes it over (T line):
 * the entry is live while the taker runs, left behind again once it ends; compaction
 * keeps the T line with its entry and drops it with it. */
static void test_take_over(void **state)
{
    (void)state;
    char path[512], err[256], key[64], text[4096] = "";
    path_for("takeover", path, sizeof path);
    journal *dead = journal_open(path, err, sizeof err);
    assert_non_null(dead);
    assert_int_equal(journal_session_key(dead, key, sizeof key), 0);
    add(dead, key, (int64_t)time(NULL) * 1000);
    journal_close(dead); /* its session ended: the entry is left behind */
    journal *a = journal_open(path, err, sizeof err), *b = journal_open(path, err, sizeof err);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(entry_live(b, key), 0);
    assert_int_equal(journal_take_over(a, key), 0);
    assert_int_equal(entry_live(b, key), 1); /* in flight in a */
    assert_int_equal(entry_live(a, key), 1);
    journal_close(a);
    assert_int_equal(entry_live(b, key), 0); /* a ended without an answer */
    journal_close(b);
    assert_int_equal(journal_compact_file(path, (int64_t)time(NULL) * 1000), 0);
    FILE *f = fopen(path, "r");
    size_t len = fread(text, 1, sizeof text - 1, f);
    text[len] = '\0';
    fclose(f);
    assert_non_null(strstr(text, "\nT\t"));
    j_settle_old(path, key);
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
        cmocka_unit_test(test_append_settle), cmocka_unit_test(test_keys),
        cmocka_unit_test(test_binding),       cmocka_unit_test(test_sessions),
        cmocka_unit_test(test_compaction),    cmocka_unit_test(test_compaction_waits_for_others),
        cmocka_unit_test(test_take_over),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
