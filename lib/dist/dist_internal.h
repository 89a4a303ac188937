/* dist_internal.h - the state of libclnet-mpi's process group shared by its
 * files: the MPI communicator, the attached net's gradient buckets and the
 * communication thread that all-reduces them. */
#ifndef CLNET_DIST_INTERNAL_H
#define CLNET_DIST_INTERNAL_H

#include "clnet/dist.h"
#include "clnet/parallel.h"

#include <mpi.h>
#include <threads.h>

/* Consecutive trainable layers hi..lo (hi >= lo, ids) whose gradients are
 * summed in one all-reduce; the backward pass reaches lo last. */
typedef struct dist_bucket {
    int hi, lo;
    size_t floats;
    float *host;                   /* the gradients, scaled by the rank's share, then the sum */
} dist_bucket;

struct clnet_dist {
    clnet_ctx *ctx;
    MPI_Comm comm;                 /* a duplicate of MPI_COMM_WORLD that returns errors */
    int rank, size;
    bool owns_mpi;                 /* clnet_dist_new initialised MPI, so it finalises it */
    bool threaded;                 /* the all-reduces run on `thread` */

    clnet_net *net;                /* attached; NULL = none */
    dist_bucket *buckets;          /* in the order the backward pass completes them */
    int nbuckets;
    int next;                      /* first bucket of this step not yet handed over */
    double share;                  /* this step's share of the global batch (layer_ready's) */
    bool sync_bn;                  /* clnet_dist_set_sync_bn: the net's bn_exchange is set */

    /* the communication thread: reduces buckets [done, queued) in order */
    thrd_t thread;
    bool thread_started;
    mtx_t lock;
    cnd_t cond;
    int queued, done;
    bool stop;
    int mpi_error;                 /* the first failed all-reduce's MPI code; MPI_SUCCESS */

    int64_t steps;
    double read_ms, allreduce_ms, wait_ms;
};

/* Records "<what>: <MPI's text for code>" on the group's ctx and returns
 * CLNET_ERR_INTERNAL (dist.c). */
clnet_status dist_mpi_fail(clnet_dist *dist, int code, const char *what);
/* Records a formatted message on the group's ctx and returns st (dist.c). */
clnet_status dist_fail(clnet_dist *dist, clnet_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

double dist_now_ms(void);

/* FNV-1a over bytes, continuing from h (DIST_FNV_START to begin): the
 * digests the ranks compare (dist.c). */
#define DIST_FNV_START 0xcbf29ce484222325ULL
uint64_t dist_fnv1a(uint64_t h, const void *data, size_t bytes);

/* The gradient exchange (dist_exchange.c): dist_exchange_plan makes the
 * buckets of dist->net and starts the communication thread;
 * dist_exchange_install puts the hooks on the net; dist_exchange_free
 * removes them, stops the thread and frees the buckets. */
clnet_status dist_exchange_plan(clnet_dist *dist, size_t bucket_bytes);
clnet_status dist_exchange_install(clnet_dist *dist);
void dist_exchange_free(clnet_dist *dist);

#endif
