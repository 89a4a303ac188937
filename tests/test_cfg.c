/* test_cfg.c - the cfg format and the zoo: LeNet-5's published parameter
 * count and shapes, [repeat] expansion, overrides, and the file:line: key:
 * message of every kind of error, files that are not regular files, and a
 * build time linear in the layer count. Needs no device (shape inference
 * only). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clnet/nn.h"
#include "core/op_table.h"
#include "testutil.h"

/* Counts warnings delivered through the log sink. */
static int warnings;
static void count_warnings(void *user, clnet_log_level level, const char *message)
{
    (void)user;
    if (level >= CLNET_LOG_WARN) {
        warnings++;
        printf("  (warning: %s)\n", message);
    }
}

static void shape_text(const clnet_shape *s, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < s->ndim && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%lld", i ? "x" : "", (long long)s->dim[i]);
}

/* Checks layer `id`: name (NULL: any), output shape as "CxHxW" text, params. */
static void expect_layer(const clnet_net *net, int id, const char *name, const char *shape,
                         int64_t params)
{
    clnet_layer_info info;
    clnet_status st = clnet_net_layer_info(net, id, &info);
    CHECK(st == CLNET_OK, "layer %d: no info", id);
    if (st != CLNET_OK)
        return;
    char got[64];
    shape_text(&info.out, got, sizeof got);
    CHECK(!name || strcmp(info.name, name) == 0, "layer %d: name '%s', expected '%s'", id,
          info.name, name);
    CHECK(strcmp(got, shape) == 0, "layer %d (%s): shape %s, expected %s", id, info.name, got,
          shape);
    CHECK(info.params == params, "layer %d (%s): %lld params, expected %lld", id, info.name,
          (long long)info.params, (long long)params);
}

static int64_t total_params(const clnet_net *net)
{
    int64_t params, macs, elementwise;
    clnet_net_counts(net, &params, &macs, &elementwise);
    return params;
}

static clnet_net *parse(clnet_ctx *ctx, const char *text, const clnet_cfg_overrides *ov)
{
    clnet_net *net = NULL;
    clnet_status st = clnet_net_parse_cfg(ctx, text, "test.cfg", ov, &net);
    CHECK(st == CLNET_OK, "parse: %s: %s", clnet_status_str(st), clnet_last_error(ctx));
    return net;
}

/* conv1 6*1*5*5+6, conv2 16*6*5*5+16, fc1 400*120+120, fc2 120*84+84,
 * fc3 84*10+10: the figure every LeNet-5 tutorial quotes. */
static void test_lenet5(clnet_ctx *ctx)
{
    clnet_net *net = NULL;
    clnet_status st = clnet_net_zoo(ctx, "lenet5", NULL, &net);
    CHECK(st == CLNET_OK, "zoo lenet5: %s", clnet_last_error(ctx));
    if (!net)
        return;
    CHECK(clnet_net_layer_count(net) == 9, "%d layers", clnet_net_layer_count(net));
    expect_layer(net, 0, "input", "1x28x28", 0);
    expect_layer(net, 1, "conv1", "6x28x28", 156);
    expect_layer(net, 2, "pool1", "6x14x14", 0);
    expect_layer(net, 3, "conv2", "16x10x10", 2416);
    expect_layer(net, 4, "pool2", "16x5x5", 0);
    expect_layer(net, 5, NULL, "400", 0);
    expect_layer(net, 6, "fc1", "120", 48120);
    expect_layer(net, 7, "fc2", "84", 10164);
    expect_layer(net, 8, "fc3", "10", 850);
    int64_t params = total_params(net);
    CHECK(params == 61706, "lenet5 has %lld params, expected 61706", (long long)params);
    printf("lenet5: %d layers, %lld params\n", clnet_net_layer_count(net), (long long)params);
    clnet_net_free(net);
}

static void test_zoo(clnet_ctx *ctx)
{
    const char *const *names = clnet_zoo_names();
    int n = 0;
    for (; names[n]; n++) {
        warnings = 0;
        clnet_net *net = NULL;
        clnet_status st = clnet_net_zoo(ctx, names[n], NULL, &net);
        CHECK(st == CLNET_OK, "zoo %s: %s", names[n], clnet_last_error(ctx));
        CHECK(warnings == 0, "zoo %s: %d warnings", names[n], warnings);
        CHECK(clnet_zoo_cfg(names[n]) != NULL, "zoo %s: no text", names[n]);
        if (net)
            printf("zoo %s: %d layers, %lld params\n", names[n], clnet_net_layer_count(net),
                   (long long)total_params(net));
        clnet_net_free(net);
    }
    CHECK(n >= 1, "the zoo is empty");
    clnet_net *net = NULL;
    clnet_status st = clnet_net_zoo(ctx, "no-such-model", NULL, &net);
    CHECK(st == CLNET_ERR_INVALID_ARGUMENT && !net, "unknown model: status %d", st);
    CHECK(strstr(clnet_last_error(ctx), "lenet5") != NULL,
          "unknown model: message does not list the models: %s", clnet_last_error(ctx));
    CHECK(clnet_zoo_cfg("no-such-model") == NULL, "text for an unknown model");
}

static void test_train_defaults(clnet_ctx *ctx)
{
    int batch = 0;
    clnet_optimizer opt = {.kind = CLNET_OPTIM_ADAM, .beta1 = 0.5f};
    clnet_status st = clnet_cfg_train_defaults(ctx, clnet_zoo_cfg("lenet5"), "lenet5.cfg",
                                               &batch, &opt);
    CHECK(st == CLNET_OK, "train defaults: %s", clnet_last_error(ctx));
    CHECK(batch == 64 && opt.epochs == 10 && opt.kind == CLNET_OPTIM_SGD,
          "batch %d epochs %d kind %d", batch, opt.epochs, (int)opt.kind);
    CHECK(opt.lr == 0.01f && opt.momentum == 0.9f && opt.weight_decay == 0.0005f,
          "lr %g momentum %g weight decay %g", (double)opt.lr, (double)opt.momentum,
          (double)opt.weight_decay);
    CHECK(opt.beta1 == 0.5f, "a key the file does not set was changed");
    batch = 7;
    st = clnet_cfg_train_defaults(ctx, "[net]\ninput = 3\nlearning_rate = 0\n", "t.cfg", &batch,
                                  &opt);
    CHECK(st == CLNET_ERR_FORMAT && strstr(clnet_last_error(ctx), "t.cfg:3: learning_rate:"),
          "learning_rate 0: %d %s", st, clnet_last_error(ctx));
    CHECK(batch == 7, "batch changed although the file does not set it");
}

/* ResNet- and DenseNet-style blocks through [repeat]: names with $i, names
 * from earlier iterations, and relative indices inside the block. */
static void test_repeat(clnet_ctx *ctx)
{
    const char *res =
        "[net]\ninput = 4x8x8\n"
        "[conv]\nname = stem\nfilters = 4\nsize = 3\npad = 1\n"
        "[repeat]\ncount = 3\n"
        "[conv]\nname = block$i.conv\nfilters = 4\nsize = 3\npad = 1\nactivation = relu\n"
        "[add]\nname = block$i.add\nfrom = -1, -2\n"
        "[end]\n"
        "[linear]\nname = head\noutputs = 5\nfrom = block2.add\n";
    clnet_net *net = parse(ctx, res, NULL);
    if (net) {
        CHECK(clnet_net_layer_count(net) == 9, "residual: %d layers", clnet_net_layer_count(net));
        expect_layer(net, 2, "block0.conv", "4x8x8", 148);
        expect_layer(net, 3, "block0.add", "4x8x8", 0);
        expect_layer(net, 6, "block2.conv", "4x8x8", 148);
        expect_layer(net, 7, "block2.add", "4x8x8", 0);
        expect_layer(net, 8, "head", "5", 4 * 64 * 5 + 5);
        clnet_net_free(net);
    }
    /* Each iteration concatenates 4 new channels onto its input: 8, 12, 16, 20. */
    const char *dense =
        "[net]\ninput = 3x6x6\n"
        "[conv]\nfilters = 8\nsize = 1\n"
        "[repeat]\ncount = 3\n"
        "[batchnorm]\nactivation = relu\n"
        "[conv]\nfilters = 4\nsize = 3\npad = 1\nbias = 0\n"
        "[concat]\nname = dense$i\nfrom = -3, -1\n"
        "[end]\n"
        "[globalavgpool]\n";
    net = parse(ctx, dense, NULL);
    if (net) {
        CHECK(clnet_net_layer_count(net) == 12, "dense: %d layers", clnet_net_layer_count(net));
        expect_layer(net, 1, NULL, "8x6x6", 8 * 3 + 8);
        expect_layer(net, 2, NULL, "8x6x6", 16);
        expect_layer(net, 3, NULL, "4x6x6", 4 * 8 * 9);
        expect_layer(net, 4, "dense0", "12x6x6", 0);
        expect_layer(net, 6, NULL, "4x6x6", 4 * 12 * 9);
        expect_layer(net, 10, "dense2", "20x6x6", 0);
        expect_layer(net, 11, NULL, "20x1x1", 0);
        clnet_net_free(net);
    }
}

static void test_overrides(clnet_ctx *ctx)
{
    clnet_cfg_overrides ov = {.classes = 7};
    clnet_net *net = NULL;
    clnet_status st = clnet_net_zoo(ctx, "lenet5", &ov, &net);
    CHECK(st == CLNET_OK, "classes override: %s", clnet_last_error(ctx));
    if (net) {
        expect_layer(net, 8, "fc3", "7", 84 * 7 + 7);
        clnet_net_free(net);
    }
    ov = (clnet_cfg_overrides){.input = {3, {3, 32, 32}}};
    st = clnet_net_zoo(ctx, "lenet5", &ov, &net);
    CHECK(st == CLNET_OK, "input override: %s", clnet_last_error(ctx));
    if (net) {
        expect_layer(net, 1, "conv1", "6x32x32", 6 * 3 * 25 + 6);
        expect_layer(net, 5, NULL, "576", 0);
        expect_layer(net, 6, "fc1", "120", 576 * 120 + 120);
        clnet_net_free(net);
    }
    /* A SqueezeNet-style head: the classifier is the last conv. */
    const char *conv_head =
        "[net]\ninput = 3x8x8\n"
        "[linear]\noutputs = 192\n"
        "[conv]\nfilters = 4\nsize = 3\nfrom = input\n"
        "[conv]\nname = classifier\nfilters = 10\nsize = 1\nactivation = relu\n"
        "[globalavgpool]\n[flatten]\n[softmax]\n";
    ov = (clnet_cfg_overrides){.classes = 3};
    net = parse(ctx, conv_head, &ov);
    if (net) {
        expect_layer(net, 3, "classifier", "3x6x6", 4 * 3 + 3);
        expect_layer(net, 6, NULL, "3", 0);
        clnet_net_free(net);
    }
    st = clnet_net_parse_cfg(ctx, "[net]\ninput = 3x4x4\n[maxpool]\nsize = 2\n", "t.cfg", &ov,
                             &net);
    CHECK(st == CLNET_ERR_FORMAT && !net, "classes without a classifier: status %d", st);
}

/* The width override scales the filters of sections with scale = 1 only,
 * rounding down (0.7 * 10 is 7, though 0.7f is a little below 0.7); a
 * depthwise conv stays depthwise; classes applies afterwards. */
static void test_width(clnet_ctx *ctx)
{
    const char *text =
        "[net]\ninput = 3x8x8\n"
        "[conv]\nfilters = 10\nsize = 3\npad = 1\nscale = 1\n"
        "[conv]\nfilters = 10\nsize = 3\npad = 1\ngroups = 10\nscale = 1\n"
        "[conv]\nfilters = 6\nsize = 1\n"
        "[conv]\nfilters = 5\nsize = 1\nscale = 1\n";
    clnet_cfg_overrides ov = {.width = 0.7f};
    clnet_net *net = parse(ctx, text, &ov);
    if (net) {
        expect_layer(net, 1, NULL, "7x8x8", 7 * 3 * 9 + 7);
        expect_layer(net, 2, NULL, "7x8x8", 7 * 9 + 7);
        expect_layer(net, 3, NULL, "6x8x8", 6 * 7 + 6);
        expect_layer(net, 4, NULL, "3x8x8", 3 * 6 + 3);
        clnet_net_free(net);
    }
    ov.classes = 4;
    net = parse(ctx, text, &ov);
    if (net) {
        expect_layer(net, 4, NULL, "4x8x8", 4 * 6 + 4);
        clnet_net_free(net);
    }
    ov = (clnet_cfg_overrides){.width = 0.05f};
    clnet_status st = clnet_net_parse_cfg(ctx, text, "w.cfg", &ov, &net);
    CHECK(st == CLNET_ERR_FORMAT && strstr(clnet_last_error(ctx), "w.cfg:7: scale"),
          "width to 0 filters: status %d: %s", st, clnet_last_error(ctx));
    ov.width = 2.0f;
    st = clnet_net_zoo(ctx, "lenet5", &ov, &net);
    CHECK(st == CLNET_ERR_FORMAT && strstr(clnet_last_error(ctx), "scale = 1"),
          "width on a net without scale = 1: status %d: %s", st, clnet_last_error(ctx));
    ov.width = -1.0f;
    st = clnet_net_parse_cfg(ctx, text, "w.cfg", &ov, &net);
    CHECK(st == CLNET_ERR_INVALID_ARGUMENT && !net, "negative width: status %d", st);
}

/* Sections marked aux = 1 are built only with the aux override; the main
 * net may not read them; classes resizes the last [linear] of each
 * auxiliary branch as well as the main classifier. */
static void test_aux(clnet_ctx *ctx)
{
    const char *text =
        "[net]\ninput = 4\n"
        "[linear]\nname = a\noutputs = 8\n"
        "[linear]\nname = aux.fc1\naux = 1\noutputs = 3\n"
        "[dropout]\naux = 1\n"
        "[linear]\nname = aux.fc2\naux = 1\noutputs = 5\n"
        "[linear]\nname = fc\nfrom = a\noutputs = 6\n";
    clnet_net *net = parse(ctx, text, NULL);
    if (net) {
        CHECK(clnet_net_layer_count(net) == 3, "aux off: %d layers, expected 3",
              clnet_net_layer_count(net));
        expect_layer(net, 2, "fc", "6", 8 * 6 + 6);
        clnet_net_free(net);
    }
    clnet_cfg_overrides ov = {.aux = true};
    net = parse(ctx, text, &ov);
    if (net) {
        CHECK(clnet_net_layer_count(net) == 6, "aux on: %d layers, expected 6",
              clnet_net_layer_count(net));
        expect_layer(net, 4, "aux.fc2", "5", 3 * 5 + 5);
        expect_layer(net, 5, "fc", "6", 8 * 6 + 6);
        clnet_net_free(net);
    }
    ov.classes = 2;
    net = parse(ctx, text, &ov);
    if (net) {
        expect_layer(net, 2, "aux.fc1", "3", 8 * 3 + 3);
        expect_layer(net, 4, "aux.fc2", "2", 3 * 2 + 2);
        expect_layer(net, 5, "fc", "2", 8 * 2 + 2);
        clnet_net_free(net);
    }
    /* -1 after the branch reads the branch once it is built. */
    const char *reads_aux =
        "[net]\ninput = 4\n[linear]\noutputs = 8\n"
        "[linear]\nname = x\naux = 1\noutputs = 3\n[linear]\noutputs = 6\n";
    ov = (clnet_cfg_overrides){.aux = true};
    clnet_status st = clnet_net_parse_cfg(ctx, reads_aux, "a.cfg", &ov, &net);
    CHECK(st == CLNET_ERR_FORMAT && !net && strstr(clnet_last_error(ctx), "a.cfg:9: from:") &&
          strstr(clnet_last_error(ctx), "'x' is auxiliary"),
          "main layer reading an aux one: status %d: %s", st, clnet_last_error(ctx));
    st = clnet_net_parse_cfg(ctx, "[net]\ninput = 4\n[linear]\noutputs = 3\naux = 2\n", "a.cfg",
                             &ov, &net);
    CHECK(st == CLNET_ERR_FORMAT && strstr(clnet_last_error(ctx), "a.cfg:5: aux:"),
          "aux = 2: status %d: %s", st, clnet_last_error(ctx));

    /* torchvision's aux_logits=True counts. */
    static const struct { const char *name; int64_t params; } published[] = {
        {"googlenet", 13004888}, {"inception_v3", 27161264}};
    for (size_t i = 0; i < sizeof published / sizeof published[0]; i++) {
        warnings = 0;
        st = clnet_net_zoo(ctx, published[i].name, &ov, &net);
        CHECK(st == CLNET_OK && warnings == 0, "zoo %s with aux: %s", published[i].name,
              st == CLNET_OK ? "warnings" : clnet_last_error(ctx));
        if (st != CLNET_OK)
            continue;
        int64_t params = total_params(net);
        CHECK(params == published[i].params, "zoo %s with aux: %lld params, expected %lld",
              published[i].name, (long long)params, (long long)published[i].params);
        printf("zoo %s with aux: %lld params\n", published[i].name, (long long)params);
        clnet_net_free(net);
    }
}

static void test_one_d(clnet_ctx *ctx)
{
    const char *text =
        "[net]\ninput = 2x32   # channels x width\n"
        "[conv]\nfilters = 4\nsize = 5\nactivation = leaky\nslope = 0.1\n"
        "[maxpool]\nsize = 2\n"
        "[convt]\nfilters = 2\nsize = 4\nstride = 2\npad = 1\n"
        "[flatten]\n[linear]\noutputs = 1\n";
    clnet_net *net = parse(ctx, text, NULL);
    if (net) {
        expect_layer(net, 1, NULL, "4x28", 4 * 2 * 5 + 4);
        expect_layer(net, 2, NULL, "4x14", 0);
        expect_layer(net, 3, NULL, "2x28", 4 * 2 * 4 + 2);
        expect_layer(net, 5, NULL, "1", 56 + 1);
        clnet_net_free(net);
    }
}

/* The sections of the classic nets: channel slices (LeNet-5's partial
 * connections), adaptive average pooling (torchvision's AlexNet and VGG),
 * Euclidean RBF units (LeNet-5's output, resized by the classes override). */
static void test_classic_sections(clnet_ctx *ctx)
{
    const char *text =
        "[net]\ninput = 6x9x9\n"
        "[slice]\nname = tail\nstart = 4\ncount = 2\n"
        "[slice]\nname = head\nfrom = input\ncount = 1\n"
        "[concat]\nfrom = tail, head\n"
        "[conv]\nfilters = 2\nsize = 3\nactivation = lecuntanh\n"
        "[adaptiveavgpool]\nsize_h = 3\nsize_w = 2\n"
        "[rbf]\nname = out\noutputs = 10\n";
    clnet_net *net = parse(ctx, text, NULL);
    if (net) {
        expect_layer(net, 1, "tail", "2x9x9", 0);
        expect_layer(net, 2, "head", "1x9x9", 0);
        expect_layer(net, 3, NULL, "3x9x9", 0);
        expect_layer(net, 4, NULL, "2x7x7", 2 * 27 + 2);
        expect_layer(net, 5, NULL, "2x3x2", 0);
        expect_layer(net, 6, "out", "10", 10 * 12);
        clnet_net_free(net);
    }
    clnet_cfg_overrides ov = {.classes = 7};
    net = parse(ctx, text, &ov);
    if (net) {
        expect_layer(net, 6, "out", "7", 7 * 12);
        clnet_net_free(net);
    }
    net = parse(ctx, "[net]\ninput = 3x20\n[adaptiveavgpool]\nsize = 6\n", NULL);
    if (net) {
        expect_layer(net, 1, NULL, "3x6", 0);
        clnet_net_free(net);
    }
}

/* Every pooling mode of the table has its windowed and global section, and
 * count_include_pad belongs to the modes that average. */
static void test_pool_sections(clnet_ctx *ctx)
{
    for (int m = 0; m < CLNET_POOL_MODE_COUNT; m++) {
        const clnet_pool_mode_info *mode = clnet_pool_mode_info_get((clnet_pool_mode)m);
        char text[256];
        snprintf(text, sizeof text, "[net]\ninput = 2x7x7\n[%s]\nsize = 3\nstride = 2\n%s"
                 "[global%s]\n", mode->cfg_name, mode->averages ? "count_include_pad = 0\n" : "",
                 mode->cfg_name);
        clnet_net *net = parse(ctx, text, NULL);
        if (net) {
            expect_layer(net, 1, NULL, "2x3x3", 0);
            expect_layer(net, 2, NULL, "2x1x1", 0);
            clnet_net_free(net);
        }
        if (mode->averages)
            continue;
        snprintf(text, sizeof text, "[net]\ninput = 2x7x7\n[%s]\nsize = 3\n"
                 "count_include_pad = 0\n", mode->cfg_name);
        net = NULL;
        clnet_status st = clnet_net_parse_cfg(ctx, text, "t.cfg", NULL, &net);
        CHECK(st == CLNET_ERR_FORMAT && !net &&
                  strstr(clnet_last_error(ctx), "t.cfg:5: count_include_pad:"),
              "[%s] with count_include_pad: status %d, %s", mode->cfg_name, st,
              clnet_last_error(ctx));
        clnet_net_free(net);
    }
}

/* [unpool] at a max pooling's switches, named or by relative index. */
static void test_unpool_section(clnet_ctx *ctx)
{
    clnet_net *net = parse(ctx, "[net]\ninput = 3x8x8\n[maxpool]\nname = p\nsize = 2\n"
                                "[conv]\nfilters = 3\nsize = 1\n[unpool]\nswitches = p\n"
                                "[maxpool]\nsize = 2\n[unpool]\nswitches = -1\n", NULL);
    if (net) {
        expect_layer(net, 3, NULL, "3x8x8", 0);
        expect_layer(net, 5, NULL, "3x8x8", 0);
        clnet_net_free(net);
    }
}

/* A key that has no effect is a warning, once even inside [repeat]. */
static void test_warning(clnet_ctx *ctx)
{
    warnings = 0;
    clnet_net *net = parse(ctx, "[net]\ninput = 4\n[repeat]\ncount = 2\n[linear]\noutputs = 4\n"
                                "activation = relu\nslope = 0.2\n[end]\n", NULL);
    CHECK(warnings == 1, "%d warnings for slope without leaky", warnings);
    clnet_net_free(net);
}

typedef struct error_case {
    const char *what;
    const char *text;
    clnet_status status;
    const char *where;           /* expected in the message: "test.cfg:LINE: KEY:" */
} error_case;

#define NET "[net]\ninput = 1x8x8\n"
#define CONV "[conv]\nfilters = 4\nsize = 3\n"

static const error_case errors[] = {
    {"unknown section", NET "[convolution]\n", CLNET_ERR_FORMAT, "test.cfg:3: [convolution]:"},
    {"unknown key", NET CONV "strides = 2\n", CLNET_ERR_FORMAT, "test.cfg:6: strides:"},
    {"key of another section", NET "[maxpool]\nsize = 2\nfilters = 3\n", CLNET_ERR_FORMAT,
     "test.cfg:5: filters:"},
    {"unpool without switches", NET "[maxpool]\nsize = 2\n[unpool]\n", CLNET_ERR_FORMAT,
     "test.cfg:5: switches:"},
    {"unpool at a conv", NET CONV "[unpool]\nswitches = -1\n", CLNET_ERR_INVALID_PARAMS,
     "test.cfg:6: [unpool]:"},
    {"malformed integer", NET "[conv]\nfilters = 4x\nsize = 3\n", CLNET_ERR_FORMAT,
     "test.cfg:4: filters:"},
    {"malformed float", NET "[dropout]\np = 0.5.5\n", CLNET_ERR_FORMAT, "test.cfg:4: p:"},
    {"malformed bool", NET CONV "bias = yes\n", CLNET_ERR_FORMAT, "test.cfg:6: bias:"},
    {"malformed shape", "[net]\ninput = 1x8x\n", CLNET_ERR_FORMAT, "test.cfg:2: input:"},
    {"malformed line", NET "[conv]\nfilters 4\n", CLNET_ERR_FORMAT, "test.cfg:4: filters 4:"},
    {"integer out of range", NET "[conv]\nfilters = 4\nsize = 0\n", CLNET_ERR_FORMAT,
     "test.cfg:5: size:"},
    {"float out of range", NET "[dropout]\np = 1\n", CLNET_ERR_FORMAT, "test.cfg:4: p:"},
    {"unknown activation", NET CONV "activation = gelu\n", CLNET_ERR_FORMAT,
     "test.cfg:6: activation:"},
    {"linear activation layer", NET "[activation]\ntype = linear\n", CLNET_ERR_FORMAT,
     "test.cfg:4: type:"},
    {"duplicate key", NET "[conv]\nfilters = 4\nsize = 3\nfilters = 5\n", CLNET_ERR_FORMAT,
     "test.cfg:6: filters:"},
    {"conflicting keys", NET CONV "size_h = 3\n", CLNET_ERR_FORMAT, "test.cfg:6: size_h:"},
    {"missing required key", NET "\n[conv]\nsize = 3\n", CLNET_ERR_FORMAT,
     "test.cfg:4: filters:"},
    {"missing input", "[net]\nbatch = 8\n" CONV, CLNET_ERR_FORMAT, "test.cfg:1: input:"},
    {"missing from", NET CONV "[add]\n", CLNET_ERR_FORMAT, "test.cfg:6: from:"},
    {"missing activation type", NET "[activation]\nslope = 0.1\n", CLNET_ERR_FORMAT,
     "test.cfg:3: type:"},
    {"from unknown layer", NET CONV "[add]\nfrom = -1, nosuch\n", CLNET_ERR_FORMAT,
     "test.cfg:7: from:"},
    {"from a later layer", NET CONV "name = a\n[conv]\nfilters = 4\nsize = 3\nfrom = b\n"
     "[conv]\nname = b\nfilters = 4\nsize = 3\n", CLNET_ERR_FORMAT, "test.cfg:10: from:"},
    {"from a positive index", NET CONV "[activation]\ntype = relu\nfrom = 1\n", CLNET_ERR_FORMAT,
     "test.cfg:8: from:"},
    {"from before the input", NET CONV "[add]\nfrom = -1, -3\n", CLNET_ERR_FORMAT,
     "test.cfg:7: from:"},
    {"absolute index", NET CONV "[add]\nfrom = -1, 0\n", CLNET_ERR_FORMAT,
     "test.cfg:7: from:"},
    {"too many inputs", NET CONV "from = -1, -1\n", CLNET_ERR_FORMAT, "test.cfg:6: from:"},
    {"duplicate name", NET CONV "name = x\n" CONV "name = x\n", CLNET_ERR_FORMAT,
     "test.cfg:10: name:"},
    {"bad name", NET CONV "name = 1st\n", CLNET_ERR_FORMAT, "test.cfg:6: name:"},
    {"$i outside repeat", NET CONV "name = c$i\n", CLNET_ERR_FORMAT, "test.cfg:6: name:"},
    {"unterminated repeat", NET "[repeat]\ncount = 2\n" CONV, CLNET_ERR_FORMAT,
     "test.cfg:3: [repeat]:"},
    {"nested repeat", NET "[repeat]\ncount = 2\n[repeat]\ncount = 2\n" CONV "[end]\n[end]\n",
     CLNET_ERR_FORMAT, "test.cfg:5: [repeat]:"},
    {"end without repeat", NET CONV "[end]\n", CLNET_ERR_FORMAT, "test.cfg:6: [end]:"},
    {"repeat without count", NET "[repeat]\n" CONV "[end]\n", CLNET_ERR_FORMAT,
     "test.cfg:3: count:"},
    {"key outside a section", "input = 1x8x8\n[net]\n", CLNET_ERR_FORMAT, "test.cfg:1: input:"},
    {"no [net] first", CONV NET, CLNET_ERR_FORMAT, "test.cfg:1: [net]:"},
    {"second [net]", NET CONV NET, CLNET_ERR_FORMAT, "test.cfg:6: [net]:"},
    {"height key on 1-D input", "[net]\ninput = 2x16\n[conv]\nfilters = 2\nsize_h = 3\n"
     "size_w = 3\n", CLNET_ERR_FORMAT, "test.cfg:5: size_h:"},
    /* Shape errors come from clnet_net_add, located by the section. */
    {"kernel larger than input", NET "\n[conv]\nfilters = 4\nsize = 9\n", CLNET_ERR_SHAPE,
     "test.cfg:4: [conv]:"},
    {"shape error in a repeat", NET "[repeat]\ncount = 4\n[conv]\nfilters = 1\nsize = 3\n"
     "stride = 2\n[end]\n", CLNET_ERR_SHAPE, "test.cfg:5: [conv]:"},
    {"mismatched add", NET CONV "[conv]\nfilters = 4\nsize = 1\nstride = 2\n[add]\n"
     "from = -1, -2\n", CLNET_ERR_SHAPE, "test.cfg:10: [add]:"},
    {"slice past the channels", NET "[slice]\nstart = 1\ncount = 1\n", CLNET_ERR_INVALID_PARAMS,
     "test.cfg:3: [slice]:"},
    {"slice without count", NET "[slice]\nstart = 0\n", CLNET_ERR_FORMAT, "test.cfg:3: count:"},
    {"adaptive height on 1-D input", "[net]\ninput = 2x16\n[adaptiveavgpool]\nsize_h = 3\n"
     "size_w = 3\n", CLNET_ERR_FORMAT, "test.cfg:4: size_h:"},
    {"rbf without outputs", NET "[rbf]\n", CLNET_ERR_FORMAT, "test.cfg:3: outputs:"},
};

static void test_errors(clnet_ctx *ctx)
{
    int n = (int)(sizeof errors / sizeof errors[0]);
    for (int i = 0; i < n; i++) {
        const error_case *c = &errors[i];
        clnet_net *net = NULL;
        clnet_status st = clnet_net_parse_cfg(ctx, c->text, "test.cfg", NULL, &net);
        const char *msg = clnet_last_error(ctx);
        CHECK(st == c->status, "%s: status %d (%s), expected %d; message: %s", c->what, st,
              clnet_status_str(st), c->status, msg);
        CHECK(strstr(msg, c->where) != NULL, "%s: message lacks '%s': %s", c->what, c->where,
              msg);
        CHECK(net == NULL, "%s: a net was returned", c->what);
        clnet_net_free(net);
    }
    printf("%d error cases checked\n", n);
    /* The repeat iteration that failed is named: 8 -> 3 -> 1 -> (fails). */
    int k = 0;
    while (strcmp(errors[k].what, "shape error in a repeat") != 0)
        k++;
    clnet_net *net = NULL;
    clnet_net_parse_cfg(ctx, errors[k].text, "test.cfg", NULL, &net);
    CHECK(strstr(clnet_last_error(ctx), "repeat iteration 2") != NULL,
          "iteration not named: %s", clnet_last_error(ctx));
}

static void test_load(clnet_ctx *ctx)
{
    char path[] = "/tmp/clnet-test-cfg-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp failed");
    if (fd < 0)
        return;
    const char *text = clnet_zoo_cfg("lenet5");
    size_t len = strlen(text);
    CHECK(write(fd, text, len) == (ssize_t)len, "write failed");
    close(fd);
    clnet_net *net = NULL;
    clnet_status st = clnet_net_load_cfg(ctx, path, NULL, &net);
    CHECK(st == CLNET_OK, "load_cfg: %s", clnet_last_error(ctx));
    if (net)
        CHECK(total_params(net) == 61706, "loaded lenet5: %lld params",
              (long long)total_params(net));
    clnet_net_free(net);
    unlink(path);
    st = clnet_net_load_cfg(ctx, path, NULL, &net);
    CHECK(st == CLNET_ERR_IO && strstr(clnet_last_error(ctx), path),
          "missing file: status %d: %s", st, clnet_last_error(ctx));
    /* a directory and a FIFO are refused; the alarm fails the test if the
     * FIFO's open blocks */
    CHECK(mkdir(path, 0700) == 0, "mkdir failed");
    st = clnet_net_load_cfg(ctx, path, NULL, &net);
    CHECK(st == CLNET_ERR_IO && strstr(clnet_last_error(ctx), "not a regular file"),
          "a directory as a cfg: status %d: %s", st, clnet_last_error(ctx));
    rmdir(path);
    CHECK(mkfifo(path, 0600) == 0, "mkfifo failed");
    alarm(60);
    st = clnet_net_load_cfg(ctx, path, NULL, &net);
    alarm(0);
    CHECK(st == CLNET_ERR_IO && strstr(clnet_last_error(ctx), "not a regular file"),
          "a FIFO as a cfg: status %d: %s", st, clnet_last_error(ctx));
    unlink(path);
}

/* The largest [repeat] block the format allows builds in time linear in
 * its layers: 100,000 layers took 198 s when every new name was compared
 * with every earlier one. Process CPU time, so a busy machine does not
 * matter; the bound is over ten times what the linear build takes here
 * (0.7 s; sanitizers slow it 2-4x) and a twentieth of the quadratic one. */
static void test_many_layers(clnet_ctx *ctx)
{
    const char *text = "[net]\ninput = 4\n[repeat]\ncount = 50000\n[activation]\n"
                       "name = relu$i\ntype = relu\n[activation]\ntype = relu\nfrom = relu$i\n[end]\n";
    clock_t t0 = clock();
    clnet_net *net = NULL;
    clnet_status st = clnet_net_parse_cfg(ctx, text, "many.cfg", NULL, &net);
    double seconds = (double)(clock() - t0) / CLOCKS_PER_SEC;
    printf("a [repeat] block of 100,000 layers, half of them found by name: %.2f s of CPU\n", seconds);
    CHECK(st == CLNET_OK && clnet_net_layer_count(net) == 100001, "many layers: %s",
          clnet_last_error(ctx));
    CHECK(seconds < 10.0, "100,000 layers took %.1f s to build", seconds);
    clnet_net_free(net);
}

int main(void)
{
    clnet_ctx *ctx = NULL;
    if (test_check_status(NULL, clnet_ctx_new(&ctx), "clnet_ctx_new"))
        return 1;
    clnet_ctx_set_log(ctx, count_warnings, NULL, CLNET_LOG_WARN);
    test_lenet5(ctx);
    test_zoo(ctx);
    test_train_defaults(ctx);
    test_repeat(ctx);
    test_overrides(ctx);
    test_width(ctx);
    test_aux(ctx);
    test_one_d(ctx);
    test_classic_sections(ctx);
    test_pool_sections(ctx);
    test_unpool_section(ctx);
    test_warning(ctx);
    test_errors(ctx);
    test_load(ctx);
    test_many_layers(ctx);
    clnet_ctx_free(ctx);
    printf("%s: %d failures\n", test_failures ? "FAIL" : "PASS", test_failures);
    return test_failures ? 1 : 0;
}
