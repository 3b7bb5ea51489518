/* test_json_canon.c: RFC 8785 canonical JSON (api/json_canon.h) with the RFC's own
 * examples (its sections 3.2.2 and 3.2.3, the numbers of its appendix B) and edge cases,
 * and the console's SHA-256 (api/sha256.h) against FIPS 180-4's vectors and marketd's
 * OpenSSL one (marketd/crypto.c), since both programs hash the audit chain. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "api/json_audit.h"
#include "api/json_canon.h"
#include "api/sha256.h"
#include "marketd/mkt.h"

/* Fails unless the canonical form of JSON text in is want. */
static void canon_is(const char *in, const char *want)
{
    json_error_t err;
    json_t *v = json_loads(in, JSON_DECODE_ANY, &err);
    if (!v)
        fail_msg("does not parse: %s: %s", in, err.text);
    size_t len = 0;
    char *got = json_canon(v, &len);
    json_decref(v);
    if (!got || strcmp(got, want) != 0 || len != strlen(want))
        fail_msg("canon(%s)\n got %s\nwant %s", in, got ? got : "(null)", want);
    free(got);
}

/* Fails unless the double with these IEEE bits is written as want. */
static void number_is(uint64_t bits, const char *want)
{
    double d;
    memcpy(&d, &bits, sizeof d);
    json_t *v = json_real(d);
    char *got = json_canon(v, NULL);
    json_decref(v);
    if (!got || strcmp(got, want) != 0)
        fail_msg("%016llx: got %s, want %s", (unsigned long long)bits, got ? got : "(null)", want);
    free(got);
}

/* RFC 8785 section 3.2.3's example: the numbers, the string escapes, the literals. */
static void test_rfc_example(void **state)
{
    (void)state;
    canon_is("{\n  \"numbers\": [333333333.33333329, 1E30, 4.50, 2e-3, "
             "0.000000000000000000000000001],\n"
             "  \"string\": \"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\\"\\/\",\n"
             "  \"literals\": [null, true, false]\n}",
             "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,"
             "1e-27],\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
}

/* Section 3.2.3's sort: by UTF-16 code units, so the emoji (a surrogate pair, D83D)
 * comes before U+FB33, unlike in code point or UTF-8 order. */
static void test_rfc_sort_utf16(void **state)
{
    (void)state;
    canon_is("{\"\\u20ac\": \"Euro Sign\", \"\\r\": \"Carriage Return\", \"\\ufb33\": \"Hebrew\", "
             "\"1\": \"One\", \"\\ud83d\\ude00\": \"Emoji\", \"\\u0080\": \"Control\", "
             "\"\\u00f6\": \"o\"}",
             "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xc2\x80\":\"Control\",\"\xc3\xb6\":"
             "\"o\",\"\xe2\x82\xac\":\"Euro Sign\",\"\xf0\x9f\x98\x80\":\"Emoji\",\"\xef\xac\xb3\":"
             "\"Hebrew\"}");
    /* nested objects sorted too; a prefix sorts first; arrays keep their order */
    canon_is("{\"b\":[3,1,{\"z\":1,\"a\":2}],\"ab\":1,\"a\":{}}",
             "{\"a\":{},\"ab\":1,\"b\":[3,1,{\"a\":2,\"z\":1}]}");
}

/* Strings: controls escaped (the short forms where JSON has them, else \u00xx in lower
 * case); DEL, U+2028, U+2029 and non-BMP characters as they are; '/' not escaped. */
static void test_strings(void **state)
{
    (void)state;
    canon_is("\"\\u0001\\u001f\\b\\f\\n\\r\\t\\u000b\"",
             "\"\\u0001\\u001f\\b\\f\\n\\r\\t\\u000b\"");
    canon_is("\"\\u007f\\u2028\\u2029\"", "\"\x7f\xe2\x80\xa8\xe2\x80\xa9\"");
    canon_is("\"\\ud83d\\ude00 a/b \\\"q\\\" \\\\\"", "\"\xf0\x9f\x98\x80 a/b \\\"q\\\" \\\\\"");
    canon_is("\"\"", "\"\"");
    /* a NUL inside a string (jansson keeps its length) */
    json_t *v = json_stringn("a\0b", 3);
    char *got = json_canon(v, NULL);
    assert_string_equal(got, "\"a\\u0000b\"");
    free(got);
    json_decref(v);
}

/* Integers as written, within +-2^53; beyond, no canonical form (an IEEE double cannot
 * hold them): refused, never rounded. */
static void test_integers(void **state)
{
    (void)state;
    canon_is("[0,-1,42,9007199254740992,-9007199254740992]",
             "[0,-1,42,9007199254740992,-9007199254740992]");
    json_t *v = json_pack("{sI}", "n", (json_int_t)9007199254740993LL);
    assert_null(json_canon(v, NULL));
    json_decref(v);
    v = json_pack("[I]", (json_int_t)INT64_MIN);
    assert_null(json_canon(v, NULL));
    json_decref(v);
}

/* Appendix B's numbers: ECMAScript's shortest round trip, placed by the exponent. */
static void test_rfc_numbers(void **state)
{
    (void)state;
    number_is(0x0000000000000000ULL, "0");
    number_is(0x8000000000000000ULL, "0");
    number_is(0x0000000000000001ULL, "5e-324");
    number_is(0x8000000000000001ULL, "-5e-324");
    number_is(0x7fefffffffffffffULL, "1.7976931348623157e+308");
    number_is(0xffefffffffffffffULL, "-1.7976931348623157e+308");
    number_is(0x4340000000000000ULL, "9007199254740992");
    number_is(0xc340000000000000ULL, "-9007199254740992");
    number_is(0x4430000000000000ULL, "295147905179352830000");
    number_is(0x44b52d02c7e14af5ULL, "9.999999999999997e+22");
    number_is(0x44b52d02c7e14af6ULL, "1e+23");
    number_is(0x44b52d02c7e14af7ULL, "1.0000000000000001e+23");
    number_is(0x444b1ae4d6e2ef4eULL, "999999999999999700000");
    number_is(0x444b1ae4d6e2ef4fULL, "999999999999999900000");
    number_is(0x444b1ae4d6e2ef50ULL, "1e+21");
    number_is(0x3eb0c6f7a0b5ed8cULL, "9.999999999999997e-7");
    number_is(0x3eb0c6f7a0b5ed8dULL, "0.000001");
    number_is(0x41b3de4355555553ULL, "333333333.3333332");
    number_is(0x41b3de4355555554ULL, "333333333.33333325");
    number_is(0x41b3de4355555555ULL, "333333333.3333333");
    number_is(0x41b3de4355555556ULL, "333333333.3333334");
    number_is(0x41b3de4355555557ULL, "333333333.33333343");
    number_is(0xbecbf647612f3696ULL, "-0.0000033333333333333333");
    number_is(0x43143ff3c1cb0959ULL, "1424953923781206.2");
    canon_is("[10.0,1.5,-0.5,100e-2,1e21,1e20,1e-7,1e-6]",
             "[10,1.5,-0.5,1,1e+21,100000000000000000000,1e-7,0.000001]");
    /* a value that is not one (jansson makes no real of NaN or infinity) has no form */
    assert_null(json_canon(NULL, NULL));
}

/* Fails unless the console's SHA-256 of data (len bytes) is want (hex). */
static void sha_is(const void *data, size_t len, const char *want)
{
    char hex[65];
    sha256_hex(data, len, hex);
    if (strcmp(hex, want) != 0)
        fail_msg("sha256 of %zu bytes: %s, want %s", len, hex, want);
}

/* FIPS 180-4's vectors (the empty message, "abc", the two-block one, a million 'a' fed
 * in odd pieces), and agreement with marketd's OpenSSL hash at every length around the
 * block and padding boundaries. */
static void test_sha256(void **state)
{
    (void)state;
    sha_is("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sha_is("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha_is(two, strlen(two), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    sha256_ctx c;
    unsigned char d[32], chunk[1000];
    memset(chunk, 'a', sizeof chunk);
    sha256_init(&c);
    for (size_t done = 0, step = 1; done < 1000000; done += step, step = step % 997 + 1) {
        if (done + step > 1000000)
            step = 1000000 - done;
        sha256_update(&c, chunk, step);
    }
    sha256_final(&c, d);
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    unsigned char buf[300];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 7 + 3);
    for (size_t n = 0; n <= sizeof buf; n++) {
        char ours[65], openssl[65];
        sha256_hex(buf, n, ours);
        mkt_sha256_hex(buf, n, openssl);
        if (strcmp(ours, openssl) != 0)
            fail_msg("%zu bytes: %s, OpenSSL %s", n, ours, openssl);
    }
}

/* An entry checks against its own hash: SHA-256 of its canonical JSON without "hash",
 * whatever the order and spacing of its text; a changed field, a changed hash, a
 * missing one, and text that is not an object do not. */
static void test_entry_check(void **state)
{
    (void)state;
    const char *body =
        "{\"id\":\"dec_7\",\"reason\":\"ok \u2028\",\"chain_n\":7,\"prev_hash\":\"" AUDIT_GENESIS
        "\"}";
    json_t *o = json_loads(body, 0, NULL);
    size_t len;
    char *canon = json_canon(o, &len), hex[65], line[1024];
    sha256_hex(canon, len, hex);
    free(canon);
    json_decref(o);
    snprintf(line, sizeof line,
             "{ \"hash\": \"%s\", \"prev_hash\":\"" AUDIT_GENESIS
             "\", \"chain_n\": 7, \"reason\": \"ok \u2028\", \"id\": \"dec_7\" }",
             hex);
    audit_entry e;
    assert_int_equal(json_audit_entry(line, strlen(line), &e), 0);
    assert_true(e.self_ok);
    assert_int_equal(e.n, 7);
    assert_string_equal(e.id, "dec_7");
    assert_string_equal(e.prev_hash, AUDIT_GENESIS);
    char *changed = strstr(line, "ok ");
    changed[0] = 'O';
    assert_int_equal(json_audit_entry(line, strlen(line), &e), 0);
    assert_false(e.self_ok);
    changed[0] = 'o';
    char *h = strstr(line, hex);
    h[0] = h[0] == 'a' ? 'b' : 'a';
    assert_int_equal(json_audit_entry(line, strlen(line), &e), 0);
    assert_false(e.self_ok);
    const char *nohash = "{\"id\":\"dec_7\",\"chain_n\":7}";
    assert_int_equal(json_audit_entry(nohash, strlen(nohash), &e), 0);
    assert_false(e.self_ok);
    assert_int_equal(json_audit_entry("[1]", 3, &e), -1);
    assert_int_equal(json_audit_entry("{", 1, &e), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_example), cmocka_unit_test(test_rfc_sort_utf16),
        cmocka_unit_test(test_strings),     cmocka_unit_test(test_integers),
        cmocka_unit_test(test_rfc_numbers), cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_entry_check),
    };
    return cmocka_run_group_tests_name("json_canon", tests, NULL, NULL);
}
