/* regression_1d.c - a 1-D CNN, built layer by layer in C, learns to predict
 * the next value of a noisy sum of sines from the 32 values before it (MSE
 * loss, Adam), and must beat the naive "repeat the last value" forecast.
 * Usage: regression_1d [--quick] [--device D] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <clnet.h>
#include <clnet/nn.h>

#define WINDOW 32
#define BATCH 32
#define NOISE 0.1
#define SEED 2024

#define CHECK(call) do { clnet_status st_ = (call); if (st_ != CLNET_OK) { \
    fprintf(stderr, "%s: %s: %s\n", #call, clnet_status_str(st_), clnet_last_error(ctx)); \
    goto done; } } while (0)

/* splitmix64, so every run and machine sees the same series. */
static double uniform(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* Three incommensurate periods plus Gaussian noise (Box-Muller): the
 * noise is what the last-value forecast cannot average away. */
static void make_series(float *x, int n)
{
    const double two_pi = 6.283185307179586;
    uint64_t rng = SEED;
    for (int t = 0; t < n; t++) {
        double noise = NOISE * sqrt(-2.0 * log(uniform(&rng))) * cos(two_pi * uniform(&rng));
        x[t] = (float)(sin(two_pi * t / 50.0) + 0.5 * sin(two_pi * t / 17.0 + 1.0) +
                       0.3 * sin(two_pi * t / 7.3) + noise);
    }
}

static clnet_layer_spec conv1d(int out_channels, int kernel, int stride)
{
    clnet_layer_spec s = {.kind = CLNET_LAYER_CONV, .out_channels = out_channels,
                          .kernel = {1, kernel}, .bias = true, .has_act = true,
                          .act = {.fn = CLNET_ACT_RELU}};
    s.conv = clnet_op_conv(stride, kernel / 2, 1, 1).u.conv;   /* "same" padding */
    return s;
}

static clnet_layer_spec linear(int outputs, bool relu)
{
    return (clnet_layer_spec){.kind = CLNET_LAYER_LINEAR, .out_channels = outputs, .bias = true,
                              .has_act = relu, .act = {.fn = CLNET_ACT_RELU}};
}

/* (1, WINDOW) -> conv 16 -> conv 32 stride 2 -> linear 64 -> linear 1. */
static clnet_status build_net(clnet_ctx *ctx, clnet_net **out)
{
    const clnet_shape input = {.ndim = 2, .dim = {1, WINDOW}};
    const clnet_layer_spec layers[] = {conv1d(16, 5, 1), conv1d(32, 5, 2), linear(64, true),
                                       linear(1, false)};
    clnet_status st = clnet_net_new(ctx, &input, out);
    for (size_t i = 0; st == CLNET_OK && i < sizeof layers / sizeof layers[0]; i++)
        st = clnet_net_add(*out, &layers[i], NULL);
    return st == CLNET_OK ? clnet_net_set_loss(*out, CLNET_LOSS_MSE, 0) : st;
}

/* For each target index, copies the WINDOW values before it into x and the
 * value itself into y. */
static void gather(const float *series, const int64_t *targets, int n, float *x, float *y)
{
    for (int i = 0; i < n; i++) {
        memcpy(x + (size_t)i * WINDOW, series + targets[i] - WINDOW, WINDOW * sizeof *x);
        y[i] = series[targets[i]];
    }
}

/* Mean squared error of the net's predictions for targets t0..t1-1. */
static clnet_status test_mse(clnet_net *net, const float *series, int64_t t0, int64_t t1,
                             double *mse)
{
    float x[BATCH * WINDOW], y[BATCH], pred[BATCH];
    int64_t idx[BATCH];
    double sum = 0;
    clnet_status st = CLNET_OK;
    for (int64_t t = t0; t < t1 && st == CLNET_OK; t += BATCH) {
        int n = t1 - t < BATCH ? (int)(t1 - t) : BATCH;
        for (int i = 0; i < n; i++)
            idx[i] = t + i;
        gather(series, idx, n, x, y);
        st = clnet_net_forward(net, x, n);
        if (st == CLNET_OK)
            st = clnet_net_read_output(net, pred, (size_t)n);
        for (int i = 0; st == CLNET_OK && i < n; i++)
            sum += (pred[i] - y[i]) * (double)(pred[i] - y[i]);
    }
    *mse = sum / (double)(t1 - t0);
    return st;
}

/* One shuffled pass over the training targets; returns the mean batch loss. */
static clnet_status train_epoch(clnet_net *net, const float *series, int64_t *order,
                                int64_t ntrain, const clnet_optimizer *opt, int epoch,
                                double *loss)
{
    float x[BATCH * WINDOW], y[BATCH], l = 0;
    double sum = 0;
    int batches = 0;
    clnet_status st = CLNET_OK;
    clnet_dataset_shuffle(order, ntrain, SEED + (uint64_t)epoch);
    for (int64_t i = 0; i < ntrain; i++)
        order[i] += WINDOW;   /* permutation of the target indices WINDOW.. */
    clnet_net_set_training(net, true);
    for (int64_t b = 0; b < ntrain && st == CLNET_OK; b += BATCH, batches++) {
        int n = ntrain - b < BATCH ? (int)(ntrain - b) : BATCH;
        gather(series, order + b, n, x, y);
        st = clnet_net_forward(net, x, n);
        if (st == CLNET_OK)
            st = clnet_net_backward(net, NULL, y, &l);
        if (st == CLNET_OK)
            st = clnet_net_step(net, opt, clnet_optimizer_lr(opt, epoch));
        sum += l;
    }
    clnet_net_set_training(net, false);
    *loss = sum / batches;
    return st;
}

int main(int argc, char **argv)
{
    bool quick = false;
    const char *selector = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) {
            selector = argv[++i];
        } else {
            fprintf(stderr, "usage: %s [--quick] [--device D]\n", argv[0]);
            return 2;
        }
    }
    const int npoints = quick ? 2000 : 8000, epochs = quick ? 6 : 30;
    const int64_t split = npoints * 4 / 5, ntrain = split - WINDOW;
    int rc = 1;
    clnet_ctx *ctx = NULL;
    clnet_net *net = NULL;
    clnet_device *dev;
    clnet_device_info info;
    float *series = malloc((size_t)npoints * sizeof *series);
    int64_t *order = malloc((size_t)ntrain * sizeof *order);
    if (!series || !order || clnet_ctx_new(&ctx) != CLNET_OK)
        goto done;
    make_series(series, npoints);
    CHECK(clnet_device_find(ctx, selector, &dev));
    CHECK(clnet_device_info_get(dev, &info));
    CHECK(build_net(ctx, &net));
    CHECK(clnet_net_bind(net, dev, BATCH, CLNET_INIT_HE_NORMAL, SEED));
    printf("device %s; %d points, windows of %d: %lld training and %lld test targets\n",
           info.name, npoints, WINDOW, (long long)ntrain, (long long)(npoints - split));
    clnet_net_summary(net, stdout);

    const clnet_optimizer adam = {.kind = CLNET_OPTIM_ADAM, .lr = 1e-3f};
    double loss, mse;
    for (int e = 0; e < epochs; e++) {
        CHECK(train_epoch(net, series, order, ntrain, &adam, e, &loss));
        CHECK(test_mse(net, series, split, npoints, &mse));
        printf("epoch %2d  train MSE %.5f  test MSE %.5f\n", e + 1, loss, mse);
    }
    double naive = 0;
    for (int64_t t = split; t < npoints; t++)
        naive += (series[t] - series[t - 1]) * (double)(series[t] - series[t - 1]);
    naive /= (double)(npoints - split);
    printf("test MSE %.5f vs %.5f for repeating the last value (noise floor %.5f)\n", mse, naive,
           NOISE * NOISE);
    rc = mse < naive ? 0 : 1;
    if (rc)
        printf("FAIL: the CNN does not beat the naive forecast\n");
done:
    clnet_net_free(net);
    clnet_ctx_free(ctx);
    free(order);
    free(series);
    return rc;
}
