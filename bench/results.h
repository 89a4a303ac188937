/* results.h - the results file of a recipe run
 * (docs/results/<recipe>-<device>-seed<S>.json: one JSON schema for every
 * harness result, the keys of `train --recipe --json`) and the README's
 * "Reproduction" table that `clnet-bench report --reproduction` makes from
 * those files. */
#ifndef CLNET_BENCH_RESULTS_H
#define CLNET_BENCH_RESULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* One epoch of a run; accuracies are fractions. */
typedef struct result_epoch {
    double lr, train_loss, train_accuracy, test_loss, test_accuracy;
    double images_per_second, seconds;
} result_epoch;

typedef struct result {
    const char *recipe, *model, *data, *device, *command, *clnet_version, *tta;
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

/* Writes r as one JSON object (top-level scalars first, then the "epochs"
 * list) and a newline. */
void results_write_json(FILE *f, const result *r);

/* "<recipe>-<device>-seed<S>" with every character of the device name
 * outside [A-Za-z0-9._-] replaced by '-'. */
void results_base_name(char *out, size_t size, const char *recipe, const char *device,
                       uint64_t seed);

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
