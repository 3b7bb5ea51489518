/* text_invariants.h: what must hold of every sanitised string, whatever the input.
 * Header-only (static) so that the unit tests and the libFuzzer target share it.
 *
 * Returns NULL when out (a text_sanitize result) is safe, or a description of the
 * first violation: invalid UTF-8, a control byte other than balanced marks, DEL, a C1
 * code point, a forbidden code point outside a placeholder, non-ASCII in ASCII mode, a
 * width that differs from text_width(), or a byte length that differs from len.
 */
#ifndef DEALDESK_TESTS_TEXT_INVARIANTS_H
#define DEALDESK_TESTS_TEXT_INVARIANTS_H

#include <stdint.h>
#include <string.h>

#include "api/text.h"

/* Strict UTF-8 decode of one scalar; 0 when invalid. */
static size_t inv_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t min, v;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        len = 2, min = 0x80, v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, min = 0x800, v = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, min = 0x10000, v = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

/* Code points that may never appear as text (outside a placeholder's own glyphs). */
static int inv_forbidden(uint32_t cp, uint32_t prev)
{
    if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F))
        return 1;
    if (cp == 0x061C || cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
        (cp >= 0x2066 && cp <= 0x2069))
        return 1; /* bidi */
    if ((cp >= 0x200B && cp <= 0x200D) || (cp >= 0x2060 && cp <= 0x206F) || cp == 0xFEFF ||
        cp == 0x00AD || cp == 0x2028 || cp == 0x2029)
        return 1; /* zero-width, invisible, separators */
    if (cp >= 0xE0000 && cp <= 0xE007F)
        return 1; /* tags */
    if ((cp >= 0xE000 && cp <= 0xF8FF) || cp >= 0xF0000)
        return 1; /* private use */
    if ((cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE)
        return 1; /* noncharacters */
    if (cp >= 0xE0100 && cp <= 0xE01EF)
        return 1;
    if (cp >= 0xFE00 && cp <= 0xFE0F && !((cp == 0xFE0E || cp == 0xFE0F) && prev >= 0x2000))
        return 1;
    return 0;
}

static const char *text_invariants(const text_safe *t, text_mode mode)
{
    const unsigned char *s = (const unsigned char *)t->s;
    if (!s)
        return "no output";
    if (strlen(t->s) != t->len)
        return "length differs from strlen (a NUL inside)";
    int in_mark = 0;
    uint32_t prev = 0;
    for (size_t i = 0; i < t->len;) {
        if (s[i] == (unsigned char)TEXT_MARK_ON) {
            if (in_mark)
                return "nested mark";
            in_mark = 1;
            i++;
            continue;
        }
        if (s[i] == (unsigned char)TEXT_MARK_OFF) {
            if (!in_mark)
                return "unbalanced mark";
            in_mark = 0;
            i++;
            prev = 0;
            continue;
        }
        if (mode == TEXT_ASCII && s[i] >= 0x80)
            return "non-ASCII byte in ASCII mode";
        uint32_t cp;
        size_t n = inv_decode(s + i, t->len - i, &cp);
        if (n == 0)
            return "invalid UTF-8 in output";
        if (inv_forbidden(cp, prev))
            return "forbidden code point in output";
        if (in_mark && !((cp >= 0x20 && cp < 0x7F) || (cp >= 0x2400 && cp <= 0x2421)))
            return "unexpected character inside a placeholder";
        prev = cp;
        i += n;
    }
    if (in_mark)
        return "unterminated mark";
    if (text_width(t->s) != t->width)
        return "width differs from text_width()";
    return NULL;
}

#endif
