/* conv_grad.cl - the layout passes around the GEMMs that compute a
 * convolution's gradients for a whole chunk of images at once (see
 * lib/opencl/cl_conv_grad.c): the columns of x and the rows of dy with the
 * images side by side, the transposed weights, and col2im, the gather that
 * sums columns back into an image. */

/* Shapes are those of the forward convolution: x (N, C, H, W), dy (N, K,
 * OH, OW), P = OH * OW pixels per image, the `images` images of a chunk
 * side by side in Q = images * P columns. Layout shared with `grad_shape`
 * in cl_conv_grad.c (ints only). Grids are rounded up to whole work-groups
 * along dim 0 (see cl_conv_grad.c): every kernel skips the excess. */
typedef struct grad_shape {
    int c, h, w, k, oh, ow, kh, kw;
    int stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
    int groups, cpg, kpg, images;
} grad_shape;

#define VW 16

static inline void store_part(__global float *dst, int count, float16 v)
{
    if (count == VW) {
        vstore16(v, 0, dst);
        return;
    }
    float t[VW];
    vstore16(v, 0, t);
    for (int j = 0; j < count; j++)
        dst[j] = t[j];
}

/* col[r][q] = x[m][c][oh*sh - ph + i*dh][ow*sw - pw + j*dw] for r = (c * KH
 * + i) * KW + j and column q = m * P + oh * OW + ow (zero in the padding):
 * row r of the chunk's column matrix, the images side by side, rows `ld`
 * apart, zero from column Q on. Grid: dim 0 = blocks of VW columns up to
 * ld, dim 1 = r. A block within one output row of a stride-1 convolution
 * that stays inside the input is one vector load; the others (edges,
 * strides, planes smaller than a vector, which then span images) are
 * gathered lane by lane. */
__kernel void im2col_chunk(__global const float *x, int x_off, int x_bs,
                           __global float *col, int col_off, int ld, grad_shape s)
{
    const int q0 = get_global_id(0) * VW, r = get_global_id(1);
    const int plane = s.oh * s.ow, q = s.images * plane, count = min(VW, q - q0);
    if (q0 >= ld)
        return;
    if (count <= 0) {
        store_part(col + col_off + r * ld + q0, min(VW, ld - q0), (float16)0.0f);
        return;
    }
    const int j = r % s.kw, i = r / s.kw % s.kh, c = r / (s.kw * s.kh);
    const int m0 = q0 / plane, oh0 = q0 % plane / s.ow, ow0 = q0 % plane % s.ow;
    const int ih0 = oh0 * s.stride_h - s.pad_h + i * s.dil_h;
    const int iw0 = ow0 * s.stride_w - s.pad_w + j * s.dil_w;
    float16 v;
    if (count == VW && ow0 + VW <= s.ow && s.stride_w == 1 && ih0 >= 0 && ih0 < s.h &&
        iw0 >= 0 && iw0 + VW <= s.w) {
        v = vload16(0, x + x_off + m0 * x_bs + (c * s.h + ih0) * s.w + iw0);
    } else {
        /* (m, oh, ow) advance lane by lane: no division per element */
        float t[VW];
        int m = m0, oh = oh0, ow = ow0;
        for (int l = 0; l < VW; l++) {
            const int ih = oh * s.stride_h - s.pad_h + i * s.dil_h;
            const int iw = ow * s.stride_w - s.pad_w + j * s.dil_w;
            t[l] = l < count && ih >= 0 && ih < s.h && iw >= 0 && iw < s.w
                       ? x[x_off + m * x_bs + (c * s.h + ih) * s.w + iw] : 0.0f;
            if (++ow == s.ow) {
                ow = 0;
                if (++oh == s.oh) {
                    oh = 0;
                    m++;
                }
            }
        }
        v = vload16(0, t);
    }
    store_part(col + col_off + r * ld + q0, min(VW, ld - q0), v);
}

/* rows[m * P + p][k] = dy[m][k][p]: dy with pixels as rows and channels
 * contiguous, the right-hand side of the weight gradient's GEMM. Grid: dim
 * 0 = pixels p, dim 1 = blocks of VW channels, dim 2 = image m. */
__kernel void dy_rows(__global const float *dy, int dy_off, int dy_bs,
                      __global float *rows, int rows_off, grad_shape s)
{
    const int p = get_global_id(0), k0 = get_global_id(1) * VW, m = get_global_id(2);
    const int plane = s.oh * s.ow, count = min(VW, s.k - k0);
    if (p >= plane)
        return;
    __global const float *src = dy + dy_off + m * dy_bs + k0 * plane + p;
    float t[VW];
    for (int l = 0; l < VW; l++)
        t[l] = src[min(l, count - 1) * plane];
    store_part(rows + rows_off + (m * plane + p) * s.k + k0, count, vload16(0, t));
}

/* cols[k][m * P + p] = dy[m][k][p]: dy with channels as rows and the images
 * side by side, the right-hand side of the data gradient's GEMM; columns
 * from Q to `ld` (the GEMM's row length) are zero. Grid: dim 0 = blocks of
 * VW columns up to ld, dim 1 = channel k. */
__kernel void dy_cols(__global const float *dy, int dy_off, int dy_bs,
                      __global float *cols, int cols_off, int ld, grad_shape s)
{
    const int q0 = get_global_id(0) * VW, k = get_global_id(1);
    const int plane = s.oh * s.ow, count = min(VW, s.images * plane - q0);
    if (q0 >= ld)
        return;
    const int m0 = q0 / plane, p0 = q0 % plane;
    float16 v;
    if (count == VW && p0 + VW <= plane) {
        v = vload16(0, dy + dy_off + m0 * dy_bs + k * plane + p0);
    } else {
        float t[VW];
        for (int l = 0; l < VW; l++) {
            const int z = q0 + l;
            t[l] = l < count ? dy[dy_off + z / plane * dy_bs + k * plane + z % plane] : 0.0f;
        }
        v = vload16(0, t);
    }
    vstore16(v, 0, cols + cols_off + k * ld + q0);
}

/* dst[j][i] = src[i][j] for a VW x VW block of a rows x cols matrix (row
 * strides ld_src and ld_dst): the block's rows are read and its columns
 * written as whole vectors, the turn made in private memory. */
static inline void transpose_block(__global const float *src, int ld_src, __global float *dst,
                                   int ld_dst, int rows, int cols)
{
    float blk[VW][VW];
    for (int i = 0; i < VW; i++) {
        __global const float *row = src + min(i, rows - 1) * ld_src;
        if (cols == VW) {
            vstore16(vload16(0, row), 0, blk[i]);
        } else {
            for (int j = 0; j < VW; j++)
                blk[i][j] = row[min(j, cols - 1)];
        }
    }
    for (int j = 0; j < cols; j++) {
        float t[VW];
        for (int i = 0; i < VW; i++)
            t[i] = blk[i][j];
        store_part(dst + j * ld_dst, rows, vload16(0, t));
    }
}

/* wt[g * T + t][k] = w[g * kpg + k][t], T = C/g * KH * KW taps per group:
 * each group's weights transposed. Grid: dim 0 = blocks of VW taps, dim 1 =
 * blocks of VW output channels, dim 2 = group g. */
__kernel void weights_t(__global const float *w, int w_off, int w_bs, __global float *wt,
                        int wt_off, grad_shape s)
{
    const int t0 = get_global_id(0) * VW, k0 = get_global_id(1) * VW, g = get_global_id(2);
    const int taps = s.cpg * s.kh * s.kw;
    if (t0 >= taps)
        return;
    transpose_block(w + w_off + (g * s.kpg + k0) * w_bs + t0, w_bs,
                    wt + wt_off + (g * taps + t0) * s.kpg + k0, s.kpg, min(VW, s.kpg - k0),
                    min(VW, taps - t0));
}

/* The inverse of weights_t: dw[g * kpg + k][t] = dwt[g * T + t][k]. Grid as
 * weights_t. */
__kernel void weights_from_t(__global const float *dwt, int dwt_off, __global float *dw,
                             int dw_off, int dw_bs, grad_shape s)
{
    const int t0 = get_global_id(0) * VW, k0 = get_global_id(1) * VW, g = get_global_id(2);
    const int taps = s.cpg * s.kh * s.kw;
    if (t0 >= taps)
        return;
    transpose_block(dwt + dwt_off + (g * taps + t0) * s.kpg + k0, s.kpg,
                    dw + dw_off + (g * s.kpg + k0) * dw_bs + t0, dw_bs, min(VW, taps - t0),
                    min(VW, s.kpg - k0));
}

/* The output position o that tap offset t (input + pad - tap * dil) comes
 * from, or -1; stride 1 spares the divisions. */
static inline int source(int t, int stride, int size)
{
    if (stride == 1)
        return t >= 0 && t < size ? t : -1;
    return t >= 0 && t % stride == 0 && t / stride < size ? t / stride : -1;
}

/* The sum over the taps whose window reads input (ih, iw) of image m of
 * the column rows from `col` (c's first tap) on, q apart. */
static inline float col_sum(__global const float *col, int q, int m, int ih, int iw,
                            const grad_shape *s)
{
    const int plane = s->oh * s->ow;
    float acc = 0.0f;
    for (int i = 0; i < s->kh; i++) {
        const int oh = source(ih + s->pad_h - i * s->dil_h, s->stride_h, s->oh);
        if (oh < 0)
            continue;
        for (int j = 0; j < s->kw; j++) {
            const int ow = source(iw + s->pad_w - j * s->dil_w, s->stride_w, s->ow);
            if (ow >= 0)
                acc += col[(i * s->kw + j) * q + m * plane + oh * s->ow + ow];
        }
    }
    return acc;
}

/* dx[m][c][ih][iw] = b[c] + the sum of col[(c * KH + i) * KW + j][m * P +
 * oh * OW + ow] over the taps (i, j) and pixels (oh, ow) whose window reads
 * (ih, iw): the gradient of im2col_chunk, written as a gather so that no
 * two work-items add to one element. Grid: dim 0 = blocks of VW elements of
 * the chunk's images of channel c (flattened (m, ih, iw)), dim 1 = c. A
 * block within one input row takes each tap as one vector where it can;
 * planes smaller than a row of vectors are summed element by element. */
__kernel void col2im_chunk(__global const float *col, int col_off, int ld,
                           __global const float *b, int b_off, int has_bias,
                           __global float *dx, int dx_off, int dx_bs, grad_shape s)
{
    const int z0 = get_global_id(0) * VW, c = get_global_id(1);
    const int hw = s.h * s.w, count = min(VW, s.images * hw - z0);
    if (count <= 0)
        return;
    const int m0 = z0 / hw, ih = z0 % hw / s.w, iw0 = z0 % hw % s.w;
    const float bias = has_bias ? b[b_off + c] : 0.0f;
    __global const float *cc = col + col_off + c * s.kh * s.kw * ld;
    if (count < VW || iw0 + VW > s.w) {
        int m = m0, h = ih, w = iw0;
        for (int l = 0; l < count; l++) {
            dx[dx_off + m * dx_bs + (c * s.h + h) * s.w + w] = bias + col_sum(cc, ld, m, h, w, &s);
            if (++w == s.w) {
                w = 0;
                if (++h == s.h) {
                    h = 0;
                    m++;
                }
            }
        }
        return;
    }
    const int plane = s.oh * s.ow;
    float16 acc = bias;
    for (int i = 0; i < s.kh; i++) {
        const int th = ih + s.pad_h - i * s.dil_h;
        if (th < 0 || th % s.stride_h != 0 || th / s.stride_h >= s.oh)
            continue;
        for (int j = 0; j < s.kw; j++) {
            __global const float *row = cc + (i * s.kw + j) * ld + m0 * plane +
                                        th / s.stride_h * s.ow;
            const int tw0 = iw0 + s.pad_w - j * s.dil_w;
            if (s.stride_w == 1 && tw0 >= 0 && tw0 + VW <= s.ow) {
                acc += vload16(0, row + tw0);
                continue;
            }
            float t[VW];
            for (int l = 0; l < VW; l++) {
                const int tw = tw0 + l, ow = tw / s.stride_w;
                t[l] = tw >= 0 && tw % s.stride_w == 0 && ow < s.ow ? row[ow] : 0.0f;
            }
            acc += vload16(0, t);
        }
    }
    vstore16(acc, 0, dx + dx_off + m0 * dx_bs + c * hw + ih * s.w + iw0);
}

/* BW_TB taps x BW_KB output channels of the weight gradient per
 * work-group (cl_conv_grad.c mirrors them). */
#define BW_TB 4
#define BW_KB 4

/* dw[g*kpg + k][t] = (accumulate ? dw : 0) + the dot product of rows g*T + t
 * of col (the chunk's columns) and g*kpg + k of dyc (dy_cols), both `ld`
 * long and zero past Q: the weight gradient of a layer whose output
 * channels are too few for the GEMM's tiles. Grid: one work-group of a
 * power-of-two size per (group, block of BW_KB channels, block of BW_TB
 * taps); its work-items split the row into vectors, keep BW_KB x BW_TB
 * vector sums, and add them up in `part` (BW_KB * BW_TB floats per
 * work-item). */
__kernel void weights_dot(__global const float *col, int col_off, __global const float *dyc,
                          int dyc_off, int ld, __global float *dw, int dw_off, int dw_bs,
                          int accumulate, grad_shape s, __local float *part)
{
    const int taps = s.cpg * s.kh * s.kw;
    const int tblocks = (taps + BW_TB - 1) / BW_TB, kblocks = (s.kpg + BW_KB - 1) / BW_KB;
    int z = get_group_id(0);
    const int t0 = z % tblocks * BW_TB;
    z /= tblocks;
    const int k0 = z % kblocks * BW_KB, g = z / kblocks;
    const int tcount = min(BW_TB, taps - t0), kcount = min(BW_KB, s.kpg - k0);
    const int lid = get_local_id(0), size = get_local_size(0);
    __global const float *ct = col + col_off + (g * taps + t0) * ld;
    __global const float *dk = dyc + dyc_off + (g * s.kpg + k0) * ld;
    float16 acc[BW_KB][BW_TB];
    for (int kk = 0; kk < BW_KB; kk++)
        for (int tt = 0; tt < BW_TB; tt++)
            acc[kk][tt] = 0.0f;
    for (int q = lid * VW; q < ld; q += size * VW) {
        float16 cv[BW_TB];
        for (int tt = 0; tt < BW_TB; tt++)
            cv[tt] = vload16(0, ct + min(tt, tcount - 1) * ld + q);
        for (int kk = 0; kk < BW_KB; kk++) {
            const float16 dv = vload16(0, dk + min(kk, kcount - 1) * ld + q);
            for (int tt = 0; tt < BW_TB; tt++)
                acc[kk][tt] = fma(dv, cv[tt], acc[kk][tt]);
        }
    }
    for (int kk = 0; kk < BW_KB; kk++)
        for (int tt = 0; tt < BW_TB; tt++) {
            const float16 a = acc[kk][tt];
            const float8 h = a.lo + a.hi;
            const float4 f = h.lo + h.hi;
            part[(kk * BW_TB + tt) * size + lid] = (f.x + f.y) + (f.z + f.w);
        }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int step = size / 2; step > 0; step /= 2) {
        if (lid < step)
            for (int slot = 0; slot < BW_KB * BW_TB; slot++)
                part[slot * size + lid] += part[slot * size + lid + step];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int slot = lid; slot < BW_KB * BW_TB; slot += size) {
        const int kk = slot / BW_TB, tt = slot % BW_TB;
        if (kk < kcount && tt < tcount) {
            __global float *d = dw + dw_off + (g * s.kpg + k0 + kk) * dw_bs + t0 + tt;
            *d = (accumulate ? *d : 0.0f) + part[slot * size];
        }
    }
}

/* wf[g*kpg + k][c][i][j] = w[g*cpg + c][k][KH-1-i][KW-1-j]: the weights of
 * a transposed convolution (C, K/g, KH, KW), here with c over its C/g
 * input and k over its K/g output channels per group, turned into those of
 * the forward convolution that computes it at stride 1 (K, C/g, KH, KW).
 * Grid: dim 0 = tap, dim 1 = c within the group, dim 2 = g * kpg + k. */
__kernel void flip_weights(__global const float *w, int w_off, int w_bs, __global float *wf,
                           int wf_off, grad_shape s)
{
    const int tap = get_global_id(0), c = get_global_id(1), gk = get_global_id(2);
    const int window = s.kh * s.kw, g = gk / s.kpg, k = gk % s.kpg;
    if (tap >= window)
        return;
    wf[wf_off + (gk * s.cpg + c) * window + tap] =
        w[w_off + (g * s.cpg + c) * w_bs + k * window + window - 1 - tap];
}
