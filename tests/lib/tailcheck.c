/* tailcheck.c: tail output rebuilt into objects and matched with a snapshot (see
 * tailcheck.h). */
#include "tests/lib/tailcheck.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* Keeps the newest version of an updated object under "type/id". */
void tailcheck_apply(json_t *objs, json_t *event)
{
    const char *type = json_string_value(json_object_get(event, "type"));
    json_t *data = json_object_get(event, "data");
    const char *id = json_string_value(json_object_get(data, "id"));
    if (type && id && strstr(type, ".updated")) {
        char key[160];
        snprintf(key, sizeof key, "%s/%s", type, id);
        json_t *old = json_object_get(objs, key);
        if (!old || json_integer_value(json_object_get(old, "version")) <
                        json_integer_value(json_object_get(data, "version")))
            json_object_set(objs, key, data);
    }
}

/* Compares the snapshot's objects with objs; returns the count compared. */
size_t tailcheck_match(json_t *objs, json_t *snap)
{
    static const struct {
        const char *arr, *type;
    } kinds[] = {{"agents", "agent.updated"},
                 {"listings", "listing.updated"},
                 {"negotiations", "negotiation.updated"},
                 {"purchases", "purchase.updated"},
                 {"alerts", "alert.updated"}};
    size_t compared = 0;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        size_t i;
        json_t *o;
        json_array_foreach(json_object_get(snap, kinds[k].arr), i, o)
        {
            char key[160];
            snprintf(key, sizeof key, "%s/%s", kinds[k].type,
                     json_string_value(json_object_get(o, "id")));
            json_t *mine = json_object_get(objs, key);
            if (!mine)
                fail_msg("%s is in the server's snapshot but tail never printed it", key);
            if (!json_equal(mine, o)) {
                char *a = json_dumps(mine, JSON_COMPACT), *b = json_dumps(o, JSON_COMPACT);
                fail_msg("%s differs:\n tail:   %.400s\n server: %.400s", key, a, b);
            }
            compared++;
            json_object_del(objs, key);
        }
    }
    if (json_object_size(objs) != 0)
        fail_msg("tail printed %zu objects the server does not have", json_object_size(objs));
    return compared;
}
