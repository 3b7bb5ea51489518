/* config.h: dealdesk's settings, from flags, then the environment, then the config file.
 *
 * main() fills a config from the command line (marking what it set in cfg->set), then
 * config_resolve() fills every field still unset from the environment (DEALDESK_URL,
 * DEALDESK_TOKEN, NO_COLOR) and then from $XDG_CONFIG_HOME/dealdesk/config (fallback
 * ~/.config/dealdesk/config), whose lines are `key = value` (url, token_file, theme,
 * no_color, read_only, bell, heartbeat), `bind KEY ACTION` (kept raw for the console),
 * blank or `#` comments. The token is a secret: it is never printed, logged or drawn;
 * a token file must be a regular file of the user's, unreadable by group and others, and
 * the token never goes over plain http:// to a host that is not loopback unless the user
 * says --insecure-http (config_check_transport, before any connection).
 */
#ifndef DEALDESK_API_CONFIG_H
#define DEALDESK_API_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/text.h"

#define CONFIG_PATH_MAX  4096
#define CONFIG_TOKEN_MAX 512
#define CONFIG_URLS_MAX  8 /* instances of one market (url = A,B: api/client.c moves) */

/* Which fields were given on the command line (or, for url, token and no_color, in the
 * environment): the config file does not override them. */
typedef struct config_given {
    bool url;
    bool token; /* --token-file read into token */
    bool theme;
    bool no_color;
    bool read_only;
    bool bell;
    bool heartbeat;
} config_given;

/* One `bind KEY ACTION` line of the config file, raw (the console interprets it). */
typedef struct config_bind {
    char *key;    /* owned */
    char *action; /* owned: the rest of the line */
    char *file;   /* owned: where it came from, for messages */
    int line;
} config_bind;

/* How a desktop notification goes through the terminal (config key notify). */
typedef enum config_notify {
    CONFIG_NOTIFY_OFF,
    CONFIG_NOTIFY_OSC777,
    CONFIG_NOTIFY_OSC9
} config_notify;

/* bell_repeat = on: this many seconds between rings. */
#define CONFIG_BELL_REPEAT_DEFAULT_S 30

typedef struct config {
    config_given set; /* what flags gave */
    char url[1024];   /* base URL, e.g. http://127.0.0.1:8642 (no trailing /v1);
                         given as a comma list of several (--url A --url B,
                         url = A, B), the first of them once resolved */
    /* Every URL given, once resolved: instances serving one market, among which the
     * client moves when one fails (api/client.c); nurls 1 for one. */
    char urls[CONFIG_URLS_MAX][1024];
    int nurls;
    char token[CONFIG_TOKEN_MAX]; /* SECRET: never print; "" when none */
    char token_file[CONFIG_PATH_MAX];
    char theme[64];
    bool no_color;
    bool read_only;
    bool insecure_http; /* --insecure-http: a token may go over plain http:// elsewhere */
    bool bell;
    int heartbeat_s; /* the server's heartbeat period; 3 silent periods = dead (default 15) */
    /* Escalation at the terminal (opt-in, all off by default; tui/notify.c): */
    int bell_repeat_s;    /* ring again every N s while a critical alert is open (0: off) */
    config_notify notify; /* desktop notification for a new critical alert or purchase */
    bool title;           /* the terminal title shows the pending count */
    text_mode mode;       /* chosen once at start-up (text_mode_from_locale) */

    /* Set by main for the session, never read from the file. */
    char record_file[CONFIG_PATH_MAX]; /* --record: raw events appended here ("" none) */
    char replay_file[CONFIG_PATH_MAX]; /* replay: a recorded stream instead of a server */
    double replay_speed;               /* replay time factor (1 = real time, 0 = at once) */
    int64_t stream_after; /* -1: snapshot, then stream; >= 0: stream after this seq only */
    bool no_stream;       /* one-shot decisions: no snapshot, no stream */
    bool console;         /* a console: its stream says so (?console=1) and it reports
                             keyboard input (POST /v1/presence: api/client_presence.c) */
    int open_threads;     /* a console's snapshot: ?open_threads= (0: CLIENT_OPEN_THREADS;
                             api/client_backfill.c reads the rest after it) */
    char journal_path[CONFIG_PATH_MAX]; /* "" = $XDG_STATE_HOME/dealdesk/journal */

    /* --demo (the console's) */
    bool demo;
    uint64_t seed;
    int rate;

    config_bind *binds; /* owned */
    size_t nbinds;
} config;

/* Sets the defaults (heartbeat 15 s, replay speed 1, stream_after -1, mode from the
 * locale) and clears everything else. */
void config_init(config *cfg);

/* Frees what the config owns (binds) and wipes the token from memory. */
void config_free(config *cfg);

/* Reads the token file path into cfg->token. Refuses a file that group or others can
 * read, an empty first line, or a token with spaces/controls. Returns 0, or -1 with a
 * message in err (which never holds the token). */
int config_read_token_file(config *cfg, const char *path, char *err, size_t errsz);

/* Splits a URL's host out (no DNS): whether its scheme is plain http, and the host without
 * userinfo, brackets or port. Returns 0, or -1 when the URL has no scheme or host. */
int config_url_host(const char *url, bool *plain_http, char *host, size_t size);

/* Splits cfg->url, a comma list of URLs (spaces around them and trailing slashes
 * dropped), into cfg->urls and leaves the first in cfg->url (config_resolve calls it).
 * Returns 0, or -1 with a message in err (an empty entry, too many, one too long). */
int config_split_urls(config *cfg, char *err, size_t errsz);

/* Checks, before any connection, that the token will not go in clear over the network:
 * with a token, each plain http:// URL must name a loopback host (localhost, 127.0.0.0/8,
 * ::1) unless cfg->insecure_http. Returns 0 (fine, msg ""), 1 (allowed by --insecure-http:
 * msg holds the warning for stderr) or -1 (refused: msg says why). */
int config_check_transport(const config *cfg, char *msg, size_t msgsz);

/* Fills the unset fields from the environment, then the config file (path NULL = the
 * XDG default; a missing default file is fine, a missing explicit one is an error).
 * Returns 0, or -1 with "file:line: message" (or another clear message) in err. */
int config_resolve(config *cfg, const char *path, char *err, size_t errsz);

/* The journal path: cfg->journal_path when set, else $XDG_STATE_HOME/dealdesk/journal,
 * else ~/.local/state/dealdesk/journal. Writes into out; returns 0 or -1 (no HOME). */
int config_journal_path(const config *cfg, char *out, size_t size);

#endif
