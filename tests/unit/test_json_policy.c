/* test_json_policy.c: policy sets as dealdesk policies export|import read and write them
 * (api/json_policy.h): definitions with the server's defaults, a file and a listing that
 * mean the same compare equal, what a file must hold, and export then parse again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/json_policy.h"

static const char listing[] =
    "{\"items\":[{\"id\":\"pol_1\",\"version\":3,\"name\":\"small\",\"enabled\":true,\"mode\":"
    "\"live\",\"priority\":100,\"match\":{\"total_max_minor\":5000},\"action\":\"approve\","
    "\"reason\":null,\"hits\":7,\"shadow_hits\":0,\"created_at\":\"2026-01-01T00:00:00.000Z\","
    "\"updated_at\":\"2026-01-01T00:00:00.000Z\"},{\"id\":\"pol_2\",\"version\":1,\"name\":"
    "\"look\",\"enabled\":false,\"mode\":\"shadow\",\"priority\":5,\"match\":{},\"action\":"
    "\"veto\",\"reason\":\"r\",\"hits\":0,\"shadow_hits\":2}],\"next\":null}";

/* The server's defaults and null conditions: the same definition as the listing's. */
static void test_definitions_compare(void **state)
{
    (void)state;
    policy_set srv, file;
    char err[200];
    assert_int_equal(json_policy_set_parse(listing, strlen(listing), true, &srv, err, sizeof err),
                     0);
    assert_int_equal(srv.n, 2);
    assert_string_equal(srv.items[0].id, "pol_1");
    assert_int_equal(srv.items[0].version, 3);
    assert_int_equal(srv.items[0].hits, 7);
    assert_int_equal(srv.items[1].shadow_hits, 2);
    assert_string_equal(srv.items[1].mode, "shadow");
    assert_int_equal(srv.items[1].priority, 5);
    assert_false(srv.more);
    static const char f[] = "{\"policies\":[{\"name\":\"small\",\"enabled\":true,\"action\":"
                            "\"approve\",\"match\":{\"total_max_minor\":5000,\"risk_max\":null}}]}";
    assert_int_equal(json_policy_set_parse(f, strlen(f), false, &file, err, sizeof err), 0);
    assert_int_equal(file.n, 1);
    assert_string_equal(file.items[0].id, "");
    assert_string_equal(file.items[0].def, srv.items[0].def);
    assert_string_not_equal(file.items[0].def, srv.items[1].def);
    json_policy_set_free(&file);
    json_policy_set_free(&srv);
}

/* Asserts that text is refused as a file with a message holding want. */
static void refused(const char *text, const char *want)
{
    policy_set s;
    char err[200] = "";
    assert_int_equal(json_policy_set_parse(text, strlen(text), false, &s, err, sizeof err), -1);
    if (!strstr(err, want))
        fail_msg("'%s': '%s' does not say '%s'", text, err, want);
    assert_null(s.items);
    assert_int_equal(s.n, 0);
}

static void test_what_a_file_must_hold(void **state)
{
    (void)state;
    refused("{\"policies\":[", "not JSON");
    refused("[]", "no list");
    refused("{\"policies\":[{\"action\":\"approve\",\"match\":{}}]}", "policy 1: name");
    refused("{\"policies\":[{\"name\":\"a\",\"match\":{}}]}", "policy 1: action");
    refused("{\"policies\":[{\"name\":\"a\",\"action\":\"veto\"}]}", "policy 1: match");
    refused("{\"policies\":[{\"name\":\"a\",\"action\":\"veto\",\"match\":{},\"enabled\":1}]}",
            "enabled");
    refused("{\"policies\":[{\"name\":\"a\",\"action\":\"veto\",\"match\":{}},{\"name\":\"a\","
            "\"action\":\"approve\",\"match\":{}}]}",
            "policy 2: the name of policy 1 again");
    refused("{\"policies\":[7]}", "policy 1");
}

/* Export, then parse the file again: the same definitions; a backtest body holds them. */
static void test_export_round_trip(void **state)
{
    (void)state;
    policy_set srv, back;
    char err[200];
    assert_int_equal(json_policy_set_parse(listing, strlen(listing), true, &srv, err, sizeof err),
                     0);
    char *text = json_policy_set_export(&srv);
    assert_non_null(text);
    assert_null(strstr(text, "pol_1")); /* definitions, not the server's objects */
    assert_null(strstr(text, "hits"));
    assert_true(strstr(text, "\"name\"") < strstr(text, "\"match\"")); /* read in order */
    assert_int_equal(text[strlen(text) - 1], '\n');
    assert_int_equal(json_policy_set_parse(text, strlen(text), false, &back, err, sizeof err), 0);
    assert_int_equal(back.n, 2);
    for (size_t i = 0; i < 2; i++)
        assert_string_equal(back.items[i].def, srv.items[i].def);
    char *body = json_policy_backtest_body(&back, 1);
    assert_non_null(strstr(body, "\"limit\":1"));
    assert_non_null(strstr(body, "\"name\":\"look\""));
    free(body);
    free(text);
    json_policy_set_free(&back);
    json_policy_set_free(&srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_definitions_compare),
        cmocka_unit_test(test_what_a_file_must_hold),
        cmocka_unit_test(test_export_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
