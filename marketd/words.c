/* words.c: the words of the market's messages (flag details, alerts, errors, system
 * messages), shared by risk.c, decide.c and trade.c.
 *
 * Every amount a person reads is money with its currency ("$1,000.00 USD", api/money.h),
 * never minor units, and a limit is named in words, never by its field: curl and
 * `dealdesk tail` users read these texts as they are.
 */
#include "marketd/mkt.h"

#include <stdio.h>

#include "api/money.h"

const char *mkt_money(char out[MKT_MONEY_LEN], int64_t minor, const char *currency)
{
    money_format(out, MKT_MONEY_LEN, minor, currency ? currency : "",
                 MONEY_FMT_SYMBOL | MONEY_FMT_CODE);
    return out;
}

const char *mkt_count(char out[MKT_COUNT_LEN], int64_t n)
{
    return money_format_count(out, MKT_COUNT_LEN, n);
}

const char *mkt_cap_words(char *out, size_t size, json_t *cap, const char *currency)
{
    json_t *mp = json_object_get(cap, "max_unit_price_minor");
    json_t *mq = json_object_get(cap, "max_quantity");
    char price[MKT_MONEY_LEN], qty[MKT_COUNT_LEN];
    if (json_is_integer(mp) && json_is_integer(mq))
        snprintf(out, size, "unit price at most %s, quantity at most %s",
                 mkt_money(price, json_integer_value(mp), currency),
                 mkt_count(qty, json_integer_value(mq)));
    else if (json_is_integer(mp))
        snprintf(out, size, "unit price at most %s",
                 mkt_money(price, json_integer_value(mp), currency));
    else if (json_is_integer(mq))
        snprintf(out, size, "quantity at most %s", mkt_count(qty, json_integer_value(mq)));
    else
        snprintf(out, size, "no limit");
    return out;
}
