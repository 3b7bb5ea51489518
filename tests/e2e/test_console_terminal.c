/* test_console_terminal.c: the console and its terminal: SIGHUP and a dropped link end
 * it within 2 seconds; SIGTERM, SIGINT and a crash restore the terminal; idle means no
 * bytes written (and only countdowns once a second); TERM screen, tmux-256color, linux
 * and xterm-256color; NO_COLOR and themes; remapped keys and reported conflicts. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "tests/lib/e2e.h"
#include "tests/lib/proc.h"

#define WAIT_MS 15000

/* True when the captured output holds needle (bytes). */
static bool output_has(vt *t, const char *needle)
{
    size_t len, nl = strlen(needle);
    const unsigned char *o = vt_output(t, &len);
    for (size_t i = 0; i + nl <= len; i++)
        if (memcmp(o + i, needle, nl) == 0)
            return true;
    return false;
}

/* True when the help screen is closed. */
static bool help_closed(vt *t, void *ud)
{
    (void)ud;
    return !vt_contains(t, "any other key closes the help");
}

/* A console up and drawn. */
static vt *up(e2e_market *m, const char *const *args, const char *const *env)
{
    vt *t = e2e_dealdesk(m, 24, 80, m->sup1_file, args, env);
    assert_non_null(t);
    assert_true(e2e_wait(t, "FLEET RUNNING", WAIT_MS));
    vt_wait_quiet(t, 150, 3000);
    return t;
}

/* SIGHUP, and the pty going away (an SSH link dropping), end it within 2 s. */
static void test_hangup_exits_fast(void **state)
{
    e2e_market *m = *state;
    vt *t = up(m, NULL, NULL);
    int64_t t0 = tproc_now_ms();
    vt_kill(t, SIGHUP);
    assert_true(vt_wait_exit(t, 2000) >= 0);
    assert_true(tproc_now_ms() - t0 < 2000);
    vt_free(t);

    t = up(m, NULL, NULL);
    t0 = tproc_now_ms();
    vt_hangup(t);
    assert_true(vt_wait_exit(t, 2000) >= 0);
    assert_true(tproc_now_ms() - t0 < 2000);
    vt_free(t);
}

/* SIGTERM and SIGINT leave through endwin (the alternate screen is left); a crash
 * writes the terminal's exit sequences too. */
static void test_signals_restore_terminal(void **state)
{
    e2e_market *m = *state;
    int sigs[] = {SIGTERM, SIGINT, SIGSEGV};
    for (size_t i = 0; i < 3; i++) {
        vt *t = up(m, NULL, NULL);
        assert_true(output_has(t, "\033[?1049h")); /* entered the alternate screen */
        vt_clear_output(t);
        vt_kill(t, sigs[i]);
        int st = vt_wait_exit(t, 3000);
        assert_true(st >= 0);
        if (sigs[i] == SIGSEGV)
            assert_int_equal(st, 128 + SIGSEGV);
        assert_true(output_has(t, "\033[?1049l")); /* and left it */
        vt_free(t);
    }
}

/* Idle means idle: nothing pending, nothing written; with a countdown on screen, only
 * about one small update a second. */
static void test_idle_writes_nothing(void **state)
{
    e2e_market *m = *state;
    vt *t = up(m, NULL, NULL);
    assert_true(e2e_wait(t, "0 pending", WAIT_MS));
    /* everything the start brings has landed (the stream is live, whoami answered) */
    assert_true(e2e_wait(t, "live", WAIT_MS));
    assert_true(e2e_wait(t, "supervisor", WAIT_MS));
    vt_wait_quiet(t, 300, 5000);
    vt_clear_output(t);
    int64_t end = tproc_now_ms() + 3000;
    while (tproc_now_ms() < end)
        vt_pump(t, 100);
    size_t len;
    vt_output(t, &len);
    assert_int_equal(len, 0);

    /* a pending purchase: the countdown ticks once a second, in a few bytes */
    char pur[65], neg[65];
    assert_int_equal(e2e_purchase(m, "Idle bike", "bikes", 5000, 1, pur, neg), 0);
    assert_true(e2e_wait(t, "1 pending", WAIT_MS));
    vt_wait_quiet(t, 300, 5000);
    vt_clear_output(t);
    end = tproc_now_ms() + 3000;
    while (tproc_now_ms() < end)
        vt_pump(t, 100);
    vt_output(t, &len);
    fprintf(stderr, "countdown: %zu bytes in 3 s\n", len);
    assert_true(len > 0);
    assert_true(len < 3 * 300);
    e2e_quit(t);
}

/* The terminals operators use: each draws a clean screen. */
static void test_terminal_types(void **state)
{
    e2e_market *m = *state;
    const char *terms[] = {"TERM=screen", "TERM=tmux-256color", "TERM=linux",
                           "TERM=xterm-256color"};
    for (size_t i = 0; i < 4; i++) {
        const char *env[] = {terms[i], NULL};
        vt *t = up(m, NULL, env);
        vt_send(t, "2");
        assert_true(e2e_wait(t, "THREAD", WAIT_MS));
        size_t len;
        const unsigned char *o = vt_output(t, &len);
        const char *why = vt_check_stream(o, len, true);
        if (why)
            fprintf(stderr, "%s: %s\n", terms[i], why);
        assert_null(why);
        vt_send(t, "q");
        assert_int_equal(vt_wait_exit(t, 5000), 0);
        vt_free(t);
    }
}

/* True when the output sets a colour (SGR 30-37, 90-97, 38;5;N or 256-colour pairs). */
static bool sets_colour(vt *t)
{
    size_t len;
    const unsigned char *o = vt_output(t, &len);
    for (size_t i = 0; i + 3 < len; i++) {
        if (o[i] != 0x1b || o[i + 1] != '[')
            continue;
        size_t j = i + 2;
        while (j < len && ((o[j] >= '0' && o[j] <= '9') || o[j] == ';'))
            j++;
        if (j >= len || o[j] != 'm')
            continue;
        /* look at each parameter */
        for (size_t k = i + 2; k < j;) {
            int v = atoi((const char *)o + k);
            if ((v >= 30 && v <= 37) || (v >= 90 && v <= 97) || v == 38 || (v >= 40 && v <= 47))
                return true;
            while (k < j && o[k] != ';')
                k++;
            k++;
        }
    }
    return false;
}

/* NO_COLOR and --no-color draw without colour; a theme brings colour; an unknown theme
 * is reported and the default used; :theme switches live. */
static void test_colour_and_themes(void **state)
{
    e2e_market *m = *state;
    const char *nocolor[] = {"NO_COLOR=1", NULL};
    vt *t = up(m, NULL, nocolor);
    assert_false(sets_colour(t));
    vt_send(t, "q");
    vt_wait_exit(t, 5000);
    vt_free(t);

    const char *flag[] = {"--no-color", NULL};
    t = up(m, flag, NULL);
    assert_false(sets_colour(t));
    vt_send(t, "q");
    vt_wait_exit(t, 5000);
    vt_free(t);

    const char *hc[] = {"--theme", "high-contrast", NULL};
    t = up(m, hc, NULL);
    assert_true(sets_colour(t));
    vt_send(t, ":theme monochrome\r");
    assert_true(e2e_wait(t, "theme monochrome", WAIT_MS));
    vt_send(t, ":theme nosuch\r");
    assert_true(e2e_wait(t, "no theme 'nosuch'", WAIT_MS));
    vt_send(t, "q");
    vt_wait_exit(t, 5000);
    vt_free(t);

    const char *bogus[] = {"--theme", "bogus", NULL};
    t = up(m, bogus, NULL);
    assert_true(e2e_wait(t, "no theme 'bogus'", WAIT_MS));
    e2e_quit(t);
}

/* Keys are remappable in the config file; a conflicting binding is reported at start,
 * and the help screen shows the live keymap. */
static void test_remap_and_conflicts(void **state)
{
    e2e_market *m = *state;
    char dir[900], path[1000];
    snprintf(dir, sizeof dir, "%s/remapcfg", getenv("TEST_TMP"));
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/dealdesk", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/dealdesk/config", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("# test config\nbind x quit\nbind s help\n", f);
    fclose(f);
    char env_cfg[1000];
    snprintf(env_cfg, sizeof env_cfg, "XDG_CONFIG_HOME=%s", dir);
    const char *env[] = {env_cfg, NULL};
    vt *t = up(m, NULL, env);
    assert_true(e2e_wait(t, "was 'sort', now 'help'", WAIT_MS));
    vt_send(t, "s");
    assert_true(e2e_wait(t, "Keys (from the keymap", WAIT_MS));
    for (int i = 0; i < 30; i++) /* the Disputes keys (issue 17) made the keymap longer */
        vt_send(t, "j");         /* scroll the help down to the end of the keymap */
    assert_true(e2e_wait(t, "q x", WAIT_MS)); /* quit: its default key and the new one */
    vt_send(t, "\033");
    if (!vt_wait(t, help_closed, NULL, WAIT_MS)) { /* Esc handled: x is a key of its own */
        vt_dump(t, "waiting for the help to close");
        fail();
    }
    vt_send(t, "x");
    assert_int_equal(vt_wait_exit(t, 5000), 0);
    vt_free(t);
}

/* True when the output holds a bell. */
static bool rang(vt *t, void *ud)
{
    (void)ud;
    return output_has(t, "\a");
}

/* The bell rings when a new pending purchase arrives, and not after ":bell off". */
static void test_bell(void **state)
{
    e2e_market *m = *state;
    char pur[65], neg[65];
    vt *t = up(m, NULL, NULL);
    vt_clear_output(t);
    assert_int_equal(e2e_purchase(m, "Bell bike", "bikes", 4000, 1, pur, neg), 0);
    assert_true(e2e_wait(t, pur, WAIT_MS));
    /* the bell itself is the state waited for (it may follow the row's frame) */
    if (!vt_wait(t, rang, NULL, WAIT_MS)) {
        vt_dump(t, "waiting for the bell");
        fail();
    }
    vt_send(t, ":bell off\r");
    assert_true(e2e_wait(t, "bell off", WAIT_MS));
    vt_wait_quiet(t, 200, 3000);
    vt_clear_output(t);
    char pur2[65], neg2[65];
    assert_int_equal(e2e_purchase(m, "Quiet bike", "bikes", 4100, 1, pur2, neg2), 0);
    assert_true(e2e_wait(t, pur2, WAIT_MS));
    vt_wait_quiet(t, 200, 3000);
    assert_false(output_has(t, "\a"));
    e2e_quit(t);
}

/* The header is always true about the connection: a dead server shows as OFFLINE with
 * the next try, and live again once it is back (test_console_header.c has the rest). */
static void test_header_follows_the_connection(void **state)
{
    e2e_market *m = *state;
    vt *t = up(m, NULL, NULL);
    assert_true(e2e_wait(t, "live", WAIT_MS));
    testsrv_kill9(&m->srv);
    assert_true(e2e_wait(t, "OFFLINE", WAIT_MS));
    assert_true(e2e_wait(t, "retry in", WAIT_MS));
    assert_int_equal(testsrv_restart(&m->srv), 0);
    assert_true(e2e_wait(t, "live", 30000));
    e2e_quit(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hangup_exits_fast),
        cmocka_unit_test(test_signals_restore_terminal),
        cmocka_unit_test(test_idle_writes_nothing),
        cmocka_unit_test(test_terminal_types),
        cmocka_unit_test(test_colour_and_themes),
        cmocka_unit_test(test_remap_and_conflicts),
        cmocka_unit_test(test_bell),
        cmocka_unit_test(test_header_follows_the_connection),
    };
    return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
