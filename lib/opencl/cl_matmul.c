/* cl_matmul.c - GEMM with either operand transposed on clnet's tiled kernel:
 * the kernel multiplies row-major A (m x k) by row-major B (k x n), so a
 * transposed operand is first turned (transpose16 of cl/gemm.cl), or the
 * whole product is computed transposed, whichever moves fewer elements. A
 * LINEAR layer, y = x w^T with a 4096 x 4096 w, thus transposes x and y
 * (batch x 4096 each) instead of w. */
#include "opencl/cl_matmul.h"
#include "opencl/cl_algo.h"
#include "opencl/cl_gemm_tiled.h"

#include <limits.h>

#define NARGS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* The scratch of either way (see direct and transposed) indexes in int. */
bool clnet_cl_matmul_takes_scalars(float alpha, float beta)
{
    return alpha == 1.0f && (beta == 0.0f || beta == 1.0f);
}

bool clnet_cl_matmul_applies(float alpha, float beta, int64_t m, int64_t n, int64_t k)
{
    if (!clnet_cl_matmul_takes_scalars(alpha, beta) || m <= 0 || n <= 0 || k <= 0 ||
        m > INT_MAX || n > INT_MAX || k > INT_MAX)
        return false;
    const int64_t pm = clnet_cl_gemm_pad_cols(m), pn = clnet_cl_gemm_pad_cols(n);
    return m * k + k * pn <= INT_MAX && n * pm + n * k + k * pm <= INT_MAX;
}

clnet_status clnet_cl_transpose(clnet_device *dev, clnet_cl_matrix src, int64_t src_rows,
                                int64_t src_cols, clnet_cl_matrix dst, int64_t dst_rows,
                                int64_t dst_cols)
{
    cl_int so = (cl_int)src.off, sld = (cl_int)src.ld, sr = (cl_int)src_rows,
           sc = (cl_int)src_cols;
    cl_int dof = (cl_int)dst.off, dld = (cl_int)dst.ld, dr = (cl_int)dst_rows,
           dc = (cl_int)dst_cols;
    /* a CPU turns 8 x 8 blocks of 16 x 16 per work-item (see the kernel) */
    const cl_int span = clnet_cl_is_cpu(dev) ? 8 : 1;
    const clnet_cl_arg args[] = {
        CLNET_CL_ARG(src.mem), CLNET_CL_ARG(so), CLNET_CL_ARG(sld), CLNET_CL_ARG(sr),
        CLNET_CL_ARG(sc), CLNET_CL_ARG(dst.mem), CLNET_CL_ARG(dof), CLNET_CL_ARG(dld),
        CLNET_CL_ARG(dr), CLNET_CL_ARG(dc), CLNET_CL_ARG(span),
    };
    cl_kernel kernel;
    clnet_status st = clnet_cl_kernel(dev, "gemm", NULL, "transpose16", &kernel);
    if (st != CLNET_OK)
        return st;
    const size_t global[2] = {(size_t)clnet_ceil_div(dst_cols, 16 * span),
                              (size_t)clnet_ceil_div(dst_rows, 16 * span)};
    return clnet_cl_launch(dev, kernel, "transpose16", NARGS(args), args, 2, global, NULL);
}

static clnet_status gemm(clnet_device *dev, const char *opname, int64_t m, int64_t n, int64_t k,
                         clnet_cl_matrix a, clnet_cl_matrix b, clnet_cl_matrix c, bool accumulate)
{
    clnet_cl_gemm_batch gb = {
        .m = m, .n = n, .k = k, .images = 1, .groups = 1,
        .a = {a.mem, a.off, a.ld, 0, 0},
        .b = {b.mem, b.off, b.ld, 0, 0},
        .c = {c.mem, c.off, c.ld, 0, 0},
        .accumulate = accumulate,
    };
    return clnet_cl_gemm_tiled(dev, opname, &gb);
}

/* C = op(A) op(B) with the transposed operands copied to the scratch. */
static clnet_status direct(clnet_device *dev, const char *opname, bool trans_a, bool trans_b,
                           bool accumulate, int64_t m, int64_t n, int64_t k,
                           clnet_cl_matrix a, clnet_cl_matrix b, clnet_cl_matrix c)
{
    const int64_t n_pad = clnet_cl_gemm_pad_cols(n);
    const size_t a_elems = trans_a ? (size_t)(m * k) : 0;
    const size_t elems = a_elems + (trans_b ? (size_t)(k * n_pad) : 0);
    cl_mem scratch = NULL;
    clnet_status st = CLNET_OK;
    if (elems && (st = clnet_cl_scratch_acquire(dev, elems * sizeof(cl_float), &scratch)))
        return st;
    clnet_cl_matrix a2 = a, b2 = b;
    if (trans_a) {
        a2 = (clnet_cl_matrix){scratch, 0, k};
        st = clnet_cl_transpose(dev, a, k, m, a2, m, k);
    }
    if (st == CLNET_OK && trans_b) {
        b2 = (clnet_cl_matrix){scratch, (int64_t)a_elems, n_pad};
        st = clnet_cl_transpose(dev, b, n, k, b2, k, n_pad);
    }
    if (st == CLNET_OK)
        st = gemm(dev, opname, m, n, k, a2, b2, c, accumulate);
    if (scratch)
        clnet_cl_scratch_release(dev, scratch);
    return st;
}

/* C^T (n x m) = op(B)^T op(A)^T in the scratch, its columns padded to whole
 * tiles, then turned into C. */
static clnet_status transposed(clnet_device *dev, const char *opname, bool trans_a, bool trans_b,
                               bool accumulate, int64_t m, int64_t n, int64_t k,
                               clnet_cl_matrix a, clnet_cl_matrix b, clnet_cl_matrix c)
{
    const int64_t m_pad = trans_a ? m : clnet_cl_gemm_pad_cols(m);
    const size_t ct_elems = (size_t)(n * m_pad);
    const size_t b_elems = trans_b ? 0 : (size_t)(n * k);
    const size_t elems = ct_elems + b_elems + (trans_a ? 0 : (size_t)(k * m_pad));
    cl_mem scratch;
    clnet_status st = clnet_cl_scratch_acquire(dev, elems * sizeof(cl_float), &scratch);
    if (st != CLNET_OK)
        return st;
    const clnet_cl_matrix ct = {scratch, 0, m_pad};
    clnet_cl_matrix lhs = b, rhs = a;   /* op(B)^T (n x k), op(A)^T (k x m) */
    if (!trans_b) {
        lhs = (clnet_cl_matrix){scratch, (int64_t)ct_elems, k};
        st = clnet_cl_transpose(dev, b, k, n, lhs, n, k);
    }
    if (st == CLNET_OK && !trans_a) {
        rhs = (clnet_cl_matrix){scratch, (int64_t)(ct_elems + b_elems), m_pad};
        st = clnet_cl_transpose(dev, a, m, k, rhs, k, m_pad);
    }
    if (st == CLNET_OK && accumulate)
        st = clnet_cl_transpose(dev, c, m, n, ct, n, m_pad);
    if (st == CLNET_OK)
        st = gemm(dev, opname, n, m_pad, k, lhs, rhs, ct, accumulate);
    if (st == CLNET_OK)
        st = clnet_cl_transpose(dev, ct, n, m, c, m, n);
    clnet_cl_scratch_release(dev, scratch);
    return st;
}

/* Elements the tiled kernel moves for C (m x n) = A (m x k) B (k x n): a
 * work-item streams its rows of A and its columns of B over all of k, so
 * an operand larger than the device's cache comes from memory once per
 * tile of C that reads it (B once per row of tiles, A once per column),
 * a smaller one once. The kernel has no cache blocking of its own, but its
 * grid runs the row tiles of one column of tiles one after another: on
 * float16 devices (AVX-512) B's columns of a tile were read from memory
 * once while they fit the cache (LINEAR's data gradient dx = dy w at batch
 * 32, w 4096 x 4096: 4 row tiles over 512 KiB columns; the backward of
 * fc4096 took 15 ms this way against 24 with w copied transposed). On
 * float8 devices (AVX2) the copy measured 1.6-1.9x faster: there the
 * model keeps B re-read per row of tiles. gemm_thin reads B once
 * (clnet_cl_gemm_thin_takes). */
static double gemm_traffic(clnet_device *dev, int64_t m, int64_t n, int64_t k)
{
    const double cache = (double)clnet_cl(dev)->cache_bytes / sizeof(cl_float);
    int rows, cols;
    clnet_cl_gemm_tile(dev, m, n, k, &rows, &cols);
    const double a = (double)m * k, b = (double)k * n;
    const bool b_cols_stay = !clnet_cl_prefers_float8(dev) && (double)k * cols <= cache;
    const bool b_once = b_cols_stay || clnet_cl_gemm_thin_takes(dev, m, n, k);
    return (b > cache && !b_once ? b * clnet_ceil_div(m, rows) : b) +
           (a > cache ? a * clnet_ceil_div(n, cols) : a) + (double)m * n;
}

/* The way that moves fewer elements, each copy read and written: LINEAR's
 * data gradient dx = dy w (m = batch rows, w 4096 x 4096) streams w once
 * per 4 rows of dx directly, while the transposed way copies w once and
 * then reads it twice (1.6-1.9x faster at batch 32 on AVX2). */
clnet_status clnet_cl_matmul(clnet_device *dev, const char *opname, bool trans_a, bool trans_b,
                             bool accumulate, int64_t m, int64_t n, int64_t k,
                             clnet_cl_matrix a, clnet_cl_matrix b, clnet_cl_matrix c)
{
    const clnet_cl_gemm_operand an = {a.mem, a.off, a.ld, 0, 0}, bn = {b.mem, b.off, b.ld, 0, 0},
                                cn = {c.mem, c.off, c.ld, 0, 0};
    if (!trans_a && trans_b && clnet_cl_gemm_nt_applies(dev, m, n, k, &an, &bn, &cn))
        return clnet_cl_gemm_nt(dev, m, n, k, &an, &bn, &cn, accumulate);
    const int64_t direct_copies = (trans_a ? m * k : 0) + (trans_b ? k * n : 0);
    const int64_t transposed_copies = (trans_b ? 0 : k * n) + (trans_a ? 0 : m * k) +
                                      (accumulate ? 2 : 1) * m * n;
    const int64_t m_pad = trans_a ? m : clnet_cl_gemm_pad_cols(m);
    const double direct_cost = 2.0 * (double)direct_copies + gemm_traffic(dev, m, n, k);
    const double transposed_cost = 2.0 * (double)transposed_copies +
                                   gemm_traffic(dev, n, m_pad, k);
    if (direct_cost <= transposed_cost)
        return direct(dev, opname, trans_a, trans_b, accumulate, m, n, k, a, b, c);
    return transposed(dev, opname, trans_a, trans_b, accumulate, m, n, k, a, b, c);
}
