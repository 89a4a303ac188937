/* cl_conv_tap.c - ALGO_SINGLE_TAP: a convolution onto a 1x1 plane whose
 * window reads each input pixel through one tap, most taps reading only
 * padding, is a matrix product over the batch with the weights of the taps
 * that read: from a 1x1 plane (a 3x3 window with padding 1, as in
 * ResNet-18's last stage on 32x32 inputs) the 1x1 convolution of one tap,
 * from a 2x2 plane at stride 2 (its downsampling into that stage) four taps
 * of nine. Forward and data gradient run as one GEMM with those taps'
 * weights as the matrix; the weight gradient is theirs, zero elsewhere.
 * im2col and Winograd would spend up to 9x the products, the rest on
 * padding. Kernels in cl/conv_tap.cl. */
#include "opencl/cl_algo.h"
#include "opencl/cl_gemm_tiled.h"
#include "opencl/cl_matmul.h"

#define NARGS(a) ((int)(sizeof(a) / sizeof((a)[0])))
/* TAP_BLOCK of cl/conv_tap.cl. */
#define TAP_BLOCK 16

/* Where the window of a convolution onto a 1x1 plane reads its input:
 * pixel (ih, iw) through tap (i0 + ih, j0 + iw), tap00 = i0 * kw + j0. */
typedef struct tap_map {
    int64_t tap00, plane;
} tap_map;

/* One axis of the map: the first tap reading input position 0, and every
 * later position read by the next tap (a dilated window reads every dil-th
 * position, so more than one position needs dil 1). */
static bool axis_read(int64_t size, int64_t pad, int64_t dil, int64_t window, int64_t *first)
{
    if (pad % dil != 0 || (size > 1 && dil != 1))
        return false;
    *first = pad / dil;
    return *first + size - 1 < window;
}

/* f is the forward convolution's geometry: one group, a 1x1 output whose
 * window reads every input pixel through its own tap, pixels that leave at
 * least half of the window's taps on padding, where im2col and Winograd
 * would spend those products on zeros (a 1x1 input, one tap in
 * nine at 3x3: ResNet-18's last stage at 32x32; 2x2 onto 1x1 at stride 2,
 * four in nine: its downsampling into that stage). */
static bool tap_map_of(const clnet_conv_geom *f, tap_map *m)
{
    int64_t i0, j0;
    if (f->groups != 1 || f->oh != 1 || f->ow != 1 ||
        !axis_read(f->h, f->pad_h, f->dil_h, f->kh, &i0) ||
        !axis_read(f->w, f->pad_w, f->dil_w, f->kw, &j0))
        return false;
    m->tap00 = i0 * f->kw + j0;
    m->plane = f->h * f->w;
    return (m->plane == 1 || 2 * m->plane <= f->kh * f->kw) &&
           clnet_cl_matmul_applies(1.0f, 0.0f, f->n, f->k, f->c * m->plane) &&
           clnet_cl_matmul_applies(1.0f, 0.0f, f->n, f->c * m->plane, f->k) &&
           clnet_cl_matmul_applies(1.0f, 0.0f, f->k, f->c * m->plane, f->n);
}

bool clnet_cl_single_tap_applies(const clnet_device *dev, const clnet_conv_geom *g)
{
    (void)dev;
    tap_map m;
    return tap_map_of(g, &m);
}

bool clnet_cl_single_tap_transpose_applies(const clnet_device *dev, const clnet_conv_geom *t)
{
    const clnet_conv_geom f = clnet_cl_forward_of_transpose(t);
    return clnet_cl_single_tap_applies(dev, &f);
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

/* The weights of the taps that read the input as one matrix (K x C *
 * plane: a row per output channel, a column per input channel and pixel),
 * the right-hand side of both the forward convolution (transposed) and the
 * transposed one (its data gradient), so that in training both read the
 * one transform of a step's weights (kept, see cl_derived.c) and w, up to
 * 9x the matrix with a 3x3 window, is read once a step, not twice. */
static clnet_status tap_matrix(clnet_device *dev, const clnet_tensor *w, const tap_map *tm,
                               const clnet_conv_geom *f, cl_mem m)
{
    clnet_cl_tensor_args wa = clnet_cl_targs(w);
    cl_int w_off = wa.offset + (cl_int)tm->tap00, taps = (cl_int)(f->kh * f->kw),
           channels = (cl_int)f->c, in_h = (cl_int)f->h, in_w = (cl_int)f->w,
           kw = (cl_int)f->kw;
    const clnet_cl_arg args[] = {
        CLNET_CL_ARG(wa.mem), CLNET_CL_ARG(w_off), CLNET_CL_ARG(wa.batch_stride),
        CLNET_CL_ARG(taps), CLNET_CL_ARG(m), CLNET_CL_ARG(channels), CLNET_CL_ARG(in_h),
        CLNET_CL_ARG(in_w), CLNET_CL_ARG(kw),
    };
    return launch(dev, "tap_weights", NARGS(args), args, (size_t)f->c, (size_t)f->k);
}

/* y (N x out) = x (N x in) * the taps' weights (in x out) + b, in and out
 * being the channels times the pixels of each side: a forward convolution
 * (w is out_ch x in_ch x taps, its input the plane) reads the matrix
 * transposed, a transposed one (in_ch x out_ch x taps, its output the
 * plane) as it is. */
static clnet_status tap_gemm(clnet_device *dev, const char *opname, bool transposed,
                             const clnet_conv_geom *g, const clnet_tensor *x,
                             const clnet_tensor *w, const clnet_tensor *b, clnet_tensor *y)
{
    const clnet_conv_geom f = transposed ? clnet_cl_forward_of_transpose(g) : *g;
    tap_map tm;
    if (!tap_map_of(&f, &tm))
        return clnet_fail(dev->ctx, CLNET_ERR_UNSUPPORTED, "%s on %s: algorithm single_tap "
                          "needs one group, a 1x1 output, every input pixel read by a tap "
                          "and at least half the taps on padding", opname, dev->info.name);
    const int64_t cols = f.c * tm.plane;   /* the matrix's: the forward's input */
    const size_t m_bytes = (size_t)(f.k * cols) * sizeof(cl_float);
    clnet_cl_tensor_args xa = clnet_cl_targs(x), ya = clnet_cl_targs(y);
    /* the matrix: kept for the next call over the same weights, or in the
     * scratch (the map is the tap of pixel 0 and the plane's shape; w's
     * shape gives the window) */
    const int64_t w_rstride = clnet_cl_targs(w).batch_stride;
    const clnet_cl_derived_key key = {"tap_weights", {f.c, f.k, tm.tap00, w_rstride, f.h, f.w}};
    cl_mem kept, m;
    bool fill;
    clnet_cl_derived_acquire(dev, &key, w, NULL, m_bytes, &kept, &fill);
    clnet_status st = kept ? CLNET_OK : clnet_cl_scratch_acquire(dev, m_bytes, &m);
    if (st != CLNET_OK)
        return st;
    if (kept)
        m = kept;
    if (fill)
        st = tap_matrix(dev, w, &tm, &f, m);
    const int64_t out = transposed ? cols : f.k, in = transposed ? f.k : cols;
    if (st == CLNET_OK && b) {
        clnet_cl_tensor_args ba = clnet_cl_targs(b);
        cl_int plane = (cl_int)(out / g->k);
        const clnet_cl_arg bargs[] = {
            CLNET_CL_ARG(ba.mem), CLNET_CL_ARG(ba.offset), CLNET_CL_TENSOR(ya),
            CLNET_CL_ARG(plane),
        };
        st = launch(dev, "tap_bias", NARGS(bargs), bargs, (size_t)out, (size_t)g->n);
    }
    const clnet_cl_matrix xm = {xa.mem, xa.offset, xa.batch_stride},
                          mm = {m, 0, cols}, ym = {ya.mem, ya.offset, ya.batch_stride};
    if (st == CLNET_OK)
        st = clnet_cl_matmul(dev, opname, false, !transposed, b != NULL, g->n, out, in, xm, mm,
                             ym);
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

/* g (K x C * plane) = dy^T x, one GEMM over the batch, spread onto the
 * window's taps (zeros where they read only padding). */
clnet_status clnet_cl_conv_backward_weights_tap(clnet_device *dev, const clnet_op *op,
                                                const clnet_tensor *x, const clnet_tensor *dy,
                                                clnet_tensor *dw)
{
    const char *opname = "conv_backward_weights (single tap)";
    const clnet_conv_geom f = clnet_conv_geom_of(op, x, dw, dy);
    tap_map tm;
    if (!tap_map_of(&f, &tm))
        return clnet_fail(dev->ctx, CLNET_ERR_INTERNAL, "%s on %s: no tap map onto a 1x1 "
                          "output", opname, dev->info.name);
    const int64_t cols = f.c * tm.plane;
    cl_mem g;
    clnet_status st = clnet_cl_scratch_acquire(dev, (size_t)(f.k * cols) * sizeof(cl_float), &g);
    if (st != CLNET_OK)
        return st;
    clnet_cl_tensor_args xa = clnet_cl_targs(x), da = clnet_cl_targs(dy),
                         wa = clnet_cl_targs(dw);
    const clnet_cl_matrix dym = {da.mem, da.offset, da.batch_stride},
                          xm = {xa.mem, xa.offset, xa.batch_stride}, gm = {g, 0, cols};
    st = clnet_cl_matmul(dev, opname, true, false, false, f.k, cols, f.n, dym, xm, gm);
    cl_int channels = (cl_int)f.c, kh = (cl_int)f.kh, kw = (cl_int)f.kw,
           tap00 = (cl_int)tm.tap00, in_h = (cl_int)f.h, in_w = (cl_int)f.w;
    const clnet_cl_arg args[] = {
        CLNET_CL_ARG(g), CLNET_CL_TENSOR(wa), CLNET_CL_ARG(channels), CLNET_CL_ARG(kh),
        CLNET_CL_ARG(kw), CLNET_CL_ARG(tap00), CLNET_CL_ARG(in_h), CLNET_CL_ARG(in_w),
    };
    if (st == CLNET_OK)
        st = launch(dev, "tap_weights_grad", NARGS(args), args,
                    (size_t)clnet_ceil_div(f.c, TAP_BLOCK), (size_t)f.k);
    clnet_cl_scratch_release(dev, g);
    return st;
}
