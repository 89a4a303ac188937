/* training.h - what `clnet-bench train` and `clnet-bench eval` share: opening
 * the device, loading a dataset with its normalisation, building a zoo model
 * shaped for it, and printing evaluation results. */
#ifndef CLNET_BENCH_TRAINING_H
#define CLNET_BENCH_TRAINING_H

#include "bench.h"
#include "clnet/nn.h"

/* The subcommands built on this file (see bench.h for the convention). */
int bench_cmd_train(int argc, char **argv);
int bench_cmd_eval(int argc, char **argv);
/* `train --recipe`, which bench_cmd_train hands every recipe run to. */
int bench_cmd_train_recipe(int argc, char **argv);

/* The dataset names --data accepts, as one line for help texts. */
#define TRAINING_DATA_NAMES "mnist, fashion-mnist, cifar10, cifar100"

/* A dataset's two splits and the per-channel normalisation taken from the
 * whole training split (so training and evaluation normalise alike whatever
 * --limit says). */
typedef struct training_data {
    clnet_dataset *train, *test;
    float mean[3], std[3];
} training_data;

/* True when `name` is one of TRAINING_DATA_NAMES. */
bool training_data_known(const char *name);

/* Loads both splits of `name`, looking in `dir` first (may be NULL). Returns
 * an exit code; a missing dataset is reported with every place tried. */
int training_data_load(const char *cmd, clnet_ctx *ctx, const char *name, const char *dir,
                       training_data *out);
void training_data_free(training_data *d);

/* Frames every image of both splits with `pad` pixels of value 0 on each
 * side, as LeCun et al. 1998 centred MNIST's 28x28 digits in a 32x32 field;
 * the normalisation stays the unpadded training split's. Returns an exit
 * code. */
int training_data_pad(const char *cmd, clnet_ctx *ctx, training_data *d, int pad);

/* The border that makes the images of `ds` the input of cfg `text`: P when
 * its [net] input has ds's channels and is 2P (1 <= P <= 4) larger in both
 * height and width, else 0 (also for a cfg that does not build, which the
 * caller's own build then reports). */
int training_cfg_pad(clnet_ctx *ctx, const char *text, const clnet_dataset *ds);

/* The classification loss a net is trained and evaluated with: LeCun et
 * al.'s MMI criterion for a net whose outputs are penalties (it ends in RBF
 * units), else softmax cross-entropy. */
clnet_loss training_default_loss(const clnet_net *net);

/* Opens the device chosen by `selector` (NULL: the default) and describes
 * it. A selector that matches nothing is a usage error. */
int training_device_open(const char *cmd, clnet_ctx *ctx, const char *selector,
                         clnet_device **dev, clnet_device_info *info);

/* The cfg text of a run (malloc'd, the caller frees it): the file
 * `cfg_path` when it is not NULL, else zoo model `model`'s. Returns an exit
 * code; an unreadable file is reported. */
int training_cfg_text(const char *cmd, const char *model, const char *cfg_path, char **text);

/* --resize HxW into size[0] (height) and size[1] (width), each 1..4096.
 * Returns false after a usage error naming `cmd`. */
bool training_parse_resize(const char *cmd, const char *text, int size[2]);

/* Builds the net of cfg `text` (`name` names it in messages) with the input
 * shape and class count of `ds` (its images resized to resize[0] x
 * resize[1] when resize[0] > 0; resize may be NULL) and, with `aux`, its
 * auxiliary classifiers, loads `checkpoint` into it (may be NULL),
 * and binds it to `dev` for batches of up to `batch` images, weights from
 * `seed` - or, when the checkpoint holds a training state, from the seed of
 * the run that saved it, so that its dropout streams go on. Returns an exit
 * code. */
int training_model_new(const char *cmd, clnet_ctx *ctx, const char *text, const char *name,
                       const clnet_dataset *ds, const int *resize, bool aux,
                       const char *checkpoint,
                       clnet_device *dev, int batch, uint64_t seed, clnet_net **out);

/* The per-image input shape of a net fed `ds`, resized as
 * training_model_new says. */
clnet_shape training_input_shape(const clnet_dataset *ds, const int *resize);

/* Usage error for an unknown model, listing the zoo. */
int training_unknown_model(const char *cmd, const char *model);

/* True when an evaluation's loss and every output row were finite.
 * Otherwise prints a warning on stderr naming `what` (e.g. "epoch 3
 * training") and the number of non-finite rows, and returns false: the
 * caller exits with BENCH_EXIT_FAIL, since the accuracy of a diverged net
 * means nothing. */
bool training_eval_finite(const char *cmd, const char *what, const clnet_eval *e);

/* Writes a JSON number, or null when it is not finite (a diverged loss). */
void training_json_number(FILE *f, double v);

/* Writes the fields "<prefix>loss", "<prefix>accuracy" and, when top5 is
 * true, "<prefix>top5" of an evaluation, each followed by ", ". */
void training_json_eval(FILE *f, const char *prefix, const clnet_eval *e, bool top5);

/* "clnet-bench train ARGS" as given (argv[0] is the subcommand), cut to
 * size - 1 characters: the results JSON's "command". */
void training_command_line(int argc, char **argv, char *out, size_t size);

#endif
