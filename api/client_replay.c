/* client_replay.c: recording the stream to a file, and a recording as an event source
 * that needs no server (see client.h for the format). */
#include "api/client_int.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/json.h"

/* ---- recording ---------------------------------------------------------------------- */

/* Writes an item to the record file as an SSE event (each line of data a data line). */
void client_record_item(client *c, const item *it)
{
    if (!c->rec)
        return;
    if (it->id[0])
        fprintf(c->rec, "id: %s\n", it->id);
    fprintf(c->rec, "event: %s\n", it->type);
    const char *p = it->data, *end = it->data + it->len;
    for (;;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        fputs("data: ", c->rec);
        fwrite(p, 1, n, c->rec);
        fputc('\n', c->rec);
        if (!nl)
            break;
        p = nl + 1;
    }
    fputc('\n', c->rec);
    fflush(c->rec);
}

/* Opens the record file for appending; a new file is created 0600 (a recording holds
 * the market's addresses, names and messages), and one that group or others can read is
 * refused, as a token file is. Returns 0, or -1 with a message in err. */
int client_open_record(client *c, char *err, size_t errsz)
{
    const char *path = c->cfg->record_file;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        snprintf(err, errsz, "cannot open %s for recording: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (st.st_mode & 077) {
        snprintf(err, errsz,
                 "%s can be read by group or others: a recording holds the market's addresses "
                 "and messages (chmod 600 it, or record to a new file)",
                 path);
        close(fd);
        return -1;
    }
    c->rec = fdopen(fd, "a");
    if (!c->rec) {
        snprintf(err, errsz, "cannot open %s for recording: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return 0;
}

/* ---- replay ------------------------------------------------------------------------ */

/* The replay loader's SSE callback: items go on the replay list. */
static void on_replay_event(void *ud, const sse_event *ev)
{
    client *c = ud;
    item *it = client_item_new(ev->type, ev->data, ev->datalen, ev->id);
    if (!it) {
        c->overflow = true;
        return;
    }
    if (c->rp_tail)
        c->rp_tail->next = it;
    else
        c->rp_head = it;
    c->rp_tail = it;
}

/* Reads a recording through the SSE parser and sets each item's release time from the
 * events' `at` and the speed. Returns 0 or -1. */
int client_load_replay(client *c, char *err, size_t errsz)
{
    FILE *f = fopen(c->cfg->replay_file, "rb");
    if (!f) {
        snprintf(err, errsz, "cannot open %s: %s", c->cfg->replay_file, strerror(errno));
        return -1;
    }
    sse_parser *p = sse_new(0, on_replay_event, c);
    if (!p) {
        fclose(f);
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        sse_feed(p, buf, n);
    sse_feed(p, "\n\n", 2); /* a recording cut mid-event still gives what it holds */
    c->s.errors_sse += sse_dropped_events(p);
    sse_free(p);
    fclose(f);
    if (c->overflow) {
        snprintf(err, errsz, "out of memory reading %s", c->cfg->replay_file);
        return -1;
    }
    double speed = c->cfg->replay_speed;
    int64_t first = -1, last = -1, prev = 0;
    uint64_t snapshots = 0;
    for (item *it = c->rp_head; it; it = it->next) {
        bool snap = strcmp(it->type, "snapshot") == 0;
        int64_t at = snap ? -1 : json_peek_at(it->data, it->len);
        snapshots += snap;
        c->s.replay_total += !snap;
        if (at >= 0 && first < 0)
            first = at;
        if (at > last)
            last = at;
        if (at < 0 || speed <= 0) {
            it->due_ms = prev;
            continue;
        }
        int64_t d = (int64_t)((double)(at - first) / speed);
        it->due_ms = d > prev ? d : prev; /* never out of order */
        prev = it->due_ms;
    }
    /* What --record writes holds a snapshot or events with their time: anything else
     * (an empty file, /etc/passwd, an SSE stream of something else) is not a recording. */
    if (!snapshots && first < 0) {
        snprintf(err, errsz,
                 "%s is not a dealdesk recording (no snapshot and no market event in it; "
                 "make one with --record FILE)",
                 c->cfg->replay_file);
        return -1;
    }
    c->rp_first_at = first;
    c->rp_last_at = last;
    return 0;
}

/* Moves due replay items to the apply queue. */
void client_replay_release(client *c, int64_t now)
{
    while (c->rp_head && c->rp_start + c->rp_head->due_ms <= now) {
        item *it = c->rp_head;
        c->rp_head = it->next;
        if (!c->rp_head)
            c->rp_tail = NULL;
        it->next = NULL;
        c->s.replay_played += strcmp(it->type, "snapshot") != 0;
        client_enqueue(c, it);
    }
}

/* The recording's clock in a replay (see client.h). */
int64_t client_clock_ms(const client *c)
{
    if (!c->replay || c->rp_first_at < 0)
        return clock_wall_ms();
    if (c->cfg->replay_speed <= 0 || !c->rp_head)
        return c->last_at > 0 ? c->last_at : c->rp_last_at;
    int64_t t =
        c->rp_first_at + (int64_t)((double)(clock_mono_ms() - c->rp_start) * c->cfg->replay_speed);
    return t < c->rp_last_at ? t : c->rp_last_at;
}
