/* test_money.c: parsing operator-typed amounts and formatting minor units. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api/money.h"

/* Asserts that text parses for currency into want. */
static void ok(const char *text, const char *cur, int64_t want)
{
    int64_t got = -1;
    money_err e = money_parse(text, cur, &got);
    if (e != MONEY_OK || got != want)
        fail_msg("parse(\"%s\", %s): err %d (%s), got %lld, want %lld", text, cur, e,
                 money_strerror(e), (long long)got, (long long)want);
}

/* Asserts that text fails to parse with err, leaving the output untouched. */
static void bad(const char *text, const char *cur, money_err err)
{
    int64_t got = 424242;
    money_err e = money_parse(text, cur, &got);
    if (e != err)
        fail_msg("parse(\"%s\", %s): err %d, want %d", text, cur, e, err);
    assert_int_equal(got, 424242);
}

static void test_parse_usd(void **state)
{
    (void)state;
    ok("1,234.56", "USD", 123456);
    ok("1234", "USD", 123400);
    ok("0.5", "USD", 50);
    ok(".5", "USD", 50);
    ok("12.", "USD", 1200);
    ok("  $12.50 ", "USD", 1250);
    ok("USD 7", "USD", 700);
    ok("7.01 USD", "USD", 701);
    ok("0", "USD", 0);
    ok("1,000,000", "USD", 100000000);
    ok("10000000000000.00", "USD", 1000000000000000LL); /* exactly the maximum */
}

static void test_parse_exponents(void **state)
{
    (void)state;
    ok("1,234", "JPY", 1234);
    ok("¥500", "JPY", 500);
    bad("1.5", "JPY", MONEY_TOO_MANY_DECIMALS);
    ok("1.234", "KWD", 1234);
    ok("0.001", "KWD", 1);
    bad("1.2345", "KWD", MONEY_TOO_MANY_DECIMALS);
    ok("€3.10", "EUR", 310);
}

static void test_parse_errors(void **state)
{
    (void)state;
    bad("", "USD", MONEY_EMPTY);
    bad("   ", "USD", MONEY_EMPTY);
    bad(NULL, "USD", MONEY_EMPTY);
    bad("-5", "USD", MONEY_NEGATIVE);
    bad("$-5", "USD", MONEY_NEGATIVE);
    bad("1.234", "USD", MONEY_TOO_MANY_DECIMALS);
    bad("12.500", "USD", MONEY_TOO_MANY_DECIMALS); /* no silent rounding, even of zeros */
    bad("1,23.00", "USD", MONEY_BAD_GROUPING);
    bad("1234,567", "USD", MONEY_BAD_GROUPING);
    bad("1,2345", "USD", MONEY_BAD_GROUPING);
    bad(",123", "USD", MONEY_BAD_GROUPING);
    bad("1,", "USD", MONEY_BAD_GROUPING);
    bad("12abc", "USD", MONEY_GARBAGE);
    bad("1e3", "USD", MONEY_GARBAGE);
    bad("0x10", "USD", MONEY_GARBAGE);
    bad(".", "USD", MONEY_GARBAGE);
    bad("1.2.3", "USD", MONEY_GARBAGE);
    bad("12 34", "USD", MONEY_GARBAGE);
    bad("+5", "USD", MONEY_GARBAGE);
    bad("€5", "USD", MONEY_SYMBOL_MISMATCH);
    bad("5", "XYZ", MONEY_UNKNOWN_CURRENCY);
    bad("5", NULL, MONEY_UNKNOWN_CURRENCY);
    bad("10000000000000.01", "USD", MONEY_OVERFLOW);
    bad("99999999999999999999999999", "USD", MONEY_OVERFLOW);
    bad("9223372036854775807", "JPY", MONEY_OVERFLOW);
}

/* Formats and compares. */
static void fmt(int64_t minor, const char *cur, unsigned flags, const char *want)
{
    char buf[64];
    size_t n = money_format(buf, sizeof buf, minor, cur, flags);
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
}

static void test_format(void **state)
{
    (void)state;
    fmt(1250000, "USD", MONEY_FMT_SYMBOL, "$12,500.00");
    fmt(1250000, "USD", MONEY_FMT_SYMBOL | MONEY_FMT_CODE, "$12,500.00 USD");
    fmt(1250000, "USD", 0, "12,500.00");
    fmt(1250000, "USD", MONEY_FMT_NOGROUP, "12500.00");
    fmt(5, "USD", 0, "0.05");
    fmt(0, "USD", MONEY_FMT_SYMBOL, "$0.00");
    fmt(-1250, "USD", MONEY_FMT_SYMBOL, "-$12.50");
    fmt(1234567, "JPY", MONEY_FMT_SYMBOL, "¥1,234,567");
    fmt(1234, "KWD", MONEY_FMT_SYMBOL, "1.234 KWD"); /* no symbol: the code instead */
    fmt(999, "ZZZ", 0, "999 ZZZ");                   /* unknown currency: exponent 0, code */
    fmt(INT64_MIN, "USD", 0, "-92,233,720,368,547,758.08");
}

static void test_format_truncates_safely(void **state)
{
    (void)state;
    char buf[6];
    size_t n = money_format(buf, sizeof buf, 1250000, "USD", MONEY_FMT_SYMBOL);
    assert_int_equal(n, strlen("$12,500.00"));
    assert_string_equal(buf, "$12,5");
    money_format(buf, 0, 1, "USD", 0); /* size 0 writes nothing */
}

static void test_round_trip(void **state)
{
    (void)state;
    const char *curs[] = {"USD", "JPY", "KWD", "EUR"};
    for (size_t c = 0; c < 4; c++) {
        for (int64_t v = 0; v < 200000; v += 7919) {
            char buf[64];
            money_format(buf, sizeof buf, v, curs[c], 0);
            int64_t back = -1;
            assert_int_equal(money_parse(buf, curs[c], &back), MONEY_OK);
            assert_int_equal(back, v);
        }
    }
}

static void test_checked_arithmetic(void **state)
{
    (void)state;
    int64_t r = 0;
    assert_true(money_mul(1250, 1000, &r));
    assert_int_equal(r, 1250000);
    assert_false(money_mul(MONEY_MAX_MINOR, 2, &r));
    assert_false(money_mul(-1, 2, &r));
    assert_false(money_mul(INT64_MAX, INT64_MAX, &r));
    assert_true(money_mul(0, MONEY_MAX_MINOR, &r));
    assert_int_equal(r, 0);
    assert_true(money_add(5, -7, &r));
    assert_int_equal(r, -2);
    assert_false(money_add(MONEY_MAX_MINOR, 1, &r));
    assert_false(money_add(INT64_MAX, 0, &r));
    assert_true(money_in_range(0));
    assert_false(money_in_range(-1));
    assert_false(money_in_range(MONEY_MAX_MINOR + 1));
    assert_true(money_currency_valid("USD"));
    assert_false(money_currency_valid("usd"));
    assert_false(money_currency_valid("USDX"));
    assert_false(money_currency_valid(NULL));
}

/* Counts group as amounts do: one rule for quantities in marketd's messages and on screen. */
static void test_format_count(void **state)
{
    (void)state;
    char b[32];
    assert_string_equal(money_format_count(b, sizeof b, 0), "0");
    assert_string_equal(money_format_count(b, sizeof b, 999), "999");
    assert_string_equal(money_format_count(b, sizeof b, 1000), "1,000");
    assert_string_equal(money_format_count(b, sizeof b, 13333), "13,333");
    assert_string_equal(money_format_count(b, sizeof b, -1000), "-1,000");
    assert_string_equal(money_format_count(b, sizeof b, INT64_MIN), "-9,223,372,036,854,775,808");
    assert_string_equal(money_format_count(b, 4, 13333), "13,"); /* cut, never overrun */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_usd),
        cmocka_unit_test(test_parse_exponents),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_truncates_safely),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_checked_arithmetic),
        cmocka_unit_test(test_format_count),
    };
    return cmocka_run_group_tests_name("money", tests, NULL, NULL);
}
