/* test_parallel.c - data-parallel training across devices in one process
 * (clnet/parallel.h): on two PoCL devices (POCL_DEVICES="pthread pthread",
 * set by tests/meson.build) LeNet-5 follows the single-device loss curve of
 * the same global batch on MNIST, equal and unequal splits alike, through
 * clnet_parallel_step and clnet_parallel_train_epoch; the replicas' weights
 * stay bit-identical; an OpenCL + ref pair works too; bad groups are refused
 * with messages that name the problem. A small residual net with batch norm
 * follows the single-device curve with synchronised batch norm (and does
 * not without it). */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clnet/parallel.h"
#include "testutil.h"

#define MAX_DEVICES 16
#define SEED 4321
#define STEPS 30
#define BATCH 32
#define LR 0.02f
/* The replicas sum per-slice gradients where one device sums the whole
 * batch: float rounding differs, and momentum carries it along, but over
 * these steps it stays orders of magnitude below TOL. A split that lost or
 * double-counted a slice, or forgot the share weighting, moves the losses by
 * far more from the second step on. */
#define TOL 1e-3
#define MIN_DROP 0.3
#define EPOCH_LIMIT 640

typedef struct mnist {
    clnet_dataset *train;
    float mean[1], std[1];
} mnist;

static bool under_ci(void)
{
    const char *ci = getenv("CI");
    return ci && strcmp(ci, "true") == 0;
}

static int load_mnist(clnet_ctx *ctx, mnist *m)
{
    const char *env = getenv("CLNET_DATA");
    const char *dir = env && *env ? env : CLNET_SOURCE_ROOT "/../shared/datasets";
    clnet_status st = clnet_dataset_load(ctx, "mnist", CLNET_SPLIT_TRAIN, dir, &m->train);
    if (st == CLNET_ERR_IO && !under_ci()) {
        printf("SKIP: MNIST not found: %s\n", clnet_last_error(ctx));
        return TEST_SKIP;
    }
    if (test_check_status(ctx, st, "loading MNIST"))
        return 1;
    clnet_dataset_stats(m->train, m->mean, m->std);
    return 0;
}

static clnet_net *lenet5(clnet_ctx *ctx)
{
    clnet_net *net = NULL;
    const clnet_cfg_overrides none = {0};
    if (test_check_status(ctx, clnet_net_zoo(ctx, "lenet5", &none, &net), "zoo lenet5"))
        return NULL;
    return net;
}

/* A residual net with batch norm: a stem, one basic block (its second batch
 * norm fused with the residual add), global pooling, a classifier. */
static const char resnet_cfg[] =
    "[net]\ninput = 1x28x28\n"
    "[conv]\nfilters = 8\nsize = 3\nstride = 2\npad = 1\nbias = 0\n"
    "[batchnorm]\nactivation = relu\n"
    "[conv]\nfilters = 8\nsize = 3\npad = 1\nbias = 0\n"
    "[batchnorm]\nactivation = relu\n"
    "[conv]\nfilters = 8\nsize = 3\npad = 1\nbias = 0\n"
    "[batchnorm]\n"
    "[add]\nfrom = -1, -5\n"
    "[activation]\ntype = relu\n"
    "[globalavgpool]\n"
    "[linear]\noutputs = 10\n";

static clnet_net *small_resnet(clnet_ctx *ctx)
{
    clnet_net *net = NULL;
    if (test_check_status(ctx, clnet_net_parse_cfg(ctx, resnet_cfg, "small_resnet", NULL, &net),
                          "small resnet cfg"))
        return NULL;
    return net;
}

static const clnet_optimizer sgd = {.kind = CLNET_OPTIM_SGD, .lr = LR, .momentum = 0.9f,
                                    .weight_decay = 5e-4f};

static clnet_status batch_of(const mnist *m, int step, int n, float *x, int32_t *labels)
{
    int64_t idx[BATCH];
    for (int i = 0; i < n; i++)
        idx[i] = (int64_t)step * n + i;
    return clnet_dataset_batch(NULL, m->train, idx, n, NULL, 0, m->mean, m->std, x, labels);
}

/* `steps` SGD steps of batch n on one device; loss[s] of step s. The
 * trained net goes to *keep when keep is given, else it is freed. */
static int single_curve_of(clnet_ctx *ctx, clnet_net *(*make)(clnet_ctx *), clnet_device *dev,
                           const mnist *m, int steps, int n, float *loss, clnet_net **keep)
{
    clnet_net *net = make(ctx);
    if (!net)
        return 1;
    static float x[BATCH * 28 * 28];
    int32_t labels[BATCH];
    clnet_status st = clnet_net_bind(net, dev, n, CLNET_INIT_HE_NORMAL, SEED);
    clnet_net_set_training(net, true);
    for (int s = 0; s < steps && st == CLNET_OK; s++) {
        st = batch_of(m, s, n, x, labels);
        if (st == CLNET_OK)
            st = clnet_net_forward(net, x, n);
        if (st == CLNET_OK)
            st = clnet_net_backward(net, labels, NULL, &loss[s]);
        if (st == CLNET_OK)
            st = clnet_net_step(net, &sgd, LR);
    }
    if (keep && st == CLNET_OK)
        *keep = net;
    else
        clnet_net_free(net);
    return test_check_status(ctx, st, "single-device step");
}

static int single_curve(clnet_ctx *ctx, clnet_device *dev, const mnist *m, int steps, int n,
                        float *loss)
{
    return single_curve_of(ctx, lenet5, dev, m, steps, n, loss, NULL);
}

/* Every parameter of replica r equals replica 0's, bit for bit. */
static int replicas_identical(clnet_parallel *par)
{
    clnet_net *first = clnet_parallel_replica(par, 0);
    int bad = 0;
    for (int r = 1; r < clnet_parallel_count(par); r++) {
        clnet_net *other = clnet_parallel_replica(par, r);
        for (int id = 0; id < clnet_net_layer_count(first); id++) {
            clnet_layer_info info;
            clnet_net_layer_info(first, id, &info);
            for (int p = 0; p < 4; p++) {
                clnet_shape shape;
                if (clnet_net_param_read(first, id, p, &shape, NULL, 0) != CLNET_OK)
                    break;
                size_t count = (size_t)clnet_shape_numel(&shape);
                float *a = malloc(count * sizeof *a), *b = malloc(count * sizeof *b);
                bool same = a && b &&
                            clnet_net_param_read(first, id, p, NULL, a, count) == CLNET_OK &&
                            clnet_net_param_read(other, id, p, NULL, b, count) == CLNET_OK &&
                            memcmp(a, b, count * sizeof *a) == 0;
                if (!same) {
                    printf("FAIL: replica %d's parameter %d of layer %s differs from "
                           "replica 0's\n", r, p, info.name);
                    bad++;
                }
                free(a);
                free(b);
            }
        }
    }
    return bad ? 1 : 0;
}

/* The same steps on a group of devices with the given weights (NULL:
 * equal), compared with the single-device losses. */
static int parallel_curve(clnet_ctx *ctx, clnet_device *const *devs, int ndevs,
                          const float *weights, const mnist *m, int steps, int n,
                          const float *expected, const char *what)
{
    clnet_net *net = lenet5(ctx);
    if (!net)
        return 1;
    clnet_parallel *par = NULL;
    static float x[BATCH * 28 * 28];
    int32_t labels[BATCH];
    int bad = 0;
    clnet_status st = clnet_parallel_new(net, devs, ndevs, weights, n, CLNET_INIT_HE_NORMAL,
                                         SEED, &par);
    for (int s = 0; s < steps && st == CLNET_OK; s++) {
        float loss;
        st = batch_of(m, s, n, x, labels);
        if (st == CLNET_OK)
            st = clnet_parallel_step(par, x, labels, NULL, n, &sgd, LR, &loss, NULL);
        if (st != CLNET_OK)
            break;
        double diff = fabs((double)loss - expected[s]);
        bool ok = diff <= TOL * fmax(1.0, fabs(expected[s]));
        if (!ok || s == 0 || s == steps - 1)
            printf("%s, step %d: loss %.6f, one device %.6f, difference %.2g%s\n", what, s,
                   loss, expected[s], diff, ok ? "" : "  <-- FAIL");
        bad += !ok;
    }
    int rc = test_check_status(ctx, st, what);
    if (!rc && replicas_identical(par))
        rc = 1;
    int64_t nsteps;
    double compute, reduce, step;
    clnet_parallel_timing(par, &nsteps, &compute, &reduce, &step);
    if (!rc)
        printf("%s: %lld steps, per step %.2f ms compute, %.2f ms all-reduce, %.2f ms step\n",
               what, (long long)nsteps, compute / nsteps, reduce / nsteps, step / nsteps);
    clnet_parallel_free(par);
    clnet_net_free(net);
    return rc || bad ? 1 : 0;
}

/* The largest difference, relative to max(1, |a|), between the
 * parameters (running statistics included) of two nets of one layout. */
static double param_difference(clnet_net *a, clnet_net *b)
{
    double worst = 0.0;
    for (int id = 0; id < clnet_net_layer_count(a); id++)
        for (int p = 0; p < 4; p++) {
            clnet_shape shape;
            if (clnet_net_param_read(a, id, p, &shape, NULL, 0) != CLNET_OK)
                break;
            size_t count = (size_t)clnet_shape_numel(&shape);
            float *x = malloc(count * sizeof *x), *y = malloc(count * sizeof *y);
            if (!x || !y || clnet_net_param_read(a, id, p, NULL, x, count) != CLNET_OK ||
                clnet_net_param_read(b, id, p, NULL, y, count) != CLNET_OK)
                worst = INFINITY;
            for (size_t i = 0; x && y && i < count && isfinite(worst); i++)
                worst = fmax(worst, fabs((double)x[i] - y[i]) / fmax(1.0, fabs((double)x[i])));
            free(x);
            free(y);
        }
    return worst;
}

/* The residual net on a group of two devices (weights NULL: equal
 * slices), sync BN on or off, against the single device's losses and
 * final parameters: with sync BN they must match within TOL, without it
 * the losses must differ by more (else this check could not fail). */
static int check_sync_bn(clnet_ctx *ctx, clnet_device *const *devs, const float *weights,
                         bool sync, const mnist *m, const float *expected, clnet_net *single,
                         const char *what)
{
    clnet_net *net = small_resnet(ctx);
    if (!net)
        return 1;
    clnet_parallel *par = NULL;
    static float x[BATCH * 28 * 28];
    int32_t labels[BATCH];
    double worst = 0.0;
    clnet_status st = clnet_parallel_new(net, devs, 2, weights, BATCH, CLNET_INIT_HE_NORMAL,
                                         SEED, &par);
    if (st == CLNET_OK)
        st = clnet_parallel_set_sync_bn(par, sync);
    for (int s = 0; s < STEPS && st == CLNET_OK; s++) {
        float loss;
        st = batch_of(m, s, BATCH, x, labels);
        if (st == CLNET_OK)
            st = clnet_parallel_step(par, x, labels, NULL, BATCH, &sgd, LR, &loss, NULL);
        double diff = fabs((double)loss - expected[s]) / fmax(1.0, fabs(expected[s]));
        worst = st == CLNET_OK ? fmax(worst, diff) : worst;
    }
    int rc = test_check_status(ctx, st, what);
    double params = rc ? 0.0 : param_difference(single, net);
    if (!rc && replicas_identical(par))
        rc = 1;
    bool ok = sync ? worst <= TOL && params <= TOL : worst > TOL;
    if (!rc)
        printf("%s: %s: largest loss difference to one device %.2g, parameter difference "
               "%.2g (%s %g)\n", ok ? "ok" : "FAIL", what, worst, params,
               sync ? "must stay within" : "must exceed", TOL);
    clnet_parallel_free(par);
    clnet_net_free(net);
    return rc || !ok ? 1 : 0;
}

static int check_sync_bn_all(clnet_ctx *ctx, clnet_device *const *cl, const mnist *m)
{
    float expected[STEPS];
    clnet_net *single = NULL;
    if (single_curve_of(ctx, small_resnet, cl[0], m, STEPS, BATCH, expected, &single))
        return 1;
    const float weights[2] = {3.0f, 1.0f};
    int rc = check_sync_bn(ctx, cl, NULL, true, m, expected, single, "sync BN, two devices");
    rc |= check_sync_bn(ctx, cl, weights, true, m, expected, single, "sync BN, two devices 3:1");
    rc |= check_sync_bn(ctx, cl, NULL, false, m, expected, single,
                        "per-replica BN, two devices");
    clnet_net_free(single);
    return rc;
}

/* clnet_parallel_train_epoch against clnet_net_train_epoch: the same
 * epoch's mean loss and accuracy. */
static int check_epoch(clnet_ctx *ctx, clnet_device *const *devs, const mnist *m)
{
    clnet_train_opts opts = {.batch = BATCH, .mean = m->mean, .std = m->std, .seed = SEED,
                             .limit = EPOCH_LIMIT};
    clnet_eval one, two;
    clnet_net *a = lenet5(ctx), *b = lenet5(ctx);
    clnet_parallel *par = NULL;
    int rc = !a || !b;
    if (!rc)
        rc = test_check_status(ctx, clnet_net_bind(a, devs[0], BATCH, CLNET_INIT_HE_NORMAL,
                                                   SEED), "bind");
    if (!rc)
        rc = test_check_status(ctx, clnet_net_train_epoch(a, m->train, &opts, &sgd, &one),
                               "train_epoch");
    if (!rc)
        rc = test_check_status(ctx, clnet_parallel_new(b, devs, 2, NULL, BATCH,
                                                       CLNET_INIT_HE_NORMAL, SEED, &par),
                               "parallel_new");
    if (!rc)
        rc = test_check_status(ctx, clnet_parallel_train_epoch(par, m->train, &opts, &sgd, &two),
                               "parallel_train_epoch");
    if (!rc) {
        printf("epoch of %d images: loss %.6f / %.6f, accuracy %.4f / %.4f (one device / two)\n",
               EPOCH_LIMIT, one.loss, two.loss, one.top1, two.top1);
        bool ok = two.count == one.count && fabs(one.loss - two.loss) <= TOL &&
                  fabs(one.top1 - two.top1) <= 2.0 / EPOCH_LIMIT;
        if (!ok)
            printf("FAIL: the two-device epoch differs from the one-device epoch\n");
        rc = ok ? replicas_identical(par) : 1;
    }
    clnet_parallel_free(par);
    clnet_net_free(a);
    clnet_net_free(b);
    return rc;
}

/* One refused group: status and a message fragment. */
static int expect_refusal(clnet_ctx *ctx, clnet_device *const *devs, int ndevs,
                          const float *weights, int max_batch, const char *fragment)
{
    clnet_net *net = lenet5(ctx);
    if (!net)
        return 1;
    clnet_parallel *par = NULL;
    clnet_status st = clnet_parallel_new(net, devs, ndevs, weights, max_batch,
                                         CLNET_INIT_HE_NORMAL, SEED, &par);
    const char *msg = clnet_last_error(ctx);
    bool ok = st == CLNET_ERR_INVALID_ARGUMENT && !par && strstr(msg, fragment);
    printf("%s: %s: %s\n", ok ? "refused as expected" : "FAIL", clnet_status_str(st), msg);
    clnet_parallel_free(par);
    clnet_net_free(net);
    return ok ? 0 : 1;
}

static int check_refusals(clnet_ctx *ctx, clnet_device *const *devs)
{
    clnet_device *twice[2] = {devs[0], devs[0]};
    const float zero[2] = {1.0f, 0.0f}, skewed[2] = {1.0f, 100.0f};
    int rc = expect_refusal(ctx, twice, 2, NULL, BATCH, "listed twice");
    rc |= expect_refusal(ctx, devs, 2, NULL, 1, "at least one image per device");
    rc |= expect_refusal(ctx, devs, 2, skewed, 16, "at least one image per device");
    rc |= expect_refusal(ctx, devs, 2, zero, BATCH, "not a finite value > 0");
    rc |= expect_refusal(ctx, devs, 0, NULL, BATCH, "0 devices");
    return rc;
}

/* A net with fewer parameters (10) than the batch has images (64): the
 * per-image losses the group reads back must fit its host buffers (an
 * overflow there is what ASan would catch), and the loss must be the
 * single device's. */
static int check_tiny_net(clnet_ctx *ctx, clnet_device *const *devs)
{
    enum { N = 64, F = 4 };
    const clnet_shape in = {.ndim = 1, .dim = {F}};
    clnet_layer_spec fc = {.kind = CLNET_LAYER_LINEAR, .out_channels = 2, .bias = true};
    float x[N * F], single = 0.0f, split = 0.0f;
    int32_t labels[N];
    for (int i = 0; i < N; i++) {
        labels[i] = i % 2;
        for (int f = 0; f < F; f++)
            x[i * F + f] = (float)((i * 7 + f * 3) % 11) / 11.0f - 0.5f;
    }
    clnet_net *net[2] = {NULL, NULL};
    clnet_parallel *par = NULL;
    clnet_status st = CLNET_OK;
    for (int k = 0; k < 2 && st == CLNET_OK; k++) {
        st = clnet_net_new(ctx, &in, &net[k]);
        if (st == CLNET_OK)
            st = clnet_net_add(net[k], &fc, NULL);
    }
    if (st == CLNET_OK)
        st = clnet_net_bind(net[0], devs[0], N, CLNET_INIT_HE_NORMAL, SEED);
    if (st == CLNET_OK) {
        clnet_net_set_training(net[0], true);
        st = clnet_net_forward(net[0], x, N);
    }
    if (st == CLNET_OK)
        st = clnet_net_backward(net[0], labels, NULL, &single);
    if (st == CLNET_OK)
        st = clnet_parallel_new(net[1], devs, 2, NULL, N, CLNET_INIT_HE_NORMAL, SEED, &par);
    if (st == CLNET_OK)
        st = clnet_parallel_step(par, x, labels, NULL, N, &sgd, LR, &split, NULL);
    clnet_parallel_free(par);
    clnet_net_free(net[0]);
    clnet_net_free(net[1]);
    if (test_check_status(ctx, st, "tiny net"))
        return 1;
    bool ok = fabsf(single - split) <= 1e-5f * fmaxf(1.0f, fabsf(single));
    printf("%s: tiny net (10 parameters, batch 64): loss %.6f on one device, %.6f on two\n",
           ok ? "ok" : "FAIL", single, split);
    return ok ? 0 : 1;
}

/* Per-parameter learning-rate multipliers (clnet_net_set_param_lr) reach
 * every replica: a weight with lr_mult 0 stays as initialised on all of
 * them, and the replicas stay identical through steps that scale the others. */
static int check_lr_mults(clnet_ctx *ctx, clnet_device *const *devs)
{
    enum { N = 16, F = 6 };
    const clnet_shape in = {.ndim = 1, .dim = {F}};
    clnet_layer_spec hidden = {.kind = CLNET_LAYER_LINEAR, .out_channels = 5, .bias = true};
    clnet_layer_spec head = {.kind = CLNET_LAYER_LINEAR, .out_channels = 3, .bias = true};
    float x[N * F], loss, before[5 * F], after[5 * F];
    int32_t labels[N];
    for (int i = 0; i < N; i++) {
        labels[i] = i % 3;
        for (int f = 0; f < F; f++)
            x[i * F + f] = (float)((i * 5 + f * 7) % 13) / 13.0f - 0.5f;
    }
    clnet_net *net = NULL;
    clnet_parallel *par = NULL;
    int first = 0;
    clnet_status st = clnet_net_new(ctx, &in, &net);
    if (st == CLNET_OK)
        st = clnet_net_add(net, &hidden, &first);
    if (st == CLNET_OK)
        st = clnet_net_add(net, &head, NULL);
    if (st == CLNET_OK)
        st = clnet_net_set_param_lr(net, first, 0, 0.0f, 0.0f);
    if (st == CLNET_OK)
        st = clnet_net_set_param_lr(net, first + 1, 1, 2.0f, 1.0f);
    if (st == CLNET_OK)
        st = clnet_parallel_new(net, devs, 2, NULL, N, CLNET_INIT_HE_NORMAL, SEED, &par);
    if (st == CLNET_OK)
        st = clnet_net_param_read(clnet_parallel_replica(par, 1), first, 0, NULL, before,
                                  5 * F);
    for (int s = 0; s < 3 && st == CLNET_OK; s++)
        st = clnet_parallel_step(par, x, labels, NULL, N, &sgd, LR, &loss, NULL);
    if (st == CLNET_OK)
        st = clnet_net_param_read(clnet_parallel_replica(par, 1), first, 0, NULL, after,
                                  5 * F);
    int rc = test_check_status(ctx, st, "lr multipliers");
    if (!rc && replicas_identical(par))
        rc = 1;
    if (!rc && memcmp(before, after, sizeof before) != 0) {
        printf("FAIL: replica 1 stepped a weight whose lr_mult is 0\n");
        rc = 1;
    }
    if (!rc)
        printf("ok: lr multipliers (0 on a weight, 2 on a bias) reach every replica\n");
    clnet_parallel_free(par);
    clnet_net_free(net);
    return rc;
}

static int run_checks(clnet_ctx *ctx, clnet_device *const *cl, clnet_device *ref,
                      const mnist *m)
{
    float expected[STEPS];
    if (single_curve(ctx, cl[0], m, STEPS, BATCH, expected))
        return 1;
    if (!(expected[0] - expected[STEPS - 1] >= MIN_DROP)) {
        printf("FAIL: the loss fell by only %.4f in %d steps\n",
               expected[0] - expected[STEPS - 1], STEPS);
        return 1;
    }
    const float weights[2] = {3.0f, 1.0f};
    int rc = parallel_curve(ctx, cl, 2, NULL, m, STEPS, BATCH, expected, "two devices");
    rc |= parallel_curve(ctx, cl, 2, weights, m, STEPS, BATCH, expected, "two devices 3:1");
    /* the reference backend is slow: a short curve at a small batch */
    float short_expected[4];
    clnet_device *mixed[2] = {cl[0], ref};
    if (single_curve(ctx, cl[0], m, 4, 8, short_expected))
        return 1;
    rc |= parallel_curve(ctx, mixed, 2, NULL, m, 4, 8, short_expected, "OpenCL + ref");
    rc |= check_epoch(ctx, cl, m);
    rc |= check_refusals(ctx, cl);
    rc |= check_tiny_net(ctx, cl);
    rc |= check_lr_mults(ctx, cl);
    rc |= check_sync_bn_all(ctx, cl, m);
    return rc;
}

int main(void)
{
    clnet_ctx *ctx = NULL;
    if (clnet_ctx_new(&ctx) != CLNET_OK) {
        printf("FAIL: cannot create a context\n");
        return 1;
    }
    clnet_device *devs[MAX_DEVICES], *cl[MAX_DEVICES];
    int n = 0, ncl = 0;
    mnist m = {0};
    int rc = test_open_devices(ctx, devs, MAX_DEVICES, &n);
    for (int i = 0; rc == 0 && i < n; i++) {
        clnet_device_info info;
        clnet_device_info_get(devs[i], &info);
        if (info.kind == CLNET_DEVICE_OPENCL)
            cl[ncl++] = devs[i];
    }
    if (rc == 0 && ncl < 2) {
        printf("%s: %d OpenCL device%s: this test needs two (POCL_DEVICES=\"pthread "
               "pthread\")\n", under_ci() ? "FAIL" : "SKIP", ncl, ncl == 1 ? "" : "s");
        rc = under_ci() ? 1 : TEST_SKIP;
    }
    int ref = rc == 0 ? test_ref_index(devs, n) : -1;
    if (rc == 0 && ref < 0) {
        printf("FAIL: no ref device\n");
        rc = 1;
    }
    if (rc == 0)
        rc = load_mnist(ctx, &m);
    if (rc == 0)
        rc = run_checks(ctx, cl, devs[ref], &m);
    clnet_dataset_free(m.train);
    clnet_ctx_free(ctx);
    if (rc == 0)
        printf("data-parallel checks passed\n");
    return rc;
}
