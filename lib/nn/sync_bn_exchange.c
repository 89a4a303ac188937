/* sync_bn_exchange.c - synchronised batch norm across processes: each
 * process's per-channel sums go through the net's bn_exchange hook (an
 * all-reduce), and the batch norm then uses the global batch's statistics
 * and gradient sums, with the same arithmetic as sync_bn.c's replicas. */
#include "clnet/parallel.h"
#include "nn/nn_internal.h"

#include <math.h>
#include <stdlib.h>

clnet_status clnet_net_set_bn_exchange(clnet_net *net, const clnet_bn_exchange *ex)
{
    clnet_error_clear(net ? net->ctx : NULL);
    if (!net)
        return CLNET_ERR_INVALID_ARGUMENT;
    if (ex && !ex->sum)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_net_set_bn_exchange: the sum hook is NULL");
    net->bn_exchange = ex ? *ex : (clnet_bn_exchange){0};
    return CLNET_OK;
}

/* Host scratch for one layer of c channels: 2c + 1 doubles to sum, 4c
 * floats. A few kilobytes per batch norm and step, small beside the
 * all-reduce's round trip. */
typedef struct scratch {
    double *sums;
    float *f;
} scratch;

static clnet_status scratch_new(clnet_net *net, int64_t c, scratch *s)
{
    s->sums = malloc((2 * (size_t)c + 1) * sizeof *s->sums);
    s->f = malloc(4 * (size_t)c * sizeof *s->f);
    if (s->sums && s->f)
        return CLNET_OK;
    free(s->sums);
    free(s->f);
    return clnet_fail(net->ctx, CLNET_ERR_HOST_MEMORY, "synchronised batch norm: no memory "
                      "for %lld channels", (long long)c);
}

static void scratch_free(scratch *s)
{
    free(s->sums);
    free(s->f);
}

static clnet_status sum_over_processes(clnet_net *net, nn_layer *l, double *values,
                                       size_t count)
{
    clnet_status st = net->bn_exchange.sum(net->bn_exchange.user, values, count);
    return st == CLNET_OK ? st : nn_wrap(net->ctx, st, "synchronised batch norm %s",
                                         l->spec.name);
}

clnet_status nn_sync_bn_sum_stats(clnet_net *net, nn_layer *l)
{
    const int64_t c = l->params[0].shape.dim[0], spatial = nn_numel(&l->out) / c;
    const size_t bytes = (size_t)c * sizeof(float);
    scratch s;
    clnet_status st = scratch_new(net, c, &s);
    if (st != CLNET_OK)
        return st;
    float *mean = s.f, *var = mean + c, *run_mean = var + c, *run_var = run_mean + c;
    st = clnet_tensor_read(l->batch_mean, mean, bytes);
    if (st == CLNET_OK)
        st = clnet_tensor_read(l->batch_var, var, bytes);
    if (st == CLNET_OK)
        st = clnet_tensor_read(l->params[2].value, run_mean, bytes);
    if (st == CLNET_OK)
        st = clnet_tensor_read(l->params[3].value, run_var, bytes);
    /* count, sums and sums of squares, as SyncBatchNorm gathers them */
    const double m = (double)net->batch_n * (double)spatial;
    for (int64_t ch = 0; ch < c; ch++) {
        s.sums[ch] = m * mean[ch];
        s.sums[c + ch] = m * ((double)var[ch] + (double)mean[ch] * mean[ch]);
    }
    s.sums[2 * c] = m;
    if (st == CLNET_OK)
        st = sum_over_processes(net, l, s.sums, 2 * (size_t)c + 1);
    const double total = s.sums[2 * c];
    const double momentum = nn_layer_op(l).u.bn.momentum;
    for (int64_t ch = 0; st == CLNET_OK && ch < c; ch++)
        nn_sync_bn_channel(s.sums[ch], s.sums[c + ch], total, momentum, &mean[ch], &var[ch],
                           &run_mean[ch], &run_var[ch]);
    if (st == CLNET_OK)
        st = clnet_tensor_write_queued(l->batch_mean, mean, bytes);
    if (st == CLNET_OK)
        st = clnet_tensor_write_queued(l->batch_var, var, bytes);
    if (st == CLNET_OK)
        st = clnet_tensor_write_queued(l->params[2].value, run_mean, bytes);
    if (st == CLNET_OK)
        st = clnet_tensor_write_queued(l->params[3].value, run_var, bytes);
    scratch_free(&s);
    return st;
}

clnet_status nn_sync_bn_sum_grads(clnet_net *net, nn_layer *l)
{
    const nn_layer *p = &net->layers[l->spec.from[0]];
    const int64_t c = l->params[0].shape.dim[0], spatial = nn_numel(&l->out) / c;
    const size_t bytes = (size_t)c * sizeof(float);
    scratch s;
    clnet_status st = scratch_new(net, c, &s);
    if (st != CLNET_OK)
        return st;
    float *dgamma = s.f, *dbeta = dgamma + c, *gamma = dbeta + c, *var = gamma + c;
    st = clnet_tensor_read(l->params[0].grad, dgamma, bytes);
    if (st == CLNET_OK)
        st = clnet_tensor_read(l->params[1].grad, dbeta, bytes);
    if (st == CLNET_OK)
        st = clnet_tensor_read(l->params[0].value, gamma, bytes);
    if (st == CLNET_OK)
        st = clnet_tensor_read(l->batch_var, var, bytes);
    /* weighted by the images: the global sums are the share-weighted sums
     * of the processes' (each process's gradient is a mean over its own
     * images), see nn_sync_bn_correct's derivation in sync_bn.c */
    const double images = (double)net->batch_n;
    for (int64_t ch = 0; ch < c; ch++) {
        s.sums[ch] = images * dgamma[ch];
        s.sums[c + ch] = images * dbeta[ch];
    }
    s.sums[2 * c] = images;
    if (st == CLNET_OK)
        st = sum_over_processes(net, l, s.sums, 2 * (size_t)c + 1);
    if (st == CLNET_OK && p->needs_grad && p->grad_written) {
        const double eps = nn_layer_op(l).u.bn.eps, m = images * (double)spatial;
        const double total = s.sums[2 * c];
        /* dgamma, dbeta become the corrections' scale and shift in place */
        for (int64_t ch = 0; ch < c; ch++) {
            double k = gamma[ch] / sqrt((double)var[ch] + eps) / m;
            dgamma[ch] = (float)(k * (dgamma[ch] - s.sums[ch] / total));
            dbeta[ch] = (float)(k * (dbeta[ch] - s.sums[c + ch] / total));
        }
        st = nn_sync_bn_correct(net, l, dgamma, dbeta);
    }
    scratch_free(&s);
    return st;
}
