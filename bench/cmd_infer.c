/* cmd_infer.c - `clnet-bench infer`: runs an ONNX model, a zoo model or a
 * cfg net on a NumPy array and writes its output as another, unchanged by
 * any normalisation, so that a model's results can be compared with those
 * of the framework it came from, or with its own ONNX export. */
#include <stdlib.h>
#include <string.h>

#include "models.h"
#include "npy.h"
#include "training.h"

#define CMD "infer"
/* Images per forward pass; larger inputs run in chunks of this size. */
#define INFER_CHUNK 16

static void print_help(void)
{
    printf("usage: clnet-bench infer (--onnx FILE | --model NAME | --cfg FILE)\n"
           "                         [--checkpoint C] --input X.npy --output Y.npy\n"
           "                         [--device D] [--seed S] [model options]\n\n"
           "Runs the net on the float32 C-order array X.npy (its first axis the batch,\n"
           "any size; the others the net's input shape) and writes the net's output,\n"
           "float32 C order, with the graph output's shape, to Y.npy. No normalisation\n"
           "is applied: feed what the model expects.\n\n"
           "  --onnx FILE        an ONNX model, with its weights\n"
           "  --model NAME       a zoo model\n"
           "  --cfg FILE         a cfg file (docs/cfg-format.md)\n"
           "  --checkpoint C     trained weights (`clnet-bench train --save`), else an\n"
           "                     ONNX model's own, else He-normal from the seed\n"
           "  --seed S           weights without either (default 1, as `export`'s)\n"
           "  --input X.npy      the input array\n"
           "  --output Y.npy     where the output goes (replaced)\n"
           "  --device D         device index, name substring or \"ref\" (default:\n"
           "                     CLNET_DEVICE, else the first OpenCL device)\n"
           "  --width A, --resolution R, --aux, --classes N: as for `export`\n"
           "  --help             this text\n");
}

typedef struct infer_options {
    const char *input, *output, *selector;
    net_source src;
} infer_options;

static int parse_options(int argc, char **argv, infer_options *opt, bool *help)
{
    bench_opts o = {.cmd = CMD, .argc = argc, .argv = argv};
    for (o.i = 1; o.i < argc; o.i++) {
        bool matched;
        if (bench_opt_flag(&o, "--help")) {
            *help = true;
            return BENCH_EXIT_OK;
        }
        /* --input is the array here, not a shape for the model */
        if (bench_opt_value(&o, "--input", &opt->input) ||
            bench_opt_value(&o, "--output", &opt->output) ||
            bench_opt_value(&o, "--device", &opt->selector)) {
            if (o.error)
                return BENCH_EXIT_USAGE;
            continue;
        }
        int rc = net_source_parse(&o, &opt->src, &matched);
        if (rc != BENCH_EXIT_OK)
            return rc;
        if (!matched)
            return bench_usage_error(CMD, "unknown option '%s'", argv[o.i]);
    }
    if (!opt->input || !opt->output)
        return bench_usage_error(CMD, "--input and --output are required");
    return net_source_check(CMD, &opt->src);
}

/* Checks that x is a batch of the net's inputs: (N, shape...). */
static int check_input(const npy_array *x, const clnet_shape *in, const char *path)
{
    bool fits = x->ndim == in->ndim + 1 && x->dim[0] >= 1;
    for (int d = 0; fits && d < in->ndim; d++)
        fits = x->dim[d + 1] == in->dim[d];
    if (fits)
        return BENCH_EXIT_OK;
    char want[128], got[256];   /* 8 dims of 20 digits fit */
    int n = snprintf(want, sizeof want, "(N");
    for (int d = 0; d < in->ndim; d++)
        n += snprintf(want + n, sizeof want - (size_t)n, ", %lld", (long long)in->dim[d]);
    snprintf(want + n, sizeof want - (size_t)n, ")");
    n = 0;
    for (int d = 0; d < x->ndim; d++)
        n += snprintf(got + n, sizeof got - (size_t)n, "%s%lld", d ? ", " : "(",
                      (long long)x->dim[d]);
    snprintf(got + n, sizeof got - (size_t)n, "%s)", x->ndim ? "" : "(");
    fprintf(stderr, "clnet-bench %s: %s: an array of shape %s; the model takes %s\n", CMD, path,
            got, want);
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
    infer_options opt = {.src = {.seed = 1, .onnx_allowed = true}};
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
    rc = ctx ? training_device_open(CMD, ctx, opt.selector, &dev, &info) : BENCH_EXIT_FAIL;
    int chunk = x.dim[0] < INFER_CHUNK ? (int)x.dim[0] : INFER_CHUNK;
    if (rc == BENCH_EXIT_OK)
        rc = net_source_open(CMD, ctx, &opt.src, dev, chunk > 0 ? chunk : 1, &net);
    clnet_layer_info first, last;
    if (rc == BENCH_EXIT_OK) {
        clnet_net_layer_info(net, 0, &first);
        clnet_net_layer_info(net, clnet_net_layer_count(net) - 1, &last);
        rc = check_input(&x, &first.out, opt.input);
    }
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
    clnet_status st;
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
