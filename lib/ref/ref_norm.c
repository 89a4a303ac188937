/* ref_norm.c - reference batch normalisation, its batch statistics, and
 * local response normalisation across channels. */
#include <math.h>

#include "ref/ref.h"

static float *image(const clnet_tensor *t, int64_t n)
{
    return clnet_ref_f32(t) + n * t->stride[0];
}

/* Entry c of a per-channel vector of shape (C). */
static double channel_value(const clnet_tensor *v, int64_t c)
{
    return clnet_ref_f32(v)[c * v->stride[0]];
}

static void run_batchnorm(const clnet_op *op, clnet_tensor *const *in, clnet_tensor *y)
{
    const clnet_tensor *x = in[0], *mean = in[1], *var = in[2], *gamma = in[3], *beta = in[4];
    int64_t channels = x->shape[1], spatial = clnet_spatial_numel(x);
    for (int64_t c = 0; c < channels; c++) {
        double scale = channel_value(gamma, c) / sqrt(channel_value(var, c) + op->u.bn.eps);
        double m = channel_value(mean, c), shift = channel_value(beta, c);
        for (int64_t n = 0; n < x->shape[0]; n++) {
            const float *xc = image(x, n) + c * spatial;
            float *yc = image(y, n) + c * spatial;
            for (int64_t s = 0; s < spatial; s++)
                yc[s] = (float)(scale * ((double)xc[s] - m) + shift);
        }
    }
}

/* Two passes (mean, then squared deviations) rather than E[x^2] - E[x]^2,
 * which cancels badly when the mean is large. */
static void run_batchnorm_stats(const clnet_tensor *x, clnet_tensor *mean, clnet_tensor *var)
{
    int64_t channels = x->shape[1], spatial = clnet_spatial_numel(x);
    double count = (double)(x->shape[0] * spatial);
    for (int64_t c = 0; c < channels; c++) {
        double sum = 0.0;
        for (int64_t n = 0; n < x->shape[0]; n++)
            for (int64_t s = 0; s < spatial; s++)
                sum += image(x, n)[c * spatial + s];
        double m = sum / count;
        double sq = 0.0;
        for (int64_t n = 0; n < x->shape[0]; n++)
            for (int64_t s = 0; s < spatial; s++) {
                double d = image(x, n)[c * spatial + s] - m;
                sq += d * d;
            }
        clnet_ref_f32(mean)[c * mean->stride[0]] = (float)m;
        clnet_ref_f32(var)[c * var->stride[0]] = (float)(sq / count);
    }
}

/* torch.nn.LocalResponseNorm: the window of channel c runs from c - size/2
 * to c + (size-1)/2, clipped to the channels that exist, and the sum of
 * squares is divided by size whatever the clipping. */
static void run_lrn(const clnet_op *op, const clnet_tensor *x, clnet_tensor *y)
{
    const clnet_lrn_params *p = &op->u.lrn;
    int64_t channels = x->shape[1], spatial = clnet_spatial_numel(x);
    for (int64_t n = 0; n < x->shape[0]; n++) {
        const float *xn = image(x, n);
        float *yn = image(y, n);
        for (int64_t c = 0; c < channels; c++) {
            int64_t lo = c - p->size / 2, hi = c + (p->size - 1) / 2;
            lo = lo < 0 ? 0 : lo;
            hi = hi >= channels ? channels - 1 : hi;
            for (int64_t s = 0; s < spatial; s++) {
                double sq = 0.0;
                for (int64_t j = lo; j <= hi; j++) {
                    double v = xn[j * spatial + s];
                    sq += v * v;
                }
                double denom = pow((double)p->k + (double)p->alpha / p->size * sq, (double)p->beta);
                yn[c * spatial + s] = (float)(xn[c * spatial + s] / denom);
            }
        }
    }
}

clnet_status clnet_ref_run_norm(clnet_device *dev, const clnet_op *op, int nin,
                                clnet_tensor *const *in, int nout, clnet_tensor *const *out)
{
    (void)nin;
    (void)nout;
    switch (op->kind) {
    case CLNET_OP_BATCHNORM:
        run_batchnorm(op, in, out[0]);
        return CLNET_OK;
    case CLNET_OP_BATCHNORM_STATS:
        run_batchnorm_stats(in[0], out[0], out[1]);
        return CLNET_OK;
    case CLNET_OP_LRN:
        run_lrn(op, in[0], out[0]);
        return CLNET_OK;
    default:
        return clnet_fail(dev->ctx, CLNET_ERR_INTERNAL, "ref: op %s is not a normalisation",
                          clnet_op_kind_name(op->kind));
    }
}
