/* cl_wrap.c - a clnet tensor over a caller's cl_mem, without copying
 * (clnet_opencl_wrap). */
#include <limits.h>

#include "opencl/clcl.h"

clnet_status clnet_opencl_wrap(clnet_device *dev, cl_mem buffer, size_t offset_bytes,
                               clnet_dtype dtype, int ndim, const int64_t *shape,
                               clnet_tensor **out)
{
    clnet_error_clear(dev ? dev->ctx : NULL);
    if (!dev || !buffer || !out)
        return clnet_fail(dev ? dev->ctx : NULL, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_opencl_wrap: NULL argument");
    *out = NULL;
    if (dev->info.kind != CLNET_DEVICE_OPENCL || !dev->opened)
        return clnet_fail(dev->ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_opencl_wrap: %s is not "
                          "an opened OpenCL device", dev->info.name);
    cl_context context;
    size_t bytes;
    cl_int err = clGetMemObjectInfo(buffer, CL_MEM_CONTEXT, sizeof context, &context, NULL);
    if (err == CL_SUCCESS)
        err = clGetMemObjectInfo(buffer, CL_MEM_SIZE, sizeof bytes, &bytes, NULL);
    if (err != CL_SUCCESS)
        return clnet_cl_check(dev, err, "clnet_opencl_wrap: clGetMemObjectInfo");
    if (context != clnet_cl(dev)->context)
        return clnet_fail(dev->ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_opencl_wrap: the buffer "
                          "belongs to another OpenCL context than device %d (%s)",
                          dev->info.index, dev->info.name);
    size_t elem = dtype == CLNET_I32 ? sizeof(int32_t) : sizeof(float);
    if (offset_bytes % elem != 0)
        return clnet_fail(dev->ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_opencl_wrap: offset %zu "
                          "is not a multiple of the element size %zu", offset_bytes, elem);
    /* the same bound as buffers clnet allocates: kernels index with int */
    if (bytes / elem > (size_t)INT_MAX)
        return clnet_fail(dev->ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_opencl_wrap: a buffer "
                          "of %zu bytes: clnet's kernels index at most 2^31-1 elements", bytes);
    clnet_status st = clnet_tensor_over_handle(dev, buffer, bytes,
                                               (int64_t)(offset_bytes / elem), dtype, ndim,
                                               shape, out);
    if (st == CLNET_OK)
        clRetainMemObject(buffer);   /* released by cl_buffer_free with the storage */
    return st;
}
