/* report.h - output of `clnet-bench ops`: one row per (device, layer), as a
 * text table, CSV, a results JSON object (provenance.h: the rows are its
 * figures) or a Markdown table. */
#ifndef CLNET_BENCH_REPORT_H
#define CLNET_BENCH_REPORT_H

#include "bench.h"
#include "clnet/opencl.h"

typedef enum report_format {
    REPORT_TEXT = 0,
    REPORT_CSV,
    REPORT_JSON,
    REPORT_MARKDOWN
} report_format;

typedef enum row_status {
    ROW_OK = 0,        /* timed */
    ROW_UNSUPPORTED,   /* clnet_op_supported said no: not a failure */
    ROW_SKIPPED,       /* left out on purpose (too slow for ref) */
    ROW_FAILED         /* a clnet call failed; the note says which */
} row_status;

typedef struct report_row {
    const char *layer;
    const char *pass;        /* "forward" or "backward" */
    int batch;
    const char *device;
    int device_index;
    row_status status;
    const char *note;        /* why a row was not timed; "" when it was */
    uint64_t macs;
    int reps;                /* timed repetitions behind ms, ms_min, ms_max */
    double ms, ms_min, ms_max;
    double first_ms;         /* the first call, program build included */
    double gflops;           /* 2 * macs / median time */
    /* The same layer on the baseline library (`ops --baseline`), timed the
     * same way; meaningful only when the report has a baseline. */
    bool baseline_ok;        /* timed; else baseline_note says why not */
    const char *baseline_note;
    const char *baseline_impl;   /* the baseline's own name for its algorithm */
    double baseline_ms, baseline_ms_min, baseline_ms_max;
    double baseline_gflops;
    double ratio;            /* gflops / baseline_gflops */
    /* What no clnet run can beat on the device (`ops --floor`): its launch
     * round trip plus the row's FLOP at its multiply-add peak, both
     * measured (clnet_opencl_measure_limits), the FLOP of the cheapest
     * algorithm (cmd_ops.c); false where they were not measured (ref). */
    bool floor_ok;
    double floor_ms;
    double best_ratio;       /* baseline_ms / floor_ms: the most any clnet run could reach */
} report_row;

#define REPORT_MAX_DEVICES 16

typedef struct report {
    report_format format;
    int rows;
    const char *command;     /* the command line, for the JSON's provenance */
    clnet_device_info devs[REPORT_MAX_DEVICES];  /* those report_device saw, for JSON */
    int ndevs;
    const char *baseline;    /* NULL, or the baseline's name ("onednn") */
    int baseline_threads;    /* host threads the baseline uses next to the current device */
    bool floor;              /* the rows carry the floor columns */
    bool limits_ok;          /* the current device's limits were measured */
    clnet_opencl_limits limits;
} report;

/* Starts a report; `command` (the command line) is kept for JSON. With a
 * non-NULL `baseline` (its name, e.g. "onednn") the rows carry its columns,
 * with `floor` the floor's (report_row). */
void report_begin(report *r, report_format format, const char *command, const char *baseline,
                  bool floor);
/* Starts the table of one device (text and Markdown), its heading saying
 * how each row was timed: a warm-up or not, and `rule`'s repetitions, and
 * in a report with the floor the device's `limits` (NULL: not measured). */
void report_device(report *r, const clnet_device_info *dev, int batch, bool warm_up,
                   const bench_reps *rule, const clnet_opencl_limits *limits);
void report_add(report *r, const report_row *row);
void report_end(report *r);
const char *report_status_name(row_status status);

#endif
