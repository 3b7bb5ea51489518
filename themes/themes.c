/* themes.c: the .theme parser, theme lookup, and colour pairs for curses. */
#include "themes/themes_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curses.h>

static const char *const role_names[THEME_ROLE_COUNT] = {
    [THEME_NORMAL] = "normal",
    [THEME_HEADER] = "header",
    [THEME_HALTED] = "halted",
    [THEME_RUNNING] = "running",
    [THEME_TAB] = "tab",
    [THEME_TAB_ACTIVE] = "tab-active",
    [THEME_COLUMN] = "column",
    [THEME_SELECTED] = "selected",
    [THEME_DIM] = "dim",
    [THEME_MARK] = "mark",
    [THEME_OK] = "ok",
    [THEME_WARN] = "warn",
    [THEME_CRIT] = "crit",
    [THEME_MONEY] = "money",
    [THEME_STATUS] = "status",
    [THEME_ERROR] = "error",
    [THEME_DIALOG] = "dialog",
    [THEME_DIALOG_TITLE] = "dialog-title",
    [THEME_KEYS] = "keys",
    [THEME_BAR_FILL] = "bar-fill",
    [THEME_BAR_EMPTY] = "bar-empty",
    [THEME_INFLIGHT] = "inflight",
    [THEME_RULE] = "rule",
};

static const char *const colour_names[8] = {"black", "red",     "green", "yellow",
                                            "blue",  "magenta", "cyan",  "white"};

static const struct {
    const char *name;
    unsigned bit;
} attr_names[] = {
    {"bold", THEME_A_BOLD},           {"dim", THEME_A_DIM},           {"reverse", THEME_A_REVERSE},
    {"underline", THEME_A_UNDERLINE}, {"standout", THEME_A_STANDOUT}, {"italic", THEME_A_ITALIC},
};

/* The current theme and the attributes computed for it. */
static theme current;
static unsigned long role_attr[THEME_ROLE_COUNT];

/* Returns the role's file name (static). */
const char *theme_role_name(theme_role r)
{
    return (r >= 0 && r < THEME_ROLE_COUNT) ? role_names[r] : "?";
}

/* Parses a colour word into -1 (default) or 0..255; returns false when it is not one. */
static bool parse_colour(const char *w, short *out)
{
    if (strcmp(w, "default") == 0) {
        *out = -1;
        return true;
    }
    bool bright = strncmp(w, "bright-", 7) == 0;
    const char *base = bright ? w + 7 : w;
    for (int i = 0; i < 8; i++)
        if (strcmp(base, colour_names[i]) == 0) {
            *out = (short)(i + (bright ? 8 : 0));
            return true;
        }
    if (!isdigit((unsigned char)w[0]))
        return false;
    char *end;
    errno = 0;
    long v = strtol(w, &end, 10);
    if (*end || errno || v < 0 || v > 255)
        return false;
    *out = (short)v;
    return true;
}

/* Parses .theme text; see themes.h. */
int theme_parse(const char *text, const char *name, theme *out, char *err, size_t errsz)
{
    theme t;
    memset(&t, 0, sizeof t);
    snprintf(t.name, sizeof t.name, "%s", name ? name : "");
    for (int r = 0; r < THEME_ROLE_COUNT; r++)
        t.style[r] = (theme_style){-1, -1, 0};
    int lineno = 0;
    const char *p = text;
    while (*p) {
        lineno++;
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        char line[256];
        if (n >= sizeof line) {
            snprintf(err, errsz, "line %d: too long", lineno);
            return -1;
        }
        memcpy(line, p, n);
        line[n] = '\0';
        p += n + (eol ? 1 : 0);
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *words[12];
        int nw = 0;
        for (char *save = NULL, *w = strtok_r(line, " \t\r", &save); w && nw < 12;
             w = strtok_r(NULL, " \t\r", &save))
            words[nw++] = w;
        if (nw == 0)
            continue;
        int role = -1;
        for (int r = 0; r < THEME_ROLE_COUNT; r++)
            if (strcmp(words[0], role_names[r]) == 0)
                role = r;
        if (role < 0) {
            snprintf(err, errsz, "line %d: unknown role '%.40s'", lineno, words[0]);
            return -1;
        }
        if (nw < 3) {
            snprintf(err, errsz, "line %d: '%s' needs a foreground and a background", lineno,
                     role_names[role]);
            return -1;
        }
        theme_style st = {-1, -1, 0};
        if (!parse_colour(words[1], &st.fg) || !parse_colour(words[2], &st.bg)) {
            snprintf(err, errsz, "line %d: bad colour (default, a name, bright-NAME or 0..255)",
                     lineno);
            return -1;
        }
        for (int i = 3; i < nw; i++) {
            unsigned bit = 0;
            for (size_t a = 0; a < sizeof attr_names / sizeof attr_names[0]; a++)
                if (strcmp(words[i], attr_names[a].name) == 0)
                    bit = attr_names[a].bit;
            if (!bit) {
                snprintf(err, errsz, "line %d: unknown attribute '%.40s'", lineno, words[i]);
                return -1;
            }
            st.attrs |= bit;
        }
        t.style[role] = st;
    }
    *out = t;
    return 0;
}

/* Reads a whole small file into an owned string, or NULL (errno set). */
static char *read_small_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = malloc(65536);
    if (!buf) {
        fclose(f);
        return NULL;
    }
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Loads a theme by name or path; see themes.h. */
int theme_load(const char *name, theme *out, char *err, size_t errsz)
{
    if (!name || !*name)
        name = theme_builtin_names[0];
    size_t len = strlen(name);
    bool is_path = strchr(name, '/') || (len > 6 && strcmp(name + len - 6, ".theme") == 0);
    char path[1024];
    if (is_path) {
        snprintf(path, sizeof path, "%s", name);
    } else {
        for (const char *c = name; *c; c++)
            if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_') {
                snprintf(err, errsz, "theme names are letters, digits, '-' and '_'");
                return -1;
            }
        const char *xdg = getenv("XDG_CONFIG_HOME");
        const char *home = getenv("HOME");
        if (xdg && *xdg)
            snprintf(path, sizeof path, "%s/dealdesk/themes/%s.theme", xdg, name);
        else if (home && *home)
            snprintf(path, sizeof path, "%s/.config/dealdesk/themes/%s.theme", home, name);
        else
            path[0] = '\0';
    }
    char *text = path[0] ? read_small_file(path) : NULL;
    if (text) {
        char perr[160];
        int rc = theme_parse(text, name, out, perr, sizeof perr);
        free(text);
        if (rc < 0)
            snprintf(err, errsz, "%s: %s", path, perr);
        return rc;
    }
    if (is_path) {
        snprintf(err, errsz, "%s: %s", path, strerror(errno));
        return -1;
    }
    const char *builtin = theme_builtin_text(name);
    if (!builtin) {
        snprintf(err, errsz,
                 "no theme '%s' (built in: default, dark, light, monochrome, high-contrast)", name);
        return -1;
    }
    return theme_parse(builtin, name, out, err, errsz);
}

/* Folds a 256-colour value to what the terminal has (COLORS), or -1 stays default. */
static short fold_colour(short c, int colours)
{
    if (c < 0 || c < colours)
        return c;
    if (c >= 16 && colours >= 16) {
        if (c >= 232) { /* grey ramp */
            int g = c - 232;
            return (short)(g < 6 ? 0 : g < 14 ? 8 : g < 20 ? 7 : 15);
        }
        int v = c - 16, r = v / 36, g = (v / 6) % 6, b = v % 6;
        int mx = r > g ? (r > b ? r : b) : (g > b ? g : b);
        if (mx == 0)
            return 0;
        int bits = (r * 2 >= mx ? 1 : 0) | (g * 2 >= mx ? 2 : 0) | (b * 2 >= mx ? 4 : 0);
        return (short)(bits + (mx >= 4 ? 8 : 0));
    }
    if (c >= 8 && c < 16)
        return (short)(c - 8);
    short c16 = fold_colour(c, 16);
    return (short)(c16 >= 8 ? c16 - 8 : c16);
}

/* Converts THEME_A_* bits to curses attributes. */
static unsigned long curses_attrs(unsigned a)
{
    unsigned long r = A_NORMAL;
    if (a & THEME_A_BOLD)
        r |= A_BOLD;
    if (a & THEME_A_DIM)
        r |= A_DIM;
    if (a & THEME_A_REVERSE)
        r |= A_REVERSE;
    if (a & THEME_A_UNDERLINE)
        r |= A_UNDERLINE;
    if (a & THEME_A_STANDOUT)
        r |= A_STANDOUT;
#ifdef A_ITALIC
    if (a & THEME_A_ITALIC)
        r |= A_ITALIC;
#endif
    return r;
}

/* Makes t current; see themes.h. Without colour (or on a terminal without it) the
 * monochrome built-in's attributes are used, so every role stays distinguishable. */
void theme_apply(const theme *t, bool colour)
{
    current = *t;
    bool use = colour && has_colors();
    if (!use) {
        theme mono;
        char err[64];
        if (theme_parse(theme_builtin_text("monochrome"), t->name, &mono, err, sizeof err) == 0)
            for (int r = 0; r < THEME_ROLE_COUNT; r++)
                role_attr[r] = curses_attrs(mono.style[r].attrs);
        return;
    }
    use_default_colors();
    for (int r = 0; r < THEME_ROLE_COUNT && r + 1 < COLOR_PAIRS; r++) {
        short fg = fold_colour(t->style[r].fg, COLORS);
        short bg = fold_colour(t->style[r].bg, COLORS);
        init_pair((short)(r + 1), fg, bg);
        role_attr[r] = curses_attrs(t->style[r].attrs) | (unsigned long)COLOR_PAIR(r + 1);
    }
}

/* The attribute of role r in the current theme. */
unsigned long theme_attr(theme_role r)
{
    return (r >= 0 && r < THEME_ROLE_COUNT) ? role_attr[r] : A_NORMAL;
}

/* The current theme's name (borrowed). */
const char *theme_current_name(void)
{
    return current.name;
}
