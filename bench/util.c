/* util.c - option parsing, error reporting and text escaping shared by the
 * clnet-bench subcommands. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "compile_notice.h"

int bench_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "clnet-bench %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'clnet-bench %s --help')\n", cmd);
    return BENCH_EXIT_USAGE;
}

int bench_fail(const char *cmd, clnet_ctx *ctx, clnet_status st, const char *what)
{
    const char *detail = ctx ? clnet_last_error(ctx) : "";
    fprintf(stderr, "clnet-bench %s: %s: %s%s%s\n", cmd, what, clnet_status_str(st),
            detail[0] ? ": " : "", detail);
    return BENCH_EXIT_FAIL;
}

int bench_parse_args(const char *cmd, int argc, char **argv,
                     int (*parse_one)(bench_opts *o, void *ctx), void *ctx, bool *help)
{
    bench_opts o = {.cmd = cmd, .argc = argc, .argv = argv};
    for (o.i = 1; o.i < argc; o.i++) {
        if (bench_opt_flag(&o, "--help")) {
            *help = true;
            return BENCH_EXIT_OK;
        }
        int rc = parse_one(&o, ctx);
        if (rc != BENCH_EXIT_OK)
            return rc;
    }
    return BENCH_EXIT_OK;
}

bool bench_opt_flag(bench_opts *o, const char *name)
{
    return strcmp(o->argv[o->i], name) == 0;
}

bool bench_opt_value(bench_opts *o, const char *name, const char **value)
{
    const char *arg = o->argv[o->i];
    size_t len = strlen(name);
    if (strncmp(arg, name, len) != 0)
        return false;
    if (arg[len] == '=') {
        *value = arg + len + 1;
        return true;
    }
    if (arg[len] != '\0')
        return false;
    if (o->i + 1 >= o->argc) {
        bench_usage_error(o->cmd, "option %s needs a value", name);
        o->error = true;
        *value = NULL;
        return true;
    }
    *value = o->argv[++o->i];
    return true;
}

bool bench_parse_int(const char *cmd, const char *opt, const char *text, long lo, long hi,
                     long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < lo || v > hi) {
        bench_usage_error(cmd, "bad value '%s' for %s: expected an integer from %ld to %ld",
                          text, opt, lo, hi);
        return false;
    }
    *out = v;
    return true;
}

bool bench_opt_timing(bench_opts *o, long *batch, long *reps, const char **selector)
{
    const char *v = NULL;
    if (bench_opt_value(o, "--device", &v)) {
        *selector = v;
    } else if (bench_opt_value(o, "--batch", &v)) {
        if (v && !bench_parse_int(o->cmd, "--batch", v, 1, 65536, batch))
            o->error = true;
    } else if (bench_opt_value(o, "--reps", &v)) {
        if (v && !bench_parse_int(o->cmd, "--reps", v, 1, BENCH_MAX_REPS, reps))
            o->error = true;
    } else {
        return false;
    }
    return true;
}

void bench_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

void bench_json_key_string(FILE *f, const char *key, const char *value)
{
    fprintf(f, "\"%s\": ", key);
    bench_json_string(f, value ? value : "");
    fputs(", ", f);
}

void bench_json_number(FILE *f, double v, const char *fmt)
{
    if (isfinite(v))
        fprintf(f, fmt, v);
    else
        fputs("null", f);
}

void bench_csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            fputc('"', f);
        fputc(*p, f);
    }
    fputc('"', f);
}

clnet_ctx *bench_ctx_new(const char *cmd)
{
    clnet_ctx *ctx = NULL;
    clnet_status st = clnet_ctx_new(&ctx);
    if (st != CLNET_OK) {
        bench_fail(cmd, NULL, st, "cannot create a clnet context");
        return NULL;
    }
    compile_notice_install(ctx);
    return ctx;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], compare_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

bool bench_time_reps(const bench_reps *rule, bench_rep_fn rep, void *arg, bench_times *out)
{
    double times[BENCH_MAX_REPS], total_ms = 0.0;
    int n = 0;
    while (n < BENCH_MAX_REPS && (n < rule->reps || total_ms < rule->min_ms)) {
        if (!rep(arg, &times[n]))
            return false;
        total_ms += times[n++];
    }
    out->reps = n;
    out->ms = bench_median(times, n);
    out->ms_min = times[0];
    out->ms_max = times[n - 1];
    return true;
}

double bench_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

void bench_random_batch(uint64_t seed, size_t images, size_t image_numel, int64_t classes,
                        float *x, int32_t *labels)
{
    uint64_t state = seed;
    for (size_t i = 0; i < images * image_numel; i++)
        x[i] = 2.0f * clnet_splitmix64_float(&state) - 1.0f;
    for (size_t i = 0; i < images; i++)
        labels[i] = (int32_t)(clnet_splitmix64(&state) % (uint64_t)classes);
}
