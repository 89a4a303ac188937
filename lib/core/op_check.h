/* op_check.h - what the op checks of every family share (op_check_*.c): the
 * state a check works on, the rules several families apply, and the check
 * function of each op kind, named by the op table (op_table.c). */
#ifndef CLNET_OP_CHECK_H
#define CLNET_OP_CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/internal.h"

/* Everything a check needs, so each check reads as a list of rules. */
typedef struct clnet_check {
    clnet_ctx *ctx;
    const clnet_op *op;
    const char *name;          /* kind name, prefix of every message */
    int nin;
    const clnet_shape *in;
    const clnet_dtype *dtype;
    int nout;
    clnet_shape *out;
    clnet_dtype *out_dtype;
    int first_optional;        /* starts as the table's first_optional_output */
} check;

static inline clnet_status fail(const check *c, clnet_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline clnet_status fail(const check *c, clnet_status st, const char *fmt, ...)
{
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return clnet_fail(c->ctx, st, "%s: %s", c->name, detail);
}

/* Checks input i is F32 with a rank in lo..hi. */
static inline clnet_status f32_rank(const check *c, int i, const char *what, int lo, int hi)
{
    if (c->dtype[i] != CLNET_F32)
        return fail(c, CLNET_ERR_DTYPE, "input %d (%s) must be F32", i, what);
    int r = c->in[i].ndim;
    if (r < lo || r > hi)
        return fail(c, CLNET_ERR_SHAPE, "input %d (%s) has rank %d, needs %d..%d", i, what, r,
                    lo, hi);
    return CLNET_OK;
}

static inline clnet_status f32_vector(const check *c, int i, const char *what, int64_t len)
{
    TRY(f32_rank(c, i, what, 1, 1));
    if (c->in[i].dim[0] != len)
        return fail(c, CLNET_ERR_SHAPE, "input %d (%s) has length %lld, needs %lld", i, what,
                    (long long)c->in[i].dim[0], (long long)len);
    return CLNET_OK;
}

/* Checks that a scalar parameter lies in [lo, hi) (or [lo, hi] with
 * `closed`). */
static inline clnet_status in_range(const check *c, const char *what, float v, float lo, float hi,
                             bool closed)
{
    if (v >= lo && (v < hi || (closed && v == hi)))
        return CLNET_OK;
    return fail(c, CLNET_ERR_INVALID_PARAMS, "%s %g outside [%g, %g%s", what, (double)v,
                (double)lo, (double)hi, closed ? "]" : ")");
}

/* An activation (ACTIVATION's, or the one a CONV fuses). */
static inline clnet_status act_params(const check *c, const clnet_act_params *p)
{
    if ((int)p->fn < 0 || p->fn >= CLNET_ACT_COUNT)
        return fail(c, CLNET_ERR_INVALID_PARAMS, "unknown activation %d", (int)p->fn);
    if (!isfinite(p->alpha))
        return fail(c, CLNET_ERR_INVALID_PARAMS, "alpha must be finite");
    return CLNET_OK;
}

/* One output, F32, of the given shape. */
static inline clnet_status out_f32(check *c, clnet_shape s)
{
    c->nout = 1;
    c->out[0] = s;
    c->out_dtype[0] = CLNET_F32;
    return CLNET_OK;
}

static inline clnet_shape image_shape(int64_t n, int64_t ch, int ndim, int64_t h, int64_t w)
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
static inline void plane(const clnet_shape *s, int64_t *h, int64_t *w)
{
    *h = s->ndim == 4 ? s->dim[2] : 1;
    *w = s->dim[s->ndim - 1];
}

static inline const char *axis_name(int a) { return a == 0 ? "height" : "width"; }

/* Common spatial parameter rules of convolution and pooling; `first` is 1
 * for 1-D tensors, whose height entries are ignored. */
static inline clnet_status spatial_params(const check *c, int first, const int *stride,
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

static inline bool same_shape(const clnet_shape *a, const clnet_shape *b)
{
    return a->ndim == b->ndim && memcmp(a->dim, b->dim, (size_t)a->ndim * sizeof a->dim[0]) == 0;
}

/* Input i must be F32 with input 0's shape. */
static inline clnet_status like_x(const check *c, int i, const char *what)
{
    TRY(f32_rank(c, i, what, 1, CLNET_MAX_DIMS));
    if (!same_shape(&c->in[i], &c->in[0]))
        return fail(c, CLNET_ERR_SHAPE, "input %d (%s) must have the shape of input 0", i, what);
    return CLNET_OK;
}

/* The forward op of a backward kind, checked on x (the fwd_in inputs), must
 * produce dy's shape (input 1). In op_check.c. */
clnet_status clnet_check_forward_gives_dy(check *c, clnet_op fwd, int nfwd,
                                          const clnet_shape *fwd_in,
                                          const clnet_dtype *fwd_dtype);

/* The check of each op kind, by family; the op table names them. Each sees
 * an input count already within the kind's range. */
clnet_status clnet_check_conv(check *c);
clnet_status clnet_check_conv_backward_weights(check *c);
clnet_status clnet_check_activation(check *c);
clnet_status clnet_check_dropout(check *c);
clnet_status clnet_check_softmax(check *c);
clnet_status clnet_check_binary(check *c);
clnet_status clnet_check_bias_add(check *c);
clnet_status clnet_check_concat(check *c);
clnet_status clnet_check_channel_shuffle(check *c);
clnet_status clnet_check_activation_backward(check *c);
clnet_status clnet_check_linear(check *c);
clnet_status clnet_check_gemm(check *c);
clnet_status clnet_check_rbf(check *c);
clnet_status clnet_check_rbf_backward(check *c);
clnet_status clnet_check_batchnorm(check *c);
clnet_status clnet_check_lrn(check *c);
clnet_status clnet_check_batchnorm_backward(check *c);
clnet_status clnet_check_lrn_backward(check *c);
clnet_status clnet_check_pool(check *c);
clnet_status clnet_check_unpool(check *c);
clnet_status clnet_check_unpool_backward(check *c);
clnet_status clnet_check_pool_backward(check *c);
clnet_status clnet_check_softmax_xent(check *c);
clnet_status clnet_check_mse(check *c);
clnet_status clnet_check_mmi(check *c);
clnet_status clnet_check_reduce(check *c);
clnet_status clnet_check_sgd(check *c);
clnet_status clnet_check_adam(check *c);

#endif
