/* es.c - OpenAI-ES (Salimans et al. 2017) as a gradient estimator: antithetic
 * Gaussian perturbations of a net's parameters, evaluated by forward passes
 * only, fitness shaped by centred ranks; the optimizer step applies the
 * estimate as it would a backpropagated gradient. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clnet/es.h"
#include "nn/nn_internal.h"

#define ES_MAX_POPULATION 100000

/* The parameters ES moves (those clnet_net_step updates) and host room for
 * their values, flat in layer order. */
typedef struct es_state {
    clnet_net *net;
    nn_param **params;
    int count;
    int64_t total, largest;
    float *theta;              /* total: the values at the start */
    float *work;               /* largest: one perturbed parameter */
    double *grad;              /* total: the weighted sum of the directions */
    float *out;                /* n * k outputs of one forward pass */
    double *logp;              /* k: nn_row_loss's scratch */
    double *fitness;           /* population */
    double *rank;              /* population: centred ranks */
    int *order;                /* population: indices sorted by fitness */
    bool theta_read;           /* theta holds the parameters: write them back */
} es_state;

static void es_free(es_state *s)
{
    free(s->params);
    free(s->theta);
    free(s->work);
    free(s->grad);
    free(s->out);
    free(s->logp);
    free(s->fitness);
    free(s->rank);
    free(s->order);
}

static clnet_status es_alloc(es_state *s, int n, int64_t k, int population)
{
    clnet_net *net = s->net;
    s->params = calloc((size_t)net->nlayers * NN_MAX_PARAMS, sizeof *s->params);
    for (int i = 0; s->params && i < net->nlayers; i++) {
        nn_layer *l = &net->layers[i];
        for (int j = 0; !l->frozen && j < l->nparams; j++) {
            nn_param *p = &l->params[j];
            if (!p->trainable || p->lr_mult == 0.0f)
                continue;
            int64_t numel = nn_numel(&p->shape);
            s->params[s->count++] = p;
            s->total += numel;
            s->largest = numel > s->largest ? numel : s->largest;
        }
    }
    if (s->params && s->count == 0)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_net_es_gradient: the net has no parameter to update");
    s->theta = malloc((size_t)s->total * sizeof *s->theta);
    s->work = malloc((size_t)s->largest * sizeof *s->work);
    s->grad = calloc((size_t)s->total, sizeof *s->grad);
    s->out = malloc((size_t)n * (size_t)k * sizeof *s->out);
    s->logp = malloc((size_t)k * sizeof *s->logp);
    s->fitness = malloc((size_t)population * sizeof *s->fitness);
    s->rank = malloc((size_t)population * sizeof *s->rank);
    s->order = malloc((size_t)population * sizeof *s->order);
    if (!s->params || !s->theta || !s->work || !s->grad || !s->out || !s->logp || !s->fitness ||
        !s->rank || !s->order)
        return clnet_fail(net->ctx, CLNET_ERR_HOST_MEMORY, "clnet_net_es_gradient: no host "
                          "memory for %lld parameters", (long long)s->total);
    return CLNET_OK;
}

/* Element `index` of the standard normal direction `key`: Box-Muller on two
 * hashed uniforms, whose cosine and sine serve an even and an odd index. */
static double normal(uint64_t key, int64_t index)
{
    uint64_t pair = (uint64_t)index >> 1;
    double u1 = (double)((nn_mix64(key ^ (2 * pair)) >> 11) + 1) * 0x1.0p-53; /* (0, 1] */
    double u2 = (double)(nn_mix64(key ^ (2 * pair + 1)) >> 11) * 0x1.0p-53;
    double r = sqrt(-2.0 * log(u1)), angle = 6.283185307179586 * u2;
    return r * ((index & 1) ? sin(angle) : cos(angle));
}

static uint64_t direction_key(uint64_t seed, int64_t step, int i)
{
    return nn_mix64(nn_mix64(seed ^ nn_mix64((uint64_t)step)) + (uint64_t)i);
}

/* Writes theta + scale * eps(key) to the device (scale 0: theta itself). */
static clnet_status set_params(es_state *s, uint64_t key, double scale)
{
    int64_t offset = 0;
    s->net->param_version++;
    for (int j = 0; j < s->count; j++) {
        nn_param *p = s->params[j];
        int64_t numel = nn_numel(&p->shape);
        for (int64_t e = 0; e < numel; e++)
            s->work[e] = (float)((double)s->theta[offset + e] +
                                 (scale != 0.0 ? scale * normal(key, offset + e) : 0.0));
        clnet_status st = clnet_tensor_write(p->value, s->work, (size_t)numel * sizeof(float));
        if (st != CLNET_OK)
            return st;
        offset += numel;
    }
    return CLNET_OK;
}

/* One forward pass on the batch and its mean loss; the raw outputs are
 * copied to `keep` when it is not NULL. */
static clnet_status evaluate(es_state *s, const float *x, const int32_t *labels, int n,
                             int64_t k, float *keep, double *loss)
{
    clnet_status st = nn_forward(s->net, x, n, true);
    if (st == CLNET_OK)
        st = clnet_net_read_output(s->net, s->out, (size_t)n * (size_t)k);
    if (st != CLNET_OK)
        return st;
    if (keep)
        memcpy(keep, s->out, (size_t)n * (size_t)k * sizeof *keep);
    nn_penalties_to_scores(s->net, s->out, (size_t)n * (size_t)k);
    double sum = 0.0;
    for (int i = 0; i < n; i++)
        sum += nn_row_loss(s->net, s->out + (size_t)i * k, k, labels[i], s->logp);
    *loss = sum / n;
    return CLNET_OK;
}

/* Ascending fitness, a NaN (a diverged loss) the worst, ties by index: the
 * ranks are deterministic. */
static const double *sort_fitness;

static int by_fitness(const void *a, const void *b)
{
    int i = *(const int *)a, j = *(const int *)b;
    double fi = sort_fitness[i], fj = sort_fitness[j];
    if (isnan(fi) != isnan(fj))
        return isnan(fi) ? -1 : 1;
    if (fi != fj && !isnan(fi))
        return fi < fj ? -1 : 1;
    return (i > j) - (i < j);
}

/* rank[i]: the centred rank of fitness[i], r / (P - 1) - 0.5 for the r-th
 * smallest. */
static void centred_ranks(es_state *s, int population)
{
    for (int i = 0; i < population; i++)
        s->order[i] = i;
    sort_fitness = s->fitness;
    qsort(s->order, (size_t)population, sizeof *s->order, by_fitness);
    for (int r = 0; r < population; r++)
        s->rank[s->order[r]] = (double)r / (double)(population - 1) - 0.5;
}

static clnet_status check_args(clnet_net *net, const float *x, const int32_t *labels, int n,
                               const clnet_es_params *p, int64_t k)
{
    if (!p || !x || !labels)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT,
                          "clnet_net_es_gradient: NULL argument");
    if (!net->dev || net->inference_only || net->parallel)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_net_es_gradient: the "
                          "net must be bound for training on one device (clnet_net_bind)");
    if (p->population < 2 || p->population > ES_MAX_POPULATION || p->population % 2 != 0)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_net_es_gradient: "
                          "population %d is not an even number in 2..%d", p->population,
                          ES_MAX_POPULATION);
    if (!(p->sigma > 0.0f) || !isfinite(p->sigma))
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_net_es_gradient: "
                          "sigma %g must be finite and > 0", (double)p->sigma);
    if (n < 1 || n > net->max_batch)
        return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_net_es_gradient: %d "
                          "images (the net was bound for 1..%d)", n, net->max_batch);
    for (int i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= k)
            return clnet_fail(net->ctx, CLNET_ERR_INVALID_ARGUMENT, "clnet_net_es_gradient: "
                              "label %d of image %d outside 0..%lld", labels[i], i,
                              (long long)k - 1);
    return CLNET_OK;
}

/* theta, the loss there, then the population's fitnesses. */
static clnet_status run_population(es_state *s, const float *x, const int32_t *labels, int n,
                                   int64_t k, const clnet_es_params *p, float *out, float *loss)
{
    int64_t offset = 0;
    for (int j = 0; j < s->count; j++) {
        nn_param *q = s->params[j];
        int64_t numel = nn_numel(&q->shape);
        clnet_status st = clnet_tensor_read(q->value, s->theta + offset,
                                            (size_t)numel * sizeof(float));
        if (st != CLNET_OK)
            return st;
        offset += numel;
    }
    s->theta_read = true;
    double at_theta;
    clnet_status st = evaluate(s, x, labels, n, k, out, &at_theta);
    if (st == CLNET_OK && loss)
        *loss = (float)at_theta;
    for (int i = 0; st == CLNET_OK && i < p->population; i++) {
        uint64_t key = direction_key(p->seed, s->net->opt_steps, i / 2);
        double l = NAN;
        st = set_params(s, key, (i % 2 ? -1.0 : 1.0) * (double)p->sigma);
        if (st == CLNET_OK)
            st = evaluate(s, x, labels, n, k, NULL, &l);
        s->fitness[i] = -l;
    }
    return st;
}

/* g = -sum_i (rank+ - rank-) eps_i / (P sigma), written to the gradients. */
static clnet_status write_estimate(es_state *s, const clnet_es_params *p)
{
    for (int i = 0; i < p->population / 2; i++) {
        uint64_t key = direction_key(p->seed, s->net->opt_steps, i);
        double weight = s->rank[2 * i] - s->rank[2 * i + 1];
        for (int64_t e = 0; weight != 0.0 && e < s->total; e++)
            s->grad[e] += weight * normal(key, e);
    }
    double scale = -1.0 / ((double)p->population * (double)p->sigma);
    int64_t offset = 0;
    for (int j = 0; j < s->count; j++) {
        nn_param *q = s->params[j];
        int64_t numel = nn_numel(&q->shape);
        for (int64_t e = 0; e < numel; e++)
            s->work[e] = (float)(scale * s->grad[offset + e]);
        clnet_status st = clnet_tensor_write(q->grad, s->work, (size_t)numel * sizeof(float));
        if (st != CLNET_OK)
            return st;
        offset += numel;
    }
    return CLNET_OK;
}

clnet_status nn_es_gradient(clnet_net *net, const float *x, const int32_t *labels, int n,
                            const clnet_es_params *p, bool normalised, float *out, float *loss)
{
    clnet_error_clear(net ? net->ctx : NULL);
    if (!net)
        return CLNET_ERR_INVALID_ARGUMENT;
    /* the outputs clnet_net_read_output gives, which nn_row_loss scores */
    int64_t k = nn_numel(&net->layers[net->nlayers - 1].out);
    clnet_status st = check_args(net, x, labels, n, p, k);
    if (st != CLNET_OK)
        return st;
    if (!normalised)
        st = nn_norm_input(net, x, n, &x);
    es_state s = {.net = net};
    if (st == CLNET_OK)
        st = es_alloc(&s, n, k, p->population);
    if (st == CLNET_OK)
        st = run_population(&s, x, labels, n, k, p, out, loss);
    if (st == CLNET_OK) {
        centred_ranks(&s, p->population);
        st = write_estimate(&s, p);
    }
    /* theta back, whatever happened after it was read */
    if (s.theta_read) {
        clnet_status back = set_params(&s, 0, 0.0);
        st = st == CLNET_OK ? back : st;
    }
    es_free(&s);
    return st;
}

clnet_status clnet_net_es_gradient(clnet_net *net, const float *x, const int32_t *labels, int n,
                                   const clnet_es_params *p, float *out, float *loss)
{
    return nn_es_gradient(net, x, labels, n, p, false, out, loss);
}
