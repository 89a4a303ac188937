/* report.c - the result rows of `clnet-bench ops` as a text table, CSV or one
 * JSON array, streamed so that long runs show progress. */
#include "report.h"

void report_begin(report *r, report_format format)
{
    r->format = format;
    r->rows = 0;
    if (format == REPORT_JSON) {
        printf("[");
    } else if (format == REPORT_CSV) {
        printf("layer,batch,pass,device,device_index,status,gflop,reps,ms,ms_min,ms_max,"
               "first_call_ms,gflops,note\n");
    }
    fflush(stdout);
}

void report_device(report *r, const clnet_device_info *dev, int batch, bool warm_up, int reps)
{
    if (r->format != REPORT_TEXT)
        return;
    printf("%sdevice %d: %s (batch %d; first call, %s%d timed rep%s)\n", r->rows ? "\n" : "",
           dev->index, dev->name, batch, warm_up ? "one warm-up, " : "", reps,
           reps == 1 ? "" : "s");
    printf("%-20s %9s %10s %10s %21s %9s\n", "layer", "MFLOP", "first ms", "median ms",
           "min-max ms", "GFLOP/s");
    fflush(stdout);
}

static void text_row(const report_row *row)
{
    printf("%-20s %9.1f ", row->layer, 2.0 * (double)row->macs * 1e-6);
    if (row->status != ROW_OK) {
        printf("%s: %s\n", report_status_name(row->status), row->note);
        return;
    }
    char range[48];
    snprintf(range, sizeof range, "%.3f-%.3f", row->ms_min, row->ms_max);
    printf("%10.2f %10.3f %21s %9.2f\n", row->first_ms, row->ms, range, row->gflops);
}

/* A number, or JSON null / an empty CSV field when the row has no timing. */
static void number(const report *r, const report_row *row, double v, const char *fmt)
{
    if (row->status == ROW_OK)
        printf(fmt, v);
    else if (r->format == REPORT_JSON)
        printf("null");
}

static void json_row(const report *r, const report_row *row)
{
    printf("%s\n {\"layer\": ", r->rows ? "," : "");
    bench_json_string(stdout, row->layer);
    printf(", \"batch\": %d, \"pass\": \"forward\", \"device\": ", row->batch);
    bench_json_string(stdout, row->device);
    printf(", \"device_index\": %d, \"status\": \"%s\", \"macs\": %llu, \"gflop\": %.6f, "
           "\"reps\": %d", row->device_index, report_status_name(row->status),
           (unsigned long long)row->macs, 2.0 * (double)row->macs * 1e-9, row->reps);
    printf(", \"ms\": ");
    number(r, row, row->ms, "%.4f");
    printf(", \"ms_min\": ");
    number(r, row, row->ms_min, "%.4f");
    printf(", \"ms_max\": ");
    number(r, row, row->ms_max, "%.4f");
    printf(", \"first_call_ms\": ");
    number(r, row, row->first_ms, "%.4f");
    printf(", \"gflops\": ");
    number(r, row, row->gflops, "%.3f");
    printf(", \"note\": ");
    bench_json_string(stdout, row->note);
    printf("}");
}

static void csv_row(const report *r, const report_row *row)
{
    bench_csv_field(stdout, row->layer);
    printf(",%d,forward,", row->batch);
    bench_csv_field(stdout, row->device);
    printf(",%d,%s,%.6f,%d,", row->device_index, report_status_name(row->status),
           2.0 * (double)row->macs * 1e-9, row->reps);
    number(r, row, row->ms, "%.4f");
    printf(",");
    number(r, row, row->ms_min, "%.4f");
    printf(",");
    number(r, row, row->ms_max, "%.4f");
    printf(",");
    number(r, row, row->first_ms, "%.4f");
    printf(",");
    number(r, row, row->gflops, "%.3f");
    printf(",");
    bench_csv_field(stdout, row->note);
    printf("\n");
}

void report_add(report *r, const report_row *row)
{
    if (r->format == REPORT_JSON)
        json_row(r, row);
    else if (r->format == REPORT_CSV)
        csv_row(r, row);
    else
        text_row(row);
    r->rows++;
    fflush(stdout);
}

void report_end(report *r)
{
    if (r->format == REPORT_JSON)
        printf("\n]\n");
    fflush(stdout);
}

const char *report_status_name(row_status status)
{
    switch (status) {
    case ROW_OK: return "ok";
    case ROW_UNSUPPORTED: return "unsupported";
    case ROW_SKIPPED: return "skipped";
    case ROW_FAILED: return "failed";
    }
    return "?";
}
