/* test_deconv.c - the deconvnet of `clnet-bench visualize` (bench/deconv.c)
 * and the library calls it reads a net through: on a tiny net with known
 * weights, on every device, the projection of one activation equals the
 * hand-computed one (the first filter placed at the max pooling's switch,
 * the second rectified away), the switches and the layer output read back
 * as computed on the host, and layers the deconvnet cannot invert are
 * refused by name; then `clnet-bench visualize` (argv[1]) on MNIST writes a
 * PNG and refuses an unknown layer, a linear layer and a checkpoint of
 * another net. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../bench/deconv.h"
#include "nn/nn_internal.h"
#include "testutil.h"

#define MAX_DEVICES 8
#define N 2                /* images, one pick each */
#define S 6                /* input side */

/* conv1: 2 filters 3x3 pad 1 + ReLU; pool1: max 2x2 stride 2; conv2: 1x1
 * with weights (+1, -1) + ReLU, so a conv2 activation's projection has +v
 * at conv1 map 0's switch and -v at map 1's, which rectification removes. */
static const char *tiny_cfg =
    "[net]\ninput = 1x6x6\n"
    "[conv]\nname = conv1\nfilters = 2\nsize = 3\npad = 1\nbias = 0\nactivation = relu\n"
    "[maxpool]\nname = pool1\nsize = 2\n"
    "[conv]\nname = conv2\nfilters = 1\nsize = 1\nbias = 0\nactivation = relu\n"
    "[avgpool]\nname = avg\nsize = 1\n"
    "[flatten]\n[linear]\nname = fc\noutputs = 3\n";

static const float w1[2][9] = {{1, 2, 3, 4, 5, 6, 7, 8, 9}, {.5f, .5f, .5f, .5f, .5f, .5f,
                                                             .5f, .5f, .5f}};
static const float w2[2] = {1, -1};

/* conv1 + ReLU of image x on the host: out[k][y][x]. */
static void host_conv1(const float *x, float out[2][S][S])
{
    for (int k = 0; k < 2; k++)
        for (int y = 0; y < S; y++)
            for (int c = 0; c < S; c++) {
                float s = 0;
                for (int i = 0; i < 3; i++)
                    for (int j = 0; j < 3; j++) {
                        int yy = y - 1 + i, xx = c - 1 + j;
                        if (yy >= 0 && yy < S && xx >= 0 && xx < S)
                            s += x[yy * S + xx] * w1[k][i * 3 + j];
                    }
                out[k][y][c] = s > 0 ? s : 0;
            }
}

/* The argmax (index in the 6x6 plane) of pool window (py, px) of a map. */
static int host_switch(float map[S][S], int py, int px)
{
    int best = 2 * py * S + 2 * px;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            int at = (2 * py + i) * S + 2 * px + j;
            if (map[at / S][at % S] > map[best / S][best % S])
                best = at;
        }
    return best;
}

static void check_projection(clnet_ctx *ctx, clnet_device *dev)
{
    clnet_net *net = NULL;
    clnet_device_info info;
    if (!OK(ctx, clnet_device_info_get(dev, &info)))
        return;
    const char *name = info.name;
    if (!OK(ctx, clnet_net_parse_cfg(ctx, tiny_cfg, "tiny", NULL, &net)) ||
        !OK(ctx, clnet_net_bind(net, dev, N, CLNET_INIT_HE_NORMAL, 1))) {
        clnet_net_free(net);
        return;
    }
    OK(ctx, nn_param_write(net, &net->layers[1].params[0], &w1[0][0]));
    OK(ctx, nn_param_write(net, &net->layers[3].params[0], w2));
    float x[N * S * S];
    test_rng rng = {7};
    test_fill_uniform(&rng, x, N * S * S, 0.0f, 1.0f);
    OK(ctx, clnet_net_set_layer_mode(net, 1, clnet_net_layer_count(net) - 1,
                                     CLNET_LAYER_MODE_INFERENCE));
    clnet_net_set_training(net, true);
    OK(ctx, clnet_net_forward(net, x, N));

    char err[1024] = "";
    deconv_path *path = NULL;
    int conv2 = 3;
    if (!OK(ctx, deconv_path_new(ctx, net, dev, conv2, &path, err, sizeof err))) {
        printf("  %s\n", err);
        clnet_net_free(net);
        return;
    }
    const deconv_pick picks[N] = {{0, 1, 2}, {0, 2, 0}};
    float got[N * S * S], out2[N * 9];
    int32_t sw[N * 2 * 9];
    OK(ctx, clnet_net_read_layer(net, conv2, out2, N * 9));
    OK(ctx, clnet_net_read_switches(net, 2, sw, N * 2 * 9));
    if (!OK(ctx, deconv_project(ctx, net, path, N, picks, got, err, sizeof err)))
        printf("  %s\n", err);
    for (int n = 0; n < N; n++) {
        float c1[2][S][S];
        host_conv1(x + n * S * S, c1);
        int py = picks[n].y, px = picks[n].x;
        int s0 = host_switch(c1[0], py, px), s1 = host_switch(c1[1], py, px);
        float v = c1[0][s0 / S][s0 % S] - c1[1][s1 / S][s1 % S];
        CHECK(v > 0, "%s: image %d: the test wants a positive conv2 activation", name, n);
        CHECK(sw[(n * 2 + 0) * 9 + py * 3 + px] == s0 && sw[(n * 2 + 1) * 9 + py * 3 + px] == s1,
              "%s: image %d: switches %d, %d, expected %d, %d", name, n,
              sw[(n * 2 + 0) * 9 + py * 3 + px], sw[(n * 2 + 1) * 9 + py * 3 + px], s0, s1);
        CHECK(fabsf(out2[n * 9 + py * 3 + px] - v) <= 1e-4f * fabsf(v),
              "%s: image %d: conv2 reads %g, expected %g", name, n,
              out2[n * 9 + py * 3 + px], v);
        /* filter 0 scaled by v around map 0's switch; map 1's -v is rectified */
        float worst = 0;
        for (int y = 0; y < S; y++)
            for (int c = 0; c < S; c++) {
                int i = y - s0 / S + 1, j = c - s0 % S + 1;
                float want = i >= 0 && i < 3 && j >= 0 && j < 3 ? v * w1[0][i * 3 + j] : 0;
                worst = fmaxf(worst, fabsf(got[n * S * S + y * S + c] - want));
            }
        CHECK(worst <= 1e-4f * fabsf(v) * 9, "%s: image %d: projection off by %g", name, n,
              worst);
        int box[4];
        deconv_receptive_field(path, py, px, box);
        CHECK(box[0] == 2 * py - 1 && box[1] == 2 * px - 1 && box[2] == 4 && box[3] == 4,
              "%s: receptive field (%d, %d) %dx%d, expected (%d, %d) 4x4", name, box[0], box[1],
              box[2], box[3], 2 * py - 1, 2 * px - 1);
    }
    deconv_path_free(path);

    /* what the deconvnet cannot invert is named */
    clnet_status st = deconv_path_new(ctx, net, dev, 4, &path, err, sizeof err);
    CHECK(st == CLNET_ERR_UNSUPPORTED && strstr(err, "avg") && strstr(err, "average"),
          "%s: average pooling: status %d, '%s'", name, st, err);
    st = deconv_path_new(ctx, net, dev, clnet_net_layer_count(net) - 1, &path, err, sizeof err);
    CHECK(st == CLNET_ERR_UNSUPPORTED && strstr(err, "fc") && strstr(err, "linear"),
          "%s: linear layer: status %d, '%s'", name, st, err);
    st = deconv_path_new(ctx, net, dev, 0, &path, err, sizeof err);
    CHECK(st == CLNET_ERR_INVALID_ARGUMENT, "%s: the input layer: status %d", name, st);
    CHECK(clnet_net_read_switches(net, 1, sw, N * 2 * 9) == CLNET_ERR_INVALID_ARGUMENT,
          "%s: switches of a conv layer were read", name);
    clnet_net_free(net);
}

static const char *mnist_cfg =
    "[net]\ninput = 1x28x28\n"
    "[conv]\nname = conv1\nfilters = %d\nsize = 5\nactivation = relu\n"
    "[maxpool]\nname = pool1\nsize = 2\n"
    "[flatten]\n[linear]\nname = fc\noutputs = 10\n";

/* Writes the cfg with `filters` conv filters to cfg_path and a checkpoint of
 * its seeded weights to ckpt. */
static bool write_net(clnet_ctx *ctx, clnet_device *dev, int filters, const char *cfg_path,
                      const char *ckpt)
{
    char text[512];
    snprintf(text, sizeof text, mnist_cfg, filters);
    FILE *f = fopen(cfg_path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        return false;
    clnet_net *net = NULL;
    const float mean = 0.13f, std = 0.31f;   /* its own: visualize reads no training split */
    bool ok = OK(ctx, clnet_net_parse_cfg(ctx, text, cfg_path, NULL, &net)) &&
              OK(ctx, clnet_net_set_input_norm(net, &mean, &std)) &&
              OK(ctx, clnet_net_bind(net, dev, 1, CLNET_INIT_HE_NORMAL, 3)) &&
              OK(ctx, clnet_net_save(net, ckpt));
    clnet_net_free(net);
    return ok;
}

/* 0, TEST_SKIP without MNIST (outside CI), 1 on a failure. */
static int check_cli(clnet_ctx *ctx, clnet_device *dev, char *bench)
{
    const char *env = getenv("CLNET_DATA");
    char *dir = env && *env ? (char *)env : CLNET_SOURCE_ROOT "/../shared/datasets";
    clnet_dataset *test = NULL;
    const char *ci = getenv("CI");
    clnet_status st = clnet_dataset_load(ctx, "mnist", CLNET_SPLIT_TEST, dir, &test);
    if (st == CLNET_ERR_IO && !(ci && strcmp(ci, "true") == 0)) {
        printf("SKIP: MNIST not found, clnet-bench visualize did not run: %s\n",
               clnet_last_error(ctx));
        return TEST_SKIP;
    }
    if (test_check_status(ctx, st, "loading MNIST"))
        return 1;
    clnet_dataset_free(test);
    char root[] = "/tmp/clnet-test-deconv-XXXXXX";
    if (!mkdtemp(root))
        return 1;
    char cfg[128], ckpt[128], other_cfg[128], other[128], out[128], log[128], png[160];
    snprintf(cfg, sizeof cfg, "%s/net.cfg", root);
    snprintf(ckpt, sizeof ckpt, "%s/net.ckpt", root);
    snprintf(other_cfg, sizeof other_cfg, "%s/other.cfg", root);
    snprintf(other, sizeof other, "%s/other.ckpt", root);
    snprintf(out, sizeof out, "%s/out", root);
    snprintf(log, sizeof log, "%s/log", root);
    snprintf(png, sizeof png, "%s/conv1.png", out);
    if (!write_net(ctx, dev, 4, cfg, ckpt) || !write_net(ctx, dev, 8, other_cfg, other))
        return 1;
    char layer[32] = "conv1", *ck = ckpt;
    char *argv[] = {bench, "visualize", "--cfg", cfg, "--checkpoint", ck, "--data", "mnist",
                    "--data-dir", dir, "--layer", layer, "--out", out, "--top", "3",
                    "--maps", "2", "--limit", "40", "--batch", "16", NULL};
    int rc = test_run_logged(argv, log);
    FILE *f = fopen(png, "rb");
    unsigned char sig[8] = {0};
    bool is_png = f && fread(sig, 1, 8, f) == 8 && memcmp(sig, "\x89PNG\r\n\x1a\n", 8) == 0;
    if (f)
        fclose(f);
    CHECK(rc == 0 && is_png && test_file_has(log, "map   1:"), "visualize conv1: exit %d, PNG %s",
          rc, is_png ? "written" : "missing");
    strcpy(layer, "nosuch");
    rc = test_run_logged(argv, log);
    CHECK(rc == 2 && test_file_has(log, "no layer 'nosuch'") && test_file_has(log, "pool1"),
          "visualize an unknown layer: exit %d", rc);
    strcpy(layer, "fc");
    rc = test_run_logged(argv, log);
    CHECK(rc == 1 && test_file_has(log, "linear layer"), "visualize a linear layer: exit %d", rc);
    strcpy(layer, "conv1");
    argv[5] = other;
    rc = test_run_logged(argv, log);
    CHECK(rc == 1 && test_file_has(log, "checkpoint"), "visualize with another net's checkpoint: "
          "exit %d", rc);
    const char *files[] = {cfg, ckpt, other_cfg, other, log, png};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        unlink(files[i]);
    rmdir(out);
    rmdir(root);
    return 0;
}

int main(int argc, char **argv)
{
    clnet_ctx *ctx;
    if (argc != 2 || clnet_ctx_new(&ctx) != CLNET_OK)
        return 1;
    clnet_device *devs[MAX_DEVICES];
    int ndev;
    int rc = test_open_devices(ctx, devs, MAX_DEVICES, &ndev);
    if (rc == 1) {
        clnet_ctx_free(ctx);
        return 1;
    }
    for (int d = 0; d < ndev; d++)
        check_projection(ctx, devs[d]);
    int cli = ndev > 0 ? check_cli(ctx, devs[0], argv[1]) : rc;
    clnet_ctx_free(ctx);
    if (test_failures) {
        printf("%d failures\n", test_failures);
        return 1;
    }
    return cli == 1 ? 1 : rc == TEST_SKIP ? rc : cli;
}
