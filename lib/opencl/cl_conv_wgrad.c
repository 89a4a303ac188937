/* cl_conv_wgrad.c - the weight gradient of 3x3 convolutions by the direct
 * kernels of cl/conv_wgrad.cl: first for few channels (the CIFAR nets:
 * 16-64 channels, 32x32..8x8 planes), where dW is thin (16 x 144 for
 * ResNet-20's first stage) and the reduction long (batch x pixels), which
 * the im2col GEMM of cl_conv_grad.c serves badly; with the wider blocks of
 * float16 devices for most 3x3 layers. Each work-item keeps a block of dW
 * in vector registers over a slice of output rows, and a second kernel
 * adds the slices up in a fixed order (no atomics). */
#include "opencl/cl_algo.h"

#include <limits.h>

#define NARGS(a) ((int)(sizeof(a) / sizeof((a)[0])))
/* KV of cl/conv_wgrad.cl: output channels per block (the lanes of a
 * float16). A float16 is two of AVX2's registers, one of AVX-512's. */
#define WG_KV 16

/* A work-item's block: CB input channels and KVB blocks of KV output
 * channels, 3 * CB * KVB float16 accumulators. Each step loads KVB vectors
 * of dy and broadcasts CB * 3 inputs into KVB FMAs each.
 * With float8 preferred (AVX2's 16 registers, a float16 two), blocks of
 * float8 of CB x columns 1x1, 2x1, 3x1, 4x1, 2x2, 2x4, 3x3, 2x6 and 4x2
 * (columns a step, each input value broadcast once) lost to float16 at
 * CB 2, KVB 1 on ResNet-20's four 3x3 shapes at batch 128 (minima of
 * interleaved runs): 4x2 by 0-11%, the others by 10-140%.
 * On AVX-512 (32 registers) KVB 1 is 6 FMAs for 7 loads; more blocks of
 * output channels feed each broadcast to more FMAs. airbench's 256 -> 256
 * layer on 8x8 at batch 1024 (CB, KVB: ms): 2,1 473; 4,1 476; 2,2 360;
 * 3,2 306; 4,2 300; 2,3 314; 2,4 228-252; 2,5 421 and 1,4 to 1,8 365-450
 * (their accumulators spill or their loads bind again). 2,4 also led on
 * 64 -> 256 at 16x16 (290 against 556 ms for 2,1), 24 -> 64 at 32x32 and
 * 256 -> 256 at 4x4. */
typedef struct wg_config {
    int cb, kvb, wu;   /* wu: output columns a step at stride 1 */
} wg_config;

/* The variants (cb, kvb, wu), each one struct and the build options of its
 * program. */
#define WG_VARIANT0 2, 1, 8
#define WG_VARIANT1 2, 2, 4
#define WG_VARIANT2 2, 4, 1
#define WG_CONFIG_(cb, kvb, wu) {cb, kvb, wu}
#define WG_OPTIONS_(cb, kvb, wu) "-DCB=" #cb " -DKVB=" #kvb " -DWU=" #wu
#define WG_CONFIG(v) WG_CONFIG_(v)
#define WG_OPTIONS(v) WG_OPTIONS_(v)

static const wg_config configs[CLNET_CL_WGRAD3X3_VARIANTS] = {
    WG_CONFIG(WG_VARIANT0), WG_CONFIG(WG_VARIANT1), WG_CONFIG(WG_VARIANT2)};
const char *const clnet_cl_wgrad3x3_options[CLNET_CL_WGRAD3X3_VARIANTS] = {
    WG_OPTIONS(WG_VARIANT0), WG_OPTIONS(WG_VARIANT1), WG_OPTIONS(WG_VARIANT2)};

/* Speed of each variant per useful output channel relative to KVB 1 (from
 * the 256 -> 256 timings above), which the padding of K to whole KVB
 * blocks eats into: 48 channels take KVB 1 (48 at 1.0) over KVB 2 (64 at
 * 1.3). */
static const double kvb_speed[CLNET_CL_WGRAD3X3_VARIANTS] = {1.0, 1.3, 1.9};

/* The variant for the device and the layer's output channels: KVB 1 where
 * float8 is preferred, else the fastest for K counting its padding. */
static int variant_of(const clnet_device *dev, int64_t k)
{
    if (clnet_cl_prefers_float8(dev))
        return 0;
    int best = 0;
    double best_cost = 0.0;
    for (int v = 0; v < CLNET_CL_WGRAD3X3_VARIANTS; v++) {
        const int64_t lanes = WG_KV * configs[v].kvb;
        const double cost = (double)(clnet_ceil_div(k, lanes) * lanes) / kvb_speed[v];
        if (v == 0 || cost < best_cost) {
            best = v;
            best_cost = cost;
        }
    }
    return best;
}

/* Work-groups of partial sums to aim for per compute unit: enough for
 * the units to share the work evenly, few enough that a slice's rows of dy
 * and x stay in a core's L2 and the partials stay small (on PoCL's 2
 * units, 16 to 256 groups timed alike on ResNet-20's layers). */
#define WG_GROUPS_PER_UNIT 32

/* The rows of dy (its channels-as-lanes copy) a work-group reads at most,
 * its work-items one after another: on VGG-16's 64 channels on 224x224 at
 * batch 32 the units' 64 slices read 6.3 MiB each, and 399 slices of 1
 * MiB took the weight gradient 351-397 -> 324-332 ms (wg_partial 321-351
 * -> 290-323, the partials' sum 0.5 -> 2.7; `cb`, pinned, alternated). */
#define WG_SLICE_DY_BYTES (1024 * 1024)

/* Partial sums per element of x and dy at most (see plan_of). */
#define WG_PARTIALS_PER_INPUT 4

/* Work-items of wg_partial per work-group at most: 384 is airbench's 256
 * channels (128 blocks of CB times 3 rows of taps), all sharing the rows
 * of dy they read. */
#define WG_GROUP_MAX_ITEMS 384

/* The scratch: padded x (none where `direct`), then dy with channels as
 * lanes, then the partials of every slice. */
typedef struct wg_plan {
    int variant;
    wg_config cfg;
    bool direct;                   /* wg_partial reads x itself (reads_x) */
    int64_t cp, kblocks, hp, wp;   /* channels of whole CB blocks; KV blocks (whole KVB
                                      blocks); padded plane */
    int64_t nrows, rows, slices;   /* output rows of the batch; per slice; slices */
    int64_t xp_elems, dyt_elems, part_elems;
} wg_plan;

/* Whether wg_partial reads x itself rather than wg_pad's copy: where it
 * can (one padding of at most 1 for both axes, the kernel's guards;
 * channels in whole CB blocks, no zero planes needed; images dense), and
 * where that paid: stride 1 on rows of 32 or more, in the variants that
 * take several columns a step. Kernel medians at batch 128 (pinned `cb`,
 * ms, wg_pad + wg_partial -> wg_partial): ResNet-20's 16 channels on 32x32
 * 0.59-0.65 + 2.43-2.47 -> 2.38-2.56; on 16x16, 8x8 and at stride 2 the
 * guards' selects and skipped rows cost more than the copy (32 on 16x16
 * 0.21-0.47 + 1.67-1.76 -> 1.98-2.07, 64 on 8x8 0.15-0.17 + 1.62-1.66 ->
 * 2.34-2.36, 16 -> 32 at stride 2 0.24-0.25 + 1.14-1.20 -> 1.98). A column
 * a step (KVB 4) holds 24 accumulators, which the guards' selects made
 * spill (whole weight gradient, ms, copy -> x itself: VGG-16's 64
 * channels on 224x224 at batch 32 374 -> 461, on 56x56 21.2 -> 26.4, 48
 * on 32x32 at batch 128 20.4 -> 26.1; with WU 4, 32 on 32x32 8.2 -> 7.8). */
static bool reads_x(const clnet_conv_geom *g, const wg_config *cfg, int64_t x_bs)
{
    return g->pad_h == g->pad_w && g->pad_h <= 1 && g->c % cfg->cb == 0 &&
           x_bs == g->c * g->h * g->w && g->stride_h == 1 && g->stride_w == 1 && g->ow >= 32 &&
           cfg->wu > 1;
}

/* The plan over x (xa; NULL: x unknown, so sized with the padded copy,
 * the larger). */
static wg_plan plan_of(const clnet_device *dev, const clnet_conv_geom *g,
                       const clnet_cl_tensor_args *xa)
{
    wg_plan p;
    p.variant = variant_of(dev, g->k);
    p.cfg = configs[p.variant];
    p.direct = xa && reads_x(g, &p.cfg, xa->batch_stride);
    p.cp = clnet_ceil_div(g->c, p.cfg.cb) * p.cfg.cb;
    p.kblocks = clnet_ceil_div(g->k, WG_KV * p.cfg.kvb) * p.cfg.kvb;
    p.hp = (g->oh - 1) * g->stride_h + 3;
    p.wp = (g->ow - 1) * g->stride_w + 3;
    p.nrows = g->n * g->oh;
    const int64_t units = dev->info.compute_units ? dev->info.compute_units : 1;
    int64_t slices = clnet_ceil_div(WG_GROUPS_PER_UNIT * units, p.kblocks / p.cfg.kvb);
    const int64_t dy_row_bytes = g->ow * p.cfg.kvb * WG_KV * (int64_t)sizeof(cl_float);
    const int64_t fitting_rows = WG_SLICE_DY_BYTES / dy_row_bytes;
    const int64_t cache_slices = clnet_ceil_div(p.nrows, fitting_rows > 0 ? fitting_rows : 1);
    if (slices < cache_slices)
        slices = cache_slices;
    /* Partial sums beyond 4x the size of x and dy together cost more to
     * write and add up than the extra slices gain: 64 channels on 8x8 at
     * batch 32 made 9 MiB of partials from 1 MiB of input (ms, AVX-512:
     * 1.3-1.8 -> 0.9-1.1). With x and dy's size alone as the bound, VGG-16's
     * 512 channels on 14x14 at batch 32 fell from 8 slices to 2 and lost
     * 3% (87-90 -> 90-92 ms). */
    const int64_t per_slice = p.kblocks * p.cp * 9 * WG_KV;
    const int64_t most = WG_PARTIALS_PER_INPUT *
                         (g->n * g->c * g->h * g->w + g->n * g->k * g->oh * g->ow) / per_slice;
    if (slices > most)
        slices = most > units ? most : units;
    if (slices > p.nrows)
        slices = p.nrows;
    p.rows = clnet_ceil_div(p.nrows, slices);
    p.slices = clnet_ceil_div(p.nrows, p.rows);
    p.xp_elems = p.direct ? 0 : g->n * p.cp * p.hp * p.wp;
    p.dyt_elems = g->n * p.kblocks * g->oh * g->ow * WG_KV;
    p.part_elems = p.slices * p.kblocks * p.cp * 9 * WG_KV;
    return p;
}

bool clnet_cl_wgrad3x3_applies(const clnet_device *dev, const clnet_conv_geom *g)
{
    if (g->kh != 3 || g->kw != 3 || g->dil_h != 1 || g->dil_w != 1 || g->groups != 1 ||
        g->stride_h < 1 || g->stride_h > 2 || g->stride_w < 1 || g->stride_w > 2)
        return false;
    const wg_plan p = plan_of(dev, g, NULL);
    const int64_t elems = p.xp_elems + p.dyt_elems + p.part_elems;
    const uint64_t bytes = (uint64_t)elems * sizeof(cl_float);
    return elems <= INT_MAX &&
           (dev->info.max_alloc_bytes == 0 || bytes <= dev->info.max_alloc_bytes);
}

/* With KVB 1 (float8 preferred), on the shapes where the direct forward
 * kernel wins (airbench's 64- and 256-channel layers: their backward
 * passes 9-27% faster than with the GEMM's weight gradient). The wider
 * blocks of float16 devices beat the GEMM more broadly (AVX-512, batch 32,
 * ms, GEMM -> direct): VGG-16's 256 channels on 56x56 484 -> 391 and 512
 * on 14x14 141 -> 92, 128 -> 256 at stride 2 on 28x28 33 -> 15, and tied
 * it on 64 channels on 224x224 and 56x56, 128 on 28x28 and 256 on 2x2;
 * only a strided layer onto a 1x1 plane lost (256 -> 512 from 2x2: 1.6 ->
 * 4.7), whose slices have a single output row each. */
bool clnet_cl_wgrad3x3_preferred(const clnet_device *dev, const clnet_conv_geom *g)
{
    if (!clnet_cl_wgrad3x3_applies(dev, g))
        return false;
    if (clnet_cl_prefers_float8(dev))
        return clnet_cl_direct3x3_wins(g);
    return clnet_cl_direct3x3_wins(g) || g->oh * g->ow > 1;
}

static clnet_status launch(clnet_device *dev, int variant, const char *name, int nargs,
                           const clnet_cl_arg *args, const size_t global[3])
{
    cl_kernel kernel;
    clnet_status st = clnet_cl_kernel(dev, "conv_wgrad", clnet_cl_wgrad3x3_options[variant], name,
                                      &kernel);
    if (st != CLNET_OK)
        return st;
    return clnet_cl_launch(dev, kernel, name, nargs, args, 3, global, NULL);
}

/* The partial sums, in work-groups of every (input channel block, tap
 * row) of one output channel block and slice: they read the same rows of
 * dy one after the other, from the cache. */
static clnet_status partials(clnet_device *dev, const clnet_conv_geom *g, const wg_plan *p,
                             const clnet_cl_tensor_args *xa, cl_mem scratch)
{
    /* wg_partial_x reads x through its padding; x unpadded is x's own copy */
    const char *name = p->direct && g->pad_h > 0 ? "wg_partial_x" : "wg_partial";
    cl_kernel kernel;
    clnet_status st = clnet_cl_kernel(dev, "conv_wgrad", clnet_cl_wgrad3x3_options[p->variant],
                                      name, &kernel);
    if (st != CLNET_OK)
        return st;
    /* A group's private accumulators sit on one PoCL thread's stack: KVB 4
     * is 1.5 KiB an item, so groups hold at most WG_GROUP_MAX_ITEMS. */
    size_t cap;
    st = clnet_cl_group_max(dev, kernel, name, WG_GROUP_MAX_ITEMS, &cap);
    if (st != CLNET_OK)
        return st;
    const size_t items = (size_t)(p->cp / p->cfg.cb * 3);
    /* x itself (its planes h x w, read through its padding) or its copy */
    const cl_mem xp = p->direct ? xa->mem : scratch;
    cl_int xp_off = p->direct ? xa->offset : 0, cp = (cl_int)p->cp;
    cl_int hp = (cl_int)(p->direct ? g->h : p->hp), wp = (cl_int)(p->direct ? g->w : p->wp);
    cl_int dyt_off = (cl_int)p->xp_elems, oh = (cl_int)g->oh, ow = (cl_int)g->ow;
    cl_int sh = (cl_int)g->stride_h, sw = (cl_int)g->stride_w;
    cl_int nrows = (cl_int)p->nrows, rows = (cl_int)p->rows;
    cl_int part_off = (cl_int)(p->xp_elems + p->dyt_elems);
    const clnet_cl_arg args[] = {
        CLNET_CL_ARG(xp), CLNET_CL_ARG(xp_off), CLNET_CL_ARG(cp), CLNET_CL_ARG(hp),
        CLNET_CL_ARG(wp), CLNET_CL_ARG(scratch), CLNET_CL_ARG(dyt_off), CLNET_CL_ARG(oh),
        CLNET_CL_ARG(ow), CLNET_CL_ARG(sh), CLNET_CL_ARG(sw), CLNET_CL_ARG(nrows),
        CLNET_CL_ARG(rows), CLNET_CL_ARG(scratch), CLNET_CL_ARG(part_off),
    };
    const size_t global[3] = {items, (size_t)(p->kblocks / p->cfg.kvb), (size_t)p->slices};
    const size_t local[3] = {clnet_cl_divisor_within(items, cap), 1, 1};
    return clnet_cl_launch(dev, kernel, name, NARGS(args), args, 3, global, local);
}

/* x zero-padded into the scratch's first part (wg_pad), for wg_partial. */
static clnet_status pad_x(clnet_device *dev, const clnet_conv_geom *g, const wg_plan *p,
                          const clnet_cl_tensor_args *xa, cl_mem scratch)
{
    cl_int c = (cl_int)g->c, h = (cl_int)g->h, wd = (cl_int)g->w, xp_off = 0;
    cl_int cp = (cl_int)p->cp, hp = (cl_int)p->hp, wp = (cl_int)p->wp;
    cl_int pad_h = (cl_int)g->pad_h, pad_w = (cl_int)g->pad_w;
    const clnet_cl_arg args[] = {
        CLNET_CL_TENSOR(*xa), CLNET_CL_ARG(c), CLNET_CL_ARG(h), CLNET_CL_ARG(wd),
        CLNET_CL_ARG(scratch), CLNET_CL_ARG(xp_off), CLNET_CL_ARG(cp), CLNET_CL_ARG(hp),
        CLNET_CL_ARG(wp), CLNET_CL_ARG(pad_h), CLNET_CL_ARG(pad_w),
    };
    const size_t global[3] = {(size_t)p->hp, (size_t)(g->n * p->cp), 1};
    return launch(dev, p->variant, "wg_pad", NARGS(args), args, global);
}

clnet_status clnet_cl_conv_backward_weights_3x3(clnet_device *dev, const clnet_op *op,
                                                const clnet_tensor *x, const clnet_tensor *dy,
                                                clnet_tensor *dw)
{
    const clnet_conv_geom g = clnet_conv_geom_of(op, x, dw, dy);
    clnet_cl_tensor_args xa = clnet_cl_targs(x), da = clnet_cl_targs(dy), wa = clnet_cl_targs(dw);
    const wg_plan p = plan_of(dev, &g, &xa);
    cl_mem scratch;
    clnet_status st = clnet_cl_scratch_acquire(
        dev, (size_t)(p.xp_elems + p.dyt_elems + p.part_elems) * sizeof(cl_float), &scratch);
    if (st != CLNET_OK)
        return st;
    cl_int k = (cl_int)g.k, oh = (cl_int)g.oh, ow = (cl_int)g.ow, cp = (cl_int)p.cp;
    cl_int dyt_off = (cl_int)p.xp_elems, part_off = (cl_int)(p.xp_elems + p.dyt_elems);
    cl_int slices = (cl_int)p.slices;
    if (!p.direct)
        st = pad_x(dev, &g, &p, &xa, scratch);

    const clnet_cl_arg dy_args[] = {
        CLNET_CL_TENSOR(da), CLNET_CL_ARG(k), CLNET_CL_ARG(oh), CLNET_CL_ARG(ow),
        CLNET_CL_ARG(scratch), CLNET_CL_ARG(dyt_off),
    };
    const size_t dy_global[3] = {(size_t)g.oh, (size_t)(g.n * p.kblocks), 1};
    if (st == CLNET_OK)
        st = launch(dev, p.variant, "wg_dy", NARGS(dy_args), dy_args, dy_global);
    if (st == CLNET_OK)
        st = partials(dev, &g, &p, &xa, scratch);

    const clnet_cl_arg sum_args[] = {
        CLNET_CL_ARG(scratch), CLNET_CL_ARG(part_off), CLNET_CL_ARG(slices), CLNET_CL_ARG(cp),
        CLNET_CL_ARG(k), CLNET_CL_TENSOR(wa),
    };
    const size_t sum_global[3] = {(size_t)(g.c * 9), (size_t)p.kblocks, 1};
    if (st == CLNET_OK)
        st = launch(dev, p.variant, "wg_reduce", NARGS(sum_args), sum_args, sum_global);
    clnet_cl_scratch_release(dev, scratch);
    return st;
}
