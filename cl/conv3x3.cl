/* conv3x3.cl - direct 3x3 convolution for few channels (the CIFAR nets:
 * 16-64 channels on 32x32..8x8 planes), and built with WS 5 the 5x5 one of
 * stride 1 (LeNet-5, GoogLeNet's 5x5 branches), lanes along output channels (see
 * lib/opencl/cl_conv3x3.c): the input read as it is where the blocks cover
 * the output exactly, else zero-padded once; the weights laid out as one
 * vector of output channels per (input channel, tap). Serves the forward of
 * stride 1 and 2 and the data gradient of both: at stride 1 a convolution
 * over dy, at stride 2 one over dy split by the output's phases
 * (c3_dgrad_s2_pairs, c3_dgrad_s2), or over dy with zeros inserted between
 * its pixels (mixed strides). Built with C3_GROUPED, the program holds
 * c3_weights and c3_conv_s1_grouped only. */

/* Output channels per work-item, the lanes of one vector: one vector FMA
 * per input value and tap, where PoCL vectorises explicit vectors only.
 * cl_conv3x3.c sets it to the device's preferred float vector width. */
#ifndef KV
#define KV 16
#endif
/* Output rows x columns a work-item computes: TR * TW accumulators, which
 * with the weight vector must fit the register file (only with the loops
 * below fully unrolled do the accumulators live in registers); the host
 * picks them per KV from measurements and mirrors all three. TW must be
 * a vector width (2, 3, 4, 8 or 16): whole rows are stored as vectors. */
#ifndef TR
#define TR 2
#endif
#ifndef TW
#define TW 8
#endif
/* The window's side: 3, or 5 (stride 1 only: forwards and data gradients
 * over x or its padded copy; no phases, no C3_GROUPED). */
#ifndef WS
#define WS 3
#endif
#define TAPS (WS * WS)

#define C3_PASTE(a, b) a##b
#define C3_CAT(a, b) C3_PASTE(a, b)
#define floatKV C3_CAT(float, KV)
#define vloadKV C3_CAT(vload, KV)
#define vstoreKV C3_CAT(vstore, KV)
#define floatTW C3_CAT(float, TW)
#define vloadTW C3_CAT(vload, TW)
#define vstoreTW C3_CAT(vstore, TW)

CLNET_DEFINE_ACTIVATE(activateKV, floatKV)

/* The weights into wt[kb][c][tap][KV], output channels of block kb as the
 * lanes (zero past K), then the bias (zero without one) as KV lanes per
 * block at wt[KB * C * 9 * KV]. Forward: w is (K, C, 3, 3). Transposed
 * (the data gradient): w is (C, K, 3, 3), read rotated by 180 degrees with
 * its two channel axes swapped. w_s0 is w's stride along its first axis.
 * Grid: (C * 9 + 1, KB). */
__kernel void c3_weights(__global const float *w, int w_off, int w_s0, int c_n, int k_n,
                         __global const float *b, int b_off, int has_bias, int transposed,
                         __global float *wt)
{
    const int i = get_global_id(0), kb = get_global_id(1), kblocks = get_global_size(1);
    const int c = i / TAPS, tap = i % TAPS;
    float v[KV];
    for (int j = 0; j < KV; j++) {
        const int k = kb * KV + j;
        if (k >= k_n)
            v[j] = 0.0f;
        else if (i >= c_n * TAPS)
            v[j] = has_bias ? b[b_off + k] : 0.0f;
        else if (transposed)
            v[j] = w[w_off + c * w_s0 + k * TAPS + TAPS - 1 - tap];
        else
            v[j] = w[w_off + k * w_s0 + i];
    }
    __global float *dst = i < c_n * TAPS ? wt + ((size_t)kb * c_n * TAPS + i) * KV
                                         : wt + ((size_t)kblocks * c_n * TAPS + kb) * KV;
    vstoreKV(vloadKV(0, v), 0, dst);
}

#ifndef C3_GROUPED
/* x's planes zero-padded into xp (hp x wp per plane, zeros around and in the
 * slack that makes every block's reads fall inside the plane): input pixel
 * (ih, iw) lands at row pad_h + ih * s_h, column pad_w + iw * s_w, the
 * s - 1 rows and columns between pixels zero (a transposed convolution's
 * stride). A work-item writes one padded row: one per pixel spent more
 * time on index arithmetic than the convolution on its MACs.
 * Grid: (hp, images * C). */
__kernel void c3_pad(__global const float *x, int x_off, int x_bs, int c_n, int h, int w,
                     __global float *xp, int xp_off, int hp, int wp, int pad_h, int pad_w,
                     int s_h, int s_w)
{
    const int r = get_global_id(0), z = get_global_id(1);
    const int n = z / c_n, c = z % c_n;
    const int uh = r - pad_h, ih = uh / s_h;
    __global float *dst = xp + xp_off + ((size_t)z * hp + r) * wp;
    if (uh < 0 || uh % s_h != 0 || ih >= h) {
        for (int q = 0; q < wp; q++)
            dst[q] = 0.0f;
        return;
    }
    __global const float *src = x + x_off + n * x_bs + (c * h + ih) * w;
    for (int q = 0; q < pad_w; q++)
        dst[q] = 0.0f;
    const int end = pad_w + (w - 1) * s_w + 1;
    if (s_w == 1) {
        for (int iw = 0; iw < w; iw++)
            dst[pad_w + iw] = src[iw];
    } else {
        for (int q = pad_w; q < end; q++)
            dst[q] = 0.0f;
        for (int iw = 0; iw < w; iw++)
            dst[pad_w + iw * s_w] = src[iw];
    }
    for (int q = end; q < wp; q++)
        dst[q] = 0.0f;
}
#endif

#if KV == 16 && (TW == 2 || TW == 4 || TW == 8)
/* A row's TW vectors of 16 channels transposed into TW vectors of 16 / TW
 * channels' TW columns each, by log2(TW) stages of two-source permutes:
 * the gather through a private array took a scalar load and insert per
 * channel and column, with the activation's switch per channel. Kernel
 * ms, pinned: LeNet-5's second layer (5 x 2 tiles) at batch 32
 * 0.051-0.053 -> 0.045-0.047, at batch 512 0.78-0.85 -> 0.70-0.71;
 * ResNet-20's 16 channels on 32x32 (2 x 8) at batch 128 1.67-1.75 ->
 * 1.56-1.69. C3_ZIPg_LO and _HI: lanes 0-7, or 8-15, of a and b in groups
 * of g, interleaved. */
#define C3_TRANSPOSES
#define C3_ZIP1_LO(a, b)                                                                   \
    (float16)(a.s0, b.s0, a.s1, b.s1, a.s2, b.s2, a.s3, b.s3, a.s4, b.s4, a.s5, b.s5, a.s6, \
              b.s6, a.s7, b.s7)
#define C3_ZIP1_HI(a, b)                                                                   \
    (float16)(a.s8, b.s8, a.s9, b.s9, a.sa, b.sa, a.sb, b.sb, a.sc, b.sc, a.sd, b.sd, a.se, \
              b.se, a.sf, b.sf)
#define C3_ZIP2_LO(a, b) (float16)(a.s01, b.s01, a.s23, b.s23, a.s45, b.s45, a.s67, b.s67)
#define C3_ZIP2_HI(a, b) (float16)(a.s89, b.s89, a.sab, b.sab, a.scd, b.scd, a.sef, b.sef)
#define C3_ZIP4_LO(a, b) (float16)(a.s0123, b.s0123, a.s4567, b.s4567)
#define C3_ZIP4_HI(a, b) (float16)(a.s89ab, b.s89ab, a.scdef, b.scdef)
/* In each block of 2 g vectors of x, vectors j and j + g (j < g) zipped in
 * groups of g into y[2 j] and y[2 j + 1] of the block: after the stage of
 * group g, every group of 2 g lanes is one channel's 2 g columns. */
#define C3_ZIP_STAGE(x, y, g)                                                              \
    _Pragma("unroll") for (int b_ = 0; b_ < TW; b_ += 2 * (g))                             \
        _Pragma("unroll") for (int j_ = 0; j_ < (g); j_++)                                 \
    {                                                                                      \
        y[b_ + 2 * j_] = C3_ZIP##g##_LO(x[b_ + j_], x[b_ + j_ + (g)]);                     \
        y[b_ + 2 * j_ + 1] = C3_ZIP##g##_HI(x[b_ + j_], x[b_ + j_ + (g)]);                 \
    }
/* The i-th pair of v's lanes (i a constant once unrolled) */
#define C3_PAIR(v, i)                                                                      \
    ((i) == 0 ? v.s01 : (i) == 1 ? v.s23 : (i) == 2 ? v.s45 : (i) == 3 ? v.s67              \
     : (i) == 4 ? v.s89 : (i) == 5 ? v.sab : (i) == 6 ? v.scd : v.sef)
#else
/* Channel j's TW columns of a[column][channel] as one vector, built from
 * the scalars: gathered through a private array and loaded back as a
 * vector, the narrow stores could not forward to the wide load (a stall
 * per channel: half the time of a 5x5 layer's 2-column tiles). */
#if TW == 2
#define C3_COLUMNS(a, j) (float2)(a[0][j], a[1][j])
#elif TW == 3
#define C3_COLUMNS(a, j) (float3)(a[0][j], a[1][j], a[2][j])
#elif TW == 4
#define C3_COLUMNS(a, j) (float4)(a[0][j], a[1][j], a[2][j], a[3][j])
#elif TW == 8
#define C3_COLUMNS(a, j) \
    (float8)(a[0][j], a[1][j], a[2][j], a[3][j], a[4][j], a[5][j], a[6][j], a[7][j])
#elif TW == 16
#define C3_COLUMNS(a, j)                                                                   \
    (float16)(a[0][j], a[1][j], a[2][j], a[3][j], a[4][j], a[5][j], a[6][j], a[7][j],      \
              a[8][j], a[9][j], a[10][j], a[11][j], a[12][j], a[13][j], a[14][j], a[15][j])
#endif
#endif

/* A row of TW output columns (row[q]: column q's KV channels) of kcount
 * channels, each channel's columns stored as one vector at dst, the
 * channels `plane` apart. Two columns go straight from the permutes, 16
 * guarded stores (through a private array and a rolled loop, LeNet-5's
 * second layer gained nothing); wider rows through the array: unrolled,
 * the 2 x 8 tile's program took 5-10 s longer to build (of 42-44) for a
 * kernel 3% faster, within the noise. */
static inline __attribute__((always_inline)) void c3_store_row(floatKV row[TW],
                                                               __global float *dst, int plane,
                                                               int kcount)
{
#ifdef C3_TRANSPOSES
    float16 t[TW];
#if TW == 2
    C3_ZIP_STAGE(row, t, 1)
#pragma unroll
    for (int j = 0; j < 16; j++)
        if (j < kcount)
            vstore2(C3_PAIR(t[j / 8], j % 8), 0, dst + j * plane);
#else
#if TW == 4
    float16 u[TW];
    C3_ZIP_STAGE(row, u, 1)
    C3_ZIP_STAGE(u, t, 2)
#else
    float16 u[TW], v[TW];
    C3_ZIP_STAGE(row, u, 1)
    C3_ZIP_STAGE(u, v, 2)
    C3_ZIP_STAGE(v, t, 4)
#endif
    float a[16 * TW];
#pragma unroll
    for (int m = 0; m < TW; m++)
        vstore16(t[m], m, a);
    for (int j = 0; j < kcount; j++)
        vstoreTW(vloadTW(j, a), 0, dst + j * plane);
#endif
#else
    float a[TW][KV];
#pragma unroll
    for (int q = 0; q < TW; q++)
        vstoreKV(row[q], 0, a[q]);
    for (int j = 0; j < kcount; j++)
        vstoreTW(C3_COLUMNS(a, j), 0, dst + j * plane);
#endif
}

/* Every accumulator of a TR x TW block set to v (the bias), the loops
 * unrolled like every loop over acc (see c3_conv_tile). */
static inline __attribute__((always_inline)) void c3_acc_fill(floatKV acc[TR][TW], floatKV v)
{
#pragma unroll
    for (int r = 0; r < TR; r++)
#pragma unroll
        for (int q = 0; q < TW; q++)
            acc[r][q] = v;
}

/* Adds to acc[TR][TW] the block's products over the c_n input channels:
 * KV output channels, TR rows and TW columns at strides s_h x s_w (the
 * forward's; a transposed convolution runs at 1 over its zero-filled
 * planes), from planes `plane` floats apart whose rows are `pitch` apart:
 * x itself (c3_conv_x_*) or its zero-padded copy (c3_conv_*). xn is image
 * n's first plane, (row0, col0) the block's first input pixel there, wc
 * the weights of the block's output channels. Reading x itself, the
 * block's first or last input row or column may lie in the padding (top,
 * bottom, left, right false); every other row and column is inside
 * (reads_x in cl_conv3x3.c sees to it). With `drop` (the four then
 * constants, see c3_conv_tile) a line in the padding is neither read nor
 * multiplied: its FMAs were 16% of a 2 x 8 block's on 8x8 planes. Without,
 * it reads its neighbour inside and is zeroed: selects, where branches
 * around the FMAs cost the accumulators their registers. Only the first
 * taps_h rows and taps_w columns of the window count (WS but for the
 * channels c3_conv_s1 groups). The strides and tap counts must be
 * constants for the loops to unroll. Per input channel each of the
 * ((TR - 1) s_h + WS) x ((TW - 1) s_w + WS) input values is broadcast once
 * and multiplied straight away with the weight vector of every tap that
 * reads it: the accumulators, the broadcast value and a weight vector,
 * which the FMA can read from memory, fit AVX2's 16 registers (tap by tap,
 * the broadcasts that neighbouring taps share were kept and spilled: at
 * 2 x 4 on AVX2, 142 instructions with 20 stack accesses per 72 FMAs
 * against 115 and none; timed alike to 5% faster). */
static inline __attribute__((always_inline)) void
c3_accumulate(floatKV acc[TR][TW], __global const float *xn, int plane, int pitch, int row0,
              int col0, bool top, bool bottom, bool left, bool right, const bool drop, int c_n,
              const int s_h, const int s_w, const int taps_h, const int taps_w,
              __global const float *wc)
{
    const int rows = (TR - 1) * s_h + WS, cols = (TW - 1) * s_w + WS;
    const int first_col = left ? 0 : 1, last_col = right ? cols - 1 : cols - 2;
    for (int c = 0; c < c_n; c++, xn += plane, wc += TAPS * KV) {
#pragma unroll
        for (int u = 0; u < rows; u++) {
            const bool row_out = (u == 0 && !top) || (u == rows - 1 && !bottom);
            const int ru = u == 0 && !top ? 1 : u == rows - 1 && !bottom ? rows - 2 : u;
            __global const float *xr = xn + ((row0 + ru) * pitch + col0);
#pragma unroll
            for (int v = 0; v < cols; v++) {
                const bool out = row_out || (v == 0 && !left) || (v == cols - 1 && !right);
                if (drop && out)
                    continue;
                const float xs = xr[v == 0 ? first_col : v == cols - 1 ? last_col : v];
                const floatKV xv = (floatKV)(out ? 0.0f : xs);
                /* tap (i, j) reads it for output (r, q) = ((u - i) / s_h, (v - j) / s_w) */
#pragma unroll
                for (int i = 0; i < WS; i++)
#pragma unroll
                    for (int j = 0; j < WS; j++) {
                        const int r = (u - i) / s_h, q = (v - j) / s_w;
                        if (i < taps_h && j < taps_w && u >= i && v >= j &&
                            (u - i) % s_h == 0 && (v - j) % s_w == 0 && r < TR && q < TW)
                            acc[r][q] = fma(xv, vloadKV(0, wc + (i * WS + j) * KV), acc[r][q]);
                    }
            }
        }
    }
}

/* c3_accumulate with the edges of case e (bits 0-3: the block's top,
 * bottom, left and right input lines lie inside x) as constants. */
#define C3_EDGE_CASE(e)                                                                    \
    case e:                                                                                \
        c3_accumulate(acc, xn, plane, pitch, row0, col0, (e) & 1, (e) & 2, (e) & 4, (e) & 8, \
                      true, c_n, s_h, s_w, WS, WS, wc);                                      \
        break;

/* c3_accumulate over the next `count` channels of padded planes with the
 * first taps_h x taps_w taps of the window. */
#define C3_GROUP(count, taps_h, taps_w)                                                     \
    c3_accumulate(acc, xn, plane, pitch, row0, col0, true, true, true, true, false, count, \
                  s_h, s_w, taps_h, taps_w, wc);                                            \
    xn += (count) * plane;                                                                  \
    wc += (count) * TAPS * KV;

/* y[n, k, oh, ow] for a block of KV output channels, TR rows and TW
 * columns (c3_accumulate says from what), activated, `edges` as in
 * C3_EDGE_CASE. With `drop` (a constant) the accumulation is copied for
 * each of the 16 values of `edges` (one where it is a constant), without
 * the padding's FMAs: ResNet-20's 3x3 layers at batch 32 10-15% faster
 * (`cb`, pinned), its training step 4%. The copies cost compile time
 * (ResNet-20's first run, every program built, 72 -> 86 s: PoCL builds
 * the kernel once per work-group size, three there), and with the stores
 * copied too a build took 2-3 minutes, so only the accumulation is copied
 * and only c3_conv_x_s1 (the forwards and data gradients of stride 1)
 * drops. With `grouped` (a constant, c3_conv_s1_grouped) the last channels
 * (c_short, see C3_GROUP) skip their window's last row or column of taps:
 * the space-to-depth rewrite puts the phases whose taps there lie past the
 * original window last (cl/space_to_depth.cl). Stores go by channel (NCHW
 * puts the channels a plane apart),
 * only inside the output and below K. Grid: (ceil(OW / TW), ceil(OH /
 * TR), N * KB). */
static inline __attribute__((always_inline)) void
c3_conv_tile(__global const float *xn, int plane, int pitch, int row0, int col0, int edges,
             const bool drop, const bool grouped, int c_n, int3 c_short, const int s_h,
             const int s_w, __global const float *wt,
             __global float *y, int y_off, int y_bs, int k_n, int oh_n, int ow_n, int act_fn,
             float act_alpha)
{
    const int ow0 = get_global_id(0) * TW, oh0 = get_global_id(1) * TR;
    const int kblocks = (k_n + KV - 1) / KV;
    const int kb = get_global_id(2) % kblocks, n = get_global_id(2) / kblocks;
    const floatKV bias = vloadKV(0, wt + ((size_t)kblocks * c_n * TAPS + kb) * KV);
    /* Every loop over acc fully unrolled, here and below: with one left
     * rolled, PoCL kept acc in memory, a copy per work-item of the group,
     * loaded and stored once per input channel (1.2x slower on ResNet-20's
     * layers). */
    floatKV acc[TR][TW];
    c3_acc_fill(acc, bias);
    __global const float *wc = wt + (size_t)kb * c_n * TAPS * KV;
    if (drop) {
        switch (edges) {
            C3_EDGE_CASE(0) C3_EDGE_CASE(1) C3_EDGE_CASE(2) C3_EDGE_CASE(3)
            C3_EDGE_CASE(4) C3_EDGE_CASE(5) C3_EDGE_CASE(6) C3_EDGE_CASE(7)
            C3_EDGE_CASE(8) C3_EDGE_CASE(9) C3_EDGE_CASE(10) C3_EDGE_CASE(11)
            C3_EDGE_CASE(12) C3_EDGE_CASE(13) C3_EDGE_CASE(14) C3_EDGE_CASE(15)
        }
    } else if (grouped) {
        /* c_n channels, of which the last c_short.s0, .s1, .s2 have a zero
         * last column of taps, last row, both, in that order */
        const int full = c_n - c_short.s0 - c_short.s1 - c_short.s2;
        C3_GROUP(full, 3, 3)
        C3_GROUP(c_short.s0, 3, 2)
        C3_GROUP(c_short.s1, 2, 3)
        C3_GROUP(c_short.s2, 2, 2)
    } else {
        c3_accumulate(acc, xn, plane, pitch, row0, col0, edges & 1, edges & 2, edges & 4,
                      edges & 8, false, c_n, s_h, s_w, WS, WS, wc);
    }
    const int out_plane = oh_n * ow_n, kcount = min(KV, k_n - kb * KV);
    __global float *yb = y + y_off + n * y_bs + kb * KV * out_plane;
    /* A block of whole rows stores each channel's TW columns as one vector
     * (lane by lane took 10-15% longer on 16 channels of 32x32). */
    if (ow0 + TW <= ow_n) {
#pragma unroll
        for (int r = 0; r < TR; r++) {
            if (oh0 + r >= oh_n)
                break;
#pragma unroll
            for (int q = 0; q < TW; q++)
                acc[r][q] = activateKV(acc[r][q], act_fn, act_alpha);
            c3_store_row(acc[r], yb + (oh0 + r) * ow_n + ow0, out_plane, kcount);
        }
        return;
    }
#pragma unroll
    for (int r = 0; r < TR; r++)
#pragma unroll
        for (int q = 0; q < TW; q++) {
            const int oh = oh0 + r, ow = ow0 + q;
            if (oh >= oh_n || ow >= ow_n)
                continue;
            float a[KV];
            vstoreKV(activateKV(acc[r][q], act_fn, act_alpha), 0, a);
            for (int j = 0; j < kcount; j++)
                yb[j * out_plane + oh * ow_n + ow] = a[j];
        }
}

#define C3_OUT_ARGS                                                                         \
    __global const float *wt, __global float *y, int y_off, int y_bs, int k_n, int oh_n,    \
        int ow_n, int act_fn, float act_alpha
#define C3_OUT wt, y, y_off, y_bs, k_n, oh_n, ow_n, act_fn, act_alpha

#ifdef C3_GROUPED

/* c3_conv_s1 over planes whose last c_short_w, c_short_h, c_short_hw
 * channels take fewer taps (C3_GROUP), which the space-to-depth rewrite
 * fills. It is the only convolution of the programs built with C3_GROUPED,
 * and only there: PoCL compiles every kernel of a program when it builds
 * it (for the binary clnet caches). Beside the others, AlexNet's stem's
 * first call (every program built) took 45.5 s; on its own 8.2 s, where
 * before the rewrite (c3_conv_s1 over c3_pad's copy) it took 28.2. */
__kernel void c3_conv_s1_grouped(__global const float *xp, int xp_off, int hp, int wp, int c_n,
                                 int c_short_w, int c_short_h, int c_short_hw, C3_OUT_ARGS)
{
    const int n = get_global_id(2) / ((k_n + KV - 1) / KV);
    c3_conv_tile(xp + xp_off + (size_t)n * c_n * hp * wp, hp * wp, wp, get_global_id(1) * TR,
                 get_global_id(0) * TW, 15, false, true, c_n,
                 (int3)(c_short_w, c_short_h, c_short_hw), 1, 1, C3_OUT);
}

#else

/* Over the padded planes (hp x wp each, every read inside: edges 15). */
#define C3_CONV_KERNEL(name, s_h, s_w)                                                     \
    __kernel void name(__global const float *xp, int xp_off, int hp, int wp, int c_n,      \
                       C3_OUT_ARGS)                                                        \
    {                                                                                      \
        const int n = get_global_id(2) / ((k_n + KV - 1) / KV);                            \
        c3_conv_tile(xp + xp_off + (size_t)n * c_n * hp * wp, hp * wp, wp,                 \
                     get_global_id(1) * TR * s_h, get_global_id(0) * TW * s_w, 15, false,   \
                     false, c_n, (int3)0, s_h, s_w, C3_OUT);                               \
    }

/* Over x itself (h x w planes, x_bs floats an image), padding pad_h x
 * pad_w: a launch and a copy of x fewer, where reads_x (cl_conv3x3.c);
 * `drop` as in c3_conv_tile. */
#define C3_CONV_X_KERNEL(name, s_h, s_w, drop)                                             \
    __kernel void name(__global const float *x, int x_off, int x_bs, int c_n, int h, int w, \
                       int pad_h, int pad_w, C3_OUT_ARGS)                                  \
    {                                                                                      \
        const int n = get_global_id(2) / ((k_n + KV - 1) / KV);                            \
        const int row0 = get_global_id(1) * TR * s_h - pad_h;                              \
        const int col0 = get_global_id(0) * TW * s_w - pad_w;                              \
        const int rows = (TR - 1) * s_h + WS, cols = (TW - 1) * s_w + WS;                  \
        c3_conv_tile(x + x_off + (size_t)n * x_bs, h * w, w, row0, col0,                   \
                     (row0 >= 0) | (row0 + rows <= h) << 1 | (col0 >= 0) << 2 |           \
                         (col0 + cols <= w) << 3,                                          \
                     drop, false, c_n, (int3)0, s_h, s_w, C3_OUT);                         \
    }

/* Stride 1 (and the data gradients but stride 2's), 2, and the mixed ones:
 * strides rows x columns. */
C3_CONV_KERNEL(c3_conv_s1, 1, 1)
C3_CONV_X_KERNEL(c3_conv_x_s1, 1, 1, true)

#if WS == 3
C3_CONV_KERNEL(c3_conv_s2, 2, 2)
C3_CONV_KERNEL(c3_conv_s1x2, 1, 2)
C3_CONV_KERNEL(c3_conv_s2x1, 2, 1)
C3_CONV_X_KERNEL(c3_conv_x_s2, 2, 2, false)
C3_CONV_X_KERNEL(c3_conv_x_s1x2, 1, 2, false)
C3_CONV_X_KERNEL(c3_conv_x_s2x1, 2, 1, false)

/* One phase of a stride-2 data gradient: the outputs (oh0 + 2 r, ow0 + 2 q)
 * of one row parity and one column parity. Of the rotated 3x3 window only
 * the taps that meet a pixel of dy rather than an inserted zero count:
 * rows 0 and 2 (eh = 0) or row 1 (eh = 1), columns alike (ew), tap row 2
 * reading one row further, tap column 2 one column. xc points at the
 * block's corner in the padded dy, wc at the weights of the block's output
 * channels, yb at the output's channel block. eh and ew are constants
 * where c3_dgrad_s2 calls this: inlined (PoCL kept the four calls of a
 * function this size out of line, 2-3x slower), the tap loops unroll to
 * the phase's taps and the accumulators live in registers. It goes tap by
 * tap: c3_conv_tile's order (each input value broadcast once) timed 10-15%
 * slower here. */
static inline __attribute__((always_inline)) void
c3_dgrad_phase(__global const float *xc, int hp, int wp, int c_n, __global const float *wc,
               const floatKV bias, const int eh, const int ew, __global float *yb, int kcount,
               int oh0, int ow0, int oh_n, int ow_n)
{
    floatKV acc[TR][TW];
    c3_acc_fill(acc, bias);
    for (int c = 0; c < c_n; c++, xc += hp * wp, wc += 9 * KV) {
#pragma unroll
        for (int i = eh; i < 3; i += 2)
#pragma unroll
            for (int j = ew; j < 3; j += 2) {
                const floatKV wv = vloadKV(0, wc + (i * 3 + j) * KV);
                const int di = (i + eh) / 2, dj = (j + ew) / 2;
#pragma unroll
                for (int r = 0; r < TR; r++)
#pragma unroll
                    for (int q = 0; q < TW; q++)
                        acc[r][q] = fma((floatKV)xc[(r + di) * wp + q + dj], wv, acc[r][q]);
            }
    }
    const int plane = oh_n * ow_n;
#pragma unroll
    for (int r = 0; r < TR; r++)
#pragma unroll
        for (int q = 0; q < TW; q++) {
            const int oh = oh0 + 2 * r, ow = ow0 + 2 * q;
            if (oh >= oh_n || ow >= ow_n)
                continue;
            float a[KV];
            vstoreKV(acc[r][q], 0, a);
            for (int j = 0; j < kcount; j++)
                yb[j * plane + oh * ow_n + ow] = a[j];
        }
}

/* The data gradient of a stride-2 convolution (a transposed convolution of
 * stride 2 and padding pad_h x pad_w, the weights rotated by c3_weights) by
 * the output's four phases: its rows of one parity read every row of dy
 * through one or two rows of the window, and columns alike, so each phase
 * is a small dense convolution over dy, 9 MACs for four outputs where the
 * planes with zeros inserted take 36. A work-item computes TR x TW outputs
 * of each phase in turn, from dy's rows m0.. and columns n0.. (one block
 * of the phases' common grid), its stores filling whole lines of the
 * output between them. xp: dy zero-padded by c3_pad, one row and column
 * before dy's first. Grid: (ceil(ceil(OW / 2) / TW), ceil(ceil(OH / 2) /
 * TR), N * KB). */
__kernel void c3_dgrad_s2(__global const float *xp, int xp_off, int hp, int wp, int c_n,
                          int pad_h, int pad_w, __global const float *wt, __global float *y,
                          int y_off, int y_bs, int k_n, int oh_n, int ow_n)
{
    const int n0 = get_global_id(0) * TW, m0 = get_global_id(1) * TR;
    const int kblocks = (k_n + KV - 1) / KV;
    const int kb = get_global_id(2) % kblocks, n = get_global_id(2) / kblocks;
    const floatKV bias = vloadKV(0, wt + ((size_t)kblocks * c_n * 9 + kb) * KV);
    const int kcount = min(KV, k_n - kb * KV);
    __global const float *xn = xp + xp_off + (size_t)n * c_n * hp * wp;
    __global const float *wc = wt + (size_t)kb * c_n * 9 * KV;
    __global float *yb = y + y_off + n * y_bs + kb * KV * oh_n * ow_n;
    /* Tap class e along an axis of padding p (0: taps 0 and 2, 1: tap 1)
     * serves the outputs 2 m + ph, ph = (e + p) % 2, whose tap i reads the
     * padded dy at m + (ph + p - e) / 2 + (i + e) / 2. */
#define C3_PHASE(eh, ew)                                                                   \
    do {                                                                                   \
        const int ph = (eh + pad_h) & 1, pw = (ew + pad_w) & 1;                           \
        const int row = m0 + (ph + pad_h - eh) / 2, col = n0 + (pw + pad_w - ew) / 2;     \
        c3_dgrad_phase(xn + row * wp + col, hp, wp, c_n, wc, bias, eh, ew, yb, kcount,     \
                       2 * m0 + ph, 2 * n0 + pw, oh_n, ow_n);                              \
    } while (0)
    C3_PHASE(0, 0);
    C3_PHASE(0, 1);
    C3_PHASE(1, 0);
    C3_PHASE(1, 1);
#undef C3_PHASE
}

/* The tap of the rotated window (c3_weights) along one axis through which
 * output phase e (the parity of the output line) of a stride-2, padding-1
 * data gradient reads dy's line d places after its block's first, or -1:
 * phase 0 reads line 0 through tap 1, phase 1 lines 0 and 1 through taps
 * 0 and 2. */
static inline int c3_pair_tap(int e, int d)
{
    if (e == 0)
        return d == 0 ? 1 : -1;
    return d == 0 ? 0 : d == 1 ? 2 : -1;
}

/* Output columns per phase of a c3_dgrad_s2_pairs block: the block is TW
 * columns wide, its stores whole rows of TW. */
#define C3_HALF (TW / 2)

/* The data gradient of a stride-2 convolution with padding 1 (ResNet's
 * downsampling layers), every phase in one work-item: output rows 2 m0
 * and 2 m0 + 1, columns 2 n0 .. 2 n0 + TW - 1, from dy's rows m0, m0 + 1
 * and columns n0 .. n0 + TW / 2, each value broadcast once into every tap
 * that reads it (36 FMAs for 10 broadcasts a channel at TW 8, where
 * c3_dgrad_s2 broadcasts once per FMA and stores its phases' outputs one
 * by one: it took ResNet-20's stride-2 layers 3-4x as long per FMA as the
 * forward kernel). xp: dy padded by c3_pad, its first pixel at (1, 1).
 * Grid: (ceil(ceil(OW / 2) / (TW / 2)), ceil(OH / 2), N * KB). */
__kernel void c3_dgrad_s2_pairs(__global const float *xp, int xp_off, int hp, int wp, int c_n,
                                __global const float *wt, __global float *y, int y_off,
                                int y_bs, int k_n, int oh_n, int ow_n)
{
    const int n0 = get_global_id(0) * C3_HALF, m0 = get_global_id(1);
    const int kblocks = (k_n + KV - 1) / KV;
    const int kb = get_global_id(2) % kblocks, n = get_global_id(2) / kblocks;
    const floatKV bias = vloadKV(0, wt + ((size_t)kblocks * c_n * 9 + kb) * KV);
    /* acc[ph][v]: output (2 m0 + ph, 2 n0 + v), column v of phase v % 2;
     * every loop over it unrolled (see c3_conv_tile) */
    floatKV acc[2][TW];
#pragma unroll
    for (int ph = 0; ph < 2; ph++)
#pragma unroll
        for (int v = 0; v < TW; v++)
            acc[ph][v] = bias;
    __global const float *xc = xp + xp_off + ((size_t)n * c_n * hp + m0 + 1) * wp + n0 + 1;
    __global const float *wc = wt + (size_t)kb * c_n * 9 * KV;
    for (int c = 0; c < c_n; c++, xc += hp * wp, wc += 9 * KV) {
#pragma unroll
        for (int a = 0; a < 2; a++)
#pragma unroll
            for (int b = 0; b <= C3_HALF; b++) {
                const floatKV xv = (floatKV)xc[a * wp + b];
#pragma unroll
                for (int ph = 0; ph < 2; ph++)
#pragma unroll
                    for (int v = 0; v < TW; v++) {
                        const int i = c3_pair_tap(ph, a), j = c3_pair_tap(v % 2, b - v / 2);
                        if (i >= 0 && j >= 0)
                            acc[ph][v] = fma(xv, vloadKV(0, wc + (i * 3 + j) * KV), acc[ph][v]);
                    }
            }
    }
    const int plane = oh_n * ow_n, kcount = min(KV, k_n - kb * KV);
    const int oh0 = 2 * m0, ow0 = 2 * n0;
    __global float *yb = y + y_off + n * y_bs + kb * KV * plane;
#pragma unroll
    for (int ph = 0; ph < 2; ph++) {
        if (oh0 + ph >= oh_n)
            break;
        __global float *yr = yb + (oh0 + ph) * ow_n + ow0;
        if (ow0 + TW <= ow_n) {
            c3_store_row(acc[ph], yr, plane, kcount);
        } else {
            float a[TW][KV];
#pragma unroll
            for (int v = 0; v < TW; v++)
                vstoreKV(acc[ph][v], 0, a[v]);
            for (int v = 0; v < ow_n - ow0; v++)
                for (int j = 0; j < kcount; j++)
                    yr[j * plane + v] = a[v][j];
        }
    }
}

#endif /* WS == 3 */

#endif
