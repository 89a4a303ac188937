/* gemm.cl - the bias of LINEAR, added after CLBlast has written y = x * w^T. */

/* One work-item per element of y (N, M); rows of y are y_bs apart, since y
 * may be a view along axis 0. */
__kernel void linear_bias(__global float *y, int y_off, int y_bs,
                          __global const float *b, int b_off, int m)
{
    const int i = get_global_id(0);
    const int row = i / m, col = i % m;
    y[y_off + row * y_bs + col] += b[b_off + col];
}
