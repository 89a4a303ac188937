/* conv_tap.cl - the kernels around the GEMMs of a convolution onto a 1x1
 * plane whose window reads every input pixel through a tap of its own (see
 * lib/opencl/cl_conv_tap.c): the weights of the taps that read the input as
 * a matrix, the bias broadcast, and the weight gradient spread from that
 * matrix's gradient, zero at the taps that read only padding.
 *
 * Input pixel p = ih * in_w + iw is read by tap (i0 + ih) * kw + j0 + iw,
 * tap00 = i0 * kw + j0 being the tap of pixel 0 (the host checks that
 * every pixel has one). */

/* The weights of the taps that read the input as a matrix (K x C * plane):
 * m[(k * C + c) * plane + p] = w[w_off + k * w_bs + c * taps + tap(p)]
 * (w_off at tap00). Grid: (C, K). */
__kernel void tap_weights(__global const float *w, int w_off, int w_bs, int taps,
                          __global float *m, int channels, int in_h, int in_w, int kw)
{
    const int c = get_global_id(0), k = get_global_id(1);
    __global const float *src = w + w_off + k * w_bs + c * taps;
    __global float *dst = m + (k * channels + c) * in_h * in_w;
    for (int ih = 0; ih < in_h; ih++)
        for (int iw = 0; iw < in_w; iw++)
            dst[ih * in_w + iw] = src[ih * kw + iw];
}

/* y[n, i] = b[i / plane] for every image n (plane: the output's pixels),
 * which the GEMM then adds to. Grid: (channels * plane, images). */
__kernel void tap_bias(__global const float *b, int b_off, __global float *y, int y_off,
                       int y_bs, int plane)
{
    const int i = get_global_id(0), n = get_global_id(1);
    y[y_off + n * y_bs + i] = b[b_off + i / plane];
}

/* Input channels a work-item of tap_weights_grad takes. */
#define TAP_BLOCK 16

/* The weight gradient from g (K x C * plane) = dy^T x, the gradient of
 * the matrix of tap_weights: dw[k, c, tap(p)] = g[(k * C + c) * plane + p],
 * zero at the taps that read only padding. A work-item takes TAP_BLOCK
 * input channels of one output channel, whose windows are one run of dw:
 * zeroed as vectors, then the taps that read written over (a work-item
 * per channel storing every tap, zeros included, took 3-4x the time:
 * ResNet-18's 512 channels on 1x1 at batch 32, kernel minimum and median
 * 0.75 and 0.81 against 0.18 and 0.21 ms). Grid: (ceil(C / TAP_BLOCK), K). */
__kernel void tap_weights_grad(__global const float *g, __global float *dw, int dw_off,
                               int dw_bs, int channels, int kh, int kw, int tap00, int in_h,
                               int in_w)
{
    const int c0 = get_global_id(0) * TAP_BLOCK, k = get_global_id(1);
    const int block = min(TAP_BLOCK, channels - c0), taps = kh * kw, plane = in_h * in_w;
    const int len = block * taps;
    __global float *dst = dw + dw_off + k * dw_bs + c0 * taps;
    int e = 0;
    for (; e + 16 <= len; e += 16)
        vstore16((float16)0.0f, 0, dst + e);
    for (; e < len; e++)
        dst[e] = 0.0f;
    __global const float *src = g + (k * channels + c0) * plane;
    for (int c = 0; c < block; c++)
        for (int ih = 0; ih < in_h; ih++)
            for (int iw = 0; iw < in_w; iw++)
                dst[c * taps + tap00 + ih * kw + iw] = src[c * plane + ih * in_w + iw];
}
