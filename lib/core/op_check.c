/* op_check.c - validation and shape inference of op descriptors: the one
 * entry that decides whether an op is well formed and what it produces. The
 * rules of each kind live in op_check_<family>.c; the table of kinds
 * (op_table.c) says which rule applies and how many inputs a kind takes. */
#include "core/op_check.h"
#include "core/op_table.h"

static clnet_status inputs(const check *c, int lo, int hi)
{
    if (c->nin < lo || c->nin > hi)
        return fail(c, CLNET_ERR_INVALID_ARGUMENT, "takes %d..%d inputs, got %d", lo, hi, c->nin);
    return CLNET_OK;
}

clnet_status clnet_check_forward_gives_dy(check *c, clnet_op fwd, int nfwd,
                                          const clnet_shape *fwd_in,
                                          const clnet_dtype *fwd_dtype)
{
    clnet_shape y[CLNET_OP_MAX_OUTPUTS];
    clnet_dtype yd[CLNET_OP_MAX_OUTPUTS];
    check f = {c->ctx, &fwd, c->name, nfwd, fwd_in, fwd_dtype, 0, y, yd, 0};
    TRY(clnet_op_kind_info_get(fwd.kind)->check(&f));
    TRY(f32_rank(c, 1, "dy", 1, CLNET_MAX_DIMS));
    if (!same_shape(&c->in[1], &y[0])) {
        char got[96], want[96];
        clnet_shape_format(got, sizeof got, &c->in[1]);
        clnet_shape_format(want, sizeof want, &y[0]);
        return fail(c, CLNET_ERR_SHAPE, "dy is %s, the forward op produces %s", got, want);
    }
    return CLNET_OK;
}

clnet_status clnet_op_check(clnet_ctx *ctx, const clnet_op *op, int nin, const clnet_shape *in,
                            const clnet_dtype *in_dtype, int *nout, clnet_shape *out,
                            clnet_dtype *out_dtype, int *fewest)
{
    if (!op)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_op_output_shapes: NULL op");
    const clnet_op_kind_info *kind = clnet_op_kind_info_get(op->kind);
    check c = {ctx, op, clnet_op_kind_name(op->kind), nin, in, in_dtype, 0, out, out_dtype,
               kind ? kind->first_optional_output : 0};
    if (!nout || !out || !out_dtype || nin < 0 || (nin > 0 && (!in || !in_dtype)))
        return fail(&c, CLNET_ERR_INVALID_ARGUMENT,
                    "clnet_op_output_shapes: NULL argument or negative input count");
    for (int i = 0; i < nin; i++) {
        if (in[i].ndim < 1 || in[i].ndim > CLNET_MAX_DIMS)
            return fail(&c, CLNET_ERR_SHAPE, "input %d has rank %d", i, in[i].ndim);
        for (int d = 0; d < in[i].ndim; d++)
            if (in[i].dim[d] < 1)
                return fail(&c, CLNET_ERR_SHAPE, "input %d has size %lld in dimension %d", i,
                            (long long)in[i].dim[d], d);
    }
    if (!kind)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "unknown op kind %d", (int)op->kind);
    TRY(inputs(&c, kind->min_inputs, kind->max_inputs));
    clnet_status st = kind->check(&c);
    *nout = c.nout;
    if (st == CLNET_OK && c.nout > kind->max_outputs)
        return fail(&c, CLNET_ERR_INTERNAL, "produced %d outputs, the op table allows %d",
                    c.nout, kind->max_outputs);
    if (fewest)
        *fewest = c.first_optional > 0 && c.first_optional < c.nout ? c.first_optional : c.nout;
    return st;
}

clnet_status clnet_op_output_shapes(clnet_ctx *ctx, const clnet_op *op, int nin,
                                    const clnet_shape *in, const clnet_dtype *in_dtype,
                                    int *nout, clnet_shape *out, clnet_dtype *out_dtype)
{
    clnet_error_clear(ctx);
    /* NULL dtypes: every input is F32, and the caller wants no output dtypes
     * (CLNET_F32 is 0, so the zeroed array says F32) */
    static const clnet_dtype all_f32[CLNET_OP_MAX_INPUTS];
    clnet_dtype unused_out[CLNET_OP_MAX_OUTPUTS];
    if (!in_dtype && nin > CLNET_OP_MAX_INPUTS)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_op_output_shapes: %d inputs "
                          "(at most %d)", nin, CLNET_OP_MAX_INPUTS);
    return clnet_op_check(ctx, op, nin, in, in_dtype ? in_dtype : all_f32, nout, out,
                          out_dtype ? out_dtype : unused_out, NULL);
}
