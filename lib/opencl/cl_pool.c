/* cl_pool.c - OpenCL launchers for POOL (windowed, adaptive, and global as a
 * reduction per plane), UNPOOL, POOL_BACKWARD and UNPOOL_BACKWARD; kernels in cl/pool.cl,
 * found by the pooling mode's name. */
#include <stdio.h>

#include "core/geometry.h"
#include "opencl/clcl.h"

#define NARGS(a) ((int)(sizeof(a) / sizeof((a)[0])))
/* PB_VW of cl/pool.cl: input columns per work-item of pool_backward_argmax_2x2. */
#define PB_VW 16

/* Mirrors `pool_shape` in cl/pool.cl, passed by value: cl_int fields only,
 * so host and device lay it out alike. */
typedef struct pool_shape {
    cl_int c, h, w;
    cl_int oh, ow;
    cl_int kh, kw;
    cl_int stride_h, stride_w;
    cl_int pad_h, pad_w;
    cl_int end_h, end_w;
    cl_int count_include_pad;
} pool_shape;

/* Every value fits: buffers hold at most 2^31-1 elements (cl_buffer_alloc)
 * and the core keeps windows, strides and padding within the input. */
static pool_shape shape_of(const clnet_pool_geom *g)
{
    pool_shape s;
    s.c = (cl_int)g->c;
    s.h = (cl_int)g->h;
    s.w = (cl_int)g->w;
    s.oh = (cl_int)g->oh;
    s.ow = (cl_int)g->ow;
    s.kh = (cl_int)g->kh;
    s.kw = (cl_int)g->kw;
    s.stride_h = (cl_int)g->stride_h;
    s.stride_w = (cl_int)g->stride_w;
    s.pad_h = (cl_int)g->pad_h;
    s.pad_w = (cl_int)g->pad_w;
    s.end_h = (cl_int)g->end_h;
    s.end_w = (cl_int)g->end_w;
    s.count_include_pad = g->count_include_pad;
    return s;
}

/* The name of a kernel of cl/pool.cl: pool_<kind><mode name><suffix>, e.g.
 * pool_global_max_argmax, the mode's name coming from the pooling mode
 * table. */
static const char *kernel_name(char *buf, size_t size, const char *kind,
                               const clnet_pool_geom *g, const char *suffix)
{
    snprintf(buf, size, "pool_%s%s%s", kind, clnet_pool_mode_info_get(g->mode)->name, suffix);
    return buf;
}

/* Launches kernel `name` of cl/pool.cl over the exact grid `global`. */
static clnet_status launch(clnet_device *dev, const char *name, int nargs,
                           const clnet_cl_arg *args, cl_uint dims, const size_t *global)
{
    return clnet_cl_launch_program(dev, "pool", name, nargs, args, dims, global);
}

/* Outputs along the width per work-item of the max kernels (PW of
 * cl/pool.cl). */
#define POOL_ROW_BLOCK 8

/* Whether the kernels of this mode take a row block of outputs per
 * work-item (max: vectors along the width), not one output. */
static bool row_blocks(const clnet_pool_geom *g)
{
    return clnet_pool_mode_info_get(g->mode)->selects && !g->adaptive;
}

/* One work-item per output element, grid (OW, OH, N * C), or per block of
 * POOL_ROW_BLOCK outputs of a row (row_blocks); rows of fewer than half a
 * block one plane per work-item over a one-dimensional grid (the _flat
 * kernels), where a block would leave most of its lanes idle. */
static clnet_status run_window(clnet_device *dev, const clnet_pool_geom *g,
                               const clnet_tensor *x, clnet_tensor *y, clnet_tensor *argmax)
{
    clnet_cl_tensor_args xa = clnet_cl_targs(x), ya = clnet_cl_targs(y);
    pool_shape shape = shape_of(g);
    const bool flat = row_blocks(g) && 2 * g->ow < POOL_ROW_BLOCK;
    const int64_t across = row_blocks(g) ? clnet_ceil_div(g->ow, POOL_ROW_BLOCK) : g->ow;
    size_t grid[3] = { (size_t)across, (size_t)g->oh, (size_t)(g->n * g->c) };
    if (flat)
        grid[0] = (size_t)(g->n * g->c);
    const cl_uint dims = flat ? 1 : 3;
    char name[64];
    if (argmax) {
        clnet_cl_tensor_args ia = clnet_cl_targs(argmax);
        clnet_cl_arg args[] = {
            CLNET_CL_TENSOR(xa), CLNET_CL_TENSOR(ya), CLNET_CL_TENSOR(ia), CLNET_CL_ARG(shape),
        };
        return launch(dev, kernel_name(name, sizeof name, "", g, flat ? "_argmax_flat" : "_argmax"),
                      NARGS(args), args, dims, grid);
    }
    clnet_cl_arg args[] = { CLNET_CL_TENSOR(xa), CLNET_CL_TENSOR(ya), CLNET_CL_ARG(shape) };
    kernel_name(name, sizeof name, g->adaptive ? "adaptive_" : "", g, flat ? "_flat" : "");
    return launch(dev, name, NARGS(args), args, dims, grid);
}

/* One work-group per (n, c) plane, its size from the kernel and device
 * limits; each work-item keeps a value (and, in a mode that selects, an
 * index) in local memory for the tree reduction. */
static clnet_status run_global(clnet_device *dev, const clnet_pool_geom *g,
                               const clnet_tensor *x, clnet_tensor *y, clnet_tensor *argmax)
{
    bool selects = clnet_pool_mode_info_get(g->mode)->selects;
    char name[64];
    kernel_name(name, sizeof name, "global_", g, argmax ? "_argmax" : "");
    cl_kernel kernel;
    clnet_status st = clnet_cl_kernel(dev, "pool", NULL, name, &kernel);
    if (st != CLNET_OK)
        return st;
    size_t per_item = sizeof(cl_float) + (selects ? sizeof(cl_int) : 0);
    size_t local;
    st = clnet_cl_reduce_size(dev, kernel, per_item, (size_t)(g->h * g->w), &local);
    if (st != CLNET_OK)
        return st;
    clnet_cl_tensor_args xa = clnet_cl_targs(x), ya = clnet_cl_targs(y);
    cl_int channels = (cl_int)g->c, plane = (cl_int)(g->h * g->w);
    clnet_cl_arg values = CLNET_CL_LOCAL(local * sizeof(cl_float));
    clnet_cl_arg indices = CLNET_CL_LOCAL(local * sizeof(cl_int));
    size_t global = local * (size_t)(g->n * g->c);
    if (!selects) {
        clnet_cl_arg args[] = {
            CLNET_CL_TENSOR(xa), CLNET_CL_TENSOR(ya), CLNET_CL_ARG(channels), CLNET_CL_ARG(plane),
            values,
        };
        return clnet_cl_launch(dev, kernel, name, NARGS(args), args, 1, &global, &local);
    }
    if (!argmax) {
        clnet_cl_arg args[] = {
            CLNET_CL_TENSOR(xa), CLNET_CL_TENSOR(ya), CLNET_CL_ARG(channels), CLNET_CL_ARG(plane),
            values, indices,
        };
        return clnet_cl_launch(dev, kernel, name, NARGS(args), args, 1, &global, &local);
    }
    clnet_cl_tensor_args ia = clnet_cl_targs(argmax);
    clnet_cl_arg args[] = {
        CLNET_CL_TENSOR(xa), CLNET_CL_TENSOR(ya), CLNET_CL_TENSOR(ia),
        CLNET_CL_ARG(channels), CLNET_CL_ARG(plane), values, indices,
    };
    return clnet_cl_launch(dev, kernel, name, NARGS(args), args, 1, &global, &local);
}

/* The kernels that pair each element of an argmax-shaped tensor with its
 * index into the unpooled plane, unpool_scatter (x into y) and unpool_gather
 * (dy into dx): arguments (src, argmax, dst, unpooled plane size, argmax's
 * image and plane sizes), one work-item per element of argmax. */
static clnet_status run_indexed(clnet_device *dev, const char *name, const clnet_tensor *src,
                                const clnet_tensor *argmax, clnet_tensor *dst,
                                const clnet_tensor *unpooled)
{
    clnet_cl_tensor_args sa = clnet_cl_targs(src), ia = clnet_cl_targs(argmax);
    clnet_cl_tensor_args da = clnet_cl_targs(dst);
    cl_int out_plane = (cl_int)clnet_spatial_numel(unpooled);
    cl_int image = (cl_int)clnet_tensor_image_numel(argmax);
    cl_int plane = (cl_int)clnet_spatial_numel(argmax);
    clnet_cl_arg args[] = {
        CLNET_CL_TENSOR(sa), CLNET_CL_TENSOR(ia), CLNET_CL_TENSOR(da), CLNET_CL_ARG(out_plane),
        CLNET_CL_ARG(image), CLNET_CL_ARG(plane),
    };
    size_t grid = (size_t)clnet_tensor_numel(argmax);
    return launch(dev, name, NARGS(args), args, 1, &grid);
}

/* Zeroes t's images by a kernel, not a buffer fill: t may be a view. */
static clnet_status zero_images(clnet_device *dev, clnet_tensor *t)
{
    clnet_cl_tensor_args ta = clnet_cl_targs(t);
    clnet_cl_arg args[] = { CLNET_CL_TENSOR(ta) };
    size_t grid[2] = { (size_t)clnet_tensor_image_numel(t), (size_t)t->shape[0] };
    return launch(dev, "unpool_zero", NARGS(args), args, 2, grid);
}

/* y is zeroed, then every x is added at its argmax. An index outside the
 * plane is skipped, since a kernel cannot report it without a round trip
 * to the host. */
static clnet_status run_unpool(clnet_device *dev, const clnet_tensor *x,
                               const clnet_tensor *argmax, clnet_tensor *y)
{
    clnet_status st = zero_images(dev, y);
    return st == CLNET_OK ? run_indexed(dev, "unpool_scatter", x, argmax, y, y) : st;
}

/* The gradient of global pooling in a mode that selects: one work-group per
 * plane finds its first maximum and writes the plane (see pool.cl). */
static clnet_status run_backward_global_select(clnet_device *dev, const clnet_pool_geom *g,
                                               const clnet_tensor *x, const clnet_tensor *dy,
                                               clnet_tensor *dx)
{
    char name[64];
    kernel_name(name, sizeof name, "backward_global_", g, "");
    cl_kernel kernel;
    clnet_status st = clnet_cl_kernel(dev, "pool", NULL, name, &kernel);
    if (st != CLNET_OK)
        return st;
    size_t local;
    st = clnet_cl_reduce_size(dev, kernel, sizeof(cl_float) + sizeof(cl_int),
                              (size_t)(g->h * g->w), &local);
    if (st != CLNET_OK)
        return st;
    clnet_cl_tensor_args xa = clnet_cl_targs(x), dya = clnet_cl_targs(dy);
    clnet_cl_tensor_args dxa = clnet_cl_targs(dx);
    cl_int channels = (cl_int)g->c, plane = (cl_int)(g->h * g->w);
    clnet_cl_arg args[] = {
        CLNET_CL_TENSOR(xa), CLNET_CL_TENSOR(dya), CLNET_CL_TENSOR(dxa),
        CLNET_CL_ARG(channels), CLNET_CL_ARG(plane),
        CLNET_CL_LOCAL(local * sizeof(cl_float)), CLNET_CL_LOCAL(local * sizeof(cl_int)),
    };
    size_t global = local * (size_t)(g->n * g->c);
    return clnet_cl_launch(dev, kernel, name, NARGS(args), args, 1, &global, &local);
}

/* Planes of dx per compute unit from which a CPU's overlapping windows
 * take a work-item per plane (pool_backward_argmax_plane): with fewer,
 * some units would idle while one adds up a plane. */
#define PB_PLANES_PER_UNIT 16

/* Max pooling's gradient from the forward's argmax: 2x2 windows at stride
 * 2 without padding (the common case, no window sharing an input) as a
 * gather, a row of vectors per work-item; other windows that share no
 * input as a gather a row per work-item; overlapping ones on a CPU with
 * planes enough for its units a plane per work-item; the rest as UNPOOL,
 * zeroing dx and adding each window's dy at its argmax with atomics. */
static clnet_status run_backward_argmax(clnet_device *dev, const clnet_pool_geom *g,
                                        const clnet_tensor *dy, const clnet_tensor *argmax,
                                        clnet_tensor *dx)
{
    clnet_cl_tensor_args dya = clnet_cl_targs(dy), ia = clnet_cl_targs(argmax);
    clnet_cl_tensor_args dxa = clnet_cl_targs(dx);
    pool_shape shape = shape_of(g);
    clnet_cl_arg args[] = {
        CLNET_CL_TENSOR(dya), CLNET_CL_TENSOR(ia), CLNET_CL_TENSOR(dxa), CLNET_CL_ARG(shape),
    };
    const bool disjoint = g->kh <= g->stride_h && g->kw <= g->stride_w && g->pad_h == 0 &&
                          g->pad_w == 0;
    if (disjoint && g->kh == 2 && g->kw == 2 && g->stride_h == 2 && g->stride_w == 2) {
        size_t grid[3] = {(size_t)clnet_ceil_div(g->w, PB_VW), (size_t)g->h,
                          (size_t)(g->n * g->c)};
        return launch(dev, "pool_backward_argmax_2x2", NARGS(args), args, 3, grid);
    }
    if (disjoint) {
        size_t rows[2] = {(size_t)g->h, (size_t)(g->n * g->c)};
        return launch(dev, "pool_backward_argmax_disjoint", NARGS(args), args, 2, rows);
    }
    const int64_t planes = g->n * g->c;
    if (clnet_cl_is_cpu(dev) && planes >= PB_PLANES_PER_UNIT * dev->info.compute_units) {
        size_t grid = (size_t)planes;
        return launch(dev, "pool_backward_argmax_plane", NARGS(args), args, 1, &grid);
    }
    size_t windows = (size_t)clnet_tensor_numel(dy);
    clnet_status st = zero_images(dev, dx);
    return st == CLNET_OK ? launch(dev, "pool_backward_argmax", NARGS(args), args, 1, &windows)
                          : st;
}

/* One work-item per dx element, grid (W, H, N * C), gathering from the
 * windows that contain it: no atomics, and each element is written once.
 * Max pooling from its argmax, global max pooling and global average
 * pooling have kernels of their own. */
static clnet_status run_backward(clnet_device *dev, const clnet_op *op, const clnet_tensor *x,
                                 const clnet_tensor *dy, const clnet_tensor *argmax,
                                 clnet_tensor *dx)
{
    clnet_pool_geom g = clnet_pool_geom_of(op, x, dy);
    if (argmax)
        return run_backward_argmax(dev, &g, dy, argmax, dx);
    if (op->u.pool.global && clnet_pool_mode_info_get(g.mode)->selects)
        return run_backward_global_select(dev, &g, x, dy, dx);
    clnet_cl_tensor_args xa = clnet_cl_targs(x), dya = clnet_cl_targs(dy);
    clnet_cl_tensor_args dxa = clnet_cl_targs(dx);
    if (op->u.pool.global && g.mode == CLNET_POOL_AVG) {
        cl_int channels = (cl_int)g.c, plane = (cl_int)(g.h * g.w);
        clnet_cl_arg args[] = {
            CLNET_CL_TENSOR(dya), CLNET_CL_TENSOR(dxa), CLNET_CL_ARG(channels), CLNET_CL_ARG(plane),
        };
        size_t planes = (size_t)(g.n * g.c);
        return launch(dev, "pool_backward_global_avg", NARGS(args), args, 1, &planes);
    }
    pool_shape shape = shape_of(&g);
    size_t grid[3] = { (size_t)g.w, (size_t)g.h, (size_t)(g.n * g.c) };
    char name[64];
    if (g.adaptive) {
        clnet_cl_arg args[] = { CLNET_CL_TENSOR(dya), CLNET_CL_TENSOR(dxa), CLNET_CL_ARG(shape) };
        return launch(dev, kernel_name(name, sizeof name, "backward_adaptive_", &g, ""),
                      NARGS(args), args, 3, grid);
    }
    clnet_cl_arg args[] = {
        CLNET_CL_TENSOR(xa), CLNET_CL_TENSOR(dya), CLNET_CL_TENSOR(dxa), CLNET_CL_ARG(shape),
    };
    return launch(dev, kernel_name(name, sizeof name, "backward_", &g, ""), NARGS(args), args,
                  3, grid);
}

clnet_status clnet_cl_run_pool(clnet_device *dev, const clnet_op *op, int nin,
                               clnet_tensor *const *in, int nout, clnet_tensor *const *out)
{
    if (op->kind == CLNET_OP_UNPOOL)
        return run_unpool(dev, in[0], in[1], out[0]);
    if (op->kind == CLNET_OP_UNPOOL_BACKWARD)   /* each dx element gathers dy at its argmax */
        return run_indexed(dev, "unpool_gather", in[0], in[1], out[0], in[0]);
    if (op->kind == CLNET_OP_POOL_BACKWARD)
        return run_backward(dev, op, in[0], in[1], nin > 2 ? in[2] : NULL, out[0]);
    if (op->kind != CLNET_OP_POOL)
        return clnet_fail(dev->ctx, CLNET_ERR_INTERNAL, "opencl: op %s is not a pooling",
                          clnet_op_kind_name(op->kind));
    clnet_pool_geom g = clnet_pool_geom_of(op, in[0], out[0]);
    clnet_tensor *argmax = nout > 1 ? out[1] : NULL;
    if (op->u.pool.global)
        return run_global(dev, &g, in[0], out[0], argmax);
    return run_window(dev, &g, in[0], out[0], argmax);
}
