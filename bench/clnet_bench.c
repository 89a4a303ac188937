/* clnet_bench.c - clnet-bench, the harness: dispatches to its subcommands
 * (devices, compile, ops, tune, train, eval, models, run, report, compare,
 * scale, evolve, es-compare, visualize) and prints the overall help. */
#include <string.h>

#include "bench.h"
#include "models.h"
#include "training.h"

typedef struct subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} subcommand;

static const subcommand subcommands[] = {
    {"devices", bench_cmd_devices, "list every device clnet sees, without opening any"},
    {"compile", bench_cmd_compile, "build every OpenCL program for a device into a directory"},
    {"ops", bench_cmd_ops, "time the standard layer suite on one or more devices"},
    {"tune", bench_cmd_tune, "choose convolution algorithms per layer shape by measurement"},
    {"train", bench_cmd_train, "train a zoo model on a dataset, one line per epoch"},
    {"eval", bench_cmd_eval, "evaluate checkpoints (and their ensemble) on a test set"},
    {"models", bench_cmd_models, "parameters and MACs of every zoo model, and the published ones"},
    {"infer", bench_cmd_infer, "run an ONNX model on a .npy array, writing its output as .npy"},
    {"export", bench_cmd_export, "write a zoo model, cfg net or checkpoint as an ONNX model"},
    {"run", bench_cmd_run, "time a zoo model's forward pass or training step on a device"},
    {"report", bench_cmd_report, "run the headline set; write a Markdown report with charts"},
    {"compare", bench_cmd_compare, "results files of several machines side by side (Markdown, PNG)"},
    {"scale", bench_cmd_scale, "data-parallel scaling to 1024 workers: measured step, modelled all-reduce"},
    {"evolve", bench_cmd_evolve, "search small classifiers' structure with a genetic algorithm"},
    {"es-compare", bench_cmd_es_compare, "SGD against an evolution strategy on one forward-pass budget"},
    {"visualize", bench_cmd_visualize, "deconvnet pictures of what a layer's feature maps see"},
};
#define NSUBCOMMANDS (int)(sizeof subcommands / sizeof subcommands[0])

static void print_help(FILE *f)
{
    fprintf(f, "usage: clnet-bench COMMAND [OPTIONS]\n"
               "       clnet-bench COMMAND --help\n\n"
               "clnet %s benchmark and device harness.\n\ncommands:\n",
            clnet_version());
    for (int i = 0; i < NSUBCOMMANDS; i++)
        fprintf(f, "  %-9s %s\n", subcommands[i].name, subcommands[i].summary);
    fprintf(f, "\nexit status: 0 success, 1 a clnet call failed, 2 usage error.\n"
               "environment: CLNET_DEVICE (default device), CLNET_CACHE_DIR, CLNET_BINARY_DIR,\n"
               "             CLNET_CL_DIR (see README.md).\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "clnet-bench: missing command (see 'clnet-bench --help')\n");
        return BENCH_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        print_help(stdout);
        return BENCH_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("clnet-bench %s\n", clnet_version());
        return BENCH_EXIT_OK;
    }
    for (int i = 0; i < NSUBCOMMANDS; i++)
        if (strcmp(cmd, subcommands[i].name) == 0)
            return subcommands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "clnet-bench: unknown command '%s' (see 'clnet-bench --help')\n", cmd);
    return BENCH_EXIT_USAGE;
}
