/* test_fusion.c - a net whose convolutions absorb the layers after them
 * (their activation, an ACTIVATION layer, a batch norm folded into the
 * weights at inference) gives the outputs, and after a training step the
 * weights, of the same net run layer by layer, on every device; and the
 * fused paths did run. Fused single ops are checked in test_backend_ops. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"
#include "testutil.h"

#define MAX_DEVICES 16
#define BATCH 3
#define CLASSES 5

static int failures;

static void check(bool ok, const char *dev, const char *what)
{
    printf("  %s: %s: %s\n", ok ? "ok" : "FAIL", dev, what);
    failures += !ok;
}

/* Appends a layer to `net`; returns its id (-1 after printing on failure). */
static int add(clnet_net *net, clnet_layer_spec spec)
{
    int id;
    clnet_status st = clnet_net_add(net, &spec, &id);
    if (st != CLNET_OK) {
        printf("FAIL: adding %s: %s\n", spec.name, clnet_status_str(st));
        return -1;
    }
    return id;
}

static clnet_layer_spec conv(const char *name, int k, bool bias)
{
    clnet_layer_spec s = {.kind = CLNET_LAYER_CONV, .out_channels = k, .kernel = {3, 3},
                          .bias = bias, .conv = clnet_op_conv(1, 1, 1, 1).u.conv};
    snprintf(s.name, sizeof s.name, "%s", name);
    return s;
}

static clnet_layer_spec with_act(clnet_layer_spec s, clnet_activation fn, float alpha)
{
    s.has_act = true;
    s.act = clnet_op_activation(fn, alpha).u.act;
    return s;
}

static clnet_layer_spec layer(clnet_layer_kind kind, const char *name)
{
    clnet_layer_spec s = {.kind = kind};
    snprintf(s.name, sizeof s.name, "%s", name);
    return s;
}

/* The ids of the layers whose fusion the test checks. */
typedef struct net_ids {
    int conv_relu, bn_relu6, act_leaky, bn_sigmoid, act_tanh, bn_plain;
} net_ids;

/* Every pattern fuse.c handles, next to ones it must leave alone: conv with
 * its own ReLU; conv + BN with ReLU6; conv + ACTIVATION (leaky ReLU, slope
 * from the output in training); conv + BN with sigmoid (inference only);
 * conv + ACTIVATION tanh (inference only); conv + BN without activation;
 * and a conv with two consumers (never fused). */
static clnet_net *build(clnet_ctx *ctx, net_ids *ids)
{
    clnet_shape in = {.ndim = 3, .dim = {3, 9, 11}};
    clnet_net *net;
    if (clnet_net_new(ctx, &in, &net) != CLNET_OK)
        return NULL;
    clnet_layer_spec act = layer(CLNET_LAYER_ACTIVATION, "leaky");
    act.act = clnet_op_activation(CLNET_ACT_LEAKY_RELU, 0.1f).u.act;
    clnet_layer_spec tanh_layer = layer(CLNET_LAYER_ACTIVATION, "tanh");
    tanh_layer.act = clnet_op_activation(CLNET_ACT_TANH, 0.0f).u.act;
    clnet_layer_spec pool = layer(CLNET_LAYER_POOL, "pool");
    pool.pool = clnet_op_pool(CLNET_POOL_MAX, 2, 2, 0).u.pool;
    clnet_layer_spec add2 = layer(CLNET_LAYER_ADD, "add");
    add2.nfrom = 2;
    clnet_layer_spec fc = layer(CLNET_LAYER_LINEAR, "fc");
    fc.out_channels = CLASSES;
    fc.bias = true;
    int ok = (ids->conv_relu = add(net, with_act(conv("c1", 8, true), CLNET_ACT_RELU, 0))) > 0 &&
             add(net, conv("c2", 8, false)) > 0 &&
             (ids->bn_relu6 = add(net, with_act(layer(CLNET_LAYER_BATCHNORM, "bn2"),
                                                CLNET_ACT_RELU6, 0))) > 0 &&
             add(net, conv("c3", 8, true)) > 0 && (ids->act_leaky = add(net, act)) > 0 &&
             add(net, conv("c4", 8, false)) > 0 &&
             (ids->bn_sigmoid = add(net, with_act(layer(CLNET_LAYER_BATCHNORM, "bn4"),
                                                  CLNET_ACT_SIGMOID, 0))) > 0 &&
             add(net, conv("c5", 8, true)) > 0 && (ids->act_tanh = add(net, tanh_layer)) > 0 &&
             add(net, conv("c6", 8, false)) > 0 &&
             (ids->bn_plain = add(net, layer(CLNET_LAYER_BATCHNORM, "bn6"))) > 0 &&
             add(net, pool) > 0;
    /* c7 feeds c8 and the add: two consumers, nothing to fuse */
    int c7 = ok ? add(net, conv("c7", 8, true)) : -1;
    ok = c7 > 0 && add(net, conv("c8", 8, true)) > 0;
    add2.from[0] = c7;
    add2.from[1] = c7 + 1;
    ok = ok && add(net, add2) > 0 && add(net, layer(CLNET_LAYER_FLATTEN, "flat")) > 0 &&
         add(net, fc) > 0;
    if (!ok) {
        clnet_net_free(net);
        return NULL;
    }
    return net;
}

/* Random batch-norm parameters well away from the identity (scale, shift,
 * running mean, running variance > 0), so folding them changes the
 * weights. */
static int randomise_bn(clnet_net *net, test_rng *rng)
{
    for (int id = 1; id < net->nlayers; id++) {
        nn_layer *l = &net->layers[id];
        if (l->spec.kind != CLNET_LAYER_BATCHNORM)
            continue;
        for (int j = 0; j < 4; j++) {
            int64_t n = nn_numel(&l->params[j].shape);
            float v[64];
            test_fill_uniform(rng, v, (size_t)n, j == 3 ? 0.5f : -0.8f, j == 3 ? 2.0f : 0.8f);
            if (j == 0)
                for (int64_t i = 0; i < n; i++)
                    v[i] += 1.2f;
            if (nn_param_write(net, &l->params[j], v) != CLNET_OK)
                return 1;
        }
    }
    return 0;
}

static double max_rel_diff(const float *a, const float *b, size_t n)
{
    double worst = 0.0, scale = 1e-3;
    for (size_t i = 0; i < n; i++)
        scale = fmax(scale, fabs((double)b[i]));
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]) / scale;
        worst = isnan(d) ? INFINITY : fmax(worst, d);
    }
    return worst;
}

static int forward(clnet_net *net, const float *x, bool fused, float *out)
{
    nn_set_fusion(net, fused);
    clnet_status st = clnet_net_forward(net, x, BATCH);
    if (st == CLNET_OK)
        st = clnet_net_read_output(net, out, BATCH * CLASSES);
    return test_check_status(net->ctx, st, "forward");
}

/* Fused and layer-by-layer inference outputs agree; returns their
 * relative difference (INFINITY on failure). */
static double compare_inference(clnet_net *net, const float *x)
{
    float plain[BATCH * CLASSES], fused[BATCH * CLASSES];
    if (forward(net, x, false, plain) || forward(net, x, true, fused))
        return INFINITY;
    return max_rel_diff(fused, plain, BATCH * CLASSES);
}

/* Inference: fused and layer-by-layer outputs agree, every pattern that
 * should fuse did, the folded weights are reused while the parameters stay
 * and refolded once one changes. */
static int check_inference(clnet_net *net, const net_ids *ids, const float *x, const char *dev)
{
    clnet_net_set_training(net, false);
    double d = compare_inference(net, x);
    printf("  %s inference: fused vs unfused max relative difference %.2e\n", dev, d);
    check(d < 1e-4, dev, "inference outputs agree");
    const nn_layer *L = net->layers;
    check(L[ids->conv_relu].act_fused && L[ids->bn_relu6].fused_by &&
              L[ids->act_leaky].fused_by && L[ids->bn_sigmoid].fused_by &&
              L[ids->act_tanh].fused_by && L[ids->bn_plain].fused_by,
          dev, "every conv absorbed its batch norm and activation");
    nn_layer *conv = &net->layers[L[ids->bn_plain].fused_by];
    uint64_t folded = conv->fold_version;
    float out[BATCH * CLASSES];
    if (forward(net, x, true, out))
        return 1;
    check(conv->fold_version == folded, dev, "a second forward reuses the folded weights");
    nn_param *beta = &net->layers[ids->bn_plain].params[1];
    float shift[8] = {0.5f, -0.25f, 1.0f, 0.0f, 0.75f, -1.0f, 0.125f, 2.0f};
    if (test_check_status(net->ctx, nn_param_write(net, beta, shift), "param write"))
        return 1;
    d = compare_inference(net, x);
    printf("  %s inference after a batch-norm change: max relative difference %.2e\n", dev, d);
    check(d < 1e-4 && conv->fold_version != folded, dev, "a changed batch norm is refolded");
    return 0;
}

/* Training: one step with and one without fusion, from the same weights,
 * give the same weights afterwards (the gradients agree). */
static int train_step(clnet_device *dev, bool fused, const float *x, const int32_t *labels,
                      net_ids *ids, float **weights, size_t *count, bool *did_fuse)
{
    clnet_ctx *ctx = clnet_device_ctx(dev);
    clnet_net *net = build(ctx, ids);
    if (!net || test_check_status(ctx, clnet_net_bind(net, dev, BATCH, CLNET_INIT_HE_NORMAL, 11),
                                  "bind"))
        return 1;
    test_rng rng = {7};
    clnet_optimizer opt = {.kind = CLNET_OPTIM_SGD, .lr = 0.05f, .momentum = 0.9f};
    int rc = randomise_bn(net, &rng);
    nn_set_fusion(net, fused);
    clnet_net_set_training(net, true);
    clnet_status st = clnet_net_forward(net, x, BATCH);
    if (st == CLNET_OK)
        st = clnet_net_backward(net, labels, NULL, NULL);
    if (st == CLNET_OK)
        st = clnet_net_step(net, &opt, opt.lr);
    rc = rc || test_check_status(ctx, st, "training step");
    *did_fuse = net->layers[ids->conv_relu].act_fused && net->layers[ids->act_leaky].fused_by &&
                !net->layers[ids->bn_relu6].fused_by && !net->layers[ids->act_tanh].fused_by;
    *count = 0;
    for (int id = 1; !rc && id < net->nlayers; id++)
        for (int j = 0; j < net->layers[id].nparams; j++)
            *count += (size_t)nn_numel(&net->layers[id].params[j].shape);
    *weights = rc ? NULL : malloc(*count * sizeof **weights);
    size_t at = 0;
    for (int id = 1; *weights && id < net->nlayers; id++)
        for (int j = 0; !rc && j < net->layers[id].nparams; j++) {
            rc = test_check_status(ctx, clnet_net_param_read(net, id, j, NULL, *weights + at,
                                   (size_t)nn_numel(&net->layers[id].params[j].shape)),
                                   "param read");
            at += (size_t)nn_numel(&net->layers[id].params[j].shape);
        }
    clnet_net_free(net);
    return rc || !*weights;
}

static int check_training(clnet_device *dev, const float *x, const int32_t *labels,
                          const char *name)
{
    net_ids ids;
    float *plain = NULL, *fused = NULL;
    size_t n_plain = 0, n_fused = 0;
    bool fused_plain = false, fused_fused = false;
    int rc = train_step(dev, false, x, labels, &ids, &plain, &n_plain, &fused_plain) ||
             train_step(dev, true, x, labels, &ids, &fused, &n_fused, &fused_fused);
    if (!rc) {
        double d = n_plain == n_fused ? max_rel_diff(fused, plain, n_plain) : INFINITY;
        printf("  %s training: weights after a step, fused vs unfused max relative "
               "difference %.2e\n", name, d);
        check(d < 1e-4, name, "training step agrees");
        check(fused_fused && !fused_plain, name, "training fused the ReLU-family activations only");
    }
    free(plain);
    free(fused);
    return rc;
}

int main(void)
{
    clnet_ctx *ctx;
    if (clnet_ctx_new(&ctx) != CLNET_OK)
        return 1;
    clnet_device *devs[MAX_DEVICES];
    int n, rc = test_open_devices(ctx, devs, MAX_DEVICES, &n);
    if (rc != 0) {
        clnet_ctx_free(ctx);
        return rc;
    }
    test_rng rng = {42};
    float x[BATCH * 3 * 9 * 11];
    test_fill_uniform(&rng, x, sizeof x / sizeof x[0], -1.0f, 1.0f);
    int32_t labels[BATCH] = {1, 4, 0};
    for (int i = 0; i < n && rc == 0; i++) {
        clnet_device_info info;
        clnet_device_info_get(devs[i], &info);
        printf("%s\n", info.name);
        net_ids ids;
        clnet_net *net = build(ctx, &ids);
        rc = !net || test_check_status(ctx, clnet_net_bind(net, devs[i], BATCH,
                                                           CLNET_INIT_HE_NORMAL, 3), "bind");
        rc = rc || randomise_bn(net, &rng) || check_inference(net, &ids, x, info.name);
        clnet_net_free(net);
        rc = rc || check_training(devs[i], x, labels, info.name);
    }
    clnet_ctx_free(ctx);
    if (rc == 0 && failures)
        rc = 1;
    printf("%s\n", rc ? "FAIL" : "PASS");
    return rc;
}
