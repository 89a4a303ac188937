/* test_finetune.c - transfer learning: a LeNet-5 trained briefly on the
 * MNIST digits 0-4 (a 10-way head) is fine-tuned to the digits 5-9 (a new
 * 5-way head) with clnet_net_load_backbone. The loaded layers hold the
 * checkpoint's weights, the frozen ones stay byte-identical through
 * training, the fine-tuned net scores far above chance; and the errors:
 * an unknown layer name, a head on a net without a classifier layer, a
 * checkpoint of another architecture (the message names the layer and both
 * shapes). Skips (77) without MNIST, except under CI=true. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clnet.h"
#include "testutil.h"

#define SEED 2024u
#define BATCH 64
#define PRETRAIN_IMAGES 4000
#define FINETUNE_IMAGES 3000
#define TEST_IMAGES 2000
#define MIN_ACCURACY 0.80   /* chance is 0.20; one epoch of this reaches ~0.93 */
#define FROZEN_UPTO "pool2" /* conv1, pool1, conv2, pool2: the features */
#define FROZEN_LAST 4

typedef struct digits {
    clnet_dataset *low;          /* training digits 0-4, labels kept (10 classes) */
    clnet_dataset *high_train;   /* digits 5-9 as classes 0-4 */
    clnet_dataset *high_test;
    float mean[1], std[1];
} digits;

static void digits_free(digits *d)
{
    clnet_dataset_free(d->low);
    clnet_dataset_free(d->high_train);
    clnet_dataset_free(d->high_test);
}

/* 0 with the data split, TEST_SKIP when MNIST is absent (a failure when
 * CI=true), 1 on any other error. */
static int load_digits(clnet_ctx *ctx, digits *d)
{
    const char *env = getenv("CLNET_DATA"), *ci = getenv("CI");
    const char *dir = env && *env ? env : CLNET_SOURCE_ROOT "/../shared/datasets";
    clnet_dataset *train = NULL, *test = NULL;
    clnet_status st = clnet_dataset_load(ctx, "mnist", CLNET_SPLIT_TRAIN, dir, &train);
    if (st == CLNET_OK)
        st = clnet_dataset_load(ctx, "mnist", CLNET_SPLIT_TEST, dir, &test);
    if (st == CLNET_ERR_IO && !(ci && strcmp(ci, "true") == 0)) {
        printf("SKIP: MNIST not found: %s\n", clnet_last_error(ctx));
        clnet_dataset_free(train);
        return TEST_SKIP;
    }
    const int low[10] = {0, 1, 2, 3, 4, -1, -1, -1, -1, -1};
    const int high[10] = {-1, -1, -1, -1, -1, 0, 1, 2, 3, 4};
    if (st == CLNET_OK)
        st = clnet_dataset_remap_labels(ctx, train, low, 10, 10, &d->low);
    if (st == CLNET_OK)
        st = clnet_dataset_remap_labels(ctx, train, high, 10, 5, &d->high_train);
    if (st == CLNET_OK)
        st = clnet_dataset_remap_labels(ctx, test, high, 10, 5, &d->high_test);
    if (st == CLNET_OK)
        clnet_dataset_stats(train, d->mean, d->std);
    clnet_dataset_free(train);
    clnet_dataset_free(test);
    return test_check_status(ctx, st, "loading and splitting MNIST");
}

/* The zoo's LeNet-5 with `classes` outputs, unbound. */
static clnet_net *lenet5(clnet_ctx *ctx, int classes)
{
    clnet_cfg_overrides ov = {.classes = classes};
    clnet_net *net = NULL;
    return OK(ctx, clnet_net_zoo(ctx, "lenet5", &ov, &net)) ? net : NULL;
}

static bool train_epoch(clnet_ctx *ctx, clnet_net *net, const clnet_dataset *ds, int limit,
                        const float *mean, const float *std)
{
    clnet_optimizer sgd = {.kind = CLNET_OPTIM_SGD, .lr = 0.02f, .momentum = 0.9f,
                           .weight_decay = 5e-4f};
    clnet_train_opts opts = {.batch = BATCH, .seed = SEED, .limit = limit, .mean = mean,
                             .std = std};
    clnet_eval ev;
    return OK(ctx, clnet_net_train_epoch(net, ds, &opts, &sgd, &ev));
}

/* Every parameter of layers first..last, concatenated (malloc'd; *count
 * floats), or NULL. */
static float *params_of(clnet_net *net, int first, int last, size_t *count)
{
    size_t n = 0, cap = 0;
    float *all = NULL;
    for (int id = first; id <= last; id++)
        for (int j = 0;; j++) {
            clnet_shape s;
            if (clnet_net_param_read(net, id, j, &s, NULL, 0) != CLNET_OK)
                break;
            size_t k = 1;
            for (int d = 0; d < s.ndim; d++)
                k *= (size_t)s.dim[d];
            if (n + k > cap) {
                cap = 2 * (n + k);
                float *grown = realloc(all, cap * sizeof *all);
                if (!grown) {
                    free(all);
                    return NULL;
                }
                all = grown;
            }
            if (clnet_net_param_read(net, id, j, NULL, all + n, k) != CLNET_OK) {
                free(all);
                return NULL;
            }
            n += k;
        }
    *count = n;
    return all;
}

static bool same_params(clnet_net *a, clnet_net *b, int first, int last)
{
    size_t na = 0, nb = 0;
    float *pa = params_of(a, first, last, &na), *pb = params_of(b, first, last, &nb);
    bool same = pa && pb && na == nb && na > 0 && memcmp(pa, pb, na * sizeof *pa) == 0;
    free(pa);
    free(pb);
    return same;
}

/* LeNet-5 on digits 0-4, saved to `path`; *out keeps it for comparisons. */
static bool pretrain(clnet_ctx *ctx, clnet_device *dev, const digits *d, const char *path,
                     clnet_net **out)
{
    clnet_net *net = lenet5(ctx, 10);
    *out = net;
    return net && OK(ctx, clnet_net_bind(net, dev, BATCH, CLNET_INIT_HE_NORMAL, SEED)) &&
           train_epoch(ctx, net, d->low, PRETRAIN_IMAGES, d->mean, d->std) &&
           OK(ctx, clnet_net_save(net, path));
}

static void test_finetune(clnet_ctx *ctx, clnet_device *dev, const digits *d, const char *path,
                          clnet_net *base)
{
    clnet_net *net = lenet5(ctx, 5);
    int head = -1, upto = -1;
    if (!net || !OK(ctx, clnet_net_find_head(net, &head)) ||
        !OK(ctx, clnet_net_find_layer(net, FROZEN_UPTO, &upto)))
        goto out;
    CHECK(head == 8 && upto == FROZEN_LAST, "LeNet-5's head is layer %d (expected 8), %s "
          "layer %d", head, FROZEN_UPTO, upto);
    if (!OK(ctx, clnet_net_load_backbone(net, path, head)) ||
        !OK(ctx, clnet_net_bind(net, dev, BATCH, CLNET_INIT_HE_NORMAL, SEED + 1)) ||
        !OK(ctx, clnet_net_freeze(net, 1, upto, true)))
        goto out;
    float mean = 0, std = 0;
    CHECK(clnet_net_input_norm(net, &mean, &std) && mean == d->mean[0] && std == d->std[0],
          "the backbone's normalisation was not loaded");
    CHECK(same_params(net, base, 1, head - 1), "layers 1..%d differ from the checkpoint's",
          head - 1);
    size_t nfrozen = 0;
    float *before = params_of(net, 1, upto, &nfrozen);
    /* the pretrained net's normalisation is the net's own: none passed */
    bool trained = train_epoch(ctx, net, d->high_train, FINETUNE_IMAGES, NULL, NULL);
    size_t nafter = 0;
    float *after = params_of(net, 1, upto, &nafter);
    CHECK(before && after && nfrozen == nafter && nfrozen > 0 &&
          memcmp(before, after, nfrozen * sizeof *before) == 0,
          "the frozen layers 1..%d changed in training", upto);
    CHECK(!same_params(net, base, upto + 1, head - 1), "the trainable layers did not train");
    free(before);
    free(after);
    clnet_train_opts opts = {.batch = BATCH, .limit = TEST_IMAGES};
    clnet_eval ev;
    if (trained && OK(ctx, clnet_net_evaluate(net, d->high_test, &opts, &ev))) {
        printf("fine-tuned to the digits 5-9: %.2f%% of %lld test images (chance 20%%, "
               "required %.0f%%)\n", 100 * ev.top1, (long long)ev.count, 100 * MIN_ACCURACY);
        CHECK(ev.top1 >= MIN_ACCURACY, "accuracy %.4f below %.2f", ev.top1, MIN_ACCURACY);
    }
out:
    clnet_net_free(net);
}

/* clnet_last_error holds every one of `parts`. */
static bool says(clnet_ctx *ctx, const char *const *parts, int n)
{
    for (int i = 0; i < n; i++)
        if (!strstr(clnet_last_error(ctx), parts[i]))
            return false;
    return true;
}

static void test_errors(clnet_ctx *ctx, const char *path)
{
    clnet_net *net = lenet5(ctx, 5), *other = NULL, *bare = NULL;
    int id = -1;
    if (!net)
        return;
    clnet_status st = clnet_net_find_layer(net, "no-such-layer", &id);
    const char *unknown[] = {"no-such-layer"};
    CHECK(st == CLNET_ERR_INVALID_ARGUMENT && says(ctx, unknown, 1),
          "an unknown layer name: %s: %s", clnet_status_str(st), clnet_last_error(ctx));

    /* the whole checkpoint does not fit a net with another head ... */
    st = clnet_net_load(net, path);
    const char *head_shapes[] = {"fc3", "10x84", "5x84"};
    CHECK(st == CLNET_ERR_FORMAT && says(ctx, head_shapes, 3),
          "a strict load across heads: %s: %s", clnet_status_str(st), clnet_last_error(ctx));
    st = clnet_net_load_backbone(net, path, clnet_net_layer_count(net));
    CHECK(st == CLNET_ERR_INVALID_ARGUMENT, "a head beyond the net: %s", clnet_status_str(st));

    /* ... and its backbone does not fit another architecture */
    char *text = strdup(clnet_zoo_cfg("lenet5"));
    char *filters = text ? strstr(text, "filters = 16") : NULL;
    if (filters) {
        memcpy(filters, "filters = 12", 12);
        if (OK(ctx, clnet_net_parse_cfg(ctx, text, "narrow", NULL, &other))) {
            st = clnet_net_load_backbone(other, path, 8);
            const char *conv2[] = {"conv2", "16x6x5x5", "12x6x5x5"};
            CHECK(st == CLNET_ERR_FORMAT && says(ctx, conv2, 3),
                  "another architecture: %s: %s", clnet_status_str(st), clnet_last_error(ctx));
        }
    }
    free(text);

    /* a net without a linear, conv or rbf layer has no head to replace */
    clnet_shape in = {.ndim = 3, .dim = {1, 4, 4}};
    clnet_layer_spec pool = {.kind = CLNET_LAYER_POOL, .pool = {.mode = CLNET_POOL_MAX,
                             .kernel = {2, 2}, .stride = {2, 2}}};
    if (OK(ctx, clnet_net_new(ctx, &in, &bare)) && OK(ctx, clnet_net_add(bare, &pool, NULL))) {
        st = clnet_net_find_head(bare, &id);
        const char *no_head[] = {"no linear, conv or rbf layer"};
        CHECK(st == CLNET_ERR_INVALID_ARGUMENT && says(ctx, no_head, 1),
              "a net without a head: %s: %s", clnet_status_str(st), clnet_last_error(ctx));
    }
    clnet_net_free(bare);
    clnet_net_free(other);
    clnet_net_free(net);
}

int main(void)
{
    clnet_ctx *ctx = NULL;
    if (clnet_ctx_new(&ctx) != CLNET_OK)
        return 1;
    clnet_device *devs[8];
    int ndev = 0, rc = test_open_devices(ctx, devs, 8, &ndev);
    digits d = {0};
    char dir[] = "/tmp/clnet-finetune-XXXXXX", path[64] = "";
    if (rc == 0)
        rc = load_digits(ctx, &d);
    if (rc == 0 && !mkdtemp(dir))
        rc = 1;
    clnet_net *base = NULL;
    if (rc == 0) {
        snprintf(path, sizeof path, "%s/digits04.ckpt", dir);
        /* devs[0] is an OpenCL device when there is one */
        if (pretrain(ctx, devs[0], &d, path, &base)) {
            test_finetune(ctx, devs[0], &d, path, base);
            test_errors(ctx, path);
        } else {
            test_failures++;
        }
        unlink(path);
        rmdir(dir);
    }
    clnet_net_free(base);
    digits_free(&d);
    clnet_ctx_free(ctx);
    if (rc)
        return rc;
    if (test_failures) {
        printf("%d failures\n", test_failures);
        return 1;
    }
    printf("fine-tuning: all checks passed\n");
    return 0;
}
