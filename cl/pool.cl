/* pool.cl - pooling in every mode (windowed, adaptive, and global as one
 * work-group reduction per plane), max-unpooling by atomic scatter-add, and
 * the pooling gradient as a gather (no atomics). Max pooling selects and has
 * kernels of its own; the modes that sum over their window are rows of
 * CLNET_POOL_SUMS at the end. */

/* Every tensor arrives as (base, offset, batch_stride) in elements; the rest
 * of an image is dense, so image n of t starts at t + t_off + n * t_bs.
 * Grids are launched at their exact extents (no padding), so the grid
 * position is the element and get_global_size gives extents. */

/* Layout shared with `pool_shape` in lib/opencl/cl_pool.c: ints only, so the
 * host and the device agree on it. */
typedef struct pool_shape {
    int c, h, w;            /* input channels and plane */
    int oh, ow;             /* output plane */
    int kh, kw;             /* window */
    int stride_h, stride_w;
    int pad_h, pad_w;       /* begin padding */
    int end_h, end_w;       /* input plus end padding: where count_include_pad clips */
    int count_include_pad;
} pool_shape;

/* The output element (n, c, oh, ow) of a work-item of the grid
 * (OW, OH, N * C). */
inline void pool_locate(const pool_shape *g, int *n, int *c, int *oh, int *ow)
{
    *ow = get_global_id(0);
    *oh = get_global_id(1);
    *c = get_global_id(2) % g->c;
    *n = get_global_id(2) / g->c;
}

/* Max of the window at (h0, w0) (padded coordinates) over the input plane
 * `p`, with the flat index of its first occurrence in row-major window
 * order. Padding is never visited, so it cannot win. NaN propagates: the
 * first NaN is the maximum, as in the reference backend. */
inline int window_max(__global const float *p, const pool_shape *g, int h0, int w0, float *best)
{
    int hs = max(h0, 0), he = min(h0 + g->kh, g->h);
    int ws = max(w0, 0), we = min(w0 + g->kw, g->w);
    float m = -INFINITY;
    int arg = -1;
    for (int i = hs; i < he; i++) {
        for (int j = ws; j < we; j++) {
            float v = p[i * g->w + j];
            if (arg < 0 || v > m || (isnan(v) && !isnan(m))) {
                m = v;
                arg = i * g->w + j;
            }
        }
    }
    *best = m;
    return arg;
}

/* The divisor rule of clnet_pool_divisor (lib/core/geometry.h). */
inline int window_divisor(const pool_shape *g, int h0, int w0)
{
    int hs = h0, ws = w0;
    int he = min(h0 + g->kh, g->end_h);
    int we = min(w0 + g->kw, g->end_w);
    if (!g->count_include_pad) {
        hs = max(hs, 0);
        ws = max(ws, 0);
        he = min(he, g->h);
        we = min(we, g->w);
    }
    return (he - hs) * (we - ws);
}

/* Outputs a max-pooling work-item takes along the width: one vector. */
#define PW 8

/* The PW inputs at columns w0 + l * stride (lane l) of one input row, and
 * in *inside which of them lie in the row (the others read 0). Runs inside
 * the row are one vector load for strides 1 and 2; the rest (edges, other
 * strides) are gathered lane by lane. */
inline float8 row_lanes(__global const float *row, int w0, int stride, int w, int8 *inside)
{
    const int8 iw = w0 + stride * (int8)(0, 1, 2, 3, 4, 5, 6, 7);
    *inside = iw >= 0 && iw < w;
    if (w0 >= 0 && stride == 1 && w0 + PW <= w)
        return vload8(0, row + w0);
    if (w0 >= 0 && stride == 2 && w0 + 2 * PW <= w)
        return vload16(0, row + w0).even;
    float t[PW];
    for (int l = 0; l < PW; l++) {
        const int c = w0 + l * stride;
        t[l] = c >= 0 && c < w ? row[c] : 0.0f;
    }
    return vload8(0, t);
}

/* One step of a 2x2 window's maximum: v (inputs at flat indices at) beats
 * the maximum so far when larger, or the first NaN. */
inline void max_step(float4 *m, int4 *a, float4 v, int4 at)
{
    const int4 beats = (v > *m) | (isnan(v) & !isnan(*m));
    *m = select(*m, v, beats);
    *a = select(*a, at, beats);
}

/* The maxima of `valid` (at most 4) 2x2 windows side by side, the first
 * with its top-left input at flat index `at`, each wholly inside the
 * plane: from two rows of 8 columns as vectors, where fewer windows may
 * read past the row (`spill`: a row of the plane follows the bottom one;
 * those lanes are not stored), else one by one. The window's taps in
 * row-major order, as window_max. */
inline float4 max4_2x2(__global const float *p, int w, int at, int valid, bool spill,
                       int4 *arg)
{
    const int4 a0 = at + (int4)(0, 2, 4, 6);
    float4 top_l, top_r, bottom_l, bottom_r;
    if (valid == 4 || (valid > 0 && spill)) {
        const float8 top = vload8(0, p + at), bottom = vload8(0, p + at + w);
        top_l = top.even;
        top_r = top.odd;
        bottom_l = bottom.even;
        bottom_r = bottom.odd;
    } else {
        float t[4][4] = {{0.0f}};
        for (int l = 0; l < valid; l++) {
            t[0][l] = p[at + 2 * l];
            t[1][l] = p[at + 2 * l + 1];
            t[2][l] = p[at + w + 2 * l];
            t[3][l] = p[at + w + 2 * l + 1];
        }
        top_l = vload4(0, t[0]);
        top_r = vload4(0, t[1]);
        bottom_l = vload4(0, t[2]);
        bottom_r = vload4(0, t[3]);
    }
    float4 m = top_l;
    int4 a = a0;
    max_step(&m, &a, top_r, a0 + 1);
    max_step(&m, &a, bottom_l, a0 + w);
    max_step(&m, &a, bottom_r, a0 + w + 1);
    *arg = a;
    return m;
}

/* window_max of the PW windows of one output row starting at padded
 * coordinates (h0, w0 + l * stride_w), lane by lane: the same comparisons
 * in the same order, so ties and NaN resolve alike; *arg gets each flat
 * argmax (-1 for a window that lies wholly in the padding). Of them the
 * first `count` are stored. 2x2 windows at stride 2 wholly inside the plane
 * (most max pools, odd planes included) take max4_2x2 without the general
 * loop, which ran airbench's pools at batch 1024 at 3-13 GB/s. */
inline float8 block_max(__global const float *p, const pool_shape *g, int h0, int w0, int count,
                        int8 *arg)
{
    if (g->kh == 2 && g->kw == 2 && g->stride_w == 2 && h0 >= 0 && h0 + 2 <= g->h && w0 >= 0 &&
        2 * count <= g->w - w0) {
        const int at = h0 * g->w + w0;
        const bool spill = h0 + 2 < g->h;
        int4 lo_arg, hi_arg;
        const float4 lo = max4_2x2(p, g->w, at, min(count, 4), spill, &lo_arg);
        const float4 hi = max4_2x2(p, g->w, at + 8, max(count - 4, 0), spill, &hi_arg);
        *arg = (int8)(lo_arg, hi_arg);
        return (float8)(lo, hi);
    }
    const int hs = max(h0, 0), he = min(h0 + g->kh, g->h);
    const int8 lane = (int8)(0, 1, 2, 3, 4, 5, 6, 7) * g->stride_w;
    float8 m = -INFINITY;
    int8 a = -1;
    for (int i = hs; i < he; i++) {
        for (int j = 0; j < g->kw; j++) {
            int8 inside;
            const float8 v = row_lanes(p + i * g->w, w0 + j, g->stride_w, g->w, &inside);
            const int8 beats = inside & ((a < 0) | (v > m) | (isnan(v) & !isnan(m)));
            m = select(m, v, beats);
            a = select(a, i * g->w + w0 + j + lane, beats);
        }
    }
    *arg = a;
    return m;
}

/* The first `count` lanes of v at dst. */
inline void store_lanes(__global float *dst, int count, float8 v)
{
    if (count == PW) {
        vstore8(v, 0, dst);
        return;
    }
    float t[PW];
    vstore8(v, 0, t);
    for (int l = 0; l < count; l++)
        dst[l] = t[l];
}

/* The output block (n, c, oh, ow0 .. ow0 + PW) of a work-item of the grid
 * (ceil(OW / PW), OH, N * C), and its lanes inside the row. */
inline int block_locate(const pool_shape *g, int *n, int *c, int *oh, int *ow0)
{
    *ow0 = get_global_id(0) * PW;
    *oh = get_global_id(1);
    *c = get_global_id(2) % g->c;
    *n = get_global_id(2) / g->c;
    return min(PW, g->ow - *ow0);
}

/* Max pooling, PW outputs of one row per work-item. */
__kernel void pool_max(__global const float *x, int x_off, int x_bs,
                       __global float *y, int y_off, int y_bs, pool_shape g)
{
    int n, c, oh, ow0;
    const int count = block_locate(&g, &n, &c, &oh, &ow0);
    __global const float *p = x + x_off + n * x_bs + c * g.h * g.w;
    int8 arg;
    const float8 m = block_max(p, &g, oh * g.stride_h - g.pad_h, ow0 * g.stride_w - g.pad_w, count,
                                &arg);
    store_lanes(y + y_off + n * y_bs + (c * g.oh + oh) * g.ow + ow0, count, m);
}

/* pool_max that also writes the argmax (flat h * W + w in the plane). */
__kernel void pool_max_argmax(__global const float *x, int x_off, int x_bs,
                              __global float *y, int y_off, int y_bs,
                              __global int *idx, int idx_off, int idx_bs, pool_shape g)
{
    int n, c, oh, ow0;
    const int count = block_locate(&g, &n, &c, &oh, &ow0);
    __global const float *p = x + x_off + n * x_bs + c * g.h * g.w;
    int8 arg;
    const float8 m = block_max(p, &g, oh * g.stride_h - g.pad_h, ow0 * g.stride_w - g.pad_w, count,
                                &arg);
    const int o = (c * g.oh + oh) * g.ow + ow0;
    store_lanes(y + y_off + n * y_bs + o, count, m);
    __global int *ip = idx + idx_off + n * idx_bs + o;
    if (count == PW) {
        vstore8(arg, 0, ip);
    } else {
        int t[PW];
        vstore8(arg, 0, t);
        for (int l = 0; l < count; l++)
            ip[l] = t[l];
    }
}

/* The plane (n, c) of a work-item of a one-dimensional grid over the
 * planes, for planes whose rows are too short for a block of PW: the
 * work-item takes every output of its plane (airbench's last pool, 3x3 ->
 * 1x1 at batch 1024: 17 -> 1 ms with one output per work-item; its 7x7 ->
 * 3x3 one output a work-item 13-20 ms, a plane a work-item 4-6). */
inline __global const float *plane_locate(__global const float *x, int x_off, int x_bs,
                                          const pool_shape *g, int *n, int *o)
{
    const int z = get_global_id(0);
    *n = z / g->c;
    const int c = z - *n * g->c;
    *o = c * g->oh * g->ow;
    return x + x_off + *n * x_bs + c * g->h * g->w;
}

/* Max pooling, one plane per work-item (plane_locate). */
__kernel void pool_max_flat(__global const float *x, int x_off, int x_bs,
                            __global float *y, int y_off, int y_bs, pool_shape g)
{
    int n, o;
    __global const float *p = plane_locate(x, x_off, x_bs, &g, &n, &o);
    __global float *py = y + y_off + n * y_bs + o;
    for (int oh = 0; oh < g.oh; oh++)
        for (int ow = 0; ow < g.ow; ow++) {
            float m;
            window_max(p, &g, oh * g.stride_h - g.pad_h, ow * g.stride_w - g.pad_w, &m);
            *py++ = m;
        }
}

/* pool_max_flat that also writes the argmax. */
__kernel void pool_max_argmax_flat(__global const float *x, int x_off, int x_bs,
                                   __global float *y, int y_off, int y_bs,
                                   __global int *idx, int idx_off, int idx_bs, pool_shape g)
{
    int n, o;
    __global const float *p = plane_locate(x, x_off, x_bs, &g, &n, &o);
    __global float *py = y + y_off + n * y_bs + o;
    __global int *pi = idx + idx_off + n * idx_bs + o;
    for (int oh = 0; oh < g.oh; oh++)
        for (int ow = 0; ow < g.ow; ow++) {
            float m;
            *pi++ = window_max(p, &g, oh * g.stride_h - g.pad_h, ow * g.stride_w - g.pad_w, &m);
            *py++ = m;
        }
}

/* clnet_adaptive_window (lib/core/geometry.h): output i of `out` covers
 * input [*b, *e); with in and out swapped it gives the outputs covering
 * input i. Long products: i * in may pass 2^31. */
inline void adaptive_window(int i, int in, int out, int *b, int *e)
{
    *b = (int)((long)i * in / out);
    *e = (int)(((long)(i + 1) * in + out - 1) / out);
}

/* Adaptive average pooling, one work-item per output element. */
__kernel void pool_adaptive_avg(__global const float *x, int x_off, int x_bs,
                                __global float *y, int y_off, int y_bs, pool_shape g)
{
    int n, c, oh, ow, hs, he, ws, we;
    pool_locate(&g, &n, &c, &oh, &ow);
    adaptive_window(oh, g.h, g.oh, &hs, &he);
    adaptive_window(ow, g.w, g.ow, &ws, &we);
    __global const float *p = x + x_off + n * x_bs + c * g.h * g.w;
    float sum = 0.0f;
    for (int i = hs; i < he; i++)
        for (int j = ws; j < we; j++)
            sum += p[i * g.w + j];
    y[y_off + n * y_bs + (c * g.oh + oh) * g.ow + ow] = sum / (float)((he - hs) * (we - ws));
}

/* Whether candidate (v, i) beats the running maximum (m, a): a larger value,
 * or an equal one seen earlier in the plane; NaN beats numbers; an empty
 * slot (index < 0) always loses. */
inline bool max_beats(float v, int i, float m, int a)
{
    if (i < 0)
        return false;
    if (a < 0)
        return true;
    if (isnan(v) || isnan(m))
        return isnan(v) && (!isnan(m) || i < a);
    return v > m || (v == m && i < a);
}

/* Max and first argmax of one plane of `plane` elements, computed by the
 * whole work-group (size a power of two) with one slot per work-item in
 * `lv` / `li`; the result is left in slot 0. */
inline void plane_max(__global const float *p, int plane,
                      __local float *lv, __local int *li)
{
    int lid = get_local_id(0), size = get_local_size(0);
    float m = -INFINITY;
    int a = -1;
    for (int i = lid; i < plane; i += size) {
        float v = p[i];
        if (max_beats(v, i, m, a)) {
            m = v;
            a = i;
        }
    }
    lv[lid] = m;
    li[lid] = a;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = size / 2; s > 0; s /= 2) {
        if (lid < s && max_beats(lv[lid + s], li[lid + s], lv[lid], li[lid])) {
            lv[lid] = lv[lid + s];
            li[lid] = li[lid + s];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
}

/* Global pooling: work-group g reduces plane g = n * C + c; y is (N, C, 1[, 1]). */
__kernel void pool_global_max(__global const float *x, int x_off, int x_bs,
                              __global float *y, int y_off, int y_bs,
                              int channels, int plane,
                              __local float *lv, __local int *li)
{
    int g = get_group_id(0), n = g / channels, c = g % channels;
    plane_max(x + x_off + n * x_bs + c * plane, plane, lv, li);
    if (get_local_id(0) == 0)
        y[y_off + n * y_bs + c] = lv[0];
}

__kernel void pool_global_max_argmax(__global const float *x, int x_off, int x_bs,
                                     __global float *y, int y_off, int y_bs,
                                     __global int *idx, int idx_off, int idx_bs,
                                     int channels, int plane,
                                     __local float *lv, __local int *li)
{
    int g = get_group_id(0), n = g / channels, c = g % channels;
    plane_max(x + x_off + n * x_bs + c * plane, plane, lv, li);
    if (get_local_id(0) == 0) {
        y[y_off + n * y_bs + c] = lv[0];
        idx[idx_off + n * idx_bs + c] = li[0];
    }
}

/* UNPOOL, step 1: zero y's images (y may be a view, so no buffer fill);
 * grid (image, N). */
__kernel void unpool_zero(__global float *y, int y_off, int y_bs)
{
    int i = get_global_id(0), n = get_global_id(1);
    y[y_off + n * y_bs + i] = 0.0f;
}

/* Float add built on the 32-bit compare-and-swap of OpenCL 1.2 core. The
 * first swap guesses the old value 0 (these kernels add into a buffer just
 * zeroed, and most elements get one add), later ones take it from the
 * failed swap: a plain load would race with another work-item's swap on
 * the same element (two overlapping windows selecting one input, which
 * Oclgrind's race check flags), and an atomic read before the swap
 * tripled the time of ResNet-18's pool gradient. */
inline void atomic_add_float(volatile __global float *p, float v)
{
    volatile __global unsigned int *u = (volatile __global unsigned int *)p;
    union { unsigned int u; float f; } old, upd;
    old.f = 0.0f;
    for (;;) {
        upd.f = old.f + v;
        const unsigned int seen = atomic_cmpxchg(u, old.u, upd.u);
        if (seen == old.u)
            return;
        old.u = seen;
    }
}

/* The image n, the index i within it and the channel c of element e of an
 * argmax-shaped tensor (images of `image` elements, planes of `plane`).
 * The unpooling kernels run one scalar work-item per element over a
 * one-dimensional grid: over the grid (plane, C, N) PoCL ran them at half
 * the speed (airbench's four pools' UNPOOL at batch 1024: 44-47 -> 24-26 ms
 * a call, with one division fewer). */
inline void unpool_locate(int e, int image, int plane, int *n, int *i, int *c)
{
    *n = e / image;
    *i = e - *n * image;
    *c = *i / plane;
}

/* UNPOOL, step 2: adds x at y[n, c, argmax]. Overlapping windows can name
 * one position several times, hence the atomic add; indices outside the
 * plane are ignored. */
__kernel void unpool_scatter(__global const float *x, int x_off, int x_bs,
                             __global const int *idx, int idx_off, int idx_bs,
                             __global float *y, int y_off, int y_bs, int out_plane,
                             int image, int plane)
{
    int n, i, c;
    unpool_locate(get_global_id(0), image, plane, &n, &i, &c);
    int a = idx[idx_off + n * idx_bs + i];
    if (a < 0 || a >= out_plane)
        return;
    atomic_add_float(y + y_off + n * y_bs + c * out_plane + a, x[x_off + n * x_bs + i]);
}

/* POOL_BACKWARD of max pooling from the forward's argmax, any windows
 * (overlapping, padded, global): dx zeroed by unpool_zero, then each
 * window adds its dy at its argmax when that lies inside it (the reference
 * backend's rule), one work-item per window over a one-dimensional grid.
 * A gather per dx element over the windows covering it spent its time in
 * integer divisions (3.5 ms against 1 on ResNet-18's 3x3 pool at batch
 * 32). */
__kernel void pool_backward_argmax(__global const float *dy, int dy_off, int dy_bs,
                                   __global const int *idx, int idx_off, int idx_bs,
                                   __global float *dx, int dx_off, int dx_bs, pool_shape g)
{
    const int out_plane = g.oh * g.ow, e = get_global_id(0), z = e / out_plane;
    const int o = e - z * out_plane, oy = o / g.ow, ox = o - oy * g.ow;
    const int n = z / g.c, c = z - n * g.c;
    const int a = idx[idx_off + n * idx_bs + c * out_plane + o];
    if (a < 0 || a >= g.h * g.w)
        return;
    const int iy = a / g.w, ix = a - iy * g.w;
    const int h0 = oy * g.stride_h - g.pad_h, w0 = ox * g.stride_w - g.pad_w;
    if (iy < h0 || iy >= h0 + g.kh || ix < w0 || ix >= w0 + g.kw)
        return;
    atomic_add_float(dx + dx_off + n * dx_bs + c * g.h * g.w + a,
                     dy[dy_off + n * dy_bs + c * out_plane + o]);
}

/* `plane` values v at out, 8 at a time (scalar code is not vectorised). */
static inline void fill_plane(__global float *out, int plane, float v)
{
    int i = 0;
    for (; i + 8 <= plane; i += 8)
        vstore8((float8)v, 0, out + i);
    for (; i < plane; i++)
        out[i] = v;
}

/* pool_backward_argmax with a plane of dx per work-item (a CPU with many
 * planes, see cl_pool.c): the work-item zeroes its plane, then adds each
 * window's dy at its argmax in window order. No other work-item writes
 * the plane, so the adds need no atomics and their order is fixed.
 * ResNet-18's 3x3 pool at stride 2 on 32x32 inputs (64 planes of 16x16,
 * batch 32, AVX-512, 21 training steps): zeroing then adding with atomics
 * took 1.04 ms at best (1.87 on average), this kernel 0.18 (0.47).
 * Grid: (N * C). */
__kernel void pool_backward_argmax_plane(__global const float *dy, int dy_off, int dy_bs,
                                         __global const int *idx, int idx_off, int idx_bs,
                                         __global float *dx, int dx_off, int dx_bs,
                                         pool_shape g)
{
    const int z = get_global_id(0), n = z / g.c, c = z - n * g.c;
    const int plane = g.h * g.w, out_plane = g.oh * g.ow;
    __global float *out = dx + dx_off + n * dx_bs + c * plane;
    fill_plane(out, plane, 0.0f);
    __global const float *p = dy + dy_off + n * dy_bs + c * out_plane;
    __global const int *a = idx + idx_off + n * idx_bs + c * out_plane;
    for (int oy = 0; oy < g.oh; oy++) {
        const int h0 = oy * g.stride_h - g.pad_h;
        for (int ox = 0; ox < g.ow; ox++) {
            const int at = a[oy * g.ow + ox];
            if (at < 0 || at >= plane)
                continue;
            const int iy = at / g.w, ix = at - iy * g.w, w0 = ox * g.stride_w - g.pad_w;
            if (iy >= h0 && iy < h0 + g.kh && ix >= w0 && ix < w0 + g.kw)
                out[at] += p[oy * g.ow + ox];
        }
    }
}

/* UNPOOL_BACKWARD: dx at each element reads dy at its argmax; an index
 * outside the plane reads 0 (the reference refuses it, a kernel cannot
 * report it). */
__kernel void unpool_gather(__global const float *dy, int dy_off, int dy_bs,
                            __global const int *idx, int idx_off, int idx_bs,
                            __global float *dx, int dx_off, int dx_bs, int out_plane,
                            int image, int plane)
{
    int n, i, c;
    unpool_locate(get_global_id(0), image, plane, &n, &i, &c);
    int a = idx[idx_off + n * idx_bs + i];
    dx[dx_off + n * dx_bs + i] =
        a < 0 || a >= out_plane ? 0.0f : dy[dy_off + n * dy_bs + c * out_plane + a];
}

/* The output positions [*lo, *hi] along one axis whose windows contain input
 * coordinate i, i.e. o*stride - pad <= i < o*stride - pad + window; empty
 * when *lo > *hi. */
inline void covering(int i, int window, int stride, int pad, int outputs, int *lo, int *hi)
{
    int first = i + pad - window + 1;
    *lo = first <= 0 ? 0 : (first + stride - 1) / stride;
    *hi = min((i + pad) / stride, outputs - 1);
}

/* POOL_BACKWARD, adaptive average: one work-item per dx element, grid
 * (W, H, N * C), gathering dy / window size from the outputs covering it. */
__kernel void pool_backward_adaptive_avg(__global const float *dy, int dy_off, int dy_bs,
                                         __global float *dx, int dx_off, int dx_bs,
                                         pool_shape g)
{
    int ix = get_global_id(0), iy = get_global_id(1);
    int c = get_global_id(2) % g.c, n = get_global_id(2) / g.c;
    int oy0, oy1, ox0, ox1, hs, he, ws, we;
    adaptive_window(iy, g.oh, g.h, &oy0, &oy1);
    adaptive_window(ix, g.ow, g.w, &ox0, &ox1);
    __global const float *p = dy + dy_off + n * dy_bs + c * g.oh * g.ow;
    float sum = 0.0f;
    for (int oy = oy0; oy < oy1; oy++) {
        adaptive_window(oy, g.h, g.oh, &hs, &he);
        for (int ox = ox0; ox < ox1; ox++) {
            adaptive_window(ox, g.w, g.ow, &ws, &we);
            sum += p[oy * g.ow + ox] / (float)((he - hs) * (we - ws));
        }
    }
    dx[dx_off + n * dx_bs + (c * g.h + iy) * g.w + ix] = sum;
}

/* POOL_BACKWARD, max: as pool_backward_avg, but a window passes its dy on
 * only when this element is its first maximum, recomputed from x with the
 * forward's own window_max so the tie rule cannot differ. */
__kernel void pool_backward_max(__global const float *x, int x_off, int x_bs,
                                __global const float *dy, int dy_off, int dy_bs,
                                __global float *dx, int dx_off, int dx_bs, pool_shape g)
{
    int ix = get_global_id(0), iy = get_global_id(1);
    int c = get_global_id(2) % g.c, n = get_global_id(2) / g.c;
    int oy0, oy1, ox0, ox1;
    covering(iy, g.kh, g.stride_h, g.pad_h, g.oh, &oy0, &oy1);
    covering(ix, g.kw, g.stride_w, g.pad_w, g.ow, &ox0, &ox1);
    __global const float *xp = x + x_off + n * x_bs + c * g.h * g.w;
    __global const float *p = dy + dy_off + n * dy_bs + c * g.oh * g.ow;
    const int self = iy * g.w + ix;
    float sum = 0.0f, m;
    for (int oy = oy0; oy <= oy1; oy++) {
        for (int ox = ox0; ox <= ox1; ox++) {
            int arg = window_max(xp, &g, oy * g.stride_h - g.pad_h, ox * g.stride_w - g.pad_w, &m);
            if (arg == self)
                sum += p[oy * g.ow + ox];
        }
    }
    dx[dx_off + n * dx_bs + (c * g.h + iy) * g.w + ix] = sum;
}

/* Input columns of pool_backward_argmax_2x2 a work-item writes: one vector. */
#define PB_VW 16

/* pool_backward_argmax of 2x2 windows at stride 2 without padding (each
 * input in at most one window): a work-item writes PB_VW columns of one
 * input row, from the PB_VW / 2 windows of the output row above it, as
 * vectors (one per element over a 3-D grid ran at 6-8 GB/s; the UNPOOL
 * scatter it replaces in training zeroed dx, then added with atomics).
 * Grid: (ceil(W / PB_VW), H, N * C). */
__kernel void pool_backward_argmax_2x2(__global const float *dy, int dy_off, int dy_bs,
                                       __global const int *idx, int idx_off, int idx_bs,
                                       __global float *dx, int dx_off, int dx_bs, pool_shape g)
{
    const int ix0 = get_global_id(0) * PB_VW, iy = get_global_id(1);
    const int c = get_global_id(2) % g.c, n = get_global_id(2) / g.c;
    __global float *out = dx + dx_off + n * dx_bs + (c * g.h + iy) * g.w + ix0;
    const int count = min(PB_VW, g.w - ix0), oy = iy / 2;
    /* rows and columns past the last window (an odd plane) get nothing */
    const int covered = oy < g.oh ? min(count, 2 * g.ow - ix0) : 0;
    const int o = (c * g.oh + oy) * g.ow + ix0 / 2;
    __global const float *p = dy + dy_off + n * dy_bs + o;
    __global const int *a = idx + idx_off + n * idx_bs + o;
    const int self = iy * g.w + ix0;
    if (covered == PB_VW) {
        const int16 ai = vload8(0, a).s0011223344556677;
        const float16 d = vload8(0, p).s0011223344556677;
        const int16 col = self + (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        vstore16(select((float16)0.0f, d, ai == col), 0, out);
        return;
    }
    int l = 0;
    if (covered >= 8) {   /* 8-wide planes (airbench's 8x8 pool) */
        const int8 ai = vload4(0, a).s00112233;
        const float8 d = vload4(0, p).s00112233;
        const int8 col = self + (int8)(0, 1, 2, 3, 4, 5, 6, 7);
        vstore8(select((float8)0.0f, d, ai == col), 0, out);
        l = 8;
    }
    for (; l < count; l++)
        out[l] = l < covered && a[l / 2] == self + l ? p[l / 2] : 0.0f;
}

/* pool_backward_argmax of windows that share no input and need no
 * padding (kh <= stride_h, kw <= stride_w: ResNet option A's 1x1
 * subsampling shortcut, 3x3 windows at stride 3) as a gather: a work-item
 * writes one row of dx, each element the dy of the window holding it when
 * that window's argmax names it, else zero; the window's column is
 * counted along the row, not divided. The scatter it replaces zeroed dx,
 * then added with atomics. Grid: (H, N * C). */
__kernel void pool_backward_argmax_disjoint(__global const float *dy, int dy_off, int dy_bs,
                                            __global const int *idx, int idx_off, int idx_bs,
                                            __global float *dx, int dx_off, int dx_bs,
                                            pool_shape g)
{
    const int iy = get_global_id(0), c = get_global_id(1) % g.c, n = get_global_id(1) / g.c;
    __global float *out = dx + dx_off + n * dx_bs + (c * g.h + iy) * g.w;
    const int oy = iy / g.stride_h;
    if (oy >= g.oh || iy - oy * g.stride_h >= g.kh) {   /* between windows or past the last */
        for (int ix = 0; ix < g.w; ix++)
            out[ix] = 0.0f;
        return;
    }
    const int o = (c * g.oh + oy) * g.ow;
    __global const float *p = dy + dy_off + n * dy_bs + o;
    __global const int *a = idx + idx_off + n * idx_bs + o;
    int ox = 0, col = 0;   /* input column ix = ox * stride_w + col */
    for (int ix = 0; ix < g.w; ix++) {
        out[ix] = ox < g.ow && col < g.kw && a[ox] == iy * g.w + ix ? p[ox] : 0.0f;
        if (++col == g.stride_w) {
            col = 0;
            ox++;
        }
    }
}

/* POOL_BACKWARD of global average pooling: every input of plane z = n * C
 * + c gets dy / plane, a plane per work-item in vectors of 8 (the
 * per-element kernel of the modes that sum found its one window by
 * integer divisions: 2.8 ms on ResNet-20's 64 planes of 8x8 at batch
 * 128). Grid: (N * C). */
__kernel void pool_backward_global_avg(__global const float *dy, int dy_off, int dy_bs,
                                       __global float *dx, int dx_off, int dx_bs, int channels,
                                       int plane)
{
    const int z = get_global_id(0), n = z / channels, c = z - n * channels;
    const float v = dy[dy_off + n * dy_bs + c] / (float)plane;
    fill_plane(dx + dx_off + n * dx_bs + c * plane, plane, v);
}

/* POOL_BACKWARD of global max pooling: work-group g finds the first maximum
 * of plane g = n * C + c once (the per-element recomputation of
 * pool_backward_max would cost plane^2), then writes the whole dx plane. */
__kernel void pool_backward_global_max(__global const float *x, int x_off, int x_bs,
                                       __global const float *dy, int dy_off, int dy_bs,
                                       __global float *dx, int dx_off, int dx_bs,
                                       int channels, int plane,
                                       __local float *lv, __local int *li)
{
    int g = get_group_id(0), n = g / channels, c = g % channels;
    plane_max(x + x_off + n * x_bs + c * plane, plane, lv, li);
    int arg = li[0];
    float d = dy[dy_off + n * dy_bs + c];
    __global float *out = dx + dx_off + n * dx_bs + c * plane;
    for (int i = get_local_id(0); i < plane; i += get_local_size(0))
        out[i] = i == arg ? d : 0.0f;
}

/* Every pooling mode that sums over its window (all but max), one row
 * X(name, term, finish, grad) each, name as in the pooling mode table
 * (lib/core/op_table.c):
 *   term    what the window sums for each input v;
 *   finish  the output from that sum s and the window's divisor d (the
 *           count_include_pad rule of clnet_pool_divisor);
 *   grad    what an output passes back to its input v, given its gradient
 *           dy and d; a mode whose gradient needs the output recomputes it
 *           with pool_window_<name>(xp, &g, h0, w0).
 * Each row gives pool_window_<name> and the kernels pool_<name> (windows),
 * pool_global_<name> (one work-group per plane) and pool_backward_<name>
 * (windows, global included), launched by lib/opencl/cl_pool.c by name. */
#define CLNET_POOL_SUMS(X)                                                                 \
    X(avg, v, s / (float)d, dy / (float)d)                                                 \
    X(l2, v * v, sqrt(s), pool_l2_grad(dy, v, pool_window_l2(xp, &g, h0, w0)))

/* L2 pooling's gradient x / y, zero at y = 0 (where PyTorch gives 0 too). A
 * global window recomputes the whole plane for each input: plane^2 work. */
inline float pool_l2_grad(float dy, float v, float y)
{
    return y == 0.0f ? 0.0f : dy * v / y;
}

/* The output of the window at (h0, w0) (padded coordinates) of plane p;
 * padding adds nothing to the sum. */
#define CLNET_POOL_WINDOW(name, term, finish, grad)                                        \
    inline float pool_window_##name(__global const float *p, const pool_shape *g, int h0,  \
                                    int w0)                                                \
    {                                                                                      \
        int hs = max(h0, 0), he = min(h0 + g->kh, g->h);                                   \
        int ws = max(w0, 0), we = min(w0 + g->kw, g->w);                                   \
        float s = 0.0f;                                                                    \
        for (int i = hs; i < he; i++)                                                      \
            for (int j = ws; j < we; j++) {                                                \
                float v = p[i * g->w + j];                                                 \
                s += (term);                                                               \
            }                                                                              \
        int d = window_divisor(g, h0, w0);                                                 \
        return (finish);                                                                   \
    }

/* One work-item per output element, grid (OW, OH, N * C). */
#define CLNET_POOL_FORWARD(name, term, finish, grad)                                       \
    __kernel void pool_##name(__global const float *x, int x_off, int x_bs,                \
                              __global float *y, int y_off, int y_bs, pool_shape g)        \
    {                                                                                      \
        int n, c, oh, ow;                                                                  \
        pool_locate(&g, &n, &c, &oh, &ow);                                                 \
        __global const float *p = x + x_off + n * x_bs + c * g.h * g.w;                    \
        y[y_off + n * y_bs + (c * g.oh + oh) * g.ow + ow] =                                \
            pool_window_##name(p, &g, oh * g.stride_h - g.pad_h, ow * g.stride_w - g.pad_w); \
    }

/* Global pooling: work-group g reduces plane g = n * C + c (its divisor is
 * the plane); y is (N, C, 1[, 1]). */
#define CLNET_POOL_GLOBAL(name, term, finish, grad)                                        \
    __kernel void pool_global_##name(__global const float *x, int x_off, int x_bs,         \
                                     __global float *y, int y_off, int y_bs,               \
                                     int channels, int plane, __local float *ls)           \
    {                                                                                      \
        int g = get_group_id(0), n = g / channels, c = g % channels;                       \
        int lid = get_local_id(0), size = get_local_size(0);                               \
        __global const float *p = x + x_off + n * x_bs + c * plane;                        \
        float sum = 0.0f;                                                                  \
        for (int i = lid; i < plane; i += size) {                                          \
            float v = p[i];                                                                \
            sum += (term);                                                                 \
        }                                                                                  \
        ls[lid] = sum;                                                                     \
        barrier(CLK_LOCAL_MEM_FENCE);                                                      \
        for (int s = size / 2; s > 0; s /= 2) {                                            \
            if (lid < s)                                                                   \
                ls[lid] += ls[lid + s];                                                    \
            barrier(CLK_LOCAL_MEM_FENCE);                                                  \
        }                                                                                  \
        if (lid == 0) {                                                                    \
            float s = ls[0];                                                               \
            int d = plane;                                                                 \
            y[y_off + n * y_bs + c] = (finish);                                            \
        }                                                                                  \
    }

/* POOL_BACKWARD: one work-item per dx element, grid (W, H, N * C),
 * gathering from every window that contains it. */
#define CLNET_POOL_BACKWARD(name, term, finish, grad)                                      \
    __kernel void pool_backward_##name(__global const float *x, int x_off, int x_bs,       \
                                       __global const float *dys, int dy_off, int dy_bs,   \
                                       __global float *dx, int dx_off, int dx_bs,          \
                                       pool_shape g)                                       \
    {                                                                                      \
        int ix = get_global_id(0), iy = get_global_id(1);                                  \
        int c = get_global_id(2) % g.c, n = get_global_id(2) / g.c;                        \
        int oy0, oy1, ox0, ox1;                                                            \
        covering(iy, g.kh, g.stride_h, g.pad_h, g.oh, &oy0, &oy1);                         \
        covering(ix, g.kw, g.stride_w, g.pad_w, g.ow, &ox0, &ox1);                         \
        __global const float *xp = x + x_off + n * x_bs + c * g.h * g.w;                   \
        __global const float *p = dys + dy_off + n * dy_bs + c * g.oh * g.ow;              \
        float v = xp[iy * g.w + ix], sum = 0.0f;                                           \
        for (int oy = oy0; oy <= oy1; oy++)                                                \
            for (int ox = ox0; ox <= ox1; ox++) {                                          \
                int h0 = oy * g.stride_h - g.pad_h, w0 = ox * g.stride_w - g.pad_w;        \
                int d = window_divisor(&g, h0, w0);                                        \
                float dy = p[oy * g.ow + ox];                                              \
                sum += (grad);                                                             \
            }                                                                              \
        dx[dx_off + n * dx_bs + (c * g.h + iy) * g.w + ix] = sum;                          \
    }

CLNET_POOL_SUMS(CLNET_POOL_WINDOW)
CLNET_POOL_SUMS(CLNET_POOL_FORWARD)
CLNET_POOL_SUMS(CLNET_POOL_GLOBAL)
CLNET_POOL_SUMS(CLNET_POOL_BACKWARD)
