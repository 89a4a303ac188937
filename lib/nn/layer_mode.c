/* layer_mode.c - finding layers (by name; the classifier head) and the
 * per-layer training or inference mode (frozen batch norms stay in
 * inference mode). */
#include "nn/nn_internal.h"

bool nn_layer_training(const clnet_net *net, const nn_layer *l)
{
    if (!net->training)
        return false;
    switch (l->mode) {
    case CLNET_LAYER_MODE_INFERENCE: return false;
    case CLNET_LAYER_MODE_TRAINING: return true;
    default: return !(l->frozen && l->spec.kind == CLNET_LAYER_BATCHNORM);
    }
}

clnet_status clnet_net_set_layer_mode(clnet_net *net, int first, int last, clnet_layer_mode mode)
{
    clnet_error_clear(net ? net->ctx : NULL);
    if (!net)
        return CLNET_ERR_INVALID_ARGUMENT;
    if (first < 0 || last >= net->nlayers || first > last)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_net_set_layer_mode: "
                          "layers %d..%d are outside the net (0..%d)", first, last,
                          net->nlayers - 1);
    if (mode < CLNET_LAYER_MODE_AUTO || mode > CLNET_LAYER_MODE_TRAINING)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_net_set_layer_mode: unknown mode %d", (int)mode);
    for (int id = first; id <= last; id++)
        net->layers[id].mode = mode;
    return CLNET_OK;
}

clnet_status clnet_net_find_layer(const clnet_net *net, const char *name, int *id)
{
    clnet_error_clear(net ? net->ctx : NULL);
    if (!net || !name || !id)
        return clnet_fail(net ? net->ctx : NULL, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_net_find_layer: NULL argument");
    int found = nn_names_find(net, name);
    if (found >= 0) {
        *id = found;
        return CLNET_OK;
    }
    return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_net_find_layer: no layer "
                      "named '%s' (`clnet-bench models --layers` or clnet_net_summary lists "
                      "them)", name);
}

clnet_status clnet_net_find_head(const clnet_net *net, int *id)
{
    clnet_error_clear(net ? net->ctx : NULL);
    if (!net || !id)
        return clnet_fail(net ? net->ctx : NULL, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_net_find_head: NULL argument");
    for (int i = net->nlayers - 1; i > 0; i--) {
        clnet_layer_kind kind = net->layers[i].spec.kind;
        if (kind == CLNET_LAYER_LINEAR || kind == CLNET_LAYER_CONV || kind == CLNET_LAYER_RBF) {
            *id = i;
            return CLNET_OK;
        }
    }
    return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_net_find_head: the net has "
                      "no linear, conv or rbf layer to serve as its classifier head");
}
