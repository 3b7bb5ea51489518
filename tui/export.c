/* export.c: `:export ledger FILE.csv` and `:export threads FILE.json` (the JSON written
 * by api/json_write.c). Text from the network is written without its marks
 * (text_strip_marks) and quoted for its format. */
#include "tui/ui.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/json.h"
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
                    model_ledger_kind_names[e[i].refund], e[i].purchase_id, (long long)e[i].at);
            csv_field(f, e[i].postings[k].account);
            fprintf(f, ",%s,%s,%lld\n", amount, e[i].currency,
                    (long long)e[i].postings[k].amount_minor);
        }
    if (fclose(f) != 0)
        return -1;
    return (long)n;
}

/* Writes every thread with its messages as a JSON array (json_write_threads). */
long export_threads_json(const store *st, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    long n = json_write_threads(f, st);
    if (fclose(f) != 0)
        return -1;
    return n;
}
