/* test_zoo_forward.c - every zoo model, built at the smallest square input it
 * accepts, runs its forward pass (inference mode, batch 2, the same seeded
 * weights) on every OpenCL device and agrees with the reference backend. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clnet/nn.h"
#include "testutil.h"

#define BATCH 2
#define SEED 7
/* Relative L2 error allowed against ref: float32 sums through dozens to
 * hundreds of layers against ref's double accumulators. */
#define TOLERANCE 1e-3
#define MAX_DEVICES 8

/* Tried in order: the first size a model accepts is its test input. */
static const int sizes[] = {8, 16, 32, 48, 64, 96, 128, 160, 224, 299};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The smallest input of sizes[] the model builds at, channels as in its
 * cfg; false when none fits. */
static bool small_input(clnet_ctx *ctx, const char *name, clnet_cfg_overrides *ov)
{
    clnet_net *net = NULL;
    clnet_layer_info in;
    if (clnet_net_zoo(ctx, name, NULL, &net) != CLNET_OK ||
        clnet_net_layer_info(net, 0, &in) != CLNET_OK) {
        clnet_net_free(net);
        return false;
    }
    clnet_net_free(net);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        ov->input = (clnet_shape){.ndim = 3, .dim = {in.out.dim[0], sizes[i], sizes[i]}};
        if (clnet_net_zoo(ctx, name, ov, &net) == CLNET_OK) {
            clnet_net_free(net);
            return true;
        }
    }
    return false;
}

/* Builds the model on `dev`, runs it on x and returns the output (caller
 * frees), or NULL after printing why. */
static float *forward(clnet_device *dev, const char *name, const clnet_cfg_overrides *ov,
                      const float *x, size_t out_count, double *seconds)
{
    clnet_ctx *ctx = clnet_device_ctx(dev);
    clnet_net *net = NULL;
    float *y = malloc(out_count * sizeof *y);
    double t0 = now_s();
    clnet_status st = y ? clnet_net_zoo(ctx, name, ov, &net) : CLNET_ERR_HOST_MEMORY;
    if (st == CLNET_OK)
        st = clnet_net_bind(net, dev, BATCH, CLNET_INIT_HE_NORMAL, SEED);
    if (st == CLNET_OK) {
        clnet_net_set_training(net, false);
        st = clnet_net_forward(net, x, BATCH);
    }
    if (st == CLNET_OK)
        st = clnet_net_read_output(net, y, out_count);
    *seconds = now_s() - t0;
    clnet_net_free(net);
    if (st != CLNET_OK) {
        clnet_device_info info;
        clnet_device_info_get(dev, &info);
        printf("FAIL %s on %s: %s: %s\n", name, info.name, clnet_status_str(st),
               clnet_last_error(ctx));
        free(y);
        return NULL;
    }
    return y;
}

static bool all_finite(const float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(y[i]))
            return false;
    return true;
}

/* ||y - ref|| / ||ref||, or INFINITY when y has a value that is not finite. */
static double relative_error(const float *y, const float *ref, size_t n)
{
    double diff = 0, norm = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(y[i]))
            return INFINITY;
        diff += ((double)y[i] - ref[i]) * ((double)y[i] - ref[i]);
        norm += (double)ref[i] * ref[i];
    }
    return norm > 0 ? sqrt(diff / norm) : sqrt(diff);
}

/* Runs one model on every device against ref; returns the failures. */
static int check_model(clnet_ctx *ctx, clnet_device **devs, int ndevs, int ref, const char *name)
{
    clnet_cfg_overrides ov = {0};
    if (!small_input(ctx, name, &ov)) {
        printf("FAIL %s: builds at none of the test input sizes\n", name);
        return 1;
    }
    clnet_net *net = NULL;
    clnet_layer_info in, out;
    int64_t macs = 0;
    clnet_net_zoo(ctx, name, &ov, &net);
    clnet_net_layer_info(net, 0, &in);
    clnet_net_layer_info(net, clnet_net_layer_count(net) - 1, &out);
    clnet_net_counts(net, NULL, &macs, NULL);
    clnet_net_free(net);
    size_t in_count = BATCH * (size_t)clnet_shape_numel(&in.out);
    size_t out_count = BATCH * (size_t)clnet_shape_numel(&out.out);
    float *x = malloc(in_count * sizeof *x);
    if (!x)
        return 1;
    test_rng rng = {SEED};
    test_fill_uniform(&rng, x, in_count, -1, 1);
    double ref_s, s;
    float *expected = forward(devs[ref], name, &ov, x, out_count, &ref_s);
    int failures = expected ? 0 : 1;
    if (expected && !all_finite(expected, out_count)) {
        /* nothing to compare with: the model itself overflows */
        printf("FAIL %s: ref's output is not finite (NaN or infinity with random weights)\n",
               name);
        free(expected);
        expected = NULL;
        failures++;
    }
    for (int d = 0; expected && d < ndevs; d++) {
        if (d == ref)
            continue;
        float *y = forward(devs[d], name, &ov, x, out_count, &s);
        double err = y ? relative_error(y, expected, out_count) : INFINITY;
        bool ok = y && err <= TOLERANCE;
        clnet_device_info info;
        clnet_device_info_get(devs[d], &info);
        printf("%s %-16s %lldx%lldx%lld, %7.1f MMAC/image: %s %.2e relative error "
               "(ref %.1f s, device %.1f s)\n", ok ? "ok  " : "FAIL", name,
               (long long)in.out.dim[0], (long long)in.out.dim[1], (long long)in.out.dim[2],
               (double)macs * 1e-6, info.name, err, ref_s, s);
        failures += !ok;
        free(y);
    }
    free(expected);
    free(x);
    return failures;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);   /* progress survives a timeout */
    clnet_ctx *ctx = NULL;
    if (clnet_ctx_new(&ctx) != CLNET_OK) {
        printf("FAIL: no context\n");
        return 1;
    }
    clnet_device *devs[MAX_DEVICES];
    int ndevs = 0, rc = test_open_devices(ctx, devs, MAX_DEVICES, &ndevs);
    int ref = test_ref_index(devs, ndevs);
    if (rc == 0 && ref < 0) {
        printf("FAIL: no ref device\n");
        rc = 1;
    }
    int failures = 0, models = 0;
    for (const char *const *name = clnet_zoo_names(); rc == 0 && *name; name++, models++)
        failures += check_model(ctx, devs, ndevs, ref, *name);
    clnet_ctx_free(ctx);
    if (rc != 0)
        return rc;
    printf("%d models, %d failures\n", models, failures);
    return failures ? 1 : 0;
}
