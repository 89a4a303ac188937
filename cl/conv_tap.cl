/* conv_tap.cl - the kernels around the GEMM of a convolution from a 1x1
 * plane to a 1x1 plane that only one tap of its window can read (see
 * lib/opencl/cl_conv_tap.c): that tap's weights as a matrix, the bias
 * broadcast, and the weight gradient of that tap. */

#define TAP_VW 16

/* The tap's weights as a matrix: m[i * ld + j] = w[w_off + i * si + j * sj]
 * (w_off at the tap), TAP_VW consecutive j per work-item, stored as one
 * vector; the strides pick the matrix or its transpose. Grid:
 * (ceil(cols / TAP_VW), rows). */
__kernel void tap_weights(__global const float *w, int w_off, int si, int sj, int cols,
                          __global float *m, int ld)
{
    const int j0 = get_global_id(0) * TAP_VW, i = get_global_id(1);
    const int count = min(TAP_VW, cols - j0);
    __global const float *src = w + w_off + i * si + j0 * sj;
    float v[TAP_VW];
    for (int j = 0; j < TAP_VW; j++)
        v[j] = j < count ? src[j * sj] : 0.0f;
    if (count == TAP_VW) {
        vstore16(vload16(0, v), 0, m + i * ld + j0);
        return;
    }
    for (int j = 0; j < count; j++)
        m[i * ld + j0 + j] = v[j];
}

/* y[n, k] = b[k] for every image n, which the GEMM then adds to. Grid:
 * (channels, images). */
__kernel void tap_bias(__global const float *b, int b_off, __global float *y, int y_off,
                       int y_bs)
{
    const int k = get_global_id(0), n = get_global_id(1);
    y[y_off + n * y_bs + k] = b[b_off + k];
}

/* x (N, C) and dy (N, K): dw[k, c, tap] = sum over n of dy[n, k] * x[n, c],
 * and zero at every other tap, which reads only padding. A work-item takes
 * TAP_VW input channels of one output channel, as the lanes of a float16
 * (consecutive in x). Grid: (ceil(C / TAP_VW), K). */
/* The largest window whose weights a work-item lays out in private memory
 * before storing them (3x3: 144 floats). */
#define TAP_MAX_TAPS 9

__kernel void tap_weights_grad(__global const float *x, int x_off, int x_bs,
                               __global const float *dy, int dy_off, int dy_bs,
                               __global float *dw, int dw_off, int dw_bs,
                               int n_images, int c_n, int taps, int tap)
{
    const int c0 = get_global_id(0) * TAP_VW, k = get_global_id(1);
    const int count = min(TAP_VW, c_n - c0);
    float16 acc = 0.0f;
    for (int n = 0; n < n_images; n++) {
        __global const float *xr = x + x_off + n * x_bs + c0;
        float16 xv;
        if (count == TAP_VW) {
            xv = vload16(0, xr);
        } else {
            float v[TAP_VW];
            for (int j = 0; j < TAP_VW; j++)
                v[j] = j < count ? xr[j] : 0.0f;
            xv = vload16(0, v);
        }
        acc += dy[dy_off + n * dy_bs + k] * xv;
    }
    float a[TAP_VW];
    vstore16(acc, 0, a);
    __global float *row = dw + dw_off + k * dw_bs + c0 * taps;
    if (count == TAP_VW && taps <= TAP_MAX_TAPS) {
        /* the block's weights are one run of 16 * taps: laid out here and
         * stored as vectors, where scalar stores of the zeros cost more
         * than the sums (ResNet-18's 512 channels on 1x1 at batch 32,
         * minima of 21 calls on a loaded host: 1.19-1.56 -> 0.84-1.19 ms) */
        float run[TAP_VW * TAP_MAX_TAPS];
        for (int e = 0; e < TAP_VW * taps; e++)
            run[e] = 0.0f;
        for (int j = 0; j < TAP_VW; j++)
            run[j * taps + tap] = a[j];
        for (int v = 0; v < taps; v++)
            vstore16(vload16(v, run), v, row);
        return;
    }
    for (int j = 0; j < count; j++)
        for (int t = 0; t < taps; t++)
            row[j * taps + t] = t == tap ? a[j] : 0.0f;
}
