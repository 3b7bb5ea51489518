/* test_sse.c: the SSE parser against a corpus of streams (tests/data/sse/NAME.txt with
 * NAME.expected, written by an independent reference parser), fed whole, byte by byte and
 * at random split points; all must give exactly the expected events. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/sse.h"

typedef struct out {
    char *s;
    size_t len, cap;
} out;

/* Appends formatted text to o. */
static void out_add(out *o, const char *t, size_t n)
{
    if (o->len + n + 1 > o->cap) {
        o->cap = (o->len + n + 1) * 2;
        o->s = realloc(o->s, o->cap);
        assert_non_null(o->s);
    }
    memcpy(o->s + o->len, t, n);
    o->len += n;
    o->s[o->len] = '\0';
}

/* Appends bytes escaped the way the .expected files are. */
static void out_esc(out *o, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)b[i];
        char t[8];
        if (c == '\\')
            out_add(o, "\\\\", 2);
        else if (c == '\n')
            out_add(o, "\\n", 2);
        else if (c == '\r')
            out_add(o, "\\r", 2);
        else if (c >= 32 && c < 127)
            out_add(o, (const char *)&c, 1);
        else {
            snprintf(t, sizeof t, "\\x%02x", c);
            out_add(o, t, 4);
        }
    }
}

/* The event callback: one line per event. */
static void on_event(void *ud, const sse_event *ev)
{
    out *o = ud;
    out_esc(o, ev->type, strlen(ev->type));
    out_add(o, "|", 1);
    out_esc(o, ev->id, strlen(ev->id));
    out_add(o, "|", 1);
    out_esc(o, ev->data, ev->datalen);
    out_add(o, "\n", 1);
    assert_int_equal(ev->data[ev->datalen], '\0');
}

/* Reads a whole file; returns owned bytes. */
static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *b = NULL;
    size_t cap = 0, len = 0;
    for (;;) {
        if (len + 4096 > cap) {
            cap = (len + 4096) * 2;
            b = realloc(b, cap);
            assert_non_null(b);
        }
        size_t r = fread(b + len, 1, cap - len - 1, f);
        if (r == 0)
            break;
        len += r;
    }
    fclose(f);
    b[len] = '\0';
    *n = len;
    return b;
}

/* Runs one stream through a parser with the given split sizes (splits == NULL: whole;
 * mode 1: byte by byte; mode 2: random with seed). Returns the rendered output. */
static char *run(const char *in, size_t n, int mode, unsigned seed)
{
    out o = {0};
    out_add(&o, "", 0);
    sse_parser *p = sse_new(4096, on_event, &o);
    assert_non_null(p);
    size_t i = 0;
    srand(seed);
    while (i < n) {
        size_t k = n - i;
        if (mode == 1)
            k = 1;
        else if (mode == 2)
            k = 1 + (size_t)rand() % 7 + ((rand() % 4 == 0) ? (size_t)rand() % 600 : 0);
        if (k > n - i)
            k = n - i;
        assert_int_equal(sse_feed(p, in + i, k), 0);
        i += k;
    }
    char t[64];
    snprintf(t, sizeof t, "retry=%lld\ndropped=%llu\n", (long long)sse_retry_ms(p),
             (unsigned long long)sse_dropped_events(p));
    out_add(&o, t, strlen(t));
    sse_free(p);
    return o.s;
}

static void test_corpus(void **state)
{
    (void)state;
    const char *top = getenv("TESTS_DIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/data/sse", top ? top : "tests");
    DIR *d = opendir(dir);
    assert_non_null(d);
    int files = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".txt") != 0)
            continue;
        char path[8192], exp[8192];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        snprintf(exp, sizeof exp, "%s/%.*s.expected", dir, (int)(l - 4), e->d_name);
        size_t n, en;
        char *in = slurp(path, &n);
        char *want = slurp(exp, &en);
        char *whole = run(in, n, 0, 0);
        if (strcmp(whole, want) != 0)
            fail_msg("%s whole:\n%s\nwant:\n%s", e->d_name, whole, want);
        char *bytes = run(in, n, 1, 0);
        assert_string_equal(bytes, want);
        for (unsigned seed = 1; seed <= 50; seed++) {
            char *r = run(in, n, 2, seed);
            if (strcmp(r, want) != 0)
                fail_msg("%s seed %u:\n%s\nwant:\n%s", e->d_name, seed, r, want);
            free(r);
        }
        free(whole);
        free(bytes);
        free(in);
        free(want);
        files++;
    }
    closedir(d);
    assert_true(files >= 15);
}

/* A reconnection keeps the last id and retry, drops the partial event, expects a BOM. */
static void test_reset_keeps_id(void **state)
{
    (void)state;
    out o = {0};
    out_add(&o, "", 0);
    sse_parser *p = sse_new(0, on_event, &o);
    const char a[] = "retry: 700\nid: 1:5\ndata: x\n\ndata: partial\n";
    sse_feed(p, a, sizeof a - 1);
    sse_reset(p);
    const char b[] = "\xef\xbb\xbf\ndata: y\n\n";
    sse_feed(p, b, sizeof b - 1);
    assert_string_equal(o.s, "message|1:5|x\nmessage|1:5|y\n");
    assert_string_equal(sse_last_id(p), "1:5");
    assert_int_equal(sse_retry_ms(p), 700);
    sse_free(p);
    free(o.s);
}

/* A long stream of oversize junk never grows the parser past its bound. */
static void test_bounded(void **state)
{
    (void)state;
    out o = {0};
    out_add(&o, "", 0);
    sse_parser *p = sse_new(1024, on_event, &o);
    char junk[4096];
    memset(junk, 'a', sizeof junk);
    memcpy(junk, "data: ", 6);
    for (int i = 0; i < 2000; i++) /* 8 MB in one line */
        assert_int_equal(sse_feed(p, junk + (i ? 6 : 0), sizeof junk - (i ? 6 : 0)), 0);
    sse_feed(p, "\n\ndata: fine\n\n", 14);
    assert_string_equal(o.s, "message||fine\n");
    assert_int_equal(sse_dropped_events(p), 1);
    assert_int_equal(sse_dropped_lines(p), 1);
    sse_free(p);
    free(o.s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),
        cmocka_unit_test(test_reset_keeps_id),
        cmocka_unit_test(test_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
