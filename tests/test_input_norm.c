/* test_input_norm.c - a net's own input normalisation: forward applies it on
 * every device exactly as a caller normalising by hand would, evaluate (which
 * normalises on its pipeline's threads) exactly as forward does, cfg files set
 * it, checkpoints (version 2) keep it with the training state while version
 * 1 files still load, and a caller's conflicting statistics are refused. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "nn/nn_internal.h"
#include "testutil.h"

#define SEED 777u
#define BATCH 4
#define C 2
#define H 3
#define W 3
#define IMAGE (C * H * W)
#define CLASSES 3

static const float mean[C] = {0.25f, 0.5f}, stdev[C] = {0.5f, 0.125f};

/* conv 3x3 (4) - BN+ReLU - linear CLASSES, on 2x3x3 */
static clnet_net *small_net(clnet_ctx *ctx, bool normalised)
{
    clnet_shape in = {.ndim = 3, .dim = {C, H, W}};
    clnet_net *net;
    if (clnet_net_new(ctx, &in, &net) != CLNET_OK)
        return NULL;
    clnet_layer_spec conv = {.kind = CLNET_LAYER_CONV, .out_channels = 4, .kernel = {3, 3},
                             .bias = true};
    conv.conv.pad_begin[0] = conv.conv.pad_begin[1] = conv.conv.pad_end[0] =
        conv.conv.pad_end[1] = 1;
    clnet_layer_spec bn = {.kind = CLNET_LAYER_BATCHNORM, .has_act = true};
    clnet_layer_spec fc = {.kind = CLNET_LAYER_LINEAR, .out_channels = CLASSES, .bias = true};
    bool ok = clnet_net_add(net, &conv, NULL) == CLNET_OK &&
              clnet_net_add(net, &bn, NULL) == CLNET_OK &&
              clnet_net_add(net, &fc, NULL) == CLNET_OK &&
              (!normalised || clnet_net_set_input_norm(net, mean, stdev) == CLNET_OK);
    if (!ok) {
        printf("FAIL: building the net: %s\n", clnet_last_error(ctx));
        test_failures++;
        clnet_net_free(net);
        return NULL;
    }
    return net;
}

static bool output(clnet_net *net, const float *x, float *y)
{
    return OK(net->ctx, clnet_net_forward(net, x, BATCH)) &&
           OK(net->ctx, clnet_net_read_output(net, y, BATCH * CLASSES));
}

/* forward(x) of a normalising net == forward((x - mean) / std) of a plain
 * one with the same weights, bit for bit, and x is left as it was. */
static void test_forward(clnet_ctx *ctx, clnet_device *dev, const float *x)
{
    clnet_net *a = small_net(ctx, true), *b = small_net(ctx, false);
    float xn[BATCH * IMAGE], xcopy[BATCH * IMAGE], ya[BATCH * CLASSES], yb[BATCH * CLASSES];
    memcpy(xcopy, x, sizeof xcopy);
    for (int i = 0; i < BATCH; i++)
        for (int c = 0; c < C; c++)
            for (int k = 0; k < H * W; k++) {
                int at = (i * C + c) * H * W + k;
                xn[at] = (x[at] - mean[c]) / stdev[c];
            }
    if (a && b && OK(ctx, clnet_net_bind(a, dev, BATCH, CLNET_INIT_HE_NORMAL, SEED)) &&
        OK(ctx, clnet_net_bind(b, dev, BATCH, CLNET_INIT_HE_NORMAL, SEED)) &&
        output(a, x, ya) && output(b, xn, yb)) {
        CHECK(memcmp(ya, yb, sizeof ya) == 0, "%s: forward with the net's normalisation "
              "differs from forward of the input normalised by hand", dev->info.name);
        CHECK(memcmp(x, xcopy, sizeof xcopy) == 0, "%s: forward changed the caller's input",
              dev->info.name);
        float m[C], s[C];
        CHECK(clnet_net_input_norm(a, m, s) && m[1] == mean[1] && s[0] == stdev[0] &&
              !clnet_net_input_norm(b, NULL, NULL), "clnet_net_input_norm");
        printf("%s: forward applies the net's normalisation\n", dev->info.name);
    }
    clnet_net_free(a);
    clnet_net_free(b);
}

/* Adds weight * softmax(row) to acc, as evaluate scores a view. */
static void add_probs(const float *row, double weight, double *acc)
{
    double m = row[0], sum = 0.0;
    for (int j = 1; j < CLASSES; j++)
        m = row[j] > m ? row[j] : m;
    for (int j = 0; j < CLASSES; j++)
        sum += exp((double)row[j] - m);
    double lse = m + log(sum);
    for (int j = 0; j < CLASSES; j++)
        acc[j] += weight * exp((double)row[j] - lse);
}

/* evaluate's loss of one net, or of two as an ensemble, equals the one of
 * their forward outputs: the pipeline normalises as forward does, bit for
 * bit, also for two nets whose normalisations differ (then forward does). */
static void test_evaluate(clnet_ctx *ctx, clnet_device *dev)
{
    uint8_t pixels[BATCH * IMAGE], labels[BATCH];
    float x[BATCH * IMAGE], ya[BATCH * CLASSES], yc[BATCH * CLASSES];
    for (int i = 0; i < BATCH * IMAGE; i++) {
        pixels[i] = (uint8_t)(i * 37 % 256);
        x[i] = (float)pixels[i] / 255.0f;
    }
    for (int i = 0; i < BATCH; i++)
        labels[i] = (uint8_t)(i % CLASSES);
    const float other_mean[C] = {0.5f, 0.125f}, other_std[C] = {0.25f, 2.0f};
    clnet_net *a = small_net(ctx, true), *c = small_net(ctx, false);
    clnet_dataset *ds = NULL;
    clnet_train_opts opts = {.batch = BATCH};
    clnet_eval one, two;
    if (!a || !c || !OK(ctx, clnet_net_set_input_norm(c, other_mean, other_std)) ||
        !OK(ctx, clnet_net_bind(a, dev, BATCH, CLNET_INIT_HE_NORMAL, SEED)) ||
        !OK(ctx, clnet_net_bind(c, dev, BATCH, CLNET_INIT_HE_NORMAL, SEED + 1)) ||
        !OK(ctx, clnet_dataset_from_arrays(ctx, NULL, BATCH, C, H, W, CLASSES, pixels, labels,
                                           false, &ds)) ||
        !OK(ctx, clnet_net_evaluate(a, ds, &opts, &one)) ||
        !OK(ctx, clnet_net_evaluate_ensemble((clnet_net *[]){a, c}, 2, ds, &opts, &two)) ||
        !output(a, x, ya) || !output(c, x, yc))
        goto out;
    double loss_one = 0.0, loss_two = 0.0;
    for (int i = 0; i < BATCH; i++) {
        double pa[CLASSES] = {0}, pac[CLASSES] = {0};
        add_probs(ya + i * CLASSES, 1.0, pa);
        add_probs(ya + i * CLASSES, 0.5, pac);
        add_probs(yc + i * CLASSES, 0.5, pac);
        loss_one -= log(pa[labels[i]]);
        loss_two -= log(pac[labels[i]]);
    }
    loss_one /= BATCH;
    loss_two /= BATCH;
    CHECK(fabs(one.loss - loss_one) <= 1e-12 * loss_one && fabs(two.loss - loss_two) <=
          1e-12 * loss_two, "%s: evaluate's loss %.17g (ensemble %.17g), from forward's "
          "outputs %.17g (%.17g)", dev->info.name, one.loss, two.loss, loss_one, loss_two);
out:
    clnet_dataset_free(ds);
    clnet_net_free(a);
    clnet_net_free(c);
}

static void test_cfg(clnet_ctx *ctx)
{
    const char *good = "[net]\ninput = 2x3x3\nmean = 0.25, 0.5\nstd = 0.5,0.125\n"
                       "[linear]\noutputs = 3\n";
    clnet_net *net = NULL;
    float m[C] = {0}, s[C] = {0};
    if (OK(ctx, clnet_net_parse_cfg(ctx, good, "t.cfg", NULL, &net)))
        CHECK(clnet_net_input_norm(net, m, s) && m[0] == mean[0] && m[1] == mean[1] &&
              s[0] == stdev[0] && s[1] == stdev[1], "cfg mean/std not kept: %g %g / %g %g",
              (double)m[0], (double)m[1], (double)s[0], (double)s[1]);
    clnet_net_free(net);
    const struct { const char *text, *needle; } bad[] = {
        {"[net]\ninput = 2x3x3\nmean = 0.25\n[linear]\noutputs = 3\n", "t.cfg:3: mean"},
        {"[net]\ninput = 2x3x3\nstd = 1, 0\n[linear]\noutputs = 3\n", "t.cfg:3: std"},
        {"[net]\ninput = 2x3x3\nstd = 1, 2, 3\n[linear]\noutputs = 3\n", "more than 2"},
        {"[net]\ninput = 2x3x3\nmean = 1, x\n[linear]\noutputs = 3\n", "t.cfg:3: mean"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        clnet_status st = clnet_net_parse_cfg(ctx, bad[i].text, "t.cfg", NULL, &net);
        CHECK(st == CLNET_ERR_FORMAT && !net && strstr(clnet_last_error(ctx), bad[i].needle),
              "bad cfg %zu: status %d, message '%s' (expected '%s')", i, st,
              clnet_last_error(ctx), bad[i].needle);
    }
}

static unsigned char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *data = malloc(1 << 20);
    *n = f && data ? fread(data, 1, 1 << 20, f) : 0;
    if (f)
        fclose(f);
    return data;
}

/* The version 1 file of the same net: version 2 less its normalisation and
 * training-state records (28 bytes + 8 per channel), CRC recomputed. */
static bool write_v1(const char *v2, const char *v1, int channels)
{
    size_t n;
    unsigned char *d = read_all(v2, &n);
    size_t extra = 28 + 8 * (size_t)channels;
    bool ok = d && n > extra + 16;
    if (ok) {
        n -= extra + 4;
        d[8] = 1;
        uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), d, (uInt)n);
        for (int b = 0; b < 4; b++)
            d[n + b] = (unsigned char)(crc >> (8 * b));
        FILE *f = fopen(v1, "wb");
        ok = f && fwrite(d, 1, n + 4, f) == n + 4;
        if (f)
            ok = fclose(f) == 0 && ok;
    }
    free(d);
    return ok;
}

static void test_checkpoint(clnet_ctx *ctx, clnet_device *dev, const float *x)
{
    char dir[] = "/tmp/clnet-norm-XXXXXX", v2[64], v1[64];
    if (!mkdtemp(dir))
        return;
    snprintf(v2, sizeof v2, "%s/v2.ckpt", dir);
    snprintf(v1, sizeof v1, "%s/v1.ckpt", dir);
    clnet_net *a = small_net(ctx, true), *b = small_net(ctx, false), *c = small_net(ctx, true);
    clnet_train_state st = {.epochs_done = 7, .seed = 99, .best_accuracy = 0.75f}, got;
    float ya[BATCH * CLASSES], yb[BATCH * CLASSES];
    if (a && b && c && OK(ctx, clnet_net_bind(a, dev, BATCH, CLNET_INIT_HE_NORMAL, SEED)) &&
        OK(ctx, clnet_net_set_train_state(a, &st)) && OK(ctx, clnet_net_save(a, v2)) &&
        OK(ctx, clnet_net_bind(b, dev, BATCH, CLNET_INIT_HE_NORMAL, SEED + 1)) &&
        OK(ctx, clnet_net_load(b, v2)) && output(a, x, ya) && output(b, x, yb)) {
        clnet_net_train_state(b, &got);
        CHECK(memcmp(ya, yb, sizeof ya) == 0 && clnet_net_input_norm(b, NULL, NULL),
              "a net without normalisation did not take it from a version 2 checkpoint");
        CHECK(got.epochs_done == 7 && got.seed == 99 && got.best_accuracy == 0.75f,
              "training state after load: %d %llu %g", got.epochs_done,
              (unsigned long long)got.seed, (double)got.best_accuracy);
        /* version 1: weights load, the net keeps its own normalisation */
        bool wrote = write_v1(v2, v1, C);
        CHECK(wrote, "cannot write the version 1 file");
        if (wrote && OK(ctx, clnet_net_load(c, v1)) &&
            OK(ctx, clnet_net_bind(c, dev, BATCH, CLNET_INIT_HE_NORMAL, SEED + 2)) &&
            output(c, x, yb)) {
            clnet_net_train_state(c, &got);
            CHECK(memcmp(ya, yb, sizeof ya) == 0 && got.epochs_done == 0,
                  "a version 1 checkpoint did not load as before");
        }
        printf("%s: checkpoint version 2 keeps normalisation and training state; version 1 "
               "loads\n", dev->info.name);
    }
    clnet_net_free(a);
    clnet_net_free(b);
    clnet_net_free(c);
    remove(v1);
    remove(v2);
    remove(dir);
}

/* train_epoch adopts a caller's statistics into a net without its own;
 * different ones afterwards are refused, the same ones accepted. */
static void test_conflicts(clnet_ctx *ctx, clnet_device *dev)
{
    uint8_t images[8 * IMAGE], labels[8];
    for (int i = 0; i < 8 * IMAGE; i++)
        images[i] = (uint8_t)(i * 37 % 251);
    for (int i = 0; i < 8; i++)
        labels[i] = (uint8_t)(i % CLASSES);
    clnet_dataset ds = {.name = "tiny", .count = 8, .channels = C, .height = H, .width = W,
                        .classes = CLASSES, .images = images, .labels = labels};
    clnet_net *net = small_net(ctx, false);
    clnet_train_opts opts = {.batch = BATCH, .mean = mean, .std = stdev, .seed = 5, .epoch = 2};
    clnet_optimizer sgd = {.kind = CLNET_OPTIM_SGD, .lr = 0.01f};
    clnet_eval ev;
    if (net && OK(ctx, clnet_net_bind(net, dev, BATCH, CLNET_INIT_HE_NORMAL, SEED)) &&
        OK(ctx, clnet_net_train_epoch(net, &ds, &opts, &sgd, &ev))) {
        clnet_train_state got;
        clnet_net_train_state(net, &got);
        float m[C];
        CHECK(clnet_net_input_norm(net, m, NULL) && m[1] == mean[1],
              "train_epoch did not keep the caller's statistics in the net");
        CHECK(got.epochs_done == 3 && got.seed == 5, "train state after epoch 2: %d %llu",
              got.epochs_done, (unsigned long long)got.seed);
        OK(ctx, clnet_net_evaluate(net, &ds, &opts, &ev));
        const float other[C] = {0.3f, 0.5f};
        opts.mean = other;
        clnet_status st = clnet_net_evaluate(net, &ds, &opts, &ev);
        CHECK(st == CLNET_ERR_INVALID_ARGUMENT &&
              strstr(clnet_last_error(ctx), "normalises its input itself"),
              "a conflicting mean: status %d, '%s'", st, clnet_last_error(ctx));
        opts.mean = opts.std = NULL;
        OK(ctx, clnet_net_evaluate(net, &ds, &opts, &ev));
    }
    clnet_net_free(net);
}

int main(void)
{
    clnet_ctx *ctx;
    if (clnet_ctx_new(&ctx) != CLNET_OK)
        return 1;
    clnet_device *devs[16];
    int ndev;
    int rc = test_open_devices(ctx, devs, 16, &ndev);
    if (rc == 1) {
        clnet_ctx_free(ctx);
        return 1;
    }
    float x[BATCH * IMAGE];
    test_rng rng = {SEED};
    test_fill_uniform(&rng, x, BATCH * IMAGE, 0.0f, 1.0f);
    for (int d = 0; d < ndev; d++) {
        test_forward(ctx, devs[d], x);
        test_checkpoint(ctx, devs[d], x);
        test_evaluate(ctx, devs[d]);
    }
    test_cfg(ctx);
    test_conflicts(ctx, devs[test_ref_index(devs, ndev)]);
    clnet_ctx_free(ctx);
    if (test_failures) {
        printf("%d failures\n", test_failures);
        return 1;
    }
    return rc;
}
