/* provenance.h - what makes a results file travel: the keys every JSON
 * result of clnet-bench carries about where, when and with what it was
 * measured (machine, device, driver, clnet version and commit, date, host
 * load), and the "figures" list, each figure with the conditions it was
 * measured under, which `clnet-bench compare` reads. */
#ifndef CLNET_BENCH_PROVENANCE_H
#define CLNET_BENCH_PROVENANCE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "clnet.h"

/* The value of the "schema" key: a reader refuses files without it. */
#define PROVENANCE_SCHEMA "clnet-results-1"

/* The only precision clnet computes in today (float32 storage and math). */
#define PROVENANCE_FP32 "fp32"

/* "clnet-bench CMD ARG...", quoting arguments the shell would split, in at
 * most size - 1 characters: a figure's "command". */
void provenance_command_line(const char *cmd, int argc, char **argv, char *out, size_t size);

/* Writes the provenance keys, separated by ", " (none before the first or
 * after the last, so the caller writes the braces and commas around them): "schema", "command",
 * "clnet_version", "clnet_commit" (git describe of the build, "unknown"
 * outside a git checkout), "date" (UTC, ISO 8601), "host" (online CPUs and
 * the load averages when measured, the thing that makes figures of a shared
 * machine noisy), "device" (the name of devs[0], or the names joined by
 * " + ") and "hardware": one object per device with its platform, vendor,
 * driver version, OpenCL and OpenCL C versions, type, compute units, clock
 * and memory. */
void provenance_write(FILE *f, const char *command, const clnet_device_info *devs, int ndevs);

/* One measured figure and the conditions it was measured under. Two
 * figures of the same kind and name compare only when pass, batch,
 * precision, input, macs and replicas are all equal. */
typedef struct provenance_figure {
    const char *kind;        /* "layer" (ops), "model" (run), "training" (train) */
    const char *name;        /* the layer or the model */
    const char *device;      /* the device's name */
    const char *pass;        /* "forward", "backward", "train" */
    int batch;               /* the global batch */
    const char *precision;   /* PROVENANCE_FP32 */
    const char *input;       /* "CxHxW" of one image, or "N" features */
    int64_t macs;            /* multiply-accumulates of one forward pass per image */
    int replicas;            /* devices the batch was split across */
    int reps;                /* timed repetitions behind ms (0: an average over epochs) */
    double ms, ms_min, ms_max;   /* per batch: median and range; NaN when not timed */
    double images_per_second;    /* batch / ms, or the epochs' average for training */
    double gflops;               /* 2 * MACs / ms (forward; x2 for a backward), NaN if none */
    const char *status;      /* "ok", or why there is no time ("unsupported", ...) */
    const char *command;     /* the command that measured it */
} provenance_figure;

/* Writes the keys of one figure, separated by ", " (the caller writes the
 * braces, and may add keys of its own); NaN as null. */
void provenance_figure_keys(FILE *f, const provenance_figure *fig);

#endif
