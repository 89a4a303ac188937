/* test_onnx.c - ONNX export and import without any framework: every zoo
 * model exports and imports back with the same outputs on the reference
 * backend (or is refused naming the layer that has no ONNX equivalent);
 * damaged and hostile files are each a clear error; an imported net
 * trains and saves as a checkpoint like any other. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clnet/onnx.h"
#include "nn/nn_internal.h"
#include "onnx.pb-c.h"
#include "testutil.h"

#define BATCH 2
#define SEED 11
/* Export writes the weights bit for bit and import builds the same layers,
 * so only a different summation order could differ. */
#define ROUND_TRIP_TOLERANCE 1e-6
/* Larger models are compared by structure only: the reference backend is
 * scalar. */
#define MAX_COMPARED_MACS 2000000000LL
/* Models above this are not round-tripped here (VGG, AlexNet, ResNet-101
 * and -152: their hundreds of megabytes of weights would dominate the
 * suite); their layer kinds all occur in smaller models. */
#define MAX_PARAMS 40000000LL

/* Zoo models with a layer ONNX cannot express, and that layer's kind. */
static const struct { const char *model, *why; } refused[] = {
    {"lenet5_1998", "LeCun"},           /* scaled tanh, then RBF units */
};

static const int sizes[] = {8, 16, 32, 48, 64, 96, 128, 160, 224, 299};

static double rel_error(const float *a, const float *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        den += (double)b[i] * b[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* Whether every adaptive pooling's output divides its input: the one case
 * ONNX expresses exactly (checked before weights are made: they are slow). */
static bool adaptive_exact(const clnet_net *net)
{
    for (int i = 1; i < net->nlayers; i++) {
        const nn_layer *l = &net->layers[i];
        const clnet_shape *in = &net->layers[l->spec.from[0]].out;
        for (int d = 1; l->spec.kind == CLNET_LAYER_POOL && l->spec.pool.adaptive && d < in->ndim;
             d++)
            if (in->dim[d] % l->out.dim[d] != 0)
                return false;
    }
    return true;
}

/* The zoo model at the smallest square input it accepts and can export
 * (NULL when there is none). */
static clnet_net *small_zoo(clnet_ctx *ctx, const char *name)
{
    clnet_net *net = NULL;
    clnet_layer_info in;
    if (clnet_net_zoo(ctx, name, NULL, &net) != CLNET_OK ||
        clnet_net_layer_info(net, 0, &in) != CLNET_OK) {
        clnet_net_free(net);
        return NULL;
    }
    if (in.out.ndim != 3)
        return net;
    clnet_net_free(net);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        clnet_cfg_overrides ov = {.input = {.ndim = 3, .dim = {in.out.dim[0], sizes[i], sizes[i]}}};
        if (clnet_net_zoo(ctx, name, &ov, &net) == CLNET_OK && adaptive_exact(net))
            return net;
        clnet_net_free(net);
        net = NULL;
    }
    return NULL;
}

/* Forward of a bound net on x; the output (caller frees) and its count. */
static float *run(clnet_net *net, const float *x, size_t *count)
{
    clnet_layer_info last;
    clnet_net_layer_info(net, clnet_net_layer_count(net) - 1, &last);
    *count = (size_t)BATCH * (size_t)clnet_shape_numel(&last.out);
    float *y = malloc(*count * sizeof *y);
    if (!y || clnet_net_forward(net, x, BATCH) != CLNET_OK ||
        clnet_net_read_output(net, y, *count) != CLNET_OK) {
        free(y);
        return NULL;
    }
    return y;
}

/* Exports `net` (which it frees), imports it back and compares. */
static int round_trip_net(clnet_ctx *ctx, clnet_device *ref, const char *name, clnet_net *net,
                          const char *path)
{
    clnet_net *back = NULL;
    int64_t params;
    clnet_net_counts(net, &params, NULL, NULL);
    if (params > MAX_PARAMS) {
        printf("skip %-18s %lld parameters\n", name, (long long)params);
        clnet_net_free(net);
        return 0;
    }
    int fails = 0;
    clnet_status st = clnet_net_bind(net, ref, BATCH, CLNET_INIT_HE_NORMAL, SEED);
    if (st == CLNET_OK)
        st = clnet_net_save_onnx(net, path);
    const char *why = NULL;
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (strcmp(refused[i].model, name) == 0)
            why = refused[i].why;
    if (why) {
        const char *msg = clnet_last_error(ctx);
        bool ok = st == CLNET_ERR_UNSUPPORTED && strstr(msg, "layer ") && strstr(msg, why);
        printf("%s %s: refused: %s\n", ok ? "ok  " : "FAIL", name, msg);
        clnet_net_free(net);
        return !ok;
    }
    if (st == CLNET_OK)
        st = clnet_net_from_onnx(ctx, path, NULL, &back);
    if (st == CLNET_OK)
        st = clnet_net_bind(back, ref, BATCH, CLNET_INIT_HE_NORMAL, SEED + 1);
    if (st != CLNET_OK) {
        printf("FAIL %s: %s: %s\n", name, clnet_status_str(st), clnet_last_error(ctx));
        clnet_net_free(net);
        clnet_net_free(back);
        return 1;
    }
    clnet_layer_info in;
    clnet_net_layer_info(net, 0, &in);
    int64_t p1, p2, m1, m2;
    clnet_net_counts(net, &p1, &m1, NULL);
    clnet_net_counts(back, &p2, &m2, NULL);
    /* outputs compared where the reference backend computes them quickly;
     * above, the same weights and MACs (VGG at 224x224) */
    bool compute = m1 <= MAX_COMPARED_MACS;
    size_t nx = (size_t)BATCH * (size_t)clnet_shape_numel(&in.out), ny = 0, ny2 = 0;
    float *x = compute ? malloc(nx * sizeof *x) : NULL;
    test_rng rng = {SEED};
    if (x)
        test_fill_uniform(&rng, x, nx, -1, 1);
    float *y = x ? run(net, x, &ny) : NULL, *y2 = x ? run(back, x, &ny2) : NULL;
    double err = y && y2 && ny == ny2 ? rel_error(y2, y, ny) : INFINITY;
    fails += (compute && !(err <= ROUND_TRIP_TOLERANCE)) || p1 != p2 || m1 != m2;
    printf("%s %-18s %3lldx%-3lld %3d -> %3d layers, %lld params, %s %.2e\n",
           fails ? "FAIL" : "ok  ", name, (long long)in.out.dim[in.out.ndim - 1],
           (long long)in.out.dim[in.out.ndim - 1], clnet_net_layer_count(net),
           clnet_net_layer_count(back), (long long)p2, compute ? "error" : "MACs equal, not run:",
           compute ? err : (double)m2);
    free(x);
    free(y);
    free(y2);
    clnet_net_free(net);
    clnet_net_free(back);
    return fails;
}

static int round_trip(clnet_ctx *ctx, clnet_device *ref, const char *name, const char *path)
{
    clnet_net *net = small_zoo(ctx, name);
    if (!net) {
        printf("FAIL %s: no input size to export it at\n", name);
        return 1;
    }
    return round_trip_net(ctx, ref, name, net, path);
}

/* ShuffleNet v2's units (no zoo model has them): the channel shuffle is
 * written as Reshape-Transpose-Reshape and must come back as a shuffle
 * layer, without parameters (the parameter counts are compared). */
static int round_trip_shuffle(clnet_ctx *ctx, clnet_device *ref, const char *path)
{
    static const char text[] =
        "[net]\ninput = 3x12x12\n"
        "[conv]\nfilters = 12\nsize = 3\nstride = 2\npad = 1\nactivation = relu\n"
        "[slice]\nname = keep\ncount = 6\n"
        "[slice]\nname = half\nfrom = -2\nstart = 6\ncount = 6\n"
        "[conv]\nfilters = 6\nsize = 1\nactivation = relu\n"
        "[concat]\nfrom = keep, -1\n"
        "[shuffle]\ngroups = 2\n"
        "[shuffle]\ngroups = 3\n"
        "[globalavgpool]\n[linear]\noutputs = 5\n";
    clnet_net *net = NULL;
    if (clnet_net_parse_cfg(ctx, text, "shuffle.cfg", NULL, &net) != CLNET_OK) {
        printf("FAIL shuffle units: %s\n", clnet_last_error(ctx));
        return 1;
    }
    return round_trip_net(ctx, ref, "shuffle units", net, path);
}

/* ---- damaged files ---- */

/* A small valid model: conv, relu, global pool, linear. */
static uint8_t *small_model(clnet_ctx *ctx, clnet_device *ref, const char *path, size_t *size)
{
    clnet_shape in = {.ndim = 3, .dim = {3, 8, 8}};
    clnet_net *net = NULL;
    clnet_layer_spec conv = {.kind = CLNET_LAYER_CONV, .out_channels = 4, .kernel = {3, 3},
                             .bias = true, .conv.pad_begin = {1, 1}, .conv.pad_end = {1, 1}};
    clnet_layer_spec relu = {.kind = CLNET_LAYER_ACTIVATION, .act.fn = CLNET_ACT_RELU};
    clnet_layer_spec pool = {.kind = CLNET_LAYER_POOL, .pool = {.global = true}};
    clnet_layer_spec fc = {.kind = CLNET_LAYER_LINEAR, .out_channels = 5, .bias = true};
    bool ok = clnet_net_new(ctx, &in, &net) == CLNET_OK &&
              clnet_net_add(net, &conv, NULL) == CLNET_OK &&
              clnet_net_add(net, &relu, NULL) == CLNET_OK &&
              clnet_net_add(net, &pool, NULL) == CLNET_OK &&
              clnet_net_add(net, &fc, NULL) == CLNET_OK &&
              clnet_net_bind(net, ref, BATCH, CLNET_INIT_HE_NORMAL, SEED) == CLNET_OK &&
              clnet_net_save_onnx(net, path) == CLNET_OK;
    clnet_net_free(net);
    FILE *f = ok ? fopen(path, "rb") : NULL;
    uint8_t *buf = malloc(1 << 16);
    *size = f && buf ? fread(buf, 1, 1 << 16, f) : 0;
    if (f)
        fclose(f);
    if (*size == 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* Imports `size` bytes and checks the status and that the message says `want`. */
static int expect(clnet_ctx *ctx, const char *what, const void *data, size_t size,
                  clnet_status want, const char *words)
{
    clnet_onnx_options opts = {.data = data, .size = size};
    clnet_net *net = NULL;
    clnet_status st = clnet_net_from_onnx(ctx, what, &opts, &net);
    const char *msg = st == CLNET_OK ? "" : clnet_last_error(ctx);
    bool ok = st == want && (st == CLNET_OK) == (net != NULL) && strstr(msg, words);
    printf("%s %-26s %s: %s\n", ok ? "ok  " : "FAIL", what, clnet_status_str(st), msg);
    clnet_net_free(net);
    return !ok;
}

/* Packs a changed copy of the model and checks its import. */
static int expect_packed(clnet_ctx *ctx, const char *what, const Onnx__ModelProto *m,
                         clnet_status want, const char *words)
{
    size_t len = onnx__model_proto__get_packed_size(m);
    uint8_t *buf = malloc(len);
    if (!buf)
        return 1;
    onnx__model_proto__pack(m, buf);
    int fails = expect(ctx, what, buf, len, want, words);
    free(buf);
    return fails;
}

static int damaged_files(clnet_ctx *ctx, clnet_device *ref, const char *path)
{
    size_t size;
    uint8_t *good = small_model(ctx, ref, path, &size);
    if (!good) {
        printf("FAIL cannot write the small model: %s\n", clnet_last_error(ctx));
        return 1;
    }
    int fails = expect(ctx, "valid", good, size, CLNET_OK, "");
    fails += expect(ctx, "truncated", good, size / 2, CLNET_ERR_FORMAT, "does not decode");
    static const char text[] = "[net]\ninput = 3x8x8\n";
    fails += expect(ctx, "not protobuf", text, sizeof text - 1, CLNET_ERR_FORMAT, "");
    fails += expect(ctx, "empty", good, 0, CLNET_ERR_FORMAT, "empty");
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, size, good);
    if (!m || !m->graph || m->graph->n_node < 3 || m->n_opset_import < 1) {
        printf("FAIL the small model does not unpack\n");
        free(good);
        return 1;
    }
    Onnx__GraphProto *g = m->graph;
    /* every change is undone before the next, and before the free */
    char *saved = g->node[0]->input[0];
    g->node[0]->input[0] = g->node[1]->output[0];
    fails += expect_packed(ctx, "cycle", m, CLNET_ERR_FORMAT, "cycle");
    g->node[0]->input[0] = (char *)"nowhere";
    fails += expect_packed(ctx, "dangling input", m, CLNET_ERR_FORMAT, "dangling");
    g->node[0]->input[0] = saved;
    g->initializer[0]->dims[0] += 1;
    fails += expect_packed(ctx, "initializer size", m, CLNET_ERR_FORMAT, "values");
    g->initializer[0]->dims[0] -= 1;
    int64_t opset = m->opset_import[0]->version;
    m->opset_import[0]->version = 99;
    fails += expect_packed(ctx, "future opset", m, CLNET_ERR_FORMAT, "opset 99 is newer");
    m->opset_import[0]->version = opset;
    saved = g->node[1]->op_type;
    g->node[1]->op_type = (char *)"Erf";
    /* the message reads as the model's problem and names the node and its op type */
    fails += expect_packed(ctx, "unsupported operator", m, CLNET_ERR_UNSUPPORTED,
                           "ONNX import of unsupported operator: node '");
    fails += expect_packed(ctx, "unsupported operator", m, CLNET_ERR_UNSUPPORTED,
                           "(#1, op type Erf): operator Erf has no clnet layer");
    g->node[1]->op_type = saved;
    Onnx__AttributeProto *a = g->node[0]->attribute[0];
    saved = a->name;
    a->name = (char *)"wibble";
    fails += expect_packed(ctx, "unsupported attribute", m, CLNET_ERR_UNSUPPORTED,
                           "(#0, op type Conv): attribute 'wibble'");
    a->name = saved;
    int32_t type = g->initializer[0]->data_type;
    g->initializer[0]->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16;
    fails += expect_packed(ctx, "unsupported data type", m, CLNET_ERR_UNSUPPORTED, "float16");
    g->initializer[0]->data_type = type;
    fails += expect_packed(ctx, "restored", m, CLNET_OK, "");
    onnx__model_proto__free_unpacked(m, NULL);
    free(good);
    return fails;
}

/* An imported net trains (a few SGD steps lower the loss on one batch) and
 * round-trips through a clnet checkpoint. */
static int fine_tune(clnet_ctx *ctx, clnet_device *ref, const char *path)
{
    size_t size;
    uint8_t *bytes = small_model(ctx, ref, path, &size);
    clnet_onnx_options opts = {.data = bytes, .size = size};
    clnet_net *net = NULL, *copy = NULL;
    clnet_status st = bytes ? clnet_net_from_onnx(ctx, path, &opts, &net) : CLNET_ERR_IO;
    free(bytes);
    if (st == CLNET_OK)
        st = clnet_net_bind(net, ref, BATCH, CLNET_INIT_HE_NORMAL, SEED);
    float x[BATCH * 3 * 8 * 8], first = 0, loss = 0;
    int32_t labels[BATCH] = {1, 3};
    test_rng rng = {SEED};
    test_fill_uniform(&rng, x, sizeof x / sizeof x[0], -1, 1);
    clnet_optimizer sgd = {.kind = CLNET_OPTIM_SGD, .lr = 0.05f, .momentum = 0.9f};
    clnet_net_set_training(net, true);
    for (int i = 0; st == CLNET_OK && i < 10; i++) {
        st = clnet_net_forward(net, x, BATCH);
        if (st == CLNET_OK)
            st = clnet_net_backward(net, labels, NULL, &loss);
        if (st == CLNET_OK)
            st = clnet_net_step(net, &sgd, sgd.lr);
        if (i == 0)
            first = loss;
    }
    clnet_net_set_training(net, false);
    char ckpt[512];
    snprintf(ckpt, sizeof ckpt, "%s.ckpt", path);
    if (st == CLNET_OK)
        st = clnet_net_save(net, ckpt);
    if (st == CLNET_OK)
        st = clnet_net_from_onnx(ctx, path, NULL, &copy);
    if (st == CLNET_OK)
        st = clnet_net_load(copy, ckpt);
    if (st == CLNET_OK)
        st = clnet_net_bind(copy, ref, BATCH, CLNET_INIT_HE_NORMAL, SEED);
    size_t n1 = 0, n2 = 0;
    float *y1 = st == CLNET_OK ? run(net, x, &n1) : NULL, *y2 = y1 ? run(copy, x, &n2) : NULL;
    bool ok = st == CLNET_OK && loss < first && y1 && y2 && n1 == n2 &&
              memcmp(y1, y2, n1 * sizeof *y1) == 0;
    printf("%s fine-tuning an imported net: loss %.4f -> %.4f, checkpoint %s%s%s\n",
           ok ? "ok  " : "FAIL", first, loss, y1 && y2 ? "reloads" : "?",
           st == CLNET_OK ? "" : ": ", st == CLNET_OK ? "" : clnet_last_error(ctx));
    free(y1);
    free(y2);
    remove(ckpt);
    clnet_net_free(net);
    clnet_net_free(copy);
    return !ok;
}

/* ---- GELU: written as PyTorch writes it, folded back into one layer ---- */

static int gelu_round_trip(clnet_ctx *ctx, clnet_device *ref, const char *path)
{
    static const char *cfg = "[net]\ninput = 3x6x6\n[conv]\nfilters = 4\nsize = 3\n"
                             "activation = gelu\n[globalavgpool]\n[linear]\n"
                             "outputs = 5\n";
    clnet_net *net = NULL, *back = NULL;
    clnet_status st = clnet_net_parse_cfg(ctx, cfg, "gelu.cfg", NULL, &net);
    if (st == CLNET_OK)
        st = clnet_net_bind(net, ref, BATCH, CLNET_INIT_HE_NORMAL, SEED);
    if (st == CLNET_OK)
        st = clnet_net_save_onnx(net, path);
    if (st == CLNET_OK)
        st = clnet_net_from_onnx(ctx, path, NULL, &back);
    if (st == CLNET_OK)
        st = clnet_net_bind(back, ref, BATCH, CLNET_INIT_HE_NORMAL, SEED + 1);
    int gelu_layers = 0;
    for (int i = 1; back && i < back->nlayers; i++)
        gelu_layers += back->layers[i].spec.kind == CLNET_LAYER_ACTIVATION &&
                       back->layers[i].spec.act.fn == CLNET_ACT_GELU;
    float x[BATCH * 3 * 6 * 6];
    test_rng rng = {SEED};
    test_fill_uniform(&rng, x, sizeof x / sizeof x[0], -2, 2);
    size_t n1 = 0, n2 = 0;
    float *y1 = st == CLNET_OK ? run(net, x, &n1) : NULL, *y2 = y1 ? run(back, x, &n2) : NULL;
    double err = y1 && y2 && n1 == n2 ? rel_error(y2, y1, n1) : INFINITY;
    bool ok = st == CLNET_OK && gelu_layers == 1 && err <= ROUND_TRIP_TOLERANCE;
    printf("%s GELU exports as Div, Erf, Add, Mul, Mul and imports as %d GELU layer(s), "
           "error %.2e%s%s\n", ok ? "ok  " : "FAIL", gelu_layers, err,
           st == CLNET_OK ? "" : ": ", st == CLNET_OK ? "" : clnet_last_error(ctx));
    free(y1);
    free(y2);
    clnet_net_free(net);
    clnet_net_free(back);
    return !ok;
}

/* A net's own input normalisation (a checkpoint's, trained with one) is
 * written as Sub and Div and imported back as the net's normalisation, not
 * as two 1x1 convolutions: same values, same parameter count, same output. */
static int input_norm_round_trip(clnet_ctx *ctx, clnet_device *ref, const char *path)
{
    static const char *cfg = "[net]\ninput = 3x6x6\nmean = 0.49, 0.48, 0.45\n"
                             "std = 0.25, 0.24, 0.26\n[conv]\nfilters = 4\nsize = 3\n"
                             "activation = relu\n[globalavgpool]\n[linear]\noutputs = 5\n";
    clnet_net *net = NULL, *back = NULL;
    clnet_status st = clnet_net_parse_cfg(ctx, cfg, "norm.cfg", NULL, &net);
    if (st == CLNET_OK)
        st = clnet_net_bind(net, ref, BATCH, CLNET_INIT_HE_NORMAL, SEED);
    if (st == CLNET_OK)
        st = clnet_net_save_onnx(net, path);
    if (st == CLNET_OK)
        st = clnet_net_from_onnx(ctx, path, NULL, &back);
    if (st == CLNET_OK)
        st = clnet_net_bind(back, ref, BATCH, CLNET_INIT_HE_NORMAL, SEED + 1);
    float m1[3], s1[3], m2[3] = {0}, s2[3] = {0};
    bool same_norm = st == CLNET_OK && clnet_net_input_norm(net, m1, s1) &&
                     clnet_net_input_norm(back, m2, s2) && !memcmp(m1, m2, sizeof m1) &&
                     !memcmp(s1, s2, sizeof s1);
    int64_t p1 = 0, p2 = -1;
    if (st == CLNET_OK) {
        clnet_net_counts(net, &p1, NULL, NULL);
        clnet_net_counts(back, &p2, NULL, NULL);
    }
    float x[BATCH * 3 * 6 * 6];
    test_rng rng = {SEED};
    test_fill_uniform(&rng, x, sizeof x / sizeof x[0], 0, 1);
    size_t n1 = 0, n2 = 0;
    float *y1 = st == CLNET_OK ? run(net, x, &n1) : NULL, *y2 = y1 ? run(back, x, &n2) : NULL;
    double err = y1 && y2 && n1 == n2 ? rel_error(y2, y1, n1) : INFINITY;
    bool ok = same_norm && p1 == p2 && err <= ROUND_TRIP_TOLERANCE;
    printf("%s input normalisation exports as Sub, Div and imports back as the net's (%s), "
           "%lld -> %lld params, error %.2e%s%s\n", ok ? "ok  " : "FAIL",
           same_norm ? "same values" : "lost or changed", (long long)p1, (long long)p2, err,
           st == CLNET_OK ? "" : ": ", st == CLNET_OK ? "" : clnet_last_error(ctx));
    free(y1);
    free(y2);
    clnet_net_free(net);
    clnet_net_free(back);
    return !ok;
}

/* Layers without an ONNX mapping are refused by name, not exported as
 * something else: L2 pooling (LpPool is not mapped) and unpooling. */
static int refused_layers(clnet_ctx *ctx, clnet_device *ref, const char *path)
{
    static const struct { const char *cfg, *why; } nets[] = {
        {"[net]\ninput = 2x8x8\n[l2pool]\nsize = 2\n", "l2 pooling"},
        {"[net]\ninput = 2x8x8\n[maxpool]\nname = p\nsize = 2\n[unpool]\nswitches = p\n",
         "unpool layer"},
    };
    int fails = 0;
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++) {
        clnet_net *net = NULL;
        clnet_status st = clnet_net_parse_cfg(ctx, nets[i].cfg, "refused.cfg", NULL, &net);
        if (st == CLNET_OK)
            st = clnet_net_bind(net, ref, BATCH, CLNET_INIT_HE_NORMAL, SEED);
        if (st == CLNET_OK)
            st = clnet_net_save_onnx(net, path);
        const char *msg = clnet_last_error(ctx);
        bool ok = st == CLNET_ERR_UNSUPPORTED && strstr(msg, nets[i].why);
        printf("%s %s: refused: %s\n", ok ? "ok  " : "FAIL", nets[i].why, msg);
        fails += !ok;
        clnet_net_free(net);
    }
    return fails;
}

int main(void)
{
    clnet_ctx *ctx = NULL;
    clnet_device *ref = NULL;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (clnet_ctx_new(&ctx) != CLNET_OK || clnet_device_find(ctx, "ref", &ref) != CLNET_OK)
        return 1;
    char path[64];
    snprintf(path, sizeof path, "test_onnx_%ld.onnx", (long)getpid());
    clnet_net *probe = NULL;
    clnet_status st = clnet_net_from_onnx(ctx, path, NULL, &probe);
    if (st == CLNET_ERR_UNSUPPORTED) {
        printf("skip: %s\n", clnet_last_error(ctx));
        clnet_ctx_free(ctx);
        return 77;
    }
    int fails = damaged_files(ctx, ref, path);
    fails += fine_tune(ctx, ref, path);
    fails += gelu_round_trip(ctx, ref, path);
    fails += input_norm_round_trip(ctx, ref, path);
    fails += round_trip_shuffle(ctx, ref, path);
    fails += refused_layers(ctx, ref, path);
    for (const char *const *name = clnet_zoo_names(); *name; name++)
        fails += round_trip(ctx, ref, *name, path);
    remove(path);
    clnet_ctx_free(ctx);
    printf("%d failure(s)\n", fails);
    return fails ? 1 : 0;
}
