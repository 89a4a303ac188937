/* cl_conv.c - launches CONV, CONV_TRANSPOSE and CONV_BACKWARD_WEIGHTS on
 * OpenCL devices with the direct kernels of cl/conv.cl; forward CONV goes
 * through the algorithm choice of cl_algo.c. */
#include "opencl/cl_algo.h"

/* PIX and KB_MAX of cl/conv.cl: output pixels and channels per work-item. */
#define CONV_PIX 8
#define CONV_KB 8
/* BW_KB and BW_TB of cl/conv.cl: output channels and taps per work-group of
 * the weight gradient. */
#define CONVBW_KB 8
#define CONVBW_TB 4

#define NARGS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Mirrors `convbw_shape` in cl/conv.cl, passed by value: cl_int fields only,
 * so host and device lay it out alike. */
typedef struct convbw_shape {
    cl_int n, groups, cpg, kpg;
    cl_int h, w, oh, ow, kh, kw;
    cl_int stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
} convbw_shape;

static int64_t ceil_div(int64_t a, int64_t b)
{
    return (a + b - 1) / b;
}

/* The three weight strides of cl/conv.cl (group, output channel, input
 * channel): w is (K, C/g, KH, KW) for CONV and (C, K/g, KH, KW) for
 * CONV_TRANSPOSE, and its axis-0 stride comes from the tensor because a view
 * along axis 0 is legal. */
static void weight_strides(bool transposed, const clnet_conv_geom *g, cl_int axis0_stride,
                           cl_int *gstride, cl_int *kstride, cl_int *cstride)
{
    cl_int taps = (cl_int)(g->kh * g->kw);
    if (transposed) {
        *cstride = axis0_stride;
        *kstride = taps;
        *gstride = (cl_int)g->c_per_group * axis0_stride;
    } else {
        *kstride = axis0_stride;
        *cstride = taps;
        *gstride = (cl_int)g->k_per_group * axis0_stride;
    }
}

/* Every value fits: buffers hold at most 2^31-1 elements (cl_buffer_alloc). */
static convbw_shape convbw_shape_of(const clnet_conv_geom *g)
{
    convbw_shape s;
    s.n = (cl_int)g->n;
    s.groups = (cl_int)g->groups;
    s.cpg = (cl_int)g->c_per_group;
    s.kpg = (cl_int)g->k_per_group;
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
    s.dil_h = (cl_int)g->dil_h;
    s.dil_w = (cl_int)g->dil_w;
    return s;
}

/* One work-group per block of weights (see conv.cl); its size comes from
 * the kernel and device limits and the length of the reduction, which is
 * the number of pixel blocks of dy. */
static clnet_status run_backward_weights(clnet_device *dev, const clnet_op *op,
                                         const clnet_tensor *x, const clnet_tensor *dy,
                                         clnet_tensor *dw)
{
    const clnet_conv_geom g = clnet_conv_geom_of(op, x, dw, dy);
    const int64_t kb = g.k_per_group >= CONVBW_KB ? CONVBW_KB : 1;
    const char *kname = kb == CONVBW_KB ? "conv_bw_k8" : "conv_bw_k1";
    cl_kernel kernel;
    clnet_status st = clnet_cl_kernel(dev, "conv", NULL, kname, &kernel);
    if (st != CLNET_OK)
        return st;
    const size_t slots = (size_t)(kb * CONVBW_TB);
    const size_t blocks = (size_t)(g.n * g.oh * ceil_div(g.ow, CONV_PIX));
    size_t local;
    if ((st = clnet_cl_reduce_size(dev, kernel, slots * sizeof(cl_float), blocks, &local)))
        return st;
    const int64_t taps = g.c_per_group * g.kh * g.kw;
    const size_t wgroups =
        (size_t)(g.groups * ceil_div(g.k_per_group, kb) * ceil_div(taps, CONVBW_TB));
    const size_t global = wgroups * local;

    clnet_cl_tensor_args xa = clnet_cl_targs(x), dya = clnet_cl_targs(dy);
    clnet_cl_tensor_args dwa = clnet_cl_targs(dw);
    convbw_shape shape = convbw_shape_of(&g);
    const clnet_cl_arg args[] = {
        CLNET_CL_TENSOR(xa), CLNET_CL_TENSOR(dya), CLNET_CL_TENSOR(dwa), CLNET_CL_ARG(shape),
        CLNET_CL_LOCAL(slots * local * sizeof(cl_float)),
    };
    return clnet_cl_launch(dev, kernel, kname, NARGS(args), args, 1, &global, &local);
}

/* WINOGRAD and WINOGRAD_4X4 force Winograd, with their tile, on a
 * gradient it applies to. */
static bool winograd_forced(clnet_conv_algo algo)
{
    return algo == CLNET_CONV_ALGO_WINOGRAD || algo == CLNET_CONV_ALGO_WINOGRAD_4X4;
}

/* Whether a gradient (f: the forward's geometry) takes the space-to-depth
 * rewrite: forced by SPACE_TO_DEPTH where it applies, else by its rule
 * unless DIRECT or IM2COL is forced. */
static bool s2d_chosen(const clnet_device *dev, const clnet_op *op, const clnet_conv_geom *f)
{
    switch (op->u.conv.algo) {
    case CLNET_CONV_ALGO_SPACE_TO_DEPTH: return clnet_cl_s2d_applies(dev, f);
    case CLNET_CONV_ALGO_DIRECT:
    case CLNET_CONV_ALGO_IM2COL: return false;
    default: return clnet_cl_s2d_preferred(dev, f);
    }
}

clnet_status clnet_cl_run_conv(clnet_device *dev, const clnet_op *op, int nin,
                               clnet_tensor *const *in, int nout, clnet_tensor *const *out)
{
    (void)nout;
    if (op->kind == CLNET_OP_CONV_BACKWARD_WEIGHTS) {
        const clnet_conv_geom g = clnet_conv_geom_of(op, in[0], out[0], in[1]);
        if (op->u.conv.algo != CLNET_CONV_ALGO_DIRECT &&
            op->u.conv.algo != CLNET_CONV_ALGO_IM2COL && clnet_cl_single_tap_applies(dev, &g))
            return clnet_cl_conv_backward_weights_tap(dev, op, in[0], in[1], out[0]);
        if (s2d_chosen(dev, op, &g))
            return clnet_cl_conv_backward_weights_s2d(dev, op, in[0], in[1], out[0]);
        /* DIRECT_ROWS forces the row kernel where it applies. */
        if (op->u.conv.algo == CLNET_CONV_ALGO_DIRECT_ROWS
                ? clnet_cl_rows_applies(dev, &g)
                : op->u.conv.algo != CLNET_CONV_ALGO_DIRECT &&
                      op->u.conv.algo != CLNET_CONV_ALGO_IM2COL &&
                      clnet_cl_rows_weights_preferred(dev, &g))
            return clnet_cl_conv_backward_weights_rows(dev, op, in[0], in[1], out[0]);
        if (op->u.conv.algo != CLNET_CONV_ALGO_DIRECT &&
            op->u.conv.algo != CLNET_CONV_ALGO_IM2COL && clnet_cl_depthwise_weights_applies(&g))
            return clnet_cl_depthwise_backward_weights(dev, op, in[0], in[1], out[0]);
        /* WINOGRAD and WINOGRAD_4X4 force Winograd's weight gradient
         * where it applies. */
        if (winograd_forced(op->u.conv.algo)
                ? clnet_cl_winograd_weights_applies(dev, op, &g)
                : op->u.conv.algo != CLNET_CONV_ALGO_DIRECT &&
                      op->u.conv.algo != CLNET_CONV_ALGO_IM2COL &&
                      op->u.conv.algo != CLNET_CONV_ALGO_DIRECT_3X3 &&
                      clnet_cl_winograd_weights_preferred(dev, op, &g))
            return clnet_cl_conv_backward_weights_winograd(dev, op, in[0], in[1], out[0]);
        /* DIRECT_3X3 forces the direct 3x3 kernels where they apply. */
        if (op->u.conv.algo == CLNET_CONV_ALGO_DIRECT_3X3 ? clnet_cl_wgrad3x3_applies(dev, &g)
            : op->u.conv.algo != CLNET_CONV_ALGO_DIRECT &&
                  op->u.conv.algo != CLNET_CONV_ALGO_IM2COL &&
                  clnet_cl_wgrad3x3_preferred(dev, &g))
            return clnet_cl_conv_backward_weights_3x3(dev, op, in[0], in[1], out[0]);
        if (clnet_cl_grad_gemm_chosen(op, clnet_cl_grad_weights_gemm_applies(&g, false),
                                      clnet_cl_grad_weights_gemm_applies(&g, true)))
            return clnet_cl_conv_backward_weights_gemm(dev, op, in[0], in[1], out[0]);
        return run_backward_weights(dev, op, in[0], in[1], out[0]);
    }
    const clnet_tensor *x = in[0], *w = in[1], *b = nin > 2 ? in[2] : NULL;
    clnet_tensor *y = out[0];
    /* Forward convolutions have several algorithms (cl_algo.c); the
     * transposed one has the direct kernel only. */
    if (op->kind == CLNET_OP_CONV)
        return clnet_cl_conv_forward(dev, op, x, w, b, y);
    const clnet_conv_geom g = clnet_conv_geom_of(op, x, w, y);
    const clnet_conv_algo algo = op->u.conv.algo;
    if (algo != CLNET_CONV_ALGO_DIRECT && algo != CLNET_CONV_ALGO_IM2COL &&
        !winograd_forced(algo) && clnet_cl_single_tap_transpose_applies(dev, &g))
        return clnet_cl_conv_single_tap(dev, op, x, w, b, y);
    if (!b) {
        const clnet_conv_geom f = clnet_cl_forward_of_transpose(&g);
        if (s2d_chosen(dev, op, &f))
            return clnet_cl_conv_transpose_s2d(dev, op, x, w, y);
    }
    /* DIRECT_ROWS forces the row kernel where it applies. */
    if (algo == CLNET_CONV_ALGO_DIRECT_ROWS
            ? clnet_cl_rows_transpose_applies(dev, &g, false)
            : algo != CLNET_CONV_ALGO_DIRECT && algo != CLNET_CONV_ALGO_IM2COL &&
                  !winograd_forced(algo) && clnet_cl_rows_transpose_applies(dev, &g, true))
        return clnet_cl_conv_transpose_rows(dev, op, x, w, b, y);
    if (algo != CLNET_CONV_ALGO_DIRECT && algo != CLNET_CONV_ALGO_IM2COL &&
        !winograd_forced(algo) && clnet_cl_depthwise3x3_transpose_applies(&g))
        return clnet_cl_conv_transpose_depthwise3x3(dev, op, x, w, b, y);
    /* Where the direct 3x3 kernel is preferred (few channels), it beats
     * Winograd and the GEMMs on the data gradient too, small planes and
     * stride 2 included. */
    if (algo != CLNET_CONV_ALGO_DIRECT && algo != CLNET_CONV_ALGO_IM2COL &&
        !winograd_forced(algo) && clnet_cl_direct3x3_transpose_preferred(dev, &g))
        return clnet_cl_conv_transpose_direct3x3(dev, op, x, w, b, y);
    if (algo != CLNET_CONV_ALGO_DIRECT && algo != CLNET_CONV_ALGO_IM2COL &&
        clnet_cl_winograd_transpose_applies(op, &g, !winograd_forced(algo)))
        return clnet_cl_conv_winograd(dev, op, x, w, b, y);
    if (algo != CLNET_CONV_ALGO_DIRECT && algo != CLNET_CONV_ALGO_IM2COL &&
        clnet_cl_grad_data_1x1_applies(dev, &g))
        return clnet_cl_conv_transpose_1x1(dev, op, x, w, b, y);
    if (algo != CLNET_CONV_ALGO_DIRECT && algo != CLNET_CONV_ALGO_IM2COL &&
        clnet_cl_grad_data_forward_applies(op, &g, x, y))
        return clnet_cl_conv_transpose_forward(dev, op, x, w, b, y);
    if (clnet_cl_grad_gemm_chosen(op, clnet_cl_grad_data_gemm_applies(&g, false),
                                  clnet_cl_grad_data_gemm_applies(&g, true)))
        return clnet_cl_conv_transpose_gemm(dev, op, x, w, b, y);
    return clnet_cl_conv_direct(dev, op, x, w, b, y);
}

/* CONV and CONV_TRANSPOSE with the kernels of cl/conv.cl. */
clnet_status clnet_cl_conv_direct(clnet_device *dev, const clnet_op *op, const clnet_tensor *x,
                                  const clnet_tensor *w, const clnet_tensor *b, clnet_tensor *y)
{
    const bool transposed = op->kind == CLNET_OP_CONV_TRANSPOSE;
    clnet_status st;
    const clnet_conv_geom g = clnet_conv_geom_of(op, x, w, y);
    const int64_t kb = g.k_per_group >= CONV_KB ? CONV_KB : 1;
    const char *kname = kb == CONV_KB ? "conv_k8" : "conv_k1";
    cl_kernel kernel;
    if ((st = clnet_cl_kernel(dev, "conv", NULL, kname, &kernel)))
        return st;

    clnet_cl_tensor_args xa = clnet_cl_targs(x), wa = clnet_cl_targs(w), ya = clnet_cl_targs(y);
    clnet_cl_tensor_args ba = {NULL, 0, 0};
    if (b)
        ba = clnet_cl_targs(b);
    cl_int w_gstride, w_kstride, w_cstride;
    weight_strides(transposed, &g, wa.batch_stride, &w_gstride, &w_kstride, &w_cstride);
    cl_int has_bias = b != NULL, is_transposed = transposed;
    cl_int groups = (cl_int)g.groups, cpg = (cl_int)g.c_per_group, kpg = (cl_int)g.k_per_group;
    cl_int h = (cl_int)g.h, wd = (cl_int)g.w, oh = (cl_int)g.oh, ow = (cl_int)g.ow;
    cl_int kh = (cl_int)g.kh, kw = (cl_int)g.kw;
    cl_int stride_h = (cl_int)g.stride_h, stride_w = (cl_int)g.stride_w;
    cl_int pad_h = (cl_int)g.pad_h, pad_w = (cl_int)g.pad_w;
    cl_int dil_h = (cl_int)g.dil_h, dil_w = (cl_int)g.dil_w;
    const clnet_cl_arg args[] = {
        CLNET_CL_TENSOR(xa),
        CLNET_CL_ARG(wa.mem), CLNET_CL_ARG(wa.offset),
        CLNET_CL_ARG(w_gstride), CLNET_CL_ARG(w_kstride), CLNET_CL_ARG(w_cstride),
        CLNET_CL_ARG(ba.mem), CLNET_CL_ARG(ba.offset), CLNET_CL_ARG(has_bias),
        CLNET_CL_TENSOR(ya),
        CLNET_CL_ARG(groups), CLNET_CL_ARG(cpg), CLNET_CL_ARG(kpg),
        CLNET_CL_ARG(h), CLNET_CL_ARG(wd), CLNET_CL_ARG(oh), CLNET_CL_ARG(ow),
        CLNET_CL_ARG(kh), CLNET_CL_ARG(kw),
        CLNET_CL_ARG(stride_h), CLNET_CL_ARG(stride_w), CLNET_CL_ARG(pad_h), CLNET_CL_ARG(pad_w),
        CLNET_CL_ARG(dil_h), CLNET_CL_ARG(dil_w), CLNET_CL_ARG(is_transposed),
    };

    /* A transposed block's columns share one stride phase (see conv.cl), so
     * each of the `ostep` phases gets its own run of blocks. */
    const int64_t ostep = transposed ? g.stride_w : 1;
    const size_t global[3] = {
        (size_t)(ostep * ceil_div(ceil_div(g.ow, ostep), CONV_PIX)),
        (size_t)g.oh,
        (size_t)(g.n * g.groups * ceil_div(g.k_per_group, kb)),
    };
    return clnet_cl_launch(dev, kernel, kname, NARGS(args), args, 3, global, NULL);
}
