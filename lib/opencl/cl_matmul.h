/* cl_matmul.h - GEMM with either operand transposed on clnet's tiled kernel
 * (cl_gemm_tiled.c), for the GEMM and LINEAR ops where it beats CLBlast. */
#ifndef CLNET_CL_MATMUL_H
#define CLNET_CL_MATMUL_H

#include "opencl/clcl.h"

/* A row-major matrix in a buffer: element offset and row stride. */
typedef struct clnet_cl_matrix {
    cl_mem mem;
    int64_t off, ld;
} clnet_cl_matrix;

/* dst (dst_rows x dst_cols) = src (src_rows x src_cols) transposed, zero
 * where dst reaches beyond src (dst_rows >= src_cols, dst_cols >=
 * src_rows), queued on the device's queue. Every index must be within int
 * range (the caller checks). Errors: CLNET_ERR_BUILD and OpenCL-band
 * statuses naming the kernel. */
clnet_status clnet_cl_transpose(clnet_device *dev, clnet_cl_matrix src, int64_t src_rows,
                                int64_t src_cols, clnet_cl_matrix dst, int64_t dst_rows,
                                int64_t dst_cols);

/* Whether clnet_cl_matmul can compute alpha * op(A) op(B) + beta * C: alpha
 * 1 and beta 0 or 1 (the tiled kernel neither scales nor blends; what
 * clnet_cl_matmul_takes_scalars checks), every index within int range.
 * CLBlast serves the rest. */
bool clnet_cl_matmul_applies(float alpha, float beta, int64_t m, int64_t n, int64_t k);
bool clnet_cl_matmul_takes_scalars(float alpha, float beta);

/* C (m x n) = op(A) op(B), plus the old C when `accumulate`; op(A) is m x
 * k, op(B) k x n. A transposed operand is copied into the device's scratch
 * buffer in the layout the kernel reads, or the product is computed as C^T
 * = op(B)^T op(A)^T and turned back, whichever copies less. Queued on the
 * device's queue. Errors: CLNET_ERR_UNSUPPORTED where an index exceeds int
 * range, scratch allocation and OpenCL-band statuses naming the kernel. */
clnet_status clnet_cl_matmul(clnet_device *dev, const char *opname, bool trans_a, bool trans_b,
                             bool accumulate, int64_t m, int64_t n, int64_t k,
                             clnet_cl_matrix a, clnet_cl_matrix b, clnet_cl_matrix c);

#endif
