/* test_widgets.c: the curses-free logic of widgets/ (table layout and scrolling,
 * sparkline) and the stream checker of tests/lib/vt that the e2e tests rely on. */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tests/lib/vt.h"
#include "widgets/widgets.h"

/* Columns drop by their drop order; the flex column takes what is left. */
static void test_layout_drops_by_priority(void **state)
{
    (void)state;
    const widget_column cols[] = {
        {"A", 10, 0, false, false, 0}, {"B", 10, 1, false, false, 0}, {"C", 10, 0, false, true, 0},
        {"D", 10, 3, false, false, 0}, {"E", 10, 2, false, false, 0},
    };
    int w[5];
    assert_int_equal(widget_table_layout(cols, 5, 100, w), 5);
    assert_int_equal(w[0] + w[1] + w[2] + w[3] + w[4] + 4, 100); /* flex grew */
    assert_int_equal(widget_table_layout(cols, 5, 40, w), 3);    /* D then E dropped */
    assert_int_equal(w[3], 0);
    assert_int_equal(w[4], 0);
    assert_true(w[1] > 0);
    assert_int_equal(widget_table_layout(cols, 5, 25, w), 2); /* B too */
    assert_int_equal(w[0] + w[2] + 1, 25);
    assert_int_equal(widget_table_layout(cols, 5, 12, w), 2); /* flex shrinks, never below 1 */
    assert_true(w[2] >= 1);
    /* a flex column with a maximum leaves the rest of a wide screen to the last column */
    const widget_column capped[] = {{"A", 10, 0, false, false, 0},
                                    {"B", 10, 0, false, true, 20},
                                    {"C", 10, 0, false, false, 0}};
    assert_int_equal(widget_table_layout(capped, 3, 200, w), 3);
    assert_int_equal(w[1], 20);
    assert_int_equal(w[0] + w[1] + w[2] + 2, 200);
}

/* Moving keeps the selection in range and visible: 100,000 rows cost nothing. */
static void test_table_scrolling(void **state)
{
    (void)state;
    widget_table t = {.nrows = 100000, .page = 20};
    widget_table_move(&t, 1);
    assert_int_equal(t.sel, 1);
    assert_int_equal(t.top, 0);
    widget_table_move(&t, 25);
    assert_int_equal(t.sel, 26);
    assert_int_equal(t.top, 7);
    widget_table_move(&t, 1000000);
    assert_int_equal(t.sel, 99999);
    assert_int_equal(t.top, 99980);
    widget_table_move(&t, -1000000);
    assert_int_equal(t.sel, 0);
    assert_int_equal(t.top, 0);
    t.nrows = 5; /* rows vanished under the selection */
    t.sel = 50;
    widget_table_clamp(&t);
    assert_int_equal(t.sel, 4);
    t.nrows = 0;
    widget_table_clamp(&t);
    assert_int_equal(t.sel, 0);
}

/* The sparkline follows the values, resamples long series, and has an ASCII form. */
static void test_sparkline(void **state)
{
    (void)state;
    int64_t v[] = {1500, 1400, 1300, 1250, 1250};
    char out[128];
    widget_set_mode(TEXT_UTF8);
    assert_int_equal(widget_sparkline(v, 5, 20, out, sizeof out), 5);
    assert_string_equal(out, "█▅▂▁▁");
    widget_set_mode(TEXT_ASCII);
    assert_int_equal(widget_sparkline(v, 5, 20, out, sizeof out), 5);
    assert_string_equal(out, "^~.__");
    for (const char *p = out; *p; p++)
        assert_true((unsigned char)*p < 0x80);
    int64_t many[1000];
    for (int i = 0; i < 1000; i++)
        many[i] = i;
    assert_int_equal(widget_sparkline(many, 1000, 10, out, sizeof out), 10);
    assert_int_equal(out[0], '_');
    assert_int_equal(out[9], '^');
    int64_t flat[] = {7, 7, 7};
    assert_int_equal(widget_sparkline(flat, 3, 10, out, sizeof out), 3);
    assert_int_equal(widget_sparkline(flat, 0, 10, out, sizeof out), 0);
    assert_string_equal(out, "");
    widget_set_mode(TEXT_UTF8);
}

/* Glyphs have an ASCII form made only of ASCII. */
static void test_glyphs_ascii(void **state)
{
    (void)state;
    widget_set_mode(TEXT_ASCII);
    for (int g = 0; g < GLYPH_COUNT; g++)
        for (const char *p = widget_glyph_str((widget_glyph)g); *p; p++)
            assert_true((unsigned char)*p < 0x80 && (unsigned char)*p >= 0x20);
    widget_set_mode(TEXT_UTF8);
}

/* The checker the e2e tests trust: it passes curses' sequences and catches the rest. */
static void test_stream_checker(void **state)
{
    (void)state;
    const char *good = "\033[?1049h\033[1;1H\033[0;1mdealdesk\033[39;49m\033(B\033[m\r\n"
                       "\xe2\x96\xb6 ok \xe2\x90\x9b";
    assert_null(vt_check_stream((const unsigned char *)good, strlen(good), false));
    const char *bad[] = {
        "\033]0;title\007",     /* OSC */
        "\033]52;c;Zm9v\033\\", /* clipboard */
        "x\007",                /* BEL */
        "\033P1$r\033\\",       /* DCS */
        "a\x9b"
        "31m", /* raw C1 CSI (invalid UTF-8) */
        "\xc2\x9b"
        "2J",      /* C1 as a UTF-8 code point */
        "\x7f",    /* DEL */
        "\033[12", /* cut CSI */
        "\x0e",    /* SO without allow_shift */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *why = vt_check_stream((const unsigned char *)bad[i], strlen(bad[i]), false);
        if (!why)
            fprintf(stderr, "not caught: case %zu\n", i);
        assert_non_null(why);
    }
    assert_null(vt_check_stream((const unsigned char *)"\x0e"
                                                       "q\x0f",
                                3, true));
}

int main(void)
{
    setlocale(LC_ALL, "C.UTF-8");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_drops_by_priority),
        cmocka_unit_test(test_table_scrolling),
        cmocka_unit_test(test_sparkline),
        cmocka_unit_test(test_glyphs_ascii),
        cmocka_unit_test(test_stream_checker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
