/* gemm.cl - the bias of LINEAR, added after the GEMM has written y = x *
 * w^T, RBF, LINEAR's squared-distance twin, with its gradients, and the
 * transposes that put
 * GEMM operands in the layout of clnet's tiled kernel. */

/* One work-item per element of y (N, M); rows of y are y_bs apart, since y
 * may be a view along axis 0. */
__kernel void linear_bias(__global float *y, int y_off, int y_bs,
                          __global const float *b, int b_off, int m)
{
    const int i = get_global_id(0);
    const int row = i / m, col = i % m;
    y[y_off + row * y_bs + col] += b[b_off + col];
}

/* RBF: y[n, m] = sum over f of (x[n, f] - w[m, f])^2, one work-item per
 * element of y, grid (M, N). Images of x are dense rows of `features`
 * elements, x_bs apart; w (M, F) is dense. The layer this serves (LeNet-5's
 * output: 10 units of 84) is far too small to be worth tiling. */
__kernel void rbf(__global const float *x, int x_off, int x_bs,
                  __global const float *w, int w_off, int w_bs,
                  __global float *y, int y_off, int y_bs, int features)
{
    const int m = get_global_id(0), n = get_global_id(1);
    __global const float *xn = x + x_off + n * x_bs;
    __global const float *wm = w + w_off + m * w_bs;
    float acc = 0.0f;
    for (int f = 0; f < features; f++) {
        float d = xn[f] - wm[f];
        acc += d * d;
    }
    y[y_off + n * y_bs + m] = acc;
}

/* RBF_BACKWARD's dx[n, f] = 2 sum over m of dy[n, m] (x[n, f] - w[m, f]),
 * one work-item per element of dx, grid (F, N); dx's images are dense rows
 * like x's, dy (N, M) rows dy_bs apart. */
__kernel void rbf_backward_data(__global const float *x, int x_off, int x_bs,
                                __global const float *dy, int dy_off, int dy_bs,
                                __global const float *w, int w_off, int w_bs,
                                __global float *dx, int dx_off, int dx_bs, int centres)
{
    const int f = get_global_id(0), n = get_global_id(1);
    const float xf = x[x_off + n * x_bs + f];
    __global const float *dyn = dy + dy_off + n * dy_bs;
    float acc = 0.0f;
    for (int m = 0; m < centres; m++)
        acc += dyn[m] * (xf - w[w_off + m * w_bs + f]);
    dx[dx_off + n * dx_bs + f] = 2.0f * acc;
}

/* RBF_BACKWARD's dw[m, f] = 2 sum over n of dy[n, m] (w[m, f] - x[n, f]),
 * one work-item per element of dw, grid (F, M). */
__kernel void rbf_backward_weights(__global const float *x, int x_off, int x_bs,
                                   __global const float *dy, int dy_off, int dy_bs,
                                   __global const float *w, int w_off, int w_bs,
                                   __global float *dw, int dw_off, int dw_bs, int batch)
{
    const int f = get_global_id(0), m = get_global_id(1);
    const float wf = w[w_off + m * w_bs + f];
    float acc = 0.0f;
    for (int n = 0; n < batch; n++)
        acc += dy[dy_off + n * dy_bs + m] * (wf - x[x_off + n * x_bs + f]);
    dw[dw_off + m * dw_bs + f] = 2.0f * acc;
}

/* The 16 x 16 block of dst at (rows j0.., columns i0..): dst[j][i] =
 * src[i][j] where i < src_rows and j < src_cols, zero beyond, turned in
 * private memory, rows read and written as whole vectors where the block is
 * whole. */
static inline void turn_block(__global const float *src, int lds, int src_rows, int src_cols,
                              __global float *dst, int ldd, int dst_rows, int dst_cols, int i0,
                              int j0)
{
    float blk[16][16];
    for (int i = 0; i < 16; i++) {
        __global const float *row = src + (i0 + i) * lds + j0;
        if (i0 + i < src_rows && j0 + 16 <= src_cols) {
            vstore16(vload16(0, row), 0, blk[i]);
        } else {
            for (int j = 0; j < 16; j++)
                blk[i][j] = i0 + i < src_rows && j0 + j < src_cols ? row[j] : 0.0f;
        }
    }
    const int icount = min(16, dst_cols - i0), jcount = min(16, dst_rows - j0);
    for (int j = 0; j < jcount; j++) {
        float t[16];
        for (int i = 0; i < 16; i++)
            t[i] = blk[i][j];
        __global float *out = dst + (j0 + j) * ldd + i0;
        if (icount == 16) {
            vstore16(vload16(0, t), 0, out);
        } else {
            for (int i = 0; i < icount; i++)
                out[i] = t[i];
        }
    }
}

/* dst (dst_rows x dst_cols) = src transposed, zero beyond src: the
 * transposes (with zero padding to whole GEMM tiles) around clnet's tiled
 * GEMM (lib/opencl/cl_matmul.c). A work-item turns span x span blocks of
 * 16 x 16, row of blocks by row: on a CPU a span of 8 touches 8x fewer
 * pages per element read than one block (a 4096 x 4096 transpose on AVX2:
 * 23 -> 12 ms). Grid: dim 0 = spans of columns of dst, dim 1 = of rows. */
__kernel void transpose16(__global const float *src, int src_off, int lds, int src_rows,
                          int src_cols, __global float *dst, int dst_off, int ldd, int dst_rows,
                          int dst_cols, int span)
{
    const int i00 = get_global_id(0) * 16 * span, j00 = get_global_id(1) * 16 * span;
    const int i_end = min(dst_cols, i00 + 16 * span), j_end = min(dst_rows, j00 + 16 * span);
    for (int j0 = j00; j0 < j_end; j0 += 16)
        for (int i0 = i00; i0 < i_end; i0 += 16)
            turn_block(src + src_off, lds, src_rows, src_cols, dst + dst_off, ldd, dst_rows,
                       dst_cols, i0, j0);
}
