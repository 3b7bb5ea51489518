/* test_console_replay.c: recording and replaying (issue 12, "replay and the demo").
 *
 * One real recording for the group: a market whose purchases wait 6 s, a thread opened
 * before the recording starts (its message is not in the recording), then `dealdesk
 * --record FILE tail` while a listing and, after the tail has printed it, a purchase are
 * made; the tail is stopped and the purchase's deadline passes on the wall clock. Then:
 * the record file is 0600; replaying says REPLAY with the speed and the position, then
 * `replay finished`, never live or OFFLINE; deadlines count on the recording's clock (the
 * purchase shows its seconds left, not 0:00); the thread's missing history says it is
 * not in the recording; a file that is not a recording is refused with a non-zero exit,
 * headless and in the console. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/e2e.h"
#include "tests/lib/proc.h"

#define WAIT_MS 15000

typedef struct rig {
    e2e_market m;
    char rec[600];   /* the recording */
    char neg0[65];   /* a thread opened before the recording started */
    char pur[65];    /* a purchase made while recording, expired since */
    mode_t rec_mode; /* the record file's mode as the tail left it */
} rig;

/* Waits up to ms until the tail's output holds the server's latest seq. */
static bool tail_caught_up(rig *r, const char *out, int ms)
{
    int64_t want = testsrv_seq(&r->m.srv), deadline = tproc_now_ms() + ms;
    while (tproc_last_seq(out, NULL) < want && tproc_now_ms() < deadline)
        tproc_nap(20);
    return tproc_last_seq(out, NULL) >= want;
}

/* Lists lamps until the tail prints one: its snapshot is taken and it streams (a lamp
 * listed before the snapshot is in it, not printed). Each lamp is given twice as long
 * as the last to show, so that a slow tail (ASan, a loaded machine) is caught up with,
 * not outrun by lamps every 300 ms. */
static bool tail_streaming(rig *r, const char *out)
{
    int64_t deadline = tproc_now_ms() + WAIT_MS;
    int ms = 300;
    while (tproc_now_ms() < deadline) {
        char l[65];
        if (e2e_listing(&r->m, &r->m.seller, "Wall lamp", 9, "home", 1500, 1, l) / 100 != 2)
            return false;
        if (tail_caught_up(r, out, ms))
            return true;
        ms *= 2;
    }
    return false;
}

/* Makes the group's recording (see the top of the file). */
static int group_setup(void **state)
{
    static rig r;
    if (e2e_market_start(&r.m, "--decide-timeout 6") < 0)
        return -1;
    char l0[65];
    if (e2e_listing(&r.m, &r.m.seller, "Gravel bike", 11, "bikes", 70000, 1, l0) / 100 != 2 ||
        e2e_offer(&r.m, &r.m.buyer, l0, 65000, 1, "Would you take 650?", 19, r.neg0) / 100 != 2)
        return -1;
    const char *tmp = getenv("TEST_TMP");
    char out[600], err[600];
    snprintf(r.rec, sizeof r.rec, "%s/replay-test.rec", tmp);
    snprintf(out, sizeof out, "%s/replay-test.out", tmp);
    snprintf(err, sizeof err, "%s/replay-test.err", tmp);
    const char *args[] = {"--url",    r.m.srv.url, "--token-file", r.m.sup1_file,
                          "--record", r.rec,       "tail",         NULL};
    mode_t old = umask(022); /* what most shells have: a plain fopen would give 0644 */
    pid_t pid = tproc_spawn_dealdesk(args, out, err);
    umask(old);
    char neg[65];
    bool ok = tail_streaming(&r, out);
    /* the purchase's events get a later `at` than the lamp's (the same host clock): at
     * speed 0.001 every millisecond between them is a second of replay */
    int64_t lamp_at = tproc_now_ms();
    while (tproc_now_ms() < lamp_at + 20)
        tproc_nap(5);
    ok = ok && e2e_purchase(&r.m, "Road bike", "bikes", 45000, 1, r.pur, neg) == 0 &&
         tail_caught_up(&r, out, WAIT_MS);
    tproc_stop_child(pid);
    struct stat st;
    if (!ok || stat(r.rec, &st) < 0) {
        char e[2048];
        tproc_slurp(err, e, sizeof e);
        fprintf(stderr, "replay test: the recording could not be made; tail said: %s\n", e);
        e2e_market_stop(&r.m);
        return -1;
    }
    r.rec_mode = st.st_mode & 0777;
    /* the deadline passes on the wall clock (the server expires it) */
    char status[32] = "";
    int64_t deadline = tproc_now_ms() + WAIT_MS;
    while (strcmp(status, "expired") != 0 && tproc_now_ms() < deadline) {
        tproc_nap(50);
        e2e_purchase_status(&r.m, r.pur, status, sizeof status, NULL);
    }
    if (strcmp(status, "expired") != 0) {
        fprintf(stderr, "replay test: %s is %s, not expired\n", r.pur, status);
        e2e_market_stop(&r.m);
        return -1;
    }
    *state = &r;
    return 0;
}

static int group_teardown(void **state)
{
    rig *r = *state;
    if (r)
        e2e_market_stop(&r->m);
    return 0;
}

/* dealdesk replay FILE [more args] in a rows x cols pty. */
static vt *replay_console(const char *file, int rows, int cols, const char *speed)
{
    const char *argv[] = {getenv("DEALDESK_BIN"), "replay", file, "--speed", speed, NULL};
    const char *env[] = {"LANG=C.UTF-8", "LC_ALL=C.UTF-8", NULL};
    vt *t = vt_spawn(rows, cols, argv, env);
    assert_non_null(t);
    return t;
}

/* Reads "event K/N" from the header: K and N, false when not shown. */
static bool position(vt *t, long *k, long *n)
{
    char row[512];
    vt_row(t, 0, row, sizeof row);
    const char *p = strstr(row, "event ");
    return p && sscanf(p, "event %ld/%ld", k, n) == 2;
}

/* True while the replay plays: REPLAY with its speed, and a position short of the end. */
static bool playing(vt *t, void *ud)
{
    (void)ud;
    long k, n;
    return vt_contains(t, "REPLAY 0.001\xc3\x97") && position(t, &k, &n) && k >= 1 && k < n;
}

/* True when the replay says it is finished at its last event. */
static bool finished(vt *t, void *ud)
{
    (void)ud;
    long k, n;
    return vt_contains(t, "replay finished") && position(t, &k, &n) && k == n && n > 0;
}

/* Asserts that the header says nothing a replay is not: live, OFFLINE, reconnecting. */
static void assert_not_a_connection(vt *t)
{
    char row[512];
    vt_row(t, 0, row, sizeof row);
    if (strstr(row, "live") || strstr(row, "OFFLINE") || strstr(row, "connect"))
        fail_msg("a replay's header speaks of a connection: %s", row);
}

/* --record creates its file 0600: it holds the market's addresses and messages. */
static void test_record_file_is_private(void **state)
{
    rig *r = *state;
    assert_int_equal(r->rec_mode, 0600);
}

/* An existing record file that group or others can read is refused (it would be
 * appended to where others can read it): a clear message, a non-zero exit. */
static void test_record_to_a_readable_file_is_refused(void **state)
{
    rig *r = *state;
    const char *tmp = getenv("TEST_TMP");
    char rec[600], out[600], err[600], msg[2048];
    snprintf(rec, sizeof rec, "%s/readable.rec", tmp);
    snprintf(out, sizeof out, "%s/readable.out", tmp);
    snprintf(err, sizeof err, "%s/readable.err", tmp);
    FILE *f = fopen(rec, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(chmod(rec, 0644), 0);
    const char *args[] = {"--url",    r->m.srv.url, "--token-file", r->m.sup1_file,
                          "--record", rec,          "tail",         NULL};
    int rc = tproc_wait_child(tproc_spawn_dealdesk(args, out, err), WAIT_MS);
    tproc_slurp(err, msg, sizeof msg);
    if (rc == 0 || !strstr(msg, "can be read by group or others"))
        fail_msg("--record to a 0644 file: exit %d, stderr: %s", rc, msg);
    struct stat st;
    assert_int_equal(stat(rec, &st), 0);
    assert_int_equal(st.st_size, 0); /* nothing was written to it */
}

/* While playing: REPLAY 0.001× and event K/N; at speed 0: replay finished at N/N. */
static void test_replay_header_says_replay(void **state)
{
    rig *r = *state;
    vt *t = replay_console(r->rec, 24, 80, "0.001");
    if (!vt_wait(t, playing, NULL, WAIT_MS)) {
        vt_dump(t, "waiting for REPLAY 0.001x with a position");
        fail();
    }
    assert_not_a_connection(t);
    e2e_quit(t);

    t = replay_console(r->rec, 24, 80, "0");
    if (!vt_wait(t, finished, NULL, WAIT_MS)) {
        vt_dump(t, "waiting for replay finished");
        fail();
    }
    assert_not_a_connection(t);
    e2e_quit(t);
}

/* True when the purchase's row shows seconds left (0:01..0:06), not 0:00. */
static bool seconds_left(vt *t, void *ud)
{
    const char *pur = ud;
    int r = vt_find_row(t, pur);
    if (r < 0)
        return false;
    char row[512];
    vt_row(t, r, row, sizeof row);
    for (int sec = 1; sec <= 6; sec++) {
        char cd[16];
        snprintf(cd, sizeof cd, "0:%02d", sec);
        if (strstr(row, cd))
            return true;
    }
    return false;
}

/* The purchase's deadline counts on the recording's clock: 6 s from when it was made,
 * seen at the end of the recording; the wall clock (long past it) would say 0:00. */
static void test_replay_deadline_on_the_recording_clock(void **state)
{
    rig *r = *state;
    vt *t = replay_console(r->rec, 24, 80, "0");
    assert_true(e2e_wait(t, "replay finished", WAIT_MS));
    assert_true(e2e_wait(t, r->pur, WAIT_MS));
    if (!vt_wait(t, seconds_left, r->pur, WAIT_MS)) {
        vt_dump(t, "waiting for the purchase's seconds left");
        fail();
    }
    assert_true(e2e_wait(t, "1 pending (next 0:0", WAIT_MS));
    e2e_quit(t);
}

/* A thread's messages from before the recording cannot be fetched: the detail says they
 * are not in the recording instead of loading forever. */
static void test_replay_history_not_in_the_recording(void **state)
{
    rig *r = *state;
    vt *t = replay_console(r->rec, 30, 100, "0");
    assert_true(e2e_wait(t, "replay finished", WAIT_MS));
    vt_send(t, "2");
    assert_true(e2e_wait(t, "THREAD", WAIT_MS));
    vt_send(t, "/");
    vt_send(t, r->neg0);
    vt_send(t, "\r");
    assert_true(e2e_wait(t, r->neg0, WAIT_MS));
    vt_send(t, "\r");
    assert_true(e2e_wait(t, "1 earlier message not in the recording", WAIT_MS));
    assert_false(vt_contains(t, "loading"));
    e2e_quit(t);
}

/* Runs `dealdesk replay FILE --headless`; returns its exit code, stderr into err. */
static int replay_headless(const char *file, char *err, size_t errsz)
{
    const char *tmp = getenv("TEST_TMP");
    char out[600], errp[600];
    snprintf(out, sizeof out, "%s/not-rec.out", tmp);
    snprintf(errp, sizeof errp, "%s/not-rec.err", tmp);
    const char *args[] = {"replay", file, "--speed", "0", "--headless", NULL};
    int rc = tproc_wait_child(tproc_spawn_dealdesk(args, out, errp), WAIT_MS);
    tproc_slurp(errp, err, errsz);
    return rc;
}

/* Headless, a recording plays to its end, exits 0 and says it finished at N/N. */
static void test_headless_replay_says_finished(void **state)
{
    rig *r = *state;
    char err[2048];
    assert_int_equal(replay_headless(r->rec, err, sizeof err), 0);
    long k = -1, n = -2;
    const char *p = strstr(err, "replay finished: event ");
    if (!p || sscanf(p, "replay finished: event %ld/%ld", &k, &n) != 2 || k != n || n <= 0)
        fail_msg("replay --headless said: %s", err);
}

/* /etc/passwd, an empty file and an SSE stream of something else are not recordings:
 * a clear message and a non-zero exit, headless and in the console. */
static void test_not_a_recording_is_refused(void **state)
{
    (void)state;
    const char *tmp = getenv("TEST_TMP");
    char empty[600], other[600], err[2048];
    snprintf(empty, sizeof empty, "%s/empty.rec", tmp);
    snprintf(other, sizeof other, "%s/other.rec", tmp);
    FILE *f = fopen(empty, "w");
    assert_non_null(f);
    fclose(f);
    f = fopen(other, "w");
    assert_non_null(f);
    fputs("event: greeting\ndata: hello\n\n", f);
    fclose(f);
    const char *files[] = {"/etc/passwd", empty, other};
    for (size_t i = 0; i < 3; i++) {
        int rc = replay_headless(files[i], err, sizeof err);
        if (rc == 0 || !strstr(err, "is not a dealdesk recording"))
            fail_msg("replay %s --headless: exit %d, stderr: %s", files[i], rc, err);
    }
    vt *t = replay_console("/etc/passwd", 24, 80, "1");
    assert_true(e2e_wait(t, "is not a dealdesk recording", WAIT_MS));
    int rc = vt_wait_exit(t, 5000);
    assert_true(rc > 0);
    vt_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_file_is_private),
        cmocka_unit_test(test_record_to_a_readable_file_is_refused),
        cmocka_unit_test(test_replay_header_says_replay),
        cmocka_unit_test(test_replay_deadline_on_the_recording_clock),
        cmocka_unit_test(test_replay_history_not_in_the_recording),
        cmocka_unit_test(test_headless_replay_says_finished),
        cmocka_unit_test(test_not_a_recording_is_refused),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
