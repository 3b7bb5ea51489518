/* hostile.c: loads the hostile-text corpus; see hostile.h. */
#include "tests/lib/hostile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends cp to out as UTF-8 (out has room for 4 bytes). Returns the length. */
static size_t put_utf8(unsigned long cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decodes the escapes of one corpus text. */
char *hostile_unescape(const char *text, size_t *len)
{
    size_t n = strlen(text);
    char *out = malloc(n * 4 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (text[i] != '\\') {
            out[o++] = text[i++];
            continue;
        }
        if (text[i + 1] == '\\') {
            out[o++] = '\\';
            i += 2;
        } else if (text[i + 1] == 'x') {
            char hex[3] = {text[i + 2], text[i + 2] ? text[i + 3] : 0, 0};
            char *end;
            unsigned long b = strtoul(hex, &end, 16);
            if (end != hex + 2) {
                free(out);
                return NULL;
            }
            out[o++] = (char)b;
            i += 4;
        } else if (text[i + 1] == 'u' && text[i + 2] == '{') {
            char *end;
            unsigned long cp = strtoul(text + i + 3, &end, 16);
            if (*end != '}' || cp > 0x10FFFF) {
                free(out);
                return NULL;
            }
            o += put_utf8(cp, out + o);
            i = (size_t)(end - text) + 1;
        } else if (text[i + 1] == 'r' || text[i + 1] == 'n' || text[i + 1] == 't') {
            /* Not in the file's stated escapes, but its cases (cr_overwrite,
             * tab_newline_title) clearly mean the C escapes. */
            out[o++] = text[i + 1] == 'r' ? '\r' : text[i + 1] == 'n' ? '\n' : '\t';
            i += 2;
        } else {
            out[o++] = text[i++];
        }
    }
    out[o] = '\0';
    *len = o;
    return out;
}

/* Loads the corpus file. */
int hostile_load(const char *path, hostile_case **out)
{
    char def[1024];
    if (!path) {
        const char *dir = getenv("TESTDATA");
        snprintf(def, sizeof def, "%s/hostile-text.txt", dir ? dir : "tests/data");
        path = def;
    }
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    hostile_case *cases = NULL;
    int n = 0, cap = 0;
    char line[8192];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        char *tab = strchr(line, '\t');
        if (!tab)
            continue;
        *tab = '\0';
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            hostile_case *grown = realloc(cases, (size_t)cap * sizeof *cases);
            if (!grown)
                break;
            cases = grown;
        }
        hostile_case *c = &cases[n];
        snprintf(c->name, sizeof c->name, "%.63s", line);
        c->bytes = hostile_unescape(tab + 1, &c->len);
        if (c->bytes)
            n++;
    }
    fclose(f);
    *out = cases;
    return n;
}

/* Frees the corpus. */
void hostile_free(hostile_case *cases, int n)
{
    for (int i = 0; i < n; i++)
        free(cases[i].bytes);
    free(cases);
}
