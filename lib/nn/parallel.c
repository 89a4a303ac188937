/* parallel.c - data-parallel training in one process (clnet/parallel.h): a
 * replica of the net per device, each batch split across them, gradients
 * summed on the host with each replica's weighted by its share of the
 * batch, the same optimizer step on every replica. */
#include "clnet/parallel.h"
#include "nn/nn_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One parameter the replicas keep equal, at `offset` floats into the flat
 * host buffers. */
typedef struct par_slot {
    int layer, param;
    size_t offset;
} par_slot;

struct clnet_parallel {
    clnet_net **nets;              /* nets[0] is the caller's */
    clnet_device **devs;
    char (*names)[160];            /* "index (name)" of each device, for messages */
    double *bound;                 /* bound[i]: sum of the weights of replicas before i;
                                      bound[ndevs] = the total */
    int ndevs, max_batch;
    bool mixed;                    /* devices of more than one kind or name: their optimizer
                                      steps may round differently, so replica 0's weights are
                                      copied to the others after every step */
    par_slot *grads, *stats;       /* trainable parameters; batch-norm running statistics */
    int ngrads, nstats;
    size_t grad_floats, stat_floats;
    float **host;                  /* host[r]: replica r's values, flat (slot offsets), sized
                                      for the larger of the two sets */
    float *result;                 /* the weighted sum, written to every replica */
    bool sync_bn;                  /* batch statistics over the global batch (sync_bn.c) */
    float *bn_host;                /* its host scratch (nn_sync_bn_host_floats) */
    int *counts;                   /* images of the current batch per replica */
    int64_t steps;
    double compute_ms, allreduce_ms, step_ms;
};

static clnet_ctx *par_ctx(const clnet_parallel *par)
{
    return par->nets[0]->ctx;
}

/* Records the replica's last error on the group's context, prefixed with
 * the replica and its device. */
static clnet_status replica_fail(clnet_parallel *par, int i, clnet_status st, const char *stage)
{
    char detail[4096];
    snprintf(detail, sizeof detail, "%s", clnet_last_error(par->nets[i]->ctx));
    return clnet_fail(par_ctx(par), st, "parallel %s: replica %d (device %s): %s", stage, i,
                      par->names[i], detail);
}

/* First image of replica i's slice of a batch of n: consecutive slices in
 * proportion to the weights. Monotone in i, and 0 and n at the ends. */
static int slice_start(const clnet_parallel *par, int n, int i)
{
    if (i >= par->ndevs)
        return n;
    return (int)floor((double)n * par->bound[i] / par->bound[par->ndevs]);
}

int clnet_parallel_share(const clnet_parallel *par, int n, int i)
{
    if (!par || i < 0 || i >= par->ndevs || n < 1)
        return 0;
    return slice_start(par, n, i + 1) - slice_start(par, n, i);
}

int clnet_parallel_count(const clnet_parallel *par)
{
    return par ? par->ndevs : 0;
}

clnet_net *clnet_parallel_replica(const clnet_parallel *par, int i)
{
    return par && i >= 0 && i < par->ndevs ? par->nets[i] : NULL;
}

int nn_parallel_max_batch(const clnet_parallel *par)
{
    return par->max_batch;
}

void clnet_parallel_timing(const clnet_parallel *par, int64_t *steps, double *compute_ms,
                           double *allreduce_ms, double *step_ms)
{
    if (steps)
        *steps = par ? par->steps : 0;
    if (compute_ms)
        *compute_ms = par ? par->compute_ms : 0.0;
    if (allreduce_ms)
        *allreduce_ms = par ? par->allreduce_ms : 0.0;
    if (step_ms)
        *step_ms = par ? par->step_ms : 0.0;
}

void clnet_parallel_free(clnet_parallel *par)
{
    if (!par)
        return;
    for (int i = 1; par->nets && i < par->ndevs; i++)
        clnet_net_free(par->nets[i]);
    free(par->nets);
    free(par->devs);
    free(par->names);
    free(par->bound);
    free(par->grads);
    free(par->stats);
    for (int r = 0; par->host && r < par->ndevs; r++)
        free(par->host[r]);
    free(par->host);
    free(par->result);
    free(par->bn_host);
    free(par->counts);
    free(par);
}

/* ---- creation ---- */

static clnet_status check_args(clnet_ctx *ctx, clnet_device *const *devs, int ndevs,
                               const float *weights, int max_batch)
{
    const char *what = "clnet_parallel_new";
    if (ndevs < 1)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: %d devices (at least 1)", what,
                          ndevs);
    if (max_batch < 1)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: max_batch %d (must be >= 1)",
                          what, max_batch);
    for (int i = 0; i < ndevs; i++) {
        if (!devs[i])
            return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: device %d is NULL", what, i);
        clnet_device_info a;
        clnet_device_info_get(devs[i], &a);
        for (int j = 0; j < i; j++)
            if (devs[j] == devs[i])
                return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: device %d (%s) is "
                                  "listed twice, as devices %d and %d: a replica per device",
                                  what, a.index, a.name, j, i);
        if (weights && !(weights[i] > 0.0f && isfinite(weights[i])))
            return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: weight %g of device %d "
                              "(%s) is not a finite value > 0", what, (double)weights[i],
                              a.index, a.name);
    }
    return CLNET_OK;
}

/* The per-device bookkeeping and the slices: every replica must get an
 * image of a full batch, and is bound for the largest slice it can get. */
static clnet_status plan_slices(clnet_parallel *par, const float *weights, int *replica_batch)
{
    bool equal = true;
    par->bound[0] = 0.0;
    for (int i = 0; i < par->ndevs; i++) {
        par->bound[i + 1] = par->bound[i] + (weights ? (double)weights[i] : 1.0);
        equal = equal && (!weights || weights[i] == weights[0]);
    }
    for (int i = 0; i < par->ndevs; i++) {
        if (clnet_parallel_share(par, par->max_batch, i) < 1)
            return clnet_fail(par_ctx(par), CLNET_ERR_INVALID_ARGUMENT,
                              "clnet_parallel_new: a batch of %d images leaves device %s "
                              "(replica %d of %d) none: the batch must have at least one "
                              "image per device%s", par->max_batch, par->names[i], i,
                              par->ndevs, equal ? "" : " in proportion to the weights");
        replica_batch[i] = 1;
        for (int n = 1; n <= par->max_batch; n++) {
            int s = clnet_parallel_share(par, n, i);
            replica_batch[i] = s > replica_batch[i] ? s : replica_batch[i];
        }
    }
    return CLNET_OK;
}

/* The flat layout of the trainable parameters and of the running
 * statistics, and the host buffers the all-reduce works in. */
static clnet_status plan_buffers(clnet_parallel *par)
{
    const clnet_net *net = par->nets[0];
    int total = 0;
    for (int i = 0; i < net->nlayers; i++)
        total += net->layers[i].nparams;
    par->grads = calloc((size_t)total + 1, sizeof *par->grads);
    par->stats = calloc((size_t)total + 1, sizeof *par->stats);
    if (!par->grads || !par->stats)
        return clnet_fail(par_ctx(par), CLNET_ERR_HOST_MEMORY, "clnet_parallel_new: no memory");
    for (int i = 0; i < net->nlayers; i++)
        for (int j = 0; j < net->layers[i].nparams; j++) {
            const nn_param *p = &net->layers[i].params[j];
            size_t numel = (size_t)nn_numel(&p->shape);
            if (p->trainable) {
                par->grads[par->ngrads++] = (par_slot){i, j, par->grad_floats};
                par->grad_floats += numel;
            } else {
                par->stats[par->nstats++] = (par_slot){i, j, par->stat_floats};
                par->stat_floats += numel;
            }
        }
    size_t most = par->grad_floats > par->stat_floats ? par->grad_floats : par->stat_floats;
    /* read_loss reads a replica's per-image losses into host[0] too: a tiny
     * net can have fewer parameters than a batch has images */
    if ((size_t)par->max_batch > most)
        most = (size_t)par->max_batch;
    /* zeroed: the ranges of frozen layers are summed but never read */
    par->host = calloc((size_t)par->ndevs, sizeof *par->host);
    bool allocated = par->host != NULL;
    for (int r = 0; allocated && r < par->ndevs; r++) {
        par->host[r] = calloc(most + 1, sizeof *par->host[r]);
        allocated = par->host[r] != NULL;
    }
    par->result = malloc((most + 1) * sizeof *par->result);
    if (!allocated || !par->result)
        return clnet_fail(par_ctx(par), CLNET_ERR_HOST_MEMORY, "clnet_parallel_new: no memory "
                          "for %d x %zu floats of gradients", par->ndevs, most);
    return CLNET_OK;
}

/* Binds replica 0 (the caller's net, unbound with its values on the host)
 * and a copy of it on every other device. */
static clnet_status bind_replicas(clnet_parallel *par, const int *replica_batch, clnet_init init,
                                  uint64_t seed)
{
    clnet_net *net = par->nets[0];
    clnet_status st = CLNET_OK;
    for (int i = 1; st == CLNET_OK && i < par->ndevs; i++)
        st = nn_net_copy(net, &par->nets[i]);
    for (int i = 0; st == CLNET_OK && i < par->ndevs; i++) {
        st = clnet_net_bind(par->nets[i], par->devs[i], replica_batch[i], init, seed);
        if (st != CLNET_OK)
            return replica_fail(par, i, st, "bind");
        /* each replica draws its own dropout masks, not its neighbour's */
        par->nets[i]->seed = i == 0 ? seed : nn_mix64(seed ^ nn_mix64((uint64_t)i));
    }
    return st;
}

clnet_status clnet_parallel_new(clnet_net *net, clnet_device *const *devs, int ndevs,
                                const float *weights, int max_batch, clnet_init init,
                                uint64_t seed, clnet_parallel **out)
{
    clnet_error_clear(net ? net->ctx : NULL);
    if (out)
        *out = NULL;
    if (!net || !devs || !out)
        return clnet_fail(net ? net->ctx : NULL, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_parallel_new: NULL argument");
    clnet_status st = check_args(net->ctx, devs, ndevs, weights, max_batch);
    if (st != CLNET_OK)
        return st;
    clnet_parallel *par = calloc(1, sizeof *par);
    if (par) {
        par->nets = calloc((size_t)ndevs, sizeof *par->nets);
        par->devs = malloc((size_t)ndevs * sizeof *par->devs);
        par->names = calloc((size_t)ndevs, sizeof *par->names);
        par->bound = malloc(((size_t)ndevs + 1) * sizeof *par->bound);
    }
    int *replica_batch = malloc((size_t)ndevs * sizeof *replica_batch);
    if (!par || !par->nets || !par->devs || !par->names || !par->bound || !replica_batch) {
        free(replica_batch);
        clnet_parallel_free(par);
        return clnet_fail(net->ctx, CLNET_ERR_HOST_MEMORY, "clnet_parallel_new: no memory");
    }
    par->nets[0] = net;
    par->ndevs = ndevs;
    par->max_batch = max_batch;
    clnet_device_info first;
    clnet_device_info_get(devs[0], &first);
    for (int i = 0; i < ndevs; i++) {
        clnet_device_info info;
        par->devs[i] = devs[i];
        clnet_device_info_get(devs[i], &info);
        snprintf(par->names[i], sizeof par->names[i], "%d (%s)", info.index, info.name);
        par->mixed = par->mixed || info.kind != first.kind || strcmp(info.name, first.name);
    }
    st = plan_slices(par, weights, replica_batch);
    /* the values move to the host once, are initialised there if new, and
     * every replica is bound from the same copy */
    if (st == CLNET_OK && net->dev)
        st = nn_unbind(net);
    if (st == CLNET_OK)
        st = nn_init_params(net, init, seed);
    if (st == CLNET_OK)
        st = bind_replicas(par, replica_batch, init, seed);
    if (st == CLNET_OK)
        st = plan_buffers(par);
    free(replica_batch);
    if (st != CLNET_OK) {
        clnet_parallel_free(par);
        return st;
    }
    *out = par;
    return CLNET_OK;
}

/* ---- one step ---- */

/* The caller may change the net's settings between steps (loss, freezing,
 * layer modes, normalisation): the replicas follow replica 0. */
static clnet_status follow_settings(clnet_parallel *par)
{
    const clnet_net *net = par->nets[0];
    if (net->dev != par->devs[0] || net->nlayers != par->nets[par->ndevs - 1]->nlayers)
        return clnet_fail(par_ctx(par), CLNET_ERR_INVALID_ARGUMENT, "parallel step: replica 0 "
                          "was rebound, unbound or truncated after clnet_parallel_new; make a "
                          "new group");
    int c = (int)net->layers[0].out.dim[0];
    for (int r = 1; r < par->ndevs; r++) {
        clnet_net *rep = par->nets[r];
        for (int i = 0; i < net->nlayers; i++) {
            rep->layers[i].frozen = net->layers[i].frozen;
            rep->layers[i].mode = net->layers[i].mode;
        }
        rep->loss = net->loss;
        rep->label_smoothing = net->label_smoothing;
        rep->mmi_j = net->mmi_j;
        rep->no_fusion = net->no_fusion;
        bool same = !net->norm == !rep->norm &&
                    (!net->norm || !memcmp(net->norm, rep->norm, 2 * (size_t)c * sizeof(float)));
        clnet_status st = same ? CLNET_OK
                               : clnet_net_set_input_norm(rep, net->norm,
                                                          net->norm ? net->norm + c : NULL);
        if (st != CLNET_OK)
            return replica_fail(par, r, st, "step");
    }
    return CLNET_OK;
}

/* Waits for the queued transfers of every replica (of those with images
 * when n > 0). */
static clnet_status wait_replicas(clnet_parallel *par, int n)
{
    for (int r = 0; r < par->ndevs; r++) {
        if (n > 0 && clnet_parallel_share(par, n, r) == 0)
            continue;
        clnet_status st = clnet_device_synchronize(par->devs[r]);
        if (st != CLNET_OK)
            return replica_fail(par, r, st, "all-reduce");
    }
    return CLNET_OK;
}

clnet_status clnet_parallel_set_sync_bn(clnet_parallel *par, bool on)
{
    if (!par)
        return CLNET_ERR_INVALID_ARGUMENT;
    clnet_error_clear(par_ctx(par));
    if (on && !par->bn_host) {
        size_t floats = nn_sync_bn_host_floats(par->nets[0], par->ndevs);
        par->bn_host = malloc((floats ? floats : 1) * sizeof *par->bn_host);
        par->counts = malloc((size_t)par->ndevs * sizeof *par->counts);
        if (!par->bn_host || !par->counts) {
            free(par->bn_host);
            free(par->counts);
            par->bn_host = NULL;
            par->counts = NULL;
            return clnet_fail(par_ctx(par), CLNET_ERR_HOST_MEMORY, "clnet_parallel_set_sync_bn: "
                              "no memory");
        }
    }
    par->sync_bn = on;
    return CLNET_OK;
}

/* The forward pass of synchronised batch norm: the replicas run layer by
 * layer, and before a training batch norm their statistics meet. */
static clnet_status lockstep_forward(clnet_parallel *par, const float *x, int n,
                                     bool normalised)
{
    const clnet_net *net = par->nets[0];
    int64_t image = nn_numel(&net->layers[0].out);
    for (int i = 0; i < par->ndevs; i++) {
        par->counts[i] = clnet_parallel_share(par, n, i);
        clnet_status st = par->counts[i] == 0 ? CLNET_OK
                        : nn_forward_begin(par->nets[i], x + (size_t)slice_start(par, n, i) * image,
                                           par->counts[i], normalised);
        if (st != CLNET_OK)
            return replica_fail(par, i, st, "forward");
    }
    for (int id = 1; id < net->nlayers; id++) {
        bool sync = nn_sync_bn_layer(net, id);
        if (sync) {
            clnet_status st = nn_sync_bn_forward(par->nets, par->counts, par->ndevs, id,
                                                 par->bn_host);
            if (st != CLNET_OK)
                return nn_wrap(par_ctx(par), st, "parallel synchronised batch norm, forward");
        }
        for (int i = 0; i < par->ndevs; i++) {
            if (par->counts[i] == 0)
                continue;
            par->nets[i]->bn_stats_given = sync;
            clnet_status st = nn_forward_layer(par->nets[i], id);
            par->nets[i]->bn_stats_given = false;
            if (st != CLNET_OK)
                return replica_fail(par, i, st, "forward");
        }
    }
    for (int i = 0; i < par->ndevs; i++)
        if (par->counts[i] > 0)
            nn_forward_end(par->nets[i], par->counts[i]);
    return CLNET_OK;
}

/* Its backward pass, layer by layer likewise: after a training batch norm
 * the replicas' sums of dy and dy * xhat meet. */
static clnet_status lockstep_backward(clnet_parallel *par, const int32_t *labels,
                                      const float *targets, int n)
{
    const clnet_net *net = par->nets[0];
    int64_t k = nn_numel(&net->layers[nn_loss_layer(net)].out);
    for (int i = 0; i < par->ndevs; i++) {
        int first = slice_start(par, n, i);
        clnet_status st = par->counts[i] == 0 ? CLNET_OK
                        : nn_backward_begin(par->nets[i], labels ? labels + first : NULL,
                                            targets ? targets + (size_t)first * k : NULL);
        if (st != CLNET_OK)
            return replica_fail(par, i, st, "backward");
    }
    for (int id = net->nlayers - 1; id > 0; id--) {
        for (int i = 0; i < par->ndevs; i++) {
            clnet_status st = par->counts[i] == 0 ? CLNET_OK
                                                  : nn_backward_layer(par->nets[i], id);
            if (st != CLNET_OK)
                return replica_fail(par, i, st, "backward");
        }
        if (nn_sync_bn_layer(net, id)) {
            clnet_status st = nn_sync_bn_backward(par->nets, par->counts, par->ndevs, id,
                                                  par->bn_host);
            if (st != CLNET_OK)
                return nn_wrap(par_ctx(par), st, "parallel synchronised batch norm, backward");
        }
    }
    for (int i = 0; i < par->ndevs; i++) {
        clnet_status st = par->counts[i] == 0 ? CLNET_OK : nn_backward_end(par->nets[i], NULL);
        if (st != CLNET_OK)
            return replica_fail(par, i, st, "backward");
    }
    return CLNET_OK;
}

/* Forward and backward of every replica's slice, all queued before any
 * waits, so that the devices work at the same time. */
static clnet_status run_slices(clnet_parallel *par, const float *x, const int32_t *labels,
                               const float *targets, int n, bool normalised)
{
    if (par->sync_bn) {
        clnet_status st = lockstep_forward(par, x, n, normalised);
        if (st == CLNET_OK)
            st = lockstep_backward(par, labels, targets, n);
        return st == CLNET_OK ? wait_replicas(par, n) : st;
    }
    const clnet_net *net = par->nets[0];
    int64_t image = nn_numel(&net->layers[0].out);
    int64_t k = nn_numel(&net->layers[nn_loss_layer(net)].out);
    for (int i = 0; i < par->ndevs; i++) {
        int first = slice_start(par, n, i), count = clnet_parallel_share(par, n, i);
        if (count == 0)
            continue;
        clnet_status st = nn_forward(par->nets[i], x + (size_t)first * image, count,
                                     normalised);
        if (st != CLNET_OK)
            return replica_fail(par, i, st, "forward");
    }
    for (int i = 0; i < par->ndevs; i++) {
        int first = slice_start(par, n, i);
        if (clnet_parallel_share(par, n, i) == 0)
            continue;
        clnet_status st = clnet_net_backward(par->nets[i], labels ? labels + first : NULL,
                                             targets ? targets + (size_t)first * k : NULL, NULL);
        if (st != CLNET_OK)
            return replica_fail(par, i, st, "backward");
    }
    for (int i = 0; i < par->ndevs; i++) {
        clnet_status st = clnet_device_synchronize(par->devs[i]);
        if (st != CLNET_OK)
            return replica_fail(par, i, st, "backward");
    }
    return CLNET_OK;
}

static clnet_tensor *slot_tensor(clnet_net *net, const par_slot *s, bool grad)
{
    nn_param *p = &net->layers[s->layer].params[s->param];
    return grad ? p->grad : p->value;
}

/* sum = share * x (first) or sum += share * x: one pass the compiler
 * vectorises. */
static void add_scaled(float *restrict sum, const float *restrict x, size_t n, float share,
                       bool first)
{
    if (first)
        for (size_t e = 0; e < n; e++)
            sum[e] = share * x[e];
    else
        for (size_t e = 0; e < n; e++)
            sum[e] += share * x[e];
}

/* A transfer could not be queued: the ones queued before it still write
 * into the group's host buffers, so they are waited for before the error
 * returns (and the caller may free the group). */
static clnet_status queue_fail(clnet_parallel *par, int r, clnet_status st)
{
    char detail[4096];
    snprintf(detail, sizeof detail, "%s", clnet_last_error(par->nets[r]->ctx));
    for (int i = 0; i < par->ndevs; i++)
        (void)clnet_device_synchronize(par->devs[i]);
    return clnet_fail(par_ctx(par), st, "parallel all-reduce: replica %d (device %s): %s", r,
                      par->names[r], detail);
}

/* The all-reduce of one set of slots (gradients or running statistics):
 * sum over the replicas that had images of (their share) * (their values),
 * written back to every replica. Each replica's values land in its own flat
 * host buffer with every read queued before one wait per device, and the
 * sum goes back with the writes queued likewise: a transfer per tensor
 * costs its copy, not a round trip. Frozen layers' gradients are left
 * alone: nothing computed them and no step reads them. */
static clnet_status reduce(clnet_parallel *par, const par_slot *slots, int nslots, size_t floats,
                           bool grad, int n)
{
    if (nslots == 0)
        return CLNET_OK;
    for (int r = 0; r < par->ndevs; r++) {
        if (clnet_parallel_share(par, n, r) == 0)
            continue;
        for (int s = 0; s < nslots; s++) {
            const par_slot *slot = &slots[s];
            const nn_layer *l = &par->nets[r]->layers[slot->layer];
            if (grad && l->frozen)
                continue;
            size_t numel = (size_t)nn_numel(&l->params[slot->param].shape);
            clnet_status st = clnet_tensor_read_nowait(slot_tensor(par->nets[r], slot, grad),
                                                       par->host[r] + slot->offset,
                                                       numel * sizeof(float));
            if (st != CLNET_OK)
                return queue_fail(par, r, st);
        }
    }
    clnet_status st = wait_replicas(par, n);
    if (st != CLNET_OK)
        return st;
    bool first = true;
    for (int r = 0; r < par->ndevs; r++) {
        int count = clnet_parallel_share(par, n, r);
        if (count == 0)
            continue;
        add_scaled(par->result, par->host[r], floats, (float)((double)count / (double)n), first);
        first = false;
    }
    for (int r = 0; r < par->ndevs; r++)
        for (int s = 0; s < nslots; s++) {
            const par_slot *slot = &slots[s];
            const nn_layer *l = &par->nets[r]->layers[slot->layer];
            if (grad && l->frozen)
                continue;
            size_t numel = (size_t)nn_numel(&l->params[slot->param].shape);
            st = clnet_tensor_write_nowait(slot_tensor(par->nets[r], slot, grad),
                                           par->result + slot->offset, numel * sizeof(float));
            if (st != CLNET_OK)
                return queue_fail(par, r, st);
            if (!grad)
                par->nets[r]->param_version++;
        }
    /* par->result must stay as it is until every write has run */
    return wait_replicas(par, 0);
}

/* The mean over the whole batch of the per-image losses the replicas'
 * backward passes left on their devices. */
static clnet_status read_loss(clnet_parallel *par, int n, float *loss)
{
    double sum = 0.0;
    for (int r = 0; r < par->ndevs; r++) {
        int count = clnet_parallel_share(par, n, r);
        if (count == 0)
            continue;
        clnet_tensor *values = NULL;
        clnet_status st = clnet_tensor_slice(par->nets[r]->loss_values, 0, 0, count, &values);
        if (st == CLNET_OK)
            st = clnet_tensor_read(values, par->host[0], (size_t)count * sizeof(float));
        clnet_tensor_free(values);
        if (st != CLNET_OK)
            return replica_fail(par, r, st, "loss");
        for (int i = 0; i < count; i++)
            sum += par->host[0][i];
    }
    *loss = (float)(sum / n);
    return CLNET_OK;
}

/* Replica 0's trainable parameters to every other replica (a mixed group,
 * after each step). */
static clnet_status broadcast_weights(clnet_parallel *par)
{
    for (int s = 0; s < par->ngrads; s++) {
        const par_slot *slot = &par->grads[s];
        const nn_layer *l = &par->nets[0]->layers[slot->layer];
        if (l->frozen)
            continue;
        size_t bytes = (size_t)nn_numel(&l->params[slot->param].shape) * sizeof(float);
        clnet_status st = clnet_tensor_read(slot_tensor(par->nets[0], slot, false),
                                            par->host[0], bytes);
        if (st != CLNET_OK)
            return replica_fail(par, 0, st, "weight broadcast");
        for (int r = 1; r < par->ndevs; r++) {
            st = clnet_tensor_write(slot_tensor(par->nets[r], slot, false), par->host[0], bytes);
            if (st != CLNET_OK)
                return replica_fail(par, r, st, "weight broadcast");
            par->nets[r]->param_version++;
        }
    }
    return CLNET_OK;
}

static clnet_status step_and_read(clnet_parallel *par, int n, const clnet_optimizer *opt,
                                  float lr, float *loss, float *out)
{
    const clnet_net *net = par->nets[0];
    int64_t k = nn_numel(&net->layers[net->nlayers - 1].out);
    for (int r = 0; r < par->ndevs; r++) {
        clnet_status st = clnet_net_step(par->nets[r], opt, lr);
        if (st != CLNET_OK)
            return replica_fail(par, r, st, "step");
    }
    if (par->mixed) {
        clnet_status st = broadcast_weights(par);
        if (st != CLNET_OK)
            return st;
    }
    for (int r = 0; out && r < par->ndevs; r++) {
        int count = clnet_parallel_share(par, n, r);
        clnet_status st = count == 0 ? CLNET_OK
                        : clnet_net_read_output(par->nets[r],
                                                out + (size_t)slice_start(par, n, r) * k,
                                                (size_t)count * (size_t)k);
        if (st != CLNET_OK)
            return replica_fail(par, r, st, "output");
    }
    return loss ? read_loss(par, n, loss) : CLNET_OK;
}

clnet_status clnet_parallel_step(clnet_parallel *par, const float *x, const int32_t *labels,
                                 const float *targets, int n, const clnet_optimizer *opt,
                                 float lr, float *loss, float *out)
{
    return nn_parallel_step(par, x, labels, targets, n, opt, lr, loss, out, false);
}

clnet_status nn_parallel_step(clnet_parallel *par, const float *x, const int32_t *labels,
                              const float *targets, int n, const clnet_optimizer *opt, float lr,
                              float *loss, float *out, bool normalised)
{
    clnet_error_clear(par ? par_ctx(par) : NULL);
    if (!par || !x || !opt)
        return clnet_fail(par ? par_ctx(par) : NULL, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_parallel_step: NULL argument");
    if (n < 1 || n > par->max_batch)
        return clnet_fail(par_ctx(par), CLNET_ERR_INVALID_ARGUMENT, "clnet_parallel_step: %d "
                          "images (the group was made for 1..%d)", n, par->max_batch);
    clnet_status st = nn_check_optimizer(par_ctx(par), "clnet_parallel_step", opt);
    /* each replica would estimate its own gradient from its slice */
    if (st == CLNET_OK && opt->es)
        st = clnet_fail(par_ctx(par), CLNET_ERR_INVALID_ARGUMENT, "clnet_parallel_step: the "
                        "es optimizer (opt->es) trains on one device, not across replicas");
    if (st == CLNET_OK)
        st = follow_settings(par);
    if (st != CLNET_OK)
        return st;
    bool was_training = par->nets[0]->training;
    for (int r = 0; r < par->ndevs; r++)
        par->nets[r]->training = true;
    double t0 = clnet_now_ms();
    st = run_slices(par, x, labels, targets, n, normalised);
    double t1 = clnet_now_ms();
    if (st == CLNET_OK)
        st = reduce(par, par->grads, par->ngrads, par->grad_floats, true, n);
    /* synchronised batch norm left the same running statistics everywhere */
    if (st == CLNET_OK && !par->sync_bn)
        st = reduce(par, par->stats, par->nstats, par->stat_floats, false, n);
    double t2 = clnet_now_ms();
    if (st == CLNET_OK)
        st = step_and_read(par, n, opt, lr, loss, out);
    for (int r = 0; r < par->ndevs; r++)
        par->nets[r]->training = was_training;
    if (st == CLNET_OK) {
        par->steps++;
        par->compute_ms += t1 - t0;
        par->allreduce_ms += t2 - t1;
        par->step_ms += clnet_now_ms() - t2;
    }
    return st;
}

/* ---- an epoch ---- */

clnet_status clnet_parallel_train_epoch(clnet_parallel *par, const clnet_dataset *ds,
                                        const clnet_train_opts *opts,
                                        const clnet_optimizer *opt, clnet_eval *stats)
{
    if (!par)
        return CLNET_ERR_INVALID_ARGUMENT;
    clnet_net *net = par->nets[0];
    /* clnet_net_train_epoch runs each batch through clnet_parallel_step
     * while the net points at its group */
    net->parallel = par;
    clnet_status st = clnet_net_train_epoch(net, ds, opts, opt, stats);
    net->parallel = NULL;
    return st;
}
