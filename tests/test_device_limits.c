/* test_device_limits.c - clnet_opencl_measure_limits: refused for ref and
 * NULL arguments; on an OpenCL device a launch round trip and a
 * multiply-add peak that a device of its compute units and clock can have
 * (timings vary with load, so the bounds are physical, not tight). */
#include <math.h>
#include <stdarg.h>

#include "clnet/opencl.h"
#include "testutil.h"

#define MAX_DEVICES 16
/* Single-precision FLOP per cycle of one compute unit, generously: an
 * AVX-512 core with two multiply-add units does 64, a GPU multiprocessor
 * of 128 lanes 256. */
#define MAX_FLOP_PER_CYCLE 512.0

__attribute__((format(printf, 1, 2))) static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    return 1;
}

static int check_refused(clnet_ctx *ctx, clnet_device *dev, clnet_device *ref)
{
    clnet_opencl_limits lim;
    int rc = 0;
    if (clnet_opencl_measure_limits(ref, &lim) != CLNET_ERR_INVALID_ARGUMENT)
        rc |= fail("measuring ref was not refused");
    if (clnet_opencl_measure_limits(NULL, &lim) != CLNET_ERR_INVALID_ARGUMENT)
        rc |= fail("a NULL device was not refused");
    if (clnet_opencl_measure_limits(dev, NULL) != CLNET_ERR_INVALID_ARGUMENT)
        rc |= fail("a NULL output was not refused");
    else if (!*clnet_last_error(ctx))
        rc |= fail("the refusal left no message");
    return rc;
}

static int check_measured(clnet_device *dev, const clnet_device_info *info)
{
    clnet_opencl_limits lim = {-1.0, -1.0, -1};
    clnet_status st = clnet_opencl_measure_limits(dev, &lim);
    if (st != CLNET_OK)
        return fail("clnet_opencl_measure_limits: %s", clnet_status_str(st));
    printf("launch round trip %.4f ms, multiply-add peak %.1f GFLOP/s (float%d); "
           "%d compute units at %d MHz\n",
           lim.launch_ms, lim.fma_gflops, lim.fma_width, info->compute_units,
           info->max_clock_mhz);
    int rc = 0;
    if (!(lim.launch_ms > 0.0 && lim.launch_ms < 1000.0))
        rc |= fail("launch round trip %g ms", lim.launch_ms);
    if (lim.fma_width != 1 && lim.fma_width != 4 && lim.fma_width != 8 && lim.fma_width != 16)
        rc |= fail("vector width %d", lim.fma_width);
    /* positive and finite: a measurement left unset (-1), failed (0) or
     * divided by a zero time (infinite) fails here; a count too high, the
     * bound below */
    if (!(lim.fma_gflops > 1e-3 && isfinite(lim.fma_gflops)))
        rc |= fail("multiply-add peak %g GFLOP/s", lim.fma_gflops);
    double bound = info->compute_units * (double)info->max_clock_mhz * 1e-3 * MAX_FLOP_PER_CYCLE;
    if (bound > 0.0 && lim.fma_gflops > bound)
        rc |= fail("multiply-add peak %.1f GFLOP/s beyond %d units at %d MHz (%.1f)",
                        lim.fma_gflops, info->compute_units, info->max_clock_mhz, bound);
    return rc;
}

int main(void)
{
    clnet_ctx *ctx = NULL;
    if (clnet_ctx_new(&ctx) != CLNET_OK)
        return fail("clnet_ctx_new");
    clnet_device *devs[MAX_DEVICES];
    int n = 0;
    int rc = test_open_devices(ctx, devs, MAX_DEVICES, &n);
    clnet_device *dev = rc ? NULL : test_opencl_device(ctx, devs, n);
    int r = rc ? -1 : test_ref_index(devs, n);
    if (!rc && (!dev || r < 0))
        rc = fail("no OpenCL or no ref device");
    clnet_device_info info;
    if (!rc && clnet_device_info_get(dev, &info) != CLNET_OK)
        rc = fail("clnet_device_info_get: %s", clnet_last_error(ctx));
    if (!rc) {
        printf("Device %d: %s\n", info.index, info.name);
        rc |= check_refused(ctx, dev, devs[r]);
        rc |= check_measured(dev, &info);
    }
    clnet_ctx_free(ctx);
    printf("device_limits: %s\n", rc == TEST_SKIP ? "SKIP" : rc ? "FAIL" : "OK");
    return rc;
}
