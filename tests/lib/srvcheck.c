/* srvcheck.c: asserting request wrappers; see srvcheck.h. */
#include "tests/lib/srvcheck.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

/* Takes the body out of r (owned by the caller) and frees the rest. */
static char *take_body(testhttp_resp *r)
{
    char *b = r->body;
    r->body = NULL;
    testhttp_resp_free(r);
    return b;
}

char *testsrv_get_ok(testsrv *s, const char *path)
{
    testhttp_resp r;
    assert_int_equal(testsrv_get(s, TESTSRV_TOKEN_SUP1, path, &r), 0);
    if (r.status != 200)
        fail_msg("GET %s: %ld, not 200: %s", path, r.status, r.body ? r.body : "");
    return take_body(&r);
}

char *testsrv_post_want(testsrv *s, const char *token, const char *path, long long version,
                        const char *body, long want)
{
    testhttp_resp r;
    assert_int_equal(testsrv_post(s, token, path, version, body, &r), 0);
    if (r.status != want)
        fail_msg("POST %s: %ld, not %ld: %s", path, r.status, want, r.body ? r.body : "");
    return take_body(&r);
}

long long testsrv_version_of(testsrv *s, const char *path)
{
    char *b = testsrv_get_ok(s, path);
    long long v = testjson_int(b, "version");
    free(b);
    return v;
}

int testsrv_post_key(testsrv *s, const char *token, const char *path, const char *key,
                     const char *body, testhttp_resp *out)
{
    char url[512], kh[200];
    snprintf(url, sizeof url, "%s%s", s->url, path);
    snprintf(kh, sizeof kh, "Idempotency-Key: %s", key);
    const char *h[] = {kh, NULL};
    return testhttp("POST", url, token, h, body, out);
}

void testjson_want_str(const char *b, const char *key, const char *want)
{
    char got[128] = "";
    assert_true(testjson_str(b, key, got, sizeof got));
    assert_string_equal(got, want);
}

bool testsrv_wait_status(testsrv *s, const char *path, const char *want)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        testhttp_resp r;
        char st[32] = "";
        if (testsrv_get(s, TESTSRV_TOKEN_SUP1, path, &r) == 0)
            testjson_str(r.body, "status", st, sizeof st);
        testhttp_resp_free(&r);
        if (strcmp(st, want) == 0)
            return true;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (t1.tv_sec - t0.tv_sec > 10)
            return false;
        nanosleep(&(struct timespec){0, 20 * 1000000L}, NULL);
    }
}
