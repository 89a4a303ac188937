/* cl_probe.c - clnet_opencl_measure_limits: an OpenCL device's launch round
 * trip and multiply-add peak, timed on the kernels of cl/probe.cl, what no
 * op there can beat. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "clnet/opencl.h"
#include "opencl/clcl.h"

#define LAUNCH_WARMUP 10
#define LAUNCH_REPS 200
/* cl/probe.cl's chains per work-item, and its work-items per compute unit:
 * enough for a GPU's compute unit to hide latency between them too. */
#define FMA_CHAINS 8
#define FMA_ITEMS_PER_UNIT 1024
#define FMA_MIN_MS 20.0
#define FMA_RUNS 3
/* Steps per chain at most, which ends the doubling on a device too fast
 * for FMA_MIN_MS at any count (2^24 steps of 8 float16 chains: 4.3 GFLOP
 * a work-item). */
#define FMA_MAX_STEPS (1 << 24)

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Wall time of one launch and its wait. */
static clnet_status time_launch(clnet_device *dev, cl_kernel kernel, const char *name, int nargs,
                                const clnet_cl_arg *args, size_t global, const size_t *local,
                                double *ms)
{
    double t0 = clnet_now_ms();
    clnet_status st = clnet_cl_launch(dev, kernel, name, nargs, args, 1, &global, local);
    if (st == CLNET_OK)
        st = clnet_cl_check(dev, clFinish(clnet_cl(dev)->queue), "clFinish");
    *ms = clnet_now_ms() - t0;
    return st;
}

/* The least median round trip of the empty kernel over grids of 1, 4, 16
 * and 64 work-groups per compute unit: it can depend on the grid, not
 * monotonically (PoCL, 2 cores, in one minute: 48 us for 1 or 2 groups, 32
 * for 8 to 224, 42 for 1024; about 50 for all in another). */
static clnet_status measure_launch(clnet_device *dev, size_t units, double *launch_ms)
{
    cl_kernel kernel;
    clnet_status st = clnet_cl_kernel(dev, "probe", NULL, "probe_empty", &kernel);
    const size_t one = 1;
    double ms[LAUNCH_REPS];
    *launch_ms = INFINITY;
    for (size_t groups = units; st == CLNET_OK && groups <= 64 * units; groups *= 4) {
        for (int i = 0; st == CLNET_OK && i < LAUNCH_WARMUP + LAUNCH_REPS; i++)
            st = time_launch(dev, kernel, "probe_empty", 0, NULL, groups, &one,
                             &ms[i < LAUNCH_WARMUP ? 0 : i - LAUNCH_WARMUP]);
        if (st != CLNET_OK)
            break;
        qsort(ms, LAUNCH_REPS, sizeof ms[0], compare_double);
        *launch_ms = fmin(*launch_ms, ms[LAUNCH_REPS / 2]);
    }
    return st;
}

/* GFLOP/s of probe_fma<width>: steps doubled until a run takes FMA_MIN_MS,
 * then the best of FMA_RUNS runs, the launch's own cost taken off. */
static clnet_status measure_fma(clnet_device *dev, cl_mem out, size_t items, int width,
                                double launch_ms, double *gflops)
{
    char name[16];
    snprintf(name, sizeof name, "probe_fma%d", width);
    cl_kernel kernel;
    clnet_status st = clnet_cl_kernel(dev, "probe", NULL, name, &kernel);
    cl_float b = 0.9999f, c = 1e-4f;
    cl_int steps = 64;
    /* args point at steps: each launch passes its value then */
    const clnet_cl_arg args[] = {CLNET_CL_ARG(out), CLNET_CL_ARG(b), CLNET_CL_ARG(c),
                                 CLNET_CL_ARG(steps)};
    const int nargs = (int)(sizeof args / sizeof args[0]);
    double ms = 0.0;
    /* the first run builds the kernel (PoCL compiles at first launch) */
    if (st == CLNET_OK)
        st = time_launch(dev, kernel, name, nargs, args, items, NULL, &ms);
    while (st == CLNET_OK) {
        st = time_launch(dev, kernel, name, nargs, args, items, NULL, &ms);
        if (ms >= FMA_MIN_MS || steps >= FMA_MAX_STEPS)
            break;
        steps *= 2;
    }
    double best = ms;
    for (int r = 1; st == CLNET_OK && r < FMA_RUNS; r++) {
        st = time_launch(dev, kernel, name, nargs, args, items, NULL, &ms);
        best = ms < best ? ms : best;
    }
    if (st != CLNET_OK)
        return st;
    double flop = 2.0 * FMA_CHAINS * width * (double)steps * (double)items;
    double compute_ms = best - launch_ms > 0.0 ? best - launch_ms : best;
    *gflops = flop / (compute_ms * 1e-3) * 1e-9;
    return CLNET_OK;
}

clnet_status clnet_opencl_measure_limits(clnet_device *dev, clnet_opencl_limits *out)
{
    clnet_error_clear(dev ? dev->ctx : NULL);
    if (!dev || !out || dev->info.kind != CLNET_DEVICE_OPENCL || !dev->opened)
        return clnet_fail(dev ? dev->ctx : NULL, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_opencl_measure_limits: %s", !dev ? "NULL device"
                          : !out ? "NULL output" : "not an opened OpenCL device");
    clnet_cl_device *cl = clnet_cl(dev);
    clnet_status st = clnet_cl_check(dev, clFinish(cl->queue), "clFinish");
    const size_t units = dev->info.compute_units > 0 ? (size_t)dev->info.compute_units : 1;
    clnet_opencl_limits lim = {0};
    if (st == CLNET_OK)
        st = measure_launch(dev, units, &lim.launch_ms);
    const size_t items = units * FMA_ITEMS_PER_UNIT;
    cl_int err = CL_SUCCESS;
    cl_mem sink = NULL;
    if (st == CLNET_OK) {
        sink = clCreateBuffer(cl->context, CL_MEM_WRITE_ONLY, items * sizeof(cl_float), NULL,
                              &err);
        st = clnet_cl_check(dev, err, "clCreateBuffer(probe)");
    }
    static const int widths[] = {1, 4, 8, 16};
    for (size_t i = 0; st == CLNET_OK && i < sizeof widths / sizeof widths[0]; i++) {
        double gflops = 0.0;
        st = measure_fma(dev, sink, items, widths[i], lim.launch_ms, &gflops);
        if (st == CLNET_OK && gflops > lim.fma_gflops) {
            lim.fma_gflops = gflops;
            lim.fma_width = widths[i];
        }
    }
    if (sink)
        clReleaseMemObject(sink);
    if (st == CLNET_OK)
        *out = lim;
    return st;
}
