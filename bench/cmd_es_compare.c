/* cmd_es_compare.c - `clnet-bench es-compare`: one net trained from the same
 * weights by SGD (backpropagation) and by the evolution strategy of
 * clnet/es.h on the same budget of forward passes, its test accuracy
 * tabulated and charted against the forward passes spent. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "charts.h"
#include "clnet/es.h"
#include "training.h"

#define CMD "es-compare"
#define MAX_POINTS 100

typedef struct compare_opts {
    const char *model, *cfg, *data, *selector, *data_dir, *out;
    long budget, points, batch, population, test_limit, seed;
    float sigma, es_lr, sgd_lr, momentum;
} compare_opts;

static void print_help(void)
{
    printf(
        "usage: clnet-bench es-compare (--model NAME | --cfg FILE) --data SET\n"
        "                              [--forward-passes N] [--points K] [--batch B]\n"
        "                              [--population P] [--sigma S] [--es-lr X]\n"
        "                              [--sgd-lr X] [--momentum M] [--test-limit N]\n"
        "                              [--seed S] [--device D] [--data-dir DIR] [--out DIR]\n\n"
        "Trains the net twice from the same initial weights (from --seed) on the same\n"
        "sequence of training batches: with SGD on backpropagated gradients (one\n"
        "forward and one backward pass per step), and with the evolution strategy\n"
        "of `train --optimizer es` (OpenAI-ES, Adam steps; P + 1 forward passes per\n"
        "step, no backward pass), each until it has spent N forward passes. The\n"
        "test accuracy is measured K + 1 times, every N / K forward passes, and\n"
        "printed as a table; DIR/es-vs-sgd.tsv holds the table and\n"
        "DIR/es-vs-sgd.png (with its .dat and .gp) the chart.\n\n"
        "  --forward-passes N    the budget of each method (default 20400)\n"
        "  --points K            measurements after the start (default 10)\n"
        "  --batch B             images per forward pass (default 64)\n"
        "  --population P        ES evaluations per step, even (default %d)\n"
        "  --sigma S             ES perturbation scale (default %g)\n"
        "  --es-lr X             Adam's learning rate for ES (default 0.01)\n"
        "  --sgd-lr X            SGD's learning rate (default 0.05)\n"
        "  --momentum M          SGD's momentum (default 0.9)\n"
        "  --test-limit N        test images per measurement (default all)\n"
        "  --seed S              weights, batch order and ES directions (default 1)\n"
        "  --out DIR             where the table and chart go (default es-compare)\n",
        CLNET_ES_POPULATION_DEFAULT, (double)CLNET_ES_SIGMA_DEFAULT);
}

static bool parse_number(const char *opt, const char *text, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || !(v >= lo && v <= hi)) {
        bench_usage_error(CMD, "bad value '%s' for %s: expected a number from %g to %g", text,
                          opt, lo, hi);
        return false;
    }
    *out = v;
    return true;
}

typedef struct number_option {
    const char *name;
    double lo, hi;
    bool integer;
    size_t offset;
} number_option;

static const number_option numbers[] = {
    {"--forward-passes", 1, 1e9, true, offsetof(compare_opts, budget)},
    {"--points", 1, MAX_POINTS, true, offsetof(compare_opts, points)},
    {"--batch", 1, 65536, true, offsetof(compare_opts, batch)},
    {"--population", 2, 100000, true, offsetof(compare_opts, population)},
    {"--test-limit", 1, 1e9, true, offsetof(compare_opts, test_limit)},
    {"--seed", 0, 9e15, true, offsetof(compare_opts, seed)},
    {"--sigma", 1e-6, 10, false, offsetof(compare_opts, sigma)},
    {"--es-lr", 0, 10, false, offsetof(compare_opts, es_lr)},
    {"--sgd-lr", 0, 10, false, offsetof(compare_opts, sgd_lr)},
    {"--momentum", 0, 0.9999, false, offsetof(compare_opts, momentum)},
};

static int parse_options(int argc, char **argv, compare_opts *o, bool *help)
{
    bench_opts b = {CMD, argc, argv, 1, false};
    for (; b.i < argc; b.i++) {
        const char *v = NULL;
        bool matched = false;
        for (size_t k = 0; k < sizeof numbers / sizeof numbers[0] && !matched; k++) {
            if (!bench_opt_value(&b, numbers[k].name, &v))
                continue;
            matched = true;
            double d;
            if (!v || !parse_number(numbers[k].name, v, numbers[k].lo, numbers[k].hi, &d))
                return BENCH_EXIT_USAGE;
            if (numbers[k].integer)
                *(long *)((char *)o + numbers[k].offset) = (long)d;
            else
                *(float *)((char *)o + numbers[k].offset) = (float)d;
        }
        if (matched)
            continue;
        if (bench_opt_flag(&b, "--help"))
            *help = true;
        else if (bench_opt_value(&b, "--model", &v))
            o->model = v;
        else if (bench_opt_value(&b, "--cfg", &v))
            o->cfg = v;
        else if (bench_opt_value(&b, "--data", &v))
            o->data = v;
        else if (bench_opt_value(&b, "--device", &v))
            o->selector = v;
        else if (bench_opt_value(&b, "--data-dir", &v))
            o->data_dir = v;
        else if (bench_opt_value(&b, "--out", &v))
            o->out = v;
        else
            return bench_usage_error(CMD, "unknown option '%s'", argv[b.i]);
        if (b.error)
            return BENCH_EXIT_USAGE;
    }
    if (*help)
        return BENCH_EXIT_OK;
    if (!o->model == !o->cfg)
        return bench_usage_error(CMD, "give --model or --cfg (one of them)");
    if (!o->data || !training_data_known(o->data))
        return bench_usage_error(CMD, "--data must be one of %s", TRAINING_DATA_NAMES);
    if (o->population % 2 != 0)
        return bench_usage_error(CMD, "--population %ld is odd", o->population);
    return BENCH_EXIT_OK;
}

/* Everything both runs share. */
typedef struct compare {
    const compare_opts *o;
    clnet_ctx *ctx;
    clnet_device *dev;
    char *text;
    training_data data;
    int64_t *order;            /* the training batches' order, from the seed */
    int64_t *idx;              /* one batch's indices */
    float *x;
    int32_t *labels;
} compare;

static double evaluate(const compare *c, clnet_net *net, clnet_status *st)
{
    clnet_train_opts opts = {.batch = (int)c->o->batch, .mean = c->data.mean,
                             .std = c->data.std, .seed = (uint64_t)c->o->seed,
                             .limit = c->o->test_limit};
    clnet_eval e = {0};
    *st = clnet_net_evaluate(net, c->data.test, &opts, &e);
    return e.top1;
}

/* One training step's forward passes, after the batch of `step` is loaded. */
static clnet_status step_once(const compare *c, clnet_net *net, const clnet_optimizer *opt,
                              int64_t step, int64_t *used)
{
    int n = (int)c->o->batch;
    int64_t count = c->data.train->count;
    for (int i = 0; i < n; i++)
        c->idx[i] = c->order[(step * n + i) % count];
    clnet_status st = clnet_dataset_batch(c->ctx, c->data.train, c->idx, n, NULL, 0, c->data.mean,
                                          c->data.std, c->x, c->labels);
    if (st == CLNET_OK && opt->es) {
        st = clnet_net_es_gradient(net, c->x, c->labels, n, opt->es, NULL, NULL);
        *used += opt->es->population + 1;
    } else if (st == CLNET_OK) {
        st = clnet_net_forward(net, c->x, n);
        if (st == CLNET_OK)
            st = clnet_net_backward(net, c->labels, NULL, NULL);
        *used += 1;
    }
    return st == CLNET_OK ? clnet_net_step(net, opt, opt->lr) : st;
}

/* accuracy[i] after i * budget / points forward passes; *steps taken. */
static int run_method(const compare *c, const clnet_optimizer *opt, double *accuracy,
                      int64_t *steps, double *seconds)
{
    const compare_opts *o = c->o;
    clnet_net *net;
    int rc = training_model_new(CMD, c->ctx, c->text, o->model ? o->model : o->cfg,
                                c->data.train, NULL, false, NULL, c->dev, (int)o->batch,
                                (uint64_t)o->seed, &net);
    if (rc != BENCH_EXIT_OK)
        return rc;
    clnet_status st = clnet_net_set_loss(net, training_default_loss(net), 0);
    double start = bench_now_ms() / 1e3;
    accuracy[0] = evaluate(c, net, &st);
    int64_t used = 0;
    *steps = 0;
    for (int point = 1; st == CLNET_OK && point <= o->points;) {
        clnet_net_set_training(net, true);
        st = step_once(c, net, opt, *steps, &used);
        ++*steps;
        for (; st == CLNET_OK && point <= o->points && used * o->points >= point * o->budget;
             point++)
            accuracy[point] = evaluate(c, net, &st);
    }
    *seconds = bench_now_ms() / 1e3 - start;
    clnet_net_free(net);
    return st == CLNET_OK ? BENCH_EXIT_OK : bench_fail(CMD, c->ctx, st, "training step");
}

static int write_results(const compare *c, const double *acc, const int64_t *steps)
{
    const compare_opts *o = c->o;
    mkdir(o->out, 0777);
    char path[4096];
    snprintf(path, sizeof path, "%s/es-vs-sgd.tsv", o->out);
    FILE *f = fopen(path, "w");
    int n = (int)o->points + 1;
    for (int pass = 0; pass < 2; pass++) {
        FILE *to = pass ? f : stdout;
        if (!to)
            continue;
        fprintf(to, "forward_passes\tsgd_test_accuracy\tes_test_accuracy\n");
        for (int i = 0; i < n; i++)
            fprintf(to, "%lld\t%.4f\t%.4f\n", (long long)(i * o->budget / o->points), acc[i],
                    acc[n + i]);
    }
    printf("sgd: %lld steps; es: %lld steps of %ld forward passes\n", (long long)steps[0],
           (long long)steps[1], o->population + 1);
    if (!f || fclose(f) != 0) {
        fprintf(stderr, "clnet-bench %s: cannot write %s\n", CMD, path);
        return BENCH_EXIT_FAIL;
    }
    const char *series[2] = {"SGD (backpropagation)", "OpenAI-ES (forward passes only)"};
    char title[256], xlabel[128], err[512];
    snprintf(title, sizeof title, "%s on %s: test accuracy against forward passes",
             o->model ? o->model : o->cfg, o->data);
    snprintf(xlabel, sizeof xlabel, "forward passes of %ld images, in units of %ld", o->batch,
             o->budget / o->points);
    if (!charts_lines(o->out, "es-vs-sgd", title, xlabel, "test accuracy", n, 2, series, acc, err,
                      sizeof err))
        fprintf(stderr, "clnet-bench %s: no chart: %s\n", CMD, err);
    return BENCH_EXIT_OK;
}

static int compare_all(compare *c)
{
    const compare_opts *o = c->o;
    int rc = training_cfg_text(CMD, o->model, o->cfg, &c->text);
    if (rc == BENCH_EXIT_OK)
        rc = training_device_open(CMD, c->ctx, o->selector, &c->dev, &(clnet_device_info){0});
    if (rc == BENCH_EXIT_OK)
        rc = training_data_load(CMD, c->ctx, o->data, o->data_dir, &c->data);
    int pad = rc == BENCH_EXIT_OK ? training_cfg_pad(c->ctx, c->text, c->data.train) : 0;
    if (rc == BENCH_EXIT_OK && pad > 0)
        rc = training_data_pad(CMD, c->ctx, &c->data, pad);
    if (rc != BENCH_EXIT_OK)
        return rc;
    int64_t count = c->data.train->count;
    size_t image = (size_t)c->data.train->channels * (size_t)c->data.train->height *
                   (size_t)c->data.train->width;
    c->order = malloc((size_t)count * sizeof *c->order);
    c->x = malloc((size_t)o->batch * image * sizeof *c->x);
    c->labels = malloc((size_t)o->batch * sizeof *c->labels);
    c->idx = malloc((size_t)o->batch * sizeof *c->idx);
    double *acc = calloc(2 * ((size_t)o->points + 1), sizeof *acc);
    if (!c->order || !c->x || !c->labels || !c->idx || !acc) {
        free(acc);
        fprintf(stderr, "clnet-bench %s: out of host memory\n", CMD);
        return BENCH_EXIT_FAIL;
    }
    /* Fisher-Yates from a splitmix64 stream of the seed */
    uint64_t state = (uint64_t)o->seed;
    for (int64_t i = 0; i < count; i++)
        c->order[i] = i;
    for (int64_t i = count - 1; i > 0; i--) {
        int64_t j = (int64_t)(clnet_splitmix64(&state) % (uint64_t)(i + 1)), t = c->order[i];
        c->order[i] = c->order[j];
        c->order[j] = t;
    }
    clnet_es_params es = {.population = (int)o->population, .sigma = o->sigma,
                          .seed = (uint64_t)o->seed};
    clnet_optimizer sgd = {.kind = CLNET_OPTIM_SGD, .lr = o->sgd_lr, .momentum = o->momentum};
    clnet_optimizer evo = {.kind = CLNET_OPTIM_ADAM, .lr = o->es_lr, .es = &es};
    int64_t steps[2];
    double seconds[2];
    size_t n = (size_t)o->points + 1;
    rc = run_method(c, &sgd, acc, &steps[0], &seconds[0]);
    if (rc == BENCH_EXIT_OK)
        rc = run_method(c, &evo, acc + n, &steps[1], &seconds[1]);
    if (rc == BENCH_EXIT_OK) {
        printf("sgd %.1f s, es %.1f s (training and %zu measurements each)\n", seconds[0],
               seconds[1], n);
        rc = write_results(c, acc, steps);
    }
    free(acc);
    return rc;
}

int bench_cmd_es_compare(int argc, char **argv)
{
    compare_opts o = {.budget = 20400, .points = 10, .batch = 64,
                      .population = CLNET_ES_POPULATION_DEFAULT, .seed = 1,
                      .sigma = CLNET_ES_SIGMA_DEFAULT, .es_lr = 0.01f, .sgd_lr = 0.05f,
                      .momentum = 0.9f, .out = "es-compare"};
    bool help = false;
    int rc = parse_options(argc, argv, &o, &help);
    if (rc != BENCH_EXIT_OK || help) {
        if (help)
            print_help();
        return rc;
    }
    compare c = {.o = &o};
    c.ctx = bench_ctx_new(CMD);
    if (!c.ctx)
        return BENCH_EXIT_FAIL;
    rc = compare_all(&c);
    free(c.order);
    free(c.x);
    free(c.labels);
    free(c.idx);
    free(c.text);
    training_data_free(&c.data);
    clnet_ctx_free(c.ctx);
    return rc;
}
