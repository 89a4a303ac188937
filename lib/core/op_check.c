/* op_check.c - validation and shape inference of op descriptors: the one
 * place that decides whether an op is well formed and what it produces. */
#include "core/internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Everything a check needs, so each check reads as a list of rules. */
typedef struct check {
    clnet_ctx *ctx;
    const clnet_op *op;
    const char *name;          /* kind name, prefix of every message */
    int nin;
    const clnet_shape *in;
    const clnet_dtype *dtype;
    int nout;
    clnet_shape *out;
    clnet_dtype *out_dtype;
} check;

static clnet_status fail(const check *c, clnet_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static clnet_status fail(const check *c, clnet_status st, const char *fmt, ...)
{
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return clnet_fail(c->ctx, st, "%s: %s", c->name, detail);
}

#define TRY(expr) do { clnet_status st_ = (expr); if (st_ != CLNET_OK) return st_; } while (0)

static clnet_status inputs(const check *c, int lo, int hi)
{
    if (c->nin < lo || c->nin > hi)
        return fail(c, CLNET_ERR_INVALID_ARGUMENT, "takes %d..%d inputs, got %d", lo, hi, c->nin);
    return CLNET_OK;
}

/* Checks input i is F32 with a rank in lo..hi. */
static clnet_status f32_rank(const check *c, int i, const char *what, int lo, int hi)
{
    if (c->dtype[i] != CLNET_F32)
        return fail(c, CLNET_ERR_DTYPE, "input %d (%s) must be F32", i, what);
    int r = c->in[i].ndim;
    if (r < lo || r > hi)
        return fail(c, CLNET_ERR_SHAPE, "input %d (%s) has rank %d, needs %d..%d", i, what, r,
                    lo, hi);
    return CLNET_OK;
}

static clnet_status f32_vector(const check *c, int i, const char *what, int64_t len)
{
    TRY(f32_rank(c, i, what, 1, 1));
    if (c->in[i].dim[0] != len)
        return fail(c, CLNET_ERR_SHAPE, "input %d (%s) has length %lld, needs %lld", i, what,
                    (long long)c->in[i].dim[0], (long long)len);
    return CLNET_OK;
}

/* Checks that a scalar parameter lies in [lo, hi) (or [lo, hi] with
 * `closed`). */
static clnet_status in_range(const check *c, const char *what, float v, float lo, float hi,
                             bool closed)
{
    if (v >= lo && (v < hi || (closed && v == hi)))
        return CLNET_OK;
    return fail(c, CLNET_ERR_INVALID_PARAMS, "%s %g outside [%g, %g%s", what, (double)v,
                (double)lo, (double)hi, closed ? "]" : ")");
}

/* An activation (ACTIVATION's, or the one a CONV fuses). */
static clnet_status act_params(const check *c, const clnet_act_params *p)
{
    if ((int)p->fn < 0 || p->fn >= CLNET_ACT_COUNT)
        return fail(c, CLNET_ERR_INVALID_PARAMS, "unknown activation %d", (int)p->fn);
    if (!isfinite(p->alpha))
        return fail(c, CLNET_ERR_INVALID_PARAMS, "alpha must be finite");
    return CLNET_OK;
}

/* One output, F32, of the given shape. */
static clnet_status out_f32(check *c, clnet_shape s)
{
    c->nout = 1;
    c->out[0] = s;
    c->out_dtype[0] = CLNET_F32;
    return CLNET_OK;
}

static clnet_shape image_shape(int64_t n, int64_t ch, int ndim, int64_t h, int64_t w)
{
    clnet_shape s = {.ndim = ndim};
    s.dim[0] = n;
    s.dim[1] = ch;
    if (ndim == 4) {
        s.dim[2] = h;
        s.dim[3] = w;
    } else {
        s.dim[2] = w;
    }
    return s;
}

/* Spatial size of input i as (h, w); h = 1 for rank 3. */
static void plane(const clnet_shape *s, int64_t *h, int64_t *w)
{
    *h = s->ndim == 4 ? s->dim[2] : 1;
    *w = s->dim[s->ndim - 1];
}

static const char *axis_name(int a) { return a == 0 ? "height" : "width"; }

/* Common spatial parameter rules of convolution and pooling; `first` is 1
 * for 1-D tensors, whose height entries are ignored. */
static clnet_status spatial_params(const check *c, int first, const int *stride,
                                   const int *dilation, const int *pb, const int *pe)
{
    for (int a = first; a < 2; a++) {
        if (stride[a] < 1)
            return fail(c, CLNET_ERR_INVALID_PARAMS, "%s stride %d (must be >= 1)",
                        axis_name(a), stride[a]);
        if (dilation && dilation[a] < 1)
            return fail(c, CLNET_ERR_INVALID_PARAMS, "%s dilation %d (must be >= 1)",
                        axis_name(a), dilation[a]);
        if (pb[a] < 0 || pe[a] < 0)
            return fail(c, CLNET_ERR_INVALID_PARAMS, "%s padding %d/%d (must be >= 0)",
                        axis_name(a), pb[a], pe[a]);
    }
    return CLNET_OK;
}

static clnet_status check_conv(check *c)
{
    const clnet_conv_params *p = &c->op->u.conv;
    bool transposed = c->op->kind == CLNET_OP_CONV_TRANSPOSE;
    TRY(inputs(c, 2, 3));
    TRY(f32_rank(c, 0, "x", 3, 4));
    const clnet_shape *x = &c->in[0], *w = &c->in[1];
    TRY(f32_rank(c, 1, "w", x->ndim, x->ndim));
    int first = x->ndim == 3 ? 1 : 0;
    TRY(spatial_params(c, first, p->stride, p->dilation, p->pad_begin, p->pad_end));
    if (p->groups < 1)
        return fail(c, CLNET_ERR_INVALID_PARAMS, "groups %d (must be >= 1)", p->groups);
    if ((int)p->algo < 0 || p->algo >= CLNET_CONV_ALGO_COUNT)
        return fail(c, CLNET_ERR_INVALID_PARAMS, "unknown convolution algorithm %d", (int)p->algo);
    if (c->op->kind == CLNET_OP_CONV && p->fuse_act)
        TRY(act_params(c, &p->act));
    int64_t ch = x->dim[1], groups = p->groups;
    if (ch % groups != 0)
        return fail(c, CLNET_ERR_SHAPE, "groups %lld do not divide the %lld input channels",
                    (long long)groups, (long long)ch);
    int64_t k, kh, kw, h, wd;
    plane(w, &kh, &kw);
    plane(x, &h, &wd);
    if (transposed) {
        if (w->dim[0] != ch)
            return fail(c, CLNET_ERR_SHAPE, "weights have %lld input channels, x has %lld",
                        (long long)w->dim[0], (long long)ch);
        k = w->dim[1] * groups;
    } else {
        k = w->dim[0];
        if (k % groups != 0)
            return fail(c, CLNET_ERR_SHAPE, "groups %lld do not divide the %lld output channels",
                        (long long)groups, (long long)k);
        if (w->dim[1] != ch / groups)
            return fail(c, CLNET_ERR_SHAPE,
                        "weights take %lld channels per group, x gives %lld (C %lld / groups %lld)",
                        (long long)w->dim[1], (long long)(ch / groups), (long long)ch,
                        (long long)groups);
    }
    if (c->nin == 3)
        TRY(f32_vector(c, 2, "bias", k));
    int64_t in_size[2] = {h, wd}, ksize[2] = {kh, kw}, out_size[2] = {1, 1};
    for (int a = first; a < 2; a++) {
        int64_t span = (int64_t)p->dilation[a] * (ksize[a] - 1) + 1;
        int64_t padded = in_size[a] + p->pad_begin[a] + p->pad_end[a];
        if (transposed) {
            int op = p->output_padding[a];
            if (op < 0 || (op >= p->stride[a] && op >= p->dilation[a]))
                return fail(c, CLNET_ERR_INVALID_PARAMS,
                            "%s output_padding %d must be >= 0 and smaller than stride %d or "
                            "dilation %d", axis_name(a), op, p->stride[a], p->dilation[a]);
            out_size[a] = (in_size[a] - 1) * p->stride[a] - p->pad_begin[a] - p->pad_end[a] +
                          span + op;
            if (out_size[a] < 1)
                return fail(c, CLNET_ERR_SHAPE, "%s output size %lld (padding too large)",
                            axis_name(a), (long long)out_size[a]);
        } else {
            if (span > padded)
                return fail(c, CLNET_ERR_SHAPE,
                            "%s kernel span %lld is larger than the padded input %lld",
                            axis_name(a), (long long)span, (long long)padded);
            out_size[a] = (padded - span) / p->stride[a] + 1;
        }
    }
    return out_f32(c, image_shape(x->dim[0], k, x->ndim, out_size[0], out_size[1]));
}

/* PyTorch's pooling output size, ceil mode included. */
static int64_t pool_out(int64_t in, int k, int s, int pb, int pe, bool ceil_mode)
{
    int64_t span = in + pb + pe - k;
    int64_t out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
    if (ceil_mode && (out - 1) * s >= in + pb)
        out--;
    return out;
}

/* Adaptive pooling: average only, an output size for each used axis. */
static clnet_status check_adaptive(const check *c, int first, int64_t out_size[2])
{
    const clnet_pool_params *p = &c->op->u.pool;
    if (p->mode != CLNET_POOL_AVG || p->global)
        return fail(c, CLNET_ERR_INVALID_PARAMS,
                    "adaptive pooling is average pooling only, and not global");
    for (int a = first; a < 2; a++) {
        if (p->out_size[a] < 1)
            return fail(c, CLNET_ERR_INVALID_PARAMS, "adaptive output %s %d (must be >= 1)",
                        axis_name(a), p->out_size[a]);
        out_size[a] = p->out_size[a];
    }
    return CLNET_OK;
}

static clnet_status check_pool(check *c)
{
    const clnet_pool_params *p = &c->op->u.pool;
    TRY(inputs(c, 1, 1));
    TRY(f32_rank(c, 0, "x", 3, 4));
    const clnet_shape *x = &c->in[0];
    if (p->mode != CLNET_POOL_MAX && p->mode != CLNET_POOL_AVG)
        return fail(c, CLNET_ERR_INVALID_PARAMS, "unknown pooling mode %d", (int)p->mode);
    int64_t in_size[2], out_size[2] = {1, 1};
    plane(x, &in_size[0], &in_size[1]);
    if (p->adaptive) {
        TRY(check_adaptive(c, x->ndim == 3 ? 1 : 0, out_size));
    } else if (!p->global) {
        int first = x->ndim == 3 ? 1 : 0;
        TRY(spatial_params(c, first, p->stride, NULL, p->pad_begin, p->pad_end));
        for (int a = first; a < 2; a++) {
            if (p->kernel[a] < 1)
                return fail(c, CLNET_ERR_INVALID_PARAMS, "%s window %d (must be >= 1)",
                            axis_name(a), p->kernel[a]);
            if (2 * p->pad_begin[a] > p->kernel[a] || 2 * p->pad_end[a] > p->kernel[a])
                return fail(c, CLNET_ERR_INVALID_PARAMS,
                            "%s padding %d/%d is more than half the window %d", axis_name(a),
                            p->pad_begin[a], p->pad_end[a], p->kernel[a]);
            if (in_size[a] + p->pad_begin[a] + p->pad_end[a] < p->kernel[a])
                return fail(c, CLNET_ERR_SHAPE, "%s window %d is larger than the padded input %lld",
                            axis_name(a), p->kernel[a],
                            (long long)(in_size[a] + p->pad_begin[a] + p->pad_end[a]));
            out_size[a] = pool_out(in_size[a], p->kernel[a], p->stride[a], p->pad_begin[a],
                                   p->pad_end[a], p->ceil_mode);
        }
    }
    clnet_shape y = image_shape(x->dim[0], x->dim[1], x->ndim, out_size[0], out_size[1]);
    out_f32(c, y);
    if (p->mode == CLNET_POOL_MAX) {
        c->nout = 2;
        c->out[1] = y;
        c->out_dtype[1] = CLNET_I32;
    }
    return CLNET_OK;
}

static clnet_status check_unpool(check *c)
{
    const clnet_unpool_params *p = &c->op->u.unpool;
    TRY(inputs(c, 2, 2));
    TRY(f32_rank(c, 0, "x", 3, 4));
    const clnet_shape *x = &c->in[0], *idx = &c->in[1];
    if (c->dtype[1] != CLNET_I32)
        return fail(c, CLNET_ERR_DTYPE, "input 1 (argmax) must be I32");
    if (idx->ndim != x->ndim || memcmp(idx->dim, x->dim, (size_t)x->ndim * sizeof x->dim[0]))
        return fail(c, CLNET_ERR_SHAPE, "argmax must have the shape of x");
    if (p->out_w < 1 || (x->ndim == 4 && p->out_h < 1))
        return fail(c, CLNET_ERR_INVALID_PARAMS, "output plane %dx%d (must be >= 1)", p->out_h,
                    p->out_w);
    return out_f32(c, image_shape(x->dim[0], x->dim[1], x->ndim, p->out_h, p->out_w));
}

static clnet_status check_activation_params(const check *c)
{
    return act_params(c, &c->op->u.act);
}

static clnet_status check_activation(check *c)
{
    TRY(inputs(c, 1, 1));
    TRY(f32_rank(c, 0, "x", 1, CLNET_MAX_DIMS));
    TRY(check_activation_params(c));
    return out_f32(c, c->in[0]);
}

static clnet_status check_batchnorm(check *c)
{
    bool stats = c->op->kind == CLNET_OP_BATCHNORM_STATS;
    TRY(inputs(c, stats ? 1 : 5, stats ? 1 : 5));
    TRY(f32_rank(c, 0, "x", 2, CLNET_MAX_DIMS));
    int64_t ch = c->in[0].dim[1];
    if (stats) {
        TRY(in_range(c, "momentum", c->op->u.bn.momentum, 0.0f, 1.0f, true));
        clnet_shape v = {.ndim = 1, .dim = {ch}};
        c->nout = 4;
        for (int i = 0; i < 4; i++) {
            c->out[i] = v;
            c->out_dtype[i] = CLNET_F32;
        }
        return CLNET_OK;
    }
    static const char *names[] = {"x", "mean", "var", "gamma", "beta"};
    for (int i = 1; i < 5; i++)
        TRY(f32_vector(c, i, names[i], ch));
    if (!(c->op->u.bn.eps > 0.0f))
        return fail(c, CLNET_ERR_INVALID_PARAMS, "eps %g (must be > 0)", (double)c->op->u.bn.eps);
    return out_f32(c, c->in[0]);
}

static clnet_status check_lrn_params(const check *c)
{
    const clnet_lrn_params *p = &c->op->u.lrn;
    if (p->size < 1)
        return fail(c, CLNET_ERR_INVALID_PARAMS, "size %d (must be >= 1)", p->size);
    if (!(p->k > 0.0f) || !isfinite(p->alpha) || !isfinite(p->beta))
        return fail(c, CLNET_ERR_INVALID_PARAMS, "k %g must be > 0, alpha and beta finite",
                    (double)p->k);
    return CLNET_OK;
}

static clnet_status check_lrn(check *c)
{
    TRY(inputs(c, 1, 1));
    TRY(f32_rank(c, 0, "x", 2, CLNET_MAX_DIMS));
    TRY(check_lrn_params(c));
    return out_f32(c, c->in[0]);
}

static clnet_status check_dropout(check *c)
{
    TRY(inputs(c, 1, 1));
    TRY(f32_rank(c, 0, "x", 1, CLNET_MAX_DIMS));
    float p = c->op->u.dropout.p;
    if (!(p >= 0.0f && p < 1.0f))
        return fail(c, CLNET_ERR_INVALID_PARAMS, "drop probability %g outside [0, 1)", (double)p);
    return out_f32(c, c->in[0]);
}

static clnet_status check_linear(check *c)
{
    TRY(inputs(c, 2, 3));
    TRY(f32_rank(c, 0, "x", 2, CLNET_MAX_DIMS));
    TRY(f32_rank(c, 1, "w", 2, 2));
    int64_t features = clnet_shape_numel(&c->in[0]) / c->in[0].dim[0];
    int64_t m = c->in[1].dim[0];
    if (c->in[1].dim[1] != features)
        return fail(c, CLNET_ERR_SHAPE, "weights take %lld features, x has %lld per image",
                    (long long)c->in[1].dim[1], (long long)features);
    if (c->nin == 3)
        TRY(f32_vector(c, 2, "bias", m));
    clnet_shape y = {.ndim = 2, .dim = {c->in[0].dim[0], m}};
    return out_f32(c, y);
}

static clnet_status check_gemm(check *c)
{
    const clnet_gemm_params *p = &c->op->u.gemm;
    TRY(inputs(c, 2, 2));
    TRY(f32_rank(c, 0, "a", 2, 2));
    TRY(f32_rank(c, 1, "b", 2, 2));
    int64_t m = c->in[0].dim[p->trans_a ? 1 : 0], ka = c->in[0].dim[p->trans_a ? 0 : 1];
    int64_t kb = c->in[1].dim[p->trans_b ? 1 : 0], n = c->in[1].dim[p->trans_b ? 0 : 1];
    if (ka != kb)
        return fail(c, CLNET_ERR_SHAPE, "op(a) is %lldx%lld but op(b) is %lldx%lld",
                    (long long)m, (long long)ka, (long long)kb, (long long)n);
    if (!isfinite(p->alpha) || !isfinite(p->beta))
        return fail(c, CLNET_ERR_INVALID_PARAMS, "alpha and beta must be finite");
    clnet_shape y = {.ndim = 2, .dim = {m, n}};
    return out_f32(c, y);
}

static clnet_status check_softmax(check *c)
{
    TRY(inputs(c, 1, 1));
    TRY(f32_rank(c, 0, "x", 2, CLNET_MAX_DIMS));
    return out_f32(c, c->in[0]);
}

static clnet_status check_binary(check *c)
{
    TRY(inputs(c, 2, 2));
    const clnet_shape *a = &c->in[0], *b = &c->in[1];
    TRY(f32_rank(c, 0, "a", 1, CLNET_MAX_DIMS));
    TRY(f32_rank(c, 1, "b", a->ndim, a->ndim));
    if (c->op->u.binary.fn != CLNET_BINARY_ADD && c->op->u.binary.fn != CLNET_BINARY_MUL)
        return fail(c, CLNET_ERR_INVALID_PARAMS, "unknown binary function %d",
                    (int)c->op->u.binary.fn);
    bool same = memcmp(a->dim, b->dim, (size_t)a->ndim * sizeof a->dim[0]) == 0;
    bool per_channel = a->ndim >= 2 && b->dim[0] == a->dim[0] && b->dim[1] == a->dim[1];
    for (int i = 2; i < a->ndim; i++)
        per_channel = per_channel && b->dim[i] == 1;
    if (!same && !per_channel)
        return fail(c, CLNET_ERR_SHAPE,
                    "b must have a's shape or a's N and C with every other dimension 1");
    return out_f32(c, *a);
}

static clnet_status check_bias_add(check *c)
{
    TRY(inputs(c, 2, 2));
    TRY(f32_rank(c, 0, "x", 2, CLNET_MAX_DIMS));
    TRY(f32_vector(c, 1, "bias", c->in[0].dim[1]));
    return out_f32(c, c->in[0]);
}

static clnet_status check_concat(check *c)
{
    TRY(inputs(c, 1, CLNET_OP_MAX_INPUTS));
    TRY(f32_rank(c, 0, "x0", 2, CLNET_MAX_DIMS));
    clnet_shape y = c->in[0];
    for (int i = 1; i < c->nin; i++) {
        const clnet_shape *s = &c->in[i];
        TRY(f32_rank(c, i, "x", y.ndim, y.ndim));
        for (int d = 0; d < y.ndim; d++)
            if (d != 1 && s->dim[d] != y.dim[d])
                return fail(c, CLNET_ERR_SHAPE,
                            "input %d has %lld in dimension %d, input 0 has %lld", i,
                            (long long)s->dim[d], d, (long long)y.dim[d]);
        y.dim[1] += s->dim[1];
    }
    return out_f32(c, y);
}

static clnet_status check_rbf(check *c)
{
    TRY(inputs(c, 2, 2));
    TRY(f32_rank(c, 0, "x", 2, CLNET_MAX_DIMS));
    TRY(f32_rank(c, 1, "w", 2, 2));
    int64_t features = clnet_shape_numel(&c->in[0]) / c->in[0].dim[0];
    if (c->in[1].dim[1] != features)
        return fail(c, CLNET_ERR_SHAPE, "centres have %lld features, x has %lld per image",
                    (long long)c->in[1].dim[1], (long long)features);
    clnet_shape y = {.ndim = 2, .dim = {c->in[0].dim[0], c->in[1].dim[0]}};
    return out_f32(c, y);
}

static bool same_shape(const clnet_shape *a, const clnet_shape *b)
{
    return a->ndim == b->ndim && memcmp(a->dim, b->dim, (size_t)a->ndim * sizeof a->dim[0]) == 0;
}

/* Input i must be F32 with input 0's shape. */
static clnet_status like_x(const check *c, int i, const char *what)
{
    TRY(f32_rank(c, i, what, 1, CLNET_MAX_DIMS));
    if (!same_shape(&c->in[i], &c->in[0]))
        return fail(c, CLNET_ERR_SHAPE, "input %d (%s) must have the shape of input 0", i, what);
    return CLNET_OK;
}

/* The forward op of a backward kind, checked on x, must produce dy's shape. */
static clnet_status forward_gives_dy(check *c, clnet_op fwd, int nfwd, const clnet_shape *fwd_in,
                                     const clnet_dtype *fwd_dtype)
{
    clnet_shape y[CLNET_OP_MAX_OUTPUTS];
    clnet_dtype yd[CLNET_OP_MAX_OUTPUTS];
    check f = {c->ctx, &fwd, c->name, nfwd, fwd_in, fwd_dtype, 0, y, yd};
    clnet_status st;
    switch (fwd.kind) {
    case CLNET_OP_CONV: st = check_conv(&f); break;
    case CLNET_OP_POOL: st = check_pool(&f); break;
    default: return fail(c, CLNET_ERR_INTERNAL, "no forward check for kind %d", (int)fwd.kind);
    }
    if (st != CLNET_OK)
        return st;
    TRY(f32_rank(c, 1, "dy", 1, CLNET_MAX_DIMS));
    if (!same_shape(&c->in[1], &y[0])) {
        char got[96], want[96];
        clnet_shape_format(got, sizeof got, &c->in[1]);
        clnet_shape_format(want, sizeof want, &y[0]);
        return fail(c, CLNET_ERR_SHAPE, "dy is %s, the forward op produces %s", got, want);
    }
    return CLNET_OK;
}

static clnet_status check_conv_backward_weights(check *c)
{
    const clnet_conv_params *p = &c->op->u.conv;
    TRY(inputs(c, 2, 2));
    TRY(f32_rank(c, 0, "x", 3, 4));
    const clnet_shape *x = &c->in[0];
    int first = x->ndim == 3 ? 1 : 0;
    for (int a = first; a < 2; a++)
        if (p->kernel[a] < 1)
            return fail(c, CLNET_ERR_INVALID_PARAMS, "%s window %d (must be >= 1)",
                        axis_name(a), p->kernel[a]);
    if (p->groups < 1)
        return fail(c, CLNET_ERR_INVALID_PARAMS, "groups %d (must be >= 1)", p->groups);
    if (c->in[1].ndim != x->ndim)
        return fail(c, CLNET_ERR_SHAPE, "dy must have x's rank");
    int64_t k = c->in[1].dim[1];
    if (x->dim[1] % p->groups != 0 || k % p->groups != 0)
        return fail(c, CLNET_ERR_SHAPE, "groups %d do not divide the channels (%lld in, %lld out)",
                    p->groups, (long long)x->dim[1], (long long)k);
    clnet_shape w = {.ndim = x->ndim, .dim = {k, x->dim[1] / p->groups}};
    if (x->ndim == 4) {
        w.dim[2] = p->kernel[0];
        w.dim[3] = p->kernel[1];
    } else {
        w.dim[2] = p->kernel[1];
    }
    clnet_op fwd = *c->op;
    fwd.kind = CLNET_OP_CONV;
    clnet_shape fin[2] = {*x, w};
    clnet_dtype fdt[2] = {CLNET_F32, CLNET_F32};
    TRY(forward_gives_dy(c, fwd, 2, fin, fdt));
    return out_f32(c, w);
}

static clnet_status check_pool_backward(check *c)
{
    TRY(inputs(c, 2, 2));
    clnet_op fwd = *c->op;
    fwd.kind = CLNET_OP_POOL;
    TRY(forward_gives_dy(c, fwd, 1, c->in, c->dtype));
    return out_f32(c, c->in[0]);
}

static clnet_status check_activation_backward(check *c)
{
    TRY(inputs(c, 2, 2));
    TRY(check_activation_params(c));
    TRY(f32_rank(c, 0, "x", 1, CLNET_MAX_DIMS));
    TRY(like_x(c, 1, "dy"));
    return out_f32(c, c->in[0]);
}

static clnet_status check_batchnorm_backward(check *c)
{
    TRY(inputs(c, 5, 5));
    TRY(f32_rank(c, 0, "x", 2, CLNET_MAX_DIMS));
    TRY(like_x(c, 1, "dy"));
    int64_t ch = c->in[0].dim[1];
    static const char *names[] = {"x", "dy", "mean", "var", "gamma"};
    for (int i = 2; i < 5; i++)
        TRY(f32_vector(c, i, names[i], ch));
    if (!(c->op->u.bn.eps > 0.0f))
        return fail(c, CLNET_ERR_INVALID_PARAMS, "eps %g (must be > 0)", (double)c->op->u.bn.eps);
    clnet_shape v = {.ndim = 1, .dim = {ch}};
    out_f32(c, c->in[0]);
    c->nout = 3;
    c->out[1] = c->out[2] = v;
    c->out_dtype[1] = c->out_dtype[2] = CLNET_F32;
    return CLNET_OK;
}

static clnet_status check_lrn_backward(check *c)
{
    TRY(inputs(c, 2, 2));
    TRY(check_lrn_params(c));
    TRY(f32_rank(c, 0, "x", 2, CLNET_MAX_DIMS));
    TRY(like_x(c, 1, "dy"));
    return out_f32(c, c->in[0]);
}

/* Loss ops: per-example loss (N) and a gradient of the prediction's shape. */
static clnet_status loss_outputs(check *c)
{
    if (!isfinite(c->op->u.loss.scale))
        return fail(c, CLNET_ERR_INVALID_PARAMS, "gradient scale must be finite");
    clnet_shape l = {.ndim = 1, .dim = {c->in[0].dim[0]}};
    out_f32(c, l);
    c->nout = 2;
    c->out[1] = c->in[0];
    c->out_dtype[1] = CLNET_F32;
    return CLNET_OK;
}

static clnet_status check_softmax_xent(check *c)
{
    TRY(inputs(c, 2, 2));
    TRY(f32_rank(c, 0, "logits", 2, 2));
    if (c->dtype[1] != CLNET_I32)
        return fail(c, CLNET_ERR_DTYPE, "input 1 (labels) must be I32");
    if (c->in[1].ndim != 1 || c->in[1].dim[0] != c->in[0].dim[0])
        return fail(c, CLNET_ERR_SHAPE, "labels must be a vector of N = %lld",
                    (long long)c->in[0].dim[0]);
    float s = c->op->u.loss.label_smoothing;
    if (!(s >= 0.0f && s < 1.0f))
        return fail(c, CLNET_ERR_INVALID_PARAMS, "label smoothing %g outside [0, 1)", (double)s);
    return loss_outputs(c);
}

static clnet_status check_mse(check *c)
{
    TRY(inputs(c, 2, 2));
    TRY(f32_rank(c, 0, "pred", 1, CLNET_MAX_DIMS));
    TRY(like_x(c, 1, "target"));
    return loss_outputs(c);
}

static clnet_status check_reduce(check *c)
{
    TRY(inputs(c, 1, 1));
    TRY(f32_rank(c, 0, "x", 2, CLNET_MAX_DIMS));
    const clnet_shape *x = &c->in[0];
    clnet_shape y = {.ndim = 1, .dim = {x->dim[1]}};
    if (c->op->u.reduce.keep_batch) {
        y.ndim = x->ndim;
        for (int i = 0; i < x->ndim; i++)
            y.dim[i] = i < 2 ? x->dim[i] : 1;
    }
    return out_f32(c, y);
}

/* Optimizer steps update their outputs in place: w (and its state) have
 * g's shape. */
static clnet_status step_outputs(check *c, int count)
{
    out_f32(c, c->in[0]);
    c->nout = count;
    for (int i = 1; i < count; i++) {
        c->out[i] = c->in[0];
        c->out_dtype[i] = CLNET_F32;
    }
    return CLNET_OK;
}

static clnet_status check_sgd(check *c)
{
    const clnet_sgd_params *p = &c->op->u.sgd;
    TRY(inputs(c, 1, 1));
    TRY(f32_rank(c, 0, "g", 1, CLNET_MAX_DIMS));
    if (!isfinite(p->lr))
        return fail(c, CLNET_ERR_INVALID_PARAMS, "learning rate lr %g must be finite",
                    (double)p->lr);
    TRY(in_range(c, "momentum", p->momentum, 0.0f, 1.0f, false));
    TRY(in_range(c, "weight decay", p->weight_decay, 0.0f, INFINITY, false));
    return step_outputs(c, 2);
}

static clnet_status check_adam(check *c)
{
    const clnet_adam_params *p = &c->op->u.adam;
    TRY(inputs(c, 1, 1));
    TRY(f32_rank(c, 0, "g", 1, CLNET_MAX_DIMS));
    if (!isfinite(p->lr))
        return fail(c, CLNET_ERR_INVALID_PARAMS, "learning rate lr %g must be finite",
                    (double)p->lr);
    TRY(in_range(c, "beta1", p->beta1, 0.0f, 1.0f, false));
    TRY(in_range(c, "beta2", p->beta2, 0.0f, 1.0f, false));
    TRY(in_range(c, "weight decay", p->weight_decay, 0.0f, INFINITY, false));
    if (!(p->eps > 0.0f))
        return fail(c, CLNET_ERR_INVALID_PARAMS, "eps %g (must be > 0)", (double)p->eps);
    if (p->t < 1)
        return fail(c, CLNET_ERR_INVALID_PARAMS, "step t = %d (must be >= 1)", p->t);
    return step_outputs(c, 3);
}

clnet_status clnet_op_output_shapes(clnet_ctx *ctx, const clnet_op *op, int nin,
                                    const clnet_shape *in, const clnet_dtype *in_dtype,
                                    int *nout, clnet_shape *out, clnet_dtype *out_dtype)
{
    clnet_error_clear(ctx);
    if (!op)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_op_output_shapes: NULL op");
    /* NULL dtypes: every input is F32, and the caller wants no output dtypes
     * (CLNET_F32 is 0, so the zeroed arrays say F32) */
    static const clnet_dtype all_f32[CLNET_OP_MAX_INPUTS];
    clnet_dtype unused_out[CLNET_OP_MAX_OUTPUTS];
    if (!in_dtype && nin > CLNET_OP_MAX_INPUTS)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_op_output_shapes: %d inputs "
                          "(at most %d)", nin, CLNET_OP_MAX_INPUTS);
    in_dtype = in_dtype ? in_dtype : all_f32;
    out_dtype = out_dtype ? out_dtype : unused_out;
    check c = {ctx, op, clnet_op_kind_name(op->kind), nin, in, in_dtype, 0, out, out_dtype};
    if (!nout || !out || nin < 0 || (nin > 0 && !in))
        return fail(&c, CLNET_ERR_INVALID_ARGUMENT,
                    "clnet_op_output_shapes: NULL argument or negative input count");
    for (int i = 0; i < nin; i++) {
        if (in[i].ndim < 1 || in[i].ndim > CLNET_MAX_DIMS)
            return fail(&c, CLNET_ERR_SHAPE, "input %d has rank %d", i, in[i].ndim);
        for (int d = 0; d < in[i].ndim; d++)
            if (in[i].dim[d] < 1)
                return fail(&c, CLNET_ERR_SHAPE, "input %d has size %lld in dimension %d", i,
                            (long long)in[i].dim[d], d);
    }
    clnet_status st;
    switch (op->kind) {
    case CLNET_OP_CONV:
    case CLNET_OP_CONV_TRANSPOSE: st = check_conv(&c); break;
    case CLNET_OP_POOL: st = check_pool(&c); break;
    case CLNET_OP_UNPOOL: st = check_unpool(&c); break;
    case CLNET_OP_ACTIVATION: st = check_activation(&c); break;
    case CLNET_OP_BATCHNORM:
    case CLNET_OP_BATCHNORM_STATS: st = check_batchnorm(&c); break;
    case CLNET_OP_LRN: st = check_lrn(&c); break;
    case CLNET_OP_DROPOUT: st = check_dropout(&c); break;
    case CLNET_OP_LINEAR: st = check_linear(&c); break;
    case CLNET_OP_GEMM: st = check_gemm(&c); break;
    case CLNET_OP_SOFTMAX: st = check_softmax(&c); break;
    case CLNET_OP_BINARY: st = check_binary(&c); break;
    case CLNET_OP_BIAS_ADD: st = check_bias_add(&c); break;
    case CLNET_OP_CONCAT: st = check_concat(&c); break;
    case CLNET_OP_CONV_BACKWARD_WEIGHTS: st = check_conv_backward_weights(&c); break;
    case CLNET_OP_POOL_BACKWARD: st = check_pool_backward(&c); break;
    case CLNET_OP_ACTIVATION_BACKWARD: st = check_activation_backward(&c); break;
    case CLNET_OP_BATCHNORM_BACKWARD: st = check_batchnorm_backward(&c); break;
    case CLNET_OP_LRN_BACKWARD: st = check_lrn_backward(&c); break;
    case CLNET_OP_SOFTMAX_XENT: st = check_softmax_xent(&c); break;
    case CLNET_OP_MSE_LOSS: st = check_mse(&c); break;
    case CLNET_OP_REDUCE_SUM: st = check_reduce(&c); break;
    case CLNET_OP_SGD_STEP: st = check_sgd(&c); break;
    case CLNET_OP_ADAM_STEP: st = check_adam(&c); break;
    case CLNET_OP_RBF: st = check_rbf(&c); break;
    default:
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "unknown op kind %d", (int)op->kind);
    }
    *nout = c.nout;
    return st;
}
