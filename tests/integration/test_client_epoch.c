/* test_client_epoch.c: decisions bound to one market never reach another market served
 * later at the same URL (review findings 1, 2, 7, 8; reproductions adopted from the
 * review).
 *
 * - The start-up offer of an earlier session's entries for market A is dropped (kept
 *   unsettled in the journal) when the URL starts serving market B; B's own entries are
 *   offered then.
 * - A decision retried after a transport failure carries If-Epoch: market B answers 412
 *   epoch_mismatch, nothing is applied there, the entry is settled and not retried.
 * - Entries of a dead session that a console re-sends are taken over: a second console
 *   does not offer them while the first runs, and does after it ended.
 * - One-shot commands (finding 9): bound to another market, refused (412); the market
 *   changing between reading it and reading the subject: nothing sent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/client.h"
#include "api/config.h"
#include "api/journal.h"

#include "tests/lib/faultproxy.h"
#include "tests/lib/proc.h"
#include "tests/lib/journalfx.h"
#include "tests/lib/testsrv.h"

static void epoch_of(testsrv *s, char *out, size_t size)
{
    testhttp_resp r = {0};
    assert_int_equal(testsrv_get(s, NULL, "/v1/health", &r), 0);
    assert_true(testjson_str(r.body, "epoch", out, size));
    testhttp_resp_free(&r);
}

static void fleet_status(testsrv *s, char *out, size_t size)
{
    testhttp_resp r = {0};
    assert_int_equal(testsrv_get(s, TESTSRV_TOKEN_SUP1, "/v1/snapshot", &r), 0);
    assert_true(testjson_str(r.body, "fleet.status", out, size));
    testhttp_resp_free(&r);
}

/* Journals fleet_resume bound to epoch/sup1 with a key of a session that is not running;
 * the key into key (may be NULL). */
static void journal_fleet_resume_key(const char *epoch, char key[JOURNAL_KEY_MAX + 1])
{
    journalfx_left("fleet_resume", "", 0, "{}", epoch, "sup1", key);
}

static void journal_fleet_resume(const char *epoch)
{
    journal_fleet_resume_key(epoch, NULL);
}

typedef struct box {
    bool done;
    int status;
    char code[32];
    char message[512];
} box;
static void on_box(void *ud, const decision_outcome *o)
{
    box *b = ud;
    b->done = true;
    b->status = o->http_status;
    snprintf(b->code, sizeof b->code, "%s", o->error_code);
    snprintf(b->message, sizeof b->message, "%s", o->message);
}

/* Makes a's URL serve b's market: both stopped, b's database copied over a's, a restarted
 * (same port). */
static void swap_market(testsrv *a, testsrv *b)
{
    char cmd[4096];
    assert_true(testsrv_terminate(b) == 0);
    assert_true(testsrv_terminate(a) == 0);
    snprintf(cmd, sizeof cmd,
             "rm -f '%s'-wal '%s'-shm && cp '%s' '%s' && (cp '%s'-wal '%s'-wal 2>/dev/null; true)",
             a->db, a->db, b->db, a->db, b->db, a->db);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(testsrv_restart(a), 0);
}

static void run_until(client *c, bool (*cond)(client *, store *, void *), store *s, void *ud)
{
    int64_t deadline = tproc_now_ms() + 20000;
    while (!cond(c, s, ud) && tproc_now_ms() < deadline) {
        client_wait(c, NULL, 0, 100, NULL);
        client_run(c);
    }
    assert_true(cond(c, s, ud));
}
static bool is_bound(client *c, store *s, void *ud)
{
    (void)s, (void)ud;
    return client_bound(c);
}
static bool on_epoch(client *c, store *s, void *ud)
{
    (void)c;
    return strcmp(store_epoch(s), (const char *)ud) == 0;
}
static bool box_done(client *c, store *s, void *ud)
{
    (void)c, (void)s;
    return ((box *)ud)->done;
}

/* Finding 2: the offer made for market A is not offered to, nor sent to, market B. */
static void test_offer_dropped_on_market_change(void **state)
{
    (void)state;
    testsrv a, b;
    assert_int_equal(testsrv_start(&a, NULL), 0);
    assert_int_equal(testsrv_start(&b, NULL), 0);
    char ea[65], eb[65], st[32];
    epoch_of(&a, ea, sizeof ea);
    epoch_of(&b, eb, sizeof eb);
    testhttp_resp r = {0};
    assert_int_equal(testsrv_post(&b, TESTSRV_TOKEN_SUP1, "/v1/fleet/halt",
                                  testsrv_fleet_version(&b),
                                  "{\"reason\":\"incident in market B\"}", &r),
                     0);
    assert_int_equal(r.status, 200);
    testhttp_resp_free(&r);
    journal_fleet_resume(ea); /* an earlier session's resume of market A's fleet */

    config cfg;
    config_init(&cfg);
    snprintf(cfg.url, sizeof cfg.url, "%s", a.url);
    snprintf(cfg.token, sizeof cfg.token, "%s", TESTSRV_TOKEN_SUP1);
    store *s = store_new();
    char err[256], summary[256];
    client *c = client_new(&cfg, s, err, sizeof err);
    assert_non_null(c);
    run_until(c, is_bound, s, NULL);
    assert_int_equal(client_unanswered(c, summary, sizeof summary), 1); /* the box opens */

    swap_market(&a, &b); /* the operator has not answered yet; the URL now serves B */
    run_until(c, on_epoch, s, eb);
    /* Expected: nothing for market A is offered to (or sent to) market B. */
    size_t still = client_unanswered(c, summary, sizeof summary);
    box bx = {0};
    client_unanswered_send(c, on_box, &bx); /* the operator presses y */
    if (still)
        run_until(c, box_done, s, &bx);
    fleet_status(&a, st, sizeof st);
    print_message("offered after the epoch change: %zu (%s); B's fleet now: %s; answer %d\n", still,
                  summary, st, bx.status);
    client_free(c);
    store_free(s);
    config_free(&cfg);
    testsrv_stop(&a);
    testsrv_stop(&b);
    assert_int_equal(still, 0);
    assert_string_equal(st, "halted");
}

/* Finding 1: a decision in its retries reaches market B before B's snapshot is read:
 * refused there (412 epoch_mismatch), nothing applied, settled, not retried. */
static void test_retry_refused_by_other_market(void **state)
{
    (void)state;
    testsrv a, b;
    assert_int_equal(testsrv_start(&a, NULL), 0);
    assert_int_equal(testsrv_start(&b, NULL), 0);
    char st[32];
    testhttp_resp r = {0};
    assert_int_equal(testsrv_post(&a, TESTSRV_TOKEN_SUP1, "/v1/fleet/halt",
                                  testsrv_fleet_version(&a), "{\"reason\":\"A\"}", &r),
                     0);
    testhttp_resp_free(&r);
    assert_int_equal(testsrv_post(&b, TESTSRV_TOKEN_SUP1, "/v1/fleet/halt",
                                  testsrv_fleet_version(&b),
                                  "{\"reason\":\"incident in market B\"}", &r),
                     0);
    testhttp_resp_free(&r);

    config cfg;
    config_init(&cfg);
    snprintf(cfg.url, sizeof cfg.url, "%s", a.url);
    snprintf(cfg.token, sizeof cfg.token, "%s", TESTSRV_TOKEN_SUP1);
    store *s = store_new();
    char err[256];
    client *c = client_new(&cfg, s, err, sizeof err);
    assert_non_null(c);
    run_until(c, is_bound, s, NULL);
    /* A goes down; the operator resumes A's fleet (as seen on screen): refused
     * connections are retried with the same key. */
    assert_true(testsrv_terminate(&b) == 0);
    assert_true(testsrv_terminate(&a) == 0);
    decision_req req;
    decision_req_init(&req, DEC_FLEET_RESUME, "");
    box bx = {0};
    assert_true(client_decide(c, &req, on_box, &bx) != 0);
    for (int i = 0; i < 5; i++) { /* a few failed attempts */
        client_wait(c, NULL, 0, 100, NULL);
        client_run(c);
    }
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "rm -f '%s'-wal '%s'-shm && cp '%s' '%s'", a.db, a.db, b.db, a.db);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(testsrv_restart(&a), 0); /* the URL now serves market B */
    run_until(c, box_done, s, &bx);
    fleet_status(&a, st, sizeof st);
    print_message("retry answered %d; market B's fleet now: %s\n", bx.status, st);
    assert_int_equal(client_pending_decisions(c), 0); /* not retried */
    client_free(c);
    store_free(s);
    config_free(&cfg);
    testsrv_stop(&a);
    testsrv_stop(&b);
    assert_string_equal(st, "halted");
    assert_int_equal(bx.status, 412);
    assert_string_equal(bx.code, "epoch_mismatch");
    assert_non_null(strstr(bx.message, "is not the one this decision was made for"));
    assert_non_null(strstr(bx.message, "nothing applied"));
}

/* Finding 1: market ids are sequential (pur_1, pur_2... in every market): an approval
 * retried after the URL starts serving another market must not approve that market's
 * purchase of the same id, version and total. */
static void test_retried_approve_refused_by_other_market(void **state)
{
    (void)state;
    testsrv a, b;
    testsrv_market ma, mb;
    char pa[72], pb[72], st[32];
    assert_int_equal(testsrv_start(&a, NULL), 0);
    assert_int_equal(testsrv_start(&b, NULL), 0);
    assert_int_equal(testsrv_market_setup(&a, &ma, 1000), 0);
    assert_int_equal(testsrv_market_setup(&b, &mb, 1000), 0);
    assert_int_equal(testsrv_market_purchase(&a, &ma, 50000, 2, pa), 0);
    assert_int_equal(testsrv_market_purchase(&b, &mb, 50000, 2, pb), 0);
    assert_string_equal(pa, pb); /* the same id in both markets */

    config cfg;
    config_init(&cfg);
    snprintf(cfg.url, sizeof cfg.url, "%s", a.url);
    snprintf(cfg.token, sizeof cfg.token, "%s", TESTSRV_TOKEN_SUP1);
    store *s = store_new();
    char err[256];
    client *c = client_new(&cfg, s, err, sizeof err);
    assert_non_null(c);
    run_until(c, is_bound, s, NULL);
    assert_true(testsrv_terminate(&b) == 0);
    assert_true(testsrv_terminate(&a) == 0);
    decision_req req; /* the operator approves market A's purchase, as shown */
    decision_req_init(&req, DEC_APPROVE, pa);
    req.if_match_version = 1;
    req.expected_total_minor = 100000;
    box bx = {0};
    assert_true(client_decide(c, &req, on_box, &bx) != 0);
    for (int i = 0; i < 5; i++) {
        client_wait(c, NULL, 0, 100, NULL);
        client_run(c);
    }
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "rm -f '%s'-wal '%s'-shm && cp '%s' '%s'", a.db, a.db, b.db, a.db);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(testsrv_restart(&a), 0); /* the URL now serves market B */
    run_until(c, box_done, s, &bx);
    char path[128];
    snprintf(path, sizeof path, "/v1/purchases/%s", pb);
    testhttp_resp r = {0};
    assert_int_equal(testsrv_get(&a, TESTSRV_TOKEN_SUP1, path, &r), 0);
    testjson_str(r.body, "status", st, sizeof st);
    testhttp_resp_free(&r);
    print_message("approve for market A answered %d; market B's %s is now %s\n", bx.status, pb, st);
    client_free(c);
    store_free(s);
    config_free(&cfg);
    testsrv_stop(&a);
    testsrv_stop(&b);
    assert_string_equal(st, "pending_approval");
    assert_int_equal(bx.status, 412);
    assert_string_equal(bx.code, "epoch_mismatch");
}

/* Finding 8: after the URL starts serving market B, B's own entries of an earlier session
 * are offered (the journal is read again); A's stay unsettled for A. */
static void test_offer_read_again_for_new_market(void **state)
{
    (void)state;
    testsrv a, b;
    assert_int_equal(testsrv_start(&a, NULL), 0);
    assert_int_equal(testsrv_start(&b, NULL), 0);
    char ea[65], eb[65], ka[JOURNAL_KEY_MAX + 1], kb[JOURNAL_KEY_MAX + 1], summary[256];
    epoch_of(&a, ea, sizeof ea);
    epoch_of(&b, eb, sizeof eb);
    journal_fleet_resume_key(ea, ka);
    journal_fleet_resume_key(eb, kb);
    config cfg;
    config_init(&cfg);
    snprintf(cfg.url, sizeof cfg.url, "%s", a.url);
    snprintf(cfg.token, sizeof cfg.token, "%s", TESTSRV_TOKEN_SUP1);
    store *s = store_new();
    char err[256];
    client *c = client_new(&cfg, s, err, sizeof err);
    assert_non_null(c);
    run_until(c, is_bound, s, NULL);
    assert_int_equal(client_unanswered(c, summary, sizeof summary), 1); /* A's */
    swap_market(&a, &b);
    run_until(c, on_epoch, s, eb);
    size_t n = client_unanswered(c, summary, sizeof summary);
    print_message("offered after the change: %zu (%s)\n", n, summary);
    assert_int_equal(n, 1); /* B's */
    client_unanswered_discard(c);
    client_free(c);
    store_free(s);
    config_free(&cfg);
    testsrv_stop(&a);
    testsrv_stop(&b);
    assert_false(journalfx_unsettled(kb)); /* discarded: it was B's */
    assert_true(journalfx_unsettled(ka));  /* A's: kept for A */
}

/* Finding 7: entries of a dead session re-sent by one console are taken over: a second
 * console of the same operator on the same market does not offer them while the first
 * runs; once the first has ended with no answer, they are offered again. */
static void test_resent_entries_taken_over(void **state)
{
    (void)state;
    testsrv a;
    assert_int_equal(testsrv_start(&a, NULL), 0);
    char ea[65], ka[JOURNAL_KEY_MAX + 1];
    epoch_of(&a, ea, sizeof ea);
    journal_fleet_resume_key(ea, ka);
    config cfg;
    config_init(&cfg);
    snprintf(cfg.url, sizeof cfg.url, "%s", a.url);
    snprintf(cfg.token, sizeof cfg.token, "%s", TESTSRV_TOKEN_SUP1);
    store *s1 = store_new(), *s2 = store_new(), *s3 = store_new();
    char err[256];
    client *c1 = client_new(&cfg, s1, err, sizeof err);
    assert_non_null(c1);
    run_until(c1, is_bound, s1, NULL);
    assert_int_equal(client_unanswered(c1, NULL, 0), 1);
    box bx = {0};
    client_unanswered_send(c1, on_box, &bx); /* y; its answer is not read yet */
    client *c2 = client_new(&cfg, s2, err, sizeof err);
    assert_non_null(c2);
    run_until(c2, is_bound, s2, NULL);
    size_t offered = client_unanswered(c2, NULL, 0);
    client_free(c2);
    client_free(c1); /* ends with the answer unread: the outcome stays unknown */
    assert_true(journalfx_unsettled(ka));
    c2 = client_new(&cfg, s3, err, sizeof err);
    assert_non_null(c2);
    run_until(c2, is_bound, s3, NULL);
    size_t after = client_unanswered(c2, NULL, 0);
    client_unanswered_discard(c2);
    client_free(c2);
    store_free(s1);
    store_free(s2);
    store_free(s3);
    config_free(&cfg);
    testsrv_stop(&a);
    print_message("offered to a second console: %zu; after the first ended: %zu\n", offered, after);
    assert_int_equal(offered, 0);
    assert_int_equal(after, 1);
}

/* A one-shot command's client (no stream, bound by client_bind as tui/headless.c does)
 * bound to another market than the one at the URL: the decision is refused there (412
 * epoch_mismatch), nothing applied, settled in the journal, not retried. */
static void test_one_shot_bound_elsewhere_refused(void **state)
{
    (void)state;
    testsrv a;
    assert_int_equal(testsrv_start(&a, NULL), 0);
    config cfg;
    config_init(&cfg);
    snprintf(cfg.url, sizeof cfg.url, "%s", a.url);
    snprintf(cfg.token, sizeof cfg.token, "%s", TESTSRV_TOKEN_SUP1);
    cfg.no_stream = true;
    store *s = store_new();
    char err[256], st[32];
    client *c = client_new(&cfg, s, err, sizeof err);
    assert_non_null(c);
    assert_int_equal(client_bind(c, "00000000deadbeef", "sup1"), 0);
    decision_req req;
    decision_req_init(&req, DEC_HALT, "");
    snprintf(req.reason, sizeof req.reason, "for another market");
    box bx = {0};
    assert_true(client_decide(c, &req, on_box, &bx) != 0);
    run_until(c, box_done, s, &bx);
    assert_int_equal(client_pending_decisions(c), 0);
    client_free(c);
    store_free(s);
    config_free(&cfg);
    fleet_status(&a, st, sizeof st);
    testsrv_stop(&a);
    print_message("answered %d %s: %s\n", bx.status, bx.code, bx.message);
    assert_int_equal(bx.status, 412);
    assert_string_equal(bx.code, "epoch_mismatch");
    assert_non_null(strstr(bx.message, "nothing applied"));
    assert_string_equal(st, "running");
}

/* Finding 9: a one-shot approve reads the market (health, whoami) and the purchase's
 * version and total; when another market appears at the URL in between, it sends
 * nothing (the version and total read may be the other market's). */
static void test_one_shot_market_changes_while_preparing(void **state)
{
    (void)state;
    testsrv a, b;
    testsrv_market ma, mb;
    char pa[72], pb[72], st[32], out[600], errp[600], text[4096] = "";
    assert_int_equal(testsrv_start(&a, NULL), 0);
    assert_int_equal(testsrv_start(&b, NULL), 0);
    assert_int_equal(testsrv_market_setup(&a, &ma, 1000), 0);
    assert_int_equal(testsrv_market_setup(&b, &mb, 1000), 0);
    assert_int_equal(testsrv_market_purchase(&a, &ma, 50000, 2, pa), 0);
    assert_int_equal(testsrv_market_purchase(&b, &mb, 50000, 2, pb), 0);
    assert_string_equal(pa, pb);
    faultproxy *fp = faultproxy_start(a.port);
    assert_non_null(fp);
    faultproxy_switch_after(fp, "/v1/whoami", b.port); /* B from the next request on */
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", faultproxy_port(fp));
    char *tok = testsrv_token_file(&a, TESTSRV_TOKEN_SUP1);
    const char *args[] = {"--url", url, "--token-file", tok, "approve", pa, NULL};
    snprintf(out, sizeof out, "%s/epoch.out", getenv("TEST_TMP"));
    snprintf(errp, sizeof errp, "%s/epoch.err", getenv("TEST_TMP"));
    int rc = tproc_wait_child(tproc_spawn_dealdesk(args, out, errp), 30000);
    tproc_slurp(errp, text, sizeof text);
    free(tok);
    faultproxy_stop(fp);
    char path[128];
    snprintf(path, sizeof path, "/v1/purchases/%s", pb);
    testhttp_resp r = {0};
    assert_int_equal(testsrv_get(&b, TESTSRV_TOKEN_SUP1, path, &r), 0);
    testjson_str(r.body, "status", st, sizeof st);
    testhttp_resp_free(&r);
    testsrv_stop(&a);
    testsrv_stop(&b);
    print_message("exit %d; market B's %s is now %s; stderr: %s\n", rc, pb, st, text);
    assert_string_equal(st, "pending_approval");
    assert_int_equal(rc, 1);
    assert_non_null(strstr(text, "changed while the decision was prepared"));
    assert_non_null(strstr(text, "nothing sent"));
}

/* A console started before its server learns who it is when the server comes up: whoami
 * is asked again at every connection attempt until it is answered (it was asked once, at
 * start, so a console that began on a closed port could never bind a decision); and the
 * market is shown as read only with the operator in it (the snapshot waits for whoami). */
static void test_console_started_before_its_server_binds(void **state)
{
    (void)state;
    testsrv a;
    assert_int_equal(testsrv_start(&a, NULL), 0);
    assert_int_equal(testsrv_terminate(&a), 0); /* the port is closed when the client starts */
    config cfg;
    config_init(&cfg);
    snprintf(cfg.url, sizeof cfg.url, "%s", a.url);
    snprintf(cfg.token, sizeof cfg.token, "%s", TESTSRV_TOKEN_SUP1);
    store *s = store_new();
    char err[256];
    client *c = client_new(&cfg, s, err, sizeof err);
    assert_non_null(c);
    for (int i = 0; i < 5; i++) { /* a few refused attempts, whoami among them */
        client_wait(c, NULL, 0, 100, NULL);
        client_run(c);
    }
    assert_false(client_bound(c));
    assert_int_equal(testsrv_restart(&a), 0);
    char ea[65];
    epoch_of(&a, ea, sizeof ea);
    run_until(c, on_epoch, s, ea);
    assert_true(client_bound(c)); /* read with who we are in it, in the same turn */
    client_free(c);
    store_free(s);
    config_free(&cfg);
    testsrv_stop(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offer_dropped_on_market_change),
        cmocka_unit_test(test_retry_refused_by_other_market),
        cmocka_unit_test(test_retried_approve_refused_by_other_market),
        cmocka_unit_test(test_offer_read_again_for_new_market),
        cmocka_unit_test(test_resent_entries_taken_over),
        cmocka_unit_test(test_one_shot_bound_elsewhere_refused),
        cmocka_unit_test(test_one_shot_market_changes_while_preparing),
        cmocka_unit_test(test_console_started_before_its_server_binds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
