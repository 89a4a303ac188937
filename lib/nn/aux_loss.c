/* aux_loss.c - auxiliary outputs (a layer with loss_weight > 0, such as
 * GoogLeNet's and Inception-v3's side classifiers): their weighted losses
 * join the output's in training, and inference skips what only they need. */
#include "nn/nn_internal.h"

#include <stdlib.h>

static bool is_aux_output(const clnet_net *net, int id)
{
    return net->layers[id].spec.loss_weight > 0.0f && id != nn_loss_layer(net);
}

void nn_mark_aux_only(clnet_net *net)
{
    /* A layer runs when the output needs it, when it is a dead end that is
     * no auxiliary output (a caller may read it), or when it feeds one that
     * runs: marked from the output down, ids being in topological order. */
    int last = net->nlayers - 1;
    for (int id = 1; id <= last; id++) {
        nn_layer *l = &net->layers[id];
        l->aux_only = !(id == last || (l->consumers == 0 && !is_aux_output(net, id)));
    }
    for (int id = last; id > 0; id--) {
        const nn_layer *l = &net->layers[id];
        if (l->aux_only)
            continue;
        for (int i = 0; i < l->spec.nfrom; i++)
            net->layers[l->spec.from[i]].aux_only = false;
        if (l->spec.kind == CLNET_LAYER_UNPOOL)
            net->layers[l->spec.switches].aux_only = false;
    }
}

/* One auxiliary output's weighted loss added to `values`, its weighted
 * gradient written as its layer's first (the loss runs before any layer's
 * backward pass). */
static clnet_status aux_loss(clnet_net *net, int id, clnet_tensor *truth, clnet_tensor *values,
                             clnet_tensor *scratch)
{
    nn_layer *l = &net->layers[id];
    float w = l->spec.loss_weight;
    clnet_op xent = {.kind = CLNET_OP_SOFTMAX_XENT};
    xent.u.loss.label_smoothing = net->label_smoothing;
    xent.u.loss.scale = w * (net->loss_sum ? 1.0f : 1.0f / (float)net->last_n);
    /* the gradient goes to scratch when nothing below needs it */
    clnet_tensor *grad = l->needs_grad ? l->b.dy2 : l->b.acc2;
    clnet_status st = clnet_op_run(net->dev, &xent, 2, (clnet_tensor *[]){l->b.y2, truth}, 2,
                                   (clnet_tensor *[]){scratch, grad});
    l->grad_written = l->needs_grad;
    /* values += w * scratch */
    clnet_op scale = clnet_op_activation(CLNET_ACT_SCALE, w);
    clnet_op sum = {.kind = CLNET_OP_BINARY, .u.binary.fn = CLNET_BINARY_ADD};
    if (st == CLNET_OK)
        st = clnet_op_run(net->dev, &scale, 1, &scratch, 1, &scratch);
    if (st == CLNET_OK)
        st = clnet_op_run(net->dev, &sum, 2, (clnet_tensor *[]){values, scratch}, 1, &values);
    return st == CLNET_OK ? st : nn_layer_fail(net, id, "auxiliary loss", st);
}

clnet_status nn_aux_losses(clnet_net *net, const int32_t *labels, clnet_tensor *truth,
                           clnet_tensor *values)
{
    int n = net->last_n;
    clnet_tensor *scratch = NULL;
    clnet_status st = CLNET_OK;
    for (int id = 1; st == CLNET_OK && id < net->nlayers; id++) {
        if (!is_aux_output(net, id))
            continue;
        const nn_layer *l = &net->layers[id];
        int64_t k = nn_numel(&l->out);
        if (net->loss != CLNET_LOSS_SOFTMAX_XENT)
            st = clnet_fail(net->ctx, CLNET_ERR_UNSUPPORTED, "clnet_net_backward: auxiliary "
                            "output %s (loss_weight %g) trains with the softmax cross-entropy "
                            "loss only", l->spec.name, (double)l->spec.loss_weight);
        for (int i = 0; st == CLNET_OK && i < n; i++)
            if (labels[i] >= k)
                st = clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_net_backward: "
                                "label %d of image %d outside 0..%lld of auxiliary output %s",
                                labels[i], i, (long long)k - 1, l->spec.name);
        if (st == CLNET_OK && !net->aux_loss_values) {
            int64_t len = net->max_batch;
            st = clnet_tensor_new(net->dev, CLNET_F32, 1, &len, &net->aux_loss_values);
        }
        if (st == CLNET_OK && !scratch)
            st = clnet_tensor_slice(net->aux_loss_values, 0, 0, n, &scratch);
        if (st == CLNET_OK)
            st = aux_loss(net, id, truth, values, scratch);
    }
    clnet_tensor_free(scratch);
    return st;
}
