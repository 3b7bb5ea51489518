/* test_fuzz_regress.c: every crash the fuzz targets found, kept as a regression test
 * (the input is also a seed in tests/fuzz/seeds/<target>/, named regress-*).
 *
 * fuzz_market, regress-invalid-utf8-in-error: a POST body holding bytes that are not UTF-8
 * made jansson's parse error quote them; the error message was then not UTF-8, jansson
 * refused to build the answer and marketd said 500 "out of memory" instead of 400. The
 * same happened to any error message cut at its 512-byte limit inside a character. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "marketd/market.h"

/* Handles one request on m and checks a 400 bad_request whose body is a JSON object
 * with a UTF-8 message. */
static void expect_400(market *m, const market_actor *a, const char *method, const char *path,
                       const char *query, const char *body, size_t body_len)
{
    market_request rq = {.method = method,
                         .path = path,
                         .query = query,
                         .body = body,
                         .body_len = body_len,
                         .idempotency_key = "regress-1"};
    market_response rs = {0};
    market_handle(m, a, &rq, &rs);
    json_error_t je;
    json_t *j = json_loads(rs.body, 0, &je);
    if (rs.status != 400 || !j)
        fail_msg("%s %s: %d %s", method, path, rs.status, rs.body ? rs.body : "(null)");
    assert_string_equal(json_string_value(json_object_get(j, "error")), "bad_request");
    assert_non_null(json_string_value(json_object_get(j, "message")));
    json_decref(j);
    free(rs.body);
}

/* Reads a seed file (owned) and its length. */
static char *read_seed(const char *name, size_t *len)
{
    const char *dir = getenv("TESTS_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/fuzz/seeds/fuzz_market/%s", dir ? dir : "tests", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(65537);
    *len = fread(buf, 1, 65536, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static void test_invalid_utf8_in_error_messages(void **state)
{
    (void)state;
    char err[256];
    market_options opt = {.db_path = ":memory:", .decide_timeout_s = 3600};
    market *m = market_open(&opt, err, sizeof err);
    assert_non_null(m);
    market_actor sup = {.role = ROLE_SUPERVISOR, .name = "sup1"};
    market_actor agent = {.role = ROLE_AGENT, .name = "agt_1", .agent_id = "agt_1"};

    /* The fuzzer's input, as it found it: actor byte, then path \0 query \0 body. */
    size_t len = 0;
    char *seed = read_seed("regress-invalid-utf8-in-error", &len);
    assert_non_null(seed);
    const char *path = seed + 1;
    const char *body = path + strlen(path) + 1;
    body += strlen(body) + 1; /* skip the (empty) query */
    expect_400(m, &sup, "POST", path, NULL, body, strlen(body));
    expect_400(m, &agent, "POST", path, NULL, body, strlen(body));
    free(seed);

    /* The same family: raw invalid bytes, a cut sequence, an overlong form and a
     * surrogate inside a JSON text that does not parse. */
    static const char *const bodies[] = {"{\"reason\":\"\xff\xfe\"", "{\"reason\":\"\xe2\x82\"",
                                         "{\"reason\" \xc0\xaf}", "{\"reason\":\"\xed\xa0\x80\"",
                                         "\xf5\x80\x80\x80"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
        expect_400(m, &sup, "POST", "/v1/fleet/halt", NULL, bodies[i], strlen(bodies[i]));
    /* An error message that quotes a long multi-byte value is cut at its limit, never
     * inside a character. */
    char q[2100] = "status=";
    for (size_t i = strlen(q); i + 2 < sizeof q - 1; i += 2)
        memcpy(q + i, "\xc3\xa9", 2);
    q[sizeof q - 1] = '\0';
    expect_400(m, &sup, "GET", "/v1/purchases", q, NULL, 0);
    for (int shift = 0; shift < 3; shift++) {
        char q2[2200];
        snprintf(q2, sizeof q2, "status=%.*s%s", shift, "xx", q + 7);
        expect_400(m, &sup, "GET", "/v1/purchases", q2, NULL, 0);
    }
    market_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invalid_utf8_in_error_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
