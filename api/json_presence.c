/* json_presence.c: presence as the console reads it (docs/api.md, "Presence"): GET and
 * POST /v1/presence answer a document, presence.updated carries one as its data. Only
 * counts and one name comparison leave this file; no network text reaches the screen. */
#include "api/json.h"

#include <jansson.h>
#include <string.h>

json_result json_decode_presence(const char *json, size_t len, const char *me, int *supervisors,
                                 int *viewers, bool *me_present)
{
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *doc = json_object_get(root, "data");
    if (!json_is_object(doc))
        doc = root;
    json_t *sups = json_object_get(doc, "supervisors");
    json_t *v = json_object_get(doc, "viewers");
    json_result r = JSON_BAD;
    if (json_is_array(sups) && json_is_integer(v) && json_integer_value(v) >= 0 &&
        json_integer_value(v) <= 100000 && json_array_size(sups) <= 100000) {
        *supervisors = (int)json_array_size(sups);
        *viewers = (int)json_integer_value(v);
        *me_present = false;
        size_t i;
        json_t *s;
        json_array_foreach(sups, i, s)
        {
            const char *name = json_string_value(json_object_get(s, "name"));
            if (name && me && me[0] && strcmp(name, me) == 0)
                *me_present = true;
        }
        r = JSON_OK;
    }
    json_decref(root);
    return r;
}
