/* test_infer_cli.c - `clnet-bench infer` on the zoo's LeNet-5 as a user runs
 * it: --model, --cfg, --checkpoint and --onnx each give the output the
 * library computes for the same weights on the reference backend, over more
 * images than one forward pass takes, on `ref` and on the OpenCL device; a
 * checkpoint with its own input normalisation (as training saves one) gives
 * the same output through `export --checkpoint` and `infer --onnx`; an
 * array of the wrong shape and two models at once are refused.
 * usage: test_infer_cli CLNET_BENCH */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clnet/onnx.h"
#include "npy.h"
#include "testutil.h"

/* More than clnet-bench infer's chunk of 16: the last pass is partial. */
#define IMAGES 20
#define CLASSES 10
#define SEED 1            /* infer's default */
#define OTHER_SEED 7      /* the checkpoint's weights */
/* ref runs each image the same way at any batch size; PoCL sums in
 * another order. */
#define REF_TOLERANCE 1e-6
#define DEVICE_TOLERANCE 1e-4

static const char *bench;
static char dir[64];

/* dir/name, in one of 16 buffers used in turn: a call's arguments outlive
 * the few calls the run itself makes. */
static char *path_in(const char *name)
{
    static char paths[16][128];
    static int next;
    char *p = paths[next++ % 16];
    snprintf(p, sizeof paths[0], "%s/%s", dir, name);
    return p;
}

/* Runs clnet-bench with `args` (NULL-terminated: the subcommand, its
 * options), its output into err.log; returns the exit status, -1 when it
 * did not exit. */
static int run_bench(const char *const *args)
{
    char *argv[24] = {(char *)bench};
    int n = 1;
    while (*args && n < 23)
        argv[n++] = (char *)*args++;
    argv[n] = NULL;
    return test_run_logged(argv, path_in("err.log"));
}

static double rel_error(const float *a, const float *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        den += (double)b[i] * b[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* Runs infer with `args` plus --input x.npy --output y.npy and compares
 * y.npy with `want` (IMAGES x CLASSES). */
static void expect_output(const char *what, const char *const *args, const float *want,
                          double tolerance)
{
    const char *argv[20] = {"infer"};
    int n = 1;
    while (*args)
        argv[n++] = *args++;
    const char *tail[] = {"--input", path_in("x.npy"), "--output", path_in("y.npy"), NULL};
    memcpy(argv + n, tail, sizeof tail);
    remove(path_in("y.npy"));
    int rc = run_bench(argv);
    CHECK(rc == 0, "%s: exit status %d", what, rc);
    if (rc != 0)
        return;
    npy_array y;
    char err[256];
    if (!npy_read(path_in("y.npy"), &y, err, sizeof err)) {
        CHECK(false, "%s: %s", what, err);
        return;
    }
    CHECK(y.ndim == 2 && y.dim[0] == IMAGES && y.dim[1] == CLASSES,
          "%s: output of rank %d, %lld x %lld", what, y.ndim, (long long)y.dim[0],
          (long long)(y.ndim > 1 ? y.dim[1] : 0));
    if (y.count == IMAGES * CLASSES) {
        double e = rel_error(y.data, want, (size_t)y.count);
        CHECK(e <= tolerance, "%s: relative error %.3g above %g", what, e, tolerance);
        printf("%s %s: relative error %.2e\n", e <= tolerance ? "ok  " : "FAIL", what, e);
    }
    free(y.data);
}

/* LeNet-5 with the weights of `seed` on ref, normalising its input by
 * mean and std when they are not NULL; its output on x into y. */
static clnet_net *lenet5(clnet_ctx *ctx, clnet_device *ref, uint64_t seed, const float *mean,
                         const float *std, const float *x, float *y)
{
    clnet_net *net = NULL;
    if (!OK(ctx, clnet_net_zoo(ctx, "lenet5", NULL, &net)) ||
        !OK(ctx, clnet_net_bind(net, ref, IMAGES, CLNET_INIT_HE_NORMAL, seed)) ||
        (mean && !OK(ctx, clnet_net_set_input_norm(net, mean, std))) ||
        !OK(ctx, clnet_net_forward(net, x, IMAGES)) ||
        !OK(ctx, clnet_net_read_output(net, y, IMAGES * CLASSES))) {
        clnet_net_free(net);
        return NULL;
    }
    return net;
}

static bool write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    bool ok = f && fputs(text, f) >= 0;
    return f && fclose(f) == 0 && ok;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_infer_cli CLNET_BENCH\n");
        return 1;
    }
    bench = argv[1];
    setvbuf(stdout, NULL, _IOLBF, 0);
    clnet_ctx *ctx = NULL;
    clnet_device *devs[8];
    int ndev = 0;
    if (clnet_ctx_new(&ctx) != CLNET_OK)
        return 1;
    int rc = test_open_devices(ctx, devs, 8, &ndev);
    if (rc != 0) {
        clnet_ctx_free(ctx);
        return rc;
    }
    clnet_device *ref = devs[test_ref_index(devs, ndev)];
    snprintf(dir, sizeof dir, "%s/clnet-infer.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR")
                                                                         : "/tmp");
    if (!mkdtemp(dir)) {
        printf("FAIL: cannot create %s\n", dir);
        clnet_ctx_free(ctx);
        return 1;
    }

    static float x[IMAGES * 28 * 28], want[IMAGES * CLASSES], trained[IMAGES * CLASSES];
    test_rng rng = {3};
    test_fill_uniform(&rng, x, sizeof x / sizeof x[0], -1, 1);
    npy_array xa = {.ndim = 4, .dim = {IMAGES, 1, 28, 28}, .count = IMAGES * 28 * 28, .data = x};
    char err[256];
    CHECK(npy_write(path_in("x.npy"), &xa, err, sizeof err), "x.npy: %s", err);

    static const float mean[1] = {0.13f}, std[1] = {0.31f};
    clnet_net *net = lenet5(ctx, ref, SEED, NULL, NULL, x, want);
    clnet_net *other = lenet5(ctx, ref, OTHER_SEED, mean, std, x, trained);
    if (net && other) {
        expect_output("--model on ref", (const char *[]){"--model", "lenet5", "--device", "ref",
                                                         NULL}, want, REF_TOLERANCE);
        /* no --device: CLNET_DEVICE, else the first OpenCL device */
        expect_output("--model on the OpenCL device", (const char *[]){"--model", "lenet5", NULL},
                      want, DEVICE_TOLERANCE);
        CHECK(write_text(path_in("lenet5.cfg"), clnet_zoo_cfg("lenet5")), "cannot write a cfg");
        expect_output("--cfg", (const char *[]){"--cfg", path_in("lenet5.cfg"), "--device",
                                                "ref", NULL}, want, REF_TOLERANCE);
        bool saved = OK(ctx, clnet_net_save(other, path_in("other.ckpt")));
        if (saved)
            expect_output("--checkpoint", (const char *[]){"--model", "lenet5", "--checkpoint",
                                                           path_in("other.ckpt"), "--device",
                                                           "ref", NULL}, trained, REF_TOLERANCE);
        clnet_status st = clnet_net_save_onnx(net, path_in("lenet5.onnx"));
        if (st == CLNET_ERR_UNSUPPORTED) {
            printf("skip --onnx: %s\n", clnet_last_error(ctx));
        } else if (OK(ctx, st)) {
            expect_output("--onnx", (const char *[]){"--onnx", path_in("lenet5.onnx"), "--device",
                                                     "ref", NULL}, want, REF_TOLERANCE);
            rc = saved ? run_bench((const char *[]){"export", "--model", "lenet5", "--checkpoint",
                                                    path_in("other.ckpt"), "--onnx",
                                                    path_in("other.onnx"), NULL})
                       : -1;
            CHECK(rc == 0, "export --checkpoint: exit status %d", rc);
            if (rc == 0)
                expect_output("export --checkpoint, then --onnx",
                              (const char *[]){"--onnx", path_in("other.onnx"), "--device", "ref",
                                               NULL}, trained, REF_TOLERANCE);
        }
    }

    /* 32x32 images for a net that takes 28x28 */
    npy_array wrong = {.ndim = 4, .dim = {1, 1, 32, 32}, .count = 32 * 32, .data = x};
    CHECK(npy_write(path_in("wrong.npy"), &wrong, err, sizeof err), "wrong.npy: %s", err);
    rc = run_bench((const char *[]){"infer", "--model", "lenet5", "--device", "ref", "--input",
                                    path_in("wrong.npy"), "--output", path_in("y.npy"), NULL});
    CHECK(rc == 1 && test_file_has(path_in("err.log"), "an array of shape (1, 1, 32, 32); "
                                                      "the model takes (N, 1, 28, 28)"),
          "an array of the wrong shape: exit status %d", rc);
    rc = run_bench((const char *[]){"infer", "--model", "lenet5", "--cfg", path_in("lenet5.cfg"),
                                    "--input", path_in("x.npy"), "--output", path_in("y.npy"),
                                    NULL});
    CHECK(rc == 2 && test_file_has(path_in("err.log"), "give one of --model, --cfg and --onnx"),
          "--model with --cfg: exit status %d", rc);

    const char *files[] = {"x.npy", "y.npy", "wrong.npy", "err.log", "lenet5.cfg", "other.ckpt",
                           "lenet5.onnx", "other.onnx"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        remove(path_in(files[i]));
    rmdir(dir);
    clnet_net_free(net);
    clnet_net_free(other);
    clnet_ctx_free(ctx);
    printf("%d failure(s)\n", test_failures);
    return test_failures ? 1 : 0;
}
