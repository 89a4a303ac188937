/* gzfile.c - whole-file reading for the dataset readers: the file is read
 * whole (regular files only, core/file.h) and gunzipped when it starts with
 * the gzip magic, so every reader takes .gz and raw files alike. A gzip file
 * is one or more members and nothing else: bytes after the last member that
 * do not start another member are an error naming their offset (zlib's
 * gzread skips them silently). */
#include "data/gzfile.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/file.h"

/* zlib counts in uInt, so no single call may see more than this. */
#define ZLIB_CHUNK ((size_t)1 << 30)

static bool is_gzip(const uint8_t *p, size_t n)
{
    return n >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

static clnet_status too_large(clnet_ctx *ctx, const char *name, size_t max_bytes)
{
    return clnet_fail(ctx, CLNET_ERR_FORMAT,
                      "file %s: content is larger than the limit of %zu bytes", name, max_bytes);
}

/* Doubles the buffer, up to one byte past the cap so that content longer
 * than the cap is detected rather than silently cut. */
static clnet_status grow(clnet_ctx *ctx, const char *name, uint8_t **buf, size_t *cap,
                         size_t max_bytes)
{
    size_t limit = max_bytes + 1;
    size_t want = *cap > limit / 2 ? limit : *cap * 2;
    uint8_t *bigger = realloc(*buf, want);
    if (!bigger)
        return clnet_fail(ctx, CLNET_ERR_HOST_MEMORY, "file %s: cannot allocate %zu bytes", name,
                          want);
    *buf = bigger;
    *cap = want;
    return CLNET_OK;
}

/* What inflate's return code means once its progress is accounted for;
 * CLNET_OK to go on. */
static clnet_status inflate_status(clnet_ctx *ctx, const char *name, int rc, const z_stream *zs,
                                   size_t pos, size_t in_len)
{
    switch (rc) {
    case Z_OK:
        return CLNET_OK;
    case Z_BUF_ERROR:
        if (pos == in_len)
            return clnet_fail(ctx, CLNET_ERR_FORMAT, "file %s: gzip stream ends early (at "
                              "byte %zu, the end of the file)", name, in_len);
        return CLNET_OK;
    case Z_MEM_ERROR:
        return clnet_fail(ctx, CLNET_ERR_HOST_MEMORY, "file %s: zlib is out of memory", name);
    default:
        return clnet_fail(ctx, CLNET_ERR_FORMAT, "file %s: corrupt gzip data near byte %zu (%s)",
                          name, pos, zs->msg ? zs->msg : "invalid");
    }
}

/* Inflates every member of `in` into *buf (capacity *cap, *len used). */
static clnet_status inflate_members(clnet_ctx *ctx, const char *name, z_stream *zs,
                                    const uint8_t *in, size_t in_len, size_t max_bytes,
                                    uint8_t **buf, size_t *cap, size_t *len)
{
    size_t pos = 0;
    for (;;) {
        if (*len == *cap) {
            clnet_status st = grow(ctx, name, buf, cap, max_bytes);
            if (st != CLNET_OK)
                return st;
        }
        size_t in_left = in_len - pos, out_left = *cap - *len;
        zs->next_in = (Bytef *)(uintptr_t)(in + pos);
        zs->avail_in = (uInt)(in_left < ZLIB_CHUNK ? in_left : ZLIB_CHUNK);
        zs->next_out = *buf + *len;
        zs->avail_out = (uInt)(out_left < ZLIB_CHUNK ? out_left : ZLIB_CHUNK);
        uInt avail_in = zs->avail_in, avail_out = zs->avail_out;
        int rc = inflate(zs, Z_NO_FLUSH);
        pos += avail_in - zs->avail_in;
        *len += avail_out - zs->avail_out;
        if (*len > max_bytes)
            return too_large(ctx, name, max_bytes);
        if (rc == Z_STREAM_END) {
            if (pos == in_len)
                return CLNET_OK;
            if (!is_gzip(in + pos, in_len - pos))
                return clnet_fail(ctx, CLNET_ERR_FORMAT, "file %s: %zu bytes of trailing "
                                  "garbage after the gzip data, at byte %zu", name,
                                  in_len - pos, pos);
            if (inflateReset(zs) != Z_OK)
                return clnet_fail(ctx, CLNET_ERR_INTERNAL, "file %s: inflateReset failed", name);
            continue;
        }
        clnet_status st = inflate_status(ctx, name, rc, zs, pos, in_len);
        if (st != CLNET_OK)
            return st;
    }
}

clnet_status clnet_gunzip(clnet_ctx *ctx, const char *name, const uint8_t *in, size_t in_len,
                          size_t max_bytes, uint8_t **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    if (max_bytes >= SIZE_MAX / 2)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "file %s: size limit too large", name);
    if (!is_gzip(in, in_len)) {
        if (in_len > max_bytes)
            return too_large(ctx, name, max_bytes);
        uint8_t *copy = malloc(in_len + 1);
        if (!copy)
            return clnet_fail(ctx, CLNET_ERR_HOST_MEMORY, "file %s: cannot allocate %zu bytes",
                              name, in_len + 1);
        if (in_len)
            memcpy(copy, in, in_len);
        *data = copy;
        *size = in_len;
        return CLNET_OK;
    }
    /* The last member's trailer holds its size mod 2^32: exact for the usual
     * one-member file, so it is read without a single realloc. */
    size_t hint = in_len;
    if (in_len >= 18) {
        const uint8_t *t = in + in_len - 4;
        size_t isize = (size_t)t[0] | (size_t)t[1] << 8 | (size_t)t[2] << 16 | (size_t)t[3] << 24;
        hint = isize > hint ? isize : hint;
    }
    size_t cap = (hint < max_bytes ? hint : max_bytes) + 1, len = 0;
    uint8_t *buf = malloc(cap);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (!buf || inflateInit2(&zs, 15 + 16) != Z_OK) {
        free(buf);
        return clnet_fail(ctx, CLNET_ERR_HOST_MEMORY, "file %s: cannot allocate %zu bytes",
                          name, cap);
    }
    clnet_status st = inflate_members(ctx, name, &zs, in, in_len, max_bytes, &buf, &cap, &len);
    inflateEnd(&zs);
    if (st != CLNET_OK) {
        free(buf);
        return st;
    }
    *data = buf;
    *size = len;
    return CLNET_OK;
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
    if (max_bytes >= SIZE_MAX / 4)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "file %s: size limit too large", path);
    /* deflate never grows data by more than a few bytes per 16 KiB block, so
     * a gzip file larger than this cannot inflate to within the limit */
    size_t raw_limit = max_bytes + max_bytes / 256 + 4096;
    uint8_t *raw;
    size_t raw_len;
    char why[256];
    clnet_status st = clnet_file_read(path, raw_limit, &raw, &raw_len, NULL, why, sizeof why);
    if (st == CLNET_ERR_FORMAT)
        return too_large(ctx, path, max_bytes);
    if (st != CLNET_OK)
        return clnet_fail(ctx, st, "file %s: %s", path, why);
    st = clnet_gunzip(ctx, path, raw, raw_len, max_bytes, data, size);
    free(raw);
    return st;
}
