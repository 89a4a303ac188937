/* cmd_compile.c - `clnet-bench compile`: builds every OpenCL program for one
 * device into a directory, for devices that load binaries only (FPGAs). */
#include <time.h>

#include "bench.h"
#include "clnet/opencl.h"

static const char *const help =
    "usage: clnet-bench compile --device D --out DIR\n\n"
    "Builds every OpenCL program clnet uses, with every option set it uses, for\n"
    "device D and writes the binaries into DIR (created if missing). A program\n"
    "run with CLNET_BINARY_DIR=DIR then loads these binaries and never compiles,\n"
    "as on devices without an online compiler (FPGAs).\n\n"
    "  --device D   device index, `clnet-bench devices` name substring, or \"\" for\n"
    "               the default device (CLNET_DEVICE, else the first OpenCL device)\n"
    "  --out DIR    output directory\n"
    "  --help       this text\n";

int bench_cmd_compile(int argc, char **argv)
{
    bench_opts o = {.cmd = "compile", .argc = argc, .argv = argv};
    const char *selector = NULL, *dir = NULL;
    for (o.i = 1; o.i < argc; o.i++) {
        if (bench_opt_flag(&o, "--help")) {
            fputs(help, stdout);
            return BENCH_EXIT_OK;
        } else if (bench_opt_value(&o, "--device", &selector) ||
                   bench_opt_value(&o, "--out", &dir)) {
            if (o.error)
                return BENCH_EXIT_USAGE;
        } else {
            return bench_usage_error(o.cmd, "unknown option '%s'", argv[o.i]);
        }
    }
    if (!selector)
        return bench_usage_error(o.cmd, "--device is required");
    if (!dir || !dir[0])
        return bench_usage_error(o.cmd, "--out is required");

    clnet_ctx *ctx = bench_ctx_new(o.cmd);
    if (!ctx)
        return BENCH_EXIT_FAIL;
    int rc = BENCH_EXIT_OK;
    clnet_device *dev = NULL;
    clnet_device_info info;
    clnet_status st = clnet_device_find(ctx, selector, &dev);
    if (st == CLNET_OK)
        st = clnet_device_info_get(dev, &info);
    if (st == CLNET_ERR_NO_DEVICE) {
        rc = bench_usage_error(o.cmd, "no device matches '%s'; 'clnet-bench devices' lists them", selector);
    } else if (st != CLNET_OK) {
        rc = bench_fail(o.cmd, ctx, st, "cannot open the device");
    } else if (info.kind == CLNET_DEVICE_REF) {
        rc = bench_usage_error(o.cmd, "device '%s' is the reference backend, which has no "
                               "programs to compile", selector);
    } else {
        struct timespec t0, t1;
        int nprograms = 0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        st = clnet_opencl_compile_all(dev, dir, &nprograms);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (st != CLNET_OK) {
            rc = bench_fail(o.cmd, ctx, st, "compiling the programs failed");
        } else {
            double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
            printf("compiled %d programs for device %d (%s) into %s in %.1f s\n", nprograms,
                   info.index, info.name, dir, s);
        }
    }
    clnet_ctx_free(ctx);
    return rc;
}
