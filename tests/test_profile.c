/* test_profile.c - per-layer profiling of a training step (clnet_net_set_profiling)
 * times every piece that ran, charges nothing to layers that ran none,
 * leaves the results unchanged and restarts from zero when switched; and
 * clnet_device_blocked_ms counts the host's wait in blocking transfers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define MAX_DEVICES 16
#define BATCH 4

static int failures;

static void check(bool ok, const char *dev, const char *what)
{
    printf("  %s: %s: %s\n", ok ? "ok" : "FAIL", dev, what);
    failures += !ok;
}

/* LeNet-5 bound for BATCH images, training mode, weights from seed 3. */
static clnet_net *lenet(clnet_ctx *ctx, clnet_device *dev)
{
    clnet_net *net = NULL;
    if (clnet_net_parse_cfg(ctx, clnet_zoo_cfg("lenet5"), "lenet5.cfg", NULL, &net) != CLNET_OK ||
        clnet_net_bind(net, dev, BATCH, CLNET_INIT_HE_NORMAL, 3) != CLNET_OK) {
        printf("FAIL: lenet5: %s\n", clnet_last_error(ctx));
        clnet_net_free(net);
        return NULL;
    }
    clnet_net_set_training(net, true);
    return net;
}

static clnet_status train_step(clnet_net *net, const float *x, const int32_t *labels,
                               float *loss)
{
    clnet_optimizer sgd = {.kind = CLNET_OPTIM_SGD, .lr = 0.01f, .momentum = 0.9f};
    clnet_status st = clnet_net_forward(net, x, BATCH);
    if (st == CLNET_OK)
        st = clnet_net_backward(net, labels, NULL, loss);
    return st == CLNET_OK ? clnet_net_step(net, &sgd, sgd.lr) : st;
}

static void test_device(clnet_ctx *ctx, clnet_device *dev)
{
    clnet_device_info info;
    clnet_device_info_get(dev, &info);
    float x[BATCH * 28 * 28];
    int32_t labels[BATCH] = {1, 7, 3, 9};
    test_rng rng = {.state = 11};
    test_fill_uniform(&rng, x, sizeof x / sizeof x[0], -1.0f, 1.0f);

    clnet_net *plain = lenet(ctx, dev), *profiled = lenet(ctx, dev);
    if (!plain || !profiled) {
        failures++;
        clnet_net_free(plain);
        clnet_net_free(profiled);
        return;
    }
    float loss_plain = 0, loss_profiled = 0;
    check(clnet_net_set_profiling(profiled, true) == CLNET_OK, info.name, "profiling on");
    clnet_status st = train_step(plain, x, labels, &loss_plain);
    if (st == CLNET_OK)
        st = train_step(profiled, x, labels, &loss_profiled);
    check(st == CLNET_OK, info.name, "a training step with and without profiling");
    if (st != CLNET_OK) {
        printf("    %s\n", clnet_last_error(ctx));
        goto done;
    }
    check(loss_plain == loss_profiled, info.name, "profiling leaves the loss unchanged");

    /* layers: 0 input, 1 conv1, 2 pool1, 3 conv2, 4 pool2, 5 flatten, 6-8 fc */
    bool timed = true, none_negative = true;
    for (int id = 0; id < clnet_net_layer_count(profiled); id++) {
        double f = -1, b = -1;
        clnet_net_layer_time(profiled, id, &f, &b);
        none_negative = none_negative && f >= 0 && b >= 0;
        if (id == 1 || id == 3 || id >= 6)
            timed = timed && f > 0 && b > 0;
    }
    check(timed, info.name, "every conv and linear layer has forward and backward time");
    check(none_negative, info.name, "no layer has a negative time");
    double f0, b0, loss_ms, step_ms;
    clnet_net_layer_time(profiled, 0, &f0, &b0);
    check(b0 == 0, info.name, "the input layer has no backward time");
    clnet_net_profile_totals(profiled, &loss_ms, &step_ms);
    check(loss_ms > 0 && step_ms > 0, info.name, "the loss and the step are timed");
    check(clnet_net_layer_time(profiled, clnet_net_layer_count(profiled), &f0, &b0) ==
              CLNET_ERR_INVALID_ARGUMENT, info.name, "a layer past the end is refused");

    check(clnet_net_set_profiling(profiled, false) == CLNET_OK, info.name, "profiling off");
    clnet_net_layer_time(profiled, 1, &f0, &b0);
    clnet_net_profile_totals(profiled, &loss_ms, &step_ms);
    check(f0 == 0 && b0 == 0 && loss_ms == 0 && step_ms == 0, info.name,
          "switching profiling zeroes the totals");
    st = train_step(profiled, x, labels, NULL);
    clnet_net_layer_time(profiled, 1, &f0, &b0);
    check(st == CLNET_OK && f0 == 0 && b0 == 0, info.name, "nothing is timed while it is off");

    double before = clnet_device_blocked_ms(dev);
    float y[BATCH * 10];
    st = clnet_net_read_output(profiled, y, sizeof y / sizeof y[0]);
    double after = clnet_device_blocked_ms(dev);
    check(st == CLNET_OK && after > before, info.name,
          "reading the output counts as the host's wait");
done:
    clnet_net_free(plain);
    clnet_net_free(profiled);
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
    check(clnet_net_set_profiling(NULL, true) == CLNET_ERR_INVALID_ARGUMENT, "-",
          "a NULL net is refused");
    check(clnet_device_blocked_ms(NULL) == 0, "-", "a NULL device has waited 0 ms");
    for (int i = 0; i < n; i++)
        test_device(ctx, devs[i]);
    clnet_ctx_free(ctx);
    printf("%s\n", failures ? "FAILED" : "PASSED");
    return failures ? 1 : 0;
}
