/* test_widgets.c: the logic of widgets/ (table layout and scrolling, sparkline, bars,
 * word wrap), what they draw into a curses window of a screen written to /dev/null
 * (numbers never cut, boxes cover their cells), and the stream checker of tests/lib/vt
 * that the e2e tests rely on. */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <cmocka.h>

#include "tests/lib/vt.h"
#include "widgets/widgets.h"

/* Columns drop by their drop order; the flex column takes what is left. */
static void test_layout_drops_by_priority(void **state)
{
    (void)state;
    const widget_column cols[] = {
        {"A", 10, 0, false, false, 0, false}, {"B", 10, 1, false, false, 0, false},
        {"C", 10, 0, false, true, 0, false},  {"D", 10, 3, false, false, 0, false},
        {"E", 10, 2, false, false, 0, false},
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
    const widget_column capped[] = {{"A", 10, 0, false, false, 0, false},
                                    {"B", 10, 0, false, true, 20, false},
                                    {"C", 10, 0, false, false, 0, false}};
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

/* The spend sparkline sums adjacent spans into a column (none is lost to resampling),
 * scales from zero, and leaves a span without spend blank. */
static void test_sparkline_sum(void **state)
{
    (void)state;
    char out[128];
    widget_set_mode(TEXT_UTF8);
    int64_t spend[24] = {0};
    spend[0] = 100; /* one span of the first column: the largest once summed with spend[1] */
    spend[1] = 300;
    spend[23] = 200; /* the last column: half of the first */
    assert_int_equal(widget_sparkline_sum(spend, 24, 12, out, sizeof out), 12);
    assert_string_equal(out, "█          ▄");
    int64_t none[24] = {0};
    assert_int_equal(widget_sparkline_sum(none, 24, 12, out, sizeof out), 12);
    assert_string_equal(out, "            ");
    widget_set_mode(TEXT_ASCII);
    int64_t flat[3] = {5, 5, 5};
    assert_int_equal(widget_sparkline_sum(flat, 3, 10, out, sizeof out), 3);
    assert_string_equal(out, "^^^");
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

/* ---- drawing into a real curses window ------------------------------------------- */

static SCREEN *screen;
static FILE *screen_out, *screen_in;

/* A curses screen writing to /dev/null: windows to draw into and read back. */
static int curses_setup(void **state)
{
    (void)state;
    screen_out = fopen("/dev/null", "w");
    screen_in = fopen("/dev/null", "r");
    if (!screen_out || !screen_in)
        return -1;
    screen = newterm("xterm-256color", screen_out, screen_in);
    return screen ? 0 : -1;
}

static int curses_teardown(void **state)
{
    (void)state;
    endwin();
    delscreen(screen);
    fclose(screen_out);
    fclose(screen_in);
    return 0;
}

/* Row y of w as UTF-8 (wide characters once). */
static void row_text(WINDOW *w, int y, char *out, size_t size)
{
    wchar_t wbuf[512] = {0};
    wmove(w, y, 0);
    winnwstr(w, wbuf, 511);
    size_t n = wcstombs(out, wbuf, size - 1);
    out[n == (size_t)-1 ? 0 : n] = '\0';
}

/* Writes s at (y, x) without any of the widgets' rules (what lies under a box). */
static void under(WINDOW *w, int y, int x, const char *s)
{
    wattrset(w, A_NORMAL);
    mvwaddstr(w, y, x, s);
}

typedef struct num_rows {
    const char *cells[3][4];
} num_rows;

/* A table's cells from num_rows. */
static void num_cell(void *ud, size_t row, int col, char *buf, size_t size, unsigned long *attr)
{
    (void)attr;
    snprintf(buf, size, "%s", ((num_rows *)ud)->cells[row][col]);
}

/* A quantity of 13,333 and an amount of $20,000,000.00 are drawn whole at every width:
 * their columns (5 and 12 wide as defined) grow and the text columns give way. */
static void test_table_never_cuts_numbers(void **state)
{
    (void)state;
    const widget_column cols[] = {
        {"BUYER", 10, 1, false, false, 0, false},
        {"ITEM", 12, 0, false, true, 48, false},
        {"QTY", 5, 0, true, false, 0, true},
        {"TOTAL", 12, 0, true, false, 0, true},
    };
    num_rows rows = {{
        {"Fable shopper-12", "Surly Long Haul Trucker touring bike", "13,333", "$1.00"},
        {"Juno shopper-6", "Bike", "1", "$20,000,000.00"},
        {"Juno shopper-6", "Bike", "10", "$5.00"},
    }};
    const int widths[] = {40, 60, 80, 120, 200};
    for (size_t i = 0; i < sizeof widths / sizeof widths[0]; i++) {
        WINDOW *w = newwin(6, widths[i], 0, 0);
        assert_non_null(w);
        widget_table t = {.nrows = 3};
        widget_table_place(&t, 6, cols, 4, num_cell, &rows);
        widget_table_draw(w, 0, 0, widths[i], 6, &t, cols, 4, num_cell, NULL, &rows);
        char r1[2048], r2[2048];
        row_text(w, 1, r1, sizeof r1);
        row_text(w, 2, r2, sizeof r2);
        if (!strstr(r1, "13,333") || !strstr(r2, "$20,000,000.00"))
            fprintf(stderr, "at %d:\n%s\n%s\n", widths[i], r1, r2);
        assert_non_null(strstr(r1, "13,333"));
        assert_non_null(strstr(r2, "$20,000,000.00"));
        if (widths[i] >= 120) /* room: the text columns show their values whole too */
            assert_non_null(strstr(r1, "Fable shopper-12 Surly Long Haul Trucker touring bike"));
        delwin(w);
    }
    /* the layout itself: a number column is as wide as its widest value */
    int widest[4] = {16, 36, 6, 14}, out[4];
    assert_int_equal(widget_table_layout_fit(cols, 4, widest, 79, out), 4);
    assert_int_equal(out[2], 6);
    assert_int_equal(out[3], 14);
    assert_int_equal(out[0] + out[1] + out[2] + out[3] + 3, 79);
    /* a column of numbers that may drop stays while the flex text can shrink instead */
    const widget_column agents[] = {
        {"AGENT", 12, 0, false, false, 0, false},
        {"NAME", 12, 0, false, true, 30, false},
        {"SPEND / CAP", 15, 1, false, false, 0, true},
    };
    int aw[3] = {12, 20, 16};
    assert_int_equal(widget_table_layout_fit(agents, 3, aw, 41, out), 3);
    assert_int_equal(out[2], 16);
    assert_int_equal(out[1], 11);
    assert_int_equal(widget_table_layout_fit(agents, 3, aw, 30, out), 2); /* no room: drops */
    assert_int_equal(out[2], 0);
    /* a wide screen widens the text columns to their widest value */
    assert_int_equal(widget_table_layout_fit(cols, 4, widest, 199, out), 4);
    assert_int_equal(out[0], 16);
    assert_true(out[1] >= 36);
}

/* Where text must be cut, the cut never falls inside a number: the number gives way
 * whole ("total …", never "total $20,0…" or "13,3…"). */
static void test_text_cut_before_numbers(void **state)
{
    (void)state;
    WINDOW *w = newwin(3, 40, 0, 0);
    assert_non_null(w);
    char row[512];
    widget_text(w, 0, 0, 12, "total $20,000.00 USD", A_NORMAL);
    row_text(w, 0, row, sizeof row);
    assert_int_equal(strncmp(row, "total …", strlen("total …")), 0);
    werase(w);
    widget_text(w, 0, 0, 5, "13,333", A_NORMAL);
    row_text(w, 0, row, sizeof row);
    assert_int_equal(strncmp(row, "…", strlen("…")), 0);
    assert_null(strstr(row, "13"));
    werase(w);
    widget_text(w, 0, 0, 14, "unit is 7,907% of", A_NORMAL); /* never "7,907…" for 7,907% */
    row_text(w, 0, row, sizeof row);
    assert_int_equal(strncmp(row, "unit is …", strlen("unit is …")), 0);
    werase(w);
    widget_text(w, 0, 0, 10, "Atlas shopper-8", A_NORMAL); /* a name is cut as before */
    row_text(w, 0, row, sizeof row);
    assert_int_equal(strncmp(row, "Atlas sho…", strlen("Atlas sho…")), 0);
    werase(w);
    widget_text(w, 0, 0, 20, "1 × $20,000.00 = $20,000.00", A_NORMAL);
    row_text(w, 0, row, sizeof row);
    assert_int_equal(strncmp(row, "1 × $20,000.00 = …", strlen("1 × $20,000.00 = …")), 0);
    delwin(w);
}

/* A bar never claims more than its share: 0.1% of ten cells is no block at all, 99.9%
 * is not a full bar, and halves are exact. */
static void test_bar_rounding(void **state)
{
    (void)state;
    char out[128];
    widget_set_mode(TEXT_UTF8);
    assert_int_equal(widget_bar_eighths(10, 1, 1000), 0);
    widget_bar_str(10, 1, 1000, out, sizeof out);
    assert_null(strstr(out, "█"));
    assert_string_equal(out, "░░░░░░░░░░");
    assert_int_equal(widget_bar_eighths(10, 500, 1000), 40);
    assert_int_equal(widget_bar_eighths(10, 999, 1000), 79);
    assert_int_equal(widget_bar_eighths(10, 1000, 1000), 80);
    assert_int_equal(widget_bar_eighths(10, 2000, 1000), 80);
    assert_int_equal(widget_bar_eighths(10, 0, 1000), 0);
    assert_int_equal(widget_bar_eighths(10, 5, 0), 0);
    assert_int_equal(widget_bar_eighths(10, 25, 1000), 2); /* 2.5%: a quarter cell */
    widget_bar_str(10, 25, 1000, out, sizeof out);
    assert_string_equal(out, "▎░░░░░░░░░");
    widget_set_mode(TEXT_ASCII);
    assert_int_equal(widget_bar_eighths(10, 1, 1000), 0);
    assert_int_equal(widget_bar_eighths(10, 140, 1000), 8); /* whole cells only */
    assert_int_equal(widget_bar_eighths(10, 999, 1000), 72);
    widget_bar_str(10, 999, 1000, out, sizeof out);
    assert_string_equal(out, "#########.");
    widget_set_mode(TEXT_UTF8);
}

/* Word wrap breaks at spaces, keeps numbers and placeholders whole, and breaks a word
 * longer than a line between characters (nothing is ever dropped). */
static void test_wrap(void **state)
{
    (void)state;
    const char *s = "deal max $1,000.00 and reference $277.00";
    size_t next, off = 0;
    char lines[8][64];
    int n = 0;
    while (s[off] && n < 8) {
        size_t len = widget_wrap(s + off, 12, &next);
        snprintf(lines[n++], sizeof lines[0], "%.*s", (int)len, s + off);
        off += next;
    }
    assert_int_equal(n, 5);
    assert_string_equal(lines[4], "$277.00");
    assert_string_equal(lines[0], "deal max");
    assert_string_equal(lines[1], "$1,000.00");
    assert_string_equal(lines[2], "and");
    assert_string_equal(lines[3], "reference");
    assert_int_equal(widget_wrap_count(s, 12, 12), 5);
    assert_int_equal(widget_wrap_count(s, 200, 200), 1);
    assert_int_equal(widget_wrap_count("", 10, 10), 1);
    /* a long word is broken, not cut */
    assert_int_equal(widget_wrap("abcdefghij", 4, &next), 4);
    assert_int_equal(next, 4);
    assert_int_equal(widget_wrap_count("abcdefghij", 4, 4), 3);
    /* a placeholder stays whole: "ab" then the marked "<U+202E>" */
    const char marked[] = "ab \x01<U+202E>\x02 cd";
    size_t len = widget_wrap(marked, 9, &next);
    assert_int_equal(len, 2);
    len = widget_wrap(marked + next, 9, &next);
    assert_int_equal(len, strlen("\x01<U+202E>\x02"));
    /* wide characters count two columns */
    assert_int_equal(widget_wrap("漢字漢字", 5, &next), strlen("漢字"));
}

/* A box covers its cells and leaves no fragment of the text underneath glued to its
 * edges (the "┘00" and "│54" of issue 12), wide characters included; a line wider than
 * the box wraps, every word of it inside the box. */
static void test_dialog_covers_and_wraps(void **state)
{
    (void)state;
    WINDOW *w = newwin(24, 80, 0, 0);
    assert_non_null(w);
    for (int y = 0; y < 24; y++) {
        if (y % 2) /* wide characters at both parities: some straddle the box's edges */
            under(
                w, y, y % 4 == 1 ? 0 : 1,
                "漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字");
        else
            under(w, y, y % 4 ? 1 : 0,
                  "$1,200.00 $1,200.00 $1,200.00 $1,200.00 $1,200.00 "
                  "$1,200.00 $1,200.00 $1,200.00 $1,200.00");
    }
    const char *lines[] = {
        "Fable shopper-12 buys 13,333 × Surly Long Haul Trucker touring bike from Rook "
        "seller-7 for Jonas Reyes",
        "13,333 × $1.50 = total $19,999.50 USD · 1 critical flag",
        "",
        "Approve this?   y yes    N no (default)",
    };
    int top = widget_dialog(w, "Approve pur_1 (version 1)", lines, 4, 60);
    char row[2048];
    int seen_seller = 0, seen_total = 0, bottom = -1;
    for (int y = 0; y < 24; y++) {
        row_text(w, y, row, sizeof row);
        if (strstr(row, "seller-7") || strstr(row, "Jonas Reyes"))
            seen_seller++;
        if (strstr(row, "total $19,999.50 USD"))
            seen_total++;
        if (strstr(row, "┘"))
            bottom = y;
        if (y < top || (bottom >= 0 && y > bottom))
            continue;
        /* beside the box: only whole tokens of what was underneath, or blanks */
        char *l = strstr(row, y == top ? "┌" : bottom == y ? "└" : "│");
        char *r = strstr(row, y == top ? "┐" : bottom == y ? "┘" : "│ ");
        assert_non_null(l);
        if (y != top && bottom != y) { /* the right edge: the last "│" */
            r = l + 1;
            for (char *p = strstr(l + 1, "│"); p; p = strstr(p + 1, "│"))
                r = p;
        }
        assert_non_null(r);
        *l = '\0';
        char *after = r + strlen("│");
        for (char *tok = strtok(row, " "); tok; tok = strtok(NULL, " "))
            if (strcmp(tok, "$1,200.00") != 0 && strspn(tok, "漢字") != strlen(tok))
                fail_msg("row %d left of the box holds a fragment \"%s\"", y, tok);
        if (*after && *after != ' ')
            fail_msg("row %d: \"%s\" glued to the box's right edge", y, after);
        for (char *tok = strtok(after, " "); tok; tok = strtok(NULL, " "))
            if (strcmp(tok, "$1,200.00") != 0 && strspn(tok, "漢字") != strlen(tok))
                fail_msg("row %d right of the box holds a fragment \"%s\"", y, tok);
    }
    assert_true(bottom > top + 5); /* the long line wrapped: more rows than lines */
    assert_int_equal(seen_seller, 1);
    assert_int_equal(seen_total, 1);
    delwin(w);
}

int main(void)
{
    setlocale(LC_ALL, "C.UTF-8");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_drops_by_priority),
        cmocka_unit_test(test_table_scrolling),
        cmocka_unit_test(test_sparkline),
        cmocka_unit_test(test_sparkline_sum),
        cmocka_unit_test(test_glyphs_ascii),
        cmocka_unit_test(test_stream_checker),
        cmocka_unit_test(test_bar_rounding),
        cmocka_unit_test(test_wrap),
    };
    const struct CMUnitTest drawn[] = {
        cmocka_unit_test(test_table_never_cuts_numbers),
        cmocka_unit_test(test_text_cut_before_numbers),
        cmocka_unit_test(test_dialog_covers_and_wraps),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    return failed + cmocka_run_group_tests(drawn, curses_setup, curses_teardown);
}
