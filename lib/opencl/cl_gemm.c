/* cl_gemm.c - GEMM and LINEAR on OpenCL devices: clnet's tiled kernel
 * (cl_matmul.c) where it can, CLBlast's SGEMM for the rest; LINEAR's bias
 * and RBF with its gradients come from cl/gemm.cl. */
#include <stdio.h>

#include <clblast_c.h>

#include "opencl/cl_matmul.h"

/* One row-major matrix operand: a tensor read as (rows, cols). Its leading
 * dimension is the tensor's axis-0 stride, so views along axis 0 (and
 * images of a channel slice, for LINEAR) are legal operands. */
typedef struct matrix {
    const clnet_tensor *t;
    size_t rows, cols;
} matrix;

/* CLBlast passes OpenCL's own codes through unchanged (all above -1000) and
 * numbers its own from -1007 down, so the two bands cannot be confused. */
static clnet_status clblast_status(clnet_device *dev, const char *opname, CLBlastStatusCode code,
                                   size_t m, size_t n, size_t k)
{
    char what[192];
    snprintf(what, sizeof what, "%s: CLBlastSgemm (M=%zu N=%zu K=%zu)", opname, m, n, k);
    if (code > -1000)
        return clnet_cl_check(dev, (cl_int)code, what);
    return clnet_fail(dev->ctx, (clnet_status)(CLNET_ERR_CLBLAST_BAND + code),
                      "%s on %s failed with CLBlast status %d", what, dev->info.name, (int)code);
}

static clnet_cl_matrix cl_matrix(matrix x)
{
    return (clnet_cl_matrix){clnet_cl_targs(x.t).mem, x.t->offset, x.t->stride[0]};
}

/* y = alpha * op(a) * op(b) + beta * y, queued on the device's queue. With
 * CLBlast's default parameters (no tuning for PoCL's CPU device) its SGEMM
 * ran fc4096 at batch 32 at 12 GFLOP/s, the tiled kernel several times
 * faster, so the tiled kernel takes every product it can. CLBlast's
 * completion event is released at once: the in-order queue already orders
 * later work after it. */
static clnet_status sgemm(clnet_device *dev, const char *opname, bool trans_a, bool trans_b,
                          float alpha, matrix a, matrix b, float beta, matrix y)
{
    const size_t m = y.rows, n = y.cols, k = trans_a ? a.rows : a.cols;
    if (clnet_cl_matmul_applies(alpha, beta, (int64_t)m, (int64_t)n, (int64_t)k))
        return clnet_cl_matmul(dev, opname, trans_a, trans_b, beta == 1.0f, (int64_t)m,
                               (int64_t)n, (int64_t)k, cl_matrix(a), cl_matrix(b), cl_matrix(y));
    if (dev->ctx->binary_dir)
        return clnet_fail(dev->ctx, CLNET_ERR_UNSUPPORTED,
                          "%s (M=%zu N=%zu K=%zu): too large for clnet's GEMM kernel, and CLBlast "
                          "cannot run in binaries-only mode", opname, m, n, k);
    cl_command_queue queue = clnet_cl(dev)->queue;
    cl_event event = NULL;
    CLBlastStatusCode code = CLBlastSgemm(
        CLBlastLayoutRowMajor, trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
        trans_b ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, alpha,
        clnet_cl_targs(a.t).mem, (size_t)a.t->offset, (size_t)a.t->stride[0],
        clnet_cl_targs(b.t).mem, (size_t)b.t->offset, (size_t)b.t->stride[0], beta,
        clnet_cl_targs(y.t).mem, (size_t)y.t->offset, (size_t)y.t->stride[0], &queue, &event);
    if (event)
        clReleaseEvent(event);
    if (code != CLBlastSuccess)
        return clblast_status(dev, opname, code, m, n, k);
    return CLNET_OK;
}

static clnet_status run_linear_bias(clnet_device *dev, const clnet_tensor *y, const clnet_tensor *b)
{
    clnet_cl_tensor_args ya = clnet_cl_targs(y), ba = clnet_cl_targs(b);
    cl_int m = (cl_int)y->shape[1];
    const clnet_cl_arg args[] = {
        CLNET_CL_TENSOR(ya), CLNET_CL_ARG(ba.mem), CLNET_CL_ARG(ba.offset), CLNET_CL_ARG(m),
    };
    return clnet_cl_launch_1d(dev, "gemm", "linear_bias", (int)(sizeof args / sizeof args[0]),
                              args, (size_t)(y->shape[0] * y->shape[1]));
}

/* One work-item per element of y (N, M). */
static clnet_status run_rbf(clnet_device *dev, const clnet_tensor *x, const clnet_tensor *w,
                            const clnet_tensor *y)
{
    clnet_cl_tensor_args xa = clnet_cl_targs(x), wa = clnet_cl_targs(w), ya = clnet_cl_targs(y);
    cl_int features = (cl_int)clnet_tensor_image_numel(x);
    const clnet_cl_arg args[] = {
        CLNET_CL_TENSOR(xa), CLNET_CL_TENSOR(wa), CLNET_CL_TENSOR(ya), CLNET_CL_ARG(features),
    };
    const size_t grid[2] = {(size_t)y->shape[1], (size_t)y->shape[0]};
    return clnet_cl_launch_program(dev, "gemm", "rbf", (int)(sizeof args / sizeof args[0]), args,
                                   2, grid);
}

/* Kernel `name` of cl/gemm.cl on (x, dy, w, out) with grid (F, rows) and
 * `count` the length of its sum: dx (rows N, summing over the M centres) or
 * dw (rows M, summing over the N images). */
static clnet_status run_rbf_grad(clnet_device *dev, const char *name, const clnet_tensor *x,
                                 const clnet_tensor *dy, const clnet_tensor *w,
                                 const clnet_tensor *out, int64_t rows, int64_t count)
{
    clnet_cl_tensor_args xa = clnet_cl_targs(x), dya = clnet_cl_targs(dy);
    clnet_cl_tensor_args wa = clnet_cl_targs(w), oa = clnet_cl_targs(out);
    cl_int sum_len = (cl_int)count;
    const clnet_cl_arg args[] = {
        CLNET_CL_TENSOR(xa), CLNET_CL_TENSOR(dya), CLNET_CL_TENSOR(wa), CLNET_CL_TENSOR(oa),
        CLNET_CL_ARG(sum_len),
    };
    cl_kernel kernel;
    clnet_status st = clnet_cl_kernel(dev, "gemm", NULL, name, &kernel);
    if (st != CLNET_OK)
        return st;
    const size_t grid[2] = {(size_t)clnet_tensor_image_numel(x), (size_t)rows};
    return clnet_cl_launch(dev, kernel, name, (int)(sizeof args / sizeof args[0]), args, 2, grid,
                           NULL);
}

static clnet_status run_rbf_backward(clnet_device *dev, clnet_tensor *const *in, int nout,
                                     clnet_tensor *const *out)
{
    const clnet_tensor *x = in[0], *dy = in[1], *w = in[2];
    clnet_status st = run_rbf_grad(dev, "rbf_backward_data", x, dy, w, out[0], x->shape[0],
                                   w->shape[0]);
    if (st != CLNET_OK || nout < 2)
        return st;
    return run_rbf_grad(dev, "rbf_backward_weights", x, dy, w, out[1], w->shape[0],
                        x->shape[0]);
}

clnet_status clnet_cl_run_gemm(clnet_device *dev, const clnet_op *op, int nin,
                               clnet_tensor *const *in, int nout, clnet_tensor *const *out)
{
    const char *opname = clnet_op_kind_name(op->kind);
    const clnet_tensor *y = out[0];
    if (op->kind == CLNET_OP_RBF)
        return run_rbf(dev, in[0], in[1], y);
    if (op->kind == CLNET_OP_RBF_BACKWARD)
        return run_rbf_backward(dev, in, nout, out);
    const matrix ym = {y, (size_t)y->shape[0], (size_t)y->shape[1]};
    if (op->kind == CLNET_OP_GEMM) {
        const clnet_gemm_params *p = &op->u.gemm;
        const clnet_tensor *a = in[0], *b = in[1];
        const matrix am = {a, (size_t)a->shape[0], (size_t)a->shape[1]};
        const matrix bm = {b, (size_t)b->shape[0], (size_t)b->shape[1]};
        return sgemm(dev, opname, p->trans_a, p->trans_b, p->alpha, am, bm, p->beta, ym);
    }

    /* LINEAR: y (N, M) = x (N, F) * w (M, F)^T, x being any tensor whose
     * images are dense (a 4-D activation or a channel slice of one). */
    const clnet_tensor *x = in[0], *w = in[1], *b = nin > 2 ? in[2] : NULL;
    const matrix xm = {x, (size_t)x->shape[0], (size_t)clnet_tensor_image_numel(x)};
    const matrix wm = {w, (size_t)w->shape[0], (size_t)w->shape[1]};
    clnet_status st = sgemm(dev, opname, false, true, 1.0f, xm, wm, 0.0f, ym);
    if (st || !b)
        return st;
    return run_linear_bias(dev, y, b);
}
