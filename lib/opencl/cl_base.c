/* cl_base.c - the ground floor of the OpenCL backend, used by every file
 * above it: OpenCL errors as clnet statuses, tensors as kernel arguments. */
#include "opencl/clcl.h"

#include <stdio.h>
#include <string.h>

clnet_status clnet_cl_check(clnet_device *dev, cl_int err, const char *what)
{
    if (err == CL_SUCCESS)
        return CLNET_OK;
    clnet_status st = (clnet_status)(CLNET_ERR_OPENCL_BAND + err);
    return clnet_fail(dev->ctx, st, "%s failed on %s: %s", what, dev->info.name,
                      clnet_status_str(st));
}

clnet_status clnet_cl_group_max(clnet_device *dev, cl_kernel kernel, const char *name,
                                size_t cap, size_t *max)
{
    size_t kernel_max = 0;
    cl_int err = clGetKernelWorkGroupInfo(kernel, clnet_cl(dev)->id, CL_KERNEL_WORK_GROUP_SIZE,
                                          sizeof kernel_max, &kernel_max, NULL);
    if (err != CL_SUCCESS) {
        char what[96];
        snprintf(what, sizeof what, "clGetKernelWorkGroupInfo(%s)", name);
        return clnet_cl_check(dev, err, what);
    }
    *max = kernel_max < cap ? kernel_max : cap;
    if (*max == 0)
        *max = 1;
    return CLNET_OK;
}

clnet_cl_tensor_args clnet_cl_targs(const clnet_tensor *t)
{
    clnet_cl_tensor_args a;
    a.mem = (cl_mem)t->storage->handle;
    a.offset = (cl_int)t->offset;
    a.batch_stride = (cl_int)t->stride[0];
    return a;
}

cl_int clnet_cl_targs_end(const clnet_tensor *t)
{
    return (cl_int)(t->offset + (t->shape[0] - 1) * t->stride[0] + clnet_tensor_image_numel(t));
}

clnet_tensor clnet_cl_buffer_tensor(clnet_device *dev, cl_mem buf, int64_t offset, int ndim,
                                    const int64_t *shape, clnet_storage *storage)
{
    clnet_tensor t = {.storage = storage, .dtype = CLNET_F32, .ndim = ndim, .offset = offset};
    int64_t count = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        t.shape[d] = shape[d];
        t.stride[d] = count;
        count *= shape[d];
    }
    *storage = (clnet_storage){.dev = dev, .handle = buf, .refs = 1,
                               .bytes = (size_t)(offset + count) * sizeof(cl_float)};
    return t;
}

bool clnet_cl_prefers_float8(const clnet_device *dev)
{
    cl_uint width = 0;
    return clGetDeviceInfo(clnet_cl(dev)->id, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT,
                           sizeof width, &width, NULL) == CL_SUCCESS && width == 8;
}

bool clnet_cl_is_cpu(const clnet_device *dev)
{
    return strcmp(dev->info.type, "cpu") == 0;
}
