/* cl_conv3x3.c - ALGO_DIRECT_3X3: the direct kernel of cl/conv3x3.cl for
 * 3x3 convolutions with few channels, where the GEMM of im2col is thin (16
 * output channels) and Winograd's transforms cost more than they save: the
 * input read as it is or zero-padded once (reads_x), the weights as vectors
 * of output channels, and a register block of output pixels per work-item. It runs forward
 * convolutions of stride 1 and 2 and their data gradients (CONV_TRANSPOSE),
 * those of stride 2 by the output's phases; and 5x5 convolutions of stride
 * 1 and their data gradients, built with a 5x5 window (WS). */
#include "opencl/cl_algo.h"

#include <limits.h>

#define NARGS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* KV, TR and TW of cl/conv3x3.cl: output channels (the vector lanes), rows
 * and columns of a work-item. The accumulators and the weight vector must
 * stay in registers: with float16 (AVX-512's 32 registers) 2 x 8 beat
 * 4 x 4, 3 x 8, 1 x 16 and 4 x 8 over the three ResNet-20 layers; with
 * float8 (AVX2's 16 registers) 2 x 4 was as fast as or faster than 2 x 6,
 * 3 x 4, 4 x 4, 2 x 8 and 1 x 12 (differences near the noise of a shared
 * host), and its 4 columns divide the 32, 16 and 8 wide planes. Measured
 * again with the constant-stride kernels and the broadcast-once order:
 * 3 x 4, 2 x 6, 4 x 3, 1 x 8 and 2 x 5, and float16 tiles of 1 x 4 to
 * 2 x 3, were no faster (2 x 6 wastes a third of the 8-wide planes). */
typedef struct c3_config {
    int kv, tr, tw, ws;
} c3_config;

/* The tiles (and windows), in the order of clnet_cl_conv3x3_options,
 * which build them: each device's default first (float8, float16), then
 * the float16 tiles that cover planes 2 x 8 leaves ragged (see
 * variant_of), then the 5x5 window's one tile, TILE_5X5. On LeNet-5's
 * second layer (6 -> 16 channels, 10x10 output, batch 32) 5 x 2 took
 * 0.055-0.067 ms a launch, 10 x 2 0.12 and 2 x 8 (ragged, over a padded
 * copy) 0.09 plus the copy. */
static const c3_config configs[CLNET_CL_CONV3X3_TILES] = {
    {8, 2, 4, 3},  {16, 2, 8, 3}, {16, 7, 2, 3}, {16, 5, 3, 3},
    {16, 3, 3, 3}, {16, 4, 4, 3}, {16, 5, 2, 5}};
#define TILE_5X5 6
/* ... and for each 3x3 tile, the program of c3_conv_s1_grouped (C3_GROUPED). */
const char *const clnet_cl_conv3x3_options[CLNET_CL_CONV3X3_VARIANTS] = {
    "-DKV=8 -DTR=2 -DTW=4",
    "-DKV=16 -DTR=2 -DTW=8",
    "-DKV=16 -DTR=7 -DTW=2",
    "-DKV=16 -DTR=5 -DTW=3",
    "-DKV=16 -DTR=3 -DTW=3",
    "-DKV=16 -DTR=4 -DTW=4",
    "-DKV=16 -DTR=5 -DTW=2 -DWS=5",
    "-DKV=8 -DTR=2 -DTW=4 -DC3_GROUPED",
    "-DKV=16 -DTR=2 -DTW=8 -DC3_GROUPED",
    "-DKV=16 -DTR=7 -DTW=2 -DC3_GROUPED",
    "-DKV=16 -DTR=5 -DTW=3 -DC3_GROUPED",
    "-DKV=16 -DTR=3 -DTW=3 -DC3_GROUPED",
    "-DKV=16 -DTR=4 -DTW=4 -DC3_GROUPED",
};

/* Output pixels a tile computes over an oh x ow plane, the ragged edges'
 * wasted lanes included. */
static int64_t covered(const c3_config *c, int64_t oh, int64_t ow)
{
    return clnet_ceil_div(oh, c->tr) * c->tr * clnet_ceil_div(ow, c->tw) * c->tw;
}

/* The variant for a window of side ws: 5, its one tile; 3, the device's
 * preferred float vector width and, on float16 devices at stride 1, the
 * plane: the tile that wastes the fewest
 * lanes on its ragged edges, 2 x 8 on a tie. 2 x 8 covers 7x7 planes as
 * 8x8 and 15x15 as 16x16; at batch 256 (cb micro-benchmark, forward /
 * data gradient ms) 7 x 2 took airbench's 256 channels on 7x7 from 57-63
 * / 54-57 to 47-49 / 48-50, 5 x 3 its 64 -> 256 on 15x15 from 56-58 /
 * 60-64 to 50-58 / 53-57, and 3 x 3 the 256 channels on 3x3 at batch 1024
 * in 35 ms where Winograd took 53-60. The strided kernels read (T - 1) s
 * + 3 inputs per T outputs, which favours wide tiles: they keep 2 x 8. */
static int variant_of(const clnet_device *dev, int64_t oh, int64_t ow, bool stride1, int64_t ws)
{
    if (ws == 5)
        return TILE_5X5;
    if (clnet_cl_prefers_float8(dev))
        return 0;
    int best = 1;
    for (int v = 2; stride1 && v < TILE_5X5; v++)
        if (covered(&configs[v], oh, ow) < covered(&configs[best], oh, ow))
            best = v;
    return best;
}

/* The scratch: the laid-out weights and bias, then the padded planes, whose
 * slack rows and columns keep the reads of partial blocks inside. */
typedef struct c3_plan {
    int variant;
    c3_config cfg;
    bool phases;        /* a stride-2 data gradient by c3_dgrad_s2 */
    bool pairs;         /* ... of padding 1, by c3_dgrad_s2_pairs */
    int64_t s_h, s_w;   /* the strides c3_conv steps by */
    int64_t kblocks, oh_blocks, ow_blocks, hp, wp;
    int64_t wt_elems, xp_elems;
    bool blocks_together;   /* a work-group holds every channel block of its tiles */
} c3_plan;

/* An image's input from which a work-group holds the channel blocks of its
 * tiles (c3_plan.blocks_together): with the blocks in separate groups, each
 * block's pass over an image finds its input evicted by the whole image
 * read since. 64 -> 64 channels, batch 32, `cb`, pinned, forward / data
 * gradient ms: 224x224 (12.5 MiB an image) 321-330 / 331-341 -> 312-319 /
 * 311-320, 112x112 (3.1 MiB) 79-82 / 77-82 -> 76-78 / 75-78, 56x56 (0.8
 * MiB) level; below that
 * level or slower (ResNet-20's 64 channels on 8x8 at batch 128: 1.28 /
 * 1.31 -> 1.33 / 1.37, 128 on 28x28 level to 7% slower). */
#define C3_BLOCKS_TOGETHER_BYTES (2 * 1024 * 1024)

/* A transposed convolution of stride 2 runs by phases: blocks of a grid
 * of half the output's size over dy padded by one, every pixel of dy
 * inside (padding 2 leaves dy a pixel longer than the grid), TR x TW of
 * each phase (c3_dgrad_s2) or with padding 1 all four phases of 1 x TW / 2
 * (c3_dgrad_s2_pairs: 2 x TW outputs). One of other strides steps by 1 over
 * the planes with zeros between dy's pixels; a forward one by its stride. */
static c3_plan plan_of(const clnet_device *dev, const clnet_conv_geom *g, bool transposed)
{
    c3_plan p;
    p.phases = transposed && g->stride_h == 2 && g->stride_w == 2;
    p.pairs = p.phases && g->pad_h == 1 && g->pad_w == 1;
    p.s_h = transposed ? 1 : g->stride_h;
    p.s_w = transposed ? 1 : g->stride_w;
    p.variant = variant_of(dev, g->oh, g->ow, !p.phases && p.s_h == 1 && p.s_w == 1, g->kh);
    p.cfg = configs[p.variant];
    p.kblocks = clnet_ceil_div(g->k, p.cfg.kv);
    if (p.phases) {
        const int64_t rows = p.pairs ? 1 : p.cfg.tr, cols = p.pairs ? p.cfg.tw / 2 : p.cfg.tw;
        p.oh_blocks = clnet_ceil_div(clnet_ceil_div(g->oh, 2), rows);
        p.ow_blocks = clnet_ceil_div(clnet_ceil_div(g->ow, 2), cols);
        p.hp = p.oh_blocks * rows + 2 > g->h + 1 ? p.oh_blocks * rows + 2 : g->h + 1;
        p.wp = p.ow_blocks * cols + 2 > g->w + 1 ? p.ow_blocks * cols + 2 : g->w + 1;
    } else {
        p.oh_blocks = clnet_ceil_div(g->oh, p.cfg.tr);
        p.ow_blocks = clnet_ceil_div(g->ow, p.cfg.tw);
        p.hp = (p.oh_blocks * p.cfg.tr - 1) * p.s_h + p.cfg.ws;
        p.wp = (p.ow_blocks * p.cfg.tw - 1) * p.s_w + p.cfg.ws;
    }
    p.wt_elems = p.kblocks * (g->c * p.cfg.ws * p.cfg.ws + 1) * p.cfg.kv;
    p.xp_elems = g->n * g->c * p.hp * p.wp;
    p.blocks_together =
        p.kblocks > 1 && g->c * g->h * g->w * (int64_t)sizeof(cl_float) >= C3_BLOCKS_TOGETHER_BYTES;
    return p;
}

static bool fits(const clnet_device *dev, const clnet_conv_geom *g, bool transposed)
{
    const c3_plan p = plan_of(dev, g, transposed);
    const int64_t bytes = (p.wt_elems + p.xp_elems) * (int64_t)sizeof(cl_float);
    return p.wt_elems + p.xp_elems <= INT_MAX &&
           (dev->info.max_alloc_bytes == 0 || (uint64_t)bytes <= dev->info.max_alloc_bytes);
}

/* The shapes the kernels were measured to win on (AVX2 PoCL). Few channels
 * (at stride 2 too: 2-3x the previous choice on ResNet-20's two stride-2
 * layers). From 64 input channels on, against Winograd: thin products,
 * c k / (c + k) <= 64 (ResNet-18's 128-channel 28x28 layer in 0.74x
 * Winograd's time, airbench's 64 -> 256 on 15x15 in 0.48x), and up to 128
 * on planes below 14x14 (airbench's 256-channel 7x7 and 3x3 layers, 0.66x);
 * Winograd keeps 256 channels on 14x14 (1.34x faster) and 512 on 7x7
 * (1.53x). */
bool clnet_cl_direct3x3_wins(const clnet_conv_geom *g)
{
    if (g->c <= 64 && g->k >= 16 && g->k <= 64)
        return true;
    const int64_t thin = g->c * g->k / (g->c + g->k);
    return g->c >= 64 && g->k >= 16 && (thin <= 64 || (thin <= 128 && g->oh * g->ow < 196));
}

bool clnet_cl_direct3x3_supports(const clnet_conv_params *p)
{
    if (p->dilation[0] != 1 || p->dilation[1] != 1 || p->groups > 1)
        return false;
    if (p->kernel[0] == 5 && p->kernel[1] == 5)
        return p->stride[0] == 1 && p->stride[1] == 1;
    return (p->kernel[0] == 0 || p->kernel[0] == 3) && (p->kernel[1] == 0 || p->kernel[1] == 3) &&
           (p->stride[0] == 1 || p->stride[0] == 2) && (p->stride[1] == 1 || p->stride[1] == 2);
}

/* A 5x5 window at stride 1 (g: the forward geometry). */
static bool is_5x5_s1(const clnet_conv_geom *g)
{
    return g->kh == 5 && g->kw == 5 && g->stride_h == 1 && g->stride_w == 1;
}

bool clnet_cl_direct3x3_applies(const clnet_device *dev, const clnet_conv_geom *g)
{
    if (g->dil_h != 1 || g->dil_w != 1 || g->groups != 1)
        return false;
    if (!is_5x5_s1(g) && (g->kh != 3 || g->kw != 3 || (g->stride_h != 1 && g->stride_h != 2) ||
                          (g->stride_w != 1 && g->stride_w != 2)))
        return false;
    return fits(dev, g, false);
}

/* The 5x5 layers the kernel was measured to win on (float16 devices, `cb`,
 * batch 32, forward ms, the previous choice -> 5 x 2 tiles): LeNet-5's
 * second layer, 6 -> 16 channels on 14x14, 0.14-0.17 -> 0.09-0.10;
 * GoogLeNet-sized ones with padding 2, 48 -> 128 on 7x7 4.0 -> 2.2, 128
 * -> 48 on 7x7 9.9 -> 2.3 (the data gradient's shape), 32 -> 96 on 28x28
 * 13.5 -> 11.7, 192 -> 64 on 14x14 14.5 -> 11.2, 256 -> 256 on 14x14 70
 * -> 59; 16 -> 32 on 28x28, 24 -> 64 on 14x14 and 64 -> 256 on 28x28
 * (batch 8) level or slightly faster. With fewer than 16 output channels
 * most lanes idle: LeNet-5's first layer, 1 -> 6, 0.10 -> 0.19. */
static bool wins_5x5(const clnet_device *dev, const clnet_conv_geom *g)
{
    return !clnet_cl_prefers_float8(dev) && g->k >= 16;
}

/* Where Winograd takes a layer the direct kernel would otherwise win: on
 * float16 devices (AVX-512) planes of 4x4 and below with 128 channels or more
 * each way (stride 1, where Winograd applies), unless its tiles (2x2 or 4x4,
 * clnet_cl_winograd_tile) waste more of the plane than the direct kernel's.
 * There, cb micro-benchmark, forward / data gradient ms, direct -> Winograd
 * F(2x2, 3x3): batch 32, 128 channels on 4x4 2.0 -> 1.1 / 1.3 -> 1.2, 256 on
 * 2x2 2.4 -> 1.2 / 2.1 -> 1.3, 512 on 2x2 6.2 -> 4.1 / 6.1 -> 3.9; airbench's
 * 256 on 4x4 at batch 1024 108 -> 60 / 112 -> 54 with the 2 x 8 tile, 55 -> 50
 * / 50-54 -> 50-53 with 4 x 4. Not on 8x8 (256 channels at batch 1024: 247 ->
 * 257 / 250 -> 269) nor with 64 channels (ResNet-20's 8x8 at batch 128: 3.9 ->
 * 5.9 / 2.2 -> 5.6), nor on 3x3, which the 3 x 3 tile covers and Winograd's as
 * 4x4 (forward 32-35 against 49-52 ms). `g` is the forward geometry. */
static bool winograd_takes_small_plane(const clnet_device *dev, const clnet_conv_geom *g)
{
    if (clnet_cl_prefers_float8(dev) || g->stride_h != 1 || g->stride_w != 1 || g->c < 128 ||
        g->k < 128 || g->oh * g->ow > 16 || !clnet_cl_winograd_pays(dev, g))
        return false;
    const c3_config *direct = &configs[variant_of(dev, g->oh, g->ow, true, g->kh)];
    const int tile = clnet_cl_winograd_tile(g);
    const c3_config winograd_tile = {0, tile, tile, 3};
    return covered(&winograd_tile, g->oh, g->ow) <= covered(direct, g->oh, g->ow);
}

/* A stride-2 layer onto a plane of at most 2x2 (ResNet-18's downsampling
 * 3x3 layers on 32x32 inputs) fills few of a tile's output pixels, and
 * the GEMMs over unrolled columns, which read the weights as they are,
 * beat it forward and in the data gradient; its weight gradient stays
 * direct. `cb`, batch 32, weights rewritten before every call as in
 * training, forward / data gradient ms, direct -> GEMM: 128 -> 256
 * channels on 4x4 1.14-2.0 / 1.45-1.68 -> 0.77-0.86 / 1.0-1.3, 64 -> 128
 * 0.61 / 0.61-0.67 -> 0.43 / 0.41-0.44, 128 -> 128 1.16-1.17 ->
 * 0.77-0.84; onto 4x4 the direct kernel wins or ties (64 -> 128 on 8x8:
 * 0.74 / 0.76 against 1.18 / 1.31). `g` is the forward geometry. */
static bool strided_onto_tiny_plane(const clnet_conv_geom *g)
{
    return (g->stride_h == 2 || g->stride_w == 2) && g->oh * g->ow <= 4;
}

bool clnet_cl_direct3x3_preferred(const clnet_device *dev, const clnet_conv_geom *g)
{
    if (is_5x5_s1(g))
        return clnet_cl_direct3x3_applies(dev, g) && wins_5x5(dev, g);
    return clnet_cl_direct3x3_applies(dev, g) && clnet_cl_direct3x3_wins(g) &&
           !winograd_takes_small_plane(dev, g) && !strided_onto_tiny_plane(g);
}

/* A transposed convolution is the forward one over its input with s - 1
 * zeros between pixels and padding ws - 1 - pad, of the rotated weights:
 * pad must be at most ws - 1. At stride 2 the phases skip the zeros; even
 * with them (three of four MACs) the kernel beat the GEMM and col2im path
 * 3-4x on ResNet-20's stride-2 layers. */
bool clnet_cl_direct3x3_transpose_preferred(const clnet_device *dev, const clnet_conv_geom *t)
{
    if (is_5x5_s1(t))
        return t->dil_h == 1 && t->dil_w == 1 && t->groups == 1 && t->pad_h <= 4 &&
               t->pad_w <= 4 && wins_5x5(dev, t) && fits(dev, t, true);
    const clnet_conv_geom f = clnet_cl_forward_of_transpose(t);
    return t->kh == 3 && t->kw == 3 && t->dil_h == 1 && t->dil_w == 1 && t->groups == 1 &&
           (t->stride_h == 1 || t->stride_h == 2) && (t->stride_w == 1 || t->stride_w == 2) &&
           t->pad_h <= 2 && t->pad_w <= 2 && clnet_cl_direct3x3_wins(t) && fits(dev, t, true) &&
           !winograd_takes_small_plane(dev, &f) && !strided_onto_tiny_plane(&f);
}

/* Whether c3_conv_x can read x itself, padded by `pad` along an axis of
 * `in` input and `out` output pixels at stride s, with blocks of `tile`:
 * blocks that cover the output exactly, so that only a block's first and
 * last input lines can lie in the padding, at most one line of it each
 * side. */
static bool axis_reads_x(int64_t in, int64_t out, int64_t s, int64_t pad, int64_t tile,
                         int64_t ws)
{
    return pad <= 1 && out % tile == 0 && (out - 1) * s + ws - 1 - pad <= in;
}

/* Whether the convolution can skip the padded copy and read x itself
 * (c3_conv_x_* of cl/conv3x3.c): the forward and a transposed one of
 * stride 1 (pad_h x pad_w: the padding c3_conv runs with), not the phases
 * nor the planes with zeros between pixels. That copy cost a launch and
 * 15-30% of the time of ResNet-20's 3x3 layers. */
static bool reads_x(const clnet_conv_geom *g, const c3_plan *p, bool transposed, int64_t pad_h,
                    int64_t pad_w)
{
    return !p->phases && (!transposed || (g->stride_h == 1 && g->stride_w == 1)) &&
           axis_reads_x(g->h, g->oh, p->s_h, pad_h, p->cfg.tr, p->cfg.ws) &&
           axis_reads_x(g->w, g->ow, p->s_w, pad_w, p->cfg.tw, p->cfg.ws);
}

/* The c3_conv kernel of the strides (1 or 2 each), over x or its copy. */
static const char *conv_kernel(int64_t s_h, int64_t s_w, bool over_x)
{
    static const char *const names[2][4] = {
        {"c3_conv_s1", "c3_conv_s2", "c3_conv_s1x2", "c3_conv_s2x1"},
        {"c3_conv_x_s1", "c3_conv_x_s2", "c3_conv_x_s1x2", "c3_conv_x_s2x1"}};
    const int strides = s_h == s_w ? (s_h == 1 ? 0 : 1) : (s_h == 1 ? 2 : 3);
    return names[over_x][strides];
}

/* Work-items per work-group at most. PoCL keeps a work-group's private
 * arrays (a tile's accumulators: 1-4 KiB an item) on one thread's stack;
 * left to itself it made groups of the whole grid's first two dimensions
 * and 64 of the third (3584 items) for the stride-2 data gradient of
 * 64 -> 128 channels on 56x56 at batch 32 and overflowed that stack
 * (a segmentation fault). 128 items, the columns of whole rows of blocks
 * first, keep the group a fraction of it. */
#define C3_GROUP_MAX_ITEMS 128

/* Launches a kernel of the program built for the plan's tile, each
 * work-group holding `together` consecutive items of dim 2 (a divisor of
 * global[2]; 1: as many as fit). */
static clnet_status launch(clnet_device *dev, const c3_plan *p, bool grouped, const char *name,
                           int nargs, const clnet_cl_arg *args, const size_t global[3],
                           size_t together)
{
    cl_kernel kernel;
    const char *options =
        clnet_cl_conv3x3_options[p->variant + (grouped ? CLNET_CL_CONV3X3_TILES : 0)];
    clnet_status st = clnet_cl_kernel(dev, "conv3x3", options, name, &kernel);
    if (st != CLNET_OK)
        return st;
    size_t cap;
    st = clnet_cl_group_max(dev, kernel, name, C3_GROUP_MAX_ITEMS, &cap);
    if (st != CLNET_OK)
        return st;
    size_t local[3];
    local[2] = together <= cap ? together : 1;
    local[0] = clnet_cl_divisor_within(global[0], cap / local[2]);
    local[1] = clnet_cl_divisor_within(global[1], cap / (local[0] * local[2]));
    if (local[2] == 1)
        local[2] = clnet_cl_divisor_within(global[2], cap / (local[0] * local[1]));
    return clnet_cl_launch(dev, kernel, name, nargs, args, 3, global, local);
}

/* c3_conv at the plan's strides, with the weights laid out in wt: over x
 * itself (x_pad: x, padded by pad_h x pad_w) or over the padded planes
 * `planes` (`grouped`: by c3_conv_s1_grouped, their channels grouped as
 * c_short says). */
static clnet_status run_conv(clnet_device *dev, const clnet_op *op, const clnet_conv_geom *g,
                             const c3_plan *p, const clnet_tensor *x_pad, int64_t pad_h,
                             int64_t pad_w, const clnet_cl_filled_planes *planes, bool grouped,
                             cl_mem wt, clnet_tensor *y)
{
    clnet_cl_tensor_args ya = clnet_cl_targs(y);
    cl_int c = (cl_int)g->c, k = (cl_int)g->k, oh = (cl_int)g->oh, ow = (cl_int)g->ow;
    cl_int act_fn;
    cl_float act_alpha;
    clnet_cl_fused_act(op, &act_fn, &act_alpha);
    const size_t global[3] = {(size_t)p->ow_blocks, (size_t)p->oh_blocks,
                              (size_t)(g->n * p->kblocks)};
    const char *name = conv_kernel(p->s_h, p->s_w, x_pad != NULL);
    /* dim 2 is image * kblocks + block */
    const size_t together = p->blocks_together ? (size_t)p->kblocks : 1;
    if (x_pad) {
        clnet_cl_tensor_args xa = clnet_cl_targs(x_pad);
        cl_int h = (cl_int)g->h, wd = (cl_int)g->w, ph = (cl_int)pad_h, pw = (cl_int)pad_w;
        const clnet_cl_arg args[] = {
            CLNET_CL_TENSOR(xa), CLNET_CL_ARG(c),      CLNET_CL_ARG(h),
            CLNET_CL_ARG(wd),    CLNET_CL_ARG(ph),     CLNET_CL_ARG(pw),
            CLNET_CL_ARG(wt),    CLNET_CL_TENSOR(ya),  CLNET_CL_ARG(k),
            CLNET_CL_ARG(oh),    CLNET_CL_ARG(ow),     CLNET_CL_ARG(act_fn),
            CLNET_CL_ARG(act_alpha),
        };
        return launch(dev, p, false, name, NARGS(args), args, global, together);
    }
    cl_int hp = (cl_int)p->hp, wp = (cl_int)planes->pitch, xp_off = (cl_int)planes->off;
    cl_int short_w = (cl_int)planes->c_short[0], short_h = (cl_int)planes->c_short[1],
           short_hw = (cl_int)planes->c_short[2];
    if (grouped) {
        const clnet_cl_arg args[] = {
            CLNET_CL_ARG(planes->buf), CLNET_CL_ARG(xp_off),   CLNET_CL_ARG(hp),
            CLNET_CL_ARG(wp),          CLNET_CL_ARG(c),        CLNET_CL_ARG(short_w),
            CLNET_CL_ARG(short_h),     CLNET_CL_ARG(short_hw), CLNET_CL_ARG(wt),
            CLNET_CL_TENSOR(ya),       CLNET_CL_ARG(k),        CLNET_CL_ARG(oh),
            CLNET_CL_ARG(ow),          CLNET_CL_ARG(act_fn),   CLNET_CL_ARG(act_alpha),
        };
        return launch(dev, p, true, "c3_conv_s1_grouped", NARGS(args), args, global, together);
    }
    const clnet_cl_arg args[] = {
        CLNET_CL_ARG(planes->buf), CLNET_CL_ARG(xp_off), CLNET_CL_ARG(hp),
        CLNET_CL_ARG(wp),          CLNET_CL_ARG(c),      CLNET_CL_ARG(wt),
        CLNET_CL_TENSOR(ya),       CLNET_CL_ARG(k),      CLNET_CL_ARG(oh),
        CLNET_CL_ARG(ow),          CLNET_CL_ARG(act_fn), CLNET_CL_ARG(act_alpha),
    };
    return launch(dev, p, false, name, NARGS(args), args, global, together);
}

/* c3_dgrad_s2 (or c3_dgrad_s2_pairs) over the padded dy: the transposed
 * convolution's padding tells each phase which taps it takes. A data
 * gradient fuses no activation (clnet_cl_fused_act: CONV only). */
static clnet_status run_phases(clnet_device *dev, const clnet_conv_geom *t, const c3_plan *p,
                               cl_mem scratch, cl_mem wt, clnet_tensor *y)
{
    clnet_cl_tensor_args ya = clnet_cl_targs(y);
    cl_int c = (cl_int)t->c, k = (cl_int)t->k, oh = (cl_int)t->oh, ow = (cl_int)t->ow;
    cl_int hp = (cl_int)p->hp, wp = (cl_int)p->wp, xp_off = (cl_int)p->wt_elems;
    cl_int pad_h = (cl_int)t->pad_h, pad_w = (cl_int)t->pad_w;
    const size_t global[3] = {(size_t)p->ow_blocks, (size_t)p->oh_blocks,
                              (size_t)(t->n * p->kblocks)};
    if (p->pairs) {
        const clnet_cl_arg args[] = {
            CLNET_CL_ARG(scratch), CLNET_CL_ARG(xp_off), CLNET_CL_ARG(hp),
            CLNET_CL_ARG(wp),      CLNET_CL_ARG(c),      CLNET_CL_ARG(wt),
            CLNET_CL_TENSOR(ya),   CLNET_CL_ARG(k),      CLNET_CL_ARG(oh),
            CLNET_CL_ARG(ow),
        };
        return launch(dev, p, false, "c3_dgrad_s2_pairs", NARGS(args), args, global, 1);
    }
    const clnet_cl_arg args[] = {
        CLNET_CL_ARG(scratch), CLNET_CL_ARG(xp_off), CLNET_CL_ARG(hp), CLNET_CL_ARG(wp),
        CLNET_CL_ARG(c), CLNET_CL_ARG(pad_h), CLNET_CL_ARG(pad_w), CLNET_CL_ARG(wt),
        CLNET_CL_TENSOR(ya), CLNET_CL_ARG(k), CLNET_CL_ARG(oh), CLNET_CL_ARG(ow),
    };
    return launch(dev, p, false, "c3_dgrad_s2", NARGS(args), args, global, 1);
}

/* The kernels over g (the forward geometry, or the transposed op's own,
 * whose input and output are dy and dx): the weights laid out, x padded
 * (pixels s apart from the corner (pad_h, pad_w); for the phases dense,
 * from (1, 1)) unless the convolution reads x itself or `given` holds the
 * padded planes, the convolution. */
static clnet_status run(clnet_device *dev, const clnet_op *op, const clnet_conv_geom *g,
                        bool transposed, int64_t pad_h, int64_t pad_w, const clnet_tensor *x,
                        const clnet_cl_filled_planes *given, const clnet_tensor *w,
                        const clnet_tensor *b, clnet_tensor *y)
{
    const c3_plan p = plan_of(dev, g, transposed);
    if (p.phases)
        pad_h = pad_w = 1;
    const bool over_x = !given && reads_x(g, &p, transposed, pad_h, pad_w);
    const bool pad = !given && !over_x;
    /* the grouped convolution's program has its own c3_weights, so that
     * the other is not built for it */
    const bool grouped =
        given && (given->c_short[0] != 0 || given->c_short[1] != 0 || given->c_short[2] != 0);
    cl_mem scratch;
    clnet_status st = clnet_cl_scratch_acquire(
        dev, (size_t)(p.wt_elems + (pad ? p.xp_elems : 0)) * sizeof(cl_float), &scratch);
    if (st != CLNET_OK)
        return st;
    clnet_cl_tensor_args wa = clnet_cl_targs(w);
    clnet_cl_tensor_args ba = b ? clnet_cl_targs(b) : wa;
    cl_int c = (cl_int)g->c, k = (cl_int)g->k, h = (cl_int)g->h, wd = (cl_int)g->w;
    cl_int has_bias = b != NULL;
    cl_int hp = (cl_int)p.hp, wp = (cl_int)p.wp, xp_off = (cl_int)p.wt_elems;
    cl_int ph = (cl_int)pad_h, pw = (cl_int)pad_w, is_transposed = transposed;
    /* the pixels' spacing in the padded planes, and c3_conv's stride */
    cl_int gap_h = transposed && !p.phases ? (cl_int)g->stride_h : 1;
    cl_int gap_w = transposed && !p.phases ? (cl_int)g->stride_w : 1;

    /* the laid-out weights: kept for the next call over the same weights,
     * or at the start of the scratch */
    const clnet_cl_derived_key key = {"c3_weights",
                                      {c, k, wa.batch_stride, transposed, p.cfg.kv, p.cfg.ws}};
    cl_mem kept;
    bool fill;
    clnet_cl_derived_acquire(dev, &key, w, b, (size_t)p.wt_elems * sizeof(cl_float), &kept,
                             &fill);
    cl_mem wt = kept ? kept : scratch;
    const clnet_cl_arg wargs[] = {
        CLNET_CL_TENSOR(wa), CLNET_CL_ARG(c), CLNET_CL_ARG(k), CLNET_CL_ARG(ba.mem),
        CLNET_CL_ARG(ba.offset), CLNET_CL_ARG(has_bias), CLNET_CL_ARG(is_transposed),
        CLNET_CL_ARG(wt),
    };
    const size_t wglobal[3] = {(size_t)(g->c * p.cfg.ws * p.cfg.ws + 1), (size_t)p.kblocks, 1};
    if (fill)
        st = launch(dev, &p, grouped, "c3_weights", NARGS(wargs), wargs, wglobal, 1);

    const clnet_cl_filled_planes padded = {scratch, xp_off, p.wp, {0, 0, 0}};
    if (st == CLNET_OK && pad) {
        clnet_cl_tensor_args xa = clnet_cl_targs(x);
        const clnet_cl_arg pargs[] = {
            CLNET_CL_TENSOR(xa), CLNET_CL_ARG(c), CLNET_CL_ARG(h), CLNET_CL_ARG(wd),
            CLNET_CL_ARG(scratch), CLNET_CL_ARG(xp_off), CLNET_CL_ARG(hp), CLNET_CL_ARG(wp),
            CLNET_CL_ARG(ph), CLNET_CL_ARG(pw), CLNET_CL_ARG(gap_h), CLNET_CL_ARG(gap_w),
        };
        const size_t pglobal[3] = {(size_t)p.hp, (size_t)(g->n * g->c), 1};
        st = launch(dev, &p, false, "c3_pad", NARGS(pargs), pargs, pglobal, 1);
    }

    if (st == CLNET_OK)
        st = p.phases ? run_phases(dev, g, &p, scratch, wt, y)
                      : run_conv(dev, op, g, &p, over_x ? x : NULL, pad_h, pad_w,
                                 given ? given : &padded, grouped, wt, y);
    clnet_cl_derived_release(dev, kept, fill && st == CLNET_OK);
    clnet_cl_scratch_release(dev, scratch);
    return st;
}

clnet_status clnet_cl_conv_direct3x3(clnet_device *dev, const clnet_op *op,
                                     const clnet_tensor *x, const clnet_tensor *w,
                                     const clnet_tensor *b, clnet_tensor *y)
{
    const clnet_conv_geom g = clnet_conv_geom_of(op, x, w, y);
    return run(dev, op, &g, false, g.pad_h, g.pad_w, x, NULL, w, b, y);
}

bool clnet_cl_direct3x3_planes(const clnet_device *dev, const clnet_conv_geom *g, int64_t *hp,
                               int64_t *wp)
{
    /* c3_conv_s1_grouped's programs are built for the 3x3 window only */
    if (g->kh != 3 || g->kw != 3 || g->stride_h != 1 || g->stride_w != 1 || g->pad_h != 0 ||
        g->pad_w != 0 || !clnet_cl_direct3x3_applies(dev, g))
        return false;
    const c3_plan p = plan_of(dev, g, false);
    *hp = p.hp;
    *wp = p.wp;
    return !reads_x(g, &p, false, 0, 0);
}

clnet_status clnet_cl_conv_direct3x3_filled(clnet_device *dev, const clnet_op *op,
                                            const clnet_conv_geom *g,
                                            const clnet_cl_filled_planes *planes,
                                            const clnet_tensor *w, const clnet_tensor *b,
                                            clnet_tensor *y)
{
    return run(dev, op, g, false, 0, 0, NULL, planes, w, b, y);
}

clnet_status clnet_cl_conv_transpose_direct3x3(clnet_device *dev, const clnet_op *op,
                                               const clnet_tensor *x, const clnet_tensor *w,
                                               const clnet_tensor *b, clnet_tensor *y)
{
    const clnet_conv_geom t = clnet_conv_geom_of(op, x, w, y);
    return run(dev, op, &t, true, t.kh - 1 - t.pad_h, t.kw - 1 - t.pad_w, x, NULL, w, b, y);
}
