/* geometry.h - the index arithmetic of convolution and pooling, derived once
 * from a validated op and its tensors, shared by every backend so that the
 * reference and the OpenCL kernels cannot disagree about a shape. */
#ifndef CLNET_GEOMETRY_H
#define CLNET_GEOMETRY_H

#include "core/internal.h"

/* 1-D tensors (N, C, W) are treated as images of height 1. */
typedef struct clnet_conv_geom {
    int64_t n;                 /* batch */
    int64_t c, h, w;           /* input channels and plane */
    int64_t k, oh, ow;         /* output channels and plane */
    int64_t kh, kw;            /* kernel window */
    int64_t stride_h, stride_w;
    int64_t pad_h, pad_w;      /* begin padding (top, left) */
    int64_t dil_h, dil_w;
    int64_t groups;
    int64_t c_per_group;       /* c / groups */
    int64_t k_per_group;       /* k / groups */
} clnet_conv_geom;

/* For CONV: x (N,C,H,W), w (K,C/g,KH,KW), y (N,K,OH,OW).
 * For CONV_TRANSPOSE: x (N,C,H,W), w (C,K/g,KH,KW), y (N,K,OH,OW); the
 * fields keep their meaning (c = input channels, k = output channels). */
clnet_conv_geom clnet_conv_geom_of(const clnet_op *op, const clnet_tensor *x,
                                   const clnet_tensor *w, const clnet_tensor *y);
/* The same from the tensors' shapes (a plan's, before any tensor exists). */
clnet_conv_geom clnet_conv_geom_of_shapes(const clnet_op *op, const clnet_shape *x,
                                          const clnet_shape *w, const clnet_shape *y);

typedef struct clnet_pool_geom {
    int64_t n, c, h, w;        /* input */
    int64_t oh, ow;            /* output */
    int64_t kh, kw;            /* window (the whole plane when global) */
    int64_t stride_h, stride_w;
    int64_t pad_h, pad_w;      /* begin padding */
    int64_t end_h, end_w;      /* h + pad_end_h, w + pad_end_w: where a window is clipped
                                  for count_include_pad */
    clnet_pool_mode mode;
    bool count_include_pad;
    bool adaptive;             /* adaptive average: windows from clnet_adaptive_window;
                                  the window fields then describe the whole plane */
} clnet_pool_geom;

clnet_pool_geom clnet_pool_geom_of(const clnet_op *op, const clnet_tensor *x,
                                   const clnet_tensor *y);

/* The average-pooling divisor of the window starting at (h0, w0) in padded
 * coordinates (h0 = oh*stride - pad), as PyTorch defines it. */
static inline int64_t clnet_pool_divisor(const clnet_pool_geom *g, int64_t h0, int64_t w0)
{
    int64_t hs = h0, ws = w0;
    int64_t he = h0 + g->kh < g->end_h ? h0 + g->kh : g->end_h;
    int64_t we = w0 + g->kw < g->end_w ? w0 + g->kw : g->end_w;
    if (!g->count_include_pad) {
        hs = hs < 0 ? 0 : hs;
        ws = ws < 0 ? 0 : ws;
        he = he < g->h ? he : g->h;
        we = we < g->w ? we : g->w;
    }
    return (he - hs) * (we - ws);
}

/* Adaptive pooling's window along one axis of `in` elements pooled to `out`:
 * output i covers [*begin, *end) = [floor(i*in/out), ceil((i+1)*in/out)),
 * PyTorch's rule. The rule is its own inverse: the outputs whose windows
 * contain input j are those of clnet_adaptive_window(j, out, in). */
static inline void clnet_adaptive_window(int64_t i, int64_t in, int64_t out, int64_t *begin,
                                         int64_t *end)
{
    *begin = i * in / out;
    *end = ((i + 1) * in + out - 1) / out;
}

/* Spatial extent of a tensor as an image: (H, W), H = 1 for rank 3. */
static inline int64_t clnet_geom_h(const clnet_tensor *t) { return t->ndim == 4 ? t->shape[2] : 1; }
static inline int64_t clnet_geom_w(const clnet_tensor *t) { return t->shape[t->ndim - 1]; }
/* The same of a shape (a plan's, before its tensors exist). */
static inline int64_t clnet_geom_shape_h(const clnet_shape *s) { return s->ndim == 4 ? s->dim[2] : 1; }
static inline int64_t clnet_geom_shape_w(const clnet_shape *s) { return s->dim[s->ndim - 1]; }
/* Product of the dimensions after the channel axis (1 for rank 2). */
int64_t clnet_spatial_numel(const clnet_tensor *t);

/* The dropout keep decision: a pure function of (seed, flat index), written
 * so the OpenCL kernel (cl/dropout in misc.cl) computes the same bits. */
static inline uint32_t clnet_hash32(uint32_t x)
{
    x ^= x >> 16; x *= 0x7feb352dU;
    x ^= x >> 15; x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}
static inline bool clnet_dropout_keep(uint64_t seed, uint64_t index, float p)
{
    uint32_t h = clnet_hash32((uint32_t)index ^ clnet_hash32((uint32_t)(index >> 32) ^
                 clnet_hash32((uint32_t)seed ^ clnet_hash32((uint32_t)(seed >> 32)))));
    /* 24 random bits -> [0, 1) exactly representable in float */
    float u = (float)(h >> 8) * (1.0f / 16777216.0f);
    return u >= p;
}

#endif
