/* cl_optim.c - OpenCL launchers for SGD_STEP and ADAM_STEP, the optimizer
 * steps that update weights and their state in place (cl/optim.cl). */
#include <math.h>

#include "opencl/clcl.h"

#define NARGS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Launches kernel `name` of cl/optim.cl over the grid (image, N) of g, or
 * over (every element, 1) when all the step's tensors are dense: PoCL ran
 * the two-dimensional grids of a net's long runs of parameters at half the
 * speed (ResNet-18's 11.2 M parameters in one run: 7.4-8.5 ms a step, in
 * one dimension 3.4-4.8; as 62 tensors 6.5-7.3 and 4.4-5.0). */
static clnet_status launch_step(clnet_device *dev, const char *name, int nargs,
                                const clnet_cl_arg *args, const clnet_tensor *g,
                                clnet_tensor *const *out, int nout)
{
    bool dense = clnet_tensor_is_dense(g);
    for (int i = 0; i < nout; i++)
        dense = dense && clnet_tensor_is_dense(out[i]);
    size_t grid[2] = {(size_t)clnet_tensor_image_numel(g), (size_t)g->shape[0]};
    if (dense) {
        grid[0] *= grid[1];
        grid[1] = 1;
    }
    return clnet_cl_launch_program(dev, "optim", name, nargs, args, 2, grid);
}

/* Without momentum the velocity is ignored, present or not. */
static clnet_status run_sgd(clnet_device *dev, const clnet_sgd_params *p, const clnet_tensor *g,
                            clnet_tensor *const *out)
{
    clnet_cl_tensor_args ga = clnet_cl_targs(g), wa = clnet_cl_targs(out[0]);
    cl_float lr = p->lr, momentum = p->momentum, weight_decay = p->weight_decay;
    if (momentum == 0.0f) {
        clnet_cl_arg args[] = {
            CLNET_CL_TENSOR(ga), CLNET_CL_TENSOR(wa), CLNET_CL_ARG(lr), CLNET_CL_ARG(weight_decay),
        };
        return launch_step(dev, "sgd", NARGS(args), args, g, out, 1);
    }
    clnet_cl_tensor_args va = clnet_cl_targs(out[1]);
    cl_int nesterov = p->nesterov;
    clnet_cl_arg args[] = {
        CLNET_CL_TENSOR(ga), CLNET_CL_TENSOR(wa), CLNET_CL_TENSOR(va),
        CLNET_CL_ARG(lr), CLNET_CL_ARG(momentum), CLNET_CL_ARG(weight_decay),
        CLNET_CL_ARG(nesterov),
    };
    return launch_step(dev, "sgd_momentum", NARGS(args), args, g, out, 2);
}

/* The bias corrections 1 - beta^t are taken in double, as torch.optim does
 * with Python floats: in float, 1 - 0.999^t loses most of its digits for
 * small t. */
static clnet_status run_adam(clnet_device *dev, const clnet_adam_params *p,
                             const clnet_tensor *g, clnet_tensor *const *out)
{
    clnet_cl_tensor_args ga = clnet_cl_targs(g), wa = clnet_cl_targs(out[0]);
    clnet_cl_tensor_args ma = clnet_cl_targs(out[1]), va = clnet_cl_targs(out[2]);
    double correction1 = 1.0 - pow((double)p->beta1, p->t);
    double correction2 = 1.0 - pow((double)p->beta2, p->t);
    cl_float step = (cl_float)((double)p->lr / correction1);
    cl_float root2 = (cl_float)sqrt(correction2);
    cl_float beta1 = p->beta1, beta2 = p->beta2, eps = p->eps;
    cl_float l2 = p->decoupled ? 0.0f : p->weight_decay;
    cl_float decay = p->decoupled ? (cl_float)(1.0 - (double)p->lr * p->weight_decay) : 1.0f;
    clnet_cl_arg args[] = {
        CLNET_CL_TENSOR(ga), CLNET_CL_TENSOR(wa), CLNET_CL_TENSOR(ma), CLNET_CL_TENSOR(va),
        CLNET_CL_ARG(step), CLNET_CL_ARG(beta1), CLNET_CL_ARG(beta2), CLNET_CL_ARG(eps),
        CLNET_CL_ARG(root2), CLNET_CL_ARG(l2), CLNET_CL_ARG(decay),
    };
    return launch_step(dev, "adam", NARGS(args), args, g, out, 3);
}

clnet_status clnet_cl_run_optim(clnet_device *dev, const clnet_op *op, int nin,
                                clnet_tensor *const *in, int nout, clnet_tensor *const *out)
{
    (void)nin;
    (void)nout;
    const char *name = clnet_op_kind_name(op->kind);
    switch (op->kind) {
    case CLNET_OP_SGD_STEP:
        return run_sgd(dev, &op->u.sgd, in[0], out);
    case CLNET_OP_ADAM_STEP:
        return run_adam(dev, &op->u.adam, in[0], out);
    default:
        return clnet_fail(dev->ctx, CLNET_ERR_INTERNAL, "opencl: op %s is not an optimizer step",
                          name);
    }
}
