/* test_themes.c: the .theme parser, the built-in themes (identical to their files), and
 * the lookup order (file path, $XDG_CONFIG_HOME, built-in). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "themes/themes.h"
#include "themes/themes_int.h"

/* Reads a file into a static buffer. */
static const char *slurp(const char *path)
{
    static char buf[65536];
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Each built-in theme parses, sets every role, and equals themes/NAME.theme. */
static void test_builtins_match_files(void **state)
{
    (void)state;
    const char *dir = getenv("TESTS_DIR");
    assert_non_null(dir);
    for (size_t i = 0; theme_builtin_names[i]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/../themes/%s.theme", dir, theme_builtin_names[i]);
        const char *text = slurp(path);
        assert_non_null(text);
        assert_string_equal(text, theme_builtin_text(theme_builtin_names[i]));
        theme t;
        char err[200];
        assert_int_equal(theme_parse(text, theme_builtin_names[i], &t, err, sizeof err), 0);
        /* every role is named in every built-in file */
        for (int r = 0; r < THEME_ROLE_COUNT; r++) {
            char word[40];
            snprintf(word, sizeof word, "\n%s ", theme_role_name((theme_role)r));
            char *hit = strstr(text, word);
            if (!hit)
                fprintf(stderr, "%s lacks %s\n", theme_builtin_names[i], word + 1);
            assert_non_null(hit);
        }
    }
}

/* The default theme keeps the terminal's background everywhere but signals. */
static void test_default_uses_terminal_background(void **state)
{
    (void)state;
    theme t;
    char err[200];
    assert_int_equal(theme_load("default", &t, err, sizeof err), 0);
    assert_int_equal(t.style[THEME_NORMAL].bg, -1);
    assert_int_equal(t.style[THEME_NORMAL].fg, -1);
    assert_int_equal(t.style[THEME_SELECTED].bg, -1);
    assert_true(t.style[THEME_SELECTED].attrs & THEME_A_REVERSE);
}

/* Errors name the line and what is wrong. */
static void test_parse_errors(void **state)
{
    (void)state;
    theme t;
    char err[200];
    assert_int_equal(
        theme_parse("normal default default\nbogus red blue\n", "x", &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "line 2"));
    assert_non_null(strstr(err, "bogus"));
    assert_int_equal(theme_parse("crit 256 default\n", "x", &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "line 1"));
    assert_int_equal(theme_parse("crit red\n", "x", &t, err, sizeof err), -1);
    assert_int_equal(theme_parse("crit red default blink\n", "x", &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "blink"));
    /* comments, blank lines, names, bright names, numbers and attributes */
    assert_int_equal(
        theme_parse("# c\n\ncrit bright-red 17 bold underline # tail\n", "x", &t, err, sizeof err),
        0);
    assert_int_equal(t.style[THEME_CRIT].fg, 9);
    assert_int_equal(t.style[THEME_CRIT].bg, 17);
    assert_int_equal(t.style[THEME_CRIT].attrs, THEME_A_BOLD | THEME_A_UNDERLINE);
}

/* A user theme in $XDG_CONFIG_HOME wins over a built-in; a path loads a file; unknown
 * names and unsafe names are refused. */
static void test_lookup_order(void **state)
{
    (void)state;
    const char *tmp = getenv("TEST_TMP");
    assert_non_null(tmp);
    char dir[1024], path[1100];
    snprintf(dir, sizeof dir, "%s/themecfg", tmp);
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/dealdesk", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/dealdesk/themes", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/dealdesk/themes/dark.theme", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("normal 1 2\n", f);
    fclose(f);
    char *old = getenv("XDG_CONFIG_HOME") ? strdup(getenv("XDG_CONFIG_HOME")) : NULL;
    setenv("XDG_CONFIG_HOME", dir, 1);
    theme t;
    char err[300];
    assert_int_equal(theme_load("dark", &t, err, sizeof err), 0);
    assert_int_equal(t.style[THEME_NORMAL].fg, 1);
    assert_int_equal(theme_load(path, &t, err, sizeof err), 0);
    assert_int_equal(t.style[THEME_NORMAL].bg, 2);
    assert_int_equal(theme_load("light", &t, err, sizeof err), 0); /* built in */
    assert_int_equal(theme_load("nosuch", &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "no theme 'nosuch'"));
    assert_int_equal(theme_load("../etc", &t, err, sizeof err), -1);
    if (old) {
        setenv("XDG_CONFIG_HOME", old, 1);
        free(old);
    } else
        unsetenv("XDG_CONFIG_HOME");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtins_match_files),
        cmocka_unit_test(test_default_uses_terminal_background),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_lookup_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
