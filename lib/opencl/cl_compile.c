/* cl_compile.c - the program variants a launcher can ask for (every program
 * of cl/, with every option set), and clnet_opencl_compile_all, which builds
 * (or finds) them all for one device and writes them as binary files plus a
 * manifest, for devices that cannot compile (binaries-only mode) and for
 * `clnet-bench compile`. */
#include "opencl/cl_algo.h"
#include "opencl/cl_gemm_tiled.h"
#include "opencl/cl_program.h"

#include <string.h>

/* Programs that launchers only ever ask for with build options, and those
 * option sets: these are built instead of the program's defaults. Every
 * other program is asked for with its defaults (NULL options) only. */
static const struct {
    const char *program;
    const char *const *options;
    int count;
} variants[] = {
    {"depthwise", clnet_cl_depthwise_options, CLNET_CL_DEPTHWISE_VARIANTS},
    {"conv3x3", clnet_cl_conv3x3_options, CLNET_CL_CONV3X3_VARIANTS},
    {"gemm_tiled", clnet_cl_gemm_tiled_options, CLNET_CL_GEMM_TILED_VARIANTS},
    {"conv_wgrad", clnet_cl_wgrad3x3_options, CLNET_CL_WGRAD3X3_VARIANTS},
};

int clnet_cl_variant_count(void)
{
    int n = 0;
    for (int i = 0; i < clnet_cl_source_count; i++) {
        int count = 1;
        for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++)
            if (strcmp(variants[v].program, clnet_cl_sources[i].name) == 0)
                count = variants[v].count;
        n += count;
    }
    return n;
}

void clnet_cl_variant(int index, const char **program, const char **options)
{
    *program = NULL;
    *options = NULL;
    for (int i = 0; i < clnet_cl_source_count && index >= 0; i++) {
        int v = 0, nv = (int)(sizeof variants / sizeof variants[0]);
        while (v < nv && strcmp(variants[v].program, clnet_cl_sources[i].name) != 0)
            v++;
        int count = v < nv ? variants[v].count : 1;
        if (index < count) {
            *program = clnet_cl_sources[i].name;
            *options = v < nv ? variants[v].options[index] : NULL;
            return;
        }
        index -= count;
    }
}

/* Builds (or finds) program `name` with `options` and writes its binary. */
static clnet_status store_program(clnet_device *dev, const char *dir, const char *name,
                                  const char *options)
{
    cl_program prog;
    const clnet_cl_key *key;
    clnet_status st = clnet_cl_program_get(dev, name, options, &prog, &key);
    if (st != CLNET_OK)
        return st;
    char why[512];
    st = clnet_cl_binary_store(dev, dir, key, prog, why, sizeof why);
    if (st != CLNET_OK)
        return clnet_fail(dev->ctx, st, "clnet_opencl_compile_all: program %s (options \"%s\") "
                          "for %s: %s", name, options ? options : "", dev->info.name, why);
    return CLNET_OK;
}

/* Programs come through the device's usual path (memory, cache, source; or
 * the binaries dir in binaries-only mode), so a warm cache makes this fast
 * and what is written is exactly what clnet would run. The manifest is
 * written last: a directory whose compile stopped half-way has none, and
 * binaries-only mode refuses it. */
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
    int written = 0;
    for (int i = 0; i < clnet_cl_variant_count(); i++) {
        const char *name, *options;
        clnet_cl_variant(i, &name, &options);
        clnet_status st = store_program(dev, dir, name, options);
        if (st != CLNET_OK)
            return st;
        written++;
    }
    clnet_status st = clnet_cl_manifest_write(dev, dir, written);
    if (st != CLNET_OK)
        return st;
    if (nprograms)
        *nprograms = written;
    clnet_log(ctx, CLNET_LOG_INFO, "wrote %d program binaries and a manifest for %s to %s",
              written, dev->info.name, dir);
    return CLNET_OK;
}
