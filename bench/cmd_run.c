/* cmd_run.c - `clnet-bench run`: a zoo model with random weights on one
 * device, forward or a full training step, timed per batch, with its
 * start-up time, device memory and host wait; optionally per layer
 * (--profile) and against the same network in PyTorch (--baseline). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "baseline_pytorch.h"
#include "models.h"
#include "provenance.h"
#include "published.h"
#include "training.h"

#define CMD "run"
#define SGD_LR 0.01f
#define SGD_MOMENTUM 0.9f

static void print_help(void)
{
    printf("usage: clnet-bench run (--model NAME | --onnx FILE) [--batch B] [--device D] [--train] [--reps R]\n"
           "                       [--seed S] [--width A] [--resolution R] [--input CxHxW]\n"
           "                       [--aux] [--classes N] [--profile] [--baseline pytorch]\n"
           "                       [--json]\n\n"
           "Runs zoo model NAME on one device with random weights (He-normal from the seed)\n"
           "and random inputs: the forward pass in inference mode, or with --train a\n"
           "training step (forward in training mode, softmax cross-entropy against random\n"
           "labels, backward, SGD step with lr %g and momentum %g). The first batch is\n"
           "timed apart (the loss printed is its loss); then R batches, each waited for,\n"
           "none reading the loss back. Reports:\n"
           "  start-up      from before the context is created until the first batch\n"
           "                ends, less one steady batch (the median): context, device,\n"
           "                model, binding (allocation, weight upload) and loading or\n"
           "                compiling the programs the model uses\n"
           "  per batch     median and min-max ms; images/s = B / median\n"
           "  host wait     median ms per batch the host was held inside clnet's calls\n"
           "                by blocking transfers (clnet_device_blocked_ms), the final\n"
           "                wait for the device not included\n"
           "  memory        bytes of the tensors the net holds on the device (its peak:\n"
           "                clnet_net_device_bytes after the timed batches); for\n"
           "                inference (bound with clnet_net_bind_inference) next to the\n"
           "                bound weights + peak live activations + scratch\n"
           "  weight cache  the transformed convolution weights the device keeps for\n"
           "                later batches over unchanged weights (in training those\n"
           "                a forward and its data gradient share, refilled each step;\n"
           "                clnet_device_weight_cache_bytes, CLNET_WEIGHT_CACHE_MB)\n"
           "  outputs       whether every output (and the loss) is finite; exit status 1\n"
           "                when not\n\n"
           "  --model NAME       zoo model (required; listed below)\n"
           "  --batch B          images per batch (default 1)\n"
           "  --device D         device index, name substring or \"ref\" (default:\n"
           "                     CLNET_DEVICE, else the first OpenCL device)\n"
           "  --train            a training step instead of inference\n"
           "  --reps R           timed batches (default 5)\n"
           "  --seed S           weights, inputs and labels (default 1)\n"
           "  --profile          then R more batches waiting for the device after every\n"
           "                     layer: per-layer forward and backward ms (a conv fused\n"
           "                     with the layers after it carries their time)\n"
           "  --baseline pytorch the same network and step in PyTorch on the host CPU\n"
           "                     (bench/baseline_pytorch.py, python3-torch), threads =\n"
           "                     the device's compute units, or on CUDA when the device\n"
           "                     is a GPU: both times and the ratio\n"
           "                     PyTorch ms / clnet ms (> 1: clnet is faster)\n" MODEL_OPTS_HELP
           MODEL_ONNX_HELP
           "  --json             one results object instead of text (docs/results/README.md:\n"
           "                     the batch time as a \"figure\" with its conditions, and the\n"
           "                     device, driver, clnet commit, date and host load)\n"
           "  --help             this text\n\nmodels:",
           (double)SGD_LR, (double)SGD_MOMENTUM);
    for (const char *const *name = clnet_zoo_names(); *name; name++)
        printf(" %s", *name);
    printf("\n");
}

typedef struct run_options {
    const char *model, *selector;
    model_opts m;
    long batch, reps, seed;
    bool train, json, profile, pytorch;
    char command[2048];          /* as given, for --json */
} run_options;

static int parse_option(bench_opts *o, void *ctx)
{
    run_options *opt = ctx;
    const char *v = NULL;
    bool matched;
    int rc = model_opts_parse(o, &opt->m, &matched);
    if (rc != BENCH_EXIT_OK || matched)
        return rc;
    if (bench_opt_timing(o, &opt->batch, &opt->reps, &opt->selector))
        return o->error ? BENCH_EXIT_USAGE : BENCH_EXIT_OK;
    if (bench_opt_flag(o, "--train")) {
        opt->train = true;
    } else if (bench_opt_flag(o, "--json")) {
        opt->json = true;
    } else if (bench_opt_flag(o, "--profile")) {
        opt->profile = true;
    } else if (bench_opt_value(o, "--baseline", &v)) {
        if (v && strcmp(v, "pytorch") != 0)
            return bench_usage_error(CMD, "--baseline %s: the only baseline is pytorch", v);
        opt->pytorch = true;
    } else if (bench_opt_value(o, "--model", &v)) {
        opt->model = v;
    } else if (bench_opt_value(o, "--seed", &v)) {
        if (v && !bench_parse_int(CMD, "--seed", v, 0, 0x7fffffffffffffffL, &opt->seed))
            return BENCH_EXIT_USAGE;
    } else {
        return bench_usage_error(CMD, "unknown option '%s'", o->argv[o->i]);
    }
    return o->error ? BENCH_EXIT_USAGE : BENCH_EXIT_OK;
}

static int parse_options(int argc, char **argv, run_options *opt, bool *help)
{
    int rc = bench_parse_args(CMD, argc, argv, parse_option, opt, help);
    if (rc != BENCH_EXIT_OK || *help)
        return rc;
    if (!opt->model == !opt->m.onnx)
        return bench_usage_error(CMD, "give one of --model and --onnx");
    if (opt->m.onnx)
        opt->model = opt->m.onnx;       /* named by its file */
    else if (!clnet_zoo_cfg(opt->model))
        return training_unknown_model(CMD, opt->model);
    if (opt->m.resolution > 0 && opt->m.ov.input.ndim > 0)
        return bench_usage_error(CMD, "--resolution and --input exclude each other");
    return BENCH_EXIT_OK;
}

/* Everything a run sets up and measures. */
typedef struct run_state {
    const run_options *opt;
    clnet_ctx *ctx;
    clnet_device *dev;
    clnet_device_info info;
    clnet_net *net;
    char input[48];
    int64_t params, macs, in_numel, out_numel;
    float *x, *y;
    int32_t *labels;
    clnet_optimizer sgd;
    double context_ms, device_ms, model_ms, bind_ms, first_ms;
    double ms, ms_min, ms_max;
    double host_wait_ms;         /* median over the timed batches */
    double *fwd_ms, *bwd_ms;     /* --profile: per layer and batch */
    double loss_ms, step_ms, profiled_ms;
    pytorch_timing torch;        /* --baseline pytorch */
    long torch_threads;
    bool torch_cuda;             /* PyTorch ran on its CUDA device */
    float loss;
    bool finite;
} run_state;

/* Random inputs in [-1, 1] and labels below the output width. */
static int make_batch(run_state *r)
{
    size_t n = (size_t)r->opt->batch;
    r->x = malloc(n * (size_t)r->in_numel * sizeof *r->x);
    r->y = malloc(n * (size_t)r->out_numel * sizeof *r->y);
    r->labels = malloc(n * sizeof *r->labels);
    if (!r->x || !r->y || !r->labels) {
        fprintf(stderr, "clnet-bench %s: out of host memory for a batch of %zu\n", CMD, n);
        return BENCH_EXIT_FAIL;
    }
    bench_random_batch((uint64_t)r->opt->seed ^ 0x696e707574ULL, n, (size_t)r->in_numel,
                       r->out_numel, r->x, r->labels);
    return BENCH_EXIT_OK;
}

/* Context, device, model and binding, each timed. Returns an exit code. */
static int set_up(run_state *r)
{
    const run_options *opt = r->opt;
    double t = bench_now_ms();
    r->ctx = bench_ctx_new(CMD);
    if (!r->ctx)
        return BENCH_EXIT_FAIL;
    r->context_ms = bench_now_ms() - t;
    t = bench_now_ms();
    int rc = training_device_open(CMD, r->ctx, opt->selector, &r->dev, &r->info);
    r->device_ms = bench_now_ms() - t;
    t = bench_now_ms();
    if (rc == BENCH_EXIT_OK)
        rc = model_build(CMD, r->ctx, opt->model, &opt->m, &r->net);
    r->model_ms = bench_now_ms() - t;
    if (rc != BENCH_EXIT_OK)
        return rc;
    t = bench_now_ms();
    /* inference needs no gradients and shares the activations' buffers */
    clnet_status st = (opt->train ? clnet_net_bind : clnet_net_bind_inference)(
        r->net, r->dev, (int)opt->batch, CLNET_INIT_HE_NORMAL, (uint64_t)opt->seed);
    r->bind_ms = bench_now_ms() - t;
    if (st != CLNET_OK)
        return bench_fail(CMD, r->ctx, st, "cannot allocate the model on the device");
    clnet_net_set_training(r->net, opt->train);
    st = opt->train ? clnet_net_set_loss(r->net, CLNET_LOSS_SOFTMAX_XENT, 0) : CLNET_OK;
    if (st != CLNET_OK)
        return bench_fail(CMD, r->ctx, st, "cannot set the loss");
    model_input_text(r->net, r->input, sizeof r->input);
    clnet_net_counts(r->net, &r->params, &r->macs, NULL);
    clnet_layer_info first, last;
    clnet_net_layer_info(r->net, 0, &first);
    clnet_net_layer_info(r->net, clnet_net_layer_count(r->net) - 1, &last);
    r->in_numel = clnet_shape_numel(&first.out);
    r->out_numel = clnet_shape_numel(&last.out);
    r->sgd = (clnet_optimizer){.kind = CLNET_OPTIM_SGD, .lr = SGD_LR, .momentum = SGD_MOMENTUM};
    return make_batch(r);
}

/* One batch: forward, or forward, backward and step; waited for. *wait_ms
 * (may be NULL): how long clnet's calls held the host before the final wait.
 * Only the untimed first batch reads the loss back (r->loss), which waits for
 * the device: the timed ones, like PyTorch's, queue the whole step. */
static clnet_status one_batch(run_state *r, double *ms, double *wait_ms, bool read_loss)
{
    double blocked = clnet_device_blocked_ms(r->dev);
    double t = bench_now_ms();
    clnet_status st = clnet_net_forward(r->net, r->x, (int)r->opt->batch);
    if (st == CLNET_OK && r->opt->train)
        st = clnet_net_backward(r->net, r->labels, NULL, read_loss ? &r->loss : NULL);
    if (st == CLNET_OK && r->opt->train)
        st = clnet_net_step(r->net, &r->sgd, r->sgd.lr);
    if (wait_ms)
        *wait_ms = clnet_device_blocked_ms(r->dev) - blocked;
    if (st == CLNET_OK)
        st = clnet_device_synchronize(r->dev);
    *ms = bench_now_ms() - t;
    return st;
}

/* --profile: R more batches timed layer by layer, averaged per batch. */
static clnet_status profile(run_state *r)
{
    int layers = clnet_net_layer_count(r->net), reps = (int)r->opt->reps;
    r->fwd_ms = calloc((size_t)layers, sizeof *r->fwd_ms);
    r->bwd_ms = calloc((size_t)layers, sizeof *r->bwd_ms);
    if (!r->fwd_ms || !r->bwd_ms)
        return CLNET_ERR_HOST_MEMORY;
    clnet_status st = clnet_net_set_profiling(r->net, true);
    double total = 0, ms;
    for (int i = 0; st == CLNET_OK && i < reps; i++) {
        st = one_batch(r, &ms, NULL, false);
        total += ms;
    }
    for (int id = 0; st == CLNET_OK && id < layers; id++) {
        st = clnet_net_layer_time(r->net, id, &r->fwd_ms[id], &r->bwd_ms[id]);
        r->fwd_ms[id] /= reps;
        r->bwd_ms[id] /= reps;
    }
    clnet_net_profile_totals(r->net, &r->loss_ms, &r->step_ms);
    r->loss_ms /= reps;
    r->step_ms /= reps;
    r->profiled_ms = total / reps;
    clnet_status off = clnet_net_set_profiling(r->net, false);
    return st == CLNET_OK ? off : st;
}

/* --baseline pytorch: the same step in PyTorch, after clnet's timed batches. */
static int run_pytorch(run_state *r)
{
    const run_options *opt = r->opt;
    bool host = strcmp(r->info.type, "cpu") == 0 || r->info.kind == CLNET_DEVICE_REF;
    /* a GPU's peer is PyTorch on the GPU (CUDA, cuDNN), not on the host */
    r->torch_cuda = strcmp(r->info.type, "gpu") == 0;
    /* PoCL runs a CPU device's compute units as threads: PyTorch gets as many */
    r->torch_threads = host && r->info.compute_units > 0 ? (long)r->info.compute_units
                                                          : sysconf(_SC_NPROCESSORS_ONLN);
    pytorch_job job = {.model = opt->model, .input = r->input, .classes = r->out_numel,
                       .batch = opt->batch, .reps = opt->reps, .seed = opt->seed,
                       .threads = r->torch_threads, .train = opt->train, .cuda = r->torch_cuda,
                       .lr = r->sgd.lr, .momentum = r->sgd.momentum};
    char err[512];
    if (!baseline_pytorch_time(&job, &r->torch, err, sizeof err)) {
        fprintf(stderr, "clnet-bench %s: --baseline pytorch: %s\n", CMD, err);
        return BENCH_EXIT_FAIL;
    }
    if (r->torch.params != r->params) {
        fprintf(stderr, "clnet-bench %s: --baseline pytorch: the PyTorch %s has %lld "
                "parameters, clnet's %lld: not the same network\n", CMD, opt->model,
                (long long)r->torch.params, (long long)r->params);
        return BENCH_EXIT_FAIL;
    }
    return BENCH_EXIT_OK;
}

/* The first batch, the timed ones, and the check of the outputs. */
static int measure(run_state *r)
{
    double times[BENCH_MAX_REPS], waits[BENCH_MAX_REPS];
    int reps = (int)r->opt->reps;
    clnet_status st = one_batch(r, &r->first_ms, NULL, true);
    for (int i = 0; st == CLNET_OK && i < reps; i++)
        st = one_batch(r, &times[i], &waits[i], false);
    size_t count = (size_t)r->opt->batch * (size_t)r->out_numel;
    if (st == CLNET_OK)
        st = clnet_net_read_output(r->net, r->y, count);
    if (st != CLNET_OK)
        return bench_fail(CMD, r->ctx, st, "the model failed to run");
    r->ms = bench_median(times, reps);
    r->ms_min = times[0];
    r->ms_max = times[reps - 1];
    r->host_wait_ms = bench_median(waits, reps);
    if (r->opt->profile && (st = profile(r)) != CLNET_OK)
        return bench_fail(CMD, r->ctx, st, "the profiled batches failed");
    r->finite = !r->opt->train || isfinite(r->loss);
    for (size_t i = 0; i < count; i++)
        r->finite = r->finite && isfinite(r->y[i]);
    return BENCH_EXIT_OK;
}

/* Program loading shows as the first batch's time beyond a steady one. */
static double programs_ms(const run_state *r)
{
    return r->first_ms > r->ms ? r->first_ms - r->ms : 0;
}

static double startup_ms(const run_state *r)
{
    return r->context_ms + r->device_ms + r->model_ms + r->bind_ms + programs_ms(r);
}

/* The per-layer table of --profile, Darknet style: one row per layer that
 * took time, then the loss, the step and the sum against the batch time. */
static void print_profile(const run_state *r)
{
    int layers = clnet_net_layer_count(r->net);
    double fwd = 0, bwd = 0;
    printf("\nprofile (ms per batch, waiting for the device after every layer):\n");
    printf("%5s  %-28s %-10s %10s %10s\n", "layer", "name", "kind", "forward", "backward");
    for (int id = 0; id < layers; id++) {
        clnet_layer_info li;
        clnet_net_layer_info(r->net, id, &li);
        fwd += r->fwd_ms[id];
        bwd += r->bwd_ms[id];
        if (r->fwd_ms[id] == 0 && r->bwd_ms[id] == 0)
            continue;
        printf("%5d  %-28.28s %-10s %10.3f %10.3f\n", id, li.name, clnet_layer_kind_name(li.kind),
               r->fwd_ms[id], r->bwd_ms[id]);
    }
    printf("%5s  %-28s %-10s %10.3f %10.3f\n", "", "total of the layers", "", fwd, bwd);
    if (r->opt->train)
        printf("%5s  %-28s %-10s %10s %10.3f\n%5s  %-28s %-10s %10s %10.3f\n", "", "loss", "",
               "", r->loss_ms, "", "optimizer step", "", "", r->step_ms);
    printf("profiled batch %.3f ms (unprofiled median %.3f)\n", r->profiled_ms, r->ms);
}

static void print_text(const run_state *r)
{
    const run_options *opt = r->opt;
    char params[32], macs[32];
    published_commas(r->params, params, sizeof params);
    published_commas(r->macs, macs, sizeof macs);
    printf("model %s: input %s, %s parameter%s, %s MAC%s per image\n", opt->model, r->input,
           params, r->params == 1 ? "" : "s", macs, r->macs == 1 ? "" : "s");
    printf("device %d: %s; batch %ld, %s, %ld timed batches\n", r->info.index, r->info.name,
           opt->batch, opt->train ? "training step (forward, backward, SGD)" : "inference",
           opt->reps);
    printf("start-up      %10.1f ms (context %.1f, device %.1f, model %.1f, bind %.1f, "
           "programs %.1f)\n", startup_ms(r), r->context_ms, r->device_ms, r->model_ms,
           r->bind_ms, programs_ms(r));
    printf("first batch   %10.1f ms\n", r->first_ms);
    printf("per batch     %10.3f ms median (min %.3f, max %.3f)\n", r->ms, r->ms_min, r->ms_max);
    printf("throughput    %10.2f images/s\n", (double)opt->batch / (r->ms * 1e-3));
    printf("host wait     %10.3f ms per batch (median)\n", r->host_wait_ms);
    if (opt->pytorch) {
        char where[40] = "CUDA";
        if (!r->torch_cuda)
            snprintf(where, sizeof where, "CPU, %ld threads", r->torch_threads);
        printf("pytorch       %10.3f ms median (min %.3f, max %.3f), %s: ratio "
               "%.2f (PyTorch ms / clnet ms)\n", r->torch.ms, r->torch.ms_min,
               r->torch.ms_max, where, r->torch.ms / r->ms);
    }
    printf("memory        %10.1f MiB on the device (tensors of the net)\n",
           (double)clnet_net_device_bytes(r->net) / (1024.0 * 1024.0));
    if (!opt->train) {
        size_t w, a, s;
        clnet_net_memory_bound(r->net, &w, &a, &s);
        printf("memory bound  %10.1f MiB = weights %.1f + peak live activations %.1f + "
               "scratch %.1f\n", (double)(w + a + s) / 1048576.0, (double)w / 1048576.0,
               (double)a / 1048576.0, (double)s / 1048576.0);
    }
    printf("weight cache  %10.1f MiB of transformed weights kept on the device\n",
           (double)clnet_device_weight_cache_bytes(r->dev) / 1048576.0);
    if (opt->train)
        printf("loss          %10.4f (first batch)\n", (double)r->loss);
    printf("outputs       %s\n", r->finite ? "finite" : "NOT FINITE (NaN or infinity)");
    if (opt->profile)
        print_profile(r);
}

/* weights + peak live activations + scratch (0 for a training bind) */
static size_t bound_bytes(const run_state *r)
{
    size_t w, a, s;
    clnet_net_memory_bound(r->net, &w, &a, &s);
    return a ? w + a + s : 0;
}

/* The batch time as a figure of the results schema. */
static void print_figure(const run_state *r)
{
    const run_options *opt = r->opt;
    provenance_figure fig = {
        .kind = "model", .name = opt->model, .device = r->info.name,
        .pass = opt->train ? "train" : "forward", .batch = (int)opt->batch,
        .precision = PROVENANCE_FP32, .input = r->input, .macs = r->macs, .replicas = 1,
        .reps = (int)opt->reps, .ms = r->ms, .ms_min = r->ms_min, .ms_max = r->ms_max,
        .images_per_second = (double)opt->batch / (r->ms * 1e-3),
        /* a training step is about 3x the forward's MACs: only forward says GFLOP/s */
        .gflops = opt->train ? NAN : 2.0 * (double)r->macs * (double)opt->batch / (r->ms * 1e6),
        .status = "ok", .command = opt->command};
    printf(", \"figures\": [{");
    provenance_figure_keys(stdout, &fig);
    printf("}]");
}

static void print_json(const run_state *r)
{
    const run_options *opt = r->opt;
    printf("{");
    provenance_write(stdout, opt->command, &r->info, 1);
    printf(", \"model\": ");
    bench_json_string(stdout, opt->model);
    printf(", \"input\": \"%s\", \"batch\": %ld, \"mode\": \"%s\"", r->input,
           opt->batch, opt->train ? "train" : "forward");
    printf(", \"device_index\": %d, \"params\": %lld, \"macs\": %lld, \"reps\": %ld, "
           "\"startup_ms\": %.3f, \"context_ms\": %.3f, \"device_ms\": %.3f, "
           "\"model_ms\": %.3f, \"bind_ms\": %.3f, \"programs_ms\": %.3f, "
           "\"first_batch_ms\": %.3f, \"ms\": %.4f, \"ms_min\": %.4f, \"ms_max\": %.4f, "
           "\"images_per_second\": %.3f, \"device_bytes\": %zu, \"bound_bytes\": %zu, \"loss\": ",
           r->info.index, (long long)r->params, (long long)r->macs, opt->reps, startup_ms(r),
           r->context_ms, r->device_ms, r->model_ms, r->bind_ms, programs_ms(r), r->first_ms,
           r->ms, r->ms_min, r->ms_max, (double)opt->batch / (r->ms * 1e-3),
           clnet_net_device_bytes(r->net), bound_bytes(r));
    training_json_number(stdout, opt->train ? (double)r->loss : NAN);
    printf(", \"host_wait_ms\": %.4f, \"weight_cache_bytes\": %zu", r->host_wait_ms,
           clnet_device_weight_cache_bytes(r->dev));
    if (opt->pytorch)
        printf(", \"baseline\": \"pytorch\", \"baseline_device\": \"%s\", "
               "\"baseline_threads\": %ld, \"baseline_ms\": %.4f, "
               "\"baseline_ms_min\": %.4f, \"baseline_ms_max\": %.4f, \"ratio\": %.4f",
               r->torch_cuda ? "cuda" : "cpu", r->torch_threads, r->torch.ms,
               r->torch.ms_min, r->torch.ms_max, r->torch.ms / r->ms);
    if (opt->profile) {
        printf(", \"profiled_ms\": %.4f, \"profile_loss_ms\": %.4f, \"profile_step_ms\": %.4f, "
               "\"profile\": [", r->profiled_ms, r->loss_ms, r->step_ms);
        for (int id = 0; id < clnet_net_layer_count(r->net); id++) {
            clnet_layer_info li;
            clnet_net_layer_info(r->net, id, &li);
            printf("%s{\"layer\": %d, \"name\": ", id ? ", " : "", id);
            bench_json_string(stdout, li.name);
            printf(", \"kind\": \"%s\", \"forward_ms\": %.4f, \"backward_ms\": %.4f}",
                   clnet_layer_kind_name(li.kind), r->fwd_ms[id], r->bwd_ms[id]);
        }
        printf("]");
    }
    print_figure(r);
    printf(", \"finite\": %s}\n", r->finite ? "true" : "false");
}

int bench_cmd_run(int argc, char **argv)
{
    run_options opt = {.batch = 1, .reps = 5, .seed = 1};
    provenance_command_line(CMD, argc, argv, opt.command, sizeof opt.command);
    bool help = false;
    int rc = parse_options(argc, argv, &opt, &help);
    if (rc != BENCH_EXIT_OK || help) {
        if (help)
            print_help();
        return rc;
    }
    run_state r = {.opt = &opt};
    rc = set_up(&r);
    if (rc == BENCH_EXIT_OK)
        rc = measure(&r);
    if (rc == BENCH_EXIT_OK && opt.pytorch)
        rc = run_pytorch(&r);
    if (rc == BENCH_EXIT_OK) {
        if (opt.json)
            print_json(&r);
        else
            print_text(&r);
        if (!r.finite) {
            fprintf(stderr, "clnet-bench %s: %s produced a NaN or an infinity\n", CMD,
                    opt.model);
            rc = BENCH_EXIT_FAIL;
        }
    }
    free(r.x);
    free(r.y);
    free(r.labels);
    free(r.fwd_ms);
    free(r.bwd_ms);
    clnet_net_free(r.net);
    clnet_ctx_free(r.ctx);
    return rc;
}
