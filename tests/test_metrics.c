/* test_metrics.c - accuracy and loss must be honest: a net that outputs a
 * constant scores chance level (ties go to the lower class index, as argmax
 * breaks them), a NaN output is a miss and makes the loss NaN, on every
 * device, for training, evaluation and ensembles; and `clnet-bench eval` and
 * `train` (the program named by argv[1]) exit non-zero with a warning when a
 * net's outputs or loss are not finite. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/nn_internal.h"
#include "testutil.h"

#define MAX_DEVICES 8
#define CLASSES 10
#define IMAGES 100               /* label i % 10: every class ten times */

static bool ok(clnet_ctx *ctx, clnet_status st, const char *where)
{
    if (test_check_status(ctx, st, where) == 0)
        return true;
    test_failures++;
    return false;
}

/* IMAGES 1x4x4 images of random pixels, labels 0..9 in turn. */
static clnet_dataset *ten_classes(void)
{
    clnet_dataset *ds = calloc(1, sizeof *ds);
    if (!ds)
        return NULL;
    strcpy(ds->name, "ten-classes");
    ds->count = IMAGES;
    ds->channels = 1;
    ds->height = ds->width = 4;
    ds->classes = CLASSES;
    ds->images = malloc(IMAGES * 16);
    ds->labels = malloc(IMAGES);
    test_rng r = {14};
    for (int i = 0; ds->images && ds->labels && i < IMAGES; i++) {
        ds->labels[i] = (uint8_t)(i % CLASSES);
        for (int p = 0; p < 16; p++)
            ds->images[i * 16 + p] = (uint8_t)test_rng_next(&r);
    }
    return ds;
}

static void free_dataset(clnet_dataset *ds)
{
    if (ds) {
        free(ds->images);
        free(ds->labels);
        free(ds);
    }
}

/* A one-layer classifier bound to dev whose weight and bias all equal v. */
static clnet_net *constant_net(clnet_ctx *ctx, clnet_device *dev, float v)
{
    clnet_shape in = {.ndim = 3, .dim = {1, 4, 4}};
    clnet_layer_spec lin = {.kind = CLNET_LAYER_LINEAR, .out_channels = CLASSES, .bias = true};
    clnet_net *net = NULL;
    if (!ok(ctx, clnet_net_new(ctx, &in, &net), "net") ||
        !ok(ctx, clnet_net_add(net, &lin, NULL), "linear") ||
        !ok(ctx, clnet_net_bind(net, dev, 25, CLNET_INIT_HE_NORMAL, 1), "bind")) {
        clnet_net_free(net);
        return NULL;
    }
    nn_layer *l = &net->layers[net->nlayers - 1];
    for (int j = 0; j < l->nparams; j++) {
        size_t n = (size_t)nn_numel(&l->params[j].shape);
        float *values = malloc(n * sizeof *values);
        for (size_t i = 0; values && i < n; i++)
            values[i] = v;
        bool written = values && ok(ctx, nn_param_write(net, &l->params[j], values), "write");
        free(values);
        if (!written) {
            clnet_net_free(net);
            return NULL;
        }
    }
    return net;
}

static void check_devices_score_honestly(clnet_ctx *ctx, clnet_device *dev)
{
    clnet_device_info info;
    clnet_device_info_get(dev, &info);
    clnet_dataset *ds = ten_classes();
    clnet_net *zero = constant_net(ctx, dev, 0.0f), *nan = constant_net(ctx, dev, NAN);
    clnet_train_opts opts = {.batch = 25};
    if (!ds || !ds->images || !ds->labels || !zero || !nan)
        goto out;
    clnet_eval ev;
    if (ok(ctx, clnet_net_evaluate(zero, ds, &opts, &ev), "evaluate zero")) {
        printf("%s: zeroed net: top-1 %.3f top-5 %.3f loss %.4f\n", info.name, ev.top1, ev.top5,
               ev.loss);
        /* all ten scores tie: argmax says class 0, so labels 0 (top-1) and 0..4 (top-5) hit */
        CHECK(ev.count == IMAGES && ev.top1 == 0.1 && ev.top5 == 0.5 && ev.nonfinite == 0 &&
              fabs(ev.loss - log(CLASSES)) < 1e-4,
              "%s: a constant output scored top-1 %g top-5 %g loss %g nonfinite %lld", info.name,
              ev.top1, ev.top5, ev.loss, (long long)ev.nonfinite);
    }
    if (ok(ctx, clnet_net_evaluate(nan, ds, &opts, &ev), "evaluate NaN")) {
        printf("%s: NaN net: top-1 %.3f loss %g, %lld non-finite rows\n", info.name, ev.top1,
               ev.loss, (long long)ev.nonfinite);
        CHECK(ev.top1 == 0.0 && ev.top5 == 0.0 && isnan(ev.loss) && ev.nonfinite == IMAGES,
              "%s: a NaN output scored top-1 %g top-5 %g loss %g nonfinite %lld", info.name,
              ev.top1, ev.top5, ev.loss, (long long)ev.nonfinite);
    }
    clnet_net *both[2] = {zero, nan};
    if (ok(ctx, clnet_net_evaluate_ensemble(both, 2, ds, &opts, &ev), "ensemble"))
        CHECK(ev.top1 == 0.0 && isnan(ev.loss) && ev.nonfinite == IMAGES,
              "%s: an ensemble with a NaN member scored top-1 %g loss %g nonfinite %lld",
              info.name, ev.top1, ev.loss, (long long)ev.nonfinite);
    clnet_optimizer sgd = {.kind = CLNET_OPTIM_SGD, .lr = 0.01f};
    if (ok(ctx, clnet_net_train_epoch(nan, ds, &opts, &sgd, &ev), "train NaN"))
        CHECK(ev.top1 == 0.0 && isnan(ev.loss) && ev.nonfinite == IMAGES,
              "%s: training a NaN net scored top-1 %g loss %g nonfinite %lld", info.name,
              ev.top1, ev.loss, (long long)ev.nonfinite);
out:
    clnet_net_free(zero);
    clnet_net_free(nan);
    free_dataset(ds);
}

/* A LeNet-5 checkpoint whose classifier is NaN, written to `path`. */
static bool write_nan_checkpoint(clnet_ctx *ctx, clnet_device *ref, const clnet_dataset *ds,
                                 const char *path)
{
    clnet_cfg_overrides ov = {.classes = ds->classes,
                              .input = {.ndim = 3, .dim = {ds->channels, ds->height, ds->width}}};
    clnet_net *net = NULL;
    bool done = ok(ctx, clnet_net_zoo(ctx, "lenet5", &ov, &net), "lenet5") &&
                ok(ctx, clnet_net_bind(net, ref, 1, CLNET_INIT_HE_NORMAL, 1), "bind lenet5");
    if (done) {
        nn_param *w = &net->layers[net->nlayers - 1].params[0];
        size_t n = (size_t)nn_numel(&w->shape);
        float *values = malloc(n * sizeof *values);
        for (size_t i = 0; values && i < n; i++)
            values[i] = NAN;
        done = values && ok(ctx, nn_param_write(net, w, values), "write NaN") &&
               ok(ctx, clnet_net_save(net, path), "save");
        free(values);
    }
    clnet_net_free(net);
    return done;
}

/* 0, TEST_SKIP without MNIST (outside CI), 1 when a command exited 0 on a diverged net. */
static int check_bench_fails_loudly(clnet_ctx *ctx, clnet_device *ref, char *bench)
{
    const char *env = getenv("CLNET_DATA");
    char *dir = env && *env ? (char *)env : CLNET_SOURCE_ROOT "/../shared/datasets";
    clnet_dataset *test = NULL;
    const char *ci = getenv("CI");
    clnet_status st = clnet_dataset_load(ctx, "mnist", CLNET_SPLIT_TEST, dir, &test);
    if (st == CLNET_ERR_IO && !(ci && strcmp(ci, "true") == 0)) {
        printf("SKIP: MNIST not found, the clnet-bench checks did not run: %s\n",
               clnet_last_error(ctx));
        return TEST_SKIP;
    }
    if (test_check_status(ctx, st, "loading MNIST"))
        return 1;
    char ckpt[] = "/tmp/clnet-test-metrics-XXXXXX", log[64];
    int fd = mkstemp(ckpt);
    if (fd < 0)
        return 1;
    close(fd);
    snprintf(log, sizeof log, "%s.log", ckpt);
    if (write_nan_checkpoint(ctx, ref, test, ckpt)) {
        char *eval[] = {bench, "eval", "--model", "lenet5", "--data", "mnist", "--data-dir", dir,
                        "--device", "ref", "--limit", "200", "--checkpoint", ckpt, NULL};
        int rc = test_run_logged(eval, log);
        printf("clnet-bench eval of a NaN checkpoint: exit %d\n", rc);
        CHECK(rc == 1 && test_file_has(log, "WARNING") && test_file_has(log, "NaN or infinity"),
              "eval of a NaN checkpoint: exit %d, no warning", rc);
    }
    /* SGD at the largest learning rate and momentum allowed overflows the
     * weights within 16 steps */
    char *train[] = {bench, "train", "--model", "lenet5", "--data", "mnist", "--data-dir", dir,
                     "--device", "ref", "--epochs", "2", "--batch", "16", "--limit", "256",
                     "--test-limit", "32", "--optimizer", "sgd", "--lr", "10", "--momentum",
                     "0.9999", "--weight-decay", "0", NULL};
    int rc = test_run_logged(train, log);
    printf("clnet-bench train at lr 10, momentum 0.9999: exit %d\n", rc);
    CHECK(rc == 1 && test_file_has(log, "WARNING") && test_file_has(log, "stopped after epoch 1"),
          "train with a diverging loss: exit %d, no warning", rc);
    unlink(ckpt);
    unlink(log);
    clnet_dataset_free(test);
    return 0;
}

int main(int argc, char **argv)
{
    clnet_ctx *ctx;
    if (argc != 2 || clnet_ctx_new(&ctx) != CLNET_OK)
        return 1;
    clnet_device *devs[MAX_DEVICES];
    int ndev;
    int rc = test_open_devices(ctx, devs, MAX_DEVICES, &ndev);
    for (int d = 0; d < ndev; d++)
        check_devices_score_honestly(ctx, devs[d]);
    int r = test_ref_index(devs, ndev);
    int bench_rc = r >= 0 ? check_bench_fails_loudly(ctx, devs[r], argv[1]) : 1;
    clnet_ctx_free(ctx);
    if (test_failures) {
        printf("%d failures\n", test_failures);
        return 1;
    }
    return rc == 1 || bench_rc == 1 ? 1 : rc == TEST_SKIP ? rc : bench_rc;
}
