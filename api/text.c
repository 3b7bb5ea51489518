/* text.c: the sanitiser every byte of network text passes through; see text.h.
 *
 * One pass decodes strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF),
 * classifies each code point and either copies it or writes a placeholder between
 * TEXT_MARK_ON and TEXT_MARK_OFF. Classification does not depend on the process's
 * locale: width and printability are asked of a private C.UTF-8 locale object, switched
 * to with uselocale() (per thread) for the duration of a call.
 */
#include "api/text.h"

#include <langinfo.h>
#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <wctype.h>

/* ---- UTF-8 ------------------------------------------------------------------------ */

/* Decodes one strict UTF-8 scalar from s (n bytes available). Returns the number of
 * bytes used and sets *cp, or 0 when the bytes at s are not valid UTF-8 (the caller
 * then treats the first byte alone as invalid). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t min, v;
    if (c >= 0xC2 && c <= 0xDF) {
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

/* Encodes cp as UTF-8 into out (4 bytes room); returns the length. */
static size_t utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---- locale-independent width ------------------------------------------------------ */

static locale_t utf8_locale;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

/* Creates the private C.UTF-8 locale object once. */
static void utf8_locale_init(void)
{
    utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    if (!utf8_locale)
        utf8_locale = newlocale(LC_CTYPE_MASK, "en_US.UTF-8", (locale_t)0);
}

/* Switches this thread to the private UTF-8 locale; returns the previous one to give
 * to locale_leave(), or 0 when no UTF-8 locale exists (then widths fall back). */
static locale_t locale_enter(void)
{
    pthread_once(&utf8_once, utf8_locale_init);
    if (!utf8_locale)
        return (locale_t)0;
    return uselocale(utf8_locale);
}

static void locale_leave(locale_t prev)
{
    if (prev)
        uselocale(prev);
}

/* Width of a code point under the private locale: -1 when it is not printable there. */
static int cp_width(uint32_t cp, bool have_locale)
{
    if (cp >= 0x20 && cp < 0x7F)
        return 1;
    if (!have_locale)
        return -1;
    if (!iswprint((wint_t)cp))
        return -1;
    return wcwidth((wchar_t)cp);
}

/* ---- classification ---------------------------------------------------------------- */

enum cls { CLS_OK, CLS_COMBINING, CLS_VS, CLS_HIDE };

/* True when cp is a bidi control: embeddings, overrides, isolates and the marks. */
static bool is_bidi(uint32_t cp)
{
    return cp == 0x061C || cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

/* True when cp is an invisible format or filler character (Cf and friends). */
static bool is_invisible(uint32_t cp)
{
    static const uint32_t ranges[][2] = {
        {0x00AD, 0x00AD},   {0x034F, 0x034F},   {0x0600, 0x0605},   {0x06DD, 0x06DD},
        {0x070F, 0x070F},   {0x0890, 0x0891},   {0x08E2, 0x08E2},   {0x115F, 0x1160},
        {0x17B4, 0x17B5},   {0x180B, 0x180F},   {0x200B, 0x200D},   {0x2060, 0x2065},
        {0x206A, 0x206F},   {0x3164, 0x3164},   {0xFEFF, 0xFEFF},   {0xFFA0, 0xFFA0},
        {0xFFF9, 0xFFFB},   {0x110BD, 0x110BD}, {0x110CD, 0x110CD}, {0x13430, 0x1343F},
        {0x1BCA0, 0x1BCA3}, {0x1D173, 0x1D17A},
    };
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
        if (cp >= ranges[i][0] && cp <= ranges[i][1])
            return true;
    return false;
}

static bool is_private(uint32_t cp)
{
    return (cp >= 0xE000 && cp <= 0xF8FF) || (cp >= 0xF0000 && cp <= 0xFFFFD) ||
           (cp >= 0x100000 && cp <= 0x10FFFD);
}

static bool is_noncharacter(uint32_t cp)
{
    return (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE;
}

static bool is_variation_selector(uint32_t cp)
{
    return (cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0xE0100 && cp <= 0xE01EF);
}

/* Classifies cp. Sets *flag to the TEXT_F_* class of a hidden code point and *width to
 * the width of a printable one. */
static enum cls classify(uint32_t cp, bool have_locale, unsigned *flag, int *width)
{
    *flag = 0;
    *width = 0;
    if (cp >= 0x20 && cp < 0x7F) {
        *width = 1;
        return CLS_OK;
    }
    if (cp == 0x1B)
        *flag = TEXT_F_ESCAPE;
    else if (cp < 0x20)
        *flag = TEXT_F_C0;
    else if (cp == 0x7F)
        *flag = TEXT_F_DEL;
    else if (cp >= 0x80 && cp <= 0x9F)
        *flag = TEXT_F_C1;
    else if (is_bidi(cp))
        *flag = TEXT_F_BIDI;
    else if (cp == 0x2028 || cp == 0x2029)
        *flag = TEXT_F_SEPARATOR;
    else if (cp >= 0xE0000 && cp <= 0xE007F)
        *flag = TEXT_F_TAG;
    else if (is_invisible(cp))
        *flag = TEXT_F_INVISIBLE;
    else if (is_private(cp))
        *flag = TEXT_F_PRIVATE;
    else if (is_noncharacter(cp))
        *flag = TEXT_F_UNASSIGNED;
    if (*flag)
        return CLS_HIDE;
    if (is_variation_selector(cp))
        return CLS_VS;
    int w = cp_width(cp, have_locale);
    if (w < 0) {
        /* Without a UTF-8 locale nothing beyond ASCII can be judged: the ASCII mode shows
         * it as '?' anyway, so call it printable and narrow rather than unassigned. */
        if (!have_locale) {
            *width = 1;
            return CLS_OK;
        }
        *flag = TEXT_F_UNASSIGNED;
        return CLS_HIDE;
    }
    if (w == 0)
        return CLS_COMBINING;
    *width = w;
    return CLS_OK;
}

/* ---- output buffer ----------------------------------------------------------------- */

typedef struct outbuf {
    char *s;
    size_t len, cap;
} outbuf;

/* Appends n bytes; the buffer is sized up front so this never reallocates. */
static void out_put(outbuf *o, const char *p, size_t n)
{
    if (o->len + n < o->cap) {
        memcpy(o->s + o->len, p, n);
        o->len += n;
    }
}

/* Writes a placeholder for cp (or, when invalid, for the raw byte) and returns its
 * width. C0 and DEL become Control Pictures (caret notation in ASCII mode); raw bytes
 * become \xNN; every other code point becomes <U+XXXX>. */
static int put_placeholder(outbuf *o, text_mode mode, uint32_t cp, bool raw_byte)
{
    char tmp[24];
    int n;
    char mark = TEXT_MARK_ON;
    out_put(o, &mark, 1);
    if (raw_byte) {
        n = snprintf(tmp, sizeof tmp, "\\x%02X", (unsigned)cp);
    } else if (cp < 0x20 || cp == 0x7F) {
        if (mode == TEXT_UTF8) {
            n = (int)utf8_encode(cp == 0x7F ? 0x2421 : 0x2400 + cp, tmp);
            out_put(o, tmp, (size_t)n);
            mark = TEXT_MARK_OFF;
            out_put(o, &mark, 1);
            return 1;
        }
        n = snprintf(tmp, sizeof tmp, "^%c", cp == 0x7F ? '?' : (char)(cp + 0x40));
    } else {
        n = snprintf(tmp, sizeof tmp, "<U+%04X>", (unsigned)cp);
    }
    out_put(o, tmp, (size_t)n);
    mark = TEXT_MARK_OFF;
    out_put(o, &mark, 1);
    return n;
}

/* ---- the sanitiser ----------------------------------------------------------------- */

/* Picks the output mode from LC_CTYPE's codeset. */
text_mode text_mode_from_locale(void)
{
    const char *cs = nl_langinfo(CODESET);
    if (cs && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0))
        return TEXT_UTF8;
    return TEXT_ASCII;
}

/* The core of text_sanitize and text_scan: when o is NULL only flags are gathered. */
static void sanitize_into(const char *in, size_t len, text_mode mode, outbuf *o, text_safe *res)
{
    const unsigned char *s = (const unsigned char *)in;
    locale_t prev = locale_enter();
    bool have_locale = utf8_locale != (locale_t)0;
    int combining = -1;   /* marks on the current base; -1 when there is no base */
    uint32_t base_cp = 0; /* the current base, for variation selectors */
    bool base_has_vs = false;
    size_t i = 0;

    while (i < len) {
        uint32_t cp;
        size_t n = utf8_decode(s + i, len - i, &cp);
        if (n == 0) {
            res->flags |= TEXT_F_INVALID_UTF8;
            if (s[i] >= 0x80 && s[i] <= 0x9F)
                res->flags |= TEXT_F_C1;
            res->hidden++;
            if (o)
                res->width += put_placeholder(o, mode, s[i], true);
            combining = -1;
            i++;
            continue;
        }
        unsigned flag;
        int w;
        enum cls c = classify(cp, have_locale, &flag, &w);
        if (c == CLS_VS) {
            /* A text/emoji presentation selector right after a symbol is legitimate, but
             * terminals disagree on whether U+FE0F makes the symbol two columns wide, and
             * a width the console cannot know would shift every field after it. So it is
             * dropped (not counted as hidden): the symbol shows in its text form, whose
             * width wcwidth() knows. Anywhere else a selector only hides something. */
            if ((cp == 0xFE0E || cp == 0xFE0F) && combining == 0 && base_cp >= 0x2000 &&
                !base_has_vs) {
                base_has_vs = true;
                i += n;
                continue;
            }
            c = CLS_HIDE;
            flag = TEXT_F_VARIATION;
        }
        if (c == CLS_COMBINING) {
            if (combining < 0) {
                /* No base: it would combine with whatever the terminal drew before. */
                c = CLS_HIDE;
                flag = TEXT_F_COMBINING;
            } else if (combining >= TEXT_MAX_COMBINING) {
                res->flags |= TEXT_F_COMBINING;
                res->hidden++;
                i += n;
                continue;
            } else {
                combining++;
                if (o && mode == TEXT_UTF8)
                    out_put(o, (const char *)s + i, n);
                i += n;
                continue;
            }
        }
        if (c == CLS_HIDE) {
            res->flags |= flag;
            res->hidden++;
            if (o)
                res->width += put_placeholder(o, mode, cp, false);
            combining = -1;
            i += n;
            continue;
        }
        /* A printable character. */
        if (o) {
            if (mode == TEXT_UTF8 || cp < 0x80) {
                out_put(o, (const char *)s + i, n);
                res->width += w;
            } else {
                out_put(o, "?", 1);
                res->width += 1;
            }
        }
        combining = 0;
        base_cp = cp;
        base_has_vs = false;
        i += n;
    }
    locale_leave(prev);
}

/* Sanitises len bytes of in; see text.h. */
int text_sanitize(const char *in, size_t len, text_mode mode, text_safe *out)
{
    memset(out, 0, sizeof *out);
    /* Worst case: every byte becomes MARK "\xNN" MARK (6 bytes). */
    if (len > (SIZE_MAX - 16) / 6)
        return -1;
    outbuf o = {malloc(len * 6 + 16), 0, len * 6 + 16};
    if (!o.s)
        return -1;
    sanitize_into(in ? in : "", in ? len : 0, mode, &o, out);
    o.s[o.len] = '\0';
    /* Give back the worst case's spare room; when realloc cannot, the larger block stays
     * (and is still the one result). */
    char *shrunk = realloc(o.s, o.len + 1);
    if (shrunk)
        o.s = shrunk;
    out->s = o.s;
    out->len = o.len;
    return 0;
}

/* Sanitises a NUL-terminated string; returns the owned result or NULL. */
char *text_sanitize_str(const char *in, text_mode mode, unsigned *flags, int *width)
{
    text_safe t;
    if (text_sanitize(in, in ? strlen(in) : 0, mode, &t) != 0)
        return NULL;
    if (flags)
        *flags = t.flags;
    if (width)
        *width = t.width;
    return t.s;
}

/* Frees and zeroes a sanitised string. */
void text_safe_free(text_safe *t)
{
    if (!t)
        return;
    free(t->s);
    memset(t, 0, sizeof *t);
}

/* Returns the TEXT_F_* flags of untrusted bytes. */
unsigned text_scan(const char *in, size_t len)
{
    text_safe res;
    memset(&res, 0, sizeof res);
    sanitize_into(in ? in : "", in ? len : 0, TEXT_UTF8, NULL, &res);
    return res.flags;
}

/* ---- measuring and cutting sanitised text ------------------------------------------ */

/* Width of the (valid UTF-8) character at s of n bytes in sanitised text. */
static int safe_char_width(const unsigned char *s, size_t n, size_t *used)
{
    uint32_t cp;
    size_t k = utf8_decode(s, n, &cp);
    if (k == 0) { /* cannot happen in sanitised text; count the byte as one column */
        *used = 1;
        return 1;
    }
    *used = k;
    if (cp >= 0x20 && cp < 0x7F)
        return 1;
    int w = wcwidth((wchar_t)cp);
    return w < 0 ? 1 : w;
}

/* Display width of sanitised text, marks skipped. */
int text_width(const char *safe)
{
    if (!safe)
        return 0;
    locale_t prev = locale_enter();
    const unsigned char *s = (const unsigned char *)safe;
    size_t n = strlen(safe), i = 0;
    int w = 0;
    while (i < n) {
        if (s[i] == TEXT_MARK_ON || s[i] == TEXT_MARK_OFF) {
            i++;
            continue;
        }
        size_t used;
        w += safe_char_width(s + i, n - i, &used);
        i += used;
    }
    locale_leave(prev);
    return w;
}

/* Copies the prefix of safe that fits in cols columns; see text.h. */
int text_truncate(const char *safe, int cols, text_mode mode, char *out, size_t size)
{
    if (size == 0)
        return 0;
    out[0] = '\0';
    if (!safe || cols <= 0)
        return 0;
    int total = text_width(safe);
    bool cut = total > cols;
    int limit = cut ? cols - 1 : cols;
    const char *ellipsis = mode == TEXT_UTF8 ? "\xE2\x80\xA6" : "~";

    locale_t prev = locale_enter();
    const unsigned char *s = (const unsigned char *)safe;
    size_t n = strlen(safe), i = 0, o = 0;
    size_t room = size - 1 - (cut ? strlen(ellipsis) : 0);
    if (size - 1 < strlen(ellipsis))
        room = 0;
    int w = 0;
    while (i < n) {
        size_t unit_end = i, k;
        int unit_w = 0;
        if (s[i] == TEXT_MARK_ON) {
            /* A placeholder is copied whole or not at all. */
            const char *end = memchr(s + i, TEXT_MARK_OFF, n - i);
            unit_end = end ? (size_t)((const unsigned char *)end - s) + 1 : n;
            for (k = i + 1; k < unit_end && s[k] != TEXT_MARK_OFF;) {
                size_t used;
                unit_w += safe_char_width(s + k, unit_end - k, &used);
                k += used;
            }
        } else if (s[i] == TEXT_MARK_OFF) {
            i++;
            continue;
        } else {
            size_t used;
            unit_w = safe_char_width(s + i, n - i, &used);
            unit_end = i + used;
        }
        if (w + unit_w > limit || o + (unit_end - i) > room)
            break;
        memcpy(out + o, s + i, unit_end - i);
        o += unit_end - i;
        w += unit_w;
        i = unit_end;
    }
    locale_leave(prev);
    if (cut || i < n) {
        size_t el = strlen(ellipsis);
        if (o + el < size && w < cols) {
            memcpy(out + o, ellipsis, el);
            o += el;
            w += 1;
        }
    }
    out[o] = '\0';
    return w;
}

/* Copies sanitised text without its marks. */
size_t text_utf8_fit(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = n, cont = 0;
    while (i > 0 && cont < 3 && (u[i - 1] & 0xC0) == 0x80) {
        i--;
        cont++;
    }
    if (i == 0)
        return n; /* no lead byte: not UTF-8 to begin with, nothing to mend */
    unsigned lead = u[i - 1];
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    return cont + 1 < need ? i - 1 : n;
}

void text_strip_marks(const char *safe, char *out, size_t size)
{
    if (size == 0)
        return;
    size_t o = 0;
    for (const char *p = safe ? safe : ""; *p && o + 1 < size; p++)
        if (*p != TEXT_MARK_ON && *p != TEXT_MARK_OFF)
            out[o++] = *p;
    /* Never leave half a UTF-8 character at the end of a cut. */
    while (o > 0 && ((unsigned char)out[o - 1] & 0xC0) == 0x80) {
        size_t start = o - 1;
        while (start > 0 && ((unsigned char)out[start] & 0xC0) == 0x80)
            start--;
        uint32_t cp;
        if (utf8_decode((const unsigned char *)out + start, o - start, &cp) == o - start)
            break;
        o = start;
    }
    if (o > 0 && (unsigned char)out[o - 1] >= 0xC0)
        o--;
    out[o] = '\0';
}

/* Lists the flag classes in English. */
void text_flags_describe(unsigned flags, char *out, size_t size)
{
    static const struct {
        unsigned flag;
        const char *name;
    } names[] = {
        {TEXT_F_ESCAPE, "escape sequence"},
        {TEXT_F_C0, "control characters"},
        {TEXT_F_C1, "C1 controls"},
        {TEXT_F_DEL, "DEL"},
        {TEXT_F_BIDI, "bidi controls"},
        {TEXT_F_INVISIBLE, "zero-width/invisible"},
        {TEXT_F_TAG, "tag characters"},
        {TEXT_F_VARIATION, "stray variation selectors"},
        {TEXT_F_SEPARATOR, "line separators"},
        {TEXT_F_COMBINING, "excess combining marks"},
        {TEXT_F_PRIVATE, "private-use"},
        {TEXT_F_UNASSIGNED, "unassigned/noncharacters"},
        {TEXT_F_INVALID_UTF8, "invalid UTF-8"},
    };
    if (size == 0)
        return;
    out[0] = '\0';
    size_t o = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(flags & names[i].flag))
            continue;
        int n = snprintf(out + o, size - o, "%s%s", o ? ", " : "", names[i].name);
        if (n < 0 || (size_t)n >= size - o)
            break;
        o += (size_t)n;
    }
}

/* True when s is a valid id with the given prefix. */
bool text_valid_id(const char *s, const char *prefix)
{
    if (!s)
        return false;
    size_t n = strlen(s);
    if (n < 1 || n > 64)
        return false;
    if (prefix && strncmp(s, prefix, strlen(prefix)) != 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}
