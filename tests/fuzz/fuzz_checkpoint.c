/* fuzz_checkpoint.c - libFuzzer target for the checkpoint loader: the input
 * is a checkpoint of the small net below (seed: corpus/checkpoint). The
 * harness rewrites the trailing CRC-32 so that mutations get past it to the
 * structural checks. A load either succeeds or fails with a message. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "nn/nn_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The net the seeds were saved from: every kind of parameter record
 * (conv weight and bias, batch-norm scale, shift and running statistics,
 * linear weight and bias). */
static const char net_cfg[] = "[net]\ninput = 1x4x4\n"
                              "[conv]\nfilters = 2\nsize = 3\npad = 1\n"
                              "[batchnorm]\nactivation = relu\n"
                              "[linear]\noutputs = 3\n";

static clnet_ctx quiet = {.log_min = CLNET_LOG_ERROR};
static clnet_net *net;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!net && clnet_net_parse_cfg(&quiet, net_cfg, "fuzz_checkpoint", NULL, &net) != CLNET_OK)
        abort();
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    if (size >= 4) {
        uint32_t crc = (uint32_t)crc32_z(crc32(0L, Z_NULL, 0), copy, size - 4);
        for (int b = 0; b < 4; b++)
            copy[size - 4 + b] = (uint8_t)(crc >> (8 * b));
    }
    quiet.last_error[0] = '\0';
    clnet_status st = nn_checkpoint_parse(net, "input", copy, size);
    if (st != CLNET_OK && quiet.last_error[0] == '\0')
        abort();
    free(copy);
    return 0;
}
