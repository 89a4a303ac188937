/* conv_wgrad.cl - the weight gradient of a 3x3 convolution with few
 * channels (the CIFAR nets), without im2col (see
 * lib/opencl/cl_conv_wgrad.c): x read as it is (padding of at most 1,
 * channels in whole blocks) or zero-padded once, dy laid out with output
 * channels as the lanes of a float16, partial sums of dW per slice of
 * output rows, and a second pass that adds the slices up in a fixed order. */

/* Output channels per work-item, the lanes of a float16 (PoCL vectorises
 * explicit vectors only). */
#define KV 16
/* Input channels (CB) and blocks of KV output channels (KVB) per
 * work-item, build options that cl_conv_wgrad.c picks by the device's
 * vector width and the layer's output channels. With one row of taps (3)
 * per work-item that is KVB * CB * 3 float16 accumulators, each step
 * loading KVB vectors of dy and CB * 3 inputs to broadcast: KVB 1, CB 2
 * take 15 of AVX2's 16 registers (a float16 is two). */
#ifndef CB
#define CB 2
#endif
#ifndef KVB
#define KVB 1
#endif
/* Output columns a step at stride 1: WU vectors of dy per block held at
 * once, so that each input value is broadcast once for the (up to three)
 * columns whose taps read it: WU + 2 broadcasts per row of input channel
 * instead of 3 WU. Wider blocks have fewer registers to spare (KVB 4: 1). */
#ifndef WU
#define WU 1
#endif

/* x's planes zero-padded into xp (hp x wp per plane, the input at row pad_h
 * and column pad_w), with zero planes for the channels from C up to cp, the
 * channels of whole CB blocks. A work-item writes a padded row, the
 * input's part in vectors of 8 (scalar code is not vectorised).
 * Grid: (hp, N * cp). */
__kernel void wg_pad(__global const float *x, int x_off, int x_bs, int c_n, int h, int w,
                     __global float *xp, int xp_off, int cp, int hp, int wp, int pad_h,
                     int pad_w)
{
    const int r = get_global_id(0), z = get_global_id(1);
    const int n = z / cp, c = z % cp, ih = r - pad_h;
    __global float *dst = xp + xp_off + ((size_t)z * hp + r) * wp;
    if (c >= c_n || ih < 0 || ih >= h) {
        for (int q = 0; q < wp; q++)
            dst[q] = 0.0f;
        return;
    }
    __global const float *src = x + x_off + n * x_bs + (c * h + ih) * w;
    /* the input's columns up to i1 land at pad_w + i, the rest is zero
     * (a stride can leave the input's last columns unread) */
    const int i1 = min(w, wp - pad_w);
    for (int q = 0; q < pad_w; q++)
        dst[q] = 0.0f;
    int i = 0;
    for (; i + 8 <= i1; i += 8)
        vstore8(vload8(0, src + i), 0, dst + pad_w + i);
    for (; i < i1; i++)
        dst[pad_w + i] = src[i];
    for (int q = pad_w + i1; q < wp; q++)
        dst[q] = 0.0f;
}

/* The KV output channels of 8 columns, the lanes of each of the 8
 * float16 the columns become (r: the channels' rows of 8). */
#define WG_LANES(r, q)                                                                   \
    (float16)(r[0].s##q, r[1].s##q, r[2].s##q, r[3].s##q, r[4].s##q, r[5].s##q,        \
              r[6].s##q, r[7].s##q, r[8].s##q, r[9].s##q, r[10].s##q, r[11].s##q,      \
              r[12].s##q, r[13].s##q, r[14].s##q, r[15].s##q)

/* dy (N, K, OH, OW) into dyt[n][kb][oh][ow][KV], output channels of block
 * kb as the lanes (zero from K on), so that a work-item of wg_partial
 * streams its block. A work-item turns a row: 8 columns at a time as a
 * transpose of KV vectors (scalar code is not vectorised), the rest
 * column by column. Grid: (OH, N * KB). */
__kernel void wg_dy(__global const float *dy, int dy_off, int dy_bs, int k_n, int oh_n,
                    int ow_n, __global float *dyt, int dyt_off)
{
    const int oh = get_global_id(0), z = get_global_id(1);
    const int kblocks = (k_n + KV * KVB - 1) / (KV * KVB) * KVB;   /* as wg_partial reads them */
    const int n = z / kblocks, kb = z % kblocks, plane = oh_n * ow_n;
    const int kcount = min(KV, k_n - kb * KV);
    __global const float *src = dy + dy_off + n * dy_bs + kb * KV * plane + oh * ow_n;
    __global float *dst = dyt + dyt_off + ((size_t)z * oh_n + oh) * ow_n * KV;
    int ow = 0;
    for (; ow + 8 <= ow_n; ow += 8) {
        float8 r[KV];
#pragma unroll
        for (int j = 0; j < KV; j++)
            r[j] = j < kcount ? vload8(0, src + j * plane + ow) : (float8)0.0f;
        __global float *d = dst + ow * KV;
        vstore16(WG_LANES(r, 0), 0, d);
        vstore16(WG_LANES(r, 1), 1, d);
        vstore16(WG_LANES(r, 2), 2, d);
        vstore16(WG_LANES(r, 3), 3, d);
        vstore16(WG_LANES(r, 4), 4, d);
        vstore16(WG_LANES(r, 5), 5, d);
        vstore16(WG_LANES(r, 6), 6, d);
        vstore16(WG_LANES(r, 7), 7, d);
    }
    for (; ow < ow_n; ow++) {
        float v[KV];
        for (int j = 0; j < KV; j++)
            v[j] = j < kcount ? src[j * plane + ow] : 0.0f;
        vstore16(vload16(0, v), ow, dst);
    }
}

/* One slice's partial dW for KVB blocks of KV output channels (from block
 * kb0), CB input channels and the three taps of window row i: over the
 * slice's output rows (rows `rows` of the flattened (image, output row)
 * index, from slice * rows), the sum of dy's vectors times each input
 * value the tap reads, broadcast. Writes part[slice][kb][c][i * 3 + j][KV].
 * xp: cp planes of hp x wp an image, read through padding `pad`, a
 * constant (wg_partial, 0: x padded by wg_pad, or x unpadded;
 * wg_partial_x, 1: x itself, whose channels are whole CB blocks: a row of
 * taps in the padding is skipped, and the first and last columns a step
 * reads are zeroed where they lie in it). With pad 0 the tests fold away:
 * made at run time they cost the padded copy's layers 15-65% (64 channels
 * on 8x8 at batch 128: 1.8 -> 3.0 ms).
 * Grid: (CP / CB * 3, KB / KVB, slices). */
static inline __attribute__((always_inline)) void
wg_partial_rows(__global const float *xp, int xp_off, int cp, int hp, int wp, const int pad,
                __global const float *dyt, int dyt_off, int oh_n, int ow_n, int stride_h,
                int stride_w, int nrows, int rows, __global float *part, int part_off)
{
    const int i = get_global_id(0) % 3, c0 = get_global_id(0) / 3 * CB;
    const int kb0 = get_global_id(1) * KVB, kblocks = get_global_size(1) * KVB;
    const int slice = get_global_id(2);
    const size_t block = (size_t)oh_n * ow_n * KV;   /* dyt's step from block to block */
    /* Every loop over acc fully unrolled, so that it lives in registers. */
    float16 acc[KVB][CB][3];
#pragma unroll
    for (int b = 0; b < KVB; b++)
#pragma unroll
        for (int cc = 0; cc < CB; cc++)
#pragma unroll
            for (int j = 0; j < 3; j++)
                acc[b][cc][j] = (float16)0.0f;
    const int r_end = min(nrows, (slice + 1) * rows);
    for (int r = slice * rows; r < r_end; r++) {
        const int n = r / oh_n, oh = r % oh_n, ih = oh * stride_h + i - pad;
        if (pad && (ih < 0 || ih >= hp))
            continue;
        __global const float *xr = xp + xp_off + ((size_t)(n * cp + c0) * hp + ih) * wp - pad;
        __global const float *dr =
            dyt + dyt_off + (((size_t)n * kblocks + kb0) * oh_n + oh) * ow_n * KV;
        int ow = 0;
        /* WU columns at a time at stride 1: column u's tap j reads input
         * column ow + u + j, so input column ow + t serves taps t - u */
        for (; WU > 1 && stride_w == 1 && ow + WU <= ow_n; ow += WU) {
            float16 d[WU][KVB];
#pragma unroll
            for (int u = 0; u < WU; u++)
#pragma unroll
                for (int b = 0; b < KVB; b++)
                    d[u][b] = vload16(ow + u, dr + b * block);
            __global const float *xq = xr + ow;
#pragma unroll
            for (int cc = 0; cc < CB; cc++)
#pragma unroll
                for (int t = 0; t < WU + 2; t++) {
                    const int col = ow + t - pad;
                    const bool out = pad && ((t == 0 && col < 0) || (t == WU + 1 && col >= wp));
                    const float xs = xq[cc * hp * wp + (out ? 1 : t)];
                    const float16 xv = (float16)(out ? 0.0f : xs);
#pragma unroll
                    for (int j = 0; j < 3; j++)
#pragma unroll
                        for (int b = 0; b < KVB; b++)
                            if (t - j >= 0 && t - j < WU)
                                acc[b][cc][j] = fma(xv, d[t - j][b], acc[b][cc][j]);
                }
        }
        for (; ow < ow_n; ow++) {
            float16 d[KVB];
#pragma unroll
            for (int b = 0; b < KVB; b++)
                d[b] = vload16(ow, dr + b * block);
            __global const float *xq = xr + ow * stride_w;
#pragma unroll
            for (int cc = 0; cc < CB; cc++)
#pragma unroll
                for (int j = 0; j < 3; j++) {
                    const int col = ow * stride_w + j - pad;
                    const bool out = pad && ((j == 0 && col < 0) || (j == 2 && col >= wp));
                    const float xs = xq[cc * hp * wp + (out ? 1 : j)];
                    const float16 xv = (float16)(out ? 0.0f : xs);
#pragma unroll
                    for (int b = 0; b < KVB; b++)
                        acc[b][cc][j] = fma(xv, d[b], acc[b][cc][j]);
                }
        }
    }
#pragma unroll
    for (int b = 0; b < KVB; b++) {
        __global float *dst =
            part + part_off + (((size_t)slice * kblocks + kb0 + b) * cp + c0) * 9 * KV;
#pragma unroll
        for (int cc = 0; cc < CB; cc++)
#pragma unroll
            for (int j = 0; j < 3; j++)
                vstore16(acc[b][cc][j], 0, dst + (cc * 9 + i * 3 + j) * KV);
    }
}

#define WG_PARTIAL_KERNEL(name, pad)                                                      \
    __kernel void name(__global const float *xp, int xp_off, int cp, int hp, int wp,       \
                       __global const float *dyt, int dyt_off, int oh_n, int ow_n,         \
                       int stride_h, int stride_w, int nrows, int rows,                    \
                       __global float *part, int part_off)                                 \
    {                                                                                      \
        wg_partial_rows(xp, xp_off, cp, hp, wp, pad, dyt, dyt_off, oh_n, ow_n, stride_h,   \
                        stride_w, nrows, rows, part, part_off);                            \
    }
WG_PARTIAL_KERNEL(wg_partial, 0)
WG_PARTIAL_KERNEL(wg_partial_x, 1)

/* dw[k][c][tap] = the sum of the slices' partials, slice 0 first, so that
 * the result does not depend on which work-item ran when. A work-item sums
 * the KV lanes of one (channel, tap) and block as vectors (scalar code is
 * not vectorised) and stores the lanes below K. Grid: (C * 9, KB). */
__kernel void wg_reduce(__global const float *part, int part_off, int slices, int cp,
                        int k_n, __global float *dw, int dw_off, int dw_kstride)
{
    const int t = get_global_id(0), kb = get_global_id(1), kblocks = get_global_size(1);
    const size_t step = (size_t)kblocks * cp * 9;
    __global const float *p = part + part_off + ((size_t)kb * cp * 9 + t) * KV;
    float16 sum = (float16)0.0f;
    for (int s = 0; s < slices; s++)
        sum += vload16(s * step, p);
    float lanes[KV];
    vstore16(sum, 0, lanes);
    const int k0 = kb * KV, kcount = min(KV, k_n - k0);
    for (int l = 0; l < kcount; l++)
        dw[dw_off + (k0 + l) * dw_kstride + t] = lanes[l];
}
