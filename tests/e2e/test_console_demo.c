/* test_console_demo.c: `dealdesk --demo` starts the bundled marketd (MARKETD_BIN) with a
 * simulated fleet on a free loopback port, says where it is (URL, token file, a `dealdesk
 * tail` line to paste: before the screen takes over, on the first status line and in the
 * help), attaches, shows the fleet trading, and on quit stops marketd and removes its
 * temporary folder (token files included). */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "tests/lib/proc.h"
#include "tests/lib/vt.h"

#define WAIT_MS 20000

/* Counts the entries of a folder (-1 when it cannot be read). */
static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

/* Finds the demo folder under tmp and checks its token files are 0600. */
static bool demo_dir_private(const char *tmp)
{
    DIR *d = opendir(tmp);
    if (!d)
        return false;
    struct dirent *e;
    bool ok = false;
    while ((e = readdir(d)))
        if (strncmp(e->d_name, "dealdesk-demo.", 14) == 0) {
            char p[1400];
            struct stat st;
            snprintf(p, sizeof p, "%s/%s/token", tmp, e->d_name);
            ok = stat(p, &st) == 0 && (st.st_mode & 077) == 0;
            snprintf(p, sizeof p, "%s/%s/tokens", tmp, e->d_name);
            ok = ok && stat(p, &st) == 0 && (st.st_mode & 077) == 0;
        }
    closedir(d);
    return ok;
}

/* The token file path the demo printed ("supervisor token file: PATH"), or "". */
static void printed_token_file(vt *t, char *out, size_t size)
{
    size_t len;
    const unsigned char *o = vt_output(t, &len);
    static const char key[] = "supervisor token file: ";
    out[0] = '\0';
    for (size_t i = 0; i + sizeof key - 1 <= len; i++)
        if (memcmp(o + i, key, sizeof key - 1) == 0) {
            size_t j = i + sizeof key - 1, n = 0;
            while (j < len && o[j] != '\r' && o[j] != '\n' && n + 1 < size)
                out[n++] = (char)o[j++];
            out[n] = '\0';
            return;
        }
}

/* The URL the demo printed ("dealdesk --url URL "), or "". */
static void printed_url(vt *t, char *out, size_t size)
{
    size_t len;
    const unsigned char *o = vt_output(t, &len);
    static const char key[] = "dealdesk --url ";
    out[0] = '\0';
    for (size_t i = 0; i + sizeof key - 1 <= len; i++)
        if (memcmp(o + i, key, sizeof key - 1) == 0) {
            size_t j = i + sizeof key - 1, n = 0;
            while (j < len && o[j] != ' ' && o[j] != '\r' && o[j] != '\n' && n + 1 < size)
                out[n++] = (char)o[j++];
            out[n] = '\0';
            return;
        }
}

/* True when the raw output holds needle. */
static bool output_has(vt *t, const char *needle)
{
    size_t len, nl = strlen(needle);
    const unsigned char *o = vt_output(t, &len);
    for (size_t i = 0; i + nl <= len; i++)
        if (memcmp(o + i, needle, nl) == 0)
            return true;
    return false;
}

static void test_demo_runs_and_cleans_up(void **state)
{
    (void)state;
    char tmp[1024], envtmp[1100];
    snprintf(tmp, sizeof tmp, "%s/demo-tmp", getenv("TEST_TMP"));
    mkdir(tmp, 0700);
    snprintf(envtmp, sizeof envtmp, "TMPDIR=%s", tmp);
    const char *argv[] = {getenv("DEALDESK_BIN"), "--demo", "--seed", "5", NULL};
    const char *env[] = {envtmp, "LANG=C.UTF-8", "LC_ALL=C.UTF-8", NULL};
    vt *t = vt_spawn(30, 100, argv, env);
    assert_non_null(t);
    assert_true(vt_wait_text(t, "FLEET RUNNING", WAIT_MS));
    assert_true(vt_wait_text(t, "live", WAIT_MS));
    assert_true(vt_wait_text(t, "127.0.0.1:", WAIT_MS));
    assert_true(demo_dir_private(tmp));
    /* it said where its market is and how to reach it from another terminal */
    char tokf[1200], line[1400];
    printed_token_file(t, tokf, sizeof tokf);
    struct stat st;
    if (!tokf[0] || strncmp(tokf, tmp, strlen(tmp)) != 0 || stat(tokf, &st) != 0 ||
        (st.st_mode & 077) != 0)
        fail_msg("the demo's printed token file '%s' is not its private token file", tokf);
    assert_true(output_has(t, "dealdesk --url http://127.0.0.1:"));
    snprintf(line, sizeof line, "--token-file %s tail", tokf);
    assert_true(output_has(t, line));
    assert_true(vt_wait_text(t, "demo token file: ", WAIT_MS)); /* the first status line */
    vt_send(t, "?"); /* and the help screen, while it runs */
    char help[1300];
    snprintf(help, sizeof help, "token file  %s", tokf);
    if (!vt_wait_text(t, help, WAIT_MS)) {
        vt_dump(t, "the help screen");
        fail_msg("the help does not say '%s'", help);
    }
    vt_send(t, "\033");
    assert_true(vt_wait_text(t, "FLEET RUNNING", WAIT_MS));
    /* its market runs the default policy set (marketd --default-policies) */
    char url[200], op[1200], ep[1200], pols[4096];
    printed_url(t, url, sizeof url);
    snprintf(op, sizeof op, "%s/policies.out", getenv("TEST_TMP"));
    snprintf(ep, sizeof ep, "%s/policies.err", getenv("TEST_TMP"));
    const char *pargs[] = {"--url", url, "--token-file", tokf, "policies", "list", NULL};
    assert_int_equal(tproc_wait_child(tproc_spawn_dealdesk(pargs, op, ep), 30000), 0);
    tproc_slurp(op, pols, sizeof pols);
    assert_non_null(strstr(pols, "enabled  live        10  review  flagged-to-a-person"));
    assert_non_null(strstr(pols, "small-clean-books"));
    /* the fleet trades: threads appear */
    vt_send(t, "2");
    if (!vt_wait_text(t, "neg_", WAIT_MS))
        vt_dump(t, "demo threads");
    assert_true(vt_contains(t, "neg_"));
    vt_send(t, "q");
    assert_int_equal(vt_wait_exit(t, 10000), 0);
    vt_free(t);
    assert_int_equal(entries(tmp), 0); /* marketd stopped, folder removed */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo_runs_and_cleans_up),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
