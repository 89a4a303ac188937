/* space_to_depth.cl - the layouts of a strided convolution rewritten as a
 * stride-1 one (lib/opencl/cl_conv_s2d.c): with strides (SH, SW), input
 * channel c and phase (u, v) become channel (c * SH + u) * SW + v of X',
 * whose pixel (p, q) is x's (p * SH + u - PH, q * SW + v - PW), and tap (i,
 * j) of the window becomes tap (i / SH, j / SW) of that channel. The
 * window of A_h x A_w = ceil(KH / SH) x ceil(KW / SW) taps is zero where
 * i or j reach past KH or KW.
 *
 * Every kernel takes one work-item per element of what it writes; the
 * shapes below are cl_int fields only, laid out like `s2d_shape` in
 * cl_conv_s2d.c. */
typedef struct s2d_shape {
    int c, h, w;        /* x's channels and plane */
    int sh, sw, ph, pw; /* strides, begin padding */
    int hs, ws;         /* X''s plane: the output plane plus A_h - 1, A_w - 1 */
    int kh, kw, ah, aw; /* the window and the rewritten one */
} s2d_shape;

/* dx[n][c][ih][iw] = dX' (at element 0) at the pixel that x's (ih, iw)
 * became, zero where it fell past X' (rows and columns no window reads), a
 * row of dx per work-item. Grid: dim 0 = c * h + ih, dim 1
 * = n. */
__kernel void s2d_input_grad(__global const float *dxs, __global float *dx, int dx_off,
                             int dx_bs, s2d_shape s)
{
    const int ch = get_global_id(0), n = get_global_id(1);
    const int c = ch / s.h, ih = ch % s.h, th = ih + s.ph;
    const int p = th / s.sh, u = th % s.sh;
    __global float *out = dx + dx_off + n * dx_bs + ch * s.w;
    if (p >= s.hs) {
        for (int iw = 0; iw < s.w; iw++)
            out[iw] = 0.0f;
        return;
    }
    /* X' row p of the planes (c, u, v) for v = 0 .. sw - 1, sw planes apart */
    __global const float *row =
        dxs + ((n * s.c * s.sh * s.sw + (c * s.sh + u) * s.sw) * s.hs + p) * s.ws;
    const int plane = s.hs * s.ws;
    /* the padded column iw + pw is column q of plane v: counted, not divided */
    int q = s.pw / s.sw, v = s.pw % s.sw;
    for (int iw = 0; iw < s.w; iw++) {
        out[iw] = q < s.ws ? row[v * plane + q] : 0.0f;
        if (++v == s.sw) {
            v = 0;
            q++;
        }
    }
}

/* W'[k][c'][a][b] = w[k][c][a * SH + u][b * SW + v], zero past the window.
 * Grid: dim 0 = b, dim 1 = a, dim 2 = k * C' + c'. */
__kernel void s2d_weights(__global const float *w, int w_off, int w_bs, __global float *ws,
                          int ws_off, s2d_shape s)
{
    const int b = get_global_id(0), a = get_global_id(1), kc = get_global_id(2);
    const int cin = s.c * s.sh * s.sw, k = kc / cin, cs = kc % cin;
    const int c = cs / (s.sh * s.sw), u = cs / s.sw % s.sh, v = cs % s.sw;
    const int i = a * s.sh + u, j = b * s.sw + v;
    ws[ws_off + (kc * s.ah + a) * s.aw + b] =
        i < s.kh && j < s.kw ? w[w_off + k * w_bs + (c * s.kh + i) * s.kw + j] : 0.0f;
}

/* dw[k][c][i][j] = dW' at the tap that (i, j) became. Grid: dim 0 = j,
 * dim 1 = i, dim 2 = k * C + c. */
__kernel void s2d_weights_grad(__global const float *dws, int dws_off, __global float *dw,
                               int dw_off, int dw_bs, s2d_shape s)
{
    const int j = get_global_id(0), i = get_global_id(1), kc = get_global_id(2);
    const int k = kc / s.c, c = kc % s.c;
    const int cs = (c * s.sh + i % s.sh) * s.sw + j % s.sw;
    dw[dw_off + k * dw_bs + (c * s.kh + i) * s.kw + j] =
        dws[dws_off + ((k * s.c * s.sh * s.sw + cs) * s.ah + i / s.sh) * s.aw + j / s.sw];
}
