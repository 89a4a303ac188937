/* provenance.c - the keys that make a results JSON self-describing, and the
 * figures with their measurement conditions (see provenance.h). */
#define _DEFAULT_SOURCE     /* getloadavg */
#include <math.h>
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

static void key_string(FILE *f, const char *key, const char *value)
{
    fprintf(f, "\"%s\": ", key);
    bench_json_string(f, value);
    fputs(", ", f);
}

static void number(FILE *f, double v, const char *fmt)
{
    if (isfinite(v))
        fprintf(f, fmt, v);
    else
        fputs("null", f);
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
    key_string(f, "name", d->name);
    fprintf(f, "\"index\": %d, ", d->index);
    key_string(f, "type", d->type);
    key_string(f, "platform", d->platform);
    key_string(f, "vendor", d->vendor);
    key_string(f, "driver", d->driver_version);
    key_string(f, "opencl_version", d->version);
    key_string(f, "opencl_c_version", d->opencl_c_version);
    fprintf(f, "\"compute_units\": %u, \"max_clock_mhz\": %u, \"global_mem_bytes\": %llu, "
               "\"fp16\": %s}", d->compute_units, d->max_clock_mhz,
            (unsigned long long)d->global_mem_bytes, d->fp16 ? "true" : "false");
}

void provenance_write(FILE *f, const char *command, const clnet_device_info *devs, int ndevs)
{
    char date[32];
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    key_string(f, "schema", PROVENANCE_SCHEMA);
    key_string(f, "command", command);
    key_string(f, "clnet_version", clnet_version());
    key_string(f, "clnet_commit", BENCH_GIT_COMMIT);
    key_string(f, "date", date);
    write_host(f);
    fputs("\"device\": \"", f);
    for (int i = 0; i < ndevs; i++) {
        /* names carry no quotes or backslashes; escape all the same */
        char name[sizeof devs[i].name];
        size_t n = 0;
        for (const char *p = devs[i].name; *p && n + 1 < sizeof name; p++)
            name[n++] = *p == '"' || *p == '\\' || (unsigned char)*p < 0x20 ? '?' : *p;
        name[n] = '\0';
        fprintf(f, "%s%s", i ? " + " : "", name);
    }
    fputs("\", \"hardware\": [", f);
    for (int i = 0; i < ndevs; i++) {
        fputs(i ? ", " : "", f);
        write_device(f, &devs[i]);
    }
    fputs("]", f);
}

void provenance_figure_keys(FILE *f, const provenance_figure *g)
{
    key_string(f, "kind", g->kind);
    key_string(f, "name", g->name);
    key_string(f, "device", g->device);
    key_string(f, "pass", g->pass);
    fprintf(f, "\"batch\": %d, ", g->batch);
    key_string(f, "precision", g->precision);
    key_string(f, "input", g->input);
    fprintf(f, "\"macs\": %lld, \"replicas\": %d, \"reps\": %d, \"ms\": ", (long long)g->macs,
            g->replicas, g->reps);
    number(f, g->ms, "%.4f");
    fputs(", \"ms_min\": ", f);
    number(f, g->ms_min, "%.4f");
    fputs(", \"ms_max\": ", f);
    number(f, g->ms_max, "%.4f");
    fputs(", \"images_per_second\": ", f);
    number(f, g->images_per_second, "%.3f");
    fputs(", \"gflops\": ", f);
    number(f, g->gflops, "%.3f");
    fputs(", ", f);
    key_string(f, "status", g->status);
    fputs("\"command\": ", f);
    bench_json_string(f, g->command);
}
