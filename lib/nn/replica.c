/* replica.c - copies an unbound net (layers, parameter values, optimizer
 * state and settings) into a new net: the replicas of data-parallel
 * training start from it. */
#include "nn/nn_internal.h"

#include <stdlib.h>

/* Parameter values and optimizer state, which live on the host while both
 * nets are unbound. */
static clnet_status copy_values(const clnet_net *src, clnet_net *dst)
{
    clnet_status st = CLNET_OK;
    for (int i = 0; st == CLNET_OK && i < src->nlayers; i++)
        for (int j = 0; st == CLNET_OK && j < src->layers[i].nparams; j++) {
            const nn_param *from = &src->layers[i].params[j];
            nn_param *to = &dst->layers[i].params[j];
            if (from->host)
                st = nn_param_write(dst, to, from->host);
            for (int s = 0; st == CLNET_OK && s < src->opt_nstate; s++)
                if (from->state_host[s])
                    st = nn_state_write(dst, to, s, from->state_host[s]);
        }
    return st;
}

/* What is not a layer: the loss, the input normalisation, the optimizer's
 * kind and step count, the training state. */
static clnet_status copy_settings(const clnet_net *src, clnet_net *dst)
{
    for (int i = 0; i < src->nlayers; i++) {
        dst->layers[i].frozen = src->layers[i].frozen;
        dst->layers[i].mode = src->layers[i].mode;
        for (int j = 0; j < src->layers[i].nparams; j++) {
            dst->layers[i].params[j].lr_mult = src->layers[i].params[j].lr_mult;
            dst->layers[i].params[j].decay_mult = src->layers[i].params[j].decay_mult;
        }
    }
    dst->input_grad = src->input_grad;
    dst->loss = src->loss;
    dst->label_smoothing = src->label_smoothing;
    dst->mmi_j = src->mmi_j;
    dst->no_fusion = src->no_fusion;
    dst->opt_kind = src->opt_kind;
    dst->opt_nstate = src->opt_nstate;
    dst->opt_steps = src->opt_steps;
    dst->progress = src->progress;
    if (!src->norm)
        return CLNET_OK;
    int c = (int)src->layers[0].out.dim[0];
    return clnet_net_set_input_norm(dst, src->norm, src->norm + c);
}

clnet_status nn_net_copy(const clnet_net *src, clnet_net **out)
{
    *out = NULL;
    if (src->dev)
        return clnet_fail(src->ctx, CLNET_ERR_INTERNAL, "net copy: the net is still bound");
    clnet_net *dst = NULL;
    clnet_status st = clnet_net_new(src->ctx, &src->layers[0].out, &dst);
    /* the specs hold absolute input ids and every default filled in, so
     * adding them again rebuilds the same layers */
    for (int i = 1; st == CLNET_OK && i < src->nlayers; i++)
        st = clnet_net_add(dst, &src->layers[i].spec, NULL);
    if (st == CLNET_OK)
        st = copy_settings(src, dst);
    if (st == CLNET_OK)
        st = copy_values(src, dst);
    if (st != CLNET_OK) {
        clnet_net_free(dst);
        return st;
    }
    *out = dst;
    return CLNET_OK;
}
