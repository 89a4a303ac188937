/* dist.c - libclnet-mpi's process group (clnet/dist.h): joining and leaving
 * the MPI job, and attaching a net after checking that every rank holds the
 * same one. */
#include "dist/dist_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double dist_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return 1e3 * (double)ts.tv_sec + 1e-6 * (double)ts.tv_nsec;
}

clnet_status dist_fail(clnet_dist *dist, clnet_status st, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return clnet_ctx_set_error(dist->ctx, st, text);
}

clnet_status dist_mpi_fail(clnet_dist *dist, int code, const char *what)
{
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(code, text, &len) != MPI_SUCCESS)
        snprintf(text, sizeof text, "MPI error %d", code);
    return dist_fail(dist, CLNET_ERR_INTERNAL, "rank %d of %d: %s: %s", dist->rank, dist->size,
                     what, text);
}

bool clnet_dist_launched(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
}

clnet_status clnet_dist_new(clnet_ctx *ctx, int *argc, char ***argv, clnet_dist **out)
{
    if (out)
        *out = NULL;
    if (!ctx || !out)
        return clnet_ctx_set_error(ctx, CLNET_ERR_INVALID_ARGUMENT,
                                   "clnet_dist_new: NULL argument");
    clnet_dist *dist = calloc(1, sizeof *dist);
    if (!dist)
        return clnet_ctx_set_error(ctx, CLNET_ERR_HOST_MEMORY, "clnet_dist_new: no memory");
    dist->ctx = ctx;
    dist->comm = MPI_COMM_NULL;
    int initialised = 0, provided = MPI_THREAD_SINGLE;
    MPI_Initialized(&initialised);
    int rc = MPI_SUCCESS;
    if (!initialised) {
        rc = MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided);
        dist->owns_mpi = rc == MPI_SUCCESS;
    } else {
        MPI_Query_thread(&provided);
    }
    dist->threaded = provided >= MPI_THREAD_SERIALIZED;
    /* a communicator of our own, whose errors come back as codes instead
     * of ending the process */
    if (rc == MPI_SUCCESS)
        rc = MPI_Comm_dup(MPI_COMM_WORLD, &dist->comm);
    if (rc == MPI_SUCCESS)
        rc = MPI_Comm_set_errhandler(dist->comm, MPI_ERRORS_RETURN);
    if (rc == MPI_SUCCESS)
        rc = MPI_Comm_rank(dist->comm, &dist->rank);
    if (rc == MPI_SUCCESS)
        rc = MPI_Comm_size(dist->comm, &dist->size);
    if (rc != MPI_SUCCESS) {
        clnet_status st = dist_mpi_fail(dist, rc, "clnet_dist_new: joining the MPI job");
        clnet_dist_free(dist);
        return st;
    }
    *out = dist;
    return CLNET_OK;
}

void clnet_dist_free(clnet_dist *dist)
{
    if (!dist)
        return;
    dist_exchange_free(dist);
    if (dist->comm != MPI_COMM_NULL)
        MPI_Comm_free(&dist->comm);
    if (dist->owns_mpi)
        MPI_Finalize();
    free(dist);
}

int clnet_dist_rank(const clnet_dist *dist)
{
    return dist ? dist->rank : 0;
}

int clnet_dist_size(const clnet_dist *dist)
{
    return dist ? dist->size : 1;
}

void clnet_dist_abort(clnet_dist *dist, int code)
{
    MPI_Abort(dist && dist->comm != MPI_COMM_NULL ? dist->comm : MPI_COMM_WORLD, code);
    /* MPI_Abort does not return on any MPI we know; if one did, the
     * caller's documented promise still holds */
    _Exit(code);
}

void clnet_dist_timing(const clnet_dist *dist, int64_t *steps, double *read_ms,
                       double *allreduce_ms, double *wait_ms)
{
    if (steps)
        *steps = dist ? dist->steps : 0;
    if (read_ms)
        *read_ms = dist ? dist->read_ms : 0.0;
    if (allreduce_ms)
        *allreduce_ms = dist ? dist->allreduce_ms : 0.0;
    if (wait_ms)
        *wait_ms = dist ? dist->wait_ms : 0.0;
}

/* ---- attaching a net ---- */

uint64_t dist_fnv1a(uint64_t h, const void *data, size_t bytes)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < bytes; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

/* The parameter count and a hash of every parameter value of the net
 * (trainable ones and running statistics alike). */
static clnet_status fingerprint(clnet_dist *dist, clnet_net *net, uint64_t out[2])
{
    uint64_t count = 0, hash = DIST_FNV_START;
    float *values = NULL;
    size_t cap = 0;
    clnet_status st = CLNET_OK;
    for (int id = 0; st == CLNET_OK && id < clnet_net_layer_count(net); id++) {
        clnet_layer_info info;
        st = clnet_net_layer_info(net, id, &info);
        /* a layer's parameters are numbered 0.. without gaps */
        for (int j = 0; st == CLNET_OK && info.params > 0; j++) {
            clnet_shape shape;
            if (clnet_net_param_read(net, id, j, &shape, NULL, 0) != CLNET_OK)
                break;
            size_t numel = (size_t)clnet_shape_numel(&shape);
            if (numel > cap) {
                float *grown = realloc(values, numel * sizeof *values);
                if (!grown) {
                    st = dist_fail(dist, CLNET_ERR_HOST_MEMORY, "clnet_dist_attach: no "
                                   "memory for %zu floats", numel);
                    break;
                }
                values = grown;
                cap = numel;
            }
            st = clnet_net_param_read(net, id, j, NULL, values, numel);
            hash = dist_fnv1a(hash, values, numel * sizeof *values);
            count += numel;
        }
    }
    free(values);
    out[0] = count;
    out[1] = hash;
    return st;
}

/* Every rank's fingerprint, compared with rank 0's. Collective, so every
 * rank ends with the same verdict. */
static clnet_status check_same_net(clnet_dist *dist, clnet_net *net)
{
    uint64_t mine[3] = {0, 0, 0};
    clnet_status st = fingerprint(dist, net, mine);
    mine[2] = st != CLNET_OK;
    uint64_t *all = malloc((size_t)dist->size * sizeof mine);
    if (!all)
        return dist_fail(dist, CLNET_ERR_HOST_MEMORY, "clnet_dist_attach: no memory");
    int rc = MPI_Allgather(mine, 3, MPI_UINT64_T, all, 3, MPI_UINT64_T, dist->comm);
    if (rc != MPI_SUCCESS) {
        free(all);
        return dist_mpi_fail(dist, rc, "clnet_dist_attach: comparing the ranks' nets");
    }
    for (int r = 0; st == CLNET_OK && r < dist->size; r++) {
        const uint64_t *theirs = all + 3 * r;
        if (theirs[2])
            st = dist_fail(dist, CLNET_ERR_INVALID_ARGUMENT, "clnet_dist_attach: rank %d "
                           "could not read its net's parameters", r);
        else if (theirs[0] != all[0])
            st = dist_fail(dist, CLNET_ERR_INVALID_ARGUMENT, "clnet_dist_attach: rank %d's "
                           "net has %llu parameter values, rank 0's %llu: every rank must "
                           "train the same net", r, (unsigned long long)theirs[0],
                           (unsigned long long)all[0]);
        else if (theirs[1] != all[1])
            st = dist_fail(dist, CLNET_ERR_INVALID_ARGUMENT, "clnet_dist_attach: rank %d's "
                           "parameter values differ from rank 0's: initialise every rank "
                           "from the same seed or checkpoint", r);
    }
    free(all);
    return st;
}

clnet_status clnet_dist_attach(clnet_dist *dist, clnet_net *net, size_t bucket_bytes)
{
    if (!dist || !net)
        return dist ? dist_fail(dist, CLNET_ERR_INVALID_ARGUMENT,
                                "clnet_dist_attach: NULL net")
                    : CLNET_ERR_INVALID_ARGUMENT;
    dist_exchange_free(dist);
    if (clnet_net_device_bytes(net) == 0)
        return dist_fail(dist, CLNET_ERR_INVALID_ARGUMENT, "clnet_dist_attach: the net is "
                         "not bound to a device");
    clnet_status st = check_same_net(dist, net);
    if (st != CLNET_OK)
        return st;
    dist->net = net;
    st = dist_exchange_plan(dist, bucket_bytes ? bucket_bytes : (size_t)256 << 10);
    if (st == CLNET_OK)
        st = dist_exchange_install(dist);
    if (st != CLNET_OK)
        dist_exchange_free(dist);
    return st;
}
