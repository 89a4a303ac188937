/* cl_gemm_tiled.h - clnet's own tiled SGEMM kernel (cl/gemm_tiled.cl): a
 * strided batch of row-major C = A * B, for im2col and 1x1 convolution. */
#ifndef CLNET_CL_GEMM_TILED_H
#define CLNET_CL_GEMM_TILED_H

#include "opencl/clcl.h"

/* A multiple of the columns of C one work-item computes in every narrow
 * tile of cl/gemm_tiled.cl (VW * NV: 32 with float16, 16 with float8): a
 * partial tile of columns takes the kernel's slow path, so callers that lay
 * out B pad its rows to a multiple of this. (The wide tile, 64 columns,
 * is chosen only where its partial tiles cost little.) */
#define CLNET_CL_GEMM_TILE_COLS 32

/* The build options of cl/gemm_tiled.cl's register tiles, one per vector
 * width (float8, float16): cl_gemm_tiled.c picks one by the device's
 * preferred float vector width; `clnet-bench compile` builds them all. */
#define CLNET_CL_GEMM_TILED_VARIANTS 2
extern const char *const clnet_cl_gemm_tiled_options[CLNET_CL_GEMM_TILED_VARIANTS];

static inline int64_t clnet_cl_gemm_pad_cols(int64_t n)
{
    return clnet_ceil_div(n, CLNET_CL_GEMM_TILE_COLS) * CLNET_CL_GEMM_TILE_COLS;
}

/* One operand: element offset, leading dimension (row stride), and the
 * strides between the matrices of consecutive images and groups. */
typedef struct clnet_cl_gemm_operand {
    cl_mem mem;
    int64_t off, ld, image_stride, group_stride;
} clnet_cl_gemm_operand;

/* C (m x n) = A (m x k) * B (k x n) for every (image, group) of the batch,
 * plus bias[group * m + row] when bias.mem is set, or plus the old C with
 * `accumulate`. A's image_stride is 0 for weights shared by the images;
 * with one long product cut into slices along k (split K), the batch
 * entries are the slices and every operand steps by its slice (or, for A
 * read in place from images, by the images' stride).
 *
 * With a window (kh, kw > 0), B is the im2col matrix of a stride-1
 * convolution read straight from a zero-padded image: row (c * kh + i) *
 * kw + j starts at b.off + c * b.ld + i * b_dh + j * b_dw, k = channels *
 * kh * kw, and column p is output pixel (p / c_row, p % c_row) computed on
 * the padded width c_row, of which the first c_valid columns are real:
 * they go to C at (p / c_row) * c_valid + p % c_row, the rest are dropped.
 * kh = kw = 0 is an ordinary matrix B (row r at b.off + r * b.ld).
 *
 * c_block > 0 moves every run of c_row columns of C to its own block,
 * c_block elements after the previous run (0: c_valid, as above). With an
 * ordinary B and c_row = c_valid = an image's plane it puts the columns of
 * several images side by side in B (one wide GEMM where each image's own
 * would be narrow) into each image's place in an NCHW tensor.
 *
 * With a_kh, a_kw > 0, A's rows are windows in the same way: row (c * a_kh
 * + i) * a_kw + j starts at a.off + c * a.ld + i * a_dh + j * a_dw (m = C *
 * a_kh * a_kw), the transposed im2col matrix of a stride-1 convolution read
 * from a zero-padded image; a_kh = a_kw = 0 is an ordinary matrix A.
 *
 * With a_trans, A is stored transposed (k x m, row r of A a column of it):
 * element (r, kk) at a.off + kk * a.ld + r. It excludes a window (a_kh,
 * a_kw = 0). */
typedef struct clnet_cl_gemm_batch {
    int64_t m, n, k;
    int64_t images, groups;
    clnet_cl_gemm_operand a, b, c;
    int64_t kh, kw, b_dh, b_dw;
    int64_t c_row, c_valid, c_block;
    int64_t a_kh, a_kw, a_dh, a_dw;
    cl_mem bias;
    int64_t bias_off;
    bool accumulate;
    bool a_trans;
} clnet_cl_gemm_batch;

/* The tile of C one work-item computes for C (m x n) = A (m x k) B (k x n)
 * on dev: *rows x *cols. Never fails. */
void clnet_cl_gemm_tile(const clnet_device *dev, int64_t m, int64_t n, int64_t k, int *rows,
                        int *cols);

/* Whether C (m x n) = A (m x k) B (k x n), a single plain product, runs on
 * gemm_thin, which reads B from memory once where the tiled kernel reads
 * it once per tile of rows: CPUs with float16 vectors, m <= 64 and a B
 * larger than the caches (LINEAR's data gradient). Never fails. */
bool clnet_cl_gemm_thin_takes(const clnet_device *dev, int64_t m, int64_t n, int64_t k);

/* Queues the batch on the device's queue. `opname` names the op in error
 * messages. Errors: CLNET_ERR_UNSUPPORTED when an index exceeds int range,
 * CLNET_ERR_BUILD, OpenCL-band statuses naming the kernel. */
clnet_status clnet_cl_gemm_tiled(clnet_device *dev, const char *opname,
                                 const clnet_cl_gemm_batch *g);

/* Whether clnet_cl_gemm_nt serves C (m x n) = A (m x k) B^T on dev with
 * these operands: a CPU device with float16 vectors (where it was
 * measured), A small enough to stay in cache while B streams once (m <= 64
 * and at most 2^18 elements: LINEAR's x at batch 32 with 4096 features is
 * 2^17), and every index within int range. */
bool clnet_cl_gemm_nt_applies(const clnet_device *dev, int64_t m, int64_t n, int64_t k,
                              const clnet_cl_gemm_operand *a, const clnet_cl_gemm_operand *b,
                              const clnet_cl_gemm_operand *c);

/* C (m x n) = A (m x k) B^T, plus the old C with `accumulate`, where B is
 * stored n x k (row r of B at b.off + r * b.ld): dot products along k of
 * rows of both operands, no transposed copy. Only the operands' mem, off
 * and ld are read. The caller checks clnet_cl_gemm_nt_applies. Queued on
 * the device's queue. Errors: CLNET_ERR_BUILD, OpenCL-band statuses naming
 * the kernel. */
clnet_status clnet_cl_gemm_nt(clnet_device *dev, int64_t m, int64_t n, int64_t k,
                              const clnet_cl_gemm_operand *a, const clnet_cl_gemm_operand *b,
                              const clnet_cl_gemm_operand *c, bool accumulate);

#endif
