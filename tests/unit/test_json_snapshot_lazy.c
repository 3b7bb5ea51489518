/* test_json_snapshot_lazy.c: the snapshot read an array element at a time (api/json_doc.c
 * with api/json_state.c's jc_parse_lazy and jc_each; issue 14's first frame): the same
 * store as before from a well-formed snapshot, whatever its whitespace, key order and
 * escapes; and every document that is not JSON refused as a whole, with the store left
 * as it was (a syntax error inside an array is found before anything is loaded): a
 * missing comma or bracket, text after the end, a duplicate key at the top or inside an
 * element, an unterminated string, a bracket inside a string that is not one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/json.h"
#include "api/model.h"

#define AGENT(id, name)                                                                            \
    "{\"id\":\"" id "\",\"version\":1,\"name\":\"" name "\",\"principal\":\"P\",\"role\":"         \
    "\"buyer\",\"status\":\"active\",\"currency\":\"USD\",\"limits\":{\"spend_cap_minor\":100,"    \
    "\"per_deal_max_minor\":10,\"approval_threshold_minor\":5,\"max_quantity\":1},"                \
    "\"spent_minor\":0,\"mandate\":{\"categories\":[\"bikes\"]},\"addresses\":[\"1 Main St\"],"    \
    "\"held_by\":[],\"updated_at\":\"2026-01-01T00:00:00.000Z\"}"

/* A well-formed snapshot: two agents (one name with a bracket and escapes), the rest
 * empty or small, with whitespace between every token. */
static const char good[] = " {\n \"epoch\" : \"ep1\" ,\"seq\":7,\n\"agents\" : [ " AGENT(
    "agt_1",
    "a [b] \\\"c\\\" {d}") " ,\n" AGENT("agt_2",
                                        "two") " ] , \"listings\":[], "
                                               "\"history\":{\"listings\":{\"total\":3}},"
                                               "\"open_threads\":{\"more\":true},\"ledger\":{"
                                               "\"balances\":{\"agent:agt_1\":5},\"entries\":[]}"
                                               " } \n";

/* Decodes text into a store that holds one agent beforehand (epoch "old"). */
static json_result decode(const char *text, store **out, char *err, size_t errsz)
{
    store *st = store_new();
    store_reset(st, "old", 1);
    char pre[2048];
    snprintf(pre, sizeof pre, "{\"epoch\":\"old\",\"seq\":1,\"agents\":[%s]}",
             AGENT("agt_9", "before"));
    uint64_t rejected = 0;
    assert_int_equal(json_decode_snapshot(pre, strlen(pre), TEXT_UTF8, st, &rejected, err, errsz),
                     JSON_OK);
    json_result r = json_decode_snapshot(text, strlen(text), TEXT_UTF8, st, &rejected, err, errsz);
    *out = st;
    return r;
}

static void test_well_formed(void **state)
{
    (void)state;
    store *st;
    char err[200];
    assert_int_equal(decode(good, &st, err, sizeof err), JSON_OK);
    assert_string_equal(store_epoch(st), "ep1");
    assert_int_equal(store_seq(st), 7);
    size_t n;
    store_agents(st, &n);
    assert_int_equal(n, 2);
    assert_null(store_agent(st, "agt_9"));
    assert_non_null(strstr(store_agent(st, "agt_1")->name.s, "[b]"));
    assert_int_equal(store_history_total(st, MODEL_LISTING), 3);
    assert_true(store_live_more(st));
    assert_int_equal(store_balance(st, "agent:agt_1"), 5);
    store_free(st);
}

/* An element outside the contract is counted and skipped, as before: not a failure. */
static void test_element_outside_contract(void **state)
{
    (void)state;
    const char *text =
        "{\"epoch\":\"e\",\"seq\":1,\"agents\":[{\"id\":5}," AGENT("agt_1", "x") "]}";
    store *st = store_new();
    uint64_t rejected = 0;
    char err[200];
    assert_int_equal(
        json_decode_snapshot(text, strlen(text), TEXT_UTF8, st, &rejected, err, sizeof err),
        JSON_OK);
    assert_int_equal(rejected, 1);
    assert_non_null(store_agent(st, "agt_1"));
    store_free(st);
}

static void test_not_json_changes_nothing(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"epoch\":\"e\",\"seq\":1,\"agents\":[" AGENT("agt_1", "x") " " AGENT("agt_2", "y") "]}",
        "{\"epoch\":\"e\",\"seq\":1,\"agents\":[" AGENT("agt_1", "x") ",]}",
        "{\"epoch\":\"e\",\"seq\":1,\"agents\":[" AGENT("agt_1", "x") "}",
        "{\"epoch\":\"e\",\"seq\":1,\"agents\":[" AGENT("agt_1", "x") "]} x",
        "{\"epoch\":\"e\",\"seq\":1,\"agents\":[" AGENT("agt_1", "x") "],\"agents\":[]}",
        "{\"epoch\":\"e\",\"seq\":1,\"seq\":2,\"agents\":[]}",
        "{\"epoch\":\"e\",\"seq\":1,\"agents\":[{\"id\":\"agt_1\",\"id\":\"agt_2\"}]}",
        "{\"epoch\":\"e\",\"seq\":1,\"agents\":[{\"id\":\"agt_1]\"}",
        "{\"epoch\":\"e\",\"seq\":1,\"agents\":[{\"id\":\"agt_1\"]}",
        "{\"epoch\":\"e\",\"seq\":1,\"agents\":[nul]}",
        "{\"epoch\":\"e\",\"seq\":1 \"agents\":[]}",
        "{\"epoch\":\"e\",\"seq\":1,\"agents\" []}",
        "{\"epoch\":\"e\",\"seq\":1,",
        "{\"epoch\":\"e\",\"seq\":1,\"agents\":[]",
        "[]",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        store *st;
        char err[200] = "";
        if (decode(bad[i], &st, err, sizeof err) != JSON_BAD)
            fail_msg("accepted: %s", bad[i]);
        assert_string_equal(store_epoch(st), "old");
        assert_non_null(store_agent(st, "agt_9"));
        if (!err[0])
            fail_msg("no error said for: %s", bad[i]);
        store_free(st);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_well_formed),
        cmocka_unit_test(test_element_outside_contract),
        cmocka_unit_test(test_not_json_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
