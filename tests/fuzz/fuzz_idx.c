/* fuzz_idx.c - libFuzzer target for the IDX parser. The input is split into
 * an image file and a label file; a dataset that parses must be consistent
 * with its input. Build: see tests/fuzz/meson.build. */
#include <stdlib.h>
#include <string.h>

#include "data/readers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A context whose messages are formatted but never printed, so the error
 * paths run in full. */
static clnet_ctx quiet = {.log_min = CLNET_LOG_ERROR};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    /* The first two bytes say how many of the others form the label file. */
    size_t rest = size - 2;
    size_t nlabels = ((size_t)data[0] << 8 | data[1]) % (rest + 1);
    const uint8_t *images = data + 2, *labels = data + 2 + (rest - nlabels);
    clnet_dataset *ds = NULL;
    clnet_status st = clnet_idx_parse(&quiet, "images", images, rest - nlabels, "labels", labels,
                                      nlabels, &ds);
    if (st != CLNET_OK) {
        if (ds || quiet.last_error[0] == '\0')
            abort();
        return 0;
    }
    size_t pixels = (size_t)ds->count * ds->height * ds->width;
    if (ds->channels != 1 || 16 + pixels != rest - nlabels || 8 + (size_t)ds->count != nlabels ||
        memcmp(ds->images, images + 16, pixels) != 0)
        abort();
    for (int64_t i = 0; i < ds->count; i++)
        if (ds->labels[i] >= ds->classes)
            abort();
    clnet_dataset_free(ds);
    return 0;
}
