/* rawhttp.c: HTTP over raw sockets from chosen loopback addresses (see rawhttp.h). */
#include "tests/lib/rawhttp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/lib/proc.h"

int dial_from(const char *src, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in me = {.sin_family = AF_INET};
    inet_pton(AF_INET, src, &me.sin_addr);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&me, sizeof me) < 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

const char *find_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return hay;
    return NULL;
}

/* Reads from fd into a until done(a) says so, the server closes or timeout_ms passes. */
static void read_until(int fd, rawans *a, int timeout_ms, bool (*done)(const rawans *))
{
    a->len = 0;
    a->closed = false;
    a->text[0] = '\0';
    int64_t deadline = tproc_now_ms() + timeout_ms;
    while (a->len + 1 < sizeof a->text) {
        int left = (int)(deadline - tproc_now_ms());
        if (left <= 0)
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, left) <= 0)
            break;
        ssize_t r = recv(fd, a->text + a->len, sizeof a->text - 1 - a->len, 0);
        if (r <= 0) {
            a->closed = true;
            break;
        }
        a->len += (size_t)r;
        a->text[a->len] = '\0';
        if (done && done(a))
            break;
    }
}

/* An answer with its Content-Length body is in. */
static bool complete(const rawans *a)
{
    const char *end = strstr(a->text, "\r\n\r\n");
    const char *cl = find_nocase(a->text, "\r\nContent-Length:");
    return end && cl && cl < end && a->len >= (size_t)(end + 4 - a->text) + (size_t)atol(cl + 17);
}

/* An answer's head is in. */
static bool head_in(const rawans *a)
{
    return strstr(a->text, "\r\n\r\n") != NULL;
}

void read_raw(int fd, rawans *a, int timeout_ms, bool stop_complete)
{
    read_until(fd, a, timeout_ms, stop_complete ? complete : NULL);
}

void read_head(int fd, rawans *a, int timeout_ms)
{
    read_until(fd, a, timeout_ms, head_in);
}

int raw_status(const char *ans)
{
    return strncmp(ans, "HTTP/1.", 7) == 0 ? atoi(ans + 9) : 0;
}

bool closed_within(int fd, int ms)
{
    static char sink[1 << 16];
    int64_t deadline = tproc_now_ms() + ms;
    for (;;) {
        int left = (int)(deadline - tproc_now_ms());
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, left > 0 ? left : 0) <= 0)
            return false;
        if (recv(fd, sink, sizeof sink, 0) <= 0)
            return true;
    }
}
