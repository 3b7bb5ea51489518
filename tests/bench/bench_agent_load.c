/* bench_agent_load.c: what one busy seller costs marketd (issue 11, item 8).
 *
 *   listing time   sellers post LISTINGS listings, rotating through CATEGORIES
 *                  categories (more than the reference-price windows marketd holds in
 *                  memory), each seller PER_SELLER of them (under the cap of open
 *                  listings): the mean round trip of a listing over the first and the
 *                  last thousand (the cost must not grow with the listings)
 *   bytes/listing  BIG listings with a 4,000-byte description: growth of the database
 *                  file (after marketd's clean stop, which checkpoints the WAL) per listing
 *
 * Usage: bench_agent_load [LISTINGS]   (default 10000). MARKETD_BIN defaults to
 * build/marketd; BENCH_MARKETD_ARGS (default "--agent-rate 0": sellers past the per-agent
 * rate limit, on purpose) are marketd's arguments,
 * so that an older marketd can be measured with BENCH_MARKETD_ARGS="". Prints one line
 * per figure and BENCH| lines for tests/bench/run.sh.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/lib/proc.h"
#include "tests/lib/testsrv.h"

#define CATEGORIES 300
#define BLOCK      1000
#define BIG        900
#define PER_SELLER 900

/* Posts one listing as token; returns its round trip in ms, or -1 on a failure. */
static double post_listing(testsrv *s, const char *token, int cat, int price, const char *desc)
{
    static char body[4600];
    snprintf(body, sizeof body,
             "{\"title\":\"Item %d\",\"description\":\"%s\",\"category\":\"cat-%d\","
             "\"unit_price_minor\":%d,\"currency\":\"USD\",\"quantity\":1}",
             price, desc, cat, price);
    testhttp_resp r;
    double t0 = tproc_now_s();
    int rc = testsrv_post(s, token, "/v1/listings", 0, body, &r);
    double ms = (tproc_now_s() - t0) * 1000.0;
    bool ok = rc == 0 && r.status == 201;
    if (!ok)
        fprintf(stderr, "bench_agent_load: listing: %ld %s\n", r.status, r.body ? r.body : "");
    testhttp_resp_free(&r);
    return ok ? ms : -1;
}

/* The size of a file in bytes, or -1. */
static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Listing time at many categories: prints and returns 0, or -1. */
static int listing_time(const char *args, int n)
{
    testsrv s;
    testsrv_market t;
    if (testsrv_start(&s, args) != 0)
        return -1;
    double first = 0, last = 0;
    int nfirst = 0, nlast = 0;
    for (int i = 0; i < n; i++) {
        double ms = i % PER_SELLER == 0 && testsrv_market_setup(&s, &t, 0) != 0
                        ? -1
                        : post_listing(&s, t.seller_token, i % CATEGORIES, 1000 + i % 977, "d");
        if (ms < 0) {
            testsrv_stop(&s);
            return -1;
        }
        if (i < BLOCK)
            first += ms, nfirst++;
        if (i >= n - BLOCK)
            last += ms, nlast++;
    }
    testsrv_stop(&s);
    printf("listing time, %d categories: first %d listings %.2f ms each, last %d (up to %d "
           "listings) %.2f ms each\n",
           CATEGORIES, nfirst, first / nfirst, nlast, n, last / nlast);
    printf("BENCH|marketd|listing, %d categories, at %dk listings|%.2f|ms|before issue 11: 33 ms "
           "at 9.6k, first 1k %.2f ms|info\n",
           CATEGORIES, n / 1000, last / nlast, first / nfirst);
    return 0;
}

/* Bytes on disk per 4 KB listing: prints and returns 0, or -1. */
static int bytes_per_listing(const char *args)
{
    testsrv s;
    testsrv_market t;
    if (testsrv_start(&s, args) != 0 || testsrv_market_setup(&s, &t, 0) != 0)
        return -1;
    static char desc[4001];
    memset(desc, 'x', 4000);
    desc[4000] = '\0';
    /* one listing first, so that the tables' first pages are already there */
    if (post_listing(&s, t.seller_token, 0, 1000, desc) < 0 || testsrv_terminate(&s) != 0)
        return -1;
    long long size0 = file_size(s.db);
    if (testsrv_restart(&s) != 0)
        return -1;
    for (int i = 0; i < BIG; i++)
        if (post_listing(&s, t.seller_token, i % CATEGORIES, 1000 + i, desc) < 0) {
            testsrv_stop(&s);
            return -1;
        }
    if (testsrv_terminate(&s) != 0)
        return -1;
    long long size1 = file_size(s.db);
    testsrv_stop(&s); /* removes the folder */
    double per = (double)(size1 - size0) / BIG;
    printf("bytes on disk: %d listings with a 4,000-byte description grew the database from "
           "%lld to %lld bytes: %.0f bytes per listing\n",
           BIG, size0, size1, per);
    printf("BENCH|marketd|bytes on disk per 4 KB listing|%.0f|bytes|before issue 11: object, "
           "event and stored answer each held it|info\n",
           per);
    return 0;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 10000;
    if (n < BLOCK)
        n = BLOCK;
    if (!getenv("MARKETD_BIN"))
        setenv("MARKETD_BIN", "build/marketd", 1);
    const char *args = getenv("BENCH_MARKETD_ARGS");
    if (!args)
        args = "--agent-rate 0";
    if (bytes_per_listing(args) != 0 || listing_time(args, n) != 0) {
        fprintf(stderr, "bench_agent_load: failed\n");
        return 1;
    }
    return 0;
}
