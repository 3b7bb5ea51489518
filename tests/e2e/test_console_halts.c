/* test_console_halts.c: scoped halts in the console (issue 16). The header shows the
 * market's active scoped halts: another supervisor halts one category through the API,
 * the header says "1 scoped halt" from the Fleet object's event, and nothing once it is
 * lifted. H on a purchase offers its category, seller and principal, and halts the one
 * chosen (POST /v1/halts). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tests/lib/e2e.h"
#include "tests/lib/testsrv.h"

#define WAIT_MS 15000

static bool no_halts(vt *t, void *ud)
{
    (void)ud;
    return vt_contains(t, "FLEET RUNNING") && !vt_contains(t, "scoped halt");
}

static void test_header_shows_scoped_halts(void **state)
{
    e2e_market *m = *state;
    vt *t = e2e_dealdesk(m, 24, 100, m->sup1_file, NULL, NULL);
    assert_non_null(t);
    assert_true(e2e_wait(t, "FLEET RUNNING", WAIT_MS));
    assert_false(vt_contains(t, "scoped halt"));
    assert_int_equal(e2e_decide(m, TESTSRV_TOKEN_SUP2, "/v1/halts", 0,
                                "{\"reason\":\"gpu\",\"scope\":{\"categories\":[\"gpu-hours\"]}}"),
                     201);
    assert_true(e2e_wait(t, "1 scoped halt", WAIT_MS));
    char body[4096], id[72];
    testhttp_resp r;
    assert_int_equal(testsrv_get(&m->srv, TESTSRV_TOKEN_SUP1, "/v1/halts", &r), 0);
    snprintf(body, sizeof body, "%s", r.body);
    testhttp_resp_free(&r);
    assert_true(testjson_str(body, "items.0.id", id, sizeof id));
    char path[128];
    snprintf(path, sizeof path, "/v1/halts/%s/lift", id);
    assert_int_equal(e2e_decide(m, TESTSRV_TOKEN_SUP2, path, 1, "{}"), 200);
    assert_true(vt_wait(t, no_halts, NULL, WAIT_MS));
    vt_free(t);
}

static void test_h_halts_the_rows_category(void **state)
{
    e2e_market *m = *state;
    char pur[72], neg[72];
    assert_int_equal(e2e_purchase(m, "A100 hour", "gpu-hours", 300, 2, pur, neg), 0);
    vt *t = e2e_console_on(m, pur, m->sup1_file, NULL);
    vt_send(t, "H");
    assert_true(e2e_wait(t, "c category gpu-hours", WAIT_MS));
    vt_send(t, "c\r");
    assert_true(e2e_wait(t, "HALT category gpu-hours", WAIT_MS));
    vt_send(t, "gpu drill\r");
    assert_true(e2e_wait(t, "type halt", WAIT_MS));
    vt_send(t, "halt\r");
    assert_true(e2e_wait(t, "1 scoped halt", WAIT_MS));
    assert_true(e2e_wait(t, "FLEET RUNNING", WAIT_MS)); /* the rest of the market trades */
    testhttp_resp r;
    assert_int_equal(testsrv_get(&m->srv, TESTSRV_TOKEN_SUP1, "/v1/fleet", &r), 0);
    char cat[64], by[32]; /* the active one */
    assert_int_equal(testjson_len(r.body, "halts"), 1);
    assert_true(testjson_str(r.body, "halts.0.scope.categories.0", cat, sizeof cat));
    assert_string_equal(cat, "gpu-hours");
    assert_true(testjson_str(r.body, "halts.0.by", by, sizeof by));
    assert_string_equal(by, "sup1");
    testhttp_resp_free(&r);
    vt_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_shows_scoped_halts),
        cmocka_unit_test(test_h_halts_the_rows_category),
    };
    return cmocka_run_group_tests(tests, e2e_group_setup, e2e_group_teardown);
}
