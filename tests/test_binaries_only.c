/* test_binaries_only.c - binaries-only mode, as on devices without a
 * compiler: programs written by clnet_opencl_compile_all are loaded with no
 * source build, and a missing binary fails with CLNET_ERR_NO_BINARY. */
#include "testutil.h"
#include "clnet/opencl.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RELU_N (3 * 4 * 11)

typedef struct counts {
    int built, loaded;
} counts;

static void on_log(void *user, clnet_log_level level, const char *message)
{
    counts *c = user;
    if (level == CLNET_LOG_INFO && strncmp(message, "built program ", 14) == 0)
        c->built++;
    else if (level == CLNET_LOG_DEBUG && strstr(message, ": loaded binary "))
        c->loaded++;
}

/* Removes a directory and the plain files in it (what this test creates). */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        for (struct dirent *e; (e = readdir(d)) != NULL;) {
            char path[1024];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
                unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static int expect(int got, int want, const char *what)
{
    printf("  %-40s %3d (expected %d)\n", what, got, want);
    if (got == want)
        return 0;
    printf("FAIL: %s\n", what);
    return 1;
}

/* A context with the cache off and binaries-only mode set to `binaries`
 * (NULL = off), its first OpenCL device in *dev. */
static int open_ctx(const char *binaries, counts *c, clnet_ctx **ctx, clnet_device **dev)
{
    if (clnet_ctx_new(ctx) != CLNET_OK) {
        printf("FAIL: clnet_ctx_new\n");
        return 1;
    }
    clnet_ctx_set_log(*ctx, on_log, c, CLNET_LOG_DEBUG);
    clnet_device *devs[8];
    int n = 0;
    int rc = test_check_status(*ctx, clnet_opencl_set_cache_dir(*ctx, NULL), "set_cache_dir");
    if (rc == 0)
        rc = test_check_status(*ctx, clnet_opencl_use_binaries(*ctx, binaries), "use_binaries");
    if (rc == 0)
        rc = test_open_devices(*ctx, devs, 8, &n);
    *dev = rc == 0 ? devs[0] : NULL;
    return rc;
}

/* Runs a ReLU on dev. Returns the status; *bad is set when it ran but gave
 * wrong values. */
static clnet_status run_relu(clnet_device *dev, int *bad)
{
    float x[RELU_N], y[RELU_N];
    test_rng rng = {7};
    test_fill_uniform(&rng, x, RELU_N, -2.0f, 2.0f);
    int64_t shape[3] = {3, 4, 11};
    clnet_tensor *tx = test_tensor(dev, 3, shape, x);
    clnet_tensor *ty = test_tensor(dev, 3, shape, NULL);
    clnet_status st = CLNET_ERR_INTERNAL;
    if (tx && ty) {
        clnet_op op = clnet_op_activation(CLNET_ACT_RELU, 0.0f);
        st = clnet_op_run(dev, &op, 1, &tx, 1, &ty);
        if (st == CLNET_OK)
            st = clnet_tensor_read(ty, y, sizeof y);
        for (int i = 0; st == CLNET_OK && i < RELU_N && !*bad; i++) {
            if (y[i] != (x[i] > 0.0f ? x[i] : 0.0f)) {
                printf("FAIL: relu y[%d] = %g for x = %g\n", i, y[i], x[i]);
                *bad = 1;
            }
        }
    }
    clnet_tensor_free(tx);
    clnet_tensor_free(ty);
    return st;
}

static int compile_binaries(const char *bin_dir, int *n)
{
    counts c = {0, 0};
    clnet_ctx *ctx;
    clnet_device *dev;
    int rc = open_ctx(NULL, &c, &ctx, &dev);
    if (rc == 0)
        rc = test_check_status(ctx, clnet_opencl_compile_all(dev, bin_dir, n), "compile_all");
    clnet_ctx_free(ctx);
    if (rc)
        return rc;
    printf("compile_all wrote %d binaries:\n", *n);
    return expect(*n > 0, 1, "at least one program") + expect(c.built, *n, "built from source") +
           expect(count_files(bin_dir), *n, "files written");
}

static int load_binaries(const char *bin_dir, const char *copy_dir, int n)
{
    counts c = {0, 0};
    clnet_ctx *ctx;
    clnet_device *dev;
    int rc = open_ctx(bin_dir, &c, &ctx, &dev);
    int bad = 0, copied = 0;
    if (rc == 0) {
        printf("binaries-only mode:\n");
        clnet_status st = run_relu(dev, &bad);
        if (test_check_status(ctx, st, "relu from binaries") == 0 && !bad)
            printf("  relu from binaries: %d values exact\n", RELU_N);
        else
            bad = 1;
        /* CLBlast compiles its kernels online: GEMM must be refused here. */
        clnet_op gemm = clnet_op_simple(CLNET_OP_GEMM);
        gemm.u.gemm.alpha = 1.0f;
        bool refused = !clnet_op_supported(dev, &gemm);
        printf("  %s GEMM reported unsupported (CLBlast cannot load binaries)\n",
               refused ? "ok:  " : "FAIL:");
        bad += !refused;
        /* Every program, loaded in this mode and exported again. */
        bad += test_check_status(ctx, clnet_opencl_compile_all(dev, copy_dir, &copied),
                                 "compile_all in binaries-only mode");
        bad += expect(copied, n, "programs loaded and exported") +
               expect(c.loaded, n, "programs loaded from binaries") +
               expect(c.built, 0, "programs built from source");
    }
    clnet_ctx_free(ctx);
    return rc ? rc : bad != 0;
}

static int expect_no_binary(clnet_ctx *ctx, clnet_status st, const char *dir, const char *what)
{
    const char *msg = clnet_last_error(ctx);
    printf("  %s: %s: %s\n", what, clnet_status_str(st), msg);
    if (st == CLNET_ERR_NO_BINARY && strstr(msg, dir) && strstr(msg, ".clbin") &&
        strstr(msg, "program "))
        return 0;
    printf("FAIL: %s: expected CLNET_ERR_NO_BINARY naming a file in %s and the program\n", what,
           dir);
    return 1;
}

static int missing_binaries(const char *empty_dir, const char *copy_dir)
{
    counts c = {0, 0};
    clnet_ctx *ctx;
    clnet_device *dev;
    int rc = open_ctx(empty_dir, &c, &ctx, &dev);
    int bad = 0;
    if (rc == 0) {
        printf("binaries-only mode with an empty directory:\n");
        bad += expect_no_binary(ctx, clnet_opencl_compile_all(dev, copy_dir, NULL), empty_dir,
                                "compile_all");
        clnet_status st = run_relu(dev, &bad);
        bad += expect_no_binary(ctx, st, empty_dir, "relu");
        bad += expect(c.built, 0, "programs built from source");
    }
    clnet_ctx_free(ctx);
    return rc ? rc : bad != 0;
}

int main(void)
{
    char root[] = "/tmp/clnet-test-binaries-XXXXXX";
    if (!mkdtemp(root)) {
        printf("FAIL: mkdtemp\n");
        return 1;
    }
    char bin_dir[512], copy_dir[512], empty_dir[512];
    snprintf(bin_dir, sizeof bin_dir, "%s/bin", root);
    snprintf(copy_dir, sizeof copy_dir, "%s/copy", root);
    snprintf(empty_dir, sizeof empty_dir, "%s/empty", root);
    int n = 0;
    int rc = mkdir(empty_dir, 0755) == 0 ? 0 : 1;
    if (rc == 0)
        rc = compile_binaries(bin_dir, &n);
    if (rc == 0)
        rc = load_binaries(bin_dir, copy_dir, n);
    if (rc == 0)
        rc = missing_binaries(empty_dir, copy_dir);
    remove_dir(bin_dir);
    remove_dir(copy_dir);
    remove_dir(empty_dir);
    rmdir(root);
    printf("%s\n", rc == 0 ? "PASS" : rc == TEST_SKIP ? "SKIP" : "FAIL");
    return rc;
}
