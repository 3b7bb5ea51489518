/* themes_int.h: what themes.c and builtin.c share (not for other folders). */
#ifndef DEALDESK_THEMES_INT_H
#define DEALDESK_THEMES_INT_H

#include "themes/themes.h"

/* Returns the .theme text of a built-in theme, or NULL when there is none (static). */
const char *theme_builtin_text(const char *name);

#endif
