/* dataset_ops.c - datasets made from other sources: a caller's arrays
 * (copied or borrowed), a subset by indices, a label remap, and the
 * concatenation of several sets. */
#include <stdlib.h>
#include <string.h>

#include "data/readers.h"

static size_t image_bytes(const clnet_dataset *ds)
{
    return (size_t)ds->channels * (size_t)ds->height * (size_t)ds->width;
}

/* A new dataset of the given geometry holding `count` uninitialised
 * examples. */
static clnet_status new_sized(clnet_ctx *ctx, const char *name, int channels, int height,
                              int width, int classes, int64_t count, clnet_dataset **out)
{
    *out = NULL;
    clnet_dataset *ds;
    clnet_status st = clnet_dataset_new_empty(ctx, name ? name : "custom", channels, height,
                                              width, classes, &ds);
    if (st == CLNET_OK)
        st = clnet_dataset_grow(ctx, ds, count);
    if (st != CLNET_OK) {
        clnet_dataset_free(ds);
        return st;
    }
    *out = ds;
    return CLNET_OK;
}

static bool bad_dataset(const clnet_dataset *ds)
{
    return !ds || ds->count < 0 || ds->channels < 1 || ds->height < 1 || ds->width < 1 ||
           (ds->count > 0 && (!ds->images || !ds->labels));
}

clnet_status clnet_dataset_from_arrays(clnet_ctx *ctx, const char *name, int64_t count,
                                       int channels, int height, int width, int classes,
                                       const uint8_t *images, const uint8_t *labels, bool copy,
                                       clnet_dataset **out)
{
    clnet_error_clear(ctx);
    if (!out)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_dataset_from_arrays: out is NULL");
    *out = NULL;
    if (!images || !labels)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_dataset_from_arrays: images and labels must not be NULL");
    if (count < 1 || channels < 1 || height < 1 || width < 1 || classes < 1 || classes > 256)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_dataset_from_arrays: %lld "
                          "images of %dx%dx%d, %d classes (need count, dimensions >= 1 and "
                          "classes 1..256)", (long long)count, channels, height, width, classes);
    for (int64_t i = 0; i < count; i++)
        if (labels[i] >= classes)
            return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_dataset_from_arrays: "
                              "label %d of image %lld is not below classes = %d", labels[i],
                              (long long)i, classes);
    clnet_dataset *ds;
    clnet_status st;
    if (copy) {
        st = new_sized(ctx, name, channels, height, width, classes, count, &ds);
        if (st != CLNET_OK)
            return st;
        memcpy(ds->images, images, (size_t)count * image_bytes(ds));
        memcpy(ds->labels, labels, (size_t)count);
    } else {
        st = clnet_dataset_new_empty(ctx, name ? name : "custom", channels, height, width,
                                     classes, &ds);
        if (st != CLNET_OK)
            return st;
        /* the dataset never writes through these: clnet_dataset_free and the
         * batching functions honour `borrowed` and only read */
        ds->images = (uint8_t *)(uintptr_t)images;
        ds->labels = (uint8_t *)(uintptr_t)labels;
        ds->count = count;
        ds->borrowed = true;
    }
    *out = ds;
    return CLNET_OK;
}

clnet_status clnet_dataset_subset(clnet_ctx *ctx, const clnet_dataset *src,
                                  const int64_t *indices, int64_t n, clnet_dataset **out)
{
    clnet_error_clear(ctx);
    if (out)
        *out = NULL;
    if (bad_dataset(src) || !indices || !out || n < 1)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_dataset_subset: NULL or "
                          "malformed argument, or n = %lld < 1", (long long)n);
    for (int64_t i = 0; i < n; i++)
        if (indices[i] < 0 || indices[i] >= src->count)
            return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_dataset_subset: "
                              "indices[%lld] = %lld is outside %s's 0..%lld", (long long)i,
                              (long long)indices[i], src->name, (long long)src->count - 1);
    clnet_dataset *ds;
    clnet_status st = new_sized(ctx, src->name, src->channels, src->height, src->width,
                                src->classes, n, &ds);
    if (st != CLNET_OK)
        return st;
    size_t bytes = image_bytes(src);
    for (int64_t i = 0; i < n; i++) {
        memcpy(ds->images + (size_t)i * bytes, src->images + (size_t)indices[i] * bytes, bytes);
        ds->labels[i] = src->labels[indices[i]];
    }
    *out = ds;
    return CLNET_OK;
}

clnet_status clnet_dataset_remap_labels(clnet_ctx *ctx, const clnet_dataset *src,
                                        const int *map, int nmap, int classes,
                                        clnet_dataset **out)
{
    clnet_error_clear(ctx);
    if (out)
        *out = NULL;
    if (bad_dataset(src) || !map || !out)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_dataset_remap_labels: NULL or malformed argument");
    if (nmap != src->classes || classes < 1 || classes > 256)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_dataset_remap_labels: the "
                          "map has %d entries for %s's %d classes, into %d classes (1..256)",
                          nmap, src->name, src->classes, classes);
    for (int l = 0; l < nmap; l++)
        if (map[l] >= classes)
            return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_dataset_remap_labels: "
                              "map[%d] = %d is not below classes = %d", l, map[l], classes);
    int64_t kept = 0;
    for (int64_t i = 0; i < src->count; i++)
        kept += src->labels[i] < nmap && map[src->labels[i]] >= 0;
    if (kept == 0)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_dataset_remap_labels: the "
                          "map drops every example of %s", src->name);
    clnet_dataset *ds;
    clnet_status st = new_sized(ctx, src->name, src->channels, src->height, src->width,
                                classes, kept, &ds);
    if (st != CLNET_OK)
        return st;
    size_t bytes = image_bytes(src);
    int64_t k = 0;
    for (int64_t i = 0; i < src->count; i++) {
        uint8_t l = src->labels[i];
        if (l >= nmap || map[l] < 0)
            continue;
        memcpy(ds->images + (size_t)k * bytes, src->images + (size_t)i * bytes, bytes);
        ds->labels[k++] = (uint8_t)map[l];
    }
    *out = ds;
    return CLNET_OK;
}

clnet_status clnet_dataset_concat(clnet_ctx *ctx, const clnet_dataset *const *parts, int nparts,
                                  clnet_dataset **out)
{
    clnet_error_clear(ctx);
    if (out)
        *out = NULL;
    if (!parts || nparts < 1 || !out)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_dataset_concat: NULL argument or no parts");
    int64_t total = 0;
    int classes = 0;
    for (int i = 0; i < nparts; i++) {
        const clnet_dataset *p = parts[i];
        if (bad_dataset(p))
            return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                              "clnet_dataset_concat: part %d is NULL or malformed", i);
        if (p->channels != parts[0]->channels || p->height != parts[0]->height ||
            p->width != parts[0]->width)
            return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_dataset_concat: part %d "
                              "(%s) has %dx%dx%d images, part 0 (%s) %dx%dx%d", i, p->name,
                              p->channels, p->height, p->width, parts[0]->name,
                              parts[0]->channels, parts[0]->height, parts[0]->width);
        total += p->count;
        classes = p->classes > classes ? p->classes : classes;
    }
    if (total < 1)
        return clnet_fail(ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_dataset_concat: the parts hold no examples");
    clnet_dataset *ds;
    clnet_status st = new_sized(ctx, parts[0]->name, parts[0]->channels, parts[0]->height,
                                parts[0]->width, classes, total, &ds);
    if (st != CLNET_OK)
        return st;
    size_t bytes = image_bytes(ds);
    int64_t at = 0;
    for (int i = 0; i < nparts; i++) {
        if (parts[i]->count == 0)
            continue;
        memcpy(ds->images + (size_t)at * bytes, parts[i]->images,
               (size_t)parts[i]->count * bytes);
        memcpy(ds->labels + at, parts[i]->labels, (size_t)parts[i]->count);
        at += parts[i]->count;
    }
    *out = ds;
    return CLNET_OK;
}
