/* test_inference_bind.c - clnet_net_bind_inference: zoo nets (a plain chain,
 * residual adds, concatenations, fused batch norms) give the same outputs as
 * after clnet_net_bind while holding less device memory, within the bound
 * clnet_net_memory_bound reports; training is refused; binding again for
 * training works. On every device. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define MAX_DEVICES 16
#define BATCH 2

static int failures;

static void check(bool ok, const char *dev, const char *model, const char *what)
{
    printf("  %s: %s: %s: %s\n", ok ? "ok" : "FAIL", dev, model, what);
    failures += !ok;
}

typedef struct model_case {
    const char *name;
    clnet_cfg_overrides ov;
} model_case;

/* Runs `net` on x and returns its output (malloc'd), NULL on failure. */
static float *run(clnet_net *net, const float *x, size_t out_count)
{
    float *y = malloc(out_count * sizeof *y);
    if (!y || clnet_net_forward(net, x, BATCH) != CLNET_OK ||
        clnet_net_read_output(net, y, out_count) != CLNET_OK) {
        free(y);
        return NULL;
    }
    return y;
}

static void test_model(clnet_ctx *ctx, clnet_device *dev, const model_case *m)
{
    clnet_device_info info;
    clnet_device_info_get(dev, &info);
    clnet_net *net = NULL;
    if (clnet_net_parse_cfg(ctx, clnet_zoo_cfg(m->name), m->name, &m->ov, &net) != CLNET_OK) {
        printf("FAIL: %s: %s\n", m->name, clnet_last_error(ctx));
        failures++;
        return;
    }
    clnet_layer_info first, last;
    clnet_net_layer_info(net, 0, &first);
    clnet_net_layer_info(net, clnet_net_layer_count(net) - 1, &last);
    size_t in_count = BATCH * (size_t)clnet_shape_numel(&first.out);
    size_t out_count = BATCH * (size_t)clnet_shape_numel(&last.out);
    float *x = malloc(in_count * sizeof *x), *full = NULL, *lean = NULL;
    test_rng rng = {.state = 5};
    if (x)
        test_fill_uniform(&rng, x, in_count, -1.0f, 1.0f);

    clnet_status st = x ? clnet_net_bind(net, dev, BATCH, CLNET_INIT_HE_NORMAL, 9)
                        : CLNET_ERR_HOST_MEMORY;
    size_t full_bytes = clnet_net_device_bytes(net);
    if (st == CLNET_OK)
        full = run(net, x, out_count);
    if (st == CLNET_OK)
        st = clnet_net_bind_inference(net, dev, BATCH, CLNET_INIT_HE_NORMAL, 9);
    if (st == CLNET_OK)
        lean = run(net, x, out_count);
    check(st == CLNET_OK && full && lean, info.name, m->name, "bind, then bind for inference");
    if (!full || !lean) {
        printf("    %s\n", clnet_last_error(ctx));
        goto done;
    }
    bool same = true;
    for (size_t i = 0; i < out_count; i++)
        same = same && (full[i] == lean[i] || (isnan(full[i]) && isnan(lean[i])));
    check(same, info.name, m->name, "the same outputs as with every buffer of its own");
    size_t lean_bytes = clnet_net_device_bytes(net), weights, acts, scratch;
    clnet_net_memory_bound(net, &weights, &acts, &scratch);
    printf("    device bytes %zu (bind) -> %zu (inference); bound %zu = weights %zu + "
           "activations %zu + scratch %zu\n", full_bytes, lean_bytes, weights + acts + scratch,
           weights, acts, scratch);
    check(lean_bytes < full_bytes, info.name, m->name, "less device memory");
    check(acts > 0 && lean_bytes <= (weights + acts + scratch) * 5 / 4, info.name, m->name,
          "device memory within a quarter above weights + peak activations + scratch");

    clnet_optimizer sgd = {.kind = CLNET_OPTIM_SGD, .lr = 0.01f};
    clnet_net_set_training(net, true);
    check(clnet_net_forward(net, x, BATCH) == CLNET_ERR_INVALID_ARGUMENT, info.name, m->name,
          "a training forward is refused");
    check(clnet_net_step(net, &sgd, sgd.lr) == CLNET_ERR_INVALID_ARGUMENT, info.name, m->name,
          "a step is refused");
    st = clnet_net_bind(net, dev, BATCH, CLNET_INIT_HE_NORMAL, 9);
    int32_t labels[BATCH] = {0, 1};
    if (st == CLNET_OK)
        st = clnet_net_forward(net, x, BATCH);
    if (st == CLNET_OK)
        st = clnet_net_backward(net, labels, NULL, NULL);
    if (st == CLNET_OK)
        st = clnet_net_step(net, &sgd, sgd.lr);
    check(st == CLNET_OK, info.name, m->name, "bound again with clnet_net_bind, it trains");
done:
    free(x);
    free(full);
    free(lean);
    clnet_net_free(net);
}

int main(void)
{
    clnet_ctx *ctx;
    if (clnet_ctx_new(&ctx) != CLNET_OK)
        return 1;
    clnet_device *devs[MAX_DEVICES];
    int n;
    int rc = test_open_devices(ctx, devs, MAX_DEVICES, &n);
    if (rc != 0) {
        clnet_ctx_free(ctx);
        return rc;
    }
    const clnet_shape small = {.ndim = 3, .dim = {3, 32, 32}};
    const model_case models[] = {
        {"lenet5", {0}},
        {"resnet20", {0}},
        {"squeezenet1_1", {.input = small, .classes = 10}},
        {"mobilenet_v2", {.input = small, .classes = 10}},
    };
    for (int d = 0; d < n; d++)
        for (size_t i = 0; i < sizeof models / sizeof models[0]; i++)
            test_model(ctx, devs[d], &models[i]);
    clnet_ctx_free(ctx);
    printf("%s\n", failures ? "FAILED" : "PASSED");
    return failures ? 1 : 0;
}
