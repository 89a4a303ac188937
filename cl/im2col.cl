/* im2col.cl - the zero-padded copy of a convolution's input, and the
 * unrolling of its windows into the columns of a matrix, so that a forward
 * convolution becomes one GEMM per (image, group). A stride-1 GEMM reads
 * the padded copy as implicit columns; strided ones unroll the input. */

/* Layout shared with `im2col_shape` in lib/opencl/cl_conv_im2col.c (ints
 * only): the source plane (h, w) and the plane written (oh, ow): the padded
 * plane for pad_image, the output for im2col. */
typedef struct im2col_shape {
    int c, h, w, oh, ow, kh, kw;
    int stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
} im2col_shape;

#define VW 16

/* xp[img][c][hp][wp] = x[img][c][hp - pad_h][wp - pad_w], zero outside x,
 * for the padded plane (s.oh, s.ow). Grid: dim 0 = padded rows, dim 1 =
 * channels, dim 2 = images. */
__kernel void pad_image(__global const float *x, int x_off, int x_bs, __global float *xp,
                        im2col_shape s)
{
    const int hp = get_global_id(0), c = get_global_id(1), img = get_global_id(2);
    const int ih = hp - s.pad_h;
    __global float *out = xp + (((size_t)img * s.c + c) * s.oh + hp) * s.ow;
    if (ih < 0 || ih >= s.h) {
        for (int w0 = 0; w0 < s.ow; w0 += VW)
            clnet_store_part16(out + w0, min(VW, s.ow - w0), (float16)0.0f);
        return;
    }
    __global const float *in = x + x_off + img * x_bs + (c * s.h + ih) * s.w;
    for (int w0 = 0; w0 < s.ow; w0 += VW) {
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
        clnet_store_part16(out + w0, min(VW, s.ow - w0), v);
    }
}

/* VW values p[0], p[step], ...: strides 1, 2 and 4 (most strided layers)
 * as whole-vector loads and shuffles, which PoCL runs an order of
 * magnitude faster than the per-lane loop. */
static inline float16 gather16(__global const float *p, int step)
{
    if (step == 1)
        return vload16(0, p);
    if (step == 2)
        return (float16)(vload16(0, p).even, vload16(1, p).even);
    if (step == 4)
        return (float16)(vload16(0, p).even.even, vload16(1, p).even.even,
                         vload16(2, p).even.even, vload16(3, p).even.even);
    float v[VW];
    for (int j = 0; j < VW; j++)
        v[j] = p[j * step];
    return vload16(0, v);
}

/* One output row of the matrix row of channel c and window column j into
 * `out`: x's row ih of image img gathered at the stride, zeros where ih or
 * a column lies outside x (see im2col below). */
static inline void im2col_row(__global const float *x, int x_off, int x_bs, int x_begin,
                              int x_end, __global float *out, const im2col_shape s, int ih,
                              int j, int c, int img)
{
    if (ih < 0 || ih >= s.h) {
        for (int ow0 = 0; ow0 < s.ow; ow0 += VW)
            clnet_store_part16(out + ow0, min(VW, s.ow - ow0), (float16)0.0f);
        return;
    }
    const int row = x_off + img * x_bs + (c * s.h + ih) * s.w;
    const int16 lane = (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (int ow0 = 0; ow0 < s.ow; ow0 += VW) {
        const int count = min(VW, s.ow - ow0);
        const int iw0 = ow0 * s.stride_w + j * s.dil_w - s.pad_w;
        float16 v;
        if (iw0 >= 0 && iw0 + (count - 1) * s.stride_w < s.w &&
            row + iw0 + VW * s.stride_w <= x_end) {
            v = gather16(x + row + iw0, s.stride_w);
        } else if (row + iw0 >= x_begin && row + iw0 + VW * s.stride_w <= x_end) {
            const int16 iw = iw0 + lane * s.stride_w;
            v = select((float16)0.0f, gather16(x + row + iw0, s.stride_w),
                       iw >= 0 && iw < s.w && lane < count);
        } else {
            float t[VW];
            for (int l = 0; l < VW; l++) {
                const int iw = iw0 + l * s.stride_w;
                t[l] = l < count && iw >= 0 && iw < s.w ? x[row + iw] : 0.0f;
            }
            v = vload16(0, t);
        }
        clnet_store_part16(out + ow0, count, v);
    }
}

/* col[col_off + img * col_is + r * col_rs + oh * OW + ow] =
 * x[img][c][oh*stride_h + i*dil_h - pad_h][ow*stride_w + j*dil_w - pad_w],
 * zero outside x, for r = (c * KH + i) * KW + j: row r of the GEMM's B
 * operand (the rows of one group being that group's channels), read from x
 * itself (s.h x s.w planes); an image's own matrix (col_is = rows * plane,
 * col_rs = plane) or the images side by side in the rows of one (col_is =
 * plane, col_rs = the row length), whose columns from the last image's end
 * up to col_end are zeroed (col_end 0: none). A VW-wide
 * gather loads whole vectors, which may run over the row's ends into its
 * neighbours (those lanes become the zeros of the padding, or are not
 * stored) but never outside elements [x_begin, x_end) of the buffer; only
 * a gather at x's first or last elements goes lane by lane. Gathers wholly
 * inside their row skip the mask (its lane compares put 15-20% on
 * AlexNet's first layer's unrolling, kernel minimum). Reading x
 * directly instead of a padded copy of it took ResNet-50's strided 1x1
 * layer 50 -> 41 ms (batch 32). A work-item takes rows_per_item output
 * rows (cl_conv_im2col.c). Grid: dim 0 = blocks of rows_per_item output
 * rows, dim 1 = r, dim 2 = images. */
__kernel void im2col(__global const float *x, int x_off, int x_bs, int x_begin, int x_end,
                     __global float *col, int col_off, int col_is, int col_rs, int col_end,
                     im2col_shape s, int rows_per_item)
{
    const int oh0 = get_global_id(0) * rows_per_item, r = get_global_id(1);
    const int img = get_global_id(2);
    const int j = r % s.kw, i = r / s.kw % s.kh, c = r / (s.kw * s.kh);
    __global float *crow = col + col_off + (size_t)r * col_rs;
    const int oh_end = min(s.oh, oh0 + rows_per_item);
    if (img == get_global_size(2) - 1 && oh_end == s.oh)
        for (int q = (img + 1) * col_is; q < col_end; q++)
            crow[q] = 0.0f;
    for (int oh = oh0; oh < oh_end; oh++)
        im2col_row(x, x_off, x_bs, x_begin, x_end, crow + (size_t)img * col_is + oh * s.ow, s,
                   oh * s.stride_h + i * s.dil_h - s.pad_h, j, c, img);
}
