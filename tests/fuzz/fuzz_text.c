/* fuzz_text.c: libFuzzer target for the text sanitiser. On every input, in both modes:
 * the output is valid, holds none of the forbidden code points, its marks balance, its
 * width is what text_width() says, and every cut of it keeps all of that. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "api/text.h"
#include "tests/lib/text_invariants.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int m = 0; m < 2; m++) {
        text_mode mode = m ? TEXT_ASCII : TEXT_UTF8;
        text_safe t;
        if (text_sanitize((const char *)data, size, mode, &t) != 0)
            abort();
        const char *why = text_invariants(&t, mode);
        if (why) {
            fprintf(stderr, "invariant broken (%s mode): %s\n", m ? "ascii" : "utf8", why);
            abort();
        }
        if (text_scan((const char *)data, size) & ~t.flags & ~(unsigned)TEXT_F_UNASSIGNED)
            abort();
        int cols = size ? data[0] % 40 : 0;
        char cut[4096];
        int w = text_truncate(t.s, cols, mode, cut, sizeof cut);
        text_safe view = {cut, 0, w, 0, 0};
        while (cut[view.len])
            view.len++;
        why = text_invariants(&view, mode);
        if (why || w > cols) {
            fprintf(stderr, "cut to %d broken: %s\n", cols, why ? why : "too wide");
            abort();
        }
        text_safe_free(&t);
    }
    return 0;
}
