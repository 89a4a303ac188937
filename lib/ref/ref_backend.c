/* ref_backend.c - the reference backend's device: host-memory buffers and the
 * dispatch of validated ops to the scalar op families of lib/ref. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ref/ref.h"

static clnet_status ref_open(clnet_device *dev)
{
    (void)dev;
    return CLNET_OK;
}

static void ref_close(clnet_device *dev)
{
    (void)dev;
}

static clnet_status ref_buffer_alloc(clnet_device *dev, size_t bytes, void **handle)
{
    /* malloc(0) may legitimately return NULL; one byte keeps NULL meaning failure. */
    void *p = malloc(bytes ? bytes : 1);
    if (!p)
        return clnet_fail(dev->ctx, CLNET_ERR_HOST_MEMORY,
                          "ref: cannot allocate a buffer of %zu bytes", bytes);
    *handle = p;
    return CLNET_OK;
}

static void ref_buffer_free(clnet_device *dev, void *handle)
{
    (void)dev;
    free(handle);
}

static clnet_status ref_buffer_write(clnet_device *dev, void *handle, size_t offset,
                                     size_t bytes, const void *src)
{
    (void)dev;
    memcpy((char *)handle + offset, src, bytes);
    return CLNET_OK;
}

static clnet_status ref_buffer_read(clnet_device *dev, void *handle, size_t offset,
                                    size_t bytes, void *dst)
{
    (void)dev;
    memcpy(dst, (const char *)handle + offset, bytes);
    return CLNET_OK;
}

/* Which function runs each op family (lib/ref has one file per family;
 * ref_train.c holds the losses and the optimizer steps). */
static const clnet_run_fn ref_runners[CLNET_OP_FAMILY_COUNT] = {
    [CLNET_OP_FAMILY_CONV] = clnet_ref_run_conv,
    [CLNET_OP_FAMILY_POOL] = clnet_ref_run_pool,
    [CLNET_OP_FAMILY_ELTWISE] = clnet_ref_run_eltwise,
    [CLNET_OP_FAMILY_NORM] = clnet_ref_run_norm,
    [CLNET_OP_FAMILY_GEMM] = clnet_ref_run_gemm,
    [CLNET_OP_FAMILY_TRAIN] = clnet_ref_run_train,
    [CLNET_OP_FAMILY_OPTIM] = clnet_ref_run_train,
};

/* Work is done when run returns, so there is never anything to wait for. */
static clnet_status ref_synchronize(clnet_device *dev)
{
    (void)dev;
    return CLNET_OK;
}

static const clnet_backend_iface ref_iface = {
    .name = "ref",
    .open = ref_open,
    .close = ref_close,
    .buffer_alloc = ref_buffer_alloc,
    .buffer_free = ref_buffer_free,
    .buffer_write = ref_buffer_write,
    .buffer_read = ref_buffer_read,
    .runners = ref_runners,
    .synchronize = ref_synchronize,
};

/* Physical memory is the honest limit for host buffers; 0 when unknown. */
static uint64_t physical_memory_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES);
    long page_size = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page_size <= 0)
        return 0;
    return (uint64_t)pages * (uint64_t)page_size;
}

static void copy_text(char *dst, size_t size, const char *src)
{
    strncpy(dst, src, size - 1);
    dst[size - 1] = '\0';
}

clnet_status clnet_ref_register(clnet_ctx *ctx)
{
    clnet_device *dev = calloc(1, sizeof(*dev));
    if (!dev)
        return clnet_fail(ctx, CLNET_ERR_HOST_MEMORY,
                          "ref: cannot allocate the device record (%zu bytes)", sizeof(*dev));
    dev->iface = &ref_iface;
    clnet_device_info *info = &dev->info;
    info->kind = CLNET_DEVICE_REF;
    copy_text(info->name, sizeof(info->name), "ref");
    copy_text(info->vendor, sizeof(info->vendor), "clnet");
    copy_text(info->type, sizeof(info->type), "host");
    copy_text(info->version, sizeof(info->version), "clnet reference backend");
    info->compute_units = 1;
    info->global_mem_bytes = physical_memory_bytes();
    info->max_alloc_bytes = info->global_mem_bytes;
    info->compiler_available = true;
    clnet_status st = clnet_ctx_add_device(ctx, dev);
    if (st != CLNET_OK)
        free(dev);
    return st;
}
