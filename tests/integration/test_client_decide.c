/* test_client_decide.c: one-shot decisions against a real marketd: a decision whose
 * answer is lost (the proxy drops it after the server committed) is retried with the
 * same Idempotency-Key and applied exactly once; unsettled journal entries are sent
 * again at start, exactly once; 409 and 412 exit non-zero with the server's message;
 * usage errors exit 2; the token appears nowhere. */
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
    assert_int_equal(testsrv_get(s, TESTSRV_TOKEN_SUP1, "/v1/snapshot", &r), 0);
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
    assert_int_equal(testsrv_get(s, TESTSRV_TOKEN_SUP1, "/v1/snapshot", &r), 0);
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

static void test_journal_replayed_at_start(void **state)
{
    (void)state;
    char pur1[72], pur2[72];
    assert_int_equal(testsrv_market_purchase(&srv, &mkt, 50000, 3, pur1), 0);
    assert_int_equal(testsrv_market_purchase(&srv, &mkt, 50000, 4, pur2), 0);
    config cfg;
    char path[4096], err[256];
    config_init(&cfg);
    assert_int_equal(config_journal_path(&cfg, path, sizeof path), 0);
    journal *j = journal_open(path, err, sizeof err);
    assert_non_null(j);
    /* pur1: journaled, then the process died before sending (never reached the server).
     * pur2: journaled and sent, the answer lost (the server applied it). */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char body[] = "{\"reason\":\"journal replay\"}";
    journal_entry e = {.at_ms = (int64_t)ts.tv_sec * 1000, .version = 1, .body = body};
    assert_int_equal(journal_new_key(e.key, sizeof e.key), 0);
    snprintf(e.action, sizeof e.action, "veto");
    snprintf(e.subject, sizeof e.subject, "%.64s", pur1);
    assert_int_equal(journal_append(j, &e), 0);
    assert_int_equal(journal_new_key(e.key, sizeof e.key), 0);
    snprintf(e.subject, sizeof e.subject, "%.64s", pur2);
    assert_int_equal(journal_append(j, &e), 0);
    char hk[128], vpath[256];
    snprintf(hk, sizeof hk, "Idempotency-Key: %s", e.key);
    snprintf(vpath, sizeof vpath, "%s/v1/purchases/%s/veto", srv.url, pur2);
    const char *hdrs[] = {hk, "If-Match: \"1\"", "Content-Type: application/json", NULL};
    testhttp_resp hr = {0};
    assert_int_equal(testhttp("POST", vpath, TESTSRV_TOKEN_SUP1, hdrs, body, &hr), 0);
    assert_int_equal(hr.status, 200);
    testhttp_resp_free(&hr);
    journal_close(j);

    /* Any start re-sends them: here a harmless one-shot decision on something else. */
    const char *args[] = {"--url", srv.url, "--token-file", tok, "halt", "--reason", "drill", NULL};
    run_result r = run(args);
    if (r.status != 0)
        fail_msg("exit %d, stderr: %s", r.status, r.err);
    char st[32];
    purchase_status(&srv, pur1, st, sizeof st);
    assert_string_equal(st, "vetoed");
    purchase_status(&srv, pur2, st, sizeof st);
    assert_string_equal(st, "vetoed");
    assert_int_equal(decisions_on(&srv, "veto", pur1), 1);
    assert_int_equal(decisions_on(&srv, "veto", pur2), 1);
    /* Settled now: a second start sends nothing again. */
    const char *args2[] = {"--url", srv.url, "--token-file", tok, "fleet-resume", NULL};
    r = run(args2);
    assert_int_equal(r.status, 0);
    assert_int_equal(decisions_on(&srv, "veto", pur1), 1);
    assert_int_equal(decisions_on(&srv, "veto", pur2), 1);
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
    assert_int_equal(testsrv_get(&srv, TESTSRV_TOKEN_SUP1, "/v1/snapshot", &before), 0);
    long long ndec = testjson_len(before.body, "decisions");
    testhttp_resp_free(&before);
    const char *ro[] = {"--url", srv.url, "--token-file", tok, "--read-only", "halt", "--reason",
                        "x",     NULL};
    r = run(ro);
    assert_true(r.status != 0);
    assert_non_null(strstr(r.err, "read-only"));
    testhttp_resp after = {0};
    assert_int_equal(testsrv_get(&srv, TESTSRV_TOKEN_SUP1, "/v1/snapshot", &after), 0);
    assert_int_equal(testjson_len(after.body, "decisions"), ndec);
    testhttp_resp_free(&after);
    /* The token appears in no output and not in the journal. */
    char jt[65536];
    journal_text(jt, sizeof jt);
    assert_null(strstr(jt, TESTSRV_TOKEN_SUP1));
    assert_null(strstr(r.out, TESTSRV_TOKEN_SUP1));
    assert_null(strstr(r.err, TESTSRV_TOKEN_SUP1));
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
    int64_t deadline = tproc_now_ms() + 15000;
    client_status s;
    do {
        client_wait(c, NULL, 0, 100, NULL);
        client_run(c);
        client_status_get(c, &s);
    } while ((s.state != CONN_LIVE || !store_negotiation(st, neg)) && tproc_now_ms() < deadline);
    assert_int_equal(s.state, CONN_LIVE);
    /* The role from GET /v1/whoami; a server without it leaves "unknown". */
    testhttp_resp w = {0};
    assert_int_equal(testsrv_get(&srv, TESTSRV_TOKEN_SUP1, "/v1/whoami", &w), 0);
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
        cmocka_unit_test(test_journal_replayed_at_start),
        cmocka_unit_test(test_conflicts_and_usage),
        cmocka_unit_test(test_open_token_file_refused),
        cmocka_unit_test(test_fetch_thread_history),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
