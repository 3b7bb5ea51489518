/* export.c: `:export ledger FILE.csv` and `:export threads FILE.json`. Text from the
 * network is written without its marks (text_strip_marks) and quoted for its format. */
#include "tui/ui.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/money.h"

/* Writes s as one CSV field (quoted when needed; leading = + - @ neutralised so that a
 * spreadsheet never runs a formula from the network). */
static void csv_field(FILE *f, const char *s)
{
    bool quote = strpbrk(s, ",\"\n\r") != NULL || strchr("=+-@", s[0] ? s[0] : 'x');
    if (!quote) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    if (strchr("=+-@", s[0]) && s[0])
        fputc('\'', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* Writes the ledger as CSV, one row per posting. */
long export_ledger_csv(const store *st, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs("entry,seq,kind,purchase,at_ms,account,amount,currency,amount_minor\n", f);
    size_t n;
    const model_ledger_entry *e = store_ledger(st, &n);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < e[i].npostings; k++) {
            char amount[48];
            money_format(amount, sizeof amount, e[i].postings[k].amount_minor, e[i].currency,
                         MONEY_FMT_NOGROUP);
            fprintf(f, "%s,%lld,%s,%s,%lld,", e[i].id, (long long)e[i].seq,
                    e[i].refund ? "refund" : "settlement", e[i].purchase_id, (long long)e[i].at);
            csv_field(f, e[i].postings[k].account);
            fprintf(f, ",%s,%s,%lld\n", amount, e[i].currency,
                    (long long)e[i].postings[k].amount_minor);
        }
    if (fclose(f) != 0)
        return -1;
    return (long)n;
}

/* Writes a JSON string (marks stripped, controls escaped). */
static void json_str(FILE *f, const char *safe)
{
    char plain[8192];
    text_strip_marks(safe ? safe : "", plain, sizeof plain);
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)plain; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* Writes every thread with its messages as a JSON array. */
long export_threads_json(const store *st, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    size_t n;
    const model_negotiation *const *t = store_negotiations(st, &n);
    fputs("[\n", f);
    for (size_t i = 0; i < n; i++) {
        const model_negotiation *g = t[i];
        fprintf(f,
                "  {\"id\": \"%s\", \"version\": %lld, \"listing_id\": \"%s\", \"buyer_id\": "
                "\"%s\", \"seller_id\": \"%s\", \"status\": ",
                g->id, (long long)g->version, g->listing_id, g->buyer_id, g->seller_id);
        json_str(f, model_neg_status_label(g));
        fprintf(f, ", \"currency\": \"%s\", \"message_count\": %lld, \"messages\": [", g->currency,
                (long long)g->message_count);
        for (size_t k = 0; k < g->nmessages; k++) {
            const model_message *m = &g->messages[k];
            fprintf(f, "%s\n    {\"seq\": %lld, \"from\": \"%s\", \"kind\": ", k ? "," : "",
                    (long long)m->seq, m->from);
            json_str(f, model_msg_kind_label(m));
            fputs(", ", f);
            if (m->unit_price_minor >= 0)
                fprintf(f, "\"unit_price_minor\": %lld, ", (long long)m->unit_price_minor);
            else
                fputs("\"unit_price_minor\": null, ", f);
            if (m->quantity >= 0)
                fprintf(f, "\"quantity\": %lld, ", (long long)m->quantity);
            else
                fputs("\"quantity\": null, ", f);
            fputs("\"text\": ", f);
            json_str(f, m->text.s);
            fprintf(f, ", \"at_ms\": %lld}", (long long)m->at);
        }
        fprintf(f, "%s]}%s\n", g->nmessages ? "\n  " : "", i + 1 < n ? "," : "");
    }
    fputs("]\n", f);
    if (fclose(f) != 0)
        return -1;
    return (long)n;
}
