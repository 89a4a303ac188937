/* gzfile.c - whole-file reading through zlib, which passes non-gzip content
 * through unchanged, so every dataset reader takes .gz and raw files alike. */
#include "data/gzfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

/* gzread returns an int, so no single call may ask for more than this. */
#define READ_CHUNK ((size_t)1 << 24)

static clnet_status open_file(clnet_ctx *ctx, const char *path, gzFile *f, size_t *disk_size)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return clnet_fail(ctx, CLNET_ERR_IO, "file %s: cannot open: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return clnet_fail(ctx, CLNET_ERR_IO, "file %s: not a regular file", path);
    errno = 0;
    *f = gzopen(path, "rb");
    if (!*f)
        return clnet_fail(ctx, CLNET_ERR_IO, "file %s: cannot open: %s", path,
                          errno ? strerror(errno) : "out of memory");
    /* A larger buffer than zlib's 8 KiB default halves the time spent
     * decompressing the 47 MB MNIST training images. */
    gzbuffer(*f, 1u << 17);
    *disk_size = (size_t)st.st_size;
    return CLNET_OK;
}

/* Turns zlib's error state after a read into a status naming the file;
 * CLNET_OK when the stream ended cleanly. */
static clnet_status stream_status(clnet_ctx *ctx, const char *path, gzFile f)
{
    int err = Z_OK;
    const char *msg = gzerror(f, &err);
    switch (err) {
    case Z_OK:
        return CLNET_OK;
    case Z_BUF_ERROR:
        return clnet_fail(ctx, CLNET_ERR_FORMAT, "file %s: gzip stream ends early (%s)", path,
                          msg);
    case Z_ERRNO:
        return clnet_fail(ctx, CLNET_ERR_IO, "file %s: read error: %s", path, strerror(errno));
    case Z_MEM_ERROR:
        return clnet_fail(ctx, CLNET_ERR_HOST_MEMORY, "file %s: zlib is out of memory", path);
    default:
        return clnet_fail(ctx, CLNET_ERR_FORMAT, "file %s: corrupt gzip data (%s)", path, msg);
    }
}

/* Doubles the buffer, up to one byte past the cap so that content longer
 * than the cap is detected rather than silently cut. */
static clnet_status grow(clnet_ctx *ctx, const char *path, uint8_t **buf, size_t *cap,
                         size_t max_bytes)
{
    size_t limit = max_bytes + 1;
    size_t want = *cap > limit / 2 ? limit : *cap * 2;
    uint8_t *bigger = realloc(*buf, want);
    if (!bigger)
        return clnet_fail(ctx, CLNET_ERR_HOST_MEMORY, "file %s: cannot allocate %zu bytes",
                          path, want);
    *buf = bigger;
    *cap = want;
    return CLNET_OK;
}

static clnet_status read_all(clnet_ctx *ctx, const char *path, gzFile f, size_t max_bytes,
                             uint8_t **buf, size_t *cap, size_t *len)
{
    for (;;) {
        if (*len > max_bytes)
            return clnet_fail(ctx, CLNET_ERR_FORMAT,
                              "file %s: content is larger than the limit of %zu bytes", path,
                              max_bytes);
        if (*len == *cap) {
            clnet_status st = grow(ctx, path, buf, cap, max_bytes);
            if (st != CLNET_OK)
                return st;
        }
        size_t want = *cap - *len < READ_CHUNK ? *cap - *len : READ_CHUNK;
        int got = gzread(f, *buf + *len, (unsigned)want);
        if (got <= 0) {
            clnet_status st = stream_status(ctx, path, f);
            if (st == CLNET_OK && got < 0)
                st = clnet_fail(ctx, CLNET_ERR_IO, "file %s: read failed", path);
            return st;
        }
        *len += (size_t)got;
    }
}

clnet_status clnet_gzfile_read(clnet_ctx *ctx, const char *path, size_t max_bytes,
                               uint8_t **data, size_t *size)
{
    if (!data || !size)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "read file: NULL output");
    *data = NULL;
    *size = 0;
    if (!path)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "read file: NULL path");
    if (max_bytes >= SIZE_MAX / 2)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "file %s: size limit too large", path);
    gzFile f = NULL;
    size_t disk_size = 0;
    clnet_status st = open_file(ctx, path, &f, &disk_size);
    if (st != CLNET_OK)
        return st;
    /* The on-disk size is exact for raw files, so they are read without a
     * single realloc; gzip content grows from there. */
    size_t cap = disk_size < max_bytes ? disk_size + 1 : max_bytes + 1;
    size_t len = 0;
    uint8_t *buf = malloc(cap);
    if (!buf)
        st = clnet_fail(ctx, CLNET_ERR_HOST_MEMORY, "file %s: cannot allocate %zu bytes", path,
                        cap);
    else
        st = read_all(ctx, path, f, max_bytes, &buf, &cap, &len);
    /* Closing a file opened for reading cannot lose data. */
    (void)gzclose(f);
    if (st != CLNET_OK) {
        free(buf);
        return st;
    }
    *data = buf;
    *size = len;
    return CLNET_OK;
}
