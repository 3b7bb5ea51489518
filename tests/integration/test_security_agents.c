/* test_security_agents.c: an agent must not move money around the supervisor (issue 11).
 *
 * Against a real marketd: a party cannot accept its own terms (whatever came after them:
 * a note, a cap, a counter); a paused agent is protected as a counterparty (its threads
 * are held, nothing buys from or sells to it); holds are a set of holders, so that
 * resuming the fleet does not undo a supervisor's later pause; an agent token is never
 * stored (the replay of its registration does not hold it; the database, WAL and SHM
 * files are 0600); a reason of 500 multi-byte characters is stored whole; a database of
 * schema 1 is migrated to all this (tests/data/marketd-schema1.sql).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/lib/srvcheck.h"
#include "tests/lib/testsrv.h"

static testsrv srv;

/* Starts the server for the group, with the umask most users have: the files' modes
 * must not depend on the caller's umask being strict. */
static int group_setup(void **state)
{
    (void)state;
    umask(022);
    return testsrv_start(&srv, "--decide-timeout 600");
}

/* Stops it. */
static int group_teardown(void **state)
{
    (void)state;
    testsrv_stop(&srv);
    return 0;
}

/* Each test starts with the fleet running, whatever an earlier (failed) test left. */
static int fleet_running(void **state)
{
    (void)state;
    testhttp_resp r;
    if (testsrv_post(&srv, TESTSRV_TOKEN_SUP1, "/v1/fleet/resume", testsrv_fleet_version(&srv),
                     "{}", &r) != 0)
        return -1;
    int rc = r.status == 200 || r.status == 409 ? 0 : -1;
    testhttp_resp_free(&r);
    return rc;
}

/* Asserts that the string at json path of the object at path is want. */
static void field_is(const char *path, const char *jpath, const char *want)
{
    char *b = testsrv_get_ok(&srv, path);
    char got[256] = "";
    testjson_str(b, jpath, got, sizeof got);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "%s %s: %s\n", path, jpath, b);
    assert_string_equal(got, want);
    free(b);
}

/* POSTs body to path as token (If-Match: version when > 0), asserts the status (and the
 * error code when code is not NULL) and returns the answer's body (owned). */
static char *post(const char *token, const char *path, long long version, const char *body,
                  long want, const char *code)
{
    testhttp_resp r;
    assert_int_equal(testsrv_post(&srv, token, path, version, body, &r), 0);
    if (r.status != want)
        fprintf(stderr, "POST %s %s: %ld %s\n", path, body, r.status, r.body);
    assert_int_equal(r.status, want);
    if (code) {
        char got[64] = "";
        testjson_str(r.body, "error", got, sizeof got);
        assert_string_equal(got, code);
    }
    char *b = r.body;
    r.body = NULL;
    testhttp_resp_free(&r);
    return b;
}

/* post() for a caller that only checks the status and code. */
static void post_expect(const char *token, const char *path, long long version, const char *body,
                        long want, const char *code)
{
    free(post(token, path, version, body, want, code));
}

/* The buyer of t opens a thread at (price, qty): its id into neg, its messages path into
 * mpath (160 bytes). */
static void open_thread(testsrv_market *t, long long price, long long qty, char neg[72],
                        char mpath[160])
{
    char body[256];
    snprintf(body, sizeof body,
             "{\"listing_id\":\"%s\",\"unit_price_minor\":%lld,\"quantity\":%lld,\"text\":\"hi\"}",
             t->listing_id, price, qty);
    char *b = post(t->buyer_token, "/v1/negotiations", 0, body, 201, NULL);
    assert_true(testjson_str(b, "negotiation.id", neg, 72));
    free(b);
    snprintf(mpath, 160, "/v1/negotiations/%s/messages", neg);
}

/* The number of purchases of the buyer of t. */
static long long purchases_of(testsrv_market *t)
{
    testhttp_resp r;
    assert_int_equal(testsrv_get(&srv, t->buyer_token, "/v1/purchases", &r), 0);
    assert_int_equal(r.status, 200);
    long long n = testjson_len(r.body, "items");
    testhttp_resp_free(&r);
    return n;
}

/* ---- 1. own terms ------------------------------------------------------------------- */

static void test_own_terms_cannot_be_accepted(void **state)
{
    (void)state;
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&srv, &t, 100000000), 0);
    char neg[72], mpath[160], lpath[128], npath[128];
    snprintf(lpath, sizeof lpath, "/v1/listings/%s", t.listing_id);

    /* The buyer opens at 0 x 10 and accepts its own opening offer. */
    open_thread(&t, 0, 10, neg, mpath);
    snprintf(npath, sizeof npath, "/v1/negotiations/%s", neg);
    post_expect(t.buyer_token, mpath, 0, "{\"kind\":\"accept\"}", 409, "own_offer");
    field_is(npath, "terms.by", t.buyer_id);
    /* ... nor after a note of its own, or of the seller's */
    post_expect(t.buyer_token, mpath, 0, "{\"kind\":\"note\",\"text\":\"well?\"}", 201, NULL);
    post_expect(t.buyer_token, mpath, 0, "{\"kind\":\"accept\"}", 409, "own_offer");
    post_expect(t.seller_token, mpath, 0, "{\"kind\":\"note\",\"text\":\"hm\"}", 201, NULL);
    post_expect(t.buyer_token, mpath, 0, "{\"kind\":\"accept\",\"unit_price_minor\":0}", 409,
                "own_offer");
    assert_int_equal(purchases_of(&t), 0);

    /* The seller counters 2200 x 20 and accepts its own counter. */
    post_expect(t.seller_token, mpath, 0,
                "{\"kind\":\"counter\",\"unit_price_minor\":2200,\"quantity\":20}", 201, NULL);
    post_expect(t.seller_token, mpath, 0, "{\"kind\":\"accept\"}", 409, "own_offer");
    field_is(npath, "terms.by", t.seller_id);
    post_expect(t.buyer_token, mpath, 0, "{\"kind\":\"note\",\"text\":\"thinking\"}", 201, NULL);
    post_expect(t.seller_token, mpath, 0, "{\"kind\":\"accept\"}", 409, "own_offer");
    assert_int_equal(purchases_of(&t), 0);
    field_is(lpath, "status", "open");

    /* The other party may: the buyer accepts the seller's counter (flagged: below floor). */
    char *b = post(t.buyer_token, mpath, 0, "{\"kind\":\"accept\"}", 201, NULL);
    assert_int_equal(testjson_int(b, "purchase.total_minor"), 44000);
    char pur[72], ppath[128];
    assert_true(testjson_str(b, "purchase.id", pur, sizeof pur));
    free(b);

    /* A cap takes the terms off the table: nobody accepts until one party makes terms
     * inside the cap, and then only the other party. */
    snprintf(ppath, sizeof ppath, "/v1/purchases/%s/cap", pur);
    char pget[128];
    snprintf(pget, sizeof pget, "/v1/purchases/%s", pur);
    post_expect(TESTSRV_TOKEN_SUP1, ppath, testsrv_version_of(&srv, pget), "{\"max_quantity\":5}",
                200, NULL);
    b = testsrv_get_ok(&srv, npath);
    assert_true(testjson_null(b, "terms"));
    free(b);
    post_expect(t.buyer_token, mpath, 0, "{\"kind\":\"accept\",\"quantity\":5}", 409, NULL);
    post_expect(t.seller_token, mpath, 0, "{\"kind\":\"accept\",\"quantity\":5}", 409, NULL);
    post_expect(t.seller_token, mpath, 0,
                "{\"kind\":\"counter\",\"unit_price_minor\":2200,\"quantity\":5}", 201, NULL);
    post_expect(t.seller_token, mpath, 0, "{\"kind\":\"accept\"}", 409, "own_offer");
    assert_int_equal(purchases_of(&t), 1);
    b = post(t.buyer_token, mpath, 0, "{\"kind\":\"accept\"}", 201, NULL);
    assert_int_equal(testjson_int(b, "purchase.total_minor"), 11000);
    free(b);
    assert_int_equal(purchases_of(&t), 2);
}

/* ---- 3. a paused agent as a counterparty --------------------------------------------- */

static void test_paused_agent_protected_as_counterparty(void **state)
{
    (void)state;
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&srv, &t, 100000000), 0);
    char neg[72], mpath[160], npath[128], apath[128], act[160], holder[100];
    open_thread(&t, 45000, 2, neg, mpath);
    snprintf(npath, sizeof npath, "/v1/negotiations/%s", neg);
    snprintf(apath, sizeof apath, "/v1/agents/%s", t.buyer_id);
    snprintf(holder, sizeof holder, "pause:%s", t.buyer_id);

    snprintf(act, sizeof act, "%s/pause", apath);
    post_expect(TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, apath), "{\"reason\":\"odd\"}",
                200, NULL);
    field_is(npath, "status", "held");
    /* its seller can neither counter nor accept on the paused buyer's thread */
    char *b =
        post(t.seller_token, mpath, 0,
             "{\"kind\":\"counter\",\"unit_price_minor\":48000,\"quantity\":2}", 409, "conflict");
    char msg[300];
    assert_true(testjson_str(b, "message", msg, sizeof msg));
    assert_non_null(strstr(msg, t.buyer_id)); /* says who it waits for */
    free(b);
    post_expect(t.seller_token, mpath, 0, "{\"kind\":\"accept\"}", 409, "conflict");
    assert_int_equal(purchases_of(&t), 0);
    post_expect(t.buyer_token, mpath, 0, "{\"kind\":\"note\",\"text\":\"x\"}", 403, "agent_paused");
    field_is(npath, "held_by.0", holder);

    /* resume releases what the pause held; the seller may then accept */
    snprintf(act, sizeof act, "%s/resume", apath);
    post_expect(TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, apath), "{}", 200, NULL);
    field_is(npath, "status", "open");
    b = testsrv_get_ok(&srv, npath);
    assert_int_equal(testjson_len(b, "held_by"), 0);
    free(b);
    post_expect(t.seller_token, mpath, 0, "{\"kind\":\"accept\"}", 201, NULL);
    assert_int_equal(purchases_of(&t), 1);

    /* A paused seller: the buyer's threads with it are held, and no new one opens. */
    char sapath[128], neg2[72], mpath2[160], npath2[128], body[256];
    open_thread(&t, 45000, 1, neg2, mpath2);
    snprintf(npath2, sizeof npath2, "/v1/negotiations/%s", neg2);
    snprintf(sapath, sizeof sapath, "/v1/agents/%s", t.seller_id);
    snprintf(act, sizeof act, "%s/pause", sapath);
    post_expect(TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, sapath), "{\"reason\":\"odd\"}",
                200, NULL);
    field_is(npath2, "status", "held");
    post_expect(t.buyer_token, mpath2, 0,
                "{\"kind\":\"offer\",\"unit_price_minor\":1,\"quantity\":1}", 409, "conflict");
    snprintf(body, sizeof body, "{\"listing_id\":\"%s\",\"unit_price_minor\":45000,\"quantity\":1}",
             t.listing_id);
    post_expect(t.buyer_token, "/v1/negotiations", 0, body, 409, "conflict");
    snprintf(act, sizeof act, "%s/resume", sapath);
    post_expect(TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, sapath), "{}", 200, NULL);
    field_is(npath2, "status", "open");
    assert_int_equal(purchases_of(&t), 1);
}

/* ---- 4. holds are a set of holders ----------------------------------------------------- */

static void test_fleet_resume_keeps_a_later_pause(void **state)
{
    (void)state;
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&srv, &t, 100000000), 0);
    char neg[72], mpath[160], npath[128], apath[128], act[160], holder[100];
    open_thread(&t, 45000, 2, neg, mpath);
    snprintf(npath, sizeof npath, "/v1/negotiations/%s", neg);
    snprintf(apath, sizeof apath, "/v1/agents/%s", t.buyer_id);
    snprintf(holder, sizeof holder, "pause:%s", t.buyer_id);
    char sapath[128];
    snprintf(sapath, sizeof sapath, "/v1/agents/%s", t.seller_id);

    /* halt, pause the buyer, resume the fleet: the buyer and its thread stay held */
    post_expect(TESTSRV_TOKEN_SUP1, "/v1/fleet/halt", testsrv_fleet_version(&srv),
                "{\"reason\":\"stop\"}", 200, NULL);
    field_is(apath, "status", "paused");
    snprintf(act, sizeof act, "%s/pause", apath);
    post_expect(TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, apath),
                "{\"reason\":\"compromised, keep paused\"}", 200, NULL);
    post_expect(TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, apath), "{\"reason\":\"again\"}",
                409, "conflict");
    post_expect(TESTSRV_TOKEN_SUP2, "/v1/fleet/resume", testsrv_fleet_version(&srv), "{}", 200,
                NULL);
    field_is(apath, "status", "paused");
    field_is(npath, "status", "held");
    field_is(sapath, "status", "active"); /* the halt's own hold is gone everywhere */
    field_is(apath, "held_by.0", holder);
    field_is(npath, "held_by.0", holder);
    post_expect(t.buyer_token, mpath, 0, "{\"kind\":\"note\",\"text\":\"x\"}", 403, "agent_paused");
    post_expect(t.seller_token, mpath, 0, "{\"kind\":\"accept\"}", 409, "conflict");

    /* halt; resume the buyer (its own pause); pause it again; resume the fleet: paused */
    post_expect(TESTSRV_TOKEN_SUP1, "/v1/fleet/halt", testsrv_fleet_version(&srv),
                "{\"reason\":\"stop\"}", 200, NULL);
    snprintf(act, sizeof act, "%s/resume", apath);
    post_expect(TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, apath), "{}", 200, NULL);
    field_is(apath, "status", "paused"); /* the halt still holds it */
    post_expect(TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, apath), "{}", 409, "conflict");
    snprintf(act, sizeof act, "%s/pause", apath);
    post_expect(TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, apath),
                "{\"reason\":\"keep paused\"}", 200, NULL);
    post_expect(TESTSRV_TOKEN_SUP2, "/v1/fleet/resume", testsrv_fleet_version(&srv), "{}", 200,
                NULL);
    field_is(apath, "status", "paused");
    field_is(npath, "status", "held");
    assert_int_equal(purchases_of(&t), 0);

    /* a supervisor's hold of the thread is a holder too: releasing the pause leaves it */
    snprintf(act, sizeof act, "%s/hold", npath);
    post_expect(TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, npath), "{\"reason\":\"look\"}",
                200, NULL);
    snprintf(act, sizeof act, "%s/resume", apath);
    post_expect(TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, apath), "{}", 200, NULL);
    field_is(apath, "status", "active");
    field_is(npath, "status", "held");
    field_is(npath, "held_by.0", "hold");
    snprintf(act, sizeof act, "%s/release", npath);
    post_expect(TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, npath), "{}", 200, NULL);
    field_is(npath, "status", "open");
    post_expect(t.seller_token, mpath, 0, "{\"kind\":\"accept\"}", 201, NULL);
}

static void test_release_removes_only_its_own_hold(void **state)
{
    (void)state;
    testsrv_market t;
    assert_int_equal(testsrv_market_setup(&srv, &t, 100000000), 0);
    char neg[72], mpath[160], npath[128], act[160];
    open_thread(&t, 45000, 2, neg, mpath);
    snprintf(npath, sizeof npath, "/v1/negotiations/%s", neg);
    /* hold, halt, resume the fleet: the supervisor's hold stays */
    snprintf(act, sizeof act, "%s/hold", npath);
    post_expect(TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, npath), "{\"reason\":\"look\"}",
                200, NULL);
    post_expect(TESTSRV_TOKEN_SUP1, "/v1/fleet/halt", testsrv_fleet_version(&srv),
                "{\"reason\":\"stop\"}", 200, NULL);
    post_expect(TESTSRV_TOKEN_SUP2, "/v1/fleet/resume", testsrv_fleet_version(&srv), "{}", 200,
                NULL);
    field_is(npath, "status", "held");
    /* halt, release: the halt's hold stays until the fleet resumes */
    post_expect(TESTSRV_TOKEN_SUP1, "/v1/fleet/halt", testsrv_fleet_version(&srv),
                "{\"reason\":\"stop\"}", 200, NULL);
    snprintf(act, sizeof act, "%s/release", npath);
    post_expect(TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, npath), "{}", 200, NULL);
    field_is(npath, "status", "held");
    field_is(npath, "held_by.0", "fleet");
    post_expect(TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, npath), "{}", 409, "conflict");
    post_expect(TESTSRV_TOKEN_SUP2, "/v1/fleet/resume", testsrv_fleet_version(&srv), "{}", 200,
                NULL);
    field_is(npath, "status", "open");
}

/* ---- 5. agent tokens are never stored --------------------------------------------------- */

/* True when the file at path holds needle (a missing file holds nothing). */
static bool file_holds(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    size_t cap = 1 << 20, n = 0, k = strlen(needle);
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    fclose(f);
    bool found = false;
    for (size_t i = 0; i + k <= n && !found; i++)
        found = memcmp(buf + i, needle, k) == 0;
    free(buf);
    return found;
}

static void test_agent_token_never_stored(void **state)
{
    (void)state;
    static const char body[] =
        "{\"name\":\"Tok\",\"principal\":\"P\",\"role\":\"buyer\",\"currency\":\"USD\","
        "\"limits\":{\"spend_cap_minor\":1,\"per_deal_max_minor\":1,"
        "\"approval_threshold_minor\":0,\"max_quantity\":1},\"mandate\":{\"categories\":[]}}";
    char key[48];
    testsrv_key(key);
    testhttp_resp r1, r2;
    assert_int_equal(testsrv_post_key(&srv, TESTSRV_TOKEN_SUP1, "/v1/agents", key, body, &r1), 0);
    assert_int_equal(r1.status, 201);
    char token[128];
    assert_true(testjson_str(r1.body, "token", token, sizeof token));
    assert_true(strlen(token) > 20);

    /* the replay has the agent, but not the token, and says why */
    assert_int_equal(testsrv_post_key(&srv, TESTSRV_TOKEN_SUP1, "/v1/agents", key, body, &r2), 0);
    assert_int_equal(r2.status, 201);
    char hv[16], note[200], id1[72], id2[72];
    assert_non_null(testhttp_header(&r2, "Idempotent-Replayed", hv, sizeof hv));
    assert_null(strstr(r2.body, token));
    assert_true(testjson_null(r2.body, "token"));
    assert_true(testjson_str(r2.body, "token_note", note, sizeof note));
    assert_non_null(strstr(note, "shown once"));
    assert_true(testjson_str(r1.body, "agent.id", id1, sizeof id1));
    assert_true(testjson_str(r2.body, "agent.id", id2, sizeof id2));
    assert_string_equal(id1, id2);
    testhttp_resp_free(&r1);
    testhttp_resp_free(&r2);

    /* the token works, and no byte of it is in the database, its WAL or its SHM */
    testhttp_resp r;
    assert_int_equal(testsrv_get(&srv, token, "/v1/whoami", &r), 0);
    assert_int_equal(r.status, 200);
    testhttp_resp_free(&r);
    char p[700];
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", srv.db, suffixes[i]);
        assert_false(file_holds(p, token));
    }
}

/* Asserts that the database, WAL and SHM files exist with mode 0600. */
static void assert_db_files_private(void)
{
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char p[700];
        struct stat sb;
        snprintf(p, sizeof p, "%s%s", srv.db, suffixes[i]);
        assert_int_equal(stat(p, &sb), 0);
        if ((sb.st_mode & 0777) != 0600)
            fprintf(stderr, "%s: mode %03o\n", p, (unsigned)(sb.st_mode & 0777));
        assert_int_equal(sb.st_mode & 0777, 0600);
    }
}

static void test_database_files_are_private(void **state)
{
    (void)state;
    /* a write, so that the WAL surely exists */
    post_expect(TESTSRV_TOKEN_SUP1, "/v1/fleet/halt", testsrv_fleet_version(&srv),
                "{\"reason\":\"mode\"}", 200, NULL);
    post_expect(TESTSRV_TOKEN_SUP1, "/v1/fleet/resume", testsrv_fleet_version(&srv), "{}", 200,
                NULL);
    assert_db_files_private();
    /* files an older marketd left readable by others are narrowed at the next start */
    testsrv_kill9(&srv);
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char p[700];
        snprintf(p, sizeof p, "%s%s", srv.db, suffixes[i]);
        chmod(p, 0644);
    }
    assert_int_equal(testsrv_restart(&srv), 0);
    assert_db_files_private();
}

/* ---- a database of schema 1 is migrated --------------------------------------------- */

/* The fixture's agent tokens (tests/data/marketd-schema1.sql): seller agt_1, buyers agt_2
 * (paused by a supervisor) and agt_3. */
#define V1_TOKEN_AGT1 "agt-tok-43bb5651a31d60a55ebe1b992cf2cadcb9145b92f2d902bb"
#define V1_TOKEN_AGT2 "agt-tok-c7068e9b9d39f848b8fb7b3ac192ac0866d43299415db7b6"
#define V1_TOKEN_AGT3 "agt-tok-0b3e9a1846822cf4cf8b34f26cc2245358cad28a62dd84b3"

/* Replaces s's database with one made from the SQL text in file sql (0644, as schema 1
 * left it). */
static void load_database(testsrv *s, const char *sql)
{
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    char p[700];
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", s->db, suffixes[i]);
        unlink(p);
    }
    FILE *f = fopen(sql, "rb");
    assert_non_null(f);
    char *text = calloc(1, 1 << 20);
    assert_non_null(text);
    size_t n = fread(text, 1, (1 << 20) - 1, f);
    fclose(f);
    assert_true(n > 0);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(s->db, &db), SQLITE_OK);
    char *err = NULL;
    int rc = sqlite3_exec(db, text, NULL, NULL, &err);
    if (rc != SQLITE_OK)
        fprintf(stderr, "%s: %s\n", sql, err ? err : "?");
    assert_int_equal(rc, SQLITE_OK);
    sqlite3_close(db);
    free(text);
    assert_int_equal(chmod(s->db, 0644), 0);
}

/* GETs path from s as sup1 and asserts the string at jpath is want. */
static void field_of(testsrv *s, const char *path, const char *jpath, const char *want)
{
    testhttp_resp r;
    assert_int_equal(testsrv_get(s, TESTSRV_TOKEN_SUP1, path, &r), 0);
    assert_int_equal(r.status, 200);
    char got[256] = "";
    testjson_str(r.body, jpath, got, sizeof got);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "%s %s: %s\n", path, jpath, r.body);
    assert_string_equal(got, want);
    testhttp_resp_free(&r);
}

/* POSTs body to path on s as token; asserts the status and returns the body (owned). */
static char *post_on(testsrv *s, const char *token, const char *path, const char *key,
                     const char *body, long want)
{
    char fresh[48];
    if (!key) {
        testsrv_key(fresh);
        key = fresh;
    }
    testhttp_resp r;
    assert_int_equal(testsrv_post_key(s, token, path, key, body, &r), 0);
    if (r.status != want)
        fprintf(stderr, "POST %s: %ld %s\n", path, r.status, r.body);
    assert_int_equal(r.status, want);
    char *b = r.body;
    r.body = NULL;
    testhttp_resp_free(&r);
    return b;
}

static void test_schema1_database_migrates(void **state)
{
    (void)state;
    testsrv s2;
    assert_int_equal(testsrv_start(&s2, NULL), 0);
    testsrv_kill9(&s2);
    char sql[600];
    snprintf(sql, sizeof sql, "%s/data/marketd-schema1.sql",
             getenv("TESTS_DIR") ? getenv("TESTS_DIR") : "tests");
    load_database(&s2, sql);
    assert_int_equal(testsrv_restart(&s2), 0);

    /* no token is left in the files, which are private now */
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    static const char *const tokens[] = {V1_TOKEN_AGT1, V1_TOKEN_AGT2, V1_TOKEN_AGT3};
    for (int i = 0; i < 3; i++) {
        char p[700];
        struct stat sb;
        snprintf(p, sizeof p, "%s%s", s2.db, suffixes[i]);
        assert_int_equal(stat(p, &sb), 0);
        assert_int_equal(sb.st_mode & 0777, 0600);
        for (int k = 0; k < 3; k++)
            assert_false(file_holds(p, tokens[k]));
    }
    /* the replay of a registration says the token was shown once */
    char *b = post_on(&s2, TESTSRV_TOKEN_SUP1, "/v1/agents", "reg-buyer-a",
                      "{\"name\":\"BuyerA\",\"principal\":\"Ann\",\"role\":\"buyer\","
                      "\"currency\":\"USD\",\"limits\":{\"spend_cap_minor\":1000000,"
                      "\"per_deal_max_minor\":1000000,\"approval_threshold_minor\":1000000,"
                      "\"max_quantity\":10},\"mandate\":{\"categories\":[\"bikes\"]},"
                      "\"addresses\":[\"1 Main St\"]}",
                      201);
    assert_true(testjson_null(b, "token"));
    char note[200];
    assert_true(testjson_str(b, "token_note", note, sizeof note));
    free(b);

    /* holders read off the old state: the halt's, a supervisor's pause and hold */
    field_of(&s2, "/v1/agents/agt_1", "held_by.0", "fleet");
    field_of(&s2, "/v1/agents/agt_2", "held_by.0", "pause:agt_2");
    field_of(&s2, "/v1/negotiations/neg_1", "held_by.0", "fleet");
    field_of(&s2, "/v1/negotiations/neg_2", "held_by.0", "hold");
    field_of(&s2, "/v1/negotiations/neg_1", "terms.by", "agt_1");
    testhttp_resp fr = {0}; /* the fleet stored before it had a version reads as 1 */
    assert_int_equal(testsrv_fleet_version(&s2), 1);
    assert_int_equal(testsrv_post(&s2, TESTSRV_TOKEN_SUP1, "/v1/fleet/resume", 1, "{}", &fr), 0);
    assert_int_equal(fr.status, 200);
    testhttp_resp_free(&fr);
    field_of(&s2, "/v1/agents/agt_1", "status", "active");
    field_of(&s2, "/v1/agents/agt_2", "status", "paused");
    field_of(&s2, "/v1/negotiations/neg_1", "status", "open");
    field_of(&s2, "/v1/negotiations/neg_2", "status", "held");

    /* neg_3 is the paused agt_2's, from before pauses held threads: still no purchase */
    free(post_on(&s2, V1_TOKEN_AGT1, "/v1/negotiations/neg_3/messages", NULL,
                 "{\"kind\":\"accept\"}", 409));
    /* neg_1: the seller's counter is the seller's own; the buyer may accept it */
    b = post_on(&s2, V1_TOKEN_AGT1, "/v1/negotiations/neg_1/messages", NULL,
                "{\"kind\":\"accept\"}", 409);
    char code[32] = "";
    testjson_str(b, "error", code, sizeof code);
    assert_string_equal(code, "own_offer");
    free(b);
    b = post_on(&s2, V1_TOKEN_AGT3, "/v1/negotiations/neg_1/messages", NULL,
                "{\"kind\":\"accept\"}", 201);
    assert_int_equal(testjson_int(b, "purchase.total_minor"), 45000);
    free(b);
    testsrv_stop(&s2);
}

/* ---- 11. no text is cut inside a character ------------------------------------------- */

/* Writes n copies of the UTF-8 character ch as a JSON string body {"reason": ...} plus
 * extra (a ",..." member list or "") into out (owned). */
static char *reason_body(const char *ch, int n, const char *extra)
{
    size_t cl = strlen(ch), size = cl * (size_t)n + strlen(extra) + 32;
    char *b = malloc(size);
    assert_non_null(b);
    size_t o = (size_t)snprintf(b, size, "{\"reason\":\"");
    for (int i = 0; i < n; i++, o += cl)
        memcpy(b + o, ch, cl);
    snprintf(b + o, size - o, "\"%s}", extra);
    return b;
}

/* The text of the last message of negotiation neg. */
static char *last_message(const char *neg)
{
    char path[160];
    snprintf(path, sizeof path, "/v1/negotiations/%s/messages", neg);
    char *b = testsrv_get_ok(&srv, path);
    long long n = testjson_len(b, "items");
    char jp[64];
    snprintf(jp, sizeof jp, "items.%lld.text", n - 1);
    char *text = malloc(8192);
    assert_non_null(text);
    assert_true(testjson_str(b, jp, text, 8192));
    free(b);
    return text;
}

static void test_long_multibyte_reasons_are_stored_whole(void **state)
{
    (void)state;
    static const char *const chars[] = {"\xc3\xa9", "\xf0\x9f\x98\x80"}; /* é, 😀 */
    for (int k = 0; k < 2; k++) {
        const char *ch = chars[k];
        char *r500 = reason_body(ch, 500, "");
        char *whole = reason_body(ch, 500, ""); /* the reason's text, for comparing */
        whole[strlen(whole) - 2] = '\0';
        const char *reason = whole + strlen("{\"reason\":\"");
        testsrv_market t;
        char pur[72], path[160], act[200], neg[72];

        /* veto of a purchase */
        assert_int_equal(testsrv_market_setup(&srv, &t, 0), 0);
        assert_int_equal(testsrv_market_purchase(&srv, &t, 45000, 2, pur), 0);
        snprintf(path, sizeof path, "/v1/purchases/%s", pur);
        snprintf(act, sizeof act, "%s/veto", path);
        char *b = post(TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, path), r500, 200, NULL);
        assert_true(testjson_str(b, "negotiation_id", neg, sizeof neg));
        free(b);
        char *text = last_message(neg);
        assert_non_null(strstr(text, reason));
        free(text);

        /* cap of a purchase */
        assert_int_equal(testsrv_market_purchase(&srv, &t, 45000, 2, pur), 0);
        snprintf(path, sizeof path, "/v1/purchases/%s", pur);
        snprintf(act, sizeof act, "%s/cap", path);
        char *capb = reason_body(ch, 500, ",\"max_quantity\":1");
        b = post(TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, path), capb, 200, NULL);
        free(capb);
        assert_true(testjson_str(b, "negotiation_id", neg, sizeof neg));
        free(b);
        char mp[160];
        snprintf(mp, sizeof mp, "/v1/negotiations/%s/messages", neg);
        b = testsrv_get_ok(&srv, mp);
        assert_non_null(strstr(b, reason));
        free(b);

        /* hold and veto of a negotiation */
        snprintf(path, sizeof path, "/v1/negotiations/%s", neg);
        snprintf(act, sizeof act, "%s/hold", path);
        post_expect(TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, path), r500, 200, NULL);
        text = last_message(neg);
        assert_non_null(strstr(text, reason));
        free(text);
        snprintf(act, sizeof act, "%s/veto", path);
        post_expect(TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, path), r500, 200, NULL);
        text = last_message(neg);
        assert_non_null(strstr(text, reason));
        free(text);

        /* pause of an agent, and the fleet halt */
        snprintf(path, sizeof path, "/v1/agents/%s", t.buyer_id);
        snprintf(act, sizeof act, "%s/pause", path);
        post_expect(TESTSRV_TOKEN_SUP1, act, testsrv_version_of(&srv, path), r500, 200, NULL);
        post_expect(TESTSRV_TOKEN_SUP1, "/v1/fleet/halt", testsrv_fleet_version(&srv), r500, 200,
                    NULL);
        b = testsrv_get_ok(&srv, "/v1/fleet");
        char *got = malloc(4096);
        assert_non_null(got);
        assert_true(testjson_str(b, "reason", got, 4096));
        assert_string_equal(got, reason);
        free(got);
        free(b);
        post_expect(TESTSRV_TOKEN_SUP1, "/v1/fleet/resume", testsrv_fleet_version(&srv), "{}", 200,
                    NULL);
        free(r500);
        free(whole);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_own_terms_cannot_be_accepted, fleet_running),
        cmocka_unit_test_setup(test_paused_agent_protected_as_counterparty, fleet_running),
        cmocka_unit_test_setup(test_fleet_resume_keeps_a_later_pause, fleet_running),
        cmocka_unit_test_setup(test_release_removes_only_its_own_hold, fleet_running),
        cmocka_unit_test_setup(test_agent_token_never_stored, fleet_running),
        cmocka_unit_test_setup(test_long_multibyte_reasons_are_stored_whole, fleet_running),
        cmocka_unit_test_setup(test_database_files_are_private, fleet_running),
        cmocka_unit_test(test_schema1_database_migrates),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
