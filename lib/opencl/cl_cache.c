/* cl_cache.c - the program binary file format and where it is kept: the
 * on-disk program cache and the binaries-only mode's directory. */
#include "opencl/cl_program.h"

#include "core/file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* File layout, integers little-endian so that files move between hosts:
 *    0  magic "CLNETBIN"
 *    8  u32 format version
 *   12  u32 key length
 *   16  u64 payload length
 *   24  u64 payload checksum (FNV-1a 64)
 *   32  key text (clnet_cl_key.text), then the payload: the driver's
 *       CL_PROGRAM_BINARIES entry for the device. */
#define MAGIC "CLNETBIN"
#define FORMAT_VERSION 1u
#define HEADER_BYTES 32

uint64_t clnet_cl_hash64(const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static char *dup_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = malloc(n);
    if (copy)
        memcpy(copy, s, n);
    return copy;
}

static char *platform_version(cl_platform_id platform)
{
    size_t size = 0;
    if (clGetPlatformInfo(platform, CL_PLATFORM_VERSION, 0, NULL, &size) != CL_SUCCESS || !size)
        return dup_string("");
    char *text = malloc(size);
    if (text && clGetPlatformInfo(platform, CL_PLATFORM_VERSION, size, text, NULL) != CL_SUCCESS)
        size = 1;
    if (text)
        text[size - 1] = '\0';
    return text;
}

/* The key holds the whole source rather than its hash, so that comparing
 * keys on load is exact. */
clnet_status clnet_cl_key_make(clnet_device *dev, const char *program, const char *source,
                               const char *options, clnet_cl_key *key)
{
    const clnet_device_info *info = &dev->info;
    memset(key, 0, sizeof *key);
    char *pversion = platform_version(clnet_cl(dev)->platform);
    if (!pversion)
        return clnet_fail(dev->ctx, CLNET_ERR_HOST_MEMORY, "program %s: out of host memory",
                          program);
    const char *fmt = "clnet program binary\nprogram: %s\noptions: %s\ndevice: %s\n"
                      "device version: %s\ndriver: %s\nplatform: %s\nplatform version: %s\n"
                      "source:\n";
    int head = snprintf(NULL, 0, fmt, program, options, info->name, info->version,
                        info->driver_version, info->platform, pversion);
    size_t src = strlen(source);
    key->text = head < 0 ? NULL : malloc((size_t)head + src + 1);
    if (!key->text) {
        free(pversion);
        return clnet_fail(dev->ctx, CLNET_ERR_HOST_MEMORY, "program %s: out of host memory",
                          program);
    }
    snprintf(key->text, (size_t)head + 1, fmt, program, options, info->name, info->version,
             info->driver_version, info->platform, pversion);
    memcpy(key->text + head, source, src + 1);
    key->len = (size_t)head + src;
    snprintf(key->file, sizeof key->file, "%016llx.clbin",
             (unsigned long long)clnet_cl_hash64(key->text, key->len));
    free(pversion);
    return CLNET_OK;
}

void clnet_cl_key_free(clnet_cl_key *key)
{
    free(key->text);
    key->text = NULL;
    key->len = 0;
}

int clnet_cl_mkdir_p(const char *dir)
{
    char *path = dup_string(dir);
    if (!path)
        return ENOMEM;
    int err = 0;
    for (char *p = path + 1; *p && !err; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            err = errno;
        *p = '/';
    }
    if (!err && mkdir(path, 0755) != 0 && errno != EEXIST)
        err = errno;
    struct stat sb;
    if (!err && (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)))
        err = ENOTDIR;
    free(path);
    return err;
}

static bool write_all(int fd, const unsigned char *buf, size_t n)
{
    while (n > 0) {
        ssize_t put = write(fd, buf, n);
        if (put < 0 && errno == EINTR)
            continue;
        if (put <= 0)
            return false;
        buf += put;
        n -= (size_t)put;
    }
    return true;
}

/* Reads a whole file. Returns CLNET_ERR_IO only when it does not exist;
 * anything else wrong with it (a directory, a FIFO: refused without
 * blocking) is CLNET_ERR_FORMAT, an entry to rebuild. */
static clnet_status read_file(const char *path, unsigned char **data, size_t *size, char *why,
                              size_t why_size)
{
    int open_errno;
    clnet_status st = clnet_file_read(path, SIZE_MAX / 2, data, size, &open_errno, why,
                                      why_size);
    if (st == CLNET_ERR_IO && open_errno != ENOENT)
        st = CLNET_ERR_FORMAT;
    return st;
}

bool clnet_cl_binary_parse(const unsigned char *data, size_t size, const clnet_cl_key *key,
                           const unsigned char **payload, size_t *payload_len, char *why,
                           size_t why_size)
{
    if (size < HEADER_BYTES) {
        snprintf(why, why_size, "truncated: %zu bytes, shorter than the header", size);
        return false;
    }
    if (memcmp(data, MAGIC, 8) != 0) {
        snprintf(why, why_size, "not a clnet program binary (bad magic)");
        return false;
    }
    uint32_t version = (uint32_t)get_le(data + 8, 4);
    if (version != FORMAT_VERSION) {
        snprintf(why, why_size, "format version %u, expected %u", version, FORMAT_VERSION);
        return false;
    }
    uint64_t key_len = get_le(data + 12, 4), len = get_le(data + 16, 8);
    if (len > size || key_len > size || HEADER_BYTES + key_len + len != size) {
        snprintf(why, why_size, "truncated or padded: %zu bytes, the header announces %llu",
                 size, (unsigned long long)(HEADER_BYTES + key_len + len));
        return false;
    }
    if (key_len != key->len || memcmp(data + HEADER_BYTES, key->text, key->len) != 0) {
        snprintf(why, why_size, "stale entry: its key (source, options, device, driver) differs");
        return false;
    }
    *payload = data + HEADER_BYTES + key_len;
    *payload_len = (size_t)len;
    if (clnet_cl_hash64(*payload, *payload_len) != get_le(data + 24, 8)) {
        snprintf(why, why_size, "payload checksum mismatch (corrupt file)");
        return false;
    }
    return true;
}

static clnet_status build_binary(clnet_device *dev, const unsigned char *payload, size_t len,
                                 const char *options, cl_program *out, char *why,
                                 size_t why_size)
{
    clnet_cl_device *cl = clnet_cl(dev);
    cl_int err, bin_status = CL_SUCCESS;
    cl_program prog = clCreateProgramWithBinary(cl->context, 1, &cl->id, &len, &payload,
                                                &bin_status, &err);
    if (err == CL_SUCCESS && bin_status != CL_SUCCESS)
        err = bin_status;
    if (err == CL_SUCCESS)
        err = clBuildProgram(prog, 1, &cl->id, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        snprintf(why, why_size, "the driver rejects the binary: %s",
                 clnet_status_str((clnet_status)(CLNET_ERR_OPENCL_BAND + err)));
        if (prog)
            clReleaseProgram(prog);
        return CLNET_ERR_FORMAT;
    }
    *out = prog;
    return CLNET_OK;
}

clnet_status clnet_cl_binary_load(clnet_device *dev, const char *dir, const clnet_cl_key *key,
                                  const char *options, cl_program *out, char *why,
                                  size_t why_size)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, key->file);
    unsigned char *data;
    size_t size;
    clnet_status st = read_file(path, &data, &size, why, why_size);
    if (st != CLNET_OK)
        return st;
    const unsigned char *payload;
    size_t len;
    if (clnet_cl_binary_parse(data, size, key, &payload, &len, why, why_size))
        st = build_binary(dev, payload, len, options, out, why, why_size);
    else
        st = CLNET_ERR_FORMAT;
    free(data);
    return st;
}

/* The binary of a built program for this device. A program may belong to
 * several devices (an adopted context), so the device's entry is picked. */
static clnet_status program_binary(clnet_device *dev, cl_program program, unsigned char **data,
                                   size_t *len, char *why, size_t why_size)
{
    cl_uint ndev = 0;
    cl_int err = clGetProgramInfo(program, CL_PROGRAM_NUM_DEVICES, sizeof ndev, &ndev, NULL);
    if (err != CL_SUCCESS || ndev == 0) {
        snprintf(why, why_size, "clGetProgramInfo(NUM_DEVICES) failed");
        return CLNET_ERR_FORMAT;
    }
    cl_device_id *ids = malloc(ndev * sizeof *ids);
    size_t *sizes = malloc(ndev * sizeof *sizes);
    unsigned char **bins = calloc(ndev, sizeof *bins);
    clnet_status st = CLNET_ERR_FORMAT;
    cl_uint idx = ndev;
    if (!ids || !sizes || !bins) {
        snprintf(why, why_size, "out of host memory");
        st = CLNET_ERR_HOST_MEMORY;
    } else if (clGetProgramInfo(program, CL_PROGRAM_DEVICES, ndev * sizeof *ids, ids, NULL) ||
               clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, ndev * sizeof *sizes, sizes,
                                NULL)) {
        snprintf(why, why_size, "clGetProgramInfo(DEVICES, BINARY_SIZES) failed");
    } else {
        for (idx = 0; idx < ndev && ids[idx] != clnet_cl(dev)->id; idx++)
            continue;
        if (idx == ndev || sizes[idx] == 0)
            snprintf(why, why_size, "the driver gives no binary for %s", dev->info.name);
        else if (!(bins[idx] = malloc(sizes[idx])))
            snprintf(why, why_size, "out of host memory for a %zu-byte binary", sizes[idx]);
        else if (clGetProgramInfo(program, CL_PROGRAM_BINARIES, ndev * sizeof *bins, bins, NULL))
            snprintf(why, why_size, "clGetProgramInfo(BINARIES) failed");
        else
            st = CLNET_OK;
    }
    if (st == CLNET_OK) {
        *data = bins[idx];
        *len = sizes[idx];
    } else if (bins && idx < ndev) {
        free(bins[idx]);
    }
    free(ids);
    free(sizes);
    free(bins);
    return st;
}

/* Written to "<entry>.tmp" under a lock (core/file.h) and renamed over the
 * entry, so a reader never sees half a file, concurrent writers of one
 * entry take turns, and a writer killed midway leaves one temporary that
 * the next write reuses. No fsync: a file torn by a crash fails its
 * checksum and is rebuilt. */
static clnet_status write_file(const char *dir, const clnet_cl_key *key,
                               const unsigned char *payload, size_t len, char *why,
                               size_t why_size)
{
    int err = clnet_cl_mkdir_p(dir);
    if (err) {
        snprintf(why, why_size, "cannot create directory %s: %s", dir, strerror(err));
        return CLNET_ERR_IO;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, key->file);
    clnet_file_replace rep;
    clnet_status st = clnet_file_replace_begin(&rep, path, why, why_size);
    if (st != CLNET_OK)
        return st;
    unsigned char header[HEADER_BYTES];
    memcpy(header, MAGIC, 8);
    put_le(header + 8, FORMAT_VERSION, 4);
    put_le(header + 12, key->len, 4);
    put_le(header + 16, len, 8);
    put_le(header + 24, clnet_cl_hash64(payload, len), 8);
    if (!write_all(rep.fd, header, sizeof header) ||
        !write_all(rep.fd, (const unsigned char *)key->text, key->len) ||
        !write_all(rep.fd, payload, len)) {
        snprintf(why, why_size, "cannot write %s: %s", rep.tmp, strerror(errno));
        clnet_file_replace_abort(&rep);
        return CLNET_ERR_IO;
    }
    return clnet_file_replace_commit(&rep, false, why, why_size);
}

clnet_status clnet_cl_binary_store(clnet_device *dev, const char *dir, const clnet_cl_key *key,
                                   cl_program program, char *why, size_t why_size)
{
    if (key->len > UINT32_MAX) {
        snprintf(why, why_size, "key of %zu bytes too long for the file format", key->len);
        return CLNET_ERR_FORMAT;
    }
    unsigned char *payload;
    size_t len;
    clnet_status st = program_binary(dev, program, &payload, &len, why, why_size);
    if (st != CLNET_OK)
        return st;
    st = write_file(dir, key, payload, len, why, why_size);
    free(payload);
    return st;
}

clnet_status clnet_opencl_set_cache_dir(clnet_ctx *ctx, const char *dir)
{
    clnet_error_clear(ctx);
    if (!ctx || (dir && !*dir))
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_opencl_set_cache_dir: NULL context or empty directory name");
    char *copy = NULL;
    if (dir) {
        int err = clnet_cl_mkdir_p(dir);
        if (err)
            return clnet_fail(ctx, CLNET_ERR_IO, "cannot create the program cache directory "
                              "%s: %s", dir, strerror(err));
        if (!(copy = dup_string(dir)))
            return clnet_fail(ctx, CLNET_ERR_HOST_MEMORY, "clnet_opencl_set_cache_dir: "
                              "out of host memory");
    }
    mtx_lock(&ctx->lock);
    free(ctx->cache_dir);
    ctx->cache_dir = copy;
    mtx_unlock(&ctx->lock);
    return CLNET_OK;
}

clnet_status clnet_opencl_use_binaries(clnet_ctx *ctx, const char *dir)
{
    clnet_error_clear(ctx);
    if (!ctx || (dir && !*dir))
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_opencl_use_binaries: NULL context or empty directory name");
    char *copy = NULL;
    if (dir && !(copy = dup_string(dir)))
        return clnet_fail(ctx, CLNET_ERR_HOST_MEMORY, "clnet_opencl_use_binaries: "
                          "out of host memory");
    mtx_lock(&ctx->lock);
    free(ctx->binary_dir);
    ctx->binary_dir = copy;
    ctx->binary_dir_generation++;
    mtx_unlock(&ctx->lock);
    return CLNET_OK;
}
