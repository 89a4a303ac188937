/* depthwise.cl - direct convolution one output channel at a time, every
 * channel of every image in one launch, explicit vectors along the output
 * row: depthwise (and any narrow-group) convolution, bias and a fused
 * activation included. */

/* VW output columns per vector (4, 8 or 16, -DVW=...; cl_conv_depthwise.c
 * picks the widest that the row's interior fills, then the one that wastes
 * fewest lanes on the row length). PoCL vectorises explicit vectors but not
 * scalar per-item code. */
#ifndef VW
#define VW 16
#endif
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define floatv CAT(float, VW)
#define intv CAT(int, VW)
#define vloadv CAT(vload, VW)
#define vstorev CAT(vstore, VW)
/* HALF_EVEN: the even lanes of a then b. SHIFT_IN_LEFT / SHIFT_IN_RIGHT:
 * v moved one lane up (down), a zero shifted in at lane 0 (the last): a
 * neighbouring column's vector where that neighbour is the padding. */
#if VW == 16
#define HALF_EVEN(a, b) ((float16)((a).even, (b).even))
#define SHIFT_IN_LEFT(v) ((float16)(0.0f, (v).s0123, (v).s4567, (v).s89ab, (v).scde))
#define SHIFT_IN_RIGHT(v) ((float16)((v).s1234, (v).s5678, (v).s9abc, (v).sdef, 0.0f))
#elif VW == 8
#define HALF_EVEN(a, b) ((float8)((a).even, (b).even))
#define SHIFT_IN_LEFT(v) ((float8)(0.0f, (v).s0123, (v).s456))
#define SHIFT_IN_RIGHT(v) ((float8)((v).s1234, (v).s567, 0.0f))
#else
#define HALF_EVEN(a, b) ((float4)((a).even, (b).even))
#define SHIFT_IN_LEFT(v) ((float4)(0.0f, (v).s012))
#define SHIFT_IN_RIGHT(v) ((float4)((v).s123, 0.0f))
#endif

/* Layout shared with `dw_shape` in lib/opencl/cl_conv_depthwise.c (ints
 * only). The activation codes are clnet_activation's values; act_fn < 0
 * means none. */
typedef struct dw_shape {
    int c, h, w, k, oh, ow, kh, kw;
    int groups, cpg, kpg;
    int stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
    int has_bias, act_fn;
    float act_alpha;
} dw_shape;

/* The activations of common.clh on a vector and on one element (the edge
 * columns), by clnet_activation value (act_fn; -1 for none). */
CLNET_DEFINE_ACTIVATE(activate, floatv)
CLNET_DEFINE_ACTIVATE(activate1, float)

/* The input under lanes 0..VW-1 of an interior block: p points at lane 0's
 * tap, lanes `step` apart, all inside the row (no padding to test). */
static inline floatv load_interior(__global const float *p, int step)
{
    if (step == 1)
        return vloadv(0, p);
    if (step == 2)
        return HALF_EVEN(vloadv(0, p), vloadv(0, p + VW));
    float v[VW];
    for (int j = 0; j < VW; j++)
        v[j] = p[j * step];
    return vloadv(0, v);
}

/* Edge columns: the `lo` first and those from `hi` on, numbered 0, 1, ... */
static inline int edge_col(int e, int lo, int hi)
{
    return e < lo ? e : hi + e - lo;
}

/* Whether rows are taken whole (row_taps_padded): stride 1 over rows
 * padded by one column each side (w == ow) of at least a vector. */
static inline bool rows_whole(const int S, const dw_shape *s)
{
    return S == 1 && s->pad_w == 1 && s->w == s->ow && s->ow >= VW;
}

/* The inputs under taps 0, 1 and 2 of output columns o .. o + VW - 1 of
 * a row taken whole (rows_whole), xr at the row's column o: the first and
 * last blocks' side taps read their padding as a zero lane shifted into
 * the centre tap's vector. The side loads there read the centre column
 * (the same, valid, address), not one past the row: at the ends of the
 * buffer that is out of bounds. */
static inline __attribute__((always_inline)) void
row_taps_padded(__global const float *xr, bool first, bool last, floatv *x0, floatv *x1,
                floatv *x2)
{
    const floatv c1 = vloadv(0, xr);
    const floatv c0 = vloadv(0, xr - (first ? 0 : 1));
    const floatv c2 = vloadv(0, xr + (last ? 0 : 1));
    *x0 = first ? SHIFT_IN_LEFT(c1) : c0;
    *x1 = c1;
    *x2 = last ? SHIFT_IN_RIGHT(c1) : c2;
}

/* The sum over every tap of output column `col`, one scalar at a time with
 * the padding tested: the few columns at the row's edges. */
static inline float edge_sum(__global const float *xg, __global const float *wk, int plane,
                             int ih0, int col, const dw_shape *s)
{
    float acc = 0.0f;
    const int iw0 = col * s->stride_w - s->pad_w;
    for (int c = 0; c < s->cpg; c++)
        for (int i = 0; i < s->kh; i++) {
            const int ih = ih0 + i * s->dil_h;
            if (ih < 0 || ih >= s->h)
                continue;
            for (int j = 0; j < s->kw; j++) {
                const int iw = iw0 + j * s->dil_w;
                if (iw >= 0 && iw < s->w)
                    acc = fma(xg[c * plane + ih * s->w + iw], wk[(c * s->kh + i) * s->kw + j], acc);
            }
        }
    return acc;
}

/* acc + the window of output column(s) under every tap, LOAD giving the
 * input vector of tap (row xr, column offset `off`). */
#define ACCUMULATE(acc, LOAD)                                                  \
    for (int c = 0; c < s.cpg; c++) {                                         \
        __global const float *xc = xg + c * plane;                            \
        __global const float *wc = wk + c * s.kh * s.kw;                      \
        for (int i = 0; i < s.kh; i++) {                                      \
            const int ih = ih0 + i * s.dil_h;                                 \
            if (ih < 0 || ih >= s.h)                                          \
                continue;                                                     \
            __global const float *xr = xc + ih * s.w;                         \
            for (int j = 0; j < s.kw; j++) {                                  \
                const int off = j * s.dil_w - s.pad_w;                        \
                acc = fma(LOAD, (floatv)wc[i * s.kw + j], acc);               \
            }                                                                 \
        }                                                                     \
    }

/* Grid: dim 0 = output rows, dim 1 = output channels, dim 2 = images. A
 * work-item computes one output row of one channel, summing every tap of
 * every input channel of its group (one for depthwise). The row's interior
 * (columns whose taps all fall inside the input) goes in whole vectors of
 * plain loads, the last one overlapping its neighbour rather than running
 * past the interior; the few edge columns that meet the padding are summed
 * one at a time. A row too short for one interior vector is all edges. */
__kernel void depthwise(__global const float *x, int x_off, int x_bs,
                        __global const float *w, int w_off, int w_bs,
                        __global const float *b, int b_off,
                        __global float *y, int y_off, int y_bs, dw_shape s)
{
    const int oh = get_global_id(0), k = get_global_id(1), n = get_global_id(2);
    const int g = k / s.kpg, plane = s.h * s.w;
    __global const float *xg = x + x_off + n * x_bs + g * s.cpg * plane;
    __global const float *wk = w + w_off + k * w_bs;
    __global float *yr = y + y_off + n * y_bs + (k * s.oh + oh) * s.ow;
    const float bias = s.has_bias ? b[b_off + k] : 0.0f;
    const int ih0 = oh * s.stride_h - s.pad_h;

    /* Interior: ow*stride - pad >= 0 and the last tap (plus the extra
     * element a stride-2 pair of loads reads) inside the row. */
    const int extra = s.stride_w == 2 ? 1 : 0;
    int lo = (s.pad_w + s.stride_w - 1) / s.stride_w;
    int hi = (s.w - 1 - extra - (s.kw - 1) * s.dil_w + s.pad_w) / s.stride_w + 1;
    hi = min(hi, s.ow);
    if (hi - lo < VW)
        lo = hi = s.ow;
    for (int ow0 = lo; ow0 < hi; ow0 += VW) {
        const int o = min(ow0, hi - VW);
        floatv acc = bias;
        ACCUMULATE(acc, load_interior(xr + o * s.stride_w + off, s.stride_w))
        vstorev(activate(acc, s.act_fn, s.act_alpha), 0, yr + o);
    }

    const int edges = lo + s.ow - hi;
    for (int e = 0; e < edges; e++) {
        const int col = edge_col(e, lo, hi);
        yr[col] = activate1(bias + edge_sum(xg, wk, plane, ih0, col, &s), s.act_fn, s.act_alpha);
    }
}

/* 3x3 undilated windows with one input channel per group (MobileNet's
 * depthwise layers), stride S of 1 or 2 fixed at compile time so that the
 * taps unroll: a work-item computes ROWS output rows of one channel, the 9
 * weights held in registers and each input row vector loaded once for
 * every output row it feeds ((ROWS - 1) * S + 3 rows of 3 loads for ROWS *
 * 9 multiply-adds). */
#define ROWS 4

/* The 3x3 window at input row ih0, column iw0 (both possibly in the
 * padding) times the weights wt. */
static inline float dw3x3_edge(__global const float *xg, const float *wt, int ih0, int iw0,
                               const dw_shape *s)
{
    float acc = 0.0f;
    _Pragma("unroll") for (int i = 0; i < 3; i++) {
        const int ih = ih0 + i;
        if (ih < 0 || ih >= s->h)
            continue;
        _Pragma("unroll") for (int j = 0; j < 3; j++) {
            const int iw = iw0 + j;
            if (iw >= 0 && iw < s->w)
                acc = fma(xg[ih * s->w + iw], wt[3 * i + j], acc);
        }
    }
    return acc;
}

static inline void dw3x3_rows(const int S, __global const float *x, int x_off, int x_bs,
                              __global const float *w, int w_off, int w_bs,
                              __global const float *b, int b_off,
                              __global float *y, int y_off, int y_bs, const dw_shape *s)
{
    const int oh0 = get_global_id(0) * ROWS, k = get_global_id(1), n = get_global_id(2);
    const int plane = s->h * s->w;
    __global const float *xg = x + x_off + n * x_bs + k / s->kpg * plane;
    __global const float *wk = w + w_off + k * w_bs;
    __global float *yk = y + y_off + n * y_bs + k * s->oh * s->ow;
    const float bias = s->has_bias ? b[b_off + k] : 0.0f;
    float wt[9];
    for (int t = 0; t < 9; t++)
        wt[t] = wk[t];
    const int ih0 = oh0 * S - s->pad_h;
    const int rows = min(ROWS, s->oh - oh0);

    /* Rows taken whole: every column in vectors, the last overlapping its
     * neighbour, where the interior blocks below left two columns a row to
     * the scalar loop (MobileNet-v2's 144 channels on 56x56 at batch 32,
     * kernel medians: 4.1-4.7 -> 3.5-3.8 ms). */
    if (rows_whole(S, s)) {
        for (int ow0 = 0; ow0 < s->ow; ow0 += VW) {
            const int o = min(ow0, s->ow - VW);
            const bool first = o == 0, last = o + VW == s->ow;
            floatv acc[ROWS];
            _Pragma("unroll") for (int r = 0; r < ROWS; r++)
                acc[r] = bias;
            _Pragma("unroll") for (int t = 0; t < ROWS + 2; t++) {
                const int ih = ih0 + t;
                const bool inside = ih >= 0 && ih < s->h;
                __global const float *xr = xg + (inside ? ih : 0) * s->w + o;
                const floatv z = 0.0f;
                floatv c0, c1, c2;
                row_taps_padded(xr, first, last, &c0, &c1, &c2);
                const floatv x0 = inside ? c0 : z, x1 = inside ? c1 : z, x2 = inside ? c2 : z;
                _Pragma("unroll") for (int r = 0; r < ROWS; r++) {
                    const int i = t - r;
                    if (i >= 0 && i <= 2) {
                        acc[r] = fma(x0, (floatv)wt[3 * i], acc[r]);
                        acc[r] = fma(x1, (floatv)wt[3 * i + 1], acc[r]);
                        acc[r] = fma(x2, (floatv)wt[3 * i + 2], acc[r]);
                    }
                }
            }
            for (int r = 0; r < rows; r++)
                vstorev(activate(acc[r], s->act_fn, s->act_alpha), 0,
                        yk + (oh0 + r) * s->ow + o);
        }
        return;
    }

    const int extra = S == 2 ? 1 : 0;
    int lo = (s->pad_w + S - 1) / S;
    int hi = min((s->w - 3 - extra + s->pad_w) / S + 1, s->ow);
    if (hi - lo < VW)
        lo = hi = s->ow;
    for (int ow0 = lo; ow0 < hi; ow0 += VW) {
        const int o = min(ow0, hi - VW);
        floatv acc[ROWS];
        _Pragma("unroll") for (int r = 0; r < ROWS; r++)
            acc[r] = bias;
        _Pragma("unroll") for (int t = 0; t < (ROWS - 1) * S + 3; t++) {
            const int ih = ih0 + t;
            const bool inside = ih >= 0 && ih < s->h;
            __global const float *xr = xg + (inside ? ih : 0) * s->w + o * S - s->pad_w;
            const floatv z = 0.0f;
            const floatv x0 = inside ? load_interior(xr, S) : z;
            const floatv x1 = inside ? load_interior(xr + 1, S) : z;
            const floatv x2 = inside ? load_interior(xr + 2, S) : z;
            _Pragma("unroll") for (int r = 0; r < ROWS; r++) {
                const int i = t - r * S;
                if (i >= 0 && i <= 2) {
                    acc[r] = fma(x0, (floatv)wt[3 * i], acc[r]);
                    acc[r] = fma(x1, (floatv)wt[3 * i + 1], acc[r]);
                    acc[r] = fma(x2, (floatv)wt[3 * i + 2], acc[r]);
                }
            }
        }
        for (int r = 0; r < rows; r++)
            vstorev(activate(acc[r], s->act_fn, s->act_alpha), 0, yk + (oh0 + r) * s->ow + o);
    }

    /* The few edge columns one at a time, the taps unrolled. */
    const int edges = lo + s->ow - hi;
    for (int r = 0; r < rows; r++) {
        __global float *yr = yk + (oh0 + r) * s->ow;
        for (int e = 0; e < edges; e++) {
            const int col = edge_col(e, lo, hi);
            const float v = bias + dw3x3_edge(xg, wt, ih0 + r * S, col * S - s->pad_w, s);
            yr[col] = activate1(v, s->act_fn, s->act_alpha);
        }
    }
}

#define DW3X3_PARAMS                                                           \
    __global const float *x, int x_off, int x_bs, __global const float *w, int w_off, \
    int w_bs, __global const float *b, int b_off, __global float *y, int y_off, int y_bs, \
    dw_shape s
#define DW3X3_ARGS x, x_off, x_bs, w, w_off, w_bs, b, b_off, y, y_off, y_bs, &s

/* Grid: dim 0 = blocks of ROWS output rows, dim 1 = output channels, dim 2 =
 * images. */
__kernel void depthwise3x3_s1(DW3X3_PARAMS)
{
    dw3x3_rows(1, DW3X3_ARGS);
}

__kernel void depthwise3x3_s2(DW3X3_PARAMS)
{
    dw3x3_rows(2, DW3X3_ARGS);
}

/* The weight gradient of a 3x3 undilated depthwise convolution (one input
 * and one output channel per group) of stride S, straight from x and dy:
 * dw[k][i][j] = sum over images and output pixels of dy * the input under
 * tap (i, j), in two passes. dw3x3_weights_part: a work-group per
 * channel k and image n (group ids k, n) writes image n's share
 * part[n][k][9], its work-items taking the output rows in turn (a single
 * work-item on a CPU); consecutive groups take consecutive channels of
 * one image, so that a CPU walks x and dy in memory order (a group per
 * channel walking the images, each plane C planes past the last, left
 * the loads of dy waiting on memory: MobileNet-v2's 144 channels on 56x56
 * at batch 32, 9.5 -> 8.4-8.7 ms). The interior of a row goes VW
 * columns at a time, the last block overlapping its neighbour with the
 * repeated lanes of dy masked to zero; the edge columns that meet the
 * padding go one at a time, but for rows taken whole (rows_whole:
 * 8.4-8.7 -> 7.5-7.8 ms). The group adds its work-items' sums in a
 * fixed tree (`sums`, 9 floats per work-item), and dw3x3_weights_sum
 * adds the images' shares in order: deterministic. */
/* Lane numbers, for masking a vector's first lanes. */
__constant int dw_lanes[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

static inline void dw3x3_weights_part(const int S, __global const float *x, int x_off,
                                      int x_bs, __global const float *dy, int dy_off,
                                      int dy_bs, __global float *part, const dw_shape *s,
                                      __local float *sums)
{
    const int k = get_group_id(0), n = get_group_id(1);
    const int lid = get_local_id(0), size = get_local_size(0);
    const int extra = S == 2 ? 1 : 0;
    const bool whole = rows_whole(S, s);
    int lo = whole ? 0 : (s->pad_w + S - 1) / S;
    int hi = whole ? s->ow : min((s->w - 3 - extra + s->pad_w) / S + 1, s->ow);
    if (hi - lo < VW)
        lo = hi = s->ow;
    const int edges = lo + s->ow - hi;
    const intv lane = vloadv(0, dw_lanes);
    __global const float *xk = x + x_off + n * x_bs + k * s->h * s->w;
    __global const float *dyk = dy + dy_off + n * dy_bs + k * s->oh * s->ow;
    floatv acc[9];
    float edge_acc[9];
    for (int t = 0; t < 9; t++) {
        acc[t] = 0.0f;
        edge_acc[t] = 0.0f;
    }
    for (int oh = lid; oh < s->oh; oh += size) {
        __global const float *dyr = dyk + oh * s->ow;
        const int ih0 = oh * S - s->pad_h;
        for (int ow0 = lo; ow0 < hi; ow0 += VW) {
            const int o = min(ow0, hi - VW);
            /* lanes below ow0 belong to the block before */
            const floatv d = select((floatv)0.0f, vloadv(0, dyr + o), lane >= ow0 - o);
            _Pragma("unroll") for (int i = 0; i < 3; i++) {
                const int ih = ih0 + i;
                if (ih < 0 || ih >= s->h)
                    continue;
                __global const float *xr = xk + ih * s->w + o * S - s->pad_w;
                floatv x0, x1, x2;
                if (whole) {
                    row_taps_padded(xr + 1, o == 0, o + VW == s->ow, &x0, &x1, &x2);
                } else {
                    x0 = load_interior(xr, S);
                    x1 = load_interior(xr + 1, S);
                    x2 = load_interior(xr + 2, S);
                }
                acc[3 * i] = fma(d, x0, acc[3 * i]);
                acc[3 * i + 1] = fma(d, x1, acc[3 * i + 1]);
                acc[3 * i + 2] = fma(d, x2, acc[3 * i + 2]);
            }
        }
        for (int e = 0; e < edges; e++) {
            const int col = edge_col(e, lo, hi), iw0 = col * S - s->pad_w;
            const float d = dyr[col];
            for (int i = 0; i < 3; i++) {
                const int ih = ih0 + i;
                if (ih < 0 || ih >= s->h)
                    continue;
                for (int j = 0; j < 3; j++)
                    if (iw0 + j >= 0 && iw0 + j < s->w)
                        edge_acc[3 * i + j] = fma(d, xk[ih * s->w + iw0 + j], edge_acc[3 * i + j]);
            }
        }
    }
    for (int t = 0; t < 9; t++) {
        float v[VW];
        vstorev(acc[t], 0, v);
        float sum = edge_acc[t];
        for (int j = 0; j < VW; j++)
            sum += v[j];
        sums[t * size + lid] = sum;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int step = size / 2; step > 0; step /= 2) {
        if (lid < step)
            for (int t = 0; t < 9; t++)
                sums[t * size + lid] += sums[t * size + lid + step];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int t = lid; t < 9; t += size)
        part[((size_t)n * s->k + k) * 9 + t] = sums[t * size];
}

#define DW3X3_WEIGHTS_PARAMS                                                   \
    __global const float *x, int x_off, int x_bs, __global const float *dy, int dy_off, \
    int dy_bs, __global float *part, dw_shape s, __local float *sums
#define DW3X3_WEIGHTS_ARGS x, x_off, x_bs, dy, dy_off, dy_bs, part, &s, sums

/* Grid: a work-group per channel (dim 0) and image (dim 1). */
__kernel void depthwise3x3_weights_s1(DW3X3_WEIGHTS_PARAMS)
{
    dw3x3_weights_part(1, DW3X3_WEIGHTS_ARGS);
}

__kernel void depthwise3x3_weights_s2(DW3X3_WEIGHTS_PARAMS)
{
    dw3x3_weights_part(2, DW3X3_WEIGHTS_ARGS);
}

/* dw[k][t] = the sum of part[n][k][t] over the images, image 0 first.
 * Grid: dim 0 = k * 9 + t. */
__kernel void depthwise3x3_weights_sum(__global const float *part, int images, int k_n,
                                       __global float *dw, int dw_off, int dw_bs)
{
    const int kt = get_global_id(0), k = kt / 9;
    float sum = 0.0f;
    for (int n = 0; n < images; n++)
        sum += part[(size_t)n * k_n * 9 + kt];
    dw[dw_off + k * dw_bs + kt % 9] = sum;
}

/* A 3x3 depthwise CONV_TRANSPOSE of stride 2 (the data gradient of a
 * stride-2 depthwise layer), in the forward layer's terms: dy (oh x ow
 * planes) in, dx (h x w) out, dx[ih][iw] = the sum of dy[oh][ow] * w[i][j]
 * over ih = 2 oh - pad_h + i, iw = 2 ow - pad_w + j. Grid: dim 0 = dx rows,
 * dim 1 = channels, dim 2 = images; a work-item writes one row. A row takes
 * the tap rows i of its parity; along it, VW consecutive dy columns from o
 * give 2 VW consecutive outputs from 2 o - pad_w: the even ones w[i][0] *
 * dy[o + l] + w[i][2] * dy[o + l - 1], the odd ones w[i][1] * dy[o + l],
 * interleaved. Columns whose taps or outputs leave the planes (the row's
 * ends) go one at a time; the last vector overlaps its neighbour, writing
 * the same values twice. */
/* Stores a0, b0, a1, b1, ... (2 VW values) at p. */
#if VW == 16
#define STORE_INTERLEAVED(a, b, p)                                             \
    do {                                                                       \
        vstore16(shuffle2(a, b, (uint16)(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23)), \
                 0, p);                                                        \
        vstore16(shuffle2(a, b, (uint16)(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, \
                                         15, 31)),                             \
                 0, (p) + 16);                                                 \
    } while (0)
#elif VW == 8
#define STORE_INTERLEAVED(a, b, p)                                             \
    vstore16(shuffle2(a, b, (uint16)(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15)), 0, p)
#else
#define STORE_INTERLEAVED(a, b, p) vstore8(shuffle2(a, b, (uint8)(0, 4, 1, 5, 2, 6, 3, 7)), 0, p)
#endif

static inline float dw3x3_s2_transpose_at(__global const float *dyk, const float *wt, int ih,
                                          int iw, const dw_shape *s)
{
    float acc = 0.0f;
    for (int i = 0; i < 3; i++) {
        const int th = ih + s->pad_h - i;
        if (th < 0 || th % 2 || th / 2 >= s->oh)
            continue;
        for (int j = 0; j < 3; j++) {
            const int tw = iw + s->pad_w - j;
            if (tw >= 0 && tw % 2 == 0 && tw / 2 < s->ow)
                acc = fma(dyk[th / 2 * s->ow + tw / 2], wt[3 * i + j], acc);
        }
    }
    return acc;
}

__kernel void depthwise3x3_s2_transpose(__global const float *dy, int dy_off, int dy_bs,
                                        __global const float *w, int w_off, int w_bs,
                                        __global const float *b, int b_off,
                                        __global float *dx, int dx_off, int dx_bs, dw_shape s)
{
    const int ih = get_global_id(0), k = get_global_id(1), n = get_global_id(2);
    __global const float *dyk = dy + dy_off + n * dy_bs + k * s.oh * s.ow;
    __global const float *wk = w + w_off + k * w_bs;
    __global float *dxr = dx + dx_off + n * dx_bs + (k * s.h + ih) * s.w;
    const float bias = s.has_bias ? b[b_off + k] : 0.0f;
    float wt[9];
    for (int t = 0; t < 9; t++)
        wt[t] = wk[t];
    /* dy columns o - 1 .. o + VW - 1 and outputs 2 o - pad .. + 2 VW inside */
    const int lo = max(1, (s.pad_w + 1) / 2);
    const int hi = min(s.ow - VW, (s.w + s.pad_w) / 2 - VW);
    const bool blocks = hi >= lo;
    const int first = blocks ? 2 * lo - s.pad_w : s.w;
    const int last = blocks ? 2 * hi - s.pad_w + 2 * VW : s.w;
    for (int o0 = lo; blocks && o0 < hi + VW; o0 += VW) {
        const int o = min(o0, hi);
        floatv even = bias, odd = bias;
        _Pragma("unroll") for (int i = 0; i < 3; i++) {
            const int th = ih + s.pad_h - i;
            if (th < 0 || th % 2 || th / 2 >= s.oh)
                continue;
            __global const float *dyr = dyk + th / 2 * s.ow + o;
            const floatv d0 = vloadv(0, dyr), d1 = vloadv(0, dyr - 1);
            even = fma(d0, (floatv)wt[3 * i], fma(d1, (floatv)wt[3 * i + 2], even));
            odd = fma(d0, (floatv)wt[3 * i + 1], odd);
        }
        STORE_INTERLEAVED(even, odd, dxr + 2 * o - s.pad_w);
    }
    for (int iw = 0; iw < first; iw++)
        dxr[iw] = bias + dw3x3_s2_transpose_at(dyk, wt, ih, iw, &s);
    for (int iw = last; iw < s.w; iw++)
        dxr[iw] = bias + dw3x3_s2_transpose_at(dyk, wt, ih, iw, &s);
}
