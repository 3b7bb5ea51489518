/* json_canon.h: the canonical JSON of RFC 8785 (JCS), the one form a value is hashed in
 * by both programs: marketd chains its decisions and ledger entries with it
 * (marketd/audit.c) and the console checks an exported chain with it (api/json_audit.c).
 *
 * Keys sorted by their UTF-16 code units, no whitespace, strings with the RFC's minimal
 * escapes (\" \\ \b \f \n \r \t, other controls as \u00xx; everything else as UTF-8, U+2028
 * and non-BMP characters too), numbers as ECMAScript's Number.prototype.toString writes
 * them (integers plainly; a real in its shortest round-trip form, 1e+30, 1e-7).
 */
#ifndef DEALDESK_API_JSON_CANON_H
#define DEALDESK_API_JSON_CANON_H

#include <jansson.h>
#include <stddef.h>

/* The canonical text of v: owned, NUL-terminated, its length in *len (may be NULL). NULL
 * when v has no canonical form (an integer beyond +-2^53, which an IEEE double cannot
 * hold exactly: refused rather than rounded) or memory ran out. */
char *json_canon(json_t *v, size_t *len);

#endif
