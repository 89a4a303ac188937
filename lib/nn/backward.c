/* backward.c - the backward pass: the loss op on the output, then each
 * layer's gradient ops in reverse order, contributions to a layer with
 * several consumers summed, nothing computed below the trainable layers. */
#include "nn/nn_internal.h"

#include <stdlib.h>

static clnet_status run(clnet_net *net, const clnet_op *op, int nin, clnet_tensor *const *in,
                        int nout, clnet_tensor *const *out)
{
    return clnet_op_run(net->dev, op, nin, in, nout, out);
}

/* ---- backward: gradient routing ---- */

/* Where a contribution to p's gradient goes: its gradient tensor if it is
 * the first, else scratch B, added in by commit(). flat: as (n, F). */
static clnet_tensor *grad_target(nn_layer *p, bool flat)
{
    if (p->grad_written)
        return flat ? p->b.acc2 : p->b.acc;
    return flat ? p->b.dy2 : p->b.dy;
}

static clnet_status commit(clnet_net *net, nn_layer *p)
{
    if (!p->grad_written) {
        p->grad_written = true;
        return CLNET_OK;
    }
    clnet_op add = {.kind = CLNET_OP_BINARY, .u.binary.fn = CLNET_BINARY_ADD};
    return run(net, &add, 2, (clnet_tensor *[]){p->b.dy, p->b.acc}, 1, &p->b.dy);
}

/* Gives p the gradient g unchanged: a copy if it is the first, else an add
 * in place. */
static clnet_status pass_through(clnet_net *net, nn_layer *p, clnet_tensor *g, bool flat)
{
    clnet_tensor *dy = flat ? p->b.dy2 : p->b.dy;
    if (!p->grad_written) {
        p->grad_written = true;
        clnet_op copy = {.kind = CLNET_OP_CONCAT};
        return run(net, &copy, 1, &g, 1, &dy);
    }
    clnet_op add = {.kind = CLNET_OP_BINARY, .u.binary.fn = CLNET_BINARY_ADD};
    return run(net, &add, 2, (clnet_tensor *[]){dy, g}, 1, &dy);
}

/* Runs `op` with the contribution to p's gradient as its only (or first)
 * output. */
static clnet_status contribute(clnet_net *net, nn_layer *p, bool flat, const clnet_op *op,
                               int nin, clnet_tensor *const *in)
{
    clnet_tensor *t = grad_target(p, flat);
    if (!t)
        return clnet_fail(net->ctx, CLNET_ERR_INTERNAL, "net backward: layer %s has no %s "
                          "gradient view", p->spec.name, flat ? "flat" : "batch");
    clnet_status st = run(net, op, nin, in, 1, &t);
    return st == CLNET_OK ? commit(net, p) : st;
}

static bool trains(const nn_layer *l)
{
    if (l->frozen)
        return false;
    for (int j = 0; j < l->nparams; j++)
        if (l->params[j].trainable)
            return true;
    return false;
}

/* Whether parameter j of a training layer gets a gradient: not where its
 * learning rate is multiplied by 0 (airbench's frozen whitening weights),
 * whose gradient tensor keeps the zeros clnet_net_set_param_lr left. */
static bool learns(const nn_layer *l, int j)
{
    return l->params[j].trainable && l->params[j].lr_mult != 0.0f;
}

/* ---- backward: per layer kind ---- */

static clnet_status backward_conv(clnet_net *net, nn_layer *l, clnet_tensor *g)
{
    nn_layer *p = &net->layers[l->spec.from[0]];
    clnet_tensor *x = p->b.y, *w = l->params[0].value;
    bool transposed = l->spec.kind == CLNET_LAYER_CONV_TRANSPOSE;
    clnet_status st = CLNET_OK;
    if (trains(l)) {
        /* a transposed conv is the data gradient of the conv from its output
         * to its input: the weight gradient swaps the roles of x and dy */
        clnet_op bw = {.kind = CLNET_OP_CONV_BACKWARD_WEIGHTS, .u.conv = l->spec.conv};
        const clnet_shape *ws = &l->params[0].shape;
        bw.u.conv.kernel[0] = ws->ndim == 4 ? (int)ws->dim[2] : 1;
        bw.u.conv.kernel[1] = (int)ws->dim[ws->ndim - 1];
        clnet_tensor *in[2] = {transposed ? g : x, transposed ? x : g};
        if (learns(l, 0))
            st = run(net, &bw, 2, in, 1, &l->params[0].grad);
        if (st == CLNET_OK && l->nparams > 1 && learns(l, 1)) {
            clnet_op sum = {.kind = CLNET_OP_REDUCE_SUM};
            st = run(net, &sum, 1, &g, 1, &l->params[1].grad);
        }
    }
    if (st != CLNET_OK || !p->needs_grad)
        return st;
    clnet_op fwd = nn_layer_op(l), op;
    if (transposed) {
        op = fwd;
        op.kind = CLNET_OP_CONV;
    } else {
        clnet_shape xs = clnet_tensor_shape(x), ws = clnet_tensor_shape(w);
        op = clnet_op_conv_backward_data(&fwd, &xs, &ws);
    }
    return contribute(net, p, false, &op, 2, (clnet_tensor *[]){g, w});
}

static clnet_status backward_linear(clnet_net *net, nn_layer *l, clnet_tensor *g)
{
    nn_layer *p = &net->layers[l->spec.from[0]];
    clnet_status st = CLNET_OK;
    if (trains(l)) {
        clnet_op dw = {.kind = CLNET_OP_GEMM, .u.gemm = {.trans_a = true, .alpha = 1.0f}};
        if (!p->b.y2)
            return clnet_fail(net->ctx, CLNET_ERR_INTERNAL, "net backward: input %s of linear "
                              "layer %s is not dense", p->spec.name, l->spec.name);
        if (learns(l, 0))
            st = run(net, &dw, 2, (clnet_tensor *[]){g, p->b.y2}, 1, &l->params[0].grad);
        if (st == CLNET_OK && l->nparams > 1 && learns(l, 1)) {
            clnet_op sum = {.kind = CLNET_OP_REDUCE_SUM};
            st = run(net, &sum, 1, &g, 1, &l->params[1].grad);
        }
    }
    if (st != CLNET_OK || !p->needs_grad)
        return st;
    clnet_op dx = {.kind = CLNET_OP_GEMM, .u.gemm = {.alpha = 1.0f}};
    return contribute(net, p, true, &dx, 2, (clnet_tensor *[]){g, l->params[0].value});
}

/* RBF_BACKWARD: x's gradient, and the centres' where they learn (fixed
 * centres, lr_mult 0, keep the zero gradient they were bound with). An input
 * that wants no gradient has x's part written to scratch B and dropped. */
static clnet_status backward_rbf(clnet_net *net, nn_layer *l, clnet_tensor *g)
{
    nn_layer *p = &net->layers[l->spec.from[0]];
    nn_param *w = &l->params[0];
    bool learns = trains(l) && w->lr_mult != 0.0f;
    if (!p->needs_grad && !learns)
        return CLNET_OK;
    clnet_tensor *out[2] = {p->needs_grad ? grad_target(p, false) : p->b.acc, w->grad};
    clnet_op op = {.kind = CLNET_OP_RBF_BACKWARD};
    clnet_status st = run(net, &op, 3, (clnet_tensor *[]){p->b.y, g, w->value}, learns ? 2 : 1,
                          out);
    return st == CLNET_OK && p->needs_grad ? commit(net, p) : st;
}

/* A batch norm that ran in inference mode is a per-channel affine map with
 * fixed statistics: dx = g * gamma / sqrt(var + eps), which is the
 * inference op itself applied to g with a zero mean and a zero shift. */
static clnet_status backward_batchnorm_inference(clnet_net *net, nn_layer *l, clnet_tensor *g)
{
    nn_layer *p = &net->layers[l->spec.from[0]];
    if (trains(l))
        return clnet_fail(net->ctx, CLNET_ERR_UNSUPPORTED, "batch norm %s runs in inference "
                          "mode but is trainable: freeze it (clnet_net_freeze) or give it "
                          "CLNET_LAYER_MODE_AUTO", l->spec.name);
    if (!p->needs_grad)
        return CLNET_OK;
    if (!l->fold_zero) {
        int64_t c = l->out.dim[0];
        clnet_status st = clnet_tensor_new(net->dev, CLNET_F32, 1, &c, &l->fold_zero);
        if (st == CLNET_OK)
            st = clnet_tensor_fill(l->fold_zero, 0.0f);
        if (st != CLNET_OK)
            return st;
    }
    clnet_op op = nn_layer_op(l);
    return contribute(net, p, false, &op, 5,
                      (clnet_tensor *[]){g, l->fold_zero, l->params[3].value,
                                         l->params[0].value, l->fold_zero});
}

static clnet_status backward_batchnorm(clnet_net *net, nn_layer *l, clnet_tensor *g)
{
    if (!nn_layer_training(net, l))
        return backward_batchnorm_inference(net, l, g);
    nn_layer *p = &net->layers[l->spec.from[0]];
    clnet_op op = nn_layer_op(l);
    op.kind = CLNET_OP_BATCHNORM_BACKWARD;
    /* a fused activation's slope comes from the fused output, or from the
     * pre-activation recomputed with beta (fuse.c) */
    op.u.bn.fuse_act = l->act_fused;
    op.u.bn.act = l->spec.act;
    clnet_tensor *y = clnet_act_slope_from_output(&op.u.bn.act) ? l->b.y : l->params[1].value;
    /* a fused residual add: g and y are those of the block's output, and
     * the residual's gradient is a fourth output */
    nn_layer *r = l->res_target ? &net->layers[l->res_from] : NULL;
    if (r) {
        op.u.bn.fuse_add = true;
        op.u.bn.fuse_act = nn_residual_act(net, l, &op.u.bn.act);
        y = net->layers[l->res_target].b.y;
    }
    /* dx (and dr) are outputs of the op even when nothing below needs them */
    bool need = p->needs_grad, need_r = r && r->needs_grad;
    clnet_tensor *dx = need ? grad_target(p, false) : l->b.acc;
    clnet_tensor *in[6] = {p->b.y, g, l->batch_mean, l->batch_var, l->params[0].value, y};
    clnet_tensor *out[4] = {dx, l->params[0].grad, l->params[1].grad,
                            need_r ? grad_target(r, false) : l->b.tmp};
    clnet_status st = run(net, &op, op.u.bn.fuse_act ? 6 : 5, in, r ? 4 : 3, out);
    if (st == CLNET_OK && need)
        st = commit(net, p);
    if (st == CLNET_OK && net->bn_exchange.sum)
        st = nn_sync_bn_sum_grads(net, l);
    return st == CLNET_OK && need_r ? commit(net, r) : st;
}

static clnet_status backward_pool(clnet_net *net, nn_layer *l, clnet_tensor *g)
{
    nn_layer *p = &net->layers[l->spec.from[0]];
    clnet_op op = nn_layer_op(l);
    op.kind = CLNET_OP_POOL_BACKWARD;
    /* a selecting mode's gradient goes to the one input its argmax names
     * (a gather: no zeroing, no atomics, x not read) */
    const bool selects = clnet_pool_mode_info_get(l->spec.pool.mode)->selects;
    return contribute(net, p, false, &op, selects ? 3 : 2,
                      (clnet_tensor *[]){p->b.y, g, l->b.argmax});
}

/* ADD: the gradient passes to every input; a per-channel input gets it
 * summed over its broadcast plane, a narrower input its leading channels. */
static clnet_status backward_add(clnet_net *net, int id, clnet_tensor *g)
{
    nn_layer *l = &net->layers[id];
    for (int i = 0; i < l->spec.nfrom; i++) {
        nn_layer *p = &net->layers[l->spec.from[i]];
        clnet_status st = CLNET_OK;
        if (!p->needs_grad)
            continue;
        if (p->dy_alias == NN_ADD_SHARED && p->consumer == id) {
            p->grad_written = true;
        } else if (nn_same_shape(&p->out, &l->out)) {
            st = pass_through(net, p, g, false);
        } else if (nn_channel_prefix(&l->out, &p->out)) {
            clnet_tensor *part;
            st = clnet_tensor_slice(g, 1, 0, p->out.dim[0], &part);
            if (st == CLNET_OK)
                st = pass_through(net, p, part, false);
            clnet_tensor_free(part);
        } else {
            clnet_op sum = {.kind = CLNET_OP_REDUCE_SUM, .u.reduce.keep_batch = true};
            st = contribute(net, p, false, &sum, 1, &g);
        }
        if (st != CLNET_OK)
            return st;
    }
    return CLNET_OK;
}

/* MUL of a full-shaped a and b (same shape or per channel): da = dy * b,
 * db = dy * a (summed over the plane when b is per channel). */
static clnet_status backward_mul(clnet_net *net, nn_layer *l, clnet_tensor *g)
{
    int full = nn_full_input(net, l);
    nn_layer *a = &net->layers[l->spec.from[full]];
    nn_layer *b = &net->layers[l->spec.from[1 - full]];
    clnet_op mul = {.kind = CLNET_OP_BINARY, .u.binary.fn = CLNET_BINARY_MUL};
    clnet_status st = CLNET_OK;
    if (a->needs_grad)
        st = contribute(net, a, false, &mul, 2, (clnet_tensor *[]){g, b->b.y});
    if (st != CLNET_OK || !b->needs_grad)
        return st;
    if (nn_same_shape(&a->out, &b->out))
        return contribute(net, b, false, &mul, 2, (clnet_tensor *[]){g, a->b.y});
    st = run(net, &mul, 2, (clnet_tensor *[]){g, a->b.y}, 1, &l->b.tmp);
    clnet_op sum = {.kind = CLNET_OP_REDUCE_SUM, .u.reduce.keep_batch = true};
    return st == CLNET_OK ? contribute(net, b, false, &sum, 1, &l->b.tmp) : st;
}

static clnet_status backward_concat(clnet_net *net, int id, clnet_tensor *g)
{
    nn_layer *l = &net->layers[id];
    int64_t offset = 0;
    for (int i = 0; i < l->spec.nfrom; i++) {
        nn_layer *p = &net->layers[l->spec.from[i]];
        int64_t c = p->out.dim[0];
        clnet_status st = CLNET_OK;
        if (p->needs_grad && nn_is_slice_of(net, l->spec.from[i], id)) {
            p->grad_written = true;
        } else if (p->needs_grad) {
            clnet_tensor *part;
            st = clnet_tensor_slice(g, 1, offset, c, &part);
            if (st == CLNET_OK)
                st = pass_through(net, p, part, false);
            clnet_tensor_free(part);
        }
        if (st != CLNET_OK)
            return st;
        offset += c;
    }
    return CLNET_OK;
}

/* SLICE: the gradient lands on the input's gradient in the sliced channels
 * only; the first contribution zeroes the rest. */
static clnet_status backward_slice(clnet_net *net, nn_layer *l, clnet_tensor *g)
{
    nn_layer *p = &net->layers[l->spec.from[0]];
    if (!p->needs_grad)
        return CLNET_OK;
    clnet_status st = p->grad_written ? CLNET_OK : clnet_tensor_fill(p->b.dy, 0.0f);
    p->grad_written = true;
    clnet_tensor *part = NULL;
    if (st == CLNET_OK)
        st = clnet_tensor_slice(p->b.dy, 1, l->spec.slice_start, l->spec.slice_count, &part);
    clnet_op add = {.kind = CLNET_OP_BINARY, .u.binary.fn = CLNET_BINARY_ADD};
    if (st == CLNET_OK)
        st = run(net, &add, 2, (clnet_tensor *[]){part, g}, 1, &part);
    clnet_tensor_free(part);
    return st;
}

static clnet_status backward_unary(clnet_net *net, int id, clnet_tensor *g)
{
    nn_layer *l = &net->layers[id];
    nn_layer *p = &net->layers[l->spec.from[0]];
    clnet_op op = nn_layer_op(l);
    if (!p->needs_grad)
        return CLNET_OK;
    switch (l->spec.kind) {
    case CLNET_LAYER_ACTIVATION:
        op.kind = CLNET_OP_ACTIVATION_BACKWARD;
        return contribute(net, p, false, &op, 2,
                          (clnet_tensor *[]){l->fused_by ? l->b.y : p->b.y, g});
    case CLNET_LAYER_LRN:
        op.kind = CLNET_OP_LRN_BACKWARD;
        return contribute(net, p, false, &op, 2, (clnet_tensor *[]){p->b.y, g});
    case CLNET_LAYER_UNPOOL:
        op.kind = CLNET_OP_UNPOOL_BACKWARD;
        return contribute(net, p, false, &op, 2,
                          (clnet_tensor *[]){g, net->layers[l->spec.switches].b.argmax});
    case CLNET_LAYER_DROPOUT:
        op.u.dropout.training = nn_layer_training(net, l);
        op.u.dropout.seed = l->dropout_seed;
        op.u.dropout.first_image = l->dropout_first;
        return contribute(net, p, false, &op, 1, &g);
    case CLNET_LAYER_SHUFFLE:
        /* shuffling in C/G groups undoes shuffling in G */
        op.u.shuffle.groups = (int)(l->out.dim[0] / l->spec.shuffle_groups);
        return contribute(net, p, false, &op, 1, &g);
    case CLNET_LAYER_FLATTEN:
        if (p->dy_alias == NN_FLATTEN_VIEW && p->consumer == id) {
            p->grad_written = true;
            return CLNET_OK;
        }
        return pass_through(net, p, g, true);
    default:
        return clnet_fail(net->ctx, CLNET_ERR_UNSUPPORTED,
                          "a %s layer has no backward pass (an explicit softmax may only end "
                          "a net trained with the softmax cross-entropy loss)",
                          nn_kind_name(l->spec.kind));
    }
}

static clnet_status backward_layer(clnet_net *net, int id)
{
    nn_layer *l = &net->layers[id];
    clnet_tensor *g = l->res_target ? net->layers[l->res_target].b.dy : l->b.dy;
    /* a training batch norm takes the gradient of its fused activation's
     * output as it is */
    bool act_inside = l->act_fused && l->spec.kind == CLNET_LAYER_BATCHNORM &&
                      nn_layer_training(net, l);
    if (l->spec.has_act && !act_inside) {
        clnet_op act = {.kind = CLNET_OP_ACTIVATION_BACKWARD, .u.act = l->spec.act};
        /* a fused activation left only its output, from which the ReLU family's
         * slope is read as well (fuse.c) */
        clnet_tensor *x = l->act_fused ? l->b.y : l->b.pre;
        clnet_status st = run(net, &act, 2, (clnet_tensor *[]){x, g}, 1, &l->b.tmp);
        if (st != CLNET_OK)
            return st;
        g = l->b.tmp;
    }
    switch (l->spec.kind) {
    case CLNET_LAYER_CONV:
    case CLNET_LAYER_CONV_TRANSPOSE: return backward_conv(net, l, g);
    case CLNET_LAYER_LINEAR: return backward_linear(net, l, g);
    case CLNET_LAYER_BATCHNORM: return backward_batchnorm(net, l, g);
    case CLNET_LAYER_POOL:
        return net->layers[l->spec.from[0]].needs_grad ? backward_pool(net, l, g) : CLNET_OK;
    case CLNET_LAYER_ADD: return backward_add(net, id, g);
    case CLNET_LAYER_MUL: return backward_mul(net, l, g);
    case CLNET_LAYER_CONCAT: return backward_concat(net, id, g);
    case CLNET_LAYER_SLICE: return backward_slice(net, l, g);
    case CLNET_LAYER_RBF: return backward_rbf(net, l, g);
    default: return backward_unary(net, id, g);
    }
}

/* ---- backward: the loss and the pass ---- */

/* A (max_batch) vector, or a (max_batch, width) matrix when `rows` (MSE
 * targets keep the prediction's 2-D shape even for one output). */
static clnet_status ensure_tensor(clnet_net *net, clnet_tensor **t, clnet_dtype dtype,
                                  int64_t width, bool rows)
{
    if (*t)
        return CLNET_OK;
    int64_t shape[2] = {net->max_batch, width};
    return clnet_tensor_new(net->dev, dtype, rows ? 2 : 1, shape, t);
}

/* Writes labels or targets for n images into a batch slice of `t`, queued
 * from a staging copy: the forward pass need not have run yet. */
static clnet_status write_rows(clnet_tensor *t, int n, const void *src, size_t bytes)
{
    clnet_tensor *rows;
    clnet_status st = clnet_tensor_slice(t, 0, 0, n, &rows);
    if (st == CLNET_OK)
        st = clnet_tensor_write_queued(rows, src, bytes);
    clnet_tensor_free(rows);
    return st;
}

static clnet_status run_loss(clnet_net *net, const int32_t *labels, const float *targets)
{
    int n = net->last_n, id = nn_loss_layer(net);
    nn_layer *l = &net->layers[id];
    int64_t k = nn_numel(&l->out);
    /* xent: the loss takes class labels (softmax cross-entropy or MMI) */
    bool xent = net->loss != CLNET_LOSS_MSE;
    if (xent ? !labels : !targets)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_net_backward: the %s "
                          "loss needs %s", xent ? "classification" : "MSE",
                          xent ? "labels" : "targets");
    for (int i = 0; xent && i < n; i++)
        if (labels[i] < 0 || labels[i] >= k)
            return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_net_backward: label "
                              "%d of image %d outside 0..%lld", labels[i], i, (long long)k - 1);
    clnet_status st = ensure_tensor(net, &net->loss_values, CLNET_F32, 1, false);
    if (st == CLNET_OK)
        st = xent ? ensure_tensor(net, &net->labels, CLNET_I32, 1, false)
                  : ensure_tensor(net, &net->targets, CLNET_F32, k, true);
    if (st == CLNET_OK)
        st = xent ? write_rows(net->labels, n, labels, (size_t)n * sizeof *labels)
                  : write_rows(net->targets, n, targets, (size_t)n * (size_t)k * sizeof *targets);
    clnet_tensor *truth = NULL, *values = NULL;
    if (st == CLNET_OK)
        st = clnet_tensor_slice(xent ? net->labels : net->targets, 0, 0, n, &truth);
    if (st == CLNET_OK)
        st = clnet_tensor_slice(net->loss_values, 0, 0, n, &values);
    if (st == CLNET_OK) {
        clnet_op op = {.kind = !xent                          ? CLNET_OP_MSE_LOSS
                               : net->loss == CLNET_LOSS_MMI ? CLNET_OP_MMI_LOSS
                                                             : CLNET_OP_SOFTMAX_XENT};
        op.u.loss.label_smoothing = op.kind == CLNET_OP_SOFTMAX_XENT ? net->label_smoothing : 0.0f;
        op.u.loss.mmi_j = nn_mmi_j(net);
        op.u.loss.scale = net->loss_sum ? 1.0f : 1.0f / (float)n;
        clnet_tensor *grad = l->needs_grad ? grad_target(l, true) : l->b.acc2;
        st = run(net, &op, 2, (clnet_tensor *[]){l->b.y2, truth}, 2,
                 (clnet_tensor *[]){values, grad});
        if (st == CLNET_OK && l->needs_grad)
            st = commit(net, l);
    }
    if (st != CLNET_OK)
        st = nn_layer_fail(net, id, "loss", st);
    else
        st = nn_aux_losses(net, labels, truth, values);
    clnet_tensor_free(truth);
    clnet_tensor_free(values);
    return st;
}

/* The mean of the last n per-image losses: waits for the device, so it is
 * read once the whole backward pass is queued. */
static clnet_status read_loss(clnet_net *net, float *loss)
{
    int n = net->last_n;
    float *host = malloc((size_t)n * sizeof *host);
    clnet_tensor *values = NULL;
    clnet_status st = host ? clnet_tensor_slice(net->loss_values, 0, 0, n, &values)
                           : clnet_fail(net->ctx, CLNET_ERR_HOST_MEMORY,
                                        "clnet_net_backward: no memory for %d losses", n);
    if (st == CLNET_OK)
        st = clnet_tensor_read(values, host, (size_t)n * sizeof *host);
    double sum = 0.0;
    for (int i = 0; st == CLNET_OK && i < n; i++)
        sum += host[i];
    if (st == CLNET_OK)
        *loss = (float)(sum / n);
    clnet_tensor_free(values);
    free(host);
    return st == CLNET_OK ? st : nn_wrap(net->ctx, st, "clnet_net_backward: reading the loss");
}

static void mark_needs_grad(clnet_net *net)
{
    for (int id = 0; id < net->nlayers; id++) {
        nn_layer *l = &net->layers[id];
        bool need = id == 0 ? net->input_grad : trains(l);
        for (int i = 0; id > 0 && i < l->spec.nfrom; i++)
            need = need || net->layers[l->spec.from[i]].needs_grad;
        l->needs_grad = need && l->dy;
        l->grad_written = false;
    }
}

clnet_status clnet_net_backward(clnet_net *net, const int32_t *labels, const float *targets,
                                float *loss)
{
    clnet_status st = nn_backward_begin(net, labels, targets);
    for (int id = net ? net->nlayers - 1 : 0; st == CLNET_OK && id > 0; id--)
        st = nn_backward_layer(net, id);
    return st == CLNET_OK ? nn_backward_end(net, loss) : st;
}

clnet_status nn_backward_begin(clnet_net *net, const int32_t *labels, const float *targets)
{
    clnet_error_clear(net ? net->ctx : NULL);
    if (!net)
        return CLNET_ERR_INVALID_ARGUMENT;
    if (!net->dev || net->last_n == 0)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_net_backward: no forward pass to differentiate");
    if (!net->last_training)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_net_backward: the last forward ran in inference mode; call "
                          "clnet_net_set_training(net, true) before it");
    mark_needs_grad(net);
    double t = nn_prof_start(net);
    clnet_status st = run_loss(net, labels, targets);
    return st == CLNET_OK ? nn_prof_stop(net, t, &net->prof_loss_ms) : st;
}

clnet_status nn_backward_layer(clnet_net *net, int id)
{
    nn_layer *l = &net->layers[id];
    /* an ADD or activation computed in a batch norm's residual fusion:
     * that batch norm takes their gradients too, from the block output's */
    if (nn_residual_fused(net, l))
        return CLNET_OK;
    const bool written = l->res_target ? net->layers[l->res_target].grad_written
                                       : l->grad_written;
    clnet_status st = CLNET_OK;
    double t = nn_prof_start(net);
    if (l->needs_grad && written) {
        st = backward_layer(net, id);
    } else if (trains(l)) {
        /* the loss does not depend on this layer */
        for (int j = 0; st == CLNET_OK && j < l->nparams; j++)
            if (l->params[j].grad)
                st = clnet_tensor_fill(l->params[j].grad, 0.0f);
    }
    if (st == CLNET_OK)
        st = nn_prof_stop(net, t, &l->prof_bwd_ms);
    /* another process may start summing these gradients now (DDP's
     * buckets), while the layers below are still computing */
    if (st == CLNET_OK && net->exchange.finish && trains(l))
        st = net->exchange.layer_ready(net->exchange.user, net, id, net->exchange_share);
    return st == CLNET_OK ? CLNET_OK : nn_layer_fail(net, id, "backward", st);
}

clnet_status nn_backward_end(clnet_net *net, float *loss)
{
    clnet_status st = CLNET_OK;
    if (net->exchange.finish)
        st = net->exchange.finish(net->exchange.user, net);
    return st == CLNET_OK && loss ? read_loss(net, loss) : st;
}
