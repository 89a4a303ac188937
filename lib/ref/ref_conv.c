/* ref_conv.c - reference convolution, transposed convolution and the
 * convolution's weight gradient: one double accumulator per output element,
 * summed in a fixed, obvious order. */
#include "ref/ref.h"

/* Image n of a tensor: views slice axis 0 or 1 only, so everything after
 * axis 0 is dense from here. */
static const float *image(const clnet_tensor *t, int64_t n)
{
    return clnet_ref_f32(t) + n * t->stride[0];
}

static double bias_of(const clnet_tensor *b, int64_t k)
{
    return b ? (double)clnet_ref_f32(b)[k * b->stride[0]] : 0.0;
}

/* Cross-correlation of output channel k at (oy, ox) with its group's inputs. */
static double conv_point(const clnet_conv_geom *g, const float *x, const clnet_tensor *w,
                         int64_t k, int64_t oy, int64_t ox)
{
    int64_t c0 = (k / g->k_per_group) * g->c_per_group;
    const float *wk = image(w, k);
    double acc = 0.0;
    for (int64_t ci = 0; ci < g->c_per_group; ci++) {
        const float *plane = x + (c0 + ci) * g->h * g->w;
        for (int64_t ky = 0; ky < g->kh; ky++) {
            int64_t iy = oy * g->stride_h - g->pad_h + ky * g->dil_h;
            if (iy < 0 || iy >= g->h)
                continue;
            for (int64_t kx = 0; kx < g->kw; kx++) {
                int64_t ix = ox * g->stride_w - g->pad_w + kx * g->dil_w;
                if (ix < 0 || ix >= g->w)
                    continue;
                double wv = wk[(ci * g->kh + ky) * g->kw + kx];
                acc += wv * plane[iy * g->w + ix];
            }
        }
    }
    return acc;
}

/* Input coordinate that tap `kt` of the kernel maps onto output coordinate
 * `o` in a transposed convolution, or -1 when no input position does. */
static int64_t transposed_source(int64_t o, int64_t kt, int64_t stride, int64_t pad,
                                 int64_t dil, int64_t size)
{
    int64_t t = o + pad - kt * dil;
    if (t < 0 || t % stride != 0)
        return -1;
    t /= stride;
    return t < size ? t : -1;
}

/* Transposed convolution written as a gather: output channel k at (oy, ox)
 * collects every input position whose scattered window covers it. The
 * weight is (C, K/groups, KH, KW), so input channel c owns w's image c. */
static double conv_transpose_point(const clnet_conv_geom *g, const float *x,
                                   const clnet_tensor *w, int64_t k, int64_t oy, int64_t ox)
{
    int64_t group = k / g->k_per_group;
    int64_t kg = k % g->k_per_group;
    double acc = 0.0;
    for (int64_t ci = 0; ci < g->c_per_group; ci++) {
        int64_t c = group * g->c_per_group + ci;
        const float *plane = x + c * g->h * g->w;
        const float *wc = image(w, c) + kg * g->kh * g->kw;
        for (int64_t ky = 0; ky < g->kh; ky++) {
            int64_t iy = transposed_source(oy, ky, g->stride_h, g->pad_h, g->dil_h, g->h);
            if (iy < 0)
                continue;
            for (int64_t kx = 0; kx < g->kw; kx++) {
                int64_t ix = transposed_source(ox, kx, g->stride_w, g->pad_w, g->dil_w, g->w);
                if (ix < 0)
                    continue;
                acc += (double)wc[ky * g->kw + kx] * plane[iy * g->w + ix];
            }
        }
    }
    return acc;
}

/* dw[k, ci, ky, kx]: tap (ky, kx) of the forward convolution, summed over
 * every image and output position, reading x exactly where conv_point does. */
static double weight_grad_point(const clnet_conv_geom *g, const clnet_tensor *x,
                                const clnet_tensor *dy, int64_t k, int64_t ci, int64_t ky,
                                int64_t kx)
{
    int64_t c = (k / g->k_per_group) * g->c_per_group + ci;
    double acc = 0.0;
    for (int64_t n = 0; n < g->n; n++) {
        const float *plane = image(x, n) + c * g->h * g->w;
        const float *dyk = image(dy, n) + k * g->oh * g->ow;
        for (int64_t oy = 0; oy < g->oh; oy++) {
            int64_t iy = oy * g->stride_h - g->pad_h + ky * g->dil_h;
            if (iy < 0 || iy >= g->h)
                continue;
            for (int64_t ox = 0; ox < g->ow; ox++) {
                int64_t ix = ox * g->stride_w - g->pad_w + kx * g->dil_w;
                if (ix < 0 || ix >= g->w)
                    continue;
                acc += (double)dyk[oy * g->ow + ox] * plane[iy * g->w + ix];
            }
        }
    }
    return acc;
}

/* The geometry is that of the forward CONV whose weights have dw's shape and
 * whose output has dy's. */
static void run_conv_backward_weights(const clnet_op *op, const clnet_tensor *x,
                                      const clnet_tensor *dy, clnet_tensor *dw)
{
    clnet_conv_geom g = clnet_conv_geom_of(op, x, dw, dy);
    for (int64_t k = 0; k < g.k; k++) {
        float *wk = clnet_ref_f32(dw) + k * dw->stride[0];
        for (int64_t ci = 0; ci < g.c_per_group; ci++)
            for (int64_t ky = 0; ky < g.kh; ky++)
                for (int64_t kx = 0; kx < g.kw; kx++)
                    wk[(ci * g.kh + ky) * g.kw + kx] =
                        (float)weight_grad_point(&g, x, dy, k, ci, ky, kx);
    }
}

clnet_status clnet_ref_run_conv(clnet_device *dev, const clnet_op *op, int nin,
                                clnet_tensor *const *in, int nout, clnet_tensor *const *out)
{
    (void)dev;
    (void)nout;
    if (op->kind == CLNET_OP_CONV_BACKWARD_WEIGHTS) {
        run_conv_backward_weights(op, in[0], in[1], out[0]);
        return CLNET_OK;
    }
    const clnet_tensor *x = in[0], *w = in[1];
    const clnet_tensor *b = nin > 2 ? in[2] : NULL;
    clnet_tensor *y = out[0];
    clnet_conv_geom g = clnet_conv_geom_of(op, x, w, y);
    bool transposed = op->kind == CLNET_OP_CONV_TRANSPOSE;
    bool fused = !transposed && op->u.conv.fuse_act;
    for (int64_t n = 0; n < g.n; n++) {
        const float *xn = image(x, n);
        float *yn = clnet_ref_f32(y) + n * y->stride[0];
        for (int64_t k = 0; k < g.k; k++) {
            double bias = bias_of(b, k);
            for (int64_t oy = 0; oy < g.oh; oy++)
                for (int64_t ox = 0; ox < g.ow; ox++) {
                    double acc = transposed ? conv_transpose_point(&g, xn, w, k, oy, ox)
                                            : conv_point(&g, xn, w, k, oy, ox);
                    float v = (float)(acc + bias);
                    yn[(k * g.oh + oy) * g.ow + ox] =
                        fused ? clnet_ref_activate(&op->u.conv.act, v) : v;
                }
        }
    }
    return CLNET_OK;
}
