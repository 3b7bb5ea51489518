/* test_client_hygiene.c: dealdesk's network hygiene (issue 11, items 13-15), tested
 * without connecting anywhere.
 *
 * - A token is never sent over plain http:// to a host that is not loopback: every
 *   command refuses such a URL before any connection (the message names the host and
 *   --insecure-http; no DNS lookup is made: the refusal comes first, with its own words,
 *   not a resolver's); --insecure-http lets it through with a warning on stderr.
 * - A token file that is a FIFO or a device is refused at once (open() used to block
 *   forever on a FIFO).
 * - DEL (0x7f) and C1 controls are escaped in the JSON that tail and snapshot print
 *   (jansson's JSON_ENSURE_ASCII leaves DEL raw): both go through json_print_*.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/json.h"
#include "tests/lib/proc.h"

typedef struct run_result {
    int status;
    char out[4096];
    char err[4096];
} run_result;

/* Runs $DEALDESK_BIN with args (10 s at most: nothing here may wait on a network). */
static run_result run(const char *const *args)
{
    run_result r = {0};
    char op[600], ep[600];
    snprintf(op, sizeof op, "%s/hyg.out", getenv("TEST_TMP"));
    snprintf(ep, sizeof ep, "%s/hyg.err", getenv("TEST_TMP"));
    r.status = tproc_wait_child(tproc_spawn_dealdesk(args, op, ep), 10000);
    if (r.status < 0)
        fail_msg("dealdesk did not finish in 10 s");
    tproc_slurp(op, r.out, sizeof r.out);
    tproc_slurp(ep, r.err, sizeof r.err);
    return r;
}

/* A 0600 token file; returns its path (static). */
static const char *token_file(void)
{
    static char path[600];
    snprintf(path, sizeof path, "%s/hyg-token", getenv("TEST_TMP"));
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("hygiene-secret-token-1234\n", f);
    fclose(f);
    chmod(path, 0600);
    return path;
}

/* Tests only ever talk to loopback: should the refusal below ever regress, libcurl would
 * go through this proxy, a closed loopback port, rather than to the address in the URL
 * (and the proxy resolves names, so no name is looked up here either). */
static void contain_to_loopback(void)
{
    static const char *const vars[] = {"ALL_PROXY",  "all_proxy",   "HTTP_PROXY",
                                       "http_proxy", "HTTPS_PROXY", "https_proxy"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        setenv(vars[i], "http://127.0.0.1:9", 1);
    unsetenv("NO_PROXY");
    unsetenv("no_proxy");
}

static void test_plain_http_refused_before_connecting(void **state)
{
    (void)state;
    contain_to_loopback();
    const char *tok = token_file();
    const char *const cmds[][4] = {{"snapshot", NULL},
                                   {"tail", NULL},
                                   {"halt", "--reason", "x", NULL},
                                   {"approve", "pur_1", NULL}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        const char *args[10] = {"--url", "http://example.invalid:8642", "--token-file", tok};
        size_t n = 4;
        for (size_t k = 0; cmds[i][k]; k++)
            args[n++] = cmds[i][k];
        args[n] = NULL;
        run_result r = run(args);
        if (r.status != 2 || !strstr(r.err, "refusing to send the token over plain http://") ||
            !strstr(r.err, "example.invalid") || !strstr(r.err, "--insecure-http"))
            fail_msg("%s: exit %d: %s", cmds[i][0], r.status, r.err);
        /* Its own words, before any connection: not a resolver's or curl's. */
        assert_null(strstr(r.err, "resolve"));
        assert_null(strstr(r.err, "hygiene-secret-token"));
    }
    /* The environment's URL and the config file's are checked the same way. */
    setenv("DEALDESK_URL", "http://192.0.2.1:8642", 1);
    const char *env_args[] = {"--token-file", tok, "snapshot", NULL};
    run_result r = run(env_args);
    unsetenv("DEALDESK_URL");
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "192.0.2.1"));
    /* --insecure-http: allowed, with a warning (the usage error after it keeps this test
     * from connecting anywhere). */
    const char *ins[] = {
        "--url", "http://example.invalid", "--token-file", tok, "--insecure-http", "tail", "extra",
        NULL};
    r = run(ins);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "warning: --insecure-http"));
    assert_non_null(strstr(r.err, "tail takes no arguments"));
    /* An abbreviation is not the flag. */
    const char *abbr[] = {
        "--url", "http://example.invalid", "--token-file", tok, "--insecure", "snapshot", NULL};
    r = run(abbr);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "unknown option"));
}

static void test_token_file_fifo_refused_at_once(void **state)
{
    (void)state;
    char fifo[600];
    snprintf(fifo, sizeof fifo, "%s/hyg-fifo", getenv("TEST_TMP"));
    unlink(fifo);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    const char *args[] = {"--url", "http://127.0.0.1:1", "--token-file", fifo, "snapshot", NULL};
    run_result r = run(args); /* before: blocked in open() until killed */
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "not a regular file"));
    const char *dev[] = {"--url",     "http://127.0.0.1:1", "--token-file",
                         "/dev/zero", "snapshot",           NULL};
    r = run(dev);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "not a regular file"));
    unlink(fifo);
}

/* Prints through f into a string (the bytes exactly). */
static void printed(int (*fn)(FILE *, const char *, size_t), const char *raw, char *out,
                    size_t size)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(fn(f, raw, strlen(raw)), 0);
    rewind(f);
    size_t n = fread(out, 1, size - 1, f);
    out[n] = '\0';
    fclose(f);
}

static void test_del_and_c1_escaped(void **state)
{
    (void)state;
    /* DEL raw in a value and a key, U+0085 (C1 NEL) and U+009B (CSI) as UTF-8. */
    const char *ev = "{\"seq\":1,\"type\":\"listing.updated\",\"at\":\"x\",\"data\":"
                     "{\"title\":\"a\x7f"
                     "b\xc2\x85"
                     "c\xc2\x9b"
                     "31m\",\"k\x7f\":1}}";
    char out[1024];
    int (*const fns[])(FILE *, const char *, size_t) = {json_print_event, json_print_ascii};
    for (size_t i = 0; i < 2; i++) {
        printed(fns[i], ev, out, sizeof out);
        for (const unsigned char *p = (const unsigned char *)out; *p; p++)
            if ((*p < 0x20 && *p != '\n') || *p >= 0x7f)
                fail_msg("byte 0x%02x printed raw in %s", *p, out);
        if (!strstr(out, "a\\u007Fb\\u0085c\\u009B31m"))
            fail_msg("printed: %s", out);
        assert_non_null(strstr(out, "\"k\\u007F\":1"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_http_refused_before_connecting),
        cmocka_unit_test(test_token_file_fifo_refused_at_once),
        cmocka_unit_test(test_del_and_c1_escaped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
