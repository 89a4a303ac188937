/* lookahead.c - an exponential moving average of a net's weights that is
 * copied back into the net every few steps (airbench94's LookaheadState):
 * the host keeps the average, one read and one write per parameter. */
#include "nn/nn_internal.h"

#include <math.h>
#include <stdlib.h>

struct clnet_lookahead {
    int every;
    double base, power;
    int64_t total_steps, steps;
    int64_t nvalues;             /* floats in all the net's parameters */
    float *avg;                  /* the average, parameters in layer order */
    float *cur;                  /* the largest parameter's current values */
};

/* Floats over every parameter, and the largest one's. */
static void param_sizes(const clnet_net *net, int64_t *total, int64_t *largest)
{
    *total = *largest = 0;
    for (int i = 0; i < net->nlayers; i++)
        for (int j = 0; j < net->layers[i].nparams; j++) {
            int64_t n = nn_numel(&net->layers[i].params[j].shape);
            *total += n;
            *largest = n > *largest ? n : *largest;
        }
}

clnet_status clnet_lookahead_new(clnet_net *net, int every, double base, double power,
                                 int64_t total_steps, clnet_lookahead **out)
{
    if (out)
        *out = NULL;
    if (!net || !out)
        return CLNET_ERR_INVALID_ARGUMENT;
    if (!net->dev || every < 1 || total_steps < 1 || !(base >= 0.0 && base <= 1.0) ||
        !(power >= 0.0 && isfinite(power)))
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "lookahead: needs a bound net, "
                          "every >= 1 (%d), total_steps >= 1 (%lld), base in [0, 1] (%g), "
                          "power >= 0 (%g)", every, (long long)total_steps, base, power);
    int64_t total, largest;
    param_sizes(net, &total, &largest);
    clnet_lookahead *la = calloc(1, sizeof *la);
    if (la) {
        la->avg = malloc((size_t)(total > 0 ? total : 1) * sizeof(float));
        la->cur = malloc((size_t)(largest > 0 ? largest : 1) * sizeof(float));
    }
    if (!la || !la->avg || !la->cur) {
        clnet_lookahead_free(la);
        return clnet_fail(net->ctx, CLNET_ERR_HOST_MEMORY, "lookahead: cannot allocate the "
                          "average of the net's weights");
    }
    la->every = every;
    la->base = base;
    la->power = power;
    la->total_steps = total_steps;
    la->nvalues = total;
    float *dst = la->avg;
    for (int i = 0; i < net->nlayers; i++)
        for (int j = 0; j < net->layers[i].nparams; j++) {
            const nn_param *p = &net->layers[i].params[j];
            clnet_status st = nn_param_read(net, p, dst);
            if (st != CLNET_OK) {
                clnet_lookahead_free(la);
                return nn_wrap(net->ctx, st, "lookahead: layer %d (%s) %s", i,
                               net->layers[i].spec.name, p->name);
            }
            dst += nn_numel(&p->shape);
        }
    *out = la;
    return CLNET_OK;
}

clnet_status clnet_lookahead_update(clnet_lookahead *la, clnet_net *net, double decay)
{
    if (!la || !net)
        return CLNET_ERR_INVALID_ARGUMENT;
    int64_t total, largest;
    param_sizes(net, &total, &largest);
    if (!(decay >= 0.0 && decay <= 1.0) || total != la->nvalues)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "lookahead: decay %g (must be "
                          "in [0, 1]), a net of %lld weights (the average has %lld)", decay,
                          (long long)total, (long long)la->nvalues);
    float *avg = la->avg;
    for (int i = 0; i < net->nlayers; i++)
        for (int j = 0; j < net->layers[i].nparams; j++) {
            nn_param *p = &net->layers[i].params[j];
            int64_t n = nn_numel(&p->shape);
            clnet_status st = nn_param_read(net, p, la->cur);
            for (int64_t k = 0; st == CLNET_OK && k < n; k++)
                avg[k] = (float)(decay * avg[k] + (1.0 - decay) * la->cur[k]);
            if (st == CLNET_OK)
                st = nn_param_write(net, p, avg);
            if (st != CLNET_OK)
                return nn_wrap(net->ctx, st, "lookahead: layer %d (%s) %s", i,
                               net->layers[i].spec.name, p->name);
            avg += n;
        }
    return CLNET_OK;
}

clnet_status clnet_lookahead_step(clnet_lookahead *la, clnet_net *net)
{
    if (!la || !net)
        return CLNET_ERR_INVALID_ARGUMENT;
    la->steps++;
    if (la->steps % la->every != 0)
        return CLNET_OK;
    double progress = (double)la->steps / (double)la->total_steps;
    return clnet_lookahead_update(la, net, la->base * pow(progress > 1.0 ? 1.0 : progress,
                                                          la->power));
}

int64_t clnet_lookahead_steps(const clnet_lookahead *la)
{
    return la ? la->steps : 0;
}

void clnet_lookahead_free(clnet_lookahead *la)
{
    if (!la)
        return;
    free(la->avg);
    free(la->cur);
    free(la);
}
