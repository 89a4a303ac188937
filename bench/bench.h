/* bench.h - what the subcommands of clnet-bench share: exit codes, option
 * parsing, error reporting, JSON/CSV text escaping and the standard layer suite. */
#ifndef CLNET_BENCH_H
#define CLNET_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "clnet.h"

/* Exit codes of every subcommand. */
enum {
    BENCH_EXIT_OK = 0,
    BENCH_EXIT_FAIL = 1,    /* a clnet call failed at run time */
    BENCH_EXIT_USAGE = 2    /* unknown subcommand or option, bad or missing value */
};

/* A subcommand: `argv[0]` is the subcommand's name. Returns an exit code. */
int bench_cmd_devices(int argc, char **argv);
int bench_cmd_compile(int argc, char **argv);
int bench_cmd_ops(int argc, char **argv);
int bench_cmd_tune(int argc, char **argv);
int bench_cmd_evolve(int argc, char **argv);
int bench_cmd_compare(int argc, char **argv);
int bench_cmd_scale(int argc, char **argv);
int bench_cmd_es_compare(int argc, char **argv);
int bench_cmd_visualize(int argc, char **argv);

/* Prints "clnet-bench CMD: <message> (see 'clnet-bench CMD --help')" on
 * stderr and returns BENCH_EXIT_USAGE. */
int bench_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "clnet-bench CMD: WHAT: <status text>: <last error>" on stderr and
 * returns BENCH_EXIT_FAIL. ctx may be NULL. */
int bench_fail(const char *cmd, clnet_ctx *ctx, clnet_status st, const char *what);

/* Option matching over argv. An option with a value may be written
 * "--name value" or "--name=value". */
typedef struct bench_opts {
    const char *cmd;     /* subcommand name, for messages */
    int argc;
    char **argv;
    int i;               /* index of the argument being parsed */
    bool error;          /* set when a value was missing (already reported) */
} bench_opts;

/* The option loop of a subcommand: hands each argument after argv[0] to
 * parse_one (with `ctx`, the subcommand's options), which consumes it and
 * any value through bench_opt_flag/bench_opt_value or reports a usage error;
 * "--help" sets *help and stops the loop. Returns BENCH_EXIT_OK, or the
 * first other code parse_one returned. */
int bench_parse_args(const char *cmd, int argc, char **argv,
                     int (*parse_one)(bench_opts *o, void *ctx), void *ctx, bool *help);

/* True when argv[i] is the flag "--name" (no value allowed). */
bool bench_opt_flag(bench_opts *o, const char *name);

/* True when argv[i] is "--name" with a value; *value then points at it and
 * o->i has moved past a separate value argument. A missing value is reported
 * and sets o->error (the call then returns true with *value NULL). */
bool bench_opt_value(bench_opts *o, const char *name, const char **value);

/* The most timed repetitions a measuring subcommand accepts. */
#define BENCH_MAX_REPS 1000

/* How many timed repetitions a measurement takes: at least `reps` (1 or
 * more), then more until their times add up to `min_ms`, never more than
 * BENCH_MAX_REPS. */
typedef struct bench_reps {
    int reps;
    double min_ms;
} bench_reps;

/* The median and range of a measurement's timed repetitions. */
typedef struct bench_times {
    int reps;
    double ms, ms_min, ms_max;
} bench_times;

/* One timed repetition: runs it, waits for it and stores its time in *ms;
 * false on failure (the callee keeps the error). */
typedef bool (*bench_rep_fn)(void *arg, double *ms);

/* The median of v[0, n), n >= 1, sorting v in place. */
double bench_median(double *v, int n);

/* Times repetitions of `rep` as `rule` says into *out; false as soon as
 * one fails. */
bool bench_time_reps(const bench_reps *rule, bench_rep_fn rep, void *arg, bench_times *out);

/* The options every measuring subcommand (ops, tune, run) shares: --batch
 * B, --reps R, --device D. True when argv[i] was one of them; *batch, *reps
 * and *selector are then updated, or a bad value is reported and o->error
 * set. */
bool bench_opt_timing(bench_opts *o, long *batch, long *reps, const char **selector);

/* Parses a decimal integer in [lo, hi]; reports a bad value and returns
 * false otherwise. */
bool bench_parse_int(const char *cmd, const char *opt, const char *text, long lo, long hi,
                     long *out);

/* Writes `s` as a JSON string literal (quotes included). */
void bench_json_string(FILE *f, const char *s);

/* Writes `"key": "value", ` (a NULL value as ""), for an object's members. */
void bench_json_key_string(FILE *f, const char *key, const char *value);

/* Writes v with the printf format fmt, or null when v is NaN or infinite
 * (JSON has no such numbers). */
void bench_json_number(FILE *f, double v, const char *fmt);

/* Writes `s` as one CSV field, quoted when it holds a comma, quote or newline. */
void bench_csv_field(FILE *f, const char *s);

/* Creates a context; on failure reports it and returns NULL. */
clnet_ctx *bench_ctx_new(const char *cmd);

/* Milliseconds on the monotonic clock (CLOCK_MONOTONIC): for intervals. */
double bench_now_ms(void);

/* A batch of random data for timing runs, the same for a seed on every
 * machine: x (images * image_numel floats) uniform in [-1, 1), then
 * labels (images values) uniform in [0, classes), from one splitmix64
 * stream started at `seed`. */
void bench_random_batch(uint64_t seed, size_t images, size_t image_numel, int64_t classes,
                        float *x, int32_t *labels);

/* The standard layer suite: forward convolution and linear layers of
 * well-known networks, NCHW float32. Shapes are given; MACs are derived. */
typedef struct bench_layer {
    const char *name;
    bool linear;         /* fully connected: c inputs -> k outputs */
    int c, k;            /* input and output channels (features) */
    int h, w;            /* input plane */
    int kernel, stride, pad, groups;
} bench_layer;

extern const bench_layer bench_layers[];
extern const int bench_layer_count;

/* The layer called `name`, or NULL. */
const bench_layer *bench_layer_find(const char *name);

/* One image's input of a layer as results files write it: "CxHxW", or the
 * features of a linear layer. */
void bench_layer_input(const bench_layer *layer, char *out, size_t size);

/* The op, and the shapes of x, w, b and y, of a layer at batch `batch`.
 * y's shape comes from clnet_op_output_shapes, so a suite entry the library
 * rejects is reported rather than guessed. */
typedef struct bench_layer_setup {
    clnet_op op;
    clnet_shape x, w, b, y;
    uint64_t macs;       /* multiply-accumulates of one forward pass */
} bench_layer_setup;

clnet_status bench_layer_prepare(clnet_ctx *ctx, const bench_layer *layer, int batch,
                                 bench_layer_setup *out);

#endif
