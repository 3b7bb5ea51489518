/* test_client_decide.c: one-shot decisions against a real marketd: a decision whose
 * answer is lost (the proxy drops it after the server committed) is retried with the
 * same Idempotency-Key and applied exactly once; journal entries without an answer are
 * bound to their market and operator: never sent by a headless command, offered to a
 * console of the same market and operator only and then applied exactly once; a headless
 * decision that fails leaves nothing to send later; 409 and 412 exit non-zero with the
 * server's message; usage errors exit 2; the token appears nowhere. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
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

#include "api/client.h"
#include "api/config.h"
#include "api/journal.h"
#include "tests/lib/proc.h"
#include "tests/lib/faultproxy.h"
#include "tests/lib/journalfx.h"
#include "tests/lib/testsrv.h"

typedef struct run_result {
    int status;
    char out[4096];
    char err[4096];
} run_result;

/* Runs $DEALDESK_BIN with args to completion (30 s at most). */
static run_result run(const char *const *args)
{
    run_result r = {0};
    const char *tmp = getenv("TEST_TMP");
    char op[600], ep[600];
    snprintf(op, sizeof op, "%s/decide.out", tmp);
    snprintf(ep, sizeof ep, "%s/decide.err", tmp);
    r.status = tproc_wait_child(tproc_spawn_dealdesk(args, op, ep), 30000);
    if (r.status < 0)
        fail_msg("dealdesk did not finish in 30 s");
    tproc_slurp(op, r.out, sizeof r.out);
    tproc_slurp(ep, r.err, sizeof r.err);
    return r;
}

/* How many decision records with action on subject the server holds. */
static int decisions_on(testsrv *s, const char *action, const char *subject)
{
    testhttp_resp r = {0};
    assert_non_null(r.body = testsrv_state(s, TESTSRV_TOKEN_SUP1));
    int n = 0;
    long long len = testjson_len(r.body, "decisions");
    for (long long i = 0; i < len; i++) {
        char p[64], a[32] = "", id[72] = "";
        snprintf(p, sizeof p, "decisions.%lld.action", i);
        testjson_str(r.body, p, a, sizeof a);
        snprintf(p, sizeof p, "decisions.%lld.subject.id", i);
        testjson_str(r.body, p, id, sizeof id);
        if (!strcmp(a, action) && !strcmp(id, subject))
            n++;
    }
    testhttp_resp_free(&r);
    return n;
}

/* The purchase's status. */
static void purchase_status(testsrv *s, const char *id, char *out, size_t size)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/purchases/%s", id);
    testhttp_resp r = {0};
    assert_int_equal(testsrv_get(s, TESTSRV_TOKEN_SUP1, path, &r), 0);
    testjson_str(r.body, "status", out, size);
    testhttp_resp_free(&r);
}

/* The ledger entries of a purchase. */
static int ledger_entries_for(testsrv *s, const char *pur)
{
    testhttp_resp r = {0};
    assert_non_null(r.body = testsrv_state(s, TESTSRV_TOKEN_SUP1));
    int n = 0;
    long long len = testjson_len(r.body, "ledger.entries");
    for (long long i = 0; i < len; i++) {
        char p[64], id[72];
        snprintf(p, sizeof p, "ledger.entries.%lld.purchase_id", i);
        testjson_str(r.body, p, id, sizeof id);
        n += !strcmp(id, pur);
    }
    testhttp_resp_free(&r);
    return n;
}

/* The text of the journal. */
static void journal_text(char *out, size_t size)
{
    config cfg;
    char path[4096];
    config_init(&cfg);
    assert_int_equal(config_journal_path(&cfg, path, sizeof path), 0);
    tproc_slurp(path, out, size);
}

static testsrv srv;
static testsrv_market mkt;
static char *tok;

/* Where an outcome delivered to a callback is kept. */
typedef struct answer_box {
    bool done;
    int status;
} answer_box;

static void on_box(void *ud, const decision_outcome *o)
{
    answer_box *b = ud;
    b->done = true;
    b->status = o->http_status;
}

static int setup(void **state)
{
    (void)state;
    if (testsrv_start(&srv, NULL) < 0 || testsrv_market_setup(&srv, &mkt, 1000) < 0)
        return -1;
    tok = testsrv_token_file(&srv, TESTSRV_TOKEN_SUP1);
    return tok ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    testsrv_stop(&srv);
    free(tok);
    return 0;
}

static void test_lost_answer_applied_once(void **state)
{
    (void)state;
    char pur[72];
    assert_int_equal(testsrv_market_purchase(&srv, &mkt, 50000, 2, pur), 0);
    char st[32];
    purchase_status(&srv, pur, st, sizeof st);
    assert_string_equal(st, "pending_approval");
    faultproxy *fp = faultproxy_start(srv.port);
    assert_non_null(fp);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", faultproxy_port(fp));
    faultproxy_drop_responses(fp, 1, "/approve");
    const char *args[] = {"--url", url,       "--token-file", tok, "approve",
                          pur,     "--total", "1,000.00",     NULL};
    run_result r = run(args);
    if (r.status != 0)
        fail_msg("exit %d, stderr: %s", r.status, r.err);
    faultproxy_stats fs;
    faultproxy_stats_get(fp, &fs);
    assert_int_equal(fs.responses_dropped, 1);
    /* The retry got the first answer again. */
    assert_non_null(strstr(r.out, "ok approve"));
    assert_non_null(strstr(r.out, "replayed"));
    purchase_status(&srv, pur, st, sizeof st);
    assert_string_equal(st, "settled");
    assert_int_equal(decisions_on(&srv, "approve", pur), 1);
    assert_int_equal(ledger_entries_for(&srv, pur), 1);
    faultproxy_stop(fp);
}

/* The market's epoch, as GET /v1/health gives it. */
static void market_epoch(char *out, size_t size)
{
    testhttp_resp r = {0};
    assert_int_equal(testsrv_get(&srv, NULL, "/v1/health", &r), 0);
    assert_true(testjson_str(r.body, "epoch", out, size));
    testhttp_resp_free(&r);
}

/* Journals a veto of pur at version 1 (see journal_left). */
static void journal_veto(const char *pur, const char *epoch, const char *op, char *key)
{
    journalfx_left("veto", pur, 1, "{\"reason\":\"journal replay\"}", epoch, op, key);
}

/* Issue 12's blocker, headless: decisions left without an answer are never sent by a
 * later headless command (a one-shot decision, or `tail` against another URL under
 * another operator), whatever market or operator they were for; a console-like client
 * gets only those of its own market and operator, sends them with the same key on the
 * operator's yes, and the server applies each at most once. */
static void test_journal_bound_to_market_and_operator(void **state)
{
    (void)state;
    char pur1[72], pur2[72], pur3[72], epoch[65], k1[65], k2[65], k3[65];
    assert_int_equal(testsrv_market_purchase(&srv, &mkt, 50000, 3, pur1), 0);
    assert_int_equal(testsrv_market_purchase(&srv, &mkt, 50000, 4, pur2), 0);
    assert_int_equal(testsrv_market_purchase(&srv, &mkt, 50000, 2, pur3), 0);
    market_epoch(epoch, sizeof epoch);
    journal_veto(pur1, epoch, "sup1", k1);              /* this market, this operator */
    journal_veto(pur2, "0123456789abcdef", "sup1", k2); /* another market */
    journal_veto(pur3, epoch, "sup2", k3);              /* another operator */

    /* One-shot decisions on something else send none of them. */
    const char *args[] = {"--url", srv.url, "--token-file", tok, "halt", "--reason", "drill", NULL};
    run_result r = run(args);
    if (r.status != 0)
        fail_msg("exit %d, stderr: %s", r.status, r.err);
    const char *args2[] = {"--url", srv.url, "--token-file", tok, "fleet-resume", NULL};
    r = run(args2);
    if (r.status != 0)
        fail_msg("exit %d, stderr: %s", r.status, r.err);
    /* `tail` against another URL (a proxy to the same market) as another operator
     * neither: it runs until it has printed an event made after it started. */
    faultproxy *fp = faultproxy_start(srv.port);
    assert_non_null(fp);
    char purl[64], out[600], errp[600], text[65536];
    snprintf(purl, sizeof purl, "http://127.0.0.1:%d", faultproxy_port(fp));
    snprintf(out, sizeof out, "%s/tail.out", getenv("TEST_TMP"));
    snprintf(errp, sizeof errp, "%s/tail.err", getenv("TEST_TMP"));
    char *tok2 = testsrv_token_file(&srv, TESTSRV_TOKEN_SUP2);
    const char *targs[] = {"--url", purl, "--token-file", tok2, "tail", NULL};
    pid_t pid = tproc_spawn_dealdesk(targs, out, errp);
    char later[72];
    int64_t deadline = tproc_now_ms() + 20000;
    do { /* purchases until tail has printed one made after it started */
        assert_int_equal(testsrv_market_purchase(&srv, &mkt, 50000, 1, later), 0);
        tproc_nap(50);
        tproc_slurp(out, text, sizeof text);
    } while (!strstr(text, later) && tproc_now_ms() < deadline);
    assert_non_null(strstr(text, later));
    tproc_stop_child(pid);
    faultproxy_stop(fp);
    free(tok2);
    char st[32];
    const char *purs[] = {pur1, pur2, pur3};
    const char *keys[] = {k1, k2, k3};
    for (int i = 0; i < 3; i++) {
        purchase_status(&srv, purs[i], st, sizeof st);
        assert_string_equal(st, "pending_approval");
        assert_int_equal(decisions_on(&srv, "veto", purs[i]), 0);
        assert_true(journalfx_unsettled(keys[i]));
    }

    /* A console's client, once it has read the market and who it is: only pur1. */
    config cfg;
    config_init(&cfg);
    snprintf(cfg.url, sizeof cfg.url, "%s", srv.url);
    snprintf(cfg.token, sizeof cfg.token, "%s", TESTSRV_TOKEN_SUP1);
    store *s = store_new();
    char err[256], summary[256];
    client *c = client_new(&cfg, s, err, sizeof err);
    assert_non_null(c);
    deadline = tproc_now_ms() + 15000;
    while (!client_bound(c) && tproc_now_ms() < deadline) {
        client_wait(c, NULL, 0, 100, NULL);
        client_run(c);
    }
    assert_true(client_bound(c));
    assert_int_equal(client_unanswered(c, summary, sizeof summary), 1);
    char want[128];
    snprintf(want, sizeof want, "veto %s", pur1);
    assert_string_equal(summary, want);
    answer_box box = {0};
    client_unanswered_send(c, on_box, &box);
    assert_int_equal(client_unanswered(c, NULL, 0), 0);
    while (!box.done && tproc_now_ms() < deadline) {
        client_wait(c, NULL, 0, 100, NULL);
        client_run(c);
    }
    assert_true(box.done);
    assert_int_equal(box.status, 200);
    client_free(c);
    store_free(s);
    config_free(&cfg);
    purchase_status(&srv, pur1, st, sizeof st);
    assert_string_equal(st, "vetoed");
    assert_int_equal(decisions_on(&srv, "veto", pur1), 1);
    assert_false(journalfx_unsettled(k1));
    /* The others are kept for their own market and operator. */
    assert_true(journalfx_unsettled(k2));
    assert_true(journalfx_unsettled(k3));
    assert_int_equal(decisions_on(&srv, "veto", pur2), 0);
    assert_int_equal(decisions_on(&srv, "veto", pur3), 0);
}

/* Review finding 5: an earlier session's fleet resume, decided on one halt and left
 * without an answer, is offered at start-up and re-sent with the version it was decided
 * on; the fleet was resumed and halted again for another reason since, so it answers 412
 * and the later halt stands. */
static void test_resent_resume_fails_on_later_halt(void **state)
{
    (void)state;
    char epoch[65], key[65], body[80];
    testhttp_resp r = {0};
    long long v = testsrv_fleet_version(&srv);
    assert_int_equal(testsrv_post(&srv, TESTSRV_TOKEN_SUP1, "/v1/fleet/halt", v,
                                  "{\"reason\":\"incident 1\"}", &r),
                     0);
    assert_int_equal(r.status, 200);
    testhttp_resp_free(&r);
    market_epoch(epoch, sizeof epoch);
    journalfx_left("fleet_resume", "", v + 1, "{}", epoch, "sup1", key); /* on incident 1 */
    assert_int_equal(testsrv_post(&srv, TESTSRV_TOKEN_SUP2, "/v1/fleet/resume", v + 1, "{}", &r),
                     0);
    testhttp_resp_free(&r);
    snprintf(body, sizeof body, "{\"reason\":\"incident 2\"}");
    assert_int_equal(testsrv_post(&srv, TESTSRV_TOKEN_SUP2, "/v1/fleet/halt", v + 2, body, &r), 0);
    assert_int_equal(r.status, 200);
    testhttp_resp_free(&r);

    config cfg;
    config_init(&cfg);
    snprintf(cfg.url, sizeof cfg.url, "%s", srv.url);
    snprintf(cfg.token, sizeof cfg.token, "%s", TESTSRV_TOKEN_SUP1);
    store *s = store_new();
    char err[256];
    client *c = client_new(&cfg, s, err, sizeof err);
    assert_non_null(c);
    int64_t deadline = tproc_now_ms() + 15000;
    while (!client_bound(c) && tproc_now_ms() < deadline) {
        client_wait(c, NULL, 0, 100, NULL);
        client_run(c);
    }
    assert_true(client_bound(c));
    assert_int_equal(client_unanswered(c, NULL, 0), 1);
    answer_box box = {0};
    client_unanswered_send(c, on_box, &box);
    while (!box.done && tproc_now_ms() < deadline) {
        client_wait(c, NULL, 0, 100, NULL);
        client_run(c);
    }
    client_free(c);
    store_free(s);
    config_free(&cfg);
    assert_true(box.done);
    assert_int_equal(box.status, 412);
    assert_int_equal(testsrv_get(&srv, TESTSRV_TOKEN_SUP1, "/v1/fleet", &r), 0);
    char st[32], why[32];
    assert_true(testjson_str(r.body, "status", st, sizeof st));
    assert_true(testjson_str(r.body, "reason", why, sizeof why));
    testhttp_resp_free(&r);
    assert_string_equal(st, "halted");
    assert_string_equal(why, "incident 2");
    assert_false(journalfx_unsettled(key));
    assert_int_equal(testsrv_post(&srv, TESTSRV_TOKEN_SUP1, "/v1/fleet/resume", v + 3, "{}", &r),
                     0);
    assert_int_equal(r.status, 200);
    testhttp_resp_free(&r);
}

/* Issue 12's blocker, headless: a decision that cannot be bound (no market read: a
 * closed port) is refused at once and journals nothing; one interrupted after its request
 * reached the server (the answer lost) exits non-zero, says the outcome is unknown, and
 * leaves nothing to be sent later. */
static void test_headless_failures_leave_nothing(void **state)
{
    (void)state;
    char jt[65536];
    const char *a1[] = {
        "--url",    "http://127.0.0.1:1", "--token-file", tok, "pause", mkt.buyer_id,
        "--reason", "closed-port-drill",  "--if-match",   "1", NULL};
    run_result r = run(a1);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "not connected"));
    assert_non_null(strstr(r.err, "nothing sent"));
    journal_text(jt, sizeof jt);
    assert_null(strstr(jt, "closed-port-drill"));

    /* The answer to every attempt is dropped after the server applied the first. */
    char pur[72];
    assert_int_equal(testsrv_market_purchase(&srv, &mkt, 50000, 7, pur), 0);
    faultproxy *fp = faultproxy_start(srv.port);
    assert_non_null(fp);
    char url[64], out[600], errp[600], e[4096];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", faultproxy_port(fp));
    faultproxy_drop_responses(fp, 100, "/veto");
    snprintf(out, sizeof out, "%s/int.out", getenv("TEST_TMP"));
    snprintf(errp, sizeof errp, "%s/int.err", getenv("TEST_TMP"));
    const char *a2[] = {"--url", url,        "--token-file",      tok,          "veto",
                        pur,     "--reason", "lost-answer-drill", "--if-match", "1",
                        NULL};
    pid_t pid = tproc_spawn_dealdesk(a2, out, errp);
    faultproxy_stats fs;
    int64_t deadline = tproc_now_ms() + 15000;
    do {
        tproc_nap(20);
        faultproxy_stats_get(fp, &fs);
    } while (fs.responses_dropped < 1 && tproc_now_ms() < deadline);
    assert_true(fs.responses_dropped >= 1);
    kill(pid, SIGINT);
    assert_int_equal(tproc_wait_child(pid, 15000), 1);
    tproc_slurp(errp, e, sizeof e);
    assert_non_null(strstr(e, "outcome is unknown"));
    assert_non_null(strstr(e, "will not be sent again"));
    faultproxy_stop(fp);
    /* Nothing left to send: no unsettled entry in the journal. */
    config cfg;
    char path[4096], err[256];
    config_init(&cfg);
    assert_int_equal(config_journal_path(&cfg, path, sizeof path), 0);
    journal *j = journal_open(path, err, sizeof err);
    assert_non_null(j);
    journal_entry *v;
    size_t n;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    assert_int_equal(journal_unsettled(j, (int64_t)ts.tv_sec * 1000, &v, &n, NULL), 0);
    for (size_t i = 0; i < n; i++)
        assert_null(strstr(v[i].body, "lost-answer-drill"));
    journal_entries_free(v, n);
    journal_close(j);
    config_free(&cfg);
}

static void test_conflicts_and_usage(void **state)
{
    (void)state;
    char pur[72];
    assert_int_equal(testsrv_market_purchase(&srv, &mkt, 50000, 5, pur), 0);
    /* 412: a total other than the real one. */
    const char *a1[] = {"--url", srv.url,   "--token-file", tok, "approve",
                        pur,     "--total", "1.00",         NULL};
    run_result r = run(a1);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "412"));
    /* A veto, then an approve: 409 with the server's current object described. */
    const char *a2[] = {"--url", srv.url, "--token-file", tok, "veto", pur, "--reason", "no", NULL};
    r = run(a2);
    assert_int_equal(r.status, 0);
    const char *a3[] = {"--url", srv.url, "--token-file", tok, "approve", pur, NULL};
    r = run(a3);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "409"));
    assert_non_null(strstr(r.err, "vetoed"));
    /* 412: a stale version. */
    const char *a4[] = {"--url",    srv.url, "--token-file", tok, "refund", pur,
                        "--reason", "x",     "--if-match",   "1", NULL};
    r = run(a4);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "412"));
    /* Usage errors: 2, and nothing is sent. */
    const char *u1[] = {"--url", srv.url, "--token-file", tok, "veto", pur, NULL};
    assert_int_equal(run(u1).status, 2);
    const char *u2[] = {"approve", NULL};
    assert_int_equal(run(u2).status, 2);
    const char *u3[] = {"--bogus", NULL};
    assert_int_equal(run(u3).status, 2);
    /* A viewer is refused by the server: 403, exit 1. */
    char *vt = testsrv_token_file(&srv, TESTSRV_TOKEN_VIEW1);
    const char *v1[] = {"--url", srv.url, "--token-file", vt, "halt", "--reason", "x", NULL};
    r = run(v1);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "403"));
    free(vt);
    /* Read-only: refused before anything is sent. */
    testhttp_resp before = {0};
    assert_non_null(before.body = testsrv_state(&srv, TESTSRV_TOKEN_SUP1));
    long long ndec = testjson_len(before.body, "decisions");
    testhttp_resp_free(&before);
    const char *ro[] = {"--url", srv.url, "--token-file", tok, "--read-only", "halt", "--reason",
                        "x",     NULL};
    r = run(ro);
    assert_true(r.status != 0);
    assert_non_null(strstr(r.err, "read-only"));
    testhttp_resp after = {0};
    assert_non_null(after.body = testsrv_state(&srv, TESTSRV_TOKEN_SUP1));
    assert_int_equal(testjson_len(after.body, "decisions"), ndec);
    testhttp_resp_free(&after);
    /* The token appears in no output and not in the journal. */
    char jt[65536];
    journal_text(jt, sizeof jt);
    assert_null(strstr(jt, TESTSRV_TOKEN_SUP1));
    assert_null(strstr(r.out, TESTSRV_TOKEN_SUP1));
    assert_null(strstr(r.err, TESTSRV_TOKEN_SUP1));
}

/* Not sent and outcome unknown are told apart: with the server's port closed after the
 * market was read, an attempt is refused before any byte leaves, so the decision is not
 * counted as of unknown outcome (a console quits without asking), and ending the client
 * settles it as not sent: nothing is ever sent later. */
static void test_refused_connection_is_not_sent(void **state)
{
    (void)state;
    char pur[72];
    assert_int_equal(testsrv_market_purchase(&srv, &mkt, 50000, 8, pur), 0);
    faultproxy *fp = faultproxy_start(srv.port);
    assert_non_null(fp);
    config cfg;
    config_init(&cfg);
    snprintf(cfg.url, sizeof cfg.url, "http://127.0.0.1:%d", faultproxy_port(fp));
    snprintf(cfg.token, sizeof cfg.token, "%s", TESTSRV_TOKEN_SUP1);
    store *s = store_new();
    char err[256];
    client *c = client_new(&cfg, s, err, sizeof err);
    assert_non_null(c);
    int64_t deadline = tproc_now_ms() + 15000;
    while (!client_bound(c) && tproc_now_ms() < deadline) {
        client_wait(c, NULL, 0, 100, NULL);
        client_run(c);
    }
    assert_true(client_bound(c));
    faultproxy_stop(fp); /* the port is closed now: connections are refused */
    decision_req req;
    decision_req_init(&req, DEC_VETO, pur);
    req.if_match_version = 1;
    snprintf(req.reason, sizeof req.reason, "refused-drill");
    answer_box box = {0};
    assert_true(client_decide(c, &req, on_box, &box) > 0);
    assert_int_equal(client_unknown_outcomes(c, NULL, 0), 1); /* in flight: unknown */
    while ((client_unknown_outcomes(c, NULL, 0) != 0 || client_pending_decisions(c) != 1) &&
           !box.done && tproc_now_ms() < deadline) {
        client_wait(c, NULL, 0, 50, NULL);
        client_run(c);
    }
    /* The first attempt was refused: waiting to retry, known not to have left. */
    assert_false(box.done);
    assert_int_equal(client_pending_decisions(c), 1);
    assert_int_equal(client_unknown_outcomes(c, NULL, 0), 0);
    client_free(c); /* settles it as not sent */
    store_free(s);
    config_free(&cfg);
    char jt[65536];
    journal_text(jt, sizeof jt);
    assert_non_null(strstr(jt, "refused-drill")); /* journaled before the attempt */
    config jc;
    char path[4096];
    config_init(&jc);
    assert_int_equal(config_journal_path(&jc, path, sizeof path), 0);
    journal *j = journal_open(path, err, sizeof err);
    assert_non_null(j);
    journal_entry *v;
    size_t n;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    assert_int_equal(journal_unsettled(j, (int64_t)ts.tv_sec * 1000, &v, &n, NULL), 0);
    for (size_t i = 0; i < n; i++)
        assert_null(strstr(v[i].body, "refused-drill"));
    journal_entries_free(v, n);
    journal_close(j);
    config_free(&jc);
    char st[32];
    purchase_status(&srv, pur, st, sizeof st);
    assert_string_equal(st, "pending_approval");
}

/* An outcome with its message. */
typedef struct refusal_box {
    int calls;
    uint64_t id;
    decision_delivery delivery;
    char message[512];
} refusal_box;

static void on_refusal(void *ud, const decision_outcome *o)
{
    refusal_box *b = ud;
    b->calls++;
    b->id = o->id;
    b->delivery = o->delivery;
    snprintf(b->message, sizeof b->message, "%s", o->message);
}

/* Issue 13: completion is always asynchronous. A decision refused before anything is
 * sent (not bound yet, read-only) gets an id at once and its outcome from the next
 * client_run, never from inside client_decide (whose callers then need no bookkeeping
 * for a callback that ran before the id was known); the client's timeout is 0 while one
 * waits, and one never delivered is freed with the client. */
static void test_refusal_comes_from_client_run(void **state)
{
    (void)state;
    config cfg;
    config_init(&cfg);
    snprintf(cfg.url, sizeof cfg.url, "%s", srv.url);
    snprintf(cfg.token, sizeof cfg.token, "%s", TESTSRV_TOKEN_SUP1);
    store *s = store_new();
    char err[256];
    client *c = client_new(&cfg, s, err, sizeof err);
    assert_non_null(c);
    decision_req req;
    decision_req_init(&req, DEC_APPROVE, "pur_1");
    req.if_match_version = 1;
    refusal_box box = {0};
    uint64_t id = client_decide(c, &req, on_refusal, &box); /* nothing read yet: not bound */
    assert_true(id > 0);
    assert_int_equal(box.calls, 0);
    assert_int_equal(client_next_timeout_ms(c), 0);
    assert_int_equal(client_pending_decisions(c), 0); /* nothing was sent */
    client_run(c);
    assert_int_equal(box.calls, 1);
    assert_true(box.id == id);
    assert_int_equal(box.delivery, DELIVERY_NOT_SENT);
    assert_non_null(strstr(box.message, "not connected: nothing sent"));
    refusal_box kept = {0};
    assert_true(client_decide(c, &req, on_refusal, &kept) > 0);
    client_free(c); /* never delivered: freed, no call */
    assert_int_equal(kept.calls, 0);
    store_free(s);

    cfg.read_only = true;
    s = store_new();
    c = client_new(&cfg, s, err, sizeof err);
    assert_non_null(c);
    memset(&box, 0, sizeof box);
    id = client_decide(c, &req, on_refusal, &box);
    assert_true(id > 0);
    assert_int_equal(box.calls, 0);
    client_run(c);
    assert_int_equal(box.calls, 1);
    assert_non_null(strstr(box.message, "read-only mode: nothing sent"));
    client_free(c);
    store_free(s);
    config_free(&cfg);
}

/* Issue 12, headless messages: approving a settled purchase says nothing about
 * "approving ... at its current total" (only a success says which total it approved),
 * just the 409; a flag without its value says so; a bad amount names the flag and the
 * value typed. */
static void test_headless_messages(void **state)
{
    (void)state;
    char pur[72];
    assert_int_equal(testsrv_market_purchase(&srv, &mkt, 50000, 1, pur), 0);
    const char *a1[] = {"--url", srv.url, "--token-file", tok, "approve", pur, NULL};
    run_result r = run(a1);
    if (r.status != 0)
        fail_msg("exit %d: %s", r.status, r.err);
    assert_non_null(strstr(r.err, "approved"));
    assert_non_null(strstr(r.err, "at its current total"));
    assert_non_null(strstr(r.err, "500.00"));
    r = run(a1); /* settled now */
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.err, "409"));
    assert_null(strstr(r.err, "approving"));
    assert_null(strstr(r.err, "current total"));
    const char *a2[] = {"--url", srv.url, "--token-file", tok, "--theme", NULL};
    r = run(a2);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "needs a value: --theme"));
    assert_null(strstr(r.err, "unknown option"));
    char pur2[72];
    assert_int_equal(testsrv_market_purchase(&srv, &mkt, 50000, 2, pur2), 0);
    const char *a3[] = {"--url", srv.url,       "--token-file", tok, "cap",
                        pur2,    "--max-price", "-5",           NULL};
    r = run(a3);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--max-price -5: amounts cannot be negative"));
}

/* A token file that others can read is refused with a clear message. */
static void test_open_token_file_refused(void **state)
{
    (void)state;
    char *t = testsrv_token_file(&srv, TESTSRV_TOKEN_SUP1);
    chmod(t, 0644);
    const char *args[] = {"--url", srv.url, "--token-file", t, "snapshot", NULL};
    run_result r = run(args);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "group or others"));
    assert_null(strstr(r.err, TESTSRV_TOKEN_SUP1));
    free(t);
}

/* In-process: the client takes the snapshot, goes live, and fetches a thread's history
 * (the snapshot carries threads, not messages) into the store. */
static void test_fetch_thread_history(void **state)
{
    (void)state;
    char pur[72];
    assert_int_equal(testsrv_market_purchase(&srv, &mkt, 50000, 6, pur), 0);
    char path[128], neg[72];
    snprintf(path, sizeof path, "/v1/purchases/%s", pur);
    testhttp_resp r = {0};
    assert_int_equal(testsrv_get(&srv, TESTSRV_TOKEN_SUP1, path, &r), 0);
    assert_true(testjson_str(r.body, "negotiation_id", neg, sizeof neg));
    testhttp_resp_free(&r);
    config cfg;
    config_init(&cfg);
    snprintf(cfg.url, sizeof cfg.url, "%s", srv.url);
    snprintf(cfg.token, sizeof cfg.token, "%s", TESTSRV_TOKEN_SUP1);
    store *st = store_new();
    char err[256];
    client *c = client_new(&cfg, st, err, sizeof err);
    assert_non_null(c);
    /* The role from GET /v1/whoami; a server without it leaves "unknown". */
    testhttp_resp w = {0};
    assert_int_equal(testsrv_get(&srv, TESTSRV_TOKEN_SUP1, "/v1/whoami", &w), 0);
    /* Live with the thread, and (when the server has whoami) its answer too: whoami is a
     * request of its own beside the snapshot and the stream, and may land after both. */
    int64_t deadline = tproc_now_ms() + 15000;
    client_status s;
    do {
        client_wait(c, NULL, 0, 100, NULL);
        client_run(c);
        client_status_get(c, &s);
    } while ((s.state != CONN_LIVE || !store_negotiation(st, neg) ||
              (w.status == 200 && !s.operator_name[0])) &&
             tproc_now_ms() < deadline);
    assert_int_equal(s.state, CONN_LIVE);
    if (w.status == 200) {
        assert_string_equal(s.role, "supervisor");
        assert_string_equal(s.operator_name, "sup1");
    } else {
        assert_int_equal(w.status, 404);
        assert_string_equal(s.role, "unknown");
    }
    testhttp_resp_free(&w);
    const model_negotiation *n = store_negotiation(st, neg);
    assert_non_null(n);
    assert_int_equal(n->nmessages, 0);
    uint64_t ch = store_changes(st, MODEL_MESSAGE);
    assert_int_equal(client_fetch_thread(c, neg), 0);
    while (store_changes(st, MODEL_MESSAGE) == ch && tproc_now_ms() < deadline) {
        client_wait(c, NULL, 0, 100, NULL);
        client_run(c);
    }
    n = store_negotiation(st, neg);
    assert_true(n->nmessages >= 2); /* the opening offer and the accept */
    assert_int_equal(n->messages[0].seq, 1);
    assert_int_equal(n->messages[0].kind, MSG_OFFER);
    assert_int_equal(client_fetch_thread(c, "lst_1"), -1);
    client_free(c);
    store_free(st);
    config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lost_answer_applied_once),
        cmocka_unit_test(test_journal_bound_to_market_and_operator),
        cmocka_unit_test(test_resent_resume_fails_on_later_halt),
        cmocka_unit_test(test_headless_failures_leave_nothing),
        cmocka_unit_test(test_conflicts_and_usage),
        cmocka_unit_test(test_headless_messages),
        cmocka_unit_test(test_refused_connection_is_not_sent),
        cmocka_unit_test(test_refusal_comes_from_client_run),
        cmocka_unit_test(test_open_token_file_refused),
        cmocka_unit_test(test_fetch_thread_history),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
