/* op_check_pool.c - checks and output shapes of POOL, UNPOOL, POOL_BACKWARD
 * and UNPOOL_BACKWARD (the ops of lib/ref/ref_pool.c). */
#include "core/op_check.h"

/* PyTorch's pooling output size, ceil mode included. */
static int64_t pool_out(int64_t in, int k, int s, int pb, int pe, bool ceil_mode)
{
    int64_t span = in + pb + pe - k;
    int64_t out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
    if (ceil_mode && (out - 1) * s >= in + pb)
        out--;
    return out;
}

/* Adaptive pooling: averaging modes only, an output size for each used axis. */
static clnet_status check_adaptive(const check *c, const clnet_pool_mode_info *mode, int first,
                                   int64_t out_size[2])
{
    const clnet_pool_params *p = &c->op->u.pool;
    if (!mode->averages || p->global)
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

clnet_status clnet_check_pool(check *c)
{
    const clnet_pool_params *p = &c->op->u.pool;
    TRY(f32_rank(c, 0, "x", 3, 4));
    const clnet_shape *x = &c->in[0];
    const clnet_pool_mode_info *mode = clnet_pool_mode_info_get(p->mode);
    if (!mode)
        return fail(c, CLNET_ERR_INVALID_PARAMS, "unknown pooling mode %d", (int)p->mode);
    int64_t in_size[2], out_size[2] = {1, 1};
    plane(x, &in_size[0], &in_size[1]);
    if (p->adaptive) {
        TRY(check_adaptive(c, mode, x->ndim == 3 ? 1 : 0, out_size));
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
    if (mode->selects) {
        c->nout = 2;
        c->out[1] = y;
        c->out_dtype[1] = CLNET_I32;
    }
    return CLNET_OK;
}

clnet_status clnet_check_unpool(check *c)
{
    const clnet_unpool_params *p = &c->op->u.unpool;
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

clnet_status clnet_check_pool_backward(check *c)
{
    clnet_op fwd = *c->op;
    fwd.kind = CLNET_OP_POOL;
    TRY(clnet_check_forward_gives_dy(c, fwd, 1, c->in, c->dtype));
    if (c->nin == 3) {
        if (!clnet_pool_mode_info_get(c->op->u.pool.mode)->selects)
            return fail(c, CLNET_ERR_INVALID_ARGUMENT, "an argmax input needs a pooling mode "
                        "that selects (max), not %s",
                        clnet_pool_mode_info_get(c->op->u.pool.mode)->name);
        if (c->dtype[2] != CLNET_I32)
            return fail(c, CLNET_ERR_DTYPE, "input 2 (argmax) must be I32");
        if (c->in[2].ndim != c->in[1].ndim ||
            memcmp(c->in[2].dim, c->in[1].dim, (size_t)c->in[1].ndim * sizeof c->in[1].dim[0]))
            return fail(c, CLNET_ERR_SHAPE, "argmax must have dy's shape");
    }
    return out_f32(c, c->in[0]);
}

/* dy has UNPOOL's output shape, argmax its input's, which dx takes. */
clnet_status clnet_check_unpool_backward(check *c)
{
    const clnet_unpool_params *p = &c->op->u.unpool;
    TRY(f32_rank(c, 0, "dy", 3, 4));
    const clnet_shape *dy = &c->in[0], *idx = &c->in[1];
    if (c->dtype[1] != CLNET_I32)
        return fail(c, CLNET_ERR_DTYPE, "input 1 (argmax) must be I32");
    if (idx->ndim != dy->ndim || idx->dim[0] != dy->dim[0] || idx->dim[1] != dy->dim[1])
        return fail(c, CLNET_ERR_SHAPE, "argmax must have the rank, batch and channels of dy");
    int64_t h, w;
    plane(dy, &h, &w);
    if (w != p->out_w || (dy->ndim == 4 && h != p->out_h))
        return fail(c, CLNET_ERR_SHAPE, "dy's plane %lldx%lld is not the unpooled plane %dx%d",
                    (long long)h, (long long)w, p->out_h, p->out_w);
    return out_f32(c, *idx);
}
