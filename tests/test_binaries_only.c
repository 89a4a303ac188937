/* test_binaries_only.c - binaries-only mode, as on devices without a
 * compiler: programs written by clnet_opencl_compile_all are loaded with no
 * source build; zoo models train there (GEMM and LINEAR on clnet's own
 * kernel, every depthwise variant) with outputs equal to the normal mode's;
 * a missing binary, a missing manifest and a manifest of another driver
 * each fail with CLNET_ERR_NO_BINARY naming what is wrong. */
#include "testutil.h"
#include "clnet/nn.h"
#include "clnet/opencl.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RELU_N (3 * 4 * 11)
#define MODEL_BATCH 2
#define MODEL_MAX_OUT (MODEL_BATCH * 10)

/* The models run in both modes: every layer kind they use must load from
 * binaries. LeNet-5 (LINEAR, pooling), ResNet-20 (batch norm, option-A
 * shortcuts), MobileNet v2 (both depthwise vector widths: 32x32 input gives
 * rows of 16 and 8 outputs... down to 1). */
static const struct {
    const char *name;
    clnet_cfg_overrides ov;
} models[] = {
    {"lenet5", {0}},
    {"resnet20", {0}},
    {"mobilenet_v2", {.classes = 10, .input = {3, {3, 32, 32}}}},
};
#define NMODELS ((int)(sizeof models / sizeof models[0]))

/* What one model computed: its output after a forward, after one SGD step. */
typedef struct model_outputs {
    float before[MODEL_MAX_OUT], after[MODEL_MAX_OUT];
    float loss;
} model_outputs;

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

/* Builds zoo model m on dev, runs a training-mode forward, backward and SGD
 * step on seeded inputs and labels, then a forward again. */
static int run_model(clnet_ctx *ctx, clnet_device *dev, int m, model_outputs *out)
{
    clnet_net *net = NULL;
    int rc = test_check_status(ctx, clnet_net_zoo(ctx, models[m].name, &models[m].ov, &net),
                               models[m].name);
    if (rc == 0)
        rc = test_check_status(ctx, clnet_net_bind(net, dev, MODEL_BATCH, CLNET_INIT_HE_NORMAL, 5),
                               "bind");
    const clnet_shape *in = &models[m].ov.input;
    size_t per_image = in->ndim ? (size_t)(in->dim[0] * in->dim[1] * in->dim[2])
                                : strcmp(models[m].name, "lenet5") == 0 ? 28 * 28 : 3 * 32 * 32;
    float *x = malloc(MODEL_BATCH * per_image * sizeof *x);
    rc = rc || !x;
    if (rc == 0) {
        test_rng rng = {11};
        test_fill_uniform(&rng, x, MODEL_BATCH * per_image, -1.0f, 1.0f);
        const int32_t labels[MODEL_BATCH] = {3, 7};
        const clnet_optimizer opt = {.lr = 0.05f, .momentum = 0.9f};
        clnet_net_set_training(net, true);
        rc = test_check_status(ctx, clnet_net_forward(net, x, MODEL_BATCH), "forward") ||
             test_check_status(ctx, clnet_net_read_output(net, out->before, MODEL_MAX_OUT),
                               "read output") ||
             test_check_status(ctx, clnet_net_backward(net, labels, NULL, &out->loss),
                               "backward") ||
             test_check_status(ctx, clnet_net_step(net, &opt, opt.lr), "step") ||
             test_check_status(ctx, clnet_net_forward(net, x, MODEL_BATCH), "forward") ||
             test_check_status(ctx, clnet_net_read_output(net, out->after, MODEL_MAX_OUT),
                               "read output");
    }
    free(x);
    clnet_net_free(net);
    return rc;
}

/* Every model, in normal mode (cache off: built from source) into ref[]. */
static int run_models_normal(model_outputs *ref)
{
    counts c = {0, 0};
    clnet_ctx *ctx;
    clnet_device *dev;
    int rc = open_ctx(NULL, &c, &ctx, &dev);
    for (int m = 0; rc == 0 && m < NMODELS; m++)
        rc = run_model(ctx, dev, m, &ref[m]);
    clnet_ctx_free(ctx);
    return rc;
}

/* Every model from binaries: no program built, outputs equal to ref[]. */
static int run_models_binaries(const char *bin_dir, const model_outputs *ref)
{
    counts c = {0, 0};
    clnet_ctx *ctx;
    clnet_device *dev;
    int rc = open_ctx(bin_dir, &c, &ctx, &dev);
    int bad = 0;
    for (int m = 0; rc == 0 && m < NMODELS; m++) {
        model_outputs got;
        rc = run_model(ctx, dev, m, &got);
        if (rc)
            break;
        bool same = got.loss == ref[m].loss &&
                    memcmp(got.before, ref[m].before, sizeof got.before) == 0 &&
                    memcmp(got.after, ref[m].after, sizeof got.after) == 0;
        printf("  %-40s %s (loss %.6f)\n", models[m].name,
               same ? "trains, outputs equal to the normal mode's" : "FAIL: outputs differ",
               (double)got.loss);
        bad += !same;
    }
    if (rc == 0)
        bad += expect(c.built, 0, "programs built from source by the models");
    clnet_ctx_free(ctx);
    return rc ? rc : bad != 0;
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
           expect(count_files(bin_dir), *n + 1, "files written (binaries + manifest)");
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
        /* clnet's GEMM kernel takes alpha 1, beta 0 or 1; CLBlast, which
         * compiles online, would be needed for anything else. */
        clnet_op gemm = clnet_op_simple(CLNET_OP_GEMM);
        gemm.u.gemm.alpha = 1.0f;
        bool own = clnet_op_supported(dev, &gemm);
        gemm.u.gemm.alpha = 2.0f;
        bool refused = !clnet_op_supported(dev, &gemm);
        printf("  %s GEMM alpha 1 supported, alpha 2 reported unsupported (needs CLBlast)\n",
               own && refused ? "ok:  " : "FAIL:");
        bad += !own || !refused;
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

/* Checks that st is CLNET_ERR_NO_BINARY with a message holding every one
 * of the NULL-terminated strings `needles`. */
static int expect_no_binary(clnet_ctx *ctx, clnet_status st, const char *what,
                            const char *const *needles)
{
    const char *msg = clnet_last_error(ctx);
    printf("  %s: %s: %s\n", what, clnet_status_str(st), msg);
    int missing = st != CLNET_ERR_NO_BINARY;
    for (; *needles; needles++) {
        if (!strstr(msg, *needles)) {
            printf("FAIL: %s: the message does not name \"%s\"\n", what, *needles);
            missing = 1;
        }
    }
    if (st != CLNET_ERR_NO_BINARY)
        printf("FAIL: %s: expected CLNET_ERR_NO_BINARY\n", what);
    return missing;
}

/* Removes every binary from dir, keeping its manifest. */
static void remove_binaries(const char *dir)
{
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name);
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (len > 6 && strcmp(e->d_name + len - 6, ".clbin") == 0)
            unlink(path);
    }
    if (d)
        closedir(d);
}

/* Rewrites the driver line of dir's manifest as another driver's. */
static int forge_driver(const char *dir)
{
    char path[1024], text[8192];
    snprintf(path, sizeof path, "%s/manifest.txt", dir);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f)
        fclose(f);
    text[n] = '\0';
    char *line = strstr(text, "\ndriver: ");
    f = line ? fopen(path, "w") : NULL;
    if (!f) {
        printf("FAIL: no driver line in %s\n", path);
        return 1;
    }
    char *rest = strchr(line + 1, '\n');
    fprintf(f, "%.*s\ndriver: 0.0-another-driver%s", (int)(line - text), text, rest ? rest : "");
    return fclose(f) != 0;
}

/* A binaries directory that is not usable: empty (no manifest), a manifest
 * without its binaries, a manifest of another driver. */
static int unusable_binaries(const char *empty_dir, const char *copy_dir)
{
    counts c = {0, 0};
    clnet_ctx *ctx;
    clnet_device *dev;
    int rc = open_ctx(empty_dir, &c, &ctx, &dev);
    int bad = 0;
    if (rc == 0) {
        clnet_device_info info;
        clnet_device_info_get(dev, &info);
        printf("binaries-only mode with an empty directory:\n");
        const char *const no_manifest[] = {empty_dir, "manifest.txt", NULL};
        bad += expect_no_binary(ctx, clnet_opencl_compile_all(dev, copy_dir, NULL),
                                "compile_all", no_manifest);
        clnet_status st = run_relu(dev, &bad);
        bad += expect_no_binary(ctx, st, "relu", no_manifest);

        printf("binaries-only mode with a manifest and no binaries:\n");
        remove_binaries(copy_dir);
        bad += test_check_status(ctx, clnet_opencl_use_binaries(ctx, copy_dir), "use_binaries");
        const char *const no_file[] = {copy_dir, ".clbin", "program ", NULL};
        st = run_relu(dev, &bad);
        bad += expect_no_binary(ctx, st, "relu", no_file);

        printf("binaries-only mode with another driver's manifest:\n");
        bad += forge_driver(copy_dir);
        bad += test_check_status(ctx, clnet_opencl_use_binaries(ctx, copy_dir), "use_binaries");
        const char *const other_driver[] = {copy_dir, "driver '0.0-another-driver'",
                                            info.driver_version, NULL};
        st = run_relu(dev, &bad);
        bad += expect_no_binary(ctx, st, "relu", other_driver);
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
    static model_outputs normal[NMODELS];
    int rc = mkdir(empty_dir, 0755) == 0 ? 0 : 1;
    if (rc == 0)
        rc = compile_binaries(bin_dir, &n);
    if (rc == 0)
        rc = run_models_normal(normal);
    if (rc == 0)
        rc = load_binaries(bin_dir, copy_dir, n);
    if (rc == 0) {
        printf("zoo models from binaries:\n");
        rc = run_models_binaries(bin_dir, normal);
    }
    if (rc == 0)
        rc = unusable_binaries(empty_dir, copy_dir);
    remove_dir(bin_dir);
    remove_dir(copy_dir);
    remove_dir(empty_dir);
    rmdir(root);
    printf("%s\n", rc == 0 ? "PASS" : rc == TEST_SKIP ? "SKIP" : "FAIL");
    return rc;
}
