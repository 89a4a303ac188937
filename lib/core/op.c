/* op.c - op descriptor constructors, and clnet_op_run: validate the op
 * against real tensors, then hand it to the device's backend; its tensor,
 * output and dispatch steps are shared with planned ops (op_plan.c). */
#include "core/internal.h"

#include <stdio.h>
#include <string.h>

clnet_op clnet_op_conv(int stride, int pad, int dilation, int groups)
{
    clnet_op op = {.kind = CLNET_OP_CONV};
    clnet_conv_params *p = &op.u.conv;
    for (int a = 0; a < 2; a++) {
        p->stride[a] = stride;
        p->pad_begin[a] = p->pad_end[a] = pad;
        p->dilation[a] = dilation;
    }
    p->groups = groups;
    return op;
}

clnet_op clnet_op_conv_transpose(int stride, int pad, int output_padding, int dilation, int groups)
{
    clnet_op op = clnet_op_conv(stride, pad, dilation, groups);
    op.kind = CLNET_OP_CONV_TRANSPOSE;
    op.u.conv.output_padding[0] = op.u.conv.output_padding[1] = output_padding;
    return op;
}

clnet_op clnet_op_pool(clnet_pool_mode mode, int kernel, int stride, int pad)
{
    clnet_op op = {.kind = CLNET_OP_POOL};
    clnet_pool_params *p = &op.u.pool;
    p->mode = mode;
    for (int a = 0; a < 2; a++) {
        p->kernel[a] = kernel;
        p->stride[a] = stride;
        p->pad_begin[a] = p->pad_end[a] = pad;
    }
    p->count_include_pad = true;
    return op;
}

clnet_op clnet_op_global_pool(clnet_pool_mode mode)
{
    clnet_op op = {.kind = CLNET_OP_POOL};
    op.u.pool.mode = mode;
    op.u.pool.global = true;
    return op;
}

clnet_op clnet_op_activation(clnet_activation fn, float alpha)
{
    clnet_op op = {.kind = CLNET_OP_ACTIVATION};
    op.u.act.fn = fn;
    op.u.act.alpha = alpha;
    return op;
}

clnet_op clnet_op_simple(clnet_op_kind kind)
{
    clnet_op op = {.kind = kind};
    if (kind == CLNET_OP_BATCHNORM || kind == CLNET_OP_BATCHNORM_STATS)
        op.u.bn.eps = 1e-5f;
    return op;
}

clnet_op clnet_op_conv_backward_data(const clnet_op *fwd, const clnet_shape *x,
                                     const clnet_shape *w)
{
    clnet_op op = *fwd;
    op.kind = CLNET_OP_CONV_TRANSPOSE;
    clnet_conv_params *p = &op.u.conv;
    int first = x->ndim == 3 ? 1 : 0;
    for (int a = first; a < 2; a++) {
        int axis = x->ndim == 4 ? 2 + a : 2; /* a 1-D tensor has only the width */
        int64_t in = x->dim[axis], k = w->dim[axis];
        int64_t span = (int64_t)p->dilation[a] * (k - 1) + 1;
        int64_t out = (in + p->pad_begin[a] + p->pad_end[a] - span) / p->stride[a] + 1;
        /* the transposed op maps `out` back to the largest size that maps to
         * `out`; output_padding adds what the forward's floor dropped */
        p->output_padding[a] = (int)(in - ((out - 1) * p->stride[a] - p->pad_begin[a] -
                                           p->pad_end[a] + span));
    }
    return op;
}

bool clnet_op_supported(clnet_device *dev, const clnet_op *op)
{
    if (!dev || !op || (int)op->kind < 0 || op->kind >= CLNET_OP_KIND_COUNT)
        return false;
    const clnet_backend_iface *b = dev->iface;
    return b->runners[clnet_op_kind_family(op->kind)] && (!b->supports || b->supports(dev, op));
}

/* Optional tensors are NULL entries at the end of a list: drop them from the
 * count. A NULL anywhere else is an error. */
static clnet_status trim(clnet_ctx *ctx, const char *name, const char *what,
                         clnet_tensor *const *list, int *count, int max)
{
    if (*count < 0 || *count > max || (*count > 0 && !list))
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: %d %s (at most %d)", name,
                          *count, what, max);
    while (*count > 0 && !list[*count - 1])
        (*count)--;
    for (int i = 0; i < *count; i++)
        if (!list[i])
            return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: %s %d is NULL", name, what, i);
    return CLNET_OK;
}

static clnet_status same_device(clnet_device *dev, const char *name, const char *what,
                                clnet_tensor *const *list, int count)
{
    for (int i = 0; i < count; i++)
        if (list[i]->storage->dev != dev)
            return clnet_fail(dev->ctx, CLNET_ERR_DEVICE_MISMATCH,
                              "%s: %s %d lives on device %d (%s), the op runs on %d (%s)", name,
                              what, i, list[i]->storage->dev->info.index,
                              list[i]->storage->dev->info.name, dev->info.index, dev->info.name);
    return CLNET_OK;
}

clnet_status clnet_op_tensors_check(clnet_device *dev, const char *name, clnet_tensor *const *in,
                                    int *nin, clnet_tensor *const *out, int *nout)
{
    TRY(trim(dev->ctx, name, "input", in, nin, CLNET_OP_MAX_INPUTS));
    TRY(trim(dev->ctx, name, "output", out, nout, CLNET_OP_MAX_OUTPUTS));
    TRY(same_device(dev, name, "input", in, *nin));
    return same_device(dev, name, "output", out, *nout);
}

bool clnet_tensor_has_shape(const clnet_tensor *t, const clnet_shape *want)
{
    return t->ndim == want->ndim &&
           memcmp(t->shape, want->dim, (size_t)want->ndim * sizeof want->dim[0]) == 0;
}

clnet_status clnet_op_outputs_check(clnet_ctx *ctx, const char *name, int nout,
                                    clnet_tensor *const *out, int produced, int fewest,
                                    const clnet_shape *want, const clnet_dtype *want_dtype)
{
    /* Optional outputs, all or none (the op table's first_optional_output):
     * max pooling's argmax, momentum-free SGD's velocity, batch norm's
     * running statistics. */
    if (nout != fewest && nout != produced) {
        if (fewest == produced)
            return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: %d outputs given, needs %d",
                              name, nout, produced);
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: %d outputs given, needs %d or %d",
                          name, nout, fewest, produced);
    }
    for (int i = 0; i < nout; i++) {
        if (!clnet_tensor_has_shape(out[i], &want[i])) {
            char g[96], w[96];
            const clnet_shape got = clnet_tensor_shape(out[i]);
            clnet_shape_format(g, sizeof g, &got);
            clnet_shape_format(w, sizeof w, &want[i]);
            return clnet_fail(ctx, CLNET_ERR_SHAPE, "%s: output %d is %s, the op produces %s",
                              name, i, g, w);
        }
        if (out[i]->dtype != want_dtype[i])
            return clnet_fail(ctx, CLNET_ERR_DTYPE, "%s: output %d must be %s", name, i,
                              want_dtype[i] == CLNET_I32 ? "I32" : "F32");
    }
    return CLNET_OK;
}

clnet_status clnet_op_dispatch(clnet_device *dev, const clnet_op *op, int nin,
                               clnet_tensor *const *in, int nout, clnet_tensor *const *out)
{
    for (int i = 0; i < nout; i++)
        clnet_storage_touch(out[i]->storage);
    return dev->iface->runners[clnet_op_kind_family(op->kind)](dev, op, nin, in, nout, out);
}

clnet_status clnet_op_run(clnet_device *dev, const clnet_op *op, int nin,
                          clnet_tensor *const *in, int nout, clnet_tensor *const *out)
{
    clnet_error_clear(dev ? dev->ctx : NULL);
    clnet_ctx *ctx = dev ? dev->ctx : NULL;
    if (!dev || !op)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_op_run: NULL device or op");
    const char *name = clnet_op_kind_name(op->kind);
    TRY(clnet_op_tensors_check(dev, name, in, &nin, out, &nout));

    clnet_shape shapes[CLNET_OP_MAX_INPUTS], want[CLNET_OP_MAX_OUTPUTS];
    clnet_dtype dtypes[CLNET_OP_MAX_INPUTS], want_dtype[CLNET_OP_MAX_OUTPUTS];
    for (int i = 0; i < nin; i++) {
        shapes[i] = clnet_tensor_shape(in[i]);
        dtypes[i] = in[i]->dtype;
    }
    int produced = 0, fewest = 0;
    TRY(clnet_op_check(ctx, op, nin, shapes, dtypes, &produced, want, want_dtype, &fewest));
    TRY(clnet_op_outputs_check(ctx, name, nout, out, produced, fewest, want, want_dtype));
    if (!clnet_op_supported(dev, op))
        return clnet_fail(ctx, CLNET_ERR_UNSUPPORTED, "%s: not supported on device %d (%s)", name,
                          dev->info.index, dev->info.name);
    return clnet_op_dispatch(dev, op, nin, in, nout, out);
}
