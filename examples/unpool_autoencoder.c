/* unpool_autoencoder.c - trains a SegNet-style convolutional autoencoder
 * (a cfg net whose decoder unpools at the encoder's max-pooling switches,
 * examples/segnet_mnist.cfg) to reconstruct MNIST digits with the MSE loss,
 * and checks that its test reconstructions beat the mean training image by
 * far. Usage: unpool_autoencoder [--quick] [--device D] [--data DIR] CFG
 * Exits 77 (skipped) when MNIST is not found, unless CI=true. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <clnet.h>
#include <clnet/nn.h>

#define BATCH 32
#define SEED 1989
#define PIXELS (28 * 28)
/* the test MSE must be below this fraction of the mean image's */
#define MAX_RATIO 0.25

#define CHECK(call) do { clnet_status st_ = (call); if (st_ != CLNET_OK) { \
    fprintf(stderr, "%s: %s: %s\n", #call, clnet_status_str(st_), clnet_last_error(ctx)); \
    goto done; } } while (0)

/* Images first..first+n-1 of ds (in the order `order`, or as stored when
 * NULL) as floats in [0, 1]. */
static void to_floats(const clnet_dataset *ds, const int64_t *order, int64_t first, int n,
                      float *x)
{
    for (int i = 0; i < n; i++) {
        int64_t k = order ? order[first + i] : first + i;
        const uint8_t *im = ds->images + k * PIXELS;
        for (int p = 0; p < PIXELS; p++)
            x[(size_t)i * PIXELS + p] = im[p] / 255.0f;
    }
}

/* Mean squared error per pixel of the net's reconstructions of the first
 * `count` images of ds, and of the per-pixel mean image `mean`. */
static clnet_status test_mse(clnet_net *net, const clnet_dataset *ds, int64_t count,
                             const double *mean, double *mse, double *mean_mse)
{
    static float x[BATCH * PIXELS], y[BATCH * PIXELS];
    double sum = 0, base = 0;
    clnet_status st = CLNET_OK;
    for (int64_t b = 0; b < count && st == CLNET_OK; b += BATCH) {
        int n = count - b < BATCH ? (int)(count - b) : BATCH;
        to_floats(ds, NULL, b, n, x);
        st = clnet_net_forward(net, x, n);
        if (st == CLNET_OK)
            st = clnet_net_read_output(net, y, (size_t)n * PIXELS);
        for (int i = 0; st == CLNET_OK && i < n * PIXELS; i++) {
            sum += (y[i] - x[i]) * (double)(y[i] - x[i]);
            base += (mean[i % PIXELS] - x[i]) * (mean[i % PIXELS] - x[i]);
        }
    }
    *mse = sum / (double)(count * PIXELS);
    *mean_mse = base / (double)(count * PIXELS);
    return st;
}

/* One shuffled pass over the first ntrain images; returns the mean batch loss. */
static clnet_status train_epoch(clnet_net *net, const clnet_dataset *ds, int64_t *order,
                                int64_t ntrain, const clnet_optimizer *opt, int epoch,
                                double *loss)
{
    static float x[BATCH * PIXELS];
    float l = 0;
    double sum = 0;
    int batches = 0;
    clnet_status st = CLNET_OK;
    for (int64_t i = 0; i < ntrain; i++)
        order[i] = i;
    clnet_dataset_shuffle(order, ntrain, SEED + (uint64_t)epoch);
    clnet_net_set_training(net, true);
    for (int64_t b = 0; b < ntrain && st == CLNET_OK; b += BATCH, batches++) {
        int n = ntrain - b < BATCH ? (int)(ntrain - b) : BATCH;
        to_floats(ds, order, b, n, x);
        st = clnet_net_forward(net, x, n);
        if (st == CLNET_OK)   /* the image is its own target */
            st = clnet_net_backward(net, NULL, x, &l);
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
    const char *selector = NULL, *dir = NULL, *cfg = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = true;
        else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
            selector = argv[++i];
        else if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (!cfg && argv[i][0] != '-')
            cfg = argv[i];
        else {
            cfg = NULL;   /* anything else: the usage */
            break;
        }
    }
    if (!cfg) {
        fprintf(stderr, "usage: %s [--quick] [--device D] [--data DIR] CFG\n", argv[0]);
        return 2;
    }
    const int64_t ntrain = quick ? 4096 : 60000, ntest = quick ? 1000 : 10000;
    const int epochs = quick ? 2 : 5;
    int rc = 1;
    clnet_ctx *ctx = NULL;
    clnet_net *net = NULL;
    clnet_dataset *train = NULL, *test = NULL;
    clnet_device *dev;
    clnet_device_info info;
    int64_t *order = malloc((size_t)ntrain * sizeof *order);
    double *mean = calloc(PIXELS, sizeof *mean);
    if (!order || !mean || clnet_ctx_new(&ctx) != CLNET_OK)
        goto done;
    clnet_status st = clnet_dataset_load(ctx, "mnist", CLNET_SPLIT_TRAIN, dir, &train);
    if (st == CLNET_OK)
        st = clnet_dataset_load(ctx, "mnist", CLNET_SPLIT_TEST, dir, &test);
    const char *ci = getenv("CI");
    if (st == CLNET_ERR_IO && !(ci && strcmp(ci, "true") == 0)) {
        printf("SKIP: MNIST not found: %s\n", clnet_last_error(ctx));
        rc = 77;
        goto done;
    }
    CHECK(st);
    for (int64_t k = 0; k < ntrain; k++)
        for (int p = 0; p < PIXELS; p++)
            mean[p] += train->images[k * PIXELS + p] / 255.0 / (double)ntrain;
    CHECK(clnet_device_find(ctx, selector, &dev));
    CHECK(clnet_device_info_get(dev, &info));
    CHECK(clnet_net_load_cfg(ctx, cfg, NULL, &net));
    CHECK(clnet_net_set_loss(net, CLNET_LOSS_MSE, 0));
    CHECK(clnet_net_bind(net, dev, BATCH, CLNET_INIT_HE_NORMAL, SEED));
    printf("device %s; %lld training and %lld test images of MNIST\n", info.name,
           (long long)ntrain, (long long)ntest);
    clnet_net_summary(net, stdout);

    const clnet_optimizer adam = {.kind = CLNET_OPTIM_ADAM, .lr = 2e-3f};
    double loss, mse = 0, mean_mse = 0;
    for (int e = 0; e < epochs; e++) {
        CHECK(train_epoch(net, train, order, ntrain, &adam, e, &loss));
        CHECK(test_mse(net, test, ntest, mean, &mse, &mean_mse));
        printf("epoch %d  train MSE %.5f  test MSE %.5f\n", e + 1, loss, mse);
    }
    printf("test MSE %.5f vs %.5f for the mean training image (ratio %.3f, must be < %.2f)\n",
           mse, mean_mse, mse / mean_mse, MAX_RATIO);
    rc = mse < MAX_RATIO * mean_mse ? 0 : 1;
    if (rc)
        printf("FAIL: the autoencoder does not reconstruct the digits\n");
done:
    clnet_net_free(net);
    clnet_dataset_free(train);
    clnet_dataset_free(test);
    clnet_ctx_free(ctx);
    free(order);
    free(mean);
    return rc;
}
