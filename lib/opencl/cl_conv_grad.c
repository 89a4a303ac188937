/* cl_conv_grad.c - a convolution's two gradients as GEMMs over a chunk of
 * images at once (kernels in cl/conv_grad.cl, the GEMM of cl_gemm_tiled.c):
 * CONV_BACKWARD_WEIGHTS and CONV_TRANSPOSE, which is the data gradient.
 * Putting the images side by side makes the GEMM wide even where a layer's
 * planes are a few pixels (the deep layers of a net on small inputs), and
 * one launch covers many images. */
#include "opencl/cl_algo.h"
#include "opencl/cl_gemm_tiled.h"
#include "opencl/cl_matmul.h"

#include <limits.h>

/* The images of one chunk share the scratch buffer, sized so that a chunk's
 * matrices stay near a typical L3 while small layers take the whole batch
 * in one chunk. */
#define CHUNK_BUDGET_BYTES ((size_t)32 << 20)
/* VW of cl/conv_grad.cl. */
#define GRAD_VW 16

#define NARGS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Mirrors `grad_shape` in cl/conv_grad.cl (cl_int fields only). */
typedef struct grad_shape {
    cl_int c, h, w, k, oh, ow, kh, kw;
    cl_int stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
    cl_int groups, cpg, kpg, images;
} grad_shape;

/* How many images each chunk of a data gradient takes, and its scratch. */
typedef struct grad_plan {
    int64_t chunk;
    size_t per_image;          /* scratch elements per image of a chunk */
    size_t elements;           /* scratch of a full chunk, its columns padded */
} grad_plan;

static int64_t taps(const clnet_conv_geom *f)
{
    return f->c_per_group * f->kh * f->kw;
}

clnet_conv_geom clnet_cl_forward_of_transpose(const clnet_conv_geom *t)
{
    clnet_conv_geom f = *t;
    f.c = t->k;
    f.h = t->oh;
    f.w = t->ow;
    f.k = t->c;
    f.oh = t->h;
    f.ow = t->w;
    f.c_per_group = t->k_per_group;
    f.k_per_group = t->c_per_group;
    return f;
}

/* Scratch per image of a chunk: the columns (C * KH * KW rows of P) and
 * dy's copy (K x P). */
static grad_plan plan_of(const clnet_conv_geom *f)
{
    grad_plan pl;
    const int64_t plane = f->oh * f->ow;
    pl.per_image = (size_t)((f->c * f->kh * f->kw + f->k) * plane);
    pl.chunk = clnet_cl_images_within((int64_t)(CHUNK_BUDGET_BYTES / sizeof(cl_float)),
                                      (int64_t)pl.per_image, f->n);
    const int64_t columns = clnet_cl_gemm_pad_cols(pl.chunk * plane);
    pl.elements = (size_t)((f->c * f->kh * f->kw + f->k) * columns);
    return pl;
}

/* The weight gradient is one long product per group, dW^T (T x K/g) =
 * columns (T x Q) * dy as rows (Q x K/g), summed over every pixel of every
 * image. For stride 1 the columns are never written out: the GEMM reads
 * them as windows of the images zero-padded side by side (pad_cnhw), with
 * the output pixels on the padded grid and dy zero at the grid's padding;
 * strided layers and small planes unroll them (im2col_chunk). A layer
 * with few output channels and taps has too few GEMM tiles to keep the
 * device busy, so the product is cut into `slices` along Q, each a batch
 * entry of its own, and weights_sum_t adds the partial products up while
 * transposing them. An unpadded 1x1 layer of stride 1 needs no copy of its
 * input at all: A is x itself, one slice per image (a direct plan). */
typedef struct wgrad_plan {
    bool implicit;              /* stride 1, not direct: windows of the padded images */
    bool direct;                /* 1x1, stride 1, unpadded: A is x, a slice per image */
    int64_t hg, wg;             /* the grid of output pixels of one image */
    int64_t chunk, slices;      /* images per chunk; slices of a full chunk (a direct
                                   plan's shorter last chunk fills its first ones) */
    int64_t n, ldb;             /* GEMM columns per group (whole tiles); B's row stride */
    size_t part, a, b;          /* scratch elements: partials, A and B of a full chunk */
} wgrad_plan;

/* Work-items the sliced GEMM should have at least, the shortest slice
 * worth a work-item (its tiles read A and B in long runs), and the longest
 * one: a tile's rows of A and columns of B over a slice (12 + 32 floats a
 * step) stay in a core's L2, where the next work-items, the other tiles
 * of the same columns, find them again. A direct plan's slices are whole
 * planes, past SPLIT_MAX_LEN from 46x46 on, and still won by the copy of x
 * they save (MobileNet-v2's 56x56 pointwise layer, batch 32: 20 -> 10.6
 * ms); it takes planes from DIRECT_MIN_PLANE on (shorter slices would cost
 * partial products and work-items of little work). */
#define SPLIT_ITEMS 128
#define SPLIT_MIN_LEN 1024
#define SPLIT_MAX_LEN 2048
#define DIRECT_MIN_PLANE 512

/* Grid elements of `images` images, cut into `slices` equal slices; one
 * image's plane in a direct plan. */
static int64_t slice_len(const wgrad_plan *p, int64_t images)
{
    return p->direct ? p->hg * p->wg : clnet_ceil_div(images * p->hg * p->wg, p->slices);
}

/* The length of A's rows for `images` images: the slices, plus the reach of
 * the last window for stride 1, in whole grid rows; x's plane in a direct
 * plan. */
static int64_t a_ld(const clnet_conv_geom *f, const wgrad_plan *p, int64_t images)
{
    if (p->direct)
        return p->hg * p->wg;
    const int64_t q = p->slices * slice_len(p, images);
    if (!p->implicit)
        return q;
    const int64_t reach = f->dil_h * (f->kh - 1) * p->wg + f->dil_w * (f->kw - 1);
    return clnet_ceil_div(q + reach, p->wg) * p->wg;
}

/* Grid rows of B (dy as rows) for `images` images. */
static int64_t b_rows(const wgrad_plan *p, int64_t images)
{
    return p->direct ? images * p->hg : clnet_ceil_div(p->slices * slice_len(p, images), p->wg);
}

/* `cols`: the columns of the GEMM's narrow tile on the device (the widest,
 * CLNET_CL_GEMM_TILE_COLS, where no device is at hand: that plan's scratch
 * is the largest, so a layer it fits fits on every device). */
static wgrad_plan wgrad_plan_of(const clnet_conv_geom *f, int64_t cols)
{
    wgrad_plan p;
    /* On a padded grid of which at most a third is output pixels (planes of
     * 2x2 and 1x1 under a 3x3 window) most of the GEMM's products are with
     * zeros of dy: the unrolled columns cost less there (256 channels on
     * 2x2: 1.5-2x faster). At 4x4 (16 of 36) the lane-by-lane gathers of
     * unrolling took longer than the products they saved. */
    const int64_t hg = f->oh + f->dil_h * (f->kh - 1), wg = f->ow + f->dil_w * (f->kw - 1);
    const int64_t plane = f->oh * f->ow;
    const int64_t items = clnet_ceil_div(taps(f), 8) *
                          clnet_ceil_div(f->k_per_group, cols) * f->groups;
    const int64_t budget = (int64_t)(CHUNK_BUDGET_BYTES / sizeof(cl_float));
    /* Whole tiles of columns, the last group's zero-padded, take the
     * GEMM's vector path. */
    p.n = clnet_ceil_div(f->k_per_group, cols) * cols;
    /* A direct chunk's budget still counts x's rows, which the GEMM streams,
     * and each image's partial product; it must give the GEMM SPLIT_ITEMS
     * work-items. */
    const int64_t direct_image = (f->c + f->k + CLNET_CL_GEMM_TILE_COLS) * plane +
                                 f->groups * taps(f) * p.n;
    const int64_t direct_chunk = clnet_cl_images_within(budget, direct_image, f->n);
    p.direct = f->kh == 1 && f->kw == 1 && f->stride_h == 1 && f->stride_w == 1 &&
               f->oh == f->h && f->ow == f->w && plane >= DIRECT_MIN_PLANE &&
               direct_chunk * items >= SPLIT_ITEMS;
    p.implicit = !p.direct && f->stride_h == 1 && f->stride_w == 1 && 3 * plane > hg * wg;
    p.hg = p.implicit ? hg : f->oh;
    p.wg = p.implicit ? wg : f->ow;
    const int64_t a_rows = p.direct ? 0 : p.implicit ? f->c : f->c * f->kh * f->kw;
    const int64_t per_image = (a_rows + f->k + CLNET_CL_GEMM_TILE_COLS) * p.hg * p.wg;
    p.chunk = p.direct ? direct_chunk : clnet_cl_images_within(budget, per_image, f->n);
    const int64_t q = p.chunk * p.hg * p.wg;
    int64_t slices = clnet_ceil_div(SPLIT_ITEMS, items);
    if (slices > q / SPLIT_MIN_LEN)
        slices = q / SPLIT_MIN_LEN;
    if (slices < clnet_ceil_div(q, SPLIT_MAX_LEN))
        slices = clnet_ceil_div(q, SPLIT_MAX_LEN);
    p.slices = p.direct ? p.chunk : slices < 1 ? 1 : slices;
    /* Rows of B an even number of cache lines apart would fall into a
     * fraction of the cache's sets (256 channels: every row in 1/16 of
     * them), so the stride is an odd number of 16 floats. */
    p.ldb = clnet_ceil_div((f->groups - 1) * f->k_per_group + p.n, 16);
    p.ldb = (p.ldb | 1) * 16;
    p.part = (size_t)(p.slices * f->groups * taps(f) * p.n);
    p.a = (size_t)(a_rows * a_ld(f, &p, p.chunk));
    p.b = (size_t)(b_rows(&p, p.chunk) * p.wg * p.ldb);
    return p;
}

/* Everything the kernels index must fit an int. */
static bool fits(const clnet_conv_geom *f)
{
    return plan_of(f).elements <= INT_MAX;
}

static bool weights_fit(const clnet_conv_geom *f)
{
    const wgrad_plan p = wgrad_plan_of(f, CLNET_CL_GEMM_TILE_COLS);
    return p.part + p.a + p.b <= INT_MAX;
}

/* The GEMM pays off once every output element sums enough products and the
 * operands are wide enough for its 12 x 32 tiles; depthwise and narrow
 * groups stay with the direct kernels. */
static bool worth(const clnet_conv_geom *f)
{
    return f->k_per_group >= 16 && taps(f) >= 16;
}

/* The weight gradient's columns pay off from 16 taps per output channel on
 * (LeNet-5's first layer, 25 taps for 6 channels: 4x faster than the direct
 * kernel); a depthwise 3x3 layer's 9 would copy its input 9 times for
 * little. */
static bool weights_worth(const clnet_conv_geom *f)
{
    return taps(f) >= 16 && (f->k_per_group >= 16 || f->groups == 1);
}

bool clnet_cl_grad_weights_gemm_applies(const clnet_conv_geom *f, bool preferred)
{
    return weights_fit(f) && (!preferred || weights_worth(f));
}

bool clnet_cl_grad_data_gemm_applies(const clnet_conv_geom *t, bool preferred)
{
    clnet_conv_geom f = clnet_cl_forward_of_transpose(t);
    return fits(&f) && (!preferred || worth(&f));
}

static grad_shape shape_of(const clnet_conv_geom *f, int64_t images)
{
    grad_shape s = {
        .c = (cl_int)f->c, .h = (cl_int)f->h, .w = (cl_int)f->w, .k = (cl_int)f->k,
        .oh = (cl_int)f->oh, .ow = (cl_int)f->ow, .kh = (cl_int)f->kh, .kw = (cl_int)f->kw,
        .stride_h = (cl_int)f->stride_h, .stride_w = (cl_int)f->stride_w,
        .pad_h = (cl_int)f->pad_h, .pad_w = (cl_int)f->pad_w,
        .dil_h = (cl_int)f->dil_h, .dil_w = (cl_int)f->dil_w,
        .groups = (cl_int)f->groups, .cpg = (cl_int)f->c_per_group,
        .kpg = (cl_int)f->k_per_group, .images = (cl_int)images,
    };
    return s;
}

/* A conv_grad kernel over `global`, in the groups of
 * clnet_cl_launch_rounded (the kernels skip the excess). */
static clnet_status launch(clnet_device *dev, const char *name, int nargs,
                           const clnet_cl_arg *args, const size_t global[3])
{
    return clnet_cl_launch_rounded(dev, "conv_grad", name, nargs, args, 3, global);
}

/* The columns of x's images [n0, n0 + images) into col (rows of Q). */
static clnet_status im2col_chunk(clnet_device *dev, const clnet_tensor *x, int64_t n0,
                                 const grad_shape *s, cl_mem col, cl_int col_off, cl_int ld)
{
    clnet_cl_tensor_args xa = clnet_cl_targs(x);
    cl_int x_off = (cl_int)(xa.offset + n0 * xa.batch_stride);
    const clnet_cl_arg args[] = {
        CLNET_CL_ARG(xa.mem), CLNET_CL_ARG(x_off), CLNET_CL_ARG(xa.batch_stride),
        CLNET_CL_ARG(col), CLNET_CL_ARG(col_off), CLNET_CL_ARG(ld), CLNET_CL_ARG(*s),
    };
    const size_t global[3] = {(size_t)clnet_ceil_div(ld, GRAD_VW),
                              (size_t)((int64_t)s->c * s->kh * s->kw), 1};
    return launch(dev, "im2col_chunk", NARGS(args), args, global);
}

clnet_status clnet_cl_im2col_images(clnet_device *dev, const clnet_conv_geom *g,
                                    const clnet_tensor *x, int64_t n0, int64_t images,
                                    cl_mem col, int64_t off, int64_t ld)
{
    const int64_t plane = g->oh * g->ow;
    if ((g->stride_h > 1 || g->stride_w > 1) && plane >= CLNET_CL_GEMM_TILE_COLS)
        return clnet_cl_im2col_unroll(dev, g, x, n0, images, col, off, plane, ld, ld);
    const grad_shape s = shape_of(g, images);
    return im2col_chunk(dev, x, n0, &s, col, (cl_int)off, (cl_int)ld);
}

/* dy's images as columns (channel-major, rows ld long), the data
 * gradient's right-hand side. */
static clnet_status dy_cols(clnet_device *dev, const clnet_tensor *dy, int64_t n0,
                            const grad_shape *s, cl_mem dst, cl_int dst_off, cl_int ld)
{
    clnet_cl_tensor_args da = clnet_cl_targs(dy);
    cl_int dy_off = (cl_int)(da.offset + n0 * da.batch_stride);
    const clnet_cl_arg args[] = {
        CLNET_CL_ARG(da.mem), CLNET_CL_ARG(dy_off), CLNET_CL_ARG(da.batch_stride),
        CLNET_CL_ARG(dst), CLNET_CL_ARG(dst_off), CLNET_CL_ARG(ld), CLNET_CL_ARG(*s),
    };
    const size_t global[3] = {(size_t)(ld / GRAD_VW), (size_t)s->k, 1};
    return launch(dev, "dy_cols", NARGS(args), args, global);
}

/* x's images [n0, n0 + images) zero-padded, channel by channel, into rows
 * of ld elements at the scratch's element a_off. */
static clnet_status pad_chunk(clnet_device *dev, const clnet_tensor *x, int64_t n0,
                              const grad_shape *s, const wgrad_plan *p, cl_mem scratch,
                              cl_int a_off, cl_int ld)
{
    clnet_cl_tensor_args xa = clnet_cl_targs(x);
    cl_int x_off = (cl_int)(xa.offset + n0 * xa.batch_stride);
    cl_int hg = (cl_int)p->hg, wg = (cl_int)p->wg;
    const clnet_cl_arg args[] = {
        CLNET_CL_ARG(xa.mem), CLNET_CL_ARG(x_off), CLNET_CL_ARG(xa.batch_stride),
        CLNET_CL_ARG(scratch), CLNET_CL_ARG(a_off), CLNET_CL_ARG(ld), CLNET_CL_ARG(hg),
        CLNET_CL_ARG(wg), CLNET_CL_ARG(*s),
    };
    const size_t global[3] = {(size_t)(ld / wg), (size_t)s->c, 1};
    return launch(dev, "pad_cnhw", NARGS(args), args, global);
}

/* dy's images [n0, n0 + images) as `nrows` grid rows of pixel rows. */
static clnet_status dy_rows(clnet_device *dev, const clnet_tensor *dy, int64_t n0,
                            const grad_shape *s, const wgrad_plan *p, cl_mem scratch,
                            cl_int b_off, cl_int nrows)
{
    clnet_cl_tensor_args da = clnet_cl_targs(dy);
    cl_int dy_off = (cl_int)(da.offset + n0 * da.batch_stride);
    cl_int hg = (cl_int)p->hg, wg = (cl_int)p->wg, ldb = (cl_int)p->ldb;
    const clnet_cl_arg args[] = {
        CLNET_CL_ARG(da.mem), CLNET_CL_ARG(dy_off), CLNET_CL_ARG(da.batch_stride),
        CLNET_CL_ARG(scratch), CLNET_CL_ARG(b_off), CLNET_CL_ARG(ldb), CLNET_CL_ARG(nrows),
        CLNET_CL_ARG(hg), CLNET_CL_ARG(wg), CLNET_CL_ARG(*s),
    };
    const size_t global[3] = {(size_t)nrows, (size_t)(ldb / GRAD_VW), 1};
    return launch(dev, "dy_rows_grid", NARGS(args), args, global);
}

/* The sliced GEMM of one chunk into the partials at the scratch's start;
 * A is at the scratch's a_off, or x's images from n0 on in a direct plan.
 * There the first chunk writes every partial and a shorter last one adds
 * to its first `images` only: weights_sum_t still adds them all up. */
static clnet_status chunk_gemm(clnet_device *dev, const clnet_conv_geom *f, const wgrad_plan *p,
                               const clnet_tensor *x, int64_t n0, int64_t images,
                               cl_mem scratch, int64_t a_off, int64_t b_off, bool accumulate)
{
    const int64_t t = taps(f), len = slice_len(p, images), ld = a_ld(f, p, images);
    const int64_t a_group = (p->implicit ? f->c_per_group : t) * ld;
    clnet_cl_gemm_operand a = {scratch, a_off, ld, len, a_group};
    if (p->direct) {
        const clnet_cl_tensor_args xa = clnet_cl_targs(x);
        a = (clnet_cl_gemm_operand){xa.mem, xa.offset + n0 * xa.batch_stride, ld,
                                    xa.batch_stride, a_group};
    }
    clnet_cl_gemm_batch gb = {
        .m = t, .n = p->n, .k = len, .images = p->direct ? images : p->slices,
        .groups = f->groups, .a = a,
        .b = {scratch, b_off, p->ldb, len * p->ldb, f->k_per_group},
        .c = {scratch, 0, p->n, f->groups * t * p->n, t * p->n},
        .accumulate = accumulate,
    };
    if (p->implicit) {
        gb.a_kh = f->kh;
        gb.a_kw = f->kw;
        gb.a_dh = f->dil_h * p->wg;
        gb.a_dw = f->dil_w;
    }
    return clnet_cl_gemm_tiled(dev, "conv_backward_weights (gemm)", &gb);
}

/* Adds up the slices' partial products into dw. */
static clnet_status sum_slices(clnet_device *dev, const clnet_conv_geom *f, const wgrad_plan *p,
                               cl_mem scratch, clnet_tensor *dw)
{
    clnet_cl_tensor_args wa = clnet_cl_targs(dw);
    cl_int slices = (cl_int)p->slices, ldp = (cl_int)p->n;
    cl_int stride = (cl_int)(f->groups * taps(f) * p->n);
    grad_shape s = shape_of(f, p->chunk);
    const clnet_cl_arg args[] = {
        CLNET_CL_ARG(scratch), CLNET_CL_ARG(slices), CLNET_CL_ARG(stride), CLNET_CL_ARG(ldp),
        CLNET_CL_TENSOR(wa), CLNET_CL_ARG(s),
    };
    const size_t global[3] = {(size_t)clnet_ceil_div(taps(f), GRAD_VW),
                              (size_t)clnet_ceil_div(f->k_per_group, GRAD_VW),
                              (size_t)f->groups};
    return launch(dev, "weights_sum_t", NARGS(args), args, global);
}

clnet_status clnet_cl_conv_backward_weights_gemm(clnet_device *dev, const clnet_op *op,
                                                 const clnet_tensor *x, const clnet_tensor *dy,
                                                 clnet_tensor *dw)
{
    const clnet_conv_geom f = clnet_conv_geom_of(op, x, dw, dy);
    /* the plan pads to whole narrow tiles (the GEMM may still take its wide
     * tile over them), never past the no-device plan of weights_fit; the
     * product sums over every pixel of the batch */
    int rows, cols;
    clnet_cl_gemm_tile(dev, taps(&f), f.k_per_group, f.n * f.oh * f.ow, &rows, &cols);
    const wgrad_plan p = wgrad_plan_of(&f, cols < CLNET_CL_GEMM_TILE_COLS ? cols
                                                                         : CLNET_CL_GEMM_TILE_COLS);
    cl_mem scratch;
    clnet_status st = clnet_cl_scratch_acquire(dev, (p.part + p.a + p.b) * sizeof(cl_float),
                                               &scratch);
    if (st != CLNET_OK)
        return st;
    const int64_t a_off = (int64_t)p.part, b_off = (int64_t)(p.part + p.a);
    for (int64_t n0 = 0; n0 < f.n && st == CLNET_OK; n0 += p.chunk) {
        const int64_t images = f.n - n0 < p.chunk ? f.n - n0 : p.chunk;
        grad_shape s = shape_of(&f, images);
        const cl_int ld = (cl_int)a_ld(&f, &p, images);
        st = p.direct     ? CLNET_OK
             : p.implicit ? pad_chunk(dev, x, n0, &s, &p, scratch, (cl_int)a_off, ld)
                          : clnet_cl_im2col_images(dev, &f, x, n0, images, scratch, a_off, ld);
        if (st == CLNET_OK)
            st = dy_rows(dev, dy, n0, &s, &p, scratch, (cl_int)b_off,
                         (cl_int)b_rows(&p, images));
        if (st == CLNET_OK)
            st = chunk_gemm(dev, &f, &p, x, n0, images, scratch, a_off, b_off, n0 > 0);
    }
    if (st == CLNET_OK)
        st = sum_slices(dev, &f, &p, scratch, dw);
    clnet_cl_scratch_release(dev, scratch);
    return st;
}

/* The data gradient of the forward convolution whose output is x: per
 * chunk, the columns (T x Q per group) = transposed weights (T x K/g) * dy
 * as columns (K/g x Q), summed back into y by col2im (plus the bias). The
 * GEMM reads the weights (K/g x T per group) as its transposed A: a copy
 * of them transposed took 0.5-1.1 ms of the 3 ms of ResNet-18's 256-channel
 * stride-2 gradient at batch 32. */
clnet_status clnet_cl_conv_transpose_gemm(clnet_device *dev, const clnet_op *op,
                                          const clnet_tensor *x, const clnet_tensor *w,
                                          const clnet_tensor *b, clnet_tensor *y)
{
    const clnet_conv_geom tg = clnet_conv_geom_of(op, x, w, y);
    const clnet_conv_geom f = clnet_cl_forward_of_transpose(&tg);
    const grad_plan p = plan_of(&f);
    const int64_t plane = f.oh * f.ow, t = taps(&f);
    cl_mem scratch;
    clnet_status st = clnet_cl_scratch_acquire(dev, p.elements * sizeof(cl_float), &scratch);
    if (st != CLNET_OK)
        return st;
    clnet_cl_tensor_args wa = clnet_cl_targs(w);
    clnet_cl_tensor_args ba = b ? clnet_cl_targs(b) : wa;
    clnet_cl_tensor_args ya = clnet_cl_targs(y);
    cl_int has_bias = b != NULL;
    const cl_int col_off = 0;
    for (int64_t n0 = 0; n0 < f.n && st == CLNET_OK; n0 += p.chunk) {
        const int64_t images = f.n - n0 < p.chunk ? f.n - n0 : p.chunk;
        const cl_int ld = (cl_int)clnet_cl_gemm_pad_cols(images * plane);
        const cl_int cols_off = (cl_int)(f.c * f.kh * f.kw * ld);
        grad_shape s = shape_of(&f, images);
        st = dy_cols(dev, x, n0, &s, scratch, cols_off, ld);
        clnet_cl_gemm_batch gb = {
            .m = t, .n = ld, .k = f.k_per_group, .images = 1, .groups = f.groups,
            .a = {wa.mem, wa.offset, wa.batch_stride, 0, f.k_per_group * wa.batch_stride},
            .b = {scratch, cols_off, ld, 0, f.k_per_group * ld},
            .c = {scratch, col_off, ld, 0, t * ld},
            .a_trans = true,
        };
        if (st == CLNET_OK)
            st = clnet_cl_gemm_tiled(dev, "conv_transpose (gemm)", &gb);
        cl_int y_off = (cl_int)(ya.offset + n0 * ya.batch_stride);
        const clnet_cl_arg args[] = {
            CLNET_CL_ARG(scratch), CLNET_CL_ARG(col_off), CLNET_CL_ARG(ld), CLNET_CL_ARG(ba.mem),
            CLNET_CL_ARG(ba.offset), CLNET_CL_ARG(has_bias), CLNET_CL_ARG(ya.mem),
            CLNET_CL_ARG(y_off), CLNET_CL_ARG(ya.batch_stride), CLNET_CL_ARG(s),
        };
        const size_t global[3] = {(size_t)clnet_ceil_div(images * f.h * f.w, GRAD_VW),
                                  (size_t)f.c, 1};
        if (st == CLNET_OK)
            st = launch(dev, "col2im_chunk", NARGS(args), args, global);
    }
    clnet_cl_scratch_release(dev, scratch);
    return st;
}

/* A stride-1 transposed convolution is the forward convolution, with
 * padding dil * (k - 1) - pad, of its weights rotated by 180 degrees with
 * input and output channels swapped: its geometry, false where a padding
 * would be negative. */
static bool forward_padding(const clnet_conv_geom *t, const clnet_tensor *x,
                            const clnet_tensor *y, clnet_op *fwd)
{
    if (t->stride_h != 1 || t->stride_w != 1)
        return false;
    const int64_t span_h = t->dil_h * (t->kh - 1), span_w = t->dil_w * (t->kw - 1);
    if (t->pad_h > span_h || t->pad_w > span_w)
        return false;
    clnet_conv_params *p = &fwd->u.conv;
    p->pad_begin[0] = (int)(span_h - t->pad_h);
    p->pad_begin[1] = (int)(span_w - t->pad_w);
    p->pad_end[0] = (int)(clnet_geom_h(y) - clnet_geom_h(x) + span_h - p->pad_begin[0]);
    p->pad_end[1] = (int)(clnet_geom_w(y) - clnet_geom_w(x) + span_w - p->pad_begin[1]);
    return p->pad_end[0] >= 0 && p->pad_end[1] >= 0;
}

/* On small planes the rotated weights' copy (a fresh buffer each call)
 * costs more than the GEMM; there the transposed weights and col2im of
 * clnet_cl_conv_transpose_gemm were 3-10x faster (ResNet-18's 512-channel
 * 3x3 layer on 1x1 planes). A depthwise layer has no GEMM worth the name:
 * its forward kernel wins on every plane (MobileNet-v2's 32x960x2x2 on
 * PoCL: 4.3 ms through the GEMM path, 1.0 ms through the forward one). */
bool clnet_cl_grad_data_forward_applies(const clnet_op *op, const clnet_conv_geom *t,
                                        const clnet_tensor *x, const clnet_tensor *y)
{
    clnet_op fwd = *op;
    if (!forward_padding(t, x, y, &fwd))
        return false;
    if (t->groups == t->c && t->groups == t->k)
        return true;
    clnet_conv_geom f = *t;
    f.pad_h = fwd.u.conv.pad_begin[0];
    f.pad_w = fwd.u.conv.pad_begin[1];
    return !clnet_cl_im2col_narrow(&f);
}

/* The forward convolution `fwd` of x with w's weights rotated by 180
 * degrees, input and output channels swapped, into y: the rotated weights
 * go to a buffer of their own for the time of the op, since the algorithm
 * clnet_cl_conv_forward picks may need the scratch buffer. t is the
 * transposed op's geometry. */
static clnet_status forward_rotated(clnet_device *dev, const clnet_conv_geom *t,
                                    const clnet_op *fwd, const clnet_tensor *x,
                                    const clnet_tensor *w, const clnet_tensor *b, clnet_tensor *y)
{
    /* the flip kernel's cpg/kpg: input and output channels per group */
    grad_shape s = {.kh = (cl_int)t->kh, .kw = (cl_int)t->kw, .cpg = (cl_int)t->c_per_group,
                    .kpg = (cl_int)t->k_per_group};
    const size_t count = (size_t)(t->k * t->c_per_group * t->kh * t->kw);
    cl_int err;
    cl_mem flipped = clCreateBuffer(clnet_cl(dev)->context, CL_MEM_READ_WRITE,
                                    count * sizeof(cl_float), NULL, &err);
    if (err != CL_SUCCESS)
        return clnet_cl_check(dev, err, "clCreateBuffer(rotated weights)");
    clnet_cl_tensor_args wa = clnet_cl_targs(w);
    clnet_status st;
    if (t->kh * t->kw == 1 && t->groups == 1) {
        /* a 1x1 window's rotation is the channel matrix's transpose, which
         * the blocked transpose turns faster than a work-item per window
         * (ResNet-50's 512 -> 1024 shortcut, kernel timer, best of 9:
         * 1.45-1.52 -> 0.55-0.61 ms) */
        const clnet_cl_matrix src = {wa.mem, wa.offset, wa.batch_stride},
                              dst = {flipped, 0, t->c};
        st = clnet_cl_transpose(dev, src, t->c, t->k, dst, t->k, t->c);
    } else {
        cl_int wf_off = 0;
        const clnet_cl_arg args[] = {CLNET_CL_TENSOR(wa), CLNET_CL_ARG(flipped),
                                     CLNET_CL_ARG(wf_off), CLNET_CL_ARG(s)};
        const size_t global[3] = {(size_t)t->c_per_group, (size_t)t->k, 1};
        st = launch(dev, "flip_weights", NARGS(args), args, global);
    }
    /* the rotated weights as a tensor of the forward convolution's shape */
    int64_t wf_shape[CLNET_MAX_DIMS] = {t->k, t->c_per_group};
    for (int d = 2; d < w->ndim; d++)
        wf_shape[d] = w->shape[d];
    clnet_storage storage;
    clnet_tensor wf = clnet_cl_buffer_tensor(dev, flipped, 0, w->ndim, wf_shape, &storage);
    if (st == CLNET_OK)
        st = clnet_cl_conv_forward(dev, fwd, x, &wf, b, y);
    clReleaseMemObject(flipped);
    return st;
}

/* The forward convolution op that a CONV_TRANSPOSE op becomes, before its
 * padding and strides are set: the algorithm left to the forward rule. */
static clnet_op forward_op_of(const clnet_op *op)
{
    clnet_op fwd = *op;
    fwd.kind = CLNET_OP_CONV;
    fwd.u.conv.algo = CLNET_CONV_ALGO_AUTO;
    fwd.u.conv.fuse_act = false;
    fwd.u.conv.output_padding[0] = fwd.u.conv.output_padding[1] = 0;
    return fwd;
}

/* The data gradient of a stride-1 convolution through the forward
 * algorithms (cl_algo.c), which then pick what suits the layer (1x1 as one
 * GEMM on dy, no columns). */
clnet_status clnet_cl_conv_transpose_forward(clnet_device *dev, const clnet_op *op,
                                             const clnet_tensor *x, const clnet_tensor *w,
                                             const clnet_tensor *b, clnet_tensor *y)
{
    const clnet_conv_geom t = clnet_conv_geom_of(op, x, w, y);
    clnet_op fwd = forward_op_of(op);
    if (!forward_padding(&t, x, y, &fwd))
        return clnet_fail(dev->ctx, CLNET_ERR_INTERNAL, "conv_transpose on %s: no forward "
                          "equivalent", dev->info.name);
    return forward_rotated(dev, &t, &fwd, x, w, b, y);
}

/* An unpadded strided 1x1 layer's data gradient (ResNet's downsampling
 * shortcuts) reads dy as it is: the product of the swapped weights with dy
 * is a 1x1 forward convolution at dy's plane (one GEMM over the batch), and
 * insert_strided spreads it onto dx's grid. The unrolled path copied dy
 * into columns first and gathered dx back from a column buffer; on
 * ResNet-50's 512 -> 1024 channels, 28 -> 14, it took 1.8x this one. The
 * product's forward must be one the 1x1 GEMM rule takes (thin layers stay
 * on the unrolled path) on planes wide enough for a GEMM per image (at 4x4
 * the two buffers made it 2x slower than the unrolled path; at 8x8 and
 * 16x16 it was 1.9x and 2.6x faster), and its buffer one allocation. */
bool clnet_cl_grad_data_1x1_applies(const clnet_device *dev, const clnet_conv_geom *t)
{
    if (t->kh != 1 || t->kw != 1 || t->pad_h != 0 || t->pad_w != 0 ||
        t->stride_h * t->stride_w < 2)
        return false;
    clnet_conv_geom product = *t;
    product.oh = t->h;
    product.ow = t->w;
    product.stride_h = product.stride_w = 1;
    const int64_t elements = t->n * t->k * t->h * t->w;
    return clnet_cl_gemm1x1_preferred(dev, &product) && !clnet_cl_im2col_narrow(&product) &&
           elements <= INT_MAX &&
           (dev->info.max_alloc_bytes == 0 ||
            (size_t)elements * sizeof(cl_float) <= dev->info.max_alloc_bytes);
}

/* dx from the product at dy's plane (insert_strided), plus b where set. */
static clnet_status spread_strided(clnet_device *dev, const clnet_conv_geom *t, cl_mem product,
                                   const clnet_tensor *w, const clnet_tensor *b,
                                   clnet_tensor *dx)
{
    /* insert_strided's shape is the forward layer's: dx is its input */
    const clnet_conv_geom f = clnet_cl_forward_of_transpose(t);
    grad_shape s = shape_of(&f, f.n);
    clnet_cl_tensor_args ba = b ? clnet_cl_targs(b) : clnet_cl_targs(w);
    clnet_cl_tensor_args da = clnet_cl_targs(dx);
    cl_int has_bias = b != NULL;
    const clnet_cl_arg args[] = {
        CLNET_CL_ARG(product), CLNET_CL_ARG(ba.mem),  CLNET_CL_ARG(ba.offset),
        CLNET_CL_ARG(has_bias), CLNET_CL_TENSOR(da), CLNET_CL_ARG(s),
    };
    const size_t global[3] = {(size_t)(f.c * f.h), (size_t)f.n, 1};
    return launch(dev, "insert_strided", NARGS(args), args, global);
}

clnet_status clnet_cl_conv_transpose_1x1(clnet_device *dev, const clnet_op *op,
                                         const clnet_tensor *x, const clnet_tensor *w,
                                         const clnet_tensor *b, clnet_tensor *y)
{
    const clnet_conv_geom t = clnet_conv_geom_of(op, x, w, y);
    clnet_op fwd = forward_op_of(op);
    for (int d = 0; d < 2; d++) {
        fwd.u.conv.stride[d] = 1;
        fwd.u.conv.pad_begin[d] = fwd.u.conv.pad_end[d] = 0;
    }
    /* the product at dy's plane: dx's channels, x's (dy's) pixels */
    int64_t shape[CLNET_MAX_DIMS] = {t.n, t.k};
    for (int d = 2; d < x->ndim; d++)
        shape[d] = x->shape[d];
    const size_t bytes = (size_t)(t.n * t.k * t.h * t.w) * sizeof(cl_float);
    cl_int err;
    cl_mem product = clCreateBuffer(clnet_cl(dev)->context, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err != CL_SUCCESS)
        return clnet_cl_check(dev, err, "clCreateBuffer(strided 1x1 data gradient)");
    clnet_storage storage;
    clnet_tensor tp = clnet_cl_buffer_tensor(dev, product, 0, x->ndim, shape, &storage);
    clnet_status st = forward_rotated(dev, &t, &fwd, x, w, NULL, &tp);
    if (st == CLNET_OK)
        st = spread_strided(dev, &t, product, w, b, y);
    clReleaseMemObject(product);
    return st;
}

/* DW_TAPS of cl/conv_grad.cl. */
#define DEPTHWISE_TAPS 25

/* The padded grid of a stride-1 depthwise weight gradient: x and dy both
 * laid out by pad_cnhw in rows of ld, long enough for the last vector of
 * dy (qv, whole vectors) plus the reach of the window. */
static wgrad_plan depthwise_plan(const clnet_conv_geom *f, int64_t *ld, int64_t *qv)
{
    wgrad_plan p = {.implicit = true, .chunk = f->n, .slices = 1};
    p.hg = f->oh + f->dil_h * (f->kh - 1);
    p.wg = f->ow + f->dil_w * (f->kw - 1);
    const int64_t reach = f->dil_h * (f->kh - 1) * p.wg + f->dil_w * (f->kw - 1);
    *qv = clnet_ceil_div(f->n * p.hg * p.wg, GRAD_VW) * GRAD_VW;
    *ld = clnet_ceil_div(*qv + reach, p.wg) * p.wg;
    return p;
}

bool clnet_cl_depthwise_weights_applies(const clnet_conv_geom *f)
{
    if (clnet_cl_depthwise3x3_weights_applies(f))
        return true;
    if (f->groups != f->c || f->groups != f->k || f->stride_h != 1 || f->stride_w != 1 ||
        f->kh * f->kw > DEPTHWISE_TAPS)
        return false;
    int64_t ld, qv;
    depthwise_plan(f, &ld, &qv);
    return 2 * f->c * ld <= INT_MAX;
}

/* x and dy of the whole batch zero-padded onto one grid (dy as the input of
 * pad_cnhw with its own plane and no padding), then one correlation per
 * channel. */
clnet_status clnet_cl_depthwise_backward_weights(clnet_device *dev, const clnet_op *op,
                                                 const clnet_tensor *x, const clnet_tensor *dy,
                                                 clnet_tensor *dw)
{
    const clnet_conv_geom f = clnet_conv_geom_of(op, x, dw, dy);
    if (clnet_cl_depthwise3x3_weights_applies(&f))
        return clnet_cl_depthwise3x3_backward_weights(dev, op, x, dy, dw);
    int64_t ld64, qv64;
    const wgrad_plan p = depthwise_plan(&f, &ld64, &qv64);
    const cl_int ld = (cl_int)ld64, qv = (cl_int)qv64;
    cl_kernel kernel;
    clnet_status st = clnet_cl_kernel(dev, "conv_grad", NULL, "depthwise_weights", &kernel);
    size_t local = 1;
    if (st == CLNET_OK)
        st = clnet_cl_reduce_size(dev, kernel, DEPTHWISE_TAPS * sizeof(cl_float),
                                  (size_t)(qv / GRAD_VW), &local);
    cl_mem scratch;
    if (st == CLNET_OK)
        st = clnet_cl_scratch_acquire(dev, (size_t)(2 * f.c * ld) * sizeof(cl_float), &scratch);
    if (st != CLNET_OK)
        return st;
    const cl_int xp_off = 0, dyg_off = (cl_int)(f.c * ld);
    grad_shape s = shape_of(&f, f.n);
    st = pad_chunk(dev, x, 0, &s, &p, scratch, xp_off, ld);
    /* dy read as an unpadded input of its own plane */
    grad_shape sd = s;
    sd.h = s.oh;
    sd.w = s.ow;
    sd.pad_h = sd.pad_w = 0;
    if (st == CLNET_OK)
        st = pad_chunk(dev, dy, 0, &sd, &p, scratch, dyg_off, ld);
    clnet_cl_tensor_args wa = clnet_cl_targs(dw);
    cl_int dh = (cl_int)(f.dil_h * p.wg), dws = (cl_int)f.dil_w;
    const clnet_cl_arg args[] = {
        CLNET_CL_ARG(scratch), CLNET_CL_ARG(xp_off), CLNET_CL_ARG(scratch), CLNET_CL_ARG(dyg_off),
        CLNET_CL_ARG(ld), CLNET_CL_ARG(qv), CLNET_CL_ARG(dh), CLNET_CL_ARG(dws),
        CLNET_CL_TENSOR(wa), CLNET_CL_ARG(s),
        CLNET_CL_LOCAL(DEPTHWISE_TAPS * local * sizeof(cl_float)),
    };
    const size_t global = (size_t)f.c * local;
    if (st == CLNET_OK)
        st = clnet_cl_launch(dev, kernel, "depthwise_weights", NARGS(args), args, 1, &global,
                             &local);
    clnet_cl_scratch_release(dev, scratch);
    return st;
}
