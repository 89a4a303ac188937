/* cmd_compare.c - `clnet-bench compare`: results files written on different
 * machines (ops, run and train --json), side by side as Markdown tables and
 * PNG bars, a column per (file, device); figures measured under different
 * conditions are refused, not compared. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"
#include "charts.h"
#include "json.h"
#include "provenance.h"
#include "results.h"

#define CMD "compare"
#define MAX_FILES 64
#define MAX_COLUMNS 26       /* lettered A..Z */
#define MAX_ROWS 1024
#define MAX_TEXT (16 << 20)
#define MAX_REFUSALS 10

static void print_help(void)
{
    printf("usage: clnet-bench compare [--png DIR] A.json B.json ...\n\n"
           "Lays out the figures of results files side by side: Markdown on stdout, one\n"
           "row per figure and the conditions it was measured under, one column per\n"
           "device (lettered A, B, ...), each cell the figure's speed and, from the\n"
           "second column on, its ratio to the first column's (> 1: faster). Files of\n"
           "one device that hold different figures (ops and run of one machine) share a\n"
           "column; a figure a column already holds (the same device measured again, or\n"
           "on another machine) opens a second column of that device. A table of where\n"
           "each column was measured comes first (file, device, platform, driver, OpenCL\n"
           "version, clnet version and commit, date, host load). The files are what\n"
           "`clnet-bench ops --json`, `run --json` and `train --json` write, on any\n"
           "machine (docs/results/README.md):\n"
           "  layers    (ops)   GFLOP/s, median ms per call\n"
           "  models    (run)   images/s, median ms per batch\n"
           "  training  (train) images/s over the epochs, data pipeline included\n\n"
           "Two figures are compared only when they were measured the same way: same\n"
           "pass, batch, precision, input shape, MACs per image and number of devices.\n"
           "A row that a column lacks is left blank. When a layer or model is in two\n"
           "columns but in no row both share (say, one measured at batch 1, the other at\n"
           "batch 32), compare refuses: it names the figure, both files and their\n"
           "conditions, writes no table and exits with status 1.\n\n"
           "  --png DIR   also draw bar charts (gnuplot) into DIR, created if needed:\n"
           "              compare-layers.png, compare-models.png, compare-training.png\n"
           "              (those with rows), a bar per column, linked from the Markdown\n"
           "  --help      this text\n\n"
           "exit status: 0 compared, 1 refused (measured differently) or a chart failed,\n"
           "2 usage error or a file that is not a results file.\n");
}

/* A column: the figures of one device. Files of one device that hold
 * different figures share a column; a figure that a column already holds
 * (a second machine with the same device) opens the device's next column. */
typedef struct column {
    const char *device;
    char label[160];
} column;

/* Where a column's figures come from: one line of the provenance table. */
typedef struct source {
    int file, col;
} source;

/* A row: a figure's identity (kind, name) and conditions. */
typedef struct row_key {
    const char *kind, *name, *pass, *precision, *input;
    double batch, macs, replicas;
} row_key;

typedef struct compare {
    int nfiles;
    const char *path[MAX_FILES];
    json *root[MAX_FILES];
    column col[MAX_COLUMNS];
    int ncol;
    source src[MAX_FILES * MAX_COLUMNS];
    int nsrc;
    row_key row[MAX_ROWS];
    int nrow;
    /* cell[r][c]: the figure of row r in column c, or NULL; file[r][c]: its file */
    const json *(*cell)[MAX_COLUMNS];
    int (*file)[MAX_COLUMNS];
} compare;

static const char *const kinds[3] = {"layer", "model", "training"};

static row_key key_of(const json *fig)
{
    row_key k = {json_get_string(fig, "kind"), json_get_string(fig, "name"),
                 json_get_string(fig, "pass"), json_get_string(fig, "precision"),
                 json_get_string(fig, "input"), json_get_number(fig, "batch"),
                 json_get_number(fig, "macs"), json_get_number(fig, "replicas")};
    return k;
}

static bool same_identity(const row_key *a, const row_key *b)
{
    return strcmp(a->kind, b->kind) == 0 && strcmp(a->name, b->name) == 0;
}

static bool same_conditions(const row_key *a, const row_key *b)
{
    return strcmp(a->pass, b->pass) == 0 && strcmp(a->precision, b->precision) == 0 &&
           strcmp(a->input, b->input) == 0 && a->batch == b->batch && a->macs == b->macs &&
           a->replicas == b->replicas;
}

static void conditions_text(const row_key *k, char *out, size_t size)
{
    snprintf(out, size, "%s, batch %.0f, %s, input %s, %.0f MACs per image, %.0f device%s",
             k->pass, k->batch, k->precision, k->input, k->macs, k->replicas,
             k->replicas == 1 ? "" : "s");
}

/* The names of the conditions in which a and b differ, comma-separated. */
static void differences(const row_key *a, const row_key *b, char *out, size_t size)
{
    const struct { const char *name; bool differs; } conditions[] = {
        {"pass", strcmp(a->pass, b->pass) != 0}, {"batch", a->batch != b->batch},
        {"precision", strcmp(a->precision, b->precision) != 0},
        {"input", strcmp(a->input, b->input) != 0}, {"MACs", a->macs != b->macs},
        {"devices", a->replicas != b->replicas}};
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof conditions / sizeof conditions[0] && n < size; i++)
        if (conditions[i].differs)
            n += (size_t)snprintf(out + n, size - n, "%s%s", n ? ", " : "", conditions[i].name);
}

/* ---- reading the files ---- */

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *text = malloc(MAX_TEXT);
    size_t n = text ? fread(text, 1, MAX_TEXT - 1, f) : 0;
    fclose(f);
    if (text)
        text[n] = '\0';
    return text;
}

static int load_file(compare *c, const char *path)
{
    char *text = read_text(path);
    if (!text) {
        fprintf(stderr, "clnet-bench %s: cannot read %s: %s\n", CMD, path, strerror(errno));
        return BENCH_EXIT_USAGE;
    }
    char err[256];
    json *root = json_parse(text, err, sizeof err);
    free(text);
    if (!root) {
        fprintf(stderr, "clnet-bench %s: %s: not JSON: %s\n", CMD, path, err);
        return BENCH_EXIT_USAGE;
    }
    if (!json_get(root, "schema")) {
        /* a recipe's results file written before the schema */
        json *upgraded = results_upgrade_legacy(root, err, sizeof err);
        json_free(root);
        if (!upgraded) {
            fprintf(stderr, "clnet-bench %s: %s: %s\n", CMD, path, err);
            return BENCH_EXIT_USAGE;
        }
        root = upgraded;
    }
    const json *figures = json_get(root, "figures");
    if (strcmp(json_get_string(root, "schema"), PROVENANCE_SCHEMA) != 0 || !figures ||
        figures->type != JSON_ARRAY) {
        fprintf(stderr, "clnet-bench %s: %s: not a results file of this clnet-bench (no "
                "\"schema\": \"%s\" with a \"figures\" list; ops, run and train write one "
                "with --json)\n", CMD, path, PROVENANCE_SCHEMA);
        json_free(root);
        return BENCH_EXIT_USAGE;
    }
    c->path[c->nfiles] = path;
    c->root[c->nfiles++] = root;
    return BENCH_EXIT_OK;
}

/* The column of the figure of `device` for row `row`: the device's first
 * column without a figure in that row, or a new one. */
static int find_column(compare *c, const char *device, int row)
{
    int instance = 1;
    for (int i = 0; i < c->ncol; i++)
        if (strcmp(c->col[i].device, device) == 0) {
            if (!c->cell[row][i])
                return i;
            instance++;
        }
    if (c->ncol == MAX_COLUMNS)
        return -1;
    column *col = &c->col[c->ncol];
    col->device = device;
    if (instance == 1)
        snprintf(col->label, sizeof col->label, "%c: %s", 'A' + c->ncol, device);
    else
        snprintf(col->label, sizeof col->label, "%c: %s #%d", 'A' + c->ncol, device, instance);
    return c->ncol++;
}

static void add_source(compare *c, int file, int col)
{
    for (int i = 0; i < c->nsrc; i++)
        if (c->src[i].file == file && c->src[i].col == col)
            return;
    c->src[c->nsrc++] = (source){file, col};
}

static int find_row(compare *c, const row_key *k)
{
    for (int i = 0; i < c->nrow; i++)
        if (same_identity(&c->row[i], k) && same_conditions(&c->row[i], k))
            return i;
    if (c->nrow == MAX_ROWS)
        return -1;
    c->row[c->nrow] = *k;
    return c->nrow++;
}

/* Every figure into its row and column. */
static int lay_out(compare *c)
{
    for (int f = 0; f < c->nfiles; f++) {
        const json *figures = json_get(c->root[f], "figures");
        for (int i = 0; i < figures->count; i++) {
            const json *fig = &figures->items[i];
            row_key k = key_of(fig);
            int row = find_row(c, &k);
            int col = row < 0 ? -1 : find_column(c, json_get_string(fig, "device"), row);
            if (col < 0 || row < 0) {
                fprintf(stderr, "clnet-bench %s: more than %d columns or %d rows\n", CMD,
                        MAX_COLUMNS, MAX_ROWS);
                return BENCH_EXIT_USAGE;
            }
            c->cell[row][col] = fig;
            c->file[row][col] = f;
            add_source(c, f, col);
        }
    }
    return BENCH_EXIT_OK;
}

/* ---- refusing what was measured differently ---- */

/* The first row of the identity of row `of` that columns a and b both
 * have (-1: none); *in_a and *in_b get a row of it each has (-1: none). */
static int shared_row(const compare *c, int of, int a, int b, int *in_a, int *in_b)
{
    *in_a = *in_b = -1;
    for (int r = 0; r < c->nrow; r++) {
        if (!same_identity(&c->row[r], &c->row[of]))
            continue;
        bool ha = c->cell[r][a] != NULL, hb = c->cell[r][b] != NULL;
        if (ha && hb)
            return r;
        if (ha && *in_a < 0)
            *in_a = r;
        if (hb && *in_b < 0)
            *in_b = r;
    }
    return -1;
}

/* A layer or model in two columns that share none of its rows: refused. */
static int check_comparable(const compare *c)
{
    int refusals = 0;
    for (int r = 0; r < c->nrow; r++) {
        bool first = true;   /* each identity once, at its first row */
        for (int q = 0; q < r; q++)
            first = first && !same_identity(&c->row[q], &c->row[r]);
        for (int a = 0; first && a < c->ncol; a++)
            for (int b = a + 1; b < c->ncol; b++) {
                int in_a, in_b;
                if (shared_row(c, r, a, b, &in_a, &in_b) >= 0 || in_a < 0 || in_b < 0)
                    continue;
                char ta[256], tb[256], diff[128];
                conditions_text(&c->row[in_a], ta, sizeof ta);
                conditions_text(&c->row[in_b], tb, sizeof tb);
                differences(&c->row[in_a], &c->row[in_b], diff, sizeof diff);
                if (refusals++ < MAX_REFUSALS)
                    fprintf(stderr, "clnet-bench %s: refusing to compare %s %s: the %s "
                            "differ%s between %s (%s) and %s (%s); measure both the same "
                            "way\n", CMD, c->row[r].kind, c->row[r].name, diff,
                            strchr(diff, ',') ? "" : "s", c->path[c->file[in_a][a]], ta,
                            c->path[c->file[in_b][b]], tb);
            }
    }
    if (refusals > MAX_REFUSALS)
        fprintf(stderr, "clnet-bench %s: ... and %d more\n", CMD, refusals - MAX_REFUSALS);
    return refusals ? BENCH_EXIT_FAIL : BENCH_EXIT_OK;
}

/* ---- Markdown ---- */

static void print_sources(const compare *c)
{
    printf("## Where each column was measured\n\n| column | file | device | platform | driver "
           "| OpenCL | clnet | commit | date | host load (1 min) |\n"
           "|---|---|---|---|---|---|---|---|---|--:|\n");
    for (int i = 0; i < c->nsrc; i++) {
        const column *col = &c->col[c->src[i].col];
        const json *root = c->root[c->src[i].file];
        const json *hw = json_get(root, "hardware"), *dev = NULL;
        for (int d = 0; hw && hw->type == JSON_ARRAY && d < hw->count; d++)
            if (strcmp(json_get_string(&hw->items[d], "name"), col->device) == 0)
                dev = &hw->items[d];
        const json *load = json_get(json_get(root, "host"), "load_average");
        printf("| %c | %s | %s | %s | %s | %s | %s | %s | %s |", 'A' + c->src[i].col,
               c->path[c->src[i].file], col->device, json_get_string(dev, "platform"),
               json_get_string(dev, "driver"), json_get_string(dev, "opencl_version"),
               json_get_string(root, "clnet_version"), json_get_string(root, "clnet_commit"),
               json_get_string(root, "date"));
        if (load && load->type == JSON_ARRAY && load->count > 0 &&
            load->items[0].type == JSON_NUMBER)
            printf(" %.2f of %.0f CPUs |\n", load->items[0].number,
                   json_get_number(json_get(root, "host"), "cpus"));
        else
            printf(" |\n");
    }
    printf("\n");
}

/* The speed a row's cells show: GFLOP/s for layers, images/s otherwise. */
static double speed(const json *fig, int kind)
{
    if (!fig || strcmp(json_get_string(fig, "status"), "ok") != 0)
        return NAN;
    return json_get_number(fig, kind == 0 ? "gflops" : "images_per_second");
}

/* Row r's cell in column cols[i], with its ratio to the first of cols[]
 * that has a speed. */
static void print_cell(const compare *c, int r, const int *cols, int i, int kind)
{
    const json *fig = c->cell[r][cols[i]];
    if (!fig) {
        printf(" |");
        return;
    }
    double v = speed(fig, kind), first = NAN;
    if (isnan(v)) {
        printf(" %s |", json_get_string(fig, "status"));
        return;
    }
    for (int j = 0; j < i && isnan(first); j++)
        first = speed(c->cell[r][cols[j]], kind);
    printf(" %.*f", v < 10 ? 2 : 1, v);
    double ms = json_get_number(fig, "ms");
    if (isfinite(ms))
        printf(" (%.3f ms)", ms);
    if (isfinite(first) && first > 0)
        printf(" x%.2f", v / first);
    printf(" |");
}

/* The columns with a figure of `kind` (0 layer, 1 model, 2 training) into
 * cols[]; returns how many. */
static int kind_columns(const compare *c, int kind, int *cols)
{
    int n = 0;
    for (int col = 0; col < c->ncol; col++) {
        bool has = false;
        for (int r = 0; r < c->nrow && !has; r++)
            has = c->cell[r][col] && strcmp(c->row[r].kind, kinds[kind]) == 0;
        if (has)
            cols[n++] = col;
    }
    return n;
}

static void print_table(const compare *c, int kind, const int *cols, int ncols,
                        const char *png_dir)
{
    static const char *const titles[3] = {
        "Layers: GFLOP/s (median ms per call)", "Models: images/s (median ms per batch)",
        "Training: images/s (mean ms per batch, data pipeline included)"};
    printf("## %s\n\n| %s | pass | batch | precision | input |", titles[kind],
           kind == 0 ? "layer" : "model");
    for (int i = 0; i < ncols; i++)
        printf(" %s |", c->col[cols[i]].label);
    printf("\n|---|---|--:|---|---|");
    for (int i = 0; i < ncols; i++)
        printf("--:|");
    printf("\n");
    for (int r = 0; r < c->nrow; r++) {
        const row_key *k = &c->row[r];
        if (strcmp(k->kind, kinds[kind]) != 0)
            continue;
        printf("| %s | %s | %.0f | %s | %s", k->name, k->pass, k->batch, k->precision,
               k->input);
        if (k->replicas != 1)
            printf(", on %.0f devices", k->replicas);
        printf(" |");
        for (int i = 0; i < ncols; i++)
            print_cell(c, r, cols, i, kind);
        printf("\n");
    }
    printf("\n");
    if (png_dir)
        printf("![%s](%s/compare-%s.png)\n\n", titles[kind], png_dir,
               kind == 0 ? "layers" : kind == 1 ? "models" : "training");
}

/* ---- charts ---- */

static bool draw_chart(const compare *c, int kind, const int *cols, int ncols, const char *dir)
{
    static const char *const names[3] = {"compare-layers", "compare-models",
                                         "compare-training"};
    static const char *const ylabels[3] = {"GFLOP/s", "images/s", "images/s"};
    const char *cats[MAX_ROWS], *series[MAX_COLUMNS];
    char (*labels)[128] = calloc(MAX_ROWS, sizeof *labels);
    double *values = malloc(sizeof *values * MAX_ROWS * MAX_COLUMNS);
    int rows[MAX_ROWS], n = 0;
    bool ok = labels && values;
    for (int r = 0; ok && r < c->nrow; r++) {
        const row_key *k = &c->row[r];
        if (strcmp(k->kind, kinds[kind]) != 0)
            continue;
        snprintf(labels[n], sizeof labels[n], "%s/%s/b%.0f", k->name, k->pass, k->batch);
        cats[n] = labels[n];
        rows[n++] = r;
    }
    for (int s = 0; ok && s < ncols; s++) {
        series[s] = c->col[cols[s]].label;
        for (int i = 0; i < n; i++)
            values[s * n + i] = speed(c->cell[rows[i]][cols[s]], kind);
    }
    char title[256], err[512] = "out of host memory";
    snprintf(title, sizeof title, "%s per device (log scale; higher is better)",
             ylabels[kind]);
    ok = ok && charts_bars(dir, names[kind], title, ylabels[kind], n, cats, ncols, series,
                           values, true, err, sizeof err);
    if (!ok)
        fprintf(stderr, "clnet-bench %s: %s/%s.png: %s\n", CMD, dir, names[kind], err);
    free(labels);
    free(values);
    return ok;
}

/* ---- the command ---- */

static int parse_options(int argc, char **argv, const char **png, compare *c, bool *help)
{
    bench_opts o = {.cmd = CMD, .argc = argc, .argv = argv};
    for (o.i = 1; o.i < argc; o.i++) {
        const char *v = NULL;
        if (bench_opt_flag(&o, "--help")) {
            *help = true;
            return BENCH_EXIT_OK;
        } else if (bench_opt_value(&o, "--png", &v)) {
            if (o.error)
                return BENCH_EXIT_USAGE;
            *png = v;
        } else if (argv[o.i][0] == '-' && argv[o.i][1] == '-') {
            return bench_usage_error(CMD, "unknown option '%s'", argv[o.i]);
        } else if (c->nfiles == MAX_FILES) {
            return bench_usage_error(CMD, "at most %d files", MAX_FILES);
        } else {
            int rc = load_file(c, argv[o.i]);
            if (rc != BENCH_EXIT_OK)
                return rc;
        }
    }
    if (c->nfiles == 0)
        return bench_usage_error(CMD, "give the results files to compare");
    return BENCH_EXIT_OK;
}

static int run_compare(compare *c, const char *png)
{
    int rc = lay_out(c);
    if (rc == BENCH_EXIT_OK)
        rc = check_comparable(c);
    if (rc != BENCH_EXIT_OK)
        return rc;
    if (png && mkdir(png, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "clnet-bench %s: cannot create %s: %s\n", CMD, png, strerror(errno));
        return BENCH_EXIT_FAIL;
    }
    printf("# clnet-bench compare\n\n");
    print_sources(c);
    for (int kind = 0; kind < 3; kind++) {
        int cols[MAX_COLUMNS], ncols = kind_columns(c, kind, cols);
        if (ncols == 0)
            continue;
        print_table(c, kind, cols, ncols, png);
        if (png && !draw_chart(c, kind, cols, ncols, png))
            rc = BENCH_EXIT_FAIL;
    }
    return rc;
}

int bench_cmd_compare(int argc, char **argv)
{
    compare *c = calloc(1, sizeof *c);
    if (c)
        c->cell = calloc(MAX_ROWS, sizeof *c->cell);
    if (c)
        c->file = calloc(MAX_ROWS, sizeof *c->file);
    if (!c || !c->cell || !c->file) {
        fprintf(stderr, "clnet-bench %s: out of host memory\n", CMD);
        if (c) {
            free(c->cell);
            free(c->file);
        }
        free(c);
        return BENCH_EXIT_FAIL;
    }
    const char *png = NULL;
    bool help = false;
    int rc = parse_options(argc, argv, &png, c, &help);
    if (rc == BENCH_EXIT_OK && help)
        print_help();
    else if (rc == BENCH_EXIT_OK)
        rc = run_compare(c, png);
    for (int f = 0; f < c->nfiles; f++)
        json_free(c->root[f]);
    free(c->cell);
    free(c->file);
    free(c);
    return rc;
}
