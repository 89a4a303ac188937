/* cmd_devices.c - `clnet-bench devices`: lists every device of the registry
 * (OpenCL devices and `ref`) from the driver's description, opening none. */
#include <inttypes.h>

#include "bench.h"

static const char *const help =
    "usage: clnet-bench devices [--json]\n\n"
    "Lists every device clnet sees (OpenCL devices first, then the reference\n"
    "backend `ref`) with its index, platform, name, type, compute units, clock,\n"
    "memory sizes, fp16/fp64 support, compiler availability, OpenCL C and driver\n"
    "versions. Devices are described, not opened. The index or a name substring\n"
    "selects a device in the other commands and in CLNET_DEVICE.\n\n"
    "  --json    one JSON array of objects instead of text\n"
    "  --help    this text\n";

static const char *or_dash(const char *s)
{
    return s[0] ? s : "-";
}

static const char *yes_no(bool b)
{
    return b ? "yes" : "no";
}

static double mib(uint64_t bytes)
{
    return (double)bytes / (1024.0 * 1024.0);
}

static void print_text(const clnet_device_info *d)
{
    printf("%d: %s\n", d->index, d->name);
    printf("   platform          %s\n", or_dash(d->platform));
    printf("   vendor            %s\n", or_dash(d->vendor));
    printf("   type              %s (%s)\n", or_dash(d->type),
           d->kind == CLNET_DEVICE_REF ? "reference backend" : "OpenCL");
    printf("   compute units     %" PRIu32 "\n", d->compute_units);
    printf("   max clock         %" PRIu32 " MHz\n", d->max_clock_mhz);
    printf("   global memory     %.0f MiB (largest allocation %.0f MiB)\n",
           mib(d->global_mem_bytes), mib(d->max_alloc_bytes));
    printf("   local memory      %.0f KiB\n", (double)d->local_mem_bytes / 1024.0);
    printf("   fp16 / fp64       %s / %s\n", yes_no(d->fp16), yes_no(d->fp64));
    printf("   compiler          %s\n", d->compiler_available ? "available" : "none (binaries only)");
    printf("   device version    %s\n", or_dash(d->version));
    printf("   OpenCL C version  %s\n", or_dash(d->opencl_c_version));
    printf("   driver version    %s\n", or_dash(d->driver_version));
}

static void json_field(const char *key, const char *value, bool last)
{
    printf("\"%s\": ", key);
    bench_json_string(stdout, value);
    printf(last ? "" : ", ");
}

static void print_json(const clnet_device_info *d)
{
    printf("{\"index\": %d, ", d->index);
    json_field("kind", d->kind == CLNET_DEVICE_REF ? "ref" : "opencl", false);
    json_field("name", d->name, false);
    json_field("vendor", d->vendor, false);
    json_field("platform", d->platform, false);
    json_field("type", d->type, false);
    json_field("version", d->version, false);
    json_field("opencl_c_version", d->opencl_c_version, false);
    json_field("driver_version", d->driver_version, false);
    printf("\"compute_units\": %" PRIu32 ", \"max_clock_mhz\": %" PRIu32 ", ",
           d->compute_units, d->max_clock_mhz);
    printf("\"global_mem_bytes\": %" PRIu64 ", \"max_alloc_bytes\": %" PRIu64 ", "
           "\"local_mem_bytes\": %" PRIu64 ", \"max_work_group_size\": %zu, ",
           d->global_mem_bytes, d->max_alloc_bytes, d->local_mem_bytes, d->max_work_group_size);
    printf("\"fp16\": %s, \"fp64\": %s, \"compiler_available\": %s}",
           d->fp16 ? "true" : "false", d->fp64 ? "true" : "false",
           d->compiler_available ? "true" : "false");
}

int bench_cmd_devices(int argc, char **argv)
{
    bench_opts o = {.cmd = "devices", .argc = argc, .argv = argv};
    bool json = false;
    for (o.i = 1; o.i < argc; o.i++) {
        if (bench_opt_flag(&o, "--help")) {
            fputs(help, stdout);
            return BENCH_EXIT_OK;
        } else if (bench_opt_flag(&o, "--json")) {
            json = true;
        } else {
            return bench_usage_error(o.cmd, "unknown option '%s'", argv[o.i]);
        }
    }
    clnet_ctx *ctx = bench_ctx_new(o.cmd);
    if (!ctx)
        return BENCH_EXIT_FAIL;
    int rc = BENCH_EXIT_OK;
    int n = clnet_device_count(ctx);
    if (json)
        printf("[");
    for (int i = 0; i < n; i++) {
        clnet_device_info info;
        clnet_status st = clnet_device_describe(ctx, i, &info);
        if (st != CLNET_OK) {
            rc = bench_fail(o.cmd, ctx, st, "cannot describe a device");
            break;
        }
        if (json) {
            printf(i ? ",\n " : "\n ");
            print_json(&info);
        } else {
            print_text(&info);
        }
    }
    if (json)
        printf("\n]\n");
    clnet_ctx_free(ctx);
    return rc;
}
