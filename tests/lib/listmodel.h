/* listmodel.h: the lists' contract (docs/api.md, Reading) as a model that tests compare
 * the server with: the order of each sort and the searchable text of each kind, read off
 * objects as the server gives them (jansson values). A console's pane comparator that must
 * agree with the server's sort can be checked against listmodel_order too.
 */
#ifndef DEALDESK_TESTS_LISTMODEL_H
#define DEALDESK_TESTS_LISTMODEL_H

#include <jansson.h>
#include <stdbool.h>

/* The lists that q= searches, in a fixed order ("agents", "listings", ...), NULL-ended. */
extern const char *const listmodel_lists[];

/* Below 0 when object a comes before b in sort (a sort name, "" for creation order):
 * the sort's key, then the creation order (the number of the id) in the same direction. */
int listmodel_order(const char *sort, json_t *a, json_t *b);

/* The searchable fields of list plural (NULL-ended; NULL for an unknown list): a field,
 * "a.b" (a field of an object), "a[].b" (that field of each element), "listing:title"
 * (the title of the listing the object names). */
const char *const *listmodel_fields(const char *plural);

/* Appends the values (strings) of field f of object o to the array out; listings are
 * every listing (for "listing:title"). */
void listmodel_values(json_t *o, const char *f, json_t *listings, json_t *out);

/* True when some searchable field of o (of list plural) holds q, ASCII case aside. */
bool listmodel_matches(const char *plural, json_t *o, json_t *listings, const char *q);

#endif
