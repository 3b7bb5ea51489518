/* tailcheck.h: rebuilding the server's objects from `dealdesk tail` output and checking
 * them against a GET /v1/snapshot, field by field.
 *
 * Keep a json object "type/id" -> data: feed it every printed event with
 * tailcheck_apply (it keeps the newest version of each object), then call
 * tailcheck_match with the parsed snapshot.
 */
#ifndef DEALDESK_TESTS_TAILCHECK_H
#define DEALDESK_TESTS_TAILCHECK_H

#include <jansson.h>
#include <stddef.h>

/* Folds one tail event (borrowed) into objs: an "*.updated" event's data replaces the
 * object stored under "type/id" unless that one has a higher version. Other events are
 * ignored. */
void tailcheck_apply(json_t *objs, json_t *event);

/* Checks every object of the snapshot's agents, listings, negotiations, purchases and
 * alerts arrays against objs: fails the running cmocka test when one is missing or
 * differs, or when objs holds an object the snapshot does not. Removes the matched
 * objects from objs. Returns how many were compared. */
size_t tailcheck_match(json_t *objs, json_t *snap);

#endif
