/* whrecv.c: a webhook receiver on loopback (tests/lib/whrecv.h). */
#define _GNU_SOURCE /* strcasestr */
#include "tests/lib/whrecv.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/proc.h"

#define MAXGOT 4096

typedef struct got {
    char *head, *body;
    double at;
} got;

struct whrecv {
    int port, lfd;
    bool hang, stop, running;
    int hung, n;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    got items[MAXGOT];
};

/* Reads one request from fd: its head and Content-Length body (owned). 0 or -1. */
static int read_request(int fd, char **head, char **body)
{
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap + 1), *end;
    while (buf && len < cap) {
        ssize_t k = read(fd, buf + len, cap - len);
        if (k <= 0)
            break;
        len += (size_t)k;
        buf[len] = '\0';
        if ((end = strstr(buf, "\r\n\r\n"))) {
            const char *cl = strcasestr(buf, "Content-Length:");
            size_t want = cl ? strtoul(cl + 15, NULL, 10) : 0;
            if (len - (size_t)(end + 4 - buf) >= want) {
                *head = strndup(buf, (size_t)(end - buf));
                *body = strndup(end + 4, want);
                free(buf);
                return 0;
            }
        }
    }
    free(buf);
    return -1;
}

/* Holds connection fd unanswered until the hang is released or the receiver stops. */
static void hold(whrecv *r, int fd)
{
    pthread_mutex_lock(&r->mu);
    r->hung++;
    pthread_cond_broadcast(&r->cv);
    while (r->hang && !r->stop)
        pthread_cond_wait(&r->cv, &r->mu);
    pthread_mutex_unlock(&r->mu);
    close(fd);
}

/* Answers connection fd's request 200 and records it. */
static void answer(whrecv *r, int fd)
{
    char *head = NULL, *body = NULL;
    if (read_request(fd, &head, &body) == 0) {
        double at = tproc_now_s();
        const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        (void)!write(fd, ok, strlen(ok));
        pthread_mutex_lock(&r->mu);
        if (r->n < MAXGOT) {
            r->items[r->n++] = (got){head, body, at};
            head = body = NULL;
        }
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
    }
    free(head);
    free(body);
    close(fd);
}

static void *receiver_main(void *arg)
{
    whrecv *r = arg;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        bool stop = r->stop, hang = r->hang;
        pthread_mutex_unlock(&r->mu);
        if (stop)
            break;
        struct pollfd p = {.fd = r->lfd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(r->lfd, NULL, NULL);
        if (fd >= 0 && hang)
            hold(r, fd);
        else if (fd >= 0)
            answer(r, fd);
    }
    return NULL;
}

/* Binds r's socket to a free loopback port, named explicitly, so that the port stays
 * the socket's while it is down (whrecv_down). 0 or -1. */
static int bind_port(whrecv *r)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    int probe = socket(AF_INET, SOCK_STREAM, 0);
    if (probe < 0 || bind(probe, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(probe, (struct sockaddr *)&a, &al) != 0) {
        if (probe >= 0)
            close(probe);
        return -1;
    }
    close(probe);
    int one = 1;
    r->lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (r->lfd < 0)
        return -1;
    setsockopt(r->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(r->lfd, (struct sockaddr *)&a, sizeof a) != 0)
        return -1;
    r->port = ntohs(a.sin_port);
    return 0;
}

whrecv *whrecv_start(void)
{
    whrecv *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->lfd = -1;
    if (bind_port(r) != 0 || whrecv_up(r) != 0) {
        whrecv_stop(r);
        return NULL;
    }
    return r;
}

int whrecv_up(whrecv *r)
{
    if (r->running || listen(r->lfd, 64) != 0)
        return -1;
    r->stop = false;
    if (pthread_create(&r->thread, NULL, receiver_main, r) != 0)
        return -1;
    r->running = true;
    return 0;
}

int whrecv_down(whrecv *r)
{
    if (!r->running)
        return -1;
    pthread_mutex_lock(&r->mu);
    r->stop = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    r->running = false;
    /* Linux: a listening socket shut down stops listening and keeps its port */
    return shutdown(r->lfd, SHUT_RDWR);
}

void whrecv_stop(whrecv *r)
{
    if (!r)
        return;
    if (r->running)
        whrecv_down(r);
    if (r->lfd >= 0)
        close(r->lfd);
    for (int i = 0; i < r->n; i++) {
        free(r->items[i].head);
        free(r->items[i].body);
    }
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

int whrecv_port(const whrecv *r)
{
    return r->port;
}

void whrecv_hang(whrecv *r, bool on)
{
    pthread_mutex_lock(&r->mu);
    r->hang = on;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

/* The absolute CLOCK_REALTIME time timeout_s from now. */
static struct timespec deadline(double timeout_s)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += (time_t)timeout_s;
    t.tv_nsec += (long)((timeout_s - (double)(time_t)timeout_s) * 1e9);
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

bool whrecv_wait_hung(whrecv *r, double timeout_s)
{
    struct timespec until = deadline(timeout_s);
    pthread_mutex_lock(&r->mu);
    while (r->hung == 0 && pthread_cond_timedwait(&r->cv, &r->mu, &until) == 0)
        ;
    bool hung = r->hung > 0;
    pthread_mutex_unlock(&r->mu);
    return hung;
}

int whrecv_count(whrecv *r)
{
    pthread_mutex_lock(&r->mu);
    int n = r->n;
    pthread_mutex_unlock(&r->mu);
    return n;
}

int whrecv_wait(whrecv *r, int n, double timeout_s)
{
    struct timespec until = deadline(timeout_s);
    pthread_mutex_lock(&r->mu);
    while (r->n <= n && pthread_cond_timedwait(&r->cv, &r->mu, &until) == 0)
        ;
    int have = r->n;
    pthread_mutex_unlock(&r->mu);
    return have;
}

bool whrecv_get(whrecv *r, int i, const char **head, const char **body, double *at)
{
    pthread_mutex_lock(&r->mu);
    bool ok = i >= 0 && i < r->n;
    if (ok) {
        if (head)
            *head = r->items[i].head;
        if (body)
            *body = r->items[i].body;
        if (at)
            *at = r->items[i].at;
    }
    pthread_mutex_unlock(&r->mu);
    return ok;
}

char *whrecv_header(const char *head, const char *name, char *out, size_t size)
{
    size_t n = strlen(name);
    for (const char *h = head; h && *h; h = strstr(h, "\r\n") ? strstr(h, "\r\n") + 2 : NULL) {
        if (strncasecmp(h, name, n) == 0 && h[n] == ':') {
            h += n + 1;
            h += strspn(h, " ");
            snprintf(out, size, "%.*s", (int)strcspn(h, "\r\n"), h);
            return out;
        }
    }
    return NULL;
}
