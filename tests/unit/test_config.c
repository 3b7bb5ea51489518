/* test_config.c: precedence (flags, environment, file), the token file's checks (a FIFO
 * or a device refused at once), the file's syntax with file:line messages, bind lines,
 * NO_COLOR, the journal path, and the transport check (no token over plain http to a
 * host that is not loopback, decided from the URL alone: nothing is resolved). */
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

#include "api/config.h"

static char dir[512];

/* Writes text to dir/name with mode; returns the path (static buffer per call site). */
static const char *write_file(const char *name, const char *text, mode_t mode, char *out,
                              size_t size)
{
    snprintf(out, size, "%s/%s", dir, name);
    FILE *f = fopen(out, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(out, mode);
    return out;
}

static int setup(void **state)
{
    (void)state;
    const char *t = getenv("TEST_TMP");
    snprintf(dir, sizeof dir, "%s/config-test", t ? t : "/tmp");
    mkdir(dir, 0700);
    unsetenv("DEALDESK_URL");
    unsetenv("DEALDESK_TOKEN");
    unsetenv("NO_COLOR");
    return 0;
}

static void test_token_file(void **state)
{
    (void)state;
    config cfg;
    char p[600], err[512];
    config_init(&cfg);
    write_file("tok", "s3cret-abc\nsecond line ignored\n", 0600, p, sizeof p);
    assert_int_equal(config_read_token_file(&cfg, p, err, sizeof err), 0);
    assert_string_equal(cfg.token, "s3cret-abc");
    write_file("tok-open", "s3cret-open\n", 0640, p, sizeof p);
    config_init(&cfg);
    assert_int_equal(config_read_token_file(&cfg, p, err, sizeof err), -1);
    assert_non_null(strstr(err, "group or others"));
    assert_null(strstr(err, "s3cret-open"));
    assert_string_equal(cfg.token, "");
    write_file("tok-space", "s3cret with space\n", 0600, p, sizeof p);
    assert_int_equal(config_read_token_file(&cfg, p, err, sizeof err), -1);
    assert_null(strstr(err, "s3cret"));
    write_file("tok-empty", "\n", 0600, p, sizeof p);
    assert_int_equal(config_read_token_file(&cfg, p, err, sizeof err), -1);
    config_free(&cfg);
}

static void test_precedence_and_file(void **state)
{
    (void)state;
    config cfg;
    char p[600], tp[600], err[512];
    write_file("tok2", "file-token\n", 0600, tp, sizeof tp);
    char text[2048];
    snprintf(text, sizeof text,
             "# comment\n\nurl = http://file:1\ntoken_file = %s\ntheme = \"amber\"\n"
             "no_color = false\nread_only = yes\nheartbeat = 5\nbind x approve\n"
             "bind ^G  goto pending  \n",
             tp);
    write_file("cfg", text, 0600, p, sizeof p);
    config_init(&cfg);
    assert_int_equal(config_resolve(&cfg, p, err, sizeof err), 0);
    assert_string_equal(cfg.url, "http://file:1");
    assert_string_equal(cfg.token, "file-token");
    assert_string_equal(cfg.theme, "amber");
    assert_true(cfg.read_only);
    assert_int_equal(cfg.heartbeat_s, 5);
    assert_int_equal(cfg.nbinds, 2);
    assert_string_equal(cfg.binds[1].key, "^G");
    assert_string_equal(cfg.binds[1].action, "goto pending");
    assert_int_equal(cfg.binds[1].line, 10);
    config_free(&cfg);

    /* The environment beats the file; flags beat both. */
    setenv("DEALDESK_URL", "http://env:2/", 1);
    setenv("DEALDESK_TOKEN", "env-token", 1);
    setenv("NO_COLOR", "1", 1);
    config_init(&cfg);
    snprintf(cfg.theme, sizeof cfg.theme, "flag");
    cfg.set.theme = true;
    assert_int_equal(config_resolve(&cfg, p, err, sizeof err), 0);
    assert_string_equal(cfg.url, "http://env:2");
    assert_string_equal(cfg.token, "env-token");
    assert_string_equal(cfg.theme, "flag");
    assert_true(cfg.no_color);
    config_free(&cfg);
    unsetenv("DEALDESK_URL");
    unsetenv("DEALDESK_TOKEN");
    unsetenv("NO_COLOR");
}

static void test_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"url = x\ncolour = red\n", "cfg-bad:2: unknown setting \"colour\""},
        {"read_only = maybe\n", "cfg-bad:1: read_only must be true or false"},
        {"heartbeat = 0\n", "cfg-bad:1: heartbeat"},
        {"just words\n", "cfg-bad:1: expected"},
        {"bind x\n", "cfg-bad:1: bind needs"},
        {"token = abc\n", "cfg-bad:1: put the token in a file"},
        {"bell_repeat = often\n", "cfg-bad:1: bell_repeat must be off, on or seconds"},
        {"bell_repeat = 3601\n", "cfg-bad:1: bell_repeat must be"},
        {"notify = osc52\n", "cfg-bad:1: notify must be off, osc777 or osc9"},
        {"title = maybe\n", "cfg-bad:1: title must be on or off"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        config cfg;
        char p[600], err[512];
        config_init(&cfg);
        write_file("cfg-bad", cases[i].text, 0600, p, sizeof p);
        assert_int_equal(config_resolve(&cfg, p, err, sizeof err), -1);
        if (!strstr(err, cases[i].want))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].want);
        assert_null(strstr(err, "abc"));
        config_free(&cfg);
    }
    config cfg;
    char err[512], p[600];
    config_init(&cfg);
    snprintf(p, sizeof p, "%s/missing", dir);
    assert_int_equal(config_resolve(&cfg, p, err, sizeof err), -1);
    config_free(&cfg);
}

static void test_journal_path(void **state)
{
    (void)state;
    config cfg;
    char out[600];
    config_init(&cfg);
    setenv("XDG_STATE_HOME", "/x/state", 1);
    assert_int_equal(config_journal_path(&cfg, out, sizeof out), 0);
    assert_string_equal(out, "/x/state/dealdesk/journal");
    unsetenv("XDG_STATE_HOME");
    setenv("HOME", "/home/op", 1);
    assert_int_equal(config_journal_path(&cfg, out, sizeof out), 0);
    assert_string_equal(out, "/home/op/.local/state/dealdesk/journal");
    config_free(&cfg);
}

/* A FIFO (open() would wait for a writer forever) and a device are refused at once. */
static void test_token_file_not_regular(void **state)
{
    (void)state;
    char fifo[600], err[512];
    snprintf(fifo, sizeof fifo, "%s/token.fifo", dir);
    unlink(fifo);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    config cfg;
    config_init(&cfg);
    assert_int_equal(config_read_token_file(&cfg, fifo, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a regular file"));
    assert_int_equal(config_read_token_file(&cfg, "/dev/null", err, sizeof err), -1);
    assert_non_null(strstr(err, "not a regular file"));
    assert_string_equal(cfg.token, "");
    config_free(&cfg);
    unlink(fifo);
}

/* The check from the URL alone: which host it names, whether it is loopback, and what
 * --insecure-http changes. */
static void test_transport_check(void **state)
{
    (void)state;
    char host[256], msg[512];
    bool plain;
    assert_int_equal(
        config_url_host("http://user:p@ss@example.invalid:80/x", &plain, host, sizeof host), 0);
    assert_true(plain);
    assert_string_equal(host, "example.invalid");
    assert_int_equal(config_url_host("HTTPS://[::1]:8642", &plain, host, sizeof host), 0);
    assert_false(plain);
    assert_string_equal(host, "::1");
    assert_int_equal(config_url_host("127.0.0.1:8642", &plain, host, sizeof host), -1);

    config cfg;
    config_init(&cfg);
    snprintf(cfg.token, sizeof cfg.token, "secret-token");
    static const struct {
        const char *url;
        int want;
    } cases[] = {
        {"http://127.0.0.1:8642", 0},
        {"http://127.9.9.9", 0},
        {"http://localhost:1/", 0},
        {"http://[::1]:8642", 0},
        {"http://[::ffff:127.0.0.1]/", 0},
        {"https://example.invalid", 0},
        {"http://example.invalid", -1},
        {"http://10.0.0.1:8642", -1},
        {"http://128.0.0.1", -1},
        {"http://[::2]:1", -1},
        {"http://127.0.0.1.example.invalid", -1},
        {"http://localhost@example.invalid/", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(cfg.url, sizeof cfg.url, "%s", cases[i].url);
        int got = config_check_transport(&cfg, msg, sizeof msg);
        if (got != cases[i].want)
            fail_msg("%s: %d, want %d (%s)", cases[i].url, got, cases[i].want, msg);
        assert_null(strstr(msg, "secret-token"));
    }
    snprintf(cfg.url, sizeof cfg.url, "http://example.invalid");
    assert_int_equal(config_check_transport(&cfg, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "example.invalid"));
    assert_non_null(strstr(msg, "--insecure-http"));
    cfg.insecure_http = true;
    assert_int_equal(config_check_transport(&cfg, msg, sizeof msg), 1);
    assert_non_null(strstr(msg, "warning"));
    /* Without a token there is nothing to leak. */
    cfg.insecure_http = false;
    cfg.token[0] = '\0';
    assert_int_equal(config_check_transport(&cfg, msg, sizeof msg), 0);
    config_free(&cfg);
}

/* Several URLs of one market (issue 18): the file's `url = A, B`, DEALDESK_URL=A,B or
 * --url given twice (tui/main.c joins them with a comma) become cfg->urls, the first in
 * cfg->url; an empty entry or too many are refused; the token's transport is checked
 * for every one of them. */
static void test_url_list(void **state)
{
    (void)state;
    config cfg;
    char p[600], err[512], msg[512];
    write_file("cfg-urls", "url = http://127.0.0.1:1/ ,  http://127.0.0.2:2//\n", 0600, p,
               sizeof p);
    config_init(&cfg);
    assert_int_equal(config_resolve(&cfg, p, err, sizeof err), 0);
    assert_int_equal(cfg.nurls, 2);
    assert_string_equal(cfg.urls[0], "http://127.0.0.1:1");
    assert_string_equal(cfg.urls[1], "http://127.0.0.2:2");
    assert_string_equal(cfg.url, "http://127.0.0.1:1");
    config_free(&cfg);

    setenv("DEALDESK_URL", "http://127.0.0.3:3,http://127.0.0.4:4", 1);
    config_init(&cfg);
    assert_int_equal(config_resolve(&cfg, p, err, sizeof err), 0);
    assert_int_equal(cfg.nurls, 2);
    assert_string_equal(cfg.urls[1], "http://127.0.0.4:4");
    /* one URL: as before */
    snprintf(cfg.url, sizeof cfg.url, "http://127.0.0.5:5/");
    assert_int_equal(config_split_urls(&cfg, err, sizeof err), 0);
    assert_int_equal(cfg.nurls, 1);
    assert_string_equal(cfg.url, "http://127.0.0.5:5");
    /* refused: an empty entry, more than CONFIG_URLS_MAX */
    snprintf(cfg.url, sizeof cfg.url, "http://127.0.0.1:1,,http://127.0.0.1:2");
    assert_int_equal(config_split_urls(&cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, "empty URL"));
    snprintf(cfg.url, sizeof cfg.url, "%s",
             "a://h,a://h,a://h,a://h,a://h,a://h,a://h,a://h,a://h");
    assert_int_equal(config_split_urls(&cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, "at most 8"));
    /* the token may not go in clear to the second one either */
    snprintf(cfg.token, sizeof cfg.token, "secret-token");
    snprintf(cfg.url, sizeof cfg.url, "http://127.0.0.1:1,http://example.invalid:2");
    assert_int_equal(config_split_urls(&cfg, err, sizeof err), 0);
    assert_int_equal(config_check_transport(&cfg, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "example.invalid"));
    config_free(&cfg);
    unsetenv("DEALDESK_URL");
}

/* The escalation keys (issue 16): all off by default; bell_repeat = on|off|SECONDS,
 * notify = osc777|osc9|off, title = on|off. */
static void test_escalation_keys(void **state)
{
    (void)state;
    config cfg;
    char p[600], err[512];
    config_init(&cfg);
    assert_int_equal(cfg.bell_repeat_s, 0);
    assert_int_equal(cfg.notify, CONFIG_NOTIFY_OFF);
    assert_false(cfg.title);
    config_free(&cfg);
    static const struct {
        const char *text;
        int repeat;
        config_notify notify;
        bool title;
    } cases[] = {
        {"bell_repeat = on\nnotify = osc777\ntitle = on\n", CONFIG_BELL_REPEAT_DEFAULT_S,
         CONFIG_NOTIFY_OSC777, true},
        {"bell_repeat = 5\nnotify = osc9\ntitle = off\n", 5, CONFIG_NOTIFY_OSC9, false},
        {"bell_repeat = 1\nnotify = off\n", 1, CONFIG_NOTIFY_OFF, false},
        {"bell_repeat = 0\n", 0, CONFIG_NOTIFY_OFF, false},
        {"bell_repeat = off\n", 0, CONFIG_NOTIFY_OFF, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_file("cfg-esc", cases[i].text, 0600, p, sizeof p);
        config_init(&cfg);
        assert_int_equal(config_resolve(&cfg, p, err, sizeof err), 0);
        assert_int_equal(cfg.bell_repeat_s, cases[i].repeat);
        assert_int_equal(cfg.notify, cases[i].notify);
        assert_int_equal(cfg.title, cases[i].title);
        config_free(&cfg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_token_file, setup),
        cmocka_unit_test_setup(test_precedence_and_file, setup),
        cmocka_unit_test_setup(test_errors, setup),
        cmocka_unit_test_setup(test_journal_path, setup),
        cmocka_unit_test_setup(test_token_file_not_regular, setup),
        cmocka_unit_test_setup(test_transport_check, setup),
        cmocka_unit_test_setup(test_url_list, setup),
        cmocka_unit_test_setup(test_escalation_keys, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
