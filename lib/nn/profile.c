/* profile.c - per-layer timing of a net (like Darknet's): while profiling is
 * on, the executor waits for the device after every layer, the loss and the
 * optimizer step, and adds the wall time to that piece's total. */
#include "nn/nn_internal.h"


clnet_status clnet_net_set_profiling(clnet_net *net, bool enabled)
{
    if (!net)
        return CLNET_ERR_INVALID_ARGUMENT;
    net->profiling = enabled;
    net->prof_loss_ms = net->prof_step_ms = 0.0;
    for (int i = 0; i < net->nlayers; i++)
        net->layers[i].prof_fwd_ms = net->layers[i].prof_bwd_ms = 0.0;
    return CLNET_OK;
}

clnet_status clnet_net_layer_time(const clnet_net *net, int id, double *forward_ms,
                                  double *backward_ms)
{
    if (!net)
        return CLNET_ERR_INVALID_ARGUMENT;
    if (id < 0 || id >= net->nlayers)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_net_layer_time: no "
                          "layer %d (the net has %d)", id, net->nlayers);
    if (forward_ms)
        *forward_ms = net->layers[id].prof_fwd_ms;
    if (backward_ms)
        *backward_ms = net->layers[id].prof_bwd_ms;
    return CLNET_OK;
}

void clnet_net_profile_totals(const clnet_net *net, double *loss_ms, double *step_ms)
{
    if (loss_ms)
        *loss_ms = net ? net->prof_loss_ms : 0.0;
    if (step_ms)
        *step_ms = net ? net->prof_step_ms : 0.0;
}

double nn_prof_start(clnet_net *net)
{
    if (!net->profiling)
        return 0.0;
    /* what was queued before is not this piece's time */
    clnet_device_synchronize(net->dev);
    return clnet_now_ms();
}

clnet_status nn_prof_stop(clnet_net *net, double start, double *total_ms)
{
    if (!net->profiling)
        return CLNET_OK;
    clnet_status st = clnet_device_synchronize(net->dev);
    *total_ms += clnet_now_ms() - start;
    return st;
}
