/* json_canon.c: RFC 8785 canonical JSON over jansson values (api/json_canon.h). */
#include "api/json_canon.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growing text; ok false once memory ran out or a value had no canonical form. */
typedef struct cbuf {
    char *b;
    size_t len, cap;
    bool ok;
} cbuf;

static void put(cbuf *c, const char *s, size_t n)
{
    if (!c->ok)
        return;
    if (c->len + n + 1 > c->cap) {
        size_t cap = c->cap ? c->cap : 256;
        while (cap < c->len + n + 1)
            cap *= 2;
        char *nb = realloc(c->b, cap);
        if (!nb) {
            c->ok = false;
            return;
        }
        c->b = nb;
        c->cap = cap;
    }
    memcpy(c->b + c->len, s, n);
    c->len += n;
    c->b[c->len] = '\0';
}

static void puts_(cbuf *c, const char *s)
{
    put(c, s, strlen(s));
}

/* A string with the RFC's escapes (section 3.2.2.2). */
static void put_string(cbuf *c, const char *s, size_t n)
{
    put(c, "\"", 1);
    size_t run = 0; /* bytes copied as they are, pending */
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        const char *esc = NULL;
        char u[8];
        switch (ch) {
            case '"': esc = "\\\""; break;
            case '\\': esc = "\\\\"; break;
            case '\b': esc = "\\b"; break;
            case '\f': esc = "\\f"; break;
            case '\n': esc = "\\n"; break;
            case '\r': esc = "\\r"; break;
            case '\t': esc = "\\t"; break;
            default:
                if (ch < 0x20) {
                    snprintf(u, sizeof u, "\\u%04x", ch);
                    esc = u;
                }
        }
        if (!esc) {
            run++;
            continue;
        }
        put(c, s + i - run, run);
        run = 0;
        puts_(c, esc);
    }
    put(c, s + n - run, run);
    put(c, "\"", 1);
}

/* A real as ECMAScript's Number.prototype.toString writes it (RFC 8785, 3.2.2.3): the
 * shortest digits that read back as the same double, placed by the exponent. */
static void put_real(cbuf *c, double d)
{
    if (!isfinite(d)) {
        c->ok = false;
        return;
    }
    if (d == 0) { /* -0 too */
        puts_(c, "0");
        return;
    }
    char e[40], digits[24], out[64];
    for (int p = 1; p <= 17; p++) {
        snprintf(e, sizeof e, "%.*e", p - 1, d);
        if (strtod(e, NULL) == d)
            break;
    }
    /* e is "-d.ddde+XX": the digits, then the exponent */
    const char *s = e + (d < 0), *x = strchr(s, 'e');
    int k = 0;
    for (const char *q = s; q < x; q++)
        if (*q != '.')
            digits[k++] = *q;
    while (k > 1 && digits[k - 1] == '0')
        k--;
    digits[k] = '\0';
    int n = atoi(x + 1) + 1; /* the decimal point's place: value = 0.DIGITS x 10^n */
    char *o = out;
    if (d < 0)
        *o++ = '-';
    if (k <= n && n <= 21) { /* 1e+21 > d >= 1, whole: the digits, then zeros */
        o += sprintf(o, "%s", digits);
        for (int z = k; z < n; z++)
            *o++ = '0';
        *o = '\0';
    } else if (0 < n && n <= 21) { /* a point inside the digits */
        sprintf(o, "%.*s.%s", n, digits, digits + n);
    } else if (-6 < n && n <= 0) { /* 0.000ddd */
        o += sprintf(o, "0.");
        for (int z = n; z < 0; z++)
            *o++ = '0';
        sprintf(o, "%s", digits);
    } else { /* d.ddde+XX */
        o += sprintf(o, "%c%s%.*s", digits[0], k > 1 ? "." : "", k - 1, digits + 1);
        sprintf(o, "e%c%d", n - 1 < 0 ? '-' : '+', abs(n - 1));
    }
    puts_(c, out);
}

/* A key and its UTF-16 code units, for the sort. */
typedef struct ckey {
    const char *key;
    size_t len;
    uint16_t *u16;
    size_t n16;
    json_t *value;
} ckey;

/* The UTF-16 code units of UTF-8 text (jansson's strings are valid UTF-8) into k->u16. */
static bool to_utf16(ckey *k)
{
    const unsigned char *s = (const unsigned char *)k->key;
    k->u16 = malloc((k->len + 1) * sizeof *k->u16);
    if (!k->u16)
        return false;
    size_t n = 0;
    for (size_t i = 0; i < k->len;) {
        uint32_t cp = s[i];
        int more = cp < 0x80 ? 0 : cp < 0xe0 ? 1 : cp < 0xf0 ? 2 : 3;
        if (more)
            cp &= 0x3fu >> more;
        for (int j = 1; j <= more && i + (size_t)j < k->len; j++)
            cp = cp << 6 | (s[i + (size_t)j] & 0x3f);
        i += (size_t)more + 1;
        if (cp >= 0x10000) {
            k->u16[n++] = (uint16_t)(0xd800 + ((cp - 0x10000) >> 10));
            k->u16[n++] = (uint16_t)(0xdc00 + ((cp - 0x10000) & 0x3ff));
        } else {
            k->u16[n++] = (uint16_t)cp;
        }
    }
    k->n16 = n;
    return true;
}

static int by_utf16(const void *a, const void *b)
{
    const ckey *x = a, *y = b;
    for (size_t i = 0; i < x->n16 && i < y->n16; i++)
        if (x->u16[i] != y->u16[i])
            return x->u16[i] < y->u16[i] ? -1 : 1;
    return (x->n16 > y->n16) - (x->n16 < y->n16);
}

static void put_value(cbuf *c, json_t *v);

/* An object: its members sorted by the UTF-16 code units of their keys. */
static void put_object(cbuf *c, json_t *v)
{
    size_t n = json_object_size(v), i = 0;
    ckey *keys = calloc(n ? n : 1, sizeof *keys);
    const char *key;
    json_t *value;
    if (!keys) {
        c->ok = false;
        return;
    }
    json_object_foreach(v, key, value)
    {
        keys[i] =
            (ckey){key, json_object_iter_key_len(json_object_key_to_iter(key)), NULL, 0, value};
        if (!to_utf16(&keys[i++]))
            c->ok = false;
    }
    qsort(keys, i, sizeof *keys, by_utf16);
    put(c, "{", 1);
    for (size_t j = 0; j < i; j++) {
        if (j)
            put(c, ",", 1);
        put_string(c, keys[j].key, keys[j].len);
        put(c, ":", 1);
        put_value(c, keys[j].value);
    }
    put(c, "}", 1);
    for (size_t j = 0; j < i; j++)
        free(keys[j].u16);
    free(keys);
}

static void put_value(cbuf *c, json_t *v)
{
    char num[32];
    switch (json_typeof(v)) {
        case JSON_NULL: puts_(c, "null"); break;
        case JSON_TRUE: puts_(c, "true"); break;
        case JSON_FALSE: puts_(c, "false"); break;
        case JSON_STRING: put_string(c, json_string_value(v), json_string_length(v)); break;
        case JSON_REAL: put_real(c, json_real_value(v)); break;
        case JSON_INTEGER: {
            json_int_t i = json_integer_value(v);
            if (i > 9007199254740992LL || i < -9007199254740992LL) {
                c->ok = false; /* an IEEE double cannot hold it: no canonical form */
                return;
            }
            snprintf(num, sizeof num, "%lld", (long long)i);
            puts_(c, num);
            break;
        }
        case JSON_ARRAY:
            put(c, "[", 1);
            for (size_t i = 0; i < json_array_size(v); i++) {
                if (i)
                    put(c, ",", 1);
                put_value(c, json_array_get(v, i));
            }
            put(c, "]", 1);
            break;
        case JSON_OBJECT: put_object(c, v); break;
    }
}

char *json_canon(json_t *v, size_t *len)
{
    cbuf c = {NULL, 0, 0, true};
    if (!v)
        return NULL;
    put_value(&c, v);
    if (!c.ok || !c.b) {
        free(c.b);
        return NULL;
    }
    if (len)
        *len = c.len;
    return c.b;
}
