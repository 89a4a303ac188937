/* idx.c - the IDX reader (MNIST, Fashion-MNIST): every header field checked,
 * exact sizes, as many labels as images, each label below the class count. */
#include <stdlib.h>
#include <string.h>

#include "data/gzfile.h"
#include "data/readers.h"

#define IDX_IMAGES_MAGIC 0x00000803u
#define IDX_LABELS_MAGIC 0x00000801u
#define IDX_IMAGES_HEADER 16u
#define IDX_LABELS_HEADER 8u
#define IDX_CLASSES 10
/* No image set clnet trains on has larger sides; the bound also keeps
 * count * rows * cols far from overflowing 64 bits. */
#define IDX_MAX_SIDE 4096u

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static clnet_status check_magic(clnet_ctx *ctx, const char *name, const uint8_t *data,
                                size_t size, size_t header, uint32_t magic, const char *what)
{
    if (size < header)
        return clnet_fail(ctx, CLNET_ERR_FORMAT,
                          "file %s: truncated: expected a %zu-byte IDX %s header, found %zu bytes",
                          name, header, what, size);
    if (be32(data) != magic)
        return clnet_fail(ctx, CLNET_ERR_FORMAT,
                          "file %s: not an IDX %s file: magic 0x%08x, expected 0x%08x", name, what,
                          be32(data), magic);
    return CLNET_OK;
}

static clnet_status check_payload(clnet_ctx *ctx, const char *name, uint64_t expected,
                                  size_t found, const char *what)
{
    if (found < expected)
        return clnet_fail(ctx, CLNET_ERR_FORMAT,
                          "file %s: truncated: expected %llu bytes of %s, found %zu", name,
                          (unsigned long long)expected, what, found);
    if (found > expected)
        return clnet_fail(ctx, CLNET_ERR_FORMAT,
                          "file %s: %llu trailing bytes after the %llu bytes of %s", name,
                          (unsigned long long)(found - expected), (unsigned long long)expected,
                          what);
    return CLNET_OK;
}

static clnet_status images_header(clnet_ctx *ctx, const char *name, const uint8_t *data,
                                  size_t size, uint32_t *count, uint32_t *rows, uint32_t *cols)
{
    clnet_status st = check_magic(ctx, name, data, size, IDX_IMAGES_HEADER, IDX_IMAGES_MAGIC,
                                  "image");
    if (st != CLNET_OK)
        return st;
    *count = be32(data + 4);
    *rows = be32(data + 8);
    *cols = be32(data + 12);
    if (*count == 0)
        return clnet_fail(ctx, CLNET_ERR_FORMAT, "file %s: holds no images", name);
    if (*rows == 0 || *cols == 0 || *rows > IDX_MAX_SIDE || *cols > IDX_MAX_SIDE)
        return clnet_fail(ctx, CLNET_ERR_FORMAT,
                          "file %s: image size %ux%u is out of range (1..%u a side)", name, *rows,
                          *cols, IDX_MAX_SIDE);
    uint64_t pixels = (uint64_t)*count * *rows * *cols;
    return check_payload(ctx, name, pixels, size - IDX_IMAGES_HEADER, "pixels");
}

static clnet_status labels_header(clnet_ctx *ctx, const char *name, const uint8_t *data,
                                  size_t size, uint32_t *count)
{
    clnet_status st = check_magic(ctx, name, data, size, IDX_LABELS_HEADER, IDX_LABELS_MAGIC,
                                  "label");
    if (st != CLNET_OK)
        return st;
    *count = be32(data + 4);
    return check_payload(ctx, name, *count, size - IDX_LABELS_HEADER, "labels");
}

static clnet_status check_labels(clnet_ctx *ctx, const char *name, const uint8_t *labels,
                                 uint32_t count)
{
    for (uint32_t i = 0; i < count; i++)
        if (labels[i] >= IDX_CLASSES)
            return clnet_fail(ctx, CLNET_ERR_FORMAT,
                              "file %s: label %u of example %u is out of range (%d classes)",
                              name, labels[i], i, IDX_CLASSES);
    return CLNET_OK;
}

clnet_status clnet_idx_parse(clnet_ctx *ctx, const char *images_name, const uint8_t *images,
                             size_t images_size, const char *labels_name, const uint8_t *labels,
                             size_t labels_size, clnet_dataset **out)
{
    *out = NULL;
    uint32_t count, rows, cols, nlabels;
    clnet_status st = images_header(ctx, images_name, images, images_size, &count, &rows, &cols);
    if (st == CLNET_OK)
        st = labels_header(ctx, labels_name, labels, labels_size, &nlabels);
    if (st != CLNET_OK)
        return st;
    if (count != nlabels)
        return clnet_fail(ctx, CLNET_ERR_FORMAT, "files %s and %s: %u images but %u labels",
                          images_name, labels_name, count, nlabels);
    st = check_labels(ctx, labels_name, labels + IDX_LABELS_HEADER, count);
    if (st != CLNET_OK)
        return st;
    clnet_dataset *ds;
    st = clnet_dataset_new_empty(ctx, "mnist", 1, (int)rows, (int)cols, IDX_CLASSES, &ds);
    if (st != CLNET_OK)
        return st;
    st = clnet_dataset_grow(ctx, ds, count);
    if (st != CLNET_OK) {
        clnet_dataset_free(ds);
        return st;
    }
    memcpy(ds->images, images + IDX_IMAGES_HEADER, (size_t)count * rows * cols);
    memcpy(ds->labels, labels + IDX_LABELS_HEADER, count);
    *out = ds;
    return CLNET_OK;
}

clnet_status clnet_dataset_load_idx(clnet_ctx *ctx, const char *images_path,
                                    const char *labels_path, clnet_dataset **out)
{
    clnet_error_clear(ctx);
    if (!out)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "load IDX dataset: out is NULL");
    *out = NULL;
    if (!images_path || !labels_path)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "load IDX dataset: NULL path");
    uint8_t *images = NULL, *labels = NULL;
    size_t images_size = 0, labels_size = 0;
    clnet_status st = clnet_gzfile_read(ctx, images_path, CLNET_DATASET_FILE_MAX, &images,
                                        &images_size);
    if (st == CLNET_OK)
        st = clnet_gzfile_read(ctx, labels_path, CLNET_DATASET_FILE_MAX, &labels, &labels_size);
    if (st == CLNET_OK)
        st = clnet_idx_parse(ctx, images_path, images, images_size, labels_path, labels,
                             labels_size, out);
    free(images);
    free(labels);
    return st;
}
