/* headless.h: the commands that run without a console (the README's "Using it": tail,
 * snapshot, replay and the one-shot decisions).
 *
 * Each returns the process exit code: 0 ok, 1 runtime failure (or a decision the server
 * refused: 409, 412, any 4xx), 2 usage error. Errors go to stderr, sanitised; the token
 * is never printed.
 */
#ifndef DEALDESK_TUI_HEADLESS_H
#define DEALDESK_TUI_HEADLESS_H

#include <stdbool.h>
#include <stdint.h>

#include "api/config.h"
#include "api/decision.h"

/* dealdesk tail [--after SEQ]: prints each applied event as one line of ASCII JSON
 * {seq, type, at, data}, in seq order, until SIGINT/SIGTERM, a closed stdout, or an
 * authentication failure. cfg->stream_after selects --after. */
int headless_tail(config *cfg);

/* dealdesk snapshot: prints the server's current state as one line of ASCII JSON, after
 * checking that it decodes. */
int headless_snapshot(const config *cfg);

/* dealdesk replay FILE --headless (or stdout not a terminal): prints the recording's
 * events like tail, paced by cfg->replay_speed. */
int headless_replay(config *cfg);

/* One decision. When req->if_match_version is 0 (and the action has a subject), the
 * subject is fetched first for its version; an approve without an expected total uses
 * the fetched total unless total_text (typed money, parsed in the purchase's currency)
 * is given; max_price_text (cap; a resolve's --amount) is parsed in the subject's
 * currency. Prints "ok ACTION ID HTTP-STATUS" on success. */
int headless_decide(config *cfg, decision_req *req, const char *total_text,
                    const char *max_price_text);

/* dealdesk approve|veto PUR PUR…: one decision per id (ids[0..n), distinct), each
 * bound to the version read from the server and, for approve, to totals[i] (typed money
 * in the purchase's currency) or, when NULL, the total read (said on stderr before
 * anything is sent); a veto's reason goes with every one. Prints one line per id on
 * stdout, in order: "ok ACTION ID STATUS", "refused ACTION ID STATUS CODE: message",
 * "failed …" or "unknown …". Returns 0 only when every one succeeded, 1 otherwise, 2 for
 * an amount that does not parse (nothing sent). */
int headless_decide_many(config *cfg, decision_action action, const char *const *ids,
                         const char *const *totals, int n, const char *reason);

/* dealdesk disputes show ID [--json]: the evidence of one dispute (api/evidence.h), the
 * lines the Disputes pane's evidence view shows, or as one line of JSON with its figures
 * (tui/headless_disputes.c). 0, 1 (not read), 2 (not a dispute id). */
int headless_disputes_show(const config *cfg, const char *id, bool json);

/* dealdesk policies list: the server's policies, one line each, in evaluation order. */
int headless_policies_list(const config *cfg);
/* dealdesk policies export FILE: the server's set written to FILE ({"policies": [...]}). */
int headless_policies_export(const config *cfg, const char *file);
/* dealdesk policies import FILE: the server's set made FILE's (tui/headless_policies.c):
 * created, replaced, unchanged, or disabled when the file does not name it; an invalid
 * file changes nothing and says why. */
int headless_policies_import(const config *cfg, const char *file);

/* dealdesk audit export FILE: the market's audit chain written to FILE as JSON lines, a
 * header line first (tui/audit_cli.c; docs/api.md, "Audit"). */
int headless_audit_export(const config *cfg, const char *file);
/* dealdesk audit verify FILE [--head HASH]: checks an export against the market's head
 * (head NULL) or the head given; prints one line: "ok: ..." (0) or the first entry
 * changed, removed, reordered or inserted (1). */
int headless_audit_verify(const config *cfg, const char *file, const char *head);

#endif
