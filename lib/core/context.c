/* context.c - a context's configuration from the environment and its
 * release, and the device registry (lookup by index, name or CLNET_DEVICE).
 * Which backends fill the registry is decided above the backends, in
 * lib/registry.c. */
#include "core/internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *clnet_version(void)
{
    return CLNET_VERSION_STRING;
}

static char *dup_or_null(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *copy = malloc(n);
    if (copy)
        memcpy(copy, s, n);
    return copy;
}

/* The default program cache directory, per clnet/opencl.h. */
static char *default_cache_dir(void)
{
    const char *env = getenv("CLNET_CACHE_DIR");
    if (env && *env)
        return strcmp(env, "off") == 0 ? NULL : dup_or_null(env);
    char path[4096];
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(path, sizeof path, "%s/clnet", xdg);
    else if (home && *home)
        snprintf(path, sizeof path, "%s/.cache/clnet", home);
    else
        return NULL;
    return dup_or_null(path);
}

static const char *nonempty_env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* The lowest level the default sink shows: CLNET_LOG if it names a level
 * ("debug" shows, among others, the algorithm each convolution takes),
 * else warnings. A value it does not know is reported, not ignored. */
static clnet_log_level default_log_level(void)
{
    static const struct {
        const char *name;
        clnet_log_level level;
    } levels[] = {{"debug", CLNET_LOG_DEBUG},
                  {"info", CLNET_LOG_INFO},
                  {"warning", CLNET_LOG_WARN},
                  {"error", CLNET_LOG_ERROR}};
    const char *env = nonempty_env("CLNET_LOG");
    if (!env)
        return CLNET_LOG_WARN;
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
        if (strcmp(env, levels[i].name) == 0)
            return levels[i].level;
    fprintf(stderr, "clnet warning: CLNET_LOG=%s is not debug, info, warning or error; "
                    "showing warnings\n", env);
    return CLNET_LOG_WARN;
}

/* Whether CLNET_CACHE_STORE asks for every built program to be stored
 * ("always") or leaves it to the driver ("auto", the default; see
 * stores_binaries in cl_program.c). A value it does not know is reported. */
static bool default_cache_store_always(void)
{
    const char *env = nonempty_env("CLNET_CACHE_STORE");
    if (!env || strcmp(env, "auto") == 0)
        return false;
    if (strcmp(env, "always") == 0)
        return true;
    fprintf(stderr, "clnet warning: CLNET_CACHE_STORE=%s is not auto or always; "
                    "using auto\n", env);
    return false;
}

clnet_status clnet_ctx_create(clnet_ctx **out)
{
    *out = NULL;
    clnet_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return CLNET_ERR_HOST_MEMORY;
    if (mtx_init(&ctx->lock, mtx_plain) != thrd_success) {
        free(ctx);
        return CLNET_ERR_HOST_MEMORY;
    }
    ctx->log_min = default_log_level();
    ctx->cache_dir = default_cache_dir();
    ctx->cache_store_always = default_cache_store_always();
    ctx->binary_dir = dup_or_null(nonempty_env("CLNET_BINARY_DIR"));
    ctx->binary_dir_generation = 1;
    ctx->cl_source_dir = dup_or_null(nonempty_env("CLNET_CL_DIR"));
    *out = ctx;
    return CLNET_OK;
}

void clnet_ctx_free(clnet_ctx *ctx)
{
    if (!ctx)
        return;
    for (int i = 0; i < ctx->ndevices; i++) {
        clnet_device *dev = ctx->devices[i];
        if (dev->opened)
            dev->iface->close(dev);
        free(dev->backend);
        free(dev);
    }
    free(ctx->devices);
    free(ctx->cache_dir);
    free(ctx->binary_dir);
    free(ctx->cl_source_dir);
    mtx_destroy(&ctx->lock);
    free(ctx);
}

clnet_status clnet_ctx_add_device(clnet_ctx *ctx, clnet_device *dev)
{
    clnet_device **grown = realloc(ctx->devices, (size_t)(ctx->ndevices + 1) * sizeof *grown);
    if (!grown)
        return clnet_fail(ctx, CLNET_ERR_HOST_MEMORY, "cannot grow the device registry");
    ctx->devices = grown;
    dev->ctx = ctx;
    dev->info.index = ctx->ndevices;
    ctx->devices[ctx->ndevices++] = dev;
    return CLNET_OK;
}

int clnet_device_count(const clnet_ctx *ctx)
{
    return ctx ? ctx->ndevices : 0;
}

/* Transformed weights a device keeps by default: an eighth of its memory,
 * at most 256 MiB (VGG-16's Winograd filters take 105 MiB), or
 * CLNET_WEIGHT_CACHE_MB. */
static clnet_status default_weight_cache(clnet_device *dev, size_t *bytes)
{
    const char *env = getenv("CLNET_WEIGHT_CACHE_MB");
    if (env && *env) {
        char *end;
        errno = 0;
        unsigned long long mb = strtoull(env, &end, 10);
        if (*end || errno || env[0] == '-' || mb > SIZE_MAX >> 20)
            return clnet_fail(dev->ctx, CLNET_ERR_INVALID_ARGUMENT, "CLNET_WEIGHT_CACHE_MB=%s: "
                              "not a number of MiB", env);
        *bytes = (size_t)mb << 20;
        return CLNET_OK;
    }
    uint64_t eighth = dev->info.global_mem_bytes / 8;
    *bytes = eighth < ((uint64_t)256 << 20) ? (size_t)eighth : (size_t)256 << 20;
    return CLNET_OK;
}

clnet_status clnet_device_get(clnet_ctx *ctx, int index, clnet_device **out)
{
    clnet_error_clear(ctx);
    if (!ctx || !out)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_device_get: NULL argument");
    *out = NULL;
    if (index < 0 || index >= ctx->ndevices)
        return clnet_fail(ctx, CLNET_ERR_NO_DEVICE, "no device %d: the registry has %d (0..%d)",
                          index, ctx->ndevices, ctx->ndevices - 1);
    clnet_device *dev = ctx->devices[index];
    if (!dev->opened) {
        size_t cache_max = 0;
        clnet_status st = default_weight_cache(dev, &cache_max);
        if (st == CLNET_OK)
            st = dev->iface->open(dev);
        if (st != CLNET_OK)
            return st;
        dev->weight_cache_max = cache_max;
        dev->opened = true;
    }
    *out = dev;
    return CLNET_OK;
}

/* Case-insensitive substring test. */
static bool contains_nocase(const char *haystack, const char *needle)
{
    size_t n = strlen(needle);
    for (; *haystack; haystack++) {
        size_t i = 0;
        while (i < n && haystack[i] &&
               tolower((unsigned char)haystack[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return true;
    }
    return n == 0;
}

static bool parse_index(const char *s, int *index)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || v < 0 || v > 1000000)
        return false;
    *index = (int)v;
    return true;
}

static int default_index(const clnet_ctx *ctx)
{
    for (int i = 0; i < ctx->ndevices; i++)
        if (ctx->devices[i]->info.kind == CLNET_DEVICE_OPENCL)
            return i;
    for (int i = 0; i < ctx->ndevices; i++)
        if (ctx->devices[i]->info.kind == CLNET_DEVICE_REF)
            return i;
    return -1;
}

clnet_status clnet_device_find(clnet_ctx *ctx, const char *selector, clnet_device **out)
{
    clnet_error_clear(ctx);
    if (!ctx || !out)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_device_find: NULL argument");
    const char *source = "selector";
    if (!selector || !*selector) {
        selector = nonempty_env("CLNET_DEVICE");
        source = "CLNET_DEVICE";
    }
    if (!selector)
        return clnet_device_get(ctx, default_index(ctx), out);
    int index;
    if (parse_index(selector, &index))
        return clnet_device_get(ctx, index, out);
    for (int i = 0; i < ctx->ndevices; i++) {
        const clnet_device_info *info = &ctx->devices[i]->info;
        if (info->kind == CLNET_DEVICE_REF) {
            if (strcmp(selector, "ref") == 0)
                return clnet_device_get(ctx, i, out);
            continue;
        }
        char full[300];
        snprintf(full, sizeof full, "%s: %s", info->platform, info->name);
        if (contains_nocase(full, selector))
            return clnet_device_get(ctx, i, out);
    }
    *out = NULL;
    return clnet_fail(ctx, CLNET_ERR_NO_DEVICE,
                      "no device matches %s \"%s\" (use \"ref\", an index 0..%d, or part of "
                      "a device name; `clnet-bench devices` lists them)",
                      source, selector, ctx->ndevices - 1);
}

clnet_status clnet_device_info_get(const clnet_device *dev, clnet_device_info *info)
{
    clnet_error_clear(dev ? dev->ctx : NULL);
    if (!dev || !info)
        return CLNET_ERR_INVALID_ARGUMENT;
    *info = dev->info;
    return CLNET_OK;
}

clnet_status clnet_device_describe(const clnet_ctx *ctx, int index, clnet_device_info *info)
{
    if (!ctx || !info)
        return CLNET_ERR_INVALID_ARGUMENT;
    if (index < 0 || index >= ctx->ndevices)
        return CLNET_ERR_NO_DEVICE;
    *info = ctx->devices[index]->info;
    return CLNET_OK;
}

clnet_ctx *clnet_device_ctx(const clnet_device *dev)
{
    return dev ? dev->ctx : NULL;
}

double clnet_device_blocked_ms(const clnet_device *dev)
{
    return dev ? dev->blocked_ms : 0.0;
}

clnet_status clnet_device_set_weight_cache(clnet_device *dev, size_t max_bytes)
{
    clnet_error_clear(dev ? dev->ctx : NULL);
    if (!dev)
        return CLNET_ERR_INVALID_ARGUMENT;
    mtx_lock(&dev->ctx->lock);
    dev->weight_cache_max = max_bytes;
    mtx_unlock(&dev->ctx->lock);
    if (dev->iface->trim_weight_cache)
        dev->iface->trim_weight_cache(dev);
    return CLNET_OK;
}

size_t clnet_device_weight_cache_bytes(const clnet_device *dev)
{
    if (!dev)
        return 0;
    mtx_lock(&dev->ctx->lock);
    size_t bytes = dev->weight_cache_bytes;
    mtx_unlock(&dev->ctx->lock);
    return bytes;
}

clnet_status clnet_device_synchronize(clnet_device *dev)
{
    clnet_error_clear(dev ? dev->ctx : NULL);
    if (!dev)
        return CLNET_ERR_INVALID_ARGUMENT;
    return dev->iface->synchronize(dev);
}
