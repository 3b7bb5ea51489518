/* sim_catalogue.c: a believable market generated from a seed.
 *
 * Classified goods (bikes, furniture, electronics, books, tickets) sell one or a few at
 * a time; business goods (GPU hours, spare compute, API credits) sell by the hundred.
 * Every item has a reference price (what the market says it is worth), a floor (the
 * seller's cost basis) and an asking price. Buyers carry principals, mandates, budgets,
 * per-deal limits, approval thresholds, typical quantities and verified addresses, all
 * sized so that a clean deal stays inside every rule of docs/api.md.
 */
#include "marketd/sim.h"

#include <stdio.h>
#include <string.h>

static const char *const cat_names[CAT_COUNT] = {
    [CAT_BIKES] = "bikes",     [CAT_FURNITURE] = "furniture",     [CAT_ELECTRONICS] = "electronics",
    [CAT_BOOKS] = "books",     [CAT_TICKETS] = "tickets",         [CAT_GPU_HOURS] = "gpu-hours",
    [CAT_COMPUTE] = "compute", [CAT_API_CREDITS] = "api-credits",
};

/* Returns the category's market name (static). */
const char *sim_category_name(sim_category c)
{
    return c >= 0 && c < CAT_COUNT ? cat_names[c] : "other";
}

/* True for business goods. */
bool sim_category_b2b(sim_category c)
{
    return c == CAT_GPU_HOURS || c == CAT_COMPUTE || c == CAT_API_CREDITS;
}

/* Returns the unit of one quantity of c, singular or plural (static). */
const char *sim_category_unit(sim_category c, bool plural)
{
    switch (c) {
        case CAT_GPU_HOURS: return plural ? "GPU hours" : "GPU hour";
        case CAT_COMPUTE: return plural ? "vCPU-months" : "vCPU-month";
        case CAT_API_CREDITS: return plural ? "million tokens" : "million tokens";
        case CAT_TICKETS: return plural ? "tickets" : "ticket";
        case CAT_BOOKS: return plural ? "copies" : "copy";
        default: return plural ? "items" : "item";
    }
}

/* One kind of thing a seller may list: a title stem, a short noun for messages, the
 * reference unit price range in cents and the stock range. */
typedef struct tmpl {
    const char *title;
    const char *noun;
    int64_t ref_lo, ref_hi;
    int64_t stock_lo, stock_hi;
} tmpl;

/* Within a category the reference prices stay within about 1.6x of each other: the
 * market's reference for a listing is the median asking price of its category, and a
 * clean deal must stay under 1.5x of it. */
static const tmpl t_bikes[] = {
    {"Trek FX 3 Disc hybrid bike", "the Trek FX 3", 52000, 66000, 1, 1},
    {"Specialized Allez road bike, Shimano Claris", "the Allez", 45000, 61000, 1, 1},
    {"Brompton C Line folding bike", "the Brompton", 60000, 74000, 1, 1},
    {"Giant Talon 29 hardtail MTB", "the Talon", 40000, 52000, 1, 1},
    {"Cannondale Quick 4 commuter", "the Cannondale", 38000, 48000, 1, 1},
    {"Surly Long Haul Trucker touring bike", "the LHT", 58000, 72000, 1, 1},
    {"Rad Power RadCity e-bike, 2021", "the RadCity", 60000, 72000, 1, 1},
};
static const tmpl t_furniture[] = {
    {"Mid-century walnut sideboard", "the sideboard", 30000, 42000, 1, 1},
    {"IKEA Ektorp three-seat sofa, grey cover", "the Ektorp sofa", 20000, 28000, 1, 1},
    {"Herman Miller Aeron chair, size B", "the Aeron", 32000, 45000, 1, 3},
    {"Solid oak dining table, seats six", "the oak table", 28000, 40000, 1, 1},
    {"Standing desk, dual motor, 160x80 top", "the standing desk", 22000, 32000, 1, 2},
    {"Set of four bentwood dining chairs", "the chairs", 18000, 26000, 1, 1},
};
static const tmpl t_electronics[] = {
    {"iPhone 13 128GB, unlocked", "the iPhone", 34000, 42000, 1, 1},
    {"Sony WH-1000XM5 headphones", "the Sonys", 20000, 26000, 1, 2},
    {"Nintendo Switch OLED with two games", "the Switch", 24000, 30000, 1, 1},
    {"Dell UltraSharp U2720Q 27-inch 4K monitor", "the Dell monitor", 26000, 34000, 1, 3},
    {"MacBook Air M1 8GB/256GB", "the MacBook Air", 40000, 48000, 1, 1},
    {"iPad Air 5th gen 64GB", "the iPad Air", 32000, 40000, 1, 1},
    {"Steam Deck 256GB with case", "the Steam Deck", 28000, 36000, 1, 1},
    {"GoPro Hero 11 creator bundle", "the GoPro", 22000, 28000, 1, 2},
};
static const tmpl t_books[] = {
    {"The C Programming Language, 2nd ed.", "K&R", 3000, 4500, 1, 3},
    {"Designing Data-Intensive Applications", "DDIA", 3200, 4500, 1, 3},
    {"Calvin and Hobbes, Essential collection", "the Calvin and Hobbes", 2800, 4000, 1, 1},
    {"Dune, first Ace paperback printing", "the Dune paperback", 3500, 5000, 1, 1},
    {"Structure and Interpretation of Computer Programs", "SICP", 2800, 4200, 1, 3},
    {"Ottolenghi Simple (hardcover)", "the Ottolenghi", 2500, 3500, 1, 2},
    {"Le Guin, The Dispossessed, 1974 paperback", "the Le Guin", 3000, 4500, 1, 1},
};
static const tmpl t_tickets[] = {
    {"Two tickets, Warriors vs Lakers, lower bowl", "the Warriors tickets", 18000, 24000, 2, 2},
    {"Glastonbury resale ticket", "the Glastonbury ticket", 22000, 28000, 1, 2},
    {"Hamilton orchestra seats, Saturday matinee", "the Hamilton seats", 19000, 26000, 2, 4},
    {"Tame Impala GA floor", "the Tame Impala tickets", 14000, 19000, 1, 4},
    {"US Open day session, Arthur Ashe", "the US Open tickets", 15000, 21000, 2, 4},
    {"PyCon US individual pass", "the PyCon pass", 20000, 28000, 1, 1},
};
static const tmpl t_gpu[] = {
    {"NVIDIA H100 SXM 80GB, spot hours, us-east", "H100 hours", 190, 240, 20000, 200000},
    {"NVIDIA A100 80GB hours, eu-west, 99.5% SLA", "A100 hours", 140, 190, 20000, 200000},
    {"NVIDIA L40S hours, inference tier, us-west", "L40S hours", 110, 150, 30000, 200000},
    {"RTX A6000 hours, reserved, Frankfurt", "A6000 hours", 100, 130, 30000, 200000},
};
static const tmpl t_compute[] = {
    {"Spare c6i vCPU-months, Frankfurt, 30-day term", "vCPU-months", 1800, 2400, 20000, 100000},
    {"Reserved ARM vCPU-months, Oregon, monthly billing", "ARM vCPU-months", 1400, 1800, 20000,
     100000},
    {"Bare-metal core-months, Ashburn, 25 Gbit", "bare-metal cores", 2000, 2600, 20000, 60000},
    {"Spot vCPU-months, any region, preemptible", "spot vCPU-months", 1300, 1700, 30000, 150000},
};
static const tmpl t_api[] = {
    {"LLM inference credits per 1M tokens, batch tier", "batch inference credits", 90, 140, 50000,
     500000},
    {"LLM inference credits per 1M tokens, realtime tier", "realtime credits", 140, 200, 50000,
     500000},
    {"Embedding and rerank credits per 1M tokens", "embedding credits", 100, 150, 50000, 500000},
    {"Vision model credits per 1M tokens", "vision credits", 120, 180, 30000, 300000},
};

static const struct {
    const tmpl *t;
    size_t n;
} templates[CAT_COUNT] = {
#define T(a)                                                                                       \
    {                                                                                              \
        a, sizeof a / sizeof a[0]                                                                  \
    }
    [CAT_BIKES] = T(t_bikes),
    [CAT_FURNITURE] = T(t_furniture),
    [CAT_ELECTRONICS] = T(t_electronics),
    [CAT_BOOKS] = T(t_books),
    [CAT_TICKETS] = T(t_tickets),
    [CAT_GPU_HOURS] = T(t_gpu),
    [CAT_COMPUTE] = T(t_compute),
    [CAT_API_CREDITS] = T(t_api),
#undef T
};

static const char *const conditions[] = {
    "like new",  "lightly used", "good condition",  "barely used",       "well kept",
    "one owner", "minor scuffs", "smoke-free home", "recently serviced", "original box",
};
static const char *const places[] = {
    "Oakland",      "Brooklyn",           "Austin",     "Portland",
    "Somerville",   "Chicago (Logan Sq)", "Denver",     "Seattle (Ballard)",
    "Philadelphia", "Minneapolis",        "Pittsburgh", "San Diego",
};
static const char *const b2b_terms[] = {
    "Invoiced net-30",          "Usage metered per minute", "Credits valid 12 months",
    "Capacity confirmed daily", "SOC 2 Type II provider",   "Transferable on request",
    "Volume tiers available",   "No egress fees",
};
static const char *const why_selling[] = {
    "Moving and can't take it with me.",
    "Upgraded, so this one needs a new home.",
    "Barely used since we had the baby.",
    "Clearing out the garage this month.",
    "Bought two by mistake.",
    "Downsizing before a move abroad.",
    "It deserves someone who'll use it.",
    "Selling for a friend who relocated.",
};
static const char *const b2b_why[] = {
    "Over-provisioned for Q3, releasing the surplus.",
    "Our training run finished early; the reservation runs to month end.",
    "Committed-use discount left us with spare capacity.",
    "Reselling a bulk prepay we will not burn through.",
    "Capacity freed after a migration to our own cluster.",
};

/* Rounds v to a "price-looking" amount: to $1 above $50, to $0.50 above $5. */
static int64_t price_round(int64_t v, bool b2b)
{
    if (b2b)
        return v < 1 ? 1 : v;
    if (v >= 5000)
        return (v + 50) / 100 * 100;
    if (v >= 500)
        return (v + 25) / 50 * 50;
    return v < 1 ? 1 : v;
}

/* Generates one item of category c with prices, stock, title and description. */
void sim_item_generate(sim_rng *r, sim_category c, sim_item *out)
{
    memset(out, 0, sizeof *out);
    if (c < 0 || c >= CAT_COUNT)
        c = CAT_BOOKS;
    const tmpl *t = &templates[c].t[sim_rng_pick(r, templates[c].n)];
    bool b2b = sim_category_b2b(c);
    out->cat = c;
    out->reference_minor = price_round(sim_rng_range(r, t->ref_lo, t->ref_hi), b2b);
    /* The cost basis sits 55-80% of the reference; the ask 0-20% above it. */
    out->floor_minor = (int64_t)((double)out->reference_minor * sim_rng_uniform(r, 0.55, 0.80));
    if (out->floor_minor < 1)
        out->floor_minor = 1;
    out->list_minor =
        price_round((int64_t)((double)out->reference_minor * sim_rng_uniform(r, 1.0, 1.2)), b2b);
    if (out->list_minor < out->reference_minor)
        out->list_minor = out->reference_minor;
    int64_t stock = sim_rng_range(r, t->stock_lo, t->stock_hi);
    if (b2b)
        stock = stock / 100 * 100;
    out->quantity = stock < 1 ? 1 : stock;
    snprintf(out->noun, sizeof out->noun, "%s", t->noun);
    if (b2b) {
        snprintf(out->title, sizeof out->title, "%s", t->title);
        snprintf(out->description, sizeof out->description, "%s %s. Minimum order 1 unit; %s.",
                 b2b_why[sim_rng_pick(r, sizeof b2b_why / sizeof b2b_why[0])],
                 b2b_terms[sim_rng_pick(r, sizeof b2b_terms / sizeof b2b_terms[0])],
                 b2b_terms[sim_rng_pick(r, sizeof b2b_terms / sizeof b2b_terms[0])]);
    } else {
        const char *cond = conditions[sim_rng_pick(r, sizeof conditions / sizeof conditions[0])];
        const char *place = places[sim_rng_pick(r, sizeof places / sizeof places[0])];
        snprintf(out->title, sizeof out->title, "%s - %s", t->title, cond);
        snprintf(out->description, sizeof out->description,
                 "%s %s, %s. Pickup in %s or I can ship at cost.",
                 why_selling[sim_rng_pick(r, sizeof why_selling / sizeof why_selling[0])], t->title,
                 cond, place);
    }
}

/* Highest and mean reference price of a category, from its templates. */
static void cat_prices(sim_category c, int64_t *hi, int64_t *mean)
{
    int64_t h = 0, sum = 0;
    for (size_t i = 0; i < templates[c].n; i++) {
        if (templates[c].t[i].ref_hi > h)
            h = templates[c].t[i].ref_hi;
        sum += (templates[c].t[i].ref_lo + templates[c].t[i].ref_hi) / 2;
    }
    *hi = h;
    *mean = templates[c].n ? sum / (int64_t)templates[c].n : 0;
}

static const char *const first_names[] = {
    "Maya", "Jonas", "Priya", "Diego",  "Aiko", "Tomasz", "Chloe", "Kwame", "Ines", "Rafael",
    "Nora", "Samir", "Lena",  "Oliver", "Mei",  "Tariq",  "Hana",  "Luca",  "Zoe",  "Arjun",
};
static const char *const last_names[] = {
    "Chen",     "Okafor", "Novak", "Haddad",  "Lindqvist", "Moreau", "Tanaka", "Silva",
    "Kowalski", "Patel",  "Reyes", "Fischer", "Mensah",    "Kim",    "Rossi",  "Byrne",
};
static const char *const company_a[] = {
    "Northwind", "Helix",    "Bluefin", "Quarry",  "Lattice", "Orchard",  "Beacon",  "Ferrous",
    "Tidal",     "Parallax", "Kestrel", "Juniper", "Cobalt",  "Meridian", "Saffron", "Vireo",
};
static const char *const company_b[] = {
    "Robotics Ltd", "Bio Labs", "Analytics Inc",    "AI GmbH",    "Research LLC", "Data Co",
    "Systems",      "Labs Inc", "Compute Partners", "Vision Ltd", "Foundry",      "Dynamics",
};
static const char *const bot_names[] = {
    "Atlas", "Wren", "Sable", "Piper", "Orion",  "Juno",
    "Echo",  "Rook", "Vega",  "Fable", "Nimbus", "Quill",
};
static const char *const streets[] = {
    "Maple Ave",  "Harbor St", "Linden Rd",  "Cedar Ln", "Mission St", "Elm St",
    "Grand Blvd", "Park Pl",   "Willow Way", "Union St", "Bayview Dr", "Pine St",
};
static const struct {
    const char *city, *state, *zip3;
} cities[] = {
    {"Oakland", "CA", "946"},  {"Brooklyn", "NY", "112"},   {"Austin", "TX", "787"},
    {"Portland", "OR", "972"}, {"Somerville", "MA", "021"}, {"Chicago", "IL", "606"},
    {"Denver", "CO", "802"},   {"Seattle", "WA", "981"},    {"Philadelphia", "PA", "191"},
    {"Boulder", "CO", "803"},
};

/* True when agent index of a fleet is a seller: sellers and buyers alternate. */
bool sim_agent_is_seller(int index)
{
    return index % 2 == 0;
}

/* Writes one random street address. */
static void address(sim_rng *r, char *out, size_t size, const char *unit)
{
    size_t c = sim_rng_pick(r, sizeof cities / sizeof cities[0]);
    snprintf(out, size, "%d %s%s, %s, %s %s%02d", (int)sim_rng_range(r, 12, 4980),
             streets[sim_rng_pick(r, sizeof streets / sizeof streets[0])], unit, cities[c].city,
             cities[c].state, cities[c].zip3, (int)sim_rng_range(r, 1, 99));
}

/* Rounds v up to a multiple of step. */
static int64_t round_up(int64_t v, int64_t step)
{
    return (v + step - 1) / step * step;
}

/* Generates agent number index (deterministic in r's state and index). */
void sim_agent_generate(sim_rng *master, int index, sim_agent *out)
{
    sim_rng rr, *r = &rr;
    sim_rng_fork(master, (uint64_t)index + 1, r);
    memset(out, 0, sizeof *out);
    out->seller = sim_agent_is_seller(index);
    /* A third of the pairs trade business goods, the rest classifieds. */
    bool b2b = (index / 2) % 3 == 1;
    out->mood = (sim_mood)sim_rng_pick(r, MOOD_COUNT);
    sim_strategy_generate(r, &out->strategy);

    /* Categories: a shuffled pick from the sector. */
    sim_category pool[5];
    int npool = 0;
    if (b2b) {
        pool[npool++] = CAT_GPU_HOURS;
        pool[npool++] = CAT_COMPUTE;
        pool[npool++] = CAT_API_CREDITS;
    } else {
        for (int c = CAT_BIKES; c <= CAT_TICKETS; c++)
            pool[npool++] = (sim_category)c;
    }
    for (int i = npool - 1; i > 0; i--) {
        int j = (int)sim_rng_range(r, 0, i);
        sim_category t = pool[i];
        pool[i] = pool[j];
        pool[j] = t;
    }
    out->ncats = (int)sim_rng_range(r, 2, b2b ? 3 : 3);
    for (int i = 0; i < out->ncats; i++)
        out->cats[i] = pool[i];

    const char *botn = bot_names[sim_rng_pick(r, sizeof bot_names / sizeof bot_names[0])];
    if (b2b || sim_rng_chance(r, 0.3)) {
        snprintf(out->principal, sizeof out->principal, "%s %s",
                 company_a[sim_rng_pick(r, sizeof company_a / sizeof company_a[0])],
                 company_b[sim_rng_pick(r, sizeof company_b / sizeof company_b[0])]);
    } else {
        snprintf(out->principal, sizeof out->principal, "%s %s",
                 first_names[sim_rng_pick(r, sizeof first_names / sizeof first_names[0])],
                 last_names[sim_rng_pick(r, sizeof last_names / sizeof last_names[0])]);
    }
    snprintf(out->name, sizeof out->name, "%s %s-%d", botn,
             out->seller ? (b2b ? "broker" : "seller") : (b2b ? "procurement" : "shopper"),
             index + 1);

    /* Typical quantities: classifieds one or two; business goods a few dozen to a few
     * hundred units, the top of the range under twice the bottom so that no clean deal
     * nears "ten times the median". */
    if (b2b) {
        out->qty_lo = sim_rng_range(r, 2, 40) * 5;
        out->qty_hi = out->qty_lo * 2;
        out->max_quantity = out->qty_lo * 8;
    } else {
        out->qty_lo = 1;
        out->qty_hi = sim_rng_chance(r, 0.5) ? 2 : 1;
        out->max_quantity = 6;
    }

    /* Limits from what the mandate costs: the dearest clean deal (120% of the dearest
     * reference at the top quantity) fits with room to spare. */
    int64_t hi = 0, mean = 0;
    for (int i = 0; i < out->ncats; i++) {
        int64_t h, m;
        cat_prices(out->cats[i], &h, &m);
        if (h > hi)
            hi = h;
        mean += m;
    }
    mean /= out->ncats;
    int64_t dearest = hi * 13 / 10 * out->qty_hi;
    out->per_deal_max_minor = round_up(dearest * 3 / 2, 10000);
    int64_t typical = mean * (out->qty_lo + out->qty_hi) / 2;
    out->approval_threshold_minor =
        round_up((int64_t)((double)typical * sim_rng_uniform(r, 0.6, 1.3)), 1000);
    out->spend_cap_minor = round_up(out->per_deal_max_minor * 250, 100000);
    if (out->seller) {
        /* Sellers do not buy; their limits are what a cautious principal would still set. */
        out->approval_threshold_minor = 0;
    }

    /* Verified addresses: one to three. */
    out->naddresses = (int)sim_rng_range(r, 1, SIM_MAX_ADDR);
    for (int i = 0; i < out->naddresses; i++)
        address(r, out->addresses[i], sizeof out->addresses[i], "");
}

/* Writes a plausible address that none of a's verified ones equals. */
void sim_address_hallucinate(sim_rng *r, const sim_agent *a, char *out, size_t size)
{
    static const char *const units[] = {", Suite 400", ", Apt 12B", ", Unit 7", ", Floor 3"};
    for (;;) {
        address(r, out, size, units[sim_rng_pick(r, sizeof units / sizeof units[0])]);
        bool dup = false;
        for (int i = 0; i < a->naddresses; i++)
            dup |= strcmp(out, a->addresses[i]) == 0;
        if (!dup)
            return;
    }
}
