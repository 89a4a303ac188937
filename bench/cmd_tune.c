/* cmd_tune.c - `clnet-bench tune`: measures every convolution algorithm of an
 * OpenCL device on the layers of the standard suite or of a zoo model, and
 * records the fastest per layer shape in the device's tuning table. */
#include <stdlib.h>
#include <string.h>

#include "clnet/nn.h"
#include "clnet/opencl.h"

#include "bench.h"

#define MAX_RESULTS 16
/* Distinct convolution shapes of one model that are tuned. */
#define MAX_SHAPES 512

typedef struct tune_options {
    const bench_layer *layer;   /* one suite layer; NULL with model NULL: the whole suite */
    const char *model;          /* zoo model whose convolutions are tuned */
    int batch;
    int reps;
    const char *selector;
} tune_options;

/* One convolution to tune. */
typedef struct tune_shape {
    char name[80];
    clnet_op op;
    clnet_shape x, w;
    bool bias;
} tune_shape;

static void print_help(void)
{
    printf("usage: clnet-bench tune [--device D] [--layers | --layer NAME | --model M]\n"
           "                        [--batch B] [--reps R]\n\n"
           "Chooses the convolution algorithm per layer shape on an OpenCL device by\n"
           "measurement. For each convolution: every algorithm the device has that can\n"
           "run it (direct, im2col, gemm_1x1, ...) runs once untimed (program build,\n"
           "warm-up), then R times, each timed on the device with event profiling (once\n"
           "when already 8x slower than the best so far: it cannot win); the\n"
           "lowest median wins and is written to the device's tuning table next to the\n"
           "program cache (the file is printed at the end; delete it to forget the\n"
           "choices). Later runs with the default algorithm (AUTO) use the table for\n"
           "these shapes (a shape tuned at another batch size counts, the nearest batch\n"
           "first), and a static rule for shapes it lacks. Nothing is timed at any\n"
           "other moment.\n\n"
           "  --layers        the convolutions of the standard layer suite (the default;\n"
           "                  see 'clnet-bench ops --help')\n"
           "  --layer NAME    one layer of the suite\n"
           "  --model M       the distinct convolution shapes of a zoo model\n"
           "  --batch B       batch size of the measured runs (default 32)\n"
           "  --reps R        timed runs per algorithm (default 5)\n"
           "  --device D      device index or name substring (default: CLNET_DEVICE, else\n"
           "                  the first OpenCL device)\n"
           "  --help          this text\n");
}

static int parse_option(bench_opts *o, void *ctx)
{
    tune_options *opt = ctx;
    const char *v = NULL;
    long batch = opt->batch, reps = opt->reps;
    if (bench_opt_flag(o, "--layers")) {
        opt->layer = NULL;
        opt->model = NULL;
    } else if (bench_opt_value(o, "--layer", &v)) {
        if (v && !(opt->layer = bench_layer_find(v)))
            return bench_usage_error(o->cmd, "unknown layer '%s'", v);
        if (opt->layer && opt->layer->linear)
            return bench_usage_error(o->cmd, "'%s' is not a convolution", v);
    } else if (bench_opt_value(o, "--model", &v)) {
        opt->model = v;
    } else if (bench_opt_timing(o, &batch, &reps, &opt->selector)) {
        opt->batch = (int)batch;
        opt->reps = (int)reps;
    } else {
        return bench_usage_error(o->cmd, "unknown option '%s'", o->argv[o->i]);
    }
    return o->error ? BENCH_EXIT_USAGE : BENCH_EXIT_OK;
}

static int parse_options(int argc, char **argv, tune_options *opt, bool *help)
{
    int rc = bench_parse_args("tune", argc, argv, parse_option, opt, help);
    if (rc != BENCH_EXIT_OK || *help)
        return rc;
    if (opt->layer && opt->model)
        return bench_usage_error("tune", "--layer and --model exclude each other");
    return BENCH_EXIT_OK;
}

static bool same_shape(const clnet_shape *a, const clnet_shape *b)
{
    if (a->ndim != b->ndim)
        return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->dim[i] != b->dim[i])
            return false;
    return true;
}

/* Appends a shape unless the list already has the same convolution. */
static void add_shape(tune_shape *list, int *n, const tune_shape *s)
{
    for (int i = 0; i < *n; i++)
        if (memcmp(&list[i].op.u.conv, &s->op.u.conv, sizeof s->op.u.conv) == 0 &&
            same_shape(&list[i].x, &s->x) && same_shape(&list[i].w, &s->w) &&
            list[i].bias == s->bias)
            return;
    if (*n < MAX_SHAPES)
        list[(*n)++] = *s;
}

static void suite_shapes(const tune_options *opt, tune_shape *list, int *n, clnet_ctx *ctx)
{
    for (int i = 0; i < bench_layer_count; i++) {
        const bench_layer *l = &bench_layers[i];
        bench_layer_setup setup;
        if (l->linear || (opt->layer && opt->layer != l) ||
            bench_layer_prepare(ctx, l, opt->batch, &setup) != CLNET_OK)
            continue;
        tune_shape s = {.op = setup.op, .x = setup.x, .w = setup.w, .bias = true};
        snprintf(s.name, sizeof s.name, "%s", l->name);
        add_shape(list, n, &s);
    }
}

/* The distinct forward convolutions of a zoo model, at the tuning batch. */
static int model_shapes(clnet_ctx *ctx, const tune_options *opt, tune_shape *list, int *n)
{
    if (!clnet_zoo_cfg(opt->model)) {
        fprintf(stderr, "clnet-bench tune: unknown model '%s'; the zoo has:", opt->model);
        for (const char *const *name = clnet_zoo_names(); *name; name++)
            fprintf(stderr, " %s", *name);
        fprintf(stderr, "\n");
        return BENCH_EXIT_USAGE;
    }
    clnet_net *net = NULL;
    clnet_status st = clnet_net_zoo(ctx, opt->model, NULL, &net);
    if (st != CLNET_OK)
        return bench_fail("tune", ctx, st, "cannot build the model");
    for (int id = 1; id < clnet_net_layer_count(net); id++) {
        clnet_layer_info info;
        tune_shape s = {0};
        if (clnet_net_layer_info(net, id, &info) != CLNET_OK || info.kind != CLNET_LAYER_CONV ||
            clnet_net_layer_op(net, id, &s.op, &s.x, &s.w, &s.bias) != CLNET_OK)
            continue;
        memmove(s.x.dim + 1, s.x.dim, (size_t)s.x.ndim * sizeof s.x.dim[0]);
        s.x.dim[0] = opt->batch;
        s.x.ndim++;
        snprintf(s.name, sizeof s.name, "%s/%s", opt->model, info.name);
        add_shape(list, n, &s);
    }
    clnet_net_free(net);
    return BENCH_EXIT_OK;
}

static double gflops(const tune_shape *s, double ms)
{
    /* MACs = output elements x weights per output channel. */
    int64_t per_output = 1;
    for (int i = 1; i < s->w.ndim; i++)
        per_output *= s->w.dim[i];
    clnet_shape in[2] = {s->x, s->w}, out[CLNET_OP_MAX_OUTPUTS];
    clnet_dtype dt[2] = {CLNET_F32, CLNET_F32}, odt[CLNET_OP_MAX_OUTPUTS];
    int nout = 0;
    if (ms <= 0.0 || clnet_op_output_shapes(NULL, &s->op, 2, in, dt, &nout, out, odt) != CLNET_OK)
        return 0.0;
    return 2.0 * (double)clnet_shape_numel(&out[0]) * (double)per_output / (ms * 1e-3) * 1e-9;
}

static bool tune_one(clnet_device *dev, const tune_shape *s, int reps)
{
    clnet_opencl_tune_result r[MAX_RESULTS];
    int n = 0;
    clnet_conv_algo best = CLNET_CONV_ALGO_AUTO;
    clnet_status st = clnet_opencl_tune_conv(dev, &s->op, &s->x, &s->w, s->bias, reps, r,
                                             MAX_RESULTS, &n, &best);
    if (st != CLNET_OK) {
        fprintf(stderr, "clnet-bench tune: %s: %s: %s\n", s->name, clnet_status_str(st),
                clnet_last_error(clnet_device_ctx(dev)));
        return false;
    }
    for (int i = 0; i < n; i++) {
        if (!r[i].applies) {
            printf("%-28s %-10s %10s\n", i ? "" : s->name, r[i].name, "n/a");
            continue;
        }
        printf("%-28s %-10s %10.3f %10.3f-%-10.3f %8.1f%s\n", i ? "" : s->name, r[i].name,
               r[i].ms_median, r[i].ms_min, r[i].ms_max, gflops(s, r[i].ms_median),
               r[i].algo == best ? "  *" : r[i].runs < reps ? "  (1 run: 8x slower)" : "");
    }
    fflush(stdout);
    return true;
}

static int tune_all(clnet_ctx *ctx, const tune_options *opt, tune_shape *list, int n)
{
    clnet_device *dev = NULL;
    clnet_status st = clnet_device_find(ctx, opt->selector, &dev);
    if (st == CLNET_ERR_NO_DEVICE && opt->selector)
        return bench_usage_error("tune", "no device matches '%s'; 'clnet-bench devices' lists "
                                 "them", opt->selector);
    if (st != CLNET_OK)
        return bench_fail("tune", ctx, st, "cannot open the device");
    clnet_device_info info;
    clnet_device_info_get(dev, &info);
    if (info.kind != CLNET_DEVICE_OPENCL)
        return bench_usage_error("tune", "device %d (%s) is not an OpenCL device; only OpenCL "
                                 "devices have algorithms to choose", info.index, info.name);
    printf("device %d: %s (%s), batch %d, %d timed runs per algorithm (ms, device time)\n",
           info.index, info.name, info.platform, opt->batch, opt->reps);
    printf("%-28s %-10s %10s %21s %8s\n", "layer", "algorithm", "median", "min-max", "GFLOP/s");
    bool ok = true;
    for (int i = 0; i < n; i++)
        ok = tune_one(dev, &list[i], opt->reps) && ok;
    char path[4096];
    if (clnet_opencl_tuning_file(dev, path, sizeof path) == CLNET_OK)
        printf("tuning table: %s (* = chosen)\n", path);
    else
        printf("tuning table: not saved (the program cache is off); choices hold for this "
               "process only\n");
    return ok ? BENCH_EXIT_OK : BENCH_EXIT_FAIL;
}

int bench_cmd_tune(int argc, char **argv)
{
    tune_options opt = {.batch = 32, .reps = 5};
    bool help = false;
    int rc = parse_options(argc, argv, &opt, &help);
    if (rc != BENCH_EXIT_OK || help) {
        if (help)
            print_help();
        return rc;
    }
    clnet_ctx *ctx = bench_ctx_new("tune");
    if (!ctx)
        return BENCH_EXIT_FAIL;
    tune_shape *list = calloc(MAX_SHAPES, sizeof *list);
    int n = 0;
    if (!list) {
        fprintf(stderr, "clnet-bench tune: out of host memory\n");
        rc = BENCH_EXIT_FAIL;
    } else if (opt.model) {
        rc = model_shapes(ctx, &opt, list, &n);
    } else {
        suite_shapes(&opt, list, &n, ctx);
    }
    if (rc == BENCH_EXIT_OK)
        rc = tune_all(ctx, &opt, list, n);
    free(list);
    clnet_ctx_free(ctx);
    return rc;
}
