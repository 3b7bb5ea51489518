/* themes.h: colour roles and the schemes that give them colours.
 *
 * | file            | holds                                                        |
 * |-----------------|--------------------------------------------------------------|
 * | themes.h        | this header: roles, the theme type, loading and applying     |
 * | themes.c        | the .theme parser, the built-in schemes, curses colour pairs |
 * | *.theme         | the built-in schemes as files (installed; same text as built in) |
 *
 * Code never names a colour: it asks for a role (THEME_CRIT, THEME_SELECTED, ...) and
 * gets a curses attribute. A theme maps every role to a foreground, a background and
 * attributes; on a terminal with fewer colours the 256-colour values are folded to the
 * nearest of 16 or 8, and with no colour at all (NO_COLOR, --no-color, a dumb terminal)
 * each role keeps only its attributes (bold, reverse, underline), which every role is
 * given so that monochrome still tells them apart.
 *
 * A .theme file has one role per line: `ROLE FG BG [ATTR...]`, where FG/BG are
 * `default`, a name (black red green yellow blue magenta cyan white, `bright-` of each)
 * or 0..255, and ATTR is bold, dim, reverse, underline, standout or italic. `#` starts
 * a comment. Unknown roles or colours are errors with their line number.
 */
#ifndef DEALDESK_THEMES_THEMES_H
#define DEALDESK_THEMES_THEMES_H

#include <stdbool.h>
#include <stddef.h>

typedef enum theme_role {
    THEME_NORMAL,       /* ordinary text */
    THEME_HEADER,       /* the header lines */
    THEME_HALTED,       /* FLEET HALTED: must be unmistakable */
    THEME_RUNNING,      /* FLEET RUNNING */
    THEME_TAB,          /* a pane's name in the tab line */
    THEME_TAB_ACTIVE,   /* the current pane's name */
    THEME_COLUMN,       /* table column headings */
    THEME_SELECTED,     /* the selected row */
    THEME_DIM,          /* secondary text: ids, times */
    THEME_MARK,         /* placeholders for hidden/control characters in network text */
    THEME_OK,           /* settled, live, approved */
    THEME_WARN,         /* warnings, reconnecting */
    THEME_CRIT,         /* critical flags and alerts, offline */
    THEME_MONEY,        /* amounts */
    THEME_STATUS,       /* the status line */
    THEME_ERROR,        /* an error on the status line */
    THEME_DIALOG,       /* a confirmation box */
    THEME_DIALOG_TITLE, /* its title */
    THEME_KEYS,         /* key hints on the last line */
    THEME_BAR_FILL,     /* the used part of a bar */
    THEME_BAR_EMPTY,    /* the rest of a bar */
    THEME_INFLIGHT,     /* a row whose decision is on its way */
    THEME_RULE,         /* separators */
    THEME_ROLE_COUNT
} theme_role;

/* One role's look. fg/bg: -1 = the terminal's default, 0..255 otherwise. */
typedef struct theme_style {
    short fg, bg;
    unsigned attrs; /* THEME_A_* */
} theme_style;

enum theme_attr_bits {
    THEME_A_BOLD = 1u << 0,
    THEME_A_DIM = 1u << 1,
    THEME_A_REVERSE = 1u << 2,
    THEME_A_UNDERLINE = 1u << 3,
    THEME_A_STANDOUT = 1u << 4,
    THEME_A_ITALIC = 1u << 5,
};

typedef struct theme {
    char name[64];
    theme_style style[THEME_ROLE_COUNT];
} theme;

/* Names of the built-in themes, NULL-terminated (static). The first is the default. */
extern const char *const theme_builtin_names[];

/* Name of a role as written in .theme files ("selected"), static. */
const char *theme_role_name(theme_role r);

/* Parses .theme text into *out (starting from the monochrome look for roles not given).
 * Returns 0, or -1 with "line N: why" in err. */
int theme_parse(const char *text, const char *name, theme *out, char *err, size_t errsz);

/* Loads theme name: a file path (contains '/' or ends ".theme"), else
 * $XDG_CONFIG_HOME/dealdesk/themes/NAME.theme, else a built-in of that name.
 * Returns 0, or -1 with a message in err. */
int theme_load(const char *name, theme *out, char *err, size_t errsz);

/* Makes t the current theme for curses (call after initscr(); with colour == false only
 * attributes are used). Safe to call again (":theme"). */
void theme_apply(const theme *t, bool colour);

/* The curses attribute (attr_t, colour pair included) of a role in the current theme. */
unsigned long theme_attr(theme_role r);

/* The name of the current theme (borrowed). */
const char *theme_current_name(void);

#endif
