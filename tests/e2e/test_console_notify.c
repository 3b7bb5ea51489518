/* test_console_notify.c: escalation at the terminal, opted in by the config file (issue
 * 16; tui/notify.c): against a real marketd, a new critical alert and a new pending
 * purchase bring an OSC 777 desktop notification with clean text, the terminal title
 * (OSC 2) shows the pending count, and the bell rings again every bell_repeat seconds
 * while the critical alert is open and stops once it is resolved. Every wait is for
 * bytes in the raw pty output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "tests/lib/e2e.h"
#include "tests/lib/proc.h"

#define WAIT_MS 15000

/* Where needle (bytes) first occurs in the captured output, or NULL. */
static const unsigned char *output_find(vt *t, const char *needle, size_t *rest)
{
    size_t len, nl = strlen(needle);
    const unsigned char *o = vt_output(t, &len);
    for (size_t i = 0; i + nl <= len; i++)
        if (memcmp(o + i, needle, nl) == 0) {
            if (rest)
                *rest = len - i;
            return o + i;
        }
    return NULL;
}

static bool has(vt *t, void *ud)
{
    return output_find(t, ud, NULL) != NULL;
}

/* Waits for needle in the raw output; on failure dumps the screen. */
static bool wait_bytes(vt *t, const char *needle)
{
    char copy[256];
    snprintf(copy, sizeof copy, "%s", needle);
    if (vt_wait(t, has, copy, WAIT_MS))
        return true;
    vt_dump(t, needle);
    return false;
}

/* BEL bytes that are the bell itself, not the end of an OSC string (ESC ] ... BEL). */
static size_t bells(vt *t)
{
    size_t len, n = 0;
    const unsigned char *o = vt_output(t, &len);
    bool osc = false;
    for (size_t i = 0; i < len; i++) {
        if (o[i] == 0x1b && i + 1 < len && o[i + 1] == ']')
            osc = true;
        else if (o[i] == '\a') {
            n += !osc;
            osc = false;
        }
    }
    return n;
}

static bool two_bells(vt *t, void *ud)
{
    (void)ud;
    return bells(t) >= 2;
}

/* The body of the first OSC 777 notification titled title: every byte up to its BEL is
 * printable (no ESC, no control), and it holds no ';' (the body is the last field). */
static void assert_clean_notification(vt *t, const char *title)
{
    char head[128];
    snprintf(head, sizeof head, "\033]777;notify;%s;", title);
    size_t rest;
    const unsigned char *p = output_find(t, head, &rest);
    assert_non_null(p);
    size_t i = strlen(head);
    for (; i < rest && p[i] != '\a'; i++)
        assert_true(p[i] >= 0x20 && p[i] != 0x7f && p[i] != ';');
    assert_true(i < rest); /* terminated */
    assert_true(i - strlen(head) < 200);
}

static void test_notify_title_bell_repeat(void **state)
{
    e2e_market *m = *state;
    char dir[900], path[1000];
    snprintf(dir, sizeof dir, "%s/notifycfg", getenv("TEST_TMP"));
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/dealdesk", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/dealdesk/config", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("bell_repeat = 1\nnotify = osc777\ntitle = on\n", f);
    fclose(f);
    char env_cfg[1000];
    snprintf(env_cfg, sizeof env_cfg, "XDG_CONFIG_HOME=%s", dir);
    const char *env[] = {env_cfg, "LANG=C.UTF-8", "LC_ALL=C.UTF-8", NULL};
    vt *t = e2e_dealdesk(m, 24, 80, m->sup1_file, NULL, env);
    assert_non_null(t);
    assert_true(e2e_wait(t, "FLEET RUNNING", WAIT_MS));
    assert_true(wait_bytes(t, "\033]2;dealdesk \xc2\xb7 0 pending\a"));

    /* an off-mandate purchase: pending, and a critical alert */
    char pur[65], neg[65];
    assert_int_equal(e2e_purchase(m, "GPU hours", "compute", 100, 1, pur, neg), 0);
    assert_true(wait_bytes(t, "\033]777;notify;dealdesk critical alert;"));
    char want[200];
    snprintf(want, sizeof want,
             "\033]777;notify;dealdesk purchase waiting;%s waits for approval: ", pur);
    assert_true(wait_bytes(t, want));
    assert_clean_notification(t, "dealdesk critical alert");
    assert_clean_notification(t, "dealdesk purchase waiting");
    assert_true(wait_bytes(t, "\033]2;dealdesk \xc2\xb7 1 pending \xc2\xb7 "));
    assert_true(wait_bytes(t, " critical\a"));

    /* the bell again, twice, with nothing new arriving */
    vt_clear_output(t);
    if (!vt_wait(t, two_bells, NULL, WAIT_MS)) {
        vt_dump(t, "waiting for the repeated bell");
        fail();
    }

    /* vetoed: its alerts resolve, the title says so, and the bell stops */
    snprintf(path, sizeof path, "/v1/purchases/%s/veto", pur);
    assert_int_equal(e2e_decide(m, TESTSRV_TOKEN_SUP2, path, 1, "{\"reason\":\"not ours\"}"), 200);
    assert_true(wait_bytes(t, "\033]2;dealdesk \xc2\xb7 0 pending\a"));
    vt_clear_output(t);
    /* three repeat intervals with no bell: the negative needs its time, bounded */
    int64_t until = tproc_now_ms() + 3000;
    while (tproc_now_ms() < until)
        vt_pump(t, 100);
    assert_int_equal(bells(t), 0);

    vt_send(t, "q");
    assert_int_equal(vt_wait_exit(t, 5000), 0);
    /* at exit the title is cleared and the terminal's own restored */
    vt_pump(t, 200);
    assert_true(output_find(t, "\033]2;\a\033[23;0t", NULL) != NULL);
    vt_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_notify_title_bell_repeat),
    };
    return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
