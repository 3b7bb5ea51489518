/* keymap.c: which key does what: the default bindings (the keys of each entry of the
 * table in commands.c), and `bind KEY ACTION` lines from the config file with their
 * conflicts reported. The help screen and the key bar read the live bindings. */
#include "tui/ui.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_BINDINGS 96

typedef struct binding {
    wint_t ch;
    bool is_key;
    ui_action action;
} binding;

static binding bindings[MAX_BINDINGS];
static size_t nbindings;

static const struct {
    const char *name;
    wint_t ch;
    bool is_key;
} key_names[] = {
    {"Up", KEY_UP, true},
    {"Down", KEY_DOWN, true},
    {"Left", KEY_LEFT, true},
    {"Right", KEY_RIGHT, true},
    {"PgUp", KEY_PPAGE, true},
    {"PgDn", KEY_NPAGE, true},
    {"Home", KEY_HOME, true},
    {"End", KEY_END, true},
    {"BTab", KEY_BTAB, true},
    {"Enter", '\n', false},
    {"Esc", 27, false},
    {"Tab", '\t', false},
    {"Space", ' ', false},
    {"F1", KEY_F(1), true},
    {"F2", KEY_F(2), true},
    {"F3", KEY_F(3), true},
    {"F4", KEY_F(4), true},
    {"F5", KEY_F(5), true},
    {"Backspace", KEY_BACKSPACE, true},
};

/* Adds (or replaces) a binding of one key. */
static void bind_key(wint_t ch, bool is_key, ui_action a)
{
    for (size_t i = 0; i < nbindings; i++)
        if (bindings[i].ch == ch && bindings[i].is_key == is_key) {
            bindings[i].action = a;
            return;
        }
    if (nbindings < MAX_BINDINGS)
        bindings[nbindings++] = (binding){ch, is_key, a};
}

/* Parses a key name ("a", "C-l", "Enter", "PgUp"); returns false when unknown. */
static bool parse_key(const char *s, wint_t *ch, bool *is_key)
{
    for (size_t i = 0; i < sizeof key_names / sizeof key_names[0]; i++)
        if (strcasecmp(s, key_names[i].name) == 0) {
            *ch = key_names[i].ch;
            *is_key = key_names[i].is_key;
            return true;
        }
    if ((s[0] == 'C' || s[0] == 'c') && s[1] == '-' && s[2] && !s[3]) {
        char c = s[2];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c < '@' || c > '_')
            return false;
        *ch = (wint_t)(c - '@');
        *is_key = false;
        return true;
    }
    if (s[0] && !s[1] && s[0] > 0x20 && s[0] < 0x7f) {
        *ch = (wint_t)(unsigned char)s[0];
        *is_key = false;
        return true;
    }
    return false;
}

/* Writes a key's name. */
static void keyname_of(wint_t ch, bool is_key, char *out, size_t size)
{
    for (size_t i = 0; i < sizeof key_names / sizeof key_names[0]; i++)
        if (key_names[i].ch == ch && key_names[i].is_key == is_key) {
            snprintf(out, size, "%s", key_names[i].name);
            return;
        }
    if (!is_key && ch < 0x20)
        snprintf(out, size, "C-%c", (char)(ch + '@' + 32));
    else if (!is_key && ch < 0x7f)
        snprintf(out, size, "%c", (char)ch);
    else
        snprintf(out, size, "#%u", (unsigned)ch);
}

/* The name of action a, as `bind` lines and the help say it. */
static const char *name_of(ui_action a)
{
    return commands_get(a)->name;
}

/* The action a `bind` line names: one with a key handler, or "none"; -1 when none is. */
static int find_action(const char *name)
{
    for (int a = 0; a < ACT_COUNT; a++) {
        const ui_command *c = commands_get((ui_action)a);
        if ((a == ACT_NONE || c->key.run) && strcmp(name, c->name) == 0)
            return a;
    }
    return -1;
}

/* Binds the default keys of every action of the table ("Up k": each, in order). */
static void bind_defaults(void)
{
    nbindings = 0;
    for (int a = 1; a < ACT_COUNT; a++) {
        const char *keys = commands_get((ui_action)a)->key.keys;
        char buf[64];
        snprintf(buf, sizeof buf, "%s", keys ? keys : "");
        for (char *save = NULL, *k = strtok_r(buf, " ", &save); k; k = strtok_r(NULL, " ", &save)) {
            wint_t ch;
            bool is_key;
            if (parse_key(k, &ch, &is_key))
                bind_key(ch, is_key, (ui_action)a);
        }
    }
}

/* Default bindings, then the config's; see ui.h. */
void keymap_init(const config *cfg, char *warn, size_t warnsz)
{
    warn[0] = '\0';
    bind_defaults();
    if (!cfg)
        return;
    /* Keys bound by the config file so far, to report two lines claiming one key. */
    wint_t claimed[MAX_BINDINGS];
    bool claimed_key[MAX_BINDINGS];
    size_t nclaimed = 0;
    size_t used = 0;
    for (size_t i = 0; i < cfg->nbinds; i++) {
        const config_bind *b = &cfg->binds[i];
        /* "config:3" reads better on one status line than a full path */
        const char *slash = b->file ? strrchr(b->file, '/') : NULL;
        const char *fname = slash ? slash + 1 : b->file ? b->file : "config";
        char msg[200] = "";
        wint_t ch;
        bool is_key;
        int act = b->action ? find_action(b->action) : -1;
        if (!b->key || !parse_key(b->key, &ch, &is_key)) {
            snprintf(msg, sizeof msg, "%s:%d: unknown key '%.20s'", fname, b->line,
                     b->key ? b->key : "");
        } else if (act < 0) {
            snprintf(msg, sizeof msg, "%s:%d: unknown action '%.30s'", fname, b->line,
                     b->action ? b->action : "");
        } else {
            ui_action before = keymap_lookup(ch, is_key);
            bool twice = false;
            for (size_t k = 0; k < nclaimed; k++)
                if (claimed[k] == ch && claimed_key[k] == is_key)
                    twice = true;
            if (twice)
                snprintf(msg, sizeof msg, "%s:%d: key %s bound twice; '%s' wins", fname, b->line,
                         b->key, name_of((ui_action)act));
            else if (before != ACT_NONE && before != (ui_action)act)
                snprintf(msg, sizeof msg, "%s:%d: key %s was '%s', now '%s'", fname, b->line,
                         b->key, name_of(before), name_of((ui_action)act));
            bind_key(ch, is_key, (ui_action)act);
            if (nclaimed < MAX_BINDINGS) {
                claimed[nclaimed] = ch;
                claimed_key[nclaimed++] = is_key;
            }
        }
        if (msg[0] && used + strlen(msg) + 3 < warnsz)
            used += (size_t)snprintf(warn + used, warnsz - used, "%s%s", used ? "; " : "", msg);
    }
    /* An action left with no key at all is worth saying too. */
    static const ui_action essential[] = {ACT_QUIT, ACT_HELP, ACT_COMMAND, ACT_BACK};
    for (size_t e = 0; e < sizeof essential / sizeof essential[0]; e++) {
        char keys[64];
        keymap_keys_of(essential[e], keys, sizeof keys);
        if (!keys[0] && used + 40 < warnsz)
            used += (size_t)snprintf(warn + used, warnsz - used, "%s'%s' has no key",
                                     used ? "; " : "", name_of(essential[e]));
    }
}

/* The action bound to a key. */
ui_action keymap_lookup(wint_t ch, bool is_key)
{
    if (!is_key && ch == '\r')
        ch = '\n';
    for (size_t i = 0; i < nbindings; i++)
        if (bindings[i].ch == ch && bindings[i].is_key == is_key)
            return bindings[i].action;
    if (is_key && ch == KEY_ENTER)
        return keymap_lookup('\n', false);
    return ACT_NONE;
}

/* The keys bound to an action, space separated. */
void keymap_keys_of(ui_action a, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < nbindings; i++) {
        if (bindings[i].action != a)
            continue;
        char name[16];
        keyname_of(bindings[i].ch, bindings[i].is_key, name, sizeof name);
        int n = snprintf(out + used, size - used, "%s%s", used ? " " : "", name);
        if (n < 0 || (size_t)n >= size - used)
            break;
        used += (size_t)n;
    }
}
