/* inspect.c - reading what a net holds inside after a forward pass: a
 * layer's definition, its output and a max pooling's switches, for tools
 * that work on intermediate layers (clnet-bench visualize's deconvnet). */
#include "nn/nn_internal.h"

#include <string.h>

#define TRY(expr) do { clnet_status st_ = (expr); if (st_ != CLNET_OK) return st_; } while (0)

static clnet_status check_layer(const clnet_net *net, int id, const char *what)
{
    if (id < 0 || id >= net->nlayers)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: layer %d of %d", what, id,
                          net->nlayers);
    return CLNET_OK;
}

clnet_status clnet_net_layer_spec(const clnet_net *net, int id, clnet_layer_spec *spec)
{
    clnet_error_clear(net ? net->ctx : NULL);
    if (!net || !spec)
        return clnet_fail(net ? net->ctx : NULL, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_net_layer_spec: NULL argument");
    TRY(check_layer(net, id, "clnet_net_layer_spec"));
    *spec = net->layers[id].spec;
    return CLNET_OK;
}

/* A fused convolution writes its result into the last layer it absorbed
 * (fuse.c): the output tensors of the layers before that one hold nothing
 * from this forward. Returns that last layer, or id itself when its output
 * is its own. */
static int written_by(const clnet_net *net, int id)
{
    int conv = net->layers[id].fused_by ? net->layers[id].fused_by : id;
    int target = id;
    for (int m = id + 1; m < net->nlayers; m++)
        if (net->layers[m].fused_by == conv)
            target = m;
    return target;
}

/* The checks reading a layer's tensor of the last forward shares. */
static clnet_status check_read(const clnet_net *net, int id, const void *dst, size_t count,
                               size_t want, const char *what)
{
    if (!dst)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: NULL destination", what);
    if (!net->dev || net->last_n == 0)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: no forward pass to read",
                          what);
    if (net->inference_only)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: an inference-only net "
                          "reuses its layers' output buffers: bind it with clnet_net_bind",
                          what);
    if (!net->last_training && net->layers[id].aux_only)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: layer %s serves "
                          "auxiliary outputs only, which an inference forward does not run",
                          what, net->layers[id].spec.name);
    if (count != want)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: %zu values requested, "
                          "layer %s holds %zu (%d images)", what, count,
                          net->layers[id].spec.name, want, net->last_n);
    return CLNET_OK;
}

clnet_status clnet_net_read_layer(clnet_net *net, int id, float *dst, size_t count)
{
    const char *what = "clnet_net_read_layer";
    clnet_error_clear(net ? net->ctx : NULL);
    if (!net)
        return CLNET_ERR_INVALID_ARGUMENT;
    TRY(check_layer(net, id, what));
    const nn_layer *l = &net->layers[id];
    TRY(check_read(net, id, dst, count, (size_t)net->last_n * (size_t)nn_numel(&l->out), what));
    int target = written_by(net, id);
    if (target != id)
        return clnet_fail(net->ctx, CLNET_ERR_UNSUPPORTED, "%s: layer %s ran fused with layer "
                          "%s, which holds the result: read that one", what, l->spec.name,
                          net->layers[target].spec.name);
    return clnet_tensor_read(l->b.y, dst, count * sizeof *dst);
}

clnet_status clnet_net_read_switches(clnet_net *net, int id, int32_t *dst, size_t count)
{
    const char *what = "clnet_net_read_switches";
    clnet_error_clear(net ? net->ctx : NULL);
    if (!net)
        return CLNET_ERR_INVALID_ARGUMENT;
    TRY(check_layer(net, id, what));
    const nn_layer *l = &net->layers[id];
    if (l->spec.kind != CLNET_LAYER_POOL || l->spec.pool.mode != CLNET_POOL_MAX)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: layer %s is a %s layer, "
                          "not a max pooling", what, l->spec.name, nn_kind_name(l->spec.kind));
    TRY(check_read(net, id, dst, count, (size_t)net->last_n * (size_t)nn_numel(&l->out), what));
    if (!net->last_training && !l->switches_used)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: layer %s kept no switches "
                          "in an inference forward: run it in training mode (with the layers "
                          "in CLNET_LAYER_MODE_INFERENCE to keep batch norm and dropout as "
                          "at inference)", what, l->spec.name);
    return clnet_tensor_read(l->b.argmax, dst, count * sizeof *dst);
}
