/* test_recipe_features.c - known values of the pieces the training recipes
 * (bench/recipes.c) are built from: multistep and piecewise-linear
 * schedules, per-parameter learning rates (0: no gradient) and a frozen
 * batch-norm scale, a summed loss, Dirac and PyTorch-default initialisation,
 * the scale activation in cfg files, reflect padding and the alternating
 * flip, weighted test-time augmentation, lookahead, and the patch-whitening
 * initialiser with its eigensolver. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"
#include "testutil.h"

static int failures;

static void expect(bool ok, const char *device, const char *what)
{
    printf("%s %s: %s\n", ok ? "ok  " : "FAIL", device, what);
    failures += !ok;
}

static bool near(double a, double b, double tol)
{
    return fabs(a - b) <= tol * (1.0 + fabs(b));
}

/* ---- schedules ---- */

static void schedules(void)
{
    clnet_optimizer m = {.lr = 1.0f, .gamma = 0.1f, .schedule = CLNET_SCHED_MULTISTEP,
                         .npoints = 2, .points = {{2.0, 0}, {5.0, 0}}};
    expect(clnet_optimizer_lr(&m, 0.0) == 1.0f && clnet_optimizer_lr(&m, 1.99) == 1.0f &&
           near(clnet_optimizer_lr(&m, 2.0), 0.1, 1e-6) &&
           near(clnet_optimizer_lr(&m, 4.9), 0.1, 1e-6) &&
           near(clnet_optimizer_lr(&m, 5.0), 0.01, 1e-6) &&
           near(clnet_optimizer_lr(&m, 100.0), 0.01, 1e-6), "schedule",
           "multistep: x0.1 at epochs 2 and 5");
    /* airbench94's: 0.2 -> 1 over the first 23% of 10 epochs, then -> 0.07 */
    clnet_optimizer l = {.lr = 2.0f, .schedule = CLNET_SCHED_LINEAR, .npoints = 3,
                         .points = {{0.0, 0.2f}, {2.3, 1.0f}, {10.0, 0.07f}}};
    expect(near(clnet_optimizer_lr(&l, 0.0), 0.4, 1e-6) &&
           near(clnet_optimizer_lr(&l, 1.15), 1.2, 1e-6) &&
           near(clnet_optimizer_lr(&l, 2.3), 2.0, 1e-6) &&
           near(clnet_optimizer_lr(&l, 6.15), 2.0 * 0.535, 1e-6) &&
           near(clnet_optimizer_lr(&l, 10.0), 0.14, 1e-6) &&
           near(clnet_optimizer_lr(&l, 12.0), 0.14, 1e-6), "schedule",
           "piecewise linear: 0.4, 1.2, 2, 1.07, 0.14 at the knots and between");
}

/* ---- nets on a device ---- */

static const char *small_cfg =
    "[net]\ninput = 2x3x3\n"
    "[conv]\nfilters = 3\nsize = 3\npad = 1\nbias = 0\ndirac = 1\n"
    "[batchnorm]\nfrozen_scale = 1\nactivation = relu\n"
    "[flatten]\n[linear]\noutputs = 4\n"
    "[activation]\ntype = scale\nfactor = 0.5\n";

static float *read_param(clnet_net *net, int id, int index)
{
    clnet_shape s;
    if (clnet_net_param_read(net, id, index, &s, NULL, 0) != CLNET_OK)
        return NULL;
    size_t n = (size_t)clnet_shape_numel(&s);
    float *v = malloc(n * sizeof *v);
    if (v && clnet_net_param_read(net, id, index, NULL, v, n) != CLNET_OK) {
        free(v);
        return NULL;
    }
    return v;
}

static float *read_grad(const nn_param *p)
{
    return test_read(p->grad);
}

/* conv (layer 1) filters 0 and 1 are the identity on channels 0 and 1;
 * filter 2 keeps its random weights. */
static void check_dirac(clnet_net *net, const char *dev)
{
    float *w = read_param(net, 1, 0);
    bool ok = w != NULL;
    for (int k = 0; ok && k < 2; k++)
        for (int c = 0; c < 2; c++)
            for (int t = 0; t < 9; t++)
                ok = ok && w[(k * 2 + c) * 9 + t] == (c == k && t == 4 ? 1.0f : 0.0f);
    int nonzero = 0;
    for (int i = 0; w && i < 18; i++)
        nonzero += w[2 * 18 + i] != 0.0f;
    expect(ok && nonzero == 18, dev, "dirac: filters 0, 1 identity, filter 2 random");
    free(w);
}

/* One SGD step: w' = w - lr * lr_mult * (g + wd * decay_mult * w). */
static bool stepped(const float *before, const float *grad, const float *after, size_t n,
                    double lr, double wd)
{
    for (size_t i = 0; i < n; i++)
        if (!near(after[i], before[i] - lr * (grad[i] + wd * before[i]), 1e-5))
            return false;
    return true;
}

static void check_param_lr(clnet_net *net, const float *x, const int32_t *labels, const char *dev)
{
    clnet_status st = clnet_net_set_param_lr(net, 2, 1, 64.0f, 1.0f / 64);
    float *w0 = read_param(net, 1, 0), *g0 = read_param(net, 2, 0), *b0 = read_param(net, 2, 1);
    if (st == CLNET_OK)
        st = clnet_net_forward(net, x, 4);
    if (st == CLNET_OK)
        st = clnet_net_backward(net, labels, NULL, NULL);
    float *gw = read_grad(&net->layers[1].params[0]), *gb = read_grad(&net->layers[2].params[1]);
    float *gg = read_grad(&net->layers[2].params[0]);
    const clnet_optimizer sgd = {.kind = CLNET_OPTIM_SGD, .lr = 0.1f, .weight_decay = 0.5f};
    if (st == CLNET_OK)
        st = clnet_net_step(net, &sgd, sgd.lr);
    float *w1 = read_param(net, 1, 0), *g1 = read_param(net, 2, 0), *b1 = read_param(net, 2, 1);
    if (st != CLNET_OK || !w0 || !g0 || !b0 || !gw || !gb || !gg || !w1 || !g1 || !b1) {
        failures += test_check_status(net->ctx, st != CLNET_OK ? st : CLNET_ERR_HOST_MEMORY,
                                      "per-parameter learning rates");
    } else {
        bool frozen = memcmp(g0, g1, 3 * sizeof *g0) == 0;
        bool moved = false;
        for (int i = 0; i < 3; i++)
            moved = moved || gg[i] != 0.0f;
        expect(frozen && moved, dev, "frozen_scale: gamma has a gradient and stays 1");
        expect(stepped(w0, gw, w1, 54, 0.1, 0.5), dev, "conv weights: lr 0.1, decay 0.5");
        expect(stepped(b0, gb, b1, 3, 6.4, 0.5 / 64), dev,
               "bn shift: lr x64, decay x1/64 (the same absolute decay)");
    }
    expect(clnet_net_set_param_lr(net, 2, 2, 1, 1) == CLNET_ERR_INVALID_ARGUMENT &&
           clnet_net_set_param_lr(net, 1, 0, -1, 1) == CLNET_ERR_INVALID_ARGUMENT, dev,
           "set_param_lr refuses running statistics and negative multipliers");
    free(w0), free(g0), free(b0), free(gw), free(gb), free(gg), free(w1), free(g1), free(b1);
}

/* lr_mult 0 on the conv's weights and the linear layer's bias: backward
 * computes neither gradient (both read 0, the linear weights' does not)
 * and a step leaves the conv's weights alone. */
static void check_lr_zero(clnet_net *net, const float *x, const int32_t *labels, const char *dev)
{
    clnet_status st = clnet_net_set_param_lr(net, 1, 0, 0.0f, 0.0f);
    if (st == CLNET_OK)
        st = clnet_net_set_param_lr(net, 4, 1, 0.0f, 0.0f);
    float *w0 = read_param(net, 1, 0);
    if (st == CLNET_OK)
        st = clnet_net_forward(net, x, 4);
    if (st == CLNET_OK)
        st = clnet_net_backward(net, labels, NULL, NULL);
    float *gw = read_grad(&net->layers[1].params[0]), *gl = read_grad(&net->layers[4].params[0]);
    float *gb = read_grad(&net->layers[4].params[1]);
    const clnet_optimizer sgd = {.kind = CLNET_OPTIM_SGD, .lr = 0.1f, .weight_decay = 0.5f};
    if (st == CLNET_OK)
        st = clnet_net_step(net, &sgd, sgd.lr);
    float *w1 = read_param(net, 1, 0);
    if (st != CLNET_OK || !w0 || !gw || !gl || !gb || !w1) {
        failures += test_check_status(net->ctx, st != CLNET_OK ? st : CLNET_ERR_HOST_MEMORY,
                                      "lr_mult 0");
    } else {
        bool zero = true, linear = false;
        for (int i = 0; i < 54; i++)
            zero = zero && gw[i] == 0.0f;
        for (int i = 0; i < 4; i++)
            zero = zero && gb[i] == 0.0f;
        for (int i = 0; i < 4 * 27; i++)
            linear = linear || gl[i] != 0.0f;
        expect(zero && linear && memcmp(w0, w1, 54 * sizeof *w0) == 0, dev,
               "lr_mult 0: no gradient (reads 0) and no step for exactly those parameters");
    }
    free(w0), free(gw), free(gl), free(gb), free(w1);
}

/* A summed loss gives n times the mean's gradient and reports the same mean. */
static void check_loss_sum(clnet_net *net, const float *x, const int32_t *labels, const char *dev)
{
    float mean_loss = 0, sum_loss = 0;
    clnet_status st = clnet_net_forward(net, x, 4);
    if (st == CLNET_OK)
        st = clnet_net_backward(net, labels, NULL, &mean_loss);
    float *g_mean = st == CLNET_OK ? read_grad(&net->layers[4].params[0]) : NULL;
    clnet_net_set_loss_sum(net, true);
    if (st == CLNET_OK)
        st = clnet_net_forward(net, x, 4);
    if (st == CLNET_OK)
        st = clnet_net_backward(net, labels, NULL, &sum_loss);
    float *g_sum = st == CLNET_OK ? read_grad(&net->layers[4].params[0]) : NULL;
    clnet_net_set_loss_sum(net, false);
    bool ok = g_mean && g_sum && near(mean_loss, sum_loss, 1e-6);
    for (int i = 0; ok && i < 4 * 27; i++)
        ok = near(g_sum[i], 4.0 * g_mean[i], 1e-5);
    expect(ok, dev, "summed loss: 4x the mean's gradient at batch 4, the same loss reported");
    free(g_mean);
    free(g_sum);
}

/* The [activation] scale = 0.5 halves the linear layer's outputs. */
static void check_scale(clnet_net *net, const float *x, const char *dev)
{
    float y[16], z[16];
    clnet_net_set_training(net, false);
    clnet_status st = clnet_net_forward(net, x, 4);
    if (st == CLNET_OK)
        st = clnet_net_read_output(net, y, 16);
    if (st == CLNET_OK)
        st = clnet_tensor_read(net->layers[4].y, z, sizeof z);
    bool ok = st == CLNET_OK;
    for (int i = 0; ok && i < 16; i++)
        ok = y[i] == 0.5f * z[i];
    expect(ok, dev, "scale activation: y = 0.5 x");
    clnet_net_set_training(net, true);
}

static void check_lookahead(clnet_net *net, const char *dev)
{
    clnet_lookahead *la = NULL;
    nn_param *p = &net->layers[4].params[0];
    float *w0 = read_param(net, 4, 0), w1[108], *got = NULL;
    for (int i = 0; i < 108; i++)
        w1[i] = (float)i;
    /* every 2 steps, decay 0.5 * (steps / 4)^1: 0.25 at step 2 */
    clnet_status st = clnet_lookahead_new(net, 2, 0.5, 1.0, 4, &la);
    if (st == CLNET_OK)
        st = nn_param_write(net, p, w1);
    if (st == CLNET_OK)
        st = clnet_lookahead_step(la, net);
    float *after1 = st == CLNET_OK ? read_param(net, 4, 0) : NULL;
    if (st == CLNET_OK)
        st = clnet_lookahead_step(la, net);
    if (st == CLNET_OK)
        got = read_param(net, 4, 0);
    bool ok = got && after1 && w0 && memcmp(after1, w1, sizeof w1) == 0;
    for (int i = 0; ok && i < 108; i++)
        ok = near(got[i], 0.25 * w0[i] + 0.75 * w1[i], 1e-6);
    expect(ok && clnet_lookahead_steps(la) == 2, dev,
           "lookahead: nothing at step 1; at step 2 w = 0.25 avg + 0.75 w");
    /* decay 1 copies the average back */
    float zeros[108] = {0};
    if (st == CLNET_OK)
        st = nn_param_write(net, p, zeros);
    if (st == CLNET_OK)
        st = clnet_lookahead_update(la, net, 1.0);
    float *back = st == CLNET_OK ? read_param(net, 4, 0) : NULL;
    expect(back && got && memcmp(back, got, sizeof w1) == 0, dev,
           "lookahead: decay 1 restores the average");
    expect(clnet_lookahead_update(la, net, 1.5) == CLNET_ERR_INVALID_ARGUMENT, dev,
           "lookahead: decay 1.5 is refused");
    if (st != CLNET_OK)
        failures += test_check_status(net->ctx, st, "lookahead");
    clnet_lookahead_free(la);
    free(w0), free(after1), free(got), free(back);
}

static void check_nets(clnet_device *dev)
{
    clnet_ctx *ctx = clnet_device_ctx(dev);
    clnet_device_info info;
    clnet_device_info_get(dev, &info);
    clnet_net *net = NULL;
    clnet_status st = clnet_net_parse_cfg(ctx, small_cfg, "small.cfg", NULL, &net);
    if (st == CLNET_OK)
        st = clnet_net_bind(net, dev, 4, CLNET_INIT_HE_NORMAL, 3);
    if (st != CLNET_OK) {
        failures += test_check_status(ctx, st, "small net");
        clnet_net_free(net);
        return;
    }
    float x[72];
    int32_t labels[4] = {0, 3, 1, 2};
    test_rng rng = {5};
    test_fill_uniform(&rng, x, 72, -1.0f, 1.0f);
    clnet_net_set_training(net, true);
    check_dirac(net, info.name);
    check_loss_sum(net, x, labels, info.name);
    check_param_lr(net, x, labels, info.name);
    check_scale(net, x, info.name);
    check_lookahead(net, info.name);
    check_lr_zero(net, x, labels, info.name);
    clnet_net_free(net);
}

/* ---- initialisation ---- */

static void check_torch_init(clnet_ctx *ctx, clnet_device *ref)
{
    static const char *cfg = "[net]\ninput = 16x8x8\n[conv]\nfilters = 32\nsize = 3\n";
    clnet_net *net = NULL;
    clnet_status st = clnet_net_parse_cfg(ctx, cfg, "init.cfg", NULL, &net);
    if (st == CLNET_OK)
        st = clnet_net_bind(net, ref, 1, CLNET_INIT_TORCH_DEFAULT, 1);
    float *w = st == CLNET_OK ? read_param(net, 1, 0) : NULL;
    if (st != CLNET_OK)
        failures += test_check_status(ctx, st, "torch default init");
    double bound = 1.0 / sqrt(16.0 * 9.0), largest = 0.0;
    for (int i = 0; w && i < 32 * 144; i++)
        largest = fmax(largest, fabs(w[i]));
    printf("     torch default: largest |w| %.6f, bound %.6f\n", largest, bound);
    expect(w && largest <= bound * (1 + 1e-6) && largest > 0.99 * bound, "init",
           "torch default: |w| <= 1/sqrt(fan_in) and reaches it");
    free(w);
    clnet_net_free(net);
}

static void check_cfg_errors(clnet_ctx *ctx)
{
    static const char *bad[] = {
        "[net]\ninput = 1x4x4\n[conv]\nfilters = 1\nsize = 1\nactivation = scale\n",
        "[net]\ninput = 1x4x4\n[activation]\ntype = relu\nfactor = 2\n",
        "[net]\ninput = 1x4x4\n[convt]\nfilters = 1\nsize = 1\ndirac = 1\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        clnet_net *net = NULL;
        clnet_status st = clnet_net_parse_cfg(ctx, bad[i], "bad.cfg", NULL, &net);
        printf("     %s\n", clnet_last_error(ctx));
        expect(st == CLNET_ERR_FORMAT && !net, "cfg", "a misplaced scale, factor or dirac");
        clnet_net_free(net);
    }
}

/* ---- data: reflect padding, the alternating flip ---- */

/* A dataset of `count` 1 x h x w images with pixel (i, y, x) = pixel(i, y, x). */
static clnet_dataset *make_set(int64_t count, int h, int w, const uint8_t *pixels)
{
    clnet_dataset *ds = calloc(1, sizeof *ds);
    size_t size = (size_t)count * h * w;
    if (!ds)
        return NULL;
    *ds = (clnet_dataset){.name = "made", .count = count, .channels = 1, .height = h, .width = w,
                          .classes = 2, .images = malloc(size), .labels = calloc(count, 1)};
    if (ds->images)
        memcpy(ds->images, pixels, size);
    return ds;
}

static void free_set(clnet_dataset *ds)
{
    if (ds) {
        free(ds->images);
        free(ds->labels);
        free(ds);
    }
}

/* The 3x3 image 1..9 shifted by (dy, dx) in -1..1 with reflect padding:
 * row -1 reads row 1, row 3 reads row 1 (the border is not repeated). */
static void reflected(int dy, int dx, float *out)
{
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 3; x++) {
            int sy = y + dy, sx = x + dx;
            sy = sy < 0 ? -sy : sy > 2 ? 4 - sy : sy;
            sx = sx < 0 ? -sx : sx > 2 ? 4 - sx : sx;
            out[y * 3 + x] = (float)(sy * 3 + sx + 1) / 255.0f;
        }
}

static void check_reflect(void)
{
    uint8_t px[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    clnet_dataset *ds = make_set(1, 3, 3, px);
    clnet_augment aug = {.translate = 1, .reflect = true};
    int64_t index = 0;
    bool seen[9] = {false}, ok = ds && ds->images;
    for (uint64_t seed = 0; ok && seed < 200; seed++) {
        float x[9], want[9];
        ok = clnet_dataset_batch(NULL, ds, &index, 1, &aug, seed, NULL, NULL, x, NULL) == CLNET_OK;
        bool matched = false;
        for (int s = 0; ok && s < 9 && !matched; s++) {
            reflected(s / 3 - 1, s % 3 - 1, want);
            if (memcmp(x, want, sizeof x) == 0)
                matched = seen[s] = true;
        }
        ok = ok && matched;
    }
    for (int s = 0; s < 9; s++)
        ok = ok && seen[s];
    expect(ok, "data", "translate 1 with reflect: every image is one of the 9 reflected shifts, "
           "each of them occurs");
    float shifted[9];
    reflected(-1, -1, shifted);
    expect(near(shifted[0] * 255.0f, 5, 1e-6) && near(shifted[1] * 255.0f, 4, 1e-6) &&
           near(shifted[3] * 255.0f, 2, 1e-6), "data",
           "reflected shift by (-1, -1) starts 5 4 / 2 (hand check of the oracle)");
    free_set(ds);
}

/* Each image, asymmetric, is mirrored in exactly one of epochs 0 and 1, the
 * same way in epochs 0 and 2 whatever the per-epoch seed, and about half
 * of them in epoch 0. */
static void check_alternating_flip(void)
{
    enum { N = 64 };
    uint8_t px[N * 2];
    for (int i = 0; i < N; i++) {
        px[2 * i] = (uint8_t)i;
        px[2 * i + 1] = (uint8_t)(200 + i % 50);
    }
    clnet_dataset *ds = make_set(N, 1, 2, px);
    int64_t idx[N];
    for (int i = 0; i < N; i++)
        idx[i] = i;
    float x[3][N * 2];
    bool ok = ds && ds->images;
    for (int e = 0; ok && e < 3; e++) {
        clnet_augment aug = {.hflip_alternate = true, .alternate_seed = 9, .alternate_epoch = e};
        ok = clnet_dataset_batch(NULL, ds, idx, N, &aug, 1000 + (uint64_t)e, NULL, NULL, x[e],
                                 NULL) == CLNET_OK;
    }
    int flipped0 = 0;
    for (int i = 0; ok && i < N; i++) {
        bool f0 = x[0][2 * i] > x[0][2 * i + 1], f1 = x[1][2 * i] > x[1][2 * i + 1];
        ok = f0 != f1 && x[0][2 * i] == x[2][2 * i];
        flipped0 += f0;
    }
    expect(ok && flipped0 > N / 4 && flipped0 < 3 * N / 4, "data",
           "alternating flip: each image mirrored in one of two epochs, epoch 2 = epoch 0");
    free_set(ds);
}

/* Two 1x1x2 images (0, 255) and (255, 255): the mean image is (0.5, 1). */
static void check_pixel_mean(void)
{
    uint8_t px[4] = {0, 255, 255, 255};
    clnet_dataset *ds = make_set(2, 1, 2, px);
    float mean[2] = {-1, -1};
    if (ds && ds->images)
        clnet_dataset_pixel_mean(ds, mean);
    expect(mean[0] == 0.5f && mean[1] == 1.0f, "data", "pixel mean of (0, 255), (255, 255)");
    free_set(ds);
}

/* ---- test-time augmentation ---- */

/* A 3x3 image and a linear layer whose logits are pixels (0,0), (0,1) and
 * (2,2). airbench's level 2 views with reflect padding give the logits
 * 0.25 (p00 + p02) + 0.5 p11, 0.5 p01 + 0.25 (p10 + p12) and
 * 0.25 (p20 + p22) + 0.5 p11 (worked out by hand in the commit message). */
static void check_tta(clnet_ctx *ctx, clnet_device *dev)
{
    clnet_device_info info;
    clnet_device_info_get(dev, &info);
    clnet_tta t = clnet_tta_airbench(2);
    double total = 0.0;
    for (int v = 0; v < t.nviews; v++)
        total += t.views[v].weight;
    expect(t.nviews == 6 && t.reflect && t.logits && near(total, 1.0, 1e-7) &&
           t.views[0].weight == 0.25f && t.views[5].weight == 0.125f, info.name,
           "airbench level 2: 6 views, weights 0.25, 0.25, 0.125 x 4");
    clnet_tta all = clnet_tta_crops(2, 1, true);
    expect(all.nviews == CLNET_TTA_MAX_VIEWS && all.views[1].dy == -2 && all.views[1].dx == -2 &&
           all.views[4].dy == 2 && all.views[4].dx == 2 && all.views[5].dy == 0 &&
           all.views[5].dx == -1 && all.views[8].dy == 1 && !all.views[8].flip &&
           all.views[9].flip && all.views[9].dy == 0 && all.views[17].flip &&
           all.views[17].dy == 1 && all.views[17].weight == 1.0f, info.name,
           "crops 2, translate 1, mirror: the image, 4 corners, 4 shifts, then their mirrors");
    uint8_t px[9] = {10, 200, 30, 40, 50, 60, 70, 80, 90};
    clnet_dataset *ds = make_set(1, 3, 3, px);
    if (ds)
        ds->classes = 3;
    static const char *cfg = "[net]\ninput = 1x3x3\n[flatten]\n[linear]\noutputs = 3\nbias = 0\n";
    clnet_net *net = NULL;
    clnet_status st = clnet_net_parse_cfg(ctx, cfg, "tta.cfg", NULL, &net);
    if (st == CLNET_OK)
        st = clnet_net_bind(net, dev, 1, CLNET_INIT_HE_NORMAL, 1);
    float w[27] = {0};
    w[0] = w[9 + 1] = w[18 + 8] = 1.0f;
    if (st == CLNET_OK)
        st = nn_param_write(net, &net->layers[2].params[0], w);
    clnet_train_opts opts = {.batch = 1, .tta = &t};
    clnet_eval e;
    if (st == CLNET_OK && ds)
        st = clnet_net_evaluate(net, ds, &opts, &e);
    double l[3] = {(0.25 * (10 + 30) + 0.5 * 50) / 255, (0.5 * 200 + 0.25 * (40 + 60)) / 255,
                   (0.25 * (70 + 90) + 0.5 * 50) / 255};
    double lse = log(exp(l[0]) + exp(l[1]) + exp(l[2]));
    expect(st == CLNET_OK && near(e.loss, lse - l[0], 1e-5) && e.top1 == 0.0, info.name,
           "weighted TTA: the loss of the weighted logits (35, 125, 65) / 255");
    if (st != CLNET_OK)
        failures += test_check_status(ctx, st, "tta");
    /* the classic views are the same list: multi_crop_pad is clnet_tta_crops(pad, 0, true) */
    clnet_tta c = clnet_tta_crops(1, 0, true);
    clnet_eval crop_views = {0}, multi_crop = {0};
    opts.tta = &c;
    if (st == CLNET_OK && ds)
        st = clnet_net_evaluate(net, ds, &opts, &crop_views);
    clnet_train_opts mc = {.batch = 1, .multi_crop_pad = 1};
    if (st == CLNET_OK && ds)
        st = clnet_net_evaluate(net, ds, &mc, &multi_crop);
    expect(st == CLNET_OK && crop_views.loss == multi_crop.loss && c.nviews == 10 &&
           !c.reflect && !c.logits, info.name, "multi_crop_pad 1 = clnet_tta_crops(1, 0, true)");
    mc.tta = &c;
    expect(ds && clnet_net_evaluate(net, ds, &mc, &e) == CLNET_ERR_INVALID_ARGUMENT, info.name,
           "tta and multi_crop_pad together are refused");
    for (int v = 0; v < c.nviews; v++)
        c.views[v].weight = 0.0f;
    expect(ds && clnet_net_evaluate(net, ds, &opts, &e) == CLNET_ERR_INVALID_ARGUMENT, info.name,
           "TTA whose weights are all 0 is refused");
    c.views[0].weight = NAN;
    expect(ds && clnet_net_evaluate(net, ds, &opts, &e) == CLNET_ERR_INVALID_ARGUMENT, info.name,
           "a NaN TTA weight is refused");
    opts.tta = &t;
    t.nviews = 0;
    expect(ds && clnet_net_evaluate(net, ds, &opts, &e) == CLNET_ERR_INVALID_ARGUMENT, info.name,
           "TTA without views is refused");
    clnet_net_free(net);
    free_set(ds);
}

/* ---- the whitening initialiser ---- */

static void check_eigen(void)
{
    double a[4] = {2, 1, 1, 2}, values[3], vectors[9];
    clnet_status st = clnet_symmetric_eigen(a, 2, values, vectors);
    expect(st == CLNET_OK && near(values[0], 1, 1e-12) && near(values[1], 3, 1e-12) &&
           near(fabs(vectors[0]), sqrt(0.5), 1e-12) && near(vectors[0], -vectors[1], 1e-12) &&
           near(vectors[2], vectors[3], 1e-12), "eigen",
           "[[2 1] [1 2]]: 1 along (1, -1), 3 along (1, 1)");
    double b[9] = {4, 1, 0, 1, 4, 0, 0, 0, 2};
    st = clnet_symmetric_eigen(b, 3, values, vectors);
    expect(st == CLNET_OK && near(values[0], 2, 1e-12) && near(values[1], 3, 1e-12) &&
           near(values[2], 5, 1e-12) && near(fabs(vectors[2]), 1, 1e-12), "eigen",
           "[[4 1 0] [1 4 0] [0 0 2]]: 2 (along z), 3, 5");
}

/* W S W^T = I for the first half of the filters (S: the patches' second
 * moments, computed here again), the second half their negatives. */
static void check_whitening(clnet_ctx *ctx, clnet_device *ref)
{
    enum { N = 6, C = 3, H = 5, W = 4, D = 12 };
    static const char *cfg = "[net]\ninput = 3x5x4\n[conv]\nfilters = 24\nsize = 2\n"
                             "[activation]\ntype = relu\n";
    float images[N * C * H * W];
    test_rng rng = {17};
    test_fill_uniform(&rng, images, N * C * H * W, -1.0f, 2.0f);
    clnet_net *net = NULL;
    clnet_status st = clnet_net_parse_cfg(ctx, cfg, "whiten.cfg", NULL, &net);
    if (st == CLNET_OK)
        st = clnet_net_bind(net, ref, 1, CLNET_INIT_HE_NORMAL, 1);
    if (st == CLNET_OK)
        st = clnet_net_init_whitening(net, 1, images, N, 1e-9f);
    float *w = st == CLNET_OK ? read_param(net, 1, 0) : NULL;
    double s[D][D] = {{0}};
    int count = 0;
    for (int i = 0; i < N; i++)
        for (int y = 0; y + 2 <= H; y++)
            for (int x = 0; x + 2 <= W; x++, count++) {
                double p[D];
                for (int e = 0; e < D; e++)
                    p[e] = images[((i * C + e / 4) * H + y + e % 4 / 2) * W + x + e % 2];
                for (int a = 0; a < D; a++)
                    for (int b = 0; b < D; b++)
                        s[a][b] += p[a] * p[b];
            }
    double worst = w ? 0.0 : INFINITY;
    bool negatives = w != NULL;
    for (int i = 0; w && i < D; i++)
        for (int j = 0; j < D; j++) {
            double sum = 0.0;
            for (int a = 0; a < D; a++)
                for (int b = 0; b < D; b++)
                    sum += w[i * D + a] * s[a][b] / count * w[j * D + b];
            worst = fmax(worst, fabs(sum - (i == j)));
            negatives = negatives && w[(D + i) * D + j] == -w[i * D + j];
        }
    printf("     whitening: max |W S W^T - I| = %g\n", worst);
    expect(worst < 1e-3 && negatives, "whitening", "W S W^T = I, filters 12..23 = -filters 0..11");
    expect(clnet_net_init_whitening(net, 2, images, N, 5e-4f) == CLNET_ERR_INVALID_ARGUMENT &&
           clnet_net_init_whitening(net, 1, images, N, 0.0f) == CLNET_ERR_INVALID_ARGUMENT,
           "whitening", "refuses a layer that is not a conv, and eps 0");
    if (st != CLNET_OK)
        failures += test_check_status(ctx, st, "whitening");
    free(w);
    clnet_net_free(net);
}

int main(void)
{
    clnet_ctx *ctx;
    if (clnet_ctx_new(&ctx) != CLNET_OK)
        return 1;
    clnet_device *devs[8];
    int n, rc = test_open_devices(ctx, devs, 8, &n);
    if (rc == 1)
        return 1;
    int ref = test_ref_index(devs, n);
    schedules();
    check_reflect();
    check_alternating_flip();
    check_pixel_mean();
    check_eigen();
    check_cfg_errors(ctx);
    if (ref >= 0) {
        check_torch_init(ctx, devs[ref]);
        check_whitening(ctx, devs[ref]);
    }
    for (int d = 0; d < n; d++) {
        check_nets(devs[d]);
        check_tta(ctx, devs[d]);
    }
    clnet_ctx_free(ctx);
    printf("recipe_features: %d failed\n", failures);
    if (failures)
        return 1;
    return rc;
}
