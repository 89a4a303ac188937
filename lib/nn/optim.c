/* optim.c - learning-rate schedules and the optimizer step (SGD with
 * momentum/Nesterov, Adam/AdamW), one SGD_STEP/ADAM_STEP op per parameter. */
#include "nn/nn_internal.h"

#include <math.h>
#include <stdlib.h>

static int npoints(const clnet_optimizer *opt)
{
    return opt->npoints < 0 ? 0 : opt->npoints > CLNET_SCHED_MAX_POINTS ? CLNET_SCHED_MAX_POINTS
                                                                        : opt->npoints;
}

/* The LINEAR schedule's factor: interpolated between the knots around
 * `epoch`, the end knots' values outside them. */
static double piecewise_linear(const clnet_optimizer *opt, double epoch)
{
    int n = npoints(opt);
    if (n == 0)
        return 1.0;
    const clnet_sched_point *p = opt->points;
    if (epoch <= p[0].epoch)
        return p[0].factor;
    for (int i = 1; i < n; i++)
        if (epoch < p[i].epoch) {
            double t = (epoch - p[i - 1].epoch) / (p[i].epoch - p[i - 1].epoch);
            return (1.0 - t) * p[i - 1].factor + t * p[i].factor;
        }
    return p[n - 1].factor;
}

float clnet_optimizer_lr(const clnet_optimizer *opt, double epoch)
{
    if (!opt)
        return 0.0f;
    double lr = opt->lr;
    switch (opt->schedule) {
    case CLNET_SCHED_STEP:
        if (opt->step_epochs > 0)
            lr *= pow((double)opt->gamma, floor(epoch / opt->step_epochs));
        break;
    case CLNET_SCHED_COSINE:
        if (opt->epochs > 0)
            lr *= epoch >= opt->epochs ? 0.0 : 0.5 * (1.0 + cos(3.141592653589793 * epoch / opt->epochs));
        break;
    case CLNET_SCHED_MULTISTEP:
        for (int i = 0; i < npoints(opt); i++)
            if (epoch >= opt->points[i].epoch)
                lr *= opt->gamma;
        break;
    case CLNET_SCHED_LINEAR:
        lr *= piecewise_linear(opt, epoch);
        break;
    default:
        break;
    }
    if (opt->warmup_epochs > 0.0f && epoch < opt->warmup_epochs)
        lr *= epoch / opt->warmup_epochs;
    return (float)lr;
}

void nn_opt_state_free(clnet_net *net)
{
    for (int i = 0; i < net->nlayers; i++)
        for (int j = 0; j < net->layers[i].nparams; j++) {
            nn_param *p = &net->layers[i].params[j];
            for (int s = 0; s < NN_MAX_STATE; s++) {
                clnet_tensor_free(p->state[s]);
                p->state[s] = NULL;
                free(p->state_host[s]);
                p->state_host[s] = NULL;
            }
        }
    nn_flat_free(net, true);
    net->opt_nstate = 0;
    net->opt_steps = 0;
}

/* Zeroed state tensors for every trainable parameter, made on the first
 * step of an optimizer (or when it changes kind, or SGD gains momentum). */
static clnet_status ensure_state(clnet_net *net, clnet_optim_kind kind, int nstate)
{
    /* State of another optimizer kind (Adam's moments under SGD, say) is
     * never reused, even by a step that needs none. */
    if (net->opt_kind != kind)
        nn_opt_state_free(net);
    if (net->opt_nstate >= nstate && net->opt_kind == kind)
        return CLNET_OK;
    for (int i = 0; i < net->nlayers; i++)
        for (int j = 0; j < net->layers[i].nparams; j++) {
            nn_param *p = &net->layers[i].params[j];
            for (int s = 0; p->trainable && s < nstate; s++) {
                if (p->state[s])
                    continue;
                clnet_status st = nn_param_tensor(net, p, 2 + s, NULL, &p->state[s]);
                if (st != CLNET_OK)
                    return nn_wrap(net->ctx, st, "net step: layer %d (%s): optimizer state", i,
                                   net->layers[i].spec.name);
            }
        }
    net->opt_kind = kind;
    net->opt_nstate = nstate;
    return CLNET_OK;
}

/* The step op of one parameter: the optimizer's lr and weight decay times
 * the parameter's multipliers. */
static clnet_op param_op(const clnet_op *base, const nn_param *p)
{
    clnet_op op = *base;
    if (op.kind == CLNET_OP_SGD_STEP) {
        op.u.sgd.lr *= p->lr_mult;
        op.u.sgd.weight_decay *= p->decay_mult;
    } else {
        op.u.adam.lr *= p->lr_mult;
        op.u.adam.weight_decay *= p->decay_mult;
    }
    return op;
}

clnet_status clnet_net_set_param_lr(clnet_net *net, int id, int index, float lr_mult,
                                    float decay_mult)
{
    if (!net)
        return CLNET_ERR_INVALID_ARGUMENT;
    if (id < 0 || id >= net->nlayers || index < 0 || index >= net->layers[id].nparams ||
        !net->layers[id].params[index].trainable)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_net_set_param_lr: layer "
                          "%d has no trainable parameter %d", id, index);
    if (!(lr_mult >= 0.0f && isfinite(lr_mult)) || !(decay_mult >= 0.0f && isfinite(decay_mult)))
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_net_set_param_lr: "
                          "multipliers %g and %g must be finite and >= 0", (double)lr_mult,
                          (double)decay_mult);
    nn_param *p = &net->layers[id].params[index];
    p->lr_mult = lr_mult;
    p->decay_mult = decay_mult;
    /* backward computes no gradient for it any more: what it reads is 0 */
    if (lr_mult == 0.0f && p->grad)
        return clnet_tensor_fill(p->grad, 0.0f);
    return CLNET_OK;
}

/* One parameter's step on its own tensors. */
static clnet_status param_step(clnet_net *net, const clnet_op *op, int nstate, nn_param *p)
{
    clnet_op pop = param_op(op, p);
    clnet_tensor *out[3] = {p->value, p->state[0], p->state[1]};
    return clnet_op_run(net->dev, &pop, 1, &p->grad, 1 + nstate, out);
}

/* Neighbouring slots of the flat buffers with the same multipliers,
 * stepped as one tensor (the zero gaps between slots stay zero). */
typedef struct step_run {
    nn_param *first, *last;
    int first_layer, last_layer;
} step_run;

static bool same_run(const step_run *r, const nn_param *p)
{
    return p->flat_off == nn_flat_end(r->last) && p->lr_mult == r->first->lr_mult &&
           p->decay_mult == r->first->decay_mult;
}

static clnet_status run_step(clnet_net *net, const clnet_op *op, int nstate, const step_run *r)
{
    if (r->first == r->last)
        return param_step(net, op, nstate, r->first);
    const int64_t begin = r->first->flat_off, end = nn_flat_end(r->last);
    clnet_tensor *t[2 + NN_MAX_STATE] = {NULL};
    clnet_status st = CLNET_OK;
    for (int w = 0; st == CLNET_OK && w < 2 + nstate; w++)
        st = nn_flat_run(net, w, begin, end, &t[w]);
    clnet_op pop = param_op(op, r->first);
    clnet_tensor *out[3] = {t[0], t[2], t[3]};
    if (st == CLNET_OK)
        st = clnet_op_run(net->dev, &pop, 1, &t[1], 1 + nstate, out);
    for (int w = 0; w < 2 + NN_MAX_STATE; w++)
        clnet_tensor_free(t[w]);
    if (st != CLNET_OK)
        return nn_wrap(net->ctx, st, "net step: the parameters of layers %d to %d in one run",
                       r->first_layer, r->last_layer);
    return CLNET_OK;
}

static clnet_op step_op(const clnet_optimizer *opt, float lr, int64_t t)
{
    clnet_op op;
    if (opt->kind == CLNET_OPTIM_SGD) {
        op.kind = CLNET_OP_SGD_STEP;
        op.u.sgd = (clnet_sgd_params){lr, opt->momentum, opt->weight_decay, opt->nesterov};
    } else {
        op.kind = CLNET_OP_ADAM_STEP;
        op.u.adam = (clnet_adam_params){
            .lr = lr,
            .beta1 = opt->beta1 != 0.0f ? opt->beta1 : 0.9f,
            .beta2 = opt->beta2 != 0.0f ? opt->beta2 : 0.999f,
            .eps = opt->eps != 0.0f ? opt->eps : 1e-8f,
            .weight_decay = opt->weight_decay,
            .decoupled = opt->decoupled,
            .t = t > INT32_MAX ? INT32_MAX : (int)t,
        };
    }
    return op;
}

clnet_status clnet_net_step(clnet_net *net, const clnet_optimizer *opt, float lr)
{
    clnet_error_clear(net ? net->ctx : NULL);
    if (!net || !opt)
        return clnet_fail(net ? net->ctx : NULL, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_net_step: NULL argument");
    if (!net->dev)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_net_step: the net is not bound to a device");
    if (net->inference_only)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_net_step: the net is "
                          "bound for inference only (clnet_net_bind_inference): it has no "
                          "gradients");
    clnet_status st = nn_check_optimizer(net->ctx, "clnet_net_step", opt);
    if (st != CLNET_OK)
        return st;
    int nstate = opt->kind == CLNET_OPTIM_ADAM ? 2 : opt->momentum != 0.0f ? 1 : 0;
    st = ensure_state(net, opt->kind, nstate);
    if (st != CLNET_OK)
        return st;
    if (nstate == 0)
        net->opt_kind = opt->kind;
    clnet_op op = step_op(opt, lr, net->opt_steps + 1);
    net->param_version++;
    double t = nn_prof_start(net);
    step_run run = {.first = NULL};
    for (int i = 0; i < net->nlayers; i++) {
        nn_layer *l = &net->layers[i];
        for (int j = 0; j < l->nparams; j++) {
            nn_param *p = &l->params[j];
            const bool stepped = !l->frozen && p->trainable && p->lr_mult != 0.0f;
            const bool joins = stepped && nn_flat_steppable(net, p, nstate);
            /* a slot left out ends the run (its weights must not move);
             * parameters outside the flat buffers are no slot */
            if (run.first && p->in_flat && (!joins || !same_run(&run, p))) {
                if ((st = run_step(net, &op, nstate, &run)) != CLNET_OK)
                    return st;
                run.first = NULL;
            }
            if (joins) {
                if (!run.first)
                    run = (step_run){.first = p, .first_layer = i};
                run.last = p;
                run.last_layer = i;
            } else if (stepped && (st = param_step(net, &op, nstate, p)) != CLNET_OK) {
                return nn_wrap(net->ctx, st, "net step: layer %d (%s) %s", i, l->spec.name,
                               p->name);
            }
        }
    }
    if (run.first && (st = run_step(net, &op, nstate, &run)) != CLNET_OK)
        return st;
    net->opt_steps++;
    return nn_prof_stop(net, t, &net->prof_step_ms);
}
