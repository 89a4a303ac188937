/* test_nn.c - networks built in C: shapes, parameter and MAC counts against
 * hand-computed numbers, forward passes on ref and OpenCL, a whole-net
 * gradient check by finite differences, freeze/truncate/new head, SGD and
 * Adam, the training loop, evaluation, multi-crop and ensembles. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"
#include "testutil.h"

#define MAX_DEVICES 16
#define SEED 20240611u

/* ---- building nets ---- */

static clnet_layer_spec conv(int k, int kh, int kw, int stride, int pad, bool bias)
{
    clnet_layer_spec s = {.kind = CLNET_LAYER_CONV, .out_channels = k, .kernel = {kh, kw},
                          .bias = bias};
    for (int a = 0; a < 2; a++) {
        s.conv.stride[a] = stride;
        s.conv.pad_begin[a] = s.conv.pad_end[a] = pad;
    }
    return s;
}

static clnet_layer_spec with_act(clnet_layer_spec s, clnet_activation fn)
{
    s.has_act = true;
    s.act.fn = fn;
    s.act.alpha = 0.1f;
    return s;
}

static clnet_layer_spec simple(clnet_layer_kind kind) { return (clnet_layer_spec){.kind = kind}; }

static clnet_layer_spec act(clnet_activation fn)
{
    clnet_layer_spec s = {.kind = CLNET_LAYER_ACTIVATION};
    s.act.fn = fn;
    return s;
}

static clnet_layer_spec pool(clnet_pool_mode mode, int k, int stride, int pad)
{
    clnet_layer_spec s = {.kind = CLNET_LAYER_POOL};
    s.pool.mode = mode;
    s.pool.count_include_pad = true;
    for (int a = 0; a < 2; a++) {
        s.pool.kernel[a] = k;
        s.pool.stride[a] = stride;
        s.pool.pad_begin[a] = s.pool.pad_end[a] = pad;
    }
    return s;
}

static clnet_layer_spec global_pool(clnet_pool_mode mode)
{
    clnet_layer_spec s = {.kind = CLNET_LAYER_POOL};
    s.pool.mode = mode;
    s.pool.global = true;
    return s;
}

static clnet_layer_spec linear(int m, bool bias)
{
    return (clnet_layer_spec){.kind = CLNET_LAYER_LINEAR, .out_channels = m, .bias = bias};
}

static clnet_layer_spec slice(int start, int count)
{
    return (clnet_layer_spec){.kind = CLNET_LAYER_SLICE, .slice_start = start,
                              .slice_count = count};
}

static clnet_layer_spec adaptive_pool(int oh, int ow)
{
    clnet_layer_spec s = {.kind = CLNET_LAYER_POOL};
    s.pool.mode = CLNET_POOL_AVG;
    s.pool.adaptive = true;
    s.pool.out_size[0] = oh;
    s.pool.out_size[1] = ow;
    return s;
}

static clnet_layer_spec from(clnet_layer_spec s, int n, const int *ids)
{
    s.nfrom = n;
    memcpy(s.from, ids, (size_t)n * sizeof *ids);
    return s;
}

/* Adds layers in order; after the first failure adds nothing and remembers
 * the status. */
typedef struct builder {
    clnet_ctx *ctx;
    clnet_net *net;
    clnet_status st;
} builder;

static int add(builder *b, clnet_layer_spec s)
{
    int id = -1;
    if (b->st == CLNET_OK) {
        b->st = clnet_net_add(b->net, &s, &id);
        if (b->st != CLNET_OK)
            printf("FAIL: adding a %s layer: %s\n", nn_kind_name(s.kind), clnet_last_error(b->ctx));
    }
    return id;
}

static builder start(clnet_ctx *ctx, int ndim, int64_t a, int64_t b, int64_t c)
{
    clnet_shape in = {.ndim = ndim, .dim = {a, b, c}};
    builder bl = {ctx, NULL, CLNET_OK};
    bl.st = clnet_net_new(ctx, &in, &bl.net);
    return bl;
}

static clnet_net *finish(builder *b)
{
    if (b->st == CLNET_OK)
        return b->net;
    test_failures++;
    clnet_net_free(b->net);
    return NULL;
}

/* conv(bias) - BN+ReLU - maxpool - dropout - linear, on 3x8x8 */
static clnet_net *net_plain(clnet_ctx *ctx)
{
    builder b = start(ctx, 3, 3, 8, 8);
    add(&b, conv(4, 3, 3, 1, 1, true));
    add(&b, with_act(simple(CLNET_LAYER_BATCHNORM), CLNET_ACT_RELU));
    add(&b, pool(CLNET_POOL_MAX, 2, 2, 0));
    clnet_layer_spec d = simple(CLNET_LAYER_DROPOUT);
    d.dropout_p = 0.25f;
    add(&b, d);
    add(&b, linear(10, true));
    return finish(&b);
}

/* input + conv(conv(input)) -> ReLU -> global average -> linear, trained
 * with label smoothing */
static clnet_net *net_residual(clnet_ctx *ctx, clnet_activation fn)
{
    builder b = start(ctx, 3, 4, 6, 6);
    add(&b, with_act(conv(4, 3, 3, 1, 1, true), fn));
    int c2 = add(&b, conv(4, 3, 3, 1, 1, false));
    add(&b, from(simple(CLNET_LAYER_ADD), 2, (int[]){0, c2}));
    add(&b, act(fn));
    add(&b, global_pool(CLNET_POOL_AVG));
    add(&b, linear(5, true));
    clnet_net *net = finish(&b);
    if (net)
        clnet_net_set_loss(net, CLNET_LOSS_SOFTMAX_XENT, 0.1f);
    return net;
}

/* Inception-like: three branches and the input itself concatenated (the
 * branches become channel slices, the input is copied), then LRN, a 1x1
 * conv, global max, flatten, linear. */
static clnet_net *net_inception(clnet_ctx *ctx, clnet_activation fn)
{
    builder b = start(ctx, 3, 3, 6, 6);
    int b1 = add(&b, with_act(conv(2, 1, 1, 1, 0, true), fn));
    int b2 = add(&b, with_act(conv(3, 3, 3, 1, 1, true), fn));
    int p = add(&b, from(pool(CLNET_POOL_AVG, 3, 1, 1), 1, (int[]){0}));
    int b3 = add(&b, from(conv(2, 1, 1, 1, 0, false), 1, (int[]){p}));
    b2 = add(&b, from(simple(CLNET_LAYER_DROPOUT), 1, (int[]){b2}));
    add(&b, from(simple(CLNET_LAYER_CONCAT), 4, (int[]){b1, b2, b3, 0}));
    clnet_layer_spec lrn = simple(CLNET_LAYER_LRN);
    lrn.lrn = (clnet_lrn_params){.size = 3, .alpha = 1e-2f, .beta = 0.75f, .k = 1.0f};
    add(&b, lrn);
    add(&b, with_act(conv(4, 1, 1, 1, 0, true), fn));
    add(&b, global_pool(CLNET_POOL_MAX));
    add(&b, simple(CLNET_LAYER_FLATTEN));
    add(&b, linear(4, true));
    return finish(&b);
}

/* Squeeze-and-excitation: features times a per-channel gate. */
static clnet_net *net_se(clnet_ctx *ctx, clnet_activation fn)
{
    builder b = start(ctx, 3, 4, 5, 5);
    int f = add(&b, with_act(conv(6, 3, 3, 1, 1, true), fn));
    add(&b, global_pool(CLNET_POOL_AVG));
    add(&b, with_act(conv(3, 1, 1, 1, 0, true), fn));
    int g = add(&b, with_act(conv(6, 1, 1, 1, 0, true), CLNET_ACT_SIGMOID));
    add(&b, from(simple(CLNET_LAYER_MUL), 2, (int[]){f, g}));
    add(&b, simple(CLNET_LAYER_FLATTEN));
    add(&b, linear(3, false));
    return finish(&b);
}

/* 1-D signals (2 channels x 16): conv, max pool, BN, conv, global average,
 * and an explicit softmax (the loss then reads the logits before it). */
static clnet_net *net_1d(clnet_ctx *ctx, clnet_activation fn)
{
    builder b = start(ctx, 2, 2, 16, 0);
    add(&b, with_act(conv(4, 1, 5, 1, 2, true), fn));
    add(&b, pool(CLNET_POOL_MAX, 2, 2, 0));
    add(&b, with_act(simple(CLNET_LAYER_BATCHNORM), fn));
    add(&b, conv(4, 1, 3, 1, 0, true));
    add(&b, global_pool(CLNET_POOL_AVG));
    add(&b, simple(CLNET_LAYER_FLATTEN));
    add(&b, linear(3, true));
    add(&b, simple(CLNET_LAYER_SOFTMAX));
    return finish(&b);
}

/* Autoencoder with an MSE loss: a strided conv down, a transposed conv up
 * (2x6x6 -> 4x3x3 -> 2x6x6). */
static clnet_net *net_autoencoder(clnet_ctx *ctx, clnet_activation fn)
{
    builder b = start(ctx, 3, 2, 6, 6);
    add(&b, with_act(conv(4, 3, 3, 2, 1, true), fn));
    clnet_layer_spec up = conv(2, 3, 3, 2, 1, true);
    up.kind = CLNET_LAYER_CONV_TRANSPOSE;
    up.conv.output_padding[0] = up.conv.output_padding[1] = 1;
    add(&b, up);
    clnet_net *net = finish(&b);
    if (net)
        clnet_net_set_loss(net, CLNET_LOSS_MSE, 0.0f);
    return net;
}

/* Option-A shortcuts (CIFAR ResNets): inputs with fewer channels are added
 * into the leading channels of the widest, here 4 and 3 channels into 6,
 * the narrow ones subsampled by a 1x1 max pool of stride 2; the first is
 * listed before the wide one, and the second adds into the output in place. */
static clnet_net *net_shortcut(clnet_ctx *ctx, clnet_activation fn)
{
    builder b = start(ctx, 3, 3, 6, 6);
    int c1 = add(&b, with_act(conv(4, 3, 3, 1, 1, true), fn));
    int c2 = add(&b, conv(6, 3, 3, 2, 1, false));
    int s1 = add(&b, from(pool(CLNET_POOL_MAX, 1, 2, 0), 1, (int[]){c1}));
    int s0 = add(&b, from(pool(CLNET_POOL_MAX, 1, 2, 0), 1, (int[]){0}));
    add(&b, from(simple(CLNET_LAYER_ADD), 3, (int[]){s1, c2, s0}));
    add(&b, act(fn));
    add(&b, global_pool(CLNET_POOL_AVG));
    add(&b, linear(3, true));
    return finish(&b);
}

/* LeNet-5-style partial connections: convolutions over channel slices of a
 * feature map (one slice shared by two readers, one subset wrapping around
 * through a concat, one reader of all channels), concatenated, then an
 * adaptive average pooling 4x4 -> 3x3 (overlapping windows). */
static clnet_net *net_slice(clnet_ctx *ctx, clnet_activation fn)
{
    builder b = start(ctx, 3, 2, 6, 6);
    int c = add(&b, with_act(conv(4, 3, 3, 1, 1, true), fn));
    int s01 = add(&b, from(slice(0, 2), 1, (int[]){c}));
    int s3 = add(&b, from(slice(3, 1), 1, (int[]){c}));
    int wrap = add(&b, from(simple(CLNET_LAYER_CONCAT), 2, (int[]){s3, s01}));
    int m0 = add(&b, from(with_act(conv(2, 3, 3, 1, 0, true), fn), 1, (int[]){s01}));
    int m1 = add(&b, from(with_act(conv(1, 3, 3, 1, 0, true), fn), 1, (int[]){wrap}));
    int m2 = add(&b, from(conv(1, 3, 3, 1, 0, false), 1, (int[]){c}));
    add(&b, from(simple(CLNET_LAYER_CONCAT), 3, (int[]){m0, m1, m2}));
    add(&b, adaptive_pool(3, 3));
    add(&b, linear(3, true));
    return finish(&b);
}

/* SegNet-style autoencoder with an MSE loss: the decoder unpools at the
 * encoder's max-pooling switches (2x6x6 -> 4x6x6 -> 4x3x3 -> 4x3x3 ->
 * unpool 4x6x6 -> 2x6x6). The pooling's windows are 1x1 (stride 2): a
 * switch that moved under a finite difference would move a value, a jump
 * the gradient check cannot see through (test_gradients checks
 * UNPOOL_BACKWARD at real switches). */
static clnet_net *net_segnet(clnet_ctx *ctx, clnet_activation fn)
{
    builder b = start(ctx, 3, 2, 6, 6);
    add(&b, with_act(conv(4, 3, 3, 1, 1, true), fn));
    int p = add(&b, pool(CLNET_POOL_MAX, 1, 2, 0));
    add(&b, with_act(conv(4, 3, 3, 1, 1, true), fn));
    clnet_layer_spec unpool = simple(CLNET_LAYER_UNPOOL);
    unpool.switches = p;
    add(&b, unpool);
    add(&b, conv(2, 3, 3, 1, 1, true));
    clnet_net *net = finish(&b);
    if (net)
        clnet_net_set_loss(net, CLNET_LOSS_MSE, 0.0f);
    return net;
}

/* A ShuffleNet v2 unit: half the channels pass, the other half is
 * convolved, both are concatenated and shuffled (in 2 groups, then 3, so
 * that the second is not the first's inverse), then read by a convolution. */
static clnet_net *net_shuffle(clnet_ctx *ctx, clnet_activation fn)
{
    builder b = start(ctx, 3, 2, 5, 5);
    int c = add(&b, with_act(conv(6, 3, 3, 1, 1, true), fn));
    int keep = add(&b, from(slice(0, 3), 1, (int[]){c}));
    int half = add(&b, from(slice(3, 3), 1, (int[]){c}));
    int branch = add(&b, from(with_act(conv(3, 1, 1, 1, 0, true), fn), 1, (int[]){half}));
    add(&b, from(simple(CLNET_LAYER_CONCAT), 2, (int[]){keep, branch}));
    add(&b, (clnet_layer_spec){.kind = CLNET_LAYER_SHUFFLE, .shuffle_groups = 2});
    add(&b, (clnet_layer_spec){.kind = CLNET_LAYER_SHUFFLE, .shuffle_groups = 3});
    add(&b, conv(4, 3, 3, 1, 1, true));
    add(&b, global_pool(CLNET_POOL_AVG));
    add(&b, linear(3, true));
    return finish(&b);
}

typedef clnet_net *(*net_fn)(clnet_ctx *ctx, clnet_activation fn);

static clnet_net *net_plain_fn(clnet_ctx *ctx, clnet_activation fn)
{
    (void)fn;
    return net_plain(ctx);
}

static const struct {
    const char *name;
    net_fn build;
} nets[] = {
    {"plain", net_plain_fn},
    {"residual", net_residual},
    {"inception", net_inception},
    {"se", net_se},
    {"1d", net_1d},
    {"autoencoder", net_autoencoder},
    {"shortcut", net_shortcut},
    {"slice", net_slice},
    {"segnet", net_segnet},
    {"shuffle", net_shuffle},
};
#define NNETS ((int)(sizeof nets / sizeof nets[0]))

/* ---- shapes and counts ---- */

static void expect_layer(const clnet_net *net, int id, int ndim, int64_t a, int64_t b, int64_t c,
                         int64_t params, int64_t macs, int64_t elementwise)
{
    clnet_layer_info info;
    if (clnet_net_layer_info(net, id, &info) != CLNET_OK) {
        CHECK(false, "layer_info %d", id);
        return;
    }
    int64_t want[3] = {a, b, c};
    bool shape = info.out.ndim == ndim;
    for (int i = 0; shape && i < ndim; i++)
        shape = info.out.dim[i] == want[i];
    CHECK(shape, "layer %d (%s): output shape", id, info.name);
    CHECK(info.params == params, "layer %d (%s): %lld params, expected %lld", id, info.name,
          (long long)info.params, (long long)params);
    CHECK(info.macs == macs, "layer %d (%s): %lld MACs, expected %lld", id, info.name,
          (long long)info.macs, (long long)macs);
    CHECK(info.elementwise == elementwise, "layer %d (%s): %lld elementwise, expected %lld", id,
          info.name, (long long)info.elementwise, (long long)elementwise);
}

static void test_counts(clnet_ctx *ctx)
{
    clnet_net *net = net_plain(ctx);
    if (!net)
        return;
    /* conv 3->4 3x3 pad 1 on 8x8: 4*3*9 + 4 params, 4*3*9*64 MACs, a bias per output */
    expect_layer(net, 1, 3, 4, 8, 8, 112, 6912, 256);
    /* BN: gamma + beta; 2 per element, +1 for the fused ReLU */
    expect_layer(net, 2, 3, 4, 8, 8, 8, 0, 768);
    /* 2x2 max pool: 4 per output of 4x4x4 */
    expect_layer(net, 3, 3, 4, 4, 4, 0, 0, 256);
    expect_layer(net, 4, 3, 4, 4, 4, 0, 0, 0);
    expect_layer(net, 5, 1, 10, 0, 0, 650, 640, 10);
    int64_t p, m, e;
    clnet_net_counts(net, &p, &m, &e);
    CHECK(p == 770 && m == 7552 && e == 1290, "plain totals %lld %lld %lld", (long long)p,
          (long long)m, (long long)e);
    printf("plain: %lld params, %lld MACs, %lld elementwise\n", (long long)p, (long long)m,
           (long long)e);
    clnet_net_summary(net, stdout);
    clnet_net_free(net);

    net = net_inception(ctx, CLNET_ACT_RELU);
    if (net) {
        /* concat of 2 + 3 + 2 + 3 (the input) channels */
        expect_layer(net, 6, 3, 10, 6, 6, 0, 0, 0);
        /* LRN size 3: 5 per element */
        expect_layer(net, 7, 3, 10, 6, 6, 0, 0, 5 * 360);
        /* 1x1 conv 10->4 with bias and ReLU */
        expect_layer(net, 8, 3, 4, 6, 6, 44, 40 * 36, 2 * 144);
        expect_layer(net, 10, 1, 4, 0, 0, 0, 0, 0);
        clnet_net_free(net);
    }
    net = net_1d(ctx, CLNET_ACT_RELU);
    if (net) {
        /* conv1d 2->4 k5 pad 2 on 16: 4*2*5 + 4 params, 40*16 MACs */
        expect_layer(net, 1, 2, 4, 16, 0, 44, 640, 128);
        expect_layer(net, 2, 2, 4, 8, 0, 0, 0, 64);
        expect_layer(net, 4, 2, 4, 6, 0, 52, 48 * 6, 24);
        expect_layer(net, 8, 1, 3, 0, 0, 0, 0, 9);
        clnet_net_free(net);
    }
    net = net_autoencoder(ctx, CLNET_ACT_TANH);
    if (net) {
        /* conv 2->4 3x3 stride 2 on 6x6 -> 3x3; transposed 4->2 back to 6x6:
         * C*(K/g)*KH*KW per input position, 4*2*9 * 9 */
        expect_layer(net, 1, 3, 4, 3, 3, 76, 72 * 9, 72);
        expect_layer(net, 2, 3, 2, 6, 6, 74, 72 * 9, 72);
        clnet_net_free(net);
    }
    net = net_se(ctx, CLNET_ACT_RELU);
    if (net) {
        expect_layer(net, 5, 3, 6, 5, 5, 0, 0, 150);
        clnet_net_free(net);
    }
    net = net_shortcut(ctx, CLNET_ACT_RELU);
    if (net) {
        /* 1x1 pooling: one per output; the add: 4*9 + 3*9 sums */
        expect_layer(net, 3, 3, 4, 3, 3, 0, 0, 36);
        expect_layer(net, 5, 3, 6, 3, 3, 0, 0, 63);
        clnet_net_free(net);
    }
    net = net_slice(ctx, CLNET_ACT_RELU);
    if (net) {
        /* slices and concats cost nothing; the wrapped-around subset is
         * channels 3, 0, 1 */
        expect_layer(net, 2, 3, 2, 6, 6, 0, 0, 0);
        expect_layer(net, 4, 3, 3, 6, 6, 0, 0, 0);
        /* conv 3->1 over it: 1*3*9 + 1 params, 27 MACs per output of 4x4,
         * bias and activation */
        expect_layer(net, 6, 3, 1, 4, 4, 28, 27 * 16, 32);
        /* 4 -> 3: windows of rows (and columns) 0-1, 1-2, 2-3: 6 * 6 reads
         * per channel */
        expect_layer(net, 9, 3, 4, 3, 3, 0, 0, 4 * 36);
        clnet_net_free(net);
    }
}

static void test_build_errors(clnet_ctx *ctx)
{
    builder b = start(ctx, 3, 3, 8, 8);
    add(&b, conv(4, 3, 3, 1, 1, true));
    clnet_layer_spec dup = conv(4, 3, 3, 1, 1, true);
    strcpy(dup.name, "conv1");
    clnet_status st = clnet_net_add(b.net, &dup, NULL);
    CHECK(st == CLNET_ERR_INVALID_ARGUMENT && strstr(clnet_last_error(ctx), "conv1"),
          "duplicate name: %s", clnet_last_error(ctx));
    clnet_layer_spec bad = from(simple(CLNET_LAYER_ADD), 2, (int[]){0, 7});
    st = clnet_net_add(b.net, &bad, NULL);
    CHECK(st == CLNET_ERR_INVALID_ARGUMENT, "dangling from: %s", clnet_last_error(ctx));
    /* ADD may pad channels (below); MUL may not */
    clnet_layer_spec mismatch = from(simple(CLNET_LAYER_MUL), 2, (int[]){0, 1});
    st = clnet_net_add(b.net, &mismatch, NULL);
    CHECK(st == CLNET_ERR_SHAPE && strstr(clnet_last_error(ctx), "layer 2"),
          "mul of 3 and 4 channels: %s", clnet_last_error(ctx));
    /* a fused activation the kind cannot apply is refused, not dropped */
    clnet_layer_spec add_relu = with_act(from(simple(CLNET_LAYER_ADD), 2, (int[]){1, 1}),
                                         CLNET_ACT_RELU);
    st = clnet_net_add(b.net, &add_relu, NULL);
    CHECK(st == CLNET_ERR_INVALID_PARAMS && strstr(clnet_last_error(ctx), "has_act"),
          "add with has_act: %s", clnet_last_error(ctx));
    clnet_layer_spec big = conv(4, 11, 11, 1, 0, false);
    st = clnet_net_add(b.net, &big, NULL);
    CHECK(st == CLNET_ERR_SHAPE, "11x11 kernel on 8x8: %s", clnet_last_error(ctx));
    /* unpooling takes a max pooling's switches, on that pooling's output shape */
    clnet_layer_spec unpool = simple(CLNET_LAYER_UNPOOL);
    unpool.switches = 1;
    st = clnet_net_add(b.net, &unpool, NULL);
    CHECK(st == CLNET_ERR_INVALID_PARAMS && strstr(clnet_last_error(ctx), "max pooling"),
          "unpool at a conv's switches: %s", clnet_last_error(ctx));
    unpool.switches = 9;
    st = clnet_net_add(b.net, &unpool, NULL);
    CHECK(st == CLNET_ERR_INVALID_ARGUMENT, "unpool at a later layer: %s", clnet_last_error(ctx));
    printf("build errors: %s\n", clnet_last_error(ctx));
    CHECK(clnet_net_layer_count(b.net) == 2, "failed adds left %d layers",
          clnet_net_layer_count(b.net));
    int p = add(&b, pool(CLNET_POOL_MAX, 2, 2, 0));
    unpool.switches = p;
    st = clnet_net_add(b.net, &unpool, NULL);   /* its input is the pooling's output */
    CHECK(st == CLNET_OK, "unpool after its pooling: %s", clnet_last_error(ctx));
    st = clnet_net_add(b.net, &unpool, NULL);   /* now 4x8x8, not 4x4x4 */
    CHECK(st == CLNET_ERR_SHAPE, "unpool of the wrong shape: %s", clnet_last_error(ctx));
    clnet_net_free(b.net);
}

/* ---- running ---- */

static float *random_floats(size_t n, uint64_t seed, float lo, float hi)
{
    float *v = malloc(n * sizeof *v);
    test_rng r = {seed};
    if (v)
        test_fill_uniform(&r, v, n, lo, hi);
    return v;
}

static int64_t in_numel(const clnet_net *net) { return nn_numel(&net->layers[0].out); }
static int64_t out_numel(const clnet_net *net)
{
    return nn_numel(&net->layers[net->nlayers - 1].out);
}

/* Runs one forward and returns the output (malloc'd), NULL on failure. */
static float *forward(clnet_net *net, const float *x, int n, bool training)
{
    clnet_net_set_training(net, training);
    size_t count = (size_t)n * (size_t)out_numel(net);
    float *y = malloc(count * sizeof *y);
    if (!y || !OK(net->ctx, clnet_net_forward(net, x, n)) ||
        !OK(net->ctx, clnet_net_read_output(net, y, count))) {
        free(y);
        return NULL;
    }
    return y;
}

static double max_rel_diff(const float *a, const float *b, size_t n)
{
    double worst = 0.0, scale = 1e-3;
    for (size_t i = 0; i < n; i++)
        scale = fmax(scale, fabs((double)b[i]));
    for (size_t i = 0; i < n; i++)
        worst = fmax(worst, fabs((double)a[i] - (double)b[i]) / scale);
    return worst;
}

static bool same_weights(clnet_net *a, clnet_net *b)
{
    for (int i = 0; i < a->nlayers; i++)
        for (int j = 0; j < a->layers[i].nparams; j++) {
            const nn_param *p = &a->layers[i].params[j];
            size_t n = (size_t)nn_numel(&p->shape);
            float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
            bool same = x && y && nn_param_read(a, p, x) == CLNET_OK &&
                        nn_param_read(b, &b->layers[i].params[j], y) == CLNET_OK &&
                        memcmp(x, y, n * sizeof *x) == 0;
            free(x);
            free(y);
            if (!same)
                return false;
        }
    return true;
}

/* Same seed -> bit-identical weights; forward outputs agree in training
 * (BN batch statistics, dropout masks) and inference mode. */
static void test_forward_agree(clnet_ctx *ctx, clnet_device *ref, clnet_device *cl)
{
    const int n = 3;
    for (int k = 0; k < NNETS; k++) {
        clnet_net *a = nets[k].build(ctx, CLNET_ACT_RELU), *b = nets[k].build(ctx, CLNET_ACT_RELU);
        float *x = a ? random_floats((size_t)n * in_numel(a), 7 + k, -1.0f, 1.0f) : NULL;
        if (a && b && x && OK(ctx, clnet_net_bind(a, ref, 4, CLNET_INIT_HE_NORMAL, SEED)) &&
            OK(ctx, clnet_net_bind(b, cl, 4, CLNET_INIT_HE_NORMAL, SEED))) {
            CHECK(same_weights(a, b), "%s: weights differ between ref and OpenCL", nets[k].name);
            for (int mode = 0; mode < 2; mode++) {
                float *ya = forward(a, x, n, mode == 0), *yb = forward(b, x, n, mode == 0);
                if (ya && yb) {
                    double d = max_rel_diff(yb, ya, (size_t)n * out_numel(a));
                    printf("%s forward (%s): ref vs OpenCL max rel diff %.2e\n", nets[k].name,
                           mode == 0 ? "training" : "inference", d);
                    CHECK(d < 1e-4, "%s: outputs differ by %.2e", nets[k].name, d);
                }
                free(ya);
                free(yb);
            }
        }
        free(x);
        clnet_net_free(a);
        clnet_net_free(b);
    }
}

/* Batch views are rebuilt when n changes: a smaller batch gives the same
 * rows as the first rows of a bigger one (inference mode: no batch stats). */
static void test_batch_sizes(clnet_ctx *ctx, clnet_device *dev)
{
    clnet_net *net = net_inception(ctx, CLNET_ACT_RELU);
    float *x = random_floats(4 * 108, 99, -1.0f, 1.0f);
    if (net && x && OK(ctx, clnet_net_bind(net, dev, 4, CLNET_INIT_HE_UNIFORM, SEED))) {
        float *y4 = forward(net, x, 4, false), *y2 = forward(net, x, 2, false);
        if (y4 && y2)
            CHECK(max_rel_diff(y2, y4, 2 * 4) < 1e-6, "batch 2 differs from batch 4");
        CHECK(clnet_net_forward(net, x, 5) == CLNET_ERR_INVALID_ARGUMENT, "batch 5 accepted");
        free(y4);
        free(y2);
    }
    free(x);
    clnet_net_free(net);
}

/* ---- gradients ---- */

static int32_t labels_for[8] = {0, 2, 1, 2, 0, 1, 2, 0};
static float targets_for[8 * 72];

/* Backward against the fixed labels, or the fixed targets for MSE nets. */
static clnet_status backward(clnet_net *net, float *loss)
{
    const float *t = net->loss == CLNET_LOSS_MSE ? targets_for : NULL;
    return clnet_net_backward(net, labels_for, t, loss);
}

/* Loss of one training forward + backward at the current weights. */
static double loss_at(clnet_net *net, const float *x, int n)
{
    float loss = NAN;
    clnet_net_set_training(net, true);
    if (!OK(net->ctx, clnet_net_forward(net, x, n)) ||
        !OK(net->ctx, backward(net, &loss)))
        return NAN;
    return loss;
}

typedef struct grad_stats {
    int checked;
    double worst;
} grad_stats;

static void compare_grad(grad_stats *g, const char *what, double analytic, double numeric)
{
    double err = fabs(analytic - numeric) / fmax(2e-3, fabs(numeric) + fabs(analytic));
    g->checked++;
    g->worst = fmax(g->worst, err);
    if (err > 5e-2)
        printf("  %s: analytic %.6g numeric %.6g\n", what, analytic, numeric);
}

/* Central differences for three entries of every trainable parameter. */
static void check_param_grads(clnet_net *net, const float *x, int n, double eps, grad_stats *g)
{
    for (int i = 1; i < net->nlayers; i++)
        for (int j = 0; j < net->layers[i].nparams; j++) {
            nn_param *p = &net->layers[i].params[j];
            if (!p->trainable)
                continue;
            size_t count = (size_t)nn_numel(&p->shape);
            float *w = malloc(count * sizeof *w), *dw = malloc(count * sizeof *dw);
            if (!w || !dw || isnan(loss_at(net, x, n)) ||
                !OK(net->ctx, clnet_tensor_read(p->grad, dw, count * sizeof *dw)) ||
                !OK(net->ctx, nn_param_read(net, p, w))) {
                free(w);
                free(dw);
                return;
            }
            for (int t = 0; t < 3; t++) {
                size_t e = (size_t)(t * 7919) % count;
                float keep = w[e];
                w[e] = keep + (float)eps;
                nn_param_write(net, p, w);
                double up = loss_at(net, x, n);
                w[e] = keep - (float)eps;
                nn_param_write(net, p, w);
                double down = loss_at(net, x, n);
                w[e] = keep;
                nn_param_write(net, p, w);
                char what[128];
                snprintf(what, sizeof what, "%s.%s[%zu]", net->layers[i].spec.name, p->name, e);
                compare_grad(g, what, dw[e], (up - down) / (2 * eps));
            }
            free(w);
            free(dw);
        }
}

static void check_input_grads(clnet_net *net, float *x, int n, double eps, grad_stats *g)
{
    size_t count = (size_t)n * (size_t)in_numel(net);
    float *dx = malloc(count * sizeof *dx);
    if (!dx || isnan(loss_at(net, x, n)) ||
        !OK(net->ctx, clnet_tensor_read(net->layers[0].b.dy, dx, count * sizeof *dx))) {
        free(dx);
        return;
    }
    for (int t = 0; t < 6; t++) {
        size_t e = (size_t)(t * 104729) % count;
        float keep = x[e];
        x[e] = keep + (float)eps;
        double up = loss_at(net, x, n);
        x[e] = keep - (float)eps;
        double down = loss_at(net, x, n);
        x[e] = keep;
        char what[64];
        snprintf(what, sizeof what, "input[%zu]", e);
        compare_grad(g, what, dx[e], (up - down) / (2 * eps));
    }
    free(dx);
}

/* Every net, with smooth activations so that finite differences are valid,
 * on `ref`; also through the input (saliency) gradient. */
static void test_gradients(clnet_ctx *ctx, clnet_device *ref)
{
    for (int k = 0; k < NNETS; k++) {
        clnet_net *net = nets[k].build(ctx, CLNET_ACT_TANH);
        if (!net)
            continue;
        /* dropout masks change with every forward: finite differences need
         * the same function each time */
        for (int i = 0; i < net->nlayers; i++)
            if (net->layers[i].spec.kind == CLNET_LAYER_DROPOUT)
                net->layers[i].spec.dropout_p = 0.0f;
        net->input_grad = true;
        const int n = 4;
        float *x = random_floats((size_t)n * in_numel(net), 31 + k, -1.0f, 1.0f);
        grad_stats g = {0, 0.0};
        if (x && OK(ctx, clnet_net_bind(net, ref, n, CLNET_INIT_XAVIER_UNIFORM, SEED))) {
            check_param_grads(net, x, n, 1e-2, &g);
            check_input_grads(net, x, n, 1e-2, &g);
        }
        printf("%s gradients: %d checked, worst relative error %.2e\n", nets[k].name, g.checked,
               g.worst);
        CHECK(g.checked > 0 && g.worst < 5e-2, "%s: gradient check failed", nets[k].name);
        free(x);
        clnet_net_free(net);
    }
}

/* Gradients computed on OpenCL agree with ref; an op OpenCL lacks fails. */
static void test_backward_agree(clnet_ctx *ctx, clnet_device *ref, clnet_device *cl)
{
    for (int k = 0; k < NNETS; k++) {
        clnet_net *a = nets[k].build(ctx, CLNET_ACT_SWISH), *b = nets[k].build(ctx, CLNET_ACT_SWISH);
        const int n = 4;
        float *x = a ? random_floats((size_t)n * in_numel(a), 5 + k, -1.0f, 1.0f) : NULL;
        if (!a || !b || !x || !OK(ctx, clnet_net_bind(a, ref, n, CLNET_INIT_HE_NORMAL, SEED)) ||
            !OK(ctx, clnet_net_bind(b, cl, n, CLNET_INIT_HE_NORMAL, SEED)))
            goto next;
        clnet_net_set_training(a, true);
        clnet_net_set_training(b, true);
        float la = 0, lb = 0;
        OK(ctx, clnet_net_forward(a, x, n));
        OK(ctx, backward(a, &la));
        OK(ctx, clnet_net_forward(b, x, n));
        clnet_status st = backward(b, &lb);
        if (!OK(ctx, st))
            goto next;
        double worst = 0.0;
        for (int i = 0; i < a->nlayers; i++)
            for (int j = 0; j < a->layers[i].nparams; j++) {
                if (!a->layers[i].params[j].trainable)
                    continue;
                float *ga = test_read(a->layers[i].params[j].grad);
                float *gb = test_read(b->layers[i].params[j].grad);
                if (ga && gb)
                    worst = fmax(worst, max_rel_diff(gb, ga,
                                 (size_t)nn_numel(&a->layers[i].params[j].shape)));
                free(ga);
                free(gb);
            }
        printf("%s backward: loss ref %.6f OpenCL %.6f, gradients max rel diff %.2e\n",
               nets[k].name, la, lb, worst);
        CHECK(fabs(la - lb) < 1e-4 * fmax(1.0, fabs(la)) && worst < 1e-3,
              "%s: OpenCL backward differs from ref", nets[k].name);
    next:
        free(x);
        clnet_net_free(a);
        clnet_net_free(b);
    }
}

/* The channel-padded ADD by hand: y = concat(x, x) + x is 2x in the first
 * C channels and x in the others, on every device; a narrower input whose
 * plane differs is a shape error. */
static void test_channel_padded_add(clnet_ctx *ctx, clnet_device *const *devs, int ndev)
{
    for (int d = 0; d < ndev; d++) {
        builder b = start(ctx, 3, 3, 4, 5);
        int cat = add(&b, from(simple(CLNET_LAYER_CONCAT), 2, (int[]){0, 0}));
        add(&b, from(simple(CLNET_LAYER_ADD), 2, (int[]){0, cat}));
        clnet_net *net = finish(&b);
        const int n = 2, plane = 3 * 4 * 5;
        float *x = random_floats((size_t)n * plane, 61, -1.0f, 1.0f), *y = NULL;
        if (net && x && OK(ctx, clnet_net_bind(net, devs[d], n, CLNET_INIT_HE_NORMAL, SEED)))
            y = forward(net, x, n, false);
        int wrong = 0;
        for (int i = 0; y && i < n; i++)
            for (int k = 0; k < 2 * plane; k++) {
                float xi = x[i * plane + k % plane];
                wrong += y[i * 2 * plane + k] != (k < plane ? 2 * xi : xi);
            }
        clnet_device_info info = {.name = "?"};
        clnet_device_info_get(devs[d], &info);
        printf("channel-padded add on %s: %d of %d outputs wrong\n", info.name, wrong,
               2 * n * plane);
        CHECK(y && wrong == 0, "channel-padded add on %s", info.name);
        free(x);
        free(y);
        clnet_net_free(net);
    }
    builder b = start(ctx, 3, 3, 4, 4);
    int wide = add(&b, conv(6, 3, 3, 1, 1, false));
    int small = add(&b, from(pool(CLNET_POOL_MAX, 2, 2, 0), 1, (int[]){0}));
    clnet_layer_spec bad = from(simple(CLNET_LAYER_ADD), 2, (int[]){wide, small});
    clnet_status st = b.net ? clnet_net_add(b.net, &bad, NULL) : CLNET_ERR_INVALID_ARGUMENT;
    CHECK(st == CLNET_ERR_SHAPE, "add of 6x4x4 and 3x2x2: %s", clnet_last_error(ctx));
    clnet_net_free(b.net);
}

/* ---- optimisation ---- */

/* A fixed problem: 24 points in 8-D, 3 classes by the sign pattern of two
 * coordinates; MLP 8-16-3. Returns the loss ratio last/first, or NAN. */
/* The Euclidean RBF output (LeNet-5, 1998): y = squared distances of the
 * input to the rows of the weights, on every device; counted like a linear
 * layer plus a subtraction per weight; trained with the MMI loss, learnt
 * centres get a gradient (whose values test_gradients checks). */
static void test_rbf_layer(clnet_ctx *ctx, clnet_device *const *devs, int ndev)
{
    for (int d = 0; d < ndev; d++) {
        builder b = start(ctx, 1, 5, 0, 0);
        clnet_layer_spec rbf = {.kind = CLNET_LAYER_RBF, .out_channels = 3};
        strcpy(rbf.name, "euclid");
        add(&b, rbf);
        clnet_net *net = finish(&b);
        const int n = 2;
        float *x = random_floats(n * 5, 71, -1.0f, 1.0f), *y = NULL, *w = NULL;
        if (net) {
            expect_layer(net, 1, 1, 3, 0, 0, 15, 15, 15);
            if (x && OK(ctx, clnet_net_bind(net, devs[d], n, CLNET_INIT_HE_NORMAL, SEED))) {
                y = forward(net, x, n, false);
                w = test_read(net->layers[1].params[0].value);
            }
        }
        double worst = y && w ? 0.0 : 1.0;
        for (int i = 0; y && w && i < n; i++)
            for (int m = 0; m < 3; m++) {
                double want = 0.0;
                for (int f = 0; f < 5; f++) {
                    double diff = (double)x[i * 5 + f] - w[m * 5 + f];
                    want += diff * diff;
                }
                worst = fmax(worst, fabs(y[i * 3 + m] - want) / fmax(want, 1e-3));
            }
        clnet_device_info info = {.name = "?"};
        clnet_device_info_get(devs[d], &info);
        printf("rbf layer on %s: max rel error %.2e\n", info.name, worst);
        CHECK(worst < 1e-5, "rbf layer on %s", info.name);
        if (y) {
            clnet_net_set_training(net, true);
            float loss = NAN;
            bool ran = OK(ctx, clnet_net_set_loss(net, CLNET_LOSS_MMI, 0)) &&
                       OK(ctx, clnet_net_forward(net, x, n)) &&
                       OK(ctx, clnet_net_backward(net, labels_for, NULL, &loss));
            float *dw = ran ? test_read(net->layers[1].params[0].grad) : NULL;
            double norm = 0.0;
            for (int i = 0; dw && i < 15; i++)
                norm += (double)dw[i] * dw[i];
            printf("rbf training: MMI loss %.4f, centre gradient norm %.3g\n", loss, sqrt(norm));
            CHECK(isfinite(loss) && norm > 0.0, "training through an rbf layer");
            free(dw);
        }
        free(x);
        free(y);
        free(w);
        clnet_net_free(net);
    }
}

static double fit(clnet_ctx *ctx, clnet_device *dev, const clnet_optimizer *opt, int steps)
{
    builder b = start(ctx, 1, 8, 0, 0);
    add(&b, with_act(linear(16, true), CLNET_ACT_RELU));
    add(&b, linear(3, true));
    clnet_net *net = finish(&b);
    float *x = random_floats(24 * 8, 2024, -1.0f, 1.0f);
    int32_t y[24];
    for (int i = 0; x && i < 24; i++)
        y[i] = x[i * 8] > 0 ? (x[i * 8 + 1] > 0 ? 0 : 1) : 2;
    double first = NAN, last = NAN;
    if (net && x && OK(ctx, clnet_net_bind(net, dev, 24, CLNET_INIT_HE_UNIFORM, SEED))) {
        clnet_net_set_training(net, true);
        for (int s = 0; s < steps; s++) {
            float loss;
            clnet_status st = clnet_net_forward(net, x, 24);
            if (st == CLNET_OK)
                st = clnet_net_backward(net, y, NULL, &loss);
            if (st == CLNET_OK)
                st = clnet_net_step(net, opt, clnet_optimizer_lr(opt, s / (double)steps));
            if (!OK(ctx, st))
                break;
            first = s == 0 ? loss : first;
            last = loss;
        }
    }
    free(x);
    clnet_net_free(net);
    return last / first;
}

static void test_optimizers(clnet_ctx *ctx, clnet_device **devs, int ndev)
{
    clnet_optimizer sgd = {.kind = CLNET_OPTIM_SGD, .lr = 0.1f, .momentum = 0.9f,
                           .nesterov = true, .weight_decay = 1e-4f};
    clnet_optimizer adam = {.kind = CLNET_OPTIM_ADAM, .lr = 0.01f, .weight_decay = 1e-4f,
                            .decoupled = true, .schedule = CLNET_SCHED_COSINE, .epochs = 2};
    for (int d = 0; d < ndev; d++) {
        clnet_device_info info;
        clnet_device_info_get(devs[d], &info);
        double r = fit(ctx, devs[d], &sgd, 60);
        printf("SGD on %s: loss ratio after 60 steps %.3f\n", info.name, r);
        CHECK(r < 0.3, "SGD did not reduce the loss on %s (ratio %.3f)", info.name, r);
        r = fit(ctx, devs[d], &adam, 60);
        printf("AdamW on %s: loss ratio after 60 steps %.3f\n", info.name, r);
        CHECK(r < 0.3, "Adam did not reduce the loss on %s (ratio %.3f)", info.name, r);
    }
}

/* The updates of two SGD steps (momentum, Nesterov, weight decay; the
 * batch norm's shift with multipliers of its own) computed on the host
 * for every trainable parameter: the optimizer steps runs of the flat
 * parameter buffers, whose bounds, gaps (no parameter here fills whole
 * 16-float lines) and breaks (the running statistics between, the other
 * multipliers) this pins down. */
#define STEP_MAX_PARAMS 16
static void test_step_exact(clnet_ctx *ctx, clnet_device *const *devs, int ndev)
{
    const clnet_optimizer sgd = {.kind = CLNET_OPTIM_SGD, .lr = 0.1f, .momentum = 0.9f,
                                 .nesterov = true, .weight_decay = 0.01f};
    for (int d = 0; d < ndev; d++) {
        clnet_net *net = net_plain(ctx);
        float *x = random_floats(4 * 192, 99, 0.0f, 1.0f);
        float *vel[STEP_MAX_PARAMS] = {NULL}, *want[STEP_MAX_PARAMS] = {NULL};
        double worst = 0.0;
        int nparams = 0;
        bool ok = net && x && OK(ctx, clnet_net_bind(net, devs[d], 4, CLNET_INIT_HE_NORMAL, SEED)) &&
                  OK(ctx, clnet_net_set_param_lr(net, 2, 1, 2.0f, 0.5f));
        if (ok)
            clnet_net_set_training(net, true);
        for (int s = 0; ok && s < 2; s++) {
            ok = OK(ctx, clnet_net_forward(net, x, 4)) && OK(ctx, backward(net, NULL));
            nparams = 0;
            for (int i = 0; ok && i < net->nlayers; i++)
                for (int j = 0; ok && j < net->layers[i].nparams; j++) {
                    const nn_param *p = &net->layers[i].params[j];
                    if (!p->trainable)
                        continue;
                    const int64_t n = nn_numel(&p->shape);
                    float *w = test_read(p->value), *g = test_read(p->grad);
                    int k = nparams++;
                    if (!vel[k])
                        vel[k] = calloc((size_t)n, sizeof(float));
                    free(want[k]);
                    want[k] = malloc((size_t)n * sizeof(float));
                    ok = k < STEP_MAX_PARAMS && w && g && vel[k] && want[k];
                    const double lr = sgd.lr * p->lr_mult, wd = sgd.weight_decay * p->decay_mult;
                    for (int64_t e = 0; ok && e < n; e++) {
                        const double gd = g[e] + wd * w[e];
                        vel[k][e] = (float)(sgd.momentum * vel[k][e] + gd);
                        want[k][e] = (float)(w[e] - lr * (gd + sgd.momentum * vel[k][e]));
                    }
                    free(w);
                    free(g);
                }
            ok = ok && OK(ctx, clnet_net_step(net, &sgd, sgd.lr));
            for (int i = 0, k = 0; ok && i < net->nlayers; i++)
                for (int j = 0; ok && j < net->layers[i].nparams; j++) {
                    const nn_param *p = &net->layers[i].params[j];
                    if (!p->trainable)
                        continue;
                    float *w = test_read(p->value);
                    ok = w != NULL;
                    for (int64_t e = 0; ok && e < nn_numel(&p->shape); e++)
                        worst = fmax(worst, fabs(w[e] - want[k][e]) / (1.0 + fabs(want[k][e])));
                    k++;
                    free(w);
                }
        }
        clnet_device_info info;
        clnet_device_info_get(devs[d], &info);
        CHECK(ok && nparams == 6 && worst < 1e-6,
              "SGD step on %s: %d parameters, largest error %.3g against the host's update",
              info.name, nparams, worst);
        for (int k = 0; k < STEP_MAX_PARAMS; k++) {
            free(vel[k]);
            free(want[k]);
        }
        free(x);
        clnet_net_free(net);
    }
}

static void test_schedules(void)
{
    clnet_optimizer o = {.lr = 0.1f, .schedule = CLNET_SCHED_STEP, .gamma = 0.5f,
                         .step_epochs = 2};
    CHECK(fabsf(clnet_optimizer_lr(&o, 1.9) - 0.1f) < 1e-7f, "step schedule, epoch 1.9");
    CHECK(fabsf(clnet_optimizer_lr(&o, 4.0) - 0.025f) < 1e-7f, "step schedule, epoch 4");
    o.schedule = CLNET_SCHED_COSINE;
    o.epochs = 10;
    CHECK(fabsf(clnet_optimizer_lr(&o, 5.0) - 0.05f) < 1e-6f, "cosine half way");
    CHECK(clnet_optimizer_lr(&o, 10.0) == 0.0f, "cosine end");
    o.warmup_epochs = 2.0f;
    float lr = clnet_optimizer_lr(&o, 1.0);
    CHECK(fabsf(lr - 0.5f * 0.1f * 0.5f * (1.0f + cosf(0.1f * 3.14159265f))) < 1e-6f,
          "warm-up: %g", (double)lr);
}

/* ---- transfer learning ---- */

static void test_freeze_truncate(clnet_ctx *ctx, clnet_device *dev)
{
    clnet_net *net = net_plain(ctx);
    const int n = 8;
    float *x = random_floats((size_t)n * 192, 77, 0.0f, 1.0f);
    clnet_optimizer sgd = {.kind = CLNET_OPTIM_SGD, .lr = 0.05f, .momentum = 0.9f};
    if (!net || !x || !OK(ctx, clnet_net_bind(net, dev, n, CLNET_INIT_HE_NORMAL, SEED)))
        goto out;
    clnet_net_set_training(net, true);
    OK(ctx, clnet_net_forward(net, x, n));
    OK(ctx, backward(net, NULL));
    OK(ctx, clnet_net_step(net, &sgd, sgd.lr));
    float *conv_before = test_read(net->layers[1].params[0].value);
    /* keep conv-BN-pool, freeze it, replace dropout + 10-way linear by a 3-way head */
    OK(ctx, clnet_net_freeze(net, 0, 3, true));
    OK(ctx, clnet_net_truncate(net, 3));
    CHECK(clnet_net_layer_count(net) == 4 && net->dev == NULL, "truncate left %d layers",
          clnet_net_layer_count(net));
    clnet_layer_spec head = linear(3, true);
    strcpy(head.name, "head");
    int id = -1;
    OK(ctx, clnet_net_add(net, &head, &id));
    CHECK(id == 4, "new head id %d", id);
    if (!OK(ctx, clnet_net_bind(net, dev, n, CLNET_INIT_HE_NORMAL, SEED + 1)))
        goto out_before;
    float *conv_after = test_read(net->layers[1].params[0].value);
    CHECK(conv_before && conv_after && memcmp(conv_before, conv_after, 108 * sizeof(float)) == 0,
          "trained conv weights lost by truncate + bind");
    float *head_before = test_read(net->layers[4].params[0].value);
    clnet_net_set_training(net, true);
    float l0 = 0, l1 = 0;
    for (int s = 0; s < 30; s++) {
        float loss;
        if (!OK(ctx, clnet_net_forward(net, x, n)) ||
            !OK(ctx, backward(net, &loss)) ||
            !OK(ctx, clnet_net_step(net, &sgd, sgd.lr)))
            break;
        l0 = s == 0 ? loss : l0;
        l1 = loss;
    }
    float *conv_trained = test_read(net->layers[1].params[0].value);
    float *head_trained = test_read(net->layers[4].params[0].value);
    CHECK(conv_trained && conv_after && memcmp(conv_after, conv_trained, 108 * 4) == 0,
          "frozen conv weights changed");
    CHECK(head_before && head_trained && memcmp(head_before, head_trained, 3 * 64 * 4) != 0,
          "the new head did not train");
    printf("new head on a frozen backbone: loss %.4f -> %.4f\n", l0, l1);
    CHECK(l1 < 0.5f * l0, "the head did not learn (%.4f -> %.4f)", l0, l1);
    free(conv_after);
    free(head_before);
    free(conv_trained);
    free(head_trained);
out_before:
    free(conv_before);
out:
    free(x);
    clnet_net_free(net);
}

static void test_run_errors(clnet_ctx *ctx, clnet_device *dev)
{
    clnet_net *net = net_plain(ctx);
    float *x = random_floats(192, 1, 0.0f, 1.0f);
    if (net && x) {
        CHECK(clnet_net_forward(net, x, 1) == CLNET_ERR_INVALID_ARGUMENT, "unbound forward");
        if (OK(ctx, clnet_net_bind(net, dev, 2, CLNET_INIT_HE_NORMAL, SEED))) {
            clnet_net_set_training(net, false);
            OK(ctx, clnet_net_forward(net, x, 1));
            CHECK(clnet_net_backward(net, labels_for, NULL, NULL) == CLNET_ERR_INVALID_ARGUMENT,
                  "backward after an inference forward");
            clnet_net_set_training(net, true);
            OK(ctx, clnet_net_forward(net, x, 1));
            int32_t bad = 10;
            CHECK(clnet_net_backward(net, &bad, NULL, NULL) == CLNET_ERR_INVALID_ARGUMENT,
                  "label 10 of 10 classes accepted");
            float y[20];
            CHECK(clnet_net_read_output(net, y, 20) == CLNET_ERR_INVALID_ARGUMENT,
                  "read of 20 floats after a forward of 1 image");
            printf("run errors: %s\n", clnet_last_error(ctx));
        }
    }
    free(x);
    clnet_net_free(net);
}

/* ---- the training loop ---- */

/* Two classes of 1x8x8 images: a bright top or bottom half, plus noise
 * (mirror images keep their class, as multi-crop evaluation assumes). */
static clnet_dataset *halves(int64_t count, uint64_t seed)
{
    clnet_dataset *ds = calloc(1, sizeof *ds);
    if (!ds)
        return NULL;
    strcpy(ds->name, "halves");
    ds->count = count;
    ds->channels = 1;
    ds->height = ds->width = 8;
    ds->classes = 2;
    ds->images = malloc((size_t)count * 64);
    ds->labels = malloc((size_t)count);
    test_rng r = {seed};
    for (int64_t i = 0; ds->images && ds->labels && i < count; i++) {
        ds->labels[i] = (uint8_t)(test_rng_next(&r) & 1);
        for (int p = 0; p < 64; p++) {
            bool bright = (p / 8 < 4) == (ds->labels[i] == 0);
            ds->images[i * 64 + p] = (uint8_t)((bright ? 140 : 40) + test_rng_next(&r) % 80);
        }
    }
    return ds;
}

static void free_dataset(clnet_dataset *ds)
{
    if (ds) {
        free(ds->images);
        free(ds->labels);
        free(ds);
    }
}

static clnet_net *halves_net(clnet_ctx *ctx)
{
    builder b = start(ctx, 3, 1, 8, 8);
    add(&b, with_act(conv(4, 3, 3, 1, 1, true), CLNET_ACT_RELU));
    add(&b, pool(CLNET_POOL_MAX, 2, 2, 0));
    add(&b, linear(2, true));
    return finish(&b);
}

static void test_train_loop(clnet_ctx *ctx, clnet_device *dev)
{
    clnet_device_info info;
    clnet_device_info_get(dev, &info);
    clnet_dataset *train = halves(512, 1), *test = halves(128, 2);
    clnet_net *a = halves_net(ctx), *b = halves_net(ctx);
    float mean = 0.5f, std = 0.25f;
    clnet_augment aug = {.hflip = false, .translate = 1};
    clnet_train_opts opts = {.batch = 32, .augment = &aug, .mean = &mean, .std = &std,
                             .seed = 5, .threads = 2};
    clnet_optimizer sgd = {.kind = CLNET_OPTIM_SGD, .lr = 0.05f, .momentum = 0.9f,
                           .warmup_epochs = 0.5f};
    if (!train || !test || !train->images || !test->images || !a || !b ||
        !OK(ctx, clnet_net_bind(a, dev, 32, CLNET_INIT_HE_NORMAL, SEED)) ||
        !OK(ctx, clnet_net_bind(b, dev, 32, CLNET_INIT_HE_NORMAL, SEED + 1)))
        goto out;
    clnet_eval st = {0};
    for (int e = 0; e < 2; e++) {
        opts.epoch = e;
        clnet_status s = clnet_net_train_epoch(a, train, &opts, &sgd, &st);
        if (!OK(ctx, s) || !OK(ctx, clnet_net_train_epoch(b, train, &opts, &sgd, &st)))
            goto out;
        printf("%s epoch %d: loss %.4f top-1 %.3f, %lld images, %.0f images/s, input wait "
               "%.3f s\n", info.name, e, st.loss, st.top1, (long long)st.count,
               st.images_per_second, st.input_wait_seconds);
    }
    CHECK(st.count == 512 && st.top5 == 1.0, "epoch stats: count %lld top5 %.3f",
          (long long)st.count, st.top5);
    opts.augment = NULL;
    clnet_eval ev = {0}, crop = {0}, ens = {0};
    OK(ctx, clnet_net_evaluate(a, test, &opts, &ev));
    opts.multi_crop_pad = 1;
    OK(ctx, clnet_net_evaluate(a, test, &opts, &crop));
    opts.multi_crop_pad = 0;
    clnet_net *both[2] = {a, b};
    OK(ctx, clnet_net_evaluate_ensemble(both, 2, test, &opts, &ens));
    printf("%s test: top-1 %.3f (loss %.4f), multi-crop %.3f, ensemble of 2 %.3f\n", info.name,
           ev.top1, ev.loss, crop.top1, ens.top1);
    CHECK(ev.count == 128 && ev.top1 > 0.9 && crop.top1 > 0.85 && ens.top1 > 0.9,
          "accuracy on a trivial task");
    opts.limit = 50;
    OK(ctx, clnet_net_evaluate(a, test, &opts, &ev));
    CHECK(ev.count == 50, "limit 50 evaluated %lld", (long long)ev.count);
out:
    free_dataset(train);
    free_dataset(test);
    clnet_net_free(a);
    clnet_net_free(b);
}

int main(void)
{
    clnet_ctx *ctx;
    if (clnet_ctx_new(&ctx) != CLNET_OK)
        return 1;
    clnet_device *devs[MAX_DEVICES];
    int ndev;
    int rc = test_open_devices(ctx, devs, MAX_DEVICES, &ndev);
    int r = test_ref_index(devs, ndev);
    test_rng rng = {SEED};
    test_fill_uniform(&rng, targets_for, sizeof targets_for / sizeof targets_for[0], -0.5f, 0.5f);
    test_counts(ctx);
    test_build_errors(ctx);
    test_schedules();
    if (r >= 0) {
        test_gradients(ctx, devs[r]);
        test_run_errors(ctx, devs[r]);
        test_freeze_truncate(ctx, devs[r]);
        test_batch_sizes(ctx, devs[r]);
    }
    if (rc == 0 && r > 0) {
        test_forward_agree(ctx, devs[r], devs[0]);
        test_backward_agree(ctx, devs[r], devs[0]);
        test_batch_sizes(ctx, devs[0]);
    }
    test_channel_padded_add(ctx, devs, ndev);
    test_rbf_layer(ctx, devs, ndev);
    test_optimizers(ctx, devs, ndev);
    test_step_exact(ctx, devs, ndev);
    for (int d = 0; d < ndev; d++)
        test_train_loop(ctx, devs[d]);
    clnet_ctx_free(ctx);
    if (test_failures) {
        printf("%d failures\n", test_failures);
        return 1;
    }
    return rc == 1 ? 1 : rc;
}
