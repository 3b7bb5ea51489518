/* test_console_unknown.c: values the server has grown since this console was built (an
 * alert status `snoozed`, a rule, a severity, a purchase or agent status) are shown as
 * they were sent and keep their object; a purchase in a status the console does not know
 * is not offered for a decision (issue 12). The events come from a recording
 * (`dealdesk replay`), as the reference marketd never sends such values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/lib/e2e.h"
#include "tests/lib/vt.h"

#define WAIT_MS 15000
#define AT      "2026-11-26T10:02:11.345Z"

/* One recorded event: seq, type and the object. */
static void record(FILE *f, int seq, const char *type, const char *data)
{
    fprintf(f,
            "id: e1:%d\nevent: %s\ndata: {\"seq\":%d,\"type\":\"%s\",\"at\":\"" AT
            "\",\"data\":%s}\n\n",
            seq, type, seq, type, data);
}

static void test_unknown_values_shown_as_sent(void **state)
{
    (void)state;
    char path[1024];
    snprintf(path, sizeof path, "%s/unknown.rec", getenv("TEST_TMP"));
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    record(f, 1, "agent.updated",
           "{\"id\":\"agt_b\",\"version\":1,\"name\":\"buyer-x\",\"principal\":\"P\",\"role\":"
           "\"buyer\",\"status\":\"retired\",\"currency\":\"USD\",\"limits\":{\"spend_cap_minor\":"
           "100000,\"per_deal_max_minor\":100000,\"approval_threshold_minor\":0,\"max_quantity\":"
           "10},\"spent_minor\":0,\"mandate\":{\"categories\":[\"bikes\"]},\"addresses\":[\"1 "
           "Main St\"],\"updated_at\":\"" AT "\"}");
    record(f, 2, "purchase.updated",
           "{\"id\":\"pur_1\",\"version\":1,\"negotiation_id\":\"neg_1\",\"listing_id\":\"lst_1\","
           "\"buyer_id\":\"agt_b\",\"seller_id\":\"agt_s\",\"unit_price_minor\":1250,\"quantity\":"
           "2,\"total_minor\":2500,\"currency\":\"USD\",\"ship_to\":\"1 Main St\",\"status\":"
           "\"on_hold\",\"flags\":[{\"rule\":\"price_spike\",\"severity\":\"severe\",\"detail\":"
           "\"a spike\"}],\"risk_score\":50,\"decide_by\":null,\"default_on_timeout\":\"veto\","
           "\"decision\":null,\"created_at\":\"" AT "\",\"updated_at\":\"" AT "\"}");
    record(f, 3, "alert.updated",
           "{\"id\":\"alr_1\",\"version\":2,\"severity\":\"warning\",\"rule\":\"price_spike\","
           "\"subject\":{\"kind\":\"purchase\",\"id\":\"pur_1\"},\"message\":\"a spike\","
           "\"status\":\"snoozed\",\"acked_by\":null,\"at\":\"" AT "\",\"updated_at\":\"" AT "\"}");
    fclose(f);
    const char *argv[] = {getenv("DEALDESK_BIN"), "replay", path, NULL};
    const char *env[] = {"LANG=C.UTF-8", "LC_ALL=C.UTF-8", NULL};
    vt *t = vt_spawn(30, 120, argv, env);
    assert_non_null(t);
    vt_send(t, "5");
    const char *alert_row[] = {"price_spike", "snoozed", NULL}; /* one row, drawn whole */
    assert_true(e2e_wait_row(t, alert_row, WAIT_MS));
    /* the alert's purchase: its status and its flag as sent, and no decision offered */
    vt_send(t, "\r");
    if (!vt_wait_text(t, "pur_1 v1 · on_hold", WAIT_MS))
        vt_dump(t, "alert detail");
    assert_true(vt_contains(t, "pur_1 v1 · on_hold"));
    assert_true(vt_wait_text(t, "no decision is offered", WAIT_MS));
    assert_true(vt_wait_text(t, "severe   price_spike", WAIT_MS));
    vt_send(t, "\x1b");
    vt_send(t, "6");
    if (!vt_wait_text(t, "retired", WAIT_MS))
        vt_dump(t, "agents");
    assert_true(vt_contains(t, "retired"));
    e2e_quit(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_values_shown_as_sent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
