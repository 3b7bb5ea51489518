/* test_console_demo.c: `dealdesk --demo` starts the bundled marketd (MARKETD_BIN) with a
 * simulated fleet on a free loopback port, attaches, shows the fleet trading, and on
 * quit stops marketd and removes its temporary folder (token files included). */
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
