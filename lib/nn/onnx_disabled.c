/* onnx_disabled.c - the ONNX entry points of a library built without ONNX
 * support (-Donnx=disabled, or protobuf-c or onnx.proto missing): they exist,
 * so programs link either way, and say why they cannot work. */
#include "clnet/onnx.h"
#include "nn/nn_internal.h"

clnet_status clnet_net_from_onnx(clnet_ctx *ctx, const char *path,
                                 const clnet_onnx_options *opts, clnet_net **out)
{
    (void)opts;
    if (out)
        *out = NULL;
    return clnet_fail(ctx, CLNET_ERR_UNSUPPORTED, "%s: this clnet was built without ONNX "
                      "support (needs protobuf-c and libonnx-dev)", path ? path : "ONNX");
}

clnet_status clnet_net_save_onnx(clnet_net *net, const char *path)
{
    return clnet_fail(net ? net->ctx : NULL, CLNET_ERR_UNSUPPORTED, "%s: this clnet was built without ONNX "
                      "support (needs protobuf-c and libonnx-dev)", path ? path : "ONNX");
}
