/* cmd_export.c - `clnet-bench export`: a zoo model, a cfg file or a trained
 * checkpoint of either written as an ONNX model (clnet_net_save_onnx). */
#include <stdlib.h>
#include <string.h>

#include "clnet/onnx.h"
#include "models.h"
#include "training.h"

#define CMD "export"

static void print_help(void)
{
    printf("usage: clnet-bench export (--model NAME | --cfg FILE) [--checkpoint C]\n"
           "                          --onnx OUT [--seed S] [model options]\n\n"
           "Writes a clnet net as an ONNX model (opset 13, batch axis symbolic) to OUT.\n"
           "The weights are those of checkpoint C (written by `clnet-bench train --save`\n"
           "for the same model and options), else He-normal from the seed. A layer with\n"
           "no exact ONNX equivalent is an error naming it.\n\n"
           "  --model NAME       zoo model\n"
           "  --cfg FILE         a cfg file instead (docs/cfg-format.md)\n"
           "  --checkpoint C     trained weights\n"
           "  --onnx OUT         the ONNX file written (replaced)\n"
           "  --seed S           weights without a checkpoint (default 1)\n" MODEL_OPTS_HELP
           "  --help             this text\n");
}

typedef struct export_options {
    const char *onnx;
    net_source src;
} export_options;

static int parse_options(int argc, char **argv, export_options *opt, bool *help)
{
    bench_opts o = {.cmd = CMD, .argc = argc, .argv = argv};
    for (o.i = 1; o.i < argc; o.i++) {
        bool matched;
        if (bench_opt_flag(&o, "--help")) {
            *help = true;
            return BENCH_EXIT_OK;
        }
        /* --onnx names the output here, not a model to import */
        if (bench_opt_value(&o, "--onnx", &opt->onnx)) {
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
    if (!opt->onnx)
        return bench_usage_error(CMD, "--onnx is required");
    return net_source_check(CMD, &opt->src);
}

int bench_cmd_export(int argc, char **argv)
{
    export_options opt = {.src.seed = 1};
    bool help = false;
    int rc = parse_options(argc, argv, &opt, &help);
    if (rc != BENCH_EXIT_OK || help) {
        if (help)
            print_help();
        return rc;
    }
    clnet_ctx *ctx = bench_ctx_new(CMD);
    if (!ctx)
        return BENCH_EXIT_FAIL;
    clnet_net *net = NULL;
    clnet_device *ref = NULL;
    /* the reference device holds the weights: no OpenCL needed to export */
    clnet_status st = clnet_device_find(ctx, "ref", &ref);
    rc = st == CLNET_OK ? net_source_open(CMD, ctx, &opt.src, ref, 1, &net)
                        : bench_fail(CMD, ctx, st, "cannot open the reference device");
    if (rc == BENCH_EXIT_OK && (st = clnet_net_save_onnx(net, opt.onnx)) != CLNET_OK)
        rc = bench_fail(CMD, ctx, st, "cannot export");
    clnet_net_free(net);
    clnet_ctx_free(ctx);
    return rc;
}
