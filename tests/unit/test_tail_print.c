/* test_tail_print.c: `dealdesk tail`'s fast path (issue 14). An event json_decode_event
 * accepted is printed as received when json_event_verbatim says so, else re-encoded by
 * json_print_event. For the hostile corpus (as listing titles, in several spellings and
 * layouts) and for random events, the fast path's line parsed by jansson equals the slow
 * path's, holds nothing but printable ASCII and its newline, and is the received text
 * itself whenever the fast path was taken.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "api/json.h"
#include "tests/lib/hostile.h"

#define AT "2026-11-26T10:02:11.345Z"

/* What one printer wrote for raw (owned, NUL-terminated), and its return code. */
static char *printed(int (*fn)(FILE *, const char *, size_t), const char *raw, size_t len, int *rc,
                     size_t *outlen)
{
    char *out = NULL;
    FILE *f = open_memstream(&out, outlen);
    assert_non_null(f);
    *rc = fn(f, raw, len);
    assert_int_equal(fclose(f), 0);
    return out;
}

/* Checks one event text the decoder accepted (or valid JSON built by jansson): both
 * printers succeed, their lines mean the same to jansson, the fast one is printable ASCII
 * and one newline, and it is raw itself when json_event_verbatim holds. Returns whether
 * the fast path was taken. */
static bool check_event(const char *raw, size_t len, const char *what)
{
    int rs, rf;
    size_t ls, lf;
    char *slow = printed(json_print_event, raw, len, &rs, &ls);
    char *fast = printed(json_print_event_decoded, raw, len, &rf, &lf);
    if (rs != 0 || rf != 0)
        fail_msg("%s: printers returned %d/%d for %.*s", what, rs, rf, (int)len, raw);
    for (size_t i = 0; i < lf; i++) {
        unsigned char b = (unsigned char)fast[i];
        if ((b < 0x20 || b > 0x7e) && !(b == '\n' && i == lf - 1))
            fail_msg("%s: byte 0x%02x at %zu printed raw: %s", what, b, i, fast);
    }
    if (lf == 0 || fast[lf - 1] != '\n')
        fail_msg("%s: not one line: %s", what, fast);
    json_error_t e1, e2;
    json_t *a = json_loadb(slow, ls, JSON_ALLOW_NUL, &e1);
    json_t *b = json_loadb(fast, lf, JSON_ALLOW_NUL, &e2);
    if (!a || !b)
        fail_msg("%s: not JSON: %s / %s", what, a ? "" : e1.text, b ? "" : e2.text);
    if (!json_equal(a, b))
        fail_msg("%s: meanings differ:\n slow %s fast %s", what, slow, fast);
    bool verbatim = json_event_verbatim(raw, len);
    if (verbatim && (lf != len + 1 || memcmp(fast, raw, len) != 0))
        fail_msg("%s: the fast path did not print the text as received: %s", what, fast);
    if (!verbatim && (lf != ls || memcmp(fast, slow, ls) != 0))
        fail_msg("%s: the slow path differs from json_print_event: %s", what, fast);
    json_decref(a);
    json_decref(b);
    free(slow);
    free(fast);
    return verbatim;
}

/* A listing.updated event at seq with title (JSON text of a string), in one of four
 * layouts: 0 compact, 1 spaces around every token, 2 keys in another order, 3 an extra
 * key. Returns an owned string. */
static char *listing_event(int seq, const char *title, int layout)
{
    static const char data[] =
        "{\"id\":\"lst_1\",\"version\":%d,\"seller_id\":\"agt_1\",\"title\":%s,\"description\":"
        "\"d\",\"category\":\"compute\",\"unit_price_minor\":1250,\"currency\":\"USD\","
        "\"quantity\":100,\"reference_price_minor\":1200,\"floor_minor\":900,\"status\":\"open\","
        "\"created_at\":\"" AT "\",\"updated_at\":\"" AT "\"}";
    size_t n = strlen(title) + sizeof data + 64, m = n + 160;
    char *d = malloc(n), *e = malloc(m);
    assert_true(d && e);
    snprintf(d, n, data, seq, title);
    if (layout == 0)
        snprintf(e, m, "{\"seq\":%d,\"type\":\"listing.updated\",\"at\":\"" AT "\",\"data\":%s}",
                 seq, d);
    else if (layout == 1)
        snprintf(e, m,
                 "{ \"seq\" : %d , \"type\" : \"listing.updated\" , \"at\" : \"" AT
                 "\" , \"data\" : %s }",
                 seq, d);
    else if (layout == 2)
        snprintf(e, m, "{\"type\":\"listing.updated\",\"seq\":%d,\"at\":\"" AT "\",\"data\":%s}",
                 seq, d);
    else
        snprintf(e, m,
                 "{\"seq\":%d,\"type\":\"listing.updated\",\"at\":\"" AT
                 "\",\"data\":%s,\"x\":[1]}",
                 seq, d);
    free(d);
    return e;
}

/* The text as a JSON string, by hand: only '"' and '\\' escaped, every other byte raw
 * (DEL, C1 and invalid UTF-8 included). Owned. */
static char *raw_string(const char *s, size_t len)
{
    char *o = malloc(2 * len + 3), *p = o;
    assert_non_null(o);
    *p++ = '"';
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\')
            *p++ = '\\';
        *p++ = s[i];
    }
    *p++ = '"';
    *p = '\0';
    return o;
}

/* Every case of the hostile corpus as a listing title, spelled by jansson with and
 * without JSON_ENSURE_ASCII and by hand, in each layout: every event the decoder accepts
 * prints the same meaning by both paths. */
static void test_hostile_corpus(void **state)
{
    (void)state;
    hostile_case *cases;
    int n = hostile_load(NULL, &cases);
    assert_true(n >= 40);
    int seq = 1, accepted = 0, fast = 0;
    for (int i = 0; i < n; i++) {
        json_t *js = json_stringn(cases[i].bytes, cases[i].len); /* NULL: not UTF-8 */
        char *spell[3] = {
            js ? json_dumps(js, JSON_ENCODE_ANY | JSON_ENSURE_ASCII) : NULL,
            js ? json_dumps(js, JSON_ENCODE_ANY) : NULL,
            raw_string(cases[i].bytes, cases[i].len),
        };
        for (int s = 0; s < 3; s++) {
            for (int layout = 0; spell[s] && layout < 4; layout++) {
                char *ev = listing_event(seq++, spell[s], layout), err[256], what[128];
                model_event me;
                size_t len = strlen(ev);
                bool has_raw = false;
                for (size_t k = 0; k < len; k++)
                    has_raw |= (unsigned char)ev[k] < 0x20 || (unsigned char)ev[k] > 0x7e;
                if (has_raw || layout >= 2)
                    assert_false(json_event_verbatim(ev, len));
                if (json_decode_event("listing.updated", ev, len, TEXT_UTF8, &me, err,
                                      sizeof err) == JSON_OK) {
                    model_event_free(&me);
                    snprintf(what, sizeof what, "%s spelling %d layout %d", cases[i].name, s,
                             layout);
                    accepted++;
                    fast += check_event(ev, len, what);
                }
                free(ev);
            }
            free(spell[s]);
        }
        json_decref(js);
    }
    hostile_free(cases, n);
    /* every case spelled in ASCII escapes, compact or spaced, takes the fast path */
    assert_true(accepted >= 4 * n);
    assert_true(fast >= 2 * n);
}

/* ---- random events ---------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

/* The next random number (xorshift64*). */
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

/* Appends code point cp as UTF-8. */
static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* A random string: mostly printable ASCII (quotes and backslashes included), sometimes a
 * C0 control, NUL, DEL, a C1 control, a bidi or invisible character, an emoji. */
static json_t *rnd_string(void)
{
    static const uint32_t odd[] = {0x00,   0x07,   0x1b,   0x0a,   0x7f,   0x85,   0x9b,
                                   0x9f,   0xe9,   0x202e, 0x2066, 0x200d, 0xfeff, 0x1f600,
                                   0x2028, 0xfffd, '"',    '\\',   '/',    0x3000};
    char buf[200];
    size_t n = 0, want = rnd() % 24;
    for (size_t i = 0; i < want; i++) {
        uint64_t r = rnd() % 100;
        uint32_t cp = r < 85 ? (uint32_t)(0x20 + rnd() % 95) : odd[rnd() % (sizeof odd / 4)];
        n += put_utf8(buf + n, cp);
    }
    return json_stringn(buf, n);
}

/* A random JSON value, nested at most depth deep. */
static json_t *rnd_value(int depth)
{
    switch (rnd() % (depth > 0 ? 8 : 6)) {
        case 0: return rnd_string();
        case 1: return json_integer((json_int_t)(rnd() >> (rnd() % 64)) * (rnd() % 2 ? 1 : -1));
        case 2: return json_real((double)(int64_t)rnd() / (double)(1 + rnd() % 100000));
        case 3: return rnd() % 2 ? json_true() : json_false();
        case 4: return json_null();
        case 5: return rnd_string();
        case 6: {
            json_t *a = json_array();
            for (int i = (int)(rnd() % 5); i > 0; i--)
                json_array_append_new(a, rnd_value(depth - 1));
            return a;
        }
        default: {
            json_t *o = json_object();
            for (int i = (int)(rnd() % 5); i > 0; i--) {
                json_t *k = rnd_string();
                const char *ks = json_string_value(k);
                if (strlen(ks) == json_string_length(k)) /* jansson keys hold no NUL */
                    json_object_set_new(o, ks, rnd_value(depth - 1));
                json_decref(k);
            }
            return o;
        }
    }
}

/* Random events {seq, type, at, data} (sometimes without "at", with an extra key, or
 * with "type" first), written by jansson compact or spaced, in ASCII escapes or raw
 * UTF-8 (DEL always raw): both paths print the same meaning. */
static void test_random_events(void **state)
{
    (void)state;
    static const size_t flags[] = {JSON_COMPACT | JSON_ENSURE_ASCII, JSON_COMPACT,
                                   JSON_ENSURE_ASCII, 0};
    int fast = 0, total = 20000;
    for (int i = 0; i < total; i++) {
        json_t *e = json_object();
        int shape = (int)(rnd() % 8);
        if (shape == 5)
            json_object_set_new(e, "type", json_string("listing.updated"));
        json_object_set_new(e, "seq", json_integer(i + 1));
        json_object_set_new(e, "type", json_string("listing.updated"));
        if (shape != 6)
            json_object_set_new(e, "at", rnd() % 4 ? json_string(AT) : rnd_value(0));
        json_object_set_new(e, "data", rnd_value(4));
        if (shape == 7)
            json_object_set_new(e, "extra", rnd_value(2));
        char *raw = json_dumps(e, flags[rnd() % 4] | JSON_PRESERVE_ORDER);
        assert_non_null(raw);
        char what[32];
        snprintf(what, sizeof what, "random event %d", i);
        fast += check_event(raw, strlen(raw), what);
        free(raw);
        json_decref(e);
    }
    assert_true(fast > total / 10); /* both paths are exercised */
    assert_true(fast < total);
}

/* The text as received is what the verbatim check reads: a key spelled with an escape,
 * a leading space, a raw DEL, a raw C1 byte each send the event through the slow path. */
static void test_verbatim_boundaries(void **state)
{
    (void)state;
    static const struct {
        const char *raw;
        bool verbatim;
    } cases[] = {
        {"{\"seq\":1,\"type\":\"t\",\"at\":\"" AT "\",\"data\":{\"a\":\"}\\\"{\"}}", true},
        {"{\"seq\":1,\"type\":\"t\",\"at\":null,\"data\":[1,{\"b\":[]},\"]\"]}", true},
        {"{\"seq\":1,\"type\":\"t\",\"at\":\"x\",\"data\":\"\\u001b[2J\\u009b\"}", true},
        {"{\"s\\u0065q\":1,\"type\":\"t\",\"at\":\"x\",\"data\":1}", false},
        {" {\"seq\":1,\"type\":\"t\",\"at\":\"x\",\"data\":1}", false},
        {"{\"seq\":1,\"type\":\"t\",\"at\":\"x\",\"data\":\"a\x7f\"}", false},
        {"{\"seq\":1,\"type\":\"t\",\"at\":\"x\",\"data\":\"a\xc2\x9b\"}", false},
        {"{\"seq\":1,\"type\":\"t\",\"at\":\"x\",\"data\":1,\"data2\":2}", false},
        {"{\"seq\":1,\"type\":\"t\",\"at\":\"x\"}", false},
        {"{\"seq\":1,\"type\":\"t\",\"data\":1}", false},
        {"{\"seq\":1,\"type\":\"t\",\"at\":\"x\",\"data\":1}\t", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = strlen(cases[i].raw);
        if (json_event_verbatim(cases[i].raw, len) != cases[i].verbatim)
            fail_msg("case %zu: %s", i, cases[i].raw);
        check_event(cases[i].raw, len, cases[i].raw);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verbatim_boundaries),
        cmocka_unit_test(test_hostile_corpus),
        cmocka_unit_test(test_random_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
