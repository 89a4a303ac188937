/* cl_tune_table.c - the tuning table of convolution algorithms: what
 * clnet_opencl_tune_conv measured (cl_tune.c), kept per device next to the
 * program cache as a small versioned text file, and looked up by AUTO
 * convolutions. */
#include "opencl/cl_algo.h"
#include "opencl/cl_program.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TABLE_MAGIC "clnet tuning table 1"
/* n c h w k oh ow kh kw stride_h stride_w pad_h pad_w dil_h dil_w groups */
#define KEY_LEN 16
#define NAME_MAX_LEN 32

typedef struct tune_entry {
    int64_t key[KEY_LEN];
    char algo[NAME_MAX_LEN];
    double ms;
} tune_entry;

struct clnet_cl_tuning {
    tune_entry *entries;
    int count, cap;
};

static void geom_key(const clnet_conv_geom *g, int64_t *key)
{
    const int64_t k[KEY_LEN] = {g->n, g->c, g->h, g->w, g->k, g->oh, g->ow, g->kh, g->kw,
                                g->stride_h, g->stride_w, g->pad_h, g->pad_w, g->dil_h,
                                g->dil_w, g->groups};
    memcpy(key, k, sizeof k);
}

/* The lines after the magic that a table must carry to be this device's:
 * a table made with another driver or clnet version is not trusted. */
static void identity(const clnet_device *dev, char *buf, size_t size)
{
    snprintf(buf, size, "device: %s\ndriver: %s\nplatform: %s\nversion: %s\nclnet: %s\n",
             dev->info.name, dev->info.driver_version, dev->info.platform, dev->info.version,
             clnet_version());
}

clnet_status clnet_opencl_tuning_file(clnet_device *dev, char *path, size_t size)
{
    clnet_error_clear(dev ? dev->ctx : NULL);
    if (!dev || !path || dev->info.kind != CLNET_DEVICE_OPENCL)
        return clnet_fail(dev ? dev->ctx : NULL, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_opencl_tuning_file: not an OpenCL device");
    if (!dev->ctx->cache_dir)
        return clnet_fail(dev->ctx, CLNET_ERR_IO, "tuning table of %s: the program cache is "
                          "off, so there is no file", dev->info.name);
    char id[1024];
    identity(dev, id, sizeof id);
    int n = snprintf(path, size, "%s/tune-%016llx.txt", dev->ctx->cache_dir,
                     (unsigned long long)clnet_cl_hash64(id, strlen(id)));
    if (n < 0 || (size_t)n >= size)
        return clnet_fail(dev->ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_opencl_tuning_file: the path needs %d bytes, %zu given", n + 1,
                          size);
    return CLNET_OK;
}

/* Caller holds ctx->lock. Replaces the entry of the same shape. */
static bool table_put(clnet_cl_tuning *t, const int64_t *key, const char *algo, double ms)
{
    tune_entry *e = NULL;
    for (int i = 0; i < t->count && !e; i++)
        if (memcmp(t->entries[i].key, key, sizeof t->entries[i].key) == 0)
            e = &t->entries[i];
    if (!e) {
        tune_entry *grown = clnet_grow(t->entries, t->count, &t->cap, sizeof *grown, 32);
        if (!grown)
            return false;
        t->entries = grown;
        e = &t->entries[t->count++];
        memcpy(e->key, key, sizeof e->key);
    }
    snprintf(e->algo, sizeof e->algo, "%s", algo);
    e->ms = ms;
    return true;
}

static const clnet_cl_conv_impl *impl_named(const char *name)
{
    int n;
    const clnet_cl_conv_impl *impls = clnet_cl_conv_impls(&n);
    for (int i = 0; i < n; i++)
        if (strcmp(impls[i].name, name) == 0)
            return &impls[i];
    return NULL;
}

static bool known_algo(const char *name)
{
    return impl_named(name) != NULL;
}

/* Parses one "conv <16 integers> <algorithm> <ms>" line. */
static bool parse_entry(const char *line, int64_t *key, char *algo, double *ms)
{
    const char *p = line;
    if (strncmp(p, "conv ", 5) != 0)
        return false;
    p += 5;
    for (int i = 0; i < KEY_LEN; i++) {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || v < 0)
            return false;
        key[i] = v;
        p = end;
    }
    int used = 0;
    if (sscanf(p, " %31s %lf %n", algo, ms, &used) != 2 || p[used] != '\0')
        return false;
    return known_algo(algo) && isfinite(*ms) && *ms >= 0.0;
}

/* Reads the file into `t`; a missing file is an empty table, a foreign or
 * damaged one is ignored with a warning (it can only cost speed, never
 * correctness: every named algorithm is checked against the shape). */
static void table_read(clnet_device *dev, clnet_cl_tuning *t, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char want[1024], head[1024] = "", line[512];
    identity(dev, want, sizeof want);
    size_t len = 0;
    bool ok = fgets(line, sizeof line, f) && strcmp(line, TABLE_MAGIC "\n") == 0;
    for (int i = 0; ok && i < 5 && fgets(line, sizeof line, f); i++)
        len += (size_t)snprintf(head + len, sizeof head - len, "%s", line);
    ok = ok && strcmp(head, want) == 0;
    int lineno = 7;
    while (ok && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        int64_t key[KEY_LEN];
        char algo[NAME_MAX_LEN];
        double ms;
        if (line[0] == '#' || line[0] == '\0')
            continue;
        if (!parse_entry(line, key, algo, &ms) || !table_put(t, key, algo, ms)) {
            clnet_log(dev->ctx, CLNET_LOG_WARN, "tuning table %s: line %d is malformed; "
                      "ignoring the rest of the file", path, lineno);
            break;
        }
        lineno++;
    }
    if (!ok)
        clnet_log(dev->ctx, CLNET_LOG_WARN, "tuning table %s belongs to another device, driver "
                  "or clnet version; ignored", path);
    fclose(f);
}

/* Caller holds ctx->lock. The table, read from disk on first use. */
static clnet_cl_tuning *table_of(clnet_device *dev)
{
    clnet_cl_device *cl = clnet_cl(dev);
    if (cl->tuning)
        return cl->tuning;
    cl->tuning = calloc(1, sizeof *cl->tuning);
    char path[4096];
    if (cl->tuning && dev->ctx->cache_dir &&
        clnet_opencl_tuning_file(dev, path, sizeof path) == CLNET_OK)
        table_read(dev, cl->tuning, path);
    return cl->tuning;
}

/* Distance between batch sizes, in factors of two. */
static double batch_distance(int64_t a, int64_t b)
{
    return fabs(log2((double)a) - log2((double)b));
}

const clnet_cl_conv_impl *clnet_cl_tuned_impl(clnet_device *dev, const clnet_conv_geom *g)
{
    int64_t key[KEY_LEN];
    geom_key(g, key);
    char algo[NAME_MAX_LEN] = "";
    mtx_lock(&dev->ctx->lock);
    clnet_cl_tuning *t = table_of(dev);
    double best = INFINITY;
    for (int i = 0; t && i < t->count; i++) {
        const tune_entry *e = &t->entries[i];
        if (memcmp(e->key + 1, key + 1, (KEY_LEN - 1) * sizeof key[0]) != 0)
            continue;
        double d = batch_distance(e->key[0], key[0]);
        if (d < best) {
            best = d;
            snprintf(algo, sizeof algo, "%s", e->algo);
        }
    }
    mtx_unlock(&dev->ctx->lock);
    return impl_named(algo);
}

void clnet_cl_tuning_close(clnet_device *dev)
{
    clnet_cl_device *cl = clnet_cl(dev);
    if (cl->tuning)
        free(cl->tuning->entries);
    free(cl->tuning);
    cl->tuning = NULL;
}

static void write_entries(FILE *f, const clnet_cl_tuning *t)
{
    fprintf(f, "# conv n c h w k oh ow kh kw stride_h stride_w pad_h pad_w dil_h dil_w groups "
               "algorithm median_ms\n");
    for (int i = 0; i < t->count; i++) {
        const tune_entry *e = &t->entries[i];
        fprintf(f, "conv");
        for (int j = 0; j < KEY_LEN; j++)
            fprintf(f, " %lld", (long long)e->key[j]);
        fprintf(f, " %s %.4f\n", e->algo, e->ms);
    }
}

/* Caller holds ctx->lock. Temp file + rename, so a reader never sees half
 * a table. */
static clnet_status table_write(clnet_device *dev, const clnet_cl_tuning *t)
{
    char path[4096], tmp[4200], id[1024];
    clnet_status st = clnet_opencl_tuning_file(dev, path, sizeof path);
    if (st != CLNET_OK)
        return st;
    int err = clnet_cl_mkdir_p(dev->ctx->cache_dir);
    if (err)
        return clnet_fail(dev->ctx, CLNET_ERR_IO, "tuning table: cannot create %s: %s",
                          dev->ctx->cache_dir, strerror(err));
    snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
    int fd = mkstemp(tmp);
    FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
    if (!f) {
        err = errno;
        if (fd >= 0)
            close(fd);
        return clnet_fail(dev->ctx, CLNET_ERR_IO, "tuning table: cannot create %s: %s", tmp,
                          strerror(err));
    }
    identity(dev, id, sizeof id);
    fprintf(f, "%s\n%s", TABLE_MAGIC, id);
    write_entries(f, t);
    bool ok = !ferror(f);
    ok = fclose(f) == 0 && ok;
    if (ok && rename(tmp, path) == 0)
        return CLNET_OK;
    err = errno;
    remove(tmp);
    return clnet_fail(dev->ctx, CLNET_ERR_IO, "tuning table: cannot write %s: %s", path,
                      strerror(err));
}

clnet_status clnet_cl_tuning_record(clnet_device *dev, const clnet_conv_geom *g,
                                    const char *algo, double ms)
{
    int64_t key[KEY_LEN];
    geom_key(g, key);
    clnet_status st = CLNET_OK;
    mtx_lock(&dev->ctx->lock);
    clnet_cl_tuning *table = table_of(dev);
    bool stored = table && table_put(table, key, algo, ms);
    if (stored && dev->ctx->cache_dir)
        st = table_write(dev, table);
    mtx_unlock(&dev->ctx->lock);
    if (!stored)
        return clnet_fail(dev->ctx, CLNET_ERR_HOST_MEMORY, "tuning table: out of host memory");
    return st;
}
