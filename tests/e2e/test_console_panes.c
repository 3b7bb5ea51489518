/* test_console_panes.c: the console against a real marketd, in a pty: every pane shows
 * live data, filter, sort, help, the command line (with completion), resize, and the
 * 80x24 layout without overlap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/lib/e2e.h"

#define WAIT_MS 15000

/* Each pane shows what the server holds, and new objects appear without a key. */
static void test_each_pane_shows_live_data(void **state)
{
    e2e_market *m = *state;
    char pur[65], neg[65], pur2[65], neg2[65];
    assert_int_equal(e2e_purchase(m, "Road bike 54cm", "bikes", 45000, 1, pur, neg), 0);
    vt *t = e2e_dealdesk(m, 30, 100, m->sup1_file, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, pur, WAIT_MS));
    assert_true(e2e_wait(t, "Road bike 54cm", WAIT_MS));
    assert_true(e2e_wait(t, "1 pending", WAIT_MS));
    assert_true(e2e_wait(t, "FLEET RUNNING", WAIT_MS));
    /* detail: everything to decide */
    assert_true(e2e_wait(t, "waiting for approval", WAIT_MS));
    assert_true(e2e_wait(t, "ship to 1 Main St", WAIT_MS));
    assert_true(e2e_wait(t, "$450.00", WAIT_MS));
    /* the thread that led to it, sent before the console started, is fetched */
    assert_true(e2e_wait(t, "Would you take this?", WAIT_MS));

    /* a flagged purchase arrives live: off-mandate compute, quantity over the max */
    assert_int_equal(e2e_purchase(m, "H100 GPU hours", "compute", 1250, 1000, pur2, neg2), 0);
    assert_true(e2e_wait(t, pur2, WAIT_MS));
    assert_true(e2e_wait(t, "2 pending", WAIT_MS));

    vt_send(t, "2");
    assert_true(e2e_wait(t, "THREAD", WAIT_MS));
    assert_true(e2e_wait(t, neg, WAIT_MS));
    vt_send(t, "3");
    assert_true(e2e_wait(t, "LISTING", WAIT_MS));
    assert_true(e2e_wait(t, "H100 GPU hours", WAIT_MS));
    vt_send(t, "5");
    assert_true(e2e_wait(t, "critical", WAIT_MS));
    assert_true(e2e_wait(t, "off_mandate", WAIT_MS));
    vt_send(t, "6");
    assert_true(e2e_wait(t, "buyer-e2e", WAIT_MS));
    assert_true(e2e_wait(t, "seller-e2e", WAIT_MS));

    /* the ledger fills when a purchase settles (approved by another operator) */
    vt_send(t, "4");
    assert_true(e2e_wait(t, "ENTRY", WAIT_MS));
    char path[128];
    snprintf(path, sizeof path, "/v1/purchases/%s/approve", pur);
    assert_int_equal(e2e_decide(m, TESTSRV_TOKEN_SUP2, path, 1, "{\"expected_total_minor\":45000}"),
                     200);
    assert_true(e2e_wait(t, "settlement", WAIT_MS));
    assert_true(e2e_wait(t, "$450.00", WAIT_MS));
    assert_true(e2e_wait(t, "balances", WAIT_MS));
    e2e_quit(t);
}

/* True when ids[0] is on screen and ids[1] is not. */
static bool shows_not(vt *t, void *ud)
{
    const char *const *ids = ud;
    return vt_contains(t, ids[0]) && !vt_contains(t, ids[1]);
}

/* True when ids[0]'s row is above ids[1]'s. */
static bool above(vt *t, void *ud)
{
    const char *const *ids = ud;
    int r0 = vt_find_row(t, ids[0]), r1 = vt_find_row(t, ids[1]);
    return r0 >= 0 && r1 >= 0 && r0 < r1;
}

/* True when the command line is not open (its "Esc cancel" hint is gone). */
static bool no_line(vt *t, void *ud)
{
    (void)ud;
    return !vt_contains(t, "Esc cancel");
}

/* Waits until Esc has closed the command line, so that the next key is not read as
 * part of an escape sequence. */
static void line_closed(vt *t)
{
    if (!vt_wait(t, no_line, NULL, WAIT_MS)) {
        vt_dump(t, "waiting for the command line to close");
        fail();
    }
}

/* '/' filters as it is typed; Esc clears; 's' sorts; '?' shows the live keymap. */
static void test_filter_sort_help(void **state)
{
    e2e_market *m = *state;
    char p1[65], p2[65], n1[65], n2[65];
    assert_int_equal(e2e_purchase(m, "Gravel bike", "bikes", 90000, 1, p1, n1), 0);
    assert_int_equal(e2e_purchase(m, "Atlas of maps", "books", 3000, 2, p2, n2), 0);
    vt *t = e2e_dealdesk(m, 30, 100, m->sup1_file, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, p1, WAIT_MS));
    assert_true(e2e_wait(t, p2, WAIT_MS));
    vt_send(t, "/Atlas");
    assert_true(e2e_wait(t, "/Atlas", WAIT_MS));
    const char *only_p2[] = {p2, p1};
    if (!vt_wait(t, shows_not, only_p2, WAIT_MS)) { /* the table narrowed to the atlas */
        vt_dump(t, "waiting for the filter to narrow the table");
        fail();
    }
    vt_send(t, "\r");
    vt_send(t, "\033");
    assert_true(e2e_wait(t, "filter cleared", WAIT_MS));
    assert_true(e2e_wait(t, p1, WAIT_MS));
    vt_send(t, "s"); /* from the default, what is at stake: deadline, then total */
    assert_true(e2e_wait(t, "sorted by deadline", WAIT_MS));
    vt_send(t, "s");
    assert_true(e2e_wait(t, "sorted by total", WAIT_MS));
    /* by total: the 900.00 gravel bike above the 60.00 atlas */
    const char *order[] = {p1, p2};
    if (!vt_wait(t, above, order, WAIT_MS)) {
        vt_dump(t, "waiting for the gravel bike above the atlas");
        fail();
    }
    vt_send(t, "?");
    assert_true(e2e_wait(t, "Keys (from the keymap", WAIT_MS));
    vt_send(t, "jjjjjj"); /* seven panes and the marks: the decisions are a few rows down */
    assert_true(e2e_wait(t, "approve the purchase", WAIT_MS));
    vt_send(t, "\033");
    assert_true(e2e_wait(t, "DUE", WAIT_MS));
    e2e_quit(t);
}

/* ':' opens readline: Tab completes a command, Enter runs it, history persists. */
static void test_command_line(void **state)
{
    e2e_market *m = *state;
    vt *t = e2e_dealdesk(m, 30, 100, m->sup1_file, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, "FLEET RUNNING", WAIT_MS));
    vt_send(t, ":pan");
    assert_true(e2e_wait(t, ":pan", WAIT_MS));
    vt_send(t, "\t");
    assert_true(e2e_wait(t, ":pane", WAIT_MS));
    vt_send(t, "6\r");
    assert_true(e2e_wait(t, "SPEND / CAP", WAIT_MS));
    /* ids complete too: the pending purchases of earlier tests are candidates */
    vt_send(t, ":approve pur");
    assert_true(e2e_wait(t, ":approve pur", WAIT_MS));
    vt_send(t, "\t");
    assert_true(e2e_wait(t, "matches: pur_", WAIT_MS)); /* several pending: all listed */
    vt_send(t, "\033");
    line_closed(t);
    vt_send(t, ":frobnicate\r");
    assert_true(e2e_wait(t, "unknown command", WAIT_MS));
    /* history: Up brings back the last command */
    vt_send(t, ":");
    vt_send(t, "\033OA"); /* Up, as a terminal in keypad mode sends it */
    assert_true(e2e_wait(t, ":frobnicate", WAIT_MS));
    vt_send(t, "\033");
    line_closed(t);
    vt_send(t, ":quit\r");
    assert_int_equal(vt_wait_exit(t, 5000), 0);
    vt_free(t);
    /* the history file was written under $XDG_STATE_HOME */
    char path[1024];
    snprintf(path, sizeof path, "%s/dealdesk/history", getenv("XDG_STATE_HOME"));
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char buf[4096] = "";
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_non_null(strstr(buf, "pane 6"));
}

/* True when the header's FLEET RUNNING starts past cell 100 (it follows a wider screen). */
static bool fleet_past_column_100(vt *t, void *ud)
{
    (void)ud;
    char row[2048];
    vt_row(t, 0, row, sizeof row);
    const char *f = strstr(row, "FLEET RUNNING");
    long c = 0;
    for (const char *p = row; f && p < f; p++)
        if (((unsigned char)*p & 0xC0) != 0x80)
            c++;
    return f && c > 100;
}

/* At 80x24 nothing overlaps: the header keeps connection, role, fleet and pending; the
 * money column ends where its heading ends; the key hints are on the last line. */
static void test_80x24_layout_and_resize(void **state)
{
    e2e_market *m = *state;
    char pur[65], neg[65];
    assert_int_equal(e2e_purchase(m, "A bicycle with a very long descriptive title that cannot fit",
                                  "bikes", 123456, 1, pur, neg),
                     0);
    vt *t = e2e_dealdesk(m, 24, 80, m->sup1_file, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, pur, WAIT_MS));
    assert_true(e2e_wait(t, "$1,234.56", WAIT_MS));
    assert_true(e2e_wait(t, "live", WAIT_MS)); /* the stream opens after the snapshot */
    const char *head0[] = {"dealdesk", "live", "FLEET RUNNING", NULL}; /* one header row */
    assert_true(e2e_wait_row(t, head0, WAIT_MS));
    char row[2048];
    vt_row(t, 0, row, sizeof row);
    assert_non_null(strstr(row, "dealdesk"));
    assert_non_null(strstr(row, "live"));
    assert_non_null(strstr(row, "FLEET RUNNING"));
    vt_row(t, 1, row, sizeof row);
    assert_non_null(strstr(row, "pending"));
    vt_row(t, 23, row, sizeof row);
    assert_non_null(strstr(row, "approve"));
    /* TOTAL heading and the amount end in the same column */
    int hr = vt_find_row(t, "TOTAL"), dr = vt_find_row(t, "$1,234.56");
    assert_true(hr >= 0 && dr > hr);
    char head[2048], data[2048];
    vt_row(t, hr, head, sizeof head);
    vt_row(t, dr, data, sizeof data);
    /* both rows are drawn in cells: compare end offsets in bytes of ASCII prefixes */
    const char *th = strstr(head, "TOTAL"), *td = strstr(data, "$1,234.56");
    long end_h = (long)(th - head) + 5;
    /* the data row starts with a multi-byte pointer glyph when selected: count cells */
    long cells = 0;
    for (const char *p = data; p < td; p++)
        if (((unsigned char)*p & 0xC0) != 0x80)
            cells++;
    assert_int_equal(cells + 9, end_h);
    /* the long title was cut with an ellipsis, not wrapped into the next column */
    assert_non_null(strstr(data, "…"));

    /* resize: the header follows the new width */
    vt_resize(t, 40, 130);
    if (!vt_wait(t, fleet_past_column_100, NULL, WAIT_MS)) { /* not 100 pumps of 50 ms */
        vt_dump(t, "waiting for the header at 130 columns");
        fail();
    }
    assert_true(e2e_wait(t, "BUYER", WAIT_MS)); /* room for more columns now */
    vt_resize(t, 24, 80);
    vt_wait_quiet(t, 200, 3000);
    assert_true(e2e_wait(t, "FLEET RUNNING", WAIT_MS));
    e2e_quit(t);
}

/* The below_reference rule shows like the others: its short name in FLAGS and the
 * console's own explanation, in money, in the detail (issue 11 item 2). */
static void test_below_reference_flag_shown(void **state)
{
    e2e_market *m = *state;
    char lst[65], neg[65], pur[65];
    /* a category of its own: the reference price is the listing's $1,000.00 */
    int st = e2e_listing(m, &m->seller, "Cargo bike", 10, "cargo", 100000, 5, lst);
    assert_true(st == 200 || st == 201);
    st = e2e_offer(m, &m->buyer, lst, 40000, 1, "Half price?", 11, neg);
    assert_true(st == 200 || st == 201);
    st = e2e_accept(m, &m->seller, neg, pur);
    assert_true((st == 200 || st == 201) && pur[0]);
    vt *t = e2e_console_on(m, pur, m->sup1_file, NULL);
    assert_true(e2e_wait(t, "cheap", WAIT_MS));
    assert_true(e2e_wait(t, "below_reference", WAIT_MS));
    assert_true(e2e_wait(t, "unit $400.00 under half the reference $1,000.00", WAIT_MS));
    e2e_quit(t);
}

/* At 80 columns FLAGS does not fit, and the one-character marker of the worst flag
 * stays: ✗ on a purchase with a critical flag, not on one without (issue 15). */
static void test_flags_marker_at_80_columns(void **state)
{
    e2e_market *m = *state;
    char bad[65], clean[65], neg[65];
    assert_int_equal(e2e_purchase(m, "Marker GPU hours", "compute", 2500, 1, bad, neg), 0);
    assert_int_equal(e2e_purchase(m, "Marker bike", "bikes", 12500, 1, clean, neg), 0);
    vt *t = e2e_dealdesk(m, 24, 80, m->sup1_file, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, "FLEET RUNNING", WAIT_MS));
    vt_send(t, "/Marker\r");
    assert_true(e2e_wait(t, bad, WAIT_MS));
    assert_true(e2e_wait(t, clean, WAIT_MS));
    const char *heads[] = {"DUE", "PURCHASE", "TOTAL", NULL};
    assert_true(e2e_wait_row(t, heads, WAIT_MS));
    char row[2048];
    vt_row(t, vt_find_row(t, "PURCHASE"), row, sizeof row);
    assert_null(strstr(row, "FLAGS")); /* dropped at 80 columns */
    assert_non_null(strstr(row, " ! "));
    vt_row(t, vt_find_row(t, bad), row, sizeof row);
    if (!strstr(row, "\xe2\x9c\x97")) { /* ✗ */
        vt_dump(t, "no flags marker on the critical purchase's row");
        fail();
    }
    vt_row(t, vt_find_row(t, clean), row, sizeof row);
    assert_null(strstr(row, "\xe2\x9c\x97")); /* no critical flag (a warning may be) */
    /* the critical one ranks first: what is at stake */
    assert_true(vt_find_row(t, bad) < vt_find_row(t, clean));
    e2e_quit(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_pane_shows_live_data),
        cmocka_unit_test(test_filter_sort_help),
        cmocka_unit_test(test_command_line),
        cmocka_unit_test(test_80x24_layout_and_resize),
        cmocka_unit_test(test_below_reference_flag_shown),
        cmocka_unit_test(test_flags_marker_at_80_columns),
    };
    return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
