/* cl_conv_s2d.c - a strided convolution with few input channels as a
 * stride-1 one (space to depth; layouts in cl/space_to_depth.cl): the
 * phases of each stride become channels, the window ceil(KH / SH) x
 * ceil(KW / SW) taps. AlexNet's 11 x 11 stride-4 layer on 3 channels thus
 * becomes a 3 x 3 convolution on 48, which the stride-1 algorithms (direct
 * 3x3, the implicit GEMMs) run far better than the strided kernels run the
 * original. The forward and both gradients take the rewrite, each running
 * the stride-1 op through the ordinary dispatch. */
#include "opencl/cl_algo.h"

#include <limits.h>

#define NARGS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Mirrors `s2d_shape` in cl/space_to_depth.cl (cl_int fields only). */
typedef struct s2d_shape {
    cl_int c, h, w;
    cl_int sh, sw, ph, pw;
    cl_int hs, ws;
    cl_int kh, kw, ah, aw;
    cl_int ru, rv;
} s2d_shape;

/* The rewritten convolution: X' (n, cs, hs, ws) and W' (k, cs, ah, aw). */
typedef struct s2d_geom {
    s2d_shape s;
    int64_t n, k, cs;
    int64_t x_elems, w_elems;
} s2d_geom;

/* `f` is a forward convolution's geometry; every index fits an int where
 * clnet_cl_s2d_applies. */
static s2d_geom geom_of(const clnet_conv_geom *f)
{
    s2d_geom r;
    const int64_t ah = clnet_ceil_div(f->kh, f->stride_h), aw = clnet_ceil_div(f->kw, f->stride_w);
    r.s = (s2d_shape){
        .c = (cl_int)f->c, .h = (cl_int)f->h, .w = (cl_int)f->w,
        .sh = (cl_int)f->stride_h, .sw = (cl_int)f->stride_w,
        .ph = (cl_int)f->pad_h, .pw = (cl_int)f->pad_w,
        .hs = (cl_int)(f->oh + ah - 1), .ws = (cl_int)(f->ow + aw - 1),
        .kh = (cl_int)f->kh, .kw = (cl_int)f->kw, .ah = (cl_int)ah, .aw = (cl_int)aw,
        .ru = (cl_int)(f->kh - (ah - 1) * f->stride_h),
        .rv = (cl_int)(f->kw - (aw - 1) * f->stride_w),
    };
    r.n = f->n;
    r.k = f->k;
    r.cs = f->c * f->stride_h * f->stride_w;
    r.x_elems = r.n * r.cs * r.s.hs * r.s.ws;
    r.w_elems = r.k * r.cs * ah * aw;
    return r;
}

bool clnet_cl_s2d_supports(const clnet_conv_params *p)
{
    return p->groups == 1 && p->dilation[0] == 1 && p->dilation[1] == 1 &&
           p->stride[0] * p->stride[1] > 1;
}

bool clnet_cl_s2d_applies(const clnet_device *dev, const clnet_conv_geom *f)
{
    (void)dev;
    if (f->groups != 1 || f->dil_h != 1 || f->dil_w != 1 || f->stride_h * f->stride_w < 2 ||
        f->oh < 1 || f->ow < 1)
        return false;
    const s2d_geom r = geom_of(f);
    return r.x_elems + r.w_elems <= INT_MAX &&
           f->n * f->c * f->h * f->w <= INT_MAX && r.k * f->c * f->kh * f->kw <= INT_MAX;
}

/* The gradients of large windows over few channels: the stems of AlexNet
 * (11 x 11, stride 4) and ResNet or ZFNet (7 x 7, stride 2), 3 channels
 * each. On AVX2 at batch 32 (64 output channels, 224 x 224) AlexNet's data
 * gradient took 110 -> 59 ms and its weight gradient 140 -> 77, ResNet's
 * 410 -> 109 and 265 -> 170. Their forward convolutions lost there (60 ->
 * 88 ms, 108 -> 205; see clnet_cl_s2d_forward_preferred). Wider inputs
 * would multiply the channels the stride-1 op sums over by SH * SW, and
 * windows much smaller than the stride waste most of the rewritten taps. */
bool clnet_cl_s2d_preferred(const clnet_device *dev, const clnet_conv_geom *f)
{
    return clnet_cl_s2d_applies(dev, f) && f->c * f->stride_h * f->stride_w <= 64 &&
           f->kh >= 2 * f->stride_h - 1 && f->kw >= 2 * f->stride_w - 1 &&
           f->kh * f->kw >= 25;
}

/* The forward of those layers on float16 devices (AVX-512), where the
 * rewritten stride-1 convolution runs on direct_3x3's wider kernel: `cb`,
 * batch 32, the static rule's im2col -> the rewrite, ms: AlexNet's 11 x 11
 * stride 4 46-51 -> 21.6 (batch 1: 1.6 -> 1.2), ResNet's 7 x 7 stride 2
 * 59.7-59.8 -> 43.7-45.1, ZFNet's 7 x 7 stride 2 onto 96 channels 93 -> 90.
 * On AVX2 the forward lost (above). */
bool clnet_cl_s2d_forward_preferred(const clnet_device *dev, const clnet_conv_geom *f)
{
    return !clnet_cl_prefers_float8(dev) && clnet_cl_s2d_preferred(dev, f);
}

static clnet_status launch(clnet_device *dev, const char *name, int nargs,
                           const clnet_cl_arg *args, size_t d0, size_t d1, size_t d2)
{
    const size_t global[3] = {d0, d1, d2};
    return clnet_cl_launch_program(dev, "space_to_depth", name, nargs, args, 3, global);
}

/* x into X' at element off of buf, planes of `rows` rows `pitch` apart, a
 * row of x per work-item (s2d_input). */
static clnet_status input_to_s2d(clnet_device *dev, const s2d_geom *r, const clnet_tensor *x,
                                 cl_mem buf, cl_int off, int64_t rows, int64_t pitch)
{
    clnet_cl_tensor_args xa = clnet_cl_targs(x);
    cl_int x_begin = (cl_int)xa.offset, x_end = clnet_cl_targs_end(x);
    cl_int rows_arg = (cl_int)rows, pitch_arg = (cl_int)pitch;
    const clnet_cl_arg args[] = {CLNET_CL_TENSOR(xa),     CLNET_CL_ARG(x_begin),
                                 CLNET_CL_ARG(x_end),     CLNET_CL_ARG(buf),
                                 CLNET_CL_ARG(off),       CLNET_CL_ARG(rows_arg),
                                 CLNET_CL_ARG(pitch_arg), CLNET_CL_ARG(r->s)};
    return launch(dev, "s2d_input", NARGS(args), args, (size_t)rows, (size_t)(r->s.c * r->s.sh),
                  (size_t)r->n);
}

/* w into W' at element off of buf. */
static clnet_status weights_to_s2d(clnet_device *dev, const s2d_geom *r, const clnet_tensor *w,
                                   cl_mem buf, cl_int off)
{
    clnet_cl_tensor_args wa = clnet_cl_targs(w);
    const clnet_cl_arg args[] = {CLNET_CL_TENSOR(wa), CLNET_CL_ARG(buf), CLNET_CL_ARG(off),
                                 CLNET_CL_ARG(r->s)};
    return launch(dev, "s2d_weights", NARGS(args), args, (size_t)r->s.aw, (size_t)r->s.ah,
                  (size_t)(r->k * r->cs));
}

/* A scratch buffer holding X' (or its gradient) at element 0 and W' (or its
 * gradient) after it, as tensors; it must stay where it was filled in. */
typedef struct s2d_scratch {
    cl_mem buf;
    clnet_storage xs_storage, ws_storage;
    clnet_tensor xs, ws;
} s2d_scratch;

/* The scratch of rewrite r. */
static clnet_status scratch_acquire(clnet_device *dev, const s2d_geom *r, s2d_scratch *sc)
{
    clnet_status st = clnet_cl_scratch_acquire(dev, (size_t)(r->x_elems + r->w_elems) *
                                                        sizeof(cl_float), &sc->buf);
    if (st != CLNET_OK)
        return st;
    const int64_t xs_shape[4] = {r->n, r->cs, r->s.hs, r->s.ws};
    const int64_t ws_shape[4] = {r->k, r->cs, r->s.ah, r->s.aw};
    sc->xs = clnet_cl_buffer_tensor(dev, sc->buf, 0, 4, xs_shape, &sc->xs_storage);
    sc->ws = clnet_cl_buffer_tensor(dev, sc->buf, r->x_elems, 4, ws_shape, &sc->ws_storage);
    return CLNET_OK;
}

/* The stride-1 convolution of X' by W' (no padding, kind CONV). */
static clnet_op stride1_op(const clnet_op *op)
{
    clnet_op o = *op;
    o.kind = CLNET_OP_CONV;
    clnet_conv_params *p = &o.u.conv;
    p->stride[0] = p->stride[1] = 1;
    p->pad_begin[0] = p->pad_begin[1] = p->pad_end[0] = p->pad_end[1] = 0;
    p->dilation[0] = p->dilation[1] = 1;
    p->output_padding[0] = p->output_padding[1] = 0;
    p->kernel[0] = p->kernel[1] = 0;
    p->algo = CLNET_CONV_ALGO_AUTO;
    return o;
}

/* The stride-1 convolution of X' by W' onto f's output. */
static clnet_conv_geom stride1_geom(const clnet_conv_geom *f, const s2d_geom *r)
{
    clnet_conv_geom g = *f;
    g.c = g.c_per_group = r->cs;
    g.h = r->s.hs;
    g.w = r->s.ws;
    g.kh = r->s.ah;
    g.kw = r->s.aw;
    g.stride_h = g.stride_w = 1;
    g.pad_h = g.pad_w = 0;
    return g;
}

/* Floats in a 64-byte line, s2d_input's vector (float16). */
#define S2D_LINE_FLOATS 16

/* The forward where its stride-1 convolution runs on direct_3x3 over
 * padded planes: X' is written straight into them (c3_pad's copy of it
 * cost AlexNet's stem 0.6-1.0 ms at batch 32), W' after them, and the
 * kernel skips the taps past the original window (s2d_channel groups their
 * channels; 69 of 432 products a pixel there, 17.6 -> 15.9 ms). AlexNet's
 * stem at batch 32, op medians, pinned, three alternations: 17.8-18.7 ->
 * 15.7-16.2 ms. Their rows start on 64-byte lines (a pitch of whole
 * 16-float vectors), which s2d_input writes past the caches: with AlexNet's
 * 58-float rows padded to 64, s2d_input 1.63 -> 1.17-1.21 ms and the
 * convolution 13.9-14.0 -> 12.8-13.0 (kernel medians, batch 32, pinned).
 * False in *ran where that does not apply. */
static clnet_status forward_on_planes(clnet_device *dev, const clnet_op *fwd, const s2d_geom *r,
                                      const clnet_conv_geom *g, const clnet_tensor *x,
                                      const clnet_tensor *w, const clnet_tensor *b,
                                      clnet_tensor *y, bool *ran)
{
    int64_t hp = 0, wp = 0;
    const clnet_cl_conv_impl *impl = clnet_cl_conv_choice(dev, fwd, g);
    *ran = impl && impl->algo == CLNET_CONV_ALGO_DIRECT_3X3 &&
           clnet_cl_direct3x3_planes(dev, g, &hp, &wp);
    const int64_t pitch = clnet_ceil_div(wp, S2D_LINE_FLOATS) * S2D_LINE_FLOATS;
    const int64_t planes_elems = r->n * r->cs * hp * pitch;
    *ran = *ran && planes_elems + r->w_elems <= INT_MAX;
    if (!*ran)
        return CLNET_OK;
    cl_mem buf;
    clnet_status st =
        clnet_cl_scratch_acquire(dev, (size_t)(planes_elems + r->w_elems) * sizeof(cl_float), &buf);
    if (st != CLNET_OK)
        return st;
    clnet_storage ws_storage;
    const int64_t ws_shape[4] = {r->k, r->cs, r->s.ah, r->s.aw};
    const clnet_tensor ws =
        clnet_cl_buffer_tensor(dev, buf, planes_elems, 4, ws_shape, &ws_storage);
    st = input_to_s2d(dev, r, x, buf, 0, hp, pitch);
    if (st == CLNET_OK)
        st = weights_to_s2d(dev, r, w, buf, (cl_int)planes_elems);
    const int64_t c = r->s.c, full_u = r->s.ru, full_v = r->s.rv;
    const int64_t short_u = r->s.sh - full_u, short_v = r->s.sw - full_v;
    const clnet_cl_filled_planes planes = {
        buf, 0, pitch, {c * full_u * short_v, c * short_u * full_v, c * short_u * short_v}};
    if (st == CLNET_OK)
        st = clnet_cl_conv_direct3x3_filled(dev, fwd, g, &planes, &ws, b, y);
    clnet_cl_scratch_release(dev, buf);
    return st;
}

clnet_status clnet_cl_conv_s2d(clnet_device *dev, const clnet_op *op, const clnet_tensor *x,
                               const clnet_tensor *w, const clnet_tensor *b, clnet_tensor *y)
{
    const clnet_conv_geom f = clnet_conv_geom_of(op, x, w, y);
    const clnet_op fwd = stride1_op(op);
    const s2d_geom r = geom_of(&f);
    const clnet_conv_geom g = stride1_geom(&f, &r);
    bool ran;
    clnet_status st = forward_on_planes(dev, &fwd, &r, &g, x, w, b, y, &ran);
    if (ran || st != CLNET_OK)
        return st;
    s2d_scratch sc;
    st = scratch_acquire(dev, &r, &sc);
    if (st != CLNET_OK)
        return st;
    st = input_to_s2d(dev, &r, x, sc.buf, 0, r.s.hs, r.s.ws);
    if (st == CLNET_OK)
        st = weights_to_s2d(dev, &r, w, sc.buf, (cl_int)r.x_elems);
    if (st == CLNET_OK)
        st = clnet_cl_conv_forward(dev, &fwd, &sc.xs, &sc.ws, b, y);
    clnet_cl_scratch_release(dev, sc.buf);
    return st;
}

/* CONV_TRANSPOSE without a bias (a forward convolution's data gradient):
 * dX' = the stride-1 op's data gradient of dy, then dx from dX'. */
clnet_status clnet_cl_conv_transpose_s2d(clnet_device *dev, const clnet_op *op,
                                         const clnet_tensor *dy, const clnet_tensor *w,
                                         clnet_tensor *dx)
{
    const clnet_conv_geom t = clnet_conv_geom_of(op, dy, w, dx);
    const clnet_conv_geom f = clnet_cl_forward_of_transpose(&t);
    const s2d_geom r = geom_of(&f);
    s2d_scratch sc;
    clnet_status st = scratch_acquire(dev, &r, &sc);
    if (st != CLNET_OK)
        return st;
    st = weights_to_s2d(dev, &r, w, sc.buf, (cl_int)r.x_elems);
    const clnet_op fwd = stride1_op(op);
    const clnet_shape xs_shape = clnet_tensor_shape(&sc.xs), ws_shape = clnet_tensor_shape(&sc.ws);
    const clnet_op back = clnet_op_conv_backward_data(&fwd, &xs_shape, &ws_shape);
    if (st == CLNET_OK)
        st = clnet_cl_run_conv(dev, &back, 2, (clnet_tensor *[]){(clnet_tensor *)dy, &sc.ws}, 1,
                               (clnet_tensor *[]){&sc.xs});
    clnet_cl_tensor_args da = clnet_cl_targs(dx);
    const clnet_cl_arg args[] = {CLNET_CL_ARG(sc.buf), CLNET_CL_TENSOR(da), CLNET_CL_ARG(r.s)};
    if (st == CLNET_OK)
        st = launch(dev, "s2d_input_grad", NARGS(args), args, (size_t)(f.c * f.h), (size_t)f.n,
                    1);
    clnet_cl_scratch_release(dev, sc.buf);
    return st;
}

/* dW' = the stride-1 op's weight gradient of X' and dy, then dw from dW'. */
clnet_status clnet_cl_conv_backward_weights_s2d(clnet_device *dev, const clnet_op *op,
                                                const clnet_tensor *x, const clnet_tensor *dy,
                                                clnet_tensor *dw)
{
    const clnet_conv_geom f = clnet_conv_geom_of(op, x, dw, dy);
    const s2d_geom r = geom_of(&f);
    s2d_scratch sc;
    clnet_status st = scratch_acquire(dev, &r, &sc);
    if (st != CLNET_OK)
        return st;
    st = input_to_s2d(dev, &r, x, sc.buf, 0, r.s.hs, r.s.ws);
    clnet_op back = stride1_op(op);
    back.kind = CLNET_OP_CONV_BACKWARD_WEIGHTS;
    back.u.conv.kernel[0] = r.s.ah;
    back.u.conv.kernel[1] = r.s.aw;
    if (st == CLNET_OK)
        st = clnet_cl_run_conv(dev, &back, 2, (clnet_tensor *[]){&sc.xs, (clnet_tensor *)dy}, 1,
                               (clnet_tensor *[]){&sc.ws});
    clnet_cl_tensor_args wa = clnet_cl_targs(dw);
    const cl_int dws_off = (cl_int)r.x_elems;
    const clnet_cl_arg args[] = {CLNET_CL_ARG(sc.buf), CLNET_CL_ARG(dws_off), CLNET_CL_TENSOR(wa),
                                 CLNET_CL_ARG(r.s)};
    if (st == CLNET_OK)
        st = launch(dev, "s2d_weights_grad", NARGS(args), args, (size_t)f.kw, (size_t)f.kh,
                    (size_t)(f.k * f.c));
    clnet_cl_scratch_release(dev, sc.buf);
    return st;
}
