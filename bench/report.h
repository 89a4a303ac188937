/* report.h - output of `clnet-bench ops`: one row per (device, layer), as a
 * text table, CSV or a JSON array. */
#ifndef CLNET_BENCH_REPORT_H
#define CLNET_BENCH_REPORT_H

#include "bench.h"

typedef enum report_format {
    REPORT_TEXT = 0,
    REPORT_CSV,
    REPORT_JSON
} report_format;

typedef enum row_status {
    ROW_OK = 0,        /* timed */
    ROW_UNSUPPORTED,   /* clnet_op_supported said no: not a failure */
    ROW_SKIPPED,       /* left out on purpose (too slow for ref) */
    ROW_FAILED         /* a clnet call failed; the note says which */
} row_status;

typedef struct report_row {
    const char *layer;
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
} report_row;

typedef struct report {
    report_format format;
    int rows;
} report;

void report_begin(report *r, report_format format);
/* Starts the table of one device (text format only). */
void report_device(report *r, const clnet_device_info *dev, int batch, bool warm_up, int reps);
void report_add(report *r, const report_row *row);
void report_end(report *r);
const char *report_status_name(row_status status);

#endif
