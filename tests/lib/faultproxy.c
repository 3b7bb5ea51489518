/* faultproxy.c: the misbehaving loopback proxy of the fault tests; see faultproxy.h.
 *
 * One thread, one poll() over the listening socket, a wake-up pipe and both sides of
 * every connection. Settings are copied under the mutex at the top of each turn.
 */
#define _GNU_SOURCE /* memmem, accept4, pipe2 */
#include "tests/lib/faultproxy.h"
#include "tests/lib/proc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FP_MAX_CONNS 128
#define FP_BUF       65536

typedef struct fp_dir {
    char buf[FP_BUF];
    size_t len;
    int64_t release_at; /* monotonic ms before which nothing is forwarded */
} fp_dir;

typedef struct fp_conn {
    bool used;
    int cfd, ufd;
    fp_dir up, down;
    bool drop_response; /* swallow the server's answer and close */
    bool upstream_eof;
} fp_conn;

struct faultproxy {
    pthread_t thread;
    pthread_mutex_t mu;
    int lfd, port, upstream;
    int wake[2];
    /* settings, under mu */
    unsigned mode;
    int delay_ms;
    int drop_n;
    char needle[64];
    char switch_needle[64]; /* after a request with it: new connections to switch_port */
    int switch_port;
    bool cut;
    bool stop;
    faultproxy_stats stats;
    fp_conn conns[FP_MAX_CONNS];
};

/* Closes both sides of a connection and frees its slot. */
static void conn_close(fp_conn *c)
{
    if (c->cfd >= 0)
        close(c->cfd);
    if (c->ufd >= 0)
        close(c->ufd);
    c->used = false;
    c->cfd = c->ufd = -1;
}

/* Connects to the upstream port on loopback; returns the fd or -1. */
static int connect_upstream(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* Accepts one client and pairs it with a new upstream connection. */
static void accept_one(faultproxy *p, unsigned mode)
{
    int cfd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (cfd < 0)
        return;
    pthread_mutex_lock(&p->mu);
    p->stats.connections++;
    pthread_mutex_unlock(&p->mu);
    if (mode & FAULTPROXY_REFUSE) {
        close(cfd);
        return;
    }
    int one = 1;
    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int ufd = connect_upstream(p->upstream);
    if (ufd < 0) {
        close(cfd);
        return;
    }
    for (int i = 0; i < FP_MAX_CONNS; i++) {
        fp_conn *c = &p->conns[i];
        if (!c->used) {
            memset(c, 0, sizeof *c);
            c->used = true;
            c->cfd = cfd;
            c->ufd = ufd;
            return;
        }
    }
    close(cfd);
    close(ufd);
}

/* Reads what fd has into d; returns bytes read, 0 at end of stream, -1 on error or
 * nothing to read. */
static ssize_t fill(int fd, fp_dir *d, int delay_ms)
{
    if (d->len >= FP_BUF)
        return -1;
    ssize_t n = read(fd, d->buf + d->len, FP_BUF - d->len);
    if (n > 0) {
        if (d->len == 0)
            d->release_at = tproc_now_ms() + delay_ms;
        d->len += (size_t)n;
    }
    return n;
}

/* Writes from d to fd: one byte when splitting, everything otherwise. Returns bytes
 * written (0 when nothing could be), -1 on a broken connection. */
static ssize_t drain(int fd, fp_dir *d, unsigned mode)
{
    if (d->len == 0 || tproc_now_ms() < d->release_at)
        return 0;
    size_t want = (mode & FAULTPROXY_SPLIT) ? 1 : d->len;
    ssize_t n = write(fd, d->buf, want);
    if (n < 0)
        return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
    memmove(d->buf, d->buf + n, d->len - (size_t)n);
    d->len -= (size_t)n;
    return n;
}

/* The proxy's thread. */
static void *run(void *arg)
{
    faultproxy *p = arg;
    struct pollfd pfd[2 + 2 * FP_MAX_CONNS];
    int owner[2 + 2 * FP_MAX_CONNS];
    for (;;) {
        pthread_mutex_lock(&p->mu);
        bool stop = p->stop, cut = p->cut;
        unsigned mode = p->mode;
        int delay = p->delay_ms;
        p->cut = false;
        pthread_mutex_unlock(&p->mu);
        if (stop)
            break;
        if (cut) {
            for (int i = 0; i < FP_MAX_CONNS; i++) {
                if (p->conns[i].used) {
                    conn_close(&p->conns[i]);
                    pthread_mutex_lock(&p->mu);
                    p->stats.cuts++;
                    pthread_mutex_unlock(&p->mu);
                }
            }
        }

        int n = 0;
        int64_t next = tproc_now_ms() + 100;
        pfd[n] = (struct pollfd){.fd = p->wake[0], .events = POLLIN};
        owner[n++] = -1;
        pfd[n] = (struct pollfd){.fd = p->lfd, .events = POLLIN};
        owner[n++] = -1;
        bool stall = mode & FAULTPROXY_STALL;
        for (int i = 0; i < FP_MAX_CONNS; i++) {
            fp_conn *c = &p->conns[i];
            if (!c->used)
                continue;
            short ce = 0, ue = 0;
            if (!stall) {
                if (c->up.len < FP_BUF)
                    ce |= POLLIN;
                if (c->down.len < FP_BUF && !c->upstream_eof)
                    ue |= POLLIN;
                if (c->down.len) {
                    if (c->down.release_at > tproc_now_ms())
                        next = c->down.release_at < next ? c->down.release_at : next;
                    else
                        ce |= POLLOUT;
                }
                if (c->up.len) {
                    if (c->up.release_at > tproc_now_ms())
                        next = c->up.release_at < next ? c->up.release_at : next;
                    else
                        ue |= POLLOUT;
                }
            }
            pfd[n] = (struct pollfd){.fd = c->cfd, .events = ce};
            owner[n++] = i;
            pfd[n] = (struct pollfd){.fd = c->ufd, .events = ue};
            owner[n++] = i;
        }
        int timeout = (int)(next - tproc_now_ms());
        if (poll(pfd, (nfds_t)n, timeout < 1 ? 1 : timeout) < 0 && errno != EINTR)
            break;
        if (pfd[0].revents & POLLIN) {
            char b[64];
            while (read(p->wake[0], b, sizeof b) > 0) {
            }
        }
        if (pfd[1].revents & POLLIN)
            accept_one(p, mode);

        for (int k = 2; k < n; k += 2) {
            fp_conn *c = &p->conns[owner[k]];
            if (!c->used)
                continue;
            short cr = pfd[k].revents, ur = pfd[k + 1].revents;
            if (cr & (POLLIN | POLLHUP | POLLERR)) {
                size_t before = c->up.len;
                ssize_t r = fill(c->cfd, &c->up, delay);
                if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR && (cr & POLLERR))) {
                    conn_close(c);
                    continue;
                }
                if (r > 0) {
                    pthread_mutex_lock(&p->mu);
                    if (p->drop_n > 0 && memmem(c->up.buf + before, c->up.len - before, p->needle,
                                                strlen(p->needle))) {
                        p->drop_n--;
                        c->drop_response = true;
                    }
                    if (p->switch_needle[0] && memmem(c->up.buf + before, c->up.len - before,
                                                      p->switch_needle, strlen(p->switch_needle))) {
                        p->upstream = p->switch_port; /* read by accept_one, this thread */
                        p->switch_needle[0] = '\0';
                    }
                    pthread_mutex_unlock(&p->mu);
                }
            }
            if (ur & (POLLIN | POLLHUP | POLLERR)) {
                ssize_t r = fill(c->ufd, &c->down, delay);
                if (r > 0 && c->drop_response) {
                    /* The server has answered: the decision is committed. Swallow it. */
                    pthread_mutex_lock(&p->mu);
                    p->stats.responses_dropped++;
                    pthread_mutex_unlock(&p->mu);
                    conn_close(c);
                    continue;
                }
                if (r == 0)
                    c->upstream_eof = true;
            }
            if (ur & POLLOUT) {
                ssize_t w = drain(c->ufd, &c->up, mode);
                if (w < 0) {
                    conn_close(c);
                    continue;
                }
                pthread_mutex_lock(&p->mu);
                p->stats.bytes_up += (uint64_t)w;
                pthread_mutex_unlock(&p->mu);
            }
            if (cr & POLLOUT) {
                ssize_t w = drain(c->cfd, &c->down, mode);
                if (w < 0) {
                    conn_close(c);
                    continue;
                }
                pthread_mutex_lock(&p->mu);
                p->stats.bytes_down += (uint64_t)w;
                pthread_mutex_unlock(&p->mu);
            }
            if (c->upstream_eof && c->down.len == 0)
                conn_close(c);
        }
    }
    for (int i = 0; i < FP_MAX_CONNS; i++)
        if (p->conns[i].used)
            conn_close(&p->conns[i]);
    return NULL;
}

/* Wakes the thread so that a new setting takes effect now. */
static void wake(faultproxy *p)
{
    ssize_t r = write(p->wake[1], "x", 1);
    (void)r;
}

faultproxy *faultproxy_start(int upstream_port)
{
    faultproxy *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    pthread_mutex_init(&p->mu, NULL);
    p->upstream = upstream_port;
    for (int i = 0; i < FP_MAX_CONNS; i++)
        p->conns[i].cfd = p->conns[i].ufd = -1;
    if (pipe2(p->wake, O_CLOEXEC | O_NONBLOCK) != 0)
        goto fail;
    p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (p->lfd < 0 || bind(p->lfd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(p->lfd, 64) != 0 || getsockname(p->lfd, (struct sockaddr *)&a, &al) != 0)
        goto fail;
    p->port = ntohs(a.sin_port);
    if (pthread_create(&p->thread, NULL, run, p) != 0)
        goto fail;
    return p;
fail:
    if (p->lfd > 0)
        close(p->lfd);
    free(p);
    return NULL;
}

int faultproxy_port(const faultproxy *p)
{
    return p->port;
}

void faultproxy_set(faultproxy *p, unsigned mode, int delay_ms)
{
    pthread_mutex_lock(&p->mu);
    p->mode = mode;
    p->delay_ms = delay_ms < 0 ? 0 : delay_ms;
    pthread_mutex_unlock(&p->mu);
    wake(p);
}

void faultproxy_drop_responses(faultproxy *p, int n, const char *needle)
{
    pthread_mutex_lock(&p->mu);
    p->drop_n = n;
    snprintf(p->needle, sizeof p->needle, "%s", needle);
    pthread_mutex_unlock(&p->mu);
    wake(p);
}

void faultproxy_switch_after(faultproxy *p, const char *needle, int upstream_port)
{
    pthread_mutex_lock(&p->mu);
    p->switch_port = upstream_port;
    snprintf(p->switch_needle, sizeof p->switch_needle, "%s", needle);
    pthread_mutex_unlock(&p->mu);
    wake(p);
}

void faultproxy_cut_all(faultproxy *p)
{
    pthread_mutex_lock(&p->mu);
    p->cut = true;
    pthread_mutex_unlock(&p->mu);
    wake(p);
}

void faultproxy_stats_get(faultproxy *p, faultproxy_stats *out)
{
    pthread_mutex_lock(&p->mu);
    *out = p->stats;
    pthread_mutex_unlock(&p->mu);
}

void faultproxy_stop(faultproxy *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_mutex_unlock(&p->mu);
    wake(p);
    pthread_join(p->thread, NULL);
    close(p->lfd);
    close(p->wake[0]);
    close(p->wake[1]);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
