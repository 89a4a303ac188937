/* provenance.c - the keys that make a results JSON self-describing, and the
 * figures with their measurement conditions (see provenance.h). */
#define _DEFAULT_SOURCE     /* getloadavg */
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "commit.h"
#include "provenance.h"

void provenance_command_line(const char *cmd, int argc, char **argv, char *out, size_t size)
{
    size_t n = (size_t)snprintf(out, size, "clnet-bench %s", cmd);
    for (int i = 1; i < argc && n < size; i++) {
        bool quote = argv[i][0] == '\0' || strpbrk(argv[i], " \t'\"$&;|<>()*?\\") != NULL;
        n += (size_t)snprintf(out + n, size - n, quote ? " '%s'" : " %s", argv[i]);
    }
}

static void write_host(FILE *f)
{
    double load[3];
    int nload = getloadavg(load, 3);
    struct utsname u;
    char os[256] = "";
    if (uname(&u) == 0)
        snprintf(os, sizeof os, "%s %s %s", u.sysname, u.release, u.machine);
    fprintf(f, "\"host\": {\"cpus\": %ld, \"os\": ", sysconf(_SC_NPROCESSORS_ONLN));
    bench_json_string(f, os);
    fputs(", \"load_average\": ", f);
    if (nload == 3)
        fprintf(f, "[%.2f, %.2f, %.2f]", load[0], load[1], load[2]);
    else
        fputs("null", f);
    fputs("}, ", f);
}

static void write_device(FILE *f, const clnet_device_info *d)
{
    fputs("{", f);
    bench_json_key_string(f, "name", d->name);
    fprintf(f, "\"index\": %d, ", d->index);
    bench_json_key_string(f, "type", d->type);
    bench_json_key_string(f, "platform", d->platform);
    bench_json_key_string(f, "vendor", d->vendor);
    bench_json_key_string(f, "driver", d->driver_version);
    bench_json_key_string(f, "opencl_version", d->version);
    bench_json_key_string(f, "opencl_c_version", d->opencl_c_version);
    fprintf(f, "\"compute_units\": %u, \"max_clock_mhz\": %u, \"global_mem_bytes\": %llu, "
               "\"fp16\": %s}", d->compute_units, d->max_clock_mhz,
            (unsigned long long)d->global_mem_bytes, d->fp16 ? "true" : "false");
}

void provenance_write(FILE *f, const char *command, const clnet_device_info *devs, int ndevs)
{
    char date[32];
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    bench_json_key_string(f, "schema", PROVENANCE_SCHEMA);
    bench_json_key_string(f, "command", command);
    bench_json_key_string(f, "clnet_version", clnet_version());
    bench_json_key_string(f, "clnet_commit", BENCH_GIT_COMMIT);
    bench_json_key_string(f, "date", date);
    write_host(f);
    /* the devices' names joined by " + " */
    char names[8 * sizeof devs[0].name] = "";
    for (int i = 0; i < ndevs; i++) {
        size_t n = strlen(names);
        snprintf(names + n, sizeof names - n, "%s%s", i ? " + " : "", devs[i].name);
    }
    bench_json_key_string(f, "device", names);
    fputs("\"hardware\": [", f);
    for (int i = 0; i < ndevs; i++) {
        fputs(i ? ", " : "", f);
        write_device(f, &devs[i]);
    }
    fputs("]", f);
}

void provenance_figure_keys(FILE *f, const provenance_figure *g)
{
    bench_json_key_string(f, "kind", g->kind);
    bench_json_key_string(f, "name", g->name);
    bench_json_key_string(f, "device", g->device);
    bench_json_key_string(f, "pass", g->pass);
    fprintf(f, "\"batch\": %d, ", g->batch);
    bench_json_key_string(f, "precision", g->precision);
    bench_json_key_string(f, "input", g->input);
    fprintf(f, "\"macs\": %lld, \"replicas\": %d, \"reps\": %d, \"ms\": ", (long long)g->macs,
            g->replicas, g->reps);
    bench_json_number(f, g->ms, "%.4f");
    fputs(", \"ms_min\": ", f);
    bench_json_number(f, g->ms_min, "%.4f");
    fputs(", \"ms_max\": ", f);
    bench_json_number(f, g->ms_max, "%.4f");
    fputs(", \"images_per_second\": ", f);
    bench_json_number(f, g->images_per_second, "%.3f");
    fputs(", \"gflops\": ", f);
    bench_json_number(f, g->gflops, "%.3f");
    fputs(", ", f);
    bench_json_key_string(f, "status", g->status);
    fputs("\"command\": ", f);
    bench_json_string(f, g->command);
}
