/* input_norm.c - the net's own input normalisation (mean/std per input
 * channel) and its training state: setting, reading, applying them in
 * forward, and reconciling them with the statistics a caller passes. */
#include "nn/nn_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int input_channels(const clnet_net *net)
{
    return (int)net->layers[0].out.dim[0];
}

clnet_status clnet_net_set_input_norm(clnet_net *net, const float *mean, const float *std)
{
    clnet_error_clear(net ? net->ctx : NULL);
    if (!net)
        return CLNET_ERR_INVALID_ARGUMENT;
    int c = input_channels(net);
    for (int i = 0; i < c; i++) {
        if (mean && !isfinite(mean[i]))
            return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT,
                              "clnet_net_set_input_norm: mean[%d] is not finite", i);
        if (std && !(std[i] > 0.0f && isfinite(std[i])))
            return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT,
                              "clnet_net_set_input_norm: std[%d] = %g is not a finite value "
                              "> 0", i, (double)std[i]);
    }
    if (!mean && !std) {
        nn_norm_free(net);
        return CLNET_OK;
    }
    float *norm = net->norm ? net->norm : malloc(2 * (size_t)c * sizeof *norm);
    if (!norm)
        return clnet_fail(net->ctx, CLNET_ERR_HOST_MEMORY,
                          "clnet_net_set_input_norm: out of host memory");
    for (int i = 0; i < c; i++) {
        norm[i] = mean ? mean[i] : 0.0f;
        norm[c + i] = std ? std[i] : 1.0f;
    }
    net->norm = norm;
    return CLNET_OK;
}

bool clnet_net_input_norm(const clnet_net *net, float *mean, float *std)
{
    if (!net || !net->norm)
        return false;
    int c = input_channels(net);
    if (mean)
        memcpy(mean, net->norm, (size_t)c * sizeof *mean);
    if (std)
        memcpy(std, net->norm + c, (size_t)c * sizeof *std);
    return true;
}

void clnet_net_train_state(const clnet_net *net, clnet_train_state *state)
{
    if (net && state)
        *state = net->progress;
}

clnet_status clnet_net_set_train_state(clnet_net *net, const clnet_train_state *state)
{
    clnet_error_clear(net ? net->ctx : NULL);
    if (!net || !state)
        return clnet_fail(net ? net->ctx : NULL, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_net_set_train_state: NULL argument");
    if (state->epochs_done < 0)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_net_set_train_state: epochs_done %d < 0", state->epochs_done);
    net->progress = *state;
    return CLNET_OK;
}

clnet_status nn_norm_input(clnet_net *net, const float *x, int n, const float **out)
{
    *out = x;
    if (!net->norm)
        return CLNET_OK;
    int c = input_channels(net);
    size_t image = (size_t)nn_numel(&net->layers[0].out), plane = image / (size_t)c;
    size_t need = (size_t)n * image;
    if (need > net->norm_x_floats) {
        /* sized for the bound batch at once, so training never reallocates */
        size_t cap = (size_t)(net->max_batch > n ? net->max_batch : n) * image;
        float *grown = realloc(net->norm_x, cap * sizeof *grown);
        if (!grown)
            return clnet_fail(net->ctx, CLNET_ERR_HOST_MEMORY, "forward: no host memory to "
                              "normalise %d images", n);
        net->norm_x = grown;
        net->norm_x_floats = cap;
    }
    const float *mean = net->norm, *std = net->norm + c;
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++) {
            size_t at = (size_t)i * image + (size_t)ch * plane;
            /* divide, as the host pipeline does, so both give the same bits */
            for (size_t k = 0; k < plane; k++)
                net->norm_x[at + k] = (x[at + k] - mean[ch]) / std[ch];
        }
    *out = net->norm_x;
    return CLNET_OK;
}

clnet_status nn_norm_resolve(clnet_net *net, const char *what, const float *mean,
                             const float *std, const float **use_mean, const float **use_std)
{
    *use_mean = mean;
    *use_std = std;
    if (!net->norm)
        return CLNET_OK;
    *use_mean = *use_std = NULL;
    int c = input_channels(net);
    for (int i = 0; i < c; i++) {
        if (mean && mean[i] != net->norm[i])
            return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: mean[%d] = %g, but "
                              "the net normalises its input itself with mean[%d] = %g; pass "
                              "NULL (or the net's own values)", what, i, (double)mean[i], i,
                              (double)net->norm[i]);
        if (std && std[i] != net->norm[c + i])
            return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "%s: std[%d] = %g, but "
                              "the net normalises its input itself with std[%d] = %g; pass "
                              "NULL (or the net's own values)", what, i, (double)std[i], i,
                              (double)net->norm[c + i]);
    }
    return CLNET_OK;
}

void nn_norm_free(clnet_net *net)
{
    free(net->norm);
    free(net->norm_x);
    net->norm = net->norm_x = NULL;
    net->norm_x_floats = 0;
}
