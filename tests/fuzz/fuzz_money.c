/* fuzz_money.c: libFuzzer target for money parsing and formatting.
 *
 * Input: one byte picks a currency (from a list that includes unknown and malformed
 * codes), the rest is operator-typed text. Invariants checked on every input:
 *   - money_parse never writes the output on an error, and on success gives an amount in
 *     [0, MONEY_MAX_MINOR];
 *   - a parsed amount formats (with and without grouping and symbol) back to text that
 *     parses to the same amount (round trip);
 *   - money_format always NUL-terminates, for every buffer size, and returns the same
 *     length whatever the buffer;
 *   - money_strerror gives a message for every error;
 *   - money_add and money_mul agree with 128-bit arithmetic on the bounds (operands
 *     outside [-MONEY_MAX_MINOR, MONEY_MAX_MINOR] are refused; money_mul takes only
 *     non-negative operands). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/money.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const currencies[] = {"USD", "EUR", "JPY", "KWD", "GBP", "CHF",
                                         "XXX", "usd", "",    "US",  "USDD"};
#define NCUR (sizeof currencies / sizeof currencies[0])

/* Reads an int64 from 8 bytes of p (little endian). */
static int64_t rd64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return (int64_t)v;
}

/* Formats v every way and checks termination, length stability and the round trip. */
static void check_format(int64_t v, const char *cur, int roundtrip)
{
    static const unsigned flags[] = {0, MONEY_FMT_SYMBOL, MONEY_FMT_CODE, MONEY_FMT_NOGROUP,
                                     MONEY_FMT_SYMBOL | MONEY_FMT_CODE | MONEY_FMT_NOGROUP};
    for (size_t f = 0; f < sizeof flags / sizeof flags[0]; f++) {
        char full[128];
        size_t need = money_format(full, sizeof full, v, cur, flags[f]);
        if (need >= sizeof full || strlen(full) != need)
            abort();
        for (size_t cut = 1; cut <= need + 1; cut += 1 + need / 8) {
            char small[128];
            memset(small, 'Z', sizeof small);
            size_t n2 = money_format(small, cut, v, cur, flags[f]);
            if (n2 != need || strlen(small) >= cut || memcmp(small, full, strlen(small)) != 0)
                abort();
        }
        if (roundtrip && !(flags[f] & MONEY_FMT_CODE)) {
            int64_t back = -1;
            money_err e = money_parse(full, cur, &back);
            if (e != MONEY_OK || back != v) {
                fprintf(stderr, "round trip of %lld %s via \"%s\": err %d, got %lld\n",
                        (long long)v, cur, full, e, (long long)back);
                abort();
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *cur = currencies[data[0] % NCUR];
    char text[512];
    size_t n = size - 1 < sizeof text - 1 ? size - 1 : sizeof text - 1;
    memcpy(text, data + 1, n);
    text[n] = '\0';

    const int64_t sentinel = 0x5a5a5a5a5a5aLL;
    int64_t out = sentinel;
    money_err e = money_parse(text, cur, &out);
    if (!money_strerror(e) || !*money_strerror(e))
        abort();
    if (e != MONEY_OK) {
        if (out != sentinel)
            abort(); /* an error must leave the output alone */
    } else {
        if (!money_currency_valid(cur) || !money_in_range(out))
            abort();
        check_format(out, cur, 1);
    }

    /* Any int64 formats safely (ledger postings are negative), in any currency. */
    if (size >= 17) {
        int64_t a = rd64(data + 1), b = rd64(data + 9);
        check_format(a, cur, money_in_range(a) && money_currency_valid(cur));
        __int128 s = (__int128)a + b, p = (__int128)a * b;
        int64_t r = 7;
        bool ok = money_add(a, b, &r);
        /* Operands outside the range are refused too: they are never valid amounts. */
        bool in_a = a >= -MONEY_MAX_MINOR && a <= MONEY_MAX_MINOR;
        bool in_b = b >= -MONEY_MAX_MINOR && b <= MONEY_MAX_MINOR;
        bool want = in_a && in_b && s >= -MONEY_MAX_MINOR && s <= MONEY_MAX_MINOR;
        if (ok != want || (ok && r != (int64_t)s) || (!ok && r != 7))
            abort();
        r = 7;
        ok = money_mul(a, b, &r);
        if (ok && (p < -MONEY_MAX_MINOR || p > MONEY_MAX_MINOR || r != (int64_t)p))
            abort();
        if (!ok && r != 7)
            abort();
        /* Non-negative operands in range whose product is in range always multiply. */
        if (!ok && in_a && in_b && a >= 0 && b >= 0 && p <= MONEY_MAX_MINOR)
            abort();
    }
    return 0;
}
