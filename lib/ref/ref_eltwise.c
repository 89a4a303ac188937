/* ref_eltwise.c - reference element-wise ops: activations and their
 * gradient, dropout, binary add/mul, bias add, channel concatenation,
 * channel shuffle and (log-)softmax. */
#include <math.h>
#include <string.h>

#include "ref/ref.h"

static float *image(const clnet_tensor *t, int64_t n)
{
    return clnet_ref_f32(t) + n * t->stride[0];
}

/* The ReLU family lets NaN through (as PyTorch does) instead of clamping it
 * to a bound, so a diverging net shows up in its outputs. */
static double relu6(double v)
{
    return v < 0.0 ? 0.0 : (v > 6.0 ? 6.0 : v);
}

static double sigmoid(double v)
{
    return 1.0 / (1.0 + exp(-v));
}

/* LeCun et al. 1998's squashing A tanh(S a): A = 1.7159 and S = 2/3 make
 * f(1) = 1 and f(-1) = -1, with the steepest gain near 1 there. */
static const double LECUN_A = 1.7159, LECUN_S = 2.0 / 3.0;

/* GELU's constants: 1/sqrt(2) and the standard normal density's 1/sqrt(2 pi). */
#define GELU_SQRT1_2 0.70710678118654752440
#define GELU_INV_SQRT_2PI 0.39894228040143267794

float clnet_ref_activate(const clnet_act_params *p, float x)
{
    double v = x;
    switch (p->fn) {
    case CLNET_ACT_RELU:
        return v < 0.0 ? 0.0f : x;
    case CLNET_ACT_LEAKY_RELU:
        return v < 0.0 ? (float)((double)p->alpha * v) : x;
    case CLNET_ACT_RELU6:
        return (float)relu6(v);
    case CLNET_ACT_SIGMOID:
        return (float)sigmoid(v);
    case CLNET_ACT_TANH:
        return (float)tanh(v);
    case CLNET_ACT_SWISH:
        return (float)(v / (1.0 + exp(-v)));
    case CLNET_ACT_HARD_SWISH:
        return (float)(v * relu6(v + 3.0) / 6.0);
    case CLNET_ACT_HARD_SIGMOID:
        return (float)(relu6(v + 3.0) / 6.0);
    case CLNET_ACT_LECUN_TANH:
        return (float)(LECUN_A * tanh(LECUN_S * v));
    case CLNET_ACT_SCALE:
        return (float)((double)p->alpha * v);
    case CLNET_ACT_GELU:
        return (float)(0.5 * v * (1.0 + erf(v * GELU_SQRT1_2)));
    case CLNET_ACT_COUNT:
        break;
    }
    return NAN;
}

/* y may be x: each element is read once, before its own write. */
static void run_activation(const clnet_op *op, const clnet_tensor *x, clnet_tensor *y)
{
    int64_t numel = clnet_tensor_image_numel(x);
    for (int64_t n = 0; n < x->shape[0]; n++) {
        const float *xn = image(x, n);
        float *yn = image(y, n);
        for (int64_t i = 0; i < numel; i++)
            yn[i] = clnet_ref_activate(&op->u.act, xn[i]);
    }
}

/* f'(x). At a kink the value is the one PyTorch's backward uses (ReLU and
 * leaky ReLU: the left slope at 0; ReLU6 and hard sigmoid: 0 on the bounds;
 * hard swish: the middle piece's slope at -3 and 3), so the two agree
 * everywhere; a NaN input gives a NaN gradient rather than hiding the
 * divergence behind a 0 or 1. */
double clnet_ref_act_slope(const clnet_act_params *p, double v)
{
    if (isnan(v))
        return v;
    switch (p->fn) {
    case CLNET_ACT_RELU:
        return v > 0.0 ? 1.0 : 0.0;
    case CLNET_ACT_LEAKY_RELU:
        return v > 0.0 ? 1.0 : (double)p->alpha;
    case CLNET_ACT_RELU6:
        return v > 0.0 && v < 6.0 ? 1.0 : 0.0;
    case CLNET_ACT_SIGMOID:
        return sigmoid(v) * (1.0 - sigmoid(v));
    case CLNET_ACT_TANH:
        return 1.0 - tanh(v) * tanh(v);
    case CLNET_ACT_SWISH:
        return sigmoid(v) * (1.0 + v * (1.0 - sigmoid(v)));
    case CLNET_ACT_HARD_SWISH:
        return v < -3.0 ? 0.0 : (v <= 3.0 ? v / 3.0 + 0.5 : 1.0);
    case CLNET_ACT_HARD_SIGMOID:
        return v > -3.0 && v < 3.0 ? 1.0 / 6.0 : 0.0;
    case CLNET_ACT_LECUN_TANH:
        return LECUN_A * LECUN_S * (1.0 - tanh(LECUN_S * v) * tanh(LECUN_S * v));
    case CLNET_ACT_SCALE:
        return (double)p->alpha;
    case CLNET_ACT_GELU:
        /* Phi(x) + x phi(x) */
        return 0.5 * (1.0 + erf(v * GELU_SQRT1_2)) + v * exp(-0.5 * v * v) * GELU_INV_SQRT_2PI;
    case CLNET_ACT_COUNT:
        break;
    }
    return NAN;
}

/* dx may be dy: each element's dy is read before its dx is written. */
static void run_activation_backward(const clnet_op *op, const clnet_tensor *x,
                                    const clnet_tensor *dy, clnet_tensor *dx)
{
    int64_t numel = clnet_tensor_image_numel(x);
    for (int64_t n = 0; n < x->shape[0]; n++) {
        const float *xn = image(x, n), *dyn = image(dy, n);
        float *dxn = image(dx, n);
        for (int64_t i = 0; i < numel; i++)
            dxn[i] = (float)((double)dyn[i] * clnet_ref_act_slope(&op->u.act, xn[i]));
    }
}

/* The keep decision is indexed by the logical element number, not the
 * storage position, so a view and a dense copy drop the same elements. */
static void run_dropout(const clnet_op *op, const clnet_tensor *x, clnet_tensor *y)
{
    const clnet_dropout_params *p = &op->u.dropout;
    int64_t numel = clnet_tensor_image_numel(x);
    for (int64_t n = 0; n < x->shape[0]; n++) {
        const float *xn = image(x, n);
        float *yn = image(y, n);
        for (int64_t i = 0; i < numel; i++) {
            if (!p->training)
                yn[i] = xn[i];
            else if (clnet_dropout_keep(p->seed, (uint64_t)((p->first_image + n) * numel + i),
                                        p->p))
                yn[i] = xn[i] / (1.0f - p->p);
            else
                yn[i] = 0.0f;
        }
    }
}

/* b is either a's shape or (N, C, 1, ...): then one value per channel.
 * Rank-1 operands are images of one element, so they take the first path. */
static void run_binary(const clnet_op *op, const clnet_tensor *a, const clnet_tensor *b,
                       clnet_tensor *y)
{
    int64_t numel = clnet_tensor_image_numel(a);
    bool per_channel = clnet_tensor_image_numel(b) != numel;
    int64_t spatial = per_channel ? clnet_spatial_numel(a) : 1;
    for (int64_t n = 0; n < a->shape[0]; n++) {
        const float *an = image(a, n), *bn = image(b, n);
        float *yn = image(y, n);
        for (int64_t i = 0; i < numel; i++) {
            float bv = bn[i / spatial];
            yn[i] = op->u.binary.fn == CLNET_BINARY_ADD ? an[i] + bv : an[i] * bv;
        }
    }
}

static void run_bias_add(const clnet_tensor *x, const clnet_tensor *b, clnet_tensor *y)
{
    int64_t channels = x->shape[1], spatial = clnet_spatial_numel(x);
    const float *bias = clnet_ref_f32(b);
    for (int64_t n = 0; n < x->shape[0]; n++) {
        const float *xn = image(x, n);
        float *yn = image(y, n);
        for (int64_t c = 0; c < channels; c++)
            for (int64_t s = 0; s < spatial; s++)
                yn[c * spatial + s] = xn[c * spatial + s] + bias[c * b->stride[0]];
    }
}

/* memmove rather than memcpy: an input may already be the channel slice of
 * y it is copied to (DenseNet-style views), making source and target equal. */
static void run_concat(int nin, clnet_tensor *const *in, clnet_tensor *y)
{
    int64_t spatial = clnet_spatial_numel(y);
    for (int64_t n = 0; n < y->shape[0]; n++) {
        float *yn = image(y, n);
        for (int i = 0; i < nin; i++) {
            int64_t count = in[i]->shape[1] * spatial;
            memmove(yn, image(in[i], n), (size_t)count * sizeof(float));
            yn += count;
        }
    }
}

/* y[n, p * G + g] = x[n, g * P + p], a whole plane at a time. */
static void run_channel_shuffle(int groups, const clnet_tensor *x, clnet_tensor *y)
{
    int64_t spatial = clnet_spatial_numel(y), per = y->shape[1] / groups;
    for (int64_t n = 0; n < y->shape[0]; n++)
        for (int64_t g = 0; g < groups; g++)
            for (int64_t p = 0; p < per; p++)
                memcpy(image(y, n) + (p * groups + g) * spatial,
                       image(x, n) + (g * per + p) * spatial, (size_t)spatial * sizeof(float));
}

/* Softmax over the channels at one (n, spatial) position; stride is the
 * distance between channels. The maximum is subtracted for stability. */
static void softmax_column(bool log_softmax, const float *x, float *y, int64_t channels,
                           int64_t stride)
{
    double max = -INFINITY;
    for (int64_t c = 0; c < channels; c++)
        if (x[c * stride] > max)
            max = x[c * stride];
    double sum = 0.0;
    for (int64_t c = 0; c < channels; c++)
        sum += exp((double)x[c * stride] - max);
    double log_sum = log(sum);
    for (int64_t c = 0; c < channels; c++) {
        double shifted = (double)x[c * stride] - max;
        y[c * stride] = (float)(log_softmax ? shifted - log_sum : exp(shifted) / sum);
    }
}

static void run_softmax(const clnet_op *op, const clnet_tensor *x, clnet_tensor *y)
{
    int64_t channels = x->shape[1], spatial = clnet_spatial_numel(x);
    for (int64_t n = 0; n < x->shape[0]; n++)
        for (int64_t s = 0; s < spatial; s++)
            softmax_column(op->u.softmax.log, image(x, n) + s, image(y, n) + s, channels,
                           spatial);
}

clnet_status clnet_ref_run_eltwise(clnet_device *dev, const clnet_op *op, int nin,
                                   clnet_tensor *const *in, int nout, clnet_tensor *const *out)
{
    (void)nout;
    switch (op->kind) {
    case CLNET_OP_ACTIVATION:
        run_activation(op, in[0], out[0]);
        return CLNET_OK;
    case CLNET_OP_ACTIVATION_BACKWARD:
        run_activation_backward(op, in[0], in[1], out[0]);
        return CLNET_OK;
    case CLNET_OP_DROPOUT:
        run_dropout(op, in[0], out[0]);
        return CLNET_OK;
    case CLNET_OP_BINARY:
        run_binary(op, in[0], in[1], out[0]);
        return CLNET_OK;
    case CLNET_OP_BIAS_ADD:
        run_bias_add(in[0], in[1], out[0]);
        return CLNET_OK;
    case CLNET_OP_CONCAT:
        run_concat(nin, in, out[0]);
        return CLNET_OK;
    case CLNET_OP_CHANNEL_SHUFFLE:
        run_channel_shuffle(op->u.shuffle.groups, in[0], out[0]);
        return CLNET_OK;
    case CLNET_OP_SOFTMAX:
        run_softmax(op, in[0], out[0]);
        return CLNET_OK;
    default:
        return clnet_fail(dev->ctx, CLNET_ERR_INTERNAL, "ref: op %s is not element-wise",
                          clnet_op_kind_name(op->kind));
    }
}
