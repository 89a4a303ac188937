/* fuse.c - fused forward passes: a convolution and the activation after it
 * (its own, or an ACTIVATION layer that is its only consumer) as one op,
 * and at inference a batch norm that is its only consumer folded into its
 * weights, so that the layers after it need neither a launch nor a pass
 * over memory of their own; a batch norm and its own activation as one op,
 * forward and backward; in training a batch norm, the residual ADD after it
 * and that ADD's activation as one op, forward and backward. */
#include "nn/nn_internal.h"

/* What one fused convolution computes. */
typedef struct nn_fusion {
    int bn;                    /* the folded BATCHNORM layer, or 0 */
    int act_layer;             /* the ACTIVATION layer computed along, or 0 */
    int target;                /* the layer whose output receives the result */
    bool act;                  /* an activation is applied */
    clnet_act_params act_params;
} nn_fusion;

void nn_set_fusion(clnet_net *net, bool enabled)
{
    net->no_fusion = !enabled;
}

/* In training an activation is fused where the backward pass can take its
 * gradient from its output in place of its input (clnet_act_slope_from_output):
 * then training needs no copy of the convolution's raw output. */
static bool fusable_act(const clnet_net *net, const clnet_act_params *a)
{
    return !net->training || clnet_act_slope_from_output(a);
}

/* The activation a batch norm layer has of its own is computed in the
 * normalising pass (BATCHNORM with fuse_act) and its gradient in the batch
 * norm's gradient pass: read from the output, or, for the other
 * activations of a batch norm that computes its statistics, from the
 * pre-activation that pass recomputes from x. Neither the activation nor
 * its gradient needs a pass over memory. */
bool nn_bn_act_fusable(const clnet_net *net, const nn_layer *l)
{
    return !net->no_fusion && l->spec.kind == CLNET_LAYER_BATCHNORM && l->spec.has_act &&
           (fusable_act(net, &l->spec.act) || nn_layer_training(net, l));
}

/* The only consumer of layer `id` when it is of `kind` and reads the
 * layer's own output tensor; 0 otherwise. */
static int sole_consumer(const clnet_net *net, int id, clnet_layer_kind kind)
{
    const nn_layer *l = &net->layers[id];
    if (l->consumers != 1 || l->y_alias != NN_OWN)
        return 0;
    return net->layers[l->consumer].spec.kind == kind ? l->consumer : 0;
}

/* The fusion for convolution `id`, false when there is nothing to fuse. */
static bool plan(const clnet_net *net, int id, nn_fusion *f)
{
    const nn_layer *l = &net->layers[id];
    *f = (nn_fusion){.target = id};
    if (net->no_fusion || l->spec.kind != CLNET_LAYER_CONV)
        return false;
    if (!net->training && !l->spec.has_act)
        f->bn = sole_consumer(net, id, CLNET_LAYER_BATCHNORM);
    const int last = f->bn ? f->bn : id;
    const nn_layer *t = &net->layers[last];
    const int act = t->spec.has_act ? 0 : sole_consumer(net, last, CLNET_LAYER_ACTIVATION);
    if (t->spec.has_act && fusable_act(net, &t->spec.act)) {
        f->act = true;
        f->act_params = t->spec.act;
    } else if (act && fusable_act(net, &net->layers[act].spec.act)) {
        f->act = true;
        f->act_params = net->layers[act].spec.act;
        f->act_layer = act;
    }
    f->target = f->act_layer ? f->act_layer : last;
    /* an unfusable activation of a folded batch norm still runs after it */
    if (f->bn && t->spec.has_act && !f->act)
        return false;
    return f->bn || f->act;
}

static clnet_status new_like(clnet_net *net, int ndim, const int64_t *shape, clnet_tensor **t)
{
    return *t ? CLNET_OK : clnet_tensor_new(net->dev, CLNET_F32, ndim, shape, t);
}

/* w' = w * s and b' = (b - mean) * s + beta with s = gamma / sqrt(var + eps)
 * per output channel: the batch norm's inference transform moved into the
 * convolution. Computed with BATCHNORM ops on the weights viewed as (1, K,
 * C/g*KH*KW) (mean and beta zero) and on the bias viewed as (1, K, 1), and
 * kept until a parameter changes (net->param_version). */
static clnet_status fold(clnet_net *net, nn_layer *conv, const nn_layer *bn)
{
    if (conv->fold_w && conv->fold_version == net->param_version)
        return CLNET_OK;
    const clnet_shape *ws = &conv->params[0].shape;
    const int64_t k = ws->dim[0], taps = nn_numel(ws) / k;
    clnet_status st = new_like(net, ws->ndim, ws->dim, &conv->fold_w);
    if (st == CLNET_OK)
        st = new_like(net, 1, &k, &conv->fold_b);
    if (st == CLNET_OK)
        st = new_like(net, 1, &k, &conv->fold_zero);
    if (st == CLNET_OK)
        st = clnet_tensor_fill(conv->fold_zero, 0.0f);
    clnet_tensor *w3 = NULL, *fw3 = NULL, *b3 = NULL, *fb3 = NULL;
    const int64_t wshape[3] = {1, k, taps}, bshape[3] = {1, k, 1};
    clnet_tensor *bias = conv->nparams > 1 ? conv->params[1].value : conv->fold_zero;
    if (st == CLNET_OK)
        st = clnet_tensor_reshape(conv->params[0].value, 3, wshape, &w3);
    if (st == CLNET_OK)
        st = clnet_tensor_reshape(conv->fold_w, 3, wshape, &fw3);
    if (st == CLNET_OK)
        st = clnet_tensor_reshape(bias, 3, bshape, &b3);
    if (st == CLNET_OK)
        st = clnet_tensor_reshape(conv->fold_b, 3, bshape, &fb3);
    clnet_op op = nn_layer_op(bn);
    clnet_tensor *gamma = bn->params[0].value, *beta = bn->params[1].value;
    clnet_tensor *mean = bn->params[2].value, *var = bn->params[3].value;
    if (st == CLNET_OK)
        st = clnet_op_run(net->dev, &op, 5,
                          (clnet_tensor *[]){w3, conv->fold_zero, var, gamma, conv->fold_zero}, 1,
                          &fw3);
    if (st == CLNET_OK)
        st = clnet_op_run(net->dev, &op, 5, (clnet_tensor *[]){b3, mean, var, gamma, beta}, 1,
                          &fb3);
    clnet_tensor_free(w3);
    clnet_tensor_free(fw3);
    clnet_tensor_free(b3);
    clnet_tensor_free(fb3);
    if (st == CLNET_OK)
        conv->fold_version = net->param_version;
    return st;
}

bool nn_forward_fused(clnet_net *net, int id, clnet_status *st)
{
    nn_fusion f;
    if (!plan(net, id, &f))
        return false;
    nn_layer *l = &net->layers[id];
    clnet_op op = nn_layer_op(l);
    op.u.conv.fuse_act = f.act;
    op.u.conv.act = f.act_params;
    clnet_tensor *in[3] = {net->layers[l->spec.from[0]].b.y, l->params[0].value,
                           l->nparams > 1 ? l->params[1].value : NULL};
    if (f.bn) {
        *st = fold(net, l, &net->layers[f.bn]);
        if (*st != CLNET_OK)
            return true;
        in[1] = l->fold_w;
        in[2] = l->fold_b;
    }
    nn_layer *t = &net->layers[f.target];
    *st = clnet_op_run(net->dev, &op, in[2] ? 3 : 2, in, 1, &t->b.y);
    if (f.bn)
        net->layers[f.bn].fused_by = id;
    if (f.act_layer)
        net->layers[f.act_layer].fused_by = id;
    t->act_fused = f.act && !f.act_layer;
    return true;
}

/* A residual block's end computed by its last batch norm. */
typedef struct nn_residual {
    int add;                   /* the ADD layer */
    int act_layer;             /* the ACTIVATION layer after it computed along, or 0 */
    int target;                /* the layer whose output receives the result */
    int from;                  /* the ADD's other input, the residual */
} nn_residual;

/* A training batch norm without an activation of its own whose only
 * consumer is a two-input ADD of its shape, the other input computed
 * before it (and not the batch norm's own input): the sum and, when an
 * ACTIVATION layer is the ADD's only consumer and its slope can be read
 * from its output, the activation are computed in the batch norm's pass
 * (BATCHNORM with fuse_add), and their gradients in the batch norm's
 * gradient pass. A block whose shortcut has a batch norm of its own (a
 * projection) is fused at whichever batch norm comes last. */
static bool residual_plan(const clnet_net *net, int id, nn_residual *r)
{
    const nn_layer *l = &net->layers[id];
    *r = (nn_residual){0};
    if (net->no_fusion || l->spec.kind != CLNET_LAYER_BATCHNORM || l->spec.has_act ||
        !nn_layer_training(net, l))
        return false;
    r->add = sole_consumer(net, id, CLNET_LAYER_ADD);
    const nn_layer *add = &net->layers[r->add];
    if (!r->add || add->spec.nfrom != 2 || !nn_same_shape(&l->out, &add->out))
        return false;
    r->from = add->spec.from[add->spec.from[0] == id ? 1 : 0];
    if (r->from >= id || r->from == l->spec.from[0] ||
        !nn_same_shape(&net->layers[r->from].out, &add->out))
        return false;
    r->act_layer = sole_consumer(net, r->add, CLNET_LAYER_ACTIVATION);
    if (r->act_layer && !fusable_act(net, &net->layers[r->act_layer].spec.act))
        r->act_layer = 0;
    r->target = r->act_layer ? r->act_layer : r->add;
    return true;
}

bool nn_residual_act(const clnet_net *net, const nn_layer *bn, clnet_act_params *act)
{
    const nn_layer *t = &net->layers[bn->res_target];
    if (!bn->res_target || t->spec.kind != CLNET_LAYER_ACTIVATION)
        return false;
    *act = t->spec.act;
    return true;
}

bool nn_residual_fused(const clnet_net *net, const nn_layer *l)
{
    return l->fused_by && net->layers[l->fused_by].spec.kind == CLNET_LAYER_BATCHNORM;
}

bool nn_forward_residual(clnet_net *net, int id, clnet_status *st)
{
    nn_residual r;
    if (!residual_plan(net, id, &r))
        return false;
    nn_layer *l = &net->layers[id];
    l->res_target = r.target;
    l->res_from = r.from;
    clnet_act_params act;
    const bool has_act = nn_residual_act(net, l, &act);
    *st = nn_forward_batchnorm(net, l, net->layers[r.target].b.y, net->layers[r.from].b.y,
                               has_act ? &act : NULL);
    net->layers[r.add].fused_by = id;
    if (r.act_layer)
        net->layers[r.act_layer].fused_by = id;
    return true;
}
