/* ref_pool.c - reference pooling in every clnet_pool_mode (with max's
 * optional argmax output, and adaptive average pooling), max-unpooling, and
 * the gradients of pooling (window by window) and of unpooling. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref/ref.h"

/* The first element of a window beats all later equal ones, padding never
 * takes part, and a NaN wins over numbers (it propagates, as in PyTorch). */
static bool beats(float v, float best, int64_t best_index)
{
    if (best_index < 0)
        return true;
    if (isnan(best))
        return false;
    return v > best || isnan(v);
}

static void max_window(const clnet_pool_geom *g, const float *plane, int64_t h0, int64_t w0,
                       float *out, int32_t *out_index)
{
    float best = 0.0f;
    int64_t best_index = -1;
    for (int64_t iy = h0 < 0 ? 0 : h0; iy < h0 + g->kh && iy < g->h; iy++)
        for (int64_t ix = w0 < 0 ? 0 : w0; ix < w0 + g->kw && ix < g->w; ix++) {
            float v = plane[iy * g->w + ix];
            if (beats(v, best, best_index)) {
                best = v;
                best_index = iy * g->w + ix;
            }
        }
    *out = best;
    *out_index = (int32_t)best_index;
}

static float avg_window(const clnet_pool_geom *g, const float *plane, int64_t h0, int64_t w0)
{
    double sum = 0.0;
    for (int64_t iy = h0 < 0 ? 0 : h0; iy < h0 + g->kh && iy < g->h; iy++)
        for (int64_t ix = w0 < 0 ? 0 : w0; ix < w0 + g->kw && ix < g->w; ix++)
            sum += plane[iy * g->w + ix];
    return (float)(sum / (double)clnet_pool_divisor(g, h0, w0));
}

/* The output of the window at (h0, w0) (padded coordinates) in the geometry's
 * mode, with the flat position of the window's first maximum in *index
 * (-1 for modes that do not select). Every clnet_pool_mode has its case. */
static float window_value(const clnet_pool_geom *g, const float *plane, int64_t h0, int64_t w0,
                          int32_t *index)
{
    float y = NAN;
    *index = -1;
    switch (g->mode) {
    case CLNET_POOL_MAX:
        max_window(g, plane, h0, w0, &y, index);
        break;
    case CLNET_POOL_AVG:
        y = avg_window(g, plane, h0, w0);
        break;
    case CLNET_POOL_L2: {
        double squares = 0.0;
        for (int64_t iy = h0 < 0 ? 0 : h0; iy < h0 + g->kh && iy < g->h; iy++)
            for (int64_t ix = w0 < 0 ? 0 : w0; ix < w0 + g->kw && ix < g->w; ix++)
                squares += (double)plane[iy * g->w + ix] * plane[iy * g->w + ix];
        y = (float)sqrt(squares);
        break;
    }
    case CLNET_POOL_MODE_COUNT: /* refused by the check */
        break;
    }
    return y;
}

/* What the window with output y, gradient dy, divisor `divisor` and first
 * maximum at `selected` passes back to its input v at flat position `self`. */
static double window_grad(const clnet_pool_geom *g, float dy, float v, float y,
                          int32_t selected, int64_t self, int64_t divisor)
{
    switch (g->mode) {
    case CLNET_POOL_MAX:
        return selected == self ? dy : 0.0;
    case CLNET_POOL_AVG:
        return (double)dy / (double)divisor;
    case CLNET_POOL_L2: /* d sqrt(sum x^2) / dx = x / y; 0 at y = 0, as PyTorch */
        return y == 0.0f ? 0.0 : (double)dy * v / y;
    case CLNET_POOL_MODE_COUNT: /* refused by the check */
        break;
    }
    return NAN;
}

/* Output (oy, ox) of adaptive average pooling. */
static float adaptive_avg(const clnet_pool_geom *g, const float *plane, int64_t oy, int64_t ox)
{
    int64_t hs, he, ws, we;
    clnet_adaptive_window(oy, g->h, g->oh, &hs, &he);
    clnet_adaptive_window(ox, g->w, g->ow, &ws, &we);
    double sum = 0.0;
    for (int64_t iy = hs; iy < he; iy++)
        for (int64_t ix = ws; ix < we; ix++)
            sum += plane[iy * g->w + ix];
    return (float)(sum / (double)((he - hs) * (we - ws)));
}

static clnet_status run_pool(const clnet_op *op, const clnet_tensor *x, clnet_tensor *y,
                             clnet_tensor *argmax)
{
    clnet_pool_geom g = clnet_pool_geom_of(op, x, y);
    int64_t out_plane = g.oh * g.ow;
    for (int64_t n = 0; n < g.n; n++)
        for (int64_t c = 0; c < g.c; c++) {
            const float *plane = clnet_ref_f32(x) + n * x->stride[0] + c * g.h * g.w;
            float *yp = clnet_ref_f32(y) + n * y->stride[0] + c * out_plane;
            int32_t *ap = argmax ? clnet_ref_i32(argmax) + n * argmax->stride[0] + c * out_plane
                                 : NULL;
            for (int64_t oy = 0; oy < g.oh; oy++)
                for (int64_t ox = 0; ox < g.ow; ox++) {
                    int64_t h0 = oy * g.stride_h - g.pad_h;
                    int64_t w0 = ox * g.stride_w - g.pad_w;
                    int64_t o = oy * g.ow + ox;
                    int32_t index = -1;
                    if (g.adaptive)
                        yp[o] = adaptive_avg(&g, plane, oy, ox);
                    else
                        yp[o] = window_value(&g, plane, h0, w0, &index);
                    if (ap)
                        ap[o] = index;
                }
        }
    return CLNET_OK;
}

/* UNPOOL (scatter: x added into y at argmax) and its gradient (gather: dx
 * reads dy at argmax), plane by plane; `small` is x or dx, `big` y or dy.
 * The core checks shapes, not index values: an index outside the plane is
 * refused here rather than read or written out of bounds. */
static clnet_status run_unpool(clnet_device *dev, const char *what, bool gather,
                               clnet_tensor *small, const clnet_tensor *argmax,
                               clnet_tensor *big)
{
    int64_t n_images = small->shape[0], channels = small->shape[1];
    int64_t in_plane = clnet_spatial_numel(small);
    int64_t out_plane = clnet_spatial_numel(big);
    for (int64_t n = 0; !gather && n < n_images; n++)
        memset(clnet_ref_f32(big) + n * big->stride[0], 0,
               (size_t)(channels * out_plane) * sizeof(float));
    for (int64_t n = 0; n < n_images; n++)
        for (int64_t c = 0; c < channels; c++) {
            float *sp = clnet_ref_f32(small) + n * small->stride[0] + c * in_plane;
            const int32_t *ap = clnet_ref_i32(argmax) + n * argmax->stride[0] + c * in_plane;
            float *bp = clnet_ref_f32(big) + n * big->stride[0] + c * out_plane;
            for (int64_t i = 0; i < in_plane; i++) {
                if (ap[i] < 0 || ap[i] >= out_plane)
                    return clnet_fail(dev->ctx, CLNET_ERR_INVALID_ARGUMENT,
                                      "ref: %s: argmax[%lld, %lld, %lld] = %d lies outside "
                                      "the %lld-element unpooled plane", what, (long long)n,
                                      (long long)c, (long long)i, (int)ap[i],
                                      (long long)out_plane);
                if (gather)
                    sp[i] = bp[ap[i]];
                else
                    bp[ap[i]] += sp[i];
            }
        }
    return CLNET_OK;
}

/* The output positions [*lo, *hi] along one axis whose windows contain input
 * coordinate i: o * stride - pad <= i < o * stride - pad + window. */
static void covering(int64_t i, int64_t window, int64_t stride, int64_t pad, int64_t outputs,
                     int64_t *lo, int64_t *hi)
{
    int64_t first = i + pad - window + 1;
    *lo = first <= 0 ? 0 : (first + stride - 1) / stride;
    int64_t last = (i + pad) / stride;
    *hi = last < outputs - 1 ? last : outputs - 1;
}

/* dx at input position (iy, ix) of one plane, gathered from every window
 * that covers it so each sum is one double accumulator. `y` and `selected`
 * are the plane's window outputs and first maxima (window_value). */
static double pool_grad_point(const clnet_pool_geom *g, const float *x, const float *dy,
                              const float *y, const int32_t *selected, int64_t iy, int64_t ix)
{
    int64_t oy0, oy1, ox0, ox1;
    covering(iy, g->kh, g->stride_h, g->pad_h, g->oh, &oy0, &oy1);
    covering(ix, g->kw, g->stride_w, g->pad_w, g->ow, &ox0, &ox1);
    int64_t self = iy * g->w + ix;
    double acc = 0.0;
    for (int64_t oy = oy0; oy <= oy1; oy++)
        for (int64_t ox = ox0; ox <= ox1; ox++) {
            int64_t o = oy * g->ow + ox;
            int64_t divisor = clnet_pool_divisor(g, oy * g->stride_h - g->pad_h,
                                                 ox * g->stride_w - g->pad_w);
            acc += window_grad(g, dy[o], x[self], y[o], selected[o], self, divisor);
        }
    return acc;
}

/* dx at (iy, ix) of adaptive average pooling: dy / window size from every
 * output whose window contains it. */
static double adaptive_grad_point(const clnet_pool_geom *g, const float *dy, int64_t iy,
                                  int64_t ix)
{
    int64_t oy0, oy1, ox0, ox1;
    clnet_adaptive_window(iy, g->oh, g->h, &oy0, &oy1);
    clnet_adaptive_window(ix, g->ow, g->w, &ox0, &ox1);
    double acc = 0.0;
    for (int64_t oy = oy0; oy < oy1; oy++)
        for (int64_t ox = ox0; ox < ox1; ox++) {
            int64_t hs, he, ws, we;
            clnet_adaptive_window(oy, g->h, g->oh, &hs, &he);
            clnet_adaptive_window(ox, g->w, g->ow, &ws, &we);
            acc += (double)dy[oy * g->ow + ox] / (double)((he - hs) * (we - ws));
        }
    return acc;
}

/* dx at (iy, ix) of one plane from the forward's argmax: the dy of every
 * covering window whose argmax names this position. */
static double argmax_grad_point(const clnet_pool_geom *g, const float *dy, const int32_t *idx,
                                int64_t iy, int64_t ix)
{
    int64_t oy0, oy1, ox0, ox1;
    covering(iy, g->kh, g->stride_h, g->pad_h, g->oh, &oy0, &oy1);
    covering(ix, g->kw, g->stride_w, g->pad_w, g->ow, &ox0, &ox1);
    const int64_t self = iy * g->w + ix;
    double acc = 0.0;
    for (int64_t oy = oy0; oy <= oy1; oy++)
        for (int64_t ox = ox0; ox <= ox1; ox++)
            if (idx[oy * g->ow + ox] == self)
                acc += dy[oy * g->ow + ox];
    return acc;
}

static void pool_backward_argmax(const clnet_pool_geom *g, const clnet_tensor *dy,
                                 const clnet_tensor *argmax, clnet_tensor *dx)
{
    const int64_t out_plane = g->oh * g->ow, in_plane = g->h * g->w;
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t c = 0; c < g->c; c++) {
            const float *dyp = clnet_ref_f32(dy) + n * dy->stride[0] + c * out_plane;
            const int32_t *ip = clnet_ref_i32(argmax) + n * argmax->stride[0] + c * out_plane;
            float *dxp = clnet_ref_f32(dx) + n * dx->stride[0] + c * in_plane;
            for (int64_t iy = 0; iy < g->h; iy++)
                for (int64_t ix = 0; ix < g->w; ix++)
                    dxp[iy * g->w + ix] = (float)argmax_grad_point(g, dyp, ip, iy, ix);
        }
}

/* Each plane's window outputs and first maxima are recomputed from x into
 * scratch planes, so the gradient follows the forward (its tie rule
 * included) exactly; with the forward's argmax, nothing is recomputed. */
static clnet_status run_pool_backward(clnet_device *dev, const clnet_op *op,
                                      const clnet_tensor *x, const clnet_tensor *dy,
                                      const clnet_tensor *argmax, clnet_tensor *dx)
{
    clnet_pool_geom g = clnet_pool_geom_of(op, x, dy);
    if (argmax) {
        pool_backward_argmax(&g, dy, argmax, dx);
        return CLNET_OK;
    }
    int64_t out_plane = g.oh * g.ow, in_plane = g.h * g.w;
    float *y = malloc((size_t)out_plane * sizeof(*y));
    int32_t *selected = malloc((size_t)out_plane * sizeof(*selected));
    if (!y || !selected) {
        free(y);
        free(selected);
        return clnet_fail(dev->ctx, CLNET_ERR_HOST_MEMORY,
                          "ref: pool_backward: cannot allocate %lld window outputs",
                          (long long)out_plane);
    }
    for (int64_t n = 0; n < g.n; n++)
        for (int64_t c = 0; c < g.c; c++) {
            const float *plane = clnet_ref_f32(x) + n * x->stride[0] + c * in_plane;
            const float *dyp = clnet_ref_f32(dy) + n * dy->stride[0] + c * out_plane;
            float *dxp = clnet_ref_f32(dx) + n * dx->stride[0] + c * in_plane;
            for (int64_t o = 0; !g.adaptive && o < out_plane; o++)
                y[o] = window_value(&g, plane, (o / g.ow) * g.stride_h - g.pad_h,
                                    (o % g.ow) * g.stride_w - g.pad_w, &selected[o]);
            for (int64_t iy = 0; iy < g.h; iy++)
                for (int64_t ix = 0; ix < g.w; ix++)
                    dxp[iy * g.w + ix] =
                        (float)(g.adaptive ? adaptive_grad_point(&g, dyp, iy, ix)
                                           : pool_grad_point(&g, plane, dyp, y, selected, iy, ix));
        }
    free(y);
    free(selected);
    return CLNET_OK;
}

clnet_status clnet_ref_run_pool(clnet_device *dev, const clnet_op *op, int nin,
                                clnet_tensor *const *in, int nout, clnet_tensor *const *out)
{
    if (op->kind == CLNET_OP_UNPOOL)
        return run_unpool(dev, "unpool", false, in[0], in[1], out[0]);
    if (op->kind == CLNET_OP_UNPOOL_BACKWARD)
        return run_unpool(dev, "unpool_backward", true, out[0], in[1], in[0]);
    if (op->kind == CLNET_OP_POOL_BACKWARD)
        return run_pool_backward(dev, op, in[0], in[1], nin > 2 ? in[2] : NULL, out[0]);
    return run_pool(op, in[0], out[0], nout > 1 ? out[1] : NULL);
}
