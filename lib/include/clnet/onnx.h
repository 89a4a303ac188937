/* clnet/onnx.h - networks to and from ONNX models: import a model exported by
 * another framework as an ordinary clnet_net, export a clnet_net as ONNX. */
#ifndef CLNET_ONNX_H
#define CLNET_ONNX_H

#include <stddef.h>

#include "clnet/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How clnet_net_from_onnx reads its model. Zero-initialise; every field is
 * optional. */
typedef struct clnet_onnx_options {
    const void *data;            /* non-NULL: the model's bytes (`size` of them) are read
                                    from here and `path` only names them in messages */
    size_t size;
    clnet_shape input;           /* ndim > 0: the per-image input shape (C, H, W), for a
                                    graph whose input has symbolic (named) dimensions
                                    besides the batch; must agree with the fixed ones */
} clnet_onnx_options;

/* Builds a net, weights included, from the ONNX model at `path` (or in
 * opts->data). The graph must have one float input of rank 2 to 4 whose
 * first axis is the batch (fixed or symbolic) and one output. Operators
 * are mapped onto clnet layers (docs/onnx.md lists them and the attribute
 * values accepted); constant subgraphs, such as the Shape -> Gather ->
 * Concat -> Reshape chains exporters emit for a dynamic batch axis, are
 * computed at import. The net is an ordinary unbound clnet_net: bind it to
 * any device, run, fuse, train, save it as a checkpoint. On success *out is
 * the new net the caller frees with clnet_net_free; on failure *out is NULL
 * and nothing leaks. opts may be NULL. Errors, each message naming the
 * file, and where one is to blame the node (its name or index), its op
 * type and the attribute: CLNET_ERR_IO (cannot read `path`),
 * CLNET_ERR_FORMAT (not an ONNX protobuf, truncated, a dangling input name,
 * a cycle, an initializer whose data does not match its shape, an opset
 * newer than the importer knows), CLNET_ERR_UNSUPPORTED (an operator,
 * attribute value or data type clnet cannot represent exactly, or a
 * library built without ONNX support), the statuses of clnet_net_add for a
 * layer that does not fit (CLNET_ERR_SHAPE, CLNET_ERR_INVALID_PARAMS),
 * CLNET_ERR_INVALID_ARGUMENT (NULL path, out, or a bad opts->input),
 * CLNET_ERR_HOST_MEMORY. */
clnet_status clnet_net_from_onnx(clnet_ctx *ctx, const char *path,
                                 const clnet_onnx_options *opts, clnet_net **out);

/* Writes `net` (its current weights, read from the device when bound) as an
 * ONNX model at opset 13 to `path`, replacing the file atomically (a
 * temporary file, then rename). The graph's input and output have a
 * symbolic batch axis "N". Batch norms are written with their running
 * statistics (inference); a residual add of a narrower input (the CIFAR
 * ResNets' option-A shortcut) is a Pad of zero channels, then the Add.
 * Errors: CLNET_ERR_INVALID_ARGUMENT (NULL argument, a net neither bound
 * nor with weights on the host), CLNET_ERR_UNSUPPORTED naming the layer for
 * a layer with no exact ONNX equivalent (RBF units, adaptive pooling to a
 * size that does not divide its input, LeCun's tanh) or a library built
 * without ONNX support, CLNET_ERR_IO, CLNET_ERR_HOST_MEMORY, those of
 * clnet_net_param_read. */
clnet_status clnet_net_save_onnx(clnet_net *net, const char *path);

#ifdef __cplusplus
}
#endif
#endif
