/* op_check_norm.c - checks and output shapes of BATCHNORM(_STATS, _BACKWARD)
 * and LRN(_BACKWARD) (the ops of lib/ref/ref_norm.c). */
#include "core/op_check.h"
#include "core/op_table.h"

clnet_status clnet_check_batchnorm(check *c)
{
    bool stats = c->op->kind == CLNET_OP_BATCHNORM_STATS;
    TRY(f32_rank(c, 0, "x", 2, CLNET_MAX_DIMS));
    int64_t ch = c->in[0].dim[1];
    if (stats) {
        TRY(in_range(c, "momentum", c->op->u.bn.momentum, 0.0f, 1.0f, true));
        clnet_shape v = {.ndim = 1, .dim = {ch}};
        c->nout = 4;
        for (int i = 0; i < 4; i++) {
            c->out[i] = v;
            c->out_dtype[i] = CLNET_F32;
        }
        return CLNET_OK;
    }
    static const char *names[] = {"x", "mean", "var", "gamma", "beta"};
    for (int i = 1; i < 5; i++)
        TRY(f32_vector(c, i, names[i], ch));
    if (!(c->op->u.bn.eps > 0.0f))
        return fail(c, CLNET_ERR_INVALID_PARAMS, "eps %g (must be > 0)", (double)c->op->u.bn.eps);
    if (c->op->u.bn.fuse_act)
        TRY(act_params(c, &c->op->u.bn.act));
    if (!c->op->u.bn.fuse_add && c->nin == 6)
        return fail(c, CLNET_ERR_INVALID_ARGUMENT, "a sixth input (r) is only given with a "
                    "fused residual add (params.fuse_add)");
    if (c->op->u.bn.fuse_add) {
        if (c->nin != 6)
            return fail(c, CLNET_ERR_INVALID_ARGUMENT, "a fused residual add (params.fuse_add) "
                        "needs r as the sixth input");
        TRY(like_x(c, 5, "r"));
    }
    return out_f32(c, c->in[0]);
}

static clnet_status check_lrn_params(const check *c)
{
    const clnet_lrn_params *p = &c->op->u.lrn;
    if (p->size < 1)
        return fail(c, CLNET_ERR_INVALID_PARAMS, "size %d (must be >= 1)", p->size);
    if (!(p->k > 0.0f) || !isfinite(p->alpha) || !isfinite(p->beta))
        return fail(c, CLNET_ERR_INVALID_PARAMS, "k %g must be > 0, alpha and beta finite",
                    (double)p->k);
    return CLNET_OK;
}

clnet_status clnet_check_lrn(check *c)
{
    TRY(f32_rank(c, 0, "x", 2, CLNET_MAX_DIMS));
    TRY(check_lrn_params(c));
    return out_f32(c, c->in[0]);
}

/* The sixth input of BATCHNORM_BACKWARD, given exactly when an activation
 * is fused: the fused output y where the activation's slope follows from
 * it, else beta, from which the pre-activation is recomputed (ops.h). */
static clnet_status fused_slope_input(check *c, int64_t ch)
{
    const clnet_bn_params *p = &c->op->u.bn;
    if (!p->fuse_act)
        return c->nin == 5 ? CLNET_OK
                           : fail(c, CLNET_ERR_INVALID_ARGUMENT, "a sixth input (y or beta) is "
                                  "only given with a fused activation (params.fuse_act)");
    TRY(act_params(c, &p->act));
    if (clnet_act_slope_from_output(&p->act)) {
        if (c->nin != 6)
            return fail(c, CLNET_ERR_INVALID_ARGUMENT, "a fused %s needs the forward output y "
                        "as the sixth input", clnet_act_info_get(p->act.fn)->name);
        return like_x(c, 5, "y");
    }
    if (p->fuse_add)
        return fail(c, CLNET_ERR_INVALID_PARAMS, "fused activation %s with a fused residual "
                    "add: its slope needs the sum's value, which only RELU, RELU6 and "
                    "LEAKY_RELU with alpha >= 0 read from their output",
                    clnet_act_info_get(p->act.fn)->name);
    if (c->nin != 6)
        return fail(c, CLNET_ERR_INVALID_ARGUMENT, "a fused %s needs beta as the sixth input "
                    "(its slope is computed from batchnorm(x))",
                    clnet_act_info_get(p->act.fn)->name);
    return f32_vector(c, 5, "beta", ch);
}

clnet_status clnet_check_batchnorm_backward(check *c)
{
    TRY(f32_rank(c, 0, "x", 2, CLNET_MAX_DIMS));
    TRY(like_x(c, 1, "dy"));
    int64_t ch = c->in[0].dim[1];
    static const char *names[] = {"x", "dy", "mean", "var", "gamma"};
    for (int i = 2; i < 5; i++)
        TRY(f32_vector(c, i, names[i], ch));
    if (!(c->op->u.bn.eps > 0.0f))
        return fail(c, CLNET_ERR_INVALID_PARAMS, "eps %g (must be > 0)", (double)c->op->u.bn.eps);
    TRY(fused_slope_input(c, ch));
    clnet_shape v = {.ndim = 1, .dim = {ch}};
    out_f32(c, c->in[0]);
    c->nout = c->op->u.bn.fuse_add ? 4 : 3;
    c->out[1] = c->out[2] = v;
    c->out_dtype[1] = c->out_dtype[2] = CLNET_F32;
    /* dr, the residual's gradient */
    c->out[3] = c->in[0];
    c->out_dtype[3] = CLNET_F32;
    return CLNET_OK;
}

clnet_status clnet_check_lrn_backward(check *c)
{
    TRY(check_lrn_params(c));
    TRY(f32_rank(c, 0, "x", 2, CLNET_MAX_DIMS));
    TRY(like_x(c, 1, "dy"));
    return out_f32(c, c->in[0]);
}
