/* test_aux.c - auxiliary classifiers (layers with loss_weight) on every
 * device: on a small cfg with an auxiliary branch, the loss backward
 * reports is the main output's cross-entropy plus 0.3 times the branch's
 * (computed on the host from both outputs), its gradient matches finite
 * differences of that loss in the shared, the main and the auxiliary
 * layers, and an inference forward gives the output of the net built
 * without the branch while not running the branch; then a few SGD steps of
 * GoogLeNet built with its two auxiliary classifiers lower the loss of a
 * fixed batch, with gradient reaching the auxiliary heads. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"
#include "testutil.h"

#define MAX_DEVICES 8
#define N 3
#define K 4
#define AUX_WEIGHT 0.3f

static const char *cfg =
    "[net]\ninput = 2x6x6\n"
    "[conv]\nname = c1\nfilters = 3\nsize = 3\npad = 1\nactivation = tanh\n"
    "[globalavgpool]\nname = aux.pool\naux = 1\n"
    "[linear]\nname = aux.fc\naux = 1\nloss_weight = 0.3\noutputs = 4\n"
    "[conv]\nname = c2\nfrom = c1\nfilters = 2\nsize = 3\nactivation = tanh\n"
    "[flatten]\nname = flat\n[linear]\nname = fc\noutputs = 4\n";

static const int32_t labels[N] = {0, 3, 1};

/* Mean softmax cross-entropy of n rows of K logits against `labels`. */
static double host_xent(const float *logits, int n)
{
    double sum = 0;
    for (int i = 0; i < n; i++) {
        const float *z = logits + i * K;
        double m = z[0], e = 0;
        for (int k = 1; k < K; k++)
            m = fmax(m, z[k]);
        for (int k = 0; k < K; k++)
            e += exp(z[k] - m);
        sum += m + log(e) - z[labels[i]];
    }
    return sum / n;
}

static float loss_at(clnet_ctx *ctx, clnet_net *net, const float *x)
{
    float loss = NAN;
    clnet_net_set_training(net, true);
    if (!OK(ctx, clnet_net_forward(net, x, N)) ||
        !OK(ctx, clnet_net_backward(net, labels, NULL, &loss)))
        return NAN;
    return loss;
}

static int find(clnet_net *net, const char *name)
{
    int id = -1;
    clnet_net_find_layer(net, name, &id);
    return id;
}

/* The reported loss against the host's, and the analytic gradient of some
 * weights of c1 (shared), aux.fc and fc against central differences. */
static void check_gradient(clnet_ctx *ctx, clnet_net *net, const char *dev, const float *x)
{
    float loss = loss_at(ctx, net, x);
    float main_out[N * K], aux_out[N * K];
    OK(ctx, clnet_net_read_output(net, main_out, N * K));
    OK(ctx, clnet_net_read_layer(net, find(net, "aux.fc"), aux_out, N * K));
    double want = host_xent(main_out, N) + AUX_WEIGHT * host_xent(aux_out, N);
    CHECK(fabs(loss - want) <= 1e-4 * fabs(want), "%s: loss %g, main + 0.3 aux on the host %g",
          dev, loss, want);
    const char *layers[] = {"c1", "aux.fc", "fc"};
    const int picks[] = {0, 7, 13};
    for (size_t li = 0; li < 3; li++) {
        nn_layer *l = &net->layers[find(net, layers[li])];
        nn_param *p = &l->params[0];
        loss_at(ctx, net, x);
        float *grad = test_read(p->grad);
        size_t count = (size_t)nn_numel(&p->shape);
        float *w = malloc(count * sizeof *w);
        if (!grad || !w || !OK(ctx, nn_param_read(net, p, w))) {
            free(grad);
            free(w);
            return;
        }
        for (int k = 0; k < 3; k++) {
            size_t at = (size_t)picks[k] % count;
            const float eps = 1e-2f, w0 = w[at];
            w[at] = w0 + eps;
            OK(ctx, nn_param_write(net, p, w));
            float up = loss_at(ctx, net, x);
            w[at] = w0 - eps;
            OK(ctx, nn_param_write(net, p, w));
            float down = loss_at(ctx, net, x);
            w[at] = w0;
            OK(ctx, nn_param_write(net, p, w));
            double fd = ((double)up - down) / (2.0 * eps);
            CHECK(fabs(fd - grad[at]) <= 2e-3 + 2e-2 * fabs(fd),
                  "%s: d loss / d %s weight %zu: analytic %g, finite differences %g", dev,
                  layers[li], at, grad[at], fd);
        }
        free(grad);
        free(w);
    }
}

/* The output of an inference forward equals that of the net built without
 * the branch (same weights), and the branch does not run. */
static void check_inference(clnet_ctx *ctx, clnet_device *d, clnet_net *net, const char *dev,
                            const float *x)
{
    clnet_net *plain = NULL;
    if (!OK(ctx, clnet_net_parse_cfg(ctx, cfg, "aux", NULL, &plain)) ||
        !OK(ctx, clnet_net_bind(plain, d, N, CLNET_INIT_HE_NORMAL, 9))) {
        clnet_net_free(plain);
        return;
    }
    CHECK(clnet_net_layer_count(plain) == clnet_net_layer_count(net) - 2,
          "%s: %d layers without the branch, %d with it", dev, clnet_net_layer_count(plain),
          clnet_net_layer_count(net));
    for (int id = 1; id < plain->nlayers; id++) {
        int twin = find(net, plain->layers[id].spec.name);
        CHECK(twin > 0, "%s: no layer %s with the branch", dev, plain->layers[id].spec.name);
        nn_layer *from = &net->layers[twin > 0 ? twin : id];
        for (int j = 0; twin > 0 && j < from->nparams; j++) {
            float *v = test_read(from->params[j].value);
            if (v)
                OK(ctx, nn_param_write(plain, &plain->layers[id].params[j], v));
            free(v);
        }
    }
    float a[N * K], b[N * K];
    clnet_net_set_training(net, false);
    OK(ctx, clnet_net_set_profiling(net, true));
    OK(ctx, clnet_net_forward(net, x, N));
    OK(ctx, clnet_net_read_output(net, a, N * K));
    OK(ctx, clnet_net_forward(plain, x, N));
    OK(ctx, clnet_net_read_output(plain, b, N * K));
    CHECK(memcmp(a, b, sizeof a) == 0, "%s: inference output differs from the net without "
          "the branch (%g vs %g first)", dev, a[0], b[0]);
    double aux_ms = -1, fc_ms = -1;
    clnet_net_layer_time(net, find(net, "aux.fc"), &aux_ms, NULL);
    clnet_net_layer_time(net, find(net, "fc"), &fc_ms, NULL);
    CHECK(aux_ms == 0 && fc_ms > 0, "%s: inference ran aux.fc %g ms, fc %g ms", dev, aux_ms,
          fc_ms);
    CHECK(clnet_net_read_layer(net, find(net, "aux.fc"), a, N * K) ==
              CLNET_ERR_INVALID_ARGUMENT, "%s: the skipped aux.fc was read", dev);
    OK(ctx, clnet_net_set_profiling(net, false));
    clnet_net_free(plain);
}

static void check_small(clnet_ctx *ctx, clnet_device *d)
{
    clnet_device_info info;
    if (!OK(ctx, clnet_device_info_get(d, &info)))
        return;
    clnet_cfg_overrides ov = {.aux = true};
    clnet_net *net = NULL;
    if (!OK(ctx, clnet_net_parse_cfg(ctx, cfg, "aux", &ov, &net)) ||
        !OK(ctx, clnet_net_bind(net, d, N, CLNET_INIT_HE_NORMAL, 5))) {
        clnet_net_free(net);
        return;
    }
    float x[N * 2 * 6 * 6];
    test_rng rng = {11};
    test_fill_uniform(&rng, x, sizeof x / sizeof x[0], -1.0f, 1.0f);
    check_gradient(ctx, net, info.name, x);
    check_inference(ctx, d, net, info.name, x);
    clnet_net_free(net);
}

/* GoogLeNet with both auxiliary classifiers at 80x80 (their 5x5 pooling
 * needs 79 and up), 10 classes: SGD on one fixed batch, dropout off. */
static void check_googlenet(clnet_ctx *ctx, clnet_device *d)
{
    enum { B = 2, STEPS = 3 };
    clnet_cfg_overrides ov = {.aux = true, .classes = 10, .input = {3, {3, 80, 80}}};
    clnet_net *net = NULL;
    if (!OK(ctx, clnet_net_zoo(ctx, "googlenet", &ov, &net)) ||
        !OK(ctx, clnet_net_bind(net, d, B, CLNET_INIT_HE_NORMAL, 2))) {
        clnet_net_free(net);
        return;
    }
    for (int id = 1; id < clnet_net_layer_count(net); id++)
        if (net->layers[id].spec.kind == CLNET_LAYER_DROPOUT)
            clnet_net_set_layer_mode(net, id, id, CLNET_LAYER_MODE_INFERENCE);
    size_t count = (size_t)B * 3 * 80 * 80;
    float *x = malloc(count * sizeof *x);
    test_rng rng = {3};
    if (x)
        test_fill_uniform(&rng, x, count, -1.0f, 1.0f);
    const int32_t y[B] = {1, 7};
    clnet_optimizer opt = {.kind = CLNET_OPTIM_SGD, .lr = 0.02f};
    float first = NAN, last = NAN;
    clnet_net_set_training(net, true);
    for (int s = 0; x && s < STEPS; s++) {
        float loss = NAN;
        if (!OK(ctx, clnet_net_forward(net, x, B)) ||
            !OK(ctx, clnet_net_backward(net, y, NULL, &loss)))
            break;
        if (s == 0) {
            const char *heads[] = {"aux1.fc2", "aux2.fc2"};
            for (int h = 0; h < 2; h++) {
                nn_param *p = &net->layers[find(net, heads[h])].params[0];
                float *g = test_read(p->grad);
                double norm = 0;
                for (int64_t i = 0; g && i < nn_numel(&p->shape); i++)
                    norm += (double)g[i] * g[i];
                CHECK(norm > 0, "googlenet: no gradient reaches %s", heads[h]);
                free(g);
            }
            first = loss;
        }
        last = loss;
        if (!OK(ctx, clnet_net_step(net, &opt, opt.lr)))
            break;
    }
    printf("googlenet --aux: loss %.4f, after %d SGD steps %.4f\n", first, STEPS - 1, last);
    CHECK(last < first, "googlenet --aux: loss %g after %d steps, %g before", last, STEPS - 1,
          first);
    free(x);
    clnet_net_free(net);
}

int main(void)
{
    clnet_ctx *ctx;
    if (clnet_ctx_new(&ctx) != CLNET_OK)
        return 1;
    clnet_device *devs[MAX_DEVICES];
    int ndev;
    int rc = test_open_devices(ctx, devs, MAX_DEVICES, &ndev);
    if (rc == 1) {
        clnet_ctx_free(ctx);
        return 1;
    }
    for (int d = 0; d < ndev; d++)
        check_small(ctx, devs[d]);
    /* the first device is OpenCL's when there is one: ref would take minutes */
    if (ndev > 0 && rc == 0)
        check_googlenet(ctx, devs[0]);
    clnet_ctx_free(ctx);
    if (test_failures) {
        printf("%d failures\n", test_failures);
        return 1;
    }
    return rc;
}
