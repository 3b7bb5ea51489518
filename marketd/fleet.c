/* fleet.c: the simulated fleet's thread (first cut: starts, paces and stops).
 *
 * The full fleet (catalogue, strategies, text, faults) is being built in marketd/sim*.c;
 * this file keeps marketd linking meanwhile.
 */
#include "marketd/fleet.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct fleet {
    market *m;
    fleet_options opt;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    uint64_t actions;
};

/* The thread: waits on its condition variable until told to stop. */
static void *fleet_main(void *arg)
{
    fleet *f = arg;
    pthread_mutex_lock(&f->mu);
    while (!f->stop)
        pthread_cond_wait(&f->cv, &f->mu);
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

/* Starts the fleet's thread; returns the fleet (owned) or NULL with err set. */
fleet *fleet_start(market *m, const fleet_options *opt, char *err, size_t errsz)
{
    fleet *f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    f->m = m;
    f->opt = *opt;
    pthread_mutex_init(&f->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&f->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&f->thread, NULL, fleet_main, f) != 0) {
        snprintf(err, errsz, "cannot start the fleet thread");
        pthread_cond_destroy(&f->cv);
        pthread_mutex_destroy(&f->mu);
        free(f);
        return NULL;
    }
    return f;
}

/* Stops the thread and frees the fleet; NULL is accepted. */
void fleet_stop(fleet *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->mu);
    f->stop = true;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->thread, NULL);
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

/* Returns the number of agent actions performed so far. */
uint64_t fleet_actions(const fleet *f)
{
    return f ? __atomic_load_n(&f->actions, __ATOMIC_RELAXED) : 0;
}
