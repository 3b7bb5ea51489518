/* text.h: untrusted network text made safe to draw in a terminal.
 *
 * Every byte of text from the network passes through text_sanitize() once, on its way
 * into the store (or the server's risk rules ask text_scan() what it holds). The result
 * is valid UTF-8 (or plain ASCII in ASCII mode) in which nothing can act on a terminal:
 * C0 and C1 controls, DEL, ESC (and so every escape sequence), bidi overrides and
 * isolates, zero-width and other invisible format characters, tag characters,
 * variation selectors out of place, private-use, noncharacters, surrogates, unassigned
 * code points and invalid UTF-8 are each replaced by a visible placeholder, counted, and
 * recorded as a class flag. Combining marks are bounded per base character.
 *
 * Placeholders are wrapped in TEXT_MARK_ON ... TEXT_MARK_OFF (the bytes 0x01 and 0x02,
 * which the sanitised text can otherwise never hold) so that the drawing code can show
 * them in a distinct colour and so that a literal "␛" sent by an attacker is never
 * mistaken for one. Marks are not text: they have no width and must never be written
 * to a terminal (widgets/ turns them into attributes; text_strip_marks() removes them
 * for plain output).
 */
#ifndef DEALDESK_API_TEXT_H
#define DEALDESK_API_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TEXT_MARK_ON  '\x01'
#define TEXT_MARK_OFF '\x02'

/* Most combining marks kept on one base character; the rest are dropped and counted. */
#define TEXT_MAX_COMBINING 2

/* Classes of hostile or invisible content found (bits of text_safe.flags). */
enum text_flag {
    TEXT_F_INVALID_UTF8 = 1u << 0, /* malformed, overlong, surrogate or > U+10FFFF bytes */
    TEXT_F_C0 = 1u << 1,           /* C0 controls other than ESC (incl. NUL, CR, LF, TAB) */
    TEXT_F_ESCAPE = 1u << 2,       /* ESC: the start of an escape sequence */
    TEXT_F_DEL = 1u << 3,          /* DEL 0x7F */
    TEXT_F_C1 = 1u << 4,           /* C1 controls, as raw bytes or as U+0080..U+009F */
    TEXT_F_BIDI = 1u << 5,         /* bidi embeddings, overrides, isolates, marks */
    TEXT_F_INVISIBLE = 1u << 6,    /* zero-width, BOM, soft hyphen and other format chars */
    TEXT_F_TAG = 1u << 7,          /* Unicode tag characters U+E0000..U+E007F */
    TEXT_F_PRIVATE = 1u << 8,      /* private-use code points */
    TEXT_F_UNASSIGNED = 1u << 9,   /* unassigned, noncharacters, unprintable */
    TEXT_F_COMBINING = 1u << 10,   /* combining marks beyond the bound, or without a base */
    TEXT_F_VARIATION = 1u << 11,   /* variation selectors out of place */
    TEXT_F_SEPARATOR = 1u << 12,   /* U+2028 / U+2029 line and paragraph separators */
};

/* The flags that mean "this text tries to hide or disguise something": the marker a
 * row shows and the risk rule hidden_text fires on. */
#define TEXT_F_HIDDEN_MASK                                                                         \
    (TEXT_F_INVALID_UTF8 | TEXT_F_C0 | TEXT_F_ESCAPE | TEXT_F_DEL | TEXT_F_C1 | TEXT_F_BIDI |      \
     TEXT_F_INVISIBLE | TEXT_F_TAG | TEXT_F_VARIATION | TEXT_F_SEPARATOR | TEXT_F_COMBINING)

typedef enum text_mode {
    TEXT_UTF8,  /* output UTF-8; placeholders use Control Pictures and <U+XXXX> */
    TEXT_ASCII, /* output ASCII only; printable non-ASCII becomes '?' */
} text_mode;

/* A sanitised string. s is owned (malloc) and NUL-terminated; len excludes the NUL;
 * width is the display width in columns (marks count 0); hidden counts placeholders. */
typedef struct text_safe {
    char *s;
    size_t len;
    int width;
    unsigned flags;
    unsigned hidden;
} text_safe;

/* Picks the mode for the current locale: TEXT_UTF8 when LC_CTYPE's codeset is UTF-8.
 * Call after setlocale(). */
text_mode text_mode_from_locale(void);

/* Sanitises len bytes of in (need not be NUL-terminated; may hold NULs) into *out.
 * Returns 0, or -1 when memory ran out (then *out is zeroed). The caller frees out->s
 * with text_safe_free(). Width uses wcwidth() of the current locale when it is UTF-8,
 * and a built-in ASCII rule otherwise. */
int text_sanitize(const char *in, size_t len, text_mode mode, text_safe *out);

/* Convenience: sanitises a NUL-terminated string and returns only the owned string
 * (NULL on out of memory). *flags and *width may be NULL. */
char *text_sanitize_str(const char *in, text_mode mode, unsigned *flags, int *width);

/* Frees out->s and zeroes *out. */
void text_safe_free(text_safe *t);

/* Scans untrusted bytes and returns their TEXT_F_* flags without building output
 * (marketd's hidden_text rule). */
unsigned text_scan(const char *in, size_t len);

/* Display width of sanitised text (marks skipped). */
int text_width(const char *safe);

/* Copies the longest prefix of sanitised text that fits in cols columns into out
 * (size bytes, always NUL-terminated when size > 0), never splitting a character or a
 * placeholder; when text had to be cut, the last column holds an ellipsis ("…", or '~'
 * in ASCII mode). Returns the width of what was copied. */
int text_truncate(const char *safe, int cols, text_mode mode, char *out, size_t size);

/* The length of the longest prefix of the n bytes at s (UTF-8) that does not end inside
 * a character: a sequence cut short at the end is left out. Where to cut a text (or how
 * to mend a cut one) so that no character is cut in two. */
size_t text_utf8_fit(const char *s, size_t n);

/* Copies sanitised text into out without its marks (for stderr messages and files). */
void text_strip_marks(const char *safe, char *out, size_t size);

/* Describes the flags as a short comma-separated English list ("escape, bidi"). */
void text_flags_describe(unsigned flags, char *out, size_t size);

/* True when s is a valid contract id: 1..64 of [A-Za-z0-9_-], with the given prefix
 * (e.g. "pur_") when prefix is not NULL. */
bool text_valid_id(const char *s, const char *prefix);

#endif
