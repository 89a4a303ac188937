/* evolve_run.h - one run of `clnet-bench evolve`: its settings, the data
 * split, the fitness of a genome (train on a budget of images, score on the
 * validation split), the generation loop, and the run's directory (the log
 * of every evaluation, the state a resumed run starts from). */
#ifndef CLNET_BENCH_EVOLVE_RUN_H
#define CLNET_BENCH_EVOLVE_RUN_H

#include <stdio.h>

#include "bench.h"
#include "evolve.h"

#define EVOLVE_MAX_POPULATION 1000
#define EVOLVE_MAX_GENERATIONS 10000

/* What defines a run; a resumed run reads them from DIR/state.txt. */
typedef struct evolve_settings {
    char data[32];
    char dir[4096];
    long population, budget, seed, validation, elite, tournament, batch;
    float lr, mac_penalty;
} evolve_settings;

/* Defaults of the optional settings; the required ones unset (0, ""). */
void evolve_settings_default(evolve_settings *s);

/* One evaluated genome. */
typedef struct evolve_score {
    char text[EVOLVE_TEXT_MAX];
    int64_t params, macs;
    double val_acc, fitness;
} evolve_score;

typedef struct evolve_generation {
    double best, mean;
    char best_text[EVOLVE_TEXT_MAX];
} evolve_generation;

typedef struct evolve_run {
    evolve_settings s;
    FILE *log;                   /* the human-readable lines */
    clnet_ctx *ctx;
    clnet_device *dev;
    clnet_dataset *all, *test;   /* the dataset's splits (loaded or synthetic) */
    bool synthetic;
    clnet_dataset *train, *val;  /* all, split */
    float mean[3], std[3];       /* normalisation, from `train` */
    evolve_score *cache;         /* every genome evaluated so far */
    int ncache, cache_cap;
    evolve_generation *gens;     /* the generations run so far */
    int ngens;
    evolve_genome *pop;          /* the next generation to evaluate */
    evolve_rng rng;
} evolve_run;

/* Starts a run in settings->dir, or (settings NULL) resumes the one in
 * `resume_dir`: loads the data, opens the device, and for a new run draws
 * the first generation. Returns an exit code (bench.h); the run must be
 * closed whatever it returns. */
int evolve_run_open(evolve_run *r, const evolve_settings *settings, const char *resume_dir,
                    const char *selector, const char *data_dir, FILE *log);

/* Evaluates and breeds generations until `total` have run, logging each
 * and saving the state after each. Returns an exit code. */
int evolve_run_generations(evolve_run *r, long total);

/* The best genome of the last generation run (the best of all, by
 * elitism), or NULL when none has run. */
const evolve_score *evolve_run_best(const evolve_run *r);

/* Writes genome `text`'s cfg file at `path`; false after saying why. */
bool evolve_run_write_cfg(const evolve_run *r, const char *text, const char *path);

/* Trains genome `text` as its evaluation did (the same weights) and gives
 * its top-1 accuracy on the test split. Returns an exit code. */
int evolve_run_test(evolve_run *r, const char *text, double *accuracy);

void evolve_run_close(evolve_run *r);

#endif
