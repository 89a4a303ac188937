/* ref_train.c - reference training ops: softmax cross-entropy, MSE and MMI
 * (LeCun et al. 1998) losses with their gradients, the per-channel sum (bias gradients), and the SGD and
 * Adam parameter updates, all in double. */
#include <math.h>

#include "ref/ref.h"

static float *image(const clnet_tensor *t, int64_t n)
{
    return clnet_ref_f32(t) + n * t->stride[0];
}

/* Checked before anything is written, so a bad label leaves the outputs
 * untouched. */
static clnet_status check_labels(clnet_device *dev, const char *opname,
                                 const clnet_tensor *labels, int64_t classes)
{
    for (int64_t n = 0; n < labels->shape[0]; n++) {
        int32_t label = clnet_ref_i32(labels)[n * labels->stride[0]];
        if (label < 0 || label >= classes)
            return clnet_fail(dev->ctx, CLNET_ERR_INVALID_ARGUMENT,
                              "ref: %s: label[%lld] = %d is outside 0..%lld",
                              opname, (long long)n, (int)label, (long long)classes - 1);
    }
    return CLNET_OK;
}

/* loss = -sum_k target_k * log softmax(z)_k with target = (1-s) * onehot +
 * s/K; its gradient is softmax(z) - target. */
static clnet_status run_softmax_xent(clnet_device *dev, const clnet_op *op,
                                     const clnet_tensor *logits, const clnet_tensor *labels,
                                     clnet_tensor *loss, clnet_tensor *dlogits)
{
    int64_t classes = logits->shape[1];
    clnet_status st = check_labels(dev, "softmax_xent", labels, classes);
    if (st != CLNET_OK)
        return st;
    double smoothing = op->u.loss.label_smoothing, scale = op->u.loss.scale;
    for (int64_t n = 0; n < logits->shape[0]; n++) {
        const float *z = image(logits, n);
        float *dz = image(dlogits, n);
        int32_t label = clnet_ref_i32(labels)[n * labels->stride[0]];
        double max = -INFINITY;
        for (int64_t k = 0; k < classes; k++)
            max = z[k] > max ? z[k] : max;
        double sum = 0.0;
        for (int64_t k = 0; k < classes; k++)
            sum += exp((double)z[k] - max);
        double log_sum = max + log(sum), l = 0.0;
        for (int64_t k = 0; k < classes; k++) {
            double target = (1.0 - smoothing) * (k == label) + smoothing / (double)classes;
            double log_p = (double)z[k] - log_sum;
            l -= target * log_p;
            dz[k] = (float)(scale * (exp(log_p) - target));
        }
        clnet_ref_f32(loss)[n * loss->stride[0]] = (float)l;
    }
    return CLNET_OK;
}

/* loss = y_D + log(exp(-j) + sum_k exp(-y_k)): the cross-entropy of a
 * softmax over the scores -y and a rubbish class of score -j, so its
 * gradient is onehot - p, with the largest score taken out of the sum. */
static clnet_status run_mmi(clnet_device *dev, const clnet_op *op, const clnet_tensor *penalties,
                            const clnet_tensor *labels, clnet_tensor *loss, clnet_tensor *dy)
{
    int64_t classes = penalties->shape[1];
    clnet_status st = check_labels(dev, "mmi_loss", labels, classes);
    if (st != CLNET_OK)
        return st;
    double j = op->u.loss.mmi_j, scale = op->u.loss.scale;
    for (int64_t n = 0; n < penalties->shape[0]; n++) {
        const float *y = image(penalties, n);
        float *d = image(dy, n);
        int32_t label = clnet_ref_i32(labels)[n * labels->stride[0]];
        double least = j;
        for (int64_t k = 0; k < classes; k++)
            least = y[k] < least ? y[k] : least;
        double sum = exp(least - j);
        for (int64_t k = 0; k < classes; k++)
            sum += exp(least - (double)y[k]);
        for (int64_t k = 0; k < classes; k++)
            d[k] = (float)(scale * ((k == label) - exp(least - (double)y[k]) / sum));
        clnet_ref_f32(loss)[n * loss->stride[0]] = (float)((double)y[label] - least + log(sum));
    }
    return CLNET_OK;
}

static void run_mse(const clnet_op *op, const clnet_tensor *pred, const clnet_tensor *target,
                    clnet_tensor *loss, clnet_tensor *dpred)
{
    int64_t features = clnet_tensor_image_numel(pred);
    double scale = op->u.loss.scale;
    for (int64_t n = 0; n < pred->shape[0]; n++) {
        const float *p = image(pred, n), *t = image(target, n);
        float *d = image(dpred, n);
        double sq = 0.0;
        for (int64_t i = 0; i < features; i++) {
            double diff = (double)p[i] - t[i];
            sq += diff * diff;
            d[i] = (float)(scale * 2.0 * diff / (double)features);
        }
        clnet_ref_f32(loss)[n * loss->stride[0]] = (float)(sq / (double)features);
    }
}

/* y (C) sums each channel over the batch and the spatial dims; with
 * keep_batch, y (N, C, 1, ...) sums over the spatial dims only. */
static void run_reduce_sum(const clnet_op *op, const clnet_tensor *x, clnet_tensor *y)
{
    int64_t channels = x->shape[1], spatial = clnet_spatial_numel(x);
    bool keep_batch = op->u.reduce.keep_batch;
    for (int64_t c = 0; c < channels; c++) {
        double total = 0.0;
        for (int64_t n = 0; n < x->shape[0]; n++) {
            double sum = 0.0;
            for (int64_t s = 0; s < spatial; s++)
                sum += image(x, n)[c * spatial + s];
            if (keep_batch)
                image(y, n)[c] = (float)sum;
            total += sum;
        }
        if (!keep_batch)
            clnet_ref_f32(y)[c * y->stride[0]] = (float)total;
    }
}

/* torch.optim.SGD with dampening 0; v is NULL when momentum is 0. */
static void run_sgd(const clnet_op *op, const clnet_tensor *g, clnet_tensor *w, clnet_tensor *v)
{
    const clnet_sgd_params *p = &op->u.sgd;
    double momentum = p->momentum;
    int64_t numel = clnet_tensor_image_numel(g);
    for (int64_t n = 0; n < g->shape[0]; n++) {
        const float *gn = image(g, n);
        float *wn = image(w, n), *vn = v ? image(v, n) : NULL;
        for (int64_t i = 0; i < numel; i++) {
            double grad = (double)gn[i] + (double)p->weight_decay * wn[i];
            double update = grad;
            if (vn) {
                double velocity = momentum * vn[i] + grad;
                vn[i] = (float)velocity;
                update = p->nesterov ? grad + momentum * velocity : velocity;
            }
            wn[i] = (float)((double)wn[i] - (double)p->lr * update);
        }
    }
}

/* torch.optim.Adam / AdamW: the bias corrections divide the step and the
 * root of v separately, eps being added after the correction. */
static void run_adam(const clnet_op *op, const clnet_tensor *g, clnet_tensor *const *out)
{
    const clnet_adam_params *p = &op->u.adam;
    double lr = p->lr, b1 = p->beta1, b2 = p->beta2, wd = p->weight_decay;
    double step = lr / (1.0 - pow(b1, p->t));
    double root_correction = sqrt(1.0 - pow(b2, p->t));
    int64_t numel = clnet_tensor_image_numel(g);
    for (int64_t n = 0; n < g->shape[0]; n++) {
        const float *gn = image(g, n);
        float *wn = image(out[0], n), *mn = image(out[1], n), *vn = image(out[2], n);
        for (int64_t i = 0; i < numel; i++) {
            double grad = gn[i], weight = wn[i];
            if (p->decoupled)
                weight *= 1.0 - lr * wd;
            else
                grad += wd * weight;
            double m = b1 * mn[i] + (1.0 - b1) * grad;
            double v = b2 * vn[i] + (1.0 - b2) * grad * grad;
            weight -= step * m / (sqrt(v) / root_correction + (double)p->eps);
            mn[i] = (float)m;
            vn[i] = (float)v;
            wn[i] = (float)weight;
        }
    }
}

clnet_status clnet_ref_run_train(clnet_device *dev, const clnet_op *op, int nin,
                                 clnet_tensor *const *in, int nout, clnet_tensor *const *out)
{
    (void)nin;
    switch (op->kind) {
    case CLNET_OP_SOFTMAX_XENT:
        return run_softmax_xent(dev, op, in[0], in[1], out[0], out[1]);
    case CLNET_OP_MMI_LOSS:
        return run_mmi(dev, op, in[0], in[1], out[0], out[1]);
    case CLNET_OP_MSE_LOSS:
        run_mse(op, in[0], in[1], out[0], out[1]);
        return CLNET_OK;
    case CLNET_OP_REDUCE_SUM:
        run_reduce_sum(op, in[0], out[0]);
        return CLNET_OK;
    case CLNET_OP_SGD_STEP:
        run_sgd(op, in[0], out[0], op->u.sgd.momentum != 0.0f && nout > 1 ? out[1] : NULL);
        return CLNET_OK;
    case CLNET_OP_ADAM_STEP:
        run_adam(op, in[0], out);
        return CLNET_OK;
    default:
        return clnet_fail(dev->ctx, CLNET_ERR_INTERNAL, "ref: op %s is not a training op",
                          clnet_op_kind_name(op->kind));
    }
}
