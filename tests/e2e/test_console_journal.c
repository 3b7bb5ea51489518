/* test_console_journal.c: issue 12's blocker in the console. A decision typed before the
 * market has been read is refused at once and is never sent later to another server; a
 * decision whose answer never came is named when quitting (which asks first), is not
 * offered to another operator, and is offered to the same operator on the same market
 * (at another URL), sent again with its key only on y, and applied once. Two consoles at
 * once both keep their command history (merged on save). The start-up box ignores keys
 * typed ahead; Esc keeps its decisions for the next start. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "api/config.h"
#include "api/journal.h"
#include "tests/lib/e2e.h"
#include "tests/lib/faultproxy.h"
#include "tests/lib/journalfx.h"
#include "tests/lib/proc.h"

#define WAIT_MS 15000

/* The journal's text (the tests' own XDG_STATE_HOME). */
static void journal_text(char *out, size_t size)
{
    config cfg;
    char path[4096];
    config_init(&cfg);
    assert_int_equal(config_journal_path(&cfg, path, sizeof path), 0);
    out[0] = '\0';
    tproc_slurp(path, out, size);
    config_free(&cfg);
}

/* How many decisions with action the server holds on subject (id, or "fleet"). */
static int decisions_on(e2e_market *m, const char *action, const char *subject)
{
    testhttp_resp r = {0};
    assert_non_null(r.body = testsrv_state(&m->srv, TESTSRV_TOKEN_SUP1));
    int n = 0;
    long long len = testjson_len(r.body, "decisions");
    for (long long i = 0; i < len; i++) {
        char p[64], a[32] = "", id[72] = "";
        snprintf(p, sizeof p, "decisions.%lld.action", i);
        testjson_str(r.body, p, a, sizeof a);
        snprintf(p, sizeof p, "decisions.%lld.subject.id", i);
        testjson_str(r.body, p, id, sizeof id);
        n += !strcmp(a, action) && !strcmp(id, subject);
    }
    testhttp_resp_free(&r);
    return n;
}

/* Prints the screen (for the closing note: what the operator sees at 80x24 or so). */
static void capture(vt *t, const char *what)
{
    char *s = vt_screen(t);
    printf("---- %s ----\n%s\n", what, s ? s : "");
    free(s);
}

/* True once the halt was refused, or a confirmation asks to type halt. */
static bool asked_or_refused(vt *t, void *ud)
{
    (void)ud;
    return vt_contains(t, "nothing sent") || vt_contains(t, "type halt");
}

/* The reproduction: `--url http://127.0.0.1:1`, `:halt test`, quit; then a
 * console on the real market: the fleet is not halted. */
static void test_halt_before_connected_never_sent(void **state)
{
    e2e_market *m = *state;
    vt *t = e2e_dealdesk_at(m, "http://127.0.0.1:1", 24, 80, m->sup1_file, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, "dealdesk", WAIT_MS));
    vt_send(t, ":halt closed-port-e2e\r");
    /* a console that confirms the command as the key does asks first: either state */
    assert_true(vt_wait(t, asked_or_refused, NULL, WAIT_MS));
    if (!vt_contains(t, "nothing sent"))
        vt_send(t, "halt\r");
    assert_true(e2e_wait(t, "not connected", WAIT_MS));
    assert_true(e2e_wait(t, "nothing sent", WAIT_MS));
    assert_false(vt_contains(t, "sending"));
    capture(t, "a halt before the market was read");
    vt_send(t, "q"); /* nothing has an unknown outcome: quits at once */
    assert_int_equal(vt_wait_exit(t, 5000), 0);
    vt_free(t);
    char jt[65536];
    journal_text(jt, sizeof jt);
    assert_null(strstr(jt, "closed-port-e2e")); /* nothing journaled, nothing to send later */

    /* The real market: live, then a decision of its own completes; the fleet runs. */
    char pur[65], neg[65];
    assert_int_equal(e2e_purchase(m, "Fixie", "bikes", 43000, 1, pur, neg), 0);
    t = e2e_console_on(m, pur, m->sup1_file, NULL);
    assert_true(e2e_wait(t, "FLEET RUNNING", WAIT_MS));
    vt_send(t, "v");
    assert_true(e2e_wait(t, "reason:", WAIT_MS));
    vt_send(t, "after the closed port\r");
    char done[96];
    snprintf(done, sizeof done, "veto %s: done", pur);
    assert_true(e2e_wait(t, done, WAIT_MS));
    assert_false(vt_contains(t, "Unanswered"));
    assert_true(vt_contains(t, "FLEET RUNNING"));
    assert_int_equal(decisions_on(m, "halt", "fleet"), 0);
    e2e_quit(t);
}

/* A veto whose answers are all lost: quitting names it and asks; another operator is not
 * offered it; the same operator on the same market at another URL is, and y sends it
 * again with its key: applied once. */
static void test_unknown_outcome_asked_and_offered(void **state)
{
    e2e_market *m = *state;
    char pur[65], neg[65], want[160];
    assert_int_equal(e2e_purchase(m, "Tandem", "bikes", 81000, 1, pur, neg), 0);
    faultproxy *fp = faultproxy_start(m->srv.port);
    assert_non_null(fp);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", faultproxy_port(fp));
    vt *t = e2e_dealdesk_at(m, url, 24, 80, m->sup1_file, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, pur, WAIT_MS));
    assert_true(e2e_wait_operator(t, WAIT_MS)); /* whoami answered: decisions can be bound */
    vt_send(t, "/");
    vt_send(t, pur);
    vt_send(t, "\r");
    faultproxy_drop_responses(fp, 1000, "/veto");
    vt_send(t, "v");
    snprintf(want, sizeof want, "veto %s  reason:", pur);
    assert_true(e2e_wait(t, want, WAIT_MS));
    vt_send(t, "answer never comes\r");
    assert_true(e2e_wait(t, "no answer yet", WAIT_MS));
    faultproxy_stats fs;
    int64_t deadline = tproc_now_ms() + WAIT_MS;
    do { /* the server has it: its first answer was dropped */
        tproc_nap(20);
        faultproxy_stats_get(fp, &fs);
    } while (fs.responses_dropped < 1 && tproc_now_ms() < deadline);
    assert_true(fs.responses_dropped >= 1);
    vt_send(t, "q");
    assert_true(e2e_wait(t, "Quit with decisions unanswered?", WAIT_MS));
    snprintf(want, sizeof want, "1 decision has no answer yet: veto %s", pur);
    assert_true(e2e_wait(t, want, WAIT_MS));
    capture(t, "the question at quit");
    vt_send(t, "n"); /* no: stays */
    assert_true(e2e_wait(t, "not quitting", WAIT_MS));
    vt_send(t, "q");
    assert_true(e2e_wait(t, "Quit with decisions unanswered?", WAIT_MS));
    vt_send(t, "y");
    assert_int_equal(vt_wait_exit(t, 5000), 0);
    vt_free(t);
    faultproxy_stop(fp);
    assert_int_equal(decisions_on(m, "veto", pur), 1);

    /* Another operator on the same market: not offered (the box would come with the
     * snapshot and whoami, both shown before this check). */
    t = e2e_dealdesk(m, 30, 100, m->sup2_file, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, "sup2", WAIT_MS));
    assert_true(e2e_wait(t, "\xe2\x97\x8f live", WAIT_MS));
    assert_false(vt_contains(t, "Unanswered"));
    e2e_quit(t);

    /* The same operator, the market at its own URL: shown, sent again on y, once. */
    t = e2e_dealdesk(m, 24, 80, m->sup1_file, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, "Unanswered decisions", WAIT_MS));
    snprintf(want, sizeof want, "1 decision from your last session has no answer yet: veto %s",
             pur);
    assert_true(e2e_wait(t, want, WAIT_MS));
    assert_true(e2e_wait(t, "Esc keep for the next start", WAIT_MS));
    capture(t, "the question at start");
    vt_send(t, "y");
    snprintf(want, sizeof want, "earlier veto %s: done (200, replayed", pur);
    assert_true(e2e_wait(t, want, WAIT_MS));
    vt_send(t, "q"); /* answered: quits at once */
    assert_int_equal(vt_wait_exit(t, 5000), 0);
    vt_free(t);
    assert_int_equal(decisions_on(m, "veto", pur), 1);
    char st[32];
    assert_int_equal(e2e_purchase_status(m, pur, st, sizeof st, NULL), 0);
    assert_string_equal(st, "vetoed");
    /* And never again. */
    t = e2e_dealdesk(m, 30, 100, m->sup1_file, NULL, NULL);
    assert_true(e2e_wait(t, "sup1", WAIT_MS));
    assert_true(e2e_wait(t, "\xe2\x97\x8f live", WAIT_MS));
    assert_false(vt_contains(t, "Unanswered"));
    e2e_quit(t);
}

/* Two consoles at once: each one's command line lands in the history, whichever quits
 * last (issue 12: the last to quit overwrote the other's lines). */
static void test_two_consoles_merge_history(void **state)
{
    e2e_market *m = *state;
    vt *a = e2e_dealdesk(m, 24, 80, m->sup1_file, NULL, NULL);
    vt *b = e2e_dealdesk(m, 24, 80, m->sup2_file, NULL, NULL);
    assert_non_null(a);
    assert_non_null(b);
    assert_true(e2e_wait(a, "FLEET RUNNING", WAIT_MS));
    assert_true(e2e_wait(b, "FLEET RUNNING", WAIT_MS));
    vt_send(a, ":theme light\r");
    assert_true(e2e_wait(a, "theme light", WAIT_MS));
    vt_send(b, ":theme dark\r");
    assert_true(e2e_wait(b, "theme dark", WAIT_MS));
    vt_send(a, "q");
    assert_int_equal(vt_wait_exit(a, 5000), 0);
    vt_free(a);
    vt_send(b, "q");
    assert_int_equal(vt_wait_exit(b, 5000), 0);
    vt_free(b);
    char path[700], text[65536];
    const char *state_home = getenv("XDG_STATE_HOME");
    assert_non_null(state_home);
    snprintf(path, sizeof path, "%s/dealdesk/history", state_home);
    assert_true(tproc_slurp(path, text, sizeof text) > 0);
    assert_non_null(strstr(text, "theme light\n"));
    assert_non_null(strstr(text, "theme dark\n"));
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 077, 0);
}

/* A console of the same operator that is still running: its decision in flight is not
 * "left behind", so a second console does not offer it; once the first quits, the next
 * console does, and N discards it (never sent again). */
static void test_running_console_not_offered(void **state)
{
    e2e_market *m = *state;
    char pur[65], neg[65], want[160];
    assert_int_equal(e2e_purchase(m, "Recumbent", "bikes", 93000, 1, pur, neg), 0);
    faultproxy *fp = faultproxy_start(m->srv.port);
    assert_non_null(fp);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", faultproxy_port(fp));
    vt *a = e2e_dealdesk_at(m, url, 30, 100, m->sup1_file, NULL, NULL);
    assert_non_null(a);
    assert_true(e2e_wait(a, pur, WAIT_MS));
    vt_send(a, "/");
    vt_send(a, pur);
    vt_send(a, "\r");
    snprintf(want, sizeof want, "%s v1", pur);
    assert_true(e2e_wait(a, want, WAIT_MS));
    assert_true(e2e_wait_operator(a, WAIT_MS)); /* whoami answered: decisions can be bound */
    faultproxy_drop_responses(fp, 1000, "/veto");
    vt_send(a, "v");
    assert_true(e2e_wait(a, "reason:", WAIT_MS));
    vt_send(a, "second console\r");
    assert_true(e2e_wait(a, "no answer yet", WAIT_MS));

    vt *b = e2e_dealdesk(m, 24, 80, m->sup1_file, NULL, NULL);
    assert_non_null(b);
    assert_true(e2e_wait(b, "sup1", WAIT_MS));
    assert_true(e2e_wait(b, "\xe2\x97\x8f live", WAIT_MS));
    assert_false(vt_contains(b, "Unanswered"));
    vt_send(b, "q");
    assert_int_equal(vt_wait_exit(b, 5000), 0);
    vt_free(b);

    vt_send(a, "q");
    assert_true(e2e_wait(a, "Quit with decisions unanswered?", WAIT_MS));
    vt_send(a, "y");
    assert_int_equal(vt_wait_exit(a, 5000), 0);
    vt_free(a);
    faultproxy_stop(fp);

    vt *c = e2e_dealdesk(m, 24, 80, m->sup1_file, NULL, NULL);
    assert_non_null(c);
    snprintf(want, sizeof want, "has no answer yet: veto %s", pur);
    assert_true(e2e_wait(c, want, WAIT_MS));
    vt_send(c, "n");
    assert_true(e2e_wait(c, "1 earlier decision discarded, not sent again", WAIT_MS));
    vt_send(c, "q");
    assert_int_equal(vt_wait_exit(c, 5000), 0);
    vt_free(c);
    c = e2e_dealdesk(m, 24, 80, m->sup1_file, NULL, NULL); /* and never again */
    assert_true(e2e_wait(c, "sup1", WAIT_MS));
    assert_true(e2e_wait(c, "\xe2\x97\x8f live", WAIT_MS));
    assert_false(vt_contains(c, "Unanswered"));
    vt_send(c, "q");
    assert_int_equal(vt_wait_exit(c, 5000), 0);
    vt_free(c);
}

/* The fleet's status as the server has it. */
static void fleet_status(e2e_market *m, char *out, size_t size)
{
    testhttp_resp r = {0};
    assert_int_equal(testsrv_get(&m->srv, TESTSRV_TOKEN_SUP1, "/v1/snapshot", &r), 0);
    out[0] = '\0';
    testjson_str(r.body, "fleet.status", out, size);
    testhttp_resp_free(&r);
}

/* Journals, as a session that died, a halt for the market of srv and sup1 (review
 * findings 2 and 6). */
static void journal_left_halt_at(testsrv *srv, const char *reason)
{
    testhttp_resp r = {0};
    char epoch[65], body[256];
    assert_int_equal(testsrv_get(srv, NULL, "/v1/health", &r), 0);
    assert_true(testjson_str(r.body, "epoch", epoch, sizeof epoch));
    testhttp_resp_free(&r);
    snprintf(body, sizeof body, "{\"reason\":\"%s\"}", reason);
    journalfx_left("halt", "", testsrv_fleet_version(srv), body, epoch, "sup1", NULL);
}

static void journal_left_halt(e2e_market *m, const char *reason)
{
    journal_left_halt_at(&m->srv, reason);
}

/* The start-up box is open for market A's halt when the URL starts serving market B: the
 * box closes and says why, and nothing reaches B (review finding 2, in the console). */
static void test_resend_box_closes_on_market_change(void **state)
{
    e2e_market *m = *state;
    testsrv a, b;
    assert_int_equal(testsrv_start(&a, NULL), 0);
    assert_int_equal(testsrv_start(&b, NULL), 0);
    journal_left_halt_at(&a, "market A only");
    vt *t = e2e_dealdesk_at(m, a.url, 24, 80, m->sup1_file, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, "has no answer yet: halt fleet", WAIT_MS));
    char cmd[4096]; /* a's URL serves b's market from now on */
    assert_true(testsrv_terminate(&b) == 0);
    assert_true(testsrv_terminate(&a) == 0);
    snprintf(cmd, sizeof cmd, "rm -f '%s'-wal '%s'-shm && cp '%s' '%s'", a.db, a.db, b.db, a.db);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(testsrv_restart(&a), 0);
    assert_true(e2e_wait(t, "another market here now: earlier decisions kept", WAIT_MS));
    capture(t, "after the market changed");
    assert_false(vt_contains(t, "Unanswered decisions"));
    vt_send(t, "y"); /* too late: nothing to answer */
    e2e_quit(t);
    testhttp_resp r = {0};
    char st[32] = "";
    assert_int_equal(testsrv_get(&a, TESTSRV_TOKEN_SUP1, "/v1/snapshot", &r), 0);
    testjson_str(r.body, "fleet.status", st, sizeof st);
    testhttp_resp_free(&r);
    testsrv_stop(&a);
    testsrv_stop(&b);
    assert_string_equal(st, "running");
}

/* The start-up box pops up by itself: a key typed ahead for the table (j, an arrow) is
 * ignored and the box stays; Esc keeps the earlier halt for the next start (not sent,
 * not discarded), where y sends it (review finding 6's reproduction). */
static void test_resend_box_ignores_typeahead(void **state)
{
    e2e_market *m = *state;
    char st[32];
    journal_left_halt(m, "fraud ring: stop everything");
    vt *t = e2e_dealdesk(m, 24, 80, m->sup1_file, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, "Unanswered decisions", WAIT_MS));
    assert_true(e2e_wait(t, "has no answer yet: halt fleet", WAIT_MS));
    capture(t, "the box");
    vt_send(t, "j");      /* the operator was moving down the table as the box came up */
    vt_send(t, "\x1b[B"); /* an arrow */
    vt_send(t, "\x1b");   /* then Esc: kept */
    assert_true(
        e2e_wait(t, "1 earlier decision kept, not sent: asked again at the next start", WAIT_MS));
    capture(t, "after j, an arrow and Esc");
    assert_false(vt_contains(t, "discarded"));
    e2e_quit(t);
    fleet_status(m, st, sizeof st);
    assert_string_equal(st, "running"); /* not sent */

    t = e2e_dealdesk(m, 24, 80, m->sup1_file, NULL, NULL); /* asked again */
    assert_non_null(t);
    assert_true(e2e_wait(t, "has no answer yet: halt fleet", WAIT_MS));
    vt_send(t, "y");
    assert_true(e2e_wait(t, "earlier halt fleet: done (200", WAIT_MS));
    e2e_quit(t);
    fleet_status(m, st, sizeof st);
    assert_string_equal(st, "halted");
    testhttp_resp r = {0}; /* leave the fleet running for the other tests */
    assert_int_equal(testsrv_post(&m->srv, TESTSRV_TOKEN_SUP1, "/v1/fleet/resume",
                                  testsrv_fleet_version(&m->srv), "{}", &r),
                     0);
    assert_int_equal(r.status, 200);
    testhttp_resp_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_halt_before_connected_never_sent),
        cmocka_unit_test(test_unknown_outcome_asked_and_offered),
        cmocka_unit_test(test_two_consoles_merge_history),
        cmocka_unit_test(test_running_console_not_offered),
        cmocka_unit_test(test_resend_box_ignores_typeahead),
        cmocka_unit_test(test_resend_box_closes_on_market_change),
    };
    return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
