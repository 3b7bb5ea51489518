/* test_marketd_search.c: a search (q=, docs/api.md: a case-insensitive substring of the
 * searchable text) gives exactly the rows a plain substring scan gives, in the same
 * order, page by page, however the SQLite engine asks its trigram index
 * (marketd/store_sqlite_search.c: the phrase, or the rarest trigrams confirmed by the
 * row's text; store_sqlite.c: led by the index or by a sort's index).
 *
 * A real SQLite market (in memory) of generated listings whose texts are random strings
 * of a few common letters, digits, repeats, a double quote and a two-byte character, so
 * that some trigrams are in nearly every row and others in a few; searched for random
 * substrings of them and random strings, newest first, oldest first, and by price with a
 * status, each compared with a scan of the same texts in C. The generator is seeded: a
 * failure names the query and repeats.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "marketd/store.h"

#define NROWS   6000
#define NQUERY  300
#define PAGE    40
#define MAX_CMP 400 /* rows compared at most per query (its first pages) */

static const store_seed seed = {"0123456789abcdef", "{\"status\":\"running\"}"};

typedef struct row {
    char text[96];
    int64_t price;
    bool open;
} row;

static row rows[NROWS + 1]; /* by order: rows[1] is the first stored */

static uint64_t rng_state = 0x5eed5eedULL;
static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng_state >> 33) % n;
}

/* One piece of a text: mostly common letters, some digits, a repeat, a quote or "é". */
static const char *piece(void)
{
    static const char *const common[] = {"a", "b", " ", "ab", "ba", "lot "};
    static char d[2];
    uint32_t r = rnd(100);
    if (r < 70)
        return common[rnd(6)];
    if (r < 92) {
        d[0] = (char)('0' + rnd(10));
        d[1] = '\0';
        return d;
    }
    if (r < 95)
        return "zzzz";
    if (r < 97)
        return "\"";
    return "\xc3\xa9"; /* é */
}

static int setup(void **state)
{
    char err[256] = "";
    store *s = store_sqlite.open(":memory:", &seed, err, sizeof err);
    if (!s) {
        fprintf(stderr, "open: %s\n", err);
        return -1;
    }
    if (STORE(s, begin, false) != 0)
        return -1;
    for (int i = 1; i <= NROWS; i++) {
        row *r = &rows[i];
        char id[32], json[64];
        snprintf(id, sizeof id, "lst_%d", i);
        snprintf(r->text, sizeof r->text, "%s\n", id);
        int len = 4 + (int)rnd(16);
        for (int k = 0; k < len && strlen(r->text) + 6 < sizeof r->text; k++)
            strcat(r->text, piece());
        r->price = rnd(20);
        r->open = rnd(2);
        snprintf(json, sizeof json, "{\"id\":\"%s\"}", id);
        store_object o = {"listing",
                          id,
                          r->open ? "open" : "sold",
                          "agt_1",
                          NULL,
                          -1,
                          i,
                          json,
                          0,
                          {.has_k1 = true, .k1 = r->price, .has_upd = true, .upd = i},
                          r->text};
        if (STORE(s, object_put, &o) != 0)
            return -1;
    }
    if (s->ops->commit(s) != 0)
        return -1;
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    store *s = *state;
    s->ops->close(s);
    return 0;
}

/* The orders a page gave. */
typedef struct got {
    int64_t ord[MAX_CMP + PAGE];
    int n;
} got;
static int take(void *ud, const char *text, int64_t n)
{
    (void)text;
    got *g = ud;
    if (g->n < MAX_CMP + PAGE)
        g->ord[g->n++] = n;
    return 0;
}

/* How page q's sort orders two rows: <0 when a comes first. */
static int sort_cmp(const store_page *q, int64_t a, int64_t b)
{
    if (q->col == STORE_K1 && rows[a].price != rows[b].price)
        return (rows[a].price < rows[b].price) == q->desc ? 1 : -1;
    return (a < b) == q->desc ? 1 : -1;
}

/* The first MAX_CMP rows holding q->q in q's sort and status, by a scan: how many. */
static int expected(const store_page *q, int64_t *out)
{
    int n = 0;
    for (int64_t i = 1; i <= NROWS; i++) {
        if (!strstr(rows[i].text, q->q) || (q->status && !rows[i].open))
            continue;
        int k = n;
        while (k > 0 && sort_cmp(q, i, out[k - 1]) < 0)
            k--;
        if (k >= MAX_CMP)
            continue;
        int keep = n < MAX_CMP ? n : MAX_CMP - 1; /* the rows kept after k move down one */
        memmove(&out[k + 1], &out[k], (size_t)(keep - k) * sizeof out[0]);
        out[k] = i;
        n = keep + 1;
    }
    return n;
}

/* Reads q page by page (the cursor of each page's last row) up to MAX_CMP rows. */
static int search(store *s, store_page q, got *g)
{
    g->n = 0;
    for (;;) {
        int before = g->n;
        int n = STORE(s, objects_page, &q, take, g);
        assert_true(n >= 0);
        if (n < q.limit || g->n >= MAX_CMP)
            break;
        int64_t last = g->ord[g->n - 1];
        assert_true(g->n > before);
        q.after = last;
        q.has_key = q.col != STORE_ORD;
        q.key = rows[last].price;
    }
    return g->n < MAX_CMP ? g->n : MAX_CMP;
}

/* Compares one search with the scan. */
static void check(store *s, const store_page *q)
{
    static int64_t want[MAX_CMP];
    got g;
    int n = expected(q, want), m = search(s, *q, &g);
    if (n != m || memcmp(want, g.ord, (size_t)n * sizeof want[0]) != 0) {
        fprintf(stderr, "q=\"%s\" col %d desc %d status %s: scan %d rows, search %d\n", q->q,
                (int)q->col, (int)q->desc, q->status ? q->status : "-", n, m);
        for (int i = 0; i < n || i < m; i++)
            if (i >= n || i >= m || want[i] != g.ord[i]) {
                fprintf(stderr, "  first difference at %d: scan %lld, search %lld\n", i,
                        i < n ? (long long)want[i] : -1LL, i < m ? (long long)g.ord[i] : -1LL);
                break;
            }
        fail();
    }
}

/* A query: a substring of a row's text (whole characters), or a random string. */
static void make_query(char *out, size_t size)
{
    if (rnd(10) < 7) {
        const char *t = rows[1 + rnd(NROWS)].text;
        size_t len = strlen(t), start, n;
        do {
            start = rnd((uint32_t)len);
        } while (((unsigned char)t[start] & 0xc0) == 0x80);
        n = 3 + rnd(12);
        if (start + n > len)
            n = len - start;
        while (start + n < len && ((unsigned char)t[start + n] & 0xc0) == 0x80)
            n++;
        snprintf(out, size, "%.*s", (int)n, t + start);
    } else {
        out[0] = '\0';
        int k = 2 + (int)rnd(5);
        for (int i = 0; i < k && strlen(out) + 6 < size; i++)
            strcat(out, piece());
    }
}

/* Three characters at least (the contract's shortest q=). */
static bool long_enough(const char *q)
{
    int chars = 0;
    for (const unsigned char *c = (const unsigned char *)q; *c; c++)
        chars += (*c & 0xc0) != 0x80;
    return chars >= 3;
}

static void test_search_is_a_substring_scan(void **state)
{
    store *s = *state;
    static const char *const fixed[] = {"lst_", "lot ",   "lot 1",   "zzzz",
                                        "zzz",  "\"\"\"", "a\"b",    "\xc3\xa9\xc3\xa9\xc3\xa9",
                                        "\nab", "lst_59", "t_5999\n"};
    int asked = 0, matched = 0;
    for (int i = 0; i < NQUERY + (int)(sizeof fixed / sizeof fixed[0]); i++) {
        char text[64];
        if (i < (int)(sizeof fixed / sizeof fixed[0]))
            snprintf(text, sizeof text, "%s", fixed[i]);
        else
            make_query(text, sizeof text);
        if (!long_enough(text))
            continue;
        store_page q = {.kind = "listing", .limit = PAGE, .desc = true, .q = text};
        check(s, &q); /* newest first: the console's search */
        q.desc = false;
        check(s, &q); /* oldest first */
        q = (store_page){.kind = "listing",
                         .limit = PAGE,
                         .col = STORE_K1,
                         .desc = true,
                         .status = "open",
                         .q = text};
        check(s, &q); /* a sort and a status */
        int64_t want[MAX_CMP];
        matched += expected(&q, want) > 0;
        asked++;
    }
    printf("%d queries, %d with rows\n", asked, matched);
    assert_true(asked > NQUERY / 2 && matched > asked / 4); /* the generator is no void */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_search_is_a_substring_scan, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
