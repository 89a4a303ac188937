/* ref_gemm.c - reference matrix products: GEMM with transposes, alpha and
 * beta, the fully connected (LINEAR) layer, and its squared-distance twin
 * RBF with its gradients; double accumulators. */
#include "ref/ref.h"

/* Element (i, j) of a 2-D tensor: a row is an axis-0 entry, dense inside
 * even when the tensor is a column slice. */
static float *at(const clnet_tensor *t, int64_t i, int64_t j)
{
    return clnet_ref_f32(t) + i * t->stride[0] + j;
}

/* op(t)(i, j) for op = transpose or identity. */
static double op_at(const clnet_tensor *t, bool trans, int64_t i, int64_t j)
{
    return trans ? *at(t, j, i) : *at(t, i, j);
}

static void run_gemm(const clnet_op *op, const clnet_tensor *a, const clnet_tensor *b,
                     clnet_tensor *y)
{
    const clnet_gemm_params *p = &op->u.gemm;
    int64_t m = y->shape[0], n = y->shape[1];
    int64_t k = p->trans_a ? a->shape[0] : a->shape[1];
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double acc = 0.0;
            for (int64_t l = 0; l < k; l++)
                acc += op_at(a, p->trans_a, i, l) * op_at(b, p->trans_b, l, j);
            double r = (double)p->alpha * acc;
            /* beta == 0 must not read y: it may hold garbage, even NaN. */
            if (p->beta != 0.0f)
                r += (double)p->beta * *at(y, i, j);
            *at(y, i, j) = (float)r;
        }
}

/* x (N, ...) is read as (N, F): each image is dense, F elements long. */
static void run_linear(const clnet_tensor *x, const clnet_tensor *w, const clnet_tensor *b,
                       clnet_tensor *y)
{
    int64_t features = clnet_tensor_image_numel(x);
    int64_t outputs = w->shape[0];
    for (int64_t n = 0; n < x->shape[0]; n++) {
        const float *xn = clnet_ref_f32(x) + n * x->stride[0];
        for (int64_t o = 0; o < outputs; o++) {
            double acc = 0.0;
            for (int64_t f = 0; f < features; f++)
                acc += (double)*at(w, o, f) * xn[f];
            double bias = b ? (double)clnet_ref_f32(b)[o * b->stride[0]] : 0.0;
            *at(y, n, o) = (float)(acc + bias);
        }
    }
}

/* y[n, m] = |x[n] - w[m]|^2, x read as (N, F) like LINEAR's. */
static void run_rbf(const clnet_tensor *x, const clnet_tensor *w, clnet_tensor *y)
{
    int64_t features = clnet_tensor_image_numel(x);
    for (int64_t n = 0; n < x->shape[0]; n++) {
        const float *xn = clnet_ref_f32(x) + n * x->stride[0];
        for (int64_t m = 0; m < w->shape[0]; m++) {
            double acc = 0.0;
            for (int64_t f = 0; f < features; f++) {
                double d = (double)xn[f] - (double)*at(w, m, f);
                acc += d * d;
            }
            *at(y, n, m) = (float)acc;
        }
    }
}

/* dx[n] = 2 sum_m dy[n, m] (x[n] - w[m]); dw[m] = 2 sum_n dy[n, m] (w[m] -
 * x[n]) when dw is wanted. */
static void run_rbf_backward(const clnet_tensor *x, const clnet_tensor *dy, const clnet_tensor *w,
                             clnet_tensor *dx, clnet_tensor *dw)
{
    int64_t features = clnet_tensor_image_numel(x), batch = x->shape[0], centres = w->shape[0];
    for (int64_t n = 0; n < batch; n++) {
        const float *xn = clnet_ref_f32(x) + n * x->stride[0];
        float *dxn = clnet_ref_f32(dx) + n * dx->stride[0];
        for (int64_t f = 0; f < features; f++) {
            double acc = 0.0;
            for (int64_t m = 0; m < centres; m++)
                acc += (double)*at(dy, n, m) * ((double)xn[f] - (double)*at(w, m, f));
            dxn[f] = (float)(2.0 * acc);
        }
    }
    for (int64_t m = 0; dw && m < centres; m++)
        for (int64_t f = 0; f < features; f++) {
            double acc = 0.0;
            for (int64_t n = 0; n < batch; n++) {
                const float *xn = clnet_ref_f32(x) + n * x->stride[0];
                acc += (double)*at(dy, n, m) * ((double)*at(w, m, f) - (double)xn[f]);
            }
            *at(dw, m, f) = (float)(2.0 * acc);
        }
}

clnet_status clnet_ref_run_gemm(clnet_device *dev, const clnet_op *op, int nin,
                                clnet_tensor *const *in, int nout, clnet_tensor *const *out)
{
    switch (op->kind) {
    case CLNET_OP_GEMM:
        run_gemm(op, in[0], in[1], out[0]);
        return CLNET_OK;
    case CLNET_OP_LINEAR:
        run_linear(in[0], in[1], nin > 2 ? in[2] : NULL, out[0]);
        return CLNET_OK;
    case CLNET_OP_RBF:
        run_rbf(in[0], in[1], out[0]);
        return CLNET_OK;
    case CLNET_OP_RBF_BACKWARD:
        run_rbf_backward(in[0], in[1], in[2], out[0], nout > 1 ? out[1] : NULL);
        return CLNET_OK;
    default:
        return clnet_fail(dev->ctx, CLNET_ERR_INTERNAL, "ref: op %s is not a matrix product",
                          clnet_op_kind_name(op->kind));
    }
}
