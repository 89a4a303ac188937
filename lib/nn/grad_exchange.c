/* grad_exchange.c - the hooks through which another library (libclnet-mpi)
 * sums a net's gradients across processes during the backward pass, and
 * its access to the gradient tensors (clnet/parallel.h). */
#include "nn/nn_internal.h"

clnet_status clnet_net_set_grad_exchange(clnet_net *net, const clnet_grad_exchange *ex)
{
    clnet_error_clear(net ? net->ctx : NULL);
    if (!net)
        return CLNET_ERR_INVALID_ARGUMENT;
    if (ex && (!ex->layer_ready || !ex->finish))
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_net_set_grad_exchange: "
                          "both hooks are needed (layer_ready %s, finish %s)",
                          ex->layer_ready ? "set" : "NULL", ex->finish ? "set" : "NULL");
    net->exchange = ex ? *ex : (clnet_grad_exchange){0};
    return CLNET_OK;
}

/* The index in layer id's params of its i-th trainable parameter, or -1. */
static int trainable_param(const clnet_net *net, int id, int i)
{
    if (!net || id < 0 || id >= net->nlayers || i < 0)
        return -1;
    const nn_layer *l = &net->layers[id];
    for (int j = 0; j < l->nparams; j++)
        if (l->params[j].trainable && i-- == 0)
            return j;
    return -1;
}

int clnet_net_grad_count(const clnet_net *net, int id)
{
    int count = 0;
    while (trainable_param(net, id, count) >= 0)
        count++;
    return count;
}

clnet_tensor *clnet_net_grad(clnet_net *net, int id, int i)
{
    int j = trainable_param(net, id, i);
    return j >= 0 && net->dev ? net->layers[id].params[j].grad : NULL;
}
