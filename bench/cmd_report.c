/* cmd_report.c - `clnet-bench report`: runs the headline set (the model
 * table, the layer suite on every device, a short LeNet-5 training on MNIST)
 * as child runs of this same program, and writes DIR/report.md: Markdown
 * tables generated from their output, each with the command that
 * regenerates it, and PNG charts. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "charts.h"
#include "models.h"
#include "provenance.h"
#include "results.h"

#define CMD "report"
#define MAX_DEVICES 16
#define MAX_LAYERS 64
#define MAX_EPOCHS 100
#define MAX_ARGS 32
#define PATH_SIZE 4096

static void print_help(void)
{
    printf("usage: clnet-bench report [--out DIR] [--quick] [--data-dir DIR] [--json]\n"
           "       clnet-bench report --reproduction DIR\n\n"
           "Runs the headline measurements and writes DIR/report.md with Markdown tables\n"
           "made from them, each next to the command that regenerates it, and charts:\n"
           "  1. the devices                  clnet-bench devices\n"
           "  2. every zoo model's parameters and MACs against the published figures\n"
           "                                  clnet-bench models --markdown\n"
           "  3. the layer suite at batch 1, forward and backward, on every OpenCL device\n"
           "     and on ref                   clnet-bench ops --pass both --csv ...\n"
           "     chart: GFLOP/s per layer and device (ops-forward.png, ops-backward.png)\n"
           "  4. LeNet-5 trained on the first images of MNIST, then its test accuracy\n"
           "                                  clnet-bench train --model lenet5 --data mnist ...\n"
           "     charts: loss and accuracy per epoch (training.png), the learned\n"
           "     first-layer filters (lenet5-filters.png)\n"
           "Each step runs as a child process of this program; its raw output (CSV,\n"
           "JSON, Markdown), the checkpoint and the gnuplot data and scripts stay in DIR.\n"
           "A step that fails is marked in the report and the exit status is 1; MNIST\n"
           "missing is such a failure (see README.md for where datasets are looked for).\n"
           "Charts need gnuplot (Debian gnuplot-nox).\n\n"
           "  --out DIR        output directory, created if needed (default clnet-report)\n"
           "  --quick          fewer timed repetitions (2, not 5) and a shorter training\n"
           "                   (2,000 images for 3 epochs, not 6,000 for 5)\n"
           "  --data-dir DIR   look for MNIST here first\n"
           "  --json           also write DIR/report.json: the layer suite's and the\n"
           "                   training's figures as one results file (devices, driver,\n"
           "                   clnet commit, date, host load, each figure with the command\n"
           "                   that measured it), which `clnet-bench compare` reads\n"
           "  --reproduction DIR  only print the README's Reproduction table, made from\n"
           "                   the recipe results files in DIR (docs/results), with each\n"
           "                   recipe's published figure; runs nothing\n"
           "  --help           this text\n");
}

typedef struct report_opts {
    const char *out;
    const char *data_dir;
    const char *reproduction;    /* print only the Reproduction table of this directory */
    bool quick;
    bool json;                   /* also DIR/report.json */
} report_opts;

typedef struct ops_table ops_table;

/* The state of one report. */
typedef struct rpt {
    const report_opts *opt;
    char self[PATH_SIZE];        /* this executable, which runs each step */
    FILE *md;
    int failures;
    /* for --json: the layer suite, the commands that measured it (OpenCL
     * devices, ref) and the figure objects of the training's JSON */
    ops_table *ops;
    char ops_cmd[2][1024];
    char *train_figures;
} rpt;

static int parse_options(int argc, char **argv, report_opts *opt, bool *help)
{
    bench_opts o = {.cmd = CMD, .argc = argc, .argv = argv};
    for (o.i = 1; o.i < argc; o.i++) {
        const char *v = NULL;
        if (bench_opt_flag(&o, "--help")) {
            *help = true;
            return BENCH_EXIT_OK;
        } else if (bench_opt_flag(&o, "--json")) {
            opt->json = true;
        } else if (bench_opt_flag(&o, "--quick")) {
            opt->quick = true;
        } else if (bench_opt_value(&o, "--out", &v)) {
            opt->out = v;
        } else if (bench_opt_value(&o, "--data-dir", &v)) {
            opt->data_dir = v;
        } else if (bench_opt_value(&o, "--reproduction", &v)) {
            opt->reproduction = v;
        } else {
            return bench_usage_error(CMD, "unknown option '%s'", argv[o.i]);
        }
        if (o.error)
            return BENCH_EXIT_USAGE;
        if (v && !*v)
            return bench_usage_error(CMD, "%s needs a non-empty value", argv[o.i]);
    }
    return BENCH_EXIT_OK;
}

/* ---- running the steps ---- */

static void out_path(const rpt *r, const char *name, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", r->opt->out, name);
}

/* "clnet-bench ARGS", quoting arguments the shell would split. */
static void command_text(const char *const *args, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "clnet-bench");
    for (int i = 0; args[i] && n < size; i++) {
        bool quote = strpbrk(args[i], " \t'\"$&;|<>()*?") != NULL;
        n += (size_t)snprintf(buf + n, size - n, quote ? " '%s'" : " %s", args[i]);
    }
}

/* Runs `clnet-bench ARGS` with stdout into DIR/out_name; *cmd gets the
 * command's text. A failure is counted and reported on stderr. */
static bool run_step(rpt *r, const char *const *args, const char *out_name, char *cmd,
                     size_t cmd_size)
{
    char *argv[MAX_ARGS + 2] = {r->self};
    int n = 0;
    while (args[n] && n < MAX_ARGS) {
        argv[n + 1] = (char *)args[n];
        n++;
    }
    argv[n + 1] = NULL;
    command_text(args, cmd, cmd_size);
    char out[PATH_SIZE], err[512] = "";
    out_path(r, out_name, out, sizeof out);
    fprintf(stderr, "clnet-bench report: %s > %s\n", cmd, out);
    int rc = charts_spawn(r->self, argv, out, err, sizeof err);
    if (rc == 0)
        return true;
    if (rc > 0)
        fprintf(stderr, "clnet-bench report: '%s' exited with status %d\n", cmd, rc);
    else
        fprintf(stderr, "clnet-bench report: %s\n", err);
    r->failures++;
    return false;
}

static void md_command(rpt *r, const char *cmd)
{
    fprintf(r->md, "```sh\n%s\n```\n\n", cmd);
}

static void md_failed(rpt *r, const char *what)
{
    fprintf(r->md, "**Not available: %s** (the messages are in the report's stderr).\n\n", what);
}

/* A chart, or the reason there is none. */
static void md_chart(rpt *r, bool ok, const char *png, const char *alt, const char *err)
{
    if (ok) {
        fprintf(r->md, "![%s](%s)\n\n", alt, png);
        return;
    }
    fprintf(stderr, "clnet-bench report: %s: %s\n", png, err);
    fprintf(r->md, "**Chart %s not drawn: %s**\n\n", png, err);
    r->failures++;
}

static bool append_file(FILE *dst, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, dst);
    fclose(f);
    return true;
}

/* ---- the sections ---- */

static void section_devices(rpt *r)
{
    fprintf(r->md, "## Devices\n\n");
    md_command(r, "clnet-bench devices");
    clnet_ctx *ctx = bench_ctx_new(CMD);
    if (!ctx) {
        md_failed(r, "no clnet context");
        r->failures++;
        return;
    }
    fprintf(r->md, "| # | device | platform | type | compute units | memory (MiB) |\n"
                   "|--:|---|---|---|--:|--:|\n");
    for (int i = 0; i < clnet_device_count(ctx); i++) {
        clnet_device_info d;
        if (clnet_device_describe(ctx, i, &d) != CLNET_OK)
            continue;
        fprintf(r->md, "| %d | %s | %s | %s | %u | %.0f |\n", d.index, d.name,
                d.platform[0] ? d.platform : "-", d.type, d.compute_units,
                (double)d.global_mem_bytes / (1024.0 * 1024.0));
    }
    fprintf(r->md, "\n");
    clnet_ctx_free(ctx);
}

static void section_models(rpt *r)
{
    const char *args[] = {"models", "--markdown", NULL};
    char cmd[1024], path[PATH_SIZE];
    fprintf(r->md, "## Models\n\nParameters, multiply-accumulates (MACs) and other "
                   "elementwise operations per image, computed from each model's cfg file, "
                   "next to the figures its paper or torchvision publishes (see the counting "
                   "convention in `clnet-bench models --help`).\n\n");
    md_command(r, "clnet-bench models --markdown");
    bool ok = run_step(r, args, "models.md", cmd, sizeof cmd);
    out_path(r, "models.md", path, sizeof path);
    if (ok && append_file(r->md, path))
        fprintf(r->md, "\n");
    else
        md_failed(r, "the model table");
}

/* ---- the layer suite ---- */

/* Splits a CSV line into fields in place (quoted fields unquoted). */
static int csv_split(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    line[strcspn(line, "\r\n")] = '\0';
    while (n < max) {
        char *start = p, *w = p;
        if (*p == '"') {
            for (p++; *p && !(p[0] == '"' && p[1] != '"'); p++) {
                if (p[0] == '"')
                    p++;
                *w++ = *p;
            }
            if (*p == '"')
                p++;
        } else {
            while (*p && *p != ',')
                *w++ = *p++;
        }
        bool more = *p == ',';
        *w = '\0';
        fields[n++] = start;
        if (!more)
            break;
        p++;
    }
    return n;
}

typedef struct ops_cell {
    bool present;
    char status[16];
    double ms, gflops;
} ops_cell;

/* The suite's results: [pass][layer][device], forward = 0. */
struct ops_table {
    int ndev, nlayer;
    int dev_index[MAX_DEVICES];
    char dev[MAX_DEVICES][128];
    char layer[MAX_LAYERS][48];
    double gflop[2][MAX_LAYERS];
    ops_cell cell[2][MAX_LAYERS][MAX_DEVICES];
    int reps;                    /* timed calls per cell (ref: 1) */
};

static int find_device(ops_table *t, int index, const char *name)
{
    for (int i = 0; i < t->ndev; i++)
        if (t->dev_index[i] == index)
            return i;
    if (t->ndev == MAX_DEVICES)
        return -1;
    t->dev_index[t->ndev] = index;
    snprintf(t->dev[t->ndev], sizeof t->dev[0], "%s", name);
    return t->ndev++;
}

static int find_layer(ops_table *t, const char *name)
{
    for (int i = 0; i < t->nlayer; i++)
        if (strcmp(t->layer[i], name) == 0)
            return i;
    if (t->nlayer == MAX_LAYERS)
        return -1;
    snprintf(t->layer[t->nlayer], sizeof t->layer[0], "%s", name);
    return t->nlayer++;
}

enum { C_LAYER, C_PASS, C_DEVICE, C_INDEX, C_STATUS, C_GFLOP, C_MS, C_GFLOPS, C_COUNT };
static const char *const ops_columns[C_COUNT] = {"layer", "pass", "device", "device_index",
                                                 "status", "gflop", "ms", "gflops"};

/* Adds the rows of one `ops --csv` output, its columns found by name. */
static bool load_ops_csv(const char *path, ops_table *t)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char line[4096], *fields[64];
    int col[C_COUNT];
    bool ok = fgets(line, sizeof line, f) != NULL;
    int n = ok ? csv_split(line, fields, 64) : 0;
    for (int c = 0; ok && c < C_COUNT; c++) {
        col[c] = -1;
        for (int i = 0; i < n; i++)
            if (strcmp(fields[i], ops_columns[c]) == 0)
                col[c] = i;
        ok = col[c] >= 0;
    }
    while (ok && fgets(line, sizeof line, f)) {
        if (csv_split(line, fields, 64) < n)
            continue;
        int pass = strcmp(fields[col[C_PASS]], "backward") == 0;
        int d = find_device(t, atoi(fields[col[C_INDEX]]), fields[col[C_DEVICE]]);
        int l = find_layer(t, fields[col[C_LAYER]]);
        if (d < 0 || l < 0)
            continue;
        ops_cell *c = &t->cell[pass][l][d];
        c->present = true;
        snprintf(c->status, sizeof c->status, "%s", fields[col[C_STATUS]]);
        c->ms = atof(fields[col[C_MS]]);
        c->gflops = atof(fields[col[C_GFLOPS]]);
        t->gflop[pass][l] = atof(fields[col[C_GFLOP]]);
    }
    fclose(f);
    return ok;
}

static void md_ops_table(rpt *r, const ops_table *t, int pass)
{
    fprintf(r->md, "| layer | GFLOP |");
    for (int d = 0; d < t->ndev; d++)
        fprintf(r->md, " %s ms | GFLOP/s |", t->dev[d]);
    fprintf(r->md, "\n|---|--:|");
    for (int d = 0; d < t->ndev; d++)
        fprintf(r->md, "--:|--:|");
    fprintf(r->md, "\n");
    for (int l = 0; l < t->nlayer; l++) {
        fprintf(r->md, "| %s | %.4f |", t->layer[l], t->gflop[pass][l]);
        for (int d = 0; d < t->ndev; d++) {
            const ops_cell *c = &t->cell[pass][l][d];
            if (!c->present)
                fprintf(r->md, " | |");
            else if (strcmp(c->status, "ok") != 0)
                fprintf(r->md, " %s | |", c->status);
            else
                fprintf(r->md, " %.3f | %.*f |", c->ms, c->gflops < 10 ? 2 : 1, c->gflops);
        }
        fprintf(r->md, "\n");
    }
    fprintf(r->md, "\n");
}

static void ops_chart(rpt *r, const ops_table *t, int pass)
{
    static const char *const names[2] = {"ops-forward", "ops-backward"};
    const char *cats[MAX_LAYERS], *series[MAX_DEVICES];
    double *values = malloc(sizeof *values * MAX_DEVICES * MAX_LAYERS);
    char title[256], png[64], err[512] = "";
    if (!values) {
        md_chart(r, false, names[pass], "", "out of host memory");
        return;
    }
    for (int l = 0; l < t->nlayer; l++)
        cats[l] = t->layer[l];
    for (int d = 0; d < t->ndev; d++) {
        series[d] = t->dev[d];
        for (int l = 0; l < t->nlayer; l++) {
            const ops_cell *c = &t->cell[pass][l][d];
            bool ok = c->present && strcmp(c->status, "ok") == 0;
            values[d * t->nlayer + l] = ok ? c->gflops : NAN;
        }
    }
    snprintf(title, sizeof title, "Layer suite, %s pass, batch 1: GFLOP/s per device "
             "(log scale; higher is better)", pass ? "backward" : "forward");
    snprintf(png, sizeof png, "%s.png", names[pass]);
    bool ok = charts_bars(r->opt->out, names[pass], title, "GFLOP/s", t->nlayer, cats, t->ndev,
                          series, values, true, err, sizeof err);
    md_chart(r, ok, png, title, err);
    free(values);
}

static void section_ops(rpt *r)
{
    const char *reps = r->opt->quick ? "2" : "5";
    const char *opencl[] = {"ops", "--all-devices", "--pass", "both", "--reps", reps, "--csv",
                            NULL};
    const char *ref[] = {"ops", "--device", "ref", "--pass", "both", "--csv", NULL};
    char cmd_cl[1024], cmd_ref[1024], path[PATH_SIZE];
    fprintf(r->md, "## Layer suite\n\nThe standard layers (`clnet-bench ops --help` lists "
                   "their shapes) at batch 1 on every OpenCL device, and on the scalar "
                   "reference backend `ref` (which skips the largest layers). Backward = "
                   "the gradients with respect to the input and the weights, queued as one "
                   "call; GFLOP/s = 2 x MACs / median time, the first call (program build) "
                   "excluded.\n\n");
    ops_table *t = calloc(1, sizeof *t);
    /* a run with failed rows still leaves the others in its CSV */
    bool cl_ok = run_step(r, opencl, "ops-opencl.csv", cmd_cl, sizeof cmd_cl);
    out_path(r, "ops-opencl.csv", path, sizeof path);
    bool cl_rows = t && load_ops_csv(path, t);
    bool ref_ok = run_step(r, ref, "ops-ref.csv", cmd_ref, sizeof cmd_ref);
    out_path(r, "ops-ref.csv", path, sizeof path);
    bool ref_rows = t && load_ops_csv(path, t);
    fprintf(r->md, "Regenerate with:\n\n```sh\n%s\n%s\n```\n\n", cmd_cl, cmd_ref);
    if (!cl_ok || !ref_ok)
        fprintf(r->md, "**Some measurements failed%s%s**: the tables mark them, and the "
                "messages are in the report's stderr.\n\n",
                cl_rows ? "" : "; none from the OpenCL devices",
                ref_rows ? "" : "; none from ref");
    for (int pass = 0; t && t->nlayer > 0 && pass < 2; pass++) {
        fprintf(r->md, "### %s pass: median ms and GFLOP/s\n\n", pass ? "Backward" : "Forward");
        md_ops_table(r, t, pass);
        ops_chart(r, t, pass);
    }
    snprintf(r->ops_cmd[0], sizeof r->ops_cmd[0], "%s", cmd_cl);
    snprintf(r->ops_cmd[1], sizeof r->ops_cmd[1], "%s", cmd_ref);
    if (t)
        t->reps = atoi(reps);
    r->ops = t;
}

/* ---- LeNet-5 on MNIST ---- */

/* The number after "key": between p and end; NaN when absent or null. */
static double json_number(const char *p, const char *end, const char *key)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\": ", key);
    const char *at = strstr(p, pattern);
    if (!at || at >= end)
        return NAN;
    char *stop;
    double v = strtod(at + strlen(pattern), &stop);
    return stop == at + strlen(pattern) ? NAN : v;
}

/* The string after "key": in text, copied into buf ("" when absent). */
static void json_string(const char *text, const char *key, char *buf, size_t size)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\": \"", key);
    const char *at = strstr(text, pattern);
    size_t n = 0;
    for (const char *p = at ? at + strlen(pattern) : ""; *p && *p != '"' && n + 1 < size; p++)
        buf[n++] = *p == '\\' && p[1] ? *++p : *p;
    buf[n] = '\0';
}

typedef struct train_result {
    int epochs;
    charts_epoch e[MAX_EPOCHS];
    double ips[MAX_EPOCHS];
    double seconds, lr, batch;
    char device[128], optimizer[16];
} train_result;

/* The figure objects of the "figures" list of a results file (their text,
 * malloc'd; a figure holds no list, so the first ']' ends it), or NULL. */
static char *figures_text(const char *path)
{
    FILE *f = fopen(path, "r");
    char *text = f ? malloc(1 << 20) : NULL;
    size_t n = text ? fread(text, 1, (1 << 20) - 1, f) : 0;
    if (f)
        fclose(f);
    if (!text)
        return NULL;
    text[n] = '\0';
    const char *start = strstr(text, "\"figures\": [");
    const char *end = start ? strchr(start, ']') : NULL;
    char *out = NULL;
    if (end) {
        start += strlen("\"figures\": [");
        out = malloc((size_t)(end - start) + 1);
        if (out)
            snprintf(out, (size_t)(end - start) + 1, "%s", start);
    }
    free(text);
    return out;
}

/* Reads the learning curve of `train --json`. */
static bool load_train_json(const char *path, train_result *t)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char *text = malloc(1 << 20);
    size_t n = text ? fread(text, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (!text)
        return false;
    text[n] = '\0';
    const char *curve = strstr(text, "\"epochs\": [");
    const char *top_end = curve ? curve : text + n;
    t->seconds = json_number(text, top_end, "seconds");
    t->lr = json_number(text, top_end, "lr");
    t->batch = json_number(text, top_end, "batch");
    json_string(text, "device", t->device, sizeof t->device);
    json_string(text, "optimizer", t->optimizer, sizeof t->optimizer);
    t->epochs = 0;
    /* the epochs' objects are flat: the list ends at the first ']' (the
     * "figures" list after it holds objects too) */
    const char *list_end = curve ? strchr(curve, ']') : NULL;
    for (const char *p = curve; p && t->epochs < MAX_EPOCHS && (p = strchr(p, '{')) &&
                                p < list_end;) {
        const char *end = strchr(p, '}');
        if (!end)
            break;
        charts_epoch *e = &t->e[t->epochs];
        e->train_loss = json_number(p, end, "train_loss");
        e->train_acc = json_number(p, end, "train_accuracy");
        e->test_loss = json_number(p, end, "test_loss");
        e->test_acc = json_number(p, end, "test_accuracy");
        t->ips[t->epochs++] = json_number(p, end, "images_per_second");
        p = end;
    }
    free(text);
    return t->epochs > 0;
}

static void md_train_table(rpt *r, const train_result *t)
{
    fprintf(r->md, "| epoch | training loss | training accuracy | test loss | test accuracy "
                   "| images/s |\n|--:|--:|--:|--:|--:|--:|\n");
    for (int i = 0; i < t->epochs; i++) {
        const charts_epoch *e = &t->e[i];
        fprintf(r->md, "| %d | %.4f | %.2f%% | %.4f | %.2f%% | %.0f |\n", i + 1, e->train_loss,
                100 * e->train_acc, e->test_loss, 100 * e->test_acc, t->ips[i]);
    }
    fprintf(r->md, "\n");
}

/* Loads the checkpoint into LeNet-5 (MNIST's shape) on ref and draws the
 * filters of its first convolution. */
static bool filters_png(const char *ckpt, const char *png, char *err, size_t err_size)
{
    clnet_ctx *ctx = NULL;
    clnet_device *ref = NULL;
    clnet_net *net = NULL;
    model_opts m = {.ov = {.classes = 10, .input = {.ndim = 3, .dim = {1, 28, 28}}}};
    clnet_status st = clnet_ctx_new(&ctx);
    if (st == CLNET_OK)
        st = clnet_device_find(ctx, "ref", &ref);
    if (st == CLNET_OK && model_build(CMD, ctx, "lenet5", &m, &net) != BENCH_EXIT_OK)
        st = CLNET_ERR_FORMAT;
    if (st == CLNET_OK)
        st = clnet_net_bind(net, ref, 1, CLNET_INIT_HE_NORMAL, 1);
    if (st == CLNET_OK)
        st = clnet_net_load(net, ckpt);
    int conv = -1;
    for (int id = 1; st == CLNET_OK && conv < 0 && id < clnet_net_layer_count(net); id++) {
        clnet_layer_info info;
        st = clnet_net_layer_info(net, id, &info);
        if (st == CLNET_OK && info.kind == CLNET_LAYER_CONV)
            conv = id;
    }
    clnet_shape shape = {0};
    float *w = NULL;
    if (st == CLNET_OK)
        st = clnet_net_param_read(net, conv, 0, &shape, NULL, 0);
    size_t count = (size_t)clnet_shape_numel(&shape);
    if (st == CLNET_OK && !(w = malloc(count * sizeof *w)))
        st = CLNET_ERR_HOST_MEMORY;
    if (st == CLNET_OK)
        st = clnet_net_param_read(net, conv, 0, &shape, w, count);
    bool ok = st == CLNET_OK && charts_filter_grid(png, w, &shape, err, err_size);
    if (st != CLNET_OK)
        snprintf(err, err_size, "%s: %s", clnet_status_str(st), ctx ? clnet_last_error(ctx) : "");
    free(w);
    clnet_net_free(net);
    clnet_ctx_free(ctx);
    return ok;
}

static void section_training(rpt *r)
{
    char ckpt[PATH_SIZE], json[PATH_SIZE], png[PATH_SIZE], cmd[2048], err[1024] = "";
    out_path(r, "lenet5.ckpt", ckpt, sizeof ckpt);
    out_path(r, "train.json", json, sizeof json);
    const char *limit = r->opt->quick ? "2000" : "6000";
    const char *epochs = r->opt->quick ? "3" : "5";
    const char *args[24] = {"train", "--model", "lenet5", "--data", "mnist", "--limit", limit,
                            "--test-limit", "2000", "--epochs", epochs, "--seed", "1", "--json",
                            "--save", ckpt};
    if (r->opt->data_dir) {
        args[16] = "--data-dir";
        args[17] = r->opt->data_dir;
    }
    fprintf(r->md, "## LeNet-5 on MNIST\n\nThe modern LeNet-5 (`lenet5`) trained from "
                   "random weights on the first %s MNIST training images for %s epochs with "
                   "the settings of its cfg file, evaluated on the first 2,000 test images "
                   "after every epoch.\n\n", limit, epochs);
    bool ok = run_step(r, args, "train.json", cmd, sizeof cmd);
    md_command(r, cmd);
    train_result t;
    if (!ok || !load_train_json(json, &t)) {
        md_failed(r, "the training run");
        r->failures += ok;
        return;
    }
    fprintf(r->md, "Device %s; %s, lr %g, batch %.0f.\n\n", t.device, t.optimizer, t.lr,
            t.batch);
    md_train_table(r, &t);
    r->train_figures = figures_text(json);
    fprintf(r->md, "Final test accuracy **%.2f%%** after %d epochs (%.1f s in all).\n\n",
            100 * t.e[t.epochs - 1].test_acc, t.epochs, t.seconds);
    char title[256];
    snprintf(title, sizeof title, "LeNet-5 on %s MNIST images: loss and accuracy per epoch",
             limit);
    ok = charts_curve(r->opt->out, "training", title, t.e, t.epochs, err, sizeof err);
    md_chart(r, ok, "training.png", title, err);
    out_path(r, "lenet5-filters.png", png, sizeof png);
    ok = filters_png(ckpt, png, err, sizeof err);
    fprintf(r->md, "The learned filters of the first convolution (each 5x5 weight a square; "
                   "red positive, blue negative, white zero, each filter scaled to its own "
                   "largest weight):\n\n");
    md_chart(r, ok, "lenet5-filters.png", "LeNet-5 conv1 filters", err);
}

/* ---- the command ---- */

/* --json: DIR/report.json, the suite's cells and the training's figures as
 * one results file. */
static bool write_results_json(rpt *r, const char *command)
{
    char path[PATH_SIZE];
    out_path(r, "report.json", path, sizeof path);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "clnet-bench %s: cannot write %s: %s\n", CMD, path, strerror(errno));
        return false;
    }
    fputs("{\"figures\": [", f);
    clnet_ctx *ctx = bench_ctx_new(CMD);
    const ops_table *t = r->ops;
    int n = 0;
    for (int pass = 0; t && pass < 2; pass++)
        for (int l = 0; l < t->nlayer; l++)
            for (int d = 0; d < t->ndev; d++) {
                const ops_cell *c = &t->cell[pass][l][d];
                const bench_layer *layer = bench_layer_find(t->layer[l]);
                bench_layer_setup setup;
                /* the exact MACs (the CSV's GFLOP is rounded), as ops --json writes */
                if (!c->present || !layer || !ctx ||
                    bench_layer_prepare(ctx, layer, 1, &setup) != CLNET_OK)
                    continue;
                bool ok = strcmp(c->status, "ok") == 0, ref = strcmp(t->dev[d], "ref") == 0;
                char input[48];
                bench_layer_input(layer, input, sizeof input);
                provenance_figure fig = {
                    .kind = "layer", .name = t->layer[l], .device = t->dev[d],
                    .pass = pass ? "backward" : "forward", .batch = 1,
                    .precision = PROVENANCE_FP32, .input = input,
                    .macs = (int64_t)setup.macs * (pass ? 2 : 1), .replicas = 1,
                    .reps = ref ? 1 : t->reps, .ms = ok ? c->ms : NAN, .ms_min = NAN,
                    .ms_max = NAN, .images_per_second = ok ? 1e3 / c->ms : NAN,
                    .gflops = ok ? c->gflops : NAN, .status = c->status,
                    .command = r->ops_cmd[ref]};
                fputs(n++ ? ",\n {" : "\n {", f);
                provenance_figure_keys(f, &fig);
                fputs("}", f);
            }
    if (r->train_figures)
        fprintf(f, "%s\n %s", n ? "," : "", r->train_figures);
    fputs("\n], ", f);
    clnet_device_info devs[MAX_DEVICES];
    int ndevs = 0;
    for (int i = 0; ctx && i < clnet_device_count(ctx) && ndevs < MAX_DEVICES; i++)
        ndevs += clnet_device_describe(ctx, i, &devs[ndevs]) == CLNET_OK;
    clnet_ctx_free(ctx);
    provenance_write(f, command, devs, ndevs);
    fputs("}\n", f);
    bool written = !ferror(f);
    written = fclose(f) == 0 && written;
    if (!written)
        fprintf(stderr, "clnet-bench %s: cannot write %s\n", CMD, path);
    else
        fprintf(stderr, "clnet-bench %s: wrote %s\n", CMD, path);
    return written;
}

static int make_dir(const char *dir)
{
    if (mkdir(dir, 0755) == 0 || errno == EEXIST)
        return BENCH_EXIT_OK;
    fprintf(stderr, "clnet-bench %s: cannot create %s: %s\n", CMD, dir, strerror(errno));
    return BENCH_EXIT_FAIL;
}

static void write_header(rpt *r)
{
    char when[64];
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    fprintf(r->md, "# clnet report\n\nclnet %s, %s. Regenerate the whole report with "
                   "`clnet-bench report --out %s%s`; the raw output of every step is next to "
                   "this file.\n\n", clnet_version(), when, r->opt->out,
            r->opt->quick ? " --quick" : "");
}

int bench_cmd_report(int argc, char **argv)
{
    report_opts opt = {.out = "clnet-report"};
    bool help = false;
    int rc = parse_options(argc, argv, &opt, &help);
    if (rc != BENCH_EXIT_OK || help) {
        if (help)
            print_help();
        return rc;
    }
    if (opt.reproduction) {
        if (results_reproduction_table(stdout, opt.reproduction) >= 0)
            return BENCH_EXIT_OK;
        fprintf(stderr, "clnet-bench %s: cannot read %s: %s\n", CMD, opt.reproduction,
                strerror(errno));
        return BENCH_EXIT_FAIL;
    }
    rpt r = {.opt = &opt};
    ssize_t len = readlink("/proc/self/exe", r.self, sizeof r.self - 1);
    if (len <= 0) {
        fprintf(stderr, "clnet-bench %s: cannot find this program's path (/proc/self/exe): "
                        "%s\n", CMD, strerror(errno));
        return BENCH_EXIT_FAIL;
    }
    r.self[len] = '\0';
    if ((rc = make_dir(opt.out)) != BENCH_EXIT_OK)
        return rc;
    char path[PATH_SIZE];
    out_path(&r, "report.md", path, sizeof path);
    if (!(r.md = fopen(path, "w"))) {
        fprintf(stderr, "clnet-bench %s: cannot write %s: %s\n", CMD, path, strerror(errno));
        return BENCH_EXIT_FAIL;
    }
    write_header(&r);
    section_devices(&r);
    section_models(&r);
    section_ops(&r);
    section_training(&r);
    char command[2048];
    provenance_command_line(CMD, argc, argv, command, sizeof command);
    if (opt.json && !write_results_json(&r, command))
        r.failures++;
    free(r.ops);
    free(r.train_figures);
    if (fclose(r.md) != 0) {
        fprintf(stderr, "clnet-bench %s: cannot write %s\n", CMD, path);
        return BENCH_EXIT_FAIL;
    }
    fprintf(stderr, "clnet-bench %s: wrote %s%s\n", CMD, path,
            r.failures ? " (with failed steps, marked in it)" : "");
    return r.failures ? BENCH_EXIT_FAIL : BENCH_EXIT_OK;
}
