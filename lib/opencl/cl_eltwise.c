/* cl_eltwise.c - OpenCL launchers for ACTIVATION(_BACKWARD), DROPOUT, BINARY,
 * BIAS_ADD, CONCAT, CHANNEL_SHUFFLE and SOFTMAX, and clnet_cl_bias_add;
 * kernels in cl/eltwise.cl. */
#include "core/geometry.h"
#include "opencl/clcl.h"

#include <stdio.h>

#define NARGS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* The kernel of activation `fn` in cl/eltwise.cl: act_<name>, with
 * `suffix` "_backward" for its gradient (see CLNET_ACTIVATIONS, common.clh). */
static const char *activation_kernel(clnet_activation fn, const char *suffix, char *buf,
                                     size_t size)
{
    snprintf(buf, size, "act_%s%s", clnet_act_info_get(fn)->name, suffix);
    return buf;
}

/* Launches kernel `name` of cl/eltwise.cl over the exact grid `global`
 * (see the grid shapes described there). */
static clnet_status launch(clnet_device *dev, const char *name, int nargs,
                           const clnet_cl_arg *args, cl_uint dims, const size_t *global)
{
    return clnet_cl_launch_program(dev, "eltwise", name, nargs, args, dims, global);
}

/* Launches kernel `name` of cl/eltwise.cl, one of 16 elements a
 * work-item, over the vectors of `grid` (see vector_grid) as one padded
 * 1-D grid: its arguments `args`, then VECTOR_ARGS (vectors an image, and
 * in all). */
static clnet_status launch16(clnet_device *dev, const char *name, int nargs,
                             const clnet_cl_arg *args, const size_t grid[2])
{
    clnet_cl_arg all[16];
    if (nargs + 2 > (int)(sizeof all / sizeof all[0]))
        return clnet_fail(dev->ctx, CLNET_ERR_INTERNAL, "%s: %d arguments", name, nargs);
    cl_int per_image = (cl_int)grid[0], vectors = (cl_int)(grid[0] * grid[1]);
    for (int i = 0; i < nargs; i++)
        all[i] = args[i];
    all[nargs] = CLNET_CL_ARG(per_image);
    all[nargs + 1] = CLNET_CL_ARG(vectors);
    return clnet_cl_launch_padded(dev, "eltwise", name, nargs + 2, all, grid[0] * grid[1]);
}

/* Grid (image, N) over a tensor's images. */
static void image_grid(const clnet_tensor *t, size_t grid[2])
{
    grid[0] = (size_t)clnet_tensor_image_numel(t);
    grid[1] = (size_t)t->shape[0];
}

/* The grid of the kernels that handle 16 elements per work-item (name
 * suffix "16") on tensors of one image size: (image / 16, N) where an
 * image is whole vectors; else, where every tensor's images follow each
 * other without gaps and the batch is whole vectors, (N * image / 16, 1),
 * the batch as one image (airbench's 24 x 31 x 31 images). False where
 * neither holds. */
static bool vector_grid(const clnet_tensor *const *ts, int count, size_t grid[2])
{
    const int64_t image = clnet_tensor_image_numel(ts[0]), n = ts[0]->shape[0];
    if (image % 16 == 0) {
        grid[0] = (size_t)(image / 16);
        grid[1] = (size_t)n;
        return true;
    }
    if (n * image % 16 != 0)
        return false;
    for (int i = 0; i < count; i++)
        if (ts[i]->stride[0] != image)
            return false;
    grid[0] = (size_t)(n * image / 16);
    grid[1] = 1;
    return true;
}

/* The ReLU family and the smooth functions, whose gradients have a
 * 16-element kernel too. */
static bool backward16(clnet_activation fn)
{
    switch (fn) {
    case CLNET_ACT_RELU:
    case CLNET_ACT_LEAKY_RELU:
    case CLNET_ACT_RELU6:
    case CLNET_ACT_SIGMOID:
    case CLNET_ACT_TANH:
    case CLNET_ACT_SWISH:
    case CLNET_ACT_LECUN_TANH:
    case CLNET_ACT_GELU:
        return true;
    default:
        return false;
    }
}

/* Grid (spatial, C, N); spatial is 1 for a rank-2 tensor, and C too for a
 * rank-1 one (N values, one per "image"). */
static void channel_grid(const clnet_tensor *t, size_t grid[3])
{
    grid[0] = (size_t)clnet_spatial_numel(t);
    grid[1] = t->ndim > 1 ? (size_t)t->shape[1] : 1;
    grid[2] = (size_t)t->shape[0];
}

/* Whether `a` already is the block of y's images that starts `start`
 * elements into each image, so copying it there would change nothing. */
static bool in_place(const clnet_tensor *a, const clnet_tensor *y, int64_t start)
{
    return a->storage == y->storage && a->offset == y->offset + start &&
           a->stride[0] == y->stride[0];
}

clnet_status clnet_cl_activation(clnet_device *dev, const clnet_act_params *p,
                                 const clnet_tensor *x, clnet_tensor *y)
{
    clnet_cl_tensor_args xa = clnet_cl_targs(x), ya = clnet_cl_targs(y);
    cl_float alpha = p->alpha;
    clnet_cl_arg args[] = { CLNET_CL_TENSOR(xa), CLNET_CL_TENSOR(ya), CLNET_CL_ARG(alpha) };
    const clnet_tensor *const ts[] = {x, y};
    size_t grid[2];
    const bool vec = vector_grid(ts, 2, grid);
    if (!vec)
        image_grid(y, grid);
    char name[64];
    if (vec)
        return launch16(dev, activation_kernel(p->fn, "16", name, sizeof name), NARGS(args), args,
                        grid);
    return launch(dev, activation_kernel(p->fn, "", name, sizeof name), NARGS(args), args, 2,
                  grid);
}

/* dx = dy * f'(x); dx may be dy. */
static clnet_status run_activation_backward(clnet_device *dev, const clnet_act_params *p,
                                            const clnet_tensor *x, const clnet_tensor *dy,
                                            clnet_tensor *dx)
{
    clnet_cl_tensor_args xa = clnet_cl_targs(x), dya = clnet_cl_targs(dy);
    clnet_cl_tensor_args dxa = clnet_cl_targs(dx);
    cl_float alpha = p->alpha;
    clnet_cl_arg args[] = {
        CLNET_CL_TENSOR(xa), CLNET_CL_TENSOR(dya), CLNET_CL_TENSOR(dxa), CLNET_CL_ARG(alpha),
    };
    const clnet_tensor *const ts[] = {x, dy, dx};
    size_t grid[2];
    const bool vec = backward16(p->fn) && vector_grid(ts, 3, grid);
    if (!vec)
        image_grid(dx, grid);
    char name[64];
    if (vec)
        return launch16(dev, activation_kernel(p->fn, "_backward16", name, sizeof name),
                        NARGS(args), args, grid);
    return launch(dev, activation_kernel(p->fn, "_backward", name, sizeof name), NARGS(args),
                  args, 2, grid);
}

/* Copies each image of x into y's image, starting `start` elements in. */
static clnet_status copy_block(clnet_device *dev, const clnet_tensor *x, clnet_tensor *y,
                               int64_t start)
{
    if (in_place(x, y, start))
        return CLNET_OK;
    clnet_cl_tensor_args xa = clnet_cl_targs(x), ya = clnet_cl_targs(y);
    cl_int y_start = (cl_int)start;
    clnet_cl_arg args[] = { CLNET_CL_TENSOR(xa), CLNET_CL_TENSOR(ya), CLNET_CL_ARG(y_start) };
    const clnet_tensor *const ts[] = {x, y};
    size_t grid[2];
    const bool vec = vector_grid(ts, 2, grid);
    if (!vec)
        image_grid(x, grid);
    if (vec)
        return launch16(dev, "copy_block16", NARGS(args), args, grid);
    return launch(dev, "copy_block", NARGS(args), args, 2, grid);
}

static clnet_status run_dropout(clnet_device *dev, const clnet_dropout_params *p,
                                const clnet_tensor *x, clnet_tensor *y)
{
    if (!p->training)
        return copy_block(dev, x, y, 0);
    clnet_cl_tensor_args xa = clnet_cl_targs(x), ya = clnet_cl_targs(y);
    cl_uint seed_lo = (cl_uint)p->seed, seed_hi = (cl_uint)(p->seed >> 32);
    cl_float prob = p->p;
    cl_ulong first = (cl_ulong)p->first_image;
    clnet_cl_arg args[] = {
        CLNET_CL_TENSOR(xa), CLNET_CL_TENSOR(ya),
        CLNET_CL_ARG(seed_lo), CLNET_CL_ARG(seed_hi), CLNET_CL_ARG(prob), CLNET_CL_ARG(first),
    };
    size_t grid[2];
    image_grid(y, grid);
    return launch(dev, "dropout", NARGS(args), args, 2, grid);
}

/* b has a's shape, or (N, C, 1, ...): then one b entry serves every
 * spatial position of its channel. */
static clnet_status run_binary(clnet_device *dev, clnet_binary_fn fn, const clnet_tensor *a,
                               const clnet_tensor *b, clnet_tensor *y)
{
    clnet_cl_tensor_args aa = clnet_cl_targs(a), ba = clnet_cl_targs(b);
    clnet_cl_tensor_args ya = clnet_cl_targs(y);
    int64_t spatial = clnet_spatial_numel(a);
    bool per_channel = clnet_spatial_numel(b) != spatial;
    bool add = fn == CLNET_BINARY_ADD;
    const clnet_tensor *const ts[] = {a, b, y};
    size_t vgrid[2];
    if (!per_channel && vector_grid(ts, 3, vgrid)) {
        clnet_cl_arg args[] = {CLNET_CL_TENSOR(aa), CLNET_CL_TENSOR(ba), CLNET_CL_TENSOR(ya)};
        return launch16(dev, add ? "binary_add16" : "binary_mul16", NARGS(args), args, vgrid);
    }
    cl_int b_cs = per_channel ? 1 : (cl_int)spatial, b_ss = per_channel ? 0 : 1;
    clnet_cl_arg args[] = {
        CLNET_CL_TENSOR(aa), CLNET_CL_TENSOR(ba), CLNET_CL_TENSOR(ya),
        CLNET_CL_ARG(b_cs), CLNET_CL_ARG(b_ss),
    };
    size_t grid[3];
    channel_grid(y, grid);
    return launch(dev, add ? "binary_add" : "binary_mul", NARGS(args), args, 3, grid);
}

/* y = x + b[c]; x may be y. b (C) goes as a tensor whose "batch stride" is
 * the distance between its entries. */
static clnet_status launch_bias_add(clnet_device *dev, const clnet_tensor *x, clnet_tensor *y,
                                    const clnet_tensor *b)
{
    clnet_cl_tensor_args xa = clnet_cl_targs(x), ya = clnet_cl_targs(y);
    clnet_cl_tensor_args ba = clnet_cl_targs(b);
    clnet_cl_arg args[] = { CLNET_CL_TENSOR(xa), CLNET_CL_TENSOR(ya), CLNET_CL_TENSOR(ba) };
    size_t grid[3];
    channel_grid(y, grid);
    return launch(dev, "bias_add", NARGS(args), args, 3, grid);
}

clnet_status clnet_cl_bias_add(clnet_device *dev, clnet_tensor *y, const clnet_tensor *b)
{
    if (y->ndim < 2 || clnet_tensor_numel(b) != y->shape[1])
        return clnet_fail(dev->ctx, CLNET_ERR_SHAPE,
                          "opencl bias_add on %s: a bias of %lld entries for %lld channels",
                          dev->info.name, (long long)clnet_tensor_numel(b),
                          (long long)(y->ndim < 2 ? 0 : y->shape[1]));
    return launch_bias_add(dev, y, y, b);
}

/* One copy per input, each input's channels being one contiguous block of
 * every output image; inputs already in place (channel views of y) are
 * skipped. */
static clnet_status run_concat(clnet_device *dev, int nin, clnet_tensor *const *in,
                               clnet_tensor *y)
{
    int64_t spatial = clnet_spatial_numel(y), start = 0;
    for (int i = 0; i < nin; i++) {
        clnet_status st = copy_block(dev, in[i], y, start);
        if (st != CLNET_OK)
            return st;
        start += in[i]->shape[1] * spatial;
    }
    return CLNET_OK;
}

static clnet_status run_channel_shuffle(clnet_device *dev, int groups, const clnet_tensor *x,
                                       clnet_tensor *y)
{
    clnet_cl_tensor_args xa = clnet_cl_targs(x), ya = clnet_cl_targs(y);
    cl_int g = groups;
    clnet_cl_arg args[] = { CLNET_CL_TENSOR(xa), CLNET_CL_TENSOR(ya), CLNET_CL_ARG(g) };
    size_t grid[3];
    channel_grid(y, grid);
    return launch(dev, "channel_shuffle", NARGS(args), args, 3, grid);
}

/* One work-item per (spatial position, n) walks the channels. */
static clnet_status run_softmax(clnet_device *dev, bool log_out, const clnet_tensor *x,
                                clnet_tensor *y)
{
    clnet_cl_tensor_args xa = clnet_cl_targs(x), ya = clnet_cl_targs(y);
    cl_int channels = (cl_int)y->shape[1];
    cl_int log_flag = log_out;
    clnet_cl_arg args[] = {
        CLNET_CL_TENSOR(xa), CLNET_CL_TENSOR(ya), CLNET_CL_ARG(channels), CLNET_CL_ARG(log_flag),
    };
    size_t grid[2] = { (size_t)clnet_spatial_numel(y), (size_t)y->shape[0] };
    return launch(dev, "softmax", NARGS(args), args, 2, grid);
}

clnet_status clnet_cl_run_eltwise(clnet_device *dev, const clnet_op *op, int nin,
                                  clnet_tensor *const *in, int nout, clnet_tensor *const *out)
{
    (void)nout;
    switch (op->kind) {
    case CLNET_OP_ACTIVATION:
        return clnet_cl_activation(dev, &op->u.act, in[0], out[0]);
    case CLNET_OP_ACTIVATION_BACKWARD:
        return run_activation_backward(dev, &op->u.act, in[0], in[1], out[0]);
    case CLNET_OP_DROPOUT:
        return run_dropout(dev, &op->u.dropout, in[0], out[0]);
    case CLNET_OP_BINARY:
        return run_binary(dev, op->u.binary.fn, in[0], in[1], out[0]);
    case CLNET_OP_BIAS_ADD:
        return launch_bias_add(dev, in[0], out[0], in[1]);
    case CLNET_OP_CONCAT:
        return run_concat(dev, nin, in, out[0]);
    case CLNET_OP_CHANNEL_SHUFFLE:
        return run_channel_shuffle(dev, op->u.shuffle.groups, in[0], out[0]);
    case CLNET_OP_SOFTMAX:
        return run_softmax(dev, op->u.softmax.log, in[0], out[0]);
    default:
        return clnet_fail(dev->ctx, CLNET_ERR_INTERNAL, "opencl: op %s is not element-wise",
                          clnet_op_kind_name(op->kind));
    }
}
