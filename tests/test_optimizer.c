/* test_optimizer.c - optimizer state across changes of optimizer: the state
 * of one kind is never reused by another. After Adam, SGD without momentum
 * keeps no state, and the first SGD step with momentum starts from a zero
 * velocity, so its velocity equals that step's gradient (PyTorch's SGD). */
#include <math.h>
#include <stdlib.h>

#include "nn/nn_internal.h"
#include "testutil.h"

static const char *cfg =
    "[net]\ninput = 1x6x6\n"
    "[conv]\nfilters = 3\nsize = 3\nactivation = relu\n"
    "[flatten]\n[linear]\noutputs = 4\n";

static int failures;

static void expect(bool ok, const char *device, const char *what)
{
    printf("%s %s: %s\n", ok ? "ok  " : "FAIL", device, what);
    failures += !ok;
}

static clnet_status step(clnet_net *net, const float *x, const int32_t *labels,
                         const clnet_optimizer *opt)
{
    clnet_status st = clnet_net_forward(net, x, 2);
    if (st == CLNET_OK)
        st = clnet_net_backward(net, labels, NULL, NULL);
    if (st == CLNET_OK)
        st = clnet_net_step(net, opt, opt->lr);
    return st;
}

/* Largest |velocity - gradient| of the last layer's weights. */
static clnet_status velocity_error(const nn_param *p, double *err)
{
    size_t n = (size_t)clnet_shape_numel(&p->shape);
    float *v = malloc(n * sizeof *v), *g = malloc(n * sizeof *g);
    clnet_status st = v && g ? CLNET_OK : CLNET_ERR_HOST_MEMORY;
    if (st == CLNET_OK)
        st = clnet_tensor_read(p->state[0], v, n * sizeof *v);
    if (st == CLNET_OK)
        st = clnet_tensor_read(p->grad, g, n * sizeof *g);
    *err = 0.0;
    for (size_t i = 0; st == CLNET_OK && i < n; i++)
        *err = fmax(*err, fabs((double)v[i] - g[i]));
    free(v);
    free(g);
    return st;
}

static void check_device(clnet_device *dev)
{
    clnet_ctx *ctx = clnet_device_ctx(dev);
    clnet_device_info info;
    clnet_device_info_get(dev, &info);
    float x[72];
    int32_t labels[2] = {1, 3};
    test_rng rng = {7};
    test_fill_uniform(&rng, x, 72, -1.0f, 1.0f);
    const clnet_optimizer adam = {.kind = CLNET_OPTIM_ADAM, .lr = 0.01f};
    const clnet_optimizer plain = {.kind = CLNET_OPTIM_SGD, .lr = 0.1f};
    const clnet_optimizer momentum = {.kind = CLNET_OPTIM_SGD, .lr = 0.1f, .momentum = 0.9f};
    clnet_net *net = NULL;
    clnet_status st = clnet_net_parse_cfg(ctx, cfg, "test.cfg", NULL, &net);
    if (st == CLNET_OK)
        st = clnet_net_bind(net, dev, 2, CLNET_INIT_HE_NORMAL, 11);
    if (st == CLNET_OK) {
        clnet_net_set_training(net, true);
        st = step(net, x, labels, &adam);
    }
    if (st == CLNET_OK)
        st = step(net, x, labels, &plain);
    if (st == CLNET_OK) {
        expect(net->opt_nstate == 0, info.name, "SGD without momentum after Adam keeps no state");
        st = step(net, x, labels, &momentum);
    }
    double err = 0.0;
    if (st == CLNET_OK) {
        expect(net->opt_kind == CLNET_OPTIM_SGD && net->opt_nstate == 1, info.name,
               "SGD with momentum keeps one state tensor");
        st = velocity_error(&net->layers[net->nlayers - 1].params[0], &err);
    }
    if (st == CLNET_OK) {
        printf("     %s: max |velocity - gradient| = %g\n", info.name, err);
        expect(err <= 1e-6, info.name, "the first momentum step starts from zero velocity");
    } else {
        failures += test_check_status(ctx, st, "optimizer steps");
    }
    clnet_net_free(net);
}

int main(void)
{
    clnet_ctx *ctx;
    if (clnet_ctx_new(&ctx) != CLNET_OK)
        return 1;
    clnet_device *devs[8];
    int n, rc = test_open_devices(ctx, devs, 8, &n);
    if (rc == 1)
        return 1;
    for (int d = 0; d < n; d++)
        check_device(devs[d]);
    clnet_ctx_free(ctx);
    printf("optimizer: %d failed\n", failures);
    if (failures)
        return 1;
    return rc;
}
