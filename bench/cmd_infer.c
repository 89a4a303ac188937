/* cmd_infer.c - `clnet-bench infer`: runs an ONNX model on a NumPy array and
 * writes its output as another, unchanged by any normalisation, so that a
 * model's results can be compared with those of the framework it came from. */
#include <stdlib.h>
#include <string.h>

#include "clnet/onnx.h"
#include "models.h"
#include "npy.h"
#include "training.h"

#define CMD "infer"
/* Images per forward pass; larger inputs run in chunks of this size. */
#define INFER_CHUNK 16

static void print_help(void)
{
    printf("usage: clnet-bench infer --onnx FILE --input X.npy --output Y.npy [--device D]\n\n"
           "Imports the ONNX model FILE, runs it on the float32 C-order array X.npy (its\n"
           "first axis the batch, any size; the others the model's input shape) and\n"
           "writes the model's output, float32 C order, with the graph output's shape,\n"
           "to Y.npy. No normalisation is applied: feed what the model expects.\n\n"
           "  --onnx FILE        the model\n"
           "  --input X.npy      the input array\n"
           "  --output Y.npy     where the output goes (replaced)\n"
           "  --device D         device index, name substring or \"ref\" (default:\n"
           "                     CLNET_DEVICE, else the first OpenCL device)\n"
           "  --help             this text\n");
}

typedef struct infer_options {
    const char *onnx, *input, *output, *selector;
} infer_options;

static int parse_options(int argc, char **argv, infer_options *opt, bool *help)
{
    bench_opts o = {.cmd = CMD, .argc = argc, .argv = argv};
    for (o.i = 1; o.i < argc; o.i++) {
        if (bench_opt_flag(&o, "--help")) {
            *help = true;
            return BENCH_EXIT_OK;
        }
        if (!bench_opt_value(&o, "--onnx", &opt->onnx) &&
            !bench_opt_value(&o, "--input", &opt->input) &&
            !bench_opt_value(&o, "--output", &opt->output) &&
            !bench_opt_value(&o, "--device", &opt->selector))
            return bench_usage_error(CMD, "unknown option '%s'", argv[o.i]);
        if (o.error)
            return BENCH_EXIT_USAGE;
    }
    if (!opt->onnx || !opt->input || !opt->output)
        return bench_usage_error(CMD, "--onnx, --input and --output are required");
    return BENCH_EXIT_OK;
}

/* Checks that x is a batch of the net's inputs: (N, shape...). */
static int check_input(const npy_array *x, const clnet_shape *in, const char *path)
{
    bool fits = x->ndim == in->ndim + 1 && x->dim[0] >= 1;
    for (int d = 0; fits && d < in->ndim; d++)
        fits = x->dim[d + 1] == in->dim[d];
    if (fits)
        return BENCH_EXIT_OK;
    char want[64];
    int n = snprintf(want, sizeof want, "(N");
    for (int d = 0; d < in->ndim; d++)
        n += snprintf(want + n, sizeof want - (size_t)n, ", %lld", (long long)in->dim[d]);
    snprintf(want + n, sizeof want - (size_t)n, ")");
    fprintf(stderr, "clnet-bench %s: %s: an array of rank %d; the model takes %s\n", CMD, path,
            x->ndim, want);
    return BENCH_EXIT_FAIL;
}

/* Runs the bound net over x in chunks into y. */
static clnet_status run_chunks(clnet_net *net, const npy_array *x, int64_t in_numel,
                               npy_array *y, int64_t out_numel)
{
    clnet_status st = CLNET_OK;
    for (int64_t n0 = 0; st == CLNET_OK && n0 < x->dim[0]; n0 += INFER_CHUNK) {
        int n = (int)(x->dim[0] - n0 < INFER_CHUNK ? x->dim[0] - n0 : INFER_CHUNK);
        st = clnet_net_forward(net, x->data + n0 * in_numel, n);
        if (st == CLNET_OK)
            st = clnet_net_read_output(net, y->data + n0 * out_numel, (size_t)(n * out_numel));
    }
    return st;
}

int bench_cmd_infer(int argc, char **argv)
{
    infer_options opt = {0};
    bool help = false;
    int rc = parse_options(argc, argv, &opt, &help);
    if (rc != BENCH_EXIT_OK || help) {
        if (help)
            print_help();
        return rc;
    }
    char err[512];
    npy_array x, y = {0};
    if (!npy_read(opt.input, &x, err, sizeof err)) {
        fprintf(stderr, "clnet-bench %s: %s\n", CMD, err);
        return BENCH_EXIT_FAIL;
    }
    clnet_ctx *ctx = bench_ctx_new(CMD);
    clnet_net *net = NULL;
    clnet_device *dev = NULL;
    clnet_device_info info;
    rc = ctx ? BENCH_EXIT_OK : BENCH_EXIT_FAIL;
    clnet_status st = CLNET_OK;
    if (rc == BENCH_EXIT_OK && (st = clnet_net_from_onnx(ctx, opt.onnx, NULL, &net)) != CLNET_OK)
        rc = bench_fail(CMD, ctx, st, "cannot import the model");
    clnet_layer_info first, last;
    if (rc == BENCH_EXIT_OK) {
        clnet_net_layer_info(net, 0, &first);
        clnet_net_layer_info(net, clnet_net_layer_count(net) - 1, &last);
        rc = check_input(&x, &first.out, opt.input);
    }
    if (rc == BENCH_EXIT_OK)
        rc = training_device_open(CMD, ctx, opt.selector, &dev, &info);
    int chunk = x.dim[0] < INFER_CHUNK ? (int)x.dim[0] : INFER_CHUNK;
    if (rc == BENCH_EXIT_OK &&
        (st = clnet_net_bind(net, dev, chunk, CLNET_INIT_HE_NORMAL, 0)) != CLNET_OK)
        rc = bench_fail(CMD, ctx, st, "cannot allocate the model on the device");
    if (rc == BENCH_EXIT_OK) {
        y.ndim = last.out.ndim + 1;
        y.dim[0] = x.dim[0];
        for (int d = 0; d < last.out.ndim; d++)
            y.dim[d + 1] = last.out.dim[d];
        y.count = x.dim[0] * clnet_shape_numel(&last.out);
        y.data = malloc((size_t)y.count * sizeof *y.data);
        if (!y.data) {
            fprintf(stderr, "clnet-bench %s: out of host memory\n", CMD);
            rc = BENCH_EXIT_FAIL;
        }
    }
    if (rc == BENCH_EXIT_OK &&
        (st = run_chunks(net, &x, clnet_shape_numel(&first.out), &y,
                         clnet_shape_numel(&last.out))) != CLNET_OK)
        rc = bench_fail(CMD, ctx, st, "the model failed to run");
    if (rc == BENCH_EXIT_OK && !npy_write(opt.output, &y, err, sizeof err)) {
        fprintf(stderr, "clnet-bench %s: %s\n", CMD, err);
        rc = BENCH_EXIT_FAIL;
    }
    free(x.data);
    free(y.data);
    clnet_net_free(net);
    clnet_ctx_free(ctx);
    return rc;
}
