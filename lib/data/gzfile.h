/* gzfile.h - reads a whole file into memory, gunzipping it when it is gzip
 * (detected from the content), for the dataset readers. */
#ifndef CLNET_DATA_GZFILE_H
#define CLNET_DATA_GZFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/internal.h"

/* Reads `path` (plain or gzip) into a new malloc'd buffer *data of *size
 * bytes; the caller frees it. Content beyond `max_bytes` is an error, so a
 * gzip bomb cannot exhaust memory. Errors, each naming the file:
 * CLNET_ERR_IO (cannot open or read, not a regular file), CLNET_ERR_FORMAT
 * (corrupt gzip data, a gzip stream that ends early, trailing bytes after
 * the last gzip member, naming their offset, more than max_bytes),
 * CLNET_ERR_HOST_MEMORY. On error *data is NULL. */
clnet_status clnet_gzfile_read(clnet_ctx *ctx, const char *path, size_t max_bytes,
                               uint8_t **data, size_t *size);

/* The same on a file already in memory (`name` names it in messages): a
 * copy of `in` when it does not start with the gzip magic, else every gzip
 * member inflated, nothing allowed after the last one. */
clnet_status clnet_gunzip(clnet_ctx *ctx, const char *name, const uint8_t *in, size_t in_len,
                          size_t max_bytes, uint8_t **data, size_t *size);

#endif
