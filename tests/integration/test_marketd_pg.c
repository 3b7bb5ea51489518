/* test_marketd_pg.c: what is PostgreSQL's own in marketd's engines (issue 18): a URL
 * holding a password is refused; two marketd started together on one new database both
 * come up, one after the other through the migration lock; a database whose schema is
 * newer than marketd is refused and left as it is.
 *
 * And the password marketd does use comes from libpq's environment: with PGPASSWORD a
 * role that needs one (tests/run.sh's pg_hba.conf: marketd_pw) comes up, as the owner of
 * its database, not a superuser (the trigram index made all the same); without, it is
 * refused.
 *
 * A search of disputes (no search table on SQLite) answers; a failed read is a 503
 * that says what failed.
 *
 * The first runs on every run (marketd refuses before it connects); the others need the
 * PostgreSQL run of tests/run.sh (MARKETD_ENGINE=postgresql, TEST_PG_URL) and say they are
 * skipped without it. The rest of the engine's contract is the whole marketd integration
 * suite, which run.sh runs on both engines.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/pgtest.h"
#include "tests/lib/proc.h"
#include "tests/lib/testsrv.h"

/* The migration lock's key (marketd/store_pg_schema.c, MIGRATE_LOCK). */
#define MIGRATE_LOCK "x'6462656b6465736b'::bigint"

/* Skips the running test (saying why) unless this is the PostgreSQL run. */
#define NEED_PG()                                                                                  \
    do {                                                                                           \
        if (!pgtest_engine() || !pgtest_cluster()) {                                               \
            print_message("skipped: needs the PostgreSQL run of tests/run.sh\n");                  \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* Runs marketd with args (shell words) to its exit, stderr into errfile: its exit code. */
static int run_marketd(const char *args, const char *errfile)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "timeout 20 \"%s\" %s >/dev/null 2>\"%s\"", getenv("MARKETD_BIN"),
             args, errfile);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A scratch file's path under TEST_TMP into out[600]. */
static void scratch(char *out, const char *name)
{
    const char *tmp = getenv("TEST_TMP");
    snprintf(out, 600, "%s/%s.%ld", tmp && *tmp ? tmp : "/tmp", name, (long)getpid());
}

/* The first row's first value of sql on the database of url into out (size bytes).
 * 0 or -1. */
static int pg_value(const char *url, const char *sql, char *out, size_t size)
{
    PGconn *c = PQconnectdb(url);
    PGresult *r = PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;
    int rc = r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 ? 0 : -1;
    if (rc == 0)
        snprintf(out, size, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    return rc;
}

static void test_url_with_password_refused(void **state)
{
    (void)state;
    static const char *const urls[] = {
        "postgresql://market:hunter2secret@127.0.0.1:1/market",
        "postgresql://market@127.0.0.1:1/market?password=hunter2secret",
        "postgres://market:hunter2secret@127.0.0.1:1/market",
    };
    char err[600], args[1024], buf[2048];
    scratch(err, "pw.err");
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        snprintf(args, sizeof args, "--listen 127.0.0.1:0 --db '%s'", urls[i]);
        assert_int_equal(run_marketd(args, err), 1);
        assert_true(tproc_slurp(err, buf, sizeof buf) > 0);
        assert_non_null(strstr(buf, "the database URL holds a password"));
        assert_non_null(strstr(buf, "PGPASSWORD"));
        assert_null(strstr(buf, "hunter2secret")); /* never the password itself */
    }
    unlink(err);
}

/* Starts marketd on database url, listening on a free port, its stdout into out: the
 * pid (killed when this test process dies). */
static pid_t start_marketd(const char *url, const char *out)
{
    pid_t parent = getpid(), pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent || !freopen(out, "w", stdout))
            _exit(127);
        const char *bin = getenv("MARKETD_BIN");
        execl(bin, bin, "--listen", "127.0.0.1:0", "--db", url, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Waits (up to 30 s) for marketd's listening line in out; its health's epoch into
 * epoch[64]. */
static void wait_healthy(const char *out, char *epoch)
{
    char buf[1024], url[128];
    const char *tag = "listening on http://127.0.0.1:", *at = NULL;
    for (int i = 0; i < 1500 && !at; i++) {
        if (tproc_slurp(out, buf, sizeof buf) > 0)
            at = strstr(buf, tag);
        if (!at)
            tproc_nap(20);
    }
    assert_non_null(at);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/health", atoi(at + strlen(tag)));
    testhttp_resp r;
    assert_int_equal(testhttp("GET", url, NULL, NULL, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_true(testjson_str(r.body, "epoch", epoch, 64));
    testhttp_resp_free(&r);
}

/* The test holds the migration lock while two marketd start on one new database: both
 * are seen waiting for it (so they overlap, whatever the machine's speed); once it is
 * let go, both come up, on one schema and one seed. */
static void test_two_start_together(void **state)
{
    (void)state;
    NEED_PG();
    char url[512], out[2][600], epoch[2][64], v[32];
    assert_int_equal(pgtest_create(url, sizeof url), 0);
    PGconn *lock = PQconnectdb(url);
    assert_int_equal(PQstatus(lock), CONNECTION_OK);
    PQclear(PQexec(lock, "BEGIN"));
    PGresult *r = PQexec(lock, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK ")");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
    pid_t pid[2];
    for (int i = 0; i < 2; i++) {
        char name[24];
        snprintf(name, sizeof name, "two%d.out", i);
        scratch(out[i], name);
        pid[i] = start_marketd(url, out[i]);
    }
    /* both wait for the lock: the state, read off the server's lock table */
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM pg_locks WHERE locktype='advisory' AND NOT granted AND "
             "database=(SELECT oid FROM pg_database WHERE datname=current_database())");
    int waiting = 0;
    for (int i = 0; i < 1500 && waiting < 2; i++) {
        assert_int_equal(pg_value(url, sql, v, sizeof v), 0);
        if ((waiting = atoi(v)) < 2)
            tproc_nap(20);
    }
    assert_int_equal(waiting, 2);
    PQclear(PQexec(lock, "COMMIT"));
    PQfinish(lock);
    for (int i = 0; i < 2; i++)
        wait_healthy(out[i], epoch[i]);
    assert_string_equal(epoch[0], epoch[1]); /* seeded once */
    assert_int_equal(
        pg_value(url, "SELECT count(*)||':'||max(version) FROM marketd_schema", v, sizeof v), 0);
    assert_string_equal(v, "1:6"); /* 6: PostgreSQL's presence tables */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(tproc_stop_child(pid[i]), 0);
        unlink(out[i]);
    }
    pgtest_drop(url);
}

static void test_newer_schema_refused(void **state)
{
    (void)state;
    NEED_PG();
    testsrv s;
    assert_int_equal(testsrv_start(&s, NULL), 0); /* its database made at schema 6 */
    assert_int_equal(testsrv_terminate(&s), 0);
    assert_int_equal(pgtest_sql(s.db, "UPDATE marketd_schema SET version=7"), 1);
    char err[600], args[1024], buf[2048], v[32];
    scratch(err, "newer.err");
    snprintf(args, sizeof args, "--listen 127.0.0.1:0 --db '%s'", s.db);
    assert_int_equal(run_marketd(args, err), 1);
    assert_true(tproc_slurp(err, buf, sizeof buf) > 0);
    assert_non_null(strstr(buf, "database schema 7 is newer than this marketd (6)"));
    /* and left as it was */
    assert_int_equal(
        pg_value(s.db, "SELECT count(*)||':'||max(version) FROM marketd_schema", v, sizeof v), 0);
    assert_string_equal(v, "1:7");
    unlink(err);
    testsrv_stop(&s);
}

/* GET path on s as a supervisor: its status, and its body into body (size bytes). */
static long get_status(testsrv *s, const char *path, char *body, size_t size)
{
    testhttp_resp r;
    assert_int_equal(testsrv_get(s, TESTSRV_TOKEN_SUP1, path, &r), 0);
    snprintf(body, size, "%s", r.body ? r.body : "");
    long status = r.status;
    testhttp_resp_free(&r);
    return status;
}

/* A search of a kind the SQLite engine keeps no search table for (disputes: their text
 * is in objects.st only) is answered as any other's; a read the database fails is a 503
 * whose message says what failed (a column taken away under the running marketd), and
 * the list answers again once the column is back. */
static void test_search_and_a_failed_read(void **state)
{
    (void)state;
    NEED_PG();
    testsrv s;
    char body[1024];
    assert_int_equal(testsrv_start(&s, NULL), 0);
    assert_int_equal(get_status(&s, "/v1/disputes?q=pur_", body, sizeof body), 200);
    assert_true(pgtest_sql(s.db, "ALTER TABLE objects RENAME COLUMN st TO st_gone") >= 0);
    assert_int_equal(get_status(&s, "/v1/disputes?q=pur_", body, sizeof body), 503);
    assert_non_null(strstr(body, "\"message\":\"database: ERROR:  column o.st does not exist"));
    assert_true(pgtest_sql(s.db, "ALTER TABLE objects RENAME COLUMN st_gone TO st") >= 0);
    assert_int_equal(get_status(&s, "/v1/disputes?q=pur_", body, sizeof body), 200);
    testsrv_stop(&s);
}

/* The password of the role marketd_pw (made here; tests/run.sh makes the cluster ask it). */
#define PW "pw-5d1c9e0a7b3f42e8"

static void test_password_from_the_environment(void **state)
{
    (void)state;
    NEED_PG();
    char url[512], admin[512], sql[512], out[600], err[600], buf[2048], epoch[64], v[32];
    snprintf(sql, sizeof sql,
             "DO $$BEGIN CREATE ROLE marketd_pw LOGIN PASSWORD '%s'; EXCEPTION WHEN "
             "duplicate_object THEN NULL; END$$",
             PW);
    assert_int_equal(pgtest_create(admin, sizeof admin), 0);
    assert_true(pgtest_sql(admin, sql) >= 0);
    const char *name = strrchr(admin, '/') + 1;
    snprintf(sql, sizeof sql, "ALTER DATABASE %s OWNER TO marketd_pw", name);
    assert_true(pgtest_sql(admin, sql) >= 0);
    snprintf(url, sizeof url, "postgresql://marketd_pw@%s", strchr(admin, '@') + 1);
    /* without the password: refused, and says why */
    scratch(err, "pw-none.err");
    snprintf(buf, sizeof buf, "--listen 127.0.0.1:0 --db '%s'", url);
    unsetenv("PGPASSWORD");
    assert_int_equal(run_marketd(buf, err), 1);
    assert_true(tproc_slurp(err, buf, sizeof buf) > 0);
    assert_non_null(strstr(buf, "cannot connect to the database"));
    assert_non_null(strstr(buf, "password"));
    /* with it in the environment: up, on its own database */
    scratch(out, "pw.out");
    setenv("PGPASSWORD", PW, 1);
    pid_t pid = start_marketd(url, out);
    unsetenv("PGPASSWORD");
    wait_healthy(out, epoch);
    assert_int_equal(pg_value(admin,
                              "SELECT count(*) FROM pg_indexes WHERE indexname='objects_search'", v,
                              sizeof v),
                     0);
    assert_string_equal(v, "1");
    assert_int_equal(tproc_stop_child(pid), 0);
    unlink(out);
    unlink(err);
    pgtest_drop(admin);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_with_password_refused),
        cmocka_unit_test(test_two_start_together),
        cmocka_unit_test(test_newer_schema_refused),
        cmocka_unit_test(test_password_from_the_environment),
        cmocka_unit_test(test_search_and_a_failed_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
