/* fuzz_onnx.c - libFuzzer target for the ONNX importer: any bytes either
 * import as a net that runs on the reference backend or fail with a message.
 * Build: see tests/fuzz/meson.build. */
#include <stdlib.h>

#include "clnet/onnx.h"
#include "core/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One context for the whole run (it holds the device registry), logging
 * only errors: messages are still formatted, so the error paths run in full. */
static clnet_ctx *ctx;

/* Nets with more work than this per image are imported but not run. */
#define FUZZ_MAX_MACS 1000000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ctx && (clnet_ctx_new(&ctx) != CLNET_OK ||
                 (clnet_ctx_set_log(ctx, NULL, NULL, CLNET_LOG_ERROR), false)))
        abort();
    clnet_onnx_options opts = {.data = data, .size = size};
    clnet_net *net = NULL;
    ctx->last_error[0] = '\0';
    clnet_status st = clnet_net_from_onnx(ctx, "fuzz.onnx", &opts, &net);
    if (st != CLNET_OK) {
        if (net || ctx->last_error[0] == '\0')
            abort();
        return 0;
    }
    int64_t macs, in_numel;
    clnet_layer_info in;
    clnet_net_counts(net, NULL, &macs, NULL);
    clnet_net_layer_info(net, 0, &in);
    in_numel = clnet_shape_numel(&in.out);
    clnet_device *ref = NULL;
    if (macs <= FUZZ_MAX_MACS && in_numel <= 65536 &&
        clnet_device_find(ctx, "ref", &ref) == CLNET_OK &&
        clnet_net_bind(net, ref, 1, CLNET_INIT_HE_NORMAL, 1) == CLNET_OK) {
        float *x = calloc((size_t)in_numel, sizeof *x);
        if (x)
            clnet_net_forward(net, x, 1);
        free(x);
    }
    clnet_net_free(net);
    return 0;
}
