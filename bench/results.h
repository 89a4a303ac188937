/* results.h - the results file of a recipe run
 * (docs/results/<recipe>-<device>-seed<S>.json, the keys of `train --recipe
 * --json`: the results schema every harness result shares, provenance.h,
 * plus the run's curve) and the README's
 * "Reproduction" table that `clnet-bench report --reproduction` makes from
 * those files. */
#ifndef CLNET_BENCH_RESULTS_H
#define CLNET_BENCH_RESULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "clnet.h"

/* One epoch of a run; accuracies are fractions. */
typedef struct result_epoch {
    double lr, train_loss, train_accuracy, test_loss, test_accuracy;
    double images_per_second, seconds;
} result_epoch;

typedef struct result {
    const char *recipe, *model, *data, *command, *tta;
    const clnet_device_info *devs;   /* the devices it trained on (provenance) */
    int ndevs;
    int batch;                   /* the training figure's conditions: the global batch, */
    const char *input;           /* one image ("CxHxW"), */
    int64_t macs;                /* and the forward MACs per image */
    uint64_t seed;
    bool complete;               /* the recipe's full length on the full data */
    double epochs_planned;       /* the run's epochs (fractional allowed) */
    int64_t train_count, test_count;
    double test_accuracy, test_loss; /* the final test, with the recipe's TTA */
    double published;            /* the recipe's target, a fraction */
    double wall_seconds, train_seconds;
    const result_epoch *epochs;
    int nepochs;
} result;

/* Writes r as one JSON object and a newline: the provenance keys (schema,
 * command, clnet_version and commit, date, host, device, hardware), the
 * run's top-level scalars, then the "epochs" list and a "figures" list of
 * one training figure (images/s over the epochs' training time), which
 * `clnet-bench compare` reads. */
void results_write_json(FILE *f, const result *r);

/* "<recipe>-<device>-seed<S>" with every character of the device name
 * outside [A-Za-z0-9._-] replaced by '-'. */
void results_base_name(char *out, size_t size, const char *recipe, const char *device,
                       uint64_t seed);

/* A recipe results file of a clnet-bench from before the results schema
 * (recipe, model, device, command, epochs; no "schema" key), as the schema
 * has it: schema, command, clnet_version, device and one training figure,
 * its images/s averaged over the epochs' time, its batch the command's
 * --batch or the recipe's, its input and MACs the zoo model's
 * (results_legacy.c). Returns a new tree the caller frees with json_free,
 * or NULL with the reason in err (not such a file, a model not in the
 * zoo). */
struct json;
struct json *results_upgrade_legacy(const struct json *old, char *err, size_t err_size);

/* Writes the epochs of an unfinished run and its wall time so far to
 * `path` (text: two comment lines, then one line of numbers per epoch),
 * through a temporary file renamed into place, so that a crash leaves the
 * previous file. A recipe run writes one beside each checkpoint
 * ("<checkpoint>.curve") for --resume. Returns false (message in err) when
 * it cannot be written. */
bool results_write_curve(const char *path, const result_epoch *epochs, int n,
                         double wall_seconds, char *err, size_t err_size);

/* Reads a file results_write_curve wrote: at most `max` epochs into
 * epochs[], the wall time into *wall_seconds. Returns the number of epochs
 * read, or -1 (message in err) when the file cannot be read or a line is
 * malformed. */
int results_read_curve(const char *path, result_epoch *epochs, int max, double *wall_seconds,
                       char *err, size_t err_size);

/* Writes the Markdown "Reproduction" table of every results file in `dir`
 * (one row per file, recipes in table order, the published figure from the
 * recipe beside each, and the mean over the complete runs of each recipe
 * and device) to out. Returns the number of files read, -1 when dir cannot
 * be opened. */
int results_reproduction_table(FILE *out, const char *dir);

#endif
