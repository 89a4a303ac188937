/* conv3x3.cl - direct 3x3 stride-1 convolution for few channels (the CIFAR
 * nets: 16-64 channels on 32x32..8x8 planes), lanes along output channels
 * (see lib/opencl/cl_conv3x3.c): the input zero-padded once, the weights
 * laid out as one float16 of output channels per (input channel, tap). */

/* Output channels per work-item, the lanes of a float16: one vector FMA
 * per input value and tap, where PoCL vectorises explicit vectors only. */
#define KV 16
/* Output rows x columns a work-item computes: TR * TW float16
 * accumulators, which with the weight vector stay in AVX-512's 32
 * registers (on PoCL 2 x 8 beat 4 x 4, 3 x 8, 1 x 16 and 4 x 8 over the
 * three ResNet-20 layers; only with the loops below fully unrolled do the
 * accumulators live in registers). cl_conv3x3.c mirrors both. */
#define TR 2
#define TW 8

CLNET_DEFINE_ACTIVATE(activate, float)

/* x's planes zero-padded into xp (hp x wp per plane, the input at row
 * pad_h and column pad_w, zeros around and in the slack that makes every
 * block's reads fall inside the plane). Grid: (wp, hp, images * C). */
__kernel void c3_pad(__global const float *x, int x_off, int x_bs, int c_n, int h, int w,
                     __global float *xp, int xp_off, int hp, int wp, int pad_h, int pad_w)
{
    const int q = get_global_id(0), r = get_global_id(1), z = get_global_id(2);
    const int n = z / c_n, c = z % c_n;
    const int ih = r - pad_h, iw = q - pad_w;
    const bool in = ih >= 0 && ih < h && iw >= 0 && iw < w;
    xp[xp_off + ((size_t)z * hp + r) * wp + q] = in ? x[x_off + n * x_bs + (c * h + ih) * w + iw] : 0.0f;
}

/* w (K, C, 3, 3) into wt[kb][c][tap][KV], output channels of block kb as
 * the lanes (zero past K), then the bias (zero without one) as KV lanes
 * per block at wt[KB * C * 9 * KV]. Grid: (C * 9 + 1, KB). */
__kernel void c3_weights(__global const float *w, int w_off, int w_kstride, int c_n, int k_n,
                         __global const float *b, int b_off, int has_bias,
                         __global float *wt)
{
    const int i = get_global_id(0), kb = get_global_id(1), kblocks = get_global_size(1);
    float v[KV];
    for (int j = 0; j < KV; j++) {
        const int k = kb * KV + j;
        if (k >= k_n)
            v[j] = 0.0f;
        else if (i < c_n * 9)
            v[j] = w[w_off + k * w_kstride + i];
        else
            v[j] = has_bias ? b[b_off + k] : 0.0f;
    }
    __global float *dst = i < c_n * 9 ? wt + ((size_t)kb * c_n * 9 + i) * KV
                                      : wt + ((size_t)kblocks * c_n * 9 + kb) * KV;
    vstore16(vload16(0, v), 0, dst);
}

/* y[n, k, oh, ow] for KV output channels, TR rows and TW columns from the
 * padded planes: per input channel, (TR + 2) x (TW + 2) input values, each
 * broadcast against the weight vectors of the taps that read it. Stores
 * go lane by lane (NCHW puts the channels a plane apart), only inside the
 * output and below K. Grid: (ceil(OW / TW), ceil(OH / TR), N * KB). */
__kernel void c3_conv(__global const float *xp, int xp_off, int hp, int wp, int c_n,
                      __global const float *wt, __global float *y, int y_off, int y_bs,
                      int k_n, int oh_n, int ow_n, int act_fn, float act_alpha)
{
    const int ow0 = get_global_id(0) * TW, oh0 = get_global_id(1) * TR;
    const int kblocks = (k_n + KV - 1) / KV;
    const int kb = get_global_id(2) % kblocks, n = get_global_id(2) / kblocks;
    const float16 bias = vload16(0, wt + ((size_t)kblocks * c_n * 9 + kb) * KV);
    float16 acc[TR][TW];
    for (int r = 0; r < TR; r++)
        for (int q = 0; q < TW; q++)
            acc[r][q] = bias;
    __global const float *xc = xp + xp_off + ((size_t)n * c_n * hp + oh0) * wp + ow0;
    __global const float *wc = wt + (size_t)kb * c_n * 9 * KV;
    for (int c = 0; c < c_n; c++, xc += hp * wp, wc += 9 * KV) {
#pragma unroll
        for (int i = 0; i < 3; i++)
#pragma unroll
            for (int j = 0; j < 3; j++) {
                const float16 wv = vload16(0, wc + (i * 3 + j) * KV);
#pragma unroll
                for (int r = 0; r < TR; r++)
#pragma unroll
                    for (int q = 0; q < TW; q++)
                        acc[r][q] = fma((float16)xc[(r + i) * wp + q + j], wv, acc[r][q]);
            }
    }
    const int plane = oh_n * ow_n, kcount = min(KV, k_n - kb * KV);
    __global float *yb = y + y_off + n * y_bs + kb * KV * plane;
    for (int r = 0; r < TR; r++)
        for (int q = 0; q < TW; q++) {
            const int oh = oh0 + r, ow = ow0 + q;
            if (oh >= oh_n || ow >= ow_n)
                continue;
            float a[KV];
            vstore16(acc[r][q], 0, a);
            for (int j = 0; j < kcount; j++)
                yb[j * plane + oh * ow_n + ow] = activate(a[j], act_fn, act_alpha);
        }
}
