/* readers.h - the dataset parsers, which work on bytes already in memory so
 * that the fuzzers can drive them directly, and the storage they share. */
#ifndef CLNET_DATA_READERS_H
#define CLNET_DATA_READERS_H

#include <stddef.h>
#include <stdint.h>

#include "clnet/data.h"
#include "core/internal.h"

/* Upper bound on the content of one dataset file. The largest real one,
 * CIFAR-100's train.bin, holds 154 MB; the bound stops a gzip bomb. */
#define CLNET_DATASET_FILE_MAX ((size_t)1 << 30)

/* Creates a dataset of the given geometry holding no examples yet.
 * Errors: CLNET_ERR_HOST_MEMORY. */
clnet_status clnet_dataset_new_empty(clnet_ctx *ctx, const char *name, int channels, int height,
                                     int width, int classes, clnet_dataset **out);

/* Grows the storage to `count` examples (count > ds->count; existing ones
 * are kept) and sets ds->count. On error the dataset is as it was.
 * Errors: CLNET_ERR_HOST_MEMORY (also when the size overflows). */
clnet_status clnet_dataset_grow(clnet_ctx *ctx, clnet_dataset *ds, int64_t count);

/* Checks an IDX image file's and an IDX label file's content (names are for
 * messages only) and on success hands back a new dataset named "mnist".
 * Errors as clnet_dataset_load_idx, without CLNET_ERR_IO. */
clnet_status clnet_idx_parse(clnet_ctx *ctx, const char *images_name, const uint8_t *images,
                             size_t images_size, const char *labels_name, const uint8_t *labels,
                             size_t labels_size, clnet_dataset **out);

/* Checks one CIFAR batch file's content against ds->classes (10 or 100) and
 * appends its records to ds, which must be 3x32x32. On error ds is as it
 * was. Errors: CLNET_ERR_INVALID_ARGUMENT (bad ds), CLNET_ERR_FORMAT,
 * CLNET_ERR_HOST_MEMORY. */
clnet_status clnet_cifar_parse(clnet_ctx *ctx, const char *name, const uint8_t *data,
                               size_t size, clnet_dataset *ds);

#endif
