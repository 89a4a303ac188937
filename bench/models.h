/* models.h - what the zoo commands of clnet-bench (models, run, report)
 * share: their entry points and the options that shape a zoo model. */
#ifndef CLNET_BENCH_MODELS_H
#define CLNET_BENCH_MODELS_H

#include "bench.h"
#include "clnet/nn.h"

int bench_cmd_models(int argc, char **argv);
int bench_cmd_run(int argc, char **argv);
int bench_cmd_report(int argc, char **argv);
int bench_cmd_infer(int argc, char **argv);
int bench_cmd_export(int argc, char **argv);

/* How to build a zoo model: the cfg overrides from the command line. */
typedef struct model_opts {
    clnet_cfg_overrides ov;
    int resolution;          /* > 0: input C x R x R, C being the cfg's own */
    bool input_given;        /* --input or --resolution: not the cfg's own input */
    const char *onnx;        /* --onnx FILE: an ONNX model instead of a zoo model */
} model_opts;

/* The help lines of the options model_opts_parse takes. */
#define MODEL_OPTS_HELP                                                                       \
    "  --width A          width multiplier of the model's scalable layers (MobileNet's\n"     \
    "                     alpha: 1.0, 0.75, 0.5, 0.25; models without any reject it)\n"     \
    "  --resolution R     input of R x R pixels, channels as in the model's cfg\n"            \
    "  --input CxHxW      input shape per image (CxW for 1-D, F for vectors)\n"               \
    "  --aux              build the auxiliary classifiers (GoogLeNet, Inception-v3)\n"        \
    "  --classes N        outputs of the classifier (default: the cfg's, 1000 for\n"          \
    "                     ImageNet models)\n"

/* The help line of --onnx, which model_opts_parse also takes (run, models). */
#define MODEL_ONNX_HELP                                                                       \
    "  --onnx FILE        an ONNX model (with its weights) instead of --model; --input\n"    \
    "                     gives the shape of an input with symbolic dimensions\n"

/* Parses argv[o->i] when it is one of the options above; *matched says
 * whether it was. Returns BENCH_EXIT_OK, or BENCH_EXIT_USAGE after
 * reporting a bad value. */
int model_opts_parse(bench_opts *o, model_opts *m, bool *matched);

/* Builds zoo model `name` shaped by `m`, or imports m->onnx when set. An unknown name is a usage error
 * listing the zoo; a model the overrides do not fit, a failure. Returns an
 * exit code, with the reason on stderr. */
int model_build(const char *cmd, clnet_ctx *ctx, const char *name, const model_opts *m,
                clnet_net **out);

/* The net of `export` and `infer`: zoo model `model`, cfg file `cfg` or
 * (where onnx_allowed) ONNX model m.onnx, exactly one of them, shaped by
 * m, with the weights of clnet checkpoint `checkpoint` when set, else those
 * an ONNX model has, else He-normal ones from `seed`. */
typedef struct net_source {
    const char *model, *cfg, *checkpoint;
    long seed;
    model_opts m;
    bool onnx_allowed;       /* --onnx names a model to import (infer), not an output */
} net_source;

/* Parses argv[o->i] when it is --model, --cfg, --checkpoint, --seed or one
 * of model_opts_parse's options (a command that gives --input or --onnx
 * another meaning matches it first); *matched says whether it was.
 * Returns BENCH_EXIT_OK, or BENCH_EXIT_USAGE after reporting a bad value. */
int net_source_parse(bench_opts *o, net_source *src, bool *matched);

/* Checks the parsed options: one source, --resolution only with --model.
 * Returns BENCH_EXIT_OK, or BENCH_EXIT_USAGE after reporting. */
int net_source_check(const char *cmd, const net_source *src);

/* Builds the net, binds it on `dev` for batches of up to `batch` images and
 * loads the checkpoint. *out receives the net (the caller frees it), NULL
 * on failure. Returns an exit code, with the reason on stderr. */
int net_source_open(const char *cmd, clnet_ctx *ctx, const net_source *src, clnet_device *dev,
                    int batch, clnet_net **out);

/* Writes the per-image input shape of a net as "3x224x224". */
void model_input_text(const clnet_net *net, char *buf, size_t size);

/* The input of `net` is square (C x R x R): R; else 0. */
int model_input_resolution(const clnet_net *net);

#endif
