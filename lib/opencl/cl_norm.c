/* cl_norm.c - OpenCL launchers for BATCHNORM, BATCHNORM_STATS, LRN and their
 * gradients (kernels in cl/norm.cl), and the work-group sizing shared by
 * reductions. */
#include "core/geometry.h"
#include "opencl/clcl.h"

#include <stdio.h>

#define NARGS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Each work-item first reduces this many elements on its own: on a CPU a
 * step of the barrier-separated tree costs far more than a loop iteration
 * (global average pooling of 32x64x56x56 on PoCL, same run: 48 ms with one
 * element per work-item, 3 ms with 32). */
#define REDUCE_ITEMS_PER_WORK_ITEM 32

static clnet_status kernel_query(clnet_device *dev, cl_kernel kernel,
                                 cl_kernel_work_group_info param, const char *name, size_t *out)
{
    char what[128];
    snprintf(what, sizeof what, "clGetKernelWorkGroupInfo(%s)", name);
    return clnet_cl_check(dev, clGetKernelWorkGroupInfo(kernel, clnet_cl(dev)->id, param,
                                                        sizeof *out, out, NULL), what);
}

clnet_status clnet_cl_reduce_size(clnet_device *dev, cl_kernel kernel, size_t bytes_per_item,
                                  size_t items, size_t *local)
{
    cl_device_id id = clnet_cl(dev)->id;
    size_t kernel_max = 0, multiple = 1;
    size_t item_max[16] = {0};   /* room for more dimensions than devices report */
    cl_ulong local_mem = 0;
    clnet_status st = kernel_query(dev, kernel, CL_KERNEL_WORK_GROUP_SIZE,
                                   "CL_KERNEL_WORK_GROUP_SIZE", &kernel_max);
    if (st == CLNET_OK)
        st = kernel_query(dev, kernel, CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE,
                          "CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE", &multiple);
    if (st == CLNET_OK)
        st = clnet_cl_check(dev, clGetDeviceInfo(id, CL_DEVICE_MAX_WORK_ITEM_SIZES,
                                                 sizeof item_max, item_max, NULL),
                            "clGetDeviceInfo(CL_DEVICE_MAX_WORK_ITEM_SIZES)");
    if (st == CLNET_OK)
        st = clnet_cl_check(dev, clGetDeviceInfo(id, CL_DEVICE_LOCAL_MEM_SIZE, sizeof local_mem,
                                                 &local_mem, NULL),
                            "clGetDeviceInfo(CL_DEVICE_LOCAL_MEM_SIZE)");
    if (st != CLNET_OK)
        return st;
    size_t limit = kernel_max < item_max[0] ? kernel_max : item_max[0];
    if (local_mem / bytes_per_item < limit)
        limit = (size_t)(local_mem / bytes_per_item);
    /* a GPU still gets at least one full wavefront / warp per group */
    size_t want = items / REDUCE_ITEMS_PER_WORK_ITEM;
    if (want < multiple)
        want = multiple;
    if (want < limit)
        limit = want;
    size_t size = 1;
    while (size * 2 <= limit)
        size *= 2;
    *local = size;
    return CLNET_OK;
}

clnet_status clnet_cl_channel_group_size(clnet_device *dev, cl_kernel kernel,
                                         size_t bytes_per_item, size_t items, size_t *local)
{
    if (clnet_cl_is_cpu(dev)) {
        *local = 1;
        return CLNET_OK;
    }
    return clnet_cl_reduce_size(dev, kernel, bytes_per_item, items, local);
}

/* Launches kernel `name` of cl/norm.cl over the exact grid (spatial, C, N)
 * of y. */
static clnet_status launch_channels(clnet_device *dev, const char *name, int nargs,
                                    const clnet_cl_arg *args, const clnet_tensor *y)
{
    size_t grid[3] = {
        (size_t)clnet_spatial_numel(y), (size_t)y->shape[1], (size_t)y->shape[0],
    };
    return clnet_cl_launch_program(dev, "norm", name, nargs, args, 3, grid);
}

/* The activation a BATCHNORM(_BACKWARD) fuses as the kernels take it:
 * clnet_activation's value, -1 for none. */
static void fused_act(const clnet_bn_params *p, cl_int *fn, cl_float *alpha)
{
    *fn = p->fuse_act ? (cl_int)p->act.fn : -1;
    *alpha = p->fuse_act ? p->act.alpha : 0.0f;
}

/* The per-channel vectors (C) go to the kernel as tensors too: their
 * "batch stride" is the distance between entries. Planes of a multiple of
 * 16 elements take the vector kernel (C * spatial / 16 work-items an
 * image); other planes of 16 or more one a work-item (grid (C, N));
 * smaller ones the kernel that runs through an image's channels 16
 * elements at a time (a scalar work-item per element, which PoCL does not
 * vectorise, ran MobileNet-v2's 32x960x2x2 forward in 0.40 ms, this kernel
 * in 0.23). */
static clnet_status run_batchnorm(clnet_device *dev, const clnet_bn_params *p,
                                  clnet_tensor *const *in, clnet_tensor *y)
{
    const size_t spatial = (size_t)clnet_spatial_numel(y), channels = (size_t)y->shape[1];
    const size_t images = (size_t)y->shape[0];
    clnet_cl_tensor_args xa = clnet_cl_targs(in[0]), ya = clnet_cl_targs(y);
    clnet_cl_tensor_args mean = clnet_cl_targs(in[1]), var = clnet_cl_targs(in[2]);
    clnet_cl_tensor_args gamma = clnet_cl_targs(in[3]), beta = clnet_cl_targs(in[4]);
    /* without a residual add the kernel reads no r: x stands in */
    clnet_cl_tensor_args ra = clnet_cl_targs(p->fuse_add ? in[5] : in[0]);
    cl_int has_r = p->fuse_add, c = (cl_int)channels, s = (cl_int)spatial;
    cl_float eps = p->eps, act_alpha;
    cl_int act_fn;
    fused_act(p, &act_fn, &act_alpha);
    /* the work-items of batchnorm16 or batchnorm_flat, 16 elements of an
     * image each (batchnorm_planes ignores it) */
    const size_t items = (channels * spatial + 15) / 16 * images;
    cl_int items_arg = (cl_int)items;
    clnet_cl_arg args[] = {
        CLNET_CL_TENSOR(xa), CLNET_CL_TENSOR(ya),
        CLNET_CL_TENSOR(mean), CLNET_CL_TENSOR(var), CLNET_CL_TENSOR(gamma),
        CLNET_CL_TENSOR(beta), CLNET_CL_TENSOR(ra), CLNET_CL_ARG(has_r),
        CLNET_CL_ARG(c), CLNET_CL_ARG(s), CLNET_CL_ARG(eps), CLNET_CL_ARG(act_fn),
        CLNET_CL_ARG(act_alpha), CLNET_CL_ARG(items_arg),
    };
    if (spatial % 16 == 0)
        return clnet_cl_launch_padded(dev, "norm", "batchnorm16", NARGS(args), args, items);
    if (spatial >= 16) {
        size_t grid[2] = {channels, images};
        return clnet_cl_launch_program(dev, "norm", "batchnorm_planes", NARGS(args), args, 2,
                                       grid);
    }
    return clnet_cl_launch_padded(dev, "norm", "batchnorm_flat", NARGS(args), args, items);
}

/* The steps a channel's reduction takes over the batch: an image's plane is
 * read 16 elements at a time, the elements past its last whole 16 one by
 * one (norm.cl's split_group). */
static size_t plane_units(cl_int batch, cl_int spatial)
{
    return (size_t)batch * (size_t)(spatial >= 16 ? spatial / 16 : 1);
}

/* One work-group per channel reduces its N * spatial elements; with
 * running statistics (both or neither given) they are updated too. */
static clnet_status run_batchnorm_stats(clnet_device *dev, float momentum, const clnet_tensor *x,
                                        int nout, clnet_tensor *const *out)
{
    bool running = nout >= 4;
    const char *name = running ? "batchnorm_stats_running" : "batchnorm_stats";
    cl_kernel kernel;
    clnet_status st = clnet_cl_kernel(dev, "norm", NULL, name, &kernel);
    if (st != CLNET_OK)
        return st;
    cl_int batch = (cl_int)x->shape[0], spatial = (cl_int)clnet_spatial_numel(x);
    size_t count = (size_t)batch * (size_t)spatial, local;
    st = clnet_cl_channel_group_size(dev, kernel, sizeof(cl_float2), plane_units(batch, spatial),
                                     &local);
    if (st != CLNET_OK)
        return st;
    clnet_cl_tensor_args xa = clnet_cl_targs(x);
    clnet_cl_tensor_args ma = clnet_cl_targs(out[0]), va = clnet_cl_targs(out[1]);
    clnet_cl_arg sums = CLNET_CL_LOCAL(local * sizeof(cl_float2));
    size_t global = local * (size_t)x->shape[1];
    if (!running) {
        clnet_cl_arg args[] = {
            CLNET_CL_TENSOR(xa), CLNET_CL_TENSOR(ma), CLNET_CL_TENSOR(va),
            CLNET_CL_ARG(batch), CLNET_CL_ARG(spatial), sums,
        };
        return clnet_cl_launch(dev, kernel, name, NARGS(args), args, 1, &global, &local);
    }
    clnet_cl_tensor_args rma = clnet_cl_targs(out[2]), rva = clnet_cl_targs(out[3]);
    /* a single element per channel has no unbiased variance; it then enters as is */
    cl_float unbias = count > 1 ? (cl_float)((double)count / (double)(count - 1)) : 1.0f;
    clnet_cl_arg args[] = {
        CLNET_CL_TENSOR(xa), CLNET_CL_TENSOR(ma), CLNET_CL_TENSOR(va),
        CLNET_CL_TENSOR(rma), CLNET_CL_TENSOR(rva),
        CLNET_CL_ARG(batch), CLNET_CL_ARG(spatial), CLNET_CL_ARG(momentum), CLNET_CL_ARG(unbias),
        sums,
    };
    return clnet_cl_launch(dev, kernel, name, NARGS(args), args, 1, &global, &local);
}

/* One work-group per channel reduces dbeta and dgamma over its N * spatial
 * elements (16 at a time up to each plane's last whole 16), then
 * writes dx for them (and dr, a fused residual add's fourth output); a
 * fused activation's output y is the sixth input. */
static clnet_status run_batchnorm_backward(clnet_device *dev, const clnet_bn_params *p,
                                           clnet_tensor *const *in, clnet_tensor *const *out)
{
    const char *name = "batchnorm_backward";
    cl_kernel kernel;
    clnet_status st = clnet_cl_kernel(dev, "norm", NULL, name, &kernel);
    if (st != CLNET_OK)
        return st;
    const clnet_tensor *x = in[0];
    cl_int batch = (cl_int)x->shape[0], spatial = (cl_int)clnet_spatial_numel(x);
    size_t local;
    st = clnet_cl_channel_group_size(dev, kernel, sizeof(cl_float2), plane_units(batch, spatial),
                                     &local);
    if (st != CLNET_OK)
        return st;
    clnet_cl_tensor_args xa = clnet_cl_targs(x), dya = clnet_cl_targs(in[1]);
    clnet_cl_tensor_args mean = clnet_cl_targs(in[2]), var = clnet_cl_targs(in[3]);
    clnet_cl_tensor_args gamma = clnet_cl_targs(in[4]), dxa = clnet_cl_targs(out[0]);
    /* the activation's slope from y or, with act_from_pre, from the
     * pre-activation by beta (ops.h); without one the kernel reads neither,
     * and dy stands in */
    clnet_cl_tensor_args sa = clnet_cl_targs(p->fuse_act ? in[5] : in[1]);
    cl_int act_from_pre = p->fuse_act && !clnet_act_slope_from_output(&p->act);
    clnet_cl_tensor_args dgamma = clnet_cl_targs(out[1]), dbeta = clnet_cl_targs(out[2]);
    /* without a residual add the kernel writes no dr: dx stands in */
    clnet_cl_tensor_args dra = clnet_cl_targs(out[p->fuse_add ? 3 : 0]);
    cl_int has_dr = p->fuse_add;
    cl_float eps = p->eps, act_alpha;
    cl_int act_fn;
    fused_act(p, &act_fn, &act_alpha);
    clnet_cl_arg args[] = {
        CLNET_CL_TENSOR(xa), CLNET_CL_TENSOR(dya),
        CLNET_CL_TENSOR(mean), CLNET_CL_TENSOR(var), CLNET_CL_TENSOR(gamma), CLNET_CL_TENSOR(sa),
        CLNET_CL_ARG(act_from_pre),
        CLNET_CL_TENSOR(dxa), CLNET_CL_TENSOR(dgamma), CLNET_CL_TENSOR(dbeta),
        CLNET_CL_TENSOR(dra), CLNET_CL_ARG(has_dr), CLNET_CL_ARG(batch), CLNET_CL_ARG(spatial), CLNET_CL_ARG(eps), CLNET_CL_ARG(act_fn),
        CLNET_CL_ARG(act_alpha), CLNET_CL_LOCAL(local * sizeof(cl_float2)),
    };
    size_t global = local * (size_t)x->shape[1];
    return clnet_cl_launch(dev, kernel, name, NARGS(args), args, 1, &global, &local);
}

static clnet_status run_lrn(clnet_device *dev, const clnet_lrn_params *p, const clnet_tensor *x,
                            clnet_tensor *y)
{
    clnet_cl_tensor_args xa = clnet_cl_targs(x), ya = clnet_cl_targs(y);
    cl_int size = p->size;
    cl_float alpha = p->alpha, beta = p->beta, k = p->k;
    clnet_cl_arg args[] = {
        CLNET_CL_TENSOR(xa), CLNET_CL_TENSOR(ya),
        CLNET_CL_ARG(size), CLNET_CL_ARG(alpha), CLNET_CL_ARG(beta), CLNET_CL_ARG(k),
    };
    return launch_channels(dev, "lrn", NARGS(args), args, y);
}

static clnet_status run_lrn_backward(clnet_device *dev, const clnet_lrn_params *p,
                                     const clnet_tensor *x, const clnet_tensor *dy,
                                     clnet_tensor *dx)
{
    clnet_cl_tensor_args xa = clnet_cl_targs(x), dya = clnet_cl_targs(dy);
    clnet_cl_tensor_args dxa = clnet_cl_targs(dx);
    cl_int size = p->size;
    cl_float alpha = p->alpha, beta = p->beta, k = p->k;
    clnet_cl_arg args[] = {
        CLNET_CL_TENSOR(xa), CLNET_CL_TENSOR(dya), CLNET_CL_TENSOR(dxa),
        CLNET_CL_ARG(size), CLNET_CL_ARG(alpha), CLNET_CL_ARG(beta), CLNET_CL_ARG(k),
    };
    return launch_channels(dev, "lrn_backward", NARGS(args), args, dx);
}

clnet_status clnet_cl_run_norm(clnet_device *dev, const clnet_op *op, int nin,
                               clnet_tensor *const *in, int nout, clnet_tensor *const *out)
{
    (void)nin;
    switch (op->kind) {
    case CLNET_OP_BATCHNORM:
        return run_batchnorm(dev, &op->u.bn, in, out[0]);
    case CLNET_OP_BATCHNORM_STATS:
        return run_batchnorm_stats(dev, op->u.bn.momentum, in[0], nout, out);
    case CLNET_OP_LRN:
        return run_lrn(dev, &op->u.lrn, in[0], out[0]);
    case CLNET_OP_BATCHNORM_BACKWARD:
        return run_batchnorm_backward(dev, &op->u.bn, in, out);
    case CLNET_OP_LRN_BACKWARD:
        return run_lrn_backward(dev, &op->u.lrn, in[0], in[1], out[0]);
    default:
        return clnet_fail(dev->ctx, CLNET_ERR_INTERNAL, "opencl: op %s is not a normalisation",
                          clnet_op_kind_name(op->kind));
    }
}
