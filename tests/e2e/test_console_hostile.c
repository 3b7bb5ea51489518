/* test_console_hostile.c: the hostile-text corpus ($TESTDATA/hostile-text.txt), posted
 * through the real API as listing titles, agent names and negotiation messages while the
 * console watches, produces no escape sequence, control byte or C1 byte in what dealdesk
 * writes to the terminal beyond the well-formed sequences curses itself uses; nothing
 * moves the header; hidden characters are shown marked. In UTF-8 and in ASCII. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/lib/e2e.h"
#include "tests/lib/hostile.h"

#define WAIT_MS 15000

/* Posts every case as a listing title (cut to the 200-character limit where needed),
 * an agent name and a message. Returns how many objects the server accepted. */
static int post_corpus(e2e_market *m, hostile_case *cases, int n, char *last_listing)
{
    int accepted = 0;
    for (int i = 0; i < n; i++) {
        char lst[65] = "";
        size_t len = cases[i].len > 150 ? 150 : cases[i].len;
        int st = e2e_listing(m, &m->seller, cases[i].bytes, len, "bikes", 1000 + i, 5, lst);
        if ((st == 200 || st == 201) && lst[0]) {
            accepted++;
            snprintf(last_listing, 65, "%s", lst); /* the newest: on top by default */
            char neg[65] = "";
            size_t tl = cases[i].len > 3000 ? 3000 : cases[i].len;
            st = e2e_offer(m, &m->buyer, lst, 900 + i, 1, cases[i].bytes, tl, neg);
            if (st == 200 || st == 201)
                accepted++;
        }
        if (i % 4 == 0) {
            e2e_agent a;
            if (e2e_agent_new(m, "seller", cases[i].bytes, len, &a) == 0) {
                accepted++;
                char l2[65];
                e2e_listing(m, &a, "Plain lamp", 10, "bikes", 1200, 1, l2);
            }
        }
    }
    return accepted;
}

/* Walks every pane and every row's detail so that all hostile strings get drawn. */
static void walk_everything(vt *t, int rows)
{
    const char *panes[] = {"3", "2", "6", "1", "5"};
    for (size_t p = 0; p < sizeof panes / sizeof panes[0]; p++) {
        vt_send(t, panes[p]);
        vt_wait_quiet(t, 60, 2000);
        for (int i = 0; i < rows; i++) {
            vt_send(t, "j");
            vt_pump(t, 15);
        }
        vt_wait_quiet(t, 60, 2000);
        vt_send(t, "\r"); /* open the detail of the last row too */
        vt_wait_quiet(t, 60, 2000);
        vt_send(t, "\033");
        vt_wait_quiet(t, 60, 2000);
    }
}

/* Asserts that the stream is clean and the header intact. */
static void assert_clean(vt *t, bool ascii)
{
    size_t len;
    const unsigned char *out = vt_output(t, &len);
    assert_true(len > 1000);
    const char *why = vt_check_stream(out, len, false);
    if (why) {
        fprintf(stderr, "stream problem: %s\n", why);
        vt_dump(t, "screen");
    }
    assert_null(why);
    if (ascii)
        for (size_t i = 0; i < len; i++)
            if (out[i] >= 0x80) {
                fprintf(stderr, "non-ASCII byte 0x%02x at %zu in an ASCII locale\n", out[i], i);
                fail();
            }
    char row[4096];
    vt_row(t, 0, row, sizeof row);
    assert_non_null(strstr(row, " dealdesk "));
    assert_non_null(strstr(row, "FLEET RUNNING"));
}

/* The corpus in a UTF-8 locale: posted live, drawn in every pane and detail. */
static void test_hostile_corpus_utf8(void **state)
{
    e2e_market *m = *state;
    hostile_case *cases;
    int n = hostile_load(NULL, &cases);
    assert_true(n > 20);
    vt *t = e2e_dealdesk(m, 30, 100, m->sup1_file, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, "FLEET RUNNING", WAIT_MS));
    char first[65] = "";
    int accepted = post_corpus(m, cases, n, first);
    fprintf(stderr, "hostile: %d cases, %d objects accepted by the server\n", n, accepted);
    assert_true(accepted > n); /* most cases made a listing and a message */
    vt_send(t, "3");
    assert_true(e2e_wait(t, first, WAIT_MS));
    vt_send(t, ":sort hidden\r"); /* rows with hidden text first: the marker shows */
    assert_true(e2e_wait(t, "hidden", WAIT_MS));
    assert_true(e2e_wait(t, "\xe2\x90\x9b", WAIT_MS)); /* ESC shown as the visible U+241B */
    walk_everything(t, n + 10);
    assert_clean(t, false);
    /* a detail holding hostile text still keeps its lines */
    e2e_quit(t);
    hostile_free(cases, n);
}

/* The same data seen from an ASCII locale: nothing but ASCII is written at all. */
static void test_hostile_corpus_ascii_locale(void **state)
{
    e2e_market *m = *state;
    const char *env[] = {"LANG=C", "LC_ALL=C", NULL};
    vt *t = e2e_dealdesk(m, 24, 80, m->sup1_file, NULL, env);
    assert_non_null(t);
    assert_true(e2e_wait(t, "FLEET RUNNING", WAIT_MS));
    vt_send(t, "3");
    assert_true(e2e_wait(t, "LISTING", WAIT_MS));
    walk_everything(t, 70);
    assert_clean(t, true);
    e2e_quit(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_corpus_utf8),
        cmocka_unit_test(test_hostile_corpus_ascii_locale),
    };
    return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
