/* cl_train.c - OpenCL launchers for REDUCE_SUM, SOFTMAX_XENT, MMI_LOSS and MSE_LOSS,
 * each a work-group reduction per independent sum (kernels in cl/train.cl). */
#include "core/geometry.h"
#include "opencl/clcl.h"

#define NARGS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Launches kernel `name` of cl/train.cl as `groups` work-groups of `local`
 * work-items (0: sized by clnet_cl_reduce_size for sums of `items`
 * elements), with one float of local scratch per work-item as the last
 * argument (args[nargs - 1], which is filled in here). */
static clnet_status launch_groups(clnet_device *dev, const char *name, int nargs,
                                  clnet_cl_arg *args, size_t groups, size_t items, size_t local)
{
    cl_kernel kernel;
    clnet_status st = clnet_cl_kernel(dev, "train", NULL, name, &kernel);
    if (st != CLNET_OK)
        return st;
    if (local == 0 &&
        (st = clnet_cl_reduce_size(dev, kernel, sizeof(cl_float), items, &local)) != CLNET_OK)
        return st;
    args[nargs - 1] = CLNET_CL_LOCAL(local * sizeof(cl_float));
    size_t global = groups * local;
    return clnet_cl_launch(dev, kernel, name, nargs, args, 1, &global, &local);
}

/* On a CPU one work-item per sum reads each image's plane as a row of
 * vectors (AVX2: airbench's whitening bias gradient, 24 sums over 1024
 * images of 31 x 31, 29 -> 7 ms; 64 over 32 of 55 x 55, 11 -> 0.5 ms);
 * planes under 16 elements keep the shared flat walk. */
static clnet_status run_reduce(clnet_device *dev, bool keep_batch, const clnet_tensor *x,
                               clnet_tensor *y)
{
    clnet_cl_tensor_args xa = clnet_cl_targs(x), ya = clnet_cl_targs(y);
    cl_int channels = (cl_int)x->shape[1], spatial = (cl_int)clnet_spatial_numel(x);
    cl_int images = keep_batch ? 1 : (cl_int)x->shape[0], keep = keep_batch;
    cl_int by_rows = clnet_cl_is_cpu(dev) && spatial >= 16;
    clnet_cl_arg args[] = {
        CLNET_CL_TENSOR(xa), CLNET_CL_TENSOR(ya),
        CLNET_CL_ARG(channels), CLNET_CL_ARG(spatial), CLNET_CL_ARG(images), CLNET_CL_ARG(keep),
        CLNET_CL_ARG(by_rows), CLNET_CL_LOCAL(0),
    };
    size_t groups = (size_t)channels * (keep_batch ? (size_t)x->shape[0] : 1);
    return launch_groups(dev, "reduce_sum", NARGS(args), args, groups,
                         (size_t)images * (size_t)spatial, by_rows ? 1 : 0);
}

static clnet_status run_xent(clnet_device *dev, const clnet_loss_params *p,
                             clnet_tensor *const *in, clnet_tensor *const *out)
{
    clnet_cl_tensor_args za = clnet_cl_targs(in[0]), la = clnet_cl_targs(in[1]);
    clnet_cl_tensor_args lossa = clnet_cl_targs(out[0]), dza = clnet_cl_targs(out[1]);
    cl_int classes = (cl_int)in[0]->shape[1];
    cl_float smoothing = p->label_smoothing, scale = p->scale;
    clnet_cl_arg args[] = {
        CLNET_CL_TENSOR(za), CLNET_CL_TENSOR(la), CLNET_CL_TENSOR(lossa), CLNET_CL_TENSOR(dza),
        CLNET_CL_ARG(classes), CLNET_CL_ARG(smoothing), CLNET_CL_ARG(scale),
        CLNET_CL_LOCAL(0),
    };
    return launch_groups(dev, "softmax_xent", NARGS(args), args, (size_t)in[0]->shape[0],
                         (size_t)classes, 0);
}

static clnet_status run_mmi(clnet_device *dev, const clnet_loss_params *p,
                            clnet_tensor *const *in, clnet_tensor *const *out)
{
    clnet_cl_tensor_args ya = clnet_cl_targs(in[0]), la = clnet_cl_targs(in[1]);
    clnet_cl_tensor_args lossa = clnet_cl_targs(out[0]), dya = clnet_cl_targs(out[1]);
    cl_int classes = (cl_int)in[0]->shape[1];
    cl_float j = p->mmi_j, scale = p->scale;
    clnet_cl_arg args[] = {
        CLNET_CL_TENSOR(ya), CLNET_CL_TENSOR(la), CLNET_CL_TENSOR(lossa), CLNET_CL_TENSOR(dya),
        CLNET_CL_ARG(classes), CLNET_CL_ARG(j), CLNET_CL_ARG(scale),
        CLNET_CL_LOCAL(0),
    };
    return launch_groups(dev, "mmi_loss", NARGS(args), args, (size_t)in[0]->shape[0],
                         (size_t)classes, 0);
}

static clnet_status run_mse(clnet_device *dev, float scale, clnet_tensor *const *in,
                            clnet_tensor *const *out)
{
    clnet_cl_tensor_args pa = clnet_cl_targs(in[0]), ta = clnet_cl_targs(in[1]);
    clnet_cl_tensor_args lossa = clnet_cl_targs(out[0]), dpa = clnet_cl_targs(out[1]);
    cl_int features = (cl_int)clnet_tensor_image_numel(in[0]);
    clnet_cl_arg args[] = {
        CLNET_CL_TENSOR(pa), CLNET_CL_TENSOR(ta), CLNET_CL_TENSOR(lossa), CLNET_CL_TENSOR(dpa),
        CLNET_CL_ARG(features), CLNET_CL_ARG(scale),
        CLNET_CL_LOCAL(0),
    };
    return launch_groups(dev, "mse_loss", NARGS(args), args, (size_t)in[0]->shape[0],
                         (size_t)features, 0);
}

clnet_status clnet_cl_run_train(clnet_device *dev, const clnet_op *op, int nin,
                                clnet_tensor *const *in, int nout, clnet_tensor *const *out)
{
    (void)nin;
    (void)nout;
    switch (op->kind) {
    case CLNET_OP_REDUCE_SUM:
        return run_reduce(dev, op->u.reduce.keep_batch, in[0], out[0]);
    case CLNET_OP_SOFTMAX_XENT:
        return run_xent(dev, &op->u.loss, in, out);
    case CLNET_OP_MMI_LOSS:
        return run_mmi(dev, &op->u.loss, in, out);
    case CLNET_OP_MSE_LOSS:
        return run_mse(dev, op->u.loss.scale, in, out);
    default:
        return clnet_fail(dev->ctx, CLNET_ERR_INTERNAL, "opencl: op %s is not a training op",
                          clnet_op_kind_name(op->kind));
    }
}
