/* test_text.c: the sanitiser against the hostile corpus and hand-picked cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/text.h"
#include "tests/lib/hostile.h"
#include "tests/lib/text_invariants.h"

/* Sanitises a C string in mode and returns the result (caller frees). */
static text_safe san(const char *in, size_t len, text_mode mode)
{
    text_safe t;
    assert_int_equal(text_sanitize(in, len, mode, &t), 0);
    const char *why = text_invariants(&t, mode);
    if (why)
        fail_msg("invariant broken for input \"%s\": %s", in, why);
    return t;
}

/* Output with marks replaced by '[' and ']' so that expectations read easily. */
static char *visible(const text_safe *t)
{
    char *v = strdup(t->s);
    for (char *p = v; *p; p++) {
        if (*p == TEXT_MARK_ON)
            *p = '[';
        else if (*p == TEXT_MARK_OFF)
            *p = ']';
    }
    return v;
}

/* Sanitises in (UTF-8 mode) and compares the visible form and flags. */
static void expect(const char *in, const char *want, unsigned want_flags, int want_width)
{
    text_safe t = san(in, strlen(in), TEXT_UTF8);
    char *v = visible(&t);
    if (strcmp(v, want) != 0)
        fail_msg("sanitize(\"%s\") = \"%s\", want \"%s\"", in, v, want);
    if (t.flags != want_flags)
        fail_msg("sanitize(\"%s\") flags %#x, want %#x", in, t.flags, want_flags);
    if (want_width >= 0 && t.width != want_width)
        fail_msg("sanitize(\"%s\") width %d, want %d", in, t.width, want_width);
    free(v);
    text_safe_free(&t);
}

static void test_plain_text_unchanged(void **state)
{
    (void)state;
    expect("Road bike, 54cm, barely used", "Road bike, 54cm, barely used", 0, 28);
    expect("中古自転車・ほぼ新品", "中古自転車・ほぼ新品", 0, 20);
    expect("Heart \u2764\ufe0f", "Heart \u2764", 0, 7); /* FE0F dropped */
    expect("caf\u00e9 cafe\u0301", "caf\u00e9 cafe\u0301", 0, 9);
    expect("%s%s%n%x%p", "%s%s%n%x%p", 0, 10);
    expect("", "", 0, 0);
}

static void test_controls_become_pictures(void **state)
{
    (void)state;
    expect("Road bike\x1b[2J\x1b[HAPPROVED", "Road bike[␛][2J[␛][HAPPROVED", TEXT_F_ESCAPE, 24);
    expect("Total: $9,999.00\rTotal: $9.00", "Total: $9,999.00[␍]Total: $9.00", TEXT_F_C0, -1);
    expect("abc\x7f"
           "def",
           "abc[␡]def", TEXT_F_DEL, 7);
    expect("Ring\x07", "Ring[␇]", TEXT_F_C0, 5);
}

static void test_c1_raw_and_codepoint(void **state)
{
    (void)state;
    expect("Lamp\x9b"
           "2J",
           "Lamp[\\x9B]2J", TEXT_F_C1 | TEXT_F_INVALID_UTF8, 10);
    expect("Lamp\xc2\x9b"
           "31mRED",
           "Lamp[<U+009B>]31mRED", TEXT_F_C1, -1);
    expect("one\xc2\x85two", "one[<U+0085>]two", TEXT_F_C1, -1);
}

static void test_invisible_and_bidi(void **state)
{
    (void)state;
    expect("a\u202egpj.exe", "a[<U+202E>]gpj.exe", TEXT_F_BIDI, -1);
    expect("Ap\u200bple", "Ap[<U+200B>]ple", TEXT_F_INVISIBLE, -1);
    expect("Pay\u00adPal", "Pay[<U+00AD>]Pal", TEXT_F_INVISIBLE, -1);
    expect("x\U000E0049", "x[<U+E0049>]", TEXT_F_TAG, -1);
    expect("\ue000", "[<U+E000>]", TEXT_F_PRIVATE, -1);
    expect("\ufdd0", "[<U+FDD0>]", TEXT_F_UNASSIGNED, -1);
    expect("one\u2028two", "one[<U+2028>]two", TEXT_F_SEPARATOR, -1);
    expect("ok\ufe0f", "ok[<U+FE0F>]", TEXT_F_VARIATION, -1); /* no symbol before it */
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    expect("bad\xc0\xaf", "bad[\\xC0][\\xAF]", TEXT_F_INVALID_UTF8, -1);
    expect("bad\xed\xa0\x80", "bad[\\xED][\\xA0][\\x80]", TEXT_F_INVALID_UTF8 | TEXT_F_C1, -1);
    expect("cut\xe2\x82", "cut[\\xE2][\\x82]", TEXT_F_INVALID_UTF8 | TEXT_F_C1, -1);
    expect("big\xf4\x90\x80\x80", "big[\\xF4][\\x90][\\x80][\\x80]",
           TEXT_F_INVALID_UTF8 | TEXT_F_C1, -1);
    /* A NUL inside is shown, not a terminator. */
    text_safe t = san("before\0after", 12, TEXT_UTF8);
    char *v = visible(&t);
    assert_string_equal(v, "before[␀]after");
    free(v);
    text_safe_free(&t);
}

static void test_combining_bounded(void **state)
{
    (void)state;
    /* Z with 10 marks keeps two; a leading mark has no base and becomes a placeholder. */
    expect("Z\u0301\u0302\u0303\u0304\u0305\u0306\u0307\u0308\u0309\u030a", "Z\u0301\u0302",
           TEXT_F_COMBINING, 1);
    expect("\u0301x", "[<U+0301>]x", TEXT_F_COMBINING, 9);
    /* After a placeholder there is no base either. */
    expect("\x1b\u0301", "[␛][<U+0301>]", TEXT_F_ESCAPE | TEXT_F_COMBINING, 9);
}

static void test_ascii_mode(void **state)
{
    (void)state;
    text_safe t =
        san("Road\x1b[2J caf\u00e9 \u202e", strlen("Road\x1b[2J caf\u00e9 \u202e"), TEXT_ASCII);
    char *v = visible(&t);
    assert_string_equal(v, "Road[^[][2J caf? [<U+202E>]");
    assert_int_equal(t.flags, TEXT_F_ESCAPE | TEXT_F_BIDI);
    free(v);
    text_safe_free(&t);
}

/* Every case of the hostile corpus: invariants in both modes, and every case but the
 * harmless ones must be flagged. */
static void test_hostile_corpus(void **state)
{
    (void)state;
    hostile_case *cases;
    int n = hostile_load(NULL, &cases);
    assert_true(n >= 40);
    const char *harmless[] = {"plain",           "wide_cjk",  "emoji_vs16",
                              "confusable_name", "long_line", "printf_format"};
    for (int i = 0; i < n; i++) {
        for (int m = 0; m < 2; m++) {
            text_mode mode = m ? TEXT_ASCII : TEXT_UTF8;
            text_safe t;
            assert_int_equal(text_sanitize(cases[i].bytes, cases[i].len, mode, &t), 0);
            const char *why = text_invariants(&t, mode);
            if (why)
                fail_msg("case %s (%s mode): %s", cases[i].name, m ? "ascii" : "utf8", why);
            bool is_harmless = false;
            for (size_t h = 0; h < sizeof harmless / sizeof harmless[0]; h++)
                is_harmless |= strcmp(cases[i].name, harmless[h]) == 0;
            if (mode == TEXT_UTF8 && !is_harmless && !(t.flags & TEXT_F_HIDDEN_MASK) &&
                !(t.flags & (TEXT_F_PRIVATE | TEXT_F_UNASSIGNED)))
                fail_msg("case %s was not flagged", cases[i].name);
            if (mode == TEXT_UTF8 && is_harmless && t.flags)
                fail_msg("harmless case %s was flagged %#x", cases[i].name, t.flags);
            assert_int_equal(text_scan(cases[i].bytes, cases[i].len) & ~TEXT_F_UNASSIGNED,
                             t.flags & ~TEXT_F_UNASSIGNED);
            text_safe_free(&t);
        }
    }
    hostile_free(cases, n);
}

/* Cutting to N columns never splits a character or a placeholder and marks the cut. */
static void test_truncate(void **state)
{
    (void)state;
    char out[128];
    assert_int_equal(text_truncate("hello", 10, TEXT_UTF8, out, sizeof out), 5);
    assert_string_equal(out, "hello");
    assert_int_equal(text_truncate("hello world", 6, TEXT_UTF8, out, sizeof out), 6);
    assert_string_equal(out, "hello…");
    assert_int_equal(text_truncate("hello world", 6, TEXT_ASCII, out, sizeof out), 6);
    assert_string_equal(out, "hello~");
    /* A wide character that would straddle the edge is left out. */
    int w = text_truncate("中古自転車", 4, TEXT_UTF8, out, sizeof out);
    assert_string_equal(out, "中…");
    assert_int_equal(w, 3);
    /* A placeholder is whole or absent. */
    text_safe t = san("ab\u202ecd", strlen("ab\u202ecd"), TEXT_UTF8);
    w = text_truncate(t.s, 6, TEXT_UTF8, out, sizeof out);
    assert_string_equal(out, "ab…");
    assert_int_equal(w, 3);
    text_safe_free(&t);
    assert_int_equal(text_truncate("abc", 0, TEXT_UTF8, out, sizeof out), 0);
    assert_string_equal(out, "");

    /* Every cut of every corpus case keeps the invariants and the width promise. */
    hostile_case *cases;
    int n = hostile_load(NULL, &cases);
    for (int i = 0; i < n; i++) {
        text_safe s = san(cases[i].bytes, cases[i].len, TEXT_UTF8);
        for (int cols = 1; cols <= s.width + 1; cols++) {
            char cut[4096];
            int cw = text_truncate(s.s, cols, TEXT_UTF8, cut, sizeof cut);
            text_safe view = {cut, strlen(cut), cw, 0, 0};
            const char *why = text_invariants(&view, TEXT_UTF8);
            if (why || cw > cols)
                fail_msg("cut of %s to %d: %s (width %d)", cases[i].name, cols,
                         why ? why : "too wide", cw);
        }
        text_safe_free(&s);
    }
    hostile_free(cases, n);
}

static void test_strip_and_describe(void **state)
{
    (void)state;
    text_safe t = san("a\x1b[1mb", 6, TEXT_UTF8);
    char out[64];
    text_strip_marks(t.s, out, sizeof out);
    assert_string_equal(out, "a␛[1mb");
    text_strip_marks(t.s, out, 3); /* would split ␛: dropped whole */
    assert_string_equal(out, "a");
    text_flags_describe(t.flags | TEXT_F_BIDI, out, sizeof out);
    assert_string_equal(out, "escape sequence, bidi controls");
    text_safe_free(&t);
}

static void test_valid_id(void **state)
{
    (void)state;
    assert_true(text_valid_id("pur_8f2k", "pur_"));
    assert_true(text_valid_id("a-B_9", NULL));
    assert_false(text_valid_id("pur_8f2k", "neg_"));
    assert_false(text_valid_id("", NULL));
    assert_false(text_valid_id("pur_../x", NULL));
    assert_false(text_valid_id("pur 1", NULL));
    assert_false(text_valid_id("pur_\xc3\xa9", NULL));
    char long_id[70];
    memset(long_id, 'a', 65);
    long_id[65] = '\0';
    assert_false(text_valid_id(long_id, NULL));
    long_id[64] = '\0';
    assert_true(text_valid_id(long_id, NULL));
}

/* Random bytes: the invariants hold whatever comes in (a quick cousin of the fuzzer). */
static void test_random_bytes(void **state)
{
    (void)state;
    uint64_t x = 0x9E3779B97F4A7C15ull;
    unsigned char buf[256];
    for (int round = 0; round < 20000; round++) {
        size_t len = 0;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        len = x % sizeof buf;
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[i] = (unsigned char)((x & 3) ? (x >> 8) : (0x20 + (x >> 8) % 0x60));
        }
        for (int m = 0; m < 2; m++) {
            text_mode mode = m ? TEXT_ASCII : TEXT_UTF8;
            text_safe t;
            assert_int_equal(text_sanitize((const char *)buf, len, mode, &t), 0);
            const char *why = text_invariants(&t, mode);
            if (why)
                fail_msg("round %d: %s", round, why);
            text_safe_free(&t);
        }
    }
}

/* text_utf8_fit: a cut never leaves half a character, whatever its length. */
static void test_utf8_fit(void **state)
{
    (void)state;
    const char *s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"; /* a é € 😀: 1+2+3+4 bytes */
    static const size_t want[] = {0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10};
    for (size_t n = 0; n <= 10; n++)
        assert_int_equal(text_utf8_fit(s, n), want[n]);
    assert_int_equal(text_utf8_fit("plain", 3), 3);
    assert_int_equal(text_utf8_fit("\x80\x80", 2), 2); /* no lead byte: left as it is */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_text_unchanged),
        cmocka_unit_test(test_controls_become_pictures),
        cmocka_unit_test(test_c1_raw_and_codepoint),
        cmocka_unit_test(test_invisible_and_bidi),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_combining_bounded),
        cmocka_unit_test(test_ascii_mode),
        cmocka_unit_test(test_hostile_corpus),
        cmocka_unit_test(test_truncate),
        cmocka_unit_test(test_strip_and_describe),
        cmocka_unit_test(test_valid_id),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_utf8_fit),
    };
    return cmocka_run_group_tests_name("text", tests, NULL, NULL);
}
