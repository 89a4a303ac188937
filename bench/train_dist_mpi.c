/* train_dist_mpi.c - train_dist.h on libclnet-mpi: `clnet-bench train`
 * started by mpirun trains across its ranks. */
#include "train_dist.h"
#include "bench.h"

#include "clnet/dist.h"

#include <stdlib.h>

struct train_dist {
    clnet_dist *dist;
};

int train_dist_join(const char *cmd, clnet_ctx *ctx, train_dist **out)
{
    *out = NULL;
    if (!clnet_dist_launched())
        return BENCH_EXIT_OK;
    train_dist *d = calloc(1, sizeof *d);
    if (!d) {
        fprintf(stderr, "clnet-bench %s: out of host memory\n", cmd);
        return BENCH_EXIT_FAIL;
    }
    clnet_status st = clnet_dist_new(ctx, NULL, NULL, &d->dist);
    if (st != CLNET_OK) {
        free(d);
        return bench_fail(cmd, ctx, st, "cannot join the MPI job");
    }
    *out = d;
    return BENCH_EXIT_OK;
}

void train_dist_free(train_dist *d)
{
    if (!d)
        return;
    clnet_dist_free(d->dist);
    free(d);
}

int train_dist_rank(const train_dist *d)
{
    return d ? clnet_dist_rank(d->dist) : 0;
}

int train_dist_size(const train_dist *d)
{
    return d ? clnet_dist_size(d->dist) : 1;
}

int train_dist_attach(const char *cmd, clnet_ctx *ctx, train_dist *d, clnet_net *net,
                      bool sync_bn)
{
    if (!d)
        return BENCH_EXIT_OK;
    clnet_status st = clnet_dist_attach(d->dist, net, 0);
    if (st == CLNET_OK)
        st = clnet_dist_set_sync_bn(d->dist, sync_bn);
    return st == CLNET_OK ? BENCH_EXIT_OK
                          : bench_fail(cmd, ctx, st, "cannot train across the MPI ranks");
}

clnet_status train_dist_epoch(train_dist *d, const clnet_dataset *ds,
                              const clnet_train_opts *opts, const clnet_optimizer *opt,
                              clnet_eval *stats)
{
    return clnet_dist_train_epoch(d->dist, ds, opts, opt, stats);
}

void train_dist_fail(const char *cmd, train_dist *d)
{
    if (!d || clnet_dist_size(d->dist) < 2)
        return;
    fprintf(stderr, "clnet-bench %s: rank %d of %d failed (above); ending every rank\n", cmd,
            clnet_dist_rank(d->dist), clnet_dist_size(d->dist));
    fflush(stderr);
    clnet_dist_abort(d->dist, BENCH_EXIT_FAIL);
}

void train_dist_print_timing(const train_dist *d, FILE *log, int batch)
{
    int64_t steps;
    double read, reduce, wait;
    if (!d)
        return;
    clnet_dist_timing(d->dist, &steps, &read, &reduce, &wait);
    if (steps > 0)
        fprintf(log, "%d MPI ranks, per step of %d images: %.2f ms reading and writing "
                "gradients, %.2f ms all-reduce (on its own thread), %.2f ms of it not hidden "
                "behind backward (%lld steps)\n", clnet_dist_size(d->dist), batch,
                read / (double)steps, reduce / (double)steps, wait / (double)steps,
                (long long)steps);
}

void train_dist_json(const train_dist *d, FILE *f)
{
    int64_t steps = 0;
    double read = 0, reduce = 0, wait = 0;
    if (d)
        clnet_dist_timing(d->dist, &steps, &read, &reduce, &wait);
    double per = steps > 0 ? 1.0 / (double)steps : 0.0;
    fprintf(f, "\"ranks\": %d, ", train_dist_size(d));
    if (d)
        fprintf(f, "\"allreduce_ms_per_step\": %.3f, \"gradient_io_ms_per_step\": %.3f, "
                "\"allreduce_wait_ms_per_step\": %.3f, ", reduce * per, read * per, wait * per);
}
