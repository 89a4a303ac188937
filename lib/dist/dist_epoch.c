/* dist_epoch.c - a training epoch across the ranks (clnet/dist.h): each
 * rank trains on its shard of every global batch, and the epoch's
 * statistics are combined over the whole job. */
#include "dist/dist_internal.h"

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
    if (!dist->net || !opts || !stats)
        return dist_fail(dist, CLNET_ERR_INVALID_ARGUMENT, "clnet_dist_train_epoch: %s",
                         dist->net ? "NULL argument" : "no net attached (clnet_dist_attach)");
    clnet_train_opts mine = *opts;
    mine.shard = dist->size > 1 ? dist->rank : 0;
    mine.shards = dist->size > 1 ? dist->size : 0;
    clnet_status st = clnet_net_train_epoch(dist->net, ds, &mine, opt, stats);
    return st == CLNET_OK && dist->size > 1 ? combine_stats(dist, stats) : st;
}
