/* conv_wgrad.cl - the weight gradient of a 3x3 convolution with few
 * channels (the CIFAR nets), without im2col (see
 * lib/opencl/cl_conv_wgrad.c): x zero-padded once, dy laid out with output
 * channels as the lanes of a float16, partial sums of dW per slice of
 * output rows, and a second pass that adds the slices up in a fixed order. */

/* Output channels per work-item, the lanes of a float16 (PoCL vectorises
 * explicit vectors only). */
#define KV 16
/* Input channels per work-item. With one row of taps (3) per work-item
 * that is CB * 3 float16 accumulators, which with dy's vector and the
 * broadcast input take 15 of AVX2's 16 registers (a float16 is two).
 * cl_conv_wgrad.c mirrors both. */
#define CB 2

/* x's planes zero-padded into xp (hp x wp per plane, the input at row pad_h
 * and column pad_w), with zero planes for the channels from C up to cp, the
 * channels of whole CB blocks. Grid: (wp, hp, N * cp). */
__kernel void wg_pad(__global const float *x, int x_off, int x_bs, int c_n, int h, int w,
                     __global float *xp, int xp_off, int cp, int hp, int wp, int pad_h,
                     int pad_w)
{
    const int q = get_global_id(0), r = get_global_id(1), z = get_global_id(2);
    const int n = z / cp, c = z % cp;
    const int ih = r - pad_h, iw = q - pad_w;
    const bool in = c < c_n && ih >= 0 && ih < h && iw >= 0 && iw < w;
    xp[xp_off + ((size_t)z * hp + r) * wp + q] =
        in ? x[x_off + n * x_bs + (c * h + ih) * w + iw] : 0.0f;
}

/* dy (N, K, OH, OW) into dyt[n][kb][oh][ow][KV], output channels of block
 * kb as the lanes (zero from K on), so that a work-item streams its block.
 * Grid: (OW, OH, N * KB). */
__kernel void wg_dy(__global const float *dy, int dy_off, int dy_bs, int k_n, int oh_n,
                    int ow_n, __global float *dyt, int dyt_off)
{
    const int ow = get_global_id(0), oh = get_global_id(1), z = get_global_id(2);
    const int kblocks = (k_n + KV - 1) / KV;
    const int n = z / kblocks, kb = z % kblocks, plane = oh_n * ow_n;
    float v[KV];
    for (int j = 0; j < KV; j++) {
        const int k = kb * KV + j;
        v[j] = k < k_n ? dy[dy_off + n * dy_bs + k * plane + oh * ow_n + ow] : 0.0f;
    }
    vstore16(vload16(0, v), 0, dyt + dyt_off + (((size_t)z * oh_n + oh) * ow_n + ow) * KV);
}

/* One slice's partial dW for KV output channels (block kb), CB input
 * channels and the three taps of window row i: over the slice's output
 * rows (rows `rows` of the flattened (image, output row) index, from
 * slice * rows), the sum of dy's vector times each input value the tap
 * reads, broadcast. Writes part[slice][kb][c][i * 3 + j][KV].
 * Grid: (CP / CB * 3, KB, slices). */
__kernel void wg_partial(__global const float *xp, int xp_off, int cp, int hp, int wp,
                         __global const float *dyt, int dyt_off, int oh_n, int ow_n,
                         int stride_h, int stride_w, int nrows, int rows,
                         __global float *part, int part_off)
{
    const int i = get_global_id(0) % 3, c0 = get_global_id(0) / 3 * CB;
    const int kb = get_global_id(1), kblocks = get_global_size(1);
    const int slice = get_global_id(2);
    /* Every loop over acc fully unrolled, so that it lives in registers. */
    float16 acc[CB][3];
#pragma unroll
    for (int cc = 0; cc < CB; cc++)
#pragma unroll
        for (int j = 0; j < 3; j++)
            acc[cc][j] = (float16)0.0f;
    const int r_end = min(nrows, (slice + 1) * rows);
    for (int r = slice * rows; r < r_end; r++) {
        const int n = r / oh_n, oh = r % oh_n;
        __global const float *xr = xp + xp_off + ((size_t)(n * cp + c0) * hp + oh * stride_h + i) * wp;
        __global const float *dr = dyt + dyt_off + (((size_t)n * kblocks + kb) * oh_n + oh) * ow_n * KV;
        for (int ow = 0; ow < ow_n; ow++) {
            const float16 d = vload16(ow, dr);
            __global const float *xq = xr + ow * stride_w;
#pragma unroll
            for (int cc = 0; cc < CB; cc++)
#pragma unroll
                for (int j = 0; j < 3; j++)
                    acc[cc][j] = fma((float16)xq[cc * hp * wp + j], d, acc[cc][j]);
        }
    }
    __global float *dst = part + part_off + (((size_t)slice * kblocks + kb) * cp + c0) * 9 * KV;
#pragma unroll
    for (int cc = 0; cc < CB; cc++)
#pragma unroll
        for (int j = 0; j < 3; j++)
            vstore16(acc[cc][j], 0, dst + (cc * 9 + i * 3 + j) * KV);
}

/* dw[k][c][tap] = the sum of the slices' partials, slice 0 first, so that
 * the result does not depend on which work-item ran when.
 * Grid: (C * 9, K). */
__kernel void wg_reduce(__global const float *part, int part_off, int slices, int cp,
                        __global float *dw, int dw_off, int dw_kstride)
{
    const int t = get_global_id(0), k = get_global_id(1);
    const int kblocks = (get_global_size(1) + KV - 1) / KV;
    const int kb = k / KV, lane = k % KV;
    const size_t step = (size_t)kblocks * cp * 9 * KV;
    __global const float *p = part + part_off + ((size_t)kb * cp * 9 + t) * KV + lane;
    float sum = 0.0f;
    for (int s = 0; s < slices; s++)
        sum += p[s * step];
    dw[dw_off + k * dw_kstride + t] = sum;
}
