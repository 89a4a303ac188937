/* dist_exchange.c - the gradient exchange of libclnet-mpi: the attached
 * net's gradients in buckets of consecutive layers; when the backward pass
 * has queued a bucket's last layer its gradients are read, scaled by the
 * rank's share of the global batch and handed to a communication thread
 * that all-reduces them while the device computes the layers below (as
 * PyTorch DDP does); the end of the backward pass writes the sums back. */
#include "dist/dist_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- the communication thread ---- */

static int comm_thread(void *arg)
{
    clnet_dist *dist = arg;
    mtx_lock(&dist->lock);
    for (;;) {
        while (!dist->stop && dist->done == dist->queued)
            cnd_wait(&dist->cond, &dist->lock);
        if (dist->stop)
            break;
        dist_bucket *b = &dist->buckets[dist->done];
        mtx_unlock(&dist->lock);
        double t0 = dist_now_ms();
        int rc = dist->mpi_error == MPI_SUCCESS
                     ? MPI_Allreduce(MPI_IN_PLACE, b->host, (int)b->floats, MPI_FLOAT, MPI_SUM,
                                     dist->comm)
                     : dist->mpi_error;
        double t1 = dist_now_ms();
        mtx_lock(&dist->lock);
        dist->allreduce_ms += t1 - t0;
        dist->mpi_error = rc;
        dist->done++;
        cnd_broadcast(&dist->cond);
    }
    mtx_unlock(&dist->lock);
    return 0;
}

static void stop_thread(clnet_dist *dist)
{
    if (!dist->thread_started)
        return;
    mtx_lock(&dist->lock);
    dist->stop = true;
    cnd_broadcast(&dist->cond);
    mtx_unlock(&dist->lock);
    thrd_join(dist->thread, NULL);
    cnd_destroy(&dist->cond);
    mtx_destroy(&dist->lock);
    dist->thread_started = false;
}

static clnet_status start_thread(clnet_dist *dist)
{
    if (!dist->threaded)
        return CLNET_OK;
    dist->stop = false;
    if (mtx_init(&dist->lock, mtx_plain) != thrd_success)
        return dist_fail(dist, CLNET_ERR_HOST_MEMORY, "clnet_dist_attach: cannot create a "
                         "mutex");
    if (cnd_init(&dist->cond) != thrd_success) {
        mtx_destroy(&dist->lock);
        return dist_fail(dist, CLNET_ERR_HOST_MEMORY, "clnet_dist_attach: cannot create a "
                         "condition variable");
    }
    if (thrd_create(&dist->thread, comm_thread, dist) != thrd_success) {
        cnd_destroy(&dist->cond);
        mtx_destroy(&dist->lock);
        return dist_fail(dist, CLNET_ERR_HOST_MEMORY, "clnet_dist_attach: cannot start the "
                         "communication thread");
    }
    dist->thread_started = true;
    return CLNET_OK;
}

/* ---- buckets ---- */

/* Floats of layer id's gradients. */
static size_t layer_floats(clnet_net *net, int id)
{
    size_t floats = 0;
    for (int i = 0; i < clnet_net_grad_count(net, id); i++)
        floats += (size_t)clnet_tensor_numel(clnet_net_grad(net, id, i));
    return floats;
}

clnet_status dist_exchange_plan(clnet_dist *dist, size_t bucket_bytes)
{
    clnet_net *net = dist->net;
    int nlayers = clnet_net_layer_count(net);
    /* at most one bucket per layer */
    dist->buckets = calloc((size_t)nlayers + 1, sizeof *dist->buckets);
    if (!dist->buckets)
        return dist_fail(dist, CLNET_ERR_HOST_MEMORY, "clnet_dist_attach: no memory");
    dist_bucket *open = NULL;
    for (int id = nlayers - 1; id > 0; id--) {
        size_t floats = layer_floats(net, id);
        if (floats == 0)
            continue;
        if (!open) {
            open = &dist->buckets[dist->nbuckets++];
            open->hi = id;
        }
        open->lo = id;
        open->floats += floats;
        if (open->floats * sizeof(float) >= bucket_bytes)
            open = NULL;
    }
    for (int b = 0; b < dist->nbuckets; b++) {
        dist->buckets[b].host = malloc(dist->buckets[b].floats * sizeof(float));
        if (!dist->buckets[b].host)
            return dist_fail(dist, CLNET_ERR_HOST_MEMORY, "clnet_dist_attach: no memory for "
                             "%zu floats of gradients", dist->buckets[b].floats);
    }
    return start_thread(dist);
}

/* Reads bucket b's gradients into its host buffer, scaled by `scale`, or
 * (to_device) writes the buffer back into them. */
static clnet_status transfer(clnet_dist *dist, const dist_bucket *b, float scale, bool to_device)
{
    clnet_net *net = dist->net;
    size_t offset = 0;
    double t0 = dist_now_ms();
    for (int id = b->hi; id >= b->lo; id--)
        for (int i = 0; i < clnet_net_grad_count(net, id); i++) {
            clnet_tensor *g = clnet_net_grad(net, id, i);
            size_t numel = (size_t)clnet_tensor_numel(g);
            float *host = b->host + offset;
            clnet_status st = to_device ? clnet_tensor_write(g, host, numel * sizeof *host)
                                        : clnet_tensor_read(g, host, numel * sizeof *host);
            if (st != CLNET_OK)
                return st;
            for (size_t e = 0; !to_device && scale != 1.0f && e < numel; e++)
                host[e] *= scale;
            offset += numel;
        }
    dist->read_ms += dist_now_ms() - t0;
    return CLNET_OK;
}

/* Hands bucket b over: to the communication thread, or reduced here. */
static clnet_status hand_over(clnet_dist *dist, int b, double share)
{
    float scale = share > 0.0 ? (float)share : 1.0f / (float)dist->size;
    clnet_status st = transfer(dist, &dist->buckets[b], scale, false);
    if (st != CLNET_OK)
        return st;
    if (!dist->threaded) {
        double t0 = dist_now_ms();
        int rc = MPI_Allreduce(MPI_IN_PLACE, dist->buckets[b].host,
                               (int)dist->buckets[b].floats, MPI_FLOAT, MPI_SUM, dist->comm);
        dist->allreduce_ms += dist_now_ms() - t0;
        return rc == MPI_SUCCESS ? CLNET_OK : dist_mpi_fail(dist, rc, "gradient all-reduce");
    }
    mtx_lock(&dist->lock);
    dist->queued = b + 1;
    cnd_broadcast(&dist->cond);
    mtx_unlock(&dist->lock);
    return CLNET_OK;
}

static clnet_status layer_ready(void *user, clnet_net *net, int layer, double share)
{
    clnet_dist *dist = user;
    (void)net;
    dist->share = share;
    clnet_status st = CLNET_OK;
    /* a bucket whose lowest layer is frozen is handed over at the next
     * ready layer below it, or at the end */
    while (st == CLNET_OK && dist->next < dist->nbuckets && dist->buckets[dist->next].lo >= layer)
        st = hand_over(dist, dist->next++, share);
    return st;
}

/* Waits for bucket b's all-reduce; the MPI code of the first failure. */
static int wait_for(clnet_dist *dist, int b)
{
    if (!dist->threaded)
        return MPI_SUCCESS;
    double t0 = dist_now_ms();
    mtx_lock(&dist->lock);
    while (dist->done <= b)
        cnd_wait(&dist->cond, &dist->lock);
    int rc = dist->mpi_error;
    mtx_unlock(&dist->lock);
    dist->wait_ms += dist_now_ms() - t0;
    return rc;
}

static clnet_status finish(void *user, clnet_net *net)
{
    clnet_dist *dist = user;
    (void)net;
    clnet_status st = CLNET_OK;
    while (st == CLNET_OK && dist->next < dist->nbuckets)
        st = hand_over(dist, dist->next++, dist->share);
    for (int b = 0; b < dist->next; b++) {
        int rc = wait_for(dist, b);
        if (st == CLNET_OK && rc != MPI_SUCCESS)
            st = dist_mpi_fail(dist, rc, "gradient all-reduce");
        if (st == CLNET_OK)
            st = transfer(dist, &dist->buckets[b], 1.0f, true);
    }
    /* the next step starts from the first bucket, its counters from 0 */
    if (dist->threaded) {
        mtx_lock(&dist->lock);
        dist->queued = dist->done = 0;
        mtx_unlock(&dist->lock);
    }
    dist->next = 0;
    dist->steps++;
    return st;
}

/* The batch-norm sums of synchronised batch norm, on the thread running
 * the passes. MPI is initialised for one thread at a time and every rank
 * must issue its collectives in one order: the gradient buckets handed
 * over so far are reduced first. */
static clnet_status bn_sum(void *user, double *values, size_t count)
{
    clnet_dist *dist = user;
    int rc = MPI_SUCCESS;
    if (dist->threaded) {
        double t0 = dist_now_ms();
        mtx_lock(&dist->lock);
        while (dist->done < dist->queued)
            cnd_wait(&dist->cond, &dist->lock);
        rc = dist->mpi_error;
        mtx_unlock(&dist->lock);
        dist->wait_ms += dist_now_ms() - t0;
    }
    if (rc == MPI_SUCCESS)
        rc = MPI_Allreduce(MPI_IN_PLACE, values, (int)count, MPI_DOUBLE, MPI_SUM, dist->comm);
    return rc == MPI_SUCCESS ? CLNET_OK : dist_mpi_fail(dist, rc, "batch-norm all-reduce");
}

clnet_status clnet_dist_set_sync_bn(clnet_dist *dist, bool on)
{
    if (!dist)
        return CLNET_ERR_INVALID_ARGUMENT;
    if (!dist->net)
        return dist_fail(dist, CLNET_ERR_INVALID_ARGUMENT, "clnet_dist_set_sync_bn: no net "
                         "attached (clnet_dist_attach first)");
    clnet_bn_exchange ex = {.sum = bn_sum, .user = dist};
    clnet_status st = clnet_net_set_bn_exchange(dist->net, on ? &ex : NULL);
    if (st == CLNET_OK)
        dist->sync_bn = on;
    return st;
}

clnet_status dist_exchange_install(clnet_dist *dist)
{
    clnet_grad_exchange ex = {.layer_ready = layer_ready, .finish = finish, .user = dist};
    return clnet_net_set_grad_exchange(dist->net, &ex);
}

void dist_exchange_free(clnet_dist *dist)
{
    if (dist->net) {
        clnet_net_set_grad_exchange(dist->net, NULL);
        clnet_net_set_bn_exchange(dist->net, NULL);
    }
    dist->sync_bn = false;
    stop_thread(dist);
    for (int b = 0; dist->buckets && b < dist->nbuckets; b++)
        free(dist->buckets[b].host);
    free(dist->buckets);
    dist->buckets = NULL;
    dist->nbuckets = dist->next = dist->queued = dist->done = 0;
    dist->mpi_error = MPI_SUCCESS;
    dist->net = NULL;
}
