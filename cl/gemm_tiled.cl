/* gemm_tiled.cl - a strided batch of row-major SGEMMs C = A * B (+ a bias per
 * row of C, or + C), where B may also be read implicitly as the columns of
 * a stride-1 convolution of a zero-padded image (no im2col copy). */

/* A work-item computes an mr x (VW * nv) tile of C in mr * nv accumulators
 * of VW lanes: PoCL keeps explicit vectors in vector registers but does not
 * vectorise scalar per-item code. For each k it loads nv vectors of one
 * row of B and broadcasts mr values of a column of A, so every load feeds
 * mr or nv fused multiply-adds. The tile must fit the register file, which
 * cl_gemm_tiled.c picks by the device's vector width: float16 with 12 x 32
 * (24 of AVX-512's 32 registers) and 8 x 32, float8 with 6 x 16 (12 of
 * AVX2's 16) and 4 x 16; float16 devices also build the wide tile MR_WIDE
 * x (VW * NV_WIDE), 5 x 64, whose fewer broadcasts (and row pointers of A)
 * per multiply-add won on long rows of C (it reads A untransposed only).
 * The tiles are kernels gemm_nn_<rows> and gemm_wide_<rows>, not one build
 * option, so that one binary holds them all: the short one serves row
 * counts it divides with less padding. */
#ifndef VW
#define VW 16
#endif
#ifndef NV
#define NV 2
#endif
#ifndef MR_TALL
#define MR_TALL 12
#endif
#ifndef MR_SHORT
#define MR_SHORT 8
#endif
#ifdef MR_WIDE
#define NV_MAX NV_WIDE
#else
#define NV_MAX NV
#endif
#define MR_MAX MR_TALL

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define floatv CAT(float, VW)
#define intv CAT(int, VW)
#define vloadv CAT(vload, VW)
#define vstorev CAT(vstore, VW)

/* Layout shared with `gemm_shape` in lib/opencl/cl_gemm_tiled.c (ints
 * only). Batch entry z of the launch is image z / groups, group z %
 * groups; each matrix is found at off + image * ns + group * gs (A's
 * image stride is 0 where the weights are shared).
 *
 * Row kk = (c * kh + i) * kw + j of B starts at c * ldb + i * b_dh + j *
 * b_dw: with kh = kw = 1 that is an ordinary matrix, and with the strides
 * of a padded image (b_dh = dilation * padded width, b_dw = dilation, ldb
 * = padded plane) it is the im2col matrix of a stride-1 convolution whose
 * output pixels are computed on the padded width (column p = oh * c_rw +
 * ow). Columns with ow >= c_valid fall in the padding and are dropped; the
 * others go to oh * c_bs + ow of C's row (c_bs = c_valid there). With an
 * ordinary B, c_rw = c_valid = an image's plane and c_bs = the images'
 * stride put the columns of images side by side into their own images.
 *
 * Row r = (c * a_kh + i) * a_kw + j of A starts at c * lda + i * a_dh + j
 * * a_dw (a_kh = a_kw = 1: an ordinary matrix): the transposed im2col matrix
 * of a stride-1 convolution read from a padded image, the weight gradient's
 * left-hand side. A's image stride a_ns lets the batch entries be slices
 * of one long product (split K). With a_trans, A is stored transposed:
 * element (r, kk) at kk * lda + r, so a tile's mr broadcasts of one step
 * come from one run of memory (a convolution's weights, K x T, read as the
 * T x K left-hand side of its data gradient without a transposed copy). */
typedef struct gemm_shape {
    int m, n, kc, kh, kw, groups;
    int a_off, lda, a_gs;
    int b_off, ldb, b_dh, b_dw, b_ns, b_gs;
    int c_off, ldc, c_ns, c_gs, c_rw, c_valid;
    int bias_off, has_bias, accumulate;
    int a_ns, a_kh, a_kw, a_dh, a_dw;
    int c_bs, a_trans;
    int b_limit;
} gemm_shape;

#if VW == 16
#define LANES (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
#else
#define LANES (int8)(0, 1, 2, 3, 4, 5, 6, 7)
#endif

/* Lanes j < count of row[j], zeros beyond: the right edge of B. */
static inline floatv load_part(__global const float *row, int count)
{
    float v[VW];
    for (int j = 0; j < VW; j++)
        v[j] = j < count ? row[j] : 0.0f;
    return vloadv(0, v);
}

/* Stores lanes j < count, lane j being column p0 + j of C, dropping the
 * columns that fall in the padding of an implicit convolution. */
static inline void store_cols(__global float *crow, int p0, int count, int rw, int valid,
                              int bs, floatv val)
{
    if (count == VW && rw == valid && rw == bs) {
        vstorev(val, 0, crow + p0);
        return;
    }
    float v[VW];
    vstorev(val, 0, v);
    /* one division a vector: a division per lane took 15x the time of the
     * multiply-adds of LeNet-5's first layer (25 taps) */
    int oh = p0 / rw, ow = p0 - oh * rw;
    if (ow + count <= rw) {
        /* the lanes in one row of the padded width: a run of columns */
        const int run = min(count, valid - ow);
        __global float *dst = crow + oh * bs + ow;
        if (run == VW) {
            vstorev(val, 0, dst);
            return;
        }
        for (int j = 0; j < run; j++)
            dst[j] = v[j];
        return;
    }
    for (int j = 0; j < count; j++) {
        if (ow < valid)
            crow[oh * bs + ow] = v[j];
        if (++ow == rw) {
            ow = 0;
            oh++;
        }
    }
}

static inline floatv load_cols(__global const float *crow, int p0, int count, int rw,
                                int valid, int bs)
{
    float v[VW];
    int oh = p0 / rw, ow = p0 - oh * rw;
    for (int j = 0; j < VW; j++) {
        v[j] = j < count && ow < valid ? crow[oh * bs + ow] : 0.0f;
        if (++ow == rw) {
            ow = 0;
            oh++;
        }
    }
    return vloadv(0, v);
}

/* acc += A(rows ar, kk) * B(row brow, the tile's columns). A tile at the
 * right edge of C (`cols` < its VW * nv) reads only its own columns of B. */
#define GEMM_STEP(LOAD)                                                         \
    do {                                                                        \
        floatv bv[NV_MAX];                                                      \
        _Pragma("unroll") for (int v = 0; v < nv; v++)                          \
            bv[v] = LOAD;                                                       \
        _Pragma("unroll") for (int r = 0; r < mr; r++) {                        \
            const floatv av = (floatv)(ar[r][kk * a_ks]);                       \
            _Pragma("unroll") for (int v = 0; v < nv; v++)                      \
                acc[r][v] = fma(av, bv[v], acc[r][v]);                          \
        }                                                                       \
    } while (0)

/* An ordinary B (a 1 x 1 window) takes a single loop over k: nested loops
 * whose inner trip counts are 1 cost as many instructions per k as the
 * multiply-adds (their pointers reloaded from the stack each time). */
#define GEMM_LOOP(LOAD)                                                         \
    if (s.kh == 1 && s.kw == 1) {                                               \
        for (int kk = 0; kk < s.kc; kk++) {                                     \
            __global const float *brow = bp + kk * s.ldb;                       \
            GEMM_STEP(LOAD);                                                    \
        }                                                                       \
    } else {                                                                    \
        for (int c = 0, kk = 0; c < s.kc; c++) {                                \
            for (int i = 0; i < s.kh; i++) {                                    \
                for (int j = 0; j < s.kw; j++, kk++) {                          \
                    __global const float *brow =                                \
                        bp + c * s.ldb + i * s.b_dh + j * s.b_dw;               \
                    GEMM_STEP(LOAD);                                            \
                }                                                               \
            }                                                                   \
        }                                                                       \
    }

/* Where row `row` of A starts, relative to its matrix. */
static inline int a_row(int row, const gemm_shape *s)
{
    if (s->a_trans)
        return row;
    if (s->a_kh == 1 && s->a_kw == 1)
        return row * s->lda;
    const int window = s->a_kh * s->a_kw, tap = row % window;
    return row / window * s->lda + tap / s->a_kw * s->a_dh + tap % s->a_kw * s->a_dw;
}

/* Grid: dim 0 = tiles along M, dim 1 = tiles along N, dim 2 = image *
 * groups + group. Rows of A past M repeat the last row, which keeps every
 * load in bounds without a branch in the loop; their results are not
 * stored. `mr` and `nv` are constants in each kernel, so the arrays shrink
 * to them. */
static inline void gemm_tile(const int mr, const int nv, const bool may_trans,
                             __global const float *a, __global const float *b,
                             __global float *c, __global const float *bias,
                             const gemm_shape s)
{
    const int nr = VW * nv;
    const int m0 = get_global_id(0) * mr, n0 = get_global_id(1) * nr;
    if (m0 >= s.m || n0 >= s.n)
        return;
    const int z = get_global_id(2), g = z % s.groups, img = z / s.groups;
    const int cols = min(nr, s.n - n0);
    __global const float *bp = b + s.b_off + img * s.b_ns + g * s.b_gs + n0;
    __global float *cp = c + s.c_off + img * s.c_ns + g * s.c_gs;
    /* A's stride along k: 1 where the kernel serves no transposed A, a
     * constant the steps' addressing folds in (a stride held in a register
     * cost the wide tile 5-10%) */
    const int a_ks = may_trans && s.a_trans ? s.lda : 1;
    __global const float *ar[MR_MAX];
    _Pragma("unroll") for (int r = 0; r < mr; r++)
        ar[r] = a + s.a_off + img * s.a_ns + g * s.a_gs + a_row(min(m0 + r, s.m - 1), &s);

    floatv acc[MR_MAX][NV_MAX];
    _Pragma("unroll") for (int r = 0; r < mr; r++) {
        const int row = min(m0 + r, s.m - 1);
        const float init = s.has_bias ? bias[s.bias_off + g * s.m + row] : 0.0f;
        _Pragma("unroll") for (int v = 0; v < nv; v++) {
            if (s.accumulate)
                acc[r][v] = load_cols(cp + row * s.ldc, n0 + VW * v, cols - VW * v, s.c_rw,
                                      s.c_valid, s.c_bs);
            else
                acc[r][v] = init;
        }
    }

    /* A partial tile of columns loads whole vectors and keeps its own lanes
     * (the others, never stored, kept clear of whatever lies beyond) where
     * B goes on past the last row's tile (b_limit: one past B's last
     * element), lane by lane only at B's very end: a GEMM per image of 49
     * or 196 columns spent most of its time in the lane-by-lane loads of
     * its last tile. */
    const int b_last_row = s.b_off + img * s.b_ns + g * s.b_gs + n0 + (s.kc - 1) * s.ldb +
                           (s.kh - 1) * s.b_dh + (s.kw - 1) * s.b_dw;
    if (cols == nr) {
        GEMM_LOOP(vloadv(v, brow))
    } else if (b_last_row <= s.b_limit - nr) {
        intv keep[NV_MAX];
        _Pragma("unroll") for (int v = 0; v < nv; v++)
            keep[v] = VW * v + LANES < cols;
        GEMM_LOOP(select((floatv)0.0f, vloadv(v, brow), keep[v]))
    } else {
        GEMM_LOOP(load_part(brow + VW * v, cols - VW * v))
    }

    _Pragma("unroll") for (int r = 0; r < mr; r++) {
        if (m0 + r >= s.m)
            break;
        _Pragma("unroll") for (int v = 0; v < nv; v++)
            store_cols(cp + (m0 + r) * s.ldc, n0 + VW * v, min(VW, cols - VW * v), s.c_rw,
                       s.c_valid, s.c_bs, acc[r][v]);
    }
}

__kernel void CAT(gemm_nn_, MR_TALL)(__global const float *a, __global const float *b,
                                     __global float *c, __global const float *bias, gemm_shape s)
{
    gemm_tile(MR_TALL, NV, true, a, b, c, bias, s);
}

__kernel void CAT(gemm_nn_, MR_SHORT)(__global const float *a, __global const float *b,
                                      __global float *c, __global const float *bias, gemm_shape s)
{
    gemm_tile(MR_SHORT, NV, true, a, b, c, bias, s);
}

#ifdef MR_WIDE
__kernel void CAT(gemm_wide_, MR_WIDE)(__global const float *a, __global const float *b,
                                       __global float *c, __global const float *bias,
                                       gemm_shape s)
{
    gemm_tile(MR_WIDE, NV_WIDE, false, a, b, c, bias, s);
}
#endif

#if VW == 16
/* gemm_nt_<rows>: C (m x n) (+)= A (m x k) B^T with B stored n x k, both
 * operands read along k: LINEAR's y = x w^T without transposing x, w or y.
 * A work-item computes rows x NT_COLS of C as dot products, loading one
 * vector of each of its rows of A and of B per VW steps of k (8 loads for
 * 16 multiply-adds at 4 x 4, where the tiled kernel's broadcasts of A cost
 * 10) and summing each accumulator's lanes at the end. The host groups the
 * row tiles of one tile of B's rows, so B streams from memory once and A,
 * which the host keeps small, from cache. Built on float16 devices only,
 * where it was measured (cl_gemm_tiled.c). */
#define NT_COLS 4
#define NT_ROWS_MAX 4

typedef struct gemm_nt_shape {
    int m, n, k;
    int a_off, lda, b_off, ldb, c_off, ldc;
    int accumulate;
} gemm_nt_shape;

static inline void gemm_nt_tile(const int mr, __global const float *a, __global const float *b,
                                __global float *c, const gemm_nt_shape s)
{
    const int i0 = get_global_id(0) * mr, j0 = get_global_id(1) * NT_COLS;
    if (i0 >= s.m || j0 >= s.n)
        return;
    /* rows past the edge repeat the last one: loads stay in bounds without
     * a branch in the loop, and their sums are not stored */
    __global const float *ar[NT_ROWS_MAX], *br[NT_COLS];
    _Pragma("unroll") for (int r = 0; r < mr; r++)
        ar[r] = a + s.a_off + min(i0 + r, s.m - 1) * s.lda;
    _Pragma("unroll") for (int q = 0; q < NT_COLS; q++)
        br[q] = b + s.b_off + min(j0 + q, s.n - 1) * s.ldb;

    floatv acc[NT_ROWS_MAX][NT_COLS];
    _Pragma("unroll") for (int r = 0; r < mr; r++)
        _Pragma("unroll") for (int q = 0; q < NT_COLS; q++)
            acc[r][q] = 0.0f;
    int kk = 0;
    for (; kk + VW <= s.k; kk += VW) {
        floatv bv[NT_COLS];
        _Pragma("unroll") for (int q = 0; q < NT_COLS; q++)
            bv[q] = vloadv(0, br[q] + kk);
        _Pragma("unroll") for (int r = 0; r < mr; r++) {
            const floatv av = vloadv(0, ar[r] + kk);
            _Pragma("unroll") for (int q = 0; q < NT_COLS; q++)
                acc[r][q] = fma(av, bv[q], acc[r][q]);
        }
    }
    float sum[NT_ROWS_MAX][NT_COLS];
    _Pragma("unroll") for (int r = 0; r < mr; r++)
        _Pragma("unroll") for (int q = 0; q < NT_COLS; q++)
            sum[r][q] = sum16(acc[r][q]);
    for (; kk < s.k; kk++)
        _Pragma("unroll") for (int r = 0; r < mr; r++)
            _Pragma("unroll") for (int q = 0; q < NT_COLS; q++)
                sum[r][q] = fma(ar[r][kk], br[q][kk], sum[r][q]);

    const int cols = min(NT_COLS, s.n - j0);
    _Pragma("unroll") for (int r = 0; r < mr; r++) {
        if (i0 + r >= s.m)
            break;
        __global float *crow = c + s.c_off + (i0 + r) * s.ldc + j0;
        _Pragma("unroll") for (int q = 0; q < NT_COLS; q++)
            if (q < cols)
                crow[q] = s.accumulate ? crow[q] + sum[r][q] : sum[r][q];
    }
}

__kernel void gemm_nt_4(__global const float *a, __global const float *b, __global float *c,
                        gemm_nt_shape s)
{
    gemm_nt_tile(4, a, b, c, s);
}

__kernel void gemm_nt_1(__global const float *a, __global const float *b, __global float *c,
                        gemm_nt_shape s)
{
    gemm_nt_tile(1, a, b, c, s);
}

/* gemm_thin: C (m x n) (+)= A (m x k) B for few rows (m <= THIN_M_MAX)
 * and a B far larger than the caches: LINEAR's data gradient, dx = dy w
 * with w 4096 x 4096. The tiled kernel's row tiles each walk the whole of
 * B down its columns, a row (a page) per step, so B came from memory once
 * per tile of rows (m = 32 in 8-row tiles: 9.5 ms, m = 8: 3.2). Here a
 * work-item computes every row of THIN_COLS columns and walks B once: a
 * chunk of THIN_KC of its rows is copied to private memory (B's rows, a
 * power of two apart, would evict each other from the L1 cache's sets),
 * then multiplied into each block of THIN_ROWS rows of C in turn, whose
 * accumulators wait in private memory between chunks (16 vector loads and
 * stores a block for 1024 multiply-adds). Wide rows of B won (fewer
 * pages walked a byte read, we think; this VM has no counters to show
 * it): m = 32, 4096 x 4096, kernel medians, rows x vectors of 16 columns:
 * 8 x 2 6.9 ms, 4 x 4 5.7, 2 x 8 4.6-4.9, 1 x 16 5.3 (chunks of 16 or
 * 32 rows); chunks of 32 and 128 rows lost to 64 at 2 x 8.
 * Shape as gemm_nt_shape. Grid: dim 0 = tiles of THIN_COLS columns. */
#define THIN_ROWS 2
#define THIN_NV 8
#define THIN_COLS (VW * THIN_NV)
#define THIN_KC 64
#define THIN_M_MAX 64
#define THIN_BLOCKS_MAX (THIN_M_MAX / THIN_ROWS)

__kernel void gemm_thin(__global const float *a, __global const float *b, __global float *c,
                        gemm_nt_shape s)
{
    const int n0 = get_global_id(0) * THIN_COLS;
    if (n0 >= s.n)
        return;
    const int cols = min(THIN_COLS, s.n - n0);
    const int blocks = (s.m + THIN_ROWS - 1) / THIN_ROWS;
    floatv part[THIN_BLOCKS_MAX][THIN_ROWS][THIN_NV];
    for (int rb = 0; rb < blocks; rb++)
        _Pragma("unroll") for (int r = 0; r < THIN_ROWS; r++)
            _Pragma("unroll") for (int v = 0; v < THIN_NV; v++)
                part[rb][r][v] = 0.0f;
    __global const float *bp = b + s.b_off + n0;
    for (int k0 = 0; k0 < s.k; k0 += THIN_KC) {
        const int kn = min(THIN_KC, s.k - k0);
        floatv chunk[THIN_KC][THIN_NV];
        for (int kk = 0; kk < kn; kk++) {
            __global const float *brow = bp + (k0 + kk) * s.ldb;
            _Pragma("unroll") for (int v = 0; v < THIN_NV; v++)
                chunk[kk][v] = cols == THIN_COLS ? vloadv(v, brow)
                                                 : load_part(brow + VW * v, cols - VW * v);
        }
        for (int rb = 0; rb < blocks; rb++) {
            /* rows past m repeat the last one; their sums are not stored */
            __global const float *ar[THIN_ROWS];
            floatv acc[THIN_ROWS][THIN_NV];
            _Pragma("unroll") for (int r = 0; r < THIN_ROWS; r++) {
                ar[r] = a + s.a_off + min(rb * THIN_ROWS + r, s.m - 1) * s.lda + k0;
                _Pragma("unroll") for (int v = 0; v < THIN_NV; v++)
                    acc[r][v] = part[rb][r][v];
            }
            for (int kk = 0; kk < kn; kk++)
                _Pragma("unroll") for (int r = 0; r < THIN_ROWS; r++) {
                    const floatv av = (floatv)(ar[r][kk]);
                    _Pragma("unroll") for (int v = 0; v < THIN_NV; v++)
                        acc[r][v] = fma(av, chunk[kk][v], acc[r][v]);
                }
            _Pragma("unroll") for (int r = 0; r < THIN_ROWS; r++)
                _Pragma("unroll") for (int v = 0; v < THIN_NV; v++)
                    part[rb][r][v] = acc[r][v];
        }
    }
    for (int row = 0; row < s.m; row++) {
        __global float *crow = c + s.c_off + row * s.ldc + n0;
        _Pragma("unroll") for (int v = 0; v < THIN_NV; v++) {
            float lanes[VW];
            vstorev(part[row / THIN_ROWS][row % THIN_ROWS][v], 0, lanes);
            for (int j = 0; j < min(VW, cols - VW * v); j++)
                crow[VW * v + j] = s.accumulate ? crow[VW * v + j] + lanes[j] : lanes[j];
        }
    }
}
#endif
