/* liveness.c - the activation plan of an inference-only bind: layer outputs
 * share device buffers when nothing downstream reads the earlier output any
 * more by the time the later one is written, so that a net holds about its
 * peak set of live activations instead of every layer's output. */
#include "nn/nn_internal.h"

#include <stdlib.h>

/* The layer whose output tensor holds layer id's output: itself, or the
 * CONCAT it is a channel slice of, or for FLATTEN and SLICE (views of their
 * input) their input's holder. The same rules as bind_outputs (exec.c). */
static int holder(const clnet_net *net, int id)
{
    const nn_layer *l = &net->layers[id];
    if (l->spec.kind == CLNET_LAYER_FLATTEN || l->spec.kind == CLNET_LAYER_SLICE)
        return holder(net, l->spec.from[0]);
    if (id > 0 && l->consumers == 1 &&
        net->layers[l->consumer].spec.kind == CLNET_LAYER_CONCAT)
        return holder(net, l->consumer);
    return id;
}

/* One shared buffer while planning: its size grows to its largest tenant. */
typedef struct plan_buffer {
    int64_t numel;                 /* per image */
    bool busy;
} plan_buffer;

/* The free buffer that fits `numel` most tightly, else the largest free one
 * (which grows), else -1. */
static int pick(const plan_buffer *b, int n, int64_t numel)
{
    int fit = -1, largest = -1;
    for (int i = 0; i < n; i++) {
        if (b[i].busy)
            continue;
        if (b[i].numel >= numel && (fit < 0 || b[i].numel < b[fit].numel))
            fit = i;
        if (largest < 0 || b[i].numel > b[largest].numel)
            largest = i;
    }
    return fit >= 0 ? fit : largest;
}

/* Plans net->out_buffer_of (per holder layer: its buffer) and the buffers'
 * sizes (per image), and sets net->peak_live_numel. A holder is live from
 * its first writer to the last layer reading any of its tenants (the net's
 * output to the end); a buffer is reused only by a holder whose range
 * starts after the last read of the one before. */
static int plan(clnet_net *net, const int *hold, int *ws, plan_buffer *b)
{
    int n = net->nlayers, nb = 0;
    int *first = ws, *last = ws + n, *start_head = ws + 2 * n, *start_next = ws + 3 * n;
    int *end_head = ws + 4 * n, *end_next = ws + 5 * n, *writer = ws + 6 * n;
    for (int id = 0; id < n; id++) {
        first[id] = n;
        last[id] = -1;
        start_head[id] = end_head[id] = -1;
    }
    for (int id = 0; id < n; id++) {
        int h = hold[id];
        /* a convolution fused with the batch norm and activation after it
         * writes their output (fuse.c): that output is live from the
         * convolution on, or it could share the convolution's input buffer */
        const nn_layer *l = &net->layers[id];
        bool absorbable = l->spec.kind == CLNET_LAYER_BATCHNORM ||
                          l->spec.kind == CLNET_LAYER_ACTIVATION;
        writer[id] = absorbable && net->layers[l->spec.from[0]].consumers == 1
                         ? writer[l->spec.from[0]]
                         : id;
        first[h] = first[h] < writer[id] ? first[h] : writer[id];
        last[h] = last[h] > id ? last[h] : id;
        for (int i = 0; i < l->spec.nfrom; i++) {
            int hi = hold[l->spec.from[i]];
            last[hi] = last[hi] > id ? last[hi] : id;
        }
    }
    last[hold[n - 1]] = n;
    for (int h = n - 1; h >= 0; h--) {
        if (hold[h] != h)
            continue;
        start_next[h] = start_head[first[h]];
        start_head[first[h]] = h;
        if (last[h] < n) {
            end_next[h] = end_head[last[h]];
            end_head[last[h]] = h;
        }
    }
    int64_t live = 0;
    net->peak_live_numel = 0;
    for (int id = 0; id < n; id++) {
        for (int h = start_head[id]; h >= 0; h = start_next[h]) {
            int64_t numel = nn_numel(&net->layers[h].out);
            int i = pick(b, nb, numel);
            if (i < 0)
                i = nb++;
            if (b[i].numel < numel)
                b[i].numel = numel;
            b[i].busy = true;
            net->out_buffer_of[h] = i;
            live += numel;
        }
        if (live > net->peak_live_numel)
            net->peak_live_numel = live;
        for (int h = end_head[id]; h >= 0; h = end_next[h]) {
            b[net->out_buffer_of[h]].busy = false;
            live -= nn_numel(&net->layers[h].out);
        }
    }
    return nb;
}

clnet_status nn_plan_outputs(clnet_net *net)
{
    int n = net->nlayers;
    int *hold = malloc((size_t)n * sizeof *hold), *ws = malloc(7 * (size_t)n * sizeof *ws);
    plan_buffer *b = calloc((size_t)n, sizeof *b);
    net->out_buffer_of = malloc((size_t)n * sizeof *net->out_buffer_of);
    net->out_buffers = calloc((size_t)n, sizeof *net->out_buffers);
    clnet_status st = hold && ws && b && net->out_buffer_of && net->out_buffers
                          ? CLNET_OK
                          : clnet_fail(net->ctx, CLNET_ERR_HOST_MEMORY,
                                       "clnet_net_bind: no memory for the plan of %d layers", n);
    int nb = 0;
    if (st == CLNET_OK) {
        for (int id = 0; id < n; id++)
            hold[id] = holder(net, id);
        nb = plan(net, hold, ws, b);
    }
    for (int i = 0; st == CLNET_OK && i < nb; i++) {
        int64_t numel = b[i].numel * net->max_batch;
        st = clnet_tensor_new(net->dev, CLNET_F32, 1, &numel, &net->out_buffers[i]);
        net->nout_buffers = i + 1;
    }
    free(hold);
    free(ws);
    free(b);
    return st;
}

clnet_status nn_shared_output(clnet_net *net, int id, clnet_tensor **y)
{
    const nn_layer *l = &net->layers[id];
    clnet_tensor *buffer = net->out_buffers[net->out_buffer_of[id]];
    clnet_shape s = {.ndim = l->out.ndim + 1, .dim = {net->max_batch}};
    for (int i = 0; i < l->out.ndim; i++)
        s.dim[i + 1] = l->out.dim[i];
    clnet_tensor *part;
    clnet_status st = clnet_tensor_slice(buffer, 0, 0, clnet_shape_numel(&s), &part);
    if (st != CLNET_OK)
        return st;
    st = clnet_tensor_reshape(part, s.ndim, s.dim, y);
    clnet_tensor_free(part);
    return st;
}

void nn_free_plan(clnet_net *net)
{
    for (int i = 0; i < net->nout_buffers; i++)
        clnet_tensor_free(net->out_buffers[i]);
    free(net->out_buffers);
    free(net->out_buffer_of);
    net->out_buffers = NULL;
    net->out_buffer_of = NULL;
    net->nout_buffers = 0;
    net->peak_live_numel = 0;
}
