/* cl_tune.c - the tuning table of convolution algorithms: measured by
 * clnet_opencl_tune_conv (event profiling, warm-up excluded, median of
 * several runs), kept per device next to the program cache as a small
 * versioned text file, and looked up by AUTO convolutions. */
#include "opencl/cl_algo.h"
#include "opencl/cl_program.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TABLE_MAGIC "clnet tuning table 1"
#define MAX_REPS 1000
/* n c h w k oh ow kh kw stride_h stride_w pad_h pad_w dil_h dil_w groups */
#define KEY_LEN 16
#define NAME_MAX_LEN 32
/* See measure(). */
#define SLOW_FACTOR 8.0
/* Rows of the algorithm table a tuning run can hold. */
#define MAX_IMPLS 16

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

static uint64_t fnv1a64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
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
                     (unsigned long long)fnv1a64(id));
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
        if (t->count == t->cap) {
            int cap = t->cap ? 2 * t->cap : 32;
            tune_entry *grown = realloc(t->entries, (size_t)cap * sizeof *grown);
            if (!grown)
                return false;
            t->entries = grown;
            t->cap = cap;
        }
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

void clnet_cl_tuning_free(clnet_cl_tuning *t)
{
    if (t)
        free(t->entries);
    free(t);
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

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static clnet_status marker(clnet_device *dev, cl_event *ev)
{
    return clnet_cl_check(dev, clEnqueueMarkerWithWaitList(clnet_cl(dev)->queue, 0, NULL, ev),
                          "clEnqueueMarkerWithWaitList");
}

/* Device time of one run: from the end of a marker queued before the op to
 * the end of one queued after it, so every launch of the algorithm counts. */
static clnet_status time_run(clnet_device *dev, const clnet_op *op, int nin,
                             clnet_tensor *const *in, clnet_tensor *y, double *ms)
{
    cl_event before = NULL, after = NULL;
    clnet_status st = marker(dev, &before);
    if (st == CLNET_OK)
        st = clnet_op_run(dev, op, nin, in, 1, &y);
    if (st == CLNET_OK)
        st = marker(dev, &after);
    if (st == CLNET_OK)
        st = clnet_cl_check(dev, clWaitForEvents(1, &after), "clWaitForEvents");
    cl_ulong t0 = 0, t1 = 0;
    if (st == CLNET_OK)
        st = clnet_cl_check(dev, clGetEventProfilingInfo(before, CL_PROFILING_COMMAND_END,
                            sizeof t0, &t0, NULL), "clGetEventProfilingInfo");
    if (st == CLNET_OK)
        st = clnet_cl_check(dev, clGetEventProfilingInfo(after, CL_PROFILING_COMMAND_END,
                            sizeof t1, &t1, NULL), "clGetEventProfilingInfo");
    if (before)
        clReleaseEvent(before);
    if (after)
        clReleaseEvent(after);
    *ms = t1 > t0 ? (double)(t1 - t0) * 1e-6 : 0.0;
    return st;
}

/* Warm-up run (builds the programs), then `reps` timed runs; after the
 * first, an algorithm already SLOW_FACTOR times slower than `best_ms` (the
 * best median so far) is not timed again: it cannot win, and the slowest
 * algorithms would otherwise take most of the tuning time. */
static clnet_status measure(clnet_device *dev, const clnet_op *op, int nin,
                            clnet_tensor *const *in, clnet_tensor *y, int reps, double best_ms,
                            clnet_opencl_tune_result *r)
{
    double times[MAX_REPS];
    clnet_status st = clnet_op_run(dev, op, nin, in, 1, &y);
    if (st == CLNET_OK)
        st = clnet_device_synchronize(dev);
    for (int i = 0; i < reps && st == CLNET_OK; i++) {
        st = time_run(dev, op, nin, in, y, &times[i]);
        if (i == 0 && times[0] > SLOW_FACTOR * best_ms)
            reps = 1;
    }
    if (st != CLNET_OK)
        return st;
    r->runs = reps;
    qsort(times, (size_t)reps, sizeof times[0], compare_double);
    r->ms_median = reps % 2 ? times[reps / 2] : 0.5 * (times[reps / 2 - 1] + times[reps / 2]);
    r->ms_min = times[0];
    r->ms_max = times[reps - 1];
    return CLNET_OK;
}

static clnet_status check_tune_args(clnet_device *dev, const clnet_op *op, int reps)
{
    if (!dev || dev->info.kind != CLNET_DEVICE_OPENCL || !dev->opened)
        return clnet_fail(dev ? dev->ctx : NULL, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_opencl_tune_conv: not an opened OpenCL device");
    if (!op || op->kind != CLNET_OP_CONV)
        return clnet_fail(dev->ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_opencl_tune_conv: the op is not a CONV");
    if (reps < 1 || reps > MAX_REPS)
        return clnet_fail(dev->ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_opencl_tune_conv: reps %d (must be 1..%d)", reps, MAX_REPS);
    cl_command_queue_properties props = 0;
    clnet_status st = clnet_cl_check(dev, clGetCommandQueueInfo(clnet_cl(dev)->queue,
                                     CL_QUEUE_PROPERTIES, sizeof props, &props, NULL),
                                     "clGetCommandQueueInfo(PROPERTIES)");
    if (st == CLNET_OK && !(props & CL_QUEUE_PROFILING_ENABLE))
        return clnet_fail(dev->ctx, CLNET_ERR_UNSUPPORTED, "tuning on %s needs a command queue "
                          "with profiling enabled (an adopted queue may lack it)",
                          dev->info.name);
    return st;
}

/* The tensors of a tuning run: inputs filled with small constants, which
 * every algorithm processes at the speed of real data. */
static clnet_status make_tensors(clnet_device *dev, const clnet_op *op, const clnet_shape *x,
                                 const clnet_shape *w, bool bias, clnet_tensor **t)
{
    clnet_shape in[3] = {*x, *w, {.ndim = 1, .dim = {w->dim[0]}}};
    clnet_dtype dt[3] = {CLNET_F32, CLNET_F32, CLNET_F32}, out_dt[CLNET_OP_MAX_OUTPUTS];
    clnet_shape out[CLNET_OP_MAX_OUTPUTS];
    int nout = 0, nin = bias ? 3 : 2;
    clnet_status st = clnet_op_output_shapes(dev->ctx, op, nin, in, dt, &nout, out, out_dt);
    const float fill[3] = {0.5f, 0.01f, 0.1f};
    for (int i = 0; i < nin && st == CLNET_OK; i++)
        if ((st = clnet_tensor_new(dev, CLNET_F32, in[i].ndim, in[i].dim, &t[i])) == CLNET_OK)
            st = clnet_tensor_fill(t[i], fill[i]);
    if (st == CLNET_OK)
        st = clnet_tensor_new(dev, CLNET_F32, out[0].ndim, out[0].dim, &t[3]);
    return st;
}

/* Times every algorithm that applies into `all` (one entry per row of the
 * table) and returns the index of the fastest, -1 if none ran. */
static clnet_status measure_all(clnet_device *dev, const clnet_op *op, clnet_tensor **t,
                                int nin, int reps, clnet_opencl_tune_result *all, int *fastest)
{
    int n;
    const clnet_cl_conv_impl *impls = clnet_cl_conv_impls(&n);
    const clnet_conv_geom g = clnet_conv_geom_of(op, t[0], t[1], t[3]);
    *fastest = -1;
    for (int i = 0; i < n; i++) {
        memset(&all[i], 0, sizeof all[i]);
        all[i].algo = impls[i].algo;
        all[i].name = impls[i].name;
    }
    /* The algorithms the static rule would pick go first, so that a good
     * time is known early and slow ones are cut short. */
    for (int k = 0; k < 2 * n; k++) {
        const int i = k % n;
        const bool first_pass = k < n;
        const bool preferred = impls[i].preferred && impls[i].preferred(dev, &g);
        if (preferred != first_pass)
            continue;
        clnet_opencl_tune_result *r = &all[i];
        /* The window is stated so that algorithms made for one window are
         * accepted by clnet_op_supported. */
        clnet_op forced = *op;
        forced.u.conv.algo = impls[i].algo;
        forced.u.conv.kernel[0] = (int)g.kh;
        forced.u.conv.kernel[1] = (int)g.kw;
        r->applies = impls[i].applies(dev, &g);
        if (!r->applies)
            continue;
        double best_ms = *fastest < 0 ? INFINITY : all[*fastest].ms_median;
        clnet_status st = measure(dev, &forced, nin, t, t[3], reps, best_ms, r);
        if (st != CLNET_OK)
            return st;
        if (*fastest < 0 || r->ms_median < all[*fastest].ms_median)
            *fastest = i;
    }
    return CLNET_OK;
}

clnet_status clnet_opencl_tune_conv(clnet_device *dev, const clnet_op *op, const clnet_shape *x,
                                    const clnet_shape *w, bool bias, int reps,
                                    clnet_opencl_tune_result *results, int max_results,
                                    int *nresults, clnet_conv_algo *best)
{
    clnet_error_clear(dev ? dev->ctx : NULL);
    clnet_status st = check_tune_args(dev, op, reps);
    if (st != CLNET_OK || !x || !w)
        return st ? st : clnet_fail(dev->ctx, CLNET_ERR_INVALID_ARGUMENT,
                                    "clnet_opencl_tune_conv: NULL shape");
    clnet_tensor *t[4] = {NULL, NULL, NULL, NULL};
    clnet_opencl_tune_result all[MAX_IMPLS];
    int n, fastest = -1;
    clnet_cl_conv_impls(&n);
    if (n > MAX_IMPLS)
        return clnet_fail(dev->ctx, CLNET_ERR_INTERNAL, "tuning: %d algorithms, room for %d", n,
                          MAX_IMPLS);
    st = make_tensors(dev, op, x, w, bias, t);
    if (st == CLNET_OK)
        st = measure_all(dev, op, t, bias ? 3 : 2, reps, all, &fastest);
    clnet_conv_geom g = {0};
    if (st == CLNET_OK)
        g = clnet_conv_geom_of(op, t[0], t[1], t[3]);
    for (int i = 0; i < 4; i++)
        clnet_tensor_free(t[i]);
    if (st != CLNET_OK)
        return st;
    int shown = results ? (n < max_results ? n : max_results) : n;
    for (int i = 0; results && i < shown; i++)
        results[i] = all[i];
    if (nresults)
        *nresults = shown < 0 ? 0 : shown;
    if (fastest < 0)
        return CLNET_OK;
    if (best)
        *best = all[fastest].algo;
    int64_t key[KEY_LEN];
    geom_key(&g, key);
    mtx_lock(&dev->ctx->lock);
    clnet_cl_tuning *table = table_of(dev);
    bool stored = table && table_put(table, key, all[fastest].name, all[fastest].ms_median);
    if (stored && dev->ctx->cache_dir)
        st = table_write(dev, table);
    mtx_unlock(&dev->ctx->lock);
    if (!stored)
        return clnet_fail(dev->ctx, CLNET_ERR_HOST_MEMORY, "tuning table: out of host memory");
    return st;
}
