/* clnet/dist.h - data-parallel training across processes and machines with
 * MPI (libclnet-mpi, pkg-config clnet-mpi; libclnet itself never links MPI).
 * Every process (rank) of an `mpirun -np N` job trains the same net on its
 * own device, takes its slice of each global batch, and the gradients are
 * summed across the ranks with MPI all-reduces in buckets that start while
 * the backward pass is still running (PyTorch DDP's scheme); then every rank
 * takes the same optimizer step, so the replicas stay identical. Dropout
 * masks and augmentation draws depend on the global image, not on the rank,
 * so a net without batch norm trains the same on any number of ranks (up to
 * float rounding). Batch norm uses each rank's slice for its batch
 * statistics, and each rank keeps its own running statistics.
 *
 * Thread safety: one clnet_dist per process, driven by one thread. */
#ifndef CLNET_DIST_H
#define CLNET_DIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clnet/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct clnet_dist clnet_dist;

/* Whether this process was started by an MPI launcher (Open MPI's mpirun,
 * or another that sets PMI_SIZE or PMIX_RANK), from its environment only:
 * MPI is not initialised. */
bool clnet_dist_launched(void);

/* Joins the job: initialises MPI (unless the program did already; then it
 * also finalises it) asking for MPI_THREAD_SERIALIZED, so that the
 * all-reduces run on a thread of their own; with less, they run on the
 * caller's thread. argc/argv may be NULL. Errors are recorded on ctx (which
 * must outlive the group): CLNET_ERR_INVALID_ARGUMENT (ctx or out NULL),
 * CLNET_ERR_HOST_MEMORY, CLNET_ERR_INTERNAL (MPI failed, with its message).
 * On success *out is the caller's, freed with clnet_dist_free; else NULL. */
clnet_status clnet_dist_new(clnet_ctx *ctx, int *argc, char ***argv, clnet_dist **out);

/* Detaches the net (if any) and leaves the job (MPI_Finalize, when
 * clnet_dist_new initialised MPI). NULL is ignored. Free it before the
 * attached net. */
void clnet_dist_free(clnet_dist *dist);

/* This process's rank (0..size-1) and the number of ranks; 0 and 1 for
 * NULL. Rank 0 is the one that should print and save. */
int clnet_dist_rank(const clnet_dist *dist);
int clnet_dist_size(const clnet_dist *dist);

/* Ends the whole job at once (MPI_Abort with `code`): every rank exits
 * within seconds. For the program, after it reported a failure of this
 * rank that the others cannot know of (they would wait for it in the next
 * all-reduce); libclnet-mpi never calls it itself. Does not return. */
void clnet_dist_abort(clnet_dist *dist, int code);

/* Makes `net` (bound, the same on every rank) train across the ranks:
 * checks, collectively, that every rank has the same parameter count and
 * bit-identical parameter values (the same seed or checkpoint), plans
 * buckets of about bucket_bytes of gradients (0 = 256 KiB; layers are never
 * split) and installs the net's gradient exchange (clnet/parallel.h).
 * Every rank must call it. A net attached before is detached. Errors (on
 * the group's ctx; the net is left detached): CLNET_ERR_INVALID_ARGUMENT
 * (NULL, an unbound net, the ranks' nets differ: the message names the
 * ranks and what differs), CLNET_ERR_HOST_MEMORY, those of
 * clnet_net_param_read. */
clnet_status clnet_dist_attach(clnet_dist *dist, clnet_net *net, size_t bucket_bytes);

/* Synchronised batch norm across the ranks on (on true) or off (the
 * default) for the attached net: in training mode every batch norm
 * normalises with the statistics of the global batch (each rank's
 * per-channel count, sum and sum of squares all-reduced) and its backward
 * pass sums the per-channel sums of dy and dy * xhat likewise, as PyTorch's
 * SyncBatchNorm (clnet_net_set_bn_exchange), so the results do not depend
 * on the number of ranks. Two small all-reduces per batch norm and step,
 * waiting for the gradient buckets handed over before them. Every rank must
 * make the same call. Stays until switched off or the net is detached.
 * Errors: CLNET_ERR_INVALID_ARGUMENT (dist NULL, no net attached). */
clnet_status clnet_dist_set_sync_bn(clnet_dist *dist, bool on);

/* clnet_net_train_epoch of the attached net on this rank's slice of every
 * global batch of opts->batch images (0 = the net's max_batch; at least one
 * image per rank): opts->shard and opts->shards are set here, everything
 * else is the caller's and must be the same on every rank (seed, epoch,
 * limit, dataset). *stats are the whole job's (losses and accuracies over
 * every rank's images, counts summed, seconds the slowest rank's), the
 * same on every rank; the progress callback sees this rank's slices. Every
 * rank must call it. It first compares, with one collective, what the ranks
 * must share (the dataset's size, shape, name, labels and first images;
 * opts' batch, limit, seed, epoch, max_batches and drop_last; opt's kind,
 * lr and whether es is set; clnet_dist_set_sync_bn's setting): ranks that
 * differ would wait forever in mismatched all-reduces, so every rank
 * returns an error instead, the message naming the first setting and rank
 * that differ. Errors (on the ctx): CLNET_ERR_INVALID_ARGUMENT (no net
 * attached, NULL ds, opts or stats, the ranks' settings differ, opt->es
 * with more than one rank: its step is not summed across ranks), those of
 * clnet_net_train_epoch and of the all-reduces (CLNET_ERR_INTERNAL with
 * MPI's message). A rank that fails returns while
 * the others may wait for it: the program reports the error and calls
 * clnet_dist_abort. */
clnet_status clnet_dist_train_epoch(clnet_dist *dist, const clnet_dataset *ds,
                                    const clnet_train_opts *opts, const clnet_optimizer *opt,
                                    clnet_eval *stats);

/* Where the gradient exchange's time went since clnet_dist_attach: steps
 * (backward passes), milliseconds reading gradients from the device and
 * writing the sums back (read_ms), milliseconds of the all-reduces
 * themselves (allreduce_ms, on the communication thread, overlapping the
 * backward pass), and milliseconds the backward pass's end waited for the
 * last all-reduce (wait_ms: the part not hidden). Any pointer may be NULL. */
void clnet_dist_timing(const clnet_dist *dist, int64_t *steps, double *read_ms,
                       double *allreduce_ms, double *wait_ms);

#ifdef __cplusplus
}
#endif
#endif
