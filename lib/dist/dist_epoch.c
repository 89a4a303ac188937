/* dist_epoch.c - a training epoch across the ranks (clnet/dist.h): each
 * rank trains on its shard of every global batch, and the epoch's
 * statistics are combined over the whole job. */
#include "dist/dist_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The settings of an epoch that every rank must share: ranks that differ in
 * one would run different numbers of steps and wait forever in each other's
 * all-reduces, so they are compared first, with one collective. */
enum { AGREE_IMAGES, AGREE_SHAPE, AGREE_DATA, AGREE_BATCH, AGREE_LIMIT, AGREE_SEED,
       AGREE_EPOCH, AGREE_MAX_BATCHES, AGREE_DROP_LAST, AGREE_OPTIMIZER, AGREE_LR, AGREE_ES,
       AGREE_SYNC_BN, AGREE_COUNT };

/* How a setting reads in the message: a count, a digest (only "differs"),
 * or a float's bits. */
typedef enum { SHOWN_INT, SHOWN_DIGEST, SHOWN_FLOAT } shown_as;

static const struct {
    const char *name;
    shown_as shown;
} agreed[AGREE_COUNT] = {
    [AGREE_IMAGES] = {"the dataset's image count", SHOWN_INT},
    [AGREE_SHAPE] = {"the dataset's image shape (digest)", SHOWN_DIGEST},
    [AGREE_DATA] = {"the dataset's name, labels and first images (digest)", SHOWN_DIGEST},
    [AGREE_BATCH] = {"the batch (opts->batch)", SHOWN_INT},
    [AGREE_LIMIT] = {"the example limit (opts->limit)", SHOWN_INT},
    [AGREE_SEED] = {"the seed (opts->seed)", SHOWN_INT},
    [AGREE_EPOCH] = {"the epoch (opts->epoch)", SHOWN_INT},
    [AGREE_MAX_BATCHES] = {"the batches per epoch (opts->max_batches)", SHOWN_INT},
    [AGREE_DROP_LAST] = {"dropping the last batch (opts->drop_last)", SHOWN_INT},
    [AGREE_OPTIMIZER] = {"the optimizer (opt->kind)", SHOWN_INT},
    [AGREE_LR] = {"the learning rate (opt->lr)", SHOWN_FLOAT},
    [AGREE_ES] = {"the es optimizer (opt->es set)", SHOWN_INT},
    [AGREE_SYNC_BN] = {"synchronised batch norm (clnet_dist_set_sync_bn)", SHOWN_INT},
};

static uint64_t float_bits(float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    return bits;
}

static float bits_float(uint64_t v)
{
    uint32_t bits = (uint32_t)v;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static void digest_settings(const clnet_dataset *ds, const clnet_train_opts *opts,
                            const clnet_optimizer *opt, uint64_t *d)
{
    int dims[3] = {ds->channels, ds->height, ds->width};
    size_t image_bytes = (size_t)ds->channels * (size_t)ds->height * (size_t)ds->width;
    size_t sample = (size_t)ds->count * image_bytes;
    /* the labels and a few images tell datasets of one size apart cheaply */
    sample = sample < ((size_t)64 << 10) ? sample : (size_t)64 << 10;
    uint64_t data = dist_fnv1a(DIST_FNV_START, ds->name, strnlen(ds->name, sizeof ds->name));
    data = dist_fnv1a(data, ds->labels, (size_t)ds->count);
    d[AGREE_IMAGES] = (uint64_t)ds->count;
    d[AGREE_SHAPE] = dist_fnv1a(DIST_FNV_START, dims, sizeof dims);
    d[AGREE_DATA] = dist_fnv1a(data, ds->images, sample);
    d[AGREE_BATCH] = (uint64_t)opts->batch;
    d[AGREE_LIMIT] = (uint64_t)opts->limit;
    d[AGREE_SEED] = opts->seed;
    d[AGREE_EPOCH] = (uint64_t)opts->epoch;
    d[AGREE_MAX_BATCHES] = (uint64_t)opts->max_batches;
    d[AGREE_DROP_LAST] = opts->drop_last;
    d[AGREE_OPTIMIZER] = opt ? (uint64_t)opt->kind : UINT64_MAX;
    d[AGREE_LR] = opt ? float_bits(opt->lr) : UINT64_MAX;
    d[AGREE_ES] = opt && opt->es;
}

/* Every rank's settings against rank 0's, with one all-gather, so every
 * rank reaches the same verdict and none is left waiting. The message names
 * the first setting and rank that differ, with both values where they are
 * numbers. */
static clnet_status check_same_settings(clnet_dist *dist, const clnet_dataset *ds,
                                        const clnet_train_opts *opts,
                                        const clnet_optimizer *opt)
{
    uint64_t mine[AGREE_COUNT];
    digest_settings(ds, opts, opt, mine);
    /* one rank's batch-norm all-reduces would wait for the others forever */
    mine[AGREE_SYNC_BN] = dist->sync_bn;
    uint64_t *all = malloc((size_t)dist->size * sizeof mine);
    if (!all)
        return dist_fail(dist, CLNET_ERR_HOST_MEMORY, "clnet_dist_train_epoch: no memory");
    int rc = MPI_Allgather(mine, AGREE_COUNT, MPI_UINT64_T, all, AGREE_COUNT, MPI_UINT64_T,
                           dist->comm);
    if (rc != MPI_SUCCESS) {
        free(all);
        return dist_mpi_fail(dist, rc, "clnet_dist_train_epoch: comparing the ranks' settings");
    }
    clnet_status st = CLNET_OK;
    for (int r = 1; st == CLNET_OK && r < dist->size; r++)
        for (int k = 0; st == CLNET_OK && k < AGREE_COUNT; k++) {
            uint64_t theirs = all[(size_t)r * AGREE_COUNT + k], first = all[k];
            if (theirs == first)
                continue;
            char values[96] = "";
            if (agreed[k].shown == SHOWN_INT)
                snprintf(values, sizeof values, ": %llu against %llu",
                         (unsigned long long)theirs, (unsigned long long)first);
            else if (agreed[k].shown == SHOWN_FLOAT)
                snprintf(values, sizeof values, ": %g against %g", (double)bits_float(theirs),
                         (double)bits_float(first));
            st = dist_fail(dist, CLNET_ERR_INVALID_ARGUMENT, "clnet_dist_train_epoch: rank %d "
                           "differs from rank 0 in %s%s; every rank must train with the same "
                           "dataset and settings", r, agreed[k].name, values);
        }
    free(all);
    return st;
}

/* Every rank's statistics into the job's: sums weighted by image counts,
 * the slowest rank's seconds. */
static clnet_status combine_stats(clnet_dist *dist, clnet_eval *stats)
{
    double n = (double)stats->count;
    double sums[6] = {stats->loss * n, stats->top1 * n, stats->top5 * n, n,
                      (double)stats->nonfinite, stats->stopped ? 1.0 : 0.0};
    double most[2] = {stats->seconds, stats->input_wait_seconds};
    int rc = MPI_Allreduce(MPI_IN_PLACE, sums, 6, MPI_DOUBLE, MPI_SUM, dist->comm);
    if (rc == MPI_SUCCESS)
        rc = MPI_Allreduce(MPI_IN_PLACE, most, 2, MPI_DOUBLE, MPI_MAX, dist->comm);
    if (rc != MPI_SUCCESS)
        return dist_mpi_fail(dist, rc, "combining the epoch's statistics");
    double total = sums[3];
    stats->count = (int64_t)total;
    stats->loss = total > 0 ? sums[0] / total : 0.0;
    stats->top1 = total > 0 ? sums[1] / total : 0.0;
    stats->top5 = total > 0 ? sums[2] / total : 0.0;
    stats->nonfinite = (int64_t)sums[4];
    stats->stopped = sums[5] > 0;
    stats->seconds = most[0];
    stats->input_wait_seconds = most[1];
    stats->images_per_second = most[0] > 0 ? total / most[0] : 0.0;
    return CLNET_OK;
}

clnet_status clnet_dist_train_epoch(clnet_dist *dist, const clnet_dataset *ds,
                                    const clnet_train_opts *opts, const clnet_optimizer *opt,
                                    clnet_eval *stats)
{
    if (!dist)
        return CLNET_ERR_INVALID_ARGUMENT;
    if (!dist->net || !ds || !opts || !stats)
        return dist_fail(dist, CLNET_ERR_INVALID_ARGUMENT, "clnet_dist_train_epoch: %s",
                         dist->net ? "NULL argument" : "no net attached (clnet_dist_attach)");
    clnet_status st = dist->size > 1 ? check_same_settings(dist, ds, opts, opt) : CLNET_OK;
    if (st != CLNET_OK)
        return st;
    /* each rank would draw its own perturbations from its shard, and no
     * gradient passes through the exchange: the replicas would drift apart */
    if (opt && opt->es && dist->size > 1)
        return dist_fail(dist, CLNET_ERR_INVALID_ARGUMENT, "clnet_dist_train_epoch: the es "
                         "optimizer (opt->es) trains one process only: its step is not "
                         "summed across the ranks");
    clnet_train_opts mine = *opts;
    mine.shard = dist->size > 1 ? dist->rank : 0;
    mine.shards = dist->size > 1 ? dist->size : 0;
    st = clnet_net_train_epoch(dist->net, ds, &mine, opt, stats);
    return st == CLNET_OK && dist->size > 1 ? combine_stats(dist, stats) : st;
}
