/* sim_text.c: what the fleet's agents say.
 *
 * A message is an opener chosen by mood, a core chosen by kind and sector (classifieds
 * or business goods) that states the terms, and a closer chosen by mood; with a few
 * hundred combinations per kind the live threads read like people and bots haggling,
 * not one template. Placeholders: {P} unit price, {T} the terms ("300 GPU hours at
 * $2.10 each"), {N} the item's short name, {U} the unit. All text is plain printable
 * ASCII: a clean agent never sends anything the hidden_text rule would see.
 */
#include "marketd/sim.h"

#include <stdio.h>
#include <string.h>

#include "api/money.h"
#include "api/text.h"

#define NB(a) (sizeof(a) / sizeof((a)[0]))

/* Openers per mood. */
static const char *const openers[MOOD_COUNT][5] = {
    [MOOD_FRIENDLY] = {"Hi there!", "Hey, thanks for getting back to me.", "Hello!",
                       "Thanks for the quick reply.", "Good to hear from you."},
    [MOOD_TERSE] = {"", "", "Ok.", "Noted.", "Right."},
    [MOOD_FORMAL] = {"Good day.", "Thank you for your message.", "Hello,",
                     "On behalf of my principal:", "Further to your last message,"},
    [MOOD_HAGGLER] = {"Look,", "Let's be realistic.", "Come on,", "Honestly,",
                      "I've seen better prices elsewhere."},
};
/* Closers per mood. */
static const char *const closers[MOOD_COUNT][5] = {
    [MOOD_FRIENDLY] = {"Let me know!", "Hope that works for you.", "Cheers!", "Thanks so much.",
                       "Have a good one."},
    [MOOD_TERSE] = {"", "", "Thanks.", "Pls confirm.", ""},
    [MOOD_FORMAL] = {"Kind regards.", "We look forward to your reply.",
                     "Please confirm at your convenience.", "Best regards.",
                     "Thank you for your consideration."},
    [MOOD_HAGGLER] = {"That's a fair number.", "Take it or leave it.", "Cash is ready today.",
                      "Can't do better than that.", "Ball's in your court."},
};

typedef struct bank {
    const char *const *classifieds;
    size_t nc;
    const char *const *b2b;
    size_t nb;
} bank;

static const char *const open_c[] = {
    "Is {N} still available? I can offer {T}.",
    "I'm interested in {N}. Would you take {T}?",
    "Could you do {T} for {N}?",
    "I'd like {N}. My offer is {T}.",
    "Would {T} work for {N}? I can pick up this week.",
    "Saw your listing for {N} - I can do {T}.",
};
static const char *const open_b[] = {
    "We need capacity this month: {T}.",
    "Requesting a quote-match on {N}: {T}.",
    "We'd take {T}, invoiced to our account.",
    "Our workload needs {N}; we can commit to {T}.",
    "Opening bid for {N}: {T}, usage starting Monday.",
    "Procurement can approve {T} today.",
};
static const char *const bcounter_c[] = {
    "I can come up to {T}.",           "How about {T}? That's about my limit.", "Meet me at {T}?",
    "I could stretch to {T} for {N}.", "Let's say {T} and I'll collect.",
};
static const char *const bcounter_b[] = {
    "We can move to {T}.",
    "Revised offer: {T}.",
    "Budget allows {T}; that's close to our ceiling.",
    "Counter at {T}, with a 30-day term.",
    "We could do {T} if you confirm capacity.",
};
static const char *const scounter_c[] = {
    "The lowest I can go is {T}.", "I could do {T} for {N}.",
    "{T} and it's yours.",         "Can't go that low; {T}?",
    "Meet in the middle at {T}?",  "I've had other interest, but {T} works for me.",
};
static const char *const scounter_b[] = {
    "We can offer {T}.",
    "Best rate we can do is {T}.",
    "Counter: {T}, capacity held for 24 hours.",
    "Our floor for this tier is near {T}.",
    "We could do {T} on a 30-day commitment.",
};
static const char *const agree_c[] = {
    "Deal at {T} - confirm and it's yours.",
    "{T} works for me. Confirm?",
    "Fine, {T}. Please confirm.",
    "Ok, you've got it for {T}.",
};
static const char *const agree_b[] = {
    "Agreed at {T}. Please confirm the order.",
    "{T} is acceptable. Awaiting your confirmation.",
    "We can do {T}. Confirm and we'll provision.",
    "Approved on our side at {T}.",
};
static const char *const accept_c[] = {
    "Deal! {T} it is.",         "Great, I'll take it at {T}.",
    "Confirmed at {T}.",        "Sounds good - {T}, confirmed.",
    "Perfect, confirming {T}.",
};
static const char *const accept_b[] = {
    "Confirmed: {T}. PO to follow.", "Accepting {T}; please provision.", "We accept {T}.",
    "Order confirmed at {T}.",       "Accepted. Invoice us for {T}.",
};
static const char *const bwalk_c[] = {
    "That's more than I can spend on {N}. I'll pass.",
    "We're too far apart. Good luck with the sale.",
    "I'll keep looking, thanks anyway.",
    "Too rich for me. Thanks for your time.",
};
static const char *const bwalk_b[] = {
    "We can't justify that rate; closing this request.",
    "Outside our budget for {N}. We'll source elsewhere.",
    "No agreement possible at that level. Withdrawing.",
    "Procurement declined. Thank you for quoting.",
};
static const char *const swalk_c[] = {
    "Sorry, I can't go that low on {N}.",
    "I'll hold out for a better offer, thanks.",
    "Not at that price, sorry.",
    "That's below what I paid. Pass.",
};
static const char *const swalk_b[] = {
    "That rate is below our cost. We decline.",
    "We can't serve {N} at that price.",
    "Declining; capacity is committed elsewhere at higher rates.",
    "Unable to meet that price. Closing the quote.",
};
static const char *const nudge_c[] = {
    "Still interested?",
    "Any thoughts on my offer?",
    "Just checking in on {N}.",
    "Sorry for the delay - still keen.",
};
static const char *const nudge_b[] = {
    "Following up on our quote for {N}.",
    "Is the offer still open?",
    "Apologies for the delay; finance was reviewing.",
    "Circling back on {N}.",
};
static const char *const cap_c[] = {
    "My principal capped this deal. I can do {T}.",
    "I've been told to stay under a limit: {T}?",
    "Re-offering within my approved limit: {T}.",
};
static const char *const cap_b[] = {
    "Our supervisor capped the order; revised offer {T}.",
    "Resubmitting within the approved cap: {T}.",
    "Compliance set a ceiling. We can do {T}.",
};

static const bank banks[SAY_COUNT] = {
#define B(c, b)                                                                                    \
    {                                                                                              \
        c, NB(c), b, NB(b)                                                                         \
    }
    [SAY_OPEN] = B(open_c, open_b),
    [SAY_BUYER_COUNTER] = B(bcounter_c, bcounter_b),
    [SAY_SELLER_COUNTER] = B(scounter_c, scounter_b),
    [SAY_SELLER_AGREE] = B(agree_c, agree_b),
    [SAY_ACCEPT] = B(accept_c, accept_b),
    [SAY_BUYER_WALK] = B(bwalk_c, bwalk_b),
    [SAY_SELLER_WALK] = B(swalk_c, swalk_b),
    [SAY_NUDGE] = B(nudge_c, nudge_b),
    [SAY_CAP_ACK] = B(cap_c, cap_b),
#undef B
};

/* Counts the non-NULL entries of a mood row (rows may be shorter than 5). */
static size_t row_len(const char *const *row)
{
    size_t n = 0;
    while (n < 5 && row[n])
        n++;
    return n;
}

/* Appends s to out (size bytes) at *len, truncating safely. */
static void append(char *out, size_t size, size_t *len, const char *s)
{
    size_t n = strlen(s);
    if (*len + n >= size)
        n = text_utf8_fit(s, size - 1 - *len); /* never half a character */
    memcpy(out + *len, s, n);
    *len += n;
    out[*len] = '\0';
}

/* Writes the terms phrase of c into buf. */
static void terms(const sim_say_ctx *c, char *buf, size_t size)
{
    char p[48];
    money_format(p, sizeof p, c->price_minor, c->currency ? c->currency : "USD", MONEY_FMT_SYMBOL);
    if (sim_category_b2b(c->cat))
        snprintf(buf, size, "%lld %s at %s per %s", (long long)c->qty,
                 sim_category_unit(c->cat, c->qty != 1), p,
                 c->cat == CAT_API_CREDITS ? "million" : sim_category_unit(c->cat, false));
    else if (c->qty > 1)
        snprintf(buf, size, "%s each for %lld", p, (long long)c->qty);
    else
        snprintf(buf, size, "%s", p);
}

/* Expands the placeholders of tmpl into out at *len. */
static void expand(const char *tmpl, const sim_say_ctx *c, char *out, size_t size, size_t *len)
{
    char t[128], p[48];
    for (const char *s = tmpl; *s; s++) {
        if (s[0] == '{' && s[1] && s[2] == '}') {
            switch (s[1]) {
                case 'T':
                    terms(c, t, sizeof t);
                    append(out, size, len, t);
                    break;
                case 'P':
                    money_format(p, sizeof p, c->price_minor, c->currency ? c->currency : "USD",
                                 MONEY_FMT_SYMBOL);
                    append(out, size, len, p);
                    break;
                case 'N': append(out, size, len, c->noun ? c->noun : "the item"); break;
                case 'U': append(out, size, len, sim_category_unit(c->cat, c->qty != 1)); break;
                default: break;
            }
            s += 2;
            continue;
        }
        char one[2] = {*s, 0};
        append(out, size, len, one);
    }
}

/* Writes a message of kind k for context c into out. Returns out. */
char *sim_say_text(sim_rng *r, sim_say k, const sim_say_ctx *c, char *out, size_t size)
{
    if (!size)
        return out;
    out[0] = '\0';
    if (k < 0 || k >= SAY_COUNT)
        return out;
    sim_mood m = c->mood >= 0 && c->mood < MOOD_COUNT ? c->mood : MOOD_FRIENDLY;
    const bank *b = &banks[k];
    bool b2b = sim_category_b2b(c->cat);
    const char *core =
        b2b ? b->b2b[sim_rng_pick(r, b->nb)] : b->classifieds[sim_rng_pick(r, b->nc)];
    const char *op = openers[m][sim_rng_pick(r, row_len(openers[m]))];
    const char *cl = closers[m][sim_rng_pick(r, row_len(closers[m]))];
    /* Not every message needs an opener and a closer: a third of them go without. */
    if (sim_rng_chance(r, 0.3))
        op = "";
    if (sim_rng_chance(r, 0.35))
        cl = "";
    size_t len = 0;
    if (*op) {
        append(out, size, &len, op);
        append(out, size, &len, " ");
    }
    size_t core_at = len;
    expand(core, c, out, size, &len);
    /* After "Look," or "Come on," the sentence goes on in lower case ("I" stays). */
    size_t oplen = strlen(op);
    if (oplen && op[oplen - 1] == ',' && out[core_at] >= 'A' && out[core_at] <= 'Z' &&
        !(out[core_at] == 'I' && (out[core_at + 1] == ' ' || out[core_at + 1] == '\'')))
        out[core_at] = (char)(out[core_at] - 'A' + 'a');
    if (*cl) {
        append(out, size, &len, " ");
        append(out, size, &len, cl);
    }
    return out;
}
