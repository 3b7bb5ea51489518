/* builtin.c: the built-in themes, the text of themes/<name>.theme compiled in so that
 * dealdesk needs no installed files. tests/unit/test_themes.c checks that each string
 * here is identical to its file. */
#include "themes/themes_int.h"

#include <stddef.h>
#include <string.h>

static const char theme_text_default[] = "# default: the terminal's own background and foreground; "
                                         "colour only where it means something.\n"
                                         "normal        default  default\n"
                                         "header        default  default  bold\n"
                                         "halted        bright-white  red  bold reverse\n"
                                         "running       green    default  bold\n"
                                         "tab           default  default  dim\n"
                                         "tab-active    default  default  bold reverse\n"
                                         "column        default  default  bold underline\n"
                                         "selected      default  default  reverse\n"
                                         "dim           8        default  dim\n"
                                         "mark          magenta  default  bold underline\n"
                                         "ok            green    default\n"
                                         "warn          yellow   default  bold\n"
                                         "crit          red      default  bold\n"
                                         "money         default  default\n"
                                         "status        default  default\n"
                                         "error         red      default  bold\n"
                                         "dialog        default  default\n"
                                         "dialog-title  default  default  bold reverse\n"
                                         "keys          default  default  dim\n"
                                         "bar-fill      cyan     default  reverse\n"
                                         "bar-empty     8        default  dim\n"
                                         "inflight      yellow   default  bold\n"
                                         "rule          8        default  dim\n";

static const char theme_text_dark[] = "# dark: light text on a dark grey background.\n"
                                      "normal        252  235\n"
                                      "header        255  237  bold\n"
                                      "halted        231  160  bold\n"
                                      "running       114  237  bold\n"
                                      "tab           246  235\n"
                                      "tab-active    231  24   bold\n"
                                      "column        250  235  bold underline\n"
                                      "selected      231  24\n"
                                      "dim           244  235\n"
                                      "mark          213  235  bold underline\n"
                                      "ok            114  235\n"
                                      "warn          221  235  bold\n"
                                      "crit          203  235  bold\n"
                                      "money         229  235\n"
                                      "status        252  237\n"
                                      "error         203  237  bold\n"
                                      "dialog        252  238\n"
                                      "dialog-title  231  24   bold\n"
                                      "keys          246  237\n"
                                      "bar-fill      235  80\n"
                                      "bar-empty     240  235\n"
                                      "inflight      221  235  bold\n"
                                      "rule          240  235\n";

static const char theme_text_light[] = "# light: dark text on a light background.\n"
                                       "normal        235  255\n"
                                       "header        232  253  bold\n"
                                       "halted        231  124  bold\n"
                                       "running       22   253  bold\n"
                                       "tab           240  255\n"
                                       "tab-active    231  25   bold\n"
                                       "column        236  255  bold underline\n"
                                       "selected      232  153\n"
                                       "dim           242  255\n"
                                       "mark          127  255  bold underline\n"
                                       "ok            22   255\n"
                                       "warn          130  255  bold\n"
                                       "crit          124  255  bold\n"
                                       "money         17   255\n"
                                       "status        235  253\n"
                                       "error         124  253  bold\n"
                                       "dialog        235  254\n"
                                       "dialog-title  231  25   bold\n"
                                       "keys          240  253\n"
                                       "bar-fill      255  31\n"
                                       "bar-empty     248  255\n"
                                       "inflight      130  255  bold\n"
                                       "rule          248  255\n";

static const char theme_text_monochrome[] =
    "# monochrome: attributes only; what NO_COLOR and --no-color look like.\n"
    "normal        default  default\n"
    "header        default  default  bold\n"
    "halted        default  default  bold reverse\n"
    "running       default  default  bold\n"
    "tab           default  default\n"
    "tab-active    default  default  bold reverse\n"
    "column        default  default  bold underline\n"
    "selected      default  default  reverse\n"
    "dim           default  default  dim\n"
    "mark          default  default  underline\n"
    "ok            default  default\n"
    "warn          default  default  bold\n"
    "crit          default  default  bold underline\n"
    "money         default  default\n"
    "status        default  default\n"
    "error         default  default  bold\n"
    "dialog        default  default\n"
    "dialog-title  default  default  reverse\n"
    "keys          default  default  dim\n"
    "bar-fill      default  default  reverse\n"
    "bar-empty     default  default  dim\n"
    "inflight      default  default  bold\n"
    "rule          default  default\n";

static const char theme_text_high_contrast[] =
    "# high-contrast: bright white on black, saturated signals, nothing dim.\n"
    "normal        bright-white  black\n"
    "header        black         bright-white  bold\n"
    "halted        bright-white  red           bold reverse\n"
    "running       black         bright-green  bold\n"
    "tab           bright-white  black\n"
    "tab-active    black         bright-yellow bold\n"
    "column        bright-yellow black         bold underline\n"
    "selected      black         bright-cyan   bold\n"
    "dim           white         black\n"
    "mark          black         bright-magenta bold\n"
    "ok            bright-green  black         bold\n"
    "warn          bright-yellow black         bold\n"
    "crit          bright-red    black         bold underline\n"
    "money         bright-white  black         bold\n"
    "status        bright-white  black\n"
    "error         bright-red    black         bold\n"
    "dialog        bright-white  blue\n"
    "dialog-title  black         bright-yellow bold\n"
    "keys          bright-white  black         bold\n"
    "bar-fill      black         bright-green\n"
    "bar-empty     white         black\n"
    "inflight      bright-yellow black         bold\n"
    "rule          white         black\n";

const char *const theme_builtin_names[] = {"default",    "dark",          "light",
                                           "monochrome", "high-contrast", NULL};

/* Returns the .theme text of the built-in theme name, or NULL (static storage). */
const char *theme_builtin_text(const char *name)
{
    static const char *const texts[] = {theme_text_default, theme_text_dark, theme_text_light,
                                        theme_text_monochrome, theme_text_high_contrast};
    for (size_t i = 0; theme_builtin_names[i]; i++)
        if (strcmp(theme_builtin_names[i], name) == 0)
            return texts[i];
    return NULL;
}
