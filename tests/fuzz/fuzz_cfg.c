/* fuzz_cfg.c - libFuzzer target for the cfg parser and net builder: the
 * input is a cfg file's text (seeds: the zoo's cfgs; dictionary: cfg.dict).
 * A cfg either builds a net or fails with a message and no net. */
#include <stdlib.h>
#include <string.h>

#include "nn/cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A context whose messages are formatted but never printed, so the error
 * paths run in full. */
static clnet_ctx quiet = {.log_min = CLNET_LOG_ERROR};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    clnet_net *net = NULL;
    quiet.last_error[0] = '\0';
    clnet_status st = clnet_net_parse_cfg(&quiet, text, "fuzz.cfg", NULL, &net);
    if (st == CLNET_OK) {
        if (!net || clnet_net_layer_count(net) < 1)
            abort();
        int64_t params, macs, elementwise;
        clnet_net_counts(net, &params, &macs, &elementwise);
        clnet_net_free(net);
    } else if (net || quiet.last_error[0] == '\0') {
        abort();
    }
    clnet_optimizer opt = {0};
    int batch = 0;
    (void)clnet_cfg_train_defaults(&quiet, text, "fuzz.cfg", &batch, &opt);
    free(text);
    return 0;
}
