/* conv.cl - direct convolution and transposed convolution (computed as a
 * gather, no atomics), 2-D and 1-D (height 1), any groups, fused bias; and
 * the weight gradient as a work-group reduction per block of weights. */

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

/* CONV_BACKWARD_WEIGHTS: dw[k, c, i, j] = sum over (n, oh, ow) of dy[n, k, oh,
 * ow] * x[n, c, oh*stride_h - pad_h + i*dil_h, ow*stride_w - pad_w + j*dil_w],
 * k and c within one group. Every weight is a reduction over N*OH*OW, so a
 * work-group owns a block of kb output channels x BW_TB taps (a tap is one
 * (c, i, j) of the group) and its work-items split the pixel blocks (PIX
 * columns of one output row of one image) between them: each keeps float8
 * partial sums (lanes = pixels) that reuse every dy load for BW_TB taps and
 * every x load for kb channels, and the group then adds the partials in
 * local memory. 8 x 4 float8 accumulators are as many as an AVX-512 host
 * has vector registers; on PoCL they ran ResNet-50's 3x3 layer at batch 1
 * in about 0.8x the time of 4 x 4. cl_conv.c mirrors BW_KB and BW_TB. */
#define BW_KB 8
#define BW_TB 4

/* Layout shared with `convbw_shape` in lib/opencl/cl_conv.c (ints only). */
typedef struct convbw_shape {
    int n, groups, cpg, kpg;
    int h, w, oh, ow, kh, kw;
    int stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
} convbw_shape;

/* Lanes j < count hold the values at i0 + j*step of a row (zero outside
 * [0, size): padding); the other lanes are zero, so a partial pixel block
 * adds nothing, not even 0 * Inf. */
static inline float8 load_part8(__global const float *row, int i0, int step, int size, int count)
{
    if (count == PIX && step == 1 && i0 >= 0 && i0 + PIX <= size)
        return vload8(0, row + i0);
    float v[PIX];
    for (int j = 0; j < PIX; j++) {
        int i = i0 + j * step;
        v[j] = j < count && i >= 0 && i < size ? row[i] : 0.0f;
    }
    return vload8(0, v);
}

/* Adds the partial sums of `slots` weights over the work-group (a power of
 * two in size), part[slot * size + lid] holding work-item lid's; the totals
 * end in part[slot * size]. */
static inline void bw_group_sum(__local float *part, int slots)
{
    const int lid = get_local_id(0), size = get_local_size(0);
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = size / 2; s > 0; s /= 2) {
        if (lid < s)
            for (int slot = 0; slot < slots; slot++)
                part[slot * size + lid] += part[slot * size + lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
}

/* Grid: one work-group per (group, block of kb channels, block of BW_TB
 * taps), taps fastest so that neighbouring groups share their dy rows. As
 * in conv_block, spare slots of a partial block recompute the last valid
 * channel or tap, which keeps loads in bounds, and are not stored. */
static inline void convbw_block(const int kb, __global const float *x, int x_off, int x_bs,
                                __global const float *dy, int dy_off, int dy_bs,
                                __global float *dw, int dw_off, int dw_bs,
                                const convbw_shape *s, __local float *part)
{
    const int taps = s->cpg * s->kh * s->kw, window = s->kh * s->kw;
    const int tblocks = (taps + BW_TB - 1) / BW_TB, kblocks = (s->kpg + kb - 1) / kb;
    int z = get_group_id(0);
    const int t0 = z % tblocks * BW_TB;
    z /= tblocks;
    const int k0 = z % kblocks * kb;
    const int g = z / kblocks;
    const int kcount = min(kb, s->kpg - k0), tcount = min(BW_TB, taps - t0);

    int xoff[BW_TB], rowoff[BW_TB], coloff[BW_TB];
    for (int tt = 0; tt < BW_TB; tt++) {
        int t = t0 + min(tt, tcount - 1), r = t % window;
        xoff[tt] = (g * s->cpg + t / window) * s->h * s->w;
        rowoff[tt] = r / s->kw * s->dil_h - s->pad_h;
        coloff[tt] = r % s->kw * s->dil_w - s->pad_w;
    }
    const int plane = s->oh * s->ow;
    __global const float *dyg = dy + dy_off + (g * s->kpg + k0) * plane;

    float8 acc[BW_KB][BW_TB];
    for (int kk = 0; kk < kb; kk++)
        for (int tt = 0; tt < BW_TB; tt++)
            acc[kk][tt] = 0.0f;
    const int cblocks = (s->ow + PIX - 1) / PIX, blocks = s->n * s->oh * cblocks;
    for (int b = get_local_id(0); b < blocks; b += get_local_size(0)) {
        const int ow0 = b % cblocks * PIX, row = b / cblocks;
        const int oh = row % s->oh, n = row / s->oh;
        const int count = min(PIX, s->ow - ow0);
        __global const float *dyr = dyg + n * dy_bs + oh * s->ow;
        float8 dv[BW_KB];
        for (int kk = 0; kk < kb; kk++)
            dv[kk] = load_part8(dyr + min(kk, kcount - 1) * plane, ow0, 1, s->ow, count);
        __global const float *xn = x + x_off + n * x_bs;
        for (int tt = 0; tt < BW_TB; tt++) {
            const int ih = oh * s->stride_h + rowoff[tt];
            if (ih < 0 || ih >= s->h)
                continue;
            float8 xv = load_part8(xn + xoff[tt] + ih * s->w, ow0 * s->stride_w + coloff[tt],
                                   s->stride_w, s->w, count);
            for (int kk = 0; kk < kb; kk++)
                acc[kk][tt] += dv[kk] * xv;
        }
    }

    const int lid = get_local_id(0), size = get_local_size(0);
    for (int kk = 0; kk < kb; kk++)
        for (int tt = 0; tt < BW_TB; tt++) {
            float8 a = acc[kk][tt];
            float4 q = a.lo + a.hi;
            part[(kk * BW_TB + tt) * size + lid] = (q.x + q.y) + (q.z + q.w);
        }
    bw_group_sum(part, kb * BW_TB);
    for (int slot = lid; slot < kb * BW_TB; slot += size) {
        const int kk = slot / BW_TB, tt = slot % BW_TB;
        if (kk < kcount && tt < tcount)
            dw[dw_off + (g * s->kpg + k0 + kk) * dw_bs + t0 + tt] = part[slot * size];
    }
}

#define CONVBW_PARAMS \
    __global const float *x, int x_off, int x_bs, __global const float *dy, int dy_off, \
    int dy_bs, __global float *dw, int dw_off, int dw_bs, convbw_shape s, __local float *part
#define CONVBW_ARGS x, x_off, x_bs, dy, dy_off, dy_bs, dw, dw_off, dw_bs, &s, part

/* BW_KB output channels per work-group: groups with at least that many. */
__kernel void conv_bw_k8(CONVBW_PARAMS)
{
    convbw_block(BW_KB, CONVBW_ARGS);
}

/* One output channel per work-group: depthwise and narrow groups. */
__kernel void conv_bw_k1(CONVBW_PARAMS)
{
    convbw_block(1, CONVBW_ARGS);
}
