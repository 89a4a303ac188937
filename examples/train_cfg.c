/* train_cfg.c - training from C: a net from cfg text (with its own input
 * normalisation), a dataset from the program's own arrays, a few epochs,
 * evaluation, a checkpoint; then a fresh process loads the checkpoint and
 * gets the same accuracy without being told any statistics.
 *
 *   train_cfg train model.ckpt   trains, prints "accuracy 0.xxxx", saves
 *   train_cfg eval model.ckpt    loads, prints "accuracy 0.xxxx"
 *
 * The data are made up so that the example needs no download: 12x12 images
 * of noise with one slightly brighter bar, its row giving the class (6
 * classes). To use
 * MNIST instead, load it with clnet_dataset_load(ctx, "mnist", ...) and write
 * `input = 1x28x28` and 10 outputs in the cfg. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <clnet.h>

#define CHECK(call) do { clnet_status st_ = (call); if (st_ != CLNET_OK) { \
    fprintf(stderr, "%s: %s: %s\n", #call, clnet_status_str(st_), clnet_last_error(ctx)); \
    goto out; } } while (0)

#define SIDE 12
#define CLASSES 6
#define BATCH 32
#define EPOCHS 3

static const char *cfg_text =
    "[net]\n"
    "input = 1x12x12\n"
    "mean = 0.45\n"   /* the net owns its normalisation: kept in checkpoints */
    "std = 0.23\n"
    "[conv]\n"
    "name = features\n"
    "filters = 8\n"
    "size = 3\n"
    "pad = 1\n"
    "activation = relu\n"
    "[maxpool]\n"
    "size = 2\n"
    "[linear]\n"
    "name = classifier\n"
    "outputs = 6\n";

/* count images of SIDE x SIDE bytes and their labels; the same seed gives
 * the same set. */
static void make_bars(int count, unsigned seed, uint8_t *images, uint8_t *labels)
{
    for (int i = 0; i < count; i++) {
        int label = i % CLASSES, row = 1 + 2 * label;
        uint8_t *im = images + (size_t)i * SIDE * SIDE;
        for (int p = 0; p < SIDE * SIDE; p++) {
            seed = seed * 1103515245u + 12345u;
            im[p] = (uint8_t)((seed >> 16) % 200);
        }
        for (int x = 0; x < SIDE; x++)   /* a faint bar: the task is not trivial */
            im[row * SIDE + x] = (uint8_t)(im[row * SIDE + x] + 40 > 255 ? 255
                                                                        : im[row * SIDE + x] + 40);
        labels[i] = (uint8_t)label;
    }
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "train") != 0 && strcmp(argv[1], "eval") != 0)) {
        fprintf(stderr, "usage: %s train|eval CHECKPOINT\n", argv[0]);
        return 2;
    }
    bool train = strcmp(argv[1], "train") == 0;
    enum { NTRAIN = 600, NTEST = 120 };
    static uint8_t train_images[NTRAIN * SIDE * SIDE], train_labels[NTRAIN];
    static uint8_t test_images[NTEST * SIDE * SIDE], test_labels[NTEST];
    make_bars(NTRAIN, 1, train_images, train_labels);
    make_bars(NTEST, 2, test_images, test_labels);

    int rc = 1;
    clnet_ctx *ctx = NULL;
    clnet_device *dev;
    clnet_net *net = NULL;
    clnet_dataset *train_set = NULL, *test_set = NULL;
    if (clnet_ctx_new(&ctx) != CLNET_OK)
        return 1;
    CHECK(clnet_device_find(ctx, NULL, &dev));   /* $CLNET_DEVICE, else the first OpenCL device */
    /* borrowed: the arrays stay ours and outlive the datasets */
    CHECK(clnet_dataset_from_arrays(ctx, "bars", NTRAIN, 1, SIDE, SIDE, CLASSES, train_images,
                                    train_labels, false, &train_set));
    CHECK(clnet_dataset_from_arrays(ctx, "bars", NTEST, 1, SIDE, SIDE, CLASSES, test_images,
                                    test_labels, false, &test_set));
    CHECK(clnet_net_parse_cfg(ctx, cfg_text, "train_cfg.cfg", NULL, &net));
    if (!train)   /* loading before binding: the weights wait on the host */
        CHECK(clnet_net_load(net, argv[2]));
    CHECK(clnet_net_bind(net, dev, BATCH, CLNET_INIT_HE_NORMAL, 42));

    clnet_train_opts opts = {.batch = BATCH, .seed = 7};   /* zero = default, see clnet/nn.h */
    clnet_eval stats;
    if (train) {
        clnet_optimizer sgd = {.kind = CLNET_OPTIM_SGD, .lr = 0.05f, .momentum = 0.9f};
        for (int e = 0; e < EPOCHS; e++) {
            opts.epoch = e;
            CHECK(clnet_net_train_epoch(net, train_set, &opts, &sgd, &stats));
            printf("epoch %d: loss %.4f, training accuracy %.4f\n", e + 1, stats.loss,
                   stats.top1);
        }
    }
    CHECK(clnet_net_evaluate(net, test_set, &opts, &stats));
    printf("accuracy %.4f\n", stats.top1);
    if (train)
        CHECK(clnet_net_save(net, argv[2]));
    rc = 0;
out:
    clnet_net_free(net);
    clnet_dataset_free(train_set);
    clnet_dataset_free(test_set);
    clnet_ctx_free(ctx);
    return rc;
}
