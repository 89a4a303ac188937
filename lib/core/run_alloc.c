/* run_alloc.c - clnet_op_run_new: run an op into outputs it allocates
 * itself, with the shapes and dtypes clnet_op_output_shapes infers. */
#include "core/internal.h"

clnet_status clnet_op_run_new(clnet_device *dev, const clnet_op *op, int nin,
                              clnet_tensor *const *in, int *nout, clnet_tensor **out)
{
    clnet_ctx *ctx = dev ? dev->ctx : NULL;
    clnet_error_clear(ctx);
    if (!dev || !op || !nout || !out || nin < 0 || nin > CLNET_OP_MAX_INPUTS || (nin && !in))
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_op_run_new: NULL argument or input count out of range");
    *nout = 0;
    if (op->kind == CLNET_OP_SGD_STEP || op->kind == CLNET_OP_ADAM_STEP)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_op_run_new: %s updates its "
                          "outputs in place; run it with clnet_op_run",
                          clnet_op_kind_name(op->kind));
    clnet_shape shapes[CLNET_OP_MAX_INPUTS], oshape[CLNET_OP_MAX_OUTPUTS];
    clnet_dtype dtypes[CLNET_OP_MAX_INPUTS], odtype[CLNET_OP_MAX_OUTPUTS];
    for (int i = 0; i < nin; i++) {
        if (!in[i])
            return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                              "clnet_op_run_new: %s: input %d is NULL",
                              clnet_op_kind_name(op->kind), i);
        shapes[i] = clnet_tensor_shape(in[i]);
        dtypes[i] = clnet_tensor_dtype(in[i]);
    }
    int n = 0;
    clnet_status st = clnet_op_output_shapes(ctx, op, nin, shapes, dtypes, &n, oshape, odtype);
    /* the running statistics are optional outputs updated in place: a new
     * tensor would hold garbage for them to update */
    if (op->kind == CLNET_OP_BATCHNORM_STATS && n > 2)
        n = 2;
    clnet_tensor *made[CLNET_OP_MAX_OUTPUTS] = {0};
    for (int j = 0; st == CLNET_OK && j < n; j++)
        st = clnet_tensor_new(dev, odtype[j], oshape[j].ndim, oshape[j].dim, &made[j]);
    if (st == CLNET_OK)
        st = clnet_op_run(dev, op, nin, in, n, made);
    if (st != CLNET_OK) {
        for (int j = 0; j < n; j++)
            clnet_tensor_free(made[j]);
        return st;
    }
    for (int j = 0; j < n; j++)
        out[j] = made[j];
    *nout = n;
    return CLNET_OK;
}
