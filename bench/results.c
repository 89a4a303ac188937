/* results.c - writing a recipe run's results JSON, and reading a directory
 * of them back into the README's Reproduction table; the learning-curve
 * file that lets a checkpointed run resume (see results.h). */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "provenance.h"
#include "recipes.h"
#include "results.h"

#define MAX_FILES 256
#define MAX_TEXT (1 << 20)

static void key_number(FILE *f, const char *key, double v)
{
    fprintf(f, "\"%s\": ", key);
    bench_json_number(f, v, "%.6g");
    fputs(", ", f);
}

void results_write_json(FILE *f, const result *r)
{
    fputs("{", f);
    provenance_write(f, r->command, r->devs, r->ndevs);
    fputs(", ", f);
    bench_json_key_string(f, "recipe", r->recipe);
    bench_json_key_string(f, "model", r->model);
    bench_json_key_string(f, "data", r->data);
    bench_json_key_string(f, "tta", r->tta);
    fprintf(f, "\"seed\": %llu, \"complete\": %s, ", (unsigned long long)r->seed,
            r->complete ? "true" : "false");
    key_number(f, "epochs_planned", r->epochs_planned);
    fprintf(f, "\"train_count\": %lld, \"test_count\": %lld, ", (long long)r->train_count,
            (long long)r->test_count);
    key_number(f, "test_accuracy", r->test_accuracy);
    key_number(f, "test_loss", r->test_loss);
    key_number(f, "published_accuracy", r->published);
    key_number(f, "wall_seconds", r->wall_seconds);
    key_number(f, "train_seconds", r->train_seconds);
    fputs("\"epochs\": [", f);
    double images = 0, seconds = 0;
    for (int e = 0; e < r->nepochs; e++) {
        const result_epoch *c = &r->epochs[e];
        fprintf(f, "%s{\"epoch\": %d, ", e ? ", " : "", e + 1);
        key_number(f, "lr", c->lr);
        key_number(f, "train_loss", c->train_loss);
        key_number(f, "train_accuracy", c->train_accuracy);
        key_number(f, "test_loss", c->test_loss);
        key_number(f, "test_accuracy", c->test_accuracy);
        key_number(f, "images_per_second", c->images_per_second);
        fputs("\"seconds\": ", f);
        bench_json_number(f, c->seconds, "%.6g");
        fputs("}", f);
        if (isfinite(c->images_per_second) && isfinite(c->seconds)) {
            images += c->images_per_second * c->seconds;
            seconds += c->seconds;
        }
    }
    double images_per_second = seconds > 0 ? images / seconds : NAN;
    provenance_figure fig = {
        .kind = "training", .name = r->model, .device = r->devs[0].name, .pass = "train",
        .batch = r->batch, .precision = PROVENANCE_FP32, .input = r->input, .macs = r->macs,
        .replicas = r->ndevs, .ms = 1e3 * r->batch / images_per_second, .ms_min = NAN,
        .ms_max = NAN, .images_per_second = images_per_second, .gflops = NAN, .status = "ok",
        .command = r->command};
    fputs("], \"figures\": [{", f);
    provenance_figure_keys(f, &fig);
    fputs("}]}\n", f);
}

void results_base_name(char *out, size_t size, const char *recipe, const char *device,
                       uint64_t seed)
{
    snprintf(out, size, "%s-%s-seed%llu", recipe, device, (unsigned long long)seed);
    size_t start = strlen(recipe) + 1, end = start + strlen(device);
    for (size_t i = start; i < end && out[i]; i++) {
        char c = out[i];
        bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
        if (!keep)
            out[i] = '-';
    }
}

/* ---- the curve of an unfinished run ---- */

#define CURVE_HEADER "# clnet-bench recipe curve, version 1; wall_seconds "
#define CURVE_COLUMNS "# epoch lr train_loss train_accuracy test_loss test_accuracy " \
                      "images_per_second seconds"

bool results_write_curve(const char *path, const result_epoch *epochs, int n,
                         double wall_seconds, char *err, size_t err_size)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, err_size, "cannot write %s: %s", tmp, strerror(errno));
        return false;
    }
    fprintf(f, CURVE_HEADER "%.17g\n" CURVE_COLUMNS "\n", wall_seconds);
    for (int e = 0; e < n; e++) {
        const result_epoch *c = &epochs[e];
        fprintf(f, "%d %.17g %.17g %.17g %.17g %.17g %.17g %.17g\n", e + 1, c->lr, c->train_loss,
                c->train_accuracy, c->test_loss, c->test_accuracy, c->images_per_second,
                c->seconds);
    }
    bool ok = !ferror(f);
    ok = fclose(f) == 0 && ok;
    if (ok && rename(tmp, path) != 0)
        ok = false;
    if (!ok) {
        snprintf(err, err_size, "cannot write %s: %s", path, strerror(errno));
        remove(tmp);
    }
    return ok;
}

int results_read_curve(const char *path, result_epoch *epochs, int max, double *wall_seconds,
                       char *err, size_t err_size)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, err_size, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    char line[1024];
    int n = 0, lineno = 0;
    bool ok = true;
    *wall_seconds = NAN;
    while (ok && fgets(line, sizeof line, f)) {
        lineno++;
        if (lineno == 1) {
            ok = strncmp(line, CURVE_HEADER, strlen(CURVE_HEADER)) == 0 &&
                 sscanf(line + strlen(CURVE_HEADER), "%lf", wall_seconds) == 1;
            continue;
        }
        if (line[0] == '#')
            continue;
        result_epoch c;
        int epoch;
        ok = n < max && sscanf(line, "%d %lf %lf %lf %lf %lf %lf %lf", &epoch, &c.lr,
                               &c.train_loss, &c.train_accuracy, &c.test_loss,
                               &c.test_accuracy, &c.images_per_second, &c.seconds) == 8 &&
             epoch == n + 1;
        if (ok)
            epochs[n++] = c;
    }
    fclose(f);
    if (!ok || lineno == 0) {
        snprintf(err, err_size, "%s:%d: not a curve file of clnet-bench train --recipe (or "
                 "more than %d epochs)", path, lineno, max);
        return -1;
    }
    return n;
}

/* ---- reading: the top-level keys of files results_write_json wrote ---- */

typedef struct row {
    char file[256];
    char recipe[64], device[128];
    double seed, accuracy, epochs, train_seconds;
    bool complete;
} row;

/* The text after the first "key": (top-level keys come before the epochs
 * list, so the first occurrence is the top-level one), or NULL. */
static const char *value_of(const char *text, const char *key)
{
    char pattern[80];
    snprintf(pattern, sizeof pattern, "\"%s\": ", key);
    const char *p = strstr(text, pattern);
    return p ? p + strlen(pattern) : NULL;
}

static double number_of(const char *text, const char *key)
{
    const char *v = value_of(text, key);
    return v && strncmp(v, "null", 4) != 0 ? strtod(v, NULL) : NAN;
}

/* A JSON string value without escapes (recipe and device names). */
static void string_of(const char *text, const char *key, char *out, size_t size)
{
    const char *v = value_of(text, key);
    size_t n = 0;
    if (v && *v == '"')
        for (v++; *v && *v != '"' && n + 1 < size; v++)
            out[n++] = *v == '\\' && v[1] ? *++v : *v;
    out[n] = '\0';
}

static bool read_row(const char *dir, const char *name, row *r)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    char *text = malloc(MAX_TEXT);
    size_t n = f && text ? fread(text, 1, MAX_TEXT - 1, f) : 0;
    if (f)
        fclose(f);
    if (!text || n == 0) {
        free(text);
        return false;
    }
    text[n] = '\0';
    memset(r, 0, sizeof *r);
    snprintf(r->file, sizeof r->file, "%s", name);
    string_of(text, "recipe", r->recipe, sizeof r->recipe);
    string_of(text, "device", r->device, sizeof r->device);
    r->seed = number_of(text, "seed");
    r->accuracy = number_of(text, "test_accuracy");
    r->epochs = number_of(text, "epochs_planned");
    r->train_seconds = number_of(text, "train_seconds");
    const char *c = value_of(text, "complete");
    r->complete = c && strncmp(c, "true", 4) == 0;
    free(text);
    return r->recipe[0] != '\0';
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const row *)a)->file, ((const row *)b)->file);
}

/* The mean and lowest test accuracy of the complete runs of rc on `device`
 * (NULL: on every device); returns their count. */
static int mean_of(const recipe *rc, const row *rows, int n, const char *device, double *mean,
                   double *lowest)
{
    double sum = 0;
    int count = 0;
    *lowest = INFINITY;
    for (int j = 0; j < n; j++)
        if (strcmp(rows[j].recipe, rc->name) == 0 && rows[j].complete &&
            (!device || strcmp(rows[j].device, device) == 0)) {
            sum += rows[j].accuracy;
            *lowest = fmin(*lowest, rows[j].accuracy);
            count++;
        }
    *mean = count ? sum / count : NAN;
    return count;
}

/* A mean row per device with complete runs of rc, and one over all of them
 * where they ran on more than one device (the recipe's target is a mean
 * over seeds, each seed above a floor). That row counts runs: a seed run
 * on two devices counts twice. */
static void print_mean(FILE *out, const recipe *rc, const row *rows, int n)
{
    int devices = 0;
    double mean, lowest;
    for (int i = 0; i < n; i++) {
        if (strcmp(rows[i].recipe, rc->name) != 0 || !rows[i].complete)
            continue;
        bool first = true;
        for (int j = 0; j < i; j++)
            first = first && !(strcmp(rows[j].recipe, rc->name) == 0 && rows[j].complete &&
                               strcmp(rows[j].device, rows[i].device) == 0);
        if (!first)
            continue;
        const int count = mean_of(rc, rows, n, rows[i].device, &mean, &lowest);
        fprintf(out, "| %s | %s | mean of %d seed%s | | **%.2f%%** | %.2f%% | | |\n", rc->name,
                rows[i].device, count, count == 1 ? "" : "s", 100.0 * mean, 100.0 * rc->target);
        devices++;
    }
    if (devices > 1) {
        const int count = mean_of(rc, rows, n, NULL, &mean, &lowest);
        fprintf(out, "| %s | all %d devices | mean of %d runs (lowest %.2f%%) | | **%.2f%%** | "
                     "%.2f%% | | |\n", rc->name, devices, count, 100.0 * lowest, 100.0 * mean,
                100.0 * rc->target);
    }
}

int results_reproduction_table(FILE *out, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    row *rows = calloc(MAX_FILES, sizeof *rows);
    int n = 0;
    for (struct dirent *e; rows && n < MAX_FILES && (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".json") == 0 && read_row(dir, e->d_name, &rows[n]))
            n++;
    }
    closedir(d);
    if (rows)
        qsort(rows, (size_t)n, sizeof *rows, by_name);
    fprintf(out, "| recipe | device | seed | epochs | test accuracy | published | training s "
                 "| run |\n|---|---|---|---|---|---|---|---|\n");
    const recipe *const *all = recipe_all();
    for (int k = 0; rows && all[k]; k++) {
        for (int i = 0; i < n; i++) {
            const row *r = &rows[i];
            if (strcmp(r->recipe, all[k]->name) != 0)
                continue;
            fprintf(out, "| %s | %s | %.0f | %g | %.2f%% | %.2f%% | %.0f | %s |\n", r->recipe,
                    r->device, r->seed, r->epochs, 100.0 * r->accuracy, 100.0 * all[k]->target,
                    r->train_seconds, r->complete ? "full" : "partial (shorter or subset)");
        }
        print_mean(out, all[k], rows, n);
    }
    free(rows);
    return n;
}
