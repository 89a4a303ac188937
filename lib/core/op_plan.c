/* op_plan.c - planned ops (clnet_op_plan_*): the checks of clnet_op_run
 * made once against shapes, and the backend's per-call decisions fixed,
 * so that a run only compares its tensors with the plan. */
#include "core/internal.h"

struct clnet_op_plan {
    clnet_device *dev;
    clnet_op op;               /* the caller's op, its algorithm fixed by the backend */
    const char *name;          /* the op kind's name, prefix of every message */
    int nin, produced, fewest;
    clnet_shape in[CLNET_OP_MAX_INPUTS];
    clnet_dtype in_dtype[CLNET_OP_MAX_INPUTS];
    clnet_shape out[CLNET_OP_MAX_OUTPUTS];
    clnet_dtype out_dtype[CLNET_OP_MAX_OUTPUTS];
};

clnet_status clnet_op_plan_new(clnet_device *dev, const clnet_op *op, int nin,
                               const clnet_shape *in, const clnet_dtype *in_dtype,
                               clnet_op_plan **plan)
{
    clnet_ctx *ctx = dev ? dev->ctx : NULL;
    clnet_error_clear(ctx);
    if (plan)
        *plan = NULL;
    if (!dev || !op || !plan)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_op_plan_new: NULL device, op or plan");
    if (nin < 0 || nin > CLNET_OP_MAX_INPUTS)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_op_plan_new: %d inputs (at most %d)", nin, CLNET_OP_MAX_INPUTS);
    if (nin > 0 && !in)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_op_plan_new: NULL input shapes for %d inputs", nin);
    clnet_op_plan *p = calloc(1, sizeof *p);
    if (!p)
        return clnet_fail(ctx, CLNET_ERR_HOST_MEMORY, "clnet_op_plan_new: out of host memory");
    p->dev = dev;
    p->op = *op;
    p->name = clnet_op_kind_name(op->kind);
    p->nin = nin;
    for (int i = 0; i < nin; i++) {
        p->in[i] = in[i];
        p->in_dtype[i] = in_dtype ? in_dtype[i] : CLNET_F32;
    }
    clnet_status st = clnet_op_check(ctx, op, nin, p->in, p->in_dtype, &p->produced, p->out,
                                     p->out_dtype, &p->fewest);
    if (st == CLNET_OK && !clnet_op_supported(dev, op))
        st = clnet_fail(ctx, CLNET_ERR_UNSUPPORTED, "%s: not supported on device %d (%s)",
                        p->name, dev->info.index, dev->info.name);
    if (st == CLNET_OK && dev->iface->plan)
        st = dev->iface->plan(dev, &p->op, p->in, p->out);
    if (st != CLNET_OK) {
        free(p);
        return st;
    }
    *plan = p;
    return CLNET_OK;
}

const clnet_op *clnet_op_plan_op(const clnet_op_plan *plan)
{
    return plan ? &plan->op : NULL;
}

int clnet_op_plan_outputs(const clnet_op_plan *plan, clnet_shape *out, clnet_dtype *out_dtype,
                          int *fewest)
{
    if (!plan)
        return 0;
    for (int i = 0; i < plan->produced; i++) {
        if (out)
            out[i] = plan->out[i];
        if (out_dtype)
            out_dtype[i] = plan->out_dtype[i];
    }
    if (fewest)
        *fewest = plan->fewest;
    return plan->produced;
}

/* in[0..nin) against the shapes and dtypes the plan was made for. */
static clnet_status inputs_match(const clnet_op_plan *p, int nin, clnet_tensor *const *in)
{
    clnet_ctx *ctx = p->dev->ctx;
    if (nin != p->nin)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "%s: %d inputs given, the plan was made for %d", p->name, nin, p->nin);
    for (int i = 0; i < nin; i++) {
        if (!clnet_tensor_has_shape(in[i], &p->in[i])) {
            char g[96], w[96];
            const clnet_shape got = clnet_tensor_shape(in[i]);
            clnet_shape_format(g, sizeof g, &got);
            clnet_shape_format(w, sizeof w, &p->in[i]);
            return clnet_fail(ctx, CLNET_ERR_SHAPE,
                              "%s: input %d is %s, the plan was made for %s", p->name, i, g, w);
        }
        if (in[i]->dtype != p->in_dtype[i])
            return clnet_fail(ctx, CLNET_ERR_DTYPE, "%s: input %d must be %s, as planned",
                              p->name, i, p->in_dtype[i] == CLNET_I32 ? "I32" : "F32");
    }
    return CLNET_OK;
}

clnet_status clnet_op_plan_run(const clnet_op_plan *plan, int nin, clnet_tensor *const *in,
                               int nout, clnet_tensor *const *out)
{
    if (!plan)
        return clnet_fail(NULL, CLNET_ERR_INVALID_ARGUMENT, "clnet_op_plan_run: NULL plan");
    clnet_device *dev = plan->dev;
    clnet_error_clear(dev->ctx);
    TRY(clnet_op_tensors_check(dev, plan->name, in, &nin, out, &nout));
    TRY(inputs_match(plan, nin, in));
    TRY(clnet_op_outputs_check(dev->ctx, plan->name, nout, out, plan->produced, plan->fewest,
                               plan->out, plan->out_dtype));
    return clnet_op_dispatch(dev, &plan->op, nin, in, nout, out);
}

void clnet_op_plan_free(clnet_op_plan *plan)
{
    free(plan);
}
