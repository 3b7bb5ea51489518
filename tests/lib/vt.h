/* vt.h: a pseudo-terminal with a libvterm screen, for end-to-end tests of the console.
 *
 * vt_spawn() runs a program in a pty of a given size (its own session, so the pty is its
 * controlling terminal), with extra environment. Everything the program writes is fed
 * to libvterm and also kept byte for byte, so that tests can assert both on the screen
 * (rows as UTF-8 text) and on the raw stream (no escape, control or C1 byte beyond the
 * well-formed sequences curses itself uses). Waiting is always for a condition with a
 * deadline, never a fixed sleep.
 */
#ifndef DEALDESK_TESTS_VT_H
#define DEALDESK_TESTS_VT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct vt vt;

/* Starts argv[0] (a path) with argv in a rows x cols pty. env_extra is a NULL-terminated
 * list of "NAME=value" put on top of the current environment (TERM defaults to
 * xterm-256color; "NAME=" with nothing after it unsets NAME). Returns NULL on failure. */
vt *vt_spawn(int rows, int cols, const char *const *argv, const char *const *env_extra);

/* Writes bytes to the program's terminal input (keys). Returns 0 or -1. */
int vt_send(vt *t, const char *bytes);
int vt_sendn(vt *t, const char *bytes, size_t n);

/* Reads whatever the program wrote within timeout_ms (or until it is quiet) into the
 * screen and the capture. Returns the bytes read, or -1 when the pty closed. */
long vt_pump(vt *t, int timeout_ms);

/* Waits until the screen contains needle (UTF-8); true when it did within timeout_ms. */
bool vt_wait_text(vt *t, const char *needle, int timeout_ms);

/* Waits until pred(t, ud) is true, pumping output meanwhile. */
bool vt_wait(vt *t, bool (*pred)(vt *t, void *ud), void *ud, int timeout_ms);

/* Waits until the program writes nothing for quiet_ms (at most timeout_ms in all). */
bool vt_wait_quiet(vt *t, int quiet_ms, int timeout_ms);

/* True when the screen currently contains needle. */
bool vt_contains(vt *t, const char *needle);

/* Row r of the screen as UTF-8 (trailing spaces kept) into out. */
void vt_row(vt *t, int r, char *out, size_t size);

/* The whole number printed just before the first needle on row r (spaces between them
 * allowed), e.g. vt_number_before(t, 1, " pending") on "12 pending"; -1 when the needle
 * is absent or no digits precede it. */
long vt_number_before(vt *t, int r, const char *needle);

/* The row number holding needle, or -1. */
int vt_find_row(vt *t, const char *needle);

/* The whole screen as text, rows joined by '\n' (owned; free()). */
char *vt_screen(vt *t);

/* Screen size. */
void vt_size(vt *t, int *rows, int *cols);

/* Resizes the pty and the screen (the program gets SIGWINCH). */
void vt_resize(vt *t, int rows, int cols);

/* Every byte the program has written so far (borrowed), and how many. */
const unsigned char *vt_output(vt *t, size_t *len);
/* Forgets the captured bytes (the screen stays). */
void vt_clear_output(vt *t);

/* Checks a terminal output stream: every ESC starts a well-formed CSI (ESC [ params
 * intermediates final), a charset designation (ESC ( X / ESC ) X), or one of ESC 7 8 = >
 * M; no other byte below 0x20 but \r \n \b \t ESC (and SO/SI when allow_shift: the
 * charset shifts that curses itself sends on TERM=screen and linux); no DEL; valid UTF-8
 * with no C1 code point (U+0080..U+009F). Returns NULL when clean, else a static
 * description of the first problem with its offset. */
const char *vt_check_stream(const unsigned char *buf, size_t len, bool allow_shift);

/* Sends a signal to the program. */
void vt_kill(vt *t, int sig);

/* Closes the pty master (the terminal goes away, as when an SSH link drops). */
void vt_hangup(vt *t);

/* Waits for the program to exit within timeout_ms; returns its wait status decoded
 * (exit code, or 128+signal), or -1 on timeout. */
int vt_wait_exit(vt *t, int timeout_ms);

/* The program's pid. */
pid_t vt_pid(vt *t);

/* Kills the program if still running, reaps it and frees everything. */
void vt_free(vt *t);

/* Prints the screen to stderr (for failing tests). */
void vt_dump(vt *t, const char *label);

#endif
