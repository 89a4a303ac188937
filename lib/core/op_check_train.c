/* op_check_train.c - checks and output shapes of the losses, REDUCE_SUM and
 * the optimizer steps (the ops of lib/ref/ref_train.c). */
#include "core/op_check.h"

/* Loss ops: per-example loss (N) and a gradient of the prediction's shape. */
static clnet_status loss_outputs(check *c)
{
    if (!isfinite(c->op->u.loss.scale))
        return fail(c, CLNET_ERR_INVALID_PARAMS, "gradient scale must be finite");
    clnet_shape l = {.ndim = 1, .dim = {c->in[0].dim[0]}};
    out_f32(c, l);
    c->nout = 2;
    c->out[1] = c->in[0];
    c->out_dtype[1] = CLNET_F32;
    return CLNET_OK;
}

clnet_status clnet_check_softmax_xent(check *c)
{
    TRY(f32_rank(c, 0, "logits", 2, 2));
    if (c->dtype[1] != CLNET_I32)
        return fail(c, CLNET_ERR_DTYPE, "input 1 (labels) must be I32");
    if (c->in[1].ndim != 1 || c->in[1].dim[0] != c->in[0].dim[0])
        return fail(c, CLNET_ERR_SHAPE, "labels must be a vector of N = %lld",
                    (long long)c->in[0].dim[0]);
    float s = c->op->u.loss.label_smoothing;
    if (!(s >= 0.0f && s < 1.0f))
        return fail(c, CLNET_ERR_INVALID_PARAMS, "label smoothing %g outside [0, 1)", (double)s);
    return loss_outputs(c);
}

/* Labels as SOFTMAX_XENT's, and a rubbish-class penalty j that exp(-j)
 * can represent as more than nothing. */
clnet_status clnet_check_mmi(check *c)
{
    TRY(f32_rank(c, 0, "penalties", 2, 2));
    if (c->dtype[1] != CLNET_I32)
        return fail(c, CLNET_ERR_DTYPE, "input 1 (labels) must be I32");
    if (c->in[1].ndim != 1 || c->in[1].dim[0] != c->in[0].dim[0])
        return fail(c, CLNET_ERR_SHAPE, "labels must be a vector of N = %lld",
                    (long long)c->in[0].dim[0]);
    float j = c->op->u.loss.mmi_j;
    if (!(j > 0.0f && j <= 80.0f))
        return fail(c, CLNET_ERR_INVALID_PARAMS,
                    "rubbish-class penalty j %g outside (0, 80] (exp(-j) must stay a float)",
                    (double)j);
    return loss_outputs(c);
}

clnet_status clnet_check_mse(check *c)
{
    TRY(f32_rank(c, 0, "pred", 1, CLNET_MAX_DIMS));
    TRY(like_x(c, 1, "target"));
    return loss_outputs(c);
}

clnet_status clnet_check_reduce(check *c)
{
    TRY(f32_rank(c, 0, "x", 2, CLNET_MAX_DIMS));
    const clnet_shape *x = &c->in[0];
    clnet_shape y = {.ndim = 1, .dim = {x->dim[1]}};
    if (c->op->u.reduce.keep_batch) {
        y.ndim = x->ndim;
        for (int i = 0; i < x->ndim; i++)
            y.dim[i] = i < 2 ? x->dim[i] : 1;
    }
    return out_f32(c, y);
}

/* Optimizer steps update their outputs in place: w (and its state) have
 * g's shape. */
static clnet_status step_outputs(check *c, int count)
{
    out_f32(c, c->in[0]);
    c->nout = count;
    for (int i = 1; i < count; i++) {
        c->out[i] = c->in[0];
        c->out_dtype[i] = CLNET_F32;
    }
    return CLNET_OK;
}

clnet_status clnet_check_sgd(check *c)
{
    const clnet_sgd_params *p = &c->op->u.sgd;
    TRY(f32_rank(c, 0, "g", 1, CLNET_MAX_DIMS));
    if (!isfinite(p->lr))
        return fail(c, CLNET_ERR_INVALID_PARAMS, "learning rate lr %g must be finite",
                    (double)p->lr);
    TRY(in_range(c, "momentum", p->momentum, 0.0f, 1.0f, false));
    TRY(in_range(c, "weight decay", p->weight_decay, 0.0f, INFINITY, false));
    /* the velocity may be left out only when there is no momentum to keep */
    if (p->momentum != 0.0f)
        c->first_optional = 0;
    return step_outputs(c, 2);
}

clnet_status clnet_check_adam(check *c)
{
    const clnet_adam_params *p = &c->op->u.adam;
    TRY(f32_rank(c, 0, "g", 1, CLNET_MAX_DIMS));
    if (!isfinite(p->lr))
        return fail(c, CLNET_ERR_INVALID_PARAMS, "learning rate lr %g must be finite",
                    (double)p->lr);
    TRY(in_range(c, "beta1", p->beta1, 0.0f, 1.0f, false));
    TRY(in_range(c, "beta2", p->beta2, 0.0f, 1.0f, false));
    TRY(in_range(c, "weight decay", p->weight_decay, 0.0f, INFINITY, false));
    if (!(p->eps > 0.0f))
        return fail(c, CLNET_ERR_INVALID_PARAMS, "eps %g (must be > 0)", (double)p->eps);
    if (p->t < 1)
        return fail(c, CLNET_ERR_INVALID_PARAMS, "step t = %d (must be >= 1)", p->t);
    return step_outputs(c, 3);
}
