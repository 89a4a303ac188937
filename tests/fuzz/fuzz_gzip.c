/* fuzz_gzip.c - libFuzzer target for the gzip layer under the dataset
 * readers: the input is a file's content (seeds: corpus/gzip). Raw content
 * must come back unchanged, gzip content inflate to at most the limit, and
 * anything refused must say why. */
#include <stdlib.h>
#include <string.h>

#include "data/gzfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* small, so that a bomb is caught quickly */
#define LIMIT ((size_t)1 << 20)

static clnet_ctx quiet = {.log_min = CLNET_LOG_ERROR};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *out = NULL;
    size_t len = 0;
    quiet.last_error[0] = '\0';
    clnet_status st = clnet_gunzip(&quiet, "input", data, size, LIMIT, &out, &len);
    bool gzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
    if (st != CLNET_OK) {
        if (out || quiet.last_error[0] == '\0' || (!gzip && size <= LIMIT))
            abort();
        return 0;
    }
    if (!out || len > LIMIT || (!gzip && (len != size || memcmp(out, data, size) != 0)))
        abort();
    free(out);
    return 0;
}
