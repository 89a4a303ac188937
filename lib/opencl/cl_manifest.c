/* cl_manifest.c - the manifest of a binaries directory: the clnet version,
 * device, driver, platform and kernel sources its binaries were made from.
 * Every binary's own key already refuses a mismatch, but one binary at a
 * time and as "stale"; the manifest lets binaries-only mode refuse a
 * directory made for another device, driver or clnet before the first load,
 * with both sides named. */
#include "opencl/cl_program.h"

#include "core/file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MANIFEST_FILE "manifest.txt"
#define MANIFEST_MAGIC "clnet program binaries"
#define MANIFEST_MAX_BYTES 8192

enum { F_CLNET, F_DEVICE, F_DEVICE_VERSION, F_DRIVER, F_PLATFORM, F_SOURCES, F_COUNT };

/* Field names as the file spells them, in the order written. */
static const char *const field_names[F_COUNT] = {
    "clnet", "device", "device version", "driver", "platform", "sources",
};

/* This device's values of every field. Errors as clnet_cl_sources_hash. */
static clnet_status current_fields(clnet_device *dev, char values[F_COUNT][160])
{
    uint64_t hash;
    clnet_status st = clnet_cl_sources_hash(dev, &hash);
    if (st != CLNET_OK)
        return st;
    const clnet_device_info *info = &dev->info;
    snprintf(values[F_CLNET], 160, "%s", clnet_version());
    snprintf(values[F_DEVICE], 160, "%s", info->name);
    snprintf(values[F_DEVICE_VERSION], 160, "%s", info->version);
    snprintf(values[F_DRIVER], 160, "%s", info->driver_version);
    snprintf(values[F_PLATFORM], 160, "%s", info->platform);
    snprintf(values[F_SOURCES], 160, "%016llx", (unsigned long long)hash);
    return CLNET_OK;
}

clnet_status clnet_cl_manifest_write(clnet_device *dev, const char *dir, int nprograms)
{
    clnet_ctx *ctx = dev->ctx;
    char values[F_COUNT][160];
    clnet_status st = current_fields(dev, values);
    if (st != CLNET_OK)
        return st;
    char path[4096], why[512];
    snprintf(path, sizeof path, "%s/%s", dir, MANIFEST_FILE);
    clnet_file_replace rep;
    st = clnet_file_replace_begin(&rep, path, why, sizeof why);
    if (st != CLNET_OK)
        return clnet_fail(ctx, st, "cannot write the manifest %s: %s", path, why);
    FILE *f = fdopen(dup(rep.fd), "w");
    bool ok = f != NULL;
    if (ok) {
        fprintf(f, "%s\n", MANIFEST_MAGIC);
        for (int i = 0; i < F_COUNT; i++)
            fprintf(f, "%s: %s\n", field_names[i], values[i]);
        fprintf(f, "programs: %d\n", nprograms);
        ok = fclose(f) == 0;
    }
    if (!ok) {
        int err = errno;
        clnet_file_replace_abort(&rep);
        return clnet_fail(ctx, CLNET_ERR_IO, "cannot write the manifest %s: %s", path,
                          strerror(err));
    }
    st = clnet_file_replace_commit(&rep, false, why, sizeof why);
    if (st != CLNET_OK)
        return clnet_fail(ctx, st, "cannot write the manifest %s: %s", path, why);
    return CLNET_OK;
}

/* The value of `name` in the manifest text (lines "name: value"), copied
 * into out; false when the line is missing. */
static bool field_value(const char *text, const char *name, char *out, size_t size)
{
    size_t len = strlen(name);
    for (const char *line = text; line && *line;) {
        const char *next = strchr(line, '\n');
        if (strncmp(line, name, len) == 0 && line[len] == ':' && line[len + 1] == ' ') {
            const char *v = line + len + 2;
            size_t n = next ? (size_t)(next - v) : strlen(v);
            snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), v);
            return true;
        }
        line = next ? next + 1 : NULL;
    }
    return false;
}

clnet_status clnet_cl_manifest_check(clnet_device *dev, const char *dir)
{
    clnet_ctx *ctx = dev->ctx;
    char path[4096], why[256];
    snprintf(path, sizeof path, "%s/%s", dir, MANIFEST_FILE);
    uint8_t *data;
    size_t size;
    clnet_status st = clnet_file_read(path, MANIFEST_MAX_BYTES, &data, &size, NULL, why,
                                      sizeof why);
    if (st == CLNET_ERR_HOST_MEMORY)
        return clnet_fail(ctx, st, "binaries-only mode: out of host memory reading %s", path);
    if (st != CLNET_OK)
        return clnet_fail(ctx, CLNET_ERR_NO_BINARY,
                          "binaries-only mode: no usable manifest %s (%s): %s was not made by "
                          "clnet_opencl_compile_all (clnet-bench compile)", path, why, dir);
    const char *text = (const char *)data;
    if (strncmp(text, MANIFEST_MAGIC "\n", strlen(MANIFEST_MAGIC) + 1) != 0) {
        free(data);
        return clnet_fail(ctx, CLNET_ERR_NO_BINARY,
                          "binaries-only mode: %s is not a clnet manifest (its first line is "
                          "not \"" MANIFEST_MAGIC "\")", path);
    }
    char values[F_COUNT][160];
    st = current_fields(dev, values);
    if (st != CLNET_OK) {
        free(data);
        return st;
    }
    /* Every field that differs, as "field 'theirs' (this: 'ours')". */
    char diff[2048] = "";
    size_t used = 0;
    for (int i = 0; i < F_COUNT; i++) {
        char theirs[160];
        if (!field_value(text, field_names[i], theirs, sizeof theirs))
            snprintf(theirs, sizeof theirs, "(missing)");
        if (strcmp(theirs, values[i]) == 0 || used >= sizeof diff)
            continue;
        int n = snprintf(diff + used, sizeof diff - used, "%s%s '%s' (this: '%s')",
                         used ? ", " : "", field_names[i], theirs, values[i]);
        used += n > 0 ? (size_t)n : 0;
    }
    free(data);
    if (used)
        return clnet_fail(ctx, CLNET_ERR_NO_BINARY,
                          "binaries-only mode: the binaries in %s were made for another "
                          "configuration than device %s: %s; rebuild them with clnet-bench "
                          "compile", dir, dev->info.name, diff);
    return CLNET_OK;
}
