/* cl_scratch.c - each OpenCL device's scratch buffer: the device memory
 * one op's intermediate data (im2col columns, Winograd tiles) borrows. */
#include "opencl/clcl.h"

#include <stdio.h>

/* Caller holds ctx->lock. */
static clnet_status scratch_grow(clnet_device *dev, size_t bytes)
{
    clnet_cl_device *cl = clnet_cl(dev);
    if (cl->scratch && cl->scratch_bytes >= bytes)
        return CLNET_OK;
    /* Commands already queued keep the old buffer alive until they finish. */
    if (cl->scratch)
        clReleaseMemObject(cl->scratch);
    cl->scratch = NULL;
    cl->scratch_bytes = 0;
    cl_int err;
    cl_mem mem = clCreateBuffer(cl->context, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err != CL_SUCCESS) {
        char what[96];
        snprintf(what, sizeof what, "clCreateBuffer(scratch of %zu bytes)", bytes);
        return clnet_cl_check(dev, err, what);
    }
    cl->scratch = mem;
    cl->scratch_bytes = bytes;
    return CLNET_OK;
}

clnet_status clnet_cl_scratch_acquire(clnet_device *dev, size_t bytes, cl_mem *out)
{
    clnet_cl_device *cl = clnet_cl(dev);
    mtx_lock(&dev->ctx->lock);
    bool shared = !cl->scratch_busy;
    clnet_status st = CLNET_OK;
    if (shared && (st = scratch_grow(dev, bytes)) == CLNET_OK) {
        cl->scratch_busy = true;
        *out = cl->scratch;
    }
    mtx_unlock(&dev->ctx->lock);
    if (shared)
        return st;
    cl_int err;
    *out = clCreateBuffer(cl->context, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err == CL_SUCCESS)
        return CLNET_OK;
    char what[96];
    snprintf(what, sizeof what, "clCreateBuffer(scratch of %zu bytes)", bytes);
    return clnet_cl_check(dev, err, what);
}

void clnet_cl_scratch_release(clnet_device *dev, cl_mem mem)
{
    clnet_cl_device *cl = clnet_cl(dev);
    mtx_lock(&dev->ctx->lock);
    bool shared = cl->scratch_busy && mem == cl->scratch;
    if (shared)
        cl->scratch_busy = false;
    mtx_unlock(&dev->ctx->lock);
    if (!shared)
        clReleaseMemObject(mem);
}

void clnet_cl_scratch_free(clnet_device *dev)
{
    clnet_cl_device *cl = clnet_cl(dev);
    if (cl->scratch)
        clReleaseMemObject(cl->scratch);
    cl->scratch = NULL;
    cl->scratch_bytes = 0;
    cl->scratch_busy = false;
}
