/* cl_compile.c - clnet_opencl_compile_all: every program of cl/ built (or
 * found) for one device and written as a binary file, for devices that
 * cannot compile (binaries-only mode) and for `clnet-bench compile`. */
#include "opencl/cl_program.h"

#include <string.h>

/* Programs come through the device's usual path (memory, cache, source; or
 * the binaries dir in binaries-only mode), so a warm cache makes this fast
 * and what is written is exactly what clnet would run. */
clnet_status clnet_opencl_compile_all(clnet_device *dev, const char *dir, int *nprograms)
{
    clnet_error_clear(dev ? dev->ctx : NULL);
    if (nprograms)
        *nprograms = 0;
    if (!dev || !dir || !*dir)
        return clnet_fail(dev ? dev->ctx : NULL, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_opencl_compile_all: NULL device or directory");
    clnet_ctx *ctx = dev->ctx;
    if (dev->info.kind != CLNET_DEVICE_OPENCL || !dev->opened)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_opencl_compile_all: %s is not an open OpenCL device",
                          dev->info.name);
    int err = clnet_cl_mkdir_p(dir);
    if (err)
        return clnet_fail(ctx, CLNET_ERR_IO, "clnet_opencl_compile_all: cannot create %s: %s",
                          dir, strerror(err));
    for (int i = 0; i < clnet_cl_source_count; i++) {
        const char *name = clnet_cl_sources[i].name;
        cl_program prog;
        const clnet_cl_key *key;
        clnet_status st = clnet_cl_program_get(dev, name, NULL, &prog, &key);
        if (st != CLNET_OK)
            return st;
        char why[512];
        st = clnet_cl_binary_store(dev, dir, key, prog, why, sizeof why);
        if (st != CLNET_OK)
            return clnet_fail(ctx, st, "clnet_opencl_compile_all: program %s for %s: %s", name,
                              dev->info.name, why);
        if (nprograms)
            (*nprograms)++;
    }
    clnet_log(ctx, CLNET_LOG_INFO, "wrote %d program binaries for %s to %s",
              clnet_cl_source_count, dev->info.name, dir);
    return CLNET_OK;
}
