/* sim_fault.c: the faults the fleet injects on purpose, and the hidden text it plants.
 *
 * Each kind is named as GET /v1/sim/faults reports it and paired with the risk rule of
 * docs/api.md that must catch it, so tests and benchmarks can measure recall. The
 * disputes the fleet opens after settlement are labelled here too (dispute_justified,
 * dispute_bad_faith: marketd/fleet_dispute.c), with the reason a fault gives a buyer.
 */
#include "marketd/sim.h"

#include <string.h>

#include "api/text.h"

static const struct {
    const char *name;
    const char *rule;
} fault_names[FAULT_COUNT] = {
    [FAULT_QUANTITY_TYPO] = {"quantity_typo", "quantity_vs_intent"},
    [FAULT_OVERPAY] = {"overpay", "overpay"},
    [FAULT_OFF_MANDATE] = {"off_mandate", "off_mandate"},
    [FAULT_BELOW_FLOOR] = {"below_floor", "below_floor"},
    [FAULT_BAD_SHIP_TO] = {"bad_ship_to", "ship_to_unverified"},
    [FAULT_TERMS_DRIFT] = {"terms_drift", "terms_drift"},
    [FAULT_DUPLICATE] = {"duplicate", "duplicate"},
    [FAULT_HIDDEN_TEXT] = {"hidden_text", "hidden_text"},
    [FAULT_VELOCITY] = {"velocity", "velocity"},
};

/* Returns the fault's contract name, or "none". */
const char *sim_fault_name(sim_fault f)
{
    return f >= 0 && f < FAULT_COUNT ? fault_names[f].name : "none";
}

/* Returns the rule that must flag the fault, or "none". */
const char *sim_fault_rule(sim_fault f)
{
    return f >= 0 && f < FAULT_COUNT ? fault_names[f].rule : "none";
}

/* Returns the fault named name, or FAULT_NONE. */
sim_fault sim_fault_parse(const char *name)
{
    for (int i = 0; name && i < FAULT_COUNT; i++)
        if (strcmp(name, fault_names[i].name) == 0)
            return (sim_fault)i;
    return FAULT_NONE;
}

/* True when one more fault of kind k would pass its share; see sim.h. */
bool sim_fault_over_share(const int counts[FAULT_COUNT], sim_fault k)
{
    int total = 0;
    for (int i = 0; i < FAULT_COUNT; i++)
        total += counts[i];
    return k >= 0 && k < FAULT_COUNT && counts[k] > 0 &&
           (counts[k] + 1) * 100 > SIM_FAULT_SHARE_MAX * (total + 1);
}

/* A justified dispute's reason for a purchase that carried fault f, and its claim's share
 * of the total; see sim.h. */
const char *sim_fault_dispute(sim_fault f, double *share)
{
    *share = 1.0;
    switch (f) {
        case FAULT_BAD_SHIP_TO: return "not_received"; /* shipped to a hallucinated address */
        case FAULT_QUANTITY_TYPO:
        case FAULT_TERMS_DRIFT: *share = 0.9; return "wrong_quantity";
        case FAULT_OVERPAY: *share = 0.6; return "not_as_described";
        case FAULT_HIDDEN_TEXT: *share = 0.5; return "not_as_described";
        case FAULT_OFF_MANDATE:
        case FAULT_DUPLICATE: return "unauthorized";
        default: return NULL;
    }
}

const char *sim_dispute_kind(bool justified)
{
    return justified ? "dispute_justified" : "dispute_bad_faith";
}

/* What an agent's text can carry without anyone seeing it: each is one of the classes
 * text_scan() reports under TEXT_F_HIDDEN_MASK. */
static const char *const hidden_seqs[] = {
    "\xe2\x80\x8b",                /* U+200B zero-width space */
    "\xe2\x80\x8d",                /* U+200D zero-width joiner */
    "\xe2\x80\xae",                /* U+202E right-to-left override */
    "\xe2\x81\xa6",                /* U+2066 left-to-right isolate */
    "\xef\xbb\xbf",                /* U+FEFF byte-order mark mid-text */
    "\x1b[8m",                     /* ESC: conceal attribute */
    "\x07",                        /* BEL */
    "\xf3\xa0\x80\x81",            /* U+E0001 language tag */
    "\xe2\x80\xaeten\xe2\x80\xac", /* an override that flips a word */
};

/* Inserts one hidden sequence at a word boundary of text (in place). Returns text. */
char *sim_fault_hide(sim_rng *r, char *text, size_t size)
{
    const char *h = hidden_seqs[sim_rng_pick(r, sizeof hidden_seqs / sizeof hidden_seqs[0])];
    size_t len = strlen(text), hl = strlen(h);
    if (len + hl + 1 > size) {
        if (size < hl + 1)
            return text;
        len = text_utf8_fit(text, size - hl - 1); /* never half a character */
        text[len] = '\0';
    }
    /* Count the spaces and pick one to insert after (or the end when there is none). */
    size_t spaces = 0;
    for (size_t i = 0; i < len; i++)
        spaces += text[i] == ' ';
    size_t at = len;
    if (spaces) {
        size_t want = sim_rng_pick(r, spaces), seen = 0;
        for (size_t i = 0; i < len; i++)
            if (text[i] == ' ' && seen++ == want) {
                at = i + 1;
                break;
            }
    }
    memmove(text + at + hl, text + at, len - at + 1);
    memcpy(text + at, h, hl);
    return text;
}
