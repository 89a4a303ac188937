/* gemm.cl - the bias of LINEAR, added after CLBlast has written y = x * w^T,
 * and RBF, LINEAR's squared-distance twin. */

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
