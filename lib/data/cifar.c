/* cifar.c - the CIFAR-10/100 binary reader: whole records only, labels
 * checked, batch files concatenated in the order given. */
#include <stdlib.h>
#include <string.h>

#include "data/gzfile.h"
#include "data/readers.h"

#define CIFAR_SIDE 32
#define CIFAR_PIXELS (3 * CIFAR_SIDE * CIFAR_SIDE)
#define CIFAR100_COARSE 20

/* CIFAR-100 records carry the coarse label first; both are checked, the
 * fine one is kept. */
static clnet_status check_labels(clnet_ctx *ctx, const char *name, const uint8_t *data,
                                 size_t records, size_t record, int classes)
{
    for (size_t r = 0; r < records; r++) {
        const uint8_t *rec = data + r * record;
        if (classes == 100 && rec[0] >= CIFAR100_COARSE)
            return clnet_fail(ctx, CLNET_ERR_FORMAT,
                              "file %s: coarse label %u of record %zu is out of range "
                              "(%d superclasses)",
                              name, rec[0], r, CIFAR100_COARSE);
        uint8_t label = rec[record - CIFAR_PIXELS - 1];
        if (label >= classes)
            return clnet_fail(ctx, CLNET_ERR_FORMAT,
                              "file %s: label %u of record %zu is out of range (%d classes)", name,
                              label, r, classes);
    }
    return CLNET_OK;
}

clnet_status clnet_cifar_parse(clnet_ctx *ctx, const char *name, const uint8_t *data,
                               size_t size, clnet_dataset *ds)
{
    if (!ds || (ds->classes != 10 && ds->classes != 100) || ds->channels != 3 ||
        ds->height != CIFAR_SIDE || ds->width != CIFAR_SIDE)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "file %s: CIFAR records go into a 3x32x32 dataset of 10 or 100 classes",
                          name);
    size_t record = CIFAR_PIXELS + (ds->classes == 100 ? 2 : 1);
    if (size == 0)
        return clnet_fail(ctx, CLNET_ERR_FORMAT, "file %s: empty: no CIFAR records", name);
    if (size % record != 0)
        return clnet_fail(ctx, CLNET_ERR_FORMAT,
                          "file %s: truncated: %zu bytes is not a whole number of %zu-byte "
                          "records (%zu records and %zu bytes of a partial one)",
                          name, size, record, size / record, size % record);
    size_t records = size / record;
    clnet_status st = check_labels(ctx, name, data, records, record, ds->classes);
    if (st != CLNET_OK)
        return st;
    int64_t first = ds->count;
    st = clnet_dataset_grow(ctx, ds, first + (int64_t)records);
    if (st != CLNET_OK)
        return st;
    for (size_t r = 0; r < records; r++) {
        const uint8_t *rec = data + r * record;
        ds->labels[first + (int64_t)r] = rec[record - CIFAR_PIXELS - 1];
        /* The record's R, G and B planes are already the CHW layout. */
        memcpy(ds->images + (size_t)(first + (int64_t)r) * CIFAR_PIXELS,
               rec + record - CIFAR_PIXELS, CIFAR_PIXELS);
    }
    return CLNET_OK;
}

static clnet_status check_args(clnet_ctx *ctx, const char *const *paths, int npaths,
                               int classes)
{
    if (!paths || npaths < 1)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "load CIFAR dataset: no files given (npaths %d)", npaths);
    for (int i = 0; i < npaths; i++)
        if (!paths[i])
            return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                              "load CIFAR dataset: path %d is NULL", i);
    if (classes != 10 && classes != 100)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "load CIFAR dataset: classes is %d, expected 10 or 100", classes);
    return CLNET_OK;
}

clnet_status clnet_dataset_load_cifar(clnet_ctx *ctx, const char *const *paths, int npaths,
                                      int classes, clnet_dataset **out)
{
    clnet_error_clear(ctx);
    if (!out)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "load CIFAR dataset: out is NULL");
    *out = NULL;
    clnet_status st = check_args(ctx, paths, npaths, classes);
    if (st != CLNET_OK)
        return st;
    clnet_dataset *ds;
    st = clnet_dataset_new_empty(ctx, classes == 10 ? "cifar10" : "cifar100", 3, CIFAR_SIDE,
                                 CIFAR_SIDE, classes, &ds);
    if (st != CLNET_OK)
        return st;
    for (int i = 0; i < npaths && st == CLNET_OK; i++) {
        uint8_t *data;
        size_t size;
        st = clnet_gzfile_read(ctx, paths[i], CLNET_DATASET_FILE_MAX, &data, &size);
        if (st == CLNET_OK)
            st = clnet_cifar_parse(ctx, paths[i], data, size, ds);
        free(data);
    }
    if (st != CLNET_OK) {
        clnet_dataset_free(ds);
        return st;
    }
    *out = ds;
    return CLNET_OK;
}
