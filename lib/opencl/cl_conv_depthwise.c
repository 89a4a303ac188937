/* cl_conv_depthwise.c - launches the per-channel direct convolution of
 * cl/depthwise.cl (ALGO_DEPTHWISE): every channel of every image in one
 * launch, bias and fused activation included; and the direct weight and
 * stride-2 data gradients of its 3x3 layers. */
#include "opencl/cl_algo.h"

/* ROWS of cl/depthwise.cl: output rows per work-item of the 3x3 kernels. */
#define DW3X3_ROWS 4

/* Mirrors `dw_shape` in cl/depthwise.cl (cl_int and cl_float fields only). */
typedef struct dw_shape {
    cl_int c, h, w, k, oh, ow, kh, kw;
    cl_int groups, cpg, kpg;
    cl_int stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
    cl_int has_bias, act_fn;
    cl_float act_alpha;
} dw_shape;

/* The kernel sums the channels of its group one after another, so it runs
 * any convolution; it is the one to use where a group has a single input
 * channel (depthwise, depth multipliers), which no GEMM can make dense. */
bool clnet_cl_depthwise_applies(const clnet_device *dev, const clnet_conv_geom *g)
{
    (void)dev;
    (void)g;
    return true;
}

bool clnet_cl_depthwise_preferred(const clnet_device *dev, const clnet_conv_geom *g)
{
    (void)dev;
    return g->groups > 1 && g->c_per_group == 1;
}

const char *const clnet_cl_depthwise_options[CLNET_CL_DEPTHWISE_VARIANTS] = {
    "-DVW=4", "-DVW=8", "-DVW=16"};

/* The output columns of a row whose taps all fall inside the input, as
 * cl/depthwise.cl counts them (a stride-2 pair of loads reads one element
 * more). */
static int64_t interior_columns(const clnet_conv_geom *g)
{
    const int64_t s = g->stride_w, extra = s == 2 ? 1 : 0;
    const int64_t lo = (g->pad_w + s - 1) / s;
    int64_t hi = (g->w - 1 - extra - (g->kw - 1) * g->dil_w + g->pad_w) / s + 1;
    if (hi > g->ow)
        hi = g->ow;
    return hi - lo;
}

/* The build options of the vector width for rows like g's: the kernels
 * take a row's interior in whole vectors and its other columns one at a
 * time, so the vector must fit in the interior (16 lanes only where it
 * holds 16 and they waste no more lanes at the row's end than 8 would,
 * else 8 where it holds 8, else 4). */
static const char *vector_width_options(const clnet_conv_geom *g)
{
    const int64_t inside = interior_columns(g), ow = g->ow;
    const int64_t waste16 = (16 - ow % 16) % 16, waste8 = (8 - ow % 8) % 8;
    if (inside >= 16 && !(waste8 < waste16 && ow < 64))
        return clnet_cl_depthwise_options[2];
    return clnet_cl_depthwise_options[inside >= 8 ? 1 : 0];
}

/* Work-items a group of small planes gathers (see plane_groups). */
#define PLANE_GROUP_ITEMS 32

/* One work-group per output plane (local = {rows of work-items, 1, 1})
 * where the kernel allows groups that large: a CPU device then runs a
 * plane's rows one after another on one core, and the input rows that
 * neighbouring work-items share are still in its cache (half the time of
 * the driver's choice on PoCL, which spreads a group over channels). Planes
 * of a few rows take several channels per group (local[1], dividing the
 * channels, up to PLANE_GROUP_ITEMS work-items): a group per 2x2 plane
 * spent its time starting groups (32x960x2x2 on PoCL: 3 ms, 1 ms with
 * 16 channels a group). Sets local[0] to 0 (the driver chooses) where
 * the kernel does not allow the plane's rows in one group. */
static clnet_status plane_groups(clnet_device *dev, cl_kernel kernel, size_t channels,
                                 size_t local[3])
{
    size_t max;
    clnet_status st = clnet_cl_group_max(dev, kernel, "depthwise",
                                         dev->info.max_work_group_size, &max);
    if (st != CLNET_OK)
        return st;
    if (local[0] > max) {
        local[0] = 0;
        return CLNET_OK;
    }
    size_t limit = PLANE_GROUP_ITEMS < max ? PLANE_GROUP_ITEMS : max;
    for (size_t m = limit / local[0]; m > 1; m--)
        if (channels % m == 0) {
            local[1] = m;
            break;
        }
    return CLNET_OK;
}

clnet_status clnet_cl_conv_depthwise(clnet_device *dev, const clnet_op *op,
                                     const clnet_tensor *x, const clnet_tensor *w,
                                     const clnet_tensor *b, clnet_tensor *y)
{
    const clnet_conv_geom g = clnet_conv_geom_of(op, x, w, y);
    const char *options = vector_width_options(&g);
    const bool dw3x3 = g.kh == 3 && g.kw == 3 && g.dil_h == 1 && g.dil_w == 1 &&
                       g.c_per_group == 1 && g.stride_h == g.stride_w &&
                       (g.stride_w == 1 || g.stride_w == 2);
    const char *kname = !dw3x3 ? "depthwise" : g.stride_w == 1 ? "depthwise3x3_s1"
                                                                 : "depthwise3x3_s2";
    cl_kernel kernel;
    clnet_status st = clnet_cl_kernel(dev, "depthwise", options, kname, &kernel);
    if (st != CLNET_OK)
        return st;
    dw_shape s = {
        .c = (cl_int)g.c, .h = (cl_int)g.h, .w = (cl_int)g.w, .k = (cl_int)g.k,
        .oh = (cl_int)g.oh, .ow = (cl_int)g.ow, .kh = (cl_int)g.kh, .kw = (cl_int)g.kw,
        .groups = (cl_int)g.groups, .cpg = (cl_int)g.c_per_group, .kpg = (cl_int)g.k_per_group,
        .stride_h = (cl_int)g.stride_h, .stride_w = (cl_int)g.stride_w,
        .pad_h = (cl_int)g.pad_h, .pad_w = (cl_int)g.pad_w,
        .dil_h = (cl_int)g.dil_h, .dil_w = (cl_int)g.dil_w,
        .has_bias = b != NULL,
    };
    clnet_cl_fused_act(op, &s.act_fn, &s.act_alpha);
    clnet_cl_tensor_args xa = clnet_cl_targs(x), wa = clnet_cl_targs(w), ya = clnet_cl_targs(y);
    /* A bias-less launch still passes a valid buffer for the unused pointer. */
    clnet_cl_tensor_args ba = b ? clnet_cl_targs(b) : wa;
    const clnet_cl_arg args[] = {
        CLNET_CL_TENSOR(xa), CLNET_CL_TENSOR(wa), CLNET_CL_ARG(ba.mem), CLNET_CL_ARG(ba.offset),
        CLNET_CL_TENSOR(ya), CLNET_CL_ARG(s),
    };
    const int64_t rows = dw3x3 ? DW3X3_ROWS : 1;
    const size_t global[3] = {(size_t)((g.oh + rows - 1) / rows), (size_t)g.k, (size_t)g.n};
    size_t local[3] = {global[0], 1, 1};
    if ((st = plane_groups(dev, kernel, global[1], local)))
        return st;
    return clnet_cl_launch(dev, kernel, kname, (int)(sizeof args / sizeof args[0]), args, 3,
                           global, local[0] ? local : NULL);
}

bool clnet_cl_depthwise3x3_weights_applies(const clnet_conv_geom *g)
{
    return g->groups == g->c && g->groups == g->k && g->kh == 3 && g->kw == 3 &&
           g->dil_h == 1 && g->dil_w == 1 && g->stride_h == g->stride_w &&
           (g->stride_w == 1 || g->stride_w == 2);
}

/* Two launches over a scratch of each image's share (N x K x 9 floats):
 * the shares, a work-group per channel and image, then their sum in image
 * order (cl/depthwise.cl). */
clnet_status clnet_cl_depthwise3x3_backward_weights(clnet_device *dev, const clnet_op *op,
                                                    const clnet_tensor *x,
                                                    const clnet_tensor *dy, clnet_tensor *dw)
{
    const clnet_conv_geom g = clnet_conv_geom_of(op, x, dw, dy);
    const char *kname = g.stride_w == 1 ? "depthwise3x3_weights_s1" : "depthwise3x3_weights_s2";
    const char *options = vector_width_options(&g);
    cl_kernel kernel;
    clnet_status st = clnet_cl_kernel(dev, "depthwise", options, kname, &kernel);
    size_t local = 1;
    if (st == CLNET_OK)
        st = clnet_cl_channel_group_size(dev, kernel, 9 * sizeof(cl_float), (size_t)g.oh,
                                         &local);
    if (st != CLNET_OK)
        return st;
    cl_mem part;
    if ((st = clnet_cl_scratch_acquire(dev, (size_t)(g.n * g.k * 9) * sizeof(cl_float), &part)))
        return st;
    dw_shape s = {
        .c = (cl_int)g.c, .h = (cl_int)g.h, .w = (cl_int)g.w, .k = (cl_int)g.k,
        .oh = (cl_int)g.oh, .ow = (cl_int)g.ow, .kh = 3, .kw = 3,
        .groups = (cl_int)g.groups, .cpg = 1, .kpg = 1,
        .stride_h = (cl_int)g.stride_h, .stride_w = (cl_int)g.stride_w,
        .pad_h = (cl_int)g.pad_h, .pad_w = (cl_int)g.pad_w, .dil_h = 1, .dil_w = 1,
        .act_fn = -1,
    };
    clnet_cl_tensor_args xa = clnet_cl_targs(x), dya = clnet_cl_targs(dy);
    clnet_cl_tensor_args dwa = clnet_cl_targs(dw);
    const clnet_cl_arg args[] = {
        CLNET_CL_TENSOR(xa), CLNET_CL_TENSOR(dya), CLNET_CL_ARG(part), CLNET_CL_ARG(s),
        CLNET_CL_LOCAL(9 * local * sizeof(cl_float)),
    };
    const size_t global[2] = {(size_t)g.k * local, (size_t)g.n};
    const size_t locals[2] = {local, 1};
    st = clnet_cl_launch(dev, kernel, kname, (int)(sizeof args / sizeof args[0]), args, 2,
                         global, locals);
    cl_int images = (cl_int)g.n, k_n = (cl_int)g.k;
    const clnet_cl_arg sum_args[] = {
        CLNET_CL_ARG(part), CLNET_CL_ARG(images), CLNET_CL_ARG(k_n), CLNET_CL_TENSOR(dwa),
    };
    const size_t sum_global = (size_t)g.k * 9;
    if (st == CLNET_OK)
        st = clnet_cl_kernel(dev, "depthwise", options, "depthwise3x3_weights_sum", &kernel);
    if (st == CLNET_OK)
        st = clnet_cl_launch(dev, kernel, "depthwise3x3_weights_sum",
                             (int)(sizeof sum_args / sizeof sum_args[0]), sum_args, 1,
                             &sum_global, NULL);
    clnet_cl_scratch_release(dev, part);
    return st;
}

bool clnet_cl_depthwise3x3_transpose_applies(const clnet_conv_geom *t)
{
    return t->groups == t->c && t->groups == t->k && t->kh == 3 && t->kw == 3 &&
           t->dil_h == 1 && t->dil_w == 1 && t->stride_h == 2 && t->stride_w == 2;
}

/* The widest vector of which the kernel's interior (dy columns o - 1 ..
 * o + VW - 1 feeding outputs 2 o - pad .. 2 o - pad + 2 VW, all inside)
 * holds at least one whole block; 4 lanes where none does. */
static const char *transpose_width_options(const clnet_conv_geom *t)
{
    static const int widths[] = {16, 8};
    for (int i = 0; i < 2; i++) {
        const int64_t vw = widths[i], lo = t->pad_w + 1 > 2 ? (t->pad_w + 1) / 2 : 1;
        int64_t hi = t->w - vw, out_hi = (t->ow + t->pad_w) / 2 - vw;
        if (out_hi < hi)
            hi = out_hi;
        if (hi - lo + 1 >= vw)
            return clnet_cl_depthwise_options[2 - i];
    }
    return clnet_cl_depthwise_options[0];
}

clnet_status clnet_cl_conv_transpose_depthwise3x3(clnet_device *dev, const clnet_op *op,
                                                  const clnet_tensor *dy, const clnet_tensor *w,
                                                  const clnet_tensor *b, clnet_tensor *dx)
{
    const clnet_conv_geom t = clnet_conv_geom_of(op, dy, w, dx);
    const char *kname = "depthwise3x3_s2_transpose";
    cl_kernel kernel;
    clnet_status st = clnet_cl_kernel(dev, "depthwise", transpose_width_options(&t), kname,
                                      &kernel);
    if (st != CLNET_OK)
        return st;
    /* in the forward layer's terms: dx is its input, dy its output */
    dw_shape s = {
        .c = (cl_int)t.k, .h = (cl_int)t.oh, .w = (cl_int)t.ow, .k = (cl_int)t.c,
        .oh = (cl_int)t.h, .ow = (cl_int)t.w, .kh = 3, .kw = 3,
        .groups = (cl_int)t.groups, .cpg = 1, .kpg = 1, .stride_h = 2, .stride_w = 2,
        .pad_h = (cl_int)t.pad_h, .pad_w = (cl_int)t.pad_w, .dil_h = 1, .dil_w = 1,
        .has_bias = b != NULL, .act_fn = -1,
    };
    clnet_cl_tensor_args dya = clnet_cl_targs(dy), wa = clnet_cl_targs(w);
    clnet_cl_tensor_args dxa = clnet_cl_targs(dx);
    clnet_cl_tensor_args ba = b ? clnet_cl_targs(b) : wa;
    const clnet_cl_arg args[] = {
        CLNET_CL_TENSOR(dya), CLNET_CL_TENSOR(wa), CLNET_CL_ARG(ba.mem), CLNET_CL_ARG(ba.offset),
        CLNET_CL_TENSOR(dxa), CLNET_CL_ARG(s),
    };
    const size_t global[3] = {(size_t)t.oh, (size_t)t.k, (size_t)t.n};
    size_t local[3] = {global[0], 1, 1};
    if ((st = plane_groups(dev, kernel, global[1], local)))
        return st;
    return clnet_cl_launch(dev, kernel, kname, (int)(sizeof args / sizeof args[0]), args, 3,
                           global, local[0] ? local : NULL);
}
