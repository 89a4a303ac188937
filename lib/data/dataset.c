/* dataset.c - a dataset's lifetime: created empty, grown by the readers as
 * they parse, freed by the caller. */
#include <stdio.h>
#include <stdlib.h>

#include "data/readers.h"

clnet_status clnet_dataset_new_empty(clnet_ctx *ctx, const char *name, int channels, int height,
                                     int width, int classes, clnet_dataset **out)
{
    clnet_dataset *ds = calloc(1, sizeof *ds);
    if (!ds)
        return clnet_fail(ctx, CLNET_ERR_HOST_MEMORY, "dataset %s: out of host memory", name);
    snprintf(ds->name, sizeof ds->name, "%s", name);
    ds->channels = channels;
    ds->height = height;
    ds->width = width;
    ds->classes = classes;
    *out = ds;
    return CLNET_OK;
}

clnet_status clnet_dataset_grow(clnet_ctx *ctx, clnet_dataset *ds, int64_t count)
{
    size_t example = (size_t)ds->channels * (size_t)ds->height * (size_t)ds->width;
    if (count <= ds->count || (uint64_t)count > SIZE_MAX / example)
        return clnet_fail(ctx, CLNET_ERR_HOST_MEMORY,
                          "dataset %s: cannot hold %lld examples of %zu bytes", ds->name,
                          (long long)count, example);
    uint8_t *images = realloc(ds->images, (size_t)count * example);
    if (!images)
        return clnet_fail(ctx, CLNET_ERR_HOST_MEMORY,
                          "dataset %s: cannot allocate %zu bytes of images", ds->name,
                          (size_t)count * example);
    ds->images = images;
    uint8_t *labels = realloc(ds->labels, (size_t)count);
    if (!labels)
        return clnet_fail(ctx, CLNET_ERR_HOST_MEMORY,
                          "dataset %s: cannot allocate %lld bytes of labels", ds->name,
                          (long long)count);
    ds->labels = labels;
    ds->count = count;
    return CLNET_OK;
}

void clnet_dataset_free(clnet_dataset *ds)
{
    if (!ds)
        return;
    if (!ds->borrowed) {
        free(ds->images);
        free(ds->labels);
    }
    free(ds);
}
