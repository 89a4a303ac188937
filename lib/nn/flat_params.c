/* flat_params.c - the trainable parameters of a net bound for training in
 * one device buffer each for their values, their gradients and each
 * optimizer state, every parameter a view at its own offset, so that the
 * optimizer steps a run of parameters with the same multipliers in one
 * launch instead of one launch per tensor (ResNet-18: 62 a step). */
#include "nn/nn_internal.h"

/* Each parameter starts on a 64-byte line, as a tensor of its own would;
 * the gaps stay zero, which every optimizer step leaves at zero. */
#define FLAT_ALIGN 16

static int64_t aligned(int64_t n) { return clnet_ceil_div(n, FLAT_ALIGN) * FLAT_ALIGN; }

static void flat_layout(clnet_net *net)
{
    int64_t off = 0;
    for (int i = 0; i < net->nlayers; i++)
        for (int j = 0; j < net->layers[i].nparams; j++) {
            nn_param *p = &net->layers[i].params[j];
            p->in_flat = p->trainable && !net->inference_only;
            p->flat_off = off;
            if (p->in_flat)
                off += aligned(nn_numel(&p->shape));
        }
    net->flat_numel = off;
}

/* The flat buffer of tensor `which` of every parameter: 0 value, 1
 * gradient, 2 + s optimizer state s. */
static clnet_tensor **flat_of(clnet_net *net, int which)
{
    return which == 0 ? &net->flat_value : which == 1 ? &net->flat_grad
                                                      : &net->flat_state[which - 2];
}

/* Buffer `which`, zeroed, made unless it exists or the net has no
 * trainable parameter. */
static clnet_status flat_new(clnet_net *net, int which)
{
    clnet_tensor **out = flat_of(net, which);
    if (*out || net->flat_numel == 0)
        return CLNET_OK;
    clnet_status st = clnet_tensor_new(net->dev, CLNET_F32, 1, &net->flat_numel, out);
    return st == CLNET_OK ? clnet_tensor_fill(*out, 0.0f) : st;
}

clnet_status nn_flat_bind(clnet_net *net)
{
    flat_layout(net);
    if (net->inference_only)
        return CLNET_OK;
    clnet_status st = CLNET_OK;
    for (int which = 0; st == CLNET_OK && which < 2 + net->opt_nstate; which++)
        st = flat_new(net, which);
    return st;
}

/* Elements [begin, begin + n) of buffer `which` as a tensor of ndim dims. */
static clnet_status flat_view(clnet_net *net, int which, int64_t begin, int64_t n, int ndim,
                              const int64_t *shape, clnet_tensor **out)
{
    clnet_tensor *run = NULL;
    clnet_status st = clnet_tensor_slice(*flat_of(net, which), 0, begin, n, &run);
    if (st == CLNET_OK)
        st = clnet_tensor_reshape(run, ndim, shape, out);
    clnet_tensor_free(run);
    return st;
}

clnet_status nn_param_tensor(clnet_net *net, const nn_param *p, int which, const float *host,
                             clnet_tensor **out)
{
    clnet_status st;
    if (p->in_flat && (st = flat_new(net, which)) == CLNET_OK && *flat_of(net, which)) {
        st = flat_view(net, which, p->flat_off, nn_numel(&p->shape), p->shape.ndim,
                       p->shape.dim, out);
        /* a view of a buffer made before may hold an earlier state */
        if (st == CLNET_OK && !host)
            st = clnet_tensor_fill(*out, 0.0f);
    } else {
        st = clnet_tensor_new(net->dev, CLNET_F32, p->shape.ndim, p->shape.dim, out);
        if (st == CLNET_OK && !host)
            st = clnet_tensor_fill(*out, 0.0f);
    }
    if (st == CLNET_OK && host)
        st = clnet_tensor_write(*out, host, (size_t)nn_numel(&p->shape) * sizeof(float));
    return st;
}

bool nn_flat_holds(const clnet_net *net, const clnet_tensor *t)
{
    if (!t)
        return false;
    const clnet_tensor *flats[2 + NN_MAX_STATE] = {net->flat_value, net->flat_grad};
    for (int s = 0; s < NN_MAX_STATE; s++)
        flats[2 + s] = net->flat_state[s];
    for (int i = 0; i < 2 + NN_MAX_STATE; i++)
        if (flats[i] && flats[i]->storage == t->storage)
            return true;
    return false;
}

/* Whether tensor `which` of p is the view at p's offset in its flat
 * buffer (a parameter whose tensor was replaced is stepped on its own). */
static bool at_offset(clnet_net *net, const nn_param *p, int which, const clnet_tensor *t)
{
    const clnet_tensor *flat = *flat_of(net, which);
    return t && flat && t->storage == flat->storage && t->offset == p->flat_off;
}

bool nn_flat_steppable(clnet_net *net, const nn_param *p, int nstate)
{
    if (!p->in_flat || !at_offset(net, p, 0, p->value) || !at_offset(net, p, 1, p->grad))
        return false;
    for (int s = 0; s < nstate; s++)
        if (!at_offset(net, p, 2 + s, p->state[s]))
            return false;
    return true;
}

int64_t nn_flat_end(const nn_param *p) { return p->flat_off + aligned(nn_numel(&p->shape)); }

clnet_status nn_flat_run(clnet_net *net, int which, int64_t begin, int64_t end,
                         clnet_tensor **out)
{
    const int64_t n = end - begin;
    return flat_view(net, which, begin, n, 1, &n, out);
}

void nn_flat_free(clnet_net *net, bool state_only)
{
    for (int s = 0; s < NN_MAX_STATE; s++) {
        clnet_tensor_free(net->flat_state[s]);
        net->flat_state[s] = NULL;
    }
    if (state_only)
        return;
    clnet_tensor_free(net->flat_value);
    clnet_tensor_free(net->flat_grad);
    net->flat_value = net->flat_grad = NULL;
    for (int i = 0; i < net->nlayers; i++)
        for (int j = 0; j < net->layers[i].nparams; j++)
            net->layers[i].params[j].in_flat = false;
    net->flat_numel = 0;
}

size_t nn_flat_bytes(const clnet_net *net, bool values_only)
{
    size_t bytes = net->flat_value ? net->flat_value->storage->bytes : 0;
    if (values_only)
        return bytes;
    const clnet_tensor *rest[1 + NN_MAX_STATE] = {net->flat_grad};
    for (int s = 0; s < NN_MAX_STATE; s++)
        rest[1 + s] = net->flat_state[s];
    for (int i = 0; i < 1 + NN_MAX_STATE; i++)
        bytes += rest[i] ? rest[i]->storage->bytes : 0;
    return bytes;
}
