/* ref_norm.c - reference batch normalisation (its batch and running
 * statistics, its training-mode gradient) and local response normalisation
 * across channels with its gradient. */
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
    const clnet_tensor *r = op->u.bn.fuse_add ? in[5] : NULL;
    int64_t channels = x->shape[1], spatial = clnet_spatial_numel(x);
    for (int64_t c = 0; c < channels; c++) {
        double scale = channel_value(gamma, c) / sqrt(channel_value(var, c) + op->u.bn.eps);
        double m = channel_value(mean, c), shift = channel_value(beta, c);
        for (int64_t n = 0; n < x->shape[0]; n++) {
            const float *xc = image(x, n) + c * spatial;
            const float *rc = r ? image(r, n) + c * spatial : NULL;
            float *yc = image(y, n) + c * spatial;
            for (int64_t s = 0; s < spatial; s++) {
                yc[s] = (float)(scale * ((double)xc[s] - m) + shift);
                if (rc)
                    yc[s] += rc[s];
                if (op->u.bn.fuse_act)
                    yc[s] = clnet_ref_activate(&op->u.bn.act, yc[s]);
            }
        }
    }
}

static void set_channel(clnet_tensor *v, int64_t c, double value)
{
    clnet_ref_f32(v)[c * v->stride[0]] = (float)value;
}

/* Two passes (mean, then squared deviations) rather than E[x^2] - E[x]^2,
 * which cancels badly when the mean is large. `running` is NULL or the
 * running mean and variance, updated in place. */
static clnet_status run_batchnorm_stats(const clnet_op *op, const clnet_tensor *x,
                                        clnet_tensor *mean, clnet_tensor *var,
                                        clnet_tensor *const *running)
{
    int64_t channels = x->shape[1], spatial = clnet_spatial_numel(x);
    int64_t count = x->shape[0] * spatial;
    double momentum = op->u.bn.momentum;
    for (int64_t c = 0; c < channels; c++) {
        double sum = 0.0;
        for (int64_t n = 0; n < x->shape[0]; n++)
            for (int64_t s = 0; s < spatial; s++)
                sum += image(x, n)[c * spatial + s];
        double m = sum / (double)count;
        double sq = 0.0;
        for (int64_t n = 0; n < x->shape[0]; n++)
            for (int64_t s = 0; s < spatial; s++) {
                double d = image(x, n)[c * spatial + s] - m;
                sq += d * d;
            }
        set_channel(mean, c, m);
        set_channel(var, c, sq / (double)count);
        if (running) {
            /* ops.h: with a single value per channel the variance enters unscaled */
            double unbiased = sq / (double)(count > 1 ? count - 1 : 1);
            set_channel(running[0], c,
                        (1.0 - momentum) * channel_value(running[0], c) + momentum * m);
            set_channel(running[1], c,
                        (1.0 - momentum) * channel_value(running[1], c) + momentum * unbiased);
        }
    }
    return CLNET_OK;
}

/* Channel c's normalisation in the backward pass: its mean and 1 /
 * sqrt(var + eps), and for an activation whose slope comes from the
 * pre-activation, gamma and beta to recompute that. */
typedef struct bn_channel {
    double mean, invstd, gamma, beta;
} bn_channel;

/* The gradient that reaches the batch norm's own output at element i of
 * image n: dy, through the fused activation's slope when there is one,
 * read from its output y or computed from the pre-activation (ops.h; the
 * sixth input is y or beta). */
static double bn_dy(const clnet_op *op, const clnet_tensor *x, const clnet_tensor *dy,
                    const clnet_tensor *y, const bn_channel *ch, int64_t n, int64_t i)
{
    double d = image(dy, n)[i];
    if (!op->u.bn.fuse_act)
        return d;
    if (clnet_act_slope_from_output(&op->u.bn.act))
        return d * clnet_ref_act_slope(&op->u.bn.act, image(y, n)[i]);
    double z = ((double)image(x, n)[i] - ch->mean) * ch->invstd * ch->gamma + ch->beta;
    return d * clnet_ref_act_slope(&op->u.bn.act, z);
}

/* The training-mode gradient, x_hat = (x - mean) * invstd over M = N *
 * spatial values per channel: dbeta = sum dy, dgamma = sum dy * x_hat,
 * dx = gamma * invstd / M * (M * dy - dbeta - x_hat * dgamma); with a fused
 * residual add, dr = dy (both dy through the fused activation). */
static void run_batchnorm_backward(const clnet_op *op, clnet_tensor *const *in,
                                   clnet_tensor *const *out)
{
    const clnet_tensor *x = in[0], *dy = in[1], *mean = in[2], *var = in[3], *gamma = in[4];
    const bool beta_given = op->u.bn.fuse_act && !clnet_act_slope_from_output(&op->u.bn.act);
    const clnet_tensor *y = op->u.bn.fuse_act ? in[5] : NULL;
    clnet_tensor *dx = out[0];
    int64_t channels = x->shape[1], spatial = clnet_spatial_numel(x);
    double count = (double)(x->shape[0] * spatial);
    for (int64_t c = 0; c < channels; c++) {
        const bn_channel ch = {
            .mean = channel_value(mean, c),
            .invstd = 1.0 / sqrt(channel_value(var, c) + op->u.bn.eps),
            .gamma = channel_value(gamma, c),
            .beta = beta_given ? channel_value(in[5], c) : 0.0,
        };
        const double m = ch.mean, invstd = ch.invstd;
        double sum_dy = 0.0, sum_dy_xhat = 0.0;
        for (int64_t n = 0; n < x->shape[0]; n++)
            for (int64_t s = 0; s < spatial; s++) {
                double d = bn_dy(op, x, dy, y, &ch, n, c * spatial + s);
                sum_dy += d;
                sum_dy_xhat += d * ((double)image(x, n)[c * spatial + s] - m) * invstd;
            }
        set_channel(out[1], c, sum_dy_xhat);
        set_channel(out[2], c, sum_dy);
        double k = ch.gamma * invstd / count;
        for (int64_t n = 0; n < x->shape[0]; n++)
            for (int64_t s = 0; s < spatial; s++) {
                int64_t i = c * spatial + s;
                double xhat = ((double)image(x, n)[i] - m) * invstd;
                double d = bn_dy(op, x, dy, y, &ch, n, i);
                image(dx, n)[i] = (float)(k * (count * d - sum_dy - xhat * sum_dy_xhat));
                if (op->u.bn.fuse_add)
                    image(out[3], n)[i] = (float)d;
            }
    }
}

/* torch.nn.LocalResponseNorm: the window of channel c runs from c - size/2
 * to c + (size-1)/2, clipped to the channels that exist, and the sum of
 * squares is divided by size whatever the clipping. */
static void lrn_window(int size, int64_t c, int64_t channels, int64_t *lo, int64_t *hi)
{
    *lo = c - size / 2 < 0 ? 0 : c - size / 2;
    *hi = c + (size - 1) / 2 >= channels ? channels - 1 : c + (size - 1) / 2;
}

/* D = k + alpha/size * (sum of x^2 over c's window) at position s of an
 * image; y = x * D^-beta. */
static double lrn_base(const clnet_lrn_params *p, const float *xn, int64_t channels,
                       int64_t spatial, int64_t c, int64_t s)
{
    int64_t lo, hi;
    lrn_window(p->size, c, channels, &lo, &hi);
    double sq = 0.0;
    for (int64_t j = lo; j <= hi; j++) {
        double v = xn[j * spatial + s];
        sq += v * v;
    }
    return (double)p->k + (double)p->alpha / p->size * sq;
}

static void run_lrn(const clnet_op *op, const clnet_tensor *x, clnet_tensor *y)
{
    const clnet_lrn_params *p = &op->u.lrn;
    int64_t channels = x->shape[1], spatial = clnet_spatial_numel(x);
    for (int64_t n = 0; n < x->shape[0]; n++) {
        const float *xn = image(x, n);
        float *yn = image(y, n);
        for (int64_t c = 0; c < channels; c++)
            for (int64_t s = 0; s < spatial; s++) {
                double denom = pow(lrn_base(p, xn, channels, spatial, c, s), (double)p->beta);
                yn[c * spatial + s] = (float)(xn[c * spatial + s] / denom);
            }
    }
}

/* dx_j = dy_j * D_j^-beta - 2 * alpha * beta / size * x_j * (sum over the
 * channels c whose window holds j of dy_c * x_c * D_c^(-beta-1)); j lies in
 * c's window exactly when c runs from j - (size-1)/2 to j + size/2. */
static void run_lrn_backward(const clnet_op *op, const clnet_tensor *x, const clnet_tensor *dy,
                             clnet_tensor *dx)
{
    const clnet_lrn_params *p = &op->u.lrn;
    double beta = p->beta;
    int64_t channels = x->shape[1], spatial = clnet_spatial_numel(x);
    for (int64_t n = 0; n < x->shape[0]; n++) {
        const float *xn = image(x, n), *dyn = image(dy, n);
        float *dxn = image(dx, n);
        for (int64_t j = 0; j < channels; j++) {
            int64_t lo = j - (p->size - 1) / 2 < 0 ? 0 : j - (p->size - 1) / 2;
            int64_t hi = j + p->size / 2 >= channels ? channels - 1 : j + p->size / 2;
            for (int64_t s = 0; s < spatial; s++) {
                double cross = 0.0;
                for (int64_t c = lo; c <= hi; c++) {
                    double d = lrn_base(p, xn, channels, spatial, c, s);
                    cross += (double)dyn[c * spatial + s] * xn[c * spatial + s] *
                             pow(d, -beta - 1.0);
                }
                double d = lrn_base(p, xn, channels, spatial, j, s);
                double xj = xn[j * spatial + s];
                dxn[j * spatial + s] = (float)(dyn[j * spatial + s] * pow(d, -beta) -
                                               2.0 * (double)p->alpha * beta / p->size * xj *
                                                   cross);
            }
        }
    }
}

clnet_status clnet_ref_run_norm(clnet_device *dev, const clnet_op *op, int nin,
                                clnet_tensor *const *in, int nout, clnet_tensor *const *out)
{
    (void)nin;
    switch (op->kind) {
    case CLNET_OP_BATCHNORM:
        run_batchnorm(op, in, out[0]);
        return CLNET_OK;
    case CLNET_OP_BATCHNORM_STATS:
        return run_batchnorm_stats(op, in[0], out[0], out[1], nout > 2 ? out + 2 : NULL);
    case CLNET_OP_BATCHNORM_BACKWARD:
        run_batchnorm_backward(op, in, out);
        return CLNET_OK;
    case CLNET_OP_LRN:
        run_lrn(op, in[0], out[0]);
        return CLNET_OK;
    case CLNET_OP_LRN_BACKWARD:
        run_lrn_backward(op, in[0], in[1], out[0]);
        return CLNET_OK;
    default:
        return clnet_fail(dev->ctx, CLNET_ERR_INTERNAL, "ref: op %s is not a normalisation",
                          clnet_op_kind_name(op->kind));
    }
}
