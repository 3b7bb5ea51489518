/* money.c: parsing and formatting integer minor units; see money.h. */
#include "api/money.h"

#include <stdio.h>
#include <string.h>

/* ISO 4217 currencies this build knows, with their exponents. Symbols only where they
 * are unambiguous; the others are shown by code. Sorted by code for bsearch. */
static const money_currency currencies[] = {
    {"AED", 2, ""},   {"ARS", 2, ""}, {"AUD", 2, "A$"}, {"BHD", 3, ""},  {"BRL", 2, "R$"},
    {"CAD", 2, "C$"}, {"CHF", 2, ""}, {"CLP", 0, ""},   {"CNY", 2, ""},  {"COP", 2, ""},
    {"CZK", 2, ""},   {"DKK", 2, ""}, {"EGP", 2, ""},   {"EUR", 2, "€"}, {"GBP", 2, "£"},
    {"HKD", 2, ""},   {"HUF", 2, ""}, {"IDR", 2, ""},   {"ILS", 2, "₪"}, {"INR", 2, "₹"},
    {"IQD", 3, ""},   {"ISK", 0, ""}, {"JOD", 3, ""},   {"JPY", 0, "¥"}, {"KRW", 0, "₩"},
    {"KWD", 3, ""},   {"LYD", 3, ""}, {"MXN", 2, ""},   {"MYR", 2, ""},  {"NGN", 2, ""},
    {"NOK", 2, ""},   {"NZD", 2, ""}, {"OMR", 3, ""},   {"PHP", 2, ""},  {"PLN", 2, ""},
    {"RON", 2, ""},   {"SAR", 2, ""}, {"SEK", 2, ""},   {"SGD", 2, ""},  {"THB", 2, ""},
    {"TND", 3, ""},   {"TRY", 2, ""}, {"TWD", 2, ""},   {"UAH", 2, ""},  {"UGX", 0, ""},
    {"USD", 2, "$"},  {"UYU", 2, ""}, {"VND", 0, ""},   {"XAF", 0, ""},  {"XOF", 0, ""},
    {"ZAR", 2, ""},
};

/* Returns the currency for code, or NULL. */
const money_currency *money_currency_find(const char *code)
{
    if (!code)
        return NULL;
    size_t lo = 0, hi = sizeof currencies / sizeof currencies[0];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(code, currencies[mid].code);
        if (c == 0)
            return &currencies[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* True when code is a known currency code. */
bool money_currency_valid(const char *code)
{
    return code && strlen(code) == 3 && money_currency_find(code) != NULL;
}

/* True when minor is a storable amount. */
bool money_in_range(int64_t minor)
{
    return minor >= 0 && minor <= MONEY_MAX_MINOR;
}

/* Checked addition within +-MONEY_MAX_MINOR. */
bool money_add(int64_t a, int64_t b, int64_t *out)
{
    if (a < -MONEY_MAX_MINOR || a > MONEY_MAX_MINOR || b < -MONEY_MAX_MINOR || b > MONEY_MAX_MINOR)
        return false;
    int64_t r = a + b; /* cannot overflow int64: both are within 10^15 */
    if (r < -MONEY_MAX_MINOR || r > MONEY_MAX_MINOR)
        return false;
    *out = r;
    return true;
}

/* Checked multiplication of a unit price by a quantity, both non-negative. */
bool money_mul(int64_t unit_minor, int64_t quantity, int64_t *out)
{
    if (unit_minor < 0 || quantity < 0 || unit_minor > MONEY_MAX_MINOR ||
        quantity > MONEY_MAX_MINOR)
        return false;
    if (quantity != 0 && unit_minor > MONEY_MAX_MINOR / quantity)
        return false;
    *out = unit_minor * quantity;
    return true;
}

/* Skips ASCII spaces and tabs. */
static const char *skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* If p starts with a known currency symbol (of any currency), returns its length and
 * sets *which; otherwise 0. Longest symbols first so "A$" wins over "$". */
static size_t symbol_prefix(const char *p, const money_currency **which)
{
    size_t best = 0;
    for (size_t i = 0; i < sizeof currencies / sizeof currencies[0]; i++) {
        size_t n = strlen(currencies[i].symbol);
        if (n > best && strncmp(p, currencies[i].symbol, n) == 0) {
            best = n;
            *which = &currencies[i];
        }
    }
    return best;
}

/* Parses operator-typed text into minor units; see money.h for the grammar. */
money_err money_parse(const char *text, const char *currency, int64_t *out_minor)
{
    const money_currency *cur = money_currency_find(currency);
    if (!cur)
        return MONEY_UNKNOWN_CURRENCY;
    if (!text)
        return MONEY_EMPTY;

    const char *p = skip_space(text);
    if (*p == '\0')
        return MONEY_EMPTY;
    if (*p == '-')
        return MONEY_NEGATIVE;

    /* An optional currency code before ("USD 12.50") or a symbol ("$12.50"). */
    if (strncmp(p, cur->code, 3) == 0) {
        p = skip_space(p + 3);
    } else {
        const money_currency *sym = NULL;
        size_t n = symbol_prefix(p, &sym);
        if (n > 0) {
            if (sym != cur && strcmp(sym->symbol, cur->symbol) != 0)
                return MONEY_SYMBOL_MISMATCH;
            p = skip_space(p + n);
        }
    }
    if (*p == '-')
        return MONEY_NEGATIVE;

    int64_t units = 0;
    int digits = 0, group = 0;
    bool grouped = false, first_group = true;
    for (; (*p >= '0' && *p <= '9') || *p == ','; p++) {
        if (*p == ',') {
            /* The first group has 1-3 digits, every later one exactly 3. */
            if (digits == 0 || (first_group ? group > 3 : group != 3))
                return MONEY_BAD_GROUPING;
            grouped = true;
            first_group = false;
            group = 0;
            continue;
        }
        if (units > (MONEY_MAX_MINOR - (*p - '0')) / 10)
            return MONEY_OVERFLOW;
        units = units * 10 + (*p - '0');
        digits++;
        group++;
    }
    if (grouped && group != 3)
        return MONEY_BAD_GROUPING;

    int64_t frac = 0;
    int frac_digits = 0;
    if (*p == '.') {
        p++;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (++frac_digits > cur->exponent)
                return MONEY_TOO_MANY_DECIMALS;
            frac = frac * 10 + (*p - '0');
        }
        if (frac_digits == 0 && digits == 0)
            return MONEY_GARBAGE;
    } else if (digits == 0) {
        return MONEY_GARBAGE;
    }

    /* An optional trailing code ("12.50 USD"), then nothing but spaces. */
    p = skip_space(p);
    if (strncmp(p, cur->code, 3) == 0)
        p = skip_space(p + 3);
    if (*p != '\0')
        return MONEY_GARBAGE;

    for (int i = frac_digits; i < cur->exponent; i++)
        frac *= 10;
    int64_t scale = 1;
    for (int i = 0; i < cur->exponent; i++)
        scale *= 10;
    if (units > (MONEY_MAX_MINOR - frac) / scale)
        return MONEY_OVERFLOW;
    *out_minor = units * scale + frac;
    return MONEY_OK;
}

/* A short English sentence for err. */
const char *money_strerror(money_err err)
{
    switch (err) {
        case MONEY_OK: return "ok";
        case MONEY_EMPTY: return "no amount given";
        case MONEY_GARBAGE: return "not an amount (digits, an optional point and commas only)";
        case MONEY_NEGATIVE: return "amounts cannot be negative";
        case MONEY_TOO_MANY_DECIMALS: return "too many digits after the decimal point";
        case MONEY_BAD_GROUPING: return "thousands separators must group digits in threes";
        case MONEY_OVERFLOW: return "amount too large";
        case MONEY_UNKNOWN_CURRENCY: return "unknown currency";
        case MONEY_SYMBOL_MISMATCH: return "that symbol belongs to another currency";
    }
    return "invalid amount";
}

/* Writes units' digits backwards into digits (at least 27 bytes), with a comma every three
 * when group; returns how many. Shared by amounts and counts, so both group alike. */
static int digits_backwards(uint64_t units, bool group, char *digits)
{
    int nd = 0, since = 0;
    do {
        if (since == 3 && group) {
            digits[nd++] = ',';
            since = 0;
        }
        digits[nd++] = (char)('0' + units % 10);
        units /= 10;
        since++;
    } while (units > 0);
    return nd;
}

/* Formats a count (a quantity) with grouping; see money.h. */
const char *money_format_count(char *buf, size_t size, int64_t n)
{
    uint64_t mag = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;
    char digits[40], out[48];
    int nd = digits_backwards(mag, true, digits);
    size_t len = 0;
    if (n < 0)
        out[len++] = '-';
    while (nd > 0)
        out[len++] = digits[--nd];
    out[len] = '\0';
    snprintf(buf, size, "%s", out);
    return buf;
}

/* Formats minor units; see money.h. */
size_t money_format(char *buf, size_t size, int64_t minor, const char *currency, unsigned flags)
{
    const money_currency *cur = money_currency_find(currency);
    int exponent = cur ? cur->exponent : 0;
    const char *symbol = (cur && (flags & MONEY_FMT_SYMBOL)) ? cur->symbol : "";
    bool code = (flags & MONEY_FMT_CODE) || (!cur) || ((flags & MONEY_FMT_SYMBOL) && !*symbol);

    /* Work on the magnitude as unsigned so INT64_MIN is safe. */
    uint64_t mag = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
    uint64_t scale = 1;
    for (int i = 0; i < exponent; i++)
        scale *= 10;
    uint64_t units = mag / scale, frac = mag % scale;

    char digits[40];
    int nd = digits_backwards(units, !(flags & MONEY_FMT_NOGROUP), digits);

    char out[96];
    size_t n = 0;
    if (minor < 0)
        out[n++] = '-';
    for (const char *s = symbol; *s; s++)
        out[n++] = *s;
    while (nd > 0)
        out[n++] = digits[--nd];
    if (exponent > 0) {
        out[n++] = '.';
        for (int i = exponent - 1; i >= 0; i--) {
            uint64_t d = frac;
            for (int j = 0; j < i; j++)
                d /= 10;
            out[n++] = (char)('0' + d % 10);
        }
    }
    if (code) {
        out[n++] = ' ';
        const char *c = currency && *currency ? currency : "???";
        for (int i = 0; i < 3 && c[i]; i++)
            out[n++] = c[i];
    }
    out[n] = '\0';
    if (size > 0) {
        size_t m = n < size - 1 ? n : size - 1;
        memcpy(buf, out, m);
        buf[m] = '\0';
    }
    return n;
}
