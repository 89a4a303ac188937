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

/* A zeroed flat buffer, unless the net has no trainable parameter. */
static clnet_status flat_new(clnet_net *net, clnet_tensor **out)
{
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
    clnet_status st = flat_new(net, &net->flat_value);
    if (st == CLNET_OK)
        st = flat_new(net, &net->flat_grad);
    for (int s = 0; st == CLNET_OK && s < net->opt_nstate; s++)
        st = flat_new(net, &net->flat_state[s]);
    return st;
}

/* The view of `flat` that is p's tensor. */
static clnet_status flat_view(clnet_tensor *flat, const nn_param *p, clnet_tensor **out)
{
    clnet_tensor *run = NULL;
    clnet_status st = clnet_tensor_slice(flat, 0, p->flat_off, nn_numel(&p->shape), &run);
    if (st == CLNET_OK)
        st = clnet_tensor_reshape(run, p->shape.ndim, p->shape.dim, out);
    clnet_tensor_free(run);
    return st;
}

/* The flat buffer that tensor `which` of p lives in: 0 value, 1 gradient,
 * 2 + s optimizer state s. */
static clnet_tensor **flat_of(clnet_net *net, int which)
{
    return which == 0 ? &net->flat_value : which == 1 ? &net->flat_grad
                                                      : &net->flat_state[which - 2];
}

clnet_status nn_param_tensor(clnet_net *net, const nn_param *p, int which, const float *host,
                             clnet_tensor **out)
{
    clnet_tensor **flat = flat_of(net, which);
    clnet_status st;
    if (p->in_flat && (st = flat_new(net, flat)) == CLNET_OK && *flat) {
        st = flat_view(*flat, p, out);
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
    /* rows of FLAT_ALIGN: the element-wise kernels' grids span both axes */
    const int64_t shape[2] = {(end - begin) / FLAT_ALIGN, FLAT_ALIGN};
    clnet_tensor *run = NULL;
    clnet_status st = clnet_tensor_slice(*flat_of(net, which), 0, begin, end - begin, &run);
    if (st == CLNET_OK)
        st = clnet_tensor_reshape(run, 2, shape, out);
    clnet_tensor_free(run);
    return st;
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
