/* cl_program.c - OpenCL programs and kernels: found or built once per
 * (device, program, options) through the disk cache or the binaries
 * directory, kernel objects reused, launches serialised on the shared lock. */
#include "opencl/cl_program.h"

#include "opencl/cl_cache_guard.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BASE_OPTIONS "-cl-std=CL1.2"
/* How much of a build log fits in the context's last-error record next to
 * the message around it; compilers put the first error first, so the head
 * is kept. */
#define BUILD_LOG_MAX 6000

/* The full build options of a program asked for with `options`. */
static bool full_options(const char *options, char *full, size_t size)
{
    int len = snprintf(full, size, "%s%s%s", BASE_OPTIONS, *options ? " " : "", options);
    return len >= 0 && (size_t)len < size;
}

typedef struct kernel_entry {
    struct kernel_entry *next;
    cl_kernel kernel;
    char name[];
} kernel_entry;

struct clnet_cl_program {
    clnet_cl_program *next;
    char *name;
    char *options;            /* the caller's options; "" for the defaults */
    cl_program program;
    clnet_cl_key key;
    kernel_entry *kernels;
};

static char *dup_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = malloc(n);
    if (copy)
        memcpy(copy, s, n);
    return copy;
}

static char *read_text_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *text = NULL;
    long size;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        text = malloc((size_t)size + 1);
        if (text && fread(text, 1, (size_t)size, f) != (size_t)size) {
            free(text);
            text = NULL;
        } else if (text) {
            text[size] = '\0';
        }
    }
    fclose(f);
    return text;
}

/* The text of `dir`/`file`, or NULL after recording why. */
static char *read_cl_file(clnet_ctx *ctx, const char *program, const char *dir,
                          const char *file)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    errno = 0;
    char *text = read_text_file(path);
    if (!text)
        clnet_fail(ctx, CLNET_ERR_IO, "program %s: cannot read %s (CLNET_CL_DIR): %s", program,
                   path, errno ? strerror(errno) : "read error");
    return text;
}

/* The source of program `name`: the embedded copy, or with CLNET_CL_DIR the
 * files on disk, read again for every build so that kernel edits take effect
 * without rebuilding the library. Either way common.clh comes first, then
 * "#line 1" and the program's own file, as cl/embed.py joins them; the
 * program cache's key covers the whole text. *owned is what the caller
 * frees. */
static clnet_status source_text(clnet_device *dev, const char *name, const char **text,
                                char **owned)
{
    clnet_ctx *ctx = dev->ctx;
    *owned = NULL;
    if (ctx->cl_source_dir) {
        char file[256];
        snprintf(file, sizeof file, "%s.cl", name);
        char *common = read_cl_file(ctx, name, ctx->cl_source_dir, "common.clh");
        char *own = common ? read_cl_file(ctx, name, ctx->cl_source_dir, file) : NULL;
        static const char line[] = "#line 1\n";
        bool read = own != NULL;
        size_t size = read ? strlen(common) + strlen(line) + strlen(own) + 1 : 0;
        char *joined = read ? malloc(size) : NULL;
        if (joined)
            snprintf(joined, size, "%s%s%s", common, line, own);
        free(common);
        free(own);
        if (!read)
            return CLNET_ERR_IO;
        if (!joined)
            return clnet_fail(ctx, CLNET_ERR_HOST_MEMORY, "program %s: out of host memory", name);
        *owned = joined;
        *text = joined;
        return CLNET_OK;
    }
    for (int i = 0; i < clnet_cl_source_count; i++) {
        if (strcmp(clnet_cl_sources[i].name, name) == 0) {
            *text = clnet_cl_sources[i].text;
            return CLNET_OK;
        }
    }
    return clnet_fail(ctx, CLNET_ERR_INTERNAL, "no OpenCL program named \"%s\" is embedded", name);
}

clnet_status clnet_cl_sources_hash(clnet_device *dev, uint64_t *hash)
{
    uint64_t h = 0;
    for (int i = 0; i < clnet_cl_source_count; i++) {
        const char *name = clnet_cl_sources[i].name, *text;
        char *owned;
        clnet_status st = source_text(dev, name, &text, &owned);
        if (st != CLNET_OK)
            return st;
        /* Each program's hash mixed in order: a text moved from one program
         * to the next changes the result too. */
        uint64_t part[2] = {clnet_cl_hash64(name, strlen(name) + 1),
                            clnet_cl_hash64(text, strlen(text))};
        free(owned);
        h = clnet_cl_hash64(part, sizeof part) ^ (h * 0x100000001b3ULL);
    }
    *hash = h;
    return CLNET_OK;
}

static clnet_status build_failure(clnet_device *dev, const char *name, const char *options,
                                  cl_program prog, cl_int err)
{
    cl_device_id id = clnet_cl(dev)->id;
    size_t size = 0;
    char *log = NULL;
    if (clGetProgramBuildInfo(prog, id, CL_PROGRAM_BUILD_LOG, 0, NULL, &size) == CL_SUCCESS &&
        size > 0 && (log = malloc(size)) != NULL &&
        clGetProgramBuildInfo(prog, id, CL_PROGRAM_BUILD_LOG, size, log, NULL) == CL_SUCCESS)
        log[size - 1] = '\0';
    else if (log)
        log[0] = '\0';
    size_t len = log ? strlen(log) : 0;
    while (len > 0 && (log[len - 1] == '\n' || log[len - 1] == ' '))
        log[--len] = '\0';
    size_t shown = len > BUILD_LOG_MAX ? BUILD_LOG_MAX : len;
    clnet_status st = clnet_fail(dev->ctx, CLNET_ERR_BUILD,
                                 "building program %s for %s failed (%s), options \"%s\"; "
                                 "build log:\n%.*s%s", name, dev->info.name,
                                 clnet_status_str((clnet_status)(CLNET_ERR_OPENCL_BAND + err)),
                                 options, (int)shown, log ? log : "",
                                 shown < len ? "\n[build log truncated]" : "");
    free(log);
    return st;
}

static clnet_status build_source(clnet_device *dev, const char *name, const char *source,
                                 const char *options, cl_program *out)
{
    clnet_cl_device *cl = clnet_cl(dev);
    double t0 = clnet_now_ms();
    cl_int err;
    cl_program prog = clCreateProgramWithSource(cl->context, 1, &source, NULL, &err);
    if (err != CL_SUCCESS)
        return clnet_cl_check(dev, err, "clCreateProgramWithSource");
    err = clBuildProgram(prog, 1, &cl->id, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        clnet_status st = build_failure(dev, name, options, prog, err);
        clReleaseProgram(prog);
        return st;
    }
    clnet_log(dev->ctx, CLNET_LOG_INFO, "built program %s for %s in %.0f ms (options \"%s\")",
              name, dev->info.name, clnet_now_ms() - t0, options);
    *out = prog;
    return CLNET_OK;
}

/* Binaries-only mode: the binary is the only way to get the program. */
static clnet_status load_binary_only(clnet_device *dev, clnet_cl_program *p, const char *options)
{
    clnet_ctx *ctx = dev->ctx;
    clnet_cl_device *cl = clnet_cl(dev);
    if (cl->manifest_checked != ctx->binary_dir_generation) {
        clnet_status st = clnet_cl_manifest_check(dev, ctx->binary_dir);
        if (st != CLNET_OK)
            return st;
        cl->manifest_checked = ctx->binary_dir_generation;
    }
    char why[512];
    clnet_status st = clnet_cl_binary_load(dev, ctx->binary_dir, &p->key, options,
                                           &p->program, why, sizeof why);
    if (st == CLNET_OK) {
        clnet_log(ctx, CLNET_LOG_DEBUG, "program %s: loaded binary %s/%s", p->name,
                  ctx->binary_dir, p->key.file);
        return CLNET_OK;
    }
    if (st == CLNET_ERR_IO)
        return clnet_fail(ctx, CLNET_ERR_NO_BINARY,
                          "binaries-only mode: no binary of program %s (options \"%s\") for %s: "
                          "expected %s/%s (made by clnet_opencl_compile_all)", p->name, options,
                          dev->info.name, ctx->binary_dir, p->key.file);
    if (st == CLNET_ERR_FORMAT)
        return clnet_fail(ctx, CLNET_ERR_NO_BINARY,
                          "binaries-only mode: the binary %s/%s of program %s for %s is "
                          "unusable: %s", ctx->binary_dir, p->key.file, p->name,
                          dev->info.name, why);
    return clnet_fail(ctx, st, "program %s: %s", p->name, why);
}

/* The program `name` built with `options` ("" for the defaults) that the
 * device holds, or NULL. Caller holds ctx->lock. */
static clnet_cl_program *program_find(clnet_device *dev, const char *name, const char *options)
{
    for (clnet_cl_program *p = clnet_cl(dev)->programs; p; p = p->next)
        if (strcmp(p->name, name) == 0 && strcmp(p->options, options) == 0)
            return p;
    return NULL;
}

/* Whether the disk cache has a file for program `name` with `options`; an
 * entry that turns out unusable is rebuilt, so this only says "probably". */
static bool cached(clnet_device *dev, const char *name, const char *options)
{
    const char *dir = dev->ctx->cache_dir;
    char full[2048];
    const char *source;
    char *owned;
    clnet_cl_key key = {0};
    if (!dir || !full_options(options, full, sizeof full) ||
        source_text(dev, name, &source, &owned) != CLNET_OK)
        return false;
    bool found = false;
    if (clnet_cl_key_make(dev, name, source, full, &key) == CLNET_OK) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, key.file);
        found = access(path, R_OK) == 0;
    }
    clnet_cl_key_free(&key);
    free(owned);
    return found;
}

/* How many of the program variants launchers can ask for are neither built
 * on the device nor in the disk cache. Caller holds ctx->lock. */
static int programs_to_build(clnet_device *dev)
{
    int n = 0;
    for (int i = 0; i < clnet_cl_variant_count(); i++) {
        const char *name, *options;
        clnet_cl_variant(i, &name, &options);
        options = options ? options : "";
        n += !program_find(dev, name, options) && !cached(dev, name, options);
    }
    return n;
}

/* Whether the device's driver keeps compiled kernels in a disk cache of
 * its own and compiles every kernel of a program to hand out its binary:
 * PoCL, unless POCL_KERNEL_CACHE=0 turns its cache off. There storing
 * the binary took most of a cold start (lenet5's first `clnet-bench run`
 * 83 s, 19 s without: PoCL compiles lazily, per kernel and work-group
 * size, what a run launches) and saved 0.2 s on a warm one
 * (bench/cold_start.sh, README.md "Start-up"). */
static bool driver_caches(const clnet_device *dev)
{
    const char *pocl_cache = getenv("POCL_KERNEL_CACHE");
    return strcmp(dev->info.platform, "Portable Computing Language") == 0 &&
           !(pocl_cache && strcmp(pocl_cache, "0") == 0);
}

/* Whether a program built from source is stored in the disk cache: there
 * is one, and the driver does not cache it itself or CLNET_CACHE_STORE
 * says always. Entries already there are loaded either way. */
static bool stores_binaries(const clnet_device *dev)
{
    return dev->ctx->cache_dir && (dev->ctx->cache_store_always || !driver_caches(dev));
}

/* Tells the context's build observer, if any, that program p is about to be
 * built from source (ms < 0) or was built (ok) in `ms`. Caller holds
 * ctx->lock. */
static void observe_build(clnet_device *dev, const clnet_cl_program *p, int total, bool ok,
                          double ms)
{
    clnet_ctx *ctx = dev->ctx;
    if (!ctx->build_fn)
        return;
    bool stored = stores_binaries(dev);
    clnet_build_event event = {
        .device = dev->info.name, .program = p->name, .options = p->options,
        .cache_dir = stored ? ctx->cache_dir : NULL,
        .driver_caches = !stored && driver_caches(dev),
        .index = clnet_cl(dev)->builds, .total = total,
        .done = ms >= 0, .ok = ok, .ms = ms >= 0 ? ms : 0,
    };
    ctx->build_fn(ctx->build_user, &event);
}

/* Disk cache first; anything wrong with an entry is rebuilt from source and
 * overwritten, never trusted. */
static clnet_status load_cached_or_build(clnet_device *dev, clnet_cl_program *p,
                                         const char *source, const char *options)
{
    clnet_ctx *ctx = dev->ctx;
    char why[512];
    if (ctx->cache_dir) {
        char entry[4096];
        snprintf(entry, sizeof entry, "%s/%s", ctx->cache_dir, p->key.file);
        clnet_cl_guard guard;
        clnet_status st = CLNET_ERR_FORMAT;
        if (clnet_cl_guard_enter(&guard, entry)) {
            snprintf(why, sizeof why, "a process died while the driver was loading it");
        } else {
            st = clnet_cl_binary_load(dev, ctx->cache_dir, &p->key, options, &p->program, why,
                                      sizeof why);
            clnet_cl_guard_leave(&guard);
        }
        if (st == CLNET_OK) {
            clnet_log(ctx, CLNET_LOG_DEBUG, "program %s: cache hit (%s/%s)", p->name,
                      ctx->cache_dir, p->key.file);
            return CLNET_OK;
        }
        if (st != CLNET_ERR_IO)
            clnet_log(ctx, CLNET_LOG_WARN, "program %s: cache entry %s/%s rejected (%s); "
                      "rebuilding from source", p->name, ctx->cache_dir, p->key.file, why);
    }
    /* The variant being built is among those counted (unless a launcher
     * asked for one the variant table lacks), and each later build is one
     * of them too: counted at the first observed build, not at every one
     * (which hashed every variant's source again: on PoCL, where every
     * start builds from source, about 15 ms of a warm mobilenet_v2 start). */
    clnet_cl_device *cl = clnet_cl(dev);
    int index = ++cl->builds;
    if (ctx->build_fn && cl->build_total == 0)
        cl->build_total = index - 1 + programs_to_build(dev);
    int total = cl->build_total < index ? index : cl->build_total;
    observe_build(dev, p, total, false, -1);
    double t0 = clnet_now_ms();
    clnet_status st = build_source(dev, p->name, source, options, &p->program);
    /* Storing is part of the wait (see driver_caches). */
    if (st == CLNET_OK && stores_binaries(dev) &&
        clnet_cl_binary_store(dev, ctx->cache_dir, &p->key, p->program, why, sizeof why) !=
            CLNET_OK)
        clnet_log(ctx, CLNET_LOG_WARN, "program %s: cannot write cache entry %s/%s: %s",
                  p->name, ctx->cache_dir, p->key.file, why);
    observe_build(dev, p, total, st == CLNET_OK, clnet_now_ms() - t0);
    return st;
}

static void program_free(clnet_cl_program *p)
{
    for (kernel_entry *k = p->kernels, *next; k; k = next) {
        next = k->next;
        clReleaseKernel(k->kernel);
        free(k);
    }
    if (p->program)
        clReleaseProgram(p->program);
    clnet_cl_key_free(&p->key);
    free(p->name);
    free(p->options);
    free(p);
}

static clnet_status program_create(clnet_device *dev, const char *name, const char *options,
                                   clnet_cl_program **out)
{
    char full[2048];
    if (!full_options(options, full, sizeof full))
        return clnet_fail(dev->ctx, CLNET_ERR_INTERNAL, "program %s: build options too long",
                          name);
    clnet_cl_program *p = calloc(1, sizeof *p);
    if (!p || !(p->name = dup_string(name)) || !(p->options = dup_string(options))) {
        if (p)
            program_free(p);
        return clnet_fail(dev->ctx, CLNET_ERR_HOST_MEMORY, "program %s: out of host memory",
                          name);
    }
    const char *source = NULL;
    char *owned;
    clnet_status st = source_text(dev, name, &source, &owned);
    if (st == CLNET_OK)
        st = clnet_cl_key_make(dev, name, source, full, &p->key);
    if (st == CLNET_OK)
        st = dev->ctx->binary_dir ? load_binary_only(dev, p, full)
                                  : load_cached_or_build(dev, p, source, full);
    free(owned);
    if (st != CLNET_OK) {
        program_free(p);
        return st;
    }
    *out = p;
    return CLNET_OK;
}

/* Caller holds ctx->lock. */
static clnet_status program_obtain(clnet_device *dev, const char *name, const char *options,
                                   clnet_cl_program **out)
{
    clnet_cl_device *cl = clnet_cl(dev);
    const char *opts = options ? options : "";
    if ((*out = program_find(dev, name, opts)) != NULL)
        return CLNET_OK;
    clnet_status st = program_create(dev, name, opts, out);
    if (st == CLNET_OK) {
        (*out)->next = cl->programs;
        cl->programs = *out;
    }
    return st;
}

/* Caller holds ctx->lock. */
static clnet_status kernel_obtain(clnet_device *dev, clnet_cl_program *p, const char *name,
                                  cl_kernel *out)
{
    for (kernel_entry *k = p->kernels; k; k = k->next) {
        if (strcmp(k->name, name) == 0) {
            *out = k->kernel;
            return CLNET_OK;
        }
    }
    size_t n = strlen(name) + 1;
    kernel_entry *k = malloc(sizeof *k + n);
    if (!k)
        return clnet_fail(dev->ctx, CLNET_ERR_HOST_MEMORY, "kernel %s: out of host memory", name);
    cl_int err;
    k->kernel = clCreateKernel(p->program, name, &err);
    if (err != CL_SUCCESS) {
        free(k);
        char what[256];
        snprintf(what, sizeof what, "clCreateKernel(%s of program %s)", name, p->name);
        return clnet_cl_check(dev, err, what);
    }
    memcpy(k->name, name, n);
    k->next = p->kernels;
    p->kernels = k;
    *out = k->kernel;
    return CLNET_OK;
}

clnet_status clnet_cl_kernel(clnet_device *dev, const char *program, const char *options,
                             const char *kernel, cl_kernel *out)
{
    if (!dev || !program || !kernel || !out)
        return clnet_fail(dev ? dev->ctx : NULL, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_cl_kernel: NULL argument");
    mtx_lock(&dev->ctx->lock);
    clnet_cl_program *p;
    clnet_status st = program_obtain(dev, program, options, &p);
    if (st == CLNET_OK)
        st = kernel_obtain(dev, p, kernel, out);
    mtx_unlock(&dev->ctx->lock);
    return st;
}

clnet_status clnet_cl_program_get(clnet_device *dev, const char *program, const char *options,
                                  cl_program *prog, const clnet_cl_key **key)
{
    mtx_lock(&dev->ctx->lock);
    clnet_cl_program *p;
    clnet_status st = program_obtain(dev, program, options, &p);
    if (st == CLNET_OK) {
        *prog = p->program;
        *key = &p->key;
    }
    mtx_unlock(&dev->ctx->lock);
    return st;
}

void clnet_cl_programs_free(clnet_device *dev)
{
    clnet_cl_device *cl = clnet_cl(dev);
    for (clnet_cl_program *p = cl->programs, *next; p; p = next) {
        next = p->next;
        program_free(p);
    }
    cl->programs = NULL;
}

clnet_status clnet_cl_launch(clnet_device *dev, cl_kernel kernel, const char *name,
                             int nargs, const clnet_cl_arg *args, cl_uint work_dim,
                             const size_t *global, const size_t *local)
{
    /* OpenCL rejects an empty range; an empty range has nothing to do. */
    for (cl_uint d = 0; d < work_dim; d++)
        if (global[d] == 0)
            return CLNET_OK;
    int arg = 0;
    cl_int err = CL_SUCCESS;
    /* Kernel objects are shared by every caller of the device, and their
     * arguments are state: setting and enqueueing must not interleave. */
    mtx_lock(&dev->ctx->lock);
    for (; arg < nargs && err == CL_SUCCESS; arg++)
        err = clSetKernelArg(kernel, (cl_uint)arg, args[arg].size, args[arg].value);
    bool set_failed = err != CL_SUCCESS;
    if (!set_failed)
        err = clEnqueueNDRangeKernel(clnet_cl(dev)->queue, kernel, work_dim, NULL, global, local,
                                     0, NULL, NULL);
    mtx_unlock(&dev->ctx->lock);
    if (err == CL_SUCCESS)
        return CLNET_OK;
    char what[256];
    if (set_failed)
        snprintf(what, sizeof what, "clSetKernelArg(kernel %s, argument %d)", name, arg - 1);
    else
        snprintf(what, sizeof what, "clEnqueueNDRangeKernel(kernel %s, global %zu x %zu x %zu)",
                 name, global[0], work_dim > 1 ? global[1] : 1, work_dim > 2 ? global[2] : 1);
    return clnet_cl_check(dev, err, what);
}

clnet_status clnet_cl_launch_program(clnet_device *dev, const char *program, const char *kernel,
                                     int nargs, const clnet_cl_arg *args, cl_uint work_dim,
                                     const size_t *global)
{
    cl_kernel k;
    clnet_status st = clnet_cl_kernel(dev, program, NULL, kernel, &k);
    if (st != CLNET_OK)
        return st;
    return clnet_cl_launch(dev, k, kernel, nargs, args, work_dim, global, NULL);
}

clnet_status clnet_cl_launch_1d(clnet_device *dev, const char *program, const char *kernel,
                                int nargs, const clnet_cl_arg *args, size_t n)
{
    return clnet_cl_launch_program(dev, program, kernel, nargs, args, 1, &n);
}

/* k over `global` (work_dim dimensions) in groups of `local` items along
 * dim 0 and 1 along the others, dim 0 rounded up to whole groups. */
static clnet_status launch_dim0_groups(clnet_device *dev, cl_kernel k, const char *kernel,
                                       int nargs, const clnet_cl_arg *args, cl_uint work_dim,
                                       const size_t *global, size_t local)
{
    size_t rounded[3] = {(global[0] + local - 1) / local * local, 1, 1};
    const size_t groups[3] = {local, 1, 1};
    for (cl_uint d = 1; d < work_dim && d < 3; d++)
        rounded[d] = global[d];
    return clnet_cl_launch(dev, k, kernel, nargs, args, work_dim, rounded, groups);
}

clnet_status clnet_cl_launch_padded(clnet_device *dev, const char *program, const char *kernel,
                                    int nargs, const clnet_cl_arg *args, size_t n)
{
    cl_kernel k;
    size_t local = 1;
    clnet_status st = clnet_cl_kernel(dev, program, NULL, kernel, &k);
    if (st == CLNET_OK)
        st = clnet_cl_group_max(dev, k, kernel, CLNET_CL_PADDED_GROUP, &local);
    if (st != CLNET_OK)
        return st;
    return launch_dim0_groups(dev, k, kernel, nargs, args, 1, &n, local);
}

clnet_status clnet_cl_launch_rounded(clnet_device *dev, const char *program, const char *kernel,
                                     int nargs, const clnet_cl_arg *args, cl_uint work_dim,
                                     const size_t *global)
{
    cl_kernel k;
    size_t multiple = 1, local = 1;
    clnet_status st = clnet_cl_kernel(dev, program, NULL, kernel, &k);
    if (st == CLNET_OK) {
        cl_int err = clGetKernelWorkGroupInfo(k, clnet_cl(dev)->id,
                                              CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE,
                                              sizeof multiple, &multiple, NULL);
        if (err != CL_SUCCESS) {
            char what[160];
            snprintf(what, sizeof what, "clGetKernelWorkGroupInfo(%s)", kernel);
            st = clnet_cl_check(dev, err, what);
        }
    }
    if (st == CLNET_OK)
        st = clnet_cl_group_max(dev, k, kernel, multiple, &local);
    if (st != CLNET_OK)
        return st;
    return launch_dim0_groups(dev, k, kernel, nargs, args, work_dim, global, local);
}
