/* space_to_depth.cl - the layouts of a strided convolution rewritten as a
 * stride-1 one (lib/opencl/cl_conv_s2d.c): with strides (SH, SW), input
 * channel c and phase (u, v) become a channel of X' (s2d_channel), whose
 * pixel (p, q) is x's (p * SH + u - PH, q * SW + v - PW), and tap (i, j) of
 * the window becomes tap (i / SH, j / SW) of that channel. The window of
 * A_h x A_w = ceil(KH / SH) x ceil(KW / SW) taps is zero where i or j reach
 * past KH or KW: in its last row for the phases u >= RU = KH - (A_h - 1) *
 * SH, in its last column for v >= RV.
 *
 * Every kernel takes one work-item per element or row of what it writes;
 * the shapes below are cl_int fields only, laid out like `s2d_shape` in
 * cl_conv_s2d.c. */
typedef struct s2d_shape {
    int c, h, w;        /* x's channels and plane */
    int sh, sw, ph, pw; /* strides, begin padding */
    int hs, ws;         /* X''s plane: the output plane plus A_h - 1, A_w - 1 */
    int kh, kw, ah, aw; /* the window and the rewritten one */
    int ru, rv;         /* the phases whose last tap row, column is inside it */
} s2d_shape;

/* X''s channel of x's channel c at phase (u, v): four groups, the phases
 * whose every tap is inside the window (u < RU, v < RV) first, then those
 * whose last tap column is not (v >= RV), then last row (u >= RU), then
 * both, each group ordered by c, u, v. The stride-1 forward's direct 3x3
 * kernel skips the taps outside (cl_conv_s2d.c): AlexNet's 11 x 11 window
 * at stride 4 is 3 x 3 taps of 16 phases, 69 of 432 products a pixel zero. */
static inline int s2d_channel(s2d_shape s, int c, int u, int v)
{
    const bool short_u = u >= s.ru, short_v = v >= s.rv;
    const int nu = short_u ? s.sh - s.ru : s.ru, nv = short_v ? s.sw - s.rv : s.rv;
    const int group = short_u ? s.c * s.ru * s.sw + (short_v ? s.c * (s.sh - s.ru) * s.rv : 0)
                              : (short_v ? s.c * s.ru * s.rv : 0);
    return group + (c * nu + (short_u ? u - s.ru : u)) * nv + (short_v ? v - s.rv : v);
}

/* The channel of phase v among (c, u)'s, from the first of its group
 * below RV (lo) and at or past it (hi): within a group v runs fastest. */
static inline int s2d_phase_channel(s2d_shape s, int lo, int hi, int v)
{
    return v < s.rv ? lo + v : hi + v - s.rv;
}

/* Lanes `phase`, phase + SW, ... of the 16 * SW floats in a0 .. a3 (SW = 2
 * uses a0 and a1): one phase of a row read at stride 2 or 4, dealt by
 * shuffles. */
static inline float16 s2d_deal(int sw, int phase, float16 a0, float16 a1, float16 a2, float16 a3)
{
    if (sw == 2)
        return phase ? (float16)(a0.odd, a1.odd) : (float16)(a0.even, a1.even);
    switch (phase) {
    case 0:
        return (float16)(a0.s048c, a1.s048c, a2.s048c, a3.s048c);
    case 1:
        return (float16)(a0.s159d, a1.s159d, a2.s159d, a3.s159d);
    case 2:
        return (float16)(a0.s26ae, a1.s26ae, a2.s26ae, a3.s26ae);
    default:
        return (float16)(a0.s37bf, a1.s37bf, a2.s37bf, a3.s37bf);
    }
}

/* The first `count` floats of v at dst. With `stream` (rows of whole
 * vectors) a whole vector on a 64-byte line goes past the caches where the
 * compiler offers that: X' is read by a later launch, and writing it
 * through them read every line of it from memory first (AlexNet's stem
 * at batch 32: 1.63 -> 1.17-1.21 ms). */
static inline void s2d_store(__global float *dst, int count, float16 v, bool stream)
{
#ifdef __has_builtin
#if __has_builtin(__builtin_nontemporal_store)
    if (stream && count == 16 && ((uintptr_t)dst & 63) == 0) {
        __builtin_nontemporal_store(v, (__global float16 *)dst);
        return;
    }
#endif
#endif
    clnet_store_part16(dst, count, v);
}

/* X'[n][s2d_channel(c, u, v)][p][q] for v = 0 .. SW - 1 (SW rows of X')
 * from x's row p * SH + u - PH, zero in the padding and past x's edges,
 * planes of `rows` rows `pitch` apart (at least HS and WS: the rows and
 * columns past those follow the same rule, for direct_3x3's slack): a
 * work-item reads its row once, 16 columns of every phase at a time. At
 * strides of 2 and 4 whole-vector loads and shuffles deal the phases (they
 * may run over the row's ends into its neighbours, never outside elements
 * [x_begin, x_end) of the buffer; those lanes become zeros), other strides
 * and the buffer's very ends go lane by lane; with a pitch of whole
 * vectors the rows are written past the caches (s2d_store). AlexNet's
 * stem at batch 32, kernel medians: 2.9-3.0 ms as im2col's column matrix
 * (which reads the row once per phase) -> 1.3-1.4; ResNet's 7 x 7 stride-2 stem's forward
 * op 35.9-36.6 -> 33.5-34.1 (`cb`, pinned). Grid: dim 0 = p (rows), dim 1
 * = c * SH + u, dim 2 = n. */
__kernel void s2d_input(__global const float *x, int x_off, int x_bs, int x_begin, int x_end,
                        __global float *xs, int xs_off, int rows, int pitch, s2d_shape s)
{
    const int p = get_global_id(0), cu = get_global_id(1), n = get_global_id(2);
    const int c = cu / s.sh, u = cu % s.sh, ih = p * s.sh + u - s.ph;
    const int lo = s2d_channel(s, c, u, 0), hi = s2d_channel(s, c, u, s.rv);
    __global float *image = xs + xs_off + (size_t)n * s.c * s.sh * s.sw * rows * pitch;
    const bool row_inside = ih >= 0 && ih < s.h;
    const int row = x_off + n * x_bs + (c * s.h + ih) * s.w;
    const int16 lane = (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (int q0 = 0; q0 < pitch; q0 += 16) {
        const int count = min(16, pitch - q0), iw0 = q0 * s.sw - s.pw;
        const bool whole = row_inside && (s.sw == 2 || s.sw == 4) && row + iw0 >= x_begin &&
                           row + iw0 + 16 * s.sw <= x_end;
        /* four named vectors, not an array: PoCL kept an array in memory */
        float16 a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
        if (whole) {
            a0 = vload16(0, x + row + iw0);
            a1 = vload16(1, x + row + iw0);
            if (s.sw == 4) {
                a2 = vload16(2, x + row + iw0);
                a3 = vload16(3, x + row + iw0);
            }
        }
        for (int v = 0; v < s.sw; v++) {
            const int16 iw = iw0 + v + lane * s.sw;
            const int16 inside = iw >= 0 && iw < s.w && lane < count;
            float16 val = 0.0f;
            if (whole) {
                val = select((float16)0.0f, s2d_deal(s.sw, v, a0, a1, a2, a3), inside);
            } else if (row_inside) {
                float t[16];
                for (int l = 0; l < 16; l++) {
                    const int i = iw0 + v + l * s.sw;
                    t[l] = l < count && i >= 0 && i < s.w ? x[row + i] : 0.0f;
                }
                val = vload16(0, t);
            }
            const int channel = s2d_phase_channel(s, lo, hi, v);
            s2d_store(image + ((size_t)channel * rows + p) * pitch + q0, count, val,
                      pitch % 16 == 0);
        }
    }
}

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
    /* X' row p of the planes (c, u, v) for v = 0 .. sw - 1 */
    __global const float *image = dxs + (size_t)n * s.c * s.sh * s.sw * s.hs * s.ws + p * s.ws;
    const int lo = s2d_channel(s, c, u, 0), hi = s2d_channel(s, c, u, s.rv);
    const int plane = s.hs * s.ws;
    /* the padded column iw + pw is column q of plane v: counted, not divided */
    int q = s.pw / s.sw, v = s.pw % s.sw;
    for (int iw = 0; iw < s.w; iw++) {
        out[iw] = q < s.ws ? image[s2d_phase_channel(s, lo, hi, v) * plane + q] : 0.0f;
        if (++v == s.sw) {
            v = 0;
            q++;
        }
    }
}

/* W'[k][s2d_channel(c, u, v)][a][b] = w[k][c][a * SH + u][b * SW + v],
 * zero past the window. Grid: dim 0 = b, dim 1 = a, dim 2 = (k * C + c) *
 * SH * SW + u * SW + v. */
__kernel void s2d_weights(__global const float *w, int w_off, int w_bs, __global float *ws,
                          int ws_off, s2d_shape s)
{
    const int b = get_global_id(0), a = get_global_id(1), kc = get_global_id(2);
    const int cin = s.c * s.sh * s.sw, k = kc / cin, cuv = kc % cin;
    const int c = cuv / (s.sh * s.sw), u = cuv / s.sw % s.sh, v = cuv % s.sw;
    const int i = a * s.sh + u, j = b * s.sw + v;
    ws[ws_off + ((k * cin + s2d_channel(s, c, u, v)) * s.ah + a) * s.aw + b] =
        i < s.kh && j < s.kw ? w[w_off + k * w_bs + (c * s.kh + i) * s.kw + j] : 0.0f;
}

/* dw[k][c][i][j] = dW' at the tap that (i, j) became. Grid: dim 0 = j,
 * dim 1 = i, dim 2 = k * C + c. */
__kernel void s2d_weights_grad(__global const float *dws, int dws_off, __global float *dw,
                               int dw_off, int dw_bs, s2d_shape s)
{
    const int j = get_global_id(0), i = get_global_id(1), kc = get_global_id(2);
    const int k = kc / s.c, c = kc % s.c;
    const int cs = s2d_channel(s, c, i % s.sh, j % s.sw);
    dw[dw_off + k * dw_bs + (c * s.kh + i) * s.kw + j] =
        dws[dws_off + ((k * s.c * s.sh * s.sw + cs) * s.ah + i / s.sh) * s.aw + j / s.sw];
}
