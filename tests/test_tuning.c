/* test_tuning.c - the convolution tuning table: clnet_opencl_tune_conv times
 * every algorithm and writes the table; AUTO convolutions follow a table
 * entry (also one made at another batch size), ignore a foreign table, and
 * still compute what ref computes. */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clnet/opencl.h"
#include "testutil.h"

#define MAX_DEVICES 16

/* The algorithm the last AUTO convolution logged, and whether a warning
 * about the tuning table was logged. */
typedef struct log_capture {
    char algo[64];
    bool table_warning;
} log_capture;

static void capture(void *user, clnet_log_level level, const char *message)
{
    log_capture *c = user;
    const char *a = strstr(message, ": algorithm ");
    if (a && strncmp(message, "conv on ", 8) == 0)
        snprintf(c->algo, sizeof c->algo, "%s", a + strlen(": algorithm "));
    if (level >= CLNET_LOG_WARN && strstr(message, "tuning table"))
        c->table_warning = true;
}

static int fail(const char *fmt, const char *arg)
{
    printf("FAIL: ");
    printf(fmt, arg);
    printf("\n");
    return 1;
}

/* The convolution every check uses: 32 -> 32 channels, 3x3, padding 1, on
 * 10x10 images. */
static clnet_op conv3x3(void)
{
    return clnet_op_conv(1, 1, 1, 1);
}

static int check_errors(clnet_ctx *ctx, clnet_device *dev, clnet_device *ref)
{
    clnet_op op = conv3x3(), pool = clnet_op_pool(CLNET_POOL_MAX, 2, 2, 0);
    clnet_shape x = {4, {2, 32, 10, 10}}, w = {4, {32, 32, 3, 3}};
    int rc = 0;
    if (clnet_opencl_tune_conv(ref, &op, &x, &w, true, 3, NULL, 0, NULL, NULL) !=
        CLNET_ERR_INVALID_ARGUMENT)
        rc |= fail("tuning %s was not refused", "ref");
    if (clnet_opencl_tune_conv(dev, &op, &x, &w, true, 0, NULL, 0, NULL, NULL) !=
        CLNET_ERR_INVALID_ARGUMENT)
        rc |= fail("%s were not refused", "0 reps");
    if (clnet_opencl_tune_conv(dev, &pool, &x, &w, true, 3, NULL, 0, NULL, NULL) !=
        CLNET_ERR_INVALID_ARGUMENT)
        rc |= fail("tuning %s was not refused", "a pooling op");
    clnet_shape bad_w = {4, {32, 16, 3, 3}};
    if (clnet_opencl_tune_conv(dev, &op, &x, &bad_w, true, 3, NULL, 0, NULL, NULL) !=
        CLNET_ERR_SHAPE)
        rc |= fail("%s were not refused", "mismatched channels");
    (void)ctx;
    printf("  errors: %s\n", rc ? "FAIL" : "OK");
    return rc;
}

static int check_results(const clnet_opencl_tune_result *r, int n, clnet_conv_algo best)
{
    int rc = 0, fastest = -1;
    for (int i = 0; i < n; i++) {
        printf("    %-10s applies %d  median %.3f ms (%.3f-%.3f)\n", r[i].name, r[i].applies,
               r[i].ms_median, r[i].ms_min, r[i].ms_max);
        if (r[i].applies && !(r[i].ms_min > 0.0 && r[i].ms_min <= r[i].ms_median &&
                              r[i].ms_median <= r[i].ms_max))
            rc |= fail("implausible times for %s", r[i].name);
        if (r[i].applies && (fastest < 0 || r[i].ms_median < r[fastest].ms_median))
            fastest = i;
        bool must_apply = r[i].algo == CLNET_CONV_ALGO_DIRECT || r[i].algo == CLNET_CONV_ALGO_IM2COL;
        if (must_apply && !r[i].applies)
            rc |= fail("%s should apply to a 3x3 convolution", r[i].name);
        if (r[i].algo == CLNET_CONV_ALGO_GEMM_1X1 && r[i].applies)
            rc |= fail("%s applies to a 3x3 convolution", r[i].name);
    }
    if (fastest < 0 || r[fastest].algo != best)
        rc |= fail("the chosen algorithm is not the one with the lowest median%s", "");
    return rc;
}

static int check_measure(clnet_ctx *ctx, clnet_device *dev)
{
    clnet_op op = conv3x3();
    clnet_shape x = {4, {2, 32, 10, 10}}, w = {4, {32, 32, 3, 3}};
    clnet_opencl_tune_result r[16];
    int n = 0;
    clnet_conv_algo best = CLNET_CONV_ALGO_AUTO;
    clnet_status st = clnet_opencl_tune_conv(dev, &op, &x, &w, true, 3, r, 16, &n, &best);
    if (test_check_status(ctx, st, "clnet_opencl_tune_conv"))
        return 1;
    int rc = n < 3 ? fail("%s: fewer than 3 algorithms measured", "tune") : 0;
    rc |= check_results(r, n, best);
    char path[4096], head[64] = "";
    st = clnet_opencl_tuning_file(dev, path, sizeof path);
    FILE *f = st == CLNET_OK ? fopen(path, "r") : NULL;
    if (!f || !fgets(head, sizeof head, f) || strcmp(head, "clnet tuning table 1\n") != 0)
        rc |= fail("no tuning table written at %s", st == CLNET_OK ? path : "(no path)");
    if (f)
        fclose(f);
    printf("  measure: %s\n", rc ? "FAIL" : "OK");
    return rc;
}

/* Writes a table for `dev` with one entry: the test's convolution at batch
 * 4 runs `algo`. `clnet` is the version line, so a foreign one can be made. */
static int write_table(clnet_device *dev, const char *algo, const char *clnet)
{
    clnet_device_info info;
    char path[4096];
    if (clnet_device_info_get(dev, &info) != CLNET_OK ||
        clnet_opencl_tuning_file(dev, path, sizeof path) != CLNET_OK)
        return fail("cannot locate the tuning table%s", "");
    FILE *f = fopen(path, "w");
    if (!f)
        return fail("cannot write %s", path);
    fprintf(f, "clnet tuning table 1\ndevice: %s\ndriver: %s\nplatform: %s\nversion: %s\n"
               "clnet: %s\n# a comment\n\nconv 4 32 10 10 32 10 10 3 3 1 1 1 1 1 1 1 %s 1.5\n",
            info.name, info.driver_version, info.platform, info.version, clnet, algo);
    return fclose(f) == 0 ? 0 : fail("cannot write %s", path);
}

/* Runs the test's convolution at batch 2 with AUTO on a fresh context using
 * the cache directory `dir`, and on ref; the outputs must agree. */
static int run_auto(const char *dir, int dev_index, log_capture *cap)
{
    clnet_ctx *ctx = NULL;
    if (clnet_ctx_new(&ctx) != CLNET_OK)
        return fail("%s", "clnet_ctx_new");
    clnet_ctx_set_log(ctx, capture, cap, CLNET_LOG_DEBUG);
    clnet_device *dev = NULL, *ref = NULL;
    int rc = test_check_status(ctx, clnet_opencl_set_cache_dir(ctx, dir), "set_cache_dir") ||
             test_check_status(ctx, clnet_device_get(ctx, dev_index, &dev), "device") ||
             test_check_status(ctx, clnet_device_find(ctx, "ref", &ref), "ref");
    const int64_t xs[4] = {2, 32, 10, 10}, ws[4] = {32, 32, 3, 3}, bs[1] = {32};
    const int64_t ys[4] = {2, 32, 10, 10};
    float *host[3] = {malloc(6400 * sizeof(float)), malloc(9216 * sizeof(float)),
                      malloc(32 * sizeof(float))};
    test_rng rng = {7};
    const size_t counts[3] = {6400, 9216, 32};
    for (int i = 0; i < 3 && host[i]; i++)
        test_fill_uniform(&rng, host[i], counts[i], -1.0f, 1.0f);
    float *out[2] = {NULL, NULL};
    clnet_device *on[2] = {dev, ref};
    clnet_op op = conv3x3();
    for (int d = 0; d < 2 && !rc; d++) {
        clnet_tensor *t[4] = {test_tensor(on[d], 4, xs, host[0]), test_tensor(on[d], 4, ws, host[1]),
                              test_tensor(on[d], 1, bs, host[2]), test_tensor(on[d], 4, ys, NULL)};
        rc = !t[0] || !t[1] || !t[2] || !t[3] ||
             test_check_status(ctx, clnet_op_run(on[d], &op, 3, t, 1, &t[3]), "conv");
        if (!rc)
            out[d] = test_read(t[3]);
        for (int i = 0; i < 4; i++)
            clnet_tensor_free(t[i]);
    }
    double err = 0.0;
    for (int i = 0; !rc && out[0] && out[1] && i < 6400; i++)
        err = fmax(err, fabs((double)out[0][i] - out[1][i]));
    if (!rc && (!out[0] || !out[1] || !(err < 1e-4)))
        rc = fail("AUTO convolution differs from ref%s", "");
    for (int i = 0; i < 3; i++)
        free(host[i]);
    free(out[0]);
    free(out[1]);
    clnet_ctx_free(ctx);
    return rc;
}

/* The algorithm AUTO picks without a table (the static rule), and one it
 * does not pick, for the table to name. */
static int static_choice(const char *dir, clnet_device *dev, int dev_index, char *rule,
                         size_t size)
{
    char path[4096];
    if (clnet_opencl_tuning_file(dev, path, sizeof path) != CLNET_OK)
        return fail("cannot locate the tuning table%s", "");
    unlink(path);
    log_capture cap = {"", false};
    int rc = run_auto(dir, dev_index, &cap);
    if (!rc && !cap.algo[0])
        rc = fail("AUTO logged no algorithm%s", "");
    snprintf(rule, size, "%s", cap.algo);
    printf("  static rule: %s (%s)\n", rc ? "FAIL" : "OK", cap.algo);
    return rc;
}

static int check_table_used(const char *dir, clnet_device *dev, int dev_index, const char *rule)
{
    const char *tuned = strcmp(rule, "direct") != 0 ? "direct" : "im2col";
    int rc = write_table(dev, tuned, clnet_version());
    log_capture cap = {"", false};
    rc = rc || run_auto(dir, dev_index, &cap);
    if (!rc && strcmp(cap.algo, tuned) != 0)
        rc = fail("the tuned algorithm (batch 4) was not used at batch 2: %s", cap.algo);
    if (!rc && cap.table_warning)
        rc = fail("a valid table was warned about%s", "");
    printf("  table followed: %s\n", rc ? "FAIL" : "OK");
    return rc;
}

static int check_table_foreign(const char *dir, clnet_device *dev, int dev_index,
                               const char *rule)
{
    int rc = write_table(dev, strcmp(rule, "direct") != 0 ? "direct" : "im2col", "0.0.0-other");
    log_capture cap = {"", false};
    rc = rc || run_auto(dir, dev_index, &cap);
    if (!rc && strcmp(cap.algo, rule) != 0)
        rc = fail("a foreign table was followed: %s", cap.algo);
    if (!rc && !cap.table_warning)
        rc = fail("a foreign table was ignored without a warning%s", "");
    printf("  foreign table ignored: %s\n", rc ? "FAIL" : "OK");
    return rc;
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[4096];
    while (d && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

int main(void)
{
    char dir[] = "/tmp/clnet-test-tuning-XXXXXX";
    if (!mkdtemp(dir))
        return fail("cannot create %s", dir);
    clnet_ctx *ctx = NULL;
    if (clnet_ctx_new(&ctx) != CLNET_OK)
        return fail("%s", "clnet_ctx_new");
    clnet_device *devs[MAX_DEVICES];
    int n = 0;
    int rc = test_check_status(ctx, clnet_opencl_set_cache_dir(ctx, dir), "set_cache_dir");
    rc = rc ? rc : test_open_devices(ctx, devs, MAX_DEVICES, &n);
    clnet_device *dev = rc ? NULL : test_opencl_device(ctx, devs, n);
    int r = rc ? -1 : test_ref_index(devs, n);
    if (!rc && (!dev || r < 0))
        rc = fail("%s", "no OpenCL or no ref device");
    clnet_device_info info;
    if (!rc && clnet_device_info_get(dev, &info) == CLNET_OK) {
        printf("Device %d: %s\n", info.index, info.name);
        rc |= check_errors(ctx, dev, devs[r]);
        rc |= check_measure(ctx, dev);
        char rule[64] = "";
        rc |= static_choice(dir, dev, info.index, rule, sizeof rule);
        rc |= check_table_used(dir, dev, info.index, rule);
        rc |= check_table_foreign(dir, dev, info.index, rule);
    }
    clnet_ctx_free(ctx);
    remove_dir(dir);
    printf("tuning: %s\n", rc == TEST_SKIP ? "SKIP" : rc ? "FAIL" : "OK");
    return rc;
}
