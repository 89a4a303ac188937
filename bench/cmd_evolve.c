/* cmd_evolve.c - `clnet-bench evolve`: a genetic algorithm over the structure
 * of small convolutional classifiers (evolve.h), each genome trained on a
 * budget of images and scored on a validation split of the training set;
 * every evaluation logged, the run resumable, a chart of fitness per
 * generation and the best genome's cfg written out. */
#include <stdlib.h>
#include <string.h>

#include "charts.h"
#include "evolve.h"
#include "evolve_data.h"
#include "evolve_run.h"
#include "training.h"

#define CMD "evolve"

static void print_help(void)
{
    printf(
        "usage: clnet-bench evolve --data SET --population P --generations G\n"
        "                          --budget-images N [--seed S] [--out DIR] [--resume DIR]\n"
        "                          [--validation V] [--elite E] [--tournament K]\n"
        "                          [--mac-penalty X] [--batch B] [--lr X] [--device D]\n"
        "                          [--data-dir DIR] [--json]\n\n"
        "Searches the structure of a small convolutional classifier with a genetic\n"
        "algorithm. A genome is 1-%d conv stages (4-64 filters, 3x3 or 5x5, each\n"
        "optionally followed by 2x2 max pooling) and 0-%d fully connected layers\n"
        "(16-256 wide) before the classifier; it is written out as a cfg file. Its\n"
        "fitness is its accuracy on a validation split taken from the training set\n"
        "after training (Adam) on N images, less X per million MACs. Each generation\n"
        "keeps its E best (elitism: the best fitness never falls) and breeds the rest\n"
        "by tournament selection of size K, crossover of layers (half of the\n"
        "children) and one mutation each. Everything follows from the seed. The\n"
        "test split is used once, for the best genome's test accuracy at the end.\n\n"
        "  --data SET            %s, or %s (1x12x12 bars,\n"
        "                        4 orientations)\n"
        "  --population P        genomes per generation (2..%d)\n"
        "  --generations G       generations to run in all (1..%d); with --resume,\n"
        "                        the total including those already run\n"
        "  --budget-images N     training images per evaluation (epochs over the\n"
        "                        training part of the split, the last one partial)\n"
        "  --seed S              the search, the split and the weights (default 1)\n"
        "  --out DIR             where the run is written (default evolve-out):\n"
        "                        log.tsv (every evaluated genome of every generation),\n"
        "                        generations.tsv, genomes/GENOME.cfg, best.cfg,\n"
        "                        fitness.png, state.txt\n"
        "  --resume DIR          continue the run in DIR with its settings (only\n"
        "                        --generations, --device, --data-dir, --json may be given)\n"
        "  --validation V        validation images (default a tenth of the training\n"
        "                        set, at most 5000)\n"
        "  --elite E             genomes kept unchanged (default 1, at least 1)\n"
        "  --tournament K        tournament size (default 3)\n"
        "  --mac-penalty X       fitness penalty per million MACs (default 0)\n"
        "  --batch B             training batch (default 32)\n"
        "  --lr X                Adam's learning rate (default 0.001)\n"
        "  --device D            device index, name substring or \"ref\"\n"
        "  --data-dir DIR        look for the dataset here first\n"
        "  --json                one JSON object on stdout: the settings, a list of\n"
        "                        generations (best_fitness, mean_fitness as fractions,\n"
        "                        best_genome) and the best genome (test_accuracy)\n"
        "  --help                this text\n",
        EVOLVE_MAX_CONV, EVOLVE_MAX_FC, TRAINING_DATA_NAMES, EVOLVE_SYNTHETIC,
        EVOLVE_MAX_POPULATION, EVOLVE_MAX_GENERATIONS);
}

static bool parse_float(const char *opt, const char *text, float lo, float hi, float *out)
{
    char *end;
    float v = strtof(text, &end);
    if (end == text || *end != '\0' || !(v >= lo && v <= hi)) {
        bench_usage_error(CMD, "bad value '%s' for %s: expected a number from %g to %g", text,
                          opt, lo, hi);
        return false;
    }
    *out = v;
    return true;
}

/* Options that define a run (and so are refused with --resume). */
static bool parse_setting(bench_opts *o, evolve_settings *s, bool *given)
{
    const char *v;
    bool ok = true;
    if (bench_opt_value(o, "--data", &v)) {
        if (v && !training_data_known(v) && strcmp(v, EVOLVE_SYNTHETIC) != 0) {
            bench_usage_error(CMD, "unknown dataset '%s' (%s, %s)", v, TRAINING_DATA_NAMES,
                              EVOLVE_SYNTHETIC);
            ok = false;
        } else if (v) {
            snprintf(s->data, sizeof s->data, "%s", v);
        }
    } else if (bench_opt_value(o, "--population", &v)) {
        ok = v && bench_parse_int(CMD, "--population", v, 2, EVOLVE_MAX_POPULATION,
                                  &s->population);
    } else if (bench_opt_value(o, "--budget-images", &v)) {
        ok = v && bench_parse_int(CMD, "--budget-images", v, 1, 1000000000L, &s->budget);
    } else if (bench_opt_value(o, "--seed", &v)) {
        ok = v && bench_parse_int(CMD, "--seed", v, 0, 2147483647L, &s->seed);
    } else if (bench_opt_value(o, "--validation", &v)) {
        ok = v && bench_parse_int(CMD, "--validation", v, 1, 1000000000L, &s->validation);
    } else if (bench_opt_value(o, "--elite", &v)) {
        ok = v && bench_parse_int(CMD, "--elite", v, 1, EVOLVE_MAX_POPULATION, &s->elite);
    } else if (bench_opt_value(o, "--tournament", &v)) {
        ok = v && bench_parse_int(CMD, "--tournament", v, 1, EVOLVE_MAX_POPULATION,
                                  &s->tournament);
    } else if (bench_opt_value(o, "--batch", &v)) {
        ok = v && bench_parse_int(CMD, "--batch", v, 1, 4096, &s->batch);
    } else if (bench_opt_value(o, "--mac-penalty", &v)) {
        ok = v && parse_float("--mac-penalty", v, 0, 1, &s->mac_penalty);
    } else if (bench_opt_value(o, "--lr", &v)) {
        ok = v && parse_float("--lr", v, 1e-7f, 10, &s->lr);
    } else if (bench_opt_value(o, "--out", &v)) {
        if (v)
            snprintf(s->dir, sizeof s->dir, "%s", v);
    } else {
        return false;
    }
    *given = true;
    o->error |= !ok;
    return true;
}

typedef struct cli {
    evolve_settings s;
    long generations;
    const char *resume, *selector, *data_dir;
    bool json, settings_given;
} cli;

/* Parses argv; returns -1 to go on, else an exit code. */
static int parse_args(int argc, char **argv, cli *c)
{
    evolve_settings_default(&c->s);
    c->generations = -1;
    bench_opts o = {.cmd = CMD, .argc = argc, .argv = argv};
    for (o.i = 1; o.i < argc; o.i++) {
        const char *v;
        if (strcmp(argv[o.i], "--help") == 0 || strcmp(argv[o.i], "-h") == 0) {
            print_help();
            return BENCH_EXIT_OK;
        } else if (parse_setting(&o, &c->s, &c->settings_given)) {
        } else if (bench_opt_value(&o, "--generations", &v)) {
            if (v && !bench_parse_int(CMD, "--generations", v, 1, EVOLVE_MAX_GENERATIONS,
                                      &c->generations))
                return BENCH_EXIT_USAGE;
        } else if (bench_opt_value(&o, "--resume", &v)) {
            c->resume = v;
        } else if (bench_opt_value(&o, "--device", &v)) {
            c->selector = v;
        } else if (bench_opt_value(&o, "--data-dir", &v)) {
            c->data_dir = v;
        } else if (bench_opt_flag(&o, "--json")) {
            c->json = true;
        } else {
            return bench_usage_error(CMD, "unknown option '%s'", argv[o.i]);
        }
        if (o.error)
            return BENCH_EXIT_USAGE;
    }
    if (c->generations < 0)
        return bench_usage_error(CMD, "--generations is required");
    if (c->resume) {
        if (c->settings_given)
            return bench_usage_error(CMD, "--resume takes the run's settings from %s/state.txt; "
                                          "give only --generations, --device, --data-dir, --json",
                                     c->resume);
        return -1;
    }
    if (!c->s.data[0] || c->s.population <= 0 || c->s.budget <= 0)
        return bench_usage_error(CMD, "--data, --population and --budget-images are required");
    if (c->s.elite >= c->s.population)
        return bench_usage_error(CMD, "--elite %ld leaves no room for children in a "
                                      "population of %ld", c->s.elite, c->s.population);
    return -1;
}

static void json_generations(FILE *f, const evolve_run *r)
{
    fprintf(f, "\"generations\": [");
    for (int g = 0; g < r->ngens; g++) {
        fprintf(f, "%s{\"generation\": %d, \"best_fitness\": ", g ? ", " : "", g);
        training_json_number(f, r->gens[g].best);
        fprintf(f, ", \"mean_fitness\": ");
        training_json_number(f, r->gens[g].mean);
        fprintf(f, ", \"best_genome\": ");
        bench_json_string(f, r->gens[g].best_text);
        fprintf(f, "}");
    }
    fprintf(f, "]");
}

static void print_json(const evolve_run *r, const evolve_score *best, double test_acc,
                       const char *best_cfg)
{
    const evolve_settings *s = &r->s;
    printf("{\"data\": ");
    bench_json_string(stdout, s->data);
    printf(", \"population\": %ld, \"budget_images\": %ld, \"seed\": %ld, \"validation\": %lld, "
           "\"elite\": %ld, \"tournament\": %ld, \"mac_penalty\": %g, ",
           s->population, s->budget, s->seed, (long long)r->val->count, s->elite, s->tournament,
           (double)s->mac_penalty);
    json_generations(stdout, r);
    printf(", \"best\": {\"genome\": ");
    bench_json_string(stdout, best->text);
    printf(", \"cfg\": ");
    bench_json_string(stdout, best_cfg);
    printf(", \"params\": %lld, \"macs\": %lld, \"validation_accuracy\": ",
           (long long)best->params, (long long)best->macs);
    training_json_number(stdout, best->val_acc);
    printf(", \"fitness\": ");
    training_json_number(stdout, best->fitness);
    printf(", \"test_accuracy\": ");
    training_json_number(stdout, test_acc);
    printf("}}\n");
}

/* The chart of best and mean fitness per generation; a warning when it
 * cannot be drawn (no gnuplot), since the numbers are in generations.tsv. */
static void draw_chart(const evolve_run *r)
{
    double *v = malloc(2 * (size_t)r->ngens * sizeof *v);
    if (!v)
        return;
    for (int g = 0; g < r->ngens; g++) {
        v[g] = r->gens[g].best;
        v[r->ngens + g] = r->gens[g].mean;
    }
    static const char *const series[] = {"best fitness", "mean fitness"};
    char title[256], err[512];
    snprintf(title, sizeof title, "clnet-bench evolve: %s, population %ld, %ld images each",
             r->s.data, r->s.population, r->s.budget);
    if (!charts_lines(r->s.dir, "fitness", title, "generation", "fitness", r->ngens, 2, series, v,
                      err, sizeof err))
        fprintf(stderr, "clnet-bench %s: warning: no fitness chart: %s\n", CMD, err);
    free(v);
}

/* The end of a run: the best genome's cfg, the chart, its test accuracy. */
static int finish(evolve_run *r, bool json)
{
    const evolve_score *best = evolve_run_best(r);
    char path[4200];
    snprintf(path, sizeof path, "%s/best.cfg", r->s.dir);
    if (!best || !evolve_run_write_cfg(r, best->text, path))
        return BENCH_EXIT_FAIL;
    draw_chart(r);
    double test_acc;
    int rc = evolve_run_test(r, best->text, &test_acc);
    if (rc != BENCH_EXIT_OK)
        return rc;
    fprintf(r->log, "best %s: %lld parameters, %.2f M MACs, validation %.2f%%, fitness %.4f, "
                    "test %.2f%%; its cfg: %s\n",
            best->text, (long long)best->params, (double)best->macs * 1e-6, 100 * best->val_acc,
            best->fitness, 100 * test_acc, path);
    if (json)
        print_json(r, best, test_acc, path);
    return BENCH_EXIT_OK;
}

int bench_cmd_evolve(int argc, char **argv)
{
    cli c = {0};
    int rc = parse_args(argc, argv, &c);
    if (rc >= 0)
        return rc;
    evolve_run r;
    rc = evolve_run_open(&r, c.resume ? NULL : &c.s, c.resume, c.selector, c.data_dir,
                         c.json ? stderr : stdout);
    if (rc == BENCH_EXIT_OK)
        rc = evolve_run_generations(&r, c.generations);
    if (rc == BENCH_EXIT_OK)
        rc = finish(&r, c.json);
    evolve_run_close(&r);
    return rc;
}
