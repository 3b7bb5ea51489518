/* listmodel.c: the lists' contract as a model (see listmodel.h). */
#include "tests/lib/listmodel.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static long long num(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

/* The number of an id ("lst_12": 12): the creation order within a kind. */
static long long idn(json_t *o)
{
    const char *u = strrchr(str(o, "id"), '_');
    return u ? atoll(u + 1) : -1;
}

static int cmp_ll(long long a, long long b)
{
    return (a > b) - (a < b);
}

/* An alert's severity as a rank (critical first). */
static int rank(json_t *o)
{
    const char *s = str(o, "severity");
    return !strcmp(s, "critical") ? 2 : !strcmp(s, "warning") ? 1 : 0;
}

/* A ledger entry's largest posting. */
static long long largest(json_t *o)
{
    long long max = 0;
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(o, "postings"), i, p)
    {
        if (i == 0 || num(p, "amount_minor") > max)
            max = num(p, "amount_minor");
    }
    return max;
}

int listmodel_order(const char *sort, json_t *a, json_t *b)
{
    int c = 0;
    bool desc = *sort != '\0';
    if (!strcmp(sort, "updated") || !strcmp(sort, "activity"))
        c = strcmp(str(a, "updated_at"), str(b, "updated_at"));
    else if (!strcmp(sort, "price"))
        c = cmp_ll(num(a, "unit_price_minor"), num(b, "unit_price_minor"));
    else if (!strcmp(sort, "messages"))
        c = cmp_ll(num(a, "message_count"), num(b, "message_count"));
    else if (!strcmp(sort, "total"))
        c = cmp_ll(num(a, "total_minor"), num(b, "total_minor"));
    else if (!strcmp(sort, "severity"))
        c = cmp_ll(rank(a), rank(b));
    else if (!strcmp(sort, "amount"))
        c = cmp_ll(largest(a), largest(b));
    else if (!strcmp(sort, "deadline") || !strcmp(sort, "name")) {
        const char *k = !strcmp(sort, "name") ? "name" : "decide_by";
        const char *x = json_string_value(json_object_get(a, k));
        const char *y = json_string_value(json_object_get(b, k));
        c = strcmp(x ? x : "\x7f", y ? y : "\x7f"); /* none last */
        desc = false;
    }
    if (c == 0)
        c = cmp_ll(idn(a), idn(b));
    return desc ? -c : c;
}

/* The searchable fields of each list (docs/api.md, Reading: q=): a field, "a.b" (a
 * field of an object), "a[].b" (that field of each element), "listing:title" (the
 * title of the listing the object names). */
static const struct {
    const char *plural;
    const char *fields[6];
} searchable[] = {
    {"agents", {"id", "name", "principal"}},
    {"listings", {"id", "title", "category", "seller_id"}},
    {"negotiations", {"id", "listing_id", "buyer_id", "seller_id", "listing:title"}},
    {"purchases", {"id", "negotiation_id", "listing_id", "buyer_id", "seller_id"}},
    {"alerts", {"id", "rule", "message", "subject.id"}},
    {"ledger", {"id", "purchase_id", "postings[].account"}},
    {"decisions", {"id", "action", "by", "subject.id", "reason"}},
};

void listmodel_values(json_t *o, const char *f, json_t *listings, json_t *out)
{
    const char *dot = strchr(f, '.');
    if (!strcmp(f, "listing:title")) {
        size_t i;
        json_t *l;
        json_array_foreach(listings, i, l) if (!strcmp(str(l, "id"), str(o, "listing_id")))
            json_array_append_new(out, json_string(str(l, "title")));
    } else if (!strcmp(f, "postings[].account")) {
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(o, "postings"), i, p)
            json_array_append_new(out, json_string(str(p, "account")));
    } else if (dot) {
        char k[16];
        snprintf(k, sizeof k, "%.*s", (int)(dot - f), f);
        json_array_append_new(out, json_string(str(json_object_get(o, k), dot + 1)));
    } else if (json_is_string(json_object_get(o, f))) {
        json_array_append_new(out, json_string(str(o, f)));
    }
}

/* True when hay holds needle, ASCII case aside. */
static bool holds_text(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return true;
    }
    return false;
}

const char *const listmodel_lists[] = {"agents", "listings", "negotiations", "purchases",
                                       "alerts", "ledger",   "decisions",    NULL};

const char *const *listmodel_fields(const char *plural)
{
    for (size_t k = 0; k < sizeof searchable / sizeof searchable[0]; k++)
        if (!strcmp(searchable[k].plural, plural))
            return searchable[k].fields;
    return NULL;
}

bool listmodel_matches(const char *plural, json_t *o, json_t *listings, const char *q)
{
    json_t *vals = json_array(), *v;
    size_t i;
    const char *const *f = listmodel_fields(plural);
    for (int k = 0; f && f[k]; k++)
        listmodel_values(o, f[k], listings, vals);
    bool yes = false;
    json_array_foreach(vals, i, v) yes = yes || holds_text(json_string_value(v), q);
    json_decref(vals);
    return yes;
}
