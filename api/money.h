/* money.h: amounts as integer minor units with an ISO 4217 currency; never a float.
 *
 * Parsing takes what an operator types ("1,234.56", "1234", "0.5", "$12.50") and gives
 * minor units for the currency's exponent (USD 2, JPY 0, KWD 3). Every malformed or
 * out-of-range input is a named error; nothing is silently rounded. Formatting groups
 * thousands and places the decimal point by the exponent. Shared by dealdesk and marketd.
 */
#ifndef DEALDESK_API_MONEY_H
#define DEALDESK_API_MONEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest amount accepted anywhere, in minor units: 10^15 (10 trillion dollars).
 * Far below INT64_MAX so that a quantity times a unit price can be checked cheaply. */
#define MONEY_MAX_MINOR 1000000000000000LL

/* One currency: its code, its exponent (digits after the point) and a display symbol
 * ("" when the code alone is shown). */
typedef struct money_currency {
    char code[4];
    int exponent;
    const char *symbol;
} money_currency;

typedef enum money_err {
    MONEY_OK = 0,
    MONEY_EMPTY,             /* nothing but spaces */
    MONEY_GARBAGE,           /* a character that is not part of an amount */
    MONEY_NEGATIVE,          /* a minus sign: amounts typed by operators are never negative */
    MONEY_TOO_MANY_DECIMALS, /* more digits after the point than the currency has */
    MONEY_BAD_GROUPING,      /* thousands separators in the wrong places ("1,23.00") */
    MONEY_OVERFLOW,          /* more than MONEY_MAX_MINOR */
    MONEY_UNKNOWN_CURRENCY,  /* not an ISO 4217 code this build knows */
    MONEY_SYMBOL_MISMATCH,   /* "$" typed for a currency whose symbol is not "$" */
} money_err;

/* Returns the currency for an upper-case ISO 4217 code, or NULL if unknown (borrowed,
 * static storage). */
const money_currency *money_currency_find(const char *code);

/* True when code names a known currency (exactly three upper-case letters). */
bool money_currency_valid(const char *code);

/* Parses operator-typed text into minor units of currency. Accepts optional surrounding
 * spaces, an optional leading symbol of that currency, digits with optional comma
 * grouping in threes, and at most the currency's exponent of decimal digits. Returns
 * MONEY_OK and sets *out_minor, or an error and leaves *out_minor untouched. */
money_err money_parse(const char *text, const char *currency, int64_t *out_minor);

/* A short English message for an error ("too many decimal places for USD" needs the
 * caller's context; this gives the generic sentence). Static storage. */
const char *money_strerror(money_err err);

enum money_format_flags {
    MONEY_FMT_SYMBOL = 1u << 0, /* "$12.50" instead of "12.50" where a symbol exists */
    MONEY_FMT_CODE = 1u << 1,   /* append " USD" */
    MONEY_FMT_NOGROUP = 1u << 2 /* "12500.00" instead of "12,500.00" */
};

/* Formats minor units of currency into buf (always NUL-terminated when size > 0).
 * Negative amounts get a leading '-' (ledger postings). An unknown currency is formatted
 * with exponent 0 and its code. Returns the length the full text needs, like snprintf. */
size_t money_format(char *buf, size_t size, int64_t minor, const char *currency, unsigned flags);

/* Formats a count (a quantity) grouped as amounts are ("13,333", "-1,000") into buf
 * (NUL-terminated when size > 0); returns buf. */
const char *money_format_count(char *buf, size_t size, int64_t n);

/* Checked arithmetic: returns false (and leaves *out alone) when the result would
 * leave [-MONEY_MAX_MINOR, MONEY_MAX_MINOR]. */
bool money_add(int64_t a, int64_t b, int64_t *out);
bool money_mul(int64_t unit_minor, int64_t quantity, int64_t *out);

/* True when minor is a valid stored amount: 0 <= minor <= MONEY_MAX_MINOR. */
bool money_in_range(int64_t minor);

#endif
