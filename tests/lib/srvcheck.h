/* srvcheck.h: asserting wrappers over testsrv_get/testsrv_post for cmocka tests against a
 * real marketd (tests/lib/testsrv.h). Each fails the running test (fail_msg, naming the
 * path, the status and the body) when the request cannot be made or answers another
 * status, so that a test reads as the calls it makes. Use only inside a cmocka test.
 */
#ifndef DEALDESK_TESTS_SRVCHECK_H
#define DEALDESK_TESTS_SRVCHECK_H

#include <stdbool.h>

#include "tests/lib/testsrv.h"

/* GETs path on s as sup1, asserts 200 and returns the body (owned). */
char *testsrv_get_ok(testsrv *s, const char *path);

/* POSTs body to path on s as token (If-Match: version when > 0; a fresh Idempotency-Key),
 * asserts status want and returns the body (owned). */
char *testsrv_post_want(testsrv *s, const char *token, const char *path, long long version,
                        const char *body, long want);

/* The version of the object at path on s (GETs it as sup1, asserting 200). */
long long testsrv_version_of(testsrv *s, const char *path);

/* POSTs body to s->url + path as token with Idempotency-Key: key (no If-Match), for a
 * test that replays a key. Returns like testhttp (tests/lib/testsrv.h). */
int testsrv_post_key(testsrv *s, const char *token, const char *path, const char *key,
                     const char *body, testhttp_resp *out);

/* Asserts that string field key of JSON text b is present and is want. */
void testjson_want_str(const char *b, const char *key, const char *want);

/* Polls path on s as sup1 until the object's status is want, 10 s at most (20 ms between
 * reads); returns whether it got there. Asserts nothing: the caller does. */
bool testsrv_wait_status(testsrv *s, const char *path, const char *want);

#endif
