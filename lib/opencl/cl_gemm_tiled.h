/* cl_gemm_tiled.h - clnet's own tiled SGEMM kernel (cl/gemm_tiled.cl): a
 * strided batch of row-major C = A * B, for im2col and 1x1 convolution. */
#ifndef CLNET_CL_GEMM_TILED_H
#define CLNET_CL_GEMM_TILED_H

#include "opencl/clcl.h"

/* Columns of C one work-item computes (NR = 16 * NV of cl/gemm_tiled.cl,
 * its default): a partial tile of columns takes the kernel's slow path, so
 * callers that lay out B pad its rows to a multiple of this. */
#define CLNET_CL_GEMM_TILE_COLS 32

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
 * `accumulate`. A's image_stride is ignored (shared weights).
 *
 * With a window (kh, kw > 0), B is the im2col matrix of a stride-1
 * convolution read straight from a zero-padded image: row (c * kh + i) *
 * kw + j starts at b.off + c * b.ld + i * b_dh + j * b_dw, k = channels *
 * kh * kw, and column p is output pixel (p / c_row, p % c_row) computed on
 * the padded width c_row, of which the first c_valid columns are real:
 * they go to C at (p / c_row) * c_valid + p % c_row, the rest are dropped.
 * kh = kw = 0 is an ordinary matrix B (row r at b.off + r * b.ld). */
typedef struct clnet_cl_gemm_batch {
    int64_t m, n, k;
    int64_t images, groups;
    clnet_cl_gemm_operand a, b, c;
    int64_t kh, kw, b_dh, b_dw;
    int64_t c_row, c_valid;
    cl_mem bias;
    int64_t bias_off;
    bool accumulate;
} clnet_cl_gemm_batch;

/* Queues the batch on the device's queue. `opname` names the op in error
 * messages. Errors: CLNET_ERR_UNSUPPORTED when an index exceeds int range,
 * CLNET_ERR_BUILD, OpenCL-band statuses naming the kernel. */
clnet_status clnet_cl_gemm_tiled(clnet_device *dev, const char *opname,
                                 const clnet_cl_gemm_batch *g);

#endif
