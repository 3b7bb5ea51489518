/* test_json_presence.c: presence as the console decodes it (issue 16): the document of
 * GET/POST /v1/presence and a presence.updated event holding it give the counts and
 * whether this operator is present; anything else is refused and sets nothing; the
 * Fleet's unattended switch decodes ({after_s, action, since|null}, null or absent: off)
 * and a malformed one rejects the Fleet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "api/json.h"

#define DOC                                                                                        \
    "{\"supervisors\":[{\"name\":\"sup1\",\"consoles\":2,\"since\":\"2026-12-01T10:00:00.000Z\","  \
    "\"last_seen\":\"2026-12-01T10:01:00.000Z\"},{\"name\":\"sup2\",\"consoles\":1,"               \
    "\"since\":\"2026-12-01T10:00:00.000Z\",\"last_seen\":\"2026-12-01T10:00:00.000Z\"}],"         \
    "\"viewers\":3}"

static void test_document_and_event(void **state)
{
    (void)state;
    int s = -1, v = -1;
    bool me = false;
    assert_int_equal(json_decode_presence(DOC, strlen(DOC), "sup2", &s, &v, &me), JSON_OK);
    assert_int_equal(s, 2);
    assert_int_equal(v, 3);
    assert_true(me);
    const char *ev = "{\"seq\":7,\"type\":\"presence.updated\",\"at\":\"2026-12-01T10:00:00.000Z\","
                     "\"data\":" DOC "}";
    assert_int_equal(json_decode_presence(ev, strlen(ev), "sup3", &s, &v, &me), JSON_OK);
    assert_int_equal(s, 2);
    assert_false(me);
    const char *none = "{\"supervisors\":[],\"viewers\":0}";
    assert_int_equal(json_decode_presence(none, strlen(none), "", &s, &v, &me), JSON_OK);
    assert_int_equal(s, 0);
    assert_int_equal(v, 0);
}

static void test_refused(void **state)
{
    (void)state;
    const char *bad[] = {"",
                         "[]",
                         "{\"supervisors\":{},\"viewers\":0}",
                         "{\"supervisors\":[],\"viewers\":-1}",
                         "{\"supervisors\":[]}",
                         "{\"supervisors\":[],\"viewers\":\"2\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int s = 9, v = 9;
        bool me = true;
        assert_int_equal(json_decode_presence(bad[i], strlen(bad[i]), "sup1", &s, &v, &me),
                         JSON_BAD);
        assert_int_equal(s, 9); /* nothing set */
        assert_int_equal(v, 9);
    }
}

/* The Fleet with an unattended member: a fleet JSON with unattended set to u. */
static json_result fleet_with(const char *u, model_event *ev)
{
    char body[512], err[256];
    snprintf(body, sizeof body,
             "{\"version\":3,\"status\":\"running\",\"reason\":null,\"by\":null,"
             "\"updated_at\":\"2026-12-01T10:00:00.000Z\"%s%s}",
             u ? ",\"unattended\":" : "", u ? u : "");
    return json_decode_object(MODEL_FLEET, body, strlen(body), TEXT_UTF8, ev, err, sizeof err);
}

static void test_fleet_unattended(void **state)
{
    (void)state;
    model_event ev;
    assert_int_equal(fleet_with(NULL, &ev), JSON_OK);
    assert_int_equal(ev.u.fleet.unattended_after_s, 0);
    model_event_free(&ev);
    assert_int_equal(fleet_with("null", &ev), JSON_OK);
    assert_int_equal(ev.u.fleet.unattended_after_s, 0);
    model_event_free(&ev);
    assert_int_equal(fleet_with("{\"after_s\":600,\"action\":\"restrict\",\"since\":null}", &ev),
                     JSON_OK);
    assert_int_equal(ev.u.fleet.unattended_after_s, 600);
    assert_false(ev.u.fleet.unattended_halt);
    assert_int_equal(ev.u.fleet.unattended_since, 0);
    model_event_free(&ev);
    assert_int_equal(fleet_with("{\"after_s\":5,\"action\":\"halt\",\"since\":"
                                "\"2026-12-01T10:02:00.000Z\"}",
                                &ev),
                     JSON_OK);
    assert_true(ev.u.fleet.unattended_halt);
    assert_int_equal(ev.u.fleet.unattended_since, 1796119320000LL);
    model_event_free(&ev);
    const char *bad[] = {"{\"after_s\":5,\"action\":\"explode\",\"since\":null}",
                         "{\"after_s\":0,\"action\":\"halt\",\"since\":null}",
                         "{\"after_s\":5,\"action\":\"halt\",\"since\":\"yesterday\"}", "5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(fleet_with(bad[i], &ev), JSON_BAD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_document_and_event),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_fleet_unattended),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
