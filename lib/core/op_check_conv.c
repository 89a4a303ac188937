/* op_check_conv.c - checks and output shapes of CONV, CONV_TRANSPOSE and
 * CONV_BACKWARD_WEIGHTS (the ops of lib/ref/ref_conv.c). */
#include "core/op_check.h"

clnet_status clnet_check_conv(check *c)
{
    const clnet_conv_params *p = &c->op->u.conv;
    bool transposed = c->op->kind == CLNET_OP_CONV_TRANSPOSE;
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

clnet_status clnet_check_conv_backward_weights(check *c)
{
    const clnet_conv_params *p = &c->op->u.conv;
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
    TRY(clnet_check_forward_gives_dy(c, fwd, 2, fin, fdt));
    return out_f32(c, w);
}
