/* report.c - the result rows of `clnet-bench ops` as a text table, CSV, a
 * results JSON object or a Markdown table, streamed so that long runs show
 * progress. */
#include <math.h>
#include <string.h>

#include "provenance.h"
#include "report.h"

void report_begin(report *r, report_format format, const char *command, const char *baseline,
                  bool floor)
{
    r->format = format;
    r->floor = floor;
    r->limits_ok = false;
    r->rows = 0;
    r->command = command;
    r->ndevs = 0;
    r->baseline = baseline;
    r->baseline_threads = 0;
    if (format == REPORT_JSON) {
        printf("{\"figures\": [");
    } else if (format == REPORT_CSV) {
        printf("layer,batch,pass,device,device_index,status,gflop,reps,ms,ms_min,ms_max,"
               "first_call_ms,gflops,note%s%s%s\n",
               baseline ? ",baseline,baseline_ms,baseline_ms_min,baseline_ms_max,"
                          "baseline_gflops,ratio,baseline_impl,baseline_note" : "",
               floor ? ",floor_ms,launch_ms,fma_gflops" : "",
               floor && baseline ? ",best_ratio" : "");
    }
    fflush(stdout);
}

/* The baseline's name as people write it. */
static const char *baseline_title(const report *r)
{
    return strcmp(r->baseline, "onednn") == 0 ? "oneDNN" : r->baseline;
}

/* The floor's definition with the device's measured limits, or why there
 * are none. */
static void print_limits(const report *r)
{
    if (r->limits_ok)
        printf("floor = launch round trip %.4f ms + the FLOP of the taps inside the input "
               "(a quarter for Winograd's 3x3 layers) at %.1f GFLOP/s (multiply-add peak, "
               "float%d), both measured before the rows", r->limits.launch_ms,
               r->limits.fma_gflops, r->limits.fma_width);
    else
        printf("no floor: limits are measured on OpenCL devices only");
}

/* "R timed reps", or with a minimum time "at least R timed reps and T ms". */
static void print_reps(const bench_reps *rule)
{
    if (rule->min_ms > 0)
        printf("at least %d timed rep%s and %g ms, at most %d", rule->reps,
               rule->reps == 1 ? "" : "s", rule->min_ms, BENCH_MAX_REPS);
    else
        printf("%d timed rep%s", rule->reps, rule->reps == 1 ? "" : "s");
}

static void markdown_device(const report *r, const clnet_device_info *dev, int batch,
                            bool warm_up, const bench_reps *rule)
{
    printf("%s**device %d: %s** (batch %d; %s", r->rows ? "\n" : "", dev->index, dev->name,
           batch, warm_up ? "one warm-up, " : "");
    print_reps(rule);
    if (r->baseline)
        printf("; %s on the host CPU with %d thread%s", baseline_title(r), r->baseline_threads,
               r->baseline_threads == 1 ? "" : "s");
    if (r->floor) {
        printf("; ");
        print_limits(r);
    }
    printf(")\n\n| layer | pass | GFLOP | clnet ms | min-max ms | clnet GFLOP/s |");
    if (r->baseline)
        printf(" %s ms | %s min-max ms | %s GFLOP/s | clnet / %s |", baseline_title(r),
               baseline_title(r), baseline_title(r), baseline_title(r));
    if (r->floor)
        printf(" floor ms |");
    if (r->floor && r->baseline)
        printf(" best clnet / %s |", baseline_title(r));
    printf("\n|---|---|--:|--:|--:|--:|%s%s%s\n", r->baseline ? "--:|--:|--:|--:|" : "",
           r->floor ? "--:|" : "", r->floor && r->baseline ? "--:|" : "");
}

void report_device(report *r, const clnet_device_info *dev, int batch, bool warm_up,
                   const bench_reps *rule, const clnet_opencl_limits *limits)
{
    r->limits_ok = limits != NULL;
    if (limits)
        r->limits = *limits;
    if (r->ndevs < REPORT_MAX_DEVICES)
        r->devs[r->ndevs++] = *dev;
    if (r->format == REPORT_MARKDOWN)
        markdown_device(r, dev, batch, warm_up, rule);
    if (r->format != REPORT_TEXT) {
        fflush(stdout);
        return;
    }
    printf("%sdevice %d: %s (batch %d; first call, %s", r->rows ? "\n" : "", dev->index,
           dev->name, batch, warm_up ? "one warm-up, " : "");
    print_reps(rule);
    printf(")\n");
    if (r->baseline)
        printf("baseline: %s on the host CPU with %d thread%s, timed the same way; "
               "ratio = clnet / %s\n", baseline_title(r), r->baseline_threads,
               r->baseline_threads == 1 ? "" : "s", baseline_title(r));
    if (r->floor) {
        print_limits(r);
        printf("%s\n", r->baseline && r->limits_ok
                           ? "; best = base ms / floor ms, the most ratio can reach"
                           : "");
    }
    printf("%-20s %-8s %9s %10s %10s %21s %9s", "layer", "pass", "MFLOP", "first ms", "median ms",
           "min-max ms", "GFLOP/s");
    if (r->baseline)
        printf(" %10s %9s %7s", "base ms", "base GF/s", "ratio");
    if (r->floor)
        printf(" %9s", "floor ms");
    if (r->floor && r->baseline)
        printf(" %7s", "best");
    printf("\n");
    fflush(stdout);
}

static void text_row(const report *r, const report_row *row)
{
    printf("%-20s %-8s %9.1f ", row->layer, row->pass, 2.0 * (double)row->macs * 1e-6);
    if (row->status != ROW_OK) {
        printf("%s: %s\n", report_status_name(row->status), row->note);
        return;
    }
    char range[48];
    snprintf(range, sizeof range, "%.3f-%.3f", row->ms_min, row->ms_max);
    printf("%10.2f %10.3f %21s %9.2f", row->first_ms, row->ms, range, row->gflops);
    if (r->baseline && row->baseline_ok)
        printf(" %10.3f %9.2f %7.3f", row->baseline_ms, row->baseline_gflops, row->ratio);
    if (r->floor && row->floor_ok)
        printf(" %9.3f", row->floor_ms);
    if (r->floor && row->floor_ok && r->baseline && row->baseline_ok)
        printf(" %7.3f", row->best_ratio);
    if (r->baseline && !row->baseline_ok)
        printf(" %s: %s", baseline_title(r), row->baseline_note);
    printf("\n");
}

static void markdown_row(const report *r, const report_row *row)
{
    printf("| %s | %s | %.3f |", row->layer, row->pass, 2.0 * (double)row->macs * 1e-9);
    if (row->status != ROW_OK) {
        printf(" %s | | |%s%s%s\n", report_status_name(row->status),
               r->baseline ? " | | | |" : "", r->floor ? " |" : "",
               r->floor && r->baseline ? " |" : "");
        return;
    }
    printf(" %.3f | %.3f-%.3f | %.1f |", row->ms, row->ms_min, row->ms_max, row->gflops);
    if (r->baseline && row->baseline_ok)
        printf(" %.3f | %.3f-%.3f | %.1f | %.3f |", row->baseline_ms, row->baseline_ms_min,
               row->baseline_ms_max, row->baseline_gflops, row->ratio);
    else if (r->baseline)
        printf(" failed | | | |");
    if (r->floor && row->floor_ok)
        printf(" %.3f |", row->floor_ms);
    else if (r->floor)
        printf(" |");
    if (r->floor && r->baseline && row->floor_ok && row->baseline_ok)
        printf(" %.3f |", row->best_ratio);
    else if (r->floor && r->baseline)
        printf(" |");
    printf("\n");
}

/* A number, or JSON null / an empty CSV field when the row has no timing. */
static void number(const report *r, const report_row *row, double v, const char *fmt)
{
    if (row->status == ROW_OK)
        printf(fmt, v);
    else if (r->format == REPORT_JSON)
        printf("null");
}

/* A baseline number: null unless both clnet and the baseline were timed. */
static void baseline_number(const report *r, const report_row *row, double v, const char *fmt)
{
    if (row->status == ROW_OK && row->baseline_ok)
        printf(fmt, v);
    else if (r->format == REPORT_JSON)
        printf("null");
}

/* A floor number: null (JSON) or empty (CSV) where the device has none,
 * and best_ratio also where the baseline was not timed. */
static void floor_number(const report *r, const report_row *row, bool needs_baseline, double v,
                         const char *fmt)
{
    if (row->status == ROW_OK && row->floor_ok && (!needs_baseline || row->baseline_ok))
        printf(fmt, v);
    else if (r->format == REPORT_JSON)
        printf("null");
}

/* The floor's fields of a row, `, "key": value` in JSON and `,value` in
 * CSV: best_ratio only beside a baseline. */
static void floor_fields(const report *r, const report_row *row)
{
    static const char *const keys[] = {"floor_ms", "launch_ms", "fma_gflops", "best_ratio"};
    static const char *const formats[] = {"%.4f", "%.4f", "%.1f", "%.4f"};
    const double values[] = {row->floor_ms, r->limits.launch_ms, r->limits.fma_gflops,
                             row->best_ratio};
    for (int i = 0; i < (r->baseline ? 4 : 3); i++) {
        if (r->format == REPORT_JSON)
            printf(", \"%s\": ", keys[i]);
        else
            printf(",");
        floor_number(r, row, i == 3, values[i], formats[i]);
    }
}

static void json_baseline(const report *r, const report_row *row)
{
    printf(", \"baseline\": ");
    bench_json_string(stdout, r->baseline);
    printf(", \"baseline_ms\": ");
    baseline_number(r, row, row->baseline_ms, "%.4f");
    printf(", \"baseline_ms_min\": ");
    baseline_number(r, row, row->baseline_ms_min, "%.4f");
    printf(", \"baseline_ms_max\": ");
    baseline_number(r, row, row->baseline_ms_max, "%.4f");
    printf(", \"baseline_gflops\": ");
    baseline_number(r, row, row->baseline_gflops, "%.3f");
    printf(", \"ratio\": ");
    baseline_number(r, row, row->ratio, "%.4f");
    printf(", \"baseline_impl\": ");
    bench_json_string(stdout, row->baseline_impl ? row->baseline_impl : "");
    printf(", \"baseline_note\": ");
    bench_json_string(stdout, row->baseline_note ? row->baseline_note : "");
}

static void json_row(const report *r, const report_row *row)
{
    bool ok = row->status == ROW_OK;
    char input[48] = "?";
    const bench_layer *layer = bench_layer_find(row->layer);
    if (layer)
        bench_layer_input(layer, input, sizeof input);
    /* MACs per image of the forward pass: the condition compare matches on */
    provenance_figure fig = {
        .kind = "layer", .name = row->layer, .device = row->device, .pass = row->pass,
        .batch = row->batch, .precision = PROVENANCE_FP32, .input = input,
        .macs = row->batch > 0 ? (int64_t)(row->macs / (uint64_t)row->batch) : 0,
        .replicas = 1, .reps = row->reps, .ms = ok ? row->ms : NAN,
        .ms_min = ok ? row->ms_min : NAN, .ms_max = ok ? row->ms_max : NAN,
        .images_per_second = ok ? row->batch / (row->ms * 1e-3) : NAN,
        .gflops = ok ? row->gflops : NAN, .status = report_status_name(row->status),
        .command = r->command ? r->command : ""};
    printf("%s\n {", r->rows ? "," : "");
    provenance_figure_keys(stdout, &fig);
    printf(", \"layer\": ");
    bench_json_string(stdout, row->layer);
    printf(", \"device_index\": %d, \"gflop\": %.6f, \"first_call_ms\": ", row->device_index,
           2.0 * (double)row->macs * 1e-9);
    number(r, row, row->first_ms, "%.4f");
    printf(", \"note\": ");
    bench_json_string(stdout, row->note);
    if (r->baseline)
        json_baseline(r, row);
    if (r->floor)
        floor_fields(r, row);
    printf("}");
}

static void csv_row(const report *r, const report_row *row)
{
    bench_csv_field(stdout, row->layer);
    printf(",%d,%s,", row->batch, row->pass);
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
    if (r->baseline) {
        printf(",%s,", r->baseline);
        baseline_number(r, row, row->baseline_ms, "%.4f");
        printf(",");
        baseline_number(r, row, row->baseline_ms_min, "%.4f");
        printf(",");
        baseline_number(r, row, row->baseline_ms_max, "%.4f");
        printf(",");
        baseline_number(r, row, row->baseline_gflops, "%.3f");
        printf(",");
        baseline_number(r, row, row->ratio, "%.4f");
        printf(",");
        bench_csv_field(stdout, row->baseline_impl ? row->baseline_impl : "");
        printf(",");
        bench_csv_field(stdout, row->baseline_note ? row->baseline_note : "");
    }
    if (r->floor)
        floor_fields(r, row);
    printf("\n");
}

void report_add(report *r, const report_row *row)
{
    if (r->format == REPORT_JSON)
        json_row(r, row);
    else if (r->format == REPORT_CSV)
        csv_row(r, row);
    else if (r->format == REPORT_MARKDOWN)
        markdown_row(r, row);
    else
        text_row(r, row);
    r->rows++;
    fflush(stdout);
}

void report_end(report *r)
{
    if (r->format == REPORT_JSON) {
        printf("\n], ");
        provenance_write(stdout, r->command ? r->command : "", r->devs, r->ndevs);
        printf("}\n");
    }
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
