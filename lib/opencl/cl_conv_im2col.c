/* cl_conv_im2col.c - forward convolution as GEMM on OpenCL devices: the
 * tiled GEMM on im2col's columns (strided convolutions), on a zero-padded
 * copy of the input read as implicit columns (stride 1), or straight on the
 * input (1x1 and other unpadded stride-1 convolutions); on small planes
 * one GEMM on the columns of many images side by side. */
#include "opencl/cl_algo.h"
#include "opencl/cl_gemm_tiled.h"

#include <limits.h>

/* The scratch data of several images is built at once when it fits this
 * budget, so that small layers need few launches while large ones keep
 * their scratch buffer bounded. 4 MiB (a typical L3) lost to one chunk of
 * the whole batch: ResNet-50's strided 1x1 at batch 32 (12.5 MiB of
 * columns) 22.4-22.6 ms in chunks of 8 images, 22.2 in chunks of 16, 20.9-21.3
 * in one (`cb`, pinned, two alternations). */
#define SCRATCH_BUDGET_BYTES ((size_t)16 << 20)

/* Mirrors `im2col_shape` in cl/im2col.cl (cl_int fields only). */
typedef struct im2col_shape {
    cl_int c, h, w, oh, ow, kh, kw;
    cl_int stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
} im2col_shape;

/* Stride 1 needs no unrolled copy: the GEMM reads each window tap as a
 * shifted view of the (padded) input plane. */
static bool implicit(const clnet_conv_geom *g)
{
    return g->stride_h == 1 && g->stride_w == 1;
}

/* The padded plane of a stride-1 convolution: every output pixel's window
 * lies inside it (it equals the input plane when there is no padding).
 * Strided convolutions unroll the input itself. */
static int64_t padded_h(const clnet_conv_geom *g)
{
    return g->oh + g->dil_h * (g->kh - 1);
}

static int64_t padded_w(const clnet_conv_geom *g)
{
    return g->ow + g->dil_w * (g->kw - 1);
}

static bool needs_padding(const clnet_conv_geom *g)
{
    return padded_h(g) != g->h || padded_w(g) != g->w;
}

/* Rows of the column matrix of one image. */
static int64_t col_rows(const clnet_conv_geom *g)
{
    return g->c * g->kh * g->kw;
}

/* Scratch elements per image: the padded input (stride 1) or the columns
 * (strided). */
static int64_t padded_elems(const clnet_conv_geom *g)
{
    return implicit(g) ? g->c * padded_h(g) * padded_w(g) : 0;
}

static int64_t col_elems(const clnet_conv_geom *g)
{
    return implicit(g) ? 0 : col_rows(g) * g->oh * g->ow;
}

static size_t scratch_image_bytes(const clnet_conv_geom *g)
{
    return (size_t)(padded_elems(g) + col_elems(g)) * sizeof(cl_float);
}

bool clnet_cl_im2col_applies(const clnet_device *dev, const clnet_conv_geom *g)
{
    /* One image's scratch must fit one allocation and int indexing. */
    size_t bytes = scratch_image_bytes(g);
    return bytes / sizeof(cl_float) <= INT_MAX &&
           (dev->info.max_alloc_bytes == 0 || bytes <= dev->info.max_alloc_bytes);
}

/* On PoCL (`clnet-bench tune`) the GEMM beat the direct kernel 3-10x on
 * every layer of the suite down to LeNet-5's first (6 output channels, 25
 * taps); groups narrower than that fill too little of a GEMM tile. */
bool clnet_cl_im2col_preferred(const clnet_device *dev, const clnet_conv_geom *g)
{
    return clnet_cl_im2col_applies(dev, g) && g->k_per_group >= 6 &&
           g->c_per_group * g->kh * g->kw >= 16;
}

/* im2col.cl's shape: pad_image reads the input plane and writes the padded
 * one; im2col reads the input plane and writes the output plane. */
static im2col_shape im2col_shape_of(const clnet_conv_geom *g, bool pad)
{
    im2col_shape s;
    s.c = (cl_int)g->c;
    s.h = (cl_int)g->h;
    s.w = (cl_int)g->w;
    s.oh = (cl_int)(pad ? padded_h(g) : g->oh);
    s.ow = (cl_int)(pad ? padded_w(g) : g->ow);
    s.kh = (cl_int)g->kh;
    s.kw = (cl_int)g->kw;
    s.stride_h = (cl_int)g->stride_h;
    s.stride_w = (cl_int)g->stride_w;
    s.pad_h = (cl_int)g->pad_h;
    s.pad_w = (cl_int)g->pad_w;
    s.dil_h = (cl_int)g->dil_h;
    s.dil_w = (cl_int)g->dil_w;
    return s;
}

/* What every GEMM of a convolution shares: A = the weights of each group
 * (k_per_group x C/g*KH*KW), C = y from image n0 on. */
static clnet_cl_gemm_batch conv_gemm(const clnet_conv_geom *g, const clnet_tensor *w,
                                     const clnet_tensor *b, clnet_tensor *y, int64_t n0,
                                     int64_t count)
{
    const int64_t plane = g->oh * g->ow;
    clnet_cl_tensor_args wa = clnet_cl_targs(w), ya = clnet_cl_targs(y);
    clnet_cl_gemm_batch gb = {
        .m = g->k_per_group, .k = g->c_per_group * g->kh * g->kw, .images = count,
        .groups = g->groups,
        .a = {wa.mem, wa.offset, wa.batch_stride, 0, g->k_per_group * wa.batch_stride},
        .c = {ya.mem, ya.offset + n0 * ya.batch_stride, plane, ya.batch_stride,
              g->k_per_group * plane},
    };
    if (b) {
        gb.bias = clnet_cl_targs(b).mem;
        gb.bias_off = b->offset;
    }
    return gb;
}

/* B = the explicit columns at `col` + off (one row-major matrix per image). */
static clnet_cl_gemm_batch explicit_gemm(const clnet_conv_geom *g, const clnet_tensor *w,
                                         const clnet_tensor *b, clnet_tensor *y, cl_mem col,
                                         int64_t off, int64_t n0, int64_t count)
{
    const int64_t plane = g->oh * g->ow;
    clnet_cl_gemm_batch gb = conv_gemm(g, w, b, y, n0, count);
    gb.n = plane;
    gb.b = (clnet_cl_gemm_operand){col, off, plane, col_rows(g) * plane,
                                   g->c_per_group * g->kh * g->kw * plane};
    return gb;
}

/* B read implicitly from padded planes of Hp x Wp at `src` + off (images
 * `image_stride` apart); output pixels are computed on the padded width. */
static clnet_cl_gemm_batch implicit_gemm(const clnet_conv_geom *g, const clnet_tensor *w,
                                         const clnet_tensor *b, clnet_tensor *y, cl_mem src,
                                         int64_t off, int64_t image_stride, int64_t n0,
                                         int64_t count)
{
    const int64_t wp = padded_w(g), plane = padded_h(g) * wp;
    clnet_cl_gemm_batch gb = conv_gemm(g, w, b, y, n0, count);
    gb.n = (g->oh - 1) * wp + g->ow;
    gb.b = (clnet_cl_gemm_operand){src, off, plane, image_stride, g->c_per_group * plane};
    gb.kh = g->kh;
    gb.kw = g->kw;
    gb.b_dh = g->dil_h * wp;
    gb.b_dw = g->dil_w;
    gb.c_row = wp;
    gb.c_valid = g->ow;
    return gb;
}

/* Whether an image's own GEMM would fill less than 3/4 of the columns it
 * computes (whole tiles, plus the padding columns of an implicit one): the
 * small planes of the deep layers of a net on small inputs (ResNet-18 on
 * 32x32: 4x4 down to 1x1, where one image is one column of 32). Their
 * columns then go side by side, one GEMM for many images. */
bool clnet_cl_im2col_narrow(const clnet_conv_geom *g)
{
    const bool padded = !implicit(g) || needs_padding(g);
    const int64_t computed = implicit(g) && padded ? (g->oh - 1) * padded_w(g) + g->ow
                                                   : g->oh * g->ow;
    return 4 * g->oh * g->ow < 3 * clnet_cl_gemm_pad_cols(computed);
}

/* Work-items of im2col to aim for per compute unit: more output rows a
 * work-item where one a row would make more (ResNet-50's strided 1x1
 * layer, 14 rows of 14 columns by 512 channels by 8 images, the chunk of
 * the 4 MiB budget then: 57344 work-items of one vector each 0.97 ms; 2
 * rows 0.86, 4 rows 0.75, the 14 of the plane 0.65, kernel medians on
 * PoCL's 2 units). */
#define IM2COL_ITEMS_PER_UNIT 1024

/* Output rows a work-item of im2col unrolls for `count` images. */
static int64_t rows_per_item(const clnet_device *dev, const clnet_conv_geom *g, int64_t count)
{
    const int64_t units = dev->info.compute_units ? dev->info.compute_units : 1;
    const int64_t rows = g->oh * col_rows(g) * count / (IM2COL_ITEMS_PER_UNIT * units);
    return rows < 1 ? 1 : rows > g->oh ? g->oh : rows;
}

clnet_status clnet_cl_im2col_unroll(clnet_device *dev, const clnet_conv_geom *g,
                                    const clnet_tensor *x, int64_t n0, int64_t count, cl_mem col,
                                    int64_t col_off, int64_t col_is, int64_t col_rs,
                                    int64_t col_end)
{
    cl_kernel kernel;
    clnet_status st = clnet_cl_kernel(dev, "im2col", NULL, "im2col", &kernel);
    if (st != CLNET_OK)
        return st;
    clnet_cl_tensor_args xa = clnet_cl_targs(x);
    cl_int x_off = (cl_int)(xa.offset + n0 * xa.batch_stride);
    /* x's first element and one past its last: the kernel's whole-vector
     * reads stay between them */
    cl_int x_begin = (cl_int)xa.offset;
    cl_int x_end = clnet_cl_targs_end(x);
    cl_int off = (cl_int)col_off, is = (cl_int)col_is, rs = (cl_int)col_rs,
           end = (cl_int)col_end;
    im2col_shape s = im2col_shape_of(g, false);
    cl_int rows = (cl_int)rows_per_item(dev, g, count);
    const clnet_cl_arg args[] = {
        CLNET_CL_ARG(xa.mem), CLNET_CL_ARG(x_off), CLNET_CL_ARG(xa.batch_stride),
        CLNET_CL_ARG(x_begin), CLNET_CL_ARG(x_end), CLNET_CL_ARG(col), CLNET_CL_ARG(off),
        CLNET_CL_ARG(is), CLNET_CL_ARG(rs), CLNET_CL_ARG(end), CLNET_CL_ARG(s), CLNET_CL_ARG(rows),
    };
    const size_t global[3] = {(size_t)clnet_ceil_div(g->oh, rows), (size_t)col_rows(g),
                              (size_t)count};
    return clnet_cl_launch(dev, kernel, "im2col", (int)(sizeof args / sizeof args[0]), args, 3,
                           global, NULL);
}

/* A strided layer whose image fills fewer than 8 tiles of columns and
 * leaves a partial one: side by side, only the chunk's last tile is
 * partial. `cb`, batch 32, PoCL's threads pinned, forward medians, per
 * image -> side by side: ResNet-50's strided 1x1 onto 14x14 (196 columns,
 * 512 -> 1024 channels) 27.0 -> 23.9 ms, onto 7x7 (1024 -> 2048) 29.4 ->
 * 25.0, a 3x3 at stride 2 onto 7x7 (512 channels) 54.4 -> 49.2 (before
 * partial tiles loaded whole vectors, 31.3, 49.0, 70.6 per image); onto
 * 14x14 with 256 channels level, 47.9 -> 48.5; onto 28x28 (784 columns,
 * 25 tiles) the GEMM per image stays. */
static bool few_tiles(const clnet_conv_geom *g)
{
    const int64_t plane = g->oh * g->ow;
    return !implicit(g) && plane % CLNET_CL_GEMM_TILE_COLS != 0 &&
           plane < 8 * CLNET_CL_GEMM_TILE_COLS;
}

/* The columns of a chunk of images side by side (rows of the chunk's
 * pixels, whole tiles), one GEMM whose C runs of a plane go to the images'
 * places in y: the unrolled copy costs less than the columns a GEMM per
 * image computes in vain. */
static clnet_status conv_side_by_side(clnet_device *dev, const clnet_conv_geom *g,
                                      const clnet_tensor *x, const clnet_tensor *w,
                                      const clnet_tensor *b, clnet_tensor *y)
{
    const int64_t plane = g->oh * g->ow, rows = col_rows(g);
    const int64_t per_image = rows * plane * (int64_t)sizeof(cl_float);
    const int64_t chunk = clnet_cl_images_within((int64_t)SCRATCH_BUDGET_BYTES, per_image, g->n);
    const int64_t ld_max = clnet_cl_gemm_pad_cols(chunk * plane);
    if (rows * ld_max > INT_MAX)
        return clnet_fail(dev->ctx, CLNET_ERR_UNSUPPORTED, "conv (im2col) on %s: %lld x %lld "
                          "columns beyond 2^31-1 elements", dev->info.name, (long long)rows,
                          (long long)ld_max);
    cl_mem scratch;
    clnet_status st = clnet_cl_scratch_acquire(dev, (size_t)(rows * ld_max) * sizeof(cl_float),
                                               &scratch);
    if (st != CLNET_OK)
        return st;
    const int64_t y_bs = clnet_cl_targs(y).batch_stride;
    for (int64_t n0 = 0; n0 < g->n && st == CLNET_OK; n0 += chunk) {
        const int64_t count = g->n - n0 < chunk ? g->n - n0 : chunk;
        const int64_t ld = clnet_cl_gemm_pad_cols(count * plane);
        st = clnet_cl_im2col_images(dev, g, x, n0, count, scratch, 0, ld);
        clnet_cl_gemm_batch gb = conv_gemm(g, w, b, y, n0, 1);
        gb.n = count * plane;
        gb.b = (clnet_cl_gemm_operand){scratch, 0, ld, 0,
                                       g->c_per_group * g->kh * g->kw * ld};
        gb.c_row = gb.c_valid = plane;
        gb.c_block = y_bs;
        if (st == CLNET_OK)
            st = clnet_cl_gemm_tiled(dev, "conv (im2col)", &gb);
    }
    clnet_cl_scratch_release(dev, scratch);
    return st;
}

/* Images per launch pair: as many as the budget holds, at least one. */
static int64_t chunk_images(const clnet_conv_geom *g)
{
    const size_t per_image = scratch_image_bytes(g);
    int64_t chunk = per_image ? clnet_cl_images_within((int64_t)SCRATCH_BUDGET_BYTES,
                                                       (int64_t)per_image, g->n)
                              : g->n;
    while (chunk > 1 && (size_t)chunk * per_image / sizeof(cl_float) > INT_MAX)
        chunk--;
    return chunk;
}

/* Writes the padded planes of images [n0, n0 + count) at the start of the
 * scratch buffer. */
static clnet_status pad_chunk(clnet_device *dev, const clnet_conv_geom *g, const clnet_tensor *x,
                              cl_mem scratch, int64_t n0, int64_t count)
{
    cl_kernel kernel;
    clnet_status st = clnet_cl_kernel(dev, "im2col", NULL, "pad_image", &kernel);
    if (st != CLNET_OK)
        return st;
    clnet_cl_tensor_args xa = clnet_cl_targs(x);
    cl_int x_off = (cl_int)(xa.offset + n0 * xa.batch_stride);
    im2col_shape s = im2col_shape_of(g, true);
    const clnet_cl_arg args[] = {
        CLNET_CL_ARG(xa.mem), CLNET_CL_ARG(x_off), CLNET_CL_ARG(xa.batch_stride),
        CLNET_CL_ARG(scratch), CLNET_CL_ARG(s),
    };
    const size_t global[3] = {(size_t)s.oh, (size_t)g->c, (size_t)count};
    return clnet_cl_launch(dev, kernel, "pad_image", (int)(sizeof args / sizeof args[0]), args,
                           3, global, NULL);
}

clnet_status clnet_cl_conv_im2col(clnet_device *dev, const clnet_op *op, const clnet_tensor *x,
                                  const clnet_tensor *w, const clnet_tensor *b, clnet_tensor *y)
{
    const clnet_conv_geom g = clnet_conv_geom_of(op, x, w, y);
    if (clnet_cl_im2col_narrow(&g) || few_tiles(&g))
        return conv_side_by_side(dev, &g, x, w, b, y);
    if (implicit(&g) && !needs_padding(&g))
        return clnet_cl_conv_gemm1x1(dev, op, x, w, b, y);
    const int64_t chunk = chunk_images(&g);
    cl_mem scratch;
    clnet_status st = clnet_cl_scratch_acquire(dev, (size_t)chunk * scratch_image_bytes(&g),
                                               &scratch);
    if (st != CLNET_OK)
        return st;
    for (int64_t n0 = 0; n0 < g.n && st == CLNET_OK; n0 += chunk) {
        const int64_t count = g.n - n0 < chunk ? g.n - n0 : chunk;
        st = implicit(&g) ? pad_chunk(dev, &g, x, scratch, n0, count)
                          : clnet_cl_im2col_unroll(dev, &g, x, n0, count, scratch, 0,
                                                   col_rows(&g) * g.oh * g.ow, g.oh * g.ow, 0);
        if (st != CLNET_OK)
            break;
        clnet_cl_gemm_batch gb =
            implicit(&g) ? implicit_gemm(&g, w, b, y, scratch, 0, padded_elems(&g), n0, count)
                         : explicit_gemm(&g, w, b, y, scratch, 0, n0, count);
        st = clnet_cl_gemm_tiled(dev, "conv (im2col)", &gb);
    }
    clnet_cl_scratch_release(dev, scratch);
    return st;
}

/* A 1x1 window read at every input pixel: the input image is already the
 * B operand. Dilation does not matter for one tap. The window must be
 * stated in params.kernel for clnet_op_supported to accept the algorithm. */
bool clnet_cl_gemm1x1_supports(const clnet_conv_params *p)
{
    bool window_ok = p->kernel[0] <= 1 && p->kernel[1] == 1;
    return window_ok && p->stride[0] == 1 && p->stride[1] == 1 && p->pad_begin[0] == 0 &&
           p->pad_begin[1] == 0 && p->pad_end[0] == 0 && p->pad_end[1] == 0;
}

bool clnet_cl_gemm1x1_applies(const clnet_device *dev, const clnet_conv_geom *g)
{
    (void)dev;
    return g->kh == 1 && g->kw == 1 && implicit(g) && !needs_padding(g);
}

bool clnet_cl_gemm1x1_preferred(const clnet_device *dev, const clnet_conv_geom *g)
{
    return clnet_cl_gemm1x1_applies(dev, g) && g->k_per_group >= 8 && g->c_per_group >= 8;
}

/* Also the stride-1, unpadded case of im2col for any window: the input
 * planes are the padded planes. */
clnet_status clnet_cl_conv_gemm1x1(clnet_device *dev, const clnet_op *op, const clnet_tensor *x,
                                   const clnet_tensor *w, const clnet_tensor *b, clnet_tensor *y)
{
    const clnet_conv_geom g = clnet_conv_geom_of(op, x, w, y);
    if (clnet_cl_im2col_narrow(&g) || few_tiles(&g))
        return conv_side_by_side(dev, &g, x, w, b, y);
    clnet_cl_tensor_args xa = clnet_cl_targs(x);
    clnet_cl_gemm_batch gb = implicit_gemm(&g, w, b, y, xa.mem, xa.offset, xa.batch_stride, 0,
                                           g.n);
    return clnet_cl_gemm_tiled(dev, "conv (gemm)", &gb);
}
