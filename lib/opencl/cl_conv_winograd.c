/* cl_conv_winograd.c - ALGO_WINOGRAD: F(2x2, 3x3) and F(4x4, 3x3) for
 * stride-1, undilated 3x3 convolutions of one group: filter and input
 * transforms (cl/winograd.cl), 16 or 36 GEMMs over the tiles of a chunk of
 * images (cl_gemm_tiled.c), and the output transform with the bias and a
 * fused activation. 16 products per 4 outputs, or 36 per 16, instead of 36
 * per 4: 2.25x or 4x fewer multiply-adds than im2col. The weight gradient
 * of the same layers runs the same way: the input transform, one of the
 * output gradient, 16 or 36 GEMMs that sum over the tiles, and one
 * inverse transform per filter. */
#include "opencl/cl_algo.h"
#include "opencl/cl_gemm_tiled.h"

#include <limits.h>

/* Tiles of several images go into one GEMM while their transforms fit this
 * budget: small planes still give the GEMM wide operands, large ones keep
 * V and M near a typical L3. The filters U (or the weight gradient's sums)
 * do not count: counting F(4x4, 3x3)'s 512 x 512 (37.7 MB) left one image
 * a GEMM, 16 columns, and its 14x14 planes 2.3x slower than with the
 * budget's images; VGG-16's 256 on 56x56 summed its weight gradient over
 * one image at a time (99-106 ms against 69-72 at batch 8). */
#define CHUNK_BUDGET_BYTES ((size_t)32 << 20)
/* VW of cl/winograd.cl: tiles per work-item of the transforms. */
#define WINO_VW 16

#define NARGS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Mirrors `wino_shape` in cl/winograd.cl. */
typedef struct wino_shape {
    cl_int c, h, w, k, oh, ow;
    cl_int pad_h, pad_w, tiles_h, tiles_w, images, ld;
    cl_int has_bias, act_fn;
    cl_float act_alpha;
    cl_int w_kstride, w_cstride, flip, mirror, tile;
} wino_shape;

typedef struct wino_plan {
    int tile;                  /* outputs along each side of a tile: 2 or 4 */
    int xi;                    /* positions of an input tile, (tile + 2)^2 */
    int64_t tiles;             /* per image */
    int64_t chunk;             /* images per GEMM */
    size_t u, per_image;       /* scratch elements: the filters, and V + M of one image */
    size_t bytes;              /* scratch of a full chunk, its rows padded */
} wino_plan;

static wino_plan plan_of(const clnet_conv_geom *g, int tile)
{
    wino_plan p;
    p.tile = tile;
    p.xi = (tile + 2) * (tile + 2);
    p.tiles = clnet_ceil_div(g->oh, tile) * clnet_ceil_div(g->ow, tile);
    p.u = (size_t)(p.xi * g->k * g->c);
    p.per_image = (size_t)(p.xi * (g->c + g->k) * p.tiles);
    const size_t budget = CHUNK_BUDGET_BYTES / sizeof(cl_float);
    p.chunk = clnet_cl_images_within((int64_t)budget, (int64_t)p.per_image, g->n);
    const int64_t columns = clnet_cl_gemm_pad_cols(p.chunk * p.tiles);
    p.bytes = (p.u + (size_t)(p.xi * (g->c + g->k) * columns)) * sizeof(cl_float);
    return p;
}

/* F(4x4, 3x3) where its tiles take at most 3/4 of the products of
 * F(2x2)'s (0.56 of them on planes of 4x4, 8x8, 28x28 and 56x56, 0.73 on
 * 14x14; none on 2x2, 36 products for 4 outputs against 16; as many on
 * 5x5 and 6x6) and save at least WINO4_MIN_SAVED products per filter over
 * the batch. Batch 32, `cb` micro-benchmark, forward / data gradient ms,
 * F(2x2) -> F(4x4): 256 channels on 8x8 7.5-7.8 / 7.7-8.2 -> 4.2-4.6 /
 * 3.7-4.4, 512 on 7x7 21.8-22.4 / 19.8-20.6 -> 11.4-11.7 / 11.8, on 14x14
 * 55-64 / 54-58 -> 44-46 / 45-46, 256 on 28x28 67-69 / 66-67 -> 46-53 /
 * 48-50. Training transforms the filters anew every step, and F(4x4)'s
 * data gradient transforms its own where F(2x2)'s shares the forward's
 * (clnet_cl_conv_winograd): 72 values a filter against 16. Where the
 * batch saves fewer products than that costs, F(2x2) wins the step:
 * ResNet-18 on 32x32 inputs at batch 32, whose 128-channel 4x4 layers
 * save 896 products a filter, five alternating pairs, F(2x2) -> F(4x4)
 * on them: 53.6-70.3 -> 62.1-75.3 ms a step, though F(4x4) alone runs
 * them faster once its filters are kept (forward 0.94-0.99 -> 0.55-0.81
 * ms). */
#define WINO4_MIN_SAVED 2048

int clnet_cl_winograd_tile(const clnet_conv_geom *g)
{
    const int64_t f2 = 16 * clnet_ceil_div(g->oh, 2) * clnet_ceil_div(g->ow, 2);
    const int64_t f4 = 36 * clnet_ceil_div(g->oh, 4) * clnet_ceil_div(g->ow, 4);
    return 4 * f4 <= 3 * f2 && g->n * (f2 - f4) >= WINO4_MIN_SAVED ? 4 : 2;
}

/* The window is judged when the caller states it ({0, 0}: unknown). */
bool clnet_cl_winograd_supports(const clnet_conv_params *p)
{
    bool window = (p->kernel[0] == 0 && p->kernel[1] == 0) ||
                  (p->kernel[0] == 3 && p->kernel[1] == 3);
    return window && p->stride[0] == 1 && p->stride[1] == 1 && p->dilation[0] == 1 &&
           p->dilation[1] == 1 && p->groups == 1;
}

/* A stride-1 transposed convolution is the forward convolution of the
 * rotated, transposed weights with padding 2 - pad (the end padding
 * follows from the output size): its geometry with that padding. */
static bool forward_equivalent(const clnet_op *op, clnet_conv_geom *g)
{
    if (op->kind != CLNET_OP_CONV_TRANSPOSE)
        return true;
    if (g->pad_h > 2 || g->pad_w > 2)
        return false;
    g->pad_h = 2 - g->pad_h;
    g->pad_w = 2 - g->pad_w;
    return true;
}

static bool applies(const clnet_conv_geom *g, int tile)
{
    if (g->kh != 3 || g->kw != 3 || g->stride_h != 1 || g->stride_w != 1 || g->dil_h != 1 ||
        g->dil_w != 1 || g->groups != 1)
        return false;
    const wino_plan p = plan_of(g, tile);
    return p.bytes / sizeof(cl_float) <= INT_MAX;
}

bool clnet_cl_winograd_applies(const clnet_device *dev, const clnet_conv_geom *g)
{
    (void)dev;
    return applies(g, 2);
}

bool clnet_cl_winograd4_applies(const clnet_device *dev, const clnet_conv_geom *g)
{
    (void)dev;
    return applies(g, 4);
}

/* Each GEMM sums over the C input channels only, and its fixed cost per
 * tile (the transforms, loading and storing the accumulators) needs C of
 * 128 and more to be repaid on PoCL: at C = K = 64 on 56x56 planes im2col
 * was faster, at 512 on 14x14 Winograd took 0.7x its time. On planes of at
 * most 16x16 the tiles of all images make one wide GEMM where im2col has a
 * narrow one per image (ResNet-18's 3x3 layers on 32x32 inputs: up to 5x
 * faster at batch 32). A plane whose tiles are mostly outside it (1x1:
 * 16 products for one output) needs more products than the 9 per output
 * of im2col. */
bool clnet_cl_winograd_pays(const clnet_device *dev, const clnet_conv_geom *g)
{
    (void)dev;
    const int tile = clnet_cl_winograd_tile(g);
    const wino_plan plan = plan_of(g, tile);
    return applies(g, tile) && g->c >= 32 && g->k >= 32 &&
           ((g->c >= 128 && g->k >= 128) || g->oh * g->ow <= 256) &&
           (int64_t)plan.xi * plan.tiles < 9 * g->oh * g->ow;
}

bool clnet_cl_winograd_preferred(const clnet_device *dev, const clnet_conv_geom *g)
{
    return clnet_cl_winograd_tile(g) == 2 && clnet_cl_winograd_pays(dev, g);
}

bool clnet_cl_winograd4_preferred(const clnet_device *dev, const clnet_conv_geom *g)
{
    return clnet_cl_winograd_tile(g) == 4 && clnet_cl_winograd_pays(dev, g);
}

/* The tile a convolution runs with: the one its algorithm forces, else the
 * static rule's. */
static int tile_forced(const clnet_op *op, const clnet_conv_geom *g)
{
    switch (op->u.conv.algo) {
    case CLNET_CONV_ALGO_WINOGRAD: return 2;
    case CLNET_CONV_ALGO_WINOGRAD_4X4: return 4;
    default: return clnet_cl_winograd_tile(g);
    }
}

bool clnet_cl_winograd_transpose_applies(const clnet_op *op, const clnet_conv_geom *t,
                                         bool preferred)
{
    clnet_conv_geom g = *t;
    if (!forward_equivalent(op, &g) || !applies(&g, tile_forced(op, &g)))
        return false;
    return !preferred || clnet_cl_winograd_pays(NULL, &g);
}

/* A winograd kernel over d0 x d1 work-items, in the groups of
 * clnet_cl_launch_rounded (the kernels skip the excess). */
static clnet_status launch(clnet_device *dev, const char *name, int nargs,
                           const clnet_cl_arg *args, size_t d0, size_t d1)
{
    const size_t global[2] = {d0, d1};
    return clnet_cl_launch_rounded(dev, "winograd", name, nargs, args, 2, global);
}

/* `mirror`: the product reads U of the forward convolution whose
 * transpose this is (see clnet_cl_conv_winograd). */
static wino_shape shape_of(const clnet_op *op, const clnet_conv_geom *g, int tile,
                           int64_t images, bool bias, bool mirror)
{
    wino_shape s = {
        .c = (cl_int)g->c, .h = (cl_int)g->h, .w = (cl_int)g->w, .k = (cl_int)g->k,
        .oh = (cl_int)g->oh, .ow = (cl_int)g->ow, .pad_h = (cl_int)g->pad_h,
        .pad_w = (cl_int)g->pad_w, .tiles_h = (cl_int)clnet_ceil_div(g->oh, tile),
        .tiles_w = (cl_int)clnet_ceil_div(g->ow, tile), .images = (cl_int)images,
        .has_bias = bias, .mirror = mirror, .tile = tile,
    };
    s.ld = (cl_int)clnet_cl_gemm_pad_cols(images * s.tiles_h * s.tiles_w);
    clnet_cl_fused_act(op, &s.act_fn, &s.act_alpha);
    return s;
}

/* Whether the transforms run a tile row per work-item (the *_rows kernels
 * of cl/winograd.cl): F(4x4, 3x3) on planes of at least half a vector of
 * tiles a row. */
static bool by_rows(const wino_shape *s)
{
    return s->tile == 4 && s->tiles_w >= WINO_VW / 2;
}

/* V (at v_off in the scratch) = the input tiles of the chunk of images from
 * n0. */
static clnet_status input_tiles(clnet_device *dev, const clnet_tensor *x, int64_t n0,
                                const wino_shape *s, cl_mem scratch, cl_int v_off)
{
    clnet_cl_tensor_args xa = clnet_cl_targs(x);
    cl_int x_off = (cl_int)(xa.offset + n0 * xa.batch_stride);
    const clnet_cl_arg args[] = {
        CLNET_CL_ARG(xa.mem), CLNET_CL_ARG(x_off), CLNET_CL_ARG(xa.batch_stride),
        CLNET_CL_ARG(scratch), CLNET_CL_ARG(v_off), CLNET_CL_ARG(*s),
    };
    if (by_rows(s))
        return launch(dev, "wino4_input_rows", NARGS(args), args,
                      (size_t)(s->images * s->tiles_h), (size_t)s->c);
    return launch(dev, "wino_input", NARGS(args), args, (size_t)(s->ld / WINO_VW),
                  (size_t)s->c);
}

/* One chunk: V = the input tiles of images [n0, n0 + images), M[xi] = U[xi]
 * * V[xi] for the 16 or 36 positions xi (U at the start of `u`; with s->mirror,
 * the forward convolution's U, read transposed), y = the output transform
 * of M. */
static clnet_status run_chunk(clnet_device *dev, const clnet_tensor *x, const clnet_tensor *b,
                              clnet_tensor *y, int64_t n0, const wino_shape *s,
                              const wino_plan *p, cl_mem u, cl_mem scratch)
{
    const int64_t t = s->ld;
    const cl_int v_off = (cl_int)p->u, m_off = (cl_int)(p->u + (size_t)(p->xi * s->c * t));
    clnet_cl_tensor_args xa = clnet_cl_targs(x), ya = clnet_cl_targs(y);
    clnet_status st = input_tiles(dev, x, n0, s, scratch, v_off);
    clnet_cl_gemm_batch gb = {
        .m = s->k, .n = t, .k = s->c, .images = 1, .groups = p->xi,
        .a = {u, 0, s->mirror ? s->k : s->c, 0, (int64_t)s->k * s->c},
        .b = {scratch, v_off, t, 0, s->c * t},
        .c = {scratch, m_off, t, 0, s->k * t},
        .a_trans = s->mirror,
    };
    if (st == CLNET_OK)
        st = clnet_cl_gemm_tiled(dev, "conv (winograd)", &gb);
    clnet_cl_tensor_args ba = b ? clnet_cl_targs(b) : xa;
    cl_int y_off = (cl_int)(ya.offset + n0 * ya.batch_stride);
    const clnet_cl_arg out_args[] = {
        CLNET_CL_ARG(scratch), CLNET_CL_ARG(m_off), CLNET_CL_ARG(ba.mem), CLNET_CL_ARG(ba.offset),
        CLNET_CL_ARG(ya.mem), CLNET_CL_ARG(y_off), CLNET_CL_ARG(ya.batch_stride),
        CLNET_CL_ARG(*s),
    };
    if (st == CLNET_OK && by_rows(s))
        st = launch(dev, "wino4_output_rows", NARGS(out_args), out_args,
                    (size_t)(s->images * s->tiles_h), (size_t)s->k);
    else if (st == CLNET_OK)
        st = launch(dev, "wino_output", NARGS(out_args), out_args,
                    (size_t)clnet_ceil_div((int64_t)s->images * p->tiles, WINO_VW), (size_t)s->k);
    return st;
}

/* The most filters (C x K) of a transposed convolution that reads the
 * forward convolution's U transposed (see clnet_cl_conv_winograd): its
 * GEMM's transposed A costs little while a position's U stays in a core's
 * L2 (AVX-512, batch 32, data gradient, min of 60 runs, ms, own transform
 * -> shared: 128 channels on 4x4 0.47-0.50 -> 0.45-0.47, 256 on 2x2
 * 0.37-0.40 -> 0.35-0.37, 256 on 8x8 5.98-6.29 -> 6.13-6.27), and 10% more
 * beyond (512 on 7x7: 17.3-18.9 -> 18.8-21.1, more than the transform it
 * saves). */
#define WINO_MIRROR_MAX_FILTERS (256 * 256)

/* Forward CONV, or a CONV_TRANSPOSE (stride 1, pad <= 2) as the forward
 * convolution of its rotated weights, with `tile` x `tile` output tiles. A
 * transposed convolution (a data gradient) of F(2x2, 3x3) with at most
 * WINO_MIRROR_MAX_FILTERS filters reads the forward convolution's U of the
 * same weights instead of a transform of its own: with F(2x2, 3x3)'s G,
 * G rot(g) G^T is G g G^T with tile positions 0 and 3 swapped along both
 * axes (G's first and last rows swap when g's rows are reversed), so its
 * product for position xi is U[mirror(xi)] transposed times V[xi]. Its
 * input and output transforms put position xi at slot mirror(xi)
 * (cl/winograd.cl), which makes those products the GEMM's ordinary batch
 * over slots. In training the forward and the data gradient of one step
 * then share one transform of the step's weights, which the device keeps
 * (cl_derived.c). F(4x4, 3x3)'s G has no such symmetry: its transposed
 * convolutions transform their rotated filters. `tile` 0: the one the
 * op's algorithm forces, else the static rule's. */
static clnet_status run_tiles(clnet_device *dev, const clnet_op *op, const clnet_tensor *x,
                              const clnet_tensor *w, const clnet_tensor *b, clnet_tensor *y,
                              int tile)
{
    clnet_conv_geom g = clnet_conv_geom_of(op, x, w, y);
    const bool transposed = op->kind == CLNET_OP_CONV_TRANSPOSE;
    if (!forward_equivalent(op, &g))
        return clnet_fail(dev->ctx, CLNET_ERR_INTERNAL, "conv_transpose on %s: padding %lldx%lld "
                          "beyond Winograd's 2", dev->info.name, (long long)g.pad_h,
                          (long long)g.pad_w);
    const wino_plan p = plan_of(&g, tile ? tile : tile_forced(op, &g));
    cl_mem scratch;
    clnet_status st = clnet_cl_scratch_acquire(dev, p.bytes, &scratch);
    if (st != CLNET_OK)
        return st;
    const bool mirror = transposed && p.tile == 2 && g.c * g.k <= WINO_MIRROR_MAX_FILTERS;
    /* the filters the transform reads: w as a forward convolution's (rows:
     * output channels, a transposed convolution's input channels when
     * mirrored), or rotated where a transposed convolution transforms its
     * own */
    clnet_cl_tensor_args wa = clnet_cl_targs(w);
    wino_shape f = shape_of(op, &g, p.tile, p.chunk, false, false);
    f.c = (cl_int)(mirror ? g.k : g.c);
    f.k = (cl_int)(mirror ? g.c : g.k);
    f.flip = transposed && !mirror;
    f.w_kstride = f.flip ? 9 : wa.batch_stride;
    f.w_cstride = f.flip ? wa.batch_stride : 9;
    /* U: kept for the next call over the same weights, or in the scratch */
    const clnet_cl_derived_key key = {"wino_filter",
                                      {f.c, f.k, f.w_kstride, f.w_cstride, f.flip, f.tile}};
    cl_mem kept;
    bool fill;
    clnet_cl_derived_acquire(dev, &key, w, NULL, p.u * sizeof(cl_float), &kept, &fill);
    cl_mem u = kept ? kept : scratch;
    cl_int u_off = 0;
    const clnet_cl_arg args[] = {
        CLNET_CL_ARG(wa.mem), CLNET_CL_ARG(wa.offset), CLNET_CL_ARG(u), CLNET_CL_ARG(u_off),
        CLNET_CL_ARG(f),
    };
    if (fill)
        st = launch(dev, "wino_filter", NARGS(args), args, (size_t)clnet_ceil_div(f.c, WINO_VW),
                    (size_t)f.k);
    for (int64_t n0 = 0; n0 < g.n && st == CLNET_OK; n0 += p.chunk) {
        const wino_shape s =
            shape_of(op, &g, p.tile, g.n - n0 < p.chunk ? g.n - n0 : p.chunk, b != NULL, mirror);
        st = run_chunk(dev, x, b, y, n0, &s, &p, u, scratch);
    }
    clnet_cl_derived_release(dev, kept, fill && st == CLNET_OK);
    clnet_cl_scratch_release(dev, scratch);
    return st;
}

clnet_status clnet_cl_conv_winograd(clnet_device *dev, const clnet_op *op,
                                    const clnet_tensor *x, const clnet_tensor *w,
                                    const clnet_tensor *b, clnet_tensor *y)
{
    return run_tiles(dev, op, x, w, b, y, 0);
}

clnet_status clnet_cl_conv_winograd2(clnet_device *dev, const clnet_op *op,
                                     const clnet_tensor *x, const clnet_tensor *w,
                                     const clnet_tensor *b, clnet_tensor *y)
{
    return run_tiles(dev, op, x, w, b, y, 2);
}

clnet_status clnet_cl_conv_winograd4(clnet_device *dev, const clnet_op *op,
                                     const clnet_tensor *x, const clnet_tensor *w,
                                     const clnet_tensor *b, clnet_tensor *y)
{
    return run_tiles(dev, op, x, w, b, y, 4);
}

/* The weight gradient's scratch: the sums M [xi][C][kp] of all chunks
 * first, then a chunk's input tiles V [xi][C][ld] and transformed output
 * gradient D [xi][ld][kp], xi being the 16 or 36 positions of a tile and
 * kp K in whole GEMM tiles (zero lanes past K). */
typedef struct wino_grad_plan {
    int tile, xi;
    int64_t tiles, chunk, kp;
    size_t m, bytes;
} wino_grad_plan;

static wino_grad_plan grad_plan_of(const clnet_conv_geom *g, int tile)
{
    wino_grad_plan p;
    p.tile = tile;
    p.xi = (tile + 2) * (tile + 2);
    p.tiles = clnet_ceil_div(g->oh, tile) * clnet_ceil_div(g->ow, tile);
    p.kp = clnet_cl_gemm_pad_cols(g->k);
    p.m = (size_t)(p.xi * g->c * p.kp);
    const size_t per_image = (size_t)(p.xi * (g->c + p.kp) * p.tiles);
    const size_t budget = CHUNK_BUDGET_BYTES / sizeof(cl_float);
    p.chunk = clnet_cl_images_within((int64_t)budget, (int64_t)per_image, g->n);
    const int64_t columns = clnet_cl_gemm_pad_cols(p.chunk * p.tiles);
    p.bytes = (p.m + (size_t)(p.xi * (g->c + p.kp) * columns)) * sizeof(cl_float);
    return p;
}

/* The weight gradient's tile: the one the op forces, else F(2x2, 3x3) on
 * planes of at most 4x4 and F(4x4, 3x3) on larger ones (see
 * clnet_cl_winograd_weights_preferred). */
static int weights_tile(const clnet_op *op, const clnet_conv_geom *g)
{
    switch (op->u.conv.algo) {
    case CLNET_CONV_ALGO_WINOGRAD: return 2;
    case CLNET_CONV_ALGO_WINOGRAD_4X4: return 4;
    default: return g->oh * g->ow <= 16 ? 2 : 4;
    }
}

bool clnet_cl_winograd_weights_applies(const clnet_device *dev, const clnet_op *op,
                                       const clnet_conv_geom *g)
{
    (void)dev;
    if (g->kh != 3 || g->kw != 3 || g->stride_h != 1 || g->stride_w != 1 || g->dil_h != 1 ||
        g->dil_w != 1 || g->groups != 1)
        return false;
    return grad_plan_of(g, weights_tile(op, g)).bytes / sizeof(cl_float) <= INT_MAX;
}

/* On planes of at most 4x4 the direct kernel of cl_conv_wgrad.c spends
 * most of its taps on padding and its fixed cost per output row on few
 * pixels, while the tiles of all images make one long GEMM. AVX-512, batch
 * 32, ms, direct -> F(2x2, 3x3): 64 channels on 4x4 1.27 -> 0.67 and on
 * 2x2 1.18 -> 0.28, 128 on 4x4 2.45 -> 1.60, 256 on 2x2 5.06 -> 1.90 and
 * on 4x4 7.99 -> 3.19, 512 on 2x2 14.5 -> 6.2; airbench's 256 on 4x4 at
 * batch 1024 79 -> 58. On larger planes F(2x2)'s transforms, which write 4
 * values for each input and output value, cost more than its GEMMs save
 * (256 on 8x8 tied at batch 32 and lost at 1024, 245 -> 320; 64 on 8x8 at
 * batch 128 4.1 -> 7.8; VGG-16's 256 on 56x56 343 -> 369). F(4x4, 3x3)
 * writes 2.25 and wins with 128 channels or more where its tiles cover the
 * plane with at most 1/3 to spare, and on 5x5 to 8x8 (`cb`, two runs
 * each, direct -> F(4x4), batch 32 unless given: 256 on 56x56 312-318 ->
 * 234-256; 512 on 28x28 at batch 8 75-82 -> 57-65; 256 on 28x28 at 16
 * 41-42 -> 29-30; 128 on 112x112 at 4 42-44 -> 39-41; 128 on 16x16 8.7-9.5
 * -> 8.1-8.2; 128 on 8x8 4.3-4.8 -> 3.5-3.8; 256 on 8x8 9.2-10.0 ->
 * 5.5-6.6; 512 on 7x7 29.7-31.9 -> 22.4-23.8). 14x14, whose tiles cover
 * 16x16, lost before the GEMM's wide tile (session 22) and wins since
 * (session 24, pinned: 128, 256 and 512 channels 7.3, 7.3 -> 6.8, 7.1;
 * 22.9, 23.7 -> 21.3, 21.8; 87.8, 87.3 -> 76.1, 74.7); 10x10 (12x12, 1.44
 * times the plane) still loses (128: 3.5, 3.3 -> 3.8, 3.7) and 13x13
 * (1.51) ties (256: 17.9, 21.4 -> 18.6, 20.8); so does 64 channels (8x8:
 * 0.92-0.99 -> 1.05-1.35; 56x56 21.9, 21.7 -> 24.5, 27.0; 14x14 1.9, 1.9
 * -> 2.0, 2.8). */
bool clnet_cl_winograd_weights_preferred(const clnet_device *dev, const clnet_op *op,
                                          const clnet_conv_geom *g)
{
    const int64_t covered = 16 * clnet_ceil_div(g->oh, 4) * clnet_ceil_div(g->ow, 4);
    const bool f2 = g->oh * g->ow <= 16 && g->c >= 64 && g->k >= 64;
    const bool f4 = g->oh * g->ow > 16 && g->c >= 128 && g->k >= 128 &&
                    ((g->oh <= 8 && g->ow <= 8) || 3 * covered <= 4 * g->oh * g->ow);
    return (f2 || f4) && clnet_cl_winograd_weights_applies(dev, op, g);
}

/* One chunk: V and D of images [n0, n0 + images), M[xi] (+)= V[xi] *
 * D[xi], the sum running over the chunk's tiles. */
static clnet_status grad_chunk(clnet_device *dev, const clnet_tensor *x, const clnet_tensor *dy,
                               int64_t n0, const wino_shape *s, const wino_grad_plan *p,
                               cl_mem scratch)
{
    const int64_t ld = s->ld, ntiles = (int64_t)s->images * p->tiles;
    const cl_int v_off = (cl_int)p->m, d_off = (cl_int)(p->m + (size_t)(p->xi * s->c * ld));
    const cl_int kp = (cl_int)p->kp;
    clnet_cl_tensor_args da = clnet_cl_targs(dy);
    clnet_status st = input_tiles(dev, x, n0, s, scratch, v_off);
    cl_int dy_off = (cl_int)(da.offset + n0 * da.batch_stride);
    const clnet_cl_arg dy_args[] = {
        CLNET_CL_ARG(da.mem), CLNET_CL_ARG(dy_off), CLNET_CL_ARG(da.batch_stride),
        CLNET_CL_ARG(scratch), CLNET_CL_ARG(d_off), CLNET_CL_ARG(kp), CLNET_CL_ARG(*s),
    };
    if (st == CLNET_OK)
        st = launch(dev, "wino_dy", NARGS(dy_args), dy_args, (size_t)ntiles,
                    (size_t)(p->kp / WINO_VW));
    clnet_cl_gemm_batch gb = {
        .m = s->c, .n = p->kp, .k = ntiles, .images = 1, .groups = p->xi,
        .a = {scratch, v_off, ld, 0, s->c * ld},
        .b = {scratch, d_off, p->kp, 0, ld * p->kp},
        .c = {scratch, 0, p->kp, 0, s->c * p->kp},
        .accumulate = n0 > 0,
    };
    if (st == CLNET_OK)
        st = clnet_cl_gemm_tiled(dev, "conv_backward_weights (winograd)", &gb);
    return st;
}

clnet_status clnet_cl_conv_backward_weights_winograd(clnet_device *dev, const clnet_op *op,
                                                     const clnet_tensor *x,
                                                     const clnet_tensor *dy, clnet_tensor *dw)
{
    const clnet_conv_geom g = clnet_conv_geom_of(op, x, dw, dy);
    const wino_grad_plan p = grad_plan_of(&g, weights_tile(op, &g));
    cl_mem scratch;
    clnet_status st = clnet_cl_scratch_acquire(dev, p.bytes, &scratch);
    if (st != CLNET_OK)
        return st;
    wino_shape s = shape_of(op, &g, p.tile, p.chunk, false, false);
    for (int64_t n0 = 0; n0 < g.n && st == CLNET_OK; n0 += p.chunk) {
        s = shape_of(op, &g, p.tile, g.n - n0 < p.chunk ? g.n - n0 : p.chunk, false, false);
        st = grad_chunk(dev, x, dy, n0, &s, &p, scratch);
    }
    clnet_cl_tensor_args wa = clnet_cl_targs(dw);
    cl_int m_off = 0, kp = (cl_int)p.kp;
    const clnet_cl_arg args[] = {
        CLNET_CL_ARG(scratch), CLNET_CL_ARG(m_off), CLNET_CL_ARG(kp), CLNET_CL_TENSOR(wa),
        CLNET_CL_ARG(s),
    };
    if (st == CLNET_OK)
        st = launch(dev, "wino_filter_grad", NARGS(args), args, (size_t)g.c,
                    (size_t)clnet_ceil_div(g.k, WINO_VW));
    clnet_cl_scratch_release(dev, scratch);
    return st;
}
