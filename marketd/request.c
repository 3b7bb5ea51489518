/* request.c: the pieces of a request and of its answer: error and success answers, the
 * body's fields, the query string, counts and If-Match (marketd/mkt.h). Every handler
 * reads its request and answers through these, so that a bad field gets the same
 * contract error wherever it is.
 */
#include "marketd/mkt.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_MAX 4096

/* Replaces, in place, every byte of s that does not begin or continue a well-formed
 * UTF-8 sequence with '?' (a sequence cut short at the end included): an error message
 * may quote the request (jansson's parse errors do), and jansson refuses to build a
 * string that is not UTF-8, which would turn a 400 into a 500. */
static void utf8_repair(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        int n = *p < 0x80                    ? 1
                : (*p >= 0xc2 && *p <= 0xdf) ? 2
                : (*p >= 0xe0 && *p <= 0xef) ? 3
                : (*p >= 0xf0 && *p <= 0xf4) ? 4
                                             : 0;
        bool ok = n > 0;
        for (int i = 1; ok && i < n; i++)
            ok = (p[i] & 0xc0) == 0x80;
        /* overlong 3/4-byte forms, surrogates and code points above U+10FFFF */
        if (ok && n == 3)
            ok = !(p[0] == 0xe0 && p[1] < 0xa0) && !(p[0] == 0xed && p[1] >= 0xa0);
        if (ok && n == 4)
            ok = !(p[0] == 0xf0 && p[1] < 0x90) && !(p[0] == 0xf4 && p[1] >= 0x90);
        if (!ok) {
            *p++ = '?';
            continue;
        }
        p += n;
    }
}

bool mkt_fail(mkt_ctx *c, int status, const char *code, const char *field, json_t *current,
              const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    utf8_repair(msg);
    json_decref(c->answer);
    free(c->text);
    c->text = NULL;
    c->status = status;
    c->answer = json_pack("{ss ss}", "error", code, "message", msg);
    if (field)
        json_object_set_new(c->answer, "field", json_string(field));
    if (current)
        json_object_set(c->answer, "current", current);
    return false;
}

bool mkt_ok(mkt_ctx *c, int status, json_t *body)
{
    json_decref(c->answer);
    free(c->text);
    c->text = NULL;
    c->status = status;
    c->answer = body;
    return true;
}

bool mkt_ok_text(mkt_ctx *c, int status, char *text)
{
    json_decref(c->answer);
    free(c->text);
    c->answer = NULL;
    c->status = status;
    c->text = text;
    return true;
}

int64_t mkt_int(json_t *obj, const char *key)
{
    return (int64_t)json_integer_value(json_object_get(obj, key));
}

const char *mkt_str(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

int mkt_body_int(mkt_ctx *c, const char *key, int64_t min, int64_t max, int64_t *out)
{
    json_t *v = json_object_get(c->body, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v)) {
        mkt_fail(c, 400, "bad_request", key, NULL, "%s must be an integer", key);
        return -1;
    }
    int64_t x = (int64_t)json_integer_value(v);
    if (x < min || x > max) {
        mkt_fail(c, 400, "bad_request", key, NULL, "%s must be between %lld and %lld", key,
                 (long long)min, (long long)max);
        return -1;
    }
    *out = x;
    return 1;
}

/* Counts UTF-8 characters (lead bytes) of s. */
static size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

int mkt_body_str(mkt_ctx *c, const char *key, size_t minchars, size_t maxchars, bool required,
                 const char **out)
{
    json_t *v = json_object_get(c->body, key);
    if (!v || json_is_null(v)) {
        if (required) {
            mkt_fail(c, 400, "bad_request", key, NULL, "%s is required", key);
            return -1;
        }
        return 0;
    }
    if (!json_is_string(v)) {
        mkt_fail(c, 400, "bad_request", key, NULL, "%s must be a string", key);
        return -1;
    }
    size_t len = json_string_length(v);
    size_t chars = utf8_chars(json_string_value(v), len);
    if (len > TEXT_MAX || chars > maxchars || chars < minchars) {
        mkt_fail(c, 400, "bad_request", key, NULL, "%s must be %zu to %zu characters (and 4 KiB)",
                 key, minchars, maxchars);
        return -1;
    }
    *out = json_string_value(v);
    return 1;
}

/* ---- query strings and conditions ------------------------------------------- */

bool mkt_parse_count(const char *s, int64_t *out)
{
    size_t n = strspn(s, "0123456789");
    if (n == 0 || n > 18 || s[n] != '\0')
        return false; /* empty, a sign, a space, a fraction or past 18 digits */
    *out = strtoll(s, NULL, 10);
    return true;
}

int mkt_parse_if_match(const char *h, int64_t *version)
{
    if (!h || !*h)
        return 0;
    size_t n = strlen(h);
    char digits[24];
    if (n < 3 || n - 2 >= sizeof digits || h[0] != '"' || h[n - 1] != '"')
        return -1; /* W/"1", 1, " 1" unquoted... */
    memcpy(digits, h + 1, n - 2);
    digits[n - 2] = '\0';
    int64_t v;
    if (digits[0] == '0' || !mkt_parse_count(digits, &v))
        return -1; /* a version is written without leading zeros, from 1 */
    *version = v;
    return 1;
}

/* Value of hex digit c, or -1. */
static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool mkt_query_get(const char *q, const char *key, char *out, size_t size)
{
    size_t kl = strlen(key);
    for (const char *p = q; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t n = amp ? (size_t)(amp - p) : strlen(p);
        if (n >= kl && strncmp(p, key, kl) == 0 && (n == kl || p[kl] == '=')) {
            size_t o = 0;
            for (size_t i = kl + 1; i < n && o + 1 < size; i++) {
                int ch = p[i];
                if (ch == '+')
                    ch = ' ';
                else if (ch == '%' && i + 2 < n + 1 && hexval(p[i + 1]) >= 0 &&
                         hexval(p[i + 2]) >= 0) {
                    ch = hexval(p[i + 1]) * 16 + hexval(p[i + 2]);
                    i += 2;
                }
                out[o++] = (char)ch;
            }
            out[o] = '\0';
            return true;
        }
        p = amp ? amp + 1 : NULL;
    }
    return false;
}
