/* cmd_ops.c - `clnet-bench ops`: times the forward and backward passes of
 * the standard layer suite on one device or on every OpenCL device. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clnet/opencl.h"
#include "provenance.h"
#include "report.h"
#ifdef BENCH_HAVE_ONEDNN
#include "baseline_onednn.h"
#define ONEDNN_HELP ""
#else
#define ONEDNN_HELP "\n                  (not available: built without oneDNN, libdnnl-dev)"
#endif

/* ref is scalar C: one timed rep, and layers above this many FLOP only when
 * --layer names them, or the suite would take hours. */
#define REF_MAX_FLOP 2e9
#define SEED 0x636c6e6574ULL

typedef struct ops_options {
    const char *layers;         /* --layer: comma-separated names; NULL: the whole suite */
    int batch;
    const char *selector;       /* NULL: the default device */
    bool all_devices;
    bool forward, backward;     /* --pass */
    int reps;                   /* --reps: at least this many timed calls ... */
    int min_ms;                 /* --min-ms: ... and more until they take this long */
    report_format format;
    bool onednn;                /* --baseline onednn */
    bool floor;                 /* --floor */
} ops_options;

static void print_help(void)
{
    printf("usage: clnet-bench ops [--layer NAME[,NAME...]] [--batch B] [--device D | --all-devices]\n"
           "                       [--pass forward|backward|both] [--reps R] [--min-ms T]\n"
           "                       [--baseline onednn] [--floor] [--csv | --json | --markdown]\n\n"
           "Times the forward pass of the standard layer suite (NCHW, float32, random\n"
           "data from a fixed seed), and with --pass its backward pass: the gradients\n"
           "with respect to the input and the weights, queued together as one call\n"
           "(a convolution's CONV_TRANSPOSE from clnet_op_conv_backward_data and its\n"
           "CONV_BACKWARD_WEIGHTS; two GEMMs for fc4096; no bias gradient), whose MACs\n"
           "are twice the forward's. For each layer and pass: the first call (program\n"
           "build included), one warm-up, then timed calls, each waited for with\n"
           "clnet_device_synchronize: at least R, and more until they add up to T ms\n"
           "(at most %d), so that a layer of a tenth of a millisecond is timed over\n"
           "hundreds of calls in a row, not five. Reports the median and min-max in ms\n"
           "and GFLOP/s = 2 * MACs / median, MACs derived from the shapes. Layers the\n"
           "device does not support are reported as such.\n\n"
           "  --layer NAMES   these layers of the suite, comma-separated (default: all)\n"
           "  --batch B       batch size (default 1)\n"
           "  --device D      device index, name substring or \"ref\" (default: CLNET_DEVICE,\n"
           "                  else the first OpenCL device)\n"
           "  --all-devices   every OpenCL device in turn (ref only with --device ref)\n"
           "  --pass P        forward (default), backward, or both\n"
           "  --reps R        timed repetitions at least (default 5; ref: 1, no warm-up,\n"
           "                  and layers above %.0f GFLOP only when --layer names them)\n"
           "  --min-ms T      timed repetitions until they add up to T ms (default 100;\n"
           "                  0: exactly R; not on ref)\n"
           "  --baseline onednn\n"
           "                  also run each layer on oneDNN on the host CPU (in this process,\n"
           "                  not on the OpenCL device), oneDNN choosing its algorithm and\n"
           "                  memory layouts, with as many threads as a CPU device has\n"
           "                  compute units (every host core next to other devices), timed\n"
           "                  the same way (layout conversions not timed), then idle 50 ms\n"
           "                  so that its threads sleep before clnet's next row; adds its\n"
           "                  time, GFLOP/s and the ratio clnet/oneDNN" ONEDNN_HELP "\n"
           "  --floor         measure each OpenCL device's launch round trip (an empty\n"
           "                  kernel, launched and waited for) and multiply-add peak\n"
           "                  (clnet_opencl_measure_limits, about half a second) before\n"
           "                  its rows, and add each row's floor, less than which no\n"
           "                  clnet run can take: the round trip plus the row's FLOP at\n"
           "                  the peak, counting only the taps inside the input, and a\n"
           "                  quarter of them for 3x3 convolutions of stride 1 without\n"
           "                  groups (Winograd F(4x4, 3x3) multiplies 36 times for 144\n"
           "                  direct products); with a baseline also the best ratio, the\n"
           "                  baseline's time over the floor\n"
           "  --csv           CSV rows instead of a table\n"
           "  --json          one results object (docs/results/README.md): the rows as\n"
           "                  \"figures\" with the conditions they were measured under,\n"
           "                  and the devices, driver, clnet commit, date and host load;\n"
           "                  `clnet-bench compare` reads it\n"
           "  --markdown      a Markdown table per device (what README.md shows)\n"
           "  --help          this text\n\nlayers:\n", BENCH_MAX_REPS, REF_MAX_FLOP * 1e-9);
    for (int i = 0; i < bench_layer_count; i++) {
        const bench_layer *l = &bench_layers[i];
        if (l->linear)
            printf("  %-20s linear %d -> %d\n", l->name, l->c, l->k);
        else
            printf("  %-20s conv %d -> %d, %dx%d, stride %d, pad %d, groups %d, input %dx%d\n",
                   l->name, l->c, l->k, l->kernel, l->kernel, l->stride, l->pad, l->groups,
                   l->h, l->w);
    }
}

/* Parses one option at o->i; returns BENCH_EXIT_OK to go on, or an exit code. */
static int parse_option(bench_opts *o, ops_options *opt)
{
    const char *v = NULL;
    long batch = opt->batch, reps = opt->reps;
    if (bench_opt_flag(o, "--all-devices")) {
        opt->all_devices = true;
    } else if (bench_opt_flag(o, "--csv")) {
        opt->format = REPORT_CSV;
    } else if (bench_opt_flag(o, "--json")) {
        opt->format = REPORT_JSON;
    } else if (bench_opt_flag(o, "--markdown")) {
        opt->format = REPORT_MARKDOWN;
    } else if (bench_opt_flag(o, "--floor")) {
        opt->floor = true;
    } else if (bench_opt_value(o, "--baseline", &v)) {
        if (v && strcmp(v, "onednn") != 0)
            return bench_usage_error(o->cmd, "unknown baseline '%s' (known: onednn)", v);
#ifndef BENCH_HAVE_ONEDNN
        if (v)
            return bench_usage_error(o->cmd, "this clnet-bench was built without oneDNN: "
                                             "install libdnnl-dev and reconfigure");
#endif
        opt->onednn = v != NULL;
    } else if (bench_opt_value(o, "--pass", &v)) {
        bool both = v && strcmp(v, "both") == 0;
        if (v && !both && strcmp(v, "forward") != 0 && strcmp(v, "backward") != 0)
            return bench_usage_error(o->cmd, "bad value '%s' for --pass: expected forward, "
                                             "backward or both", v);
        if (v) {
            opt->forward = both || strcmp(v, "forward") == 0;
            opt->backward = both || strcmp(v, "backward") == 0;
        }
    } else if (bench_opt_value(o, "--layer", &v)) {
        for (const char *p = v; p && *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) {
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)strcspn(p, ","), p);
            if (!bench_layer_find(name))
                return bench_usage_error(o->cmd, "unknown layer '%s'", name);
        }
        opt->layers = v;
    } else if (bench_opt_timing(o, &batch, &reps, &opt->selector)) {
        opt->batch = (int)batch;
        opt->reps = (int)reps;
    } else if (bench_opt_value(o, "--min-ms", &v)) {
        long min_ms;
        if (v && !bench_parse_int(o->cmd, "--min-ms", v, 0, 60000, &min_ms))
            o->error = true;
        else if (v)
            opt->min_ms = (int)min_ms;
    } else {
        return bench_usage_error(o->cmd, "unknown option '%s'", o->argv[o->i]);
    }
    /* A missing value was reported by bench_opt_value and left v NULL. */
    return o->error ? BENCH_EXIT_USAGE : BENCH_EXIT_OK;
}

static int parse_options(int argc, char **argv, ops_options *opt, bool *help)
{
    bench_opts o = {.cmd = "ops", .argc = argc, .argv = argv};
    bool csv = false, json = false, markdown = false;
    for (o.i = 1; o.i < argc; o.i++) {
        if (bench_opt_flag(&o, "--help")) {
            *help = true;
            return BENCH_EXIT_OK;
        }
        csv |= bench_opt_flag(&o, "--csv");
        json |= bench_opt_flag(&o, "--json");
        markdown |= bench_opt_flag(&o, "--markdown");
        int rc = parse_option(&o, opt);
        if (rc != BENCH_EXIT_OK)
            return rc;
    }
    if (csv + json + markdown > 1)
        return bench_usage_error(o.cmd, "--csv, --json and --markdown exclude each other");
    if (opt->all_devices && opt->selector)
        return bench_usage_error(o.cmd, "--device and --all-devices exclude each other");
    return BENCH_EXIT_OK;
}

/* Whether --layer names `name` (always, without --layer). */
static bool layer_chosen(const ops_options *opt, const char *name)
{
    if (!opt->layers)
        return true;
    size_t len = strlen(name);
    for (const char *p = opt->layers; *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ','))
        if (strcspn(p, ",") == len && strncmp(p, name, len) == 0)
            return true;
    return false;
}

/* splitmix64: a fixed seed gives the same data on every machine. */
static float next_uniform(uint64_t *state, float scale)
{
    return scale * (2.0f * clnet_splitmix64_float(state) - 1.0f);
}

/* Allocates a tensor of `shape` on dev filled with uniform values in
 * [-scale, scale]. */
static clnet_status random_tensor(clnet_device *dev, const clnet_shape *shape, float scale,
                                  uint64_t *rng, clnet_tensor **out)
{
    int64_t n = clnet_shape_numel(shape);
    float *host = malloc((size_t)n * sizeof *host);
    if (!host)
        return CLNET_ERR_HOST_MEMORY;
    for (int64_t i = 0; i < n; i++)
        host[i] = next_uniform(rng, scale);
    clnet_status st = clnet_tensor_new(dev, CLNET_F32, shape->ndim, shape->dim, out);
    if (st == CLNET_OK)
        st = clnet_tensor_write(*out, host, (size_t)n * sizeof *host);
    free(host);
    return st;
}

/* The tensors of a row: forward x, w, b, y; backward x, w, dy, dx, dw. */
enum { T_X, T_W, T_B, T_Y };
enum { T_DY = 2, T_DX, T_DW, T_COUNT };

/* One op of a timed call, naming its tensors by index. */
typedef struct op_call {
    clnet_op op;
    int nin;
    int in[3];
    int out;
} op_call;

/* What one timed call of a row queues: the forward op, or the two
 * gradients of the backward pass. */
typedef struct layer_run {
    clnet_device *dev;
    int ncalls;
    op_call calls[2];
    clnet_tensor *t[T_COUNT];
} layer_run;

static void plan_forward(const bench_layer_setup *s, layer_run *lr)
{
    lr->ncalls = 1;
    lr->calls[0] = (op_call){s->op, 3, {T_X, T_W, T_B}, T_Y};
}

/* dx and dw, as a network's backward pass computes them. */
static void plan_backward(const bench_layer *layer, const bench_layer_setup *s, layer_run *lr)
{
    lr->ncalls = 2;
    if (layer->linear) {
        /* dx (N, F) = dy (N, M) w (M, F); dw (M, F) = dy^T x (N, F) */
        clnet_op data = {.kind = CLNET_OP_GEMM, .u.gemm = {.alpha = 1.0f}};
        clnet_op weights = data;
        weights.u.gemm.trans_a = true;
        lr->calls[0] = (op_call){data, 2, {T_DY, T_W}, T_DX};
        lr->calls[1] = (op_call){weights, 2, {T_DY, T_X}, T_DW};
        return;
    }
    clnet_op weights = s->op;
    weights.kind = CLNET_OP_CONV_BACKWARD_WEIGHTS;
    weights.u.conv.kernel[0] = (int)s->w.dim[2];
    weights.u.conv.kernel[1] = (int)s->w.dim[3];
    lr->calls[0] = (op_call){clnet_op_conv_backward_data(&s->op, &s->x, &s->w), 2,
                             {T_DY, T_W}, T_DX};
    lr->calls[1] = (op_call){weights, 2, {T_X, T_DY}, T_DW};
}

static clnet_status run_once(layer_run *lr, double *ms)
{
    double t0 = bench_now_ms();
    clnet_status st = CLNET_OK;
    for (int i = 0; st == CLNET_OK && i < lr->ncalls; i++) {
        const op_call *c = &lr->calls[i];
        clnet_tensor *in[3];
        for (int k = 0; k < c->nin; k++)
            in[k] = lr->t[c->in[k]];
        st = clnet_op_run(lr->dev, &c->op, c->nin, in, 1, &lr->t[c->out]);
    }
    if (st == CLNET_OK)
        st = clnet_device_synchronize(lr->dev);
    *ms = bench_now_ms() - t0;
    return st;
}

static clnet_status alloc_tensors(layer_run *lr, const bench_layer_setup *s, bool backward)
{
    uint64_t rng = SEED;
    /* Weights scaled by 1/sqrt(fan-in) keep outputs near unit size, away
     * from denormals and infinities that would distort the timing. */
    float w_scale = 1.0f / sqrtf((float)(clnet_shape_numel(&s->w) / s->w.dim[0]));
    /* scale 0: an output, left uninitialised */
    const clnet_shape *fwd_shapes[T_COUNT] = {&s->x, &s->w, &s->b, &s->y};
    const float fwd_scales[T_COUNT] = {1.0f, w_scale, 0.1f, 0};
    const clnet_shape *bwd_shapes[T_COUNT] = {&s->x, &s->w, &s->y, &s->x, &s->w};
    const float bwd_scales[T_COUNT] = {1.0f, w_scale, 1.0f, 0, 0};
    const clnet_shape *const *shapes = backward ? bwd_shapes : fwd_shapes;
    const float *scales = backward ? bwd_scales : fwd_scales;
    clnet_status st = CLNET_OK;
    for (int i = 0; st == CLNET_OK && i < T_COUNT && shapes[i]; i++)
        st = scales[i] > 0 ? random_tensor(lr->dev, shapes[i], scales[i], &rng, &lr->t[i])
                           : clnet_tensor_new(lr->dev, CLNET_F32, shapes[i]->ndim,
                                              shapes[i]->dim, &lr->t[i]);
    return st;
}

/* One timed call of a layer (a bench_rep_fn), its status kept. */
typedef struct timed_call {
    layer_run *lr;
    clnet_status st;
} timed_call;

static bool run_timed(void *arg, double *ms)
{
    timed_call *c = arg;
    c->st = run_once(c->lr, ms);
    return c->st == CLNET_OK;
}

/* First call, warm-up (not on ref: nothing to build or cache), timed reps. */
static clnet_status time_layer(layer_run *lr, bool warm_up, const bench_reps *rule,
                               report_row *row)
{
    double ms;
    timed_call call = {.lr = lr, .st = run_once(lr, &row->first_ms)};
    if (call.st == CLNET_OK && warm_up)
        call.st = run_once(lr, &ms);
    bench_times t;
    if (call.st != CLNET_OK || !bench_time_reps(rule, run_timed, &call, &t))
        return call.st;
    row->reps = t.reps;
    row->ms = t.ms;
    row->ms_min = t.ms_min;
    row->ms_max = t.ms_max;
    row->gflops = 2.0 * (double)row->macs / (row->ms * 1e-3) * 1e-9;
    return CLNET_OK;
}

/* An op of the plan the device does not support, or NULL. */
static const clnet_op *unsupported_op(clnet_device *dev, const layer_run *lr)
{
    for (int i = 0; i < lr->ncalls; i++)
        if (!clnet_op_supported(dev, &lr->calls[i].op))
            return &lr->calls[i].op;
    return NULL;
}

/* The timed calls of a layer on the device `info` describes: ref runs one
 * (it is slow, and nothing there varies from call to call). */
static bench_reps reps_rule(const ops_options *opt, const clnet_device_info *info)
{
    if (info->kind == CLNET_DEVICE_REF)
        return (bench_reps){.reps = 1, .min_ms = 0.0};
    return (bench_reps){.reps = opt->reps, .min_ms = opt->min_ms};
}

/* Measures one pass of one layer into `row`; a failure is recorded in the
 * row (with the library's message in `note_buf`) rather than ending the run. */
static void bench_layer_on(clnet_device *dev, const clnet_device_info *info,
                           const ops_options *opt, const bench_layer *layer, bool backward,
                           report_row *row, char *note_buf, size_t note_size)
{
    clnet_ctx *ctx = clnet_device_ctx(dev);
    bool ref = info->kind == CLNET_DEVICE_REF;
    bench_layer_setup setup;
    clnet_status st = bench_layer_prepare(ctx, layer, opt->batch, &setup);
    row->macs = st == CLNET_OK ? (backward ? 2 : 1) * setup.macs : 0;
    if (st == CLNET_OK && ref && !opt->layers && 2.0 * (double)row->macs > REF_MAX_FLOP) {
        row->status = ROW_SKIPPED;
        row->note = "too slow for ref; name it with --layer to run it";
        return;
    }
    layer_run lr = {.dev = dev};
    if (backward)
        plan_backward(layer, &setup, &lr);
    else
        plan_forward(&setup, &lr);
    const clnet_op *unsupported = st == CLNET_OK ? unsupported_op(dev, &lr) : NULL;
    if (unsupported) {
        row->status = ROW_UNSUPPORTED;
        snprintf(note_buf, note_size, "clnet_op_supported() is false for %s on this device",
                 clnet_op_kind_name(unsupported->kind));
        row->note = note_buf;
        return;
    }
    if (st == CLNET_OK)
        st = alloc_tensors(&lr, &setup, backward);
    const bench_reps rule = reps_rule(opt, info);
    if (st == CLNET_OK)
        st = time_layer(&lr, !ref, &rule, row);
    for (int i = 0; i < T_COUNT; i++)
        clnet_tensor_free(lr.t[i]);
    if (st != CLNET_OK) {
        row->status = ROW_FAILED;
        snprintf(note_buf, note_size, "%s: %s", clnet_status_str(st), clnet_last_error(ctx));
        row->note = note_buf;
    }
}

#ifdef BENCH_HAVE_ONEDNN
/* Text the baseline leaves in a row, alive until the row is reported. */
typedef struct baseline_text {
    char note[1024];
    char impl[160];
} baseline_text;

/* Times the row's layer on oneDNN; a baseline failure is noted in the row,
 * not fatal. */
static void baseline_layer(clnet_ctx *ctx, const clnet_device_info *info, const ops_options *opt,
                           const bench_layer *layer, baseline_pass pass, report_row *row,
                           baseline_text *text)
{
    bench_layer_setup setup;
    baseline_timing t;
    text->note[0] = text->impl[0] = '\0';
    row->baseline_note = text->note;
    row->baseline_impl = text->impl;
    const bench_reps rule = reps_rule(opt, info);
    row->baseline_ok = bench_layer_prepare(ctx, layer, opt->batch, &setup) == CLNET_OK &&
                       baseline_onednn_time(&setup, pass, baseline_onednn_threads(info), &rule,
                                            &t, text->note, sizeof text->note);
    if (!row->baseline_ok) {
        fprintf(stderr, "clnet-bench ops: %s on oneDNN failed: %s\n", layer->name, text->note);
        return;
    }
    snprintf(text->impl, sizeof text->impl, "%s", t.impl);
    row->baseline_ms = t.times.ms;
    row->baseline_ms_min = t.times.ms_min;
    row->baseline_ms_max = t.times.ms_max;
    row->baseline_gflops = 2.0 * (double)row->macs / (t.times.ms * 1e-3) * 1e-9;
    row->ratio = row->gflops / row->baseline_gflops;
}
#endif

#ifdef BENCH_HAVE_ONEDNN
/* oneDNN's OpenMP threads spin for a while after its last parallel region
 * (libgomp's GOMP_SPINCOUNT) on the cores the next row's clnet reps need:
 * a pause lets them sleep first, so neither library is timed beside the
 * other's leftovers (oneDNN's own reps keep the spin between them). Three
 * alternations of ResNet-20's rows pinned, clnet ms without -> with it:
 * resnet20_64x8 forward 0.50, 0.49, 0.69 -> 0.45, 0.40, 0.40, backward
 * 1.28, 1.23, 1.41 -> 1.27, 1.09, 1.04; resnet20_32x16 backward 1.44,
 * 1.48, 1.50 -> 1.27, 1.31, 1.19. */
static void settle_after_baseline(void)
{
    const struct timespec pause = {0, 50 * 1000000L};
    nanosleep(&pause, NULL);
}
#endif

/* Over the outputs along one axis of `in` inputs, the window taps that
 * fall inside them (not in the padding). */
static double taps_inside(int in, int kernel, int stride, int pad)
{
    int out = (in + 2 * pad - kernel) / stride + 1;
    double taps = 0.0;
    for (int o = 0; o < out; o++)
        for (int k = 0; k < kernel; k++)
            taps += o * stride - pad + k >= 0 && o * stride - pad + k < in;
    return taps;
}

/* The share of the layer's multiply-adds (every tap of every window, as
 * `macs` counts them) that the cheapest algorithm clnet could have for it
 * performs, the least of: those of the taps inside the input (a product
 * with padding need not be made); for 3x3 convolutions of stride 1 without
 * groups a quarter, as Winograd F(4x4, 3x3) multiplies 36 times for the
 * 144 products of 16 outputs' taps (its transforms' additions on top). The
 * gradients make the same products as the forward pass. */
static double least_mac_share(const bench_layer *layer)
{
    if (layer->linear)
        return 1.0;
    int out_h = (layer->h + 2 * layer->pad - layer->kernel) / layer->stride + 1;
    int out_w = (layer->w + 2 * layer->pad - layer->kernel) / layer->stride + 1;
    double inside = taps_inside(layer->h, layer->kernel, layer->stride, layer->pad) *
                    taps_inside(layer->w, layer->kernel, layer->stride, layer->pad) /
                    ((double)out_h * out_w * layer->kernel * layer->kernel);
    bool winograd = layer->kernel == 3 && layer->stride == 1 && layer->groups == 1;
    return winograd && inside > 0.25 ? 0.25 : inside;
}

/* The row's floor from the device's limits (report.h). */
static void set_floor(report_row *row, const bench_layer *layer,
                      const clnet_opencl_limits *limits)
{
    row->floor_ok = limits && row->status == ROW_OK;
    if (!row->floor_ok)
        return;
    double flop = 2.0 * (double)row->macs * least_mac_share(layer);
    row->floor_ms = limits->launch_ms + flop / (limits->fma_gflops * 1e6);
    row->best_ratio = row->baseline_ok ? row->baseline_ms / row->floor_ms : 0.0;
}

/* The device's limits for --floor, or NULL (not asked for, not OpenCL, or
 * the measurement failed, which is said on stderr and leaves the rows
 * without a floor). */
static const clnet_opencl_limits *measure_limits(clnet_device *dev, const clnet_device_info *info,
                                                 const ops_options *opt,
                                                 clnet_opencl_limits *limits)
{
    if (!opt->floor || info->kind != CLNET_DEVICE_OPENCL)
        return NULL;
    clnet_status st = clnet_opencl_measure_limits(dev, limits);
    if (st == CLNET_OK)
        return limits;
    fprintf(stderr, "clnet-bench ops: measuring the limits of device %d (%s) failed: %s: %s\n",
            info->index, info->name, clnet_status_str(st), clnet_last_error(clnet_device_ctx(dev)));
    return NULL;
}

/* Runs the selected layers on one device; returns false if any failed. */
static bool bench_device(clnet_device *dev, const ops_options *opt, report *rep)
{
    clnet_device_info info;
    clnet_status st = clnet_device_info_get(dev, &info);
    if (st != CLNET_OK) {
        bench_fail("ops", clnet_device_ctx(dev), st, "cannot describe the device");
        return false;
    }
    bool ref = info.kind == CLNET_DEVICE_REF;
#ifdef BENCH_HAVE_ONEDNN
    rep->baseline_threads = baseline_onednn_threads(&info);
#endif
    const bench_reps rule = reps_rule(opt, &info);
    clnet_opencl_limits limits_buf;
    const clnet_opencl_limits *limits = measure_limits(dev, &info, opt, &limits_buf);
    report_device(rep, &info, opt->batch, !ref, &rule, limits);
    /* a floor asked for and not measured on an OpenCL device fails the run */
    bool ok = !(opt->floor && !limits && info.kind == CLNET_DEVICE_OPENCL);
    for (int i = 0; i < bench_layer_count; i++) {
        const bench_layer *layer = &bench_layers[i];
        if (!layer_chosen(opt, layer->name))
            continue;
        for (int backward = !opt->forward; backward <= (int)opt->backward; backward++) {
            char note[1024];
            report_row row = {.layer = layer->name, .batch = opt->batch,
                              .pass = backward ? "backward" : "forward", .device = info.name,
                              .device_index = info.index, .status = ROW_OK, .note = ""};
            bench_layer_on(dev, &info, opt, layer, backward, &row, note, sizeof note);
#ifdef BENCH_HAVE_ONEDNN
            baseline_text base_text;
            if (opt->onednn && row.status == ROW_OK) {
                baseline_layer(clnet_device_ctx(dev), &info, opt, layer,
                               backward ? BASELINE_BACKWARD : BASELINE_FORWARD, &row, &base_text);
                settle_after_baseline();
            }
#endif
            set_floor(&row, layer, limits);
            if (row.status == ROW_FAILED) {
                fprintf(stderr, "clnet-bench ops: %s %s on device %d (%s) failed: %s\n",
                        layer->name, row.pass, info.index, info.name, row.note);
                ok = false;
            }
            report_add(rep, &row);
        }
    }
    return ok;
}

/* Collects the devices to run: every OpenCL device, or the one selected. */
static int select_devices(clnet_ctx *ctx, const ops_options *opt, clnet_device **devs,
                          int max, int *n)
{
    *n = 0;
    if (!opt->all_devices) {
        clnet_status st = clnet_device_find(ctx, opt->selector, &devs[0]);
        if (st == CLNET_ERR_NO_DEVICE && opt->selector)
            return bench_usage_error("ops", "no device matches '%s'; 'clnet-bench devices' lists them",
                                     opt->selector);
        if (st != CLNET_OK)
            return bench_fail("ops", ctx, st, "cannot open the device");
        *n = 1;
        return BENCH_EXIT_OK;
    }
    for (int i = 0; i < clnet_device_count(ctx) && *n < max; i++) {
        clnet_device_info info;
        clnet_status st = clnet_device_describe(ctx, i, &info);
        if (st == CLNET_OK && info.kind != CLNET_DEVICE_OPENCL)
            continue;
        if (st == CLNET_OK)
            st = clnet_device_get(ctx, i, &devs[*n]);
        if (st != CLNET_OK)
            return bench_fail("ops", ctx, st, "cannot open an OpenCL device");
        (*n)++;
    }
    if (*n == 0) {
        fprintf(stderr, "clnet-bench ops: --all-devices: no OpenCL device found "
                        "(see 'clnet-bench devices')\n");
        return BENCH_EXIT_FAIL;
    }
    return BENCH_EXIT_OK;
}

int bench_cmd_ops(int argc, char **argv)
{
    ops_options opt = {.batch = 1, .reps = 5, .min_ms = 100, .format = REPORT_TEXT,
                       .forward = true};
    bool help = false;
    int rc = parse_options(argc, argv, &opt, &help);
    if (rc != BENCH_EXIT_OK || help) {
        if (help)
            print_help();
        return rc;
    }
    char command[2048];
    provenance_command_line("ops", argc, argv, command, sizeof command);
    clnet_ctx *ctx = bench_ctx_new("ops");
    if (!ctx)
        return BENCH_EXIT_FAIL;
    clnet_device *devs[64];
    int ndevs = 0;
    rc = select_devices(ctx, &opt, devs, 64, &ndevs);
    if (rc == BENCH_EXIT_OK) {
        report rep;
        report_begin(&rep, opt.format, command, opt.onednn ? "onednn" : NULL, opt.floor);
        for (int i = 0; i < ndevs; i++)
            if (!bench_device(devs[i], &opt, &rep))
                rc = BENCH_EXIT_FAIL;
        report_end(&rep);
    }
    clnet_ctx_free(ctx);
    return rc;
}
