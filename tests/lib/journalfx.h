/* journalfx.h: the decision journal as tests leave and read it (the real journal of
 * api/journal.h, at the path the config gives: XDG_STATE_HOME of the test run). */
#ifndef DEALDESK_TESTS_JOURNALFX_H
#define DEALDESK_TESTS_JOURNALFX_H

#include <stdbool.h>
#include <stdint.h>

/* Journals action on subject at version with body, bound to epoch and operator op, as a
 * session that died before its answer came would have left it; writes its key into key
 * (JOURNAL_KEY_MAX + 1 bytes) unless key is NULL. Fails the test when it cannot. */
void journalfx_left(const char *action, const char *subject, int64_t version, const char *body,
                    const char *epoch, const char *op, char *key);

/* True when the journal holds key without a settling line. */
bool journalfx_unsettled(const char *key);

#endif
