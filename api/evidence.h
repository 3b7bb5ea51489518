/* evidence.h: the evidence of one dispute (issue 17), assembled from what the console can
 * read: the dispute (claim, responses, resolution), its purchase (what was bought, its
 * flags and the decision at purchase time), the negotiation's messages with the ones that
 * matter marked (offers, counters, the accept, and any message that speaks of quantity,
 * address, shipping or terms), the agreed terms (from the accepted offer) against what was
 * bought, and both parties' dispute history (GET /v1/disputes?party=).
 *
 * evidence_build() is the one source of what the Disputes pane's evidence view shows
 * (tui/disputes.c) and of what `dealdesk disputes show ID [--json]` prints
 * (tui/headless_disputes.c): both give it the objects they read and show its lines, so a
 * script reads exactly what a supervisor sees. Pure: libc, the model and api/money.h.
 * Every amount is money in the dispute's currency; every text from the network is the
 * model's sanitised text (it may hold TEXT_MARK_ON/OFF: text_strip_marks to print it).
 */
#ifndef DEALDESK_API_EVIDENCE_H
#define DEALDESK_API_EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/model.h"

/* How a line reads: what matters is marked, a mismatch or a critical flag stands out. */
typedef enum evidence_mark {
    EVM_PLAIN,
    EVM_HEAD,    /* the dispute's first line */
    EVM_MATTERS, /* a message that matters (marked ▶ in the thread) */
    EVM_WARN,    /* a difference, an unanswered dispute, a warning flag */
    EVM_CRIT,    /* a critical flag */
    EVM_DIM,     /* not (yet) known */
    EVM_MONEY,   /* an amount line that is only an amount (refunded, refundable) */
} evidence_mark;

typedef struct evidence_line {
    char section[12]; /* "dispute", "claim", "response", "resolution", "bought", "terms",
                         "ship_to", "flags", "decision", "thread", "history" */
    evidence_mark mark;
    bool soft; /* a message's text: the view may cut it to one row */
    char text[480];
} evidence_line;

/* One party's dispute history, as read with GET /v1/disputes?party=ID. */
typedef struct evidence_history {
    const model_dispute *const *rows;
    size_t n;
    bool known;    /* read (complete or not); false: not read yet, or failed */
    bool complete; /* every page read */
} evidence_history;

typedef struct evidence_in {
    const model_dispute *dispute;    /* required */
    const model_purchase *purchase;  /* NULL: not read (yet) */
    const model_negotiation *thread; /* NULL: not read; its messages as held */
    evidence_history buyer, seller;  /* the parties' histories */
    /* an agent's display name (sanitised; NULL or "": the id is shown) */
    const char *(*name)(void *ud, const char *agent_id);
    void *name_ud;
    int64_t now_ms; /* the market's clock, for respond_by */
    bool ascii;     /* the text mode is ASCII: the program's symbols (✗ ✓ ▶ × · ⚠) too */
} evidence_in;

#define EVIDENCE_RULES_MAX 16

/* What the lines say, as figures (for a script: --json's "facts"); -1 where not known. */
typedef struct evidence_facts {
    int64_t claim_minor;
    int64_t offer_minor; /* the latest response's offer, -1 none */
    int64_t total_minor, refunded_minor, refundable_minor;
    int64_t bought_qty, bought_unit_minor;
    int64_t agreed_qty, agreed_unit_minor, agreed_total_minor; /* from the accept */
    bool qty_differs, price_differs;
    bool ship_to_unverified; /* the purchase carried ship_to_unverified */
    size_t flags_critical, flags_warning;
    model_raw flag_rules[EVIDENCE_RULES_MAX]; /* the purchase's flags' rules, in order */
    size_t nflag_rules;
    size_t messages, marked;
    /* the histories, this dispute left out: opened by the party, against the party (opened
     * by the other side), of those resolved refund or partial_refund, and rejected */
    int64_t buyer_opened, buyer_opened_refunded, buyer_opened_rejected;
    int64_t seller_against, seller_against_refunded, seller_against_rejected;
} evidence_facts;

typedef struct evidence {
    evidence_line *lines; /* owned */
    size_t n, cap;
    bool failed; /* out of memory: lines are missing */
    bool ascii;  /* as evidence_in's */
    evidence_facts f;
} evidence;

/* Builds the evidence of in->dispute into *out (emptied first; evidence_free after).
 * Returns 0, or -1 (memory: the lines built so far stay). */
int evidence_build(const evidence_in *in, evidence *out);
void evidence_free(evidence *e);

/* Whether message m of a thread matters (marked): an offer, a counter or the accept, or a
 * text that speaks of quantity, address, shipping, delivery or terms. */
bool evidence_message_matters(const model_message *m);

#endif
