/* cl_conv_tap.c - ALGO_SINGLE_TAP: a convolution from a 1x1 plane to a 1x1
 * plane that only one tap of its window can read (a 3x3 window with padding
 * 1, as in ResNet-18's last stage on 32x32 inputs) is the 1x1 convolution
 * of that tap. Forward and data gradient run as one GEMM over the batch
 * with that tap's weights as the matrix; the weight gradient is that tap's,
 * zero elsewhere. im2col and Winograd would spend 9x the products, all but
 * one in nine on padding. Kernels in cl/conv_tap.cl. */
#include "opencl/cl_algo.h"
#include "opencl/cl_gemm_tiled.h"
#include "opencl/cl_matmul.h"

#define NARGS(a) ((int)(sizeof(a) / sizeof((a)[0])))
/* TAP_VW of cl/conv_tap.cl. */
#define TAP_VW 16

/* The one tap (row-major index in the window) that reads the input: with a
 * 1x1 input, input row -pad + i * dil is row 0 only for i * dil == pad; a
 * transposed convolution reads the same relation backwards. */
static bool single_tap(const clnet_conv_geom *g, int64_t *tap)
{
    if (g->groups != 1 || g->h != 1 || g->w != 1 || g->oh != 1 || g->ow != 1 ||
        g->pad_h % g->dil_h != 0 || g->pad_w % g->dil_w != 0)
        return false;
    const int64_t i = g->pad_h / g->dil_h, j = g->pad_w / g->dil_w;
    if (i >= g->kh || j >= g->kw)
        return false;
    *tap = i * g->kw + j;
    return true;
}

bool clnet_cl_single_tap_applies(const clnet_device *dev, const clnet_conv_geom *g)
{
    (void)dev;
    int64_t tap;
    return single_tap(g, &tap);
}

/* What the parameters alone say: one group, and a tap that reads input
 * position 0 when the window is stated. The planes are checked at run. */
bool clnet_cl_single_tap_supports(const clnet_conv_params *p)
{
    if (p->groups > 1)
        return false;
    for (int d = 0; d < 2; d++)
        if (p->kernel[d] > 0 && (p->pad_begin[d] % p->dilation[d] != 0 ||
                                 p->pad_begin[d] / p->dilation[d] >= p->kernel[d]))
            return false;
    return true;
}

static clnet_status launch(clnet_device *dev, const char *name, int nargs,
                           const clnet_cl_arg *args, size_t d0, size_t d1)
{
    const size_t global[2] = {d0, d1};
    return clnet_cl_launch_program(dev, "conv_tap", name, nargs, args, 2, global);
}

/* The tap's weights as two matrices in one buffer: the forward
 * convolution's (C x K: a row per input channel, the transpose of w's
 * tap), then its transpose (K x C). A forward convolution reads the first,
 * a transposed one of the same weights (its data gradient) the second, so
 * that in training both read the one transform of a step's weights (kept,
 * see cl_derived.c) and w, 9x the matrix with a 3x3 window, is read once a
 * step, not twice. (C, K: the forward convolution's channels, w's columns
 * and rows.) */
static clnet_status tap_matrices(clnet_device *dev, const clnet_tensor *w, int64_t tap,
                                 int64_t taps, int64_t c, int64_t k, cl_mem m)
{
    clnet_cl_tensor_args wa = clnet_cl_targs(w);
    cl_int w_off = wa.offset + (cl_int)tap, si = (cl_int)taps, sj = wa.batch_stride;
    cl_int cols = (cl_int)k, ld = cols;
    const clnet_cl_arg args[] = {
        CLNET_CL_ARG(wa.mem), CLNET_CL_ARG(w_off), CLNET_CL_ARG(si), CLNET_CL_ARG(sj),
        CLNET_CL_ARG(cols), CLNET_CL_ARG(m), CLNET_CL_ARG(ld),
    };
    clnet_status st = launch(dev, "tap_weights", NARGS(args), args,
                             (size_t)clnet_ceil_div(k, TAP_VW), (size_t)c);
    const clnet_cl_matrix fwd = {m, 0, k}, back = {m, c * k, c};
    if (st == CLNET_OK)
        st = clnet_cl_transpose(dev, fwd, c, k, back, k, c);
    return st;
}

/* y (N x out_ch) = x (N x in_ch) * the tap's weights (in_ch x out_ch) + b:
 * a forward convolution (w is out_ch x in_ch x taps) or a transposed one
 * (in_ch x out_ch x taps), whose channel counts are its own. */
static clnet_status tap_gemm(clnet_device *dev, const char *opname, bool transposed,
                             const clnet_conv_geom *g, const clnet_tensor *x,
                             const clnet_tensor *w, const clnet_tensor *b, clnet_tensor *y)
{
    int64_t tap;
    if (!single_tap(g, &tap))
        return clnet_fail(dev->ctx, CLNET_ERR_UNSUPPORTED, "%s on %s: algorithm single_tap "
                          "needs one group, 1x1 planes and one tap that reads the input",
                          opname, dev->info.name);
    const int64_t in_ch = g->c, out_ch = g->k;
    /* the forward convolution's channels: w's columns and rows */
    const int64_t fc = transposed ? out_ch : in_ch, fk = transposed ? in_ch : out_ch;
    const size_t m_bytes = (size_t)(2 * fc * fk) * sizeof(cl_float);
    clnet_cl_tensor_args xa = clnet_cl_targs(x), ya = clnet_cl_targs(y);
    /* the matrices: kept for the next call over the same weights, or in
     * the scratch */
    const int64_t w_rstride = clnet_cl_targs(w).batch_stride;
    const clnet_cl_derived_key key = {"tap_weights", {fc, fk, tap, w_rstride}};
    cl_mem kept, m;
    bool fill;
    clnet_cl_derived_acquire(dev, &key, w, NULL, m_bytes, &kept, &fill);
    clnet_status st = kept ? CLNET_OK : clnet_cl_scratch_acquire(dev, m_bytes, &m);
    if (st != CLNET_OK)
        return st;
    if (kept)
        m = kept;
    if (fill)
        st = tap_matrices(dev, w, tap, g->kh * g->kw, fc, fk, m);
    if (st == CLNET_OK && b) {
        clnet_cl_tensor_args ba = clnet_cl_targs(b);
        const clnet_cl_arg bargs[] = {
            CLNET_CL_ARG(ba.mem), CLNET_CL_ARG(ba.offset), CLNET_CL_TENSOR(ya),
        };
        st = launch(dev, "tap_bias", NARGS(bargs), bargs, (size_t)out_ch, (size_t)g->n);
    }
    clnet_cl_gemm_batch gb = {
        .m = g->n, .n = out_ch, .k = in_ch, .images = 1, .groups = 1,
        .a = {xa.mem, xa.offset, xa.batch_stride, 0, 0},
        .b = {m, transposed ? fc * fk : 0, out_ch, 0, 0},
        .c = {ya.mem, ya.offset, ya.batch_stride, 0, 0},
        .accumulate = b != NULL,
    };
    if (st == CLNET_OK)
        st = clnet_cl_gemm_tiled(dev, opname, &gb);
    if (kept)
        clnet_cl_derived_release(dev, kept, fill && st == CLNET_OK);
    else
        clnet_cl_scratch_release(dev, m);
    return st;
}

clnet_status clnet_cl_conv_single_tap(clnet_device *dev, const clnet_op *op,
                                      const clnet_tensor *x, const clnet_tensor *w,
                                      const clnet_tensor *b, clnet_tensor *y)
{
    const clnet_conv_geom g = clnet_conv_geom_of(op, x, w, y);
    const bool transposed = op->kind == CLNET_OP_CONV_TRANSPOSE;
    return tap_gemm(dev, transposed ? "conv_transpose (single tap)" : "conv (single tap)",
                    transposed, &g, x, w, b, y);
}

clnet_status clnet_cl_conv_backward_weights_tap(clnet_device *dev, const clnet_op *op,
                                                const clnet_tensor *x, const clnet_tensor *dy,
                                                clnet_tensor *dw)
{
    const clnet_conv_geom g = clnet_conv_geom_of(op, x, dw, dy);
    int64_t tap;
    if (!single_tap(&g, &tap))
        return clnet_fail(dev->ctx, CLNET_ERR_INTERNAL, "conv_backward_weights on %s: not a "
                          "single-tap convolution", dev->info.name);
    clnet_cl_tensor_args xa = clnet_cl_targs(x), da = clnet_cl_targs(dy),
                         wa = clnet_cl_targs(dw);
    cl_int n = (cl_int)g.n, c = (cl_int)g.c, taps = (cl_int)(g.kh * g.kw), tap_i = (cl_int)tap;
    const clnet_cl_arg args[] = {
        CLNET_CL_TENSOR(xa), CLNET_CL_TENSOR(da), CLNET_CL_TENSOR(wa),
        CLNET_CL_ARG(n), CLNET_CL_ARG(c), CLNET_CL_ARG(taps), CLNET_CL_ARG(tap_i),
    };
    return launch(dev, "tap_weights_grad", NARGS(args), args,
                  (size_t)clnet_ceil_div(g.c, TAP_VW), (size_t)g.k);
}
