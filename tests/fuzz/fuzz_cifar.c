/* fuzz_cifar.c - libFuzzer target for the CIFAR parser. The first byte
 * picks CIFAR-10 or CIFAR-100; the rest is one batch file, parsed twice
 * into one dataset so that appending is exercised too. */
#include <stdlib.h>
#include <string.h>

#include "data/readers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A context whose messages are formatted but never printed, so the error
 * paths run in full. */
static clnet_ctx quiet = {.log_min = CLNET_LOG_ERROR};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int classes = data[0] & 1 ? 100 : 10;
    size_t record = classes == 100 ? 3074 : 3073;
    clnet_dataset *ds = NULL;
    if (clnet_dataset_new_empty(&quiet, "fuzz", 3, 32, 32, classes, &ds) != CLNET_OK)
        return 0;
    for (int pass = 0; pass < 2; pass++) {
        clnet_status st = clnet_cifar_parse(&quiet, "input", data + 1, size - 1, ds);
        if (st != CLNET_OK) {
            if (ds->count != 0 || quiet.last_error[0] == '\0')
                abort();
            break;
        }
    }
    int64_t n = (int64_t)((size - 1) / record);
    if (ds->count != 0 && ds->count != 2 * n)
        abort();
    for (int64_t i = 0; i < ds->count; i++)
        if (ds->labels[i] >= classes || ds->labels[i] != ds->labels[i % n] ||
            memcmp(ds->images + i * 3072, ds->images + (i % n) * 3072, 3072) != 0)
            abort();
    clnet_dataset_free(ds);
    return 0;
}
