/* test_format.c: the console's countdowns (tui/format.c, format_countdown): minutes and
 * seconds, hours, then days and hours, and days alone far away, rounded up to the second;
 * never negative. A deadline on the bench market's fixture, 640,628 hours away, read
 * "640628:18:29" in the header and the DUE column. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "tui/ui.h"

static const char *cd(int64_t ms)
{
    static char out[32];
    format_countdown(ms, out, sizeof out);
    return out;
}

#define SEC  1000LL
#define HOUR (3600 * SEC)
#define DAY  (24 * HOUR)

static void test_countdowns(void **state)
{
    (void)state;
    assert_string_equal(cd(-5 * SEC), "0:00");
    assert_string_equal(cd(0), "0:00");
    assert_string_equal(cd(200), "0:01"); /* rounded up */
    assert_string_equal(cd(59 * SEC), "0:59");
    assert_string_equal(cd(HOUR - SEC), "59:59");
    assert_string_equal(cd(HOUR), "1:00:00");
    assert_string_equal(cd(DAY - SEC), "23:59:59");
    assert_string_equal(cd(DAY - 500), "1d 00h");
    assert_string_equal(cd(DAY), "1d 00h");
    assert_string_equal(cd(3 * DAY + 4 * HOUR + 59 * 60 * SEC), "3d 04h");
    assert_string_equal(cd(100 * DAY - SEC), "99d 23h");
    assert_string_equal(cd(100 * DAY), "100d");
    /* the fixture's: 640628:18:29 */
    assert_string_equal(cd(640628 * HOUR + 18 * 60 * SEC + 29 * SEC), "26692d");
    assert_string_equal(cd(INT64_MAX), "106751991167d");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_countdowns)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
