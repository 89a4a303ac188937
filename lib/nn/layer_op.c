/* layer_op.c - clnet_net_layer_op: one layer of a net as a stand-alone
 * primitive (its op and operand shapes), for tools that run or tune layers
 * one at a time. */
#include "nn/nn_internal.h"

clnet_status clnet_net_layer_op(const clnet_net *net, int id, clnet_op *op, clnet_shape *x,
                                clnet_shape *w, bool *bias)
{
    clnet_error_clear(net ? net->ctx : NULL);
    if (!net || id < 0 || id >= net->nlayers)
        return clnet_fail(net ? net->ctx : NULL, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_net_layer_op: no layer %d", id);
    const nn_layer *l = &net->layers[id];
    clnet_layer_kind kind = l->spec.kind;
    if (kind != CLNET_LAYER_CONV && kind != CLNET_LAYER_CONV_TRANSPOSE &&
        kind != CLNET_LAYER_LINEAR)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_net_layer_op: layer %d (%s) is a %s, not a conv, "
                          "transposed conv or linear layer", id, l->spec.name,
                          nn_kind_name(kind));
    if (op)
        *op = nn_layer_op(l);
    if (x)
        *x = net->layers[l->spec.from[0]].out;
    if (w)
        *w = l->params[0].shape;
    if (bias)
        *bias = l->nparams > 1;
    return CLNET_OK;
}
