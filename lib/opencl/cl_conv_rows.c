/* cl_conv_rows.c - ALGO_DIRECT_ROWS: direct convolution with an output
 * row's columns as vector lanes and the padding read as masked lanes
 * (cl/conv_rows.cl): stride 1, no dilation, one group, windows at most 5
 * wide. A layer, its data gradient (the forward convolution of its rotated
 * weights, read rotated in place) and its weight gradient are one launch
 * each. On LeNet-5's layers at batch 32 (PoCL, 2 cores) the GEMM paths
 * spent more time padding, tiling and summing partial products than
 * multiplying: see clnet_cl_rows_preferred. */
#include "opencl/cl_algo.h"

#define NARGS(a) ((int)(sizeof(a) / sizeof((a)[0])))
/* VW, WB, QMAX and TALL_RB of cl/conv_rows.cl; the static rules' widest output
 * rows, in vectors. */
#define ROWS_VW 16
#define ROWS_NV 2
#define ROWS_WB 3
#define ROWS_QMAX 5
#define ROWS_TALL_RB 8

/* Mirrors `rows_shape` in cl/conv_rows.cl (cl_int fields only). */
typedef struct rows_shape {
    cl_int c, h, w, k, oh, ow, kh, kw, pad_h, pad_w, nv;
} rows_shape;

static rows_shape rows_shape_of(const clnet_conv_geom *g)
{
    return (rows_shape){(cl_int)g->c,  (cl_int)g->h,  (cl_int)g->w,     (cl_int)g->k,
                        (cl_int)g->oh, (cl_int)g->ow, (cl_int)g->kh,    (cl_int)g->kw,
                        (cl_int)g->pad_h, (cl_int)g->pad_w,
                        (cl_int)clnet_ceil_div(g->ow, ROWS_VW)};
}

bool clnet_cl_rows_supports(const clnet_conv_params *p)
{
    return p->groups == 1 && p->stride[0] == 1 && p->stride[1] == 1 && p->dilation[0] == 1 &&
           p->dilation[1] == 1 && p->kernel[1] <= ROWS_QMAX;
}

bool clnet_cl_rows_applies(const clnet_device *dev, const clnet_conv_geom *g)
{
    (void)dev;
    return g->groups == 1 && g->stride_h == 1 && g->stride_w == 1 && g->dil_h == 1 &&
           g->dil_w == 1 && g->kw <= ROWS_QMAX;
}

/* Measured at batch 32 (PoCL, 2 cores, threads pinned, `cb`: the op's
 * median wall time, alternated with the paths before): LeNet-5's data
 * gradients, forward convolutions of the rotated weights with padding 4,
 * 0.78 -> 0.20-0.21 ms (conv1, one output channel: the GEMMs do not take
 * it, the generic direct kernel did) and 0.41-0.45 -> 0.14-0.15 ms (conv2,
 * 16 -> 6 channels: flipped weights, padded copy and GEMM before); 16 ->
 * 16 channels, 5x5 with padding 2 on 32x32, 1.85 -> 1.59 ms forward;
 * LeNet-5's padded conv1 level (0.13-0.16 ms either way). Unpadded layers
 * the GEMM takes stay with it: on LeNet-5's own forwards it was as fast
 * (conv2, 0.11-0.13 ms) or twice as fast (conv1 over 32x32, 6 output
 * channels: 0.05 against 0.10 ms). 5x5 windows over at most 256 channel
 * pairs and output rows of at most two vectors only: the 3x3 layers have
 * kernels of their own, nothing else was measured. */
bool clnet_cl_rows_preferred(const clnet_device *dev, const clnet_conv_geom *g)
{
    const bool padded = g->pad_h > 0 || g->pad_w > 0 || g->oh + g->kh - 1 != g->h ||
                        g->ow + g->kw - 1 != g->w;
    return clnet_cl_rows_applies(dev, g) && g->ow <= ROWS_NV * ROWS_VW && g->kh * g->kw >= 25 &&
           g->c * g->k <= 256 && (padded || !clnet_cl_im2col_preferred(dev, g));
}

/* Work-items a compute unit should get from conv_rows_k<KB>_rows. */
#define ROWS_ITEMS_PER_UNIT 64

/* Output rows a work-item of conv_rows_k<kb>_rows computes: as many as
 * leave ROWS_ITEMS_PER_UNIT items a compute unit. LeNet-5's first layer
 * (1 -> 6 channels, 28x28, padding 2) at batch 32, kernel medians pinned:
 * one row a work-item 0.075 ms, 4 rows 0.063, 14 (this rule) 0.054-0.057,
 * 28 0.054. */
static int64_t rows_per_item(const clnet_device *dev, const clnet_conv_geom *g, int64_t kb)
{
    const int64_t units = dev->info.compute_units ? dev->info.compute_units : 1;
    const int64_t columns = clnet_ceil_div(g->ow, ROWS_VW) * clnet_ceil_div(g->k, kb) * g->n;
    const int64_t splits = clnet_ceil_div(ROWS_ITEMS_PER_UNIT * units, columns);
    return clnet_ceil_div(g->oh, splits < g->oh ? splits : g->oh);
}

/* The forward convolution of geometry g (a CONV_TRANSPOSE's: its rotated
 * weights, from its own input channels to its output's) into y. */
static clnet_status launch_rows(clnet_device *dev, const clnet_op *op, const clnet_conv_geom *g,
                                const clnet_tensor *x, const clnet_tensor *w,
                                const clnet_tensor *b, clnet_tensor *y)
{
    /* output channels a work-item: the kernels' blocks of 8, 6, 4 and 1 (a
     * block past K repeats channel K - 1, its sums dropped) */
    const int64_t kb = g->k >= 7 ? 8 : g->k >= 5 ? 6 : g->k >= 2 ? 4 : 1;
    static const char *const names[] = {"conv_rows_k1", "conv_rows_k4", "conv_rows_k6",
                                        "conv_rows_k8"};
    static const char *const names_rows[] = {"conv_rows_k6_rows", "conv_rows_k8_rows"};
    /* one output channel through a 5x5 window: ROWS_TALL_RB rows a
     * work-item (conv_rows_t1_8); one input channel: rows_per_item rows
     * (conv_rows_k<kb>_rows); see cl/conv_rows.cl */
    const bool tall = kb == 1 && g->kh == 5 && g->kw == 5;
    const bool one_channel = kb >= 6 && g->c == 1;
    const char *name = tall          ? "conv_rows_t1_8"
                       : one_channel ? names_rows[kb >= 8]
                                     : names[(kb >= 4) + (kb >= 6) + (kb >= 8)];
    const int64_t rows_item = tall ? ROWS_TALL_RB : one_channel ? rows_per_item(dev, g, kb) : 1;
    cl_int ri = (cl_int)rows_item;
    cl_kernel kernel;
    clnet_status st = clnet_cl_kernel(dev, "conv_rows", NULL, name, &kernel);
    if (st != CLNET_OK)
        return st;
    const bool rotated = op->kind == CLNET_OP_CONV_TRANSPOSE;
    clnet_cl_tensor_args xa = clnet_cl_targs(x), wa = clnet_cl_targs(w), ya = clnet_cl_targs(y);
    clnet_cl_tensor_args ba = {NULL, 0, 0};
    if (b)
        ba = clnet_cl_targs(b);
    /* w is (K, C, KH, KW), or a CONV_TRANSPOSE's (C, K, KH, KW) */
    const cl_int taps = (cl_int)(g->kh * g->kw);
    cl_int w_k = rotated ? taps : wa.batch_stride, w_c = rotated ? wa.batch_stride : taps;
    cl_int rot = rotated, x_end = clnet_cl_targs_end(x), has_bias = b != NULL;
    cl_int act_fn;
    cl_float act_alpha;
    clnet_cl_fused_act(op, &act_fn, &act_alpha);
    rows_shape s = rows_shape_of(g);
    const clnet_cl_arg args[] = {
        CLNET_CL_TENSOR(xa),     CLNET_CL_ARG(x_end),  CLNET_CL_ARG(wa.mem),
        CLNET_CL_ARG(wa.offset), CLNET_CL_ARG(w_k),    CLNET_CL_ARG(w_c),
        CLNET_CL_ARG(rot),       CLNET_CL_ARG(ba.mem), CLNET_CL_ARG(ba.offset),
        CLNET_CL_ARG(has_bias),  CLNET_CL_TENSOR(ya),  CLNET_CL_ARG(s),
        CLNET_CL_ARG(act_fn),    CLNET_CL_ARG(act_alpha), CLNET_CL_ARG(ri),
    };
    const size_t global[3] = {(size_t)(clnet_ceil_div(g->oh, rows_item) * s.nv),
                              (size_t)clnet_ceil_div(g->k, kb), (size_t)g->n};
    /* one work-item a group: PoCL kept a larger group's accumulators in
     * memory across the loops (3-5x slower) */
    const size_t local[3] = {1, 1, 1};
    /* rows_item, the last argument, is conv_rows_k<kb>_rows's only */
    return clnet_cl_launch(dev, kernel, name, NARGS(args) - !one_channel, args, 3, global, local);
}

clnet_status clnet_cl_conv_rows(clnet_device *dev, const clnet_op *op, const clnet_tensor *x,
                                const clnet_tensor *w, const clnet_tensor *b, clnet_tensor *y)
{
    const clnet_conv_geom g = clnet_conv_geom_of(op, x, w, y);
    return launch_rows(dev, op, &g, x, w, b, y);
}

/* A stride-1 CONV_TRANSPOSE of geometry t is the forward convolution of
 * its rotated weights with the window's span less its padding as padding
 * (negative where the transposed op crops more than the span: the kernel
 * reads no row or column outside x either way). */
static clnet_conv_geom rotated_forward_of(const clnet_conv_geom *t)
{
    clnet_conv_geom f = *t;
    f.pad_h = t->kh - 1 - t->pad_h;
    f.pad_w = t->kw - 1 - t->pad_w;
    return f;
}

bool clnet_cl_rows_transpose_applies(const clnet_device *dev, const clnet_conv_geom *t,
                                     bool preferred)
{
    const clnet_conv_geom f = rotated_forward_of(t);
    return preferred ? clnet_cl_rows_preferred(dev, &f) : clnet_cl_rows_applies(dev, &f);
}

clnet_status clnet_cl_conv_transpose_rows(clnet_device *dev, const clnet_op *op,
                                          const clnet_tensor *x, const clnet_tensor *w,
                                          const clnet_tensor *b, clnet_tensor *y)
{
    const clnet_conv_geom t = clnet_conv_geom_of(op, x, w, y);
    const clnet_conv_geom f = rotated_forward_of(&t);
    return launch_rows(dev, op, &f, x, w, b, y);
}

/* The GEMM path's weight gradient is four launches (padded copy, dy's
 * rows, the GEMM, the partial sums): on LeNet-5's layers at batch 32 it
 * took 0.57-0.62 (conv1) and 0.51-0.53 ms (conv2) against 0.10 and
 * 0.22-0.23 ms here (as above); on 16 -> 16 channels, 5x5 on 32x32,
 * 3.6-4.0 against 3.1-3.2 (an earlier version of this kernel). */
bool clnet_cl_rows_weights_preferred(const clnet_device *dev, const clnet_conv_geom *g)
{
    return clnet_cl_rows_applies(dev, g) && g->ow <= ROWS_NV * ROWS_VW &&
           g->kh * g->kw >= 25 && g->c * g->k <= 256;
}

clnet_status clnet_cl_conv_backward_weights_rows(clnet_device *dev, const clnet_op *op,
                                                 const clnet_tensor *x, const clnet_tensor *dy,
                                                 clnet_tensor *dw)
{
    const clnet_conv_geom g = clnet_conv_geom_of(op, x, dw, dy);
    cl_kernel kernel;
    const char *name = g.kw == ROWS_QMAX ? "conv_rows_wgrad_w5" : "conv_rows_wgrad";
    clnet_status st = clnet_cl_kernel(dev, "conv_rows", NULL, name, &kernel);
    if (st != CLNET_OK)
        return st;
    clnet_cl_tensor_args xa = clnet_cl_targs(x), dya = clnet_cl_targs(dy);
    clnet_cl_tensor_args dwa = clnet_cl_targs(dw);
    cl_int x_end = clnet_cl_targs_end(x), dy_end = clnet_cl_targs_end(dy), images = (cl_int)g.n;
    rows_shape s = rows_shape_of(&g);
    const clnet_cl_arg args[] = {
        CLNET_CL_TENSOR(xa),      CLNET_CL_ARG(x_end), CLNET_CL_TENSOR(dya),
        CLNET_CL_ARG(dy_end),     CLNET_CL_TENSOR(dwa),
        CLNET_CL_ARG(s),          CLNET_CL_ARG(images),
    };
    const size_t global[2] = {(size_t)(g.c * g.kh), (size_t)clnet_ceil_div(g.k, ROWS_WB)};
    const size_t local[2] = {1, 1}; /* as launch_rows's */
    return clnet_cl_launch(dev, kernel, name, NARGS(args), args, 2, global, local);
}
