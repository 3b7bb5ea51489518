/* test_json_stats.c: the agents' scorecards decoded (api/json_stats.c): every field, the
 * medians' nulls, flags by rule (most first, summed), the series, an agent outside the
 * contract left out, hostile text sanitised, lookup by id, and an answer outside the
 * contract refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "api/json_stats.h"

static const char answer[] =
    "{\"window\":\"24h\",\"from\":\"2026-12-01T00:00:00.000Z\",\"to\":\"2026-12-02T00:00:00.000Z\","
    "\"agents\":["
    "{\"agent_id\":\"agt_9\",\"name\":\"S\",\"role\":\"seller\",\"deals\":2,\"spend_minor\":0,"
    "\"revenue_minor\":1500,\"currency\":\"USD\",\"median_vs_ref_bp\":-320,\"vetoed\":1,"
    "\"capped\":2,\"expired\":3,\"refunded\":4,\"disputed\":5,"
    "\"flags\":{\"duplicate\":1,\"overpay\":3,\"below_floor\":3},\"median_rounds\":4,"
    "\"median_time_to_deal_ms\":65000,\"spend_series\":[0,0,700,800]},"
    "{\"agent_id\":\"agt_10\",\"name\":\"B\",\"role\":\"buyer\",\"deals\":0,\"spend_minor\":0,"
    "\"revenue_minor\":0,\"currency\":\"EUR\",\"median_vs_ref_bp\":null,\"vetoed\":0,"
    "\"capped\":0,\"expired\":0,\"refunded\":0,\"disputed\":0,\"flags\":{},"
    "\"median_rounds\":null,\"median_time_to_deal_ms\":null,\"spend_series\":[]},"
    "{\"agent_id\":\"not an id\",\"role\":\"buyer\",\"deals\":1,\"currency\":\"USD\"},"
    "{\"agent_id\":\"agt_11\",\"role\":\"buy\\u001b[2Jer\",\"deals\":1,\"spend_minor\":99,"
    "\"currency\":\"USD\",\"flags\":{\"r\\u001b[31m\":2}}"
    "]}";

static void test_decode(void **state)
{
    (void)state;
    stats_agents s;
    char err[200];
    assert_int_equal(json_stats_parse(answer, strlen(answer), TEXT_UTF8, &s, err, sizeof err), 0);
    assert_string_equal(s.window, "24h");
    assert_int_equal(s.n, 3); /* "not an id" left out */

    const stats_agent *a = stats_find(&s, "agt_9");
    assert_non_null(a);
    assert_string_equal(a->role, "seller");
    assert_string_equal(a->currency, "USD");
    assert_int_equal(a->deals, 2);
    assert_int_equal(a->amount_minor, 1500); /* a seller's revenue */
    assert_true(a->has_bp);
    assert_int_equal(a->bp, -320);
    assert_int_equal(a->vetoed + a->capped * 10 + a->expired * 100 + a->refunded * 1000 +
                         a->disputed * 10000,
                     54321);
    assert_int_equal(a->flags, 7);
    assert_int_equal(a->nrules, 3);
    assert_string_equal(a->rules[0].rule, "below_floor"); /* 3, ties by name */
    assert_string_equal(a->rules[1].rule, "overpay");
    assert_string_equal(a->rules[2].rule, "duplicate");
    assert_true(a->has_rounds && a->rounds == 4);
    assert_true(a->has_ttd && a->ttd_ms == 65000);
    assert_int_equal(a->series[2], 700);
    assert_int_equal(a->series[3], 800);
    assert_int_equal(a->series[4], 0);

    a = stats_find(&s, "agt_10");
    assert_non_null(a);
    assert_false(a->has_bp);
    assert_false(a->has_rounds);
    assert_false(a->has_ttd);
    assert_int_equal(a->nrules, 0);

    a = stats_find(&s, "agt_11"); /* text from the wire never carries an escape */
    assert_non_null(a);
    assert_int_equal(a->amount_minor, 99);
    assert_null(strchr(a->role, '\033'));
    assert_null(strchr(a->rules[0].rule, '\033'));

    assert_null(stats_find(&s, "agt_1"));
    assert_null(stats_find(NULL, "agt_9"));
    json_stats_free(&s);
    assert_int_equal(s.n, 0);
}

static void test_outside_contract(void **state)
{
    (void)state;
    stats_agents s;
    char err[200];
    static const char *const bad[] = {"", "[]", "{\"agents\":{}}", "{\"window\":\"24h\"}",
                                      "not json"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(json_stats_parse(bad[i], strlen(bad[i]), TEXT_UTF8, &s, err, sizeof err),
                         -1);
        assert_true(err[0] != '\0');
        assert_int_equal(s.n, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_outside_contract),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
