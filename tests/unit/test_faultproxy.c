/* test_faultproxy.c: the fault tests' proxy does what it says, against an echo server
 * that answers each line with "ok:<line>". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/lib/faultproxy.h"

typedef struct echo {
    int lfd, port;
    pthread_t th;
} echo;

/* Serves one connection at a time: reads bytes, answers each '\n'-ended line. */
static void *echo_run(void *arg)
{
    echo *e = arg;
    for (;;) {
        int fd = accept(e->lfd, NULL, NULL);
        if (fd < 0)
            return NULL;
        char line[256];
        size_t n = 0;
        char c;
        while (read(fd, &c, 1) == 1) {
            if (n < sizeof line - 1)
                line[n++] = c;
            if (c == '\n') {
                char out[300];
                int m = snprintf(out, sizeof out, "ok:%.*s", (int)n, line);
                if (write(fd, out, (size_t)m) != m)
                    break;
                n = 0;
            }
        }
        close(fd);
    }
}

static void echo_start(echo *e)
{
    e->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    assert_int_equal(bind(e->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(e->lfd, 8), 0);
    getsockname(e->lfd, (struct sockaddr *)&a, &al);
    e->port = ntohs(a.sin_port);
    pthread_create(&e->th, NULL, echo_run, e);
}

static void echo_stop(echo *e)
{
    shutdown(e->lfd, SHUT_RDWR);
    close(e->lfd);
    pthread_join(e->th, NULL);
}

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Reads until want bytes came, EOF, or 3 s passed. Returns bytes read. */
static size_t read_some(int fd, char *buf, size_t want)
{
    size_t n = 0;
    while (n < want) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 3000) <= 0)
            break;
        ssize_t r = read(fd, buf + n, want - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    return n;
}

static void test_forwards_whole_and_split(void **state)
{
    (void)state;
    echo e;
    echo_start(&e);
    faultproxy *p = faultproxy_start(e.port);
    assert_non_null(p);
    for (int split = 0; split < 2; split++) {
        faultproxy_set(p, split ? FAULTPROXY_SPLIT : 0, split ? 5 : 0);
        int fd = dial(faultproxy_port(p));
        assert_int_equal(write(fd, "hello\n", 6), 6);
        char buf[64];
        assert_int_equal(read_some(fd, buf, 9), 9);
        assert_string_equal(buf, "ok:hello\n");
        close(fd);
    }
    faultproxy_stats st;
    faultproxy_stats_get(p, &st);
    assert_int_equal(st.connections, 2);
    assert_int_equal(st.bytes_down, 18);
    faultproxy_stop(p);
    echo_stop(&e);
}

static void test_drops_answer_after_forwarding(void **state)
{
    (void)state;
    echo e;
    echo_start(&e);
    faultproxy *p = faultproxy_start(e.port);
    faultproxy_drop_responses(p, 1, "/approve");
    int fd = dial(faultproxy_port(p));
    assert_int_equal(write(fd, "POST /approve\n", 14), 14);
    char buf[64];
    assert_int_equal(read_some(fd, buf, 10), 0); /* closed, nothing passed on */
    close(fd);
    faultproxy_stats st;
    faultproxy_stats_get(p, &st);
    assert_int_equal(st.responses_dropped, 1);
    assert_int_equal(st.bytes_up, 14); /* the server did get the request */
    /* Only once: the next one goes through. */
    fd = dial(faultproxy_port(p));
    assert_int_equal(write(fd, "POST /approve\n", 14), 14);
    assert_int_equal(read_some(fd, buf, 17), 17);
    close(fd);
    faultproxy_stop(p);
    echo_stop(&e);
}

static void test_cut_and_refuse(void **state)
{
    (void)state;
    echo e;
    echo_start(&e);
    faultproxy *p = faultproxy_start(e.port);
    int fd = dial(faultproxy_port(p));
    assert_int_equal(write(fd, "a\n", 2), 2);
    char buf[64];
    assert_int_equal(read_some(fd, buf, 5), 5);
    faultproxy_cut_all(p);
    assert_int_equal(read_some(fd, buf, 1), 0); /* EOF */
    close(fd);
    faultproxy_set(p, FAULTPROXY_REFUSE, 0);
    fd = dial(faultproxy_port(p));
    assert_int_equal(read_some(fd, buf, 1), 0);
    close(fd);
    faultproxy_stop(p);
    echo_stop(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forwards_whole_and_split),
        cmocka_unit_test(test_drops_answer_after_forwarding),
        cmocka_unit_test(test_cut_and_refuse),
    };
    return cmocka_run_group_tests_name("faultproxy", tests, NULL, NULL);
}
