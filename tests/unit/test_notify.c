/* test_notify.c: the console's escalation text (tui/notify.c, issue 16): a desktop
 * notification (OSC 777, OSC 9) built from the program's own words and hostile network
 * text holds no control byte, no ESC, no BEL but its own terminator, no ';' inside a
 * field, and is bounded; the terminal title's text for the pending count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tui/ui.h"

/* Asserts that seq is exactly prefix, then fields of clean text separated by nseps ';',
 * then one BEL at the very end. */
static void assert_clean_osc(const char *seq, size_t len, const char *prefix, int nseps)
{
    size_t pl = strlen(prefix);
    assert_true(len > pl);
    assert_memory_equal(seq, prefix, pl);
    assert_int_equal(seq[len - 1], '\a');
    int seps = 0;
    for (size_t i = pl; i + 1 < len; i++) {
        unsigned char c = (unsigned char)seq[i];
        assert_true(c >= 0x20 && c != 0x7f);
        seps += c == ';';
    }
    assert_int_equal(seps, nseps);
    /* no C1 code point (U+0080..U+009F as UTF-8: C2 80..C2 9F) */
    for (size_t i = 0; i + 1 < len; i++)
        assert_false((unsigned char)seq[i] == 0xC2 && (unsigned char)seq[i + 1] >= 0x80 &&
                     (unsigned char)seq[i + 1] <= 0x9F);
}

static const char hostile[] = "evil\033]0;pwned\a title\r\n; rm -rf;\x9b"
                              "31m\xc2\x9b"
                              "2J\x01mark\x02 end";

static void test_osc777_hostile(void **state)
{
    (void)state;
    char seq[1024];
    size_t n = notify_osc(seq, sizeof seq, CONFIG_NOTIFY_OSC777, "dealdesk; critical\033", hostile,
                          TEXT_UTF8);
    assert_int_equal(n, strlen(seq));
    /* "notify" ; TITLE ; BODY: exactly the two separators of the format */
    assert_clean_osc(seq, n, "\033]777;notify;", 1);
    assert_non_null(strstr(seq, ";dealdesk critical"));
    assert_non_null(strstr(seq, "evil"));
    assert_non_null(strstr(seq, " end"));
    assert_null(strstr(seq, "\033]0"));
}

static void test_osc9_hostile(void **state)
{
    (void)state;
    char seq[1024];
    size_t n = notify_osc(seq, sizeof seq, CONFIG_NOTIFY_OSC9, "dealdesk", hostile, TEXT_ASCII);
    assert_clean_osc(seq, n, "\033]9;", 0);
    for (size_t i = 0; i < n; i++)
        assert_true((unsigned char)seq[i] < 0x80); /* ASCII mode: ASCII only */
    assert_non_null(strstr(seq, "dealdesk: evil"));
}

/* 10 KB of text (hostile bytes and multi-byte characters) comes out bounded, cut on a
 * character boundary. */
static void test_bounded(void **state)
{
    (void)state;
    size_t big = 10 * 1024;
    char *in = malloc(big + 1);
    assert_non_null(in);
    for (size_t i = 0; i < big; i++)
        in[i] = "a\xc3\xa9\033;\a\n"[i % 7]; /* a, é, ESC, ;, BEL, newline */
    in[big] = '\0';
    char seq[4096];
    size_t n = notify_osc(seq, sizeof seq, CONFIG_NOTIFY_OSC777, in, in, TEXT_UTF8);
    assert_true(n > 0);
    assert_true(n <= strlen("\033]777;notify;;\a") + 2 * (NOTIFY_TEXT_MAX - 1));
    assert_clean_osc(seq, n, "\033]777;notify;", 1);
    char out[NOTIFY_TEXT_MAX];
    size_t len = notify_clean(in, out, sizeof out, TEXT_UTF8);
    assert_true(len > 0 && len < NOTIFY_TEXT_MAX);
    assert_int_equal(text_utf8_fit(out, len), len); /* no half character at the cut */
    free(in);
    /* off: nothing at all */
    assert_int_equal(notify_osc(seq, sizeof seq, CONFIG_NOTIFY_OFF, "a", "b", TEXT_UTF8), 0);
    /* a buffer too small: nothing rather than half a sequence */
    assert_int_equal(notify_osc(seq, 8, CONFIG_NOTIFY_OSC777, "a", "b", TEXT_UTF8), 0);
}

static void test_title_text(void **state)
{
    (void)state;
    char t[96];
    notify_title_text(3, 1, TEXT_UTF8, t, sizeof t);
    assert_string_equal(t, "dealdesk \xc2\xb7 3 pending \xc2\xb7 1 critical");
    notify_title_text(0, 0, TEXT_ASCII, t, sizeof t);
    assert_string_equal(t, "dealdesk - 0 pending");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_osc777_hostile),
        cmocka_unit_test(test_osc9_hostile),
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_title_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
