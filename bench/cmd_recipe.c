/* cmd_recipe.c - `clnet-bench train --recipe NAME`: runs a named recipe of
 * bench/recipes.c (printed in full first), one line per epoch, then the
 * final test with the recipe's test-time augmentation; writes the results
 * JSON and its curve (PNG) when asked. Long recipes save checkpoints as they
 * go and resume from them across sessions. `--recipe list` lists the
 * recipes with their published targets. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "charts.h"
#include "models.h"
#include "progress.h"
#include "recipes.h"
#include "results.h"
#include "training.h"

#define CMD "train"
#define MAX_EPOCHS 100000.0
#define COMMAND_SIZE 2048

static void print_help(void)
{
    printf("usage: clnet-bench train --recipe NAME|list [--epochs E] [--seed S] [--limit N]\n"
           "                         [--test-limit N] [--batch B] [--lr X] [--device D]\n"
           "                         [--data-dir DIR] [--threads T] [--results DIR]\n"
           "                         [--save FILE] [--save-every K] [--stop-after K]\n"
           "                         [--resume FILE] [--json]\n\n"
           "Runs a named training recipe: its net, data, normalisation, augmentation,\n"
           "optimizer, schedule and test-time augmentation, all printed at the start.\n"
           "After every epoch the net is tested without test-time augmentation; after the\n"
           "last, with it (the figure the recipe's published target compares with).\n"
           "'--recipe list' lists the recipes and their targets. A progress bar is drawn\n"
           "on stderr when it is a terminal.\n\n"
           "  --epochs E       train E epochs (fractional allowed); the schedule is rescaled\n"
           "  --seed S         weights, shuffling and augmentation (default 1)\n"
           "  --limit N        train on the first N training images only\n"
           "  --test-limit N   test on the first N test images only\n"
           "  --batch B        override the recipe's batch size\n"
           "  --lr X           override the recipe's base learning rate\n"
           "  --device D       device index, name substring or \"ref\"\n"
           "  --data-dir DIR   look for the dataset here first\n"
           "  --threads T      host threads preparing batches (default 1)\n"
           "  --results DIR    write DIR/<recipe>-<device>-seed<S>.json and .png (the\n"
           "                   device name with characters outside [A-Za-z0-9._-] as '-')\n"
           "  --save FILE      write a checkpoint after the last epoch, and beside it\n"
           "                   FILE.curve (the epochs so far, for --resume)\n"
           "  --save-every K   also write them after every K epochs\n"
           "  --stop-after K   train K epochs in this run, save and stop (a long recipe\n"
           "                   over several sessions); needs --save\n"
           "  --resume FILE    go on from checkpoint FILE and FILE.curve of an earlier\n"
           "                   run of the same recipe and options (its seed is kept);\n"
           "                   not for recipes with a lookahead average (cifar10-fast)\n"
           "  --json           print the results JSON on stdout; the lines go to stderr\n");
}

typedef struct recipe_options {
    const char *name, *selector, *data_dir, *results, *save, *resume;
    double epochs;               /* <= 0: the recipe's */
    long seed, limit, test_limit, batch, threads, save_every, stop_after;
    float lr;                    /* NaN: the recipe's */
    bool json;
} recipe_options;

typedef struct recipe_run {
    const recipe *r;
    const recipe_options *o;
    clnet_ctx *ctx;
    clnet_device_info dev;
    training_data data;
    const float *mean, *std;
    float *pixel_mean;
    clnet_net *net;
    clnet_optimizer opt;
    clnet_tta tta;
    clnet_lookahead *la;
    uint64_t seed;               /* --seed, or the resumed run's */
    int batch, whiten_id, nepochs;
    int first_epoch;             /* 0, or where a resumed run goes on */
    int last_epoch;              /* the last epoch this run trains (--stop-after) */
    double prior_wall_seconds;   /* a resumed run's earlier sessions */
    double start;                /* this session's start (now_s) */
    progress_bar bar;
    double epochs;
    int64_t train_count, test_count, per_epoch, total_steps;
    result_epoch *curve;
    clnet_eval final;
    double train_seconds, wall_seconds;
    char command[COMMAND_SIZE];
    FILE *log;
} recipe_run;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int list_recipes(void)
{
    printf("%-18s %-12s %-8s %8s  %s\n", "recipe", "model", "data", "target", "source");
    for (const recipe *const *r = recipe_all(); *r; r++)
        printf("%-18s %-12s %-8s %7.2f%%  %s\n", (*r)->name, (*r)->model, (*r)->data,
               100.0 * (*r)->target, (*r)->source);
    return BENCH_EXIT_OK;
}

static int parse_value(bench_opts *b, recipe_options *o)
{
    const char *v = NULL;
    long n;
    if (bench_opt_value(b, "--recipe", &v)) {
        o->name = v;
    } else if (bench_opt_value(b, "--epochs", &v)) {
        char *end;
        o->epochs = v ? strtod(v, &end) : 0;
        if (v && (end == v || *end || !(o->epochs > 0 && o->epochs <= MAX_EPOCHS)))
            return bench_usage_error(CMD, "bad --epochs '%s': a number above 0", v);
    } else if (bench_opt_value(b, "--lr", &v)) {
        char *end;
        o->lr = v ? strtof(v, &end) : NAN;
        if (v && (end == v || *end || !(o->lr > 0 && o->lr <= 100)))
            return bench_usage_error(CMD, "bad --lr '%s': a number in (0, 100]", v);
    } else if (bench_opt_value(b, "--device", &v)) {
        o->selector = v;
    } else if (bench_opt_value(b, "--data-dir", &v)) {
        o->data_dir = v;
    } else if (bench_opt_value(b, "--results", &v)) {
        o->results = v;
    } else if (bench_opt_value(b, "--save", &v)) {
        o->save = v;
    } else if (bench_opt_value(b, "--resume", &v)) {
        o->resume = v;
    } else {
        static const struct {
            const char *name;
            size_t offset;
            long lo, hi;
        } ints[] = {
            {"--seed", offsetof(recipe_options, seed), 0, 0x7fffffffffffffffL},
            {"--limit", offsetof(recipe_options, limit), 1, 1L << 40},
            {"--test-limit", offsetof(recipe_options, test_limit), 1, 1L << 40},
            {"--batch", offsetof(recipe_options, batch), 1, 65536},
            {"--threads", offsetof(recipe_options, threads), 1, 256},
            {"--save-every", offsetof(recipe_options, save_every), 1, 100000},
            {"--stop-after", offsetof(recipe_options, stop_after), 1, 100000},
        };
        for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
            if (bench_opt_value(b, ints[i].name, &v)) {
                if (v && !bench_parse_int(CMD, ints[i].name, v, ints[i].lo, ints[i].hi, &n))
                    return BENCH_EXIT_USAGE;
                if (v)
                    *(long *)((char *)o + ints[i].offset) = n;
                return b->error ? BENCH_EXIT_USAGE : BENCH_EXIT_OK;
            }
        return bench_usage_error(CMD, "unknown option '%s' for a recipe run", b->argv[b->i]);
    }
    return b->error ? BENCH_EXIT_USAGE : BENCH_EXIT_OK;
}

static int parse_options(int argc, char **argv, recipe_options *o, bool *help)
{
    bench_opts b = {.cmd = CMD, .argc = argc, .argv = argv};
    for (b.i = 1; b.i < argc; b.i++) {
        if (bench_opt_flag(&b, "--help")) {
            *help = true;
            return BENCH_EXIT_OK;
        }
        if (bench_opt_flag(&b, "--json")) {
            o->json = true;
            continue;
        }
        int rc = parse_value(&b, o);
        if (rc != BENCH_EXIT_OK)
            return rc;
    }
    if (!o->name)
        return bench_usage_error(CMD, "--recipe needs a name");
    if ((o->save_every > 0 || o->stop_after > 0) && !o->save)
        return bench_usage_error(CMD, "--save-every and --stop-after need --save FILE");
    return BENCH_EXIT_OK;
}

/* ---- set-up ---- */

static int build_net(recipe_run *run, clnet_device *dev)
{
    const clnet_dataset *ds = run->data.train;
    clnet_cfg_overrides ov = {
        .classes = ds->classes,
        .input = {.ndim = 3, .dim = {ds->channels, ds->height, ds->width}},
    };
    clnet_status st = clnet_net_zoo(run->ctx, run->r->model, &ov, &run->net);
    if (st == CLNET_OK)
        st = clnet_net_bind(run->net, dev, run->batch, run->r->init, run->seed);
    if (st == CLNET_OK)
        st = clnet_net_set_loss(run->net, CLNET_LOSS_SOFTMAX_XENT, run->r->label_smoothing);
    if (st != CLNET_OK)
        return bench_fail(CMD, run->ctx, st, "cannot build the recipe's model");
    clnet_net_set_loss_sum(run->net, run->r->loss_sum);
    float mult = run->r->bn_shift_lr_mult;
    for (int id = 1; mult > 0.0f && id < clnet_net_layer_count(run->net); id++) {
        clnet_layer_info info;
        clnet_net_layer_info(run->net, id, &info);
        if (info.kind == CLNET_LAYER_BATCHNORM &&
            (st = clnet_net_set_param_lr(run->net, id, 1, mult, 1.0f / mult)) != CLNET_OK)
            return bench_fail(CMD, run->ctx, st, "cannot set the batch-norm shifts' lr");
    }
    return BENCH_EXIT_OK;
}

static int find_layer(const clnet_net *net, const char *name)
{
    for (int id = 1; id < clnet_net_layer_count(net); id++) {
        clnet_layer_info info;
        if (clnet_net_layer_info(net, id, &info) == CLNET_OK && strcmp(info.name, name) == 0)
            return id;
    }
    return -1;
}

/* The whitening layer from the first training images, normalised as in
 * training; its weights frozen (its bias freezes later). */
static int whiten(recipe_run *run)
{
    const recipe *r = run->r;
    run->whiten_id = find_layer(run->net, r->whiten_layer);
    if (run->whiten_id < 0) {
        fprintf(stderr, "clnet-bench train: recipe %s: model %s has no layer '%s'\n", r->name,
                r->model, r->whiten_layer);
        return BENCH_EXIT_FAIL;
    }
    const clnet_dataset *ds = run->data.train;
    int n = (int)(r->whiten_images < ds->count ? r->whiten_images : ds->count);
    size_t image = (size_t)ds->channels * ds->height * ds->width;
    float *x = malloc((size_t)n * image * sizeof *x);
    int64_t *idx = malloc((size_t)n * sizeof *idx);
    clnet_status st = x && idx ? CLNET_OK : CLNET_ERR_HOST_MEMORY;
    for (int i = 0; idx && i < n; i++)
        idx[i] = i;
    if (st == CLNET_OK)
        st = clnet_dataset_batch(run->ctx, ds, idx, n, NULL, 0, run->mean, run->std, x, NULL);
    if (st == CLNET_OK)
        st = clnet_net_init_whitening(run->net, run->whiten_id, x, n, r->whiten_eps);
    if (st == CLNET_OK)
        st = clnet_net_set_param_lr(run->net, run->whiten_id, 0, 0.0f, 0.0f);
    free(x);
    free(idx);
    return st == CLNET_OK ? BENCH_EXIT_OK
                          : bench_fail(CMD, run->ctx, st, "cannot initialise the whitening layer");
}

/* Steps per epoch, in all, and epochs (the last one maybe partial). */
static void count_steps(recipe_run *run)
{
    int64_t n = run->train_count, b = run->batch;
    run->per_epoch = run->r->drop_last && n >= b ? n / b : (n + b - 1) / b;
    run->total_steps = (int64_t)ceil((double)run->per_epoch * run->epochs - 1e-9);
    if (run->total_steps < 1)
        run->total_steps = 1;
    run->nepochs = (int)((run->total_steps + run->per_epoch - 1) / run->per_epoch);
}

/* --resume: the checkpoint's weights, optimizer and training state, and
 * the epochs its curve file holds. */
static int resume(recipe_run *run)
{
    const char *path = run->o->resume;
    clnet_status st = clnet_net_load(run->net, path);
    if (st != CLNET_OK)
        return bench_fail(CMD, run->ctx, st, "cannot load the --resume checkpoint");
    clnet_train_state state;
    clnet_net_train_state(run->net, &state);
    if (state.epochs_done == 0)
        return bench_usage_error(CMD, "%s holds no training state: nothing to resume", path);
    if (state.epochs_done >= run->nepochs)
        return bench_usage_error(CMD, "%s already holds all %d epochs of this run", path,
                                 run->nepochs);
    char curve[4200], err[4400];
    snprintf(curve, sizeof curve, "%s.curve", path);
    int n = results_read_curve(curve, run->curve, run->nepochs, &run->prior_wall_seconds, err,
                               sizeof err);
    if (n < 0 || n != state.epochs_done) {
        if (n >= 0)
            snprintf(err, sizeof err, "%s holds %d epochs, the checkpoint %d", curve, n,
                     state.epochs_done);
        fprintf(stderr, "clnet-bench train: cannot resume: %s\n", err);
        return BENCH_EXIT_FAIL;
    }
    for (int e = 0; e < n; e++)
        run->train_seconds += run->curve[e].seconds;
    run->first_epoch = state.epochs_done;
    run->seed = state.seed;
    return BENCH_EXIT_OK;
}

static int set_up(recipe_run *run)
{
    const recipe *r = run->r;
    const recipe_options *o = run->o;
    clnet_device *dev;
    int rc = training_device_open(CMD, run->ctx, o->selector, &dev, &run->dev);
    if (rc == BENCH_EXIT_OK)
        rc = training_data_load(CMD, run->ctx, r->data, o->data_dir, &run->data);
    if (rc != BENCH_EXIT_OK)
        return rc;
    const clnet_dataset *ds = run->data.train;
    run->mean = r->norm == RECIPE_NORM_FIXED ? r->mean : run->data.mean;
    run->std = r->norm == RECIPE_NORM_FIXED ? r->std : run->data.std;
    if (r->norm == RECIPE_NORM_PIXEL_MEAN) {
        run->mean = run->std = NULL;
        run->pixel_mean = malloc((size_t)ds->channels * ds->height * ds->width * sizeof(float));
        if (!run->pixel_mean)
            return bench_fail(CMD, run->ctx, CLNET_ERR_HOST_MEMORY, "the mean image");
        clnet_dataset_pixel_mean(ds, run->pixel_mean);
    }
    run->train_count = o->limit > 0 && o->limit < ds->count ? o->limit : ds->count;
    run->test_count = o->test_limit > 0 && o->test_limit < run->data.test->count
                          ? o->test_limit : run->data.test->count;
    count_steps(run);
    run->curve = calloc((size_t)run->nepochs, sizeof *run->curve);
    if (!run->curve)
        return bench_fail(CMD, run->ctx, CLNET_ERR_HOST_MEMORY, "the learning curve");
    rc = build_net(run, dev);
    if (rc == BENCH_EXIT_OK && r->whiten_layer)
        rc = whiten(run);
    /* after the set-up a fresh run needs: the checkpoint replaces the weights */
    if (rc == BENCH_EXIT_OK && o->resume)
        rc = resume(run);
    run->last_epoch = run->nepochs - 1;
    if (o->stop_after > 0 && run->first_epoch + o->stop_after - 1 < run->last_epoch)
        run->last_epoch = run->first_epoch + (int)o->stop_after - 1;
    clnet_status st = CLNET_OK;
    if (rc == BENCH_EXIT_OK && r->lookahead_every > 0)
        st = clnet_lookahead_new(run->net, r->lookahead_every, r->lookahead_base,
                                 r->lookahead_power, run->total_steps, &run->la);
    if (st != CLNET_OK)
        return bench_fail(CMD, run->ctx, st, "cannot start the lookahead average");
    return rc;
}

/* ---- training ---- */

static void print_header(const recipe_run *run)
{
    int64_t params, macs, elementwise;
    clnet_net_counts(run->net, &params, &macs, &elementwise);
    recipe_print(run->log, run->r, run->epochs, run->batch, run->opt.lr);
    fprintf(run->log, "  this run:        %lld parameters, %.2f M MACs per image; %lld training, "
            "%lld test images; %lld steps (%lld an epoch); seed %llu\n", (long long)params,
            (double)macs * 1e-6, (long long)run->train_count, (long long)run->test_count,
            (long long)run->total_steps, (long long)run->per_epoch,
            (unsigned long long)run->seed);
    fprintf(run->log, "device %d: %s\n", run->dev.index, run->dev.name);
    if (run->o->resume)
        fprintf(run->log, "resuming %s after epoch %d of %d (seed %llu)\n", run->o->resume,
                run->first_epoch, run->nepochs, (unsigned long long)run->seed);
    fprintf(run->log, "epoch        lr  train_loss  train_acc  test_loss  test_acc  images/s"
                      "  train_s  test_s\n");
    for (int e = 0; e < run->first_epoch; e++)
        fprintf(run->log, "%5d  %8.5f  %10.4f  %8.2f%%  %9.4f  %7.2f%%  %8.1f  %7.1f  (earlier "
                "run)\n", e + 1, run->curve[e].lr, run->curve[e].train_loss,
                100.0 * run->curve[e].train_accuracy, run->curve[e].test_loss,
                100.0 * run->curve[e].test_accuracy, run->curve[e].images_per_second,
                run->curve[e].seconds);
    fflush(run->log);
}

static clnet_train_opts train_opts(recipe_run *run)
{
    return (clnet_train_opts){
        .batch = run->batch, .mean = run->mean, .std = run->std, .pixel_mean = run->pixel_mean,
        .seed = run->seed, .limit = (int)run->train_count,
        .threads = run->o->threads > 0 ? (int)run->o->threads : 0,
        .augment = &run->r->augment, .lookahead = run->la, .drop_last = run->r->drop_last,
        .progress = progress_batch, .progress_user = &run->bar,
    };
}

/* The checkpoint and, beside it, the curve so far (resume reads both);
 * returns an exit code. */
static int save_checkpoint(recipe_run *run, int epochs_done, double wall_seconds)
{
    const char *path = run->o->save;
    clnet_status st = clnet_net_save(run->net, path);
    if (st != CLNET_OK)
        return bench_fail(CMD, run->ctx, st, "cannot save the checkpoint");
    char curve[4200], err[4400], line[4400];
    snprintf(curve, sizeof curve, "%s.curve", path);
    if (!results_write_curve(curve, run->curve, epochs_done, wall_seconds, err, sizeof err)) {
        fprintf(stderr, "clnet-bench train: %s\n", err);
        return BENCH_EXIT_FAIL;
    }
    snprintf(line, sizeof line, "saved %s and %s after epoch %d\n", path, curve, epochs_done);
    progress_print(&run->bar, run->log, line);
    return BENCH_EXIT_OK;
}

static clnet_status run_epoch(recipe_run *run, int e, clnet_train_opts *topts,
                              const clnet_train_opts *eopts)
{
    const recipe *r = run->r;
    result_epoch *c = &run->curve[e];
    int64_t left = run->total_steps - (int64_t)e * run->per_epoch;
    topts->epoch = e;
    topts->max_batches = left < run->per_epoch ? left : 0;
    clnet_status st = CLNET_OK;
    if (r->whiten_layer && e >= r->whiten_bias_epochs)
        st = clnet_net_set_param_lr(run->net, run->whiten_id, 1, 0.0f, 0.0f);
    clnet_eval train, test;
    double fraction = left < run->per_epoch ? (double)left / run->per_epoch : 1.0;
    c->lr = clnet_optimizer_lr(&run->opt, e + 0.5 * fraction);
    progress_epoch(&run->bar, e);
    if (st == CLNET_OK)
        st = clnet_net_train_epoch(run->net, run->data.train, topts, &run->opt, &train);
    if (st == CLNET_OK) {
        progress_evaluating(&run->bar, "testing");
        st = clnet_net_evaluate(run->net, run->data.test, eopts, &test);
    }
    if (st != CLNET_OK)
        return st;
    progress_evaluated(&run->bar, test.seconds);
    *c = (result_epoch){c->lr, train.loss, train.top1, test.loss, test.top1,
                        train.images_per_second, train.seconds};
    run->train_seconds += train.seconds;
    char line[256];
    snprintf(line, sizeof line,
             "%5d  %8.5f  %10.4f  %8.2f%%  %9.4f  %7.2f%%  %8.1f  %7.1f  %6.1f\n", e + 1, c->lr,
             c->train_loss, 100.0 * c->train_accuracy, c->test_loss, 100.0 * c->test_accuracy,
             c->images_per_second, c->seconds, test.seconds);
    progress_print(&run->bar, run->log, line);
    return CLNET_OK;
}

static int train_all(recipe_run *run)
{
    clnet_train_opts topts = train_opts(run);
    clnet_train_opts eopts = topts;
    eopts.augment = NULL;
    eopts.lookahead = NULL;
    eopts.progress = NULL;
    eopts.limit = (int)run->test_count;
    clnet_status st = CLNET_OK;
    int rc = BENCH_EXIT_OK;
    progress_start(&run->bar, run->first_epoch, run->nepochs);
    for (int e = run->first_epoch; e <= run->last_epoch && st == CLNET_OK && !rc; e++) {
        st = run_epoch(run, e, &topts, &eopts);
        bool every = run->o->save_every > 0 && (e + 1) % run->o->save_every == 0;
        if (st == CLNET_OK && e + 1 < run->nepochs && (every || e == run->last_epoch))
            rc = save_checkpoint(run, e + 1, run->prior_wall_seconds + now_s() - run->start);
    }
    progress_stop(&run->bar);
    if (rc != BENCH_EXIT_OK)
        return rc;
    if (st == CLNET_OK && run->last_epoch + 1 < run->nepochs) {
        fprintf(run->log, "stopped after epoch %d of %d (--stop-after): go on with --resume "
                "%s\n", run->last_epoch + 1, run->nepochs, run->o->save);
        return BENCH_EXIT_OK;
    }
    /* airbench ends on the average itself; a run shorter than one lookahead
     * period never updated it, and would end on the initial weights */
    if (st == CLNET_OK && run->la && clnet_lookahead_steps(run->la) >= run->r->lookahead_every)
        st = clnet_lookahead_update(run->la, run->net, 1.0);
    else if (run->la)
        fprintf(run->log, "lookahead: %lld steps, fewer than one period: the final average "
                "is skipped\n", (long long)clnet_lookahead_steps(run->la));
    eopts.tta = run->r->tta_level >= 0 ? &run->tta : NULL;
    if (st == CLNET_OK)
        st = clnet_net_evaluate(run->net, run->data.test, &eopts, &run->final);
    if (st != CLNET_OK)
        return bench_fail(CMD, run->ctx, st, "training failed");
    fprintf(run->log, "test accuracy %.2f%% (loss %.4f) with %s; published %.2f%%\n",
            100.0 * run->final.top1, run->final.loss,
            run->r->tta_level >= 0 ? "the recipe's test-time augmentation" : "no test-time "
            "augmentation", 100.0 * run->r->target);
    return BENCH_EXIT_OK;
}

/* ---- results ---- */

/* The results of a finished run; `input` (48 bytes) receives the text the
 * result points to. */
static result make_result(const recipe_run *run, char *input)
{
    const recipe *r = run->r;
    int64_t macs = 0;
    clnet_net_counts(run->net, NULL, &macs, NULL);
    model_input_text(run->net, input, 48);
    bool complete = run->train_count == run->data.train->count &&
                    run->test_count == run->data.test->count &&
                    fabs(run->epochs - r->epochs) < 1e-9 && run->batch == r->batch &&
                    run->opt.lr == r->opt.lr;
    return (result){
        .recipe = r->name, .model = r->model, .data = r->data, .command = run->command,
        .devs = &run->dev, .ndevs = 1, .batch = run->batch, .input = input, .macs = macs,
        .tta = r->tta_level == 2 ? "airbench level 2 (0.5 mirror-averaged, 0.25 + 0.25 "
                                   "translated, logits)" : r->tta_level == 1 ? "mirror" : "none",
        .seed = run->seed, .complete = complete, .epochs_planned = run->epochs,
        .train_count = run->train_count, .test_count = run->test_count,
        .test_accuracy = run->final.top1, .test_loss = run->final.loss, .published = r->target,
        .wall_seconds = run->wall_seconds, .train_seconds = run->train_seconds,
        .epochs = run->curve, .nepochs = run->nepochs,
    };
}

static int write_results(const recipe_run *run, const result *res)
{
    char base[512], path[4096], err[512];
    results_base_name(base, sizeof base, run->r->name, run->dev.name, run->seed);
    mkdir(run->o->results, 0777);
    snprintf(path, sizeof path, "%s/%s.json", run->o->results, base);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "clnet-bench train: cannot write %s\n", path);
        return BENCH_EXIT_FAIL;
    }
    results_write_json(f, res);
    bool ok = fclose(f) == 0;
    fprintf(run->log, "wrote %s\n", path);
    charts_epoch *c = calloc((size_t)run->nepochs, sizeof *c);
    for (int e = 0; c && e < run->nepochs; e++)
        c[e] = (charts_epoch){run->curve[e].train_loss, run->curve[e].train_accuracy,
                              run->curve[e].test_loss, run->curve[e].test_accuracy};
    char title[256];
    snprintf(title, sizeof title, "%s on %s, seed %llu", run->r->name, run->dev.name,
             (unsigned long long)run->seed);
    if (c && charts_curve(run->o->results, base, title, c, run->nepochs, err, sizeof err))
        fprintf(run->log, "wrote %s/%s.png\n", run->o->results, base);
    else
        fprintf(stderr, "clnet-bench train: no curve drawn: %s\n", c ? err : "out of memory");
    free(c);
    return ok ? BENCH_EXIT_OK : BENCH_EXIT_FAIL;
}

static int run_recipe(recipe_run *run)
{
    run->start = now_s();
    int rc = set_up(run);
    if (rc != BENCH_EXIT_OK)
        return rc;
    print_header(run);
    rc = train_all(run);
    run->wall_seconds = run->prior_wall_seconds + now_s() - run->start;
    if (rc != BENCH_EXIT_OK || run->last_epoch + 1 < run->nepochs)
        return rc;
    rc = run->o->save ? save_checkpoint(run, run->nepochs, run->wall_seconds) : BENCH_EXIT_OK;
    if (rc != BENCH_EXIT_OK)
        return rc;
    char input[48];
    result res = make_result(run, input);
    if (run->o->json)
        results_write_json(stdout, &res);
    return run->o->results ? write_results(run, &res) : BENCH_EXIT_OK;
}

int bench_cmd_train_recipe(int argc, char **argv)
{
    recipe_options o = {.seed = 1, .lr = NAN};
    bool help = false;
    int rc = parse_options(argc, argv, &o, &help);
    if (rc != BENCH_EXIT_OK || help) {
        if (help)
            print_help();
        return rc;
    }
    if (strcmp(o.name, "list") == 0)
        return list_recipes();
    const recipe *r = recipe_find(o.name);
    if (!r)
        return bench_usage_error(CMD, "unknown recipe '%s' ('--recipe list' lists them)", o.name);
    if (o.resume && r->lookahead_every > 0)
        return bench_usage_error(CMD, "recipe %s keeps a lookahead average of the weights, "
                                 "which checkpoints do not hold: it cannot be resumed", r->name);
    recipe_run run = {.r = r, .o = &o, .log = o.json ? stderr : stdout, .whiten_id = -1,
                      .seed = (uint64_t)o.seed};
    run.epochs = o.epochs > 0 ? o.epochs : r->epochs;
    run.batch = o.batch > 0 ? (int)o.batch : r->batch;
    run.opt = recipe_optimizer(r, run.epochs);
    if (!isnan(o.lr))
        run.opt.lr = o.lr;
    run.tta = clnet_tta_airbench(r->tta_level);
    training_command_line(argc, argv, run.command, sizeof run.command);
    run.ctx = bench_ctx_new(CMD);
    if (!run.ctx)
        return BENCH_EXIT_FAIL;
    rc = run_recipe(&run);
    clnet_lookahead_free(run.la);
    free(run.curve);
    free(run.pixel_mean);
    clnet_net_free(run.net);
    training_data_free(&run.data);
    clnet_ctx_free(run.ctx);
    return rc;
}
