/* cmd_scale.c - `clnet-bench scale`: how a model's data-parallel training
 * would scale from 1 to 1024 workers, from a training step measured on one
 * device here (its backward pass layer by layer, with --profile's
 * machinery) and an alpha-beta model of ring all-reduce (scale_model.h),
 * next to images/s measured with 1 and 2 devices in this process. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "device_list.h"
#include "models.h"
#include "published.h"
#include "scale_model.h"
#include "training.h"

#define CMD "scale"
#define SGD_LR 0.01f
#define SGD_MOMENTUM 0.9f
#define EFFICIENCY_PAYS 0.5     /* below this, each added worker is worth less than half one */
#define MAX_VALUES 4            /* values of one modelling option */

/* The modelling options, each a list of values: a table per combination. */
enum { OPT_ALPHA, OPT_BANDWIDTH, OPT_SPEEDUP, OPT_BUCKET, NREALS };
static const char *const real_names[NREALS] = {"--alpha-us", "--bandwidth-gbps",
                                               "--gpu-speedup", "--bucket-mb"};

static void print_help(void)
{
    printf("usage: clnet-bench scale --model NAME [--batch B] [--device D] [--devices LIST]\n"
           "                         [--reps R] [--alpha-us A,...] [--bandwidth-gbps G,...]\n"
           "                         [--gpu-speedup X,...] [--bucket-mb M,...] [--max-workers P]\n"
           "                         [--seed S] [model options]\n\n"
           "Predicts the training step time, images/s and efficiency of zoo model NAME\n"
           "trained data-parallel on 1, 2, 4, ... P workers, each with a batch of B\n"
           "images (weak scaling: the global batch is B x workers), from:\n"
           "  compute      one training step (forward, softmax cross-entropy, backward,\n"
           "               SGD) measured on device D: the median of R steps, split into\n"
           "               forward, each layer's backward and the optimizer step by R\n"
           "               more steps timed layer by layer (run --profile's machinery),\n"
           "               scaled to the unprofiled median; divided by X to stand for a\n"
           "               worker X times faster than D (a GPU)\n"
           "  gradients    4 bytes per trainable parameter, each layer's ready when its\n"
           "               backward is done\n"
           "  network      ring all-reduce of n bytes over p workers:\n"
           "               2(p-1) alpha + 2(p-1)/p * n/beta, alpha and beta as given\n"
           "and prints two schedules side by side: one all-reduce of every gradient after\n"
           "the backward pass, and buckets of M MB (filled last layer first) each\n"
           "all-reduced as soon as it is full, one at a time, overlapping the rest of\n"
           "the backward pass (PyTorch DDP's schedule). Efficiency = one worker's step\n"
           "time / the step time at p workers; scaling stops paying where it falls below\n"
           "%.0f%%. Then it measures images/s with 1 device and with every device of\n"
           "LIST in this process (clnet_parallel_step, batch B per device, gradients\n"
           "summed on the host), with the all-reduce's share of the step. The four\n"
           "modelling options take up to %d comma-separated values each: one table per\n"
           "combination, from the one measurement.\n\n"
           "  --model NAME       zoo model (required)\n"
           "  --batch B          images per worker and step (default 32)\n"
           "  --device D         the device whose step is measured (default: CLNET_DEVICE,\n"
           "                     else the first OpenCL device)\n"
           "  --devices LIST     devices of the in-process measurement, as train --devices\n"
           "                     takes them (default: the first two OpenCL devices when\n"
           "                     there are two, e.g. with POCL_DEVICES=\"pthread pthread\";\n"
           "                     else D alone)\n"
           "  --reps R           timed steps of each measurement (default 3)\n"
           "  --alpha-us A       network latency per message, microseconds (default 5)\n"
           "  --bandwidth-gbps G network bandwidth per worker, gigabits/s (default 100)\n"
           "  --gpu-speedup X    the modelled worker is X times faster than D (default 1)\n"
           "  --bucket-mb M      bucket size, MiB (default 25, DDP's)\n"
           "  --max-workers P    largest number of workers modelled (default 1024)\n"
           "  --seed S           weights, inputs and labels (default 1)\n" MODEL_OPTS_HELP
           "  --help             this text\n", 100 * EFFICIENCY_PAYS, MAX_VALUES);
}

typedef struct scale_options {
    const char *model, *selector, *devices;
    model_opts m;
    long batch, reps, seed, max_workers;
    double real[NREALS][MAX_VALUES];     /* the modelling options' values */
    int nreal[NREALS];
} scale_options;

/* Parses 1..MAX_VALUES comma-separated numbers > 0 (and finite) for
 * option `name`. */
static bool parse_positives(const char *text, const char *name, double *out, int *n)
{
    const char *p = text;
    for (*n = 0; *n < MAX_VALUES; p++) {
        char *end;
        double v = strtod(p, &end);
        if (end == p || (*end && *end != ',') || !isfinite(v) || v <= 0)
            break;
        out[(*n)++] = v;
        p = end;
        if (!*p)
            return true;
    }
    bench_usage_error(CMD, "bad value '%s' for %s: expected up to %d comma-separated numbers "
                      "> 0", text, name, MAX_VALUES);
    return false;
}

static int parse_option(bench_opts *o, void *ctx)
{
    scale_options *opt = ctx;
    const char *v = NULL;
    bool matched;
    int rc = model_opts_parse(o, &opt->m, &matched);
    if (rc != BENCH_EXIT_OK || matched)
        return rc;
    if (bench_opt_timing(o, &opt->batch, &opt->reps, &opt->selector))
        return o->error ? BENCH_EXIT_USAGE : BENCH_EXIT_OK;
    for (int i = 0; i < NREALS; i++)
        if (bench_opt_value(o, real_names[i], &v))
            return o->error || !parse_positives(v, real_names[i], opt->real[i], &opt->nreal[i])
                       ? BENCH_EXIT_USAGE : BENCH_EXIT_OK;
    if (bench_opt_value(o, "--model", &v)) {
        opt->model = v;
    } else if (bench_opt_value(o, "--devices", &v)) {
        opt->devices = v;
    } else if (bench_opt_value(o, "--max-workers", &v)) {
        if (v && !bench_parse_int(CMD, "--max-workers", v, 1, 1 << 20, &opt->max_workers))
            return BENCH_EXIT_USAGE;
    } else if (bench_opt_value(o, "--seed", &v)) {
        if (v && !bench_parse_int(CMD, "--seed", v, 0, 0x7fffffffffffffffL, &opt->seed))
            return BENCH_EXIT_USAGE;
    } else {
        return bench_usage_error(CMD, "unknown option '%s'", o->argv[o->i]);
    }
    return o->error ? BENCH_EXIT_USAGE : BENCH_EXIT_OK;
}

static int parse_options(int argc, char **argv, scale_options *opt, bool *help)
{
    int rc = bench_parse_args(CMD, argc, argv, parse_option, opt, help);
    if (rc != BENCH_EXIT_OK || *help)
        return rc;
    if (!opt->model)
        return bench_usage_error(CMD, "--model is required");
    if (opt->m.onnx)
        return bench_usage_error(CMD, "--onnx: scale takes zoo models only");
    if (!clnet_zoo_cfg(opt->model))
        return training_unknown_model(CMD, opt->model);
    if (opt->m.resolution > 0 && opt->m.ov.input.ndim > 0)
        return bench_usage_error(CMD, "--resolution and --input exclude each other");
    return BENCH_EXIT_OK;
}

/* Random inputs in [-1, 1] and labels for `n` images (splitmix64). */
typedef struct batch_data {
    float *x;
    int32_t *labels;
} batch_data;

static bool batch_make(batch_data *b, int n, int64_t in_numel, int64_t classes, uint64_t seed)
{
    b->x = malloc((size_t)n * (size_t)in_numel * sizeof *b->x);
    b->labels = malloc((size_t)n * sizeof *b->labels);
    if (!b->x || !b->labels)
        return false;
    bench_random_batch(seed ^ 0x7363616c65ULL, (size_t)n, (size_t)in_numel, classes, b->x,
                       b->labels);
    return true;
}

static void batch_free(batch_data *b)
{
    free(b->x);
    free(b->labels);
}

/* What the single-device measurement found. */
typedef struct measured {
    char input[48];
    int64_t params, macs;
    double step_ms;              /* median of the unprofiled steps */
    double forward_ms, backward_ms, optimizer_ms;   /* profiled, scaled to step_ms */
    scale_layer *layers;         /* per layer, scaled to step_ms */
    int nlayers;
} measured;

/* The model bound for `batch` images on dev, with the softmax loss. */
static int model_new(clnet_ctx *ctx, clnet_device *dev, const scale_options *opt, int batch,
                     clnet_net **net)
{
    int rc = model_build(CMD, ctx, opt->model, &opt->m, net);
    if (rc != BENCH_EXIT_OK)
        return rc;
    clnet_status st = clnet_net_bind(*net, dev, batch, CLNET_INIT_HE_NORMAL,
                                     (uint64_t)opt->seed);
    if (st == CLNET_OK)
        st = clnet_net_set_loss(*net, CLNET_LOSS_SOFTMAX_XENT, 0);
    clnet_net_set_training(*net, true);
    return st == CLNET_OK ? BENCH_EXIT_OK : bench_fail(CMD, ctx, st, "cannot set up the model");
}

static bool make_data(clnet_net *net, int n, uint64_t seed, batch_data *b)
{
    clnet_layer_info first, last;
    clnet_net_layer_info(net, 0, &first);
    clnet_net_layer_info(net, clnet_net_layer_count(net) - 1, &last);
    if (batch_make(b, n, clnet_shape_numel(&first.out), clnet_shape_numel(&last.out), seed))
        return true;
    fprintf(stderr, "clnet-bench %s: out of host memory for a batch of %d\n", CMD, n);
    return false;
}

static clnet_status train_step(clnet_net *net, const batch_data *b, int n,
                               const clnet_optimizer *sgd, clnet_device *dev)
{
    clnet_status st = clnet_net_forward(net, b->x, n);
    if (st == CLNET_OK)
        st = clnet_net_backward(net, b->labels, NULL, NULL);
    if (st == CLNET_OK)
        st = clnet_net_step(net, sgd, sgd->lr);
    return st == CLNET_OK ? clnet_device_synchronize(dev) : st;
}

/* R steps layer by layer: the share of forward, each layer's backward and
 * the optimizer step, scaled so that they add up to m->step_ms. */
static clnet_status profile_split(clnet_net *net, const batch_data *b, int n, int reps,
                                  const clnet_optimizer *sgd, clnet_device *dev, measured *m)
{
    m->nlayers = clnet_net_layer_count(net);
    m->layers = calloc((size_t)m->nlayers, sizeof *m->layers);
    if (!m->layers)
        return CLNET_ERR_HOST_MEMORY;
    clnet_status st = clnet_net_set_profiling(net, true);
    for (int i = 0; st == CLNET_OK && i < reps; i++)
        st = train_step(net, b, n, sgd, dev);
    double fwd = 0, bwd = 0, loss = 0, step = 0;
    for (int id = 0; st == CLNET_OK && id < m->nlayers; id++) {
        double f, bk;
        clnet_layer_info li;
        st = clnet_net_layer_time(net, id, &f, &bk);
        if (st == CLNET_OK)
            st = clnet_net_layer_info(net, id, &li);
        fwd += f;
        bwd += bk;
        m->layers[id].backward_ms = bk;
        m->layers[id].grad_bytes = li.frozen ? 0 : 4.0 * (double)li.params;
    }
    clnet_net_profile_totals(net, &loss, &step);
    clnet_status off = clnet_net_set_profiling(net, false);
    if (st != CLNET_OK)
        return st;
    double total = fwd + bwd + loss + step, scale = total > 0 ? m->step_ms / total : 0;
    m->forward_ms = (fwd + loss) * scale;
    m->backward_ms = bwd * scale;
    m->optimizer_ms = step * scale;
    for (int id = 0; id < m->nlayers; id++)
        m->layers[id].backward_ms *= scale;
    return off;
}

/* One training step of the model on dev: median of R, then its split. */
static int measure_step(clnet_ctx *ctx, clnet_device *dev, const scale_options *opt,
                        measured *m)
{
    clnet_net *net = NULL;
    batch_data b = {0};
    int n = (int)opt->batch, reps = (int)opt->reps;
    clnet_optimizer sgd = {.kind = CLNET_OPTIM_SGD, .lr = SGD_LR, .momentum = SGD_MOMENTUM};
    int rc = model_new(ctx, dev, opt, n, &net);
    if (rc == BENCH_EXIT_OK && !make_data(net, n, (uint64_t)opt->seed, &b))
        rc = BENCH_EXIT_FAIL;
    clnet_status st = CLNET_OK;
    if (rc == BENCH_EXIT_OK) {
        model_input_text(net, m->input, sizeof m->input);
        clnet_net_counts(net, &m->params, &m->macs, NULL);
        double times[BENCH_MAX_REPS];
        st = train_step(net, &b, n, &sgd, dev);   /* programs built, buffers touched */
        for (int i = 0; st == CLNET_OK && i < reps; i++) {
            double t = bench_now_ms();
            st = train_step(net, &b, n, &sgd, dev);
            times[i] = bench_now_ms() - t;
        }
        if (st == CLNET_OK) {
            m->step_ms = bench_median(times, reps);
            st = profile_split(net, &b, n, reps, &sgd, dev, m);
        }
        if (st != CLNET_OK)
            rc = bench_fail(CMD, ctx, st, "the measured training step failed");
    }
    batch_free(&b);
    clnet_net_free(net);
    return rc;
}

/* images/s, step and all-reduce ms of R steps on devs[0..n), B images each. */
typedef struct parallel_result {
    int devices;
    double images_per_second, step_ms, allreduce_ms;
} parallel_result;

static int measure_parallel(clnet_ctx *ctx, clnet_device *const *devs, int ndevs,
                            const scale_options *opt, parallel_result *out)
{
    clnet_net *net = NULL;
    clnet_parallel *par = NULL;
    batch_data b = {0};
    int n = (int)opt->batch * ndevs, reps = (int)opt->reps;
    clnet_optimizer sgd = {.kind = CLNET_OPTIM_SGD, .lr = SGD_LR, .momentum = SGD_MOMENTUM};
    int rc = model_new(ctx, devs[0], opt, n, &net);
    clnet_status st = CLNET_OK;
    if (rc == BENCH_EXIT_OK) {
        st = clnet_parallel_new(net, devs, ndevs, NULL, n, CLNET_INIT_HE_NORMAL,
                                (uint64_t)opt->seed, &par);
        if (st != CLNET_OK)
            rc = bench_fail(CMD, ctx, st, "cannot place the replicas");
    }
    if (rc == BENCH_EXIT_OK && !make_data(net, n, (uint64_t)opt->seed, &b))
        rc = BENCH_EXIT_FAIL;
    if (rc == BENCH_EXIT_OK) {
        float loss;     /* read back: each step ends when every device is done */
        st = clnet_parallel_step(par, b.x, b.labels, NULL, n, &sgd, sgd.lr, &loss, NULL);
        int64_t steps0;
        double reduce0, reduce1, times[BENCH_MAX_REPS];
        clnet_parallel_timing(par, &steps0, NULL, &reduce0, NULL);
        for (int i = 0; st == CLNET_OK && i < reps; i++) {
            double t = bench_now_ms();
            st = clnet_parallel_step(par, b.x, b.labels, NULL, n, &sgd, sgd.lr, &loss, NULL);
            times[i] = bench_now_ms() - t;
        }
        clnet_parallel_timing(par, NULL, NULL, &reduce1, NULL);
        if (st == CLNET_OK) {
            out->devices = ndevs;
            out->step_ms = bench_median(times, reps);
            out->images_per_second = n / (out->step_ms * 1e-3);
            out->allreduce_ms = (reduce1 - reduce0) / reps;
        } else {
            rc = bench_fail(CMD, ctx, st, "the data-parallel steps failed");
        }
    }
    batch_free(&b);
    clnet_parallel_free(par);
    clnet_net_free(net);
    return rc;
}

/* ---- printing ---- */

static void print_measurement(const scale_options *opt, const clnet_device_info *info,
                              const measured *m)
{
    char params[32];
    published_commas(m->params, params, sizeof params);
    printf("model %s, input %s, %s parameters: %.1f MB of float32 gradients per step\n",
           opt->model, m->input, params, 4e-6 * (double)m->params);
    printf("measured on device %d (%s): one training step of %ld images %.1f ms (median of "
           "%ld) = forward and loss %.1f + backward %.1f (%.0f%%) + optimizer step %.1f, "
           "split by timing each layer\n", info->index, info->name, opt->batch, m->step_ms,
           opt->reps, m->forward_ms, m->backward_ms, 100 * m->backward_ms / m->step_ms,
           m->optimizer_ms);
}

/* The assumptions of one table: speedup x, network nw. */
static void print_assumptions(const scale_options *opt, const measured *m, double x,
                              double alpha_us, double gbps, double bucket_mb)
{
    printf("\n### %g x this device's speed, alpha %g us, %g Gb/s, buckets of %g MiB\n\n"
           "assumptions (none hidden):\n"
           "  - a worker computes %g times as fast as this device: %.2f ms per step of %ld "
           "images (--gpu-speedup)\n", x, alpha_us, gbps, bucket_mb, x, m->step_ms / x,
           opt->batch);
    printf("  - weak scaling: every worker takes %ld images a step; global batch %ld x "
           "workers\n", opt->batch, opt->batch);
    printf("  - ring all-reduce of n bytes over p workers: 2(p-1) alpha + 2(p-1)/p n/beta, "
           "alpha %g us (--alpha-us), beta %g Gb/s = %.3g GB/s (--bandwidth-gbps); no "
           "contention, no compression, float32 gradients\n", alpha_us, gbps,
           gbps / 8);
    printf("  - bucketed: buckets of %g MiB (--bucket-mb) filled in backward order, each "
           "all-reduced when full, one at a time, while the backward pass goes on; a "
           "layer's backward time is its share of this device's (layer by layer)\n",
           bucket_mb);
    printf("  - the optimizer step runs after the last all-reduce; the input pipeline is "
           "never the bottleneck\n\n");
}

/* The first p (a power of 2) whose efficiency falls below the threshold,
 * or 0 when none up to max_workers does. */
static int stops_paying(const scale_step *s, const scale_network *nw, bool bucketed, long max)
{
    double one = scale_compute_ms(s);
    for (long p = 1; p <= max; p *= 2)
        if (one / scale_step_ms(s, (int)p, nw, bucketed, NULL, NULL) < EFFICIENCY_PAYS)
            return (int)p;
    return 0;
}

static void print_model_table(const scale_options *opt, const scale_step *s,
                              const scale_network *nw)
{
    double one = scale_compute_ms(s);
    printf("| workers | global batch | all-reduce ms | one all-reduce: step ms | images/s | "
           "efficiency | bucketed: exposed ms | step ms | images/s | efficiency |\n"
           "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for (long p = 1; p <= opt->max_workers; p *= 2) {
        double comm, exposed;
        double flat = scale_step_ms(s, (int)p, nw, false, &comm, NULL);
        double bucketed = scale_step_ms(s, (int)p, nw, true, NULL, &exposed);
        double images = (double)(opt->batch * p);
        printf("| %ld | %.0f | %.2f | %.2f | %.0f | %.0f%% | %.2f | %.2f | %.0f | %.0f%% |\n",
               p, images, comm, flat, images / (flat * 1e-3), 100 * one / flat, exposed,
               bucketed, images / (bucketed * 1e-3), 100 * one / bucketed);
    }
    printf("\n");
    for (int bucketed = 0; bucketed < 2; bucketed++) {
        int p = stops_paying(s, nw, bucketed, opt->max_workers);
        const char *how = bucketed ? "bucketed, overlapped" : "one all-reduce after backward";
        if (p)
            printf("%s: efficiency falls below %.0f%% at %d workers\n", how,
                   100 * EFFICIENCY_PAYS, p);
        else
            printf("%s: efficiency stays at or above %.0f%% up to %ld workers\n", how,
                   100 * EFFICIENCY_PAYS, opt->max_workers);
    }
}

static void print_measured(const scale_options *opt, const device_list *list,
                           const parallel_result *res, int nres, const measured *m)
{
    printf("\nmeasured in this process (clnet_parallel_step, %ld images per device, random "
           "data, gradients summed on the host):\n\n"
           "| devices | images/s | step ms | all-reduce ms | all-reduce share |\n"
           "|--:|--:|--:|--:|--:|\n", opt->batch);
    for (int i = 0; i < nres; i++)
        printf("| %d | %.2f | %.1f | %.2f | %.1f%% |\n", res[i].devices,
               res[i].images_per_second, res[i].step_ms, res[i].allreduce_ms,
               100 * res[i].allreduce_ms / res[i].step_ms);
    printf("\ndevices:");
    for (int i = 0; i < list->count; i++)
        printf(" %d (%s)", list->info[i].index, list->info[i].name);
    double bytes = 4.0 * (double)m->params;
    const parallel_result *last = &res[nres - 1];
    if (last->devices > 1 && last->allreduce_ms > 0)
        printf("\nthe in-process all-reduce moved %.1f MB of gradients per device in %.2f ms: "
               "%.3g GB/s per device", 1e-6 * bytes, last->allreduce_ms,
               bytes / (last->allreduce_ms * 1e-3) * 1e-9);
    printf("\n");
}

/* A table for every combination of the modelling options' values. */
static int print_models(const scale_options *opt, const measured *m)
{
    const int *n = opt->nreal;
    const double (*v)[MAX_VALUES] = opt->real;
    scale_layer *layers = malloc((size_t)m->nlayers * sizeof *layers);
    if (!layers) {
        fprintf(stderr, "clnet-bench %s: out of host memory\n", CMD);
        return BENCH_EXIT_FAIL;
    }
    for (int ix = 0; ix < n[OPT_SPEEDUP]; ix++)
        for (int ia = 0; ia < n[OPT_ALPHA]; ia++)
            for (int ib = 0; ib < n[OPT_BANDWIDTH]; ib++)
                for (int ik = 0; ik < n[OPT_BUCKET]; ik++) {
                    double x = v[OPT_SPEEDUP][ix];
                    scale_network nw = {
                        .alpha_s = v[OPT_ALPHA][ia] * 1e-6,
                        .beta_bytes_per_s = v[OPT_BANDWIDTH][ib] * 1e9 / 8,
                        .bucket_bytes = v[OPT_BUCKET][ik] * 1024 * 1024};
                    for (int i = 0; i < m->nlayers; i++)
                        layers[i] = (scale_layer){m->layers[i].backward_ms / x,
                                                  m->layers[i].grad_bytes};
                    scale_step s = {.forward_ms = m->forward_ms / x,
                                    .step_ms = m->optimizer_ms / x, .layers = layers,
                                    .nlayers = m->nlayers};
                    print_assumptions(opt, m, x, v[OPT_ALPHA][ia], v[OPT_BANDWIDTH][ib],
                                      v[OPT_BUCKET][ik]);
                    print_model_table(opt, &s, &nw);
                }
    free(layers);
    return BENCH_EXIT_OK;
}

/* ---- the command ---- */

static int open_devices(clnet_ctx *ctx, const scale_options *opt, const clnet_device_info *info,
                        device_list *list)
{
    if (opt->devices)
        return device_list_open(CMD, ctx, opt->devices, list);
    /* the first two OpenCL devices, or the measured device alone */
    char text[64] = "";
    int found = 0;
    for (int i = 0; i < clnet_device_count(ctx) && found < 2; i++) {
        clnet_device_info d;
        if (clnet_device_describe(ctx, i, &d) == CLNET_OK && d.kind == CLNET_DEVICE_OPENCL)
            snprintf(text + strlen(text), sizeof text - strlen(text), "%s%d", found++ ? "," : "",
                     i);
    }
    if (found < 2)
        snprintf(text, sizeof text, "%d", info->index);
    return device_list_open(CMD, ctx, text, list);
}

static int scale(clnet_ctx *ctx, const scale_options *opt)
{
    clnet_device *dev;
    clnet_device_info info;
    device_list list;
    measured m = {0};
    int rc = training_device_open(CMD, ctx, opt->selector, &dev, &info);
    if (rc == BENCH_EXIT_OK)
        rc = open_devices(ctx, opt, &info, &list);
    if (rc == BENCH_EXIT_OK)
        rc = measure_step(ctx, dev, opt, &m);
    parallel_result res[2];
    int nres = 0;
    for (int k = 0; rc == BENCH_EXIT_OK && k < 2; k++) {
        int ndevs = k == 0 ? 1 : list.count;
        if (k == 1 && ndevs == 1)
            break;
        rc = measure_parallel(ctx, list.devs, ndevs, opt, &res[nres++]);
    }
    if (rc == BENCH_EXIT_OK) {
        print_measurement(opt, &info, &m);
        rc = print_models(opt, &m);
        print_measured(opt, &list, res, nres, &m);
    }
    free(m.layers);
    return rc;
}

int bench_cmd_scale(int argc, char **argv)
{
    scale_options opt = {.batch = 32, .reps = 3, .seed = 1, .max_workers = 1024,
                         .real = {{5}, {100}, {1}, {25}}, .nreal = {1, 1, 1, 1}};
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
    rc = scale(ctx, &opt);
    clnet_ctx_free(ctx);
    return rc;
}
