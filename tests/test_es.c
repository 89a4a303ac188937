/* test_es.c - the evolution strategy trainer (clnet/es.h): seeded runs are
 * reproducible and the seed matters, ES lowers the loss of a small
 * classification problem on every device, and on a linear least-squares
 * problem its estimate points along the backpropagated gradient. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clnet/es.h"
#include "nn/nn_internal.h"
#include "testutil.h"

#define MAX_DEVICES 16
#define SEED 2017
#define N 24                     /* points */
#define F 8                      /* features */
#define K 3                      /* classes */

static float x[N * F];
static int32_t labels[N];

/* 24 points in 8-D, the class from the signs of two coordinates: a problem
 * a small MLP fits. */
static void make_problem(void)
{
    test_rng rng = {SEED};
    test_fill_uniform(&rng, x, N * F, -1.0f, 1.0f);
    for (int i = 0; i < N; i++)
        labels[i] = x[i * F] > 0.0f ? (x[i * F + 1] > 0.0f ? 2 : 1) : 0;
}

/* F -> hidden (tanh) -> K, or F -> K linear when hidden is 0. */
static clnet_net *small_net(clnet_ctx *ctx, clnet_device *dev, int hidden)
{
    clnet_shape in = {.ndim = 1, .dim = {F}};
    clnet_net *net = NULL;
    if (!OK(ctx, clnet_net_new(ctx, &in, &net)))
        return NULL;
    clnet_layer_spec fc = {.kind = CLNET_LAYER_LINEAR, .bias = true, .out_channels = hidden};
    fc.has_act = true;
    fc.act.fn = CLNET_ACT_TANH;
    clnet_layer_spec out = {.kind = CLNET_LAYER_LINEAR, .bias = true, .out_channels = K};
    bool ok = (hidden == 0 || OK(ctx, clnet_net_add(net, &fc, NULL))) &&
              OK(ctx, clnet_net_add(net, &out, NULL)) &&
              OK(ctx, clnet_net_bind(net, dev, N, CLNET_INIT_XAVIER_UNIFORM, SEED));
    if (!ok) {
        clnet_net_free(net);
        return NULL;
    }
    clnet_net_set_training(net, true);
    return net;
}

/* Every parameter's values (or gradients), flat in layer order; caller frees. */
static float *flat(const clnet_net *net, bool grads, int64_t *count)
{
    int64_t total = 0;
    for (int i = 0; i < net->nlayers; i++)
        for (int j = 0; j < net->layers[i].nparams; j++)
            total += nn_numel(&net->layers[i].params[j].shape);
    float *all = malloc((size_t)total * sizeof *all);
    int64_t at = 0;
    for (int i = 0; all && i < net->nlayers; i++)
        for (int j = 0; j < net->layers[i].nparams; j++) {
            const nn_param *p = &net->layers[i].params[j];
            float *v = test_read(grads ? p->grad : p->value);
            int64_t numel = nn_numel(&p->shape);
            if (v)
                memcpy(all + at, v, (size_t)numel * sizeof *all);
            free(v);
            at += numel;
        }
    *count = total;
    return all;
}

/* `steps` ES steps with Adam; the weights after them (caller frees), and
 * the losses at the weights before the first and the last step. */
static float *es_run(clnet_ctx *ctx, clnet_device *dev, uint64_t seed, int steps,
                     float *first, float *last, int64_t *count)
{
    clnet_net *net = small_net(ctx, dev, 16);
    if (!net)
        return NULL;
    clnet_es_params es = {.population = 40, .sigma = 0.05f, .seed = seed};
    clnet_optimizer opt = {.kind = CLNET_OPTIM_ADAM, .lr = 0.05f, .es = &es};
    bool ok = true;
    for (int s = 0; ok && s < steps; s++) {
        float loss = NAN;
        ok = OK(ctx, clnet_net_es_gradient(net, x, labels, N, &es, NULL, &loss)) &&
             OK(ctx, clnet_net_step(net, &opt, opt.lr));
        if (s == 0)
            *first = loss;
        *last = loss;
    }
    float *w = ok ? flat(net, false, count) : NULL;
    clnet_net_free(net);
    return w;
}

static void test_reproducible(clnet_ctx *ctx, clnet_device *dev)
{
    float a0, a1, b0, b1, c0, c1;
    int64_t na = 0, nb = 0, nc = 0;
    float *a = es_run(ctx, dev, 7, 3, &a0, &a1, &na);
    float *b = es_run(ctx, dev, 7, 3, &b0, &b1, &nb);
    float *c = es_run(ctx, dev, 8, 3, &c0, &c1, &nc);
    CHECK(a && b && na == nb && memcmp(a, b, (size_t)na * sizeof *a) == 0,
          "two ES runs with seed 7 end with different weights");
    CHECK(a && c && na == nc && memcmp(a, c, (size_t)na * sizeof *a) != 0,
          "ES runs with seeds 7 and 8 end with the same weights");
    free(a);
    free(b);
    free(c);
}

/* ES_STEPS steps of Adam on the ES estimate; a sign error in the estimate
 * makes the loss rise, a wrong scale of the perturbations stalls it.
 * Measured on ref and PoCL: 1.228 -> 0.0244. */
#define ES_STEPS 40
static void test_lowers_loss(clnet_ctx *ctx, clnet_device *dev, const char *name)
{
    float first = NAN, last = NAN;
    int64_t count;
    float *w = es_run(ctx, dev, SEED, ES_STEPS, &first, &last, &count);
    printf("%s: ES loss %.4g -> %.4g over %d steps\n", name, first, last, ES_STEPS);
    CHECK(w && last < 0.5f * first, "%s: ES did not halve the loss (%.4f -> %.4f)", name, first,
          last);
    free(w);
}

/* A linear layer under MSE against one-hot targets: a quadratic, whose
 * Gaussian smoothing has the same gradient, and rank shaping keeps the
 * direction. With 2,000 evaluations the cosine to the true gradient
 * measured 0.99 (27 parameters); unrelated directions give about 0. */
static void test_correlates(clnet_ctx *ctx, clnet_device *dev)
{
    clnet_net *net = small_net(ctx, dev, 0);
    float targets[N * K] = {0};
    for (int i = 0; i < N; i++)
        targets[i * K + labels[i]] = 1.0f;
    int64_t n1 = 0, n2 = 0;
    float *truth = NULL, *estimate = NULL;
    clnet_es_params es = {.population = 2000, .sigma = 0.01f, .seed = SEED};
    if (net && OK(ctx, clnet_net_set_loss(net, CLNET_LOSS_MSE, 0)) &&
        OK(ctx, clnet_net_forward(net, x, N)) &&
        OK(ctx, clnet_net_backward(net, NULL, targets, NULL)))
        truth = flat(net, true, &n1);
    if (truth && OK(ctx, clnet_net_es_gradient(net, x, labels, N, &es, NULL, NULL)))
        estimate = flat(net, true, &n2);
    double dot = 0.0, tt = 0.0, ee = 0.0;
    for (int64_t i = 0; estimate && i < n1; i++) {
        dot += (double)truth[i] * estimate[i];
        tt += (double)truth[i] * truth[i];
        ee += (double)estimate[i] * estimate[i];
    }
    double cosine = tt > 0.0 && ee > 0.0 ? dot / sqrt(tt * ee) : 0.0;
    printf("ES estimate vs backpropagated gradient: cosine %.4f over %lld parameters\n", cosine,
           (long long)n1);
    CHECK(estimate && n1 == n2 && cosine > 0.9, "ES estimate's cosine to the gradient is %.4f",
          cosine);
    free(truth);
    free(estimate);
    clnet_net_free(net);
}

static void test_errors(clnet_ctx *ctx, clnet_device *dev)
{
    clnet_net *net = small_net(ctx, dev, 4);
    clnet_es_params odd = {.population = 5, .sigma = 0.1f}, flat_sigma = {.population = 4};
    int32_t bad[N];
    memcpy(bad, labels, sizeof bad);
    bad[3] = K;
    clnet_es_params fine = {.population = 4, .sigma = 0.1f};
    CHECK(net && clnet_net_es_gradient(net, x, labels, N, &odd, NULL, NULL) ==
                     CLNET_ERR_INVALID_ARGUMENT, "an odd population is refused");
    CHECK(net && clnet_net_es_gradient(net, x, labels, N, &flat_sigma, NULL, NULL) ==
                     CLNET_ERR_INVALID_ARGUMENT, "sigma 0 is refused");
    CHECK(net && clnet_net_es_gradient(net, x, bad, N, &fine, NULL, NULL) ==
                     CLNET_ERR_INVALID_ARGUMENT &&
              strstr(clnet_last_error(ctx), "label 3 of image 3"),
          "a label outside the outputs is refused: %s", clnet_last_error(ctx));
    clnet_net_free(net);
}

int main(void)
{
    clnet_ctx *ctx = NULL;
    if (clnet_ctx_new(&ctx) != CLNET_OK) {
        printf("FAIL: cannot create a context\n");
        return 1;
    }
    make_problem();
    clnet_device *devs[MAX_DEVICES], *ref = NULL;
    int n = 0;
    int rc = test_open_devices(ctx, devs, MAX_DEVICES, &n);
    if (rc == 0 && OK(ctx, clnet_device_find(ctx, "ref", &ref))) {
        test_reproducible(ctx, ref);
        test_correlates(ctx, ref);
        test_errors(ctx, ref);
        for (int d = 0; d < n; d++) {
            clnet_device_info info;
            if (OK(ctx, clnet_device_info_get(devs[d], &info)))
                test_lowers_loss(ctx, devs[d], info.name);
        }
    }
    clnet_ctx_free(ctx);
    if (rc)
        return rc;
    return test_failures ? 1 : 0;
}
