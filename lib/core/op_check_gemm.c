/* op_check_gemm.c - checks and output shapes of LINEAR, GEMM, RBF and its
 * gradients (the ops of lib/ref/ref_gemm.c). */
#include "core/op_check.h"

clnet_status clnet_check_linear(check *c)
{
    TRY(f32_rank(c, 0, "x", 2, CLNET_MAX_DIMS));
    TRY(f32_rank(c, 1, "w", 2, 2));
    int64_t features = clnet_shape_numel(&c->in[0]) / c->in[0].dim[0];
    int64_t m = c->in[1].dim[0];
    if (c->in[1].dim[1] != features)
        return fail(c, CLNET_ERR_SHAPE, "weights take %lld features, x has %lld per image",
                    (long long)c->in[1].dim[1], (long long)features);
    if (c->nin == 3)
        TRY(f32_vector(c, 2, "bias", m));
    clnet_shape y = {.ndim = 2, .dim = {c->in[0].dim[0], m}};
    return out_f32(c, y);
}

clnet_status clnet_check_gemm(check *c)
{
    const clnet_gemm_params *p = &c->op->u.gemm;
    TRY(f32_rank(c, 0, "a", 2, 2));
    TRY(f32_rank(c, 1, "b", 2, 2));
    int64_t m = c->in[0].dim[p->trans_a ? 1 : 0], ka = c->in[0].dim[p->trans_a ? 0 : 1];
    int64_t kb = c->in[1].dim[p->trans_b ? 1 : 0], n = c->in[1].dim[p->trans_b ? 0 : 1];
    if (ka != kb)
        return fail(c, CLNET_ERR_SHAPE, "op(a) is %lldx%lld but op(b) is %lldx%lld",
                    (long long)m, (long long)ka, (long long)kb, (long long)n);
    if (!isfinite(p->alpha) || !isfinite(p->beta))
        return fail(c, CLNET_ERR_INVALID_PARAMS, "alpha and beta must be finite");
    clnet_shape y = {.ndim = 2, .dim = {m, n}};
    return out_f32(c, y);
}

clnet_status clnet_check_rbf(check *c)
{
    TRY(f32_rank(c, 0, "x", 2, CLNET_MAX_DIMS));
    TRY(f32_rank(c, 1, "w", 2, 2));
    int64_t features = clnet_shape_numel(&c->in[0]) / c->in[0].dim[0];
    if (c->in[1].dim[1] != features)
        return fail(c, CLNET_ERR_SHAPE, "centres have %lld features, x has %lld per image",
                    (long long)c->in[1].dim[1], (long long)features);
    clnet_shape y = {.ndim = 2, .dim = {c->in[0].dim[0], c->in[1].dim[0]}};
    return out_f32(c, y);
}

/* x, dy, w: dy must be what RBF makes of x and w; dx has x's shape, the
 * optional dw w's. */
clnet_status clnet_check_rbf_backward(check *c)
{
    const clnet_op fwd = {.kind = CLNET_OP_RBF};
    const clnet_shape fwd_in[2] = {c->in[0], c->in[2]};
    const clnet_dtype fwd_dtype[2] = {c->dtype[0], c->dtype[2]};
    TRY(clnet_check_forward_gives_dy(c, fwd, 2, fwd_in, fwd_dtype));
    out_f32(c, c->in[0]);
    c->nout = 2;
    c->out[1] = c->in[2];
    c->out_dtype[1] = CLNET_F32;
    return CLNET_OK;
}
