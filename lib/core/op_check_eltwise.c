/* op_check_eltwise.c - checks and output shapes of ACTIVATION(_BACKWARD),
 * DROPOUT, SOFTMAX, BINARY, BIAS_ADD, CONCAT and CHANNEL_SHUFFLE (the ops of
 * lib/ref/ref_eltwise.c). */
#include "core/op_check.h"

static clnet_status check_activation_params(const check *c)
{
    return act_params(c, &c->op->u.act);
}

clnet_status clnet_check_activation(check *c)
{
    TRY(f32_rank(c, 0, "x", 1, CLNET_MAX_DIMS));
    TRY(check_activation_params(c));
    return out_f32(c, c->in[0]);
}

clnet_status clnet_check_dropout(check *c)
{
    TRY(f32_rank(c, 0, "x", 1, CLNET_MAX_DIMS));
    float p = c->op->u.dropout.p;
    if (!(p >= 0.0f && p < 1.0f))
        return fail(c, CLNET_ERR_INVALID_PARAMS, "drop probability %g outside [0, 1)", (double)p);
    if (c->op->u.dropout.first_image < 0)
        return fail(c, CLNET_ERR_INVALID_PARAMS, "first image %lld < 0",
                    (long long)c->op->u.dropout.first_image);
    return out_f32(c, c->in[0]);
}

clnet_status clnet_check_softmax(check *c)
{
    TRY(f32_rank(c, 0, "x", 2, CLNET_MAX_DIMS));
    return out_f32(c, c->in[0]);
}

clnet_status clnet_check_binary(check *c)
{
    const clnet_shape *a = &c->in[0], *b = &c->in[1];
    TRY(f32_rank(c, 0, "a", 1, CLNET_MAX_DIMS));
    TRY(f32_rank(c, 1, "b", a->ndim, a->ndim));
    if (c->op->u.binary.fn != CLNET_BINARY_ADD && c->op->u.binary.fn != CLNET_BINARY_MUL)
        return fail(c, CLNET_ERR_INVALID_PARAMS, "unknown binary function %d",
                    (int)c->op->u.binary.fn);
    bool same = memcmp(a->dim, b->dim, (size_t)a->ndim * sizeof a->dim[0]) == 0;
    bool per_channel = a->ndim >= 2 && b->dim[0] == a->dim[0] && b->dim[1] == a->dim[1];
    for (int i = 2; i < a->ndim; i++)
        per_channel = per_channel && b->dim[i] == 1;
    if (!same && !per_channel)
        return fail(c, CLNET_ERR_SHAPE,
                    "b must have a's shape or a's N and C with every other dimension 1");
    return out_f32(c, *a);
}

clnet_status clnet_check_bias_add(check *c)
{
    TRY(f32_rank(c, 0, "x", 2, CLNET_MAX_DIMS));
    TRY(f32_vector(c, 1, "bias", c->in[0].dim[1]));
    return out_f32(c, c->in[0]);
}

clnet_status clnet_check_concat(check *c)
{
    TRY(f32_rank(c, 0, "x0", 2, CLNET_MAX_DIMS));
    clnet_shape y = c->in[0];
    for (int i = 1; i < c->nin; i++) {
        const clnet_shape *s = &c->in[i];
        TRY(f32_rank(c, i, "x", y.ndim, y.ndim));
        for (int d = 0; d < y.ndim; d++)
            if (d != 1 && s->dim[d] != y.dim[d])
                return fail(c, CLNET_ERR_SHAPE,
                            "input %d has %lld in dimension %d, input 0 has %lld", i,
                            (long long)s->dim[d], d, (long long)y.dim[d]);
        y.dim[1] += s->dim[1];
    }
    return out_f32(c, y);
}

clnet_status clnet_check_channel_shuffle(check *c)
{
    TRY(f32_rank(c, 0, "x", 2, CLNET_MAX_DIMS));
    int g = c->op->u.shuffle.groups;
    if (g < 1 || c->in[0].dim[1] % g != 0)
        return fail(c, CLNET_ERR_INVALID_PARAMS, "%d groups do not divide %lld channels", g,
                    (long long)c->in[0].dim[1]);
    return out_f32(c, c->in[0]);
}

clnet_status clnet_check_activation_backward(check *c)
{
    TRY(check_activation_params(c));
    TRY(f32_rank(c, 0, "x", 1, CLNET_MAX_DIMS));
    TRY(like_x(c, 1, "dy"));
    return out_f32(c, c->in[0]);
}
