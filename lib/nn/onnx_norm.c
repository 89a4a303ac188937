/* onnx_norm.c - the ONNX importer's input normalisation: Sub of a mean
 * then Div by a standard deviation, one value per channel, on the graph
 * input, as the exporter writes a net's own normalisation (a checkpoint
 * trained with one), back into clnet_net_set_input_norm. */
#include "nn/onnx_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* k as one value per channel of x's per-image shape (C, ...) into out[C]:
 * false when k broadcasts any other way or would add an axis. */
static bool per_channel(ox_import *imp, const ox_value *x, const ox_const *k, float *out)
{
    const clnet_shape *in = ox_shape(imp, x);
    int rank = in->ndim + 1;
    int64_t ch = in->dim[0];
    if (k->dtype != OX_F32 || k->ndim > rank || (k->count != 1 && k->count != ch))
        return false;
    for (int d = 0; d < k->ndim; d++) {
        int axis = rank - k->ndim + d;   /* the axis of x this dimension lines up with */
        if (k->dim[d] != 1 && !(axis == 1 && k->dim[d] == ch))
            return false;
    }
    for (int64_t c = 0; c < ch; c++)
        out[c] = k->f[k->count == 1 ? 0 : c];
    return true;
}

clnet_status ox_input_norm(ox_import *imp, const ox_value *x, const ox_const *mean, bool *matched)
{
    *matched = false;
    if (strcmp(imp->node->op_type, "Sub") != 0 || x->layer != 0 || x->padded || imp->net->norm)
        return CLNET_OK;
    /* the net normalises what every layer reading its input sees */
    int div;
    if (ox_sole_consumer(imp, x, &div) != imp->node)
        return CLNET_OK;
    const char *diff = imp->node->output[0];
    const Onnx__NodeProto *d = ox_sole_consumer(imp, ox_output(imp, 0), &div);
    if (!d || strcmp(d->op_type, "Div") != 0 || imp->absorbed[div] || d->n_input != 2 ||
        d->n_output != 1 || strcmp(d->input[0], diff) != 0)
        return CLNET_OK;
    ox_value *sd = ox_value_find(imp, d->input[1]);
    if (!sd || !ox_demand_const(imp, sd))
        return CLNET_OK;
    int64_t ch = ox_shape(imp, x)->dim[0];
    float *m = malloc(2 * (size_t)ch * sizeof *m);
    if (!m)
        return ox_fail(imp, CLNET_ERR_HOST_MEMORY, "out of host memory");
    float *s = m + ch;
    bool ok = per_channel(imp, x, mean, m) && per_channel(imp, x, &sd->c, s);
    for (int64_t c = 0; ok && c < ch; c++)
        ok = isfinite(m[c]) && s[c] > 0.0f && isfinite(s[c]);
    clnet_status st = ok ? clnet_net_set_input_norm(imp->net, m, s) : CLNET_OK;
    free(m);
    if (st != CLNET_OK)
        return ox_fail(imp, st, "cannot set the net's input normalisation");
    if (!ok)
        return CLNET_OK;
    /* the Div's output is the input as the net's first layers see it; the
     * Sub's, read by the absorbed Div alone, stands for it too */
    imp->absorbed[div] = true;
    ox_set_layer(imp, 0, 0);
    ox_value *y = ox_value_find(imp, d->output[0]);
    y->kind = OX_LAYER;
    y->layer = 0;
    *matched = true;
    return CLNET_OK;
}
