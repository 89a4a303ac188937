/* clnet/parallel.h - data-parallel training in one process: a net trains on
 * several devices at once, a replica per device, each batch split across
 * them, the gradients summed on the host and every replica taking the same
 * optimizer step (as PyTorch's DistributedDataParallel does), so the
 * replicas stay identical. */
#ifndef CLNET_PARALLEL_H
#define CLNET_PARALLEL_H

#include "clnet/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct clnet_parallel clnet_parallel;

/* Makes `net` train on devs[0..ndevs): the net itself becomes replica 0,
 * bound to devs[0] (a net bound before is rebound there, keeping its
 * weights, optimizer state and settings), and the group makes a copy of it
 * for each further device: the same layers, weights (initialised once on the
 * host from init and seed when the net has none yet, so every replica starts
 * bit-identical), optimizer state, input normalisation, loss, frozen layers,
 * layer modes and per-parameter lr and decay multipliers. Any mix of devices works, `ref` included: the gradients
 * meet on the host. Devices of one name run the same step code and stay
 * bit-identical; in a group of different devices (whose steps may round
 * differently) replica 0's weights are also copied to the others after each
 * step, which costs a second transfer of the weights.
 *
 * A batch of n images is split into consecutive slices, replica i taking a
 * share proportional to weights[i] (weights may be NULL: equal shares; else
 * ndevs finite values > 0, e.g. the devices' measured images/s). max_batch
 * is the largest global batch; each replica is bound for the largest slice
 * it can get. Each replica's gradient is scaled by its share of the batch
 * before they are summed, so the step equals the single-device step on the
 * whole batch with a mean loss (up to float rounding).
 *
 * Batch norm uses per-replica batch statistics by default (those of the
 * replica's slice, as DDP without SyncBatchNorm does); after each step the
 * running statistics of the replicas are averaged (weighted by their
 * slices) so the replicas stay identical. clnet_parallel_set_sync_bn
 * switches to statistics over the global batch. Dropout draws different
 * masks on each replica. So only a net without dropout, and without batch
 * norm or with sync BN on, matches the single-device run step for step.
 *
 * On success *out is a new group; the caller frees it with
 * clnet_parallel_free before freeing `net`. The devices belong to their
 * contexts and must outlive the group. Errors (on net's context; *out is
 * NULL and the net is left unbound or bound to devs[0]):
 * CLNET_ERR_INVALID_ARGUMENT (NULL argument, ndevs < 1, a device listed
 * twice, a weight not finite and > 0, max_batch too small for every replica
 * to get an image: the message names the device), CLNET_ERR_HOST_MEMORY, and
 * those of clnet_net_bind naming the device. */
clnet_status clnet_parallel_new(clnet_net *net, clnet_device *const *devs, int ndevs,
                                const float *weights, int max_batch, clnet_init init,
                                uint64_t seed, clnet_parallel **out);

/* Synchronised batch norm on (on true) or off (the default), as PyTorch's
 * SyncBatchNorm: in training mode each replica computes per-channel sums
 * and sums of squares over its slice, these are summed over the replicas
 * and every replica normalises with the global batch's mean and variance
 * (and updates its running statistics with them, so they are the same
 * everywhere); the backward pass likewise sums the per-channel sums of dy
 * and dy * xhat over the replicas before the input gradient. The replicas
 * then run layer by layer in lockstep, waiting for each other at every
 * batch norm, so steps take longer than without. Takes effect from the next
 * clnet_parallel_step; a net without batch norm is unaffected. Errors:
 * CLNET_ERR_INVALID_ARGUMENT (par NULL), CLNET_ERR_HOST_MEMORY (the setting
 * is then unchanged). */
clnet_status clnet_parallel_set_sync_bn(clnet_parallel *par, bool on);

/* Frees the replicas the group made (not replica 0, the caller's net, which
 * stays bound to devs[0] and keeps the trained weights). NULL is ignored. */
void clnet_parallel_free(clnet_parallel *par);

/* Number of replicas (the ndevs of clnet_parallel_new). */
int clnet_parallel_count(const clnet_parallel *par);

/* Replica i (0 <= i < count; replica 0 is the caller's net), owned by the
 * group (replica 0 by the caller), or NULL for a bad index. For reading
 * (parameters, outputs); training it alone would make it differ from the
 * others. */
clnet_net *clnet_parallel_replica(const clnet_parallel *par, int i);

/* Images of a batch of n that replica i takes (0 when n < count can leave a
 * replica without any; it then takes the summed step all the same). */
int clnet_parallel_share(const clnet_parallel *par, int n, int i);

/* One training step on a global batch of n images (1 <= n <= max_batch;
 * dense NCHW floats on the host): a training-mode forward and a backward on
 * every replica's slice, the gradients summed, then clnet_net_step with
 * `opt` at `lr` on every replica. labels (SOFTMAX_XENT) or targets (MSE) as
 * clnet_net_backward takes them, for the whole batch. *loss (may be NULL)
 * receives the mean loss over the batch; out (may be NULL) receives the n
 * output rows (n * output elements) of the forward. Errors: those of
 * clnet_net_forward, clnet_net_backward and clnet_net_step, the message
 * naming the replica's device; CLNET_ERR_INVALID_ARGUMENT when replica 0
 * was rebound, unbound or truncated since clnet_parallel_new, or opt->es
 * is set (the es optimizer trains on one device). After an error
 * the replicas may differ. */
clnet_status clnet_parallel_step(clnet_parallel *par, const float *x, const int32_t *labels,
                                 const float *targets, int n, const clnet_optimizer *opt,
                                 float lr, float *loss, float *out);

/* clnet_net_train_epoch across the replicas: the host pipeline prepares
 * global batches of opts->batch images (0 = max_batch), and each is one
 * clnet_parallel_step. Shuffling, augmentation, the learning-rate schedule,
 * progress, statistics and the training state (kept in replica 0) are as
 * clnet_net_train_epoch's. Errors: as clnet_net_train_epoch, and as
 * clnet_parallel_step (opt->es is refused). */
clnet_status clnet_parallel_train_epoch(clnet_parallel *par, const clnet_dataset *ds,
                                        const clnet_train_opts *opts,
                                        const clnet_optimizer *opt, clnet_eval *stats);

/* Where the steps' time went, summed since the group was made: steps taken,
 * milliseconds from the first forward queued until every device finished
 * its backward pass (compute: the replicas run at once), milliseconds
 * reading, summing and writing back the gradients and running statistics
 * (the all-reduce), and milliseconds of the optimizer steps, the weight copy
 * of a mixed group and the output and loss reads. With synchronised batch
 * norm, compute includes the batch norms' exchanges (they happen within the
 * passes). Any pointer may be NULL. */
void clnet_parallel_timing(const clnet_parallel *par, int64_t *steps, double *compute_ms,
                           double *allreduce_ms, double *step_ms);

/* ---- gradient exchange between processes ----
 * The hooks through which a library layered on clnet (libclnet-mpi,
 * clnet/dist.h) sums the gradients of one net trained by several processes,
 * each on its shard of every global batch (clnet_train_opts.shards), while
 * the backward pass is still running, as PyTorch's DDP does. */
typedef struct clnet_grad_exchange {
    /* Called by clnet_net_backward, on its thread, once the gradients of
     * every trainable parameter of layer `layer` are queued on the device
     * (layers in decreasing order; frozen layers are skipped). `share` is
     * this process's fraction of the global batch (its images / the global
     * batch's) when clnet_net_train_epoch shards batches, else 0 (equal
     * shares). May read the gradients (clnet_net_grad) and start summing
     * them; a non-OK status ends the backward pass with it. */
    clnet_status (*layer_ready)(void *user, clnet_net *net, int layer, double share);
    /* Called at the end of clnet_net_backward, after the last layer_ready:
     * must leave in every gradient tensor the global batch's gradient (the
     * sum over the processes of share * their gradient). A non-OK status is
     * clnet_net_backward's. */
    clnet_status (*finish)(void *user, clnet_net *net);
    void *user;
} clnet_grad_exchange;

/* Installs `ex` (copied) on the net, or removes the hooks (ex NULL). The
 * hooks stay until removed or the net is freed; they are not saved or
 * copied into replicas. Errors: CLNET_ERR_INVALID_ARGUMENT (net NULL, a
 * hook NULL). */
clnet_status clnet_net_set_grad_exchange(clnet_net *net, const clnet_grad_exchange *ex);

/* The hook through which batch norm is synchronised across processes
 * (clnet_dist_set_sync_bn, clnet/dist.h), as clnet_parallel_set_sync_bn
 * synchronises it across the replicas of one process. */
typedef struct clnet_bn_exchange {
    /* Called by every training-mode batch norm of the net, on the thread
     * running its forward or backward pass, twice per layer and step: must
     * replace values[0..count) with their element-wise sum over every
     * process of the job (each calls it at the same points with the same
     * count). A non-OK status ends the pass with it. */
    clnet_status (*sum)(void *user, double *values, size_t count);
    void *user;
} clnet_bn_exchange;

/* Installs `ex` (copied) on the net, or removes it (ex NULL). While it is
 * installed, a training-mode batch norm normalises with the statistics of
 * the global batch: its per-channel count, sum and sum of squares over this
 * process's images are summed through ex->sum (and the running statistics
 * updated from the global ones), and its backward pass sums the per-channel
 * sums of dy and dy * xhat (weighted by the processes' images) likewise
 * before the input gradient. Not saved or copied into replicas; not for a
 * net in a clnet_parallel group (whose replicas would each call it). Errors:
 * CLNET_ERR_INVALID_ARGUMENT (net NULL, ex->sum NULL). */
clnet_status clnet_net_set_bn_exchange(clnet_net *net, const clnet_bn_exchange *ex);

/* Number of gradient tensors of layer `id`: its trainable parameters (0 for
 * a layer without, a bad id or a NULL net). */
int clnet_net_grad_count(const clnet_net *net, int id);

/* Gradient tensor i (0 <= i < clnet_net_grad_count) of layer `id`, owned by
 * the bound net (valid until it is unbound, rebound or freed), or NULL for
 * a bad index or an unbound net. Read and write it with clnet_tensor_read
 * and clnet_tensor_write: after clnet_net_backward it holds the gradient
 * clnet_net_step applies. */
clnet_tensor *clnet_net_grad(clnet_net *net, int id, int i);

#ifdef __cplusplus
}
#endif
#endif
