/* cl_gemm_tiled.c - launches clnet's tiled SGEMM (cl/gemm_tiled.cl): picks
 * the tile height for the shape and checks that every index fits an int. */
#include "opencl/cl_gemm_tiled.h"

#include <limits.h>
#include <stdio.h>


/* Mirrors `gemm_shape` in cl/gemm_tiled.cl: cl_int fields only, so host and
 * device lay it out alike. */
typedef struct gemm_shape {
    cl_int m, n, kc, kh, kw, groups;
    cl_int a_off, lda, a_gs;
    cl_int b_off, ldb, b_dh, b_dw, b_ns, b_gs;
    cl_int c_off, ldc, c_ns, c_gs, c_rw, c_valid;
    cl_int bias_off, has_bias, accumulate;
    cl_int a_ns, a_kh, a_kw, a_dh, a_dw;
    cl_int c_bs, a_trans;
    cl_int b_limit;
} gemm_shape;

/* The register tiles of one variant of cl/gemm_tiled.cl: VW lanes per
 * vector, NV vectors per row of the two narrow kernels (VW * NV columns)
 * and their heights; the wide kernel's height and vectors (0: none). */
typedef struct gemm_config {
    int vw, nv, tall, short_rows, wide_rows, wide_nv;
} gemm_config;

/* The tile a product runs with: rows x cols of C per work-item. */
typedef struct gemm_tile {
    int rows, cols;
    bool wide;   /* the kernel gemm_wide_<rows>, else gemm_nn_<rows> */
} gemm_tile;

/* The tiles (vw, nv, tall, short_rows, wide_rows, wide_nv), float8 first as
 * in clnet_cl_gemm_tiled_options, which builds them. On AVX2 (one core of a
 * loaded 2-core host, kernel time of 1x1 convolution, strided 1x1, LINEAR
 * and im2col shapes) 4 x 16 was fastest or near it on every shape: 1.1-1.7x
 * 6 x 16, and 4 x 24, 3 x 24, 5 x 16 and 2 x 32 each lost by up to 2-4x on
 * some shape; the 6-row kernel is kept for row counts that are multiples
 * of 6 but not of 4 (it tied 4 x 16 on 24 rows). On AVX-512 the wide tile
 * (see pick_tile), then 6 x 64, took MobileNet-v2's pointwise GEMM (24 x
 * 3136 per image, k = 144, batch 32) from 4.8-5.7 to 3.7-4.1 ms and
 * ResNet-50's 1x1 one (64 x 3136, k = 256) from 12.4-12.5 to 10.7-12.0
 * (kernel time, best of 9, against 12 x 32 and 8 x 32). It is 5 x 64 now:
 * at 6 x 64 PoCL's register allocator kept one of the 24 accumulators on
 * the stack (a load, FMA and store every step, a quarter of the loop's
 * samples), at 5 x 64 (20) none: ResNet-50's 1x1 13.4-13.6 -> 11.1-11.4 ms
 * and MobileNet-v2's pointwise 3.2 -> 3.2 ms (kernel medians, pinned,
 * alternated). */
#define FLOAT8_TILE 8, 2, 6, 4, 0, 0
#define FLOAT16_TILE 16, 2, 12, 8, 5, 4
#define CONFIG_(vw, nv, tall, short_rows, wide_rows, wide_nv)                   \
    {vw, nv, tall, short_rows, wide_rows, wide_nv}
#define OPTIONS_(vw, nv, tall, short_rows, wide_rows, wide_nv)                  \
    "-DVW=" #vw " -DNV=" #nv " -DMR_TALL=" #tall " -DMR_SHORT=" #short_rows       \
    WIDE_OPTIONS_(wide_rows, wide_nv)
#define WIDE_OPTIONS_(wide_rows, wide_nv) WIDE_OPTIONS_##wide_rows(wide_rows, wide_nv)
#define WIDE_OPTIONS_0(wide_rows, wide_nv) ""
#define WIDE_OPTIONS_5(wide_rows, wide_nv) " -DMR_WIDE=" #wide_rows " -DNV_WIDE=" #wide_nv
#define COLS_(vw, nv, tall, short_rows, wide_rows, wide_nv) ((vw) * (nv))
#define CONFIG(tile) CONFIG_(tile)
#define OPTIONS(tile) OPTIONS_(tile)
#define COLS(tile) COLS_(tile)

static const gemm_config configs[CLNET_CL_GEMM_TILED_VARIANTS] = {CONFIG(FLOAT8_TILE),
                                                                  CONFIG(FLOAT16_TILE)};
const char *const clnet_cl_gemm_tiled_options[CLNET_CL_GEMM_TILED_VARIANTS] = {
    OPTIONS(FLOAT8_TILE), OPTIONS(FLOAT16_TILE)};

/* Callers pad B's rows to whole narrow tiles of every variant. */
_Static_assert(CLNET_CL_GEMM_TILE_COLS % COLS(FLOAT8_TILE) == 0 &&
                   CLNET_CL_GEMM_TILE_COLS % COLS(FLOAT16_TILE) == 0,
               "CLNET_CL_GEMM_TILE_COLS must be a multiple of every tile's columns");

/* The variant for the device's preferred float vector width. */
static int variant_of(const clnet_device *dev) { return clnet_cl_prefers_float8(dev) ? 0 : 1; }

/* Elements of C a tile of rows x cols computes over m x n, padding included. */
static int64_t covered(int64_t m, int64_t n, int rows, int cols)
{
    return clnet_ceil_div(m, rows) * rows * clnet_ceil_div(n, cols) * cols;
}

/* The wide tile for products of few rows and short sums (m <= 64, k <=
 * 256) of an untransposed A, where it computes at most 10% more padding
 * than the best narrow one; else the narrow height with the fewest padded
 * rows, the taller on a tie. The wide tile lost beyond that: Winograd's 16 products of 256 x 256
 * weights (VGG-16's 256 channels on 56x56) took 5.9-6.2 ms against 4.7-4.9,
 * ResNet-50's strided 1x1 (1024 rows, k = 512) 2.5-2.8 against 1.6-1.9; on
 * 32 columns (LINEAR at batch 32), half of them padding, 12 ms against 7. */
static void pick_tile(const gemm_config *cfg, int64_t m, int64_t n, int64_t k, bool a_trans,
                      gemm_tile *t)
{
    const int64_t tall_pad = clnet_ceil_div(m, cfg->tall) * cfg->tall;
    const int64_t short_pad = clnet_ceil_div(m, cfg->short_rows) * cfg->short_rows;
    t->rows = short_pad < tall_pad ? cfg->short_rows : cfg->tall;
    t->cols = cfg->vw * cfg->nv;
    t->wide = false;
    if (cfg->wide_rows == 0 || a_trans || m > 64 || k > 256)
        return;
    const int wide_cols = cfg->vw * cfg->wide_nv;
    if (10 * covered(m, n, cfg->wide_rows, wide_cols) <= 11 * covered(m, n, t->rows, t->cols)) {
        t->rows = cfg->wide_rows;
        t->cols = wide_cols;
        t->wide = true;
    }
}

void clnet_cl_gemm_tile(const clnet_device *dev, int64_t m, int64_t n, int64_t k, int *rows,
                        int *cols)
{
    gemm_tile t;
    pick_tile(&configs[variant_of(dev)], m, n, k, false, &t);
    *rows = t.rows;
    *cols = t.cols;
}

static bool fits(int64_t v)
{
    return v >= 0 && v <= INT_MAX;
}

/* B's last element: the end of its last row in the last matrix. */
static int64_t b_last_of(const clnet_cl_gemm_batch *g, int64_t kh, int64_t kw)
{
    const int64_t kc = g->k / (kh * kw);
    return g->b.off + (g->images - 1) * g->b.image_stride + (g->groups - 1) * g->b.group_stride +
           (kc - 1) * g->b.ld + (kh - 1) * g->b_dh + (kw - 1) * g->b_dw + g->n - 1;
}

/* Every index the kernel forms, in int64 arithmetic: the last element of
 * each operand and every stride. */
static bool batch_fits(const clnet_cl_gemm_batch *g, int64_t kh, int64_t kw, int64_t c_row,
                       int64_t c_valid, int64_t c_bs, int64_t a_kh, int64_t a_kw)
{
    const int64_t z = g->images * g->groups;
    const int64_t a_start = g->a.off + (g->images - 1) * g->a.image_stride +
                            (g->groups - 1) * g->a.group_stride;
    const int64_t a_last = g->a_trans ? a_start + (g->k - 1) * g->a.ld + g->m - 1
                                      : a_start + ((g->m - 1) / (a_kh * a_kw)) * g->a.ld +
                                            (a_kh - 1) * g->a_dh + (a_kw - 1) * g->a_dw +
                                            g->k - 1;
    const int64_t b_last = b_last_of(g, kh, kw);
    const int64_t c_last = g->c.off + (g->images - 1) * g->c.image_stride +
                           (g->groups - 1) * g->c.group_stride + (g->m - 1) * g->c.ld +
                           (g->n - 1) / c_row * c_bs + c_valid - 1;
    return fits(g->m) && fits(g->n) && fits(g->k) && fits(z) && fits(a_last) &&
           fits(b_last) && fits(c_last) && fits(g->bias_off + g->groups * g->m) &&
           fits(g->a.group_stride) && fits(g->a.image_stride) && fits(g->a_dh) &&
           fits(g->a_dw) && fits(g->b.image_stride) && fits(g->b.group_stride) &&
           fits(g->c.image_stride) && fits(g->c.group_stride) && fits(g->b_dh) &&
           fits(g->b_dw);
}

static gemm_shape shape_of(const clnet_cl_gemm_batch *g, int64_t kh, int64_t kw, int64_t c_row,
                           int64_t c_valid, int64_t c_bs, int64_t a_kh, int64_t a_kw)
{
    gemm_shape s;
    s.m = (cl_int)g->m;
    s.n = (cl_int)g->n;
    s.kc = (cl_int)(g->k / (kh * kw));
    s.kh = (cl_int)kh;
    s.kw = (cl_int)kw;
    s.groups = (cl_int)g->groups;
    s.a_off = (cl_int)g->a.off;
    s.lda = (cl_int)g->a.ld;
    s.a_gs = (cl_int)g->a.group_stride;
    s.b_off = (cl_int)g->b.off;
    s.ldb = (cl_int)g->b.ld;
    s.b_dh = (cl_int)g->b_dh;
    s.b_dw = (cl_int)g->b_dw;
    s.b_ns = (cl_int)g->b.image_stride;
    s.b_gs = (cl_int)g->b.group_stride;
    s.c_off = (cl_int)g->c.off;
    s.ldc = (cl_int)g->c.ld;
    s.c_ns = (cl_int)g->c.image_stride;
    s.c_gs = (cl_int)g->c.group_stride;
    s.c_rw = (cl_int)c_row;
    s.c_valid = (cl_int)c_valid;
    s.bias_off = (cl_int)g->bias_off;
    s.has_bias = g->bias != NULL;
    s.accumulate = g->accumulate;
    s.a_ns = (cl_int)g->a.image_stride;
    s.a_kh = (cl_int)a_kh;
    s.a_kw = (cl_int)a_kw;
    s.a_dh = (cl_int)g->a_dh;
    s.a_dw = (cl_int)g->a_dw;
    s.c_bs = (cl_int)c_bs;
    s.a_trans = g->a_trans;
    return s;
}

/* Each work-item owns a whole tile, so any grouping is correct. On a CPU,
 * where a work-group runs on one core, a group of the row tiles of one
 * column of tiles (of one image) finds B's columns in cache again; PoCL's
 * own choice put 8 images into a group, whose columns evict each other
 * (1x1 convolution on AVX2, kernel time: 83 -> 115-125 GFLOP/s). A few
 * columns join where there are few rows (LeNet-5: 1 row tile), since a
 * work-group of one item costs more than its work (7 columns of one row
 * tile: 1.3-1.5x faster than 1 or 49).
 *
 * `along_rows` swaps the two: a group holds the column tiles of one row
 * tile, which write C's rows whole where a column of tiles writes one
 * line into each of C's rows, a page apart on a wide C (see
 * groups_along_rows). */
#define CPU_GROUP_MIN_ITEMS 8
static void cpu_groups(const clnet_device *dev, cl_kernel kernel, const size_t global[3],
                       bool along_rows, size_t local[3])
{
    size_t max = 0;
    if (clGetKernelWorkGroupInfo(kernel, clnet_cl(dev)->id, CL_KERNEL_WORK_GROUP_SIZE, sizeof max,
                                 &max, NULL) != CL_SUCCESS || max == 0)
        max = 1;
    const int d = along_rows ? 1 : 0, o = 1 - d;   /* the grouped dimension, the other */
    local[d] = clnet_cl_divisor_within(global[d], max);
    local[o] = 1;
    while (local[d] * local[o] < CPU_GROUP_MIN_ITEMS && local[o] < global[o]) {
        size_t next = local[o] + 1;
        while (global[o] % next != 0)
            next++;
        if (local[d] * next > max)
            break;
        local[o] = next;
    }
    local[2] = 1;
}

/* Whether a single product should group its tiles along rows: one whose
 * sums are short (k <= 64), so that a column of tiles would find little of
 * B to share while writing a line into each of C's rows, and whose B fits
 * in half the device's cache, where the row tiles find it one after
 * another. LINEAR's weight gradient, dw (4096 x 4096) = dy^T x over a
 * batch of 32, went 27 -> 17 ms (AVX2); products with long sums lost (an
 * image's im2col GEMM of AlexNet's first layer, k = 363: 52 -> 60 ms). */
static bool groups_along_rows(const clnet_device *dev, const clnet_cl_gemm_batch *g)
{
    if (g->images * g->groups != 1 || g->k > 64)
        return false;
    const double b_bytes = (double)g->k * (double)g->n * sizeof(cl_float);
    const double cache = (double)clnet_cl(dev)->cache_bytes;
    if (cache > 0)
        return b_bytes <= cache / 2;
    /* PoCL reports no cache size (CL_NONE). There only the product
     * measured to win groups along rows: a B of at most 1 MiB and a C of
     * 16 MiB and more, LINEAR's weight gradient at batch 32 (AVX-512,
     * kernel medians, 5.1-5.2 -> 4.1-4.4 ms); 1x1 convolutions at batch 1
     * (C of 0.2-1.4 MiB) were level or up to 15% slower. */
    return b_bytes <= 1024.0 * 1024 && (double)g->m * (double)g->n * sizeof(cl_float) >=
                                             16.0 * 1024 * 1024;
}

/* Mirrors `gemm_nt_shape` in cl/gemm_tiled.cl. */
typedef struct gemm_nt_shape {
    cl_int m, n, k;
    cl_int a_off, lda, b_off, ldb, c_off, ldc;
    cl_int accumulate;
} gemm_nt_shape;

/* The shape of one plain product for gemm_nt_<rows> and gemm_thin, with
 * its three buffers as the kernels' first arguments. */
static gemm_nt_shape nt_shape(int64_t m, int64_t n, int64_t k, const clnet_cl_gemm_operand *a,
                              const clnet_cl_gemm_operand *b, const clnet_cl_gemm_operand *c,
                              bool accumulate)
{
    return (gemm_nt_shape){
        (cl_int)m, (cl_int)n, (cl_int)k, (cl_int)a->off, (cl_int)a->ld, (cl_int)b->off,
        (cl_int)b->ld, (cl_int)c->off, (cl_int)c->ld, accumulate,
    };
}

/* gemm_thin's rows at most and columns a work-item (THIN_M_MAX,
 * THIN_COLS in the kernel). */
#define THIN_M_MAX 64
#define THIN_COLS 128
/* B's size from which gemm_thin takes a product. PoCL reports no cache
 * size, so it is measured (AVX-512, m = 32, B k x n, op medians, pinned,
 * tiles -> gemm_thin): 1448 x 1448 (8 MiB) 0.48-0.54 -> 0.56-0.62 ms,
 * 1024 x 2048 level, 2048 x 1024 0.68-0.75 -> 0.53-0.63, 2048 x 2048
 * 1.44 -> 1.02, 4096 x 1000 1.28 -> 1.07, 4096 x 4096 8.9-9.5 -> 4.6-5.0
 * (m = 1: 3.1 -> 2.7, m = 64: 15.2 -> 7.4), 4096 x 9216 15.9 -> 10.2. */
#define THIN_B_MIN_BYTES (12.0 * 1024 * 1024)

bool clnet_cl_gemm_thin_takes(const clnet_device *dev, int64_t m, int64_t n, int64_t k)
{
    return clnet_cl_is_cpu(dev) && variant_of(dev) == 1 && m <= THIN_M_MAX &&
           (double)k * (double)n * sizeof(cl_float) >= THIN_B_MIN_BYTES;
}

/* Whether gemm_thin takes the batch: one plain product (no window, no
 * transposed A, no bias, C's rows whole) that clnet_cl_gemm_thin_takes. */
static bool thin_takes(const clnet_device *dev, const clnet_cl_gemm_batch *g, bool runs,
                       bool a_window)
{
    return g->images * g->groups == 1 && !runs && !a_window && !g->a_trans && !g->bias &&
           clnet_cl_gemm_thin_takes(dev, g->m, g->n, g->k);
}

/* One work-item a group: the work-items are few (32 for 4096 columns) and
 * long, and a group's items share a core. */
static clnet_status launch_thin(clnet_device *dev, const clnet_cl_gemm_batch *g)
{
    cl_kernel kernel;
    clnet_status st = clnet_cl_kernel(dev, "gemm_tiled", clnet_cl_gemm_tiled_options[1],
                                      "gemm_thin", &kernel);
    if (st != CLNET_OK)
        return st;
    const gemm_nt_shape s = nt_shape(g->m, g->n, g->k, &g->a, &g->b, &g->c, g->accumulate);
    const clnet_cl_arg args[] = {
        CLNET_CL_ARG(g->a.mem), CLNET_CL_ARG(g->b.mem), CLNET_CL_ARG(g->c.mem), CLNET_CL_ARG(s),
    };
    const size_t global[3] = {(size_t)clnet_ceil_div(g->n, THIN_COLS), 1, 1};
    const size_t local[3] = {1, 1, 1};
    return clnet_cl_launch(dev, kernel, "gemm_thin", (int)(sizeof args / sizeof args[0]), args,
                           1, global, local);
}

clnet_status clnet_cl_gemm_tiled(clnet_device *dev, const char *opname,
                                 const clnet_cl_gemm_batch *g)
{
    if (g->m <= 0 || g->n <= 0 || g->images <= 0 || g->groups <= 0)
        return CLNET_OK;
    const bool window = g->kh > 0 && g->kw > 0;
    const int64_t kh = window ? g->kh : 1, kw = window ? g->kw : 1;
    const bool runs = window || g->c_block > 0;
    const int64_t c_row = runs ? g->c_row : g->n, c_valid = runs ? g->c_valid : g->n;
    const int64_t c_bs = g->c_block > 0 ? g->c_block : c_valid;
    const bool a_window = g->a_kh > 0 && g->a_kw > 0;
    const int64_t a_kh = a_window ? g->a_kh : 1, a_kw = a_window ? g->a_kw : 1;
    if (!batch_fits(g, kh, kw, c_row, c_valid, c_bs, a_kh, a_kw) || !fits(c_bs))
        return clnet_fail(dev->ctx, CLNET_ERR_UNSUPPORTED,
                          "%s on %s: tiled GEMM (M=%lld N=%lld K=%lld, %lld x %lld batch) "
                          "indexes beyond 2^31-1 elements", opname, dev->info.name,
                          (long long)g->m, (long long)g->n, (long long)g->k,
                          (long long)g->images, (long long)g->groups);
    if (thin_takes(dev, g, runs, a_window))
        return launch_thin(dev, g);
    const int variant = variant_of(dev);
    gemm_tile tile;
    pick_tile(&configs[variant], g->m, g->n, g->k, g->a_trans, &tile);
    const int rows = tile.rows, cols = tile.cols;
    char kname[32];
    snprintf(kname, sizeof kname, "gemm_%s_%d", tile.wide ? "wide" : "nn", rows);
    cl_kernel kernel;
    clnet_status st = clnet_cl_kernel(dev, "gemm_tiled", clnet_cl_gemm_tiled_options[variant],
                                      kname, &kernel);
    if (st != CLNET_OK)
        return st;
    gemm_shape s = shape_of(g, kh, kw, c_row, c_valid, c_bs, a_kh, a_kw);
    /* B's own elements bound the whole-vector loads of a partial tile,
     * which thus never read what another operand (in the same buffer) is
     * being written */
    s.b_limit = (cl_int)(b_last_of(g, kh, kw) + 1);
    /* A bias-less launch still passes a valid buffer for the unused
     * pointer, which some drivers require. */
    cl_mem bias = g->bias ? g->bias : g->c.mem;
    const clnet_cl_arg args[] = {
        CLNET_CL_ARG(g->a.mem), CLNET_CL_ARG(g->b.mem), CLNET_CL_ARG(g->c.mem),
        CLNET_CL_ARG(bias), CLNET_CL_ARG(s),
    };
    const size_t global[3] = {
        (size_t)((g->m + rows - 1) / rows),
        (size_t)((g->n + cols - 1) / cols),
        (size_t)(g->images * g->groups),
    };
    size_t local[3];
    const bool cpu = clnet_cl_is_cpu(dev);
    if (cpu)
        cpu_groups(dev, kernel, global, groups_along_rows(dev, g), local);
    return clnet_cl_launch(dev, kernel, kname, (int)(sizeof args / sizeof args[0]), args, 3,
                           global, cpu ? local : NULL);
}

/* The rows of C a work-item of gemm_nt_<rows> computes, and its columns
 * (NT_COLS in the kernel). */
#define NT_ROWS 4
#define NT_COLS 4
/* A's elements at most: its rows are read again by every tile of B. */
#define NT_A_MAX_ELEMS (1 << 18)

bool clnet_cl_gemm_nt_applies(const clnet_device *dev, int64_t m, int64_t n, int64_t k,
                              const clnet_cl_gemm_operand *a, const clnet_cl_gemm_operand *b,
                              const clnet_cl_gemm_operand *c)
{
    if (!clnet_cl_is_cpu(dev) || variant_of(dev) != 1 || m <= 0 || n <= 0 || k <= 0 ||
        m > 64 || m * k > NT_A_MAX_ELEMS)
        return false;
    return fits(a->off + (m - 1) * a->ld + k) && fits(b->off + (n - 1) * b->ld + k) &&
           fits(c->off + (m - 1) * c->ld + n) && fits(a->ld) && fits(b->ld) && fits(c->ld);
}

clnet_status clnet_cl_gemm_nt(clnet_device *dev, int64_t m, int64_t n, int64_t k,
                              const clnet_cl_gemm_operand *a, const clnet_cl_gemm_operand *b,
                              const clnet_cl_gemm_operand *c, bool accumulate)
{
    const int rows = m >= NT_ROWS ? NT_ROWS : 1;
    const char *kname = rows == NT_ROWS ? "gemm_nt_4" : "gemm_nt_1";
    cl_kernel kernel;
    clnet_status st = clnet_cl_kernel(dev, "gemm_tiled", clnet_cl_gemm_tiled_options[1],
                                      kname, &kernel);
    if (st != CLNET_OK)
        return st;
    const gemm_nt_shape s = nt_shape(m, n, k, a, b, c, accumulate);
    const clnet_cl_arg args[] = {
        CLNET_CL_ARG(a->mem), CLNET_CL_ARG(b->mem), CLNET_CL_ARG(c->mem), CLNET_CL_ARG(s),
    };
    const size_t global[3] = {(size_t)clnet_ceil_div(m, rows), (size_t)clnet_ceil_div(n, NT_COLS),
                              1};
    size_t local[3];
    /* a group holds the row tiles of one tile of B's rows, which they find
     * in cache after the first */
    cpu_groups(dev, kernel, global, false, local);
    return clnet_cl_launch(dev, kernel, kname, (int)(sizeof args / sizeof args[0]), args, 3,
                           global, local);
}
