/* test_marketd_failover.c: the console's client among several instances of one market
 * (`dealdesk --url A --url B`, issue 18; api/client.c next_url), on both engines.
 *
 * - kill -9 of the instance `dealdesk tail` reads while a fleet trades: tail moves to
 *   the other and prints every seq exactly once, in order, without a re-sync. On
 *   SQLite the other instance is the same database served again on another port once
 *   the first is dead; on PostgreSQL it runs beside the first from the start (several
 *   instances of one market, marketd/store_pg_multi.c), the case checking first that
 *   the second follows the first's commits (skipped if not).
 * - A decision journaled while on A is replayed on B with its key: applied once.
 * - A URL serving another market (another epoch) is refused, not followed.
 * - A client resuming from a position the server no longer keeps (--retain-events)
 *   gets `reset` and goes on from a snapshot.
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/client.h"
#include "api/config.h"
#include "tests/lib/journalfx.h"
#include "tests/lib/pgtest.h"
#include "tests/lib/proc.h"
#include "tests/lib/testsrv.h"

#define FLEET "--fleet 8 --seed 5 --rate 50 --heartbeat 1 --decide-timeout 3600"

/* Waits until the tail output at path holds seq; false at the deadline. */
static bool wait_for_seq(const char *path, int64_t seq, int ms)
{
    int64_t deadline = tproc_now_ms() + ms;
    while (tproc_now_ms() < deadline) {
        if (tproc_last_seq(path, NULL) >= seq)
            return true;
        tproc_nap(20);
    }
    return false;
}

/* Asserts that the tail output at path is seq 1 .. last, each once, in order. */
static void assert_every_seq_once(const char *path, int64_t last)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0;
    int64_t want = 1;
    while (getline(&line, &cap, f) > 0) {
        json_t *e = json_loads(line, 0, NULL);
        if (!e)
            fail_msg("tail printed a line that is not JSON: %.200s", line);
        int64_t seq = json_integer_value(json_object_get(e, "seq"));
        json_decref(e);
        if (seq != want)
            fail_msg("seq %lld where %lld was due: every seq exactly once, in order",
                     (long long)seq, (long long)want);
        want++;
    }
    free(line);
    fclose(f);
    assert_int_equal(want - 1, last);
}

/* True when the file at path holds needle. */
static bool file_has(const char *path, const char *needle)
{
    static char buf[1 << 16];
    return tproc_slurp(path, buf, sizeof buf) >= 0 && strstr(buf, needle);
}

/* Halts the fleet through srv and waits until its seq has not moved for a second. */
static int64_t halt_and_settle(testsrv *srv)
{
    testhttp_resp r = {0};
    assert_int_equal(testsrv_post(srv, TESTSRV_TOKEN_SUP1, "/v1/fleet/halt",
                                  testsrv_fleet_version(srv), "{\"reason\":\"drill\"}", &r),
                     0);
    assert_int_equal(r.status, 200);
    testhttp_resp_free(&r);
    int64_t seq = testsrv_seq(srv), since = tproc_now_ms(), deadline = since + 30000;
    while (tproc_now_ms() < deadline) {
        tproc_nap(100);
        int64_t s = testsrv_seq(srv);
        if (s != seq) {
            seq = s;
            since = tproc_now_ms();
        } else if (tproc_now_ms() - since >= 1000) {
            return seq;
        }
    }
    fail_msg("the seq kept moving after the fleet was halted");
    return -1;
}

/* On PostgreSQL: true when b, beside a, follows a's commits (several instances of one
 * market work); waits up to 5 s for b's seq to reach a's. */
static bool follows(testsrv *a, testsrv *b)
{
    int64_t target = testsrv_seq(a), deadline = tproc_now_ms() + 5000;
    while (tproc_now_ms() < deadline) {
        if (testsrv_seq(b) >= target)
            return true;
        tproc_nap(50);
    }
    return false;
}

static void test_tail_moves_on_kill9(void **state)
{
    (void)state;
    bool pg = pgtest_engine();
    testsrv a, b;
    assert_int_equal(testsrv_start(&a, FLEET), 0);
    int port_b = 0;
    if (pg) {
        assert_int_equal(testsrv_start_on_port(&b, &a, 0, "--heartbeat 1 --decide-timeout 3600"),
                         0);
        if (!follows(&a, &b)) {
            testsrv_stop(&b);
            testsrv_stop(&a);
            print_message("skipped: a second instance does not follow the first\n");
            skip();
        }
        port_b = b.port;
    } else {
        port_b = testsrv_free_port();
        assert_true(port_b > 0);
    }
    char url_b[64], out[600], err[600];
    snprintf(url_b, sizeof url_b, "http://127.0.0.1:%d", port_b);
    char *tok = testsrv_token_file(&a, TESTSRV_TOKEN_SUP1);
    assert_non_null(tok);
    snprintf(out, sizeof out, "%s/failover-tail.out", getenv("TEST_TMP"));
    snprintf(err, sizeof err, "%s/failover-tail.err", getenv("TEST_TMP"));
    const char *args[] = {"--url",        a.url,     "--url",       url_b,
                          "--token-file", tok,       "--heartbeat", "1",
                          "tail",         "--after", "0",           NULL};
    pid_t pid = tproc_spawn_dealdesk(args, out, err);
    /* the fleet trades; tail follows A */
    assert_true(wait_for_seq(out, 60, 30000));
    assert_true(wait_for_seq(out, testsrv_seq(&a), 30000));
    int64_t s0 = testsrv_seq(&a), deadline = tproc_now_ms() + 30000, at_kill;
    while ((at_kill = testsrv_seq(&a)) == s0 && tproc_now_ms() < deadline)
        tproc_nap(5);
    assert_true(at_kill > s0);
    testsrv_kill9(&a); /* while events flow: the seq moved a moment ago */
    if (!pg)           /* the same database, served again on B's port */
        assert_int_equal(testsrv_start_on_port(&b, &a, port_b, FLEET), 0);
    /* tail is on B: what B has, and what is committed there from now on */
    int64_t committed = testsrv_seq(&b);
    assert_true(wait_for_seq(out, committed, 30000));
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&b, &t, 100000000), 0);
    char pur[72];
    assert_int_equal(testsrv_market_purchase(&b, &t, 45000, 1, pur), 0);
    int64_t final = halt_and_settle(&b);
    if (!wait_for_seq(out, final, 30000)) {
        char e[4096];
        tproc_slurp(err, e, sizeof e);
        fail_msg("tail at %lld, B at %lld; tail said:\n%s", (long long)tproc_last_seq(out, NULL),
                 (long long) final, e);
    }
    assert_int_equal(tproc_stop_child(pid), 0);
    assert_every_seq_once(out, final);
    assert_false(file_has(err, "re-synced"));
    print_message("tail moved from A (killed just after seq %lld) to B: seq 1..%lld each "
                  "printed once\n",
                  (long long)at_kill, (long long) final);
    testsrv_stop(&b);
    testsrv_stop(&a);
    free(tok);
}

/* ---- a client of the console's kind ----------------------------------------------- */

/* A client as sup1 on the URL list urls ("A,B"), through config_split_urls as
 * config_resolve does. */
static client *client_on(config *cfg, store **st, const char *urls)
{
    config_init(cfg);
    snprintf(cfg->url, sizeof cfg->url, "%s", urls);
    snprintf(cfg->token, sizeof cfg->token, "%s", TESTSRV_TOKEN_SUP1);
    cfg->heartbeat_s = 1;
    char err[256];
    assert_int_equal(config_split_urls(cfg, err, sizeof err), 0);
    *st = store_new();
    client *c = client_new(cfg, *st, err, sizeof err);
    assert_non_null(c);
    return c;
}

typedef bool (*cond_fn)(client *c, store *st, void *ud);
static void run_until(client *c, store *st, cond_fn cond, void *ud)
{
    int64_t deadline = tproc_now_ms() + 30000;
    while (!cond(c, st, ud) && tproc_now_ms() < deadline) {
        client_wait(c, NULL, 0, 100, NULL);
        client_run(c);
    }
    assert_true(cond(c, st, ud));
}
static bool is_bound(client *c, store *st, void *ud)
{
    (void)st, (void)ud;
    return client_bound(c);
}
static bool live_at(client *c, store *st, void *ud)
{
    client_status s;
    client_status_get(c, &s);
    return s.state == CONN_LIVE && store_seq(st) >= *(int64_t *)ud;
}
static bool error_has(client *c, store *st, void *ud)
{
    (void)st;
    client_status s;
    client_status_get(c, &s);
    return strstr(s.last_error, (const char *)ud) != NULL;
}
static void count_answer(void *ud, const decision_outcome *o)
{
    if (o->delivery == DELIVERY_ANSWERED && o->ok)
        (*(int *)ud)++;
    else
        (*(int *)ud) += 1000;
}
static bool answers(client *c, store *st, void *ud)
{
    (void)c, (void)st;
    return *(int *)ud >= 2;
}

/* How many decision records name purchase pur (GET /v1/decisions, every page). */
static int decisions_on(testsrv *s, const char *pur)
{
    char *list = testsrv_list(s, TESTSRV_TOKEN_SUP1, "/v1/decisions");
    assert_non_null(list);
    int n = 0;
    for (const char *p = list; (p = strstr(p, pur)) != NULL; p += strlen(pur))
        n++;
    free(list);
    return n;
}

static void epoch_of(testsrv *s, char out[65])
{
    testhttp_resp r;
    assert_int_equal(testsrv_get(s, NULL, "/v1/health", &r), 0);
    assert_true(testjson_str(r.body, "epoch", out, 65));
    testhttp_resp_free(&r);
}

/* A decision journaled on A (its answer lost) and one in flight when A dies: both go to
 * B with their keys, and each is applied once. */
static void test_journal_replay_across_urls(void **state)
{
    (void)state;
    testsrv a, b;
    assert_int_equal(testsrv_start(&a, "--decide-timeout 3600"), 0);
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&a, &t, 0), 0);
    char p1[72], p2[72], epoch[65], key[65];
    assert_int_equal(testsrv_market_purchase(&a, &t, 45000, 1, p1), 0);
    assert_int_equal(testsrv_market_purchase(&a, &t, 45000, 1, p2), 0);
    epoch_of(&a, epoch);
    /* p1: an earlier session journaled a veto and sent it to A; the answer was lost */
    const char *vbody = "{\"reason\":\"journal replay\"}";
    journalfx_left("veto", p1, 1, vbody, epoch, "sup1", key);
    char path[160], url[256], kh[120];
    snprintf(path, sizeof path, "/v1/purchases/%s/veto", p1);
    snprintf(url, sizeof url, "%s%s", a.url, path);
    snprintf(kh, sizeof kh, "Idempotency-Key: %s", key);
    const char *h[] = {kh, "If-Match: \"1\"", NULL};
    testhttp_resp r;
    assert_int_equal(testhttp("POST", url, TESTSRV_TOKEN_SUP1, h, vbody, &r), 0);
    assert_int_equal(r.status, 200);
    testhttp_resp_free(&r);

    int port_b = testsrv_free_port();
    char urls[160];
    snprintf(urls, sizeof urls, "%s, http://127.0.0.1:%d/", a.url, port_b);
    config cfg;
    store *st;
    client *c = client_on(&cfg, &st, urls);
    run_until(c, st, is_bound, NULL);
    assert_int_equal(client_unanswered(c, NULL, 0), 1);
    /* A dies; p2's veto is decided now, while on A; B serves the same database */
    testsrv_kill9(&a);
    decision_req req;
    decision_req_init(&req, DEC_VETO, p2);
    req.if_match_version = 1;
    snprintf(req.reason, sizeof req.reason, "vetoed while A was down");
    int ok = 0;
    assert_true(client_decide(c, &req, count_answer, &ok) != 0);
    assert_int_equal(testsrv_start_on_port(&b, &a, port_b, "--decide-timeout 3600"), 0);
    client_unanswered_send(c, count_answer, &ok); /* the operator's yes */
    run_until(c, st, answers, &ok);
    assert_int_equal(ok, 2); /* both answered 200 by B */
    int64_t seq = testsrv_seq(&b);
    run_until(c, st, live_at, &seq);
    client_status s;
    client_status_get(c, &s);
    assert_non_null(strstr(s.server, "127.0.0.1"));
    assert_int_equal(decisions_on(&b, p1), 1);
    assert_int_equal(decisions_on(&b, p2), 1);
    assert_false(journalfx_unsettled(key));
    client_free(c);
    store_free(st);
    config_free(&cfg);
    testsrv_stop(&b);
    testsrv_stop(&a);
}

/* A URL of the list that serves another market is refused: the store stays A's market;
 * A back, the client is live on it again. */
static void test_other_epoch_refused(void **state)
{
    (void)state;
    testsrv a, other;
    assert_int_equal(testsrv_start(&a, "--heartbeat 1"), 0);
    assert_int_equal(testsrv_start(&other, "--heartbeat 1"), 0);
    char ea[65], eo[65];
    epoch_of(&a, ea);
    epoch_of(&other, eo);
    assert_string_not_equal(ea, eo);
    char urls[160];
    snprintf(urls, sizeof urls, "%s,%s", a.url, other.url);
    config cfg;
    store *st;
    client *c = client_on(&cfg, &st, urls);
    int64_t seq = testsrv_seq(&a);
    run_until(c, st, live_at, &seq);
    assert_int_equal(testsrv_terminate(&a), 0); /* A stops: the client tries the other */
    char words[] = "serves another market";
    run_until(c, st, error_has, words);
    assert_string_equal(store_epoch(st), ea);
    assert_int_equal(testsrv_restart(&a), 0);
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&a, &t, 100000000), 0);
    seq = testsrv_seq(&a);
    run_until(c, st, live_at, &seq);
    assert_string_equal(store_epoch(st), ea);
    client_free(c);
    store_free(st);
    config_free(&cfg);
    testsrv_stop(&other);
    testsrv_stop(&a);
}

/* tail --after 0 on a market that no longer keeps its first events: reset, a snapshot,
 * and on from there. */
static void test_tail_resume_before_kept_range(void **state)
{
    (void)state;
    testsrv a;
    assert_int_equal(testsrv_start(&a, "--retain-events 10 --heartbeat 1"), 0);
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&a, &t, 100000000), 0);
    char pur[72];
    for (int i = 0; i < 3; i++)
        assert_int_equal(testsrv_market_purchase(&a, &t, 45000, 1, pur), 0);
    int64_t last = testsrv_seq(&a), deadline = tproc_now_ms() + 20000;
    while (testsrv_metric(&a, "marketd_events_pruned_total") < last - 10 &&
           tproc_now_ms() < deadline)
        tproc_nap(20);
    assert_int_equal(testsrv_metric(&a, "marketd_events_pruned_total"), last - 10);
    char *tok = testsrv_token_file(&a, TESTSRV_TOKEN_VIEW1);
    char out[600], err[600];
    snprintf(out, sizeof out, "%s/retain-tail.out", getenv("TEST_TMP"));
    snprintf(err, sizeof err, "%s/retain-tail.err", getenv("TEST_TMP"));
    const char *args[] = {"--url", a.url,  "--token-file", tok, "--heartbeat",
                          "1",     "tail", "--after",      "0", NULL};
    pid_t pid = tproc_spawn_dealdesk(args, out, err);
    deadline = tproc_now_ms() + 20000;
    while (!file_has(err, "re-synced from a snapshot") && tproc_now_ms() < deadline)
        tproc_nap(20);
    assert_true(file_has(err, "the server reset the stream"));
    assert_int_equal(testsrv_market_purchase(&a, &t, 45000, 1, pur), 0);
    assert_true(wait_for_seq(out, testsrv_seq(&a), 20000));
    assert_int_equal(tproc_stop_child(pid), 0);
    free(tok);
    testsrv_stop(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tail_moves_on_kill9),
        cmocka_unit_test(test_journal_replay_across_urls),
        cmocka_unit_test(test_other_epoch_refused),
        cmocka_unit_test(test_tail_resume_before_kept_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
