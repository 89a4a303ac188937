/* conv_grad.cl - the layout passes around the GEMMs that compute a
 * convolution's gradients for a whole chunk of images at once (see
 * lib/opencl/cl_conv_grad.c): the columns of x and the rows of dy with the
 * images side by side, the weight gradient's partial products summed and
 * transposed, and col2im, the gather that sums columns back into an image. */

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

/* col[r][q] = x[m][c][oh*sh - ph + i*dh][ow*sw - pw + j*dw] for r = (c * KH
 * + i) * KW + j and column q = m * P + oh * OW + ow (zero in the padding):
 * row r of the chunk's column matrix, the images side by side, rows `ld`
 * apart, zero from column Q on. Grid: dim 0 = blocks of VW columns up to
 * ld, dim 1 = r. A block within one output row that stays inside the
 * input is one vector load at stride 1 and a strided walk of one input row
 * otherwise; the others (edges, planes smaller than a vector, which then
 * span images) are gathered lane by lane. */
__kernel void im2col_chunk(__global const float *x, int x_off, int x_bs,
                           __global float *col, int col_off, int ld, grad_shape s)
{
    const int q0 = get_global_id(0) * VW, r = get_global_id(1);
    const int plane = s.oh * s.ow, q = s.images * plane, count = min(VW, q - q0);
    if (q0 >= ld)
        return;
    if (count <= 0) {
        clnet_store_part16(col + col_off + r * ld + q0, min(VW, ld - q0), (float16)0.0f);
        return;
    }
    const int j = r % s.kw, i = r / s.kw % s.kh, c = r / (s.kw * s.kh);
    const int m0 = q0 / plane, oh0 = q0 % plane / s.ow, ow0 = q0 % plane % s.ow;
    const int ih0 = oh0 * s.stride_h - s.pad_h + i * s.dil_h;
    const int iw0 = ow0 * s.stride_w - s.pad_w + j * s.dil_w;
    __global const float *row = x + x_off + m0 * x_bs + (c * s.h + ih0) * s.w + iw0;
    const bool inside = count == VW && ow0 + VW <= s.ow && ih0 >= 0 && ih0 < s.h && iw0 >= 0 &&
                        iw0 + (VW - 1) * s.stride_w < s.w;
    float16 v;
    if (inside && s.stride_w == 1) {
        v = vload16(0, row);
    } else if (inside) {
        /* AlexNet's first layer (11 x 11, stride 4), batch 32: 79 -> 56 ms */
        float t[VW];
        for (int l = 0; l < VW; l++)
            t[l] = row[l * s.stride_w];
        v = vload16(0, t);
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
    clnet_store_part16(col + col_off + r * ld + q0, min(VW, ld - q0), v);
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

/* xp[c][R * wg + wq] = x[m][c][hp - pad_h][wq - pad_w] for padded row R =
 * m * hg + hp (zero outside x and for m >= images): the chunk's images
 * zero-padded to hg x wg planes, each channel's planes side by side in one
 * row of `ld` = rows * wg elements, which the weight gradient's GEMM reads
 * as shifted windows across all images at once. Grid: dim 0 = padded rows
 * R (ld / wg of them), dim 1 = c. */
__kernel void pad_cnhw(__global const float *x, int x_off, int x_bs, __global float *xp,
                       int xp_off, int ld, int hg, int wg, grad_shape s)
{
    const int row = get_global_id(0), c = get_global_id(1);
    if (row * wg >= ld)
        return;
    const int m = row / hg, ih = row % hg - s.pad_h;
    __global float *out = xp + xp_off + c * ld + row * wg;
    if (m >= s.images || ih < 0 || ih >= s.h) {
        for (int w0 = 0; w0 < wg; w0 += VW)
            clnet_store_part16(out + w0, min(VW, wg - w0), (float16)0.0f);
        return;
    }
    __global const float *in = x + x_off + m * x_bs + (c * s.h + ih) * s.w;
    for (int w0 = 0; w0 < wg; w0 += VW) {
        const int i0 = w0 - s.pad_w;
        float16 v;
        if (i0 >= 0 && i0 + VW <= s.w) {
            v = vload16(0, in + i0);
        } else {
            float t[VW];
            for (int j = 0; j < VW; j++)
                t[j] = i0 + j >= 0 && i0 + j < s.w ? in[i0 + j] : 0.0f;
            v = vload16(0, t);
        }
        clnet_store_part16(out + w0, min(VW, wg - w0), v);
    }
}

/* rows[R * wg + ow][k] = dy[m][k][oh][ow] for grid row R = m * hg + oh,
 * zero where oh >= OH, ow >= OW, m >= images or k >= K: dy with pixels as
 * rows `ldr` apart (a multiple of VW) and channels contiguous, on the grid
 * of output pixels that the weight gradient's left-hand side is laid out
 * on (the padded plane of pad_cnhw for stride 1, the output plane for
 * im2col_chunk's columns and for x itself in an unpadded 1x1 layer).
 * Grid: dim 0 = grid rows R, dim 1 = blocks of VW channels up to ldr. */
__kernel void dy_rows_grid(__global const float *dy, int dy_off, int dy_bs,
                           __global float *rows, int rows_off, int ldr, int nrows, int hg,
                           int wg, grad_shape s)
{
    const int row = get_global_id(0), k0 = get_global_id(1) * VW;
    if (row >= nrows || k0 >= ldr)
        return;
    const int m = row / hg, oh = row % hg, kcount = clamp(s.k - k0, 0, VW);
    __global float *out = rows + rows_off + row * wg * ldr + k0;
    const int valid = m < s.images && oh < s.oh && kcount > 0 ? s.ow : 0;
    const int plane = s.oh * s.ow;
    __global const float *src = dy + dy_off + m * dy_bs + k0 * plane + oh * s.ow;
    /* a pixel's VW channels gathered from their planes into one vector (a
     * block of VW x VW turned through private memory cost 2x) */
    for (int ow = 0; ow < valid; ow++) {
        float t[VW];
        _Pragma("unroll") for (int k = 0; k < VW; k++)
            t[k] = k < kcount ? src[k * plane + ow] : 0.0f;
        vstore16(vload16(0, t), 0, out + ow * ldr);
    }
    for (int ow = valid; ow < wg; ow++)
        vstore16((float16)0.0f, 0, out + ow * ldr);
}

/* dw[g * kpg + k][t] = the sum over the `slices` partial products part[z]
 * [g * T + t][k] (slice z at z * slice_stride, rows ldp apart) of the
 * split weight gradient GEMM, transposed back to the weights' layout.
 * Grid: dim 0 = blocks of VW taps, dim 1 = blocks of VW output channels,
 * dim 2 = g. */
__kernel void weights_sum_t(__global const float *part, int slices, int slice_stride, int ldp,
                            __global float *dw, int dw_off, int dw_bs, grad_shape s)
{
    const int t0 = get_global_id(0) * VW, k0 = get_global_id(1) * VW, g = get_global_id(2);
    const int taps = s.cpg * s.kh * s.kw;
    if (t0 >= taps || k0 >= s.kpg)
        return;
    const int tcount = min(VW, taps - t0), kcount = min(VW, s.kpg - k0);
    float16 acc[VW];
    for (int i = 0; i < VW; i++)
        acc[i] = 0.0f;
    for (int z = 0; z < slices; z++) {
        __global const float *p = part + z * slice_stride + (g * taps + t0) * ldp + k0;
        for (int i = 0; i < VW; i++) {
            __global const float *row = p + min(i, tcount - 1) * ldp;
            if (kcount == VW) {
                acc[i] += vload16(0, row);
            } else {
                float t[VW];
                for (int j = 0; j < VW; j++)
                    t[j] = row[min(j, kcount - 1)];
                acc[i] += vload16(0, t);
            }
        }
    }
    float blk[VW][VW];
    for (int i = 0; i < VW; i++)
        vstore16(acc[i], 0, blk[i]);
    for (int j = 0; j < kcount; j++) {
        float t[VW];
        for (int i = 0; i < VW; i++)
            t[i] = blk[i][j];
        clnet_store_part16(dw + dw_off + (g * s.kpg + k0 + j) * dw_bs + t0, tcount,
                           vload16(0, t));
    }
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
 * the column rows from `col` (c's first tap) on, q apart. At unit dilation
 * those taps are every stride-th one from (ih + pad) mod stride, their
 * output row falling by one each step, so no tap pays a division
 * (AlexNet's first layer, 11 x 11 at stride 4, batch 32: col2im 363 -> 50 ms). */
static inline float col_sum(__global const float *col, int q, int m, int ih, int iw,
                            const grad_shape *s)
{
    const int plane = s->oh * s->ow;
    col += m * plane;
    float acc = 0.0f;
    if (s->dil_h == 1 && s->dil_w == 1) {
        const int th = ih + s->pad_h, tw = iw + s->pad_w;
        const int j0 = tw % s->stride_w, ow0 = tw / s->stride_w;
        for (int i = th % s->stride_h, oh = th / s->stride_h; i < s->kh && oh >= 0;
             i += s->stride_h, oh--) {
            if (oh >= s->oh)
                continue;
            for (int j = j0, ow = ow0; j < s->kw && ow >= 0; j += s->stride_w, ow--)
                if (ow < s->ow)
                    acc += col[(i * s->kw + j) * q + oh * s->ow + ow];
        }
        return acc;
    }
    for (int i = 0; i < s->kh; i++) {
        const int oh = source(ih + s->pad_h - i * s->dil_h, s->stride_h, s->oh);
        if (oh < 0)
            continue;
        for (int j = 0; j < s->kw; j++) {
            const int ow = source(iw + s->pad_w - j * s->dil_w, s->stride_w, s->ow);
            if (ow >= 0)
                acc += col[(i * s->kw + j) * q + oh * s->ow + ow];
        }
    }
    return acc;
}

/* dx[m][c][ih][iw] = b[c] + the sum of col[(c * KH + i) * KW + j][m * P +
 * oh * OW + ow] over the taps (i, j) and pixels (oh, ow) whose window reads
 * (ih, iw): the gradient of im2col_chunk, written as a gather so that no
 * two work-items add to one element. Grid: dim 0 = blocks of VW elements of
 * the chunk's images of channel c (flattened (m, ih, iw)), dim 1 = c. A
 * block within one input row takes each tap as one vector at stride 1;
 * strided layers and planes smaller than a row of vectors are summed
 * element by element. */
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
    if (count < VW || iw0 + VW > s.w || s.stride_w != 1) {
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
            if (tw0 >= 0 && tw0 + VW <= s.ow) {
                acc += vload16(0, row + tw0);
                continue;
            }
            float t[VW];
            for (int l = 0; l < VW; l++)
                t[l] = tw0 + l >= 0 && tw0 + l < s.ow ? row[tw0 + l] : 0.0f;
            acc += vload16(0, t);
        }
    }
    vstore16(acc, 0, dx + dx_off + m0 * dx_bs + c * hw + ih * s.w + iw0);
}

/* wf[g*kpg + k][c][i][j] = w[g*cpg + c][k][KH-1-i][KW-1-j]: the weights of
 * a transposed convolution (C, K/g, KH, KW), here with c over its C/g
 * input and k over its K/g output channels per group, turned into those of
 * the forward convolution that computes it at stride 1 (K, C/g, KH, KW).
 * A work-item turns one whole window (a work-item per element costs more
 * than the copy on CPU devices). Grid: dim 0 = c within the group, dim 1 =
 * g * kpg + k. */
__kernel void flip_weights(__global const float *w, int w_off, int w_bs, __global float *wf,
                           int wf_off, grad_shape s)
{
    const int c = get_global_id(0), gk = get_global_id(1);
    const int window = s.kh * s.kw, g = gk / s.kpg, k = gk % s.kpg;
    if (c >= s.cpg)
        return;
    __global const float *src = w + w_off + (g * s.cpg + c) * w_bs + k * window;
    __global float *dst = wf + wf_off + (gk * s.cpg + c) * window;
    for (int tap = 0; tap < window; tap++)
        dst[tap] = src[window - 1 - tap];
}

/* dx of an unpadded strided 1x1 convolution, from t = its transposed
 * weights times dy at dy's own plane (N x C x OH x OW, packed): dx[n][c][ih]
 * [iw] = t[n][c][ih / SH][iw / SW] where both strides divide, 0 at the
 * pixels no output read, plus b[c]. A work-item writes one row of dx: on
 * CPU devices one per element made millions of work-groups, whose
 * scheduling cost PoCL 7x the writes. Grid: dim 0 = c * H + ih, dim 1 = n. */
__kernel void insert_strided(__global const float *t, __global const float *b, int b_off,
                             int has_bias, __global float *dx, int dx_off, int dx_bs,
                             grad_shape s)
{
    const int ch = get_global_id(0), n = get_global_id(1);
    if (ch >= s.c * s.h)
        return;
    const int c = ch / s.h, ih = ch % s.h, oh = ih / s.stride_h;
    const float bias = has_bias ? b[b_off + c] : 0.0f;
    __global float *row = dx + dx_off + n * dx_bs + ch * s.w;
    if (ih % s.stride_h != 0 || oh >= s.oh) {
        for (int iw = 0; iw < s.w; iw++)
            row[iw] = bias;
        return;
    }
    __global const float *src = t + ((n * s.c + c) * s.oh + oh) * s.ow;
    if (s.stride_w == 2) {
        /* VW / 2 values of t interleaved with zeros, a vector at a time
         * (ResNet-50's 512 -> 1024 channels, 28 -> 14, batch 32, kernel
         * minima: 6.3 -> 2.0 ms) */
        const uint16 spread = (uint16)(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
        for (int iw0 = 0; iw0 < s.w; iw0 += VW) {
            const int ow0 = iw0 / 2, count = min(VW / 2, s.ow - ow0);
            float8 v;
            if (count == VW / 2) {
                v = vload8(0, src + ow0);
            } else {
                float part[VW / 2];
                for (int j = 0; j < VW / 2; j++)
                    part[j] = j < count ? src[ow0 + j] : 0.0f;
                v = vload8(0, part);
            }
            clnet_store_part16(row + iw0, min(VW, s.w - iw0),
                               shuffle2(v, (float8)0.0f, spread) + bias);
        }
        return;
    }
    for (int iw = 0; iw < s.w; iw++) {
        const int ow = iw / s.stride_w;
        row[iw] = (iw % s.stride_w == 0 && ow < s.ow ? src[ow] : 0.0f) + bias;
    }
}

/* The most window taps depthwise_weights keeps accumulators for (5 x 5). */
#define DW_TAPS 25

/* The weight gradient of a stride-1 depthwise convolution (one input and
 * one output channel per group), from x and dy both laid out by pad_cnhw on
 * the padded grid (rows of ld, dy zero beyond its pixels): dw[c][i][j] =
 * the sum over q < qv of dyg[c][q] * xp[c][q + i * dh + j * dw], a
 * correlation of two long rows that needs no GEMM. One work-group of a
 * power-of-two size per channel c: its work-items take VW-wide blocks of
 * the row in turn, keep a vector sum per tap, and add them up in `part`
 * (DW_TAPS floats per work-item). */
__kernel void depthwise_weights(__global const float *xp, int xp_off, __global const float *dyg,
                                int dyg_off, int ld, int qv, int dh, int dw_step,
                                __global float *dw, int dw_off, int dw_bs, grad_shape s,
                                __local float *part)
{
    const int c = get_group_id(0), lid = get_local_id(0), size = get_local_size(0);
    const int taps = s.kh * s.kw;
    __global const float *xr = xp + xp_off + c * ld;
    __global const float *dr = dyg + dyg_off + c * ld;
    float16 acc[DW_TAPS];
    for (int t = 0; t < taps; t++)
        acc[t] = 0.0f;
    for (int q = lid * VW; q < qv; q += size * VW) {
        const float16 dv = vload16(0, dr + q);
        for (int i = 0, t = 0; i < s.kh; i++)
            for (int j = 0; j < s.kw; j++, t++)
                acc[t] = fma(dv, vload16(0, xr + q + i * dh + j * dw_step), acc[t]);
    }
    for (int t = 0; t < taps; t++) {
        const float8 h = acc[t].lo + acc[t].hi;
        const float4 f = h.lo + h.hi;
        part[t * size + lid] = (f.x + f.y) + (f.z + f.w);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int step = size / 2; step > 0; step /= 2) {
        if (lid < step)
            for (int t = 0; t < taps; t++)
                part[t * size + lid] += part[t * size + lid + step];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int t = lid; t < taps; t += size)
        dw[dw_off + c * dw_bs + t] = part[t * size];
}
