/* exec.c - a net on a device: binding (tensors and views), modes, the
 * forward pass (each layer one or a few clnet_op_run calls, no host
 * synchronisation) and access to parameters wherever they live. */
#include "nn/nn_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- device memory ---- */

static void free_tensor(clnet_tensor **t)
{
    clnet_tensor_free(*t);
    *t = NULL;
}

void nn_batch_views_free(nn_layer *l)
{
    nn_batch_views *b = &l->b;
    clnet_tensor **all[] = {&b->y, &b->y2, &b->dy, &b->dy2, &b->pre,
                            &b->argmax, &b->tmp, &b->acc, &b->acc2};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free_tensor(all[i]);
}

void nn_release_device(clnet_net *net)
{
    for (int i = 0; i < net->nlayers; i++) {
        nn_layer *l = &net->layers[i];
        nn_batch_views_free(l);
        clnet_tensor **all[] = {&l->y, &l->dy, &l->pre, &l->argmax, &l->batch_mean,
                                &l->batch_var, &l->fold_w, &l->fold_b, &l->fold_zero,
                                &l->sync_scale, &l->sync_shift};
        for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
            free_tensor(all[k]);
        for (int j = 0; j < l->nparams; j++) {
            nn_param *p = &l->params[j];
            free_tensor(&p->value);
            free_tensor(&p->grad);
            for (int s = 0; s < NN_MAX_STATE; s++)
                free_tensor(&p->state[s]);
        }
        l->y_alias = l->dy_alias = NN_OWN;
    }
    nn_flat_free(net, false);
    clnet_tensor **all[] = {&net->scratch[0], &net->scratch[1], &net->labels, &net->targets,
                            &net->loss_values, &net->aux_loss_values};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        free_tensor(all[k]);
    nn_free_plan(net);
    net->inference_only = false;
    net->dev = NULL;
    net->batch_n = 0;
    net->last_n = 0;
}

/* Bytes of a tensor's storage; 0 for none, and for a view of another
 * tensor's storage (counted with that tensor). */
static size_t owned_bytes(const clnet_tensor *t, bool view)
{
    return t && !view ? t->storage->bytes : 0;
}

size_t clnet_net_device_bytes(const clnet_net *net)
{
    if (!net || !net->dev)
        return 0;
    size_t bytes = 0;
    for (int i = 0; i < net->nlayers; i++) {
        const nn_layer *l = &net->layers[i];
        /* outputs in shared buffers are counted with the buffers */
        bytes += owned_bytes(l->y, l->y_alias != NN_OWN || net->out_buffers) +
                 owned_bytes(l->dy, l->dy_alias != NN_OWN);
        const clnet_tensor *aux[] = {l->pre, l->argmax, l->batch_mean, l->batch_var,
                                     l->fold_w, l->fold_b, l->fold_zero};
        for (size_t k = 0; k < sizeof aux / sizeof aux[0]; k++)
            bytes += owned_bytes(aux[k], false);
        /* views of the flat parameter buffers are counted with them */
        for (int j = 0; j < l->nparams; j++) {
            const nn_param *p = &l->params[j];
            bytes += owned_bytes(p->value, nn_flat_holds(net, p->value)) +
                     owned_bytes(p->grad, nn_flat_holds(net, p->grad));
            for (int s = 0; s < NN_MAX_STATE; s++)
                bytes += owned_bytes(p->state[s], nn_flat_holds(net, p->state[s]));
        }
    }
    bytes += nn_flat_bytes(net, false);
    const clnet_tensor *all[] = {net->scratch[0], net->scratch[1], net->labels, net->targets,
                                 net->loss_values, net->aux_loss_values};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        bytes += owned_bytes(all[k], false);
    for (int i = 0; i < net->nout_buffers; i++)
        bytes += owned_bytes(net->out_buffers[i], false);
    return bytes;
}

void clnet_net_memory_bound(const clnet_net *net, size_t *weights, size_t *activations,
                            size_t *workspace)
{
    size_t w = 0, a = 0, s = 0;
    for (int i = 0; net && net->dev && i < net->nlayers; i++) {
        const nn_layer *l = &net->layers[i];
        for (int j = 0; j < l->nparams; j++)
            w += owned_bytes(l->params[j].value, nn_flat_holds(net, l->params[j].value));
        const clnet_tensor *folded[] = {l->fold_w, l->fold_b, l->fold_zero};
        for (size_t k = 0; k < sizeof folded / sizeof folded[0]; k++)
            w += owned_bytes(folded[k], false);
    }
    if (net && net->dev) {
        w += nn_flat_bytes(net, true);
        a = (size_t)net->peak_live_numel * (size_t)net->max_batch * sizeof(float);
        s = owned_bytes(net->scratch[0], false) + owned_bytes(net->scratch[1], false);
    }
    if (weights)
        *weights = w;
    if (activations)
        *activations = a;
    if (workspace)
        *workspace = s;
}

/* Moves a device tensor's values into a new host array. */
static clnet_status download(clnet_net *net, clnet_tensor *t, float **host)
{
    size_t bytes = (size_t)clnet_tensor_numel(t) * sizeof(float);
    float *h = malloc(bytes);
    if (!h)
        return clnet_fail(net->ctx, CLNET_ERR_HOST_MEMORY, "net: cannot copy %zu bytes of "
                          "weights to the host", bytes);
    clnet_status st = clnet_tensor_read(t, h, bytes);
    if (st != CLNET_OK) {
        free(h);
        return st;
    }
    free(*host);
    *host = h;
    return CLNET_OK;
}

clnet_status nn_unbind(clnet_net *net)
{
    for (int i = 0; i < net->nlayers; i++)
        for (int j = 0; j < net->layers[i].nparams; j++) {
            nn_param *p = &net->layers[i].params[j];
            clnet_status st = p->value ? download(net, p->value, &p->host) : CLNET_OK;
            for (int s = 0; st == CLNET_OK && s < NN_MAX_STATE; s++)
                if (p->state[s])
                    st = download(net, p->state[s], &p->state_host[s]);
            if (st != CLNET_OK)
                return st;
        }
    nn_release_device(net);
    return CLNET_OK;
}

static clnet_status unbound_error(clnet_net *net, const char *what)
{
    return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: the net is not bound to a device "
                      "(clnet_net_bind)", what);
}

static clnet_shape batched(const clnet_shape *s, int64_t n)
{
    clnet_shape b = {.ndim = s->ndim + 1, .dim = {n}};
    for (int i = 0; i < s->ndim; i++)
        b.dim[i + 1] = s->dim[i];
    return b;
}

clnet_status nn_layer_fail(clnet_net *net, int id, const char *stage, clnet_status st)
{
    const nn_layer *l = &net->layers[id];
    return nn_wrap(net->ctx, st, "net %s: layer %d (%s, %s)", stage, id, l->spec.name,
                   nn_kind_name(l->spec.kind));
}

static clnet_status new_batched(clnet_net *net, clnet_dtype dtype, const clnet_shape *per_image,
                                clnet_tensor **out)
{
    clnet_shape s = batched(per_image, net->max_batch);
    return clnet_tensor_new(net->dev, dtype, s.ndim, s.dim, out);
}

static clnet_status upload(clnet_net *net, const clnet_shape *shape, const float *host,
                           clnet_tensor **out)
{
    clnet_status st = clnet_tensor_new(net->dev, CLNET_F32, shape->ndim, shape->dim, out);
    if (st == CLNET_OK && host)
        st = clnet_tensor_write(*out, host, (size_t)nn_numel(shape) * sizeof(float));
    return st;
}

static clnet_status bind_params(clnet_net *net, nn_layer *l)
{
    for (int j = 0; j < l->nparams; j++) {
        nn_param *p = &l->params[j];
        clnet_status st = nn_param_tensor(net, p, 0, p->host, &p->value);
        /* inference only: no gradient, and optimizer state stays on the host */
        bool train = p->trainable && !net->inference_only;
        /* zero, so that a step before any backward leaves the weights alone */
        if (st == CLNET_OK && train)
            st = nn_param_tensor(net, p, 1, NULL, &p->grad);
        /* parameters added since the optimizer state was made start from zero state */
        for (int s = 0; st == CLNET_OK && train && s < net->opt_nstate; s++)
            st = nn_param_tensor(net, p, 2 + s, p->state_host[s], &p->state[s]);
        if (st != CLNET_OK)
            return st;
    }
    return CLNET_OK;
}

/* Output tensors, last layer first: a CONCAT's output must exist before the
 * inputs that become its channel slices. FLATTEN outputs come later. */
static clnet_status bind_outputs(clnet_net *net)
{
    for (int id = net->nlayers - 1; id >= 0; id--) {
        nn_layer *l = &net->layers[id];
        if (l->spec.kind == CLNET_LAYER_FLATTEN || l->spec.kind == CLNET_LAYER_SLICE)
            continue;
        const nn_layer *c = l->consumers == 1 ? &net->layers[l->consumer] : NULL;
        clnet_status st;
        if (id > 0 && c && c->spec.kind == CLNET_LAYER_CONCAT) {
            int64_t offset = 0;
            for (int i = 0; c->spec.from[i] != id; i++)
                offset += net->layers[c->spec.from[i]].out.dim[0];
            st = clnet_tensor_slice(c->y, 1, offset, l->out.dim[0], &l->y);
            l->y_alias = NN_CONCAT_SLICE;
        } else if (net->inference_only) {
            st = nn_shared_output(net, id, &l->y);
        } else {
            st = new_batched(net, CLNET_F32, &l->out, &l->y);
        }
        if (st != CLNET_OK)
            return nn_layer_fail(net, id, "bind", st);
    }
    /* views of their input's output, in id order so a view of a view finds
     * its input bound */
    for (int id = 1; id < net->nlayers; id++) {
        nn_layer *l = &net->layers[id];
        const clnet_tensor *x = net->layers[l->spec.from[0]].y;
        clnet_status st;
        if (l->spec.kind == CLNET_LAYER_FLATTEN) {
            clnet_shape s = batched(&l->out, net->max_batch);
            st = clnet_tensor_reshape(x, s.ndim, s.dim, &l->y);
            l->y_alias = NN_FLATTEN_VIEW;
        } else if (l->spec.kind == CLNET_LAYER_SLICE) {
            st = clnet_tensor_slice(x, 1, l->spec.slice_start, l->spec.slice_count, &l->y);
            l->y_alias = NN_SLICE_VIEW;
        } else {
            continue;
        }
        if (st != CLNET_OK)
            return nn_layer_fail(net, id, "bind", st);
    }
    return CLNET_OK;
}

/* Gradient tensors, last layer first. A layer whose only consumer passes the
 * gradient through unchanged (CONCAT's channel slice, FLATTEN, ADD) shares
 * that consumer's gradient instead of receiving a copy. */
static clnet_status bind_gradient(clnet_net *net, int id)
{
    nn_layer *l = &net->layers[id];
    const nn_layer *c = l->consumers == 1 ? &net->layers[l->consumer] : NULL;
    clnet_layer_kind ck = c ? c->spec.kind : CLNET_LAYER_INPUT;
    clnet_status st;
    if (l->y_alias == NN_CONCAT_SLICE) {
        int64_t offset = 0;
        for (int i = 0; c->spec.from[i] != id; i++)
            offset += net->layers[c->spec.from[i]].out.dim[0];
        st = clnet_tensor_slice(c->dy, 1, offset, l->out.dim[0], &l->dy);
        l->dy_alias = NN_CONCAT_SLICE;
    } else if (ck == CLNET_LAYER_FLATTEN && clnet_tensor_is_dense(c->dy)) {
        clnet_shape s = batched(&l->out, net->max_batch);
        st = clnet_tensor_reshape(c->dy, s.ndim, s.dim, &l->dy);
        l->dy_alias = NN_FLATTEN_VIEW;
    } else if (ck == CLNET_LAYER_ADD && nn_same_shape(&l->out, &c->out)) {
        st = clnet_tensor_slice(c->dy, 0, 0, net->max_batch, &l->dy);
        l->dy_alias = NN_ADD_SHARED;
    } else {
        st = new_batched(net, CLNET_F32, &l->out, &l->dy);
    }
    return st;
}

static clnet_status bind_layer_aux(clnet_net *net, nn_layer *l)
{
    clnet_status st = CLNET_OK;
    /* inference: an unfused activation's input goes to scratch, and neither
     * argmax (unless an UNPOOL layer reads it) nor batch statistics are kept */
    if (l->spec.kind == CLNET_LAYER_POOL && clnet_pool_mode_info_get(l->spec.pool.mode)->selects &&
        (!net->inference_only || l->switches_used))
        st = new_batched(net, CLNET_I32, &l->out, &l->argmax);
    if (st != CLNET_OK || net->inference_only)
        return st;
    if (l->spec.has_act)
        st = new_batched(net, CLNET_F32, &l->out, &l->pre);
    if (st == CLNET_OK && l->spec.kind == CLNET_LAYER_BATCHNORM) {
        st = upload(net, &l->params[0].shape, NULL, &l->batch_mean);
        if (st == CLNET_OK)
            st = upload(net, &l->params[0].shape, NULL, &l->batch_var);
    }
    return st;
}

static clnet_status bind_all(clnet_net *net)
{
    clnet_status st = net->inference_only ? nn_plan_outputs(net) : nn_flat_bind(net);
    if (st == CLNET_OK)
        st = bind_outputs(net);
    int64_t largest = 0;
    for (int id = net->nlayers - 1; st == CLNET_OK && id >= 0; id--) {
        nn_layer *l = &net->layers[id];
        if ((id > 0 || net->input_grad) && !net->inference_only)
            st = bind_gradient(net, id);
        if (st == CLNET_OK)
            st = bind_layer_aux(net, l);
        if (st == CLNET_OK)
            st = bind_params(net, l);
        if (st != CLNET_OK)
            return nn_layer_fail(net, id, "bind", st);
        if (nn_numel(&l->out) > largest)
            largest = nn_numel(&l->out);
    }
    int64_t flat = largest * net->max_batch;
    /* scratch B serves the backward pass only */
    for (int i = 0; st == CLNET_OK && i < (net->inference_only ? 1 : 2); i++)
        st = clnet_tensor_new(net->dev, CLNET_F32, 1, &flat, &net->scratch[i]);
    return st;
}

static clnet_status bind(clnet_net *net, clnet_device *dev, int max_batch, clnet_init init,
                         uint64_t seed, bool inference_only)
{
    clnet_error_clear(net ? net->ctx : NULL);
    if (!net || !dev)
        return clnet_fail(net ? net->ctx : NULL, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_net_bind: NULL argument");
    if (max_batch < 1)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_net_bind: max_batch %d (must be >= 1)", max_batch);
    if ((int)init < CLNET_INIT_HE_NORMAL || init > CLNET_INIT_TORCH_DEFAULT)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_net_bind: unknown init %d",
                          (int)init);
    clnet_status st = net->dev ? nn_unbind(net) : CLNET_OK;
    if (st == CLNET_OK)
        st = nn_init_params(net, init, seed);
    if (st != CLNET_OK)
        return st;
    /* op errors land in the device's context: keep the net's messages there too */
    net->ctx = clnet_device_ctx(dev);
    net->dev = dev;
    net->max_batch = max_batch;
    net->init = init;
    net->seed = seed;
    net->inference_only = inference_only;
    st = bind_all(net);
    if (st != CLNET_OK) {
        nn_release_device(net);
        return st;
    }
    /* the device now holds the values: the host copies would go stale (the
     * optimizer state of an inference-only net stays on the host) */
    for (int i = 0; i < net->nlayers; i++)
        for (int j = 0; j < net->layers[i].nparams; j++) {
            nn_param *p = &net->layers[i].params[j];
            free(p->host);
            p->host = NULL;
            for (int s = 0; s < NN_MAX_STATE && !inference_only; s++) {
                free(p->state_host[s]);
                p->state_host[s] = NULL;
            }
        }
    return CLNET_OK;
}

clnet_status clnet_net_bind(clnet_net *net, clnet_device *dev, int max_batch, clnet_init init,
                            uint64_t seed)
{
    return bind(net, dev, max_batch, init, seed, false);
}

clnet_status clnet_net_bind_inference(clnet_net *net, clnet_device *dev, int max_batch,
                                      clnet_init init, uint64_t seed)
{
    return bind(net, dev, max_batch, init, seed, true);
}

/* ---- views for the current batch size ---- */

static clnet_status batch_slice(clnet_tensor *t, int n, clnet_tensor **out)
{
    return t ? clnet_tensor_slice(t, 0, 0, n, out) : CLNET_OK;
}

/* The (n, F) view of a batch view; none for a channel slice, which no GEMM
 * or loss ever reads. */
static clnet_status flat2(clnet_tensor *t, int n, clnet_tensor **out)
{
    if (!clnet_tensor_is_dense(t))
        return CLNET_OK;
    int64_t s[2] = {n, clnet_tensor_numel(t) / n};
    return clnet_tensor_reshape(t, 2, s, out);
}

/* A view of the first n*F elements of a flat scratch tensor as (n, out...). */
static clnet_status scratch_view(clnet_tensor *scratch, const clnet_shape *out, int n,
                                 clnet_tensor **view)
{
    clnet_shape s = batched(out, n);
    clnet_tensor *part;
    clnet_status st = clnet_tensor_slice(scratch, 0, 0, clnet_shape_numel(&s), &part);
    if (st != CLNET_OK)
        return st;
    st = clnet_tensor_reshape(part, s.ndim, s.dim, view);
    clnet_tensor_free(part);
    return st;
}

static clnet_status layer_views(clnet_net *net, nn_layer *l, int n)
{
    nn_batch_views *b = &l->b;
    clnet_status st = batch_slice(l->y, n, &b->y);
    if (st == CLNET_OK)
        st = flat2(b->y, n, &b->y2);
    if (st == CLNET_OK)
        st = batch_slice(l->dy, n, &b->dy);
    if (st == CLNET_OK && b->dy)
        st = flat2(b->dy, n, &b->dy2);
    if (st == CLNET_OK)
        st = batch_slice(l->pre, n, &b->pre);
    if (st == CLNET_OK)
        st = batch_slice(l->argmax, n, &b->argmax);
    if (st == CLNET_OK)
        st = scratch_view(net->scratch[0], &l->out, n, &b->tmp);
    if (st == CLNET_OK && net->scratch[1])
        st = scratch_view(net->scratch[1], &l->out, n, &b->acc);
    if (st == CLNET_OK && b->acc)
        st = flat2(b->acc, n, &b->acc2);
    return st;
}

clnet_status nn_set_batch(clnet_net *net, int n)
{
    if (n == net->batch_n)
        return CLNET_OK;
    net->batch_n = 0;
    for (int id = 0; id < net->nlayers; id++) {
        nn_layer *l = &net->layers[id];
        nn_batch_views_free(l);
        clnet_status st = layer_views(net, l, n);
        if (st != CLNET_OK)
            return nn_layer_fail(net, id, "batch views", st);
    }
    net->batch_n = n;
    return CLNET_OK;
}

/* ---- modes and loss ---- */

void clnet_net_set_training(clnet_net *net, bool training)
{
    if (net)
        net->training = training;
}

void clnet_net_set_loss_sum(clnet_net *net, bool sum)
{
    if (net)
        net->loss_sum = sum;
}

clnet_status clnet_net_set_loss(clnet_net *net, clnet_loss loss, float label_smoothing)
{
    clnet_error_clear(net ? net->ctx : NULL);
    if (!net)
        return CLNET_ERR_INVALID_ARGUMENT;
    if (loss != CLNET_LOSS_SOFTMAX_XENT && loss != CLNET_LOSS_MSE && loss != CLNET_LOSS_MMI)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_net_set_loss: unknown "
                          "loss %d", (int)loss);
    if (!(label_smoothing >= 0.0f && label_smoothing < 1.0f))
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_net_set_loss: label "
                          "smoothing %g outside [0, 1)", (double)label_smoothing);
    net->loss = loss;
    net->label_smoothing = label_smoothing;
    return CLNET_OK;
}

clnet_status clnet_net_set_mmi_j(clnet_net *net, float j)
{
    clnet_error_clear(net ? net->ctx : NULL);
    if (!net)
        return CLNET_ERR_INVALID_ARGUMENT;
    if (!(j > 0.0f && j <= 80.0f))
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_net_set_mmi_j: j %g "
                          "outside (0, 80]", (double)j);
    net->mmi_j = j;
    return CLNET_OK;
}

int nn_loss_layer(const clnet_net *net)
{
    int last = net->nlayers - 1;
    const nn_layer *l = &net->layers[last];
    if (last > 0 && l->spec.kind == CLNET_LAYER_SOFTMAX && net->loss == CLNET_LOSS_SOFTMAX_XENT)
        return l->spec.from[0];
    return last;
}

/* ---- forward ---- */

static clnet_status run(clnet_net *net, const clnet_op *op, int nin, clnet_tensor *const *in,
                        int nout, clnet_tensor *const *out)
{
    return clnet_op_run(net->dev, op, nin, in, nout, out);
}

static clnet_tensor *input_y(clnet_net *net, const nn_layer *l, int i)
{
    return net->layers[l->spec.from[i]].b.y;
}

static clnet_status forward_params_op(clnet_net *net, nn_layer *l, clnet_tensor *dst)
{
    clnet_op op = nn_layer_op(l);
    clnet_tensor *in[3] = {input_y(net, l, 0), l->params[0].value,
                           l->nparams > 1 ? l->params[1].value : NULL};
    return run(net, &op, l->nparams + 1, in, 1, &dst);
}

clnet_status nn_forward_batchnorm(clnet_net *net, nn_layer *l, clnet_tensor *dst,
                                  clnet_tensor *r, const clnet_act_params *act)
{
    clnet_op op = nn_layer_op(l);
    op.u.bn.fuse_act = act != NULL;
    if (act)
        op.u.bn.act = *act;
    op.u.bn.fuse_add = r != NULL;
    clnet_tensor *x = input_y(net, l, 0);
    clnet_tensor *mean = l->params[2].value, *var = l->params[3].value;
    /* synchronised batch norm: the group put the global statistics there */
    if (nn_layer_training(net, l) && net->bn_stats_given) {
        mean = l->batch_mean;
        var = l->batch_var;
    } else if (nn_layer_training(net, l)) {
        clnet_op stats = op;
        stats.kind = CLNET_OP_BATCHNORM_STATS;
        /* across processes the running statistics follow the global ones */
        const bool across = net->bn_exchange.sum != NULL;
        clnet_tensor *out[4] = {l->batch_mean, l->batch_var, mean, var};
        clnet_status st = run(net, &stats, 1, &x, across ? 2 : 4, out);
        if (st == CLNET_OK && across)
            st = nn_sync_bn_sum_stats(net, l);
        if (st != CLNET_OK)
            return st;
        mean = l->batch_mean;
        var = l->batch_var;
    }
    clnet_tensor *in[6] = {x, mean, var, l->params[0].value, l->params[1].value, r};
    return run(net, &op, r ? 6 : 5, in, 1, &dst);
}

/* y = acc + x where x has fewer channels than y: the leading channels get
 * the sum, the others are acc's (nothing to copy once acc is y). */
static clnet_status add_channel_prefix(clnet_net *net, nn_layer *l, clnet_tensor *acc,
                                       clnet_tensor *x, int64_t c)
{
    clnet_op add = {.kind = CLNET_OP_BINARY, .u.binary.fn = CLNET_BINARY_ADD};
    clnet_op copy = {.kind = CLNET_OP_CONCAT};
    int64_t rest = l->out.dim[0] - c;
    clnet_tensor *ys = NULL, *as = NULL, *yr = NULL, *ar = NULL;
    clnet_status st = clnet_tensor_slice(l->b.y, 1, 0, c, &ys);
    if (st == CLNET_OK)
        st = clnet_tensor_slice(acc, 1, 0, c, &as);
    if (st == CLNET_OK)
        st = run(net, &add, 2, (clnet_tensor *[]){as, x}, 1, &ys);
    if (st == CLNET_OK && acc != l->b.y) {
        st = clnet_tensor_slice(l->b.y, 1, c, rest, &yr);
        if (st == CLNET_OK)
            st = clnet_tensor_slice(acc, 1, c, rest, &ar);
        if (st == CLNET_OK)
            st = run(net, &copy, 1, &ar, 1, &yr);
    }
    clnet_tensor_free(ys);
    clnet_tensor_free(as);
    clnet_tensor_free(yr);
    clnet_tensor_free(ar);
    return st;
}

/* Sums (or multiplies) the inputs into y, the full-shaped input first so
 * that per-channel inputs broadcast and narrower ADD inputs add into its
 * leading channels. */
static clnet_status forward_binary(clnet_net *net, nn_layer *l)
{
    clnet_op op = nn_layer_op(l);
    int full = nn_full_input(net, l);
    clnet_tensor *acc = input_y(net, l, full);
    for (int i = 0; i < l->spec.nfrom; i++) {
        if (i == full)
            continue;
        const clnet_shape *x = &net->layers[l->spec.from[i]].out;
        clnet_status st;
        if (l->spec.kind == CLNET_LAYER_ADD && nn_channel_prefix(&l->out, x))
            st = add_channel_prefix(net, l, acc, input_y(net, l, i), x->dim[0]);
        else
            st = run(net, &op, 2, (clnet_tensor *[]){acc, input_y(net, l, i)}, 1, &l->b.y);
        if (st != CLNET_OK)
            return st;
        acc = l->b.y;
    }
    return CLNET_OK;
}

/* Inputs that are channel slices of the output wrote there already; the
 * others are copied in (a one-input CONCAT is a copy). */
static clnet_status forward_concat(clnet_net *net, int id)
{
    nn_layer *l = &net->layers[id];
    clnet_op copy = {.kind = CLNET_OP_CONCAT};
    int64_t offset = 0;
    for (int i = 0; i < l->spec.nfrom; i++) {
        const nn_layer *p = &net->layers[l->spec.from[i]];
        int64_t c = p->out.dim[0];
        if (!nn_is_slice_of(net, l->spec.from[i], id)) {
            clnet_tensor *part;
            clnet_status st = clnet_tensor_slice(l->b.y, 1, offset, c, &part);
            if (st == CLNET_OK)
                st = run(net, &copy, 1, (clnet_tensor *[]){p->b.y}, 1, &part);
            clnet_tensor_free(part);
            if (st != CLNET_OK)
                return st;
        }
        offset += c;
    }
    return CLNET_OK;
}

static uint64_t dropout_seed(const clnet_net *net, int id)
{
    return nn_mix64(nn_mix64(net->seed ^ nn_mix64(net->forward_count)) + (uint64_t)id);
}

static clnet_status forward_layer(clnet_net *net, int id)
{
    nn_layer *l = &net->layers[id];
    clnet_tensor *x = input_y(net, l, 0);
    /* an inference-only bind keeps no `pre`: scratch A holds it for the activation */
    clnet_tensor *dst = !l->spec.has_act ? l->b.y : l->b.pre ? l->b.pre : l->b.tmp;
    clnet_op op = nn_layer_op(l);
    clnet_status st = CLNET_OK;
    switch (l->spec.kind) {
    case CLNET_LAYER_CONV:
    case CLNET_LAYER_CONV_TRANSPOSE:
    case CLNET_LAYER_LINEAR:
    case CLNET_LAYER_RBF:
        st = forward_params_op(net, l, dst);
        break;
    case CLNET_LAYER_BATCHNORM:
        if (nn_bn_act_fusable(net, l)) {
            l->act_fused = true;
            dst = l->b.y;
        }
        st = nn_forward_batchnorm(net, l, dst, NULL, l->act_fused ? &l->spec.act : NULL);
        break;
    case CLNET_LAYER_POOL: {
        clnet_tensor *out[2] = {dst, net->training || l->switches_used ? l->b.argmax : NULL};
        st = run(net, &op, 1, &x, 2, out);
        break;
    }
    case CLNET_LAYER_UNPOOL: {
        clnet_tensor *in[2] = {x, net->layers[l->spec.switches].b.argmax};
        st = run(net, &op, 2, in, 1, &dst);
        break;
    }
    case CLNET_LAYER_DROPOUT:
        op.u.dropout.training = nn_layer_training(net, l);
        op.u.dropout.seed = l->dropout_seed = dropout_seed(net, id);
        op.u.dropout.first_image = l->dropout_first = net->first_image;
        st = run(net, &op, 1, &x, 1, &dst);
        break;
    case CLNET_LAYER_ACTIVATION:
    case CLNET_LAYER_LRN:
    case CLNET_LAYER_SOFTMAX:
    case CLNET_LAYER_SHUFFLE:
        st = run(net, &op, 1, &x, 1, &dst);
        break;
    case CLNET_LAYER_ADD:
    case CLNET_LAYER_MUL:
        st = forward_binary(net, l);
        break;
    case CLNET_LAYER_CONCAT:
        st = forward_concat(net, id);
        break;
    default:
        break; /* FLATTEN and SLICE are views of their input */
    }
    if (st == CLNET_OK && l->spec.has_act && !l->act_fused) {
        clnet_op act = {.kind = CLNET_OP_ACTIVATION, .u.act = l->spec.act};
        st = run(net, &act, 1, &dst, 1, &l->b.y);
    }
    return st;
}

clnet_status clnet_net_forward(clnet_net *net, const float *x, int n)
{
    return nn_forward(net, x, n, false);
}

clnet_status nn_forward(clnet_net *net, const float *x, int n, bool normalised)
{
    clnet_status st = nn_forward_begin(net, x, n, normalised);
    for (int id = 1; st == CLNET_OK && id < net->nlayers; id++)
        st = nn_forward_layer(net, id);
    if (st == CLNET_OK)
        nn_forward_end(net, n);
    return st;
}

clnet_status nn_forward_begin(clnet_net *net, const float *x, int n, bool normalised)
{
    clnet_error_clear(net ? net->ctx : NULL);
    if (!net || !x)
        return clnet_fail(net ? net->ctx : NULL, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_net_forward: NULL argument");
    if (!net->dev)
        return unbound_error(net, "clnet_net_forward");
    if (n < 1 || n > net->max_batch)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_net_forward: %d images (the net was bound for 1..%d)", n,
                          net->max_batch);
    if (net->training && net->inference_only)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_net_forward: training "
                          "mode on a net bound for inference only (clnet_net_bind_inference; "
                          "bind it with clnet_net_bind to train)");
    net->last_n = 0;
    clnet_status st = nn_set_batch(net, n);
    if (st != CLNET_OK)
        return st;
    size_t bytes = (size_t)n * (size_t)nn_numel(&net->layers[0].out) * sizeof(float);
    if (!normalised)
        st = nn_norm_input(net, x, n, &x);
    if (st != CLNET_OK)
        return st;
    double t = nn_prof_start(net);
    /* queued from a staging copy: the host goes on to queue the layers */
    st = clnet_tensor_write_queued(net->layers[0].b.y, x, bytes);
    if (st == CLNET_OK)
        st = nn_prof_stop(net, t, &net->layers[0].prof_fwd_ms);
    if (st != CLNET_OK)
        return nn_layer_fail(net, 0, "forward", st);
    if (net->training) {
        net->forward_count++;
        net->param_version++; /* batch norm's running statistics */
    }
    for (int id = 1; id < net->nlayers; id++)
        net->layers[id].fused_by = 0;
    if (!net->training)
        nn_mark_aux_only(net);
    return CLNET_OK;
}

clnet_status nn_forward_layer(clnet_net *net, int id)
{
    nn_layer *l = &net->layers[id];
    l->act_fused = false;
    l->res_target = 0;
    /* auxiliary classifiers take part in training only */
    if (l->fused_by || (!net->training && l->aux_only))
        return CLNET_OK;
    clnet_status st = CLNET_OK;
    double t = nn_prof_start(net);
    if (!nn_forward_fused(net, id, &st) && !nn_forward_residual(net, id, &st))
        st = forward_layer(net, id);
    if (st == CLNET_OK)
        st = nn_prof_stop(net, t, &l->prof_fwd_ms);
    return st == CLNET_OK ? CLNET_OK : nn_layer_fail(net, id, "forward", st);
}

void nn_forward_end(clnet_net *net, int n)
{
    net->last_n = n;
    net->last_training = net->training;
}

clnet_status clnet_net_read_output(clnet_net *net, float *y, size_t count)
{
    clnet_error_clear(net ? net->ctx : NULL);
    if (!net || !y)
        return clnet_fail(net ? net->ctx : NULL, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_net_read_output: NULL argument");
    if (!net->dev || net->last_n == 0)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_net_read_output: no forward pass to read");
    const nn_layer *last = &net->layers[net->nlayers - 1];
    size_t want = (size_t)net->last_n * (size_t)nn_numel(&last->out);
    if (count != want)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_net_read_output: %zu floats requested, the output holds %zu "
                          "(%d images of %lld)", count, want, net->last_n,
                          (long long)nn_numel(&last->out));
    return clnet_tensor_read(last->b.y, y, want * sizeof(float));
}

/* ---- parameter access wherever the values live ---- */

static clnet_status host_copy(clnet_net *net, float **host, const clnet_shape *shape,
                              const float *src)
{
    size_t bytes = (size_t)nn_numel(shape) * sizeof(float);
    if (!*host && !(*host = malloc(bytes)))
        return clnet_fail(net->ctx, CLNET_ERR_HOST_MEMORY, "net: cannot allocate %zu bytes",
                          bytes);
    memcpy(*host, src, bytes);
    return CLNET_OK;
}

clnet_status nn_param_read(clnet_net *net, const nn_param *p, float *dst)
{
    size_t bytes = (size_t)nn_numel(&p->shape) * sizeof(float);
    if (p->value)
        return clnet_tensor_read(p->value, dst, bytes);
    if (!p->host)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "net: parameter %s has no "
                          "values yet (bind the net first)", p->name);
    memcpy(dst, p->host, bytes);
    return CLNET_OK;
}

clnet_status nn_param_write(clnet_net *net, nn_param *p, const float *src)
{
    net->param_version++;
    if (p->value)
        return clnet_tensor_write(p->value, src, (size_t)nn_numel(&p->shape) * sizeof(float));
    return host_copy(net, &p->host, &p->shape, src);
}

clnet_status nn_state_read(clnet_net *net, const nn_param *p, int i, float *dst)
{
    size_t bytes = (size_t)nn_numel(&p->shape) * sizeof(float);
    if (p->state[i])
        return clnet_tensor_read(p->state[i], dst, bytes);
    if (!p->state_host[i])
        return clnet_fail(net->ctx, CLNET_ERR_INTERNAL, "net: parameter %s has no optimizer "
                          "state %d", p->name, i);
    memcpy(dst, p->state_host[i], bytes);
    return CLNET_OK;
}

clnet_status nn_state_write(clnet_net *net, nn_param *p, int i, const float *src)
{
    if (net->dev && !net->inference_only) {
        clnet_status st = p->state[i] ? CLNET_OK : nn_param_tensor(net, p, 2 + i, NULL, &p->state[i]);
        return st == CLNET_OK ? clnet_tensor_write(p->state[i], src,
                                                   (size_t)nn_numel(&p->shape) * sizeof(float))
                              : st;
    }
    return host_copy(net, &p->state_host[i], &p->shape, src);
}

clnet_status clnet_net_param_read(clnet_net *net, int id, int index, clnet_shape *shape,
                                  float *dst, size_t count)
{
    clnet_error_clear(net ? net->ctx : NULL);
    if (!net)
        return CLNET_ERR_INVALID_ARGUMENT;
    if (id < 0 || id >= net->nlayers || index < 0 || index >= net->layers[id].nparams)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_net_param_read: layer "
                          "%d of %d has no parameter %d", id, net->nlayers, index);
    const nn_param *p = &net->layers[id].params[index];
    if (shape)
        *shape = p->shape;
    if (!dst)
        return CLNET_OK;
    if (count != (size_t)nn_numel(&p->shape))
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_net_param_read: layer %d "
                          "(%s) %s has %lld values, %zu requested", id,
                          net->layers[id].spec.name, p->name, (long long)nn_numel(&p->shape),
                          count);
    return nn_param_read(net, p, dst);
}
