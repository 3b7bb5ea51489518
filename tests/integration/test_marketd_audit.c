/* test_marketd_audit.c: the audit chain (issue 17; docs/api.md, "Audit") against a real
 * marketd. Decisions and ledger entries (registrations, approvals that settle, vetoes, a
 * refund) form one chain in commit order: chain_n 1, 2, ..., each prev_hash the hash of
 * the one before, each hash SHA-256 of its canonical JSON without hash, recomputed here
 * with the console's own code (api/json_canon.h, api/sha256.h), not marketd's; the head
 * is the last; pages walk it; the chain survives kill -9 and goes on from its head.
 * Then `dealdesk audit export` and `verify`: whole (0), and each tampering (a changed
 * field, a removed line, two lines swapped, an inserted line, a change re-hashed from
 * scratch, a cut tail) exit 1 naming the entry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "api/json_audit.h"
#include "api/json_canon.h"
#include "api/sha256.h"
#include "tests/lib/proc.h"
#include "tests/lib/pgtest.h"
#include "tests/lib/testsrv.h"

#define MAXLINES 256

static testsrv srv;
static testsrv_market mkt;
static char *tok;

typedef struct run_result {
    int status;
    char out[8192];
    char err[8192];
} run_result;

/* Runs $DEALDESK_BIN --url --token-file with args (NULL-terminated) to completion. */
static run_result run(const char *const *args)
{
    const char *argv[40] = {"--url", srv.url, "--token-file", tok};
    size_t n = 4;
    for (size_t i = 0; args[i] && n < 39; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    run_result r = {0};
    const char *tmp = getenv("TEST_TMP");
    char op[600], ep[600];
    snprintf(op, sizeof op, "%s/audit.out", tmp);
    snprintf(ep, sizeof ep, "%s/audit.err", tmp);
    r.status = tproc_wait_child(tproc_spawn_dealdesk(argv, op, ep), 60000);
    if (r.status < 0)
        fail_msg("dealdesk did not finish in 60 s");
    tproc_slurp(op, r.out, sizeof r.out);
    tproc_slurp(ep, r.err, sizeof r.err);
    return r;
}

/* A POST as sup1 that must answer 2xx. */
static void post_ok(const char *path, long long version, const char *body)
{
    testhttp_resp r = {0};
    assert_int_equal(testsrv_post(&srv, TESTSRV_TOKEN_SUP1, path, version, body, &r), 0);
    if (r.status < 200 || r.status >= 300)
        fail_msg("POST %s: %ld %s", path, r.status, r.body);
    testhttp_resp_free(&r);
}

/* A pending purchase of qty at $500.00 each, then the decision: 'a' approve (a decision
 * and a ledger entry), 'v' veto (a decision). */
static void decide(long long qty, char how, char id[72])
{
    char path[128], body[128];
    assert_int_equal(testsrv_market_purchase(&srv, &mkt, 50000, qty, id), 0);
    snprintf(path, sizeof path, "/v1/purchases/%s/%s", id, how == 'a' ? "approve" : "veto");
    if (how == 'a')
        snprintf(body, sizeof body, "{\"expected_total_minor\":%lld}", qty * 50000);
    else
        snprintf(body, sizeof body, "{\"reason\":\"not needed \\u2028 today\"}");
    post_ok(path, 1, body);
}

/* The whole chain as the market serves it, page by page (limit per page): an array. */
static json_t *chain(int limit)
{
    json_t *all = json_array();
    long long after = 0;
    for (;;) {
        char path[96];
        snprintf(path, sizeof path, "/v1/audit?after=%lld&limit=%d", after, limit);
        testhttp_resp r = {0};
        assert_int_equal(testsrv_get(&srv, TESTSRV_TOKEN_SUP1, path, &r), 0);
        assert_int_equal(r.status, 200);
        json_t *page = json_loads(r.body, 0, NULL), *it;
        size_t i;
        assert_non_null(page);
        json_array_foreach(json_object_get(page, "items"), i, it)
        {
            json_array_append(all, it);
        }
        json_t *next = json_object_get(page, "next");
        bool more = json_is_string(next);
        if (more)
            after = atoll(json_string_value(next));
        json_decref(page);
        testhttp_resp_free(&r);
        if (!more)
            return all;
    }
}

/* The head: n, and its hash into hash[65]. */
static long long head(char hash[65])
{
    testhttp_resp r = {0};
    assert_int_equal(testsrv_get(&srv, TESTSRV_TOKEN_VIEW1, "/v1/audit/head", &r), 0);
    assert_int_equal(r.status, 200);
    long long n = testjson_int(r.body, "n");
    hash[0] = '\0';
    testjson_str(r.body, "hash", hash, 65);
    testhttp_resp_free(&r);
    return n;
}

/* The hash entry o should carry: SHA-256 of its canonical JSON without hash. */
static void hash_of(json_t *o, char hex[65])
{
    json_t *c = json_copy(o);
    json_object_del(c, "hash");
    size_t len;
    char *canon = json_canon(c, &len);
    assert_non_null(canon);
    sha256_hex(canon, len, hex);
    free(canon);
    json_decref(c);
}

/* Fails unless chain is whole: places 1.., links, hashes, and the head is its last. */
static void chain_whole(json_t *all)
{
    const char *prev = AUDIT_GENESIS;
    json_t *it;
    size_t i;
    json_array_foreach(all, i, it)
    {
        char hex[65];
        hash_of(it, hex);
        if (json_integer_value(json_object_get(it, "chain_n")) != (json_int_t)i + 1)
            fail_msg("item %zu has chain_n %lld", i,
                     (long long)json_integer_value(json_object_get(it, "chain_n")));
        assert_string_equal(json_string_value(json_object_get(it, "prev_hash")), prev);
        assert_string_equal(json_string_value(json_object_get(it, "hash")), hex);
        prev = json_string_value(json_object_get(it, "hash"));
    }
    char h[65];
    assert_int_equal(head(h), (long long)json_array_size(all));
    assert_string_equal(h, prev);
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

/* Decisions and ledger entries in one chain, in commit order, each linked and hashed;
 * the same fields on the objects themselves; every page size walks the same chain; only
 * operators read it. */
static void test_chain_links(void **state)
{
    (void)state;
    char p1[72], p2[72], p3[72], path[128];
    decide(2, 'a', p1);
    decide(3, 'v', p2);
    decide(1, 'a', p3);
    snprintf(path, sizeof path, "/v1/purchases/%s", p1);
    testhttp_resp pr = {0};
    assert_int_equal(testsrv_get(&srv, TESTSRV_TOKEN_SUP1, path, &pr), 0);
    long long version = testjson_int(pr.body, "version");
    testhttp_resp_free(&pr);
    snprintf(path, sizeof path, "/v1/purchases/%s/refund", p1);
    post_ok(path, version, "{\"reason\":\"returned\"}");
    json_t *all = chain(1000);
    size_t n = json_array_size(all);
    assert_true(n >= 2 + 3 + 2 + 2); /* two registrations, four decisions, three entries */
    chain_whole(all);
    /* kinds by id, in commit order: an approval, then its settlement's entry */
    int decisions = 0, entries = 0;
    for (size_t i = 0; i < n; i++) {
        const char *id = json_string_value(json_object_get(json_array_get(all, i), "id"));
        decisions += strncmp(id, "dec_", 4) == 0;
        entries += strncmp(id, "led_", 4) == 0;
    }
    assert_int_equal(entries, 3); /* two settlements and a refund */
    assert_true(decisions >= 6);
    /* the refund's reversing entry, then its decision (recorded after the action:
     * marketd/decide.c) */
    json_t *refund = json_array_get(all, n - 2), *dec = json_array_get(all, n - 1);
    assert_string_equal(json_string_value(json_object_get(refund, "kind")), "refund");
    assert_string_equal(json_string_value(json_object_get(dec, "action")), "refund");
    /* the stored objects carry the same links */
    for (size_t i = 0; i < n; i++) {
        json_t *it = json_array_get(all, i);
        const char *id = json_string_value(json_object_get(it, "id"));
        snprintf(path, sizeof path, "/v1/%s/%s", strncmp(id, "dec_", 4) ? "ledger" : "decisions",
                 id);
        testhttp_resp r = {0};
        char h[65];
        assert_int_equal(testsrv_get(&srv, TESTSRV_TOKEN_SUP1, path, &r), 0);
        assert_true(testjson_str(r.body, "hash", h, sizeof h));
        assert_string_equal(h, json_string_value(json_object_get(it, "hash")));
        assert_int_equal(testjson_int(r.body, "chain_n"), (long long)i + 1);
        testhttp_resp_free(&r);
    }
    for (int limit = 1; limit <= 4; limit++) {
        json_t *again = chain(limit);
        assert_true(json_equal(again, all));
        json_decref(again);
    }
    /* after=N starts at entry N+1; past the head: empty, next null */
    testhttp_resp r = {0};
    assert_int_equal(testsrv_get(&srv, TESTSRV_TOKEN_SUP1, "/v1/audit?after=3&limit=2", &r), 0);
    assert_int_equal(testjson_int(r.body, "items.0.chain_n"), 4);
    assert_int_equal(testjson_int(r.body, "items.1.chain_n"), 5);
    testhttp_resp_free(&r);
    snprintf(path, sizeof path, "/v1/audit?after=%zu", n);
    assert_int_equal(testsrv_get(&srv, TESTSRV_TOKEN_SUP1, path, &r), 0);
    assert_int_equal(testjson_len(r.body, "items"), 0);
    assert_true(testjson_null(r.body, "next"));
    testhttp_resp_free(&r);
    /* agents may not read it; bad cursors are refused */
    assert_int_equal(testhttp("GET", strcat(strcpy(path, srv.url), "/v1/audit/head"),
                              mkt.buyer_token, NULL, NULL, &r),
                     0);
    assert_int_equal(r.status, 403);
    testhttp_resp_free(&r);
    assert_int_equal(testsrv_get(&srv, TESTSRV_TOKEN_SUP1, "/v1/audit?after=-1", &r), 0);
    assert_int_equal(r.status, 400);
    testhttp_resp_free(&r);
    assert_int_equal(testsrv_get(&srv, TESTSRV_TOKEN_SUP1, "/v1/audit?limit=1001", &r), 0);
    assert_int_equal(r.status, 400);
    testhttp_resp_free(&r);
    json_decref(all);
}

/* The head is written with its entry: after kill -9 the chain is whole and the next
 * entry links to the head from before. */
static void test_chain_survives_kill(void **state)
{
    (void)state;
    char before[65], after[65], id[72];
    decide(1, 'a', id);
    long long n = head(before);
    testsrv_kill9(&srv);
    assert_int_equal(testsrv_restart(&srv), 0);
    assert_int_equal(head(after), n);
    assert_string_equal(after, before);
    decide(1, 'v', id);
    json_t *all = chain(1000);
    chain_whole(all);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(all, (size_t)n), "prev_hash")), before);
    json_decref(all);
}

/* A database from before the chain (schema 1, tests/data/marketd-schema1.sql: six
 * decisions without hashes): the chain is empty until the first new entry, which is
 * entry 1 and links to the genesis; the old ones stay out of it. */
static void test_chain_starts_after_old_entries(void **state)
{
    (void)state;
    if (pgtest_engine()) { /* the fixture is an older marketd's SQLite file */
        print_message("skipped on PostgreSQL: a SQLite migration (a PostgreSQL database "
                      "starts at schema 5)\n");
        skip();
    }
    testsrv s2;
    assert_int_equal(testsrv_start(&s2, NULL), 0);
    assert_int_equal(testsrv_terminate(&s2), 0);
    char path[600];
    snprintf(path, sizeof path, "%s/data/marketd-schema1.sql",
             getenv("TESTS_DIR") ? getenv("TESTS_DIR") : "tests");
    assert_int_equal(testsrv_load_sql(&s2, path), 0);
    assert_int_equal(testsrv_restart(&s2), 0);
    testhttp_resp r = {0};
    assert_int_equal(testsrv_get(&s2, TESTSRV_TOKEN_SUP1, "/v1/audit/head", &r), 0);
    assert_int_equal(testjson_int(r.body, "n"), 0);
    assert_true(testjson_null(r.body, "hash"));
    testhttp_resp_free(&r);
    assert_int_equal(testsrv_get(&s2, TESTSRV_TOKEN_SUP1, "/v1/audit", &r), 0);
    assert_int_equal(testjson_len(r.body, "items"), 0);
    testhttp_resp_free(&r);
    /* the fixture's fleet is halted: resuming it is a decision */
    assert_int_equal(testsrv_post(&s2, TESTSRV_TOKEN_SUP1, "/v1/fleet/resume",
                                  testsrv_fleet_version(&s2), "{}", &r),
                     0);
    assert_int_equal(r.status, 200);
    testhttp_resp_free(&r);
    assert_int_equal(testsrv_get(&s2, TESTSRV_TOKEN_SUP1, "/v1/audit", &r), 0);
    assert_int_equal(testjson_len(r.body, "items"), 1);
    assert_int_equal(testjson_int(r.body, "items.0.chain_n"), 1);
    char id[72], prev[65];
    assert_true(testjson_str(r.body, "items.0.id", id, sizeof id));
    assert_string_equal(id, "dec_7");
    assert_true(testjson_str(r.body, "items.0.prev_hash", prev, sizeof prev));
    assert_string_equal(prev, AUDIT_GENESIS);
    testhttp_resp_free(&r);
    assert_int_equal(testsrv_get(&s2, TESTSRV_TOKEN_SUP1, "/v1/decisions/dec_1", &r), 0);
    assert_int_equal(testjson_int(r.body, "chain_n"), TESTJSON_NONE);
    testhttp_resp_free(&r);
    testsrv_stop(&s2);
}

/* ---- export and verify ----------------------------------------------------------- */

/* The lines of a file (without newlines) into lines; how many. */
static int read_lines(const char *path, char *lines[MAXLINES])
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int n = 0;
    char *l = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&l, &cap, f)) > 0 && n < MAXLINES) {
        if (l[len - 1] == '\n')
            l[len - 1] = '\0';
        lines[n++] = strdup(l);
    }
    free(l);
    fclose(f);
    return n;
}

static void write_lines(const char *path, char *const lines[], int n)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < n; i++)
        fprintf(f, "%s\n", lines[i]);
    fclose(f);
}

static void free_lines(char *lines[], int n)
{
    for (int i = 0; i < n; i++)
        free(lines[i]);
}

/* Line text with its field key set to the string value (the hash kept). Owned. */
static char *with_field(const char *text, const char *key, const char *value)
{
    json_t *o = json_loads(text, 0, NULL);
    assert_non_null(o);
    json_object_set_new(o, key, json_string(value));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

/* Runs verify on path (and --head when given): fails unless the exit code is want and
 * stdout holds expect. */
static void verify_says(const char *path, const char *given, int want, const char *expect)
{
    const char *args[] = {"audit", "verify", path, given ? "--head" : NULL, given, NULL};
    run_result r = run(args);
    if (r.status != want || !strstr(r.out, expect))
        fail_msg("verify %s: exit %d (want %d), stdout '%s' (want '%s'), stderr '%s'", path,
                 r.status, want, r.out, expect, r.err);
}

/* Re-hashes lines 1.. from entry `from` on (line from), as a forger would, and the
 * header's head. */
static void rehash(char *lines[], int n, int from)
{
    char prev[65];
    json_t *o = json_loads(lines[from - 1], 0, NULL);
    snprintf(prev, sizeof prev, "%s",
             from > 1 ? json_string_value(json_object_get(o, "hash")) : AUDIT_GENESIS);
    json_decref(o);
    for (int i = from; i < n; i++) {
        o = json_loads(lines[i], 0, NULL);
        json_object_set_new(o, "prev_hash", json_string(prev));
        hash_of(o, prev);
        json_object_set_new(o, "hash", json_string(prev));
        free(lines[i]);
        lines[i] = json_dumps(o, JSON_COMPACT);
        json_decref(o);
    }
    o = json_loads(lines[0], 0, NULL);
    json_object_set_new(json_object_get(o, "head"), "hash", json_string(prev));
    free(lines[0]);
    lines[0] = json_dumps(o, JSON_COMPACT);
    json_decref(o);
}

/* The export the tamperings start from (test_export_whole makes it). */
static struct {
    char file[600], bad[600], head[65];
    char *lines[MAXLINES]; /* its lines: the header, then entries 1..n */
    int nl;
    long long n;
    char id4[72], id5[72]; /* the ids of entries 4 and 5 */
} ex;

/* The id of the entry on line i of the export into out[72]. */
static void id_of(int i, char out[72])
{
    json_t *o = json_loads(ex.lines[i], 0, NULL);
    snprintf(out, 72, "%s", json_string_value(json_object_get(o, "id")));
    json_decref(o);
}

/* Export: the header and every entry, a line each; it verifies against the market's
 * head and against that head given. */
static void test_export_whole(void **state)
{
    (void)state;
    char id[72];
    decide(1, 'a', id);
    ex.n = head(ex.head);
    assert_true(ex.n >= 8);
    snprintf(ex.file, sizeof ex.file, "%s/audit.jsonl", getenv("TEST_TMP"));
    snprintf(ex.bad, sizeof ex.bad, "%s/bad.jsonl", getenv("TEST_TMP"));
    const char *exp[] = {"audit", "export", ex.file, NULL};
    run_result r = run(exp);
    if (r.status != 0)
        fail_msg("export: %d %s %s", r.status, r.out, r.err);
    ex.nl = read_lines(ex.file, ex.lines);
    assert_int_equal(ex.nl, ex.n + 1);
    id_of(4, ex.id4);
    id_of(5, ex.id5);
    verify_says(ex.file, NULL, 0, "ok: ");
    verify_says(ex.file, ex.head, 0, "is the head given");
}

/* A field changed (entry 4, line 5); a line removed (entry 4); two lines swapped
 * (entries 4 and 5). */
static void test_tamper_change_remove_swap(void **state)
{
    (void)state;
    char *L[MAXLINES + 1], msg[200];
    memcpy(L, ex.lines, sizeof ex.lines);
    L[4] = with_field(ex.lines[4], "by", "someone-else");
    write_lines(ex.bad, L, ex.nl);
    snprintf(msg, sizeof msg, "changed: entry 4 (%s) at line 5", ex.id4);
    verify_says(ex.bad, NULL, 1, msg);
    free(L[4]);

    memcpy(L, ex.lines, sizeof ex.lines);
    memmove(L + 4, L + 5, (size_t)(ex.nl - 5) * sizeof *L);
    write_lines(ex.bad, L, ex.nl - 1);
    verify_says(ex.bad, NULL, 1, "removed: entry 4 (line 5 holds entry 5");

    memcpy(L, ex.lines, sizeof ex.lines);
    L[4] = ex.lines[5];
    L[5] = ex.lines[4];
    write_lines(ex.bad, L, ex.nl);
    snprintf(msg, sizeof msg, "reordered: entry 4 (%s) is at line 6; its place is line 5", ex.id4);
    verify_says(ex.bad, NULL, 1, msg);
}

/* A line inserted: a copy of entry 2 after entry 5; a forged entry before entry 5,
 * linked and hashed as if it belonged. */
static void test_tamper_insert(void **state)
{
    (void)state;
    char *L[MAXLINES + 1], msg[200], fh[65];
    int nl = ex.nl;
    memcpy(L, ex.lines, 6 * sizeof *L);
    L[6] = ex.lines[2];
    memcpy(L + 7, ex.lines + 6, (size_t)(nl - 6) * sizeof *L);
    write_lines(ex.bad, L, nl + 1);
    verify_says(ex.bad, NULL, 1, "inserted: line 7 repeats entry 2");

    memcpy(L, ex.lines, 5 * sizeof *L);
    json_t *f = json_loads(ex.lines[5], 0, NULL);
    json_object_set_new(f, "reason", json_string("forged"));
    hash_of(f, fh);
    json_object_set_new(f, "hash", json_string(fh));
    L[5] = json_dumps(f, JSON_COMPACT);
    json_decref(f);
    memcpy(L + 6, ex.lines + 5, (size_t)(nl - 5) * sizeof *L);
    write_lines(ex.bad, L, nl + 1);
    snprintf(msg, sizeof msg, "inserted: line 6 (%s) before entry 5 (%s) at line 7", ex.id5,
             ex.id5);
    verify_says(ex.bad, NULL, 1, msg);
    free(L[5]);
}

/* A forged entry appended after the last, the header moved to it. */
static void test_tamper_append(void **state)
{
    (void)state;
    char *L[MAXLINES + 1], msg[200], fh[65];
    int nl = ex.nl;
    memcpy(L, ex.lines, sizeof ex.lines);
    json_t *f = json_loads(ex.lines[nl - 1], 0, NULL);
    json_object_set_new(f, "id", json_string("dec_999999"));
    json_object_set_new(f, "chain_n", json_integer(ex.n + 1));
    json_object_set(f, "prev_hash", json_object_get(f, "hash"));
    hash_of(f, fh);
    json_object_set_new(f, "hash", json_string(fh));
    L[nl] = json_dumps(f, JSON_COMPACT);
    json_decref(f);
    f = json_loads(ex.lines[0], 0, NULL);
    json_object_set_new(json_object_get(f, "head"), "n", json_integer(ex.n + 1));
    json_object_set_new(json_object_get(f, "head"), "hash", json_string(fh));
    L[0] = json_dumps(f, JSON_COMPACT);
    json_decref(f);
    write_lines(ex.bad, L, nl + 1);
    snprintf(msg, sizeof msg, "inserted: entries %lld to %lld (from line %d)", ex.n + 1, ex.n + 1,
             nl + 1);
    verify_says(ex.bad, NULL, 1, msg);
    free(L[0]);
    free(L[nl]);
}

/* A change re-hashed from scratch: whole in itself, but not the market's (nor the head
 * given); the entry changed is named when the market is asked. */
static void test_tamper_rehashed(void **state)
{
    (void)state;
    char *L[MAXLINES + 1], msg[200];
    for (int i = 0; i < ex.nl; i++)
        L[i] = strdup(ex.lines[i]);
    char *changed = with_field(L[4], "by", "someone-else");
    free(L[4]);
    L[4] = changed;
    rehash(L, ex.nl, 4);
    write_lines(ex.bad, L, ex.nl);
    snprintf(msg, sizeof msg, "changed: entry 4 (%s) at line 5 differs from the market's entry 4",
             ex.id4);
    verify_says(ex.bad, NULL, 1, msg);
    verify_says(ex.bad, ex.head, 1, "changed: no entry of the export has the head given");
    free_lines(L, ex.nl);
}

/* The tail cut; the header removed; an empty file; an empty line (passed over). */
static void test_tamper_cut(void **state)
{
    (void)state;
    char *L[MAXLINES + 1], msg[200], empty[1] = "";
    write_lines(ex.bad, ex.lines, ex.nl - 2);
    snprintf(msg, sizeof msg, "removed: entry %lld and after", ex.n - 1);
    verify_says(ex.bad, NULL, 1, msg);
    write_lines(ex.bad, ex.lines + 1, ex.nl - 1);
    verify_says(ex.bad, NULL, 1, "changed: line 1 is not the header of an audit export");
    write_lines(ex.bad, ex.lines, 0);
    verify_says(ex.bad, NULL, 1, "changed: the file is empty");
    memcpy(L, ex.lines, sizeof ex.lines);
    L[ex.nl] = empty;
    write_lines(ex.bad, L, ex.nl + 1);
    verify_says(ex.bad, NULL, 0, "ok: ");
}

/* Usage errors exit 2; the market goes on and the export still verifies, against the
 * market's entry at its end. */
static void test_export_after_growth(void **state)
{
    (void)state;
    const char *u1[] = {"audit", "verify", ex.file, "--head", "abc", NULL};
    const char *u2[] = {"audit", "export", ex.file, "--head", ex.head, NULL};
    const char *u3[] = {"audit", "verify", NULL};
    assert_int_equal(run(u1).status, 2);
    assert_int_equal(run(u2).status, 2);
    assert_int_equal(run(u3).status, 2);
    char id[72], msg[200];
    decide(1, 'v', id);
    snprintf(msg, sizeof msg, "the market's entry %lld (its head is now entry %lld)", ex.n,
             ex.n + 1);
    verify_says(ex.file, NULL, 0, msg);
    free_lines(ex.lines, ex.nl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_links),
        cmocka_unit_test(test_chain_survives_kill),
        cmocka_unit_test(test_chain_starts_after_old_entries),
        cmocka_unit_test(test_export_whole),
        cmocka_unit_test(test_tamper_change_remove_swap),
        cmocka_unit_test(test_tamper_insert),
        cmocka_unit_test(test_tamper_append),
        cmocka_unit_test(test_tamper_rehashed),
        cmocka_unit_test(test_tamper_cut),
        cmocka_unit_test(test_export_after_growth),
    };
    return cmocka_run_group_tests_name("marketd_audit", tests, setup, teardown);
}
