/* sync_bn.c - synchronised batch norm across the replicas of a
 * data-parallel group (as PyTorch's SyncBatchNorm): the replicas normalise
 * with the statistics of the global batch, and the input gradient uses the
 * global sums of dy and dy * xhat. The replicas run layer by layer in
 * lockstep (parallel.c); these are the exchanges at a batch norm. */
#include "nn/nn_internal.h"

#include <math.h>

bool nn_sync_bn_layer(const clnet_net *net, int id)
{
    const nn_layer *l = &net->layers[id];
    return l->spec.kind == CLNET_LAYER_BATCHNORM && nn_layer_training(net, l);
}

size_t nn_sync_bn_host_floats(const clnet_net *net, int nrep)
{
    int64_t channels = 0;
    for (int id = 1; id < net->nlayers; id++) {
        const nn_layer *l = &net->layers[id];
        if (l->spec.kind == CLNET_LAYER_BATCHNORM && l->params[0].shape.dim[0] > channels)
            channels = l->params[0].shape.dim[0];
    }
    return (size_t)channels * (2 * (size_t)nrep + 4);
}

static int64_t channels_of(const nn_layer *l)
{
    return l->params[0].shape.dim[0];
}

/* Values per channel per image: the M of a replica's slice is this times
 * its images. */
static int64_t spatial_of(const nn_layer *l)
{
    return nn_numel(&l->out) / channels_of(l);
}

/* Waits for every replica with images (every replica when all is set). */
static clnet_status wait_all(clnet_net *const *nets, const int *counts, int nrep, bool all)
{
    for (int r = 0; r < nrep; r++) {
        if (!all && counts[r] == 0)
            continue;
        clnet_status st = clnet_device_synchronize(nets[r]->dev);
        if (st != CLNET_OK)
            return st;
    }
    return CLNET_OK;
}

/* A transfer or op could not be queued: the reads queued before it still
 * write into `host`, so they are waited for before the error returns. */
static clnet_status drain(clnet_net *const *nets, const int *counts, int nrep, clnet_status st)
{
    (void)wait_all(nets, counts, nrep, false);
    return st;
}

void nn_sync_bn_channel(double sum, double sumsq, double total, double momentum, float *mean,
                        float *var, float *run_mean, float *run_var)
{
    const double unbias = total > 1.0 ? total / (total - 1.0) : 1.0;
    const double m = sum / total, v = fmax(sumsq / total - m * m, 0.0);
    *mean = (float)m;
    *var = (float)v;
    *run_mean = (float)((1.0 - momentum) * *run_mean + momentum * m);
    *run_var = (float)((1.0 - momentum) * *run_var + momentum * v * unbias);
}

static int first_active(const int *counts, int nrep)
{
    int r = 0;
    while (r < nrep - 1 && counts[r] == 0)
        r++;
    return r;
}

/* Host layout (c channels, nrep replicas): per replica two rows of c (its
 * mean and variance, or its dgamma and dbeta), then four rows of c. */
clnet_status nn_sync_bn_forward(clnet_net *const *nets, const int *counts, int nrep, int id,
                                float *host)
{
    const nn_layer *l0 = &nets[0]->layers[id];
    const int64_t c = channels_of(l0), spatial = spatial_of(l0);
    const size_t bytes = (size_t)c * sizeof(float);
    float *global_mean = host + 2 * (size_t)nrep * c, *global_var = global_mean + c;
    float *run_mean = global_var + c, *run_var = run_mean + c;
    const int src = first_active(counts, nrep);
    clnet_op stats = nn_layer_op(l0);
    stats.kind = CLNET_OP_BATCHNORM_STATS;
    for (int r = 0; r < nrep; r++) {
        if (counts[r] == 0)
            continue;
        nn_layer *l = &nets[r]->layers[id];
        clnet_tensor *x = nets[r]->layers[l->spec.from[0]].b.y;
        clnet_tensor *out[2] = {l->batch_mean, l->batch_var};
        clnet_status st = clnet_op_run(nets[r]->dev, &stats, 1, &x, 2, out);
        if (st == CLNET_OK)
            st = clnet_tensor_read_nowait(l->batch_mean, host + 2 * (size_t)r * c, bytes);
        if (st == CLNET_OK)
            st = clnet_tensor_read_nowait(l->batch_var, host + (2 * (size_t)r + 1) * c, bytes);
        /* the running statistics are the same on every replica */
        if (st == CLNET_OK && r == src)
            st = clnet_tensor_read_nowait(l->params[2].value, run_mean, bytes);
        if (st == CLNET_OK && r == src)
            st = clnet_tensor_read_nowait(l->params[3].value, run_var, bytes);
        if (st != CLNET_OK)
            return drain(nets, counts, nrep, st);
    }
    clnet_status st = wait_all(nets, counts, nrep, false);
    if (st != CLNET_OK)
        return st;
    /* sums and sums of squares over the slices, as SyncBatchNorm gathers */
    double total = 0.0;
    for (int r = 0; r < nrep; r++)
        total += (double)counts[r] * (double)spatial;
    const double momentum = stats.u.bn.momentum;
    for (int64_t ch = 0; ch < c; ch++) {
        double sum = 0.0, sumsq = 0.0;
        for (int r = 0; r < nrep; r++) {
            double m = (double)counts[r] * (double)spatial;
            double mean = host[2 * (size_t)r * c + ch], var = host[(2 * (size_t)r + 1) * c + ch];
            if (m == 0.0)
                continue;
            sum += m * mean;
            sumsq += m * (var + mean * mean);
        }
        nn_sync_bn_channel(sum, sumsq, total, momentum, &global_mean[ch], &global_var[ch],
                           &run_mean[ch], &run_var[ch]);
    }
    for (int r = 0; r < nrep; r++) {
        nn_layer *l = &nets[r]->layers[id];
        /* queued from staging copies: host may be reused at once */
        if (counts[r] > 0) {
            st = clnet_tensor_write_queued(l->batch_mean, global_mean, bytes);
            if (st == CLNET_OK)
                st = clnet_tensor_write_queued(l->batch_var, global_var, bytes);
        }
        if (st == CLNET_OK)
            st = clnet_tensor_write_queued(l->params[2].value, run_mean, bytes);
        if (st == CLNET_OK)
            st = clnet_tensor_write_queued(l->params[3].value, run_var, bytes);
        if (st != CLNET_OK)
            return st;
        nets[r]->param_version++;
    }
    return CLNET_OK;
}

static clnet_status ensure_channels(clnet_net *net, int64_t c, clnet_tensor **t)
{
    return *t ? CLNET_OK : clnet_tensor_new(net->dev, CLNET_F32, 1, &c, t);
}

/* Adds to replica r's input gradient gamma * invstd / M_r * ((dbeta_r -
 * dbeta) + xhat * (dgamma_r - dgamma)), M_r being its slice's values per
 * channel and dgamma, dbeta the global sums: what turns the gradient of
 * its local sums into that of the global ones. The replicas' gradients are
 * each scaled by the inverse of their share of the batch (their losses are
 * means over their slices), and the global sums are share-weighted sums, so
 * the two scalings cancel into 1 / M_r. The per-channel affine map of xhat
 * is a BATCHNORM op with the batch statistics and the correction as its
 * scale and shift. */
clnet_status nn_sync_bn_correct(clnet_net *net, nn_layer *l, const float *scale,
                                const float *shift)
{
    nn_layer *p = &net->layers[l->spec.from[0]];
    const int64_t c = channels_of(l);
    const size_t bytes = (size_t)c * sizeof(float);
    clnet_status st = ensure_channels(net, c, &l->sync_scale);
    if (st == CLNET_OK)
        st = ensure_channels(net, c, &l->sync_shift);
    if (st == CLNET_OK)
        st = clnet_tensor_write_queued(l->sync_scale, scale, bytes);
    if (st == CLNET_OK)
        st = clnet_tensor_write_queued(l->sync_shift, shift, bytes);
    clnet_op affine = nn_layer_op(l);
    affine.kind = CLNET_OP_BATCHNORM;
    clnet_tensor *in[5] = {p->b.y, l->batch_mean, l->batch_var, l->sync_scale, l->sync_shift};
    if (st == CLNET_OK)
        st = clnet_op_run(net->dev, &affine, 5, in, 1, &p->b.acc);
    clnet_op add = {.kind = CLNET_OP_BINARY, .u.binary.fn = CLNET_BINARY_ADD};
    if (st == CLNET_OK)
        st = clnet_op_run(net->dev, &add, 2, (clnet_tensor *[]){p->b.dy, p->b.acc}, 1, &p->b.dy);
    return st;
}

clnet_status nn_sync_bn_backward(clnet_net *const *nets, const int *counts, int nrep, int id,
                                 float *host)
{
    const nn_layer *l0 = &nets[0]->layers[id];
    const int64_t c = channels_of(l0), spatial = spatial_of(l0);
    const size_t bytes = (size_t)c * sizeof(float);
    float *gamma = host + 2 * (size_t)nrep * c, *var = gamma + c;
    float *scale = var + c, *shift = scale + c;
    const int src = first_active(counts, nrep);
    for (int r = 0; r < nrep; r++) {
        if (counts[r] == 0)
            continue;
        const nn_layer *l = &nets[r]->layers[id];
        if (!l->params[0].grad || !l->params[1].grad)
            return drain(nets, counts, nrep,
                         clnet_fail(nets[r]->ctx, CLNET_ERR_INVALID_ARGUMENT, "synchronised "
                                    "batch norm: layer %s has no gradient tensors",
                                    l->spec.name));
        clnet_status st = clnet_tensor_read_nowait(l->params[0].grad, host + 2 * (size_t)r * c,
                                                   bytes);
        if (st == CLNET_OK)
            st = clnet_tensor_read_nowait(l->params[1].grad, host + (2 * (size_t)r + 1) * c,
                                          bytes);
        if (st == CLNET_OK && r == src)
            st = clnet_tensor_read_nowait(l->params[0].value, gamma, bytes);
        if (st == CLNET_OK && r == src)
            st = clnet_tensor_read_nowait(l->batch_var, var, bytes);
        if (st != CLNET_OK)
            return drain(nets, counts, nrep, st);
    }
    clnet_status st = wait_all(nets, counts, nrep, false);
    int n = 0;
    for (int r = 0; r < nrep; r++)
        n += counts[r];
    const double eps = nn_layer_op(l0).u.bn.eps;
    for (int r = 0; st == CLNET_OK && r < nrep; r++) {
        clnet_net *net = nets[r];
        const nn_layer *p = &net->layers[net->layers[id].spec.from[0]];
        if (counts[r] == 0 || !p->needs_grad || !p->grad_written)
            continue;
        const double m = (double)counts[r] * (double)spatial;
        for (int64_t ch = 0; ch < c; ch++) {
            double dgamma = 0.0, dbeta = 0.0;
            for (int q = 0; q < nrep; q++) {
                double share = (double)counts[q] / n;
                dgamma += share * host[2 * (size_t)q * c + ch];
                dbeta += share * host[(2 * (size_t)q + 1) * c + ch];
            }
            double k = gamma[ch] / sqrt((double)var[ch] + eps) / m;
            scale[ch] = (float)(k * (host[2 * (size_t)r * c + ch] - dgamma));
            shift[ch] = (float)(k * (host[(2 * (size_t)r + 1) * c + ch] - dbeta));
        }
        st = nn_sync_bn_correct(net, &net->layers[id], scale, shift);
    }
    return st;
}
