/* conv.cl - direct convolution and transposed convolution (computed as a
 * gather, no atomics), 2-D and 1-D (height 1), any groups, fused bias. */

/* A work-item computes PIX output pixels of one row as the lanes of a float8,
 * for up to KB_MAX output channels of one group: PoCL vectorises explicit
 * vectors but not scalar per-item code, and the block reuses each input load
 * for every channel. cl_conv.c mirrors PIX and KB_MAX. */
#define PIX 8
#define KB_MAX 8

/* Input values at i0, i0 + step, ... of one row, zero outside [0, size):
 * that is how padding reads. */
static inline float8 load_row8(__global const float *row, int i0, int step, int size)
{
    if (step == 1 && i0 >= 0 && i0 + PIX <= size)
        return vload8(0, row + i0);
    float v[PIX];
    for (int j = 0; j < PIX; j++) {
        int i = i0 + j * step;
        v[j] = i >= 0 && i < size ? row[i] : 0.0f;
    }
    return vload8(0, v);
}

/* Stores the lanes whose positions o0, o0 + step, ... fall inside the row. */
static inline void store_row8(__global float *row, int o0, int step, int size, float8 val)
{
    if (step == 1 && o0 + PIX <= size) {
        vstore8(val, 0, row + o0);
        return;
    }
    float v[PIX];
    vstore8(val, 0, v);
    for (int j = 0; j < PIX; j++) {
        int o = o0 + j * step;
        if (o < size)
            row[o] = v[j];
    }
}

/* The input position that kernel tap t connects to output position o. A
 * convolution reads i = o*stride - pad + t*dil. A transposed convolution is
 * the same relation read backwards, so o receives from i only when
 * o + pad - t*dil is a multiple of the stride; returns false otherwise. */
static inline bool tap_source(int transposed, int o, int t, int stride, int pad, int dil, int *i)
{
    if (!transposed) {
        *i = o * stride - pad + t * dil;
        return true;
    }
    int d = o + pad - t * dil;
    *i = d / stride;
    return d % stride == 0;
}

/* Weights are addressed as w[g*w_gstride + k*w_kstride + c*w_cstride + tap]
 * (k, c within the group), which covers both layouts: (K, C/g, KH, KW) for
 * convolution and (C, K/g, KH, KW) for the transposed one.
 *
 * Grid: dim 0 = blocks of PIX output columns, dim 1 = output rows, dim 2 =
 * (image, group, block of kb output channels). For a transposed convolution
 * the PIX columns of a block are `stride` apart, so they share one stride
 * phase: each tap then either feeds all of them from PIX consecutive input
 * columns or none. */
#define CONV_PARAMS \
    __global const float *x, int x_off, int x_bs, \
    __global const float *w, int w_off, int w_gstride, int w_kstride, int w_cstride, \
    __global const float *b, int b_off, int has_bias, \
    __global float *y, int y_off, int y_bs, \
    int groups, int cpg, int kpg, int h, int wd, int oh_n, int ow_n, int kh_n, int kw_n, \
    int stride_h, int stride_w, int pad_h, int pad_w, int dil_h, int dil_w, int transposed
#define CONV_ARGS \
    x, x_off, x_bs, w, w_off, w_gstride, w_kstride, w_cstride, b, b_off, has_bias, \
    y, y_off, y_bs, groups, cpg, kpg, h, wd, oh_n, ow_n, kh_n, kw_n, \
    stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, transposed

static inline void conv_block(const int kb, CONV_PARAMS)
{
    const int ostep = transposed ? stride_w : 1;
    const int istep = transposed ? 1 : stride_w;
    const int col = get_global_id(0);
    const int ow0 = col % ostep + col / ostep * PIX * ostep;
    const int oh = get_global_id(1);
    const int kblocks = (kpg + kb - 1) / kb;
    int z = get_global_id(2);
    const int k0 = z % kblocks * kb;
    z /= kblocks;
    const int g = z % groups;
    const int n = z / groups;
    /* The last block of a group may be partial: its spare slots recompute
     * the last valid channel, which keeps every load in bounds without
     * branching in the inner loop; they are not stored. */
    const int kcount = min(kb, kpg - k0);

    __global const float *xg = x + x_off + n * x_bs + g * cpg * h * wd;
    __global const float *wg = w + w_off + g * w_gstride + k0 * w_kstride;

    float8 acc[KB_MAX];
    for (int kk = 0; kk < kb; kk++)
        acc[kk] = has_bias ? (float8)(b[b_off + g * kpg + k0 + min(kk, kcount - 1)]) : 0.0f;

    for (int kh = 0; kh < kh_n; kh++) {
        int ih;
        if (!tap_source(transposed, oh, kh, stride_h, pad_h, dil_h, &ih) || ih < 0 || ih >= h)
            continue;
        for (int kw = 0; kw < kw_n; kw++) {
            int iw0;
            if (!tap_source(transposed, ow0, kw, stride_w, pad_w, dil_w, &iw0))
                continue;
            __global const float *xr = xg + ih * wd;
            __global const float *wt = wg + kh * kw_n + kw;
            for (int c = 0; c < cpg; c++) {
                float8 xv = load_row8(xr + c * h * wd, iw0, istep, wd);
                for (int kk = 0; kk < kb; kk++)
                    acc[kk] += xv * wt[min(kk, kcount - 1) * w_kstride + c * w_cstride];
            }
        }
    }

    __global float *yr = y + y_off + n * y_bs + ((g * kpg + k0) * oh_n + oh) * ow_n;
    for (int kk = 0; kk < kb; kk++)
        if (kk < kcount)
            store_row8(yr + kk * oh_n * ow_n, ow0, ostep, ow_n, acc[kk]);
}

/* KB_MAX output channels per work-item: groups with at least that many. */
__kernel void conv_k8(CONV_PARAMS)
{
    conv_block(KB_MAX, CONV_ARGS);
}

/* One output channel per work-item: depthwise and narrow groups, where a
 * wider block would mostly recompute spare channels. */
__kernel void conv_k1(CONV_PARAMS)
{
    conv_block(1, CONV_ARGS);
}
