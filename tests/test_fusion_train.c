/* test_fusion_train.c - a small residual net trained with its batch norms
 * and their activations fused, and its residual sums with their
 * activations fused into the batch norms before them (one op forward, one
 * backward), gives the loss and every parameter gradient of the same net
 * run layer by layer, on every device, and both agree with the reference
 * backend's unfused pass. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"
#include "testutil.h"

#define MAX_DEVICES 16
#define BATCH 4
#define CLASSES 5
#define MAX_GRADS 8192

/* One pass's results: the loss and every parameter gradient, in layer
 * order. */
typedef struct pass_result {
    float loss;
    float grads[MAX_GRADS];
    size_t count;
    bool fused[3];         /* act_fused of the three batch norms with an activation */
    bool residual[2];      /* the two batch norms that can compute their block's sum did */
} pass_result;

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

static clnet_layer_spec layer(clnet_layer_kind kind, const char *name)
{
    clnet_layer_spec s = {.kind = kind};
    snprintf(s.name, sizeof s.name, "%s", name);
    return s;
}

static clnet_layer_spec conv(const char *name, int k, int stride, int pad)
{
    clnet_layer_spec s = layer(CLNET_LAYER_CONV, name);
    s.out_channels = k;
    s.kernel[0] = s.kernel[1] = 3;
    s.conv = clnet_op_conv(stride, pad, 1, 1).u.conv;
    return s;
}

static clnet_layer_spec bn(const char *name, bool act, clnet_activation fn, float alpha)
{
    clnet_layer_spec s = layer(CLNET_LAYER_BATCHNORM, name);
    s.has_act = act;
    if (act)
        s.act = clnet_op_activation(fn, alpha).u.act;
    return s;
}

/* A block with a projection shortcut after layer `in`: conv-bn (8 -> 16
 * channels), a conv-bn on the shortcut, their ADD and an ACTIVATION layer.
 * The shortcut's batch norm comes last, so it computes the sum: its id
 * goes to *res. Returns the activation's id, or -1. */
static int projection_block(clnet_net *net, int in, int *res)
{
    clnet_layer_spec main_conv = conv("c5", 16, 1, 1), proj = conv("p5", 16, 1, 1);
    main_conv.nfrom = proj.nfrom = 1;
    main_conv.from[0] = proj.from[0] = in;
    clnet_layer_spec sum = layer(CLNET_LAYER_ADD, "add5");
    sum.nfrom = 2;
    clnet_layer_spec relu = layer(CLNET_LAYER_ACTIVATION, "out5");
    relu.act = clnet_op_activation(CLNET_ACT_RELU, 0).u.act;
    if (add(net, main_conv) < 0)
        return -1;
    sum.from[0] = add(net, bn("bn5", false, CLNET_ACT_RELU, 0));
    if (sum.from[0] < 0 || add(net, proj) < 0)
        return -1;
    sum.from[1] = *res = add(net, bn("pbn5", false, CLNET_ACT_RELU, 0));
    if (sum.from[1] < 0 || add(net, sum) < 0)
        return -1;
    return add(net, relu);
}

/* conv-bn-relu, then a basic block (conv-bn-relu, conv-bn, add the block's
 * input, relu) on 8x8 planes (whole vectors of 16), a block with a
 * projection shortcut, a stride-2 conv to 3x3 planes with a leaky-ReLU
 * batch norm (the scalar kernels), global average pooling and a linear
 * layer. ids[] gets the three batch norms with an activation, res[] the
 * two that compute their block's sum. */
static clnet_net *build(clnet_ctx *ctx, int ids[3], int res[2])
{
    clnet_shape in = {.ndim = 3, .dim = {3, 8, 8}};
    clnet_net *net;
    if (clnet_net_new(ctx, &in, &net) != CLNET_OK)
        return NULL;
    clnet_layer_spec sum = layer(CLNET_LAYER_ADD, "add");
    sum.nfrom = 2;
    clnet_layer_spec relu = layer(CLNET_LAYER_ACTIVATION, "out");
    relu.act = clnet_op_activation(CLNET_ACT_RELU, 0).u.act;
    clnet_layer_spec pool = layer(CLNET_LAYER_POOL, "pool");
    pool.pool = clnet_op_global_pool(CLNET_POOL_AVG).u.pool;
    clnet_layer_spec fc = layer(CLNET_LAYER_LINEAR, "fc");
    fc.out_channels = CLASSES;
    fc.bias = true;
    int ok = add(net, conv("c1", 8, 1, 1)) > 0 &&
             (ids[0] = add(net, bn("bn1", true, CLNET_ACT_RELU, 0))) > 0 &&
             add(net, conv("c2", 8, 1, 1)) > 0 &&
             (ids[1] = add(net, bn("bn2", true, CLNET_ACT_GELU, 0))) > 0 &&
             add(net, conv("c3", 8, 1, 1)) > 0;
    int bn3 = ok ? add(net, bn("bn3", false, CLNET_ACT_RELU, 0)) : -1;
    sum.from[0] = res[0] = bn3;
    sum.from[1] = ids[0];
    int out_id = bn3 > 0 && add(net, sum) > 0 ? add(net, relu) : -1;
    ok = out_id > 0 && projection_block(net, out_id, &res[1]) > 0 &&
         add(net, conv("c4", 16, 2, 0)) > 0 &&
         (ids[2] = add(net, bn("bn4", true, CLNET_ACT_LEAKY_RELU, 0.1f))) > 0 &&
         add(net, pool) > 0 && add(net, layer(CLNET_LAYER_FLATTEN, "flat")) > 0 &&
         add(net, fc) > 0;
    if (!ok) {
        clnet_net_free(net);
        return NULL;
    }
    return net;
}

/* Batch-norm scales and shifts away from the identity, so that the
 * activations cut through every channel's distribution. */
static int randomise_bn(clnet_net *net, test_rng *rng)
{
    for (int id = 1; id < net->nlayers; id++) {
        nn_layer *l = &net->layers[id];
        if (l->spec.kind != CLNET_LAYER_BATCHNORM)
            continue;
        for (int j = 0; j < 2; j++) {
            float v[16];
            int64_t n = nn_numel(&l->params[j].shape);
            test_fill_uniform(rng, v, (size_t)n, j == 0 ? 0.5f : -0.5f, j == 0 ? 1.5f : 0.5f);
            if (nn_param_write(net, &l->params[j], v) != CLNET_OK)
                return 1;
        }
    }
    return 0;
}

/* One training forward and backward pass from the same weights. */
static int run_pass(clnet_device *dev, bool fused, const float *x, const int32_t *labels,
                    pass_result *r)
{
    clnet_ctx *ctx = clnet_device_ctx(dev);
    int ids[3], res[2];
    clnet_net *net = build(ctx, ids, res);
    if (!net || test_check_status(ctx, clnet_net_bind(net, dev, BATCH, CLNET_INIT_HE_NORMAL, 5),
                                  "bind")) {
        clnet_net_free(net);
        return 1;
    }
    test_rng rng = {9};
    int rc = randomise_bn(net, &rng);
    nn_set_fusion(net, fused);
    clnet_net_set_training(net, true);
    clnet_status st = clnet_net_forward(net, x, BATCH);
    if (st == CLNET_OK)
        st = clnet_net_backward(net, labels, NULL, &r->loss);
    rc = rc || test_check_status(ctx, st, "training pass");
    for (int i = 0; i < 3; i++)
        r->fused[i] = net->layers[ids[i]].act_fused;
    for (int i = 0; i < 2; i++)
        r->residual[i] = net->layers[res[i]].res_target != 0;
    r->count = 0;
    for (int id = 1; !rc && id < net->nlayers; id++)
        for (int j = 0; !rc && j < net->layers[id].nparams; j++) {
            const nn_param *p = &net->layers[id].params[j];
            size_t n = (size_t)nn_numel(&p->shape);
            if (!p->trainable)
                continue;
            if (!p->grad || r->count + n > MAX_GRADS) {
                printf("FAIL: %s: parameter %s has no gradient or too many values\n",
                       net->layers[id].spec.name, p->name);
                rc = 1;
                break;
            }
            rc = test_check_status(ctx, clnet_tensor_read(p->grad, r->grads + r->count,
                                                          n * sizeof(float)), "gradient read");
            r->count += n;
        }
    clnet_net_free(net);
    return rc;
}

/* max |a - b| over max |b|: the gradients' scale, since single elements
 * near zero carry only rounding noise. */
static double rel_diff(const pass_result *a, const pass_result *b)
{
    if (a->count != b->count || b->count == 0)
        return INFINITY;
    double diff = 0.0, scale = 0.0;
    for (size_t i = 0; i < b->count; i++) {
        diff = fmax(diff, fabs((double)a->grads[i] - b->grads[i]));
        scale = fmax(scale, fabs((double)b->grads[i]));
    }
    return scale > 0.0 ? diff / scale : INFINITY;
}

/* Fused vs unfused on `dev`, and both against the reference `oracle`. */
static void compare(const char *name, const pass_result *plain, const pass_result *fused,
                    const pass_result *oracle)
{
    double d = rel_diff(fused, plain), dref = rel_diff(fused, oracle);
    double dloss = fabs((double)fused->loss - plain->loss) / fmax(fabs((double)plain->loss), 1e-6);
    printf("  %s: loss %.6f (unfused %.6f, ref %.6f); gradients fused vs unfused %.2e, "
           "vs ref %.2e\n", name, fused->loss, plain->loss, oracle->loss, d, dref);
    CHECK(dloss < 1e-5, "%s: the fused loss is the unfused one", name);
    CHECK(d < 1e-5, "%s: the fused gradients are the unfused ones", name);
    CHECK(dref < 1e-4 && rel_diff(plain, oracle) < 1e-4, "%s: both agree with ref", name);
    CHECK(fused->fused[0] && fused->fused[1] && fused->fused[2],
          "%s: every batch norm with an activation was fused (ReLU, GELU, leaky ReLU)", name);
    CHECK(fused->residual[0] && fused->residual[1],
          "%s: both residual sums were computed by their batch norms", name);
    CHECK(!plain->fused[0] && !plain->fused[1] && !plain->fused[2] && !plain->residual[0] &&
          !plain->residual[1], "%s: fusion off runs them apart", name);
}

int main(void)
{
    clnet_ctx *ctx;
    if (clnet_ctx_new(&ctx) != CLNET_OK)
        return 1;
    clnet_device *devs[MAX_DEVICES];
    int n, rc = test_open_devices(ctx, devs, MAX_DEVICES, &n);
    int r = rc ? -1 : test_ref_index(devs, n);
    if (rc != 0 || r < 0) {
        clnet_ctx_free(ctx);
        return rc ? rc : 1;
    }
    test_rng rng = {17};
    float x[BATCH * 3 * 8 * 8];
    test_fill_uniform(&rng, x, sizeof x / sizeof x[0], -1.0f, 1.0f);
    int32_t labels[BATCH] = {1, 4, 0, 2};
    pass_result *res = malloc(3 * sizeof *res);
    if (!res) {
        clnet_ctx_free(ctx);
        return 1;
    }
    pass_result *oracle = &res[0], *plain = &res[1], *fused = &res[2];
    rc = run_pass(devs[r], false, x, labels, oracle);
    for (int i = 0; i < n && rc == 0; i++) {
        clnet_device_info info;
        clnet_device_info_get(devs[i], &info);
        rc = run_pass(devs[i], false, x, labels, plain) ||
             run_pass(devs[i], true, x, labels, fused);
        if (rc == 0)
            compare(info.name, plain, fused, oracle);
    }
    free(res);
    clnet_ctx_free(ctx);
    if (rc == 0 && test_failures)
        rc = 1;
    printf("%s\n", rc ? "FAIL" : "PASS");
    return rc;
}
