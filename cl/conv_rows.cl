/* conv_rows.cl - direct convolution with an output row's columns as
 * vector lanes, a vector of them a work-item (see
 * lib/opencl/cl_conv_rows.c): stride 1, no dilation, one group, windows at
 * most QMAX wide. The padding is read as masked lanes, so a layer is one
 * launch where the GEMM paths need a padded copy, partial tiles and
 * several passes: LeNet-5's layers and their gradients, whose few
 * channels leave a GEMM little to do per launch. */

/* Layout shared with `rows_shape` in cl_conv_rows.c (ints only): x (N, C,
 * H, W), w (K, C, KH, KW), y (N, K, OH, OW) of the forward convolution;
 * nv = vectors of output columns a row. */
typedef struct rows_shape {
    int c, h, w, k, oh, ow, kh, kw, pad_h, pad_w, nv;
} rows_shape;

#define VW 16
#define WB 3   /* output channels a work-item of conv_rows_wgrad (LeNet-5's 6 in two) */
#define QMAX 5 /* window columns at most */

#define LANE_INDEX (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)

CLNET_DEFINE_ACTIVATE(activate16, float16)

/* The lanes of a window whose columns i0 + l lie in [0, width): -1. */
static inline int16 lanes_inside(int i0, int width)
{
    const int16 col = (int16)(i0) + LANE_INDEX;
    return col >= 0 && col < width;
}

/* Elements row + i0 .. row + i0 + VW - 1 of a buffer, zero for the lanes
 * whose column i0 + l lies outside [0, width) (`inside`, that test's
 * lanes_inside, computed once by the caller outside its loops): one vector
 * load, masked, unless `edge` (an image whose loads could leave the
 * tensor's elements [begin, end): edge_image), where lanes that would fall
 * outside the tensor are read one by one. Always inlined: a call would
 * spill the caller's accumulators. */
static inline __attribute__((always_inline)) float16
row_window(__global const float *p, int row, int i0, int width, int16 inside, bool edge,
           int begin, int end)
{
    const int start = row + i0;
    if (!edge || (start >= begin && start + VW <= end))
        return select((float16)(0.0f), vload16(0, p + start), inside);
    float t[VW];
#pragma unroll
    for (int l = 0; l < VW; l++)
        t[l] = i0 + l >= 0 && i0 + l < width ? p[start + l] : 0.0f;
    return vload16(0, t);
}

/* Whether the vector loads of an image of `size` elements from `base`,
 * reaching `before` elements before it and `after` past it, could leave
 * the tensor's elements [begin, end): row_window's `edge`. */
static inline bool edge_image(int base, int size, int before, int after, int begin, int end)
{
    return base - before < begin || base + size + after > end;
}

/* acc[kb] += the window of output vector v of row oy of image img times
 * the weights of output channel k0 + kb, over every input channel and the
 * window's rows inside x. Channels past K read channel K - 1's weights
 * (their sums are dropped). Tap (r, q) of input channel c is wk[kb][c *
 * w_c + tap0 + step * (r * KW + q)]: step -1 from the last tap reads a
 * transposed convolution's weights rotated by 180 degrees. */
#define ROWS_ACCUMULATE(KB, edge)                                                        \
    for (int c = 0; c < s.c; c++)                                                        \
        for (int r = r0; r < r1; r++) {                                                  \
            const int row = x_off + img * x_bs + (c * s.h + oy - s.pad_h + r) * s.w;    \
            const int wt = c * w_c + tap0 + step * r * s.kw;                             \
            _Pragma("unroll") for (int q = 0; q < QMAX; q++) if (q < s.kw) {             \
                const float16 xv = row_window(x, row, v * VW - s.pad_w + q, s.w, xin[q], \
                                              edge, x_off, x_end);                       \
                _Pragma("unroll") for (int kb = 0; kb < KB; kb++)                        \
                    acc[kb] = fma(xv, (float16)(wk[kb][wt + step * q]), acc[kb]);        \
            }                                                                            \
        }

/* BODY(KB, edge) with `edge` a constant: whether image img's vector loads
 * could leave x (edge_image). */
#define ROWS_BY_EDGE(BODY, KB)                                                           \
    if (edge_image(x_off + img * x_bs, s.c * s.h * s.w, s.pad_w, s.nv * VW + s.kw, x_off, \
                   x_end)) {                                                             \
        BODY(KB, true)                                                                   \
    } else {                                                                             \
        BODY(KB, false)                                                                  \
    }

/* A conv_rows kernel's start: the lanes inside x for each window column
 * (xin) and the weights of output channels k0 .. k0 + KB - 1 (wk). */
#define ROWS_SETUP(KB)                                                                   \
    __global const float *wk[KB];                                                        \
    int16 xin[QMAX];                                                                     \
    _Pragma("unroll") for (int q = 0; q < QMAX; q++)                                     \
        xin[q] = lanes_inside(v * VW - s.pad_w + q, s.w);                                \
    _Pragma("unroll") for (int kb = 0; kb < KB; kb++)                                    \
        wk[kb] = w + w_off + min(k0 + kb, s.k - 1) * w_k;

/* acc[kb] plus bias, activated, into vector v of output row oy of channels
 * k0 + kb below K. */
#define ROWS_STORE(KB)                                                                   \
    {                                                                                    \
        __global float *yv = y + y_off + img * y_bs + (k0 * s.oh + oy) * s.ow + v * VW;  \
        const int count = min(VW, s.ow - v * VW);                                        \
        _Pragma("unroll") for (int kb = 0; kb < KB; kb++) if (k0 + kb < s.k) {           \
            const float bias = has_bias ? b[b_off + k0 + kb] : 0.0f;                     \
            clnet_store_part16(yv + kb * s.oh * s.ow, count,                             \
                               activate16(acc[kb] + bias, act_fn, act_alpha));           \
        }                                                                                \
    }

/* conv_rows_k<KB>: y[img][k0 + kb][oy][v * VW ...] for kb < KB (those below
 * K), plus bias and the fused activation. Grid: dim 0 = output rows times
 * nv (vector v of row oy at oy * nv + v), dim 1 = blocks of KB output
 * channels, dim 2 = images. x_end: one past x's last element; w_k and w_c:
 * w's output- and input-channel strides; rotated: read the taps backwards
 * (the data gradient: a CONV_TRANSPOSE's weights). */
#define ROWS_KERNEL(KB)                                                                  \
    __kernel void conv_rows_k##KB(                                                       \
        __global const float *x, int x_off, int x_bs, int x_end, __global const float *w, \
        int w_off, int w_k, int w_c, int rotated, __global const float *b, int b_off,    \
        int has_bias, __global float *y, int y_off, int y_bs, rows_shape s, int act_fn,  \
        float act_alpha)                                                                 \
    {                                                                                    \
        const int oy = get_global_id(0) / s.nv, v = get_global_id(0) % s.nv;             \
        const int k0 = get_global_id(1) * KB, img = get_global_id(2);                    \
        const int tap0 = rotated ? s.kh * s.kw - 1 : 0, step = rotated ? -1 : 1;         \
        const int r0 = max(0, s.pad_h - oy), r1 = min(s.kh, s.h + s.pad_h - oy);         \
        float16 acc[KB];                                                                 \
        ROWS_SETUP(KB)                                                                   \
        _Pragma("unroll") for (int kb = 0; kb < KB; kb++) acc[kb] = (float16)(0.0f);     \
        ROWS_BY_EDGE(ROWS_ACCUMULATE, KB)                                                \
        ROWS_STORE(KB)                                                                   \
    }

ROWS_KERNEL(8)
ROWS_KERNEL(6)
ROWS_KERNEL(4)
ROWS_KERNEL(1)

/* Output rows oy0 .. oy_end - 1 of vector v of image img, one after the
 * other (conv_rows_k<KB>_rows). */
#define ROWS_OUTPUT_ROWS(KB, edge)                                                       \
    for (int oy = oy0; oy < oy_end; oy++) {                                              \
        const int r0 = max(0, s.pad_h - oy), r1 = min(s.kh, s.h + s.pad_h - oy);         \
        float16 acc[KB];                                                                 \
        _Pragma("unroll") for (int kb = 0; kb < KB; kb++) acc[kb] = (float16)(0.0f);     \
        ROWS_ACCUMULATE(KB, edge)                                                        \
        ROWS_STORE(KB)                                                                   \
    }

/* conv_rows_k<KB> with rows_item output rows a work-item (dim 0 = blocks of
 * them times nv): for one input channel, whose row of 25 loads and 150
 * FMAs (LeNet-5's first layer) cost less than a work-item's setup and
 * PoCL's scheduling of its group. Its own kernel: with the loop over rows,
 * the compiler kept the weight pointers in memory, and over 16 input
 * channels (LeNet-5's second data gradient) one row a work-item took
 * 0.126 ms against conv_rows_k6's 0.110. */
#define ROWS_KERNEL_ROWS(KB)                                                             \
    __kernel void conv_rows_k##KB##_rows(                                                \
        __global const float *x, int x_off, int x_bs, int x_end, __global const float *w, \
        int w_off, int w_k, int w_c, int rotated, __global const float *b, int b_off,    \
        int has_bias, __global float *y, int y_off, int y_bs, rows_shape s, int act_fn,  \
        float act_alpha, int rows_item)                                                  \
    {                                                                                    \
        const int oy0 = get_global_id(0) / s.nv * rows_item, v = get_global_id(0) % s.nv; \
        const int k0 = get_global_id(1) * KB, img = get_global_id(2);                    \
        const int tap0 = rotated ? s.kh * s.kw - 1 : 0, step = rotated ? -1 : 1;         \
        const int oy_end = min(oy0 + rows_item, s.oh);                                   \
        ROWS_SETUP(KB)                                                                   \
        ROWS_BY_EDGE(ROWS_OUTPUT_ROWS, KB)                                               \
    }

ROWS_KERNEL_ROWS(8)
ROWS_KERNEL_ROWS(6)

/* Output rows a work-item of conv_rows_t1_8. */
#define TALL_RB 8

/* acc[rr] += the windows of output rows oy0 + rr (rr < TALL_RB) of vector
 * v of image img, for a 5x5 window and one output channel (weights wk):
 * each input row the block reads is loaded once per column shift q and
 * multiplied into every output row that reads it, through window row
 * u - rr. A row outside x reads as zeros (its loads stay inside the
 * image). */
#define TALL_ACCUMULATE(edge)                                                            \
    for (int c = 0; c < s.c; c++)                                                        \
        _Pragma("unroll") for (int u = 0; u < TALL_RB + 4; u++) {                        \
            const int iy = oy0 - s.pad_h + u;                                            \
            const bool row_in = iy >= 0 && iy < s.h;                                     \
            const int row = x_off + img * x_bs + (c * s.h + clamp(iy, 0, s.h - 1)) * s.w; \
            _Pragma("unroll") for (int q = 0; q < 5; q++) {                              \
                const float16 xw = row_window(x, row, v * VW - s.pad_w + q, s.w, xin[q], \
                                              edge, x_off, x_end);                       \
                const float16 xv = row_in ? xw : (float16)(0.0f);                        \
                _Pragma("unroll") for (int rr = 0; rr < TALL_RB; rr++)                   \
                    if (u - rr >= 0 && u - rr < 5)                                       \
                        acc[rr] = fma(xv, (float16)(wk[c * w_c + tap0 +                  \
                                                       step * ((u - rr) * 5 + q)]),      \
                                      acc[rr]);                                          \
            }                                                                            \
        }

/* conv_rows_k1 for 5x5 windows with TALL_RB output rows a work-item: the
 * TALL_RB + 4 input rows they read are loaded once each, where one row a
 * work-item loads every input row five times, and the output channel has
 * TALL_RB chains of FMAs instead of one. LeNet-5's first data gradient
 * (one output channel) 0.16-0.17 -> 0.07-0.09 ms a launch; the same
 * blocking over 6 channels (4 rows, 24 sums: 0.14 ms; 2 rows: 0.24-0.57)
 * lost to conv_rows_k6's 0.07-0.11, so only one channel has it. Grid: dim
 * 0 = blocks of TALL_RB output rows times nv (vector v of block b at b *
 * nv + v), dim 1 = output channels, dim 2 = images. */
__kernel void conv_rows_t1_8(__global const float *x, int x_off, int x_bs, int x_end,
                             __global const float *w, int w_off, int w_k, int w_c, int rotated,
                             __global const float *b, int b_off, int has_bias,
                             __global float *y, int y_off, int y_bs, rows_shape s, int act_fn,
                             float act_alpha)
{
    const int oy0 = get_global_id(0) / s.nv * TALL_RB, v = get_global_id(0) % s.nv;
    const int k = get_global_id(1), img = get_global_id(2);
    const int tap0 = rotated ? 5 * 5 - 1 : 0, step = rotated ? -1 : 1;
    __global const float *wk = w + w_off + k * w_k;
    float16 acc[TALL_RB];
    int16 xin[5];
#pragma unroll
    for (int q = 0; q < 5; q++)
        xin[q] = lanes_inside(v * VW - s.pad_w + q, s.w);
#pragma unroll
    for (int rr = 0; rr < TALL_RB; rr++)
        acc[rr] = (float16)(0.0f);
    if (edge_image(x_off + img * x_bs, s.c * s.h * s.w, s.pad_w, s.nv * VW + 5, x_off, x_end)) {
        TALL_ACCUMULATE(true)
    } else {
        TALL_ACCUMULATE(false)
    }
    const int count = min(VW, s.ow - v * VW);
    const float bias = has_bias ? b[b_off + k] : 0.0f;
#pragma unroll
    for (int rr = 0; rr < TALL_RB; rr++)
        if (oy0 + rr < s.oh)
            clnet_store_part16(y + y_off + img * y_bs + (k * s.oh + oy0 + rr) * s.ow + v * VW,
                               count, activate16(acc[rr] + bias, act_fn, act_alpha));
}

/* acc[kb][q] += dy row oy of channel k0 + kb times the input row it reads
 * through window row r, shifted by q, for image img: window columns q <
 * KW, all QMAX of them where `full`. */
#define WGRAD_ACCUMULATE(full, edge)                                                     \
    for (int oy = oy0; oy < oy1; oy++) {                                                 \
        const int xrow = x_off + img * x_bs + (c * s.h + oy - s.pad_h + r) * s.w;       \
        const int dyrow = dy_off + img * dy_bs + (k0 * s.oh + oy) * s.ow;                \
        float16 d[WB];                                                                   \
        _Pragma("unroll") for (int kb = 0; kb < WB; kb++)                                \
            d[kb] = row_window(dy, dyrow + dyk[kb], v * VW, s.ow,                        \
                               lanes_inside(v * VW, s.ow), edge, dy_off, dy_end);        \
        _Pragma("unroll") for (int q = 0; q < QMAX; q++) if (full || q < s.kw) {         \
            /* the columns up to the output's last only: a value past it \
             * times a zero of d could be NaN */                          \
            const int i0 = v * VW - s.pad_w + q, width = min(s.w, s.ow - s.pad_w + q);   \
            const float16 xv = row_window(x, xrow, i0, width, lanes_inside(i0, width),   \
                                          edge, x_off, x_end);                           \
            _Pragma("unroll") for (int kb = 0; kb < WB; kb++)                            \
                acc[kb][q] = fma(d[kb], xv, acc[kb][q]);                                 \
        }                                                                                \
    }

/* dw[k0 + kb][c][r][:] = sum over images and output pixels of dy[k0 + kb]
 * times the input pixel each tap reads, for kb < WB (those below K; the
 * rest repeat channel K - 1 and are dropped): the sums stay in vectors of
 * output columns until the end. conv_rows_wgrad takes windows up to QMAX
 * wide; conv_rows_wgrad_w5 those exactly 5 wide, with no test per column
 * (with them, and blocks of 4 channels, the compiler kept some sums in
 * memory). Grid: dim 0 = (c, r) as c * KH + r, dim 1 = blocks of WB output
 * channels. dw_k: dw's output-channel stride. */
#define WGRAD_KERNEL(NAME, full)                                                         \
    __kernel void NAME(__global const float *x, int x_off, int x_bs, int x_end,          \
                       __global const float *dy, int dy_off, int dy_bs, int dy_end,      \
                       __global float *dw, int dw_off, int dw_k, rows_shape s, int images) \
    {                                                                                    \
        const int c = get_global_id(0) / s.kh, r = get_global_id(0) % s.kh;              \
        const int k0 = get_global_id(1) * WB, kbn = min(WB, s.k - k0);                  \
        const int oy0 = max(0, s.pad_h - r), oy1 = min(s.oh, s.h + s.pad_h - r);         \
        float16 acc[WB][QMAX];                                                           \
        int dyk[WB];                                                                     \
        _Pragma("unroll") for (int kb = 0; kb < WB; kb++) {                              \
            dyk[kb] = min(kb, kbn - 1) * s.oh * s.ow;                                    \
            _Pragma("unroll") for (int q = 0; q < QMAX; q++) acc[kb][q] = (float16)(0.0f); \
        }                                                                                \
        for (int v = 0; v < s.nv; v++)                                                   \
            for (int img = 0; img < images; img++) {                                     \
                if (edge_image(x_off + img * x_bs, s.c * s.h * s.w, s.pad_w,             \
                               s.nv * VW + s.kw, x_off, x_end) ||                        \
                    edge_image(dy_off + img * dy_bs, s.k * s.oh * s.ow, 0, s.nv * VW,    \
                               dy_off, dy_end)) {                                        \
                    WGRAD_ACCUMULATE(full, true)                                         \
                } else {                                                                 \
                    WGRAD_ACCUMULATE(full, false)                                        \
                }                                                                        \
            }                                                                            \
        const int taps = s.kh * s.kw;                                                    \
        _Pragma("unroll") for (int kb = 0; kb < WB; kb++)                                \
            _Pragma("unroll") for (int q = 0; q < QMAX; q++)                             \
                if (kb < kbn && q < s.kw)                                                \
                    dw[dw_off + (k0 + kb) * dw_k + c * taps + r * s.kw + q] =            \
                        sum16(acc[kb][q]);                                               \
    }

WGRAD_KERNEL(conv_rows_wgrad, false)
WGRAD_KERNEL(conv_rows_wgrad_w5, true)
