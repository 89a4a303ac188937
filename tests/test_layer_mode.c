/* test_layer_mode.c - frozen batch norms stay in inference mode while the
 * layers around them train (running statistics untouched, the gradient
 * through them matches finite differences), the per-layer mode switch, and
 * finding layers by name. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"
#include "testutil.h"

#define SEED 31u
#define BATCH 4
#define IMAGE 16   /* 1x4x4 */

static const int32_t labels[BATCH] = {0, 2, 1, 2};

/* conv "stem" (2 filters 3x3) - batch norm "bn" - linear "head" 3, on 1x4x4 */
static clnet_net *small_net(clnet_ctx *ctx)
{
    clnet_shape in = {.ndim = 3, .dim = {1, 4, 4}};
    clnet_net *net;
    if (clnet_net_new(ctx, &in, &net) != CLNET_OK)
        return NULL;
    clnet_layer_spec conv = {.kind = CLNET_LAYER_CONV, .name = "stem", .out_channels = 2,
                             .kernel = {3, 3}, .bias = true};
    conv.conv.pad_begin[0] = conv.conv.pad_begin[1] = conv.conv.pad_end[0] =
        conv.conv.pad_end[1] = 1;
    clnet_layer_spec bn = {.kind = CLNET_LAYER_BATCHNORM, .name = "bn"};
    clnet_layer_spec fc = {.kind = CLNET_LAYER_LINEAR, .name = "head", .out_channels = 3,
                           .bias = true};
    if (clnet_net_add(net, &conv, NULL) != CLNET_OK || clnet_net_add(net, &bn, NULL) != CLNET_OK ||
        clnet_net_add(net, &fc, NULL) != CLNET_OK) {
        printf("FAIL: building the net: %s\n", clnet_last_error(ctx));
        test_failures++;
        clnet_net_free(net);
        return NULL;
    }
    return net;
}

static bool step(clnet_net *net, const float *x, float *loss, bool update)
{
    clnet_optimizer sgd = {.kind = CLNET_OPTIM_SGD, .lr = 0.05f};
    clnet_net_set_training(net, true);
    return OK(net->ctx, clnet_net_forward(net, x, BATCH)) &&
           OK(net->ctx, clnet_net_backward(net, labels, NULL, loss)) &&
           (!update || OK(net->ctx, clnet_net_step(net, &sgd, sgd.lr)));
}

static void read_stats(clnet_net *net, float *stats)
{
    OK(net->ctx, clnet_net_param_read(net, 2, 2, NULL, stats, 2));
    OK(net->ctx, clnet_net_param_read(net, 2, 3, NULL, stats + 2, 2));
}

/* Loss of a training forward with weight k of the conv set to v. */
static double loss_at(clnet_net *net, const float *x, float *w, int k, float v)
{
    float saved = w[k];
    w[k] = v;
    nn_param_write(net, &net->layers[1].params[0], w);
    float loss = NAN;
    step(net, x, &loss, false);
    w[k] = saved;
    nn_param_write(net, &net->layers[1].params[0], w);
    return loss;
}

static void test_frozen_bn(clnet_ctx *ctx, clnet_device *dev, const float *x)
{
    clnet_net *net = small_net(ctx);
    int bn = -1;
    if (!net || !OK(ctx, clnet_net_find_layer(net, "bn", &bn)) ||
        !OK(ctx, clnet_net_bind(net, dev, BATCH, CLNET_INIT_HE_NORMAL, SEED)))
        goto out;
    CHECK(bn == 2, "find_layer(bn) = %d", bn);
    /* a few steps unfrozen move the running statistics away from 0 and 1 */
    for (int s = 0; s < 3; s++)
        step(net, x, NULL, true);
    float before[4], after[4];
    read_stats(net, before);
    OK(ctx, clnet_net_freeze(net, bn, bn, true));
    for (int s = 0; s < 3; s++)
        step(net, x, NULL, true);
    read_stats(net, after);
    CHECK(memcmp(before, after, sizeof before) == 0, "%s: a frozen batch norm's running "
          "statistics moved: mean %g -> %g, var %g -> %g", dev->info.name, (double)before[0],
          (double)after[0], (double)before[2], (double)after[2]);
    /* the gradient of the conv below it, through the inference-mode batch norm */
    float w[18], grad[18];
    nn_param *p = &net->layers[1].params[0];
    if (!step(net, x, NULL, false) || !OK(ctx, nn_param_read(net, p, w)) ||
        !OK(ctx, clnet_tensor_read(p->grad, grad, sizeof grad)))
        goto out;
    double worst = 0.0;
    for (int k = 0; k < 18; k++) {
        const float h = 1e-2f;
        double numeric = (loss_at(net, x, w, k, w[k] + h) - loss_at(net, x, w, k, w[k] - h)) /
                         (2.0 * h);
        double err = fabs(numeric - grad[k]) / (fabs(numeric) + fabs(grad[k]) + 1e-3);
        worst = err > worst ? err : worst;
    }
    CHECK(worst < 2e-2, "%s: gradient through a frozen batch norm: worst relative error %g",
          dev->info.name, worst);
    printf("%s: frozen batch norm keeps its statistics; gradient through it within %.1e\n",
           dev->info.name, worst);
    /* back to training mode on request: the statistics move again */
    OK(ctx, clnet_net_set_layer_mode(net, bn, bn, CLNET_LAYER_MODE_TRAINING));
    step(net, x, NULL, true);
    read_stats(net, after);
    CHECK(memcmp(before, after, sizeof before) != 0,
          "CLNET_LAYER_MODE_TRAINING: a frozen batch norm's statistics did not move");
    /* inference mode on a trainable batch norm: backward refuses clearly */
    OK(ctx, clnet_net_freeze(net, bn, bn, false));
    OK(ctx, clnet_net_set_layer_mode(net, bn, bn, CLNET_LAYER_MODE_INFERENCE));
    clnet_net_set_training(net, true);
    OK(ctx, clnet_net_forward(net, x, BATCH));
    clnet_status st = clnet_net_backward(net, labels, NULL, NULL);
    CHECK(st == CLNET_ERR_UNSUPPORTED && strstr(clnet_last_error(ctx), "bn"),
          "inference-mode trainable batch norm: status %d, '%s'", st, clnet_last_error(ctx));
out:
    clnet_net_free(net);
}

static void test_errors(clnet_ctx *ctx)
{
    clnet_net *net = small_net(ctx);
    int id = -1;
    if (!net)
        return;
    OK(ctx, clnet_net_find_layer(net, "head", &id));
    CHECK(id == 3, "find_layer(head) = %d", id);
    clnet_status st = clnet_net_find_layer(net, "nope", &id);
    CHECK(st == CLNET_ERR_INVALID_ARGUMENT && strstr(clnet_last_error(ctx), "'nope'"),
          "unknown layer name: %d '%s'", st, clnet_last_error(ctx));
    st = clnet_net_set_layer_mode(net, 2, 9, CLNET_LAYER_MODE_INFERENCE);
    CHECK(st == CLNET_ERR_INVALID_ARGUMENT, "set_layer_mode out of range: %d", st);
    st = clnet_net_set_layer_mode(net, 1, 2, (clnet_layer_mode)7);
    CHECK(st == CLNET_ERR_INVALID_ARGUMENT, "set_layer_mode with mode 7: %d", st);
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
    test_fill_uniform(&rng, x, BATCH * IMAGE, -1.0f, 1.0f);
    for (int d = 0; d < ndev; d++)
        test_frozen_bn(ctx, devs[d], x);
    test_errors(ctx);
    clnet_ctx_free(ctx);
    if (test_failures) {
        printf("%d failures\n", test_failures);
        return 1;
    }
    return rc;
}
