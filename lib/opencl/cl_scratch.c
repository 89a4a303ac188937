/* cl_scratch.c - each OpenCL device's scratch buffers: the device memory
 * one op's intermediate data (im2col columns, Winograd tiles) borrows. */
#include "opencl/clcl.h"

#include <stdio.h>

static clnet_status new_buffer(clnet_device *dev, size_t bytes, cl_mem *out)
{
    cl_int err;
    *out = clCreateBuffer(clnet_cl(dev)->context, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err == CL_SUCCESS)
        return CLNET_OK;
    char what[96];
    snprintf(what, sizeof what, "clCreateBuffer(scratch of %zu bytes)", bytes);
    return clnet_cl_check(dev, err, what);
}

/* Slot i at `bytes` or more. Caller holds ctx->lock. */
static clnet_status slot_grow(clnet_device *dev, int i, size_t bytes)
{
    clnet_cl_device *cl = clnet_cl(dev);
    if (cl->scratch[i] && cl->scratch_bytes[i] >= bytes)
        return CLNET_OK;
    /* Commands already queued keep the old buffer alive until they finish. */
    if (cl->scratch[i])
        clReleaseMemObject(cl->scratch[i]);
    cl->scratch[i] = NULL;
    cl->scratch_bytes[i] = 0;
    clnet_status st = new_buffer(dev, bytes, &cl->scratch[i]);
    if (st == CLNET_OK)
        cl->scratch_bytes[i] = bytes;
    return st;
}

clnet_status clnet_cl_scratch_acquire(clnet_device *dev, size_t bytes, cl_mem *out)
{
    clnet_cl_device *cl = clnet_cl(dev);
    mtx_lock(&dev->ctx->lock);
    int slot = 0;
    while (slot < CLNET_CL_SCRATCH_SLOTS && cl->scratch_busy[slot])
        slot++;
    clnet_status st = CLNET_OK;
    if (slot < CLNET_CL_SCRATCH_SLOTS && (st = slot_grow(dev, slot, bytes)) == CLNET_OK) {
        cl->scratch_busy[slot] = true;
        *out = cl->scratch[slot];
    }
    mtx_unlock(&dev->ctx->lock);
    if (slot < CLNET_CL_SCRATCH_SLOTS)
        return st;
    return new_buffer(dev, bytes, out);
}

void clnet_cl_scratch_release(clnet_device *dev, cl_mem mem)
{
    clnet_cl_device *cl = clnet_cl(dev);
    mtx_lock(&dev->ctx->lock);
    bool kept = false;
    for (int i = 0; i < CLNET_CL_SCRATCH_SLOTS; i++)
        if (cl->scratch_busy[i] && mem == cl->scratch[i]) {
            cl->scratch_busy[i] = false;
            kept = true;
        }
    mtx_unlock(&dev->ctx->lock);
    if (!kept)
        clReleaseMemObject(mem);
}

void clnet_cl_scratch_free(clnet_device *dev)
{
    clnet_cl_device *cl = clnet_cl(dev);
    for (int i = 0; i < CLNET_CL_SCRATCH_SLOTS; i++) {
        if (cl->scratch[i])
            clReleaseMemObject(cl->scratch[i]);
        cl->scratch[i] = NULL;
        cl->scratch_bytes[i] = 0;
        cl->scratch_busy[i] = false;
    }
}
