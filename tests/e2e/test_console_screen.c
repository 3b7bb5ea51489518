/* test_console_screen.c: the screen stays where the operator put it, and says exactly
 * what it does (issue 12). Against a real marketd in a pty: after a decision the
 * selection goes on to the next waiting purchase; the selection, the detail and an open
 * confirmation stay on their purchase when it expires; the pane title shows the sort,
 * the filter and the scroll position; status messages expire; `:halt REASON` asks like
 * H; resuming the fleet or an agent asks; `p` names the agent; a cap reads "any
 * quantity"; an unknown command is repeated. */
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
#define POINTER "\xe2\x96\xb6" /* the selection's mark in the first column */

/* What a predicate below looks for: a row holding all of the texts (NULL ends). */
typedef struct row_want {
    const char *texts[4];
} row_want;

/* True when the selected row (the one with the pointer) holds every text of ud; ids are
 * matched with the space after them, so that pur_1 is not pur_12. */
static bool selected_holds(vt *t, void *ud)
{
    const row_want *w = ud;
    int r = vt_find_row(t, POINTER);
    if (r < 0)
        return false;
    char row[2048];
    vt_row(t, r, row, sizeof row);
    for (int i = 0; i < 4 && w->texts[i]; i++)
        if (!strstr(row, w->texts[i]))
            return false;
    return true;
}

/* Waits until the selected row holds id (and text, may be NULL); dumps the screen if not. */
static bool wait_selected(vt *t, const char *id, const char *text, int timeout_ms)
{
    char idsp[80];
    snprintf(idsp, sizeof idsp, "%s ", id);
    row_want w = {{idsp, text, NULL, NULL}};
    if (vt_wait(t, selected_holds, &w, timeout_ms))
        return true;
    fprintf(stderr, "selected row never held '%s' %s\n", idsp, text ? text : "");
    vt_dump(t, "screen");
    return false;
}

/* True when the screen does not hold the text of ud (a row_want's first). */
static bool absent(vt *t, void *ud)
{
    const row_want *w = ud;
    return !vt_contains(t, w->texts[0]);
}

/* Waits until text has gone from the screen. */
static bool wait_gone(vt *t, const char *text, int timeout_ms)
{
    row_want w = {{text, NULL, NULL, NULL}};
    if (vt_wait(t, absent, &w, timeout_ms))
        return true;
    fprintf(stderr, "'%s' never went away\n", text);
    vt_dump(t, "screen");
    return false;
}

/* Quits the console with q and asserts a clean exit. */
static void quit(vt *t)
{
    e2e_quit(t);
}

/* Sends ":" line "\r". */
static void command(vt *t, const char *line)
{
    vt_send(t, ":");
    vt_send(t, line);
    vt_send(t, "\r");
}

/* After approving the selected purchase the selection moves to the next waiting one,
 * not along with the decided row to the bottom of the list. */
static void test_selection_moves_on_after_approve(void **state)
{
    e2e_market *m = *state;
    char p1[65], p2[65], p3[65], n[65];
    assert_int_equal(e2e_purchase(m, "Nextbike one", "bikes", 10100, 1, p1, n), 0);
    assert_int_equal(e2e_purchase(m, "Nextbike two", "bikes", 10200, 1, p2, n), 0);
    assert_int_equal(e2e_purchase(m, "Nextbike three", "bikes", 10300, 1, p3, n), 0);
    vt *t = e2e_dealdesk(m, 30, 100, m->sup1_file, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, p3, WAIT_MS));
    assert_true(e2e_wait_operator(t, WAIT_MS)); /* whoami answered: decisions can be bound */
    command(t, "sort deadline");                /* the default ranks by what is at stake */
    assert_true(e2e_wait(t, "sorted by deadline", WAIT_MS));
    vt_send(t, "/Nextbike\r"); /* the three, by deadline: p1 first */
    assert_true(wait_selected(t, p1, "waiting", WAIT_MS));
    vt_send(t, "a");
    assert_true(e2e_wait(t, "N no (default)", WAIT_MS));
    vt_send(t, "y");
    char done[96];
    snprintf(done, sizeof done, "approve %s: done", p1);
    assert_true(e2e_wait(t, done, WAIT_MS));
    assert_true(wait_selected(t, p2, "waiting", WAIT_MS));
    /* and the decided row is still listed, with its outcome, below */
    assert_true(e2e_wait(t, "settled", WAIT_MS));
    assert_true(wait_selected(t, p2, "waiting", WAIT_MS));
    quit(t);
}

/* A selected purchase that expires stays selected (and shown as expired); a purchase
 * added above the selection does not move it either. */
static void test_selection_stays_on_its_purchase(void **state)
{
    (void)state;
    e2e_market mm, *m = &mm;
    assert_int_equal(e2e_market_start(m, "--decide-timeout 10"), 0);
    char p1[65], p2[65], p3[65], n[65];
    /* the console is up, filtered and sorted before p1 is made: p1's 10 s run from here,
     * not from before a console started (slow under ASan on a loaded machine) */
    vt *t = e2e_dealdesk(m, 30, 100, m->sup1_file, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, "FLEET RUNNING", WAIT_MS));
    vt_send(t, "/Staybike\r");
    command(t, "sort total");
    assert_true(e2e_wait(t, "by total", WAIT_MS));
    assert_int_equal(e2e_purchase(m, "Staybike cheap", "bikes", 20000, 1, p1, n), 0);
    assert_true(e2e_wait(t, p1, WAIT_MS));
    vt_send(t, "g"); /* the first (only) row */
    assert_true(wait_selected(t, p1, NULL, WAIT_MS));
    /* a dearer one sorts above the selection: the selection stays on p1 */
    assert_int_equal(e2e_purchase(m, "Staybike dear", "bikes", 90000, 1, p2, n), 0);
    assert_true(e2e_wait(t, p2, WAIT_MS));
    assert_true(wait_selected(t, p1, "waiting", WAIT_MS));
    /* p1 expires (10 s after it was made): it stays selected, saying so; before, the
     * selection and the detail jumped to p2 */
    assert_true(wait_selected(t, p1, "expired", 30000));
    char want[80];
    snprintf(want, sizeof want, "%s v", p1);
    assert_true(e2e_wait(t, want, WAIT_MS)); /* the detail is still p1's */
    /* a new purchase, listed above it, does not take the selection either */
    assert_int_equal(e2e_purchase(m, "Staybike dearer", "bikes", 95000, 1, p3, n), 0);
    assert_true(e2e_wait(t, p3, WAIT_MS));
    assert_true(wait_selected(t, p1, "expired", WAIT_MS));
    /* moving away lets the expired one go */
    vt_send(t, "g");
    assert_true(wait_selected(t, p3, "waiting", WAIT_MS));
    assert_true(wait_gone(t, want, WAIT_MS));
    quit(t);
    e2e_market_stop(m);
}

/* The approve box for one purchase, opened while another is selected, brings the
 * selection and the detail to its purchase, and they stay there when it expires under
 * the open box. */
static void test_box_stays_on_its_purchase(void **state)
{
    (void)state;
    e2e_market mm, *m = &mm;
    assert_int_equal(e2e_market_start(m, "--decide-timeout 10"), 0);
    char pa[65], pb[65], na[65], nb[65];
    /* the console is up and filtered before pa is made: pa's 10 s (it must still be
     * waiting when the box opens) run from here, not from before a console started */
    vt *t = e2e_dealdesk(m, 30, 100, m->sup1_file, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, "FLEET RUNNING", WAIT_MS));
    command(t, "sort deadline"); /* the default ranks by what is at stake */
    assert_true(e2e_wait(t, "sorted by deadline", WAIT_MS));
    vt_send(t, "/Boxbike\r");
    assert_true(e2e_wait(t, "no rows match the filter", WAIT_MS));
    assert_int_equal(e2e_purchase(m, "Boxbike first", "bikes", 30000, 1, pa, na), 0);
    assert_int_equal(e2e_purchase(m, "Boxbike second", "bikes", 31000, 1, pb, nb), 0);
    assert_true(e2e_wait(t, pb, WAIT_MS));
    vt_send(t, "g"); /* the first row by deadline: pa */
    assert_true(wait_selected(t, pa, NULL, WAIT_MS));
    vt_send(t, "j");
    assert_true(wait_selected(t, pb, NULL, WAIT_MS));
    char cmd[96], title[96], thread[96];
    snprintf(cmd, sizeof cmd, "approve %s", pa);
    command(t, cmd);
    snprintf(title, sizeof title, "Approve %s", pa);
    assert_true(e2e_wait(t, title, WAIT_MS));
    assert_true(wait_selected(t, pa, NULL, WAIT_MS));
    snprintf(thread, sizeof thread, "thread %s ", na); /* the detail below the box */
    assert_true(e2e_wait(t, thread, WAIT_MS));
    /* pa expires under the box: the box says so, selection and detail stay on pa */
    assert_true(e2e_wait(t, "CHANGED since shown", 30000));
    assert_true(e2e_wait(t, title, WAIT_MS));
    assert_true(wait_selected(t, pa, "expired", WAIT_MS));
    assert_true(e2e_wait(t, thread, WAIT_MS));
    vt_send(t, "n");
    assert_true(e2e_wait(t, "not approved: nothing was sent", WAIT_MS));
    assert_true(wait_selected(t, pa, "expired", WAIT_MS));
    quit(t);
    e2e_market_stop(m);
}

/* The pane title shows the sort order, the filter and, when rows are off screen, which
 * rows are shown, marked when some are above (at 80x24, where the count was bare). */
static void test_pane_title_sort_filter_scroll(void **state)
{
    e2e_market *m = *state;
    char id[65];
    for (int i = 0; i < 24; i++) {
        char title[64];
        int n = snprintf(title, sizeof title, "Titlelamp %02d", i);
        int st = e2e_listing(m, &m->seller, title, (size_t)n, "home", 1000 + i, 1, id);
        assert_true(st == 200 || st == 201);
    }
    vt *t = e2e_dealdesk(m, 24, 80, m->sup1_file, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, "FLEET RUNNING", WAIT_MS));
    vt_send(t, "3");
    assert_true(e2e_wait(t, "Titlelamp 23", WAIT_MS));
    const char *title[] = {"by newest", "1-18 of ", NULL}; /* the pane's title, drawn whole */
    assert_true(e2e_wait_row(t, title, WAIT_MS));
    char row[512];
    vt_row(t, 2, row, sizeof row);
    assert_non_null(strstr(row, "by newest"));
    assert_non_null(strstr(row, "1-18 of "));
    vt_send(t, "G"); /* to the end: rows are above now, and the title says so */
    assert_true(e2e_wait(t, "\xe2\x86\x91 ", WAIT_MS));
    vt_row(t, 2, row, sizeof row);
    assert_null(strstr(row, "1-18 of "));
    assert_non_null(strstr(row, " of "));
    vt_send(t, "/Titlelamp\r");
    /* the title with the filter and its count (the command line also echoes
     * "/Titlelamp" while it is typed) */
    const char *filtered[] = {"/Titlelamp", "of 24", NULL};
    assert_true(e2e_wait_row(t, filtered, WAIT_MS));
    vt_row(t, 2, row, sizeof row);
    assert_non_null(strstr(row, "/Titlelamp"));
    vt_send(t, "s");
    assert_true(e2e_wait(t, "by updated", WAIT_MS));
    vt_send(t, "\033/Titlelamp 07\r");
    assert_true(e2e_wait(t, "1 row ", WAIT_MS));
    quit(t);
}

/* Status messages expire on a timer (an error lives longer than a notice), and go at
 * once on a pane switch and under a new confirmation; idle stays idle after. */
static void test_status_messages_expire(void **state)
{
    e2e_market *m = *state;
    char pur[65], neg[65];
    assert_int_equal(e2e_purchase(m, "Statusbike", "bikes", 40000, 1, pur, neg), 0);
    vt *t = e2e_console_on(m, pur, m->sup1_file, NULL);
    /* an error goes with a pane switch */
    command(t, "export");
    assert_true(e2e_wait(t, "usage: export", WAIT_MS));
    vt_send(t, "2");
    assert_true(e2e_wait(t, "THREAD", WAIT_MS));
    assert_true(wait_gone(t, "usage: export", WAIT_MS));
    vt_send(t, "1");
    /* an error does not stay under the next confirmation */
    command(t, "export");
    assert_true(e2e_wait(t, "usage: export", WAIT_MS));
    vt_send(t, "a");
    assert_true(e2e_wait(t, "N no (default)", WAIT_MS));
    assert_true(wait_gone(t, "usage: export", WAIT_MS));
    vt_send(t, "n");
    assert_true(e2e_wait(t, "not approved: nothing was sent", WAIT_MS));
    /* a notice goes by itself (UI_STATUS_INFO_MS), an error later (UI_STATUS_ERROR_MS) */
    assert_true(wait_gone(t, "not approved: nothing was sent", WAIT_MS));
    command(t, "export");
    assert_true(e2e_wait(t, "usage: export", WAIT_MS));
    assert_true(wait_gone(t, "usage: export", 40000));
    /* an unknown command is repeated, sanitised */
    command(t, "frob\xe2\x80\xaenicate now"); /* a right-to-left override inside */
    assert_true(e2e_wait(t, "unknown command 'frob<U+202E>nicate'", WAIT_MS));
    quit(t);
}

/* `p` on the Pending pane names the buyer; resuming a paused agent asks y/N, by key
 * and by command; resuming an active one is refused. */
static void test_pause_names_agent_and_resume_asks(void **state)
{
    e2e_market *m = *state;
    char pur[65], neg[65];
    assert_int_equal(e2e_purchase(m, "Pausebike", "bikes", 50000, 1, pur, neg), 0);
    vt *t = e2e_console_on(m, pur, m->sup1_file, NULL);
    vt_send(t, "p");
    char prompt[160];
    snprintf(prompt, sizeof prompt, "pause buyer-e2e (%s)  reason:", m->buyer.id);
    assert_true(e2e_wait(t, prompt, WAIT_MS));
    vt_send(t, "checking the buyer\r");
    char done[128];
    snprintf(done, sizeof done, "pause %s: done", m->buyer.id);
    assert_true(e2e_wait(t, done, WAIT_MS));
    vt_send(t, "6\033/buyer-e2e\r");
    /* the agent's own row says paused (the event applied): the status line's "agent now
     * paused" comes with the answer, which may land before the event, and p acts on the
     * row's state */
    assert_true(wait_selected(t, m->buyer.id, "paused", WAIT_MS));
    vt_send(t, "p"); /* a paused agent: resume, asked */
    char title[160];
    snprintf(title, sizeof title, "Resume agent buyer-e2e (%s)", m->buyer.id);
    assert_true(e2e_wait(t, title, WAIT_MS));
    assert_true(e2e_wait(t, "may negotiate and spend again", WAIT_MS));
    vt_send(t, "n");
    assert_true(e2e_wait(t, "not resumed: nothing was sent", WAIT_MS));
    assert_true(wait_selected(t, m->buyer.id, "paused", WAIT_MS));
    char cmd[128];
    snprintf(cmd, sizeof cmd, "resume %s", m->buyer.id);
    command(t, cmd);
    assert_true(e2e_wait(t, title, WAIT_MS));
    vt_send(t, "y");
    snprintf(done, sizeof done, "resume %s: done", m->buyer.id);
    assert_true(e2e_wait(t, done, WAIT_MS));
    assert_true(wait_selected(t, m->buyer.id, "active", WAIT_MS)); /* the row, not the answer */
    command(t, cmd);
    assert_true(e2e_wait(t, "is active: nothing to resume", WAIT_MS));
    quit(t);
}

/* A cap with no quantity limit reads "any quantity" in the box and in the detail. */
static void test_cap_wording(void **state)
{
    e2e_market *m = *state;
    char pur[65], neg[65];
    assert_int_equal(e2e_purchase(m, "Capbike", "bikes", 250000, 1, pur, neg), 0);
    vt *t = e2e_console_on(m, pur, m->sup1_file, NULL);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "cap %s 2100.50", pur);
    command(t, cmd);
    assert_true(e2e_wait(t, "cap: unit price at most $2,100.50, any quantity", WAIT_MS));
    assert_false(vt_contains(t, "no limit"));
    vt_send(t, "y");
    char done[96];
    snprintf(done, sizeof done, "cap %s: done", pur);
    assert_true(e2e_wait(t, done, WAIT_MS));
    assert_true(e2e_wait(t, "capped: unit price at most $2,100.50, any quantity", WAIT_MS));
    assert_false(vt_contains(t, "at most -1"));
    quit(t);
}

/* `:halt REASON` asks for the word like H; `:resume-fleet` asks y/N and says
 * "resume fleet" (not the internal name) when done; halting twice is refused. */
static void test_halt_and_resume_fleet_ask(void **state)
{
    e2e_market *m = *state;
    vt *t = e2e_dealdesk(m, 30, 100, m->sup1_file, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, "FLEET RUNNING", WAIT_MS));
    assert_true(e2e_wait_operator(t, WAIT_MS)); /* whoami answered: decisions can be bound */
    command(t, "halt drill from the command line");
    assert_true(e2e_wait(t, "type halt", WAIT_MS));
    assert_true(vt_contains(t, "FLEET RUNNING"));
    vt_send(t, "nope\r");
    assert_true(e2e_wait(t, "not halted", WAIT_MS));
    assert_true(vt_contains(t, "FLEET RUNNING"));
    command(t, "halt drill from the command line");
    assert_true(e2e_wait(t, "type halt", WAIT_MS));
    vt_send(t, "halt\r");
    assert_true(e2e_wait(t, "FLEET HALTED", WAIT_MS));
    assert_true(e2e_wait(t, "halted: drill from the command line", WAIT_MS));
    /* the halt's own answer, not only its event: else it may land after the next status */
    assert_true(e2e_wait(t, "halt fleet: done", WAIT_MS));
    command(t, "halt again");
    assert_true(e2e_wait(t, "already halted", WAIT_MS));
    command(t, "resume-fleet");
    assert_true(e2e_wait(t, "Resume the fleet", WAIT_MS));
    vt_send(t, "n");
    assert_true(e2e_wait(t, "not resumed: nothing was sent", WAIT_MS));
    assert_true(vt_contains(t, "FLEET HALTED"));
    command(t, "resume-fleet");
    assert_true(e2e_wait(t, "Resume the fleet", WAIT_MS));
    vt_send(t, "y");
    assert_true(e2e_wait(t, "resume fleet: done", WAIT_MS));
    assert_true(e2e_wait(t, "FLEET RUNNING", WAIT_MS));
    assert_false(vt_contains(t, "fleet_resume"));
    quit(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_selection_moves_on_after_approve),
        cmocka_unit_test(test_selection_stays_on_its_purchase),
        cmocka_unit_test(test_box_stays_on_its_purchase),
        cmocka_unit_test(test_pane_title_sort_filter_scroll),
        cmocka_unit_test(test_status_messages_expire),
        cmocka_unit_test(test_cap_wording),
        cmocka_unit_test(test_pause_names_agent_and_resume_asks), /* after the buyer's deals */
        cmocka_unit_test(test_halt_and_resume_fleet_ask),         /* last: it halts the fleet */
    };
    return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
